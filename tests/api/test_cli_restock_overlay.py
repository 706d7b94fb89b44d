"""`spares restock --overlay FILE_OR_NAME`: the quarterly run on a what-if network, named in
its outputs; a stored overlay found by name in the database; refusals naming the option."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli.main import app

SURGE = 'name = "Surge"\n[[demand]]\nfactor = 3\n'


def _run(runner, *args):
    return runner.invoke(app, ["restock", "--quarter", "2027Q1", *args])


def test_restock_on_an_overlay_file(tmp_path):
    runner = CliRunner()
    (tmp_path / "surge.toml").write_text(SURGE)
    base = _run(runner, "--scenario", "tiny", "--out", str(tmp_path / "base"))
    assert base.exit_code == 0, base.output
    r = _run(runner, "--scenario", "tiny", "--out", str(tmp_path / "surge"), "--overlay",
             str(tmp_path / "surge.toml"))
    assert r.exit_code == 0, r.output
    assert "what-if overlay Surge" in r.output
    summary = json.loads((tmp_path / "surge" / "summary.json").read_text())
    before = json.loads((tmp_path / "base" / "summary.json").read_text())
    assert any(n.startswith("what-if overlay Surge") and "demand x3 everywhere" in n
               for n in summary["notes"])
    assert not any("what-if" in n for n in before["notes"])
    assert (tmp_path / "surge" / "overlay.toml").read_text() == SURGE
    # three times the failures: three times the history-calibrated forecast, more stock
    fc = pd.read_csv(tmp_path / "surge" / "forecast.csv").set_index("part_id")
    fc0 = pd.read_csv(tmp_path / "base" / "forecast.csv").set_index("part_id")
    assert fc.loc["PSU-1200", "forecast_units_per_month"] == pytest.approx(
        3 * fc0.loc["PSU-1200", "forecast_units_per_month"], rel=1e-3)
    assert summary["investment_target"] > before["investment_target"]


def test_restock_on_a_network_without_a_depot(tmp_path):
    (tmp_path / "no-cd.toml").write_text('[depots]\nremove = ["CD"]\n')
    r = _run(CliRunner(), "--scenario", "tiny", "--out", str(tmp_path / "out"), "--overlay",
             str(tmp_path / "no-cd.toml"))
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    # tiny holds 1 PSU-1200 and 2 FAN-T1 at CD: left out of the what-if's positions
    assert any("3 units on hand at removed locations are not counted" in n
               for n in summary["notes"])
    for name in ("transfers.csv", "buys.csv"):
        df = pd.read_csv(tmp_path / "out" / name)
        assert "CD" not in set(df.get("to_depot", [])) | set(df.get("from_depot", []))


def test_restock_on_a_stored_overlay_and_refusals(tmp_path):
    import scenarios
    from api.app import build_context
    from api.context import ApiSettings
    from api.planning import service

    url = f"sqlite:///{tmp_path}/restock.db"
    runner = CliRunner()
    assert runner.invoke(app, ["db", "init", "--url", url]).exit_code == 0
    assert runner.invoke(app, ["db", "load", "tiny", "--url", url]).exit_code == 0
    ctx = build_context(ApiSettings(database_url=url, scenario=scenarios.load("tiny")))
    try:
        service.save_overlay(ctx, actor="Li Wei", name="GZ surge",
                             body='[[demand]]\nfactor = 2\nregions = ["GZ"]\n')
    finally:
        ctx.dispose()
    r = _run(runner, "--url", url, "--out", str(tmp_path / "run"), "--overlay", "GZ surge")
    assert r.exit_code == 0, r.output
    notes = json.loads((tmp_path / "run" / "summary.json").read_text())["notes"]
    assert any("what-if overlay GZ surge (stored overlay, last changed by Li Wei): demand x2 "
               "for regions GZ" in n for n in notes)
    # a stored overlay also serves a scenario-mode run, read from --url
    r = _run(runner, "--scenario", "tiny", "--url", url, "--out", str(tmp_path / "sc"),
             "--overlay", "GZ surge")
    assert r.exit_code == 0, r.output
    # a what-if is never booked; unknown names, missing files and wrong fields are named
    r = _run(runner, "--url", url, "--out", str(tmp_path / "x"), "--overlay", "GZ surge",
             "--approve")
    assert r.exit_code == 2 and "--overlay" in r.output
    r = _run(runner, "--url", url, "--out", str(tmp_path / "x"), "--overlay", "Nope")
    assert r.exit_code == 1 and "nostoredoverlayofthatname" in "".join(r.output.split())
    r = _run(runner, "--url", url, "--out", str(tmp_path / "x"), "--overlay",
             str(tmp_path / "missing.toml"))
    assert r.exit_code == 1 and "nosuchfile" in "".join(r.output.split())
    (tmp_path / "bad.toml").write_text('[[terms]]\ncontract = "GOLD"\ntarget = 1.2\n')
    r = _run(runner, "--url", url, "--out", str(tmp_path / "x"), "--overlay",
             str(tmp_path / "bad.toml"))
    said = "".join(r.output.split())
    assert r.exit_code == 1 and "overlayfield'terms[0].target'" in said
    assert not (tmp_path / "x").exists()
