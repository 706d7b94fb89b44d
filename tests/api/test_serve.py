"""`spares serve` on a database made by the CLI alone: db init, db load, keys create."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli.keys import new_key
from api.cli.main import app as cli
from api.cli.serve import ServeError, build_app


def _cli_database(tmp_path, scenario: str) -> str:
    url = f"sqlite:///{tmp_path}/serve.db"
    runner = CliRunner()
    for args in (["db", "init", "--url", url], ["db", "load", scenario, "--url", url]):
        r = runner.invoke(cli, args)
        assert r.exit_code == 0, r.output
    return url


def _serve_one_dispatch(url: str, site: str, part: str) -> dict:
    key = new_key(url, "demo", "ticketing")
    app = build_app(url, webhook_worker=False)
    with TestClient(app) as client:
        ready = client.get("/readyz").json()
        now = datetime.now(UTC).isoformat()
        r = client.post("/v1/dispatches",
                        json={"ticket_id": "DEMO-1", "site_id": site, "part_id": part,
                              "severity": 2, "reported_at": now},
                        headers={"Authorization": f"Bearer {key}",
                                 "Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 201, r.text
        got = client.get(f"/v1/dispatches/{r.json()['id']}",
                         headers={"Authorization": f"Bearer {key}"})
        assert got.status_code == 200
    app.state.ctx.dispose()
    return {"ready": ready, "dispatch": r.json()}


def test_serve_tiny_from_cli_database(tmp_path):
    url = _cli_database(tmp_path, "tiny")
    out = _serve_one_dispatch(url, "GZ-01", "PSU-1200")
    assert out["ready"]["scenario"] == "tiny"
    d = out["dispatch"]
    assert d["status"] == "reserved" and d["source_depot_id"] is not None
    # the server ships from its own clock, never before the request arrived
    assert d["ready_at"] >= d["deadline"]["clock_started_at"]


@pytest.mark.slow
def test_serve_cn_telecom_from_cli_database(tmp_path):
    import scenarios

    url = _cli_database(tmp_path, "cn-telecom")
    sc = scenarios.load("cn-telecom")
    b = sc.installed_base[0]
    out = _serve_one_dispatch(url, b.site_id, b.part_id)
    assert out["ready"]["scenario"] == "cn-telecom" and out["ready"]["sites"] == len(sc.sites)
    assert out["dispatch"]["status"] in ("reserved", "backordered")


def test_serve_without_a_scenario_says_what_to_do(tmp_path):
    url = f"sqlite:///{tmp_path}/empty.db"
    assert CliRunner().invoke(cli, ["db", "init", "--url", url]).exit_code == 0
    with pytest.raises(ServeError, match="spares db load"):
        build_app(url, webhook_worker=False)
    r = CliRunner().invoke(cli, ["serve", "--url", url, "--port", "8799"])
    assert r.exit_code == 2 and "spares db load" in r.output
