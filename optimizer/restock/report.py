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
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from optimizer.restock.sheets import html_table, misses  # noqa: E402

if TYPE_CHECKING:
    from optimizer.restock.run import RestockResult

FIGURE_TITLES = ("Cost / service curve", "On-time share per tier",
                 "On-time share per tier and severity", "Investment per depot",
                 "Depots by stock value", "Marginal value of the buys", "Glide path")
"""Titles of the figures; the glide path is drawn when the run has a step cap."""
SERVICE_SHARES = ("target", "aimed_at", "on_time_before", "on_time_target", "on_time_after")
"""Columns of the service table that are shares (written as percentages)."""


def glide_shares(result: RestockResult) -> list[str]:
    """Columns of the glide path that are shares."""
    return [c for c in result.glide.columns if c.startswith("on_time")]


def money_axis(axis, values, currency: str, what: str) -> None:
    """Label ``axis`` in millions (or thousands) of ``currency``: no 1e7 offset notation."""
    top = float(np.nanmax(np.abs(values))) if len(values) else 0.0
    scale, unit = (1e6, "M ") if top >= 1e6 else (1e3, "k ") if top >= 1e3 else (1.0, "")
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / scale:,.1f}"))
    axis.set_label_text(f"{what} ({unit}{currency})")


def percent_axis(axis, what: str) -> None:
    """Label ``axis`` in percent (values are shares)."""
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v * 100:.1f}"))
    axis.set_label_text(f"{what} (%)")


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
    grid = c[c["label"].str.startswith("buys ")]
    ax.plot(grid["investment"], grid["on_time"], "-o", color="0.5",
            label="buys, most gain per money first")
    marks = {"today": ("tab:red", "s"), "new plan": ("tab:blue", "*"),
             "after orders": ("tab:green", "D")}
    for label, (color, marker) in marks.items():
        row = c[c["label"] == label]
        if len(row):
            ax.scatter(row["investment"], row["on_time"], color=color, marker=marker, s=110,
                       zorder=3, label=label)
    money_axis(ax.xaxis, c["investment"].to_numpy(dtype=float), result.currency, "stock value")
    percent_axis(ax.yaxis, "on-time share, all in-service demand")
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
    percent_axis(ax.yaxis, "on-time share, axis does not start at 0" if low > 0.07
                 else "on-time share")
    ax.set_title(FIGURE_TITLES[1])
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
    return _png(fig)


def investment_figure(result: RestockResult) -> str:
    """Stock value per depot today and after the orders: a row per depot (the figure grows with
    the network, so no two names overlap), the largest after the orders on top."""
    d = result.depots.sort_values("value_after", kind="stable")
    fig, ax = plt.subplots(figsize=(7.5, max(3.0, 0.24 * len(d) + 1.2)))
    y = np.arange(len(d))
    ax.barh(y + 0.2, d["value_today"], height=0.4, label="today", color="0.65")
    ax.barh(y - 0.2, d["value_after"], height=0.4, label="after orders", color="tab:blue")
    ax.set_yticks(y, d["depot_id"], fontsize=7)
    ax.set_ylim(-0.7, len(d) - 0.3)
    money_axis(ax.xaxis, np.r_[d["value_today"], d["value_after"]], result.currency,
               "stock value")
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.set_title(FIGURE_TITLES[3])
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right")
    return _png(fig)


