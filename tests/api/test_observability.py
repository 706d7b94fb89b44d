"""Observability: request ids, structured access logs, /metrics, settings and the pinned clock."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from typer.testing import CliRunner

from api.app import create_app
from api.cli.main import app as cli
from api.context import ApiSettings
from api.observability.logs import configure
from api.settings import SettingsError, load
from inventory.db.dispatch_models import WebhookOutbox
from inventory.db.models import StockMovement
from tests.api.conftest import NOW, body


@pytest.fixture
def log_lines():
    """The JSON log lines written while the test runs (root handler on a buffer)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buf = io.StringIO()
    configure(level="INFO", fmt="json", stream=buf)

    def lines() -> list[dict]:
        return [json.loads(x) for x in buf.getvalue().splitlines() if x.strip()]

    yield lines
    root.handlers[:] = handlers
    root.setLevel(level)


def _access(lines: list[dict], rid: str) -> list[dict]:
    return [x for x in lines if x["logger"] == "spares.access" and x["request_id"] == rid]


def test_request_id_is_made_echoed_and_on_the_access_line(api, log_lines) -> None:
    r = api.client.get("/healthz")
    rid = r.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    (line,) = _access(log_lines(), rid)
    assert (line["method"], line["route"], line["status"]) == ("GET", "/healthz", 200)
    assert line["duration_ms"] >= 0 and "organization" not in line
    assert line["level"] == "INFO" and line["ts"].endswith("+00:00")
    other = api.client.get("/healthz").headers["x-request-id"]
    assert other != rid


