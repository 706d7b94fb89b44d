"""The quarterly run on the tiny scenario: outputs, quarters and idempotent approval."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scenarios
from optimizer.restock.approve import LedgerMovement, approve, movements
from optimizer.restock.outputs import SHEETS, tables, write_outputs
from optimizer.restock.quarter import Quarter
from optimizer.restock.run import RestockResult, scenario_run, targets_from_plan


@pytest.fixture(scope="module")
def tiny() -> scenarios.Scenario:
    return scenarios.load("tiny")


@pytest.fixture(scope="module")
def result(tiny) -> RestockResult:
    steps: list[str] = []
    r = scenario_run(tiny, Quarter.parse("2027Q1"), budget=10_000.0,
                     progress=lambda s, d, t: steps.append(s))
    assert steps[0] == "forecast" and steps[-1] == "done"
    return r


@pytest.fixture(scope="module")
def outputs(result, tmp_path_factory) -> dict[str, Path]:
    return write_outputs(result, tmp_path_factory.mktemp("restock"))


def test_quarter_parsing() -> None:
    q = Quarter.parse("2027q1")
    assert str(q) == "2027Q1" and q.days == 90 and q.end.isoformat() == "2027-03-31"
    assert Quarter.parse("2028Q1").days == 91 and Quarter.parse("2027Q4").days == 92
    for bad in ("2027Q5", "2027-Q1", "Q1 2027", "", "27Q1"):
        with pytest.raises(ValueError, match="YYYYQn"):
            Quarter.parse(bad)


def test_run_is_consistent(result, tiny) -> None:
    plan = result.plan
    assert plan.buy_amount <= 10_000.0
    assert result.run_id.startswith("2027Q1-tiny-")
    assert set(result.curve["label"]) >= {"today", "new plan", "after orders"}
    assert len(result.service) == len(result.stocking.class_tier)
    assert np.all(result.service[["on_time_before", "on_time_target", "on_time_after"]]
                   .fillna(0).to_numpy() <= 1.0 + 1e-9)
    assert result.investment_target == pytest.approx(result.stocking.investment)
    assert list(result.depots["depot_id"]) == list(plan.inputs.location_ids)
    # orders only move toward the targets; what is missing is cut or dropped for no gain
    assert np.all(plan.position_after + plan.cut_units + plan.dropped_units
                  >= plan.inputs.target)
    repair_lines = plan.repairs.groupby(["part_id", "to_depot"])["gain_per_year"].sum()
    for gains in (plan.transfers["gain_per_year"], repair_lines, plan.buys["gain_per_year"]):
        assert (gains >= plan.min_gain - 1e-6).all()
    # every class after the orders at or above the share aimed at
    s = result.service.dropna(subset=["aimed_at", "on_time_after"])
    assert (s["on_time_after"] >= s["aimed_at"] - 1e-9).all()


def test_outputs_files_xlsx_and_summary(result, outputs) -> None:
    for name in ("transfers", "repairs", "buys", "excess", "cut", "dropped", "marginal",
                 "service"):
        assert outputs[name].name == f"{name}.csv" and outputs[name].is_file()
    book = pd.read_excel(outputs["xlsx"], sheet_name=None)
    assert tuple(book) == SHEETS
    t = tables(result)
    for name in ("transfers", "repairs", "buys", "excess", "cut", "dropped", "service"):
        csv = pd.read_csv(outputs[name])
        assert list(csv.columns) == list(t[name].columns) == list(book[name].columns)
    assert set(book["summary"]["key"]) >= {"run_id", "buy_amount", "cut_amount", "excess_value",
                                             "gain_per_year", "dropped_lines", "max_step"}
    from openpyxl import load_workbook

    wb = load_workbook(outputs["xlsx"])
    for name in SHEETS:
        assert wb[name].auto_filter.ref, name
    summary = json.loads(outputs["summary"].read_text())
    assert summary["run_id"] == result.run_id and summary["quarter"] == "2027Q1"
    assert summary["buy_amount"] == pytest.approx(result.plan.buy_amount)


def test_order_sheets_name_parts_and_label_units(result, outputs) -> None:
    names = {p.part_id: p.name for p in scenarios.load("tiny").parts}
    cur = result.currency
    transfers = pd.read_csv(outputs["transfers"])
    assert len(transfers) > 0
    assert list(transfers.columns[:3]) == ["part id", "part name", "from depot"]
    assert all(names[p] == n for p, n in zip(transfers["part id"], transfers["part name"],
                                             strict=True))
    assert f"transport cost ({cur})" in transfers.columns
    assert "lead time (days)" in transfers.columns and "gain (on-time requests/yr)" in \
        transfers.columns
    days = transfers["lead time (days)"].to_numpy()
    np.testing.assert_array_equal(days, np.round(days, 1))
    for name in ("repairs", "buys", "cut", "dropped", "excess", "marginal"):
        assert "part name" in pd.read_csv(outputs[name]).columns, name
    service = pd.read_csv(outputs["service"])
    # shares as percentages, e.g. 95.0 for a 95 % target
    np.testing.assert_allclose(service["target (%)"], 100 * result.service["target"], atol=0.01)
    assert service["on time after (%)"].max() > 1.5
    html = re.sub(r"base64,[A-Za-z0-9+/=]+", "", outputs["html"].read_text())
    assert "Part name" in html and " %</td>" in html and "e+0" not in html


def test_html_is_self_contained_with_figures(outputs) -> None:
    text = outputs["html"].read_text()
    imgs = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(imgs) == 6 and all(len(b) > 1000 for b in imgs)
    stripped = re.sub(r"base64,[A-Za-z0-9+/=]+", "", text)
    assert not re.search(r"(https?:|ftp:)?//[a-z0-9]", stripped, re.IGNORECASE)
    assert not re.search(r"""(src|href)=["'](?!data:)""", stripped)
    assert "<script" not in text and "<link" not in text


class ListWriter:
    def __init__(self) -> None:
        self.posted: list[LedgerMovement] = []

    def has_reference(self, reference: str) -> bool:
        return any(m.reference == reference for m in self.posted)

    def post(self, movement: LedgerMovement) -> None:
        self.posted.append(movement)


def test_approve_is_idempotent_by_run_id(result) -> None:
    w = ListWriter()
    first = approve(result, w)
    again = approve(result, w)
    plan = result.plan
    expected = 2 * len(plan.transfers) + len(plan.repairs) + len(plan.buys)
    assert first.posted == expected == len(movements(result)) and first.skipped == 0
    assert again.posted == 0 and again.skipped == expected
    by_kind: dict[str, int] = {}
    for m in w.posted:
        by_kind[m.kind] = by_kind.get(m.kind, 0) + m.quantity
    assert by_kind.get("transfer_out", 0) == by_kind.get("transfer_expected", 0) == plan.flow.sum()
    assert by_kind.get("order_placed", 0) == plan.bought.sum()
    assert by_kind.get("send_to_repair", 0) == plan.repair_sent.sum()


def test_targets_from_plan_aligns_and_rejects_unknowns(result) -> None:
    plan = result.stocking
    locs = list(reversed(plan.location_ids))
    t = targets_from_plan(plan, list(plan.part_ids), locs)
    np.testing.assert_array_equal(t, plan.levels[:, ::-1])
    with pytest.raises(ValueError, match="not in the scenario"):
        targets_from_plan(plan, list(plan.part_ids)[1:], locs)
