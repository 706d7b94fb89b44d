"""What-if overlays: parsing with errors naming the field, application as a pure function, and
the invariants (scale by k then 1/k, remove then re-add a location) checked with hypothesis; the
scaled demand checked against the stocking problem's streams and a direct sum over the CSVs."""

from __future__ import annotations

import csv
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import scenarios
from scenarios.overlay import (
    OverlayError,
    apply_overlay,
    describe,
    parse_overlay,
    part_family,
)

TINY = scenarios.load("tiny")


def rates(sc) -> dict[tuple[str, str], float]:
    """Failures a year per (site, part), as the installed base gives them."""
    out: dict[tuple[str, str], float] = defaultdict(float)
    for ib in sc.installed_base:
        out[(ib.site_id, ib.part_id)] += ib.rate_per_year(sc.part(ib.part_id))
    return dict(out)


def overlay(text: str):
    return parse_overlay(text)


def test_base_is_unchanged_and_result_is_new():
    before = rates(TINY)
    out = apply_overlay(TINY, overlay("[[demand]]\nfactor = 3\n"))
    assert rates(TINY) == before
    assert out is not TINY
    assert all(out.part(p.part_id).annual_failure_rate == pytest.approx(3 * p.annual_failure_rate)
               for p in TINY.parts)


def test_regional_family_scaling_against_the_csv_files():
    """Independent check: the stocking problem's streams sum to the CSV's quantity x rate, with
    the factor on exactly the rows of the region's sites and the family's parts."""
    from optimizer.reach import build_reach
    from optimizer.stocking.problem import build_problem
    from optimizer.travel import TravelNetwork

    folder = scenarios.bundled_path("tiny")
    with (folder / "parts.csv").open() as fh:
        afr = {r["part_id"]: float(r["annual_failure_rate"]) for r in csv.DictReader(fh)}
    with (folder / "sites.csv").open() as fh:
        primary = {r["site_id"]: r["primary_depot_id"] for r in csv.DictReader(fh)}
    expected = defaultdict(float)
    with (folder / "installed_base.csv").open() as fh:
        for r in csv.DictReader(fh):
            k = 2.5 if primary[r["site_id"]] == "GZ" and r["part_id"].startswith("PSU-") else 1.0
            expected[r["part_id"]] += int(r["quantity"]) * afr[r["part_id"]] * k
    out = apply_overlay(TINY, overlay('[[demand]]\nfactor = 2.5\nfamilies = ["PSU"]\n'
                                      'regions = ["GZ"]\n'))
    problem = build_problem(out, build_reach(out, TravelNetwork(out)))
    got = np.bincount(problem.stream_part, weights=problem.stream_rate_per_year,
                      minlength=problem.n_parts)
    for i, pid in enumerate(problem.part_ids):
        assert got[i] == pytest.approx(expected[pid], rel=1e-12)
    assert expected["PSU-1200"] > 0 and got[list(problem.part_ids).index("PSU-1200")] > \
        sum(ib.rate_per_year(TINY.part(ib.part_id)) for ib in TINY.installed_base
            if ib.part_id == "PSU-1200")


SELECTOR = st.sampled_from([
    "", 'families = ["PSU"]', 'parts = ["LC-*"]', 'regions = ["GZ", "CD"]',
    'customers = ["China Mobile"]', 'sites = ["SH-0*"]', 'families = ["FAN"]\nregions = ["SH"]'])


@settings(max_examples=40, deadline=None)
@given(k=st.floats(min_value=0.01, max_value=100.0), selector=SELECTOR)
def test_scaling_by_k_then_one_over_k_gives_the_original_rates(k, selector):
    up = apply_overlay(TINY, overlay(f"[[demand]]\nfactor = {k!r}\n{selector}\n"))
    back = apply_overlay(up, overlay(f"[[demand]]\nfactor = {1 / k!r}\n{selector}\n"))
    base, again = rates(TINY), rates(back)
    assert base.keys() == again.keys()
    for key, value in base.items():
        assert again[key] == pytest.approx(value, rel=1e-12)
    scaled = rates(up)
    assert any(scaled[key] != pytest.approx(base[key]) for key in base) or k == pytest.approx(1)


@settings(max_examples=30, deadline=None)
@given(k=st.floats(min_value=0.1, max_value=10.0), j=st.floats(min_value=0.1, max_value=10.0))
def test_entries_compound(k, j):
    one = apply_overlay(TINY, overlay(f"[[demand]]\nfactor = {k * j!r}\nregions = [\"SH\"]\n"))
    two = apply_overlay(TINY, overlay(f"[[demand]]\nfactor = {k!r}\nregions = [\"SH\"]\n"
                                      f"[[demand]]\nfactor = {j!r}\nregions = [\"SH\"]\n"))
    a, b = rates(one), rates(two)
    assert all(b[key] == pytest.approx(a[key], rel=1e-12) for key in a)


