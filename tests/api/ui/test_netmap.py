"""The network map's projection and colours."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import Environment

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


OLD_LOOP = """{% for m in map.marks %}
{% if m.kind == 'site' %}<circle class="site" cx="{{ m.x }}" cy="{{ m.y }}" r="3" fill="{{ m.colour }}"><title>{{ m.label }}</title></circle>
{% elif m.kind == 'hq' %}<rect class="hq" x="{{ m.x - 6 }}" y="{{ m.y - 6 }}" width="12" height="12" fill="#1f4e79" stroke="#fff"><title>{{ m.label }}</title></rect>
{% elif m.kind == 'forward' %}<path class="forward" d="M{{ m.x }} {{ m.y - 5 }}L{{ m.x + 5 }} {{ m.y + 4 }}L{{ m.x - 5 }} {{ m.y + 4 }}Z" fill="#6a1b9a" stroke="#fff"><title>{{ m.label }}</title></path>
{% else %}<rect class="depot" x="{{ m.x - 4 }}" y="{{ m.y - 4 }}" width="8" height="8" fill="#222" stroke="#fff"><title>{{ m.label }}</title></rect>{% endif %}
{% endfor %}"""  # noqa: E501
"""The overview's template loop the marks were drawn with before :meth:`NetworkMap.svg_marks`."""

_OLD = Environment(autoescape=True).from_string(OLD_LOOP)
labels = st.text(alphabet=st.sampled_from('ab<>&"\' 1'), max_size=12)


@given(st.lists(st.tuples(st.sampled_from(["site", "hq", "forward", "depot"]),
                          st.floats(0, 640).map(lambda v: round(v, 1)),
                          st.floats(0, 440).map(lambda v: round(v, 1)), labels, labels),
                max_size=12))
@settings(deadline=None)  # a shared, loaded machine: no per-example time limit
def test_marks_drawn_as_the_template_loop_drew_them(rows):
    """Same elements, numbers and escaping as the Jinja loop (autoescape), line breaks aside."""
    from api.ui.netmap import Mark, NetworkMap

    m = NetworkMap(640, 440, [Mark(x, y, kind, label, colour)
                              for kind, x, y, label, colour in rows], [])
    old = _OLD.render(map=m)
    assert str(m.svg_marks()).replace("\n", "") == old.replace("\n", "")
    assert str(m.svg_marks()).count("<title>") == len(rows)


def test_cn_telecom_sized_map_is_one_element_per_site_and_location(tiny):
    m = network_map(tiny, {})
    svg = str(m.svg_marks())
    assert svg.count('class="site"') == len(tiny.sites)
    assert svg.count("<title>") == len(tiny.sites) + len(tiny.depots)
