"""The network map of the overview: depots, forward locations and sites placed by an
equirectangular projection (longitude scaled by the cosine of the network's mean latitude), drawn
as inline SVG. No tiles and no outline: nothing is fetched."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup, escape

from inventory.domain import DepotKind, Scenario

FORWARD = {DepotKind.CONSIGNMENT, DepotKind.CUSTOMER_KIT, DepotKind.TRUNK}
SEVERITY_COLOURS = {1: "#1a7f37", 2: "#4d9de0", 3: "#d4a017", 4: "#e07b39"}
NO_REACH = "#c62828"
UNKNOWN = "#9e9e9e"


@dataclass(frozen=True)
class Mark:
    """One point of the map in SVG user units, with its tooltip and colour."""

    x: float
    y: float
    kind: str  # hq | depot | forward | site
    label: str
    colour: str


@dataclass(frozen=True)
class NetworkMap:
    width: int
    height: int
    marks: list[Mark]
    legend: list[tuple[str, str]]

    def svg_marks(self) -> Markup:
        """The marks as SVG elements (labels and colours escaped): one string built here
        instead of a template loop, which took most of the overview's time on 1,500 sites."""
        return Markup("".join(_mark_svg(m) for m in self.marks))


def _mark_svg(m: Mark) -> str:
    title = f"<title>{escape(m.label)}</title>"
    if m.kind == "site":
        return (f'<circle class="site" cx="{m.x}" cy="{m.y}" r="3" fill="{escape(m.colour)}">'
                f"{title}</circle>\n")
    if m.kind == "hq":
        return (f'<rect class="hq" x="{m.x - 6}" y="{m.y - 6}" width="12" height="12" '
                f'fill="#1f4e79" stroke="#fff">{title}</rect>\n')
    if m.kind == "forward":
        return (f'<path class="forward" d="M{m.x} {m.y - 5}L{m.x + 5} {m.y + 4}L{m.x - 5} '
                f'{m.y + 4}Z" fill="#6a1b9a" stroke="#fff">{title}</path>\n')
    return (f'<rect class="depot" x="{m.x - 4}" y="{m.y - 4}" width="8" height="8" fill="#222" '
            f'stroke="#fff">{title}</rect>\n')


def project(points: list[tuple[float, float]], width: int, height: int,
            pad: float = 12.0) -> list[tuple[float, float]]:
    """(lat, lon) degrees to (x, y) inside ``width`` x ``height`` with ``pad`` units of margin,
    aspect kept; north is up."""
    if not points:
        return []
    lat = np.array([p[0] for p in points], dtype=float)
    x = np.array([p[1] for p in points], dtype=float) * math.cos(math.radians(lat.mean()))
    dx, dy = max(np.ptp(x), 1e-9), max(np.ptp(lat), 1e-9)
    scale = min((width - 2 * pad) / dx, (height - 2 * pad) / dy)
    x0 = pad + ((width - 2 * pad) - np.ptp(x) * scale) / 2
    y0 = pad + ((height - 2 * pad) - np.ptp(lat) * scale) / 2
    px = np.round(x0 + (x - x.min()) * scale, 1)
    py = np.round(y0 + (lat.max() - lat) * scale, 1)
    return list(zip(px.tolist(), py.tolist(), strict=True))


def network_map(scenario: Scenario, reached: dict[str, int | None], *,
                width: int = 640, height: int = 440) -> NetworkMap:
    """The map of ``scenario``; sites coloured by ``reached`` (site id -> most demanding
    severity reached in time, None for none; an empty dict colours every site unknown)."""
    depots = list(scenario.depots)
    sites = list(scenario.sites)
    xy = project([(d.lat, d.lon) for d in depots] + [(s.lat, s.lon) for s in sites], width, height)
    marks = []
    for s, (x, y) in zip(sites, xy[len(depots):], strict=True):
        if not reached:
            colour, what = UNKNOWN, "no plan yet"
        elif reached.get(s.site_id) is None:
            colour, what = NO_REACH, "no severity reached in time"
        else:
            sev = reached[s.site_id]
            colour, what = SEVERITY_COLOURS.get(sev, UNKNOWN), f"severity {sev} reached in time"
        marks.append(Mark(x, y, "site", f"{s.site_id} {s.name}: {what}", colour))
    for d, (x, y) in zip(depots, xy[:len(depots)], strict=True):
        kind = "hq" if d.kind == DepotKind.HQ else "forward" if d.kind in FORWARD else "depot"
        marks.append(Mark(x, y, kind, f"{d.depot_id} {d.name} ({d.kind.value})", "#222"))
    legend = [(f"severity {s} in time", c) for s, c in SEVERITY_COLOURS.items()]
    legend.append(("none in time", NO_REACH))
    return NetworkMap(width, height, marks, legend)
