"""Tables as a planner reads them: part names beside part ids, figures rounded, units in headers.

The run keeps its tables in model units (shares as fractions, money and days unrounded);
:func:`planner_table` writes them for the CSV files and the workbook (numbers rounded, shares as
percentages, headers with their unit, e.g. ``amount (CNY)``, ``on time after (%)``),
:func:`html_table` as text for the report (thousands separators, ``52.0 %``, numbers right aligned,
misses marked), :func:`format_sheet` gives the workbook's cells their number formats and
:func:`summary_rows` the summary sheet its human labels.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

MONEY = {"unit_cost", "amount", "repair_cost", "transport_cost", "unit_transport_cost", "value",
         "money", "buy_amount", "stock_value", "deferred_amount", "cumulative_amount",
         "value_today", "value_target", "value_after", "investment"}
"""Columns in the scenario's currency (2 decimals)."""
DAYS = {"lead_time_days"}
"""Columns in days (1 decimal)."""
RATES = {"demand_per_year": "demand (requests/yr)",
         "expected_serviceable": "expected serviceable (units)"}
"""Other figures with a unit (1 decimal)."""
GAIN_DECIMALS = 4
"""Decimals of service gains (on-time requests per year; the least proposed is 0.001)."""


def _label(col: str, currency: str, shares: set[str]) -> tuple[str, str]:
    """(header, kind) of a column: kind is money, days, rate, gain, share or plain."""
    # per-class columns (gain_platinum_sev1, on_time_platinum/sev1) name the severity in words
    words = re.sub(r"[_/]sev(\d+)$", r" severity \1", col).replace("_", " ")
    if col in shares:
        return f"{words} (%)", "share"
    if col in MONEY:
        return f"{words} ({currency})", "money"
    if col in DAYS:
        return words.replace(" days", "") + " (days)", "days"
    if col in RATES:
        return RATES[col], "rate"
    if col == "gain_per_10k":
        return f"gain per 10,000 {currency} (on-time requests/yr)", "gain"
    if col in ("gain_per_year", "cumulative_gain_per_year"):
        return words.replace(" per year", "") + " (on-time requests/yr)", "gain"
    if col.startswith("gain_"):
        return f"{words} (on-time requests/yr)", "gain"
    return words, "plain"


def _with_names(df: pd.DataFrame, part_names: Mapping[str, str] | None) -> pd.DataFrame:
    if part_names is None or "part_id" not in df.columns or "part_name" in df.columns:
        return df
    out = df.copy()
    out.insert(list(df.columns).index("part_id") + 1, "part_name",
               [part_names.get(p, "") for p in df["part_id"]])
    return out


def planner_table(df: pd.DataFrame, currency: str, part_names: Mapping[str, str] | None = None,
                  shares: Iterable[str] = ()) -> pd.DataFrame:
    """``df`` with part names, rounded figures (shares in ``shares`` as percentages, 2 decimals)
    and unit-labelled headers."""
    share_set = set(shares)
    out = _with_names(df, part_names)
    cols = {}
    for c in out.columns:
        header, kind = _label(c, currency, share_set)
        v = out[c]
        if kind == "share":
            v = (pd.to_numeric(v, errors="coerce") * 100).round(2)
        elif kind == "money":
            v = pd.to_numeric(v, errors="coerce").round(2)
        elif kind in ("days", "rate"):
            v = pd.to_numeric(v, errors="coerce").round(1)
        elif kind == "gain":
            v = pd.to_numeric(v, errors="coerce").round(GAIN_DECIMALS)
        cols[header] = v
    return pd.DataFrame(cols, index=out.index)


