"""A self-contained HTML report of a restocking run: figures as inline base64 PNG, no network."""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

if TYPE_CHECKING:
    from optimizer.restock.run import RestockResult

FIGURE_TITLES = ("Cost / service curve", "On-time share per tier", "Investment per depot",
                 "Depots by stock value")


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def tier_table(service: pd.DataFrame) -> pd.DataFrame:
    """On-time shares per tier, weighted by each class's in-service demand."""
    cols = [c for c in service.columns if c.startswith("on_time_")]
    rows = []
    for tier, g in service.groupby("tier", sort=False):
        w = g["demand_per_year"].to_numpy()
        row = {"tier": tier}
        for c in cols:
            v = g[c].to_numpy()
            ok = ~np.isnan(v) & (w > 0)
            row[c] = float(np.average(v[ok], weights=w[ok])) if ok.any() else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def curve_figure(result: RestockResult) -> str:
    fig, ax = plt.subplots(figsize=(6.5, 4))
    c = result.curve
    grid = c[c["label"].str.endswith("of plan") | (c["label"] == "new plan")]
    ax.plot(grid["investment"], grid["on_time"], "-o", color="0.5", label="scaled plans")
    marks = {"today": ("tab:red", "s"), "new plan": ("tab:blue", "*"),
             "after orders": ("tab:green", "D")}
    for label, (color, marker) in marks.items():
        row = c[c["label"] == label]
        if len(row):
            ax.scatter(row["investment"], row["on_time"], color=color, marker=marker, s=110,
                       zorder=3, label=label)
    ax.set_xlabel(f"investment ({result.currency})")
    ax.set_ylabel("on-time share (all in-service demand)")
    ax.set_title(FIGURE_TITLES[0])
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return _png(fig)


def tier_figure(result: RestockResult) -> str:
    t = tier_table(result.service)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    x = np.arange(len(t))
    for k, (col, label) in enumerate((("on_time_before", "today"), ("on_time_target", "new plan"),
                                      ("on_time_after", "after orders"))):
        ax.bar(x + (k - 1) * 0.27, t[col].fillna(0), width=0.27, label=label)
    ax.set_xticks(x, t["tier"])
    vals = t[["on_time_before", "on_time_target", "on_time_after"]].to_numpy(dtype=float)
    low = np.nanmin(vals) if np.isfinite(vals).any() else 0.0
    ax.set_ylim(max(0.0, np.floor((low - 0.02) * 20) / 20), 1.0)
    ax.set_ylabel("on-time share (axis does not start at 0)" if low > 0.07 else "on-time share")
    ax.set_title(FIGURE_TITLES[1])
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
    return _png(fig)


def investment_figure(result: RestockResult) -> str:
    d = result.depots
    fig, ax = plt.subplots(figsize=(9, 4))
    x = np.arange(len(d))
    ax.bar(x - 0.2, d["value_today"], width=0.4, label="today")
    ax.bar(x + 0.2, d["value_after"], width=0.4, label="after orders")
    ax.set_xticks(x, d["depot_id"], rotation=90, fontsize=7)
    ax.set_ylabel(f"stock value ({result.currency})")
    ax.set_title(FIGURE_TITLES[2])
    ax.legend()
    return _png(fig)


def map_figure(result: RestockResult) -> str:
    d = result.depots
    fig, ax = plt.subplots(figsize=(6.5, 5))
    v = d["value_after"].to_numpy(dtype=float)
    size = 20 + 600 * v / v.max() if v.max() > 0 else np.full(len(v), 20.0)
    colors = np.where(d["kind"] == "hq", "tab:red", "tab:blue")
    ax.scatter(d["lon"], d["lat"], s=size, c=colors, alpha=0.6, edgecolors="k", linewidths=0.5)
    for _, r in d.iterrows():
        ax.annotate(r["depot_id"], (r["lon"], r["lat"]), fontsize=6, xytext=(3, 3),
                    textcoords="offset points")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(FIGURE_TITLES[3] + " (after orders; red = HQ)")
    ax.grid(alpha=0.3)
    return _png(fig)


def _table(df: pd.DataFrame, limit: int = 50) -> str:
    more = f"<p>{len(df) - limit} more rows in the CSV and the workbook.</p>" if len(df) > limit else ""
    return df.head(limit).to_html(index=False, border=0, classes="t", float_format="{:,.2f}".format,
                                  na_rep="") + more


def render_html(result: RestockResult) -> str:
    """The whole report as one HTML document."""
    s = result.summary()
    figs = [curve_figure(result), tier_figure(result), investment_figure(result),
            map_figure(result)]
    cur = html.escape(result.currency)
    head = [("Quarter", s["quarter"]), ("Scenario", s["scenario"]), ("Run id", s["run_id"]),
            ("Positions from", s["positions_from"]),
            ("Budget", "none" if s["budget"] is None else f"{s['budget']:,.2f} {cur}"),
            ("Investment today / plan / after", f"{s['investment_today']:,.0f} / "
             f"{s['investment_target']:,.0f} / {s['investment_after']:,.0f} {cur}"),
            ("Transfers", f"{s['transfer_units']} units, {s['transfer_cost']:,.2f} {cur}"),
            ("Repairs", f"{s['repair_units']} units, {s['repair_cost']:,.2f} {cur}"),
            ("Buys", f"{s['buy_units']} units, {s['buy_amount']:,.2f} {cur}"),
            ("Cut by the budget", f"{s['cut_units']} units, {s['cut_amount']:,.2f} {cur}"),
            ("Excess & obsolete", f"{s['excess_units']} units, {s['excess_value']:,.2f} {cur}"),
            ("Forecast (units/month)", f"{s['forecast_units_per_month']:,.1f} "
             f"(prior {s['prior_units_per_month']:,.1f})")]
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in head)
    imgs = "".join(f'<figure><img alt="{html.escape(t)}" src="data:image/png;base64,{b}">'
                   f"<figcaption>{html.escape(t)}</figcaption></figure>"
                   for t, b in zip(FIGURE_TITLES, figs, strict=True))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    p = result.plan
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Restock {html.escape(s['quarter'])} - {html.escape(s['scenario'])}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table.t, table.h {{ border-collapse: collapse; font-size: 0.85em; margin-bottom: 1em; }}
table.t td, table.t th, table.h td, table.h th {{ border: 1px solid #ccc; padding: 2px 6px; }}
table.h th {{ text-align: left; background: #f3f3f3; }}
figure {{ display: inline-block; margin: 0.5em; }}
</style></head><body>
<h1>Quarterly restocking run {html.escape(s['quarter'])}</h1>
<table class="h">{rows}</table>
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
<h2>Figures</h2>
{imgs}
<h2>Service per class</h2>{_table(result.service)}
<h2>Transfers</h2>{_table(p.transfers)}
<h2>Repairs</h2>{_table(p.repairs)}
<h2>Buys</h2>{_table(p.buys)}
<h2>Cut by the budget</h2>{_table(p.cut)}
<h2>Excess &amp; obsolete</h2>{_table(p.excess)}
</body></html>
"""
