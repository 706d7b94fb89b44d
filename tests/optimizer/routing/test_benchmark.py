"""The Solomon benchmark runner and its `spares bench solomon` command on the fixture files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optimizer.routing import check
from optimizer.routing.benchmark import instance_paths, run_solomon
from optimizer.routing.solomon import read_sol, read_vrp

FIXTURES = Path(__file__).parent / "fixtures"


def test_instance_selection() -> None:
    assert [p.stem.upper() for p in instance_paths(FIXTURES)] == [
        "C101",
        "MALFORMED",
        "R101",
        "RC101",
        "TINY",
    ]
    assert [p.stem for p in instance_paths(FIXTURES, ["rc101", "C101"])] == ["RC101", "C101"]
    with pytest.raises(FileNotFoundError, match="no .vrp file for X999"):
        instance_paths(FIXTURES, ["X999"])


def test_run_writes_checked_results_and_solutions(tmp_path: Path) -> None:
    rows = run_solomon(
        instance_paths(FIXTURES, ["C101"]),
        seconds=0.5,
        out_dir=tmp_path,
        solver="ortools",
        bks_path=FIXTURES / "bks.csv",
    )
    [row] = rows
    assert row.feasible and row.bks == 827.3
    assert row.gap_pct == pytest.approx(100 * (row.cost - 827.3) / 827.3, abs=1e-3)
    with (tmp_path / "results.csv").open() as handle:
        [written] = list(csv.DictReader(handle))
    assert written["instance"] == "C101" and float(written["cost"]) == row.cost
    sol = read_sol(tmp_path / "C101.sol")
    report = check(read_vrp(FIXTURES / "C101.vrp").to_problem(), sol.routes)
    assert report.feasible and report.cost == pytest.approx(sol.cost)


def test_cli_command(tmp_path: Path) -> None:
    from api.cli.bench import app

    result = CliRunner().invoke(
        app,
        [
            "solomon",
            "--instances",
            str(FIXTURES),
            "--out",
            str(tmp_path),
            "--seconds",
            "0.3",
            "--only",
            "RC101",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "RC101" in result.output and (tmp_path / "RC101.sol").exists()
    bad = CliRunner().invoke(
        app,
        [
            "solomon",
            "--instances",
            str(FIXTURES),
            "--out",
            str(tmp_path),
            "--only",
            "MALFORMED",
            "--seconds",
            "0.3",
        ],
    )
    assert bad.exit_code == 2 and "malformed.vrp:24" in bad.output
