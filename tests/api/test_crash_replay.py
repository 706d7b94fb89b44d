"""Crash replay with two organizations: clients of two organizations race for scarce stock,
the server is killed (SIGKILL) mid-load and started again, and every request is sent again with
its Idempotency-Key: each answers 201 with one dispatch per (organization, key), the answers
given before the crash are repeated, and the ledger reserved exactly the free units."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

import scenarios
from api.auth.service import create_key, create_organization
from api.stock import service as stock
from inventory import ledger
from inventory.db.dispatch_models import Dispatch
from inventory.db.engine import make_engine, session_factory
from inventory.db.load import load_scenario
from inventory.db.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
PER_ORG = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(url: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "SPARES_RATE_PER_KEY": "off", "SPARES_RATE_PER_ADDRESS": "off"}
    proc = subprocess.Popen([sys.executable, "-c", "from api.cli.main import app; app()",
                             "serve", "--url", url, "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not become ready in 60 s")


@pytest.fixture
def database(db_url):
    upgrade(db_url)
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    with sessions() as s, s.begin():
        load_scenario(scenarios.load("tiny"), session=s, replace=True)
        keys = {}
        for org in ("crash-a", "crash-b"):
            org_id = create_organization(session=s, name=f"{org}-{uuid.uuid4().hex[:6]}").id
            keys[org] = create_key(session=s, name=org, scopes="ticketing",
                                   organization_id=org_id)[1]
    yield db_url, sessions, keys
    engine.dispose()


@pytest.mark.slow
def test_kill_mid_load_then_replay_books_each_request_once(database):
    url, sessions, keys = database
    reported = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    requests = [(org, f"key-{i}", {"ticket_id": f"CR-{i}", "site_id": "GZ-02",
                                   "part_id": "LC-10G-B", "severity": 1,
                                   "reported_at": reported})
                for org in keys for i in range(PER_ORG)]
    port = _free_port()
    server = _serve(url, port)
    answered: dict[tuple[str, str], dict] = {}
    lock = threading.Lock()

    def send(req) -> None:
        org, key, body = req
        try:
            r = httpx.post(f"http://127.0.0.1:{port}/v1/dispatches", json=body, timeout=10,
                           headers={"Authorization": f"Bearer {keys[org]}",
                                    "Idempotency-Key": key})
        except httpx.HTTPError:
            return  # the server died under it
        assert r.status_code == 201, r.text
        with lock:
            answered[(org, key)] = r.json()
            if len(answered) == 8:
                server.send_signal(signal.SIGKILL)

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, requests))
        server.wait(10)
        assert 8 <= len(answered) < len(requests)  # the kill came mid-load
        server = _serve(url, port)
        replayed = {}
        for org, key, body in requests:
            r = httpx.post(f"http://127.0.0.1:{port}/v1/dispatches", json=body, timeout=10,
                           headers={"Authorization": f"Bearer {keys[org]}",
                                    "Idempotency-Key": key})
            assert r.status_code == 201, r.text
            replayed[(org, key)] = r.json()
    finally:
        server.kill()
        server.wait(10)
    for k, first in answered.items():
        assert replayed[k]["id"] == first["id"] and replayed[k]["status"] == first["status"]
    assert len({d["id"] for d in replayed.values()}) == len(requests)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Dispatch)) == len(requests)
        assert len(set(s.scalars(select(Dispatch.owner)))) == 2
        rows = stock.stock_rows(session=s, part_id="LC-10G-B")
        assert ledger.verify(session=s) == []
    reserved = sum(d["status"] == "reserved" for d in replayed.values())
    assert reserved == 4 == sum(r["reserved"] for r in rows)