def test_a_sane_incoming_request_id_is_kept_and_a_bad_one_replaced(api, log_lines) -> None:
    r = api.client.get("/v1/stock", headers=api.h("planner", **{"X-Request-ID": "tkt-42.a:b"}))
    assert r.status_code == 200 and r.headers["x-request-id"] == "tkt-42.a:b"
    (line,) = _access(log_lines(), "tkt-42.a:b")
    assert line["route"] == "/v1/stock" and line["organization"] == "org_default"
    for bad in ("has space", "x" * 129, 'quote"d', ""):
        got = api.client.get("/healthz", headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert got != bad and re.fullmatch(r"[0-9a-f]{32}", got)


def test_route_templates_not_raw_paths(api, log_lines) -> None:
    r = api.client.get("/v1/dispatches/dsp_nope", headers=api.h())
    assert r.status_code == 404
    (line,) = _access(log_lines(), r.headers["x-request-id"])
    assert line["route"] == "/v1/dispatches/{dispatch_id}" and line["status"] == 404
    r = api.client.get("/no/such/path")
    (line,) = _access(log_lines(), r.headers["x-request-id"])
    assert line["route"] == "<unmatched>" and line["status"] == 404


def test_every_line_of_a_request_carries_its_id(api, log_lines) -> None:
    """A line logged inside a sync route (on a worker thread) and the traceback of an
    unexpected error both carry the request's id; the 500 answer echoes it."""
    app = create_app(context=api.ctx)
    log = logging.getLogger("spares.test")

    @app.get("/boom")
    def boom() -> None:
        log.warning("about to fail", extra={"step": 1})
        raise RuntimeError("kaboom")

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/boom", headers={"X-Request-ID": "req-boom"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "req-boom"
    mine = [x for x in log_lines() if x["request_id"] == "req-boom"]
    inside = next(x for x in mine if x["logger"] == "spares.test")
    assert inside["msg"] == "about to fail" and inside["step"] == 1
    error = next(x for x in mine if x["logger"] == "api.problems")
    assert "RuntimeError: kaboom" in error["exc"]
    (access,) = [x for x in mine if x["logger"] == "spares.access"]
    assert access["status"] == 500 and access["route"] == "/boom"


def test_rate_limit_refusals_are_logged_with_a_request_id(api, log_lines) -> None:
    from api.limits import Limits

    app = create_app(context=api.ctx, limits=Limits(per_address="1/minute"))
    with TestClient(app) as client:
        client.get("/v1/stock", headers=api.h("planner"))
        r = client.get("/v1/stock", headers=api.h("planner"))
    assert r.status_code == 429
    (line,) = _access(log_lines(), r.headers["x-request-id"])
    assert line["status"] == 429


def test_access_log_can_be_switched_off(api, log_lines, monkeypatch) -> None:
    monkeypatch.setenv("SPARES_ACCESS_LOG", "false")
    with TestClient(create_app(context=api.ctx)) as client:
        r = client.get("/healthz")
    assert r.headers["x-request-id"] and not _access(log_lines(), r.headers["x-request-id"])


# --- /metrics ---------------------------------------------------------------------------------

def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def _value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_move_after_a_dispatch(api) -> None:
    before = _samples(api.client.get("/metrics", headers=api.h("admin")).text)
    r = api.client.post("/v1/dispatches", json=body(),
                        headers=api.h(**{"Idempotency-Key": "obs-1"}))
    assert r.status_code == 201
    mode = r.json()["decision"]["mode_id"] if "decision" in r.json() else r.json()["mode_id"]
    # a replay is not a second dispatch
    api.client.post("/v1/dispatches", json=body(), headers=api.h(**{"Idempotency-Key": "obs-1"}))
    res = api.client.get("/metrics", headers=api.h("admin"))
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain")
    after = _samples(res.text)
    labels = {"outcome": "reserved", "mode": mode, "on_time": "true"}
    assert (_value(after, "spares_dispatch_decisions_total", **labels)
            - _value(before, "spares_dispatch_decisions_total", **labels)) == 1
    route = {"method": "POST", "route": "/v1/dispatches"}
    assert (_value(after, "spares_http_request_duration_seconds_count", **route)
            - _value(before, "spares_http_request_duration_seconds_count", **route)) == 2
    assert (_value(after, "spares_http_requests_total", status="201", **route)
            - _value(before, "spares_http_requests_total", status="201", **route)) >= 1
    # the dispatch queued no webhook (no subscriber): the outbox gauges read the table
    assert _value(after, "spares_webhook_outbox_pending") == 0
    assert _value(after, "spares_webhook_outbox_lag_seconds") == 0


def test_outbox_lag_and_failed_deliveries(api) -> None:
    from api.webhooks.worker import deliver_due

    api.ctx.settings.webhook_resolver = lambda host, port: ["93.184.216.34"]  # public; never reached
    sub = api.client.post("/v1/webhooks", json={"url": "https://hooks.example.com/x"},
                          headers=api.h())
    assert sub.status_code == 201, sub.text
    api.client.post("/v1/dispatches", json=body(), headers=api.h(**{"Idempotency-Key": "obs-2"}))
    with api.ctx.sessions() as session:
        queued = session.scalars(select(WebhookOutbox)).all()
    # the event's instant is the app's (pinned) clock; the outbox is scheduled by the real time
    assert queued and all(json.loads(m.payload)["timestamp"].startswith("2025-06-04T02:00:00")
                          for m in queued)
    before = _samples(api.client.get("/metrics", headers=api.h("admin")).text)
    assert _value(before, "spares_webhook_outbox_pending") == len(queued)
    assert _value(before, "spares_webhook_outbox_lag_seconds") >= 0
    deliver_due(api.ctx)  # the tests' client refuses every send: each try fails
    after = _samples(api.client.get("/metrics", headers=api.h("admin")).text)
    assert (_value(after, "spares_webhook_deliveries_total", result="failed")
            - _value(before, "spares_webhook_deliveries_total", result="failed")) == len(queued)
    assert _value(after, "spares_webhook_outbox_pending") == len(queued)  # retried later
    # the retries are due 2 s after the failed try: nothing is overdue right after it
    assert _value(after, "spares_webhook_outbox_lag_seconds") < 2.0
    # a message due two minutes ago and not sent: the lag says so
    from sqlalchemy import update

    from api.webhooks.worker import wall_clock

    with api.ctx.sessions() as session:
        session.execute(update(WebhookOutbox).where(WebhookOutbox.id == queued[0].id)
                        .values(next_attempt_at=wall_clock() - timedelta(minutes=2)))
    lagging = _samples(api.client.get("/metrics", headers=api.h("admin")).text)
    assert 120 <= _value(lagging, "spares_webhook_outbox_lag_seconds") < 600


def test_restock_run_durations(api, tmp_path) -> None:
    import time

    from sqlalchemy import delete

    from inventory.db.restock_models import RestockRun

    with api.ctx.sessions() as s:
        s.execute(delete(RestockRun))
    api.client.app.state.restock_dir = tmp_path / "runs"
    before = _samples(api.client.get("/metrics", headers=api.h("admin")).text)
    r = api.client.post("/v1/restock-runs", json={"quarter": "2027Q1"}, headers=api.h("planner"))
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 300
    while (run := api.client.get(f"/v1/restock-runs/{r.json()['id']}",
                                 headers=api.h("planner")).json())["status"] not in (
            "succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    after = _samples(api.client.get("/metrics", headers=api.h("admin")).text)
    name = "spares_restock_run_duration_seconds"
    status = run["status"]
    assert (_value(after, f"{name}_count", status=status)
            - _value(before, f"{name}_count", status=status)) == 1
    assert _value(after, f"{name}_sum", status=status) > _value(before, f"{name}_sum",
                                                                  status=status)


def test_metrics_need_an_admin_key_by_default(api) -> None:
    assert api.client.get("/metrics").status_code == 401
    assert api.client.get("/metrics", headers=api.h("ticketing")).status_code == 403
    assert api.client.get("/metrics", headers=api.h("admin")).status_code == 200
    assert "/metrics" not in api.client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(("setting", "status"), [("public", 200), ("off", 404)])
def test_metrics_access_setting(api, monkeypatch, setting, status) -> None:
    monkeypatch.setenv("SPARES_METRICS", setting)
    with TestClient(create_app(context=api.ctx)) as client:
        assert client.get("/metrics").status_code == status


# --- settings ---------------------------------------------------------------------------------

def test_settings_read_the_prefixed_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SPARES_REQUEST_THREADS", "3")
    monkeypatch.setenv("spares_webhook_allow", "http://127.0.0.1:9000, http://localhost")
    monkeypatch.setenv("SPARES_RATE_PER_KEY", "off")
    monkeypatch.setenv("SPARES_LOG_LEVEL", "debug")
    monkeypatch.setenv("SPARES_RESTOCK_DIR", str(tmp_path))
    monkeypatch.setenv("REQUEST_THREADS", "99")  # no prefix: not ours
    env = load()
    assert env.request_threads == 3 and env.rate_per_key is None and env.log_level == "DEBUG"
    assert env.webhook_allow == ("http://127.0.0.1:9000", "http://localhost")
    assert env.restock_dir == tmp_path and env.rate_per_address == "400/second"
    assert ApiSettings(database_url="sqlite://").request_threads == 3
    from api.limits import Limits

    assert Limits.from_env().per_key is None


@pytest.mark.parametrize(("name", "value"), [("SPARES_REQUEST_THREADS", "many"),
                                             ("SPARES_REQUEST_THREADS", "0"),
                                             ("SPARES_WEBHOOK_RETRY_HOURS", "-1"),
                                             ("SPARES_LOG_FORMAT", "xml"),
                                             ("SPARES_RATE_PER_KEY", "fast"),
                                             ("SPARES_ACCESS_LOG", "maybe")])
def test_a_bad_setting_is_a_clear_error(monkeypatch, name, value) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        load()
    assert str(err.value).startswith(f"{name}={value!r}: ")


def test_serve_refuses_a_bad_setting_in_one_line(monkeypatch) -> None:
    monkeypatch.setenv("SPARES_MAX_BODY_BYTES", "lots")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got = CliRunner().invoke(cli, ["serve", "--port", str(port), "--url", "sqlite://"])
    assert got.exit_code == 2
    assert "SPARES_MAX_BODY_BYTES='lots'" in got.output and "Traceback" not in got.output


# --- the clock --------------------------------------------------------------------------------

def test_timestamps_the_api_writes_follow_the_pinned_clock(api) -> None:
    """The api fixture pins the clock at NOW (2025): whatever the API stamps reads NOW."""
    org = api.client.post("/v1/organizations", json={"name": "acme"}, headers=api.h("admin"))
    assert org.status_code == 201 and org.json()["created_at"].startswith("2025-06-04T02:00:00")
    r = api.client.post("/v1/stock/receipts", json={"depot_id": "GZ", "part_id": "PSU-1200",
                                                    "quantity": 1, "reference": "obs-clock"},
                        headers=api.h("planner"))
    assert r.status_code in (200, 201), r.text
    with api.ctx.sessions() as session:
        moved = session.scalars(select(StockMovement).where(
            StockMovement.reference == "obs-clock")).one()
    assert moved.at.replace(tzinfo=None) == NOW.replace(tzinfo=None)
    keys = api.client.get("/v1/keys", headers=api.h("admin")).json()
    key = next(k for k in keys["items"] if k["name"] == "test-ticketing")
    revoked = api.client.post(f"/v1/keys/{key['id']}/revoke", headers=api.h("admin"))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"].startswith("2025-06-04T02")


def test_the_direct_access_line_is_the_formatters_line() -> None:
    """With only the JSON handler on the root the access line skips ``logging``'s record
    machinery (:func:`api.observability.logs.direct_handler`) and writes what
    ``JsonFormatter`` writes for the same record; any other handler (a capture) turns it off."""
    from api.observability import logs

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    buf = io.StringIO()
    try:
        root.handlers[:] = []
        handler = configure(level="INFO", fmt="json", stream=buf)
        access = logging.getLogger("spares.access")
        assert logs.direct_handler(access) is handler
        fields = {"method": "POST", "route": "/v1/dispatches", "status": 201,
                  "duration_ms": 1.25, "organization": "org_x"}
        token = logs.bind_request_id("rid-1")
        try:
            logs.write_direct(handler, access, "POST /v1/dispatches 201 1.25 ms", fields)
            access.info("%s %s %d %.2f ms", "POST", "/v1/dispatches", 201, 1.25, extra=fields)
        finally:
            logs.reset_request_id(token)
        direct, formatted = (json.loads(x) for x in buf.getvalue().splitlines())
        assert list(direct) == list(formatted)  # same keys in the same order
        from datetime import datetime

        apart = (datetime.fromisoformat(formatted.pop("ts"))
                 - datetime.fromisoformat(direct.pop("ts")))
        assert timedelta(0) <= apart < timedelta(seconds=2)
        assert direct == formatted
        root.addHandler(logging.NullHandler())
        assert logs.direct_handler(access) is None
        root.handlers[:] = [handler]
        root.setLevel("WARNING")
        assert logs.direct_handler(access) is None
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
