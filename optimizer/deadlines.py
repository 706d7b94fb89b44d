"""Contract deadlines: from a severity term's window dialect and a request to one exact instant.

The dispatch decision, the stocking optimizer (via :mod:`optimizer.reach`) and the API all call
:func:`compute_deadline`, so a deadline means the same thing everywhere. See
``docs/windows-and-eta.md`` for the rules with a worked example.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from inventory.domain import ClockStart, Contract, Milestone, SeverityTerm, Site, WindowKind
from optimizer.calendars import (
    Calendar,
    add_open_hours,
    business_day,
    day_interval,
    describe,
    holidays_between,
    next_business_day,
    next_open,
    nth_business_day_end,
    require_aware,
)


@dataclass(frozen=True)
class Deadline:
    """The contractual due instant of a part for one request, with how it was derived.

    ``due_at`` is None when the term measures a response (call-back) milestone: the part then has
    no contractual deadline and is delivered best effort. ``holidays_skipped`` lists the site's
    public holidays between the clock start and the due day that paused the clock.
    """

    due_at: datetime | None
    clock_started_at: datetime
    milestone: str
    coverage: str
    timezone: str
    holidays_skipped: tuple[date, ...]
    cutoff_applied: bool
    explanation: tuple[str, ...]

    @property
    def text(self) -> str:
        """The explanation as one paragraph."""
        return " ".join(self.explanation)


def _fmt(instant: datetime, cal: Calendar) -> str:
    local = instant.astimezone(cal.zone)
    return f"{local:%a %Y-%m-%d %H:%M} {cal.timezone} ({instant.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"


def _clock_start(term: SeverityTerm, reported: datetime, confirmed: datetime | None,
                 approved: datetime | None) -> tuple[datetime, str]:
    """The clock-start instant and a sentence naming the timestamp used."""
    if term.clock_start is ClockStart.TICKET_OPENED:
        return reported, "The clock starts when the ticket was opened (reported_at)."
    if term.clock_start is ClockStart.FAULT_CONFIRMED:
        if confirmed is None:
            return reported, ("The clock starts at fault confirmation, but no confirmation time was "
                              "given, so the request time (reported_at) is used instead.")
        return confirmed, "The clock starts when the fault was confirmed (confirmed_at)."
    if approved is None:
        return reported, ("The clock starts at dispatch approval, but no approval time was given, "
                          "so the request time (reported_at) is used instead.")
    return approved, "The clock starts when the dispatch was approved (approved_at)."


@dataclass(frozen=True)
class _Due:
    """The due instant of a part-on-site (or engineer-on-site) term and what decided it:
    ``clock`` the instant the window counts from (hours windows), ``first_day`` the first
    local day it counts, ``cutoff_applied``, ``outside`` (business-day windows: the request day
    did not count)."""

    due: datetime
    clock: datetime
    first_day: date
    cutoff_applied: bool
    outside: bool


def _due(term: SeverityTerm, cal: Calendar, start: datetime) -> _Due:
    """The due instant of ``term`` for a clock started at ``start`` (no explanation built)."""
    cov = term.coverage
    local = start.astimezone(cal.zone)
    if term.window_kind is WindowKind.HOURS:
        clock, cut = start, False
        if term.cutoff is not None and not cov.always and local.time() >= term.cutoff:
            nxt = next_business_day(cal, local.date(), cov)
            clock = day_interval(cov, cal, nxt)[0]  # type: ignore[index]
            cut = True
        due = add_open_hours(cov, cal, clock, term.window_value)
        return _Due(due, clock, next_open(cov, cal, clock).astimezone(cal.zone).date(), cut, False)
    day = local.date()
    iv = day_interval(cov, cal, day)
    before_cutoff = term.cutoff is None or local.time() < term.cutoff
    if business_day(cal, day, cov) and before_cutoff and iv is not None and start < iv[1]:
        eff, cut, outside = day, False, False
    else:
        eff = next_business_day(cal, day, cov)
        cut = business_day(cal, day, cov) and not before_cutoff
        outside = not cut
    return _Due(nth_business_day_end(cov, cal, eff, int(term.window_value)), start, eff, cut,
                outside)


def due_instants(term: SeverityTerm, site: Site, reported: Sequence[datetime]
                 ) -> list[datetime] | None:
    """The due instants of requests at ``site`` opened at each of ``reported`` (aware), the clock
    starting then (the request time stands in for a missing confirmation or approval, as in
    :func:`compute_deadline`); None for a response milestone. The same instants as
    :func:`compute_deadline`'s ``due_at``, without building explanations (bulk sampling)."""
    if term.milestone is Milestone.RESPONSE:
        return None
    cal = Calendar(site.timezone, site.country)
    return [_due(term, cal, require_aware(t, "reported_at")).due for t in reported]