def html_table(df: pd.DataFrame, currency: str, part_names: Mapping[str, str] | None = None,
               shares: Iterable[str] = (), limit: int = 50,
               highlight: Sequence[bool] | None = None) -> str:
    """The first ``limit`` rows of ``df`` as an HTML table of formatted text: numbers right
    aligned (``class="n"``), rows where ``highlight`` is true marked ``class="miss"`` (a class
    under its target, say)."""
    share_set = set(shares)
    out = _with_names(df, part_names).head(limit)
    heads, columns, numeric = [], [], []
    for c in out.columns:
        header, kind = _label(c, currency, share_set)
        fmt = {"share": "{:.2f} %", "money": "{:,.2f}", "days": "{:.1f}", "rate": "{:,.1f}",
               "gain": "{:,." + str(GAIN_DECIMALS) + "f}"}.get(kind)
        v = out[c]
        if fmt is None and pd.api.types.is_float_dtype(v):
            fmt = "{:,.2f}"
        elif fmt is None and pd.api.types.is_integer_dtype(v) and not pd.api.types.is_bool_dtype(v):
            fmt = "{:,}"
        if fmt is not None:
            num = pd.to_numeric(v, errors="coerce")
            v = [("" if pd.isna(x) else fmt.format(x * 100 if kind == "share" else x)) for x in num]
        else:
            v = ["" if pd.isna(x) else str(x) for x in v]
        heads.append(header)
        columns.append(v)
        numeric.append(fmt is not None)
    flags = list(highlight)[:limit] if highlight is not None else [False] * len(out)
    head = "".join(f"<th>{html.escape(h[:1].upper() + h[1:])}</th>" for h in heads)
    body = []
    for i in range(len(out)):
        cells = "".join(f'<td class="n">{html.escape(col[i])}</td>' if isnum
                        else f"<td>{html.escape(col[i])}</td>"
                        for col, isnum in zip(columns, numeric, strict=True))
        body.append(f'<tr class="miss">{cells}</tr>' if flags[i] else f"<tr>{cells}</tr>")
    text = f'<table class="t"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    more = len(df) - limit
    return text + (f"<p>{more:,} more rows in the CSV and the workbook.</p>" if more > 0 else "")


def misses(service: pd.DataFrame) -> list[bool]:
    """Per row of a service table: the class ends under its target after the orders."""
    after = pd.to_numeric(service["on_time_after"], errors="coerce")
    target = pd.to_numeric(service["target"], errors="coerce")
    return list((after < target - 1e-9).fillna(False))


EXCEL_FORMATS = {"money": "#,##0.00", "gain": "#,##0.0000", "share": '0.00" %"',
                 "days": "0.0", "rate": "#,##0.0"}
"""Excel number formats per kind of column (shares are already percentages in the sheets)."""


def format_sheet(ws, currency: str) -> None:
    """Number formats of an openpyxl sheet written from :func:`planner_table` (thousands
    separators, shares with a % sign), read back from its unit-labelled headers."""
    kinds = {}
    for c in MONEY | DAYS | set(RATES) | {"gain_per_10k", "gain_per_year", "cumulative_gain_per_year"}:
        kinds[_label(c, currency, set())[0]] = _label(c, currency, set())[1]
    for col in ws.iter_cols(min_row=1, max_row=ws.max_row):
        header = str(col[0].value or "")
        kind = ("share" if header.endswith("(%)") else kinds.get(header)
                or ("gain" if header.endswith("(on-time requests/yr)") else None))
        if kind is None:
            continue
        for cell in col[1:]:
            if isinstance(cell.value, (int, float)):
                cell.number_format = EXCEL_FORMATS[kind]


def summary_rows(summary: Mapping[str, object], currency: str) -> pd.DataFrame:
    """The run's ``summary`` as the workbook's first sheet: a human label, the value (numbers
    as numbers) and its unit, then the machine key; nested values as JSON text."""
    rows = []
    for key, value in summary.items():
        if key == "service":
            continue
        label = key.replace("_", " ").capitalize()
        unit = ""
        if (key in MONEY or key.endswith(("_amount", "_cost", "_value", "_money"))
                or key.startswith("investment")):
            unit = currency
        elif key.endswith(("_units", "_serviceable")) or key == "units":
            unit = "units"
        elif key.endswith("_days"):
            unit = "days"
        elif key.endswith("_s"):
            unit = "s"
        elif "gain" in key:
            unit = "on-time requests/yr"
        elif key.endswith("per_month"):
            unit = "units/month"
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        elif value is None:
            value = ""
        rows.append({"item": label, "value": value, "unit": unit, "key": key})
    return pd.DataFrame(rows, columns=["item", "value", "unit", "key"])