def _depot_toml(d, serves) -> str:
    lines = ["[[depots.add]]", f'depot_id = "{d.depot_id}"', f'name = "{d.name}"',
             f'kind = "{d.kind.value}"', f"lat = {d.lat!r}", f"lon = {d.lon!r}",
             f'timezone = "{d.timezone}"', f'country = "{d.country}"',
             f'hours = "{d.hours.format()}"', f'parent_id = "{d.parent_id}"',
             f"replenishment_lead_time_days = {d.replenishment_lead_time_days!r}",
             f"handling_hours = {d.handling_hours!r}",
             f"annual_fixed_cost = {d.annual_fixed_cost!r}",
             f"serves = [{', '.join(repr(s) for s in serves)}]".replace("'", '"')]
    return "\n".join(lines) + "\n"


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), pick=st.integers(0, 100))
def test_removing_then_re_adding_a_depot_round_trips(seed, pick):
    """On generated networks: a depot that refills no other location is removed (its sites move
    to the nearest depot, its stock is dropped) and added back serving its sites: the depots, the
    sites and the candidates are the original ones again."""
    from scenarios.generator import generate

    base = generate(parts=3, depots=7, sites=25, seed=seed, candidates=3)
    parents = {d.parent_id for d in base.depots} | {c.parent_id for c in base.candidates}
    leaves = [d for d in base.depots if d.parent_id is not None and d.depot_id not in parents]
    assume(leaves)
    d = leaves[pick % len(leaves)]
    sites = [s.site_id for s in base.sites if s.primary_depot_id == d.depot_id]
    try:
        gone = apply_overlay(base, overlay(f'[depots]\nremove = ["{d.depot_id}"]\n'))
    except OverlayError as exc:  # its sites lie beyond every other depot's radius
        assert "max_service_radius_km" in exc.message
        assume(False)
    assert d.depot_id not in {x.depot_id for x in gone.depots}
    assert all(gone.site(s).primary_depot_id != d.depot_id for s in sites)
    assert not [s for s in gone.stock if s.depot_id == d.depot_id]
    back = apply_overlay(gone, overlay(_depot_toml(d, sites)))
    assert {x.depot_id: x for x in back.depots} == {x.depot_id: x for x in base.depots}
    assert {s.site_id: s for s in back.sites} == {s.site_id: s for s in base.sites}
    assert {c.candidate_id: c for c in back.candidates} == \
        {c.candidate_id: c for c in base.candidates}
    assert back.installed_base == base.installed_base


@settings(max_examples=10, deadline=None)
@given(cid=st.sampled_from([c.candidate_id for c in TINY.candidates]))
def test_removing_then_re_adding_a_candidate_round_trips(cid):
    c = TINY.candidate(cid)
    gone = apply_overlay(TINY, overlay(f'[candidates]\nremove = ["{cid}"]\n'))
    assert cid not in {x.candidate_id for x in gone.candidates}
    fields = {"candidate_id": c.candidate_id, "name": c.name, "kind": c.kind.value,
              "lat": c.lat, "lon": c.lon, "timezone": c.timezone, "country": c.country,
              "hours": c.hours.format(), "parent_id": c.parent_id,
              "replenishment_lead_time_days": c.replenishment_lead_time_days,
              "handling_hours": c.handling_hours, "annual_fixed_cost": c.annual_fixed_cost,
              "opening_cost": c.opening_cost, "site_ids": list(c.site_ids)}
    if c.capacity_units is not None:
        fields["capacity_units"] = c.capacity_units
    if c.capacity_value is not None:
        fields["capacity_value"] = c.capacity_value
    if c.customer is not None:
        fields["customer"] = c.customer
    body = "[[candidates.add]]\n" + "".join(
        f"{k} = {_toml(v)}\n" for k, v in fields.items())
    back = apply_overlay(gone, overlay(body))
    assert {x.candidate_id: x for x in back.candidates} == \
        {x.candidate_id: x for x in TINY.candidates}


def _toml(v) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return repr(v)


