"""Restock inputs moved onto a what-if network: positions on other locations, the forecast
scaled by the what-if's demand change."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import scenarios
from optimizer.forecast.select import forecast_scenario
from optimizer.restock.positions import PositionRow, Positions
from optimizer.restock.run import whatif_forecast
from scenarios.overlay import apply_overlay, parse_overlay


def test_positions_reindexed_keep_shared_cells_and_drop_the_rest():
    pos = Positions.from_rows(["A", "B"], ["HQ", "X", "Y"], [
        PositionRow("X", "A", on_hand=3, in_transit=1, reserved=1),
        PositionRow("Y", "B", on_hand=2), PositionRow("HQ", "B", on_hand=5)])
    new = pos.reindexed(["A", "B"], ["HQ", "Y", "NEW"])
    assert new.location_ids == ("HQ", "Y", "NEW")
    assert new.on_hand.tolist() == [[0, 0, 0], [5, 2, 0]]
    assert new.in_transit.sum() == 0 and new.reserved.sum() == 0  # those were at X
    assert pos.dropped_units(["A", "B"], ["HQ", "Y", "NEW"]) == 3
    assert pos.dropped_units(["A", "B"], ["HQ", "X", "Y"]) == 0
    same = pos.reindexed(pos.part_ids, pos.location_ids)
    assert np.array_equal(same.inventory_position, pos.inventory_position)


def test_whatif_forecast_scales_each_part_by_its_demand_change():
    tiny = scenarios.load("tiny")
    ov = parse_overlay('[[demand]]\nfactor = 2\nfamilies = ["PSU"]\n'
                       '[[demand]]\nfactor = 1.5\nparts = ["FAN-T1"]\nsites = ["GZ-01"]\n')
    what = apply_overlay(tiny, ov)
    base = forecast_scenario(tiny)
    moved = whatif_forecast(base, tiny, what)
    ix = {p: i for i, p in enumerate(base.part_ids)}
    psu, fan, lc = ix["PSU-1200"], ix["FAN-T1"], ix["LC-10G-B"]
    assert moved.rate_per_month[psu] == pytest.approx(2 * base.rate_per_month[psu])
    assert moved.prior_rate_per_month[psu] == pytest.approx(2 * base.prior_rate_per_month[psu])
    # FAN-T1: 8 of its installed units (at GZ-01) fail 1.5 times as often
    units = {ib.site_id: ib.quantity for ib in tiny.installed_base if ib.part_id == "FAN-T1"}
    share = (sum(units.values()) + 0.5 * units["GZ-01"]) / sum(units.values())
    assert moved.rate_high[fan] == pytest.approx(share * base.rate_high[fan])
    assert moved.rate_per_month[lc] == base.rate_per_month[lc]  # unchanged
    # a part with no installed base in the base network keeps its forecast
    empty = replace(tiny, installed_base=tuple(ib for ib in tiny.installed_base
                                               if ib.part_id != "LC-10G-B"))
    kept = whatif_forecast(forecast_scenario(empty), empty, what)
    assert kept.rate_per_month[lc] == forecast_scenario(empty).rate_per_month[lc]
