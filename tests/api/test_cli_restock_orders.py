"""`spares restock --approve` goes through the API's approval (issue 11): the run is recorded as a
succeeded restock run of an organization (``org_default`` unless ``--organization`` names
another), listed in ``/v1/restock-runs``, and every line it books, contractual buys included,
is an order in ``/v1/orders``, as when the run is approved through the API."""

from __future__ import annotations

import json

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

import scenarios
from api.app import build_context, create_app
from api.auth.service import create_key, create_organization
from api.cli.main import app
from api.context import ApiSettings
from inventory import ledger
from inventory.db.dispatch_models import DEFAULT_ORGANIZATION_ID
from inventory.db.restock_models import RestockRun


def test_a_cli_approval_opens_the_orders_the_api_approval_would(tmp_path) -> None:
    runner = CliRunner()
    url = f"sqlite:///{tmp_path}/restock.db"
    assert runner.invoke(app, ["db", "init", "--url", url]).exit_code == 0
    assert runner.invoke(app, ["db", "load", "tiny", "--url", url]).exit_code == 0
    tiny = scenarios.load("tiny")
    ctx = build_context(ApiSettings(database_url=url, scenario=tiny))
    try:
        with ctx.sessions() as s:
            key = create_key(session=s, name="planner", scopes="planner")[1]
            partner = create_organization(session=s, name="partner-b").id
        hq = tiny.hq.depot_id
        minimums = tmp_path / "minimums.csv"
        minimums.write_text(f"part_id,depot_id,units,reason\nFAN-T1,{hq},60,contract CT-9\n")
        args = ["restock", "--quarter", "2027Q1", "--url", url, "--approve"]
        # an unknown organization is refused before any work, naming the option
        bad = runner.invoke(app, [*args, "--out", str(tmp_path / "never"), "--organization",
                                  "nowhere"])
        assert bad.exit_code == 2 and "--organization nowhere" in bad.output, bad.output
        assert not (tmp_path / "never").exists()
        r = runner.invoke(app, [*args, "--out", str(tmp_path / "run"), "--minimums",
                                str(minimums)])
        assert r.exit_code == 0, r.output
        summary = json.loads((tmp_path / "run" / "summary.json").read_text())
        with ctx.sessions() as s:
            (run,) = s.scalars(select(RestockRun)).all()
            booked = {m.reference for m in ledger.movements(session=s)
                      if (m.reference or "").startswith(f"restock:{summary['run_id']}:")}
        assert (run.owner, run.status, run.plan_ref) == (
            DEFAULT_ORGANIZATION_ID, "succeeded", summary["run_id"])
        assert run.approved_at is not None and run.approved_by.startswith("cli:")
        assert f"approved run {summary['run_id']} as restock run {run.id}" in " ".join(
            r.output.split())
        tables = {name: pd.read_csv(tmp_path / "run" / f"{name}.csv")
                  for name in ("transfers", "repairs", "buys", "contractual")}
        expected = [f"{prefix}{n}" for name, prefix in (("transfers", "T"), ("repairs", "R"),
                                                         ("buys", "B"), ("contractual", "M"))
                    for n in range(len(tables[name]))]
        assert "M0" in expected  # the contractual minimum is bought and booked
        assert {f"restock:{summary['run_id']}:{line}" for line in expected} <= booked
        with TestClient(create_app(context=ctx)) as c:
            h = {"Authorization": f"Bearer {key}"}
            got = c.get("/v1/orders", params={"restock_run_id": run.id, "limit": 200},
                        headers=h).json()["items"]
            listed = c.get("/v1/restock-runs", headers=h).json()["items"]
            view = c.get(f"/v1/restock-runs/{run.id}", headers=h).json()
        assert [o["restock_line"] for o in got] == expected
        assert all(o["status"] == "sent" and o["origin"] == "restock" for o in got)
        m0 = next(o for o in got if o["restock_line"] == "M0")
        assert (m0["kind"], m0["part_id"], m0["depot_id"], m0["from_id"]) == (
            "buy", "FAN-T1", hq, "supplier")
        assert m0["quantity"] == int(tables["contractual"]["quantity"].iloc[0])
        assert [x["id"] for x in listed] == [run.id] and view["approval"]["posted"] > 0
        assert len(view["orders"]["contractual"]) == len(tables["contractual"])
        # another organization's run, when the option names it
        r = runner.invoke(app, [*args, "--out", str(tmp_path / "run-b"), "--organization",
                                "partner-b"])
        assert r.exit_code == 0, r.output
        with ctx.sessions() as s:
            owners = sorted(s.scalars(select(RestockRun.owner)))
        assert owners == sorted([DEFAULT_ORGANIZATION_ID, partner])
    finally:
        ctx.dispose()