def test_removing_a_depot_refills_its_children_from_its_parent():
    gone = apply_overlay(TINY, overlay('[depots]\nremove = ["CD"]\n'))
    for cid in ("KIT-CD01", "CON-CD"):
        c, before = gone.candidate(cid), TINY.candidate(cid)
        assert c.parent_id == "HQ-SZ"
        assert c.replenishment_lead_time_days == pytest.approx(
            before.replenishment_lead_time_days + TINY.depot("CD").replenishment_lead_time_days)


def test_location_costs_and_terms():
    out = apply_overlay(TINY, overlay(
        '[[locations]]\nid = "CON-CD"\nannual_fixed_cost = 1234\nopening_cost = 10\n'
        '[[locations]]\nid = "SH"\nclosable = true\nannual_fixed_cost = 99\n'
        '[[terms]]\ntier = "gold"\nseverity = 1\ntarget = 0.99\nwindow_value = 6\n'
        '[[terms]]\ncontract = "NBD"\ncutoff = "15:00"\n'))
    assert out.candidate("CON-CD").annual_fixed_cost == 1234
    assert out.candidate("CON-CD").opening_cost == 10
    assert out.depot("SH").closable and out.depot("SH").annual_fixed_cost == 99
    gold = [c for c in out.contracts if c.tier == "gold"]
    assert gold and all(c.term(1).target == 0.99 and c.term(1).window_value == 6 for c in gold)
    assert all(c.term(2) == b.term(2) for c, b in zip(out.contracts, TINY.contracts, strict=True)
               if c.tier == "gold")
    nbd = out.contract("NBD")
    assert all(t.cutoff is not None and t.cutoff.hour == 15 for t in nbd.terms)


def test_describe_names_every_change():
    ov = overlay('name = "x"\n[[demand]]\nfactor = 1.5\nfamilies = ["PSU"]\n'
                 '[depots]\nremove = ["SH"]\n[candidates]\nremove = ["TRK-GZ"]\n'
                 '[[terms]]\ntier = "gold"\ntarget = 0.9\n')
    lines = describe(ov)
    assert lines == ["demand x1.5 for families PSU", "depots removed: SH",
                     "candidates removed: TRK-GZ", "tier gold: target 0.9"]


def test_part_family():
    assert part_family("OTU-00001") == "OTU"
    assert part_family("PLAIN") == "PLAIN"


@pytest.mark.parametrize(("text", "field", "words"), [
    ("[[demand]\nfactor = 1", "(toml)", "not valid TOML"),
    ("oops = 1", "oops", "unknown section"),
    ("[[demand]]\nregions = [\"GZ\"]", "demand[0].factor", "required"),
    ("[[demand]]\nfactor = 0", "demand[0].factor", "> 0"),
    ("[[demand]]\nfactor = true", "demand[0].factor", "number"),
    ("[[demand]]\nfactor = 2\nregions = [\"XX\"]", "demand[0].regions[0]", "unknown depot"),
    ("[[demand]]\nfactor = 2\nparts = [\"ZZ-*\"]", "demand[0].parts[0]", "matches no part"),
    ("[[demand]]\nfactor = 2\nfamilies = [\"ZZ\"]", "demand[0].families[0]", "part family"),
    ("[[demand]]\nfactor = 2\ncolour = 1", "demand[0].colour", "unknown field"),
    ("[depots]\nremove = [\"HQ-SZ\"]", "depots.remove[0]", "HQ"),
    ("[depots]\nremove = [\"NOPE\"]", "depots.remove[0]", "unknown depot"),
    ("[depots]\nmove = 1", "depots.move", "unknown field"),
    ('[[depots.add]]\ndepot_id = "N"\nname = "n"\nkind = "regional"\nlat = 95.0\nlon = 1.0\n'
     'timezone = "Asia/Shanghai"\ncountry = "CN"\nparent_id = "HQ-SZ"\n'
     'replenishment_lead_time_days = 1', "depots.add[0].lat", "latitude"),
    ('[[depots.add]]\ndepot_id = "GZ"\nname = "n"\nkind = "regional"\nlat = 23.0\nlon = 113.0\n'
     'timezone = "Asia/Shanghai"\ncountry = "CN"\nparent_id = "HQ-SZ"\n'
     'replenishment_lead_time_days = 1', "depots.add[0].depot_id", "already"),
    ('[[depots.add]]\ndepot_id = "N"\nname = "n"\nkind = "castle"\nlat = 23.0\nlon = 113.0\n'
     'timezone = "Asia/Shanghai"\ncountry = "CN"\nparent_id = "HQ-SZ"\n'
     'replenishment_lead_time_days = 1', "depots.add[0].kind", "not one of"),
    ('[[depots.add]]\ndepot_id = "N"\nname = "n"\nkind = "regional"\nlat = 23.0\nlon = 113.0\n'
     'timezone = "Asia/Shanghai"\ncountry = "CN"\nparent_id = "XX"\n'
     'replenishment_lead_time_days = 1', "depots.add[0].parent_id", "unknown depot"),
    ('[[depots.add]]\ndepot_id = "N"\nname = "n"\nkind = "regional"\nlat = 23.0\nlon = 113.0\n'
     'timezone = "Mars/Base"\ncountry = "CN"\nparent_id = "HQ-SZ"\n'
     'replenishment_lead_time_days = 1', "depots.add[0].timezone", "time zone"),
    ("[candidates]\nremove = [\"NOPE\"]", "candidates.remove[0]", "unknown candidate"),
    ("[[locations]]\nid = \"NOPE\"\nannual_fixed_cost = 1", "locations[0].id", "no depot"),
    ("[[locations]]\nid = \"GZ\"\nannual_fixed_cost = -1", "locations[0].annual_fixed_cost",
     ">= 0"),
    ("[[locations]]\nid = \"GZ\"\nopening_cost = 1", "locations[0].opening_cost", "depot"),
    ("[[terms]]\ntarget = 0.9", "terms[0].contract", "either"),
    ("[[terms]]\ntier = \"gold\"", "terms[0]", "changes nothing"),
    ("[[terms]]\ntier = \"tin\"\ntarget = 0.9", "terms[0].tier", "unknown tier"),
    ("[[terms]]\ncontract = \"GOLD\"\ntarget = 1.5", "terms[0].target", "(0, 1]"),
    ("[[terms]]\ncontract = \"GOLD\"\nseverity = 7\ntarget = 0.5", "terms[0].severity",
     "no term"),
    ("[[terms]]\ncontract = \"GOLD\"\ncoverage = \"sometimes\"", "terms[0].coverage", "hours"),
    ("[[terms]]\ncontract = \"GOLD\"\nmilestone = \"whenever\"", "terms[0].milestone",
     "not one of"),
])
def test_errors_name_the_field(text, field, words):
    with pytest.raises(OverlayError) as err:
        apply_overlay(TINY, parse_overlay(text))
    assert err.value.field == field
    assert words in err.value.message
    assert field in str(err.value)


