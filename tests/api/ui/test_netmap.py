"""The network map's projection and colours."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from api.ui.netmap import NO_REACH, SEVERITY_COLOURS, UNKNOWN, network_map, project

points = st.lists(st.tuples(st.floats(-60, 60), st.floats(-170, 170)), min_size=1, max_size=40)


@given(points)
def test_every_point_lands_inside_the_margins(pts):
    for x, y in project(pts, 640, 440, pad=12):
        assert 11.9 <= x <= 628.1 and 11.9 <= y <= 428.1


@given(points)
def test_north_is_up_and_east_is_right(pts):
    xy = project(pts, 640, 440)
    for (la, lo), (x, y) in zip(pts, xy, strict=True):
        for (lb, lo2), (x2, y2) in zip(pts, xy, strict=True):
            if la > lb + 1e-6:
                assert y <= y2 + 0.1
            if lo > lo2 + 1e-6:
                assert x >= x2 - 0.1


def test_distances_keep_their_ratio_on_one_parallel():
    # three points on the equator: 10 and 20 degrees apart stay 1:2 apart on the map
    (x0, _), (x1, _), (x2, _) = project([(0.0, 100.0), (0.0, 110.0), (0.0, 130.0)], 640, 440)
    assert math.isclose((x2 - x1) / (x1 - x0), 2.0, rel_tol=1e-2)


def test_sites_are_coloured_by_the_severity_they_reach(tiny):
    sites = [s.site_id for s in tiny.sites]
    reached = {sites[0]: 1, sites[1]: None}
    marks = {m.label.split()[0]: m for m in network_map(tiny, reached).marks if m.kind == "site"}
    assert marks[sites[0]].colour == SEVERITY_COLOURS[1]
    assert marks[sites[1]].colour == NO_REACH
    unplanned = [m for m in network_map(tiny, {}).marks if m.kind == "site"]
    assert {m.colour for m in unplanned} == {UNKNOWN} and len(unplanned) == len(tiny.sites)
    hq = [m for m in network_map(tiny, {}).marks if m.kind == "hq"]
    assert len(hq) == 1
