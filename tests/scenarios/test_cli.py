"""`spares scenario ...` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

import scenarios
from api.cli.main import app
from tests.scenarios.conftest import set_cell

runner = CliRunner()


def test_validate_ok(tiny_dir: Path) -> None:
    result = runner.invoke(app, ["scenario", "validate", str(tiny_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: tiny: 4 parts, 4 depots, 20 sites")
    assert len(result.output.strip().splitlines()) == 1


def test_validate_lists_every_problem_and_exits_1(tiny_dir: Path) -> None:
    set_cell(tiny_dir, "parts.csv", 3, "unit_cost", "abc")
    set_cell(tiny_dir, "sites.csv", 5, "primary_depot_id", "NOPE")
    result = runner.invoke(app, ["scenario", "validate", str(tiny_dir)])
    assert result.exit_code == 1
    assert "parts.csv:3:unit_cost: 'abc' is not a number" in result.output
    assert "sites.csv:5:primary_depot_id: unknown depot 'NOPE'" in result.output


def test_export_writes_a_readable_copy(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scenario", "export", "tiny", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert scenarios.read_scenario(tmp_path / "out") == scenarios.load("tiny")


def test_export_unknown_name_fails(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scenario", "export", "nope", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "neither a bundled scenario name" in result.output


def test_generate_and_list(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    args = ["scenario", "generate", "--parts", "30", "--depots", "4", "--sites", "25", "--seed", "2",
            str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    sc = scenarios.read_scenario(out)
    assert (len(sc.parts), len(sc.depots), len(sc.sites)) == (30, 4, 25)
    listed = runner.invoke(app, ["scenario", "list"])
    assert listed.exit_code == 0 and "cn-telecom" in listed.output and "tiny" in listed.output
