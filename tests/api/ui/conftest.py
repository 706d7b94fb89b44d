"""Fixtures of the workspace tests: a live server (uvicorn on 127.0.0.1, a free port, in a
thread) on a SQLite database with ``tiny`` loaded, keys of every scope, and Debian's Chromium
driven by Playwright. Browser tests skip, with the reason, where no Chromium is installed
(``.ci/run`` installs it)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Page

import scenarios
from api.app import build_context, create_app
from api.auth.service import create_key
from api.context import ApiSettings, AppContext
from api.ui import plans
from api.ui.people import create_user
from inventory.db.load import load_scenario
from inventory.db.migrate import upgrade

SCOPES = ("planner", "viewer", "ticketing")


@dataclass
class LiveServer:
    url: str
    ctx: AppContext
    keys: dict[str, str]
    plans_dir: Path
    users: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the session; plans go to a private folder (``SPARES_PLANS_DIR``)."""
    root = tmp_path_factory.mktemp("ui")
    url = f"sqlite:///{root / 'ui.db'}"
    upgrade(url)
    tiny = scenarios.load("tiny")
    ctx = build_context(ApiSettings(database_url=url, scenario=tiny))
    with ctx.sessions() as session:
        load_scenario(tiny, session=session, replace=True)
    keys = {}
    with ctx.sessions() as session:
        for scope in SCOPES:
            keys[scope] = create_key(session=session, name=f"{scope}-user", scopes=scope)[1]
    users = {"planner": "liwei", "viewer": "auditor"}
    with ctx.sessions(write=True) as session:
        create_user(session=session, username="liwei", display_name="Li Wei",
                    password=PASSWORD, scope="planner")
        create_user(session=session, username="auditor", display_name="Ann Auditor",
                    password=PASSWORD, scope="viewer")
    old = os.environ.get("SPARES_PLANS_DIR")
    os.environ["SPARES_PLANS_DIR"] = str(root / "plans")
    port = _free_port()
    app = create_app(context=ctx)
    app.state.restock_dir = root / "restock-runs"
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", ctx, keys, root / "plans", users)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        ctx.dispose()
        if old is None:
            os.environ.pop("SPARES_PLANS_DIR", None)
        else:
            os.environ["SPARES_PLANS_DIR"] = old


def chromium_path() -> str | None:
    """Debian's Chromium (``SPARES_CHROMIUM`` overrides); None when none is installed."""
    configured = os.environ.get("SPARES_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium installed: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield b
        b.close()


@dataclass
class Tab:
    """A fresh browser context's page, and every request it tried to send off this machine."""

    page: Page
    offsite: list[str]


@pytest.fixture
def tab(browser, live) -> Iterator[Tab]:
    """A new browser context (no cookies) whose requests to any other host are aborted and
    recorded: the workspace must need nothing from the network."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    offsite: list[str] = []

    def guard(route) -> None:
        if route.request.url.startswith(live.url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            offsite.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield Tab(page, offsite)
    context.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests write page screenshots: ``SPARES_UI_SCREENSHOTS`` (docs/ui.md shows
    those in docs/ui/) or a temporary folder."""
    target = os.environ.get("SPARES_UI_SCREENSHOTS")
    folder = Path(target) if target else tmp_path_factory.mktemp("shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def login(tab: Tab, live: LiveServer, scope: str, path: str = "/") -> None:
    """Log in with the API key of ``scope`` (the login page's second form)."""
    page = tab.page
    page.goto(live.url + path)
    page.click("summary:has-text('API key')")
    page.fill("#key", live.keys[scope])
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "/login" not in u)


PASSWORD = "correct horse battery staple"
"""The password of the live server's users (``live.users``: username by scope)."""


def password_login(tab: Tab, live: LiveServer, scope: str, path: str = "/") -> None:
    """Log in as the live server's password user of ``scope``, by keyboard."""
    page = tab.page
    page.goto(live.url + path)
    page.fill("#username", live.users[scope])
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "/login" not in u)


@pytest.fixture(scope="session")
def plan_dir(tmp_path_factory, tiny):
    """One finished plan of ``tiny`` (with its frontier) in a private plans folder."""
    folder = tmp_path_factory.mktemp("plans")
    mp = pytest.MonkeyPatch()
    mp.setenv("SPARES_PLANS_DIR", str(folder))
    from optimizer.travel import TravelNetwork

    job = plans.start_plan(tiny, TravelNetwork(tiny), method="greedy", budget=None, frontier=True,
                           started_by="fixture")
    deadline = time.monotonic() + 120
    while plans.get_plan(job.id).status in ("queued", "running"):
        assert time.monotonic() < deadline, "the plan did not finish"
        time.sleep(0.2)
    assert plans.get_plan(job.id).status == "succeeded", plans.get_plan(job.id).error
    mp.undo()
    return folder, job.id


LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')


def http_login(api, key: str):
    """Sign in through the login form with a TestClient (no browser); returns the answer."""
    c = api.client
    c.cookies.clear()
    token = LOGIN_TOKEN.search(c.get("/login").text).group(1)
    return c.post("/login", data={"key": key, "login_token": token, "next": "/plans"},
                  follow_redirects=False)


def http_password_login(api, username: str, password: str, next_page: str = "/"):
    """Sign in a password user through the login form with a TestClient; returns the answer."""
    c = api.client
    c.cookies.clear()
    token = LOGIN_TOKEN.search(c.get("/login").text).group(1)
    return c.post("/login", data={"username": username, "password": password,
                                  "login_token": token, "next": next_page},
                  follow_redirects=False)


@pytest.fixture
def ui(api, plan_dir, monkeypatch):
    """The API tests' app (``api``) with the module's finished plan in the plans folder."""
    monkeypatch.setenv("SPARES_PLANS_DIR", str(plan_dir[0]))
    return api