def test_a_change_that_breaks_the_network_names_its_section():
    """Moving Chengdu's sites to a depot beyond the service radius shows when the network is
    validated as a whole."""
    text = ('[[depots.add]]\ndepot_id = "HRB"\nname = "Harbin"\nkind = "regional"\nlat = 45.8\n'
            'lon = 126.5\ntimezone = "Asia/Shanghai"\ncountry = "CN"\nparent_id = "HQ-SZ"\n'
            'replenishment_lead_time_days = 2\nserves = ["CD-01"]\n')
    with pytest.raises(OverlayError) as err:
        apply_overlay(TINY, parse_overlay(text))
    assert err.value.field == "depots.add"
    assert "max_service_radius_km" in err.value.message


def test_regional_scaling_survives_the_supersession_pooling():
    """Plans pool superseded parts on their successor (optimizer.supersession): the merged
    installed base keeps the region's factor, and factors of 1 stay exactly 1."""
    from optimizer.supersession import planning_scenario

    out = apply_overlay(TINY, overlay('[[demand]]\nfactor = 2\nregions = ["GZ"]\n'))
    pooled_base, succession = planning_scenario(TINY)
    assert succession.kind  # tiny has a superseded part
    assert all(ib.demand_factor == 1.0 for ib in pooled_base.installed_base)
    pooled, _ = planning_scenario(out)
    before, after = rates(pooled_base), rates(pooled)
    assert before.keys() == after.keys()
    for (site, part), value in before.items():
        k = 2.0 if TINY.site(site).primary_depot_id == "GZ" else 1.0
        assert after[(site, part)] == pytest.approx(k * value, rel=1e-12)


def test_the_documented_example_applies_to_cn_telecom():
    """docs/what-if.md's format example is a valid overlay of the bundled cn-telecom."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "what-if.md").read_text()
    text = re.search(r"```toml\n(.*?)```", doc, re.S).group(1)
    sc = scenarios.load("cn-telecom")
    out = apply_overlay(sc, parse_overlay(text))
    assert "R-KMG" not in {d.depot_id for d in out.depots}
    assert out.depot("R-WUH2").name == "Wuhan east depot"
    assert out.candidate("CON-WUH").opening_cost == 30000
    assert all(c.term(1).target == 0.97 for c in out.contracts if c.tier == "gold")