def compute_deadline(term: SeverityTerm, site: Site, contract: Contract, *, reported_at: datetime,
                     confirmed_at: datetime | None = None,
                     approved_at: datetime | None = None) -> Deadline:
    """The deadline of a part request at ``site`` under ``contract``'s ``term``.

    Parameters
    ----------
    term, site, contract
        The severity term (window dialect), the customer site (time zone, holiday country) and
        its contract (for the explanation).
    reported_at, confirmed_at, approved_at
        Aware instants of the ticket being opened, the fault confirmed and the dispatch approved.
        A missing timestamp that the clock needs falls back to ``reported_at``, and the
        explanation says so.

    Returns
    -------
    Deadline
        ``due_at`` in UTC (None for a response milestone) plus the derivation.
    """
    reported = require_aware(reported_at, "reported_at")
    confirmed = require_aware(confirmed_at, "confirmed_at") if confirmed_at is not None else None
    approved = require_aware(approved_at, "approved_at") if approved_at is not None else None
    cal = Calendar(site.timezone, site.country)
    cov = term.coverage
    start, start_text = _clock_start(term, reported, confirmed, approved)
    coverage = "7x24" if cov.always else f"{describe(cov)} ({site.timezone}, {site.country} holidays)"
    window = (f"{term.window_value:g} covered hours" if term.window_kind is WindowKind.HOURS
              else f"{int(term.window_value)} business day(s)")
    lines = [f"Contract {contract.name} ({contract.contract_id}, tier {contract.tier}), "
             f"severity {term.severity}: window {window} ({term.window_kind.value}).",
             start_text, f"Clock start {_fmt(start, cal)}.", f"Coverage {coverage}."]

    if term.milestone is Milestone.RESPONSE:
        lines.append("The window measures a first response (call-back), which the parts service does "
                     "not deliver: the part has no contractual deadline and ships best effort.")
        return Deadline(None, start, term.milestone.value, coverage, site.timezone, (), False,
                        tuple(lines))

    if term.milestone is Milestone.PART_ON_SITE:
        lines.append("Milestone part_on_site: the part must be on site by the due time.")
    else:
        lines.append("Milestone engineer_on_site: the engineer brings the part, so the part must be on "
                     "site by the due time too.")
    d = _due(term, cal, start)
    due, first_day, cutoff_applied = d.due, d.first_day, d.cutoff_applied
    if term.window_kind is WindowKind.HOURS:
        if cutoff_applied:
            lines.append(f"Requested after the {term.cutoff:%H:%M} cut-off: the clock starts at "
                         f"{_fmt(d.clock, cal)}.")
    elif cutoff_applied:
        lines.append(f"Requested after the {term.cutoff:%H:%M} cut-off: it counts from the "
                     f"next business day {first_day}.")
    elif d.outside:
        lines.append(f"The request falls outside coverage, so it counts from the next "
                     f"business day {first_day}.")
    else:
        lines.append(f"The request day {first_day} is a business day and the request is in time, "
                     "so it counts from that day.")
    due_local_day = (due - timedelta(microseconds=1)).astimezone(cal.zone).date()
    skipped = tuple(holidays_between(cal, first_day, due_local_day, cov))
    if skipped:
        names = ", ".join(f"{d} ({cal.holiday_name(d)})" for d in skipped)
        lines.append(f"Public holidays skipped: {names}.")
    else:
        lines.append("No public holiday paused the clock.")
    lines.append(f"Due {_fmt(due, cal)}.")
    return Deadline(due, start, term.milestone.value, coverage, site.timezone, skipped,
                    cutoff_applied, tuple(lines))