def map_figure(result: RestockResult) -> str:
    """Depots on longitude/latitude, sized by stock value after the orders; names written from
    the most valuable down, each only where it overlaps no name already written."""
    d = result.depots
    fig, ax = plt.subplots(figsize=(6.5, 5))
    v = d["value_after"].to_numpy(dtype=float)
    size = 20 + 600 * v / v.max() if v.max() > 0 else np.full(len(v), 20.0)
    colors = np.where(d["kind"] == "hq", "tab:red", "tab:blue")
    ax.scatter(d["lon"], d["lat"], s=size, c=colors, alpha=0.6, edgecolors="k", linewidths=0.5)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.grid(alpha=0.3)
    fig.canvas.draw()  # settle the axes' limits, so that the names' boxes are where they land
    ax.set_xlim(ax.get_xlim())
    ax.set_ylim(ax.get_ylim())
    renderer = fig.canvas.get_renderer()
    placed, left_out = [], 0
    for i in np.argsort(-v, kind="stable"):
        r = d.iloc[i]
        note = ax.annotate(r["depot_id"], (r["lon"], r["lat"]), fontsize=6, xytext=(3, 3),
                           textcoords="offset points")
        box = note.get_window_extent(renderer)
        if any(box.overlaps(b) for b in placed):
            note.remove()
            left_out += 1
        else:
            placed.append(box)
    ax.set_title(FIGURE_TITLES[4] + " (after orders; red = HQ)"
                 + (f"\n{left_out} names left out where they would overlap" if left_out else ""),
                 fontsize=10)
    return _png(fig)


def class_figure(result: RestockResult) -> str:
    """On-time share of every (tier, severity) class today and after the orders against its
    target, a row per class: a small severity-1 class under target shows even where its tier's
    demand-weighted average looks fine. Misses after the orders in red."""
    svc = result.service.iloc[::-1]
    labels = [f"{t} · severity {int(s)}" for t, s in zip(svc["tier"], svc["severity"], strict=True)]
    after = svc["on_time_after"].to_numpy(dtype=float)
    today = svc["on_time_before"].to_numpy(dtype=float)
    target = svc["target"].to_numpy(dtype=float)
    miss = after < target - 1e-9
    fig, ax = plt.subplots(figsize=(6.5, max(3.0, 0.3 * len(svc) + 1.4)))
    y = np.arange(len(svc))
    ax.barh(y + 0.2, np.nan_to_num(today), height=0.4, color="0.7", label="today")
    ax.barh(y - 0.2, np.nan_to_num(after), height=0.4,
            color=np.where(miss, "tab:red", "tab:blue"), label="after orders (red: under target)")
    ax.scatter(target, y, marker="|", s=220, color="k", linewidths=2, zorder=3, label="target")
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_ylim(-0.7, len(svc) - 0.3)
    vals = np.r_[after, today, target]
    low = np.nanmin(vals) if np.isfinite(vals).any() else 0.0
    ax.set_xlim(max(0.0, np.floor((low - 0.02) * 20) / 20), 1.0)
    percent_axis(ax.xaxis, "on-time share, axis does not start at 0" if low > 0.07
                 else "on-time share")
    ax.set_title(FIGURE_TITLES[2])
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=7)
    return _png(fig)


def marginal_figure(result: RestockResult) -> str:
    """Gain per money of each planned buy, most valuable first, against the cumulative amount;
    the buys left out by a cap in grey."""
    m = result.plan.marginal
    fig, ax = plt.subplots(figsize=(6.5, 4))
    x = m["cumulative_amount"].to_numpy(dtype=float)
    y = m["gain_per_10k"].to_numpy(dtype=float)
    on = m["proposed"].to_numpy(dtype=bool)
    ax.step(x, y, where="post", color="0.6", linewidth=0.8)
    ax.scatter(x[on], y[on], s=6, color="tab:blue", label="proposed")
    if (~on).any():
        ax.scatter(x[~on], y[~on], s=6, color="0.6", label="left out by the cap")
    if len(y) and np.all(y > 0):
        ax.set_yscale("log")
    money_axis(ax.xaxis, x, result.currency, "cumulative buy amount")
    ax.set_ylabel(f"gain per 10,000 {result.currency} (on-time requests/yr)")
    ax.set_title(FIGURE_TITLES[5])
    ax.grid(alpha=0.3)
    if len(x):
        ax.legend(loc="upper right")
    return _png(fig)


