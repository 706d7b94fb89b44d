"""`spares simulate` end to end on the tiny scenario (kept here next to the simulation tests)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.main import app
from api.cli.simulate import SIMULATION_COLUMNS
from optimizer.stocking.analysis import plan_scenario
from optimizer.stocking.io import write_plan


@pytest.fixture(scope="module")
def tiny_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import scenarios

    folder = tmp_path_factory.mktemp("plan")
    write_plan(plan_scenario(scenarios.load("tiny"), with_baselines=False), folder)
    return folder


def test_simulate_writes_one_row_per_class_with_prediction(tiny_plan: Path) -> None:
    args = ["simulate", "--scenario", "tiny", "--plan", str(tiny_plan), "--years", "50",
            "--seed", "3", "--replications", "3"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with (tiny_plan / "simulation.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == SIMULATION_COLUMNS
    assert len(rows) == 16
    with (tiny_plan / "service.csv").open() as fh:
        predicted = {(r["tier"], r["severity"]): r["predicted_on_time"] for r in csv.DictReader(fh)}
    for r in rows:
        assert r["predicted_on_time"] == predicted[(r["tier"], r["severity"])]
        if int(r["demands"]) > 0:
            assert 0.0 <= float(r["simulated_on_time"]) <= 1.0
    first = (tiny_plan / "simulation.csv").read_text()
    assert CliRunner().invoke(app, args).exit_code == 0
    assert (tiny_plan / "simulation.csv").read_text() == first  # same seed, same file


def test_simulate_names_the_bad_file_and_field(tiny_plan: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("summary.json", "service.csv"):
        (bad / name).write_text((tiny_plan / name).read_text())
    (bad / "stock_levels.csv").write_text("part_id,depot_id,base_stock,unit_cost\nNOPE,HQ,1,10\n")
    result = CliRunner().invoke(app, ["simulate", "--scenario", "tiny", "--plan", str(bad)])
    assert result.exit_code == 1
    assert "stock_levels.csv" in result.output and "part_id" in result.output and "NOPE" in result.output
