"""The restock report read as a planner reads it, checked on the generated files: percentages as
percentages, thousands separators, human column names, no scientific notation, per-severity
service next to per-tier, misses highlighted (HTML and Excel), and no figure text overlapping
another (also on a network of many crowded depots)."""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text
from openpyxl import load_workbook

import scenarios
from optimizer.restock import report
from optimizer.restock.outputs import write_outputs
from optimizer.restock.quarter import Quarter
from optimizer.restock.run import RestockResult, scenario_run
from optimizer.restock.sheets import misses


@pytest.fixture(scope="module")
def result() -> RestockResult:
    return scenario_run(scenarios.load("tiny"), Quarter.parse("2027Q1"), budget=10_000.0)


@pytest.fixture(scope="module")
def outputs(result, tmp_path_factory) -> dict[str, Path]:
    return write_outputs(result, tmp_path_factory.mktemp("report"))


def _text(path: Path) -> str:
    """The report without its inline images."""
    return re.sub(r"base64,[A-Za-z0-9+/=]+", "", path.read_text())


def _tables(text: str) -> list[tuple[list[str], list[tuple[str, list[str]]]]]:
    """Each ``table.t`` as (headers, [(row class, cells)])."""
    out = []
    for t in re.findall(r'<table class="t">(.*?)</table>', text, re.S):
        heads = re.findall(r"<th>(.*?)</th>", t)
        rows = [(cls or "", re.findall(r"<td[^>]*>(.*?)</td>", tr))
                for cls, tr in re.findall(r'<tr(?: class="([^"]*)")?>(.*?)</tr>', t, re.S)
                if "<td" in tr]
        out.append((heads, rows))
    return out


def test_html_numbers_read_at_a_glance(outputs):
    text = _text(outputs["html"])
    assert not re.search(r"\d[eE][+-]\d", text)  # no scientific notation anywhere
    tables = _tables(text)
    assert len(tables) >= 8
    for heads, rows in tables:
        for h in heads:  # human headers: words with a capital, no snake_case
            assert "_" not in h and h[:1] == h[:1].upper(), h
        for j, h in enumerate(heads):
            cells = [cells[j] for _, cells in rows if j < len(cells) and cells[j]]
            if h.endswith("(%)"):
                assert all(re.fullmatch(r"-?\d{1,3}\.\d{2} %", c) for c in cells), (h, cells)
            for c in cells:  # numbers of 4 digits or more carry thousands separators
                if re.fullmatch(r"-?[\d,]+(\.\d+)?( %)?", c):
                    assert not re.search(r"\d{4}", c.split(".")[0]), (h, c)


def test_html_marks_the_classes_under_target(result, outputs):
    text = _text(outputs["html"])
    section = text.split("<h2>Service per tier and severity</h2>")[1].split("<h2>")[0]
    (heads, rows), = _tables(section)
    want = misses(result.service)
    assert any(want), "tiny's platinum and gold severity 1 stay under target"
    assert [cls == "miss" for cls, _ in rows] == want
    after, target = heads.index("On time after (%)"), heads.index("Target (%)")
    for cls, cells in rows:
        assert (float(cells[after][:-2]) < float(cells[target][:-2])) == (cls == "miss")
    assert "tr.miss td" in text  # and the style that makes them red


def test_per_severity_figure_next_to_the_per_tier_one(outputs):
    alts = re.findall(r'<img alt="([^"]+)"', outputs["html"].read_text())
    i = alts.index("On-time share per tier")
    assert alts[i + 1] == "On-time share per tier and severity"


