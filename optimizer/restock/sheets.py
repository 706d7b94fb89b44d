"""Tables as a planner reads them: part names beside part ids, figures rounded, units in headers.

The run keeps its tables in model units (shares as fractions, money and days unrounded);
:func:`planner_table` writes them for the CSV files and the workbook (numbers rounded, shares as
percentages, headers with their unit, e.g. ``amount (CNY)``, ``on time after (%)``),
:func:`html_table` as text for the report (thousands separators, ``52.0 %``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
    words = col.replace("_", " ")
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
        return f"gain {col[5:]} (on-time requests/yr)", "gain"
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
               shares: Iterable[str] = (), limit: int = 50) -> str:
    """The first ``limit`` rows of ``df`` as an HTML table of formatted text."""
    share_set = set(shares)
    out = _with_names(df, part_names).head(limit)
    cols = {}
    for c in out.columns:
        header, kind = _label(c, currency, share_set)
        fmt = {"share": "{:.2f} %", "money": "{:,.2f}", "days": "{:.1f}", "rate": "{:,.1f}",
               "gain": "{:." + str(GAIN_DECIMALS) + "f}"}.get(kind)
        v = out[c]
        if fmt is not None:
            num = pd.to_numeric(v, errors="coerce")
            v = [("" if pd.isna(x) else fmt.format(x * 100 if kind == "share" else x))
                 for x in num]
        elif pd.api.types.is_float_dtype(v):
            v = [("" if pd.isna(x) else f"{x:,.2f}") for x in v]
        cols[header] = v
    text = pd.DataFrame(cols).to_html(index=False, border=0, classes="t", na_rep="",
                                      escape=True)
    more = len(df) - limit
    return text + (f"<p>{more:,} more rows in the CSV and the workbook.</p>" if more > 0 else "")