def glide_figure(result: RestockResult) -> str:
    """On-time share per tier (demand-weighted over its classes) per quarter of the glide path."""
    g = result.glide
    svc = result.service
    fig, ax = plt.subplots(figsize=(6.5, 4))
    x = np.arange(len(g))
    for tier, grp in svc.groupby("tier", sort=False):
        cols = [f"on_time_{t}/sev{int(s)}" for t, s in zip(grp["tier"], grp["severity"],
                                                             strict=True)]
        w = grp["demand_per_year"].to_numpy(dtype=float)
        vals = g[cols].to_numpy(dtype=float)
        ok = ~np.isnan(vals) & (w > 0)
        share = (np.where(ok, vals, 0) @ w) / np.maximum(ok @ w, 1e-12)
        ax.plot(x, share, "-o", label=str(tier))
    ax.plot(x, g["on_time"], "--", color="k", label="all")
    ax.set_xticks(x, g["quarter"])
    percent_axis(ax.yaxis, "on-time share")
    ax.set_title(FIGURE_TITLES[6])
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def _table(df: pd.DataFrame, limit: int = 50) -> str:
    more = f"<p>{len(df) - limit} more rows in the CSV and the workbook.</p>" if len(df) > limit else ""
    return df.head(limit).to_html(index=False, border=0, classes="t", float_format="{:,.2f}".format,
                                  na_rep="") + more


def forecast_note(result: RestockResult) -> str:
    """What the forecast table's method and weights mean, as a paragraph."""
    w = ", ".join(f"{k} {v:.2f}" for k, v in result.forecast.weights.items() if v > 0)
    return (f"<p>Units per month; interval: {result.forecast.level:.0%} credible interval of the "
            "rate. <code>window_combination</code>: Poisson-gamma posteriors over the last months "
            "of history (prior: installed base x failure rate, or the pool of parts without one), "
            f"combined with weights fitted on the history ({html.escape(w or 'none')}).</p>")


def forecast_rows(result: RestockResult) -> pd.DataFrame:
    """The forecast table with its monthly rates written to 4 decimals (small rates matter)."""
    df = result.forecast_table.copy()
    for c in df.columns:
        if c.endswith("_per_month"):
            df[c] = df[c].map("{:.4f}".format)
    return df


GAIN_NOTE = ("<p>Gain: on-time requests a year the line adds on the stock after every order "
             "(the same stock without the line, from the stocking model), in all and per class; "
             "gain per 10,000: the same per 10,000 of the line's money.</p>")


GLIDE_NOTE = ("<p>Each later quarter is planned again from the stock the quarter before leaves "
              "(its orders all arrived), within the same cap: transfers, repairs and the buys "
              "that add the most service per money first. Deferred: the buys that pay for "
              "themselves and still wait for money.</p>")
CONTRACT_NOTE = ("<p>Stock a contract obliges the vendor to hold (minimums file): what the orders "
                 "above leave below the minimum is bought here, with its reason and the service "
                 "it adds, often none. Never cut by the budget or the step cap.</p>")


