"""Text forms of the domain values that have no column type: weekly hours and size-class sets."""

from __future__ import annotations

from inventory.domain import SizeClass, WeeklyHours


def hours_to_text(hours: WeeklyHours) -> str:
    """``24x7``, ``mon-fri 08:00-18:00``, or for scattered days ``days=0,2,4 480-1080`` (minutes)."""
    if hours.always:
        return "24x7"
    try:
        return hours.format()
    except ValueError:
        days = ",".join(str(d) for d in sorted(hours.days))
        return f"days={days} {hours.start_minute}-{hours.end_minute}"


def hours_from_text(text: str) -> WeeklyHours:
    """Inverse of :func:`hours_to_text`."""
    if text.startswith("days="):
        days_part, minutes = text[len("days="):].split(" ")
        start, end = minutes.split("-")
        return WeeklyHours(always=False, days=frozenset(int(d) for d in days_part.split(",")),
                           start_minute=int(start), end_minute=int(end))
    return WeeklyHours.parse(text)


def sizes_to_text(sizes: frozenset[SizeClass]) -> str:
    return ",".join(sorted(s.value for s in sizes))


def sizes_from_text(text: str) -> frozenset[SizeClass]:
    return frozenset(SizeClass(s) for s in text.split(",") if s)
