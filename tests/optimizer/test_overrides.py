"""Forecast overrides: a part's demand set to the planner's rate, split over sites as before."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

import scenarios
from optimizer.forecast.select import forecast_scenario
from optimizer.overrides import override_forecast, with_forecasts
from scenarios.overlay import apply_overlay, parse_overlay

TINY = scenarios.load("tiny")


def site_rates(sc, part):
    out = defaultdict(float)
    for ib in sc.installed_base:
        if ib.part_id == part:
            out[ib.site_id] += ib.rate_per_year(sc.part(part))
    return out


@pytest.mark.parametrize("base", [TINY, apply_overlay(TINY, parse_overlay(
    '[[demand]]\nfactor = 3\nregions = ["GZ"]\n'))])
def test_with_forecasts_sets_the_yearly_total_and_keeps_the_split(base):
    before = site_rates(base, "PSU-1200")
    out, unplaced = with_forecasts(base, {"PSU-1200": 2.5})
    after = site_rates(out, "PSU-1200")
    assert unplaced == []
    assert sum(after.values()) == pytest.approx(12 * 2.5)
    total = sum(before.values())
    for site, rate in before.items():
        assert after[site] / 30.0 == pytest.approx(rate / total)
    assert site_rates(out, "FAN-T1") == site_rates(base, "FAN-T1")  # others untouched


def test_a_part_without_installed_base_is_not_placed():
    sc = TINY
    absent = [p.part_id for p in sc.parts
              if not any(ib.part_id == p.part_id for ib in sc.installed_base)]
    if not absent:  # every tiny part is installed: drop one part's base
        from dataclasses import replace
        sc = replace(sc, installed_base=tuple(ib for ib in sc.installed_base
                                              if ib.part_id != "LC-10G"))
        absent = ["LC-10G"]
    out, unplaced = with_forecasts(sc, {absent[0]: 4.0})
    assert unplaced == [absent[0]]
    assert out.part(absent[0]) == sc.part(absent[0])


def test_override_forecast_replaces_the_monthly_rate():
    fc = forecast_scenario(TINY)
    out = override_forecast(fc, {"FAN-T1": 7.0, "NOT-A-PART": 1.0})
    i = list(fc.part_ids).index("FAN-T1")
    assert out.rate_per_month[i] == 7.0 and out.method[i] == "override"
    others = np.arange(len(fc.part_ids)) != i
    assert np.array_equal(out.rate_per_month[others], fc.rate_per_month[others])
    assert fc.rate_per_month[i] != 7.0  # the original is untouched
