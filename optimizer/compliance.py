"""SLA compliance: on-time share of dispatches per tier and severity, per depot and depot kind.

A dispatch counts once its outcome is known: delivered (met or missed by its delivery time) or
**overdue** (past its due time, neither delivered nor cancelled: a miss already, so a backorder
or a lost shipment never hides from the figures). ``on_time_share = met / (delivered + overdue)``,
rounded to 4 decimals; None when nothing counts. Pure: plain rows in, a JSON-ready dict out,
computed with pandas group-bys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from inventory.domain import Scenario

NO_DEPOT = "-"
"""The depot (and depot kind) of a dispatch that never had a source (a backorder)."""
_COLUMNS = ("tier", "severity", "depot_id", "outcome")


def sla_targets(scenario: Scenario) -> dict[tuple[str, int], float]:
    """The on-time target per (tier, severity): the strictest (lowest) over the contracts."""
    targets: dict[tuple[str, int], float] = {}
    for c in scenario.contracts:
        for t in c.terms:
            k = (c.tier, t.severity)
            targets[k] = min(targets.get(k, 1.0), t.target)
    return targets


def _share(met: int, n: int) -> float | None:
    return round(met / n, 4) if n else None


def _counts(delivered: int, met: int, overdue: int) -> dict[str, Any]:
    return {"delivered": int(delivered), "met": int(met), "overdue": int(overdue),
            "on_time_share": _share(int(met), int(delivered) + int(overdue))}


def compliance(rows: Iterable[tuple[str, int, str | None, str | None]], *,
               depot_kinds: Mapping[str, str],
               targets: Mapping[tuple[str, int], float]) -> dict[str, Any]:
    """Counts over ``rows`` of (tier, severity, source depot or None, SLA outcome): outcome
    ``"met"`` / any other text is a delivered dispatch on time / late, None an overdue one.

    ``depot_kinds``: depot id -> kind name; ``targets``: (tier, severity) -> target share
    (:func:`sla_targets`). Returns the totals and ``by_tier_severity`` (with ``target``),
    ``by_depot`` and ``by_depot_kind`` lists, each sorted by its key."""
    df = pd.DataFrame.from_records(list(rows), columns=list(_COLUMNS))
    df["depot_id"] = df["depot_id"].fillna(NO_DEPOT)
    df["kind"] = df["depot_id"].map({**depot_kinds, NO_DEPOT: NO_DEPOT}).fillna("unknown")
    known = df["outcome"].notna()
    df["delivered"] = known.astype("int64")
    df["met"] = (df["outcome"] == "met").astype("int64")
    df["overdue"] = (~known).astype("int64")
    measures = ["delivered", "met", "overdue"]

    def grouped(keys: list[str]) -> pd.DataFrame:
        if df.empty:
            return pd.DataFrame(columns=[*keys, *measures])
        return df.groupby(keys, sort=True, dropna=False)[measures].sum().reset_index()

    total = df[measures].sum()
    by_ts = grouped(["tier", "severity"])
    by_depot = grouped(["depot_id", "kind"])
    by_kind = grouped(["kind"])
    return {
        **_counts(total["delivered"], total["met"], total["overdue"]),
        "by_tier_severity": [
            {"tier": t, "severity": int(s), **_counts(d, m, o), "target": targets.get((t, int(s)))}
            for t, s, d, m, o in by_ts.itertuples(index=False, name=None)],
        "by_depot": [{"depot_id": dep, "depot_kind": k, **_counts(d, m, o)}
                     for dep, k, d, m, o in by_depot.itertuples(index=False, name=None)],
        "by_depot_kind": [{"depot_id": "*", "depot_kind": k, **_counts(d, m, o)}
                          for k, d, m, o in by_kind.itertuples(index=False, name=None)],
    }
