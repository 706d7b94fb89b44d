"""Writing a run's outputs: CSV tables, ``summary.json``, ``report.xlsx`` and ``report.html``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from optimizer.restock.report import SERVICE_SHARES, glide_shares, render_html
from optimizer.restock.run import RestockResult
from optimizer.restock.sheets import (
    EXCEL_FORMATS,
    format_sheet,
    misses,
    planner_table,
    summary_rows,
)

SHEETS = ("summary", "transfers", "repairs", "buys", "contractual", "cut", "dropped", "marginal",
          "glide", "glide_orders", "excess", "service", "depots", "forecast")
"""Sheets of ``report.xlsx``, in order."""
NO_GLIDE = "no step cap (--max-step): the orders are not phased"


def tables(result: RestockResult) -> dict[str, pd.DataFrame]:
    """The run's tables by sheet name (``summary`` as labelled rows: item, value, unit, key)."""
    return {
        "summary": summary_rows(result.summary(), result.currency),
        **{name: planner_table(getattr(result.plan, name), result.currency, result.part_names)
           for name in ("transfers", "repairs", "buys", "contractual", "cut", "dropped",
                        "marginal", "excess")},
        "glide": planner_table(result.glide, result.currency, shares=glide_shares(result))
        if len(result.glide) else pd.DataFrame({"note": [NO_GLIDE]}),
        "glide_orders": planner_table(result.glide_orders, result.currency, result.part_names)
        if len(result.glide) else pd.DataFrame({"note": [NO_GLIDE]}),
        "service": planner_table(result.service, result.currency, shares=SERVICE_SHARES),
        "depots": planner_table(result.depots, result.currency),
        "forecast": result.forecast_table,
    }


def write_xlsx(result: RestockResult, path: Path) -> None:
    """One sheet per table, bold frozen header, autofilter over every sheet's used range,
    number formats with thousands separators and % signs (:func:`format_sheet`), the classes
    under target after the orders in red on the service sheet."""
    from openpyxl.styles import Font, PatternFill

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
            format_sheet(ws, result.currency)
        summary = xw.sheets["summary"]
        summary.column_dimensions["A"].width = 34
        summary.column_dimensions["B"].width = 24
        formats = {result.currency: EXCEL_FORMATS["money"], "units/month": "#,##0.000",
                   "on-time requests/yr": EXCEL_FORMATS["gain"], "days": EXCEL_FORMATS["days"],
                   "units": "#,##0"}
        for _, value, unit in summary.iter_rows(min_row=2, max_col=3):
            if isinstance(value.value, (int, float)) and unit.value in formats:
                value.number_format = formats[unit.value]
        red, pink = Font(color="B71C1C", bold=True), PatternFill("solid", fgColor="FDECEA")
        for row, miss in zip(xw.sheets["service"].iter_rows(min_row=2), misses(result.service),
                             strict=True):
            for cell in row if miss else ():
                cell.font, cell.fill = red, pink


def write_outputs(result: RestockResult, out_dir: str | Path) -> dict[str, Path]:
    """Write every output into ``out_dir`` (created if missing); returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.csv" for name in ("transfers", "repairs", "buys", "excess",
                                                        "forecast")}
    t = tables(result)
    for name, p in paths.items():
        t[name].to_csv(p, index=False)
    for name in ("contractual", "cut", "dropped", "marginal", "glide", "glide_orders", "service"):
        paths[name] = out / f"{name}.csv"
        t[name].to_csv(paths[name], index=False)
    paths["summary"] = out / "summary.json"
    paths["summary"].write_text(json.dumps(result.summary(), indent=2, default=str) + "\n")
    paths["xlsx"] = out / "report.xlsx"
    write_xlsx(result, paths["xlsx"])
    paths["html"] = out / "report.html"
    paths["html"].write_text(render_html(result), encoding="utf-8")
    return paths
