"""SLA compliance figures against a row-by-row brute force and a hand-computed example."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

import scenarios
from optimizer.compliance import NO_DEPOT, compliance, sla_targets

KINDS = {"HQ": "central", "GZ": "regional", "SH": "regional", "P1": "partner"}
TARGETS = {("gold", 1): 0.95, ("gold", 2): 0.9, ("silver", 1): 0.9}


def brute_force(rows, kinds, targets):
    """The figures by one loop over the rows (the definition, written out)."""
    acc: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for tier, sev, depot, outcome in rows:
        depot = depot or NO_DEPOT
        kind = NO_DEPOT if depot == NO_DEPOT else kinds[depot]
        add = (0, 0, 1) if outcome is None else (1, int(outcome == "met"), 0)
        for key in (("total",), ("ts", tier, sev), ("depot", depot, kind), ("kind", kind)):
            for i in range(3):
                acc[key][i] += add[i]

    def counts(v):
        n = v[0] + v[2]
        return {"delivered": v[0], "met": v[1], "overdue": v[2],
                "on_time_share": round(v[1] / n, 4) if n else None}

    keys = sorted(k for k in acc if k[0] != "total")
    return {
        **counts(acc[("total",)]),
        "by_tier_severity": [{"tier": k[1], "severity": k[2], **counts(acc[k]),
                              "target": targets.get((k[1], k[2]))} for k in keys if k[0] == "ts"],
        "by_depot": [{"depot_id": k[1], "depot_kind": k[2], **counts(acc[k])}
                     for k in keys if k[0] == "depot"],
        "by_depot_kind": [{"depot_id": "*", "depot_kind": k[1], **counts(acc[k])}
                          for k in keys if k[0] == "kind"],
    }


def test_hand_computed_example() -> None:
    rows = [("gold", 1, "GZ", "met"), ("gold", 1, "GZ", "missed"), ("gold", 1, None, None),
            ("silver", 1, "HQ", "met"), ("gold", 2, "SH", None)]
    got = compliance(rows, depot_kinds=KINDS, targets=TARGETS)
    # 2 met of 3 delivered + 2 overdue
    assert (got["delivered"], got["met"], got["overdue"], got["on_time_share"]) == (3, 2, 2, 0.4)
    gold1 = got["by_tier_severity"][0]
    assert gold1 == {"tier": "gold", "severity": 1, "delivered": 2, "met": 1, "overdue": 1,
                     "on_time_share": 0.3333, "target": 0.95}
    assert [d["depot_id"] for d in got["by_depot"]] == [NO_DEPOT, "GZ", "HQ", "SH"]
    regional = next(k for k in got["by_depot_kind"] if k["depot_kind"] == "regional")
    assert (regional["delivered"], regional["met"], regional["overdue"]) == (2, 1, 1)
    assert regional["on_time_share"] == 0.3333


def test_nothing_known_yet() -> None:
    got = compliance([], depot_kinds=KINDS, targets=TARGETS)
    assert got == {"delivered": 0, "met": 0, "overdue": 0, "on_time_share": None,
                   "by_tier_severity": [], "by_depot": [], "by_depot_kind": []}


row = st.tuples(st.sampled_from(["gold", "silver", "bronze"]), st.integers(1, 3),
                st.sampled_from([None, *KINDS]), st.sampled_from([None, "met", "missed"]))


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(row, max_size=60))
def test_matches_the_brute_force(rows) -> None:
    got = compliance(rows, depot_kinds=KINDS, targets=TARGETS)
    assert got == brute_force(rows, KINDS, TARGETS)
    assert all(type(v) is int for v in (got["delivered"], got["met"], got["overdue"]))


def test_targets_take_the_strictest_contract() -> None:
    tiny = scenarios.load("tiny")
    targets = sla_targets(tiny)
    for c in tiny.contracts:
        for t in c.terms:
            assert targets[(c.tier, t.severity)] <= t.target
    assert set(targets) == {(c.tier, t.severity) for c in tiny.contracts for t in c.terms}
