"""Two plans side by side: on-time per class, units and investment per location, the stock
levels that changed. Investment in the scenario's currency; shares 0..1."""

from __future__ import annotations

from typing import Any

import pandas as pd

from api.ui import plans
from inventory.domain import Scenario


def compare(a: str, b: str, scenario: Scenario, changed_limit: int = 200) -> dict[str, Any]:
    """Plan ``b`` against plan ``a`` (deltas are b - a)."""
    sa, sb = plans.summary(a), plans.summary(b)
    ca = {(r["tier"], r["severity"]): r for r in sa["classes"]}
    cb = {(r["tier"], r["severity"]): r for r in sb["classes"]}
    classes = []
    for key in list(ca) + [k for k in cb if k not in ca]:
        ra, rb = ca.get(key, {}), cb.get(key, {})
        pa, pb = ra.get("predicted_on_time"), rb.get("predicted_on_time")
        target = rb.get("target", ra.get("target"))
        classes.append({"tier": key[0], "severity": key[1], "target": target, "a": pa, "b": pb,
                        "delta": None if pa is None or pb is None else pb - pa,
                        "a_miss": pa is not None and target is not None and pa < target - 1e-9,
                        "b_miss": pb is not None and target is not None and pb < target - 1e-9})
    la, lb = plans.levels(a, scenario), plans.levels(b, scenario)
    keys = ["part_id", "depot_id"]
    both = la[keys + ["base_stock", "value", "unit_cost"]].merge(
        lb[keys + ["base_stock", "value", "unit_cost"]], on=keys, how="outer", suffixes=("_a", "_b"))
    for col in ("base_stock_a", "base_stock_b", "value_a", "value_b"):
        both[col] = both[col].fillna(0)
    both["delta_units"] = both["base_stock_b"] - both["base_stock_a"]
    both["delta_value"] = both["value_b"] - both["value_a"]
    per_loc = (both.groupby("depot_id")[["base_stock_a", "base_stock_b", "value_a", "value_b",
                                         "delta_value"]].sum().reset_index())
    per_loc = per_loc[(per_loc["base_stock_a"] != per_loc["base_stock_b"])
                      | (per_loc["value_a"] != per_loc["value_b"])]
    changed = both[both["delta_units"] != 0].copy()
    changed["abs"] = changed["delta_value"].abs()
    changed = changed.sort_values("abs", ascending=False)
    return {"a": plans.get_plan(a), "b": plans.get_plan(b),
            "investment_a": sa["investment"], "investment_b": sb["investment"],
            "investment_delta": sb["investment"] - sa["investment"], "classes": classes,
            "locations": per_loc.sort_values("delta_value", key=abs, ascending=False)
            .to_dict("records"),
            "changed_count": len(changed), "changed": _records(changed.head(changed_limit))}


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return df.drop(columns=["abs"]).to_dict("records")