def render_html(result: RestockResult) -> str:
    """The whole report as one HTML document."""
    s = result.summary()
    figs = [curve_figure(result), tier_figure(result), class_figure(result),
            investment_figure(result), map_figure(result), marginal_figure(result)]
    if len(result.glide):
        figs.append(glide_figure(result))
    cur = html.escape(result.currency)
    head = [("Quarter", s["quarter"]), ("Scenario", s["scenario"]), ("Run id", s["run_id"]),
            ("Positions from", s["positions_from"]),
            *([("What-if overlay", f"{s['overlay']} (a changed network: not to be booked)")]
              if s.get("overlay") else []),
            ("Budget", "none" if s["budget"] is None else f"{s['budget']:,.2f} {cur}"),
            ("Step cap per quarter", "none" if s["max_step"] is None else
             f"{s['max_step']} ({s['max_step_amount']:,.2f} {cur})"),
            ("Investment today / plan / after", f"{s['investment_today']:,.0f} / "
             f"{s['investment_target']:,.0f} / {s['investment_after']:,.0f} {cur}"),
            ("Transfers", f"{s['transfer_units']} units, {s['transfer_cost']:,.2f} {cur}"),
            ("Repairs", f"{s['repair_units']} units, {s['repair_cost']:,.2f} {cur}"),
            ("Buys", f"{s['buy_units']} units, {s['buy_amount']:,.2f} {cur}"),
            ("Contractual minimums (bought whatever they add)",
             f"{s['contractual_units']} units, {s['contractual_amount']:,.2f} {cur}"),
            ("Cut by the budget / deferred by the step cap",
             f"{s['cut_units']} units, {s['cut_amount']:,.2f} {cur}"),
            ("Service the orders add", f"{s['gain_per_year']:,.2f} on-time requests/yr"),
            ("Not proposed (add less than "
             f"{s['min_gain_per_year']:g} on-time requests/yr)",
             f"{s['dropped_lines']} lines, {s['dropped_money']:,.2f} {cur}"),
            ("Excess & obsolete", f"{s['excess_units']} units, {s['excess_value']:,.2f} {cur}"),
            ("Forecast (units/month)", f"{s['forecast_units_per_month']:,.1f} "
             f"(prior {s['prior_units_per_month']:,.1f})")]
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in head)
    imgs = "".join(f'<figure><img alt="{html.escape(t)}" src="data:image/png;base64,{b}">'
                   f"<figcaption>{html.escape(t)}</figcaption></figure>"
                   for t, b in zip(FIGURE_TITLES, figs, strict=False))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    p = result.plan

    def sheet(df: pd.DataFrame) -> str:
        return html_table(df, result.currency, result.part_names)

    glide = (f"<h2>Glide path (step cap {html.escape(str(s['max_step']))} a quarter)</h2>"
             + GLIDE_NOTE + html_table(result.glide, result.currency, shares=glide_shares(result))
             + "<h3>Orders of the later quarters</h3>" + sheet(result.glide_orders)
             if len(result.glide) else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Restock {html.escape(s['quarter'])} - {html.escape(s['scenario'])}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table.t, table.h {{ border-collapse: collapse; font-size: 0.85em; margin-bottom: 1em; }}
table.t td, table.t th, table.h td, table.h th {{ border: 1px solid #ccc; padding: 2px 6px; }}
table.h th {{ text-align: left; background: #f3f3f3; }}
figure {{ display: inline-block; margin: 0.5em; vertical-align: top; }}
table.t td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
table.t tr.miss td {{ color: #b71c1c; font-weight: 600; background: #fdecea; }}
</style></head><body>
<h1>Quarterly restocking run {html.escape(s['quarter'])}</h1>
<table class="h">{rows}</table>
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
<h2>Figures</h2>
{imgs}
<h2>Service per tier and severity</h2><p>Classes under their target after the orders in red.</p>
{html_table(result.service, cur, shares=SERVICE_SHARES, highlight=misses(result.service))}
{glide}
<h2>Transfers</h2>{sheet(p.transfers)}
<h2>Repairs</h2>{sheet(p.repairs)}
<h2>Buys</h2>{GAIN_NOTE}{sheet(p.buys)}
<h2>Contractual minimums: bought whatever service they add</h2>{CONTRACT_NOTE}{sheet(p.contractual)}
<h2>Cut by the budget / deferred by the step cap</h2>{sheet(p.cut)}
<h2>Not proposed: no service gain</h2>{sheet(p.dropped)}
<h2>Marginal curve: buys, most gain per money first</h2>{sheet(p.marginal)}
<h2>Excess &amp; obsolete</h2>{sheet(p.excess)}
<h2>Forecast per part</h2>{forecast_note(result)}{_table(forecast_rows(result))}
</body></html>
"""
