"""Critical levels of the running app come from the stocking plan when one is given."""

from __future__ import annotations

import json

import scenarios
from api.context import plan_levels


def test_plan_base_stock_drives_critical_levels(tmp_path):
    tiny = scenarios.load("tiny")
    (tmp_path / "summary.json").write_text(json.dumps({"investment": 18000.0}))
    (tmp_path / "stock_levels.csv").write_text(
        "part_id,depot_id,base_stock,unit_cost\nPSU-1200,HQ-SZ,4,1800\nPSU-1200,GZ,10,1800\n")
    (tmp_path / "service.csv").write_text("tier,severity,target,predicted_on_time\n")
    levels = plan_levels(tiny, tmp_path)
    # GZ PSU-1200: 30 of 34 weighted failures are above basic -> 10 * 30/34 = 8.8 -> 9
    assert levels.level("GZ", "PSU-1200", "basic") == 9
    assert levels.level("GZ", "PSU-1200", "platinum") == 0
    # without a plan, the opening stock (2 at GZ) stands in
    assert plan_levels(tiny, None).level("GZ", "PSU-1200", "basic") == 2