def test_workbook_formats(result, outputs):
    wb = load_workbook(outputs["xlsx"])
    summary = wb["summary"]
    assert [c.value for c in summary[1]] == ["item", "value", "unit", "key"]
    rows = {r[3].value: r for r in summary.iter_rows(min_row=2)}
    assert rows["investment_today"][0].value == "Investment today"
    assert rows["investment_today"][2].value == result.currency
    assert isinstance(rows["investment_today"][1].value, (int, float))
    assert rows["investment_today"][1].number_format == "#,##0.00"
    assert all("_" not in r[0].value for r in rows.values())
    service = wb["service"]
    heads = [c.value for c in service[1]]
    for j, h in enumerate(heads):
        for cell in [row[j] for row in service.iter_rows(min_row=2)]:
            if h.endswith("(%)") and cell.value is not None:
                assert cell.number_format == '0.00" %"' and cell.value > 1.5 or cell.value == 0
    red = [row[0].font.color is not None and str(row[0].font.color.rgb).endswith("B71C1C")
           for row in service.iter_rows(min_row=2)]
    assert red == misses(result.service)
    money_cols = [(name, c) for name in ("transfers", "excess", "depots")
                  for c in wb[name][1] if f"({result.currency})" in str(c.value)]
    assert money_cols
    for name, head in money_cols:
        for row in wb[name].iter_rows(min_row=2, min_col=head.column, max_col=head.column):
            if isinstance(row[0].value, (int, float)):
                assert row[0].number_format == "#,##0.00", (name, head.value)


def _overlaps(fig) -> list[tuple[str, str]]:
    """Pairs of the non-empty texts a draw of ``fig`` writes whose boxes overlap (by more than a
    pixel); tick labels outside the axis' range are not drawn, so they are not counted."""
    drawn: list[Text] = []
    draw = Text.draw

    def spy(self, renderer):
        drawn.append(self)
        return draw(self, renderer)

    Text.draw = spy
    try:
        fig.canvas.draw()
    finally:
        Text.draw = draw
    r = fig.canvas.get_renderer()
    texts = [t for t in dict.fromkeys(drawn) if t.get_visible() and t.get_text().strip()]
    boxes = [(t.get_text(), t.get_window_extent(r).expanded(1.0, 1.0).padded(-1)) for t in texts]
    return [(a, b) for (a, ba), (b, bb) in combinations(boxes, 2) if ba.overlaps(bb)]


def _figures(result, monkeypatch) -> list:
    figs = []
    monkeypatch.setattr(report, "_png", lambda fig: figs.append(fig) or "")
    for draw in (report.curve_figure, report.tier_figure, report.class_figure,
                 report.investment_figure, report.map_figure, report.marginal_figure):
        draw(result)
    return figs


def test_no_figure_text_overlaps_another(result, monkeypatch):
    figs = _figures(result, monkeypatch)
    assert len(figs) == 6
    for fig in figs:
        assert _overlaps(fig) == [], fig.axes[0].get_title()


def test_crowded_depots_keep_their_labels_apart(result, monkeypatch):
    """80 depots, half of them within a few kilometres of each other: the investment bars get a
    row each and the map leaves out the names that would collide (and says so)."""
    rng = np.random.default_rng(7)
    n = 80
    lon = np.r_[rng.uniform(113.9, 114.1, n // 2), rng.uniform(75, 130, n - n // 2)]
    lat = np.r_[rng.uniform(22.4, 22.6, n // 2), rng.uniform(20, 50, n - n // 2)]
    value = rng.uniform(1e3, 5e7, n)
    depots = pd.DataFrame({"depot_id": [f"FWD-{i:03d}" for i in range(n)], "kind": "forward",
                           "lat": lat, "lon": lon, "value_today": value * 0.8,
                           "value_after": value})
    crowded = replace(result, depots=depots)
    figs = []
    monkeypatch.setattr(report, "_png", lambda fig: figs.append(fig) or "")
    report.investment_figure(crowded)
    report.map_figure(crowded)
    bars, geo = figs
    assert _overlaps(bars) == [] and len(bars.axes[0].get_yticklabels()) == n
    assert _overlaps(geo) == []
    assert "names left out where they would overlap" in geo.axes[0].get_title()
    # the axis reads in millions, never in 1e7 offset notation
    assert bars.axes[0].xaxis.get_offset_text().get_text() == ""
    assert "(M CNY)" in bars.axes[0].get_xlabel() or "(M " in bars.axes[0].get_xlabel()
