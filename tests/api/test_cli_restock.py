"""`spares restock` through the CLI: scenario mode, database mode with --approve, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli.main import app


def test_restock_scenario_mode_and_bad_input(tmp_path) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    r = runner.invoke(app, ["restock", "--quarter", "2027Q1", "--scenario", "tiny", "--out", str(out),
                            "--budget", "50000"])
    assert r.exit_code == 0, r.output
    for name in ("transfers.csv", "repairs.csv", "buys.csv", "excess.csv", "summary.json",
                 "report.xlsx", "report.html"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["positions_from"] == "scenario" and summary["budget"] == 50000
    plan_dir = tmp_path / "plan"
    assert runner.invoke(app, ["plan", "--scenario", "tiny", "--out", str(plan_dir)]).exit_code == 0
    # spares plan pools as dispatch ships: the superseded LC-10G is planned on LC-10G-B
    stocked = set(pd.read_csv(plan_dir / "stock_levels.csv")["part_id"])
    assert "LC-10G-B" in stocked and "LC-10G" not in stocked
    r = runner.invoke(app, ["restock", "--quarter", "2027Q2", "--scenario", "tiny", "--out",
                            str(tmp_path / "from-plan"), "--plan", str(plan_dir)])
    assert r.exit_code == 0, r.output
    import scenarios
    from optimizer.restock.build import location_ids
    from optimizer.restock.run import targets_from_plan
    from optimizer.stocking.io import read_plan
    from optimizer.supersession import Succession

    sc = scenarios.load("tiny")
    # the plan's levels, a superseded part's rows planned on its successor
    levels = Succession.from_scenario(sc).pool_targets(targets_from_plan(
        read_plan(plan_dir), [p.part_id for p in sc.parts], location_ids(sc)))
    cost = np.array([p.unit_cost for p in sc.parts])
    got = json.loads((tmp_path / "from-plan" / "summary.json").read_text())
    assert got["investment_target"] == pytest.approx(float(cost @ levels.sum(axis=1)), abs=0.01)
    r = runner.invoke(app, ["restock", "--quarter", "2027Q3", "--scenario", "tiny", "--out",
                            str(tmp_path / "phased"), "--max-step", "5%", "--glide-quarters", "3"])
    assert r.exit_code == 0, r.output
    assert "Glide path, step cap 5.0% a quarter" in r.output
    phased = json.loads((tmp_path / "phased" / "summary.json").read_text())
    assert phased["max_step"] == "5.0%"
    assert phased["max_step_amount"] == pytest.approx(0.05 * phased["investment_today"])
    glide = pd.read_csv(tmp_path / "phased" / "glide.csv")
    assert list(glide["quarter"]) == ["today", "2027Q3", "2027Q4", "2028Q1"]
    for flag, value, expect in (("--max-step", "lots", "neither an amount"),
                                ("--max-step", "0%", "> 0"), ("--min-gain", "-1", ">= 0")):
        bad = runner.invoke(app, ["restock", "--quarter", "2027Q1", "--scenario", "tiny",
                                  "--out", str(out), flag, value])
        assert bad.exit_code == 2 and flag in bad.output and expect in bad.output, bad.output
    bad = runner.invoke(app, ["restock", "--quarter", "2027-1", "--scenario", "tiny", "--out",
                              str(out)])
    assert bad.exit_code == 2 and "YYYYQn" in bad.output
    bad = runner.invoke(app, ["restock", "--quarter", "2027Q1", "--scenario", "nowhere", "--out",
                              str(out)])
    assert bad.exit_code == 1 and "--scenario nowhere" in bad.output
    bad = runner.invoke(app, ["restock", "--quarter", "2027Q1", "--scenario", "tiny", "--out",
                              str(out), "--plan", str(tmp_path / "missing")])
    assert bad.exit_code == 1 and "--plan" in bad.output


def test_contractual_minimums_from_a_file(tmp_path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.csv"
    bad.write_text("part_id,depot_id,units,reason\nFAN-T1,HQ,2,kit\nFAN-T1,NOWHERE,x,\n")
    out = tmp_path / "never"
    r = runner.invoke(app, ["restock", "--quarter", "2027Q1", "--scenario", "tiny", "--out",
                            str(out), "--minimums", str(bad)])
    assert r.exit_code == 1, r.output
    text = " ".join(r.output.split())
    for where in ("bad.csv:3:depot_id:", "bad.csv:3:units:", "bad.csv:3:reason:"):
        assert where in text, r.output
    assert not out.exists()  # nothing half-written
    import scenarios

    sc = scenarios.load("tiny")
    hq = sc.hq.depot_id
    held = sum(s.on_hand for s in sc.stock if s.part_id == "FAN-T1" and s.depot_id == hq)
    good = tmp_path / "minimums.csv"
    good.write_text(f"part_id,depot_id,units,reason\nFAN-T1,{hq},{held + 40},contract CT-9\n")
    r = runner.invoke(app, ["restock", "--quarter", "2027Q1", "--scenario", "tiny", "--out",
                            str(tmp_path / "run"), "--minimums", str(good)])
    assert r.exit_code == 0, r.output
    c = pd.read_csv(tmp_path / "run" / "contractual.csv")
    assert list(c["part id"]) == ["FAN-T1"] and list(c["part name"]) == [
        sc.part("FAN-T1").name]
    assert list(c["reason"]) == ["contract CT-9"] and list(c["minimum units"]) == [held + 40]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["contractual_units"] == int(c["quantity"].sum()) > 0


def test_restock_database_mode_approves_once(tmp_path) -> None:
    from inventory import ledger
    from inventory.db.engine import make_engine, session_factory

    url = f"sqlite:///{tmp_path}/restock.db"
    runner = CliRunner()
    assert runner.invoke(app, ["db", "init", "--url", url]).exit_code == 0
    r = runner.invoke(app, ["db", "load", "tiny", "--url", url])
    assert r.exit_code == 0, r.output
    args = ["restock", "--quarter", "2027Q1", "--out", str(tmp_path / "run"), "--url", url,
            "--approve"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["positions_from"] == "database"
    run_id = summary["run_id"]
    sessions = session_factory(make_engine(url))
    with sessions() as s:
        booked = [m for m in ledger.movements(session=s) if (m.reference or "").startswith(
            f"restock:{run_id}")]
        assert ledger.verify(session=s) == []
    assert sum(m.quantity for m in booked if m.kind == "order_placed") == summary["buy_units"]
    assert sum(m.quantity for m in booked if m.kind == "transfer_out") == summary["transfer_units"]
    assert sum(m.quantity for m in booked if m.kind == "send_to_repair") == summary["repair_units"]
    assert booked, "the tiny run should order something"
    # the writer the CLI uses: approving one result twice books it once
    from api.restock.service import SessionLedgerWriter
    from inventory.db.load import read_scenario_from_db
    from optimizer.restock.approve import approve, movements
    from optimizer.restock.build import ledger_positions, location_ids
    from optimizer.restock.quarter import Quarter
    from optimizer.restock.run import run_restock

    with sessions() as s:
        sc = read_scenario_from_db(session=s)
        q = Quarter.parse("2027Q2")
        pos = ledger_positions(sc, ledger.balances(session=s), [p.part_id for p in sc.parts],
                               location_ids(sc), q.days)
        s.rollback()
        # one unit short everywhere, so the run surely orders
        raised = pos.inventory_position.clip(0) + 1
        result = run_restock(sc, pos, q, curve_points=0, source="database", targets=raised,
                             min_gain=0.0)  # every unit that adds any service
        with s.begin():
            first_rep = approve(result, SessionLedgerWriter(s))
        with s.begin():
            second_rep = approve(result, SessionLedgerWriter(s))
        assert first_rep.posted == len(movements(result)) > 0
        assert second_rep.posted == 0 and second_rep.skipped == first_rep.posted
        assert ledger.verify(session=s) == []
    bad = runner.invoke(app, ["restock", "--quarter", "2027Q1", "--out", str(tmp_path / "x"),
                              "--url", f"sqlite:///{tmp_path}/empty.db"])
    assert bad.exit_code == 1 and "database" in bad.output
