"""The per-part forecast table."""

from __future__ import annotations

import numpy as np
import pytest

import scenarios
from optimizer.forecast.select import forecast_scenario
from optimizer.forecast.table import FORECAST_COLUMNS, forecast_table


def test_table_rows_history_summary_and_supersession_columns() -> None:
    sc = scenarios.load("tiny")
    f = forecast_scenario(sc)
    names = {p.part_id: p.name for p in sc.parts}
    t = forecast_table(f, names, {"LC-10G": "LC-10G-B", "PSU-1200": "PSU-1200"})
    assert tuple(t.columns) == FORECAST_COLUMNS
    assert list(t["part_id"]) == list(f.part_ids)
    assert list(t["name"]) == [names[p] for p in f.part_ids]
    for i in range(len(f.part_ids)):
        y = f.history[i]
        row = t.iloc[i]
        assert row["history_units"] == y.sum() and row["demand_months"] == (y > 0).sum()
        assert row["units_last_12_months"] == y[-12:].sum()
        last = [m for m, v in zip(f.months, y, strict=True) if v > 0]
        assert row["last_demand_month"] == (last[-1] if last else "")
        assert row["forecast_units_per_month"] == pytest.approx(f.rate_per_month[i], abs=5e-5)
        assert (row["interval_low_units_per_month"] <= row["forecast_units_per_month"]
                <= row["interval_high_units_per_month"])
        assert row["source"] == "installed_base" and row["method"] == "window_combination"
    by = t.set_index("part_id")
    assert by.loc["LC-10G", "planned_as"] == "LC-10G-B"
    assert by.loc["LC-10G-B", "planned_with"] == "LC-10G"
    assert by.loc["PSU-1200", "planned_as"] == ""  # planned as itself: nothing to say
    np.testing.assert_allclose(t["forecast_units_per_quarter"], np.round(f.rate_per_month * 3, 3))
