"""`spares plan --design` on tiny: the design files, planner rules, and clean refusals."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from api.cli.main import app as cli


def _rows(path):
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_plan_design_writes_every_file(tmp_path) -> None:
    out = tmp_path / "design"
    r = CliRunner().invoke(cli, ["plan", "--scenario", "tiny", "--out", str(out), "--design"])
    assert r.exit_code == 0, r.output
    design = {row["location_id"]: row for row in _rows(out / "design.csv")}
    assert set(design) >= {"HQ-SZ", "KIT-CD01", "CON-CD", "TRK-GZ"}
    assert design["HQ-SZ"]["open"] == "yes" and design["HQ-SZ"]["candidate"] == "no"
    opened = [k for k, row in design.items() if row["candidate"] == "yes" and row["open"] == "yes"]
    assert opened
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["opened"]) == set(opened)
    assert summary["bound"] <= summary["yearly_cost"] + 1e-6 and 0 <= summary["gap"] <= 1
    assert summary["yearly_cost"] == summary["fixed_cost_per_year"] + 0.2 * summary["investment"]
    assert {b["name"] for b in summary["design_baselines"]} == {"sequential", "before"}
    service = _rows(out / "service.csv")
    plat1 = next(r for r in service if r["tier"] == "platinum" and r["severity"] == "1")
    assert plat1["met"] == "yes"
    ba = _rows(out / "before_after.csv")
    plat1 = next(r for r in ba if r["tier"] == "platinum" and r["severity"] == "1")
    assert plat1["met_before"] == "no" and plat1["met_after"] == "yes"
    assert (out / "hold_backs.csv").is_file() and (out / "stock_levels.csv").is_file()
    assert "yearly cost" in r.output and "lower bound" in r.output


def test_plan_design_rules_and_errors(tmp_path) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["plan", "--scenario", "tiny", "--out", str(tmp_path / "a"), "--design",
                            "--max-new", "0"])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["opened"] == [] and summary["feasible"] is False
    hold = _rows(tmp_path / "a" / "hold_backs.csv")
    assert hold and hold[0]["tier"] == "platinum"
    r = runner.invoke(cli, ["plan", "--scenario", "tiny", "--out", str(tmp_path / "b"), "--design",
                            "--open", "NOPE"])
    assert r.exit_code == 1 and "design failed: unknown location 'NOPE'" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(cli, ["plan", "--scenario", "tiny", "--out", str(tmp_path / "c"),
                            "--open", "CON-CD"])
    assert r.exit_code == 2 and "need --design" in r.output


def test_plan_design_exact_method_certifies_its_design(tmp_path) -> None:
    out = tmp_path / "exact"
    r = CliRunner().invoke(cli, ["plan", "--scenario", "tiny", "--out", str(out), "--design",
                                 "--method", "exact"])
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["method"] == "exact design" and "exact design MIP" in summary["bound_method"]
    assert summary["gap"] <= 1e-5 and summary["opened"]
    seq = next(b for b in summary["design_baselines"] if b["name"] == "sequential")
    assert seq["yearly_cost"] >= summary["yearly_cost"] - 1e-6
