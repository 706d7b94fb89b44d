"""`spares demo --no-serve` on tiny in a temp dir: summary, plan, keys, a curl example that works,
and a re-run that refreshes the database."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.cli.main import app as cli


def test_demo_creates_plans_and_refreshes(tmp_path, monkeypatch) -> None:
    from api.app import create_app
    from api.auth.service import authenticate
    from api.context import ApiSettings, plan_levels
    from inventory import ledger
    from inventory.db.dispatch_models import Dispatch
    from inventory.db.engine import make_engine, session_factory
    from inventory.db.load import loaded_scenario_name, read_scenario_from_db

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(cli, ["demo", "--scenario", "tiny", "--no-serve"])
    assert r.exit_code == 0, r.output
    out = r.output
    db = tmp_path / "spares.db"
    assert db.is_file() and f"created {db}" in out
    for text in ("Network of 'tiny'", "Shenzhen spare-parts center (HQ-SZ", "regional depots",
                 "3: GZ, SH, CD", "partner depots", "customer sites", "20 of 4 customers",
                 "parts", "4 (3 repairable)", "Contracts and their window dialects",
                 "from fault confirmed", "cut-off 16:00", "2 business", "stock on hand",
                 "Network design and stock levels", "yearly cost",
                 "OpenAPI docs: http://127.0.0.1:8000/docs"):
        assert text in out, text
    # the stock value printed is the opening stock's
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    sessions = session_factory(engine)
    import scenarios

    orig = scenarios.load("tiny")
    value = sum(st.on_hand * orig.part(st.part_id).unit_cost for st in orig.stock)
    assert f"{value:,.0f} CNY" in out
    with sessions() as s:
        assert loaded_scenario_name(session=s) == "tiny"
        sc = read_scenario_from_db(session=s)
        assert ledger.verify(session=s) == []
    for c in sc.contracts:
        assert f"{c.contract_id} " in out
    # the plan sits where `spares serve --plan` reads the rationing levels from
    plan_dir = tmp_path / "spares-plan"
    assert (plan_dir / "stock_levels.csv").is_file()
    # tiny has candidates: the demo designs the network and loads the opened locations, stocked
    assert "forward location(s)" in out
    opened = {d.depot_id for d in sc.depots} - {d.depot_id for d in orig.depots}
    assert opened and opened <= {c.candidate_id for c in orig.candidates}
    assert any(st.depot_id in opened and st.on_hand > 0 for st in sc.stock)
    assert plan_levels(sc, plan_dir).levels != {}
    # the printed ticketing key works and the curl example is a valid dispatch request
    ticketing = re.search(r"ticketing\s+(spk_\S+)", out)[1]
    with sessions() as s:
        who = authenticate(session=s, key=ticketing)
    assert who is not None and {x.value for x in who.scopes} == {"ticketing"}
    curl = out[out.index("curl -s -X POST"):]
    assert "http://127.0.0.1:8000/v1/dispatches" in curl and f"Bearer {ticketing}" in curl
    body = json.loads(re.search(r"-d '(\{.*\})'", curl)[1])
    assert (body["site_id"], body["part_id"]) in {(b.site_id, b.part_id) for b in sc.installed_base}
    app = create_app(ApiSettings(database_url=url, plan_dir=plan_dir))
    with TestClient(app) as client:
        made = client.post("/v1/dispatches", json=body, headers={
            "Authorization": f"Bearer {ticketing}", "Idempotency-Key": "demo-1001"})
    assert made.status_code == 201, made.text
    # the example is one the service can serve on time, and the printed expectation is its answer
    expected = re.search(r"expected: on time from (\S+) by (\S+)\)", out)
    assert expected is not None, out
    answer = made.json()
    assert answer["on_time"] is True
    assert (answer["source_depot_id"], answer["mode_id"]) == (expected[1], expected[2])
    app.state.ctx.engine.dispose()

    # re-running refreshes: the scenario reloaded, the earlier dispatch and its hold gone
    again = runner.invoke(cli, ["demo", "--scenario", "tiny", "--no-serve", "--db", str(db)])
    assert again.exit_code == 0, again.output
    assert f"refreshed {db}" in again.output and "rows of the previous load cleared" in again.output
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Dispatch)) == 0
        assert sum(b.reserved for b in ledger.balances(session=s)) == 0
        assert ledger.verify(session=s) == []
        assert loaded_scenario_name(session=s) == "tiny"
    engine.dispose()


def test_demo_bad_scenario_fails_cleanly(tmp_path) -> None:
    r = CliRunner().invoke(cli, ["demo", "--scenario", "nowhere", "--no-serve", "--db",
                                 str(tmp_path / "x.db")])
    assert r.exit_code == 1 and "--scenario nowhere" in r.output
    assert not (tmp_path / "x.db").exists()
