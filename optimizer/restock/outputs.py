"""Writing a run's outputs: CSV tables, ``summary.json``, ``report.xlsx`` and ``report.html``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from optimizer.restock.report import SERVICE_SHARES, glide_shares, render_html
from optimizer.restock.run import RestockResult
from optimizer.restock.sheets import planner_table

SHEETS = ("summary", "transfers", "repairs", "buys", "cut", "dropped", "marginal", "glide",
          "excess", "service", "depots", "forecast")
"""Sheets of ``report.xlsx``, in order."""
NO_GLIDE = "no step cap (--max-step): the orders are not phased"


def tables(result: RestockResult) -> dict[str, pd.DataFrame]:
    """The run's tables by sheet name (``summary`` as key/value rows)."""
    summ = result.summary()
    flat = [(k, json.dumps(v) if isinstance(v, (dict, list)) else v) for k, v in summ.items()
            if k != "service"]
    return {
        "summary": pd.DataFrame(flat, columns=["item", "value"]).astype({"value": str}),
        **{name: planner_table(getattr(result.plan, name), result.currency, result.part_names)
           for name in ("transfers", "repairs", "buys", "cut", "dropped", "marginal", "excess")},
        "glide": planner_table(result.glide, result.currency, shares=glide_shares(result))
        if len(result.glide) else pd.DataFrame({"note": [NO_GLIDE]}),
        "service": planner_table(result.service, result.currency, shares=SERVICE_SHARES),
        "depots": planner_table(result.depots, result.currency),
        "forecast": result.forecast_table,
    }


def write_xlsx(result: RestockResult, path: Path) -> None:
    """One sheet per table, bold frozen header, autofilter over every sheet's used range."""
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        t = tables(result)
        for name in SHEETS:
            t[name].to_excel(xw, sheet_name=name, index=False)
            ws = xw.sheets[name]
            ws.auto_filter.ref = ws.dimensions
            ws.freeze_panes = "A2"
            for col in ws.iter_cols(min_row=1, max_row=1):
                width = max(10, min(40, len(str(col[0].value)) + 2))
                ws.column_dimensions[col[0].column_letter].width = width


def write_outputs(result: RestockResult, out_dir: str | Path) -> dict[str, Path]:
    """Write every output into ``out_dir`` (created if missing); returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.csv" for name in ("transfers", "repairs", "buys", "excess",
                                                        "forecast")}
    t = tables(result)
    for name, p in paths.items():
        t[name].to_csv(p, index=False)
    for name in ("cut", "dropped", "marginal", "glide", "service"):
        paths[name] = out / f"{name}.csv"
        t[name].to_csv(paths[name], index=False)
    paths["summary"] = out / "summary.json"
    paths["summary"].write_text(json.dumps(result.summary(), indent=2, default=str) + "\n")
    paths["xlsx"] = out / "report.xlsx"
    write_xlsx(result, paths["xlsx"])
    paths["html"] = out / "report.html"
    paths["html"].write_text(render_html(result), encoding="utf-8")
    return paths
