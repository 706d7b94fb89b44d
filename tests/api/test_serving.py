"""`spares serve` / `demo` start-up: the port taken before any long work, "serving" said once
it is bound, uvicorn's keep-alive and worker checks set for pooled clients on a busy host,
friendly errors (no traceback, no database file created), and no solver or plotting library
imported by a server worker."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from api.cli import serve
from api.cli.main import app as cli
from api.cli.serve import ServeError, bind, build_app, check_database

HEAVY = ("matplotlib", "ortools", "pyvrp", "highspy", "pulp", "scipy.stats", "openpyxl",
         "optimizer.restock.run", "optimizer.routing.pyvrp_solver", "optimizer.stocking.api")
"""Modules a server worker must not import before a request needs them."""


@pytest.fixture
def busy_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('serving')}/tiny.db"
    for args in (["db", "init", "--url", url], ["db", "load", "tiny", "--url", url]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 0, r.output
    return url


def test_a_worker_imports_no_solver_or_plotting_library(tiny_db) -> None:
    code = ("import sys\nfrom api.cli.serve import build_app\n"
            f"build_app({tiny_db!r}, webhook_worker=False)\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True)
    assert out.stdout.strip() == ""


def test_bind_refuses_a_taken_port_by_name(busy_port) -> None:
    with pytest.raises(ServeError, match=f"port {busy_port} on 127.0.0.1 is in use"):
        bind("127.0.0.1", busy_port)


def test_serve_on_a_taken_port_fails_before_reading_the_database(busy_port, tmp_path) -> None:
    r = CliRunner().invoke(cli, ["serve", "--url", f"sqlite:///{tmp_path}/none.db",
                                 "--port", str(busy_port)])
    assert r.exit_code == 2 and "is in use" in r.output and "Traceback" not in r.output


def test_demo_on_a_taken_port_fails_before_any_work(busy_port, tmp_path) -> None:
    db = tmp_path / "demo.db"
    r = CliRunner().invoke(cli, ["demo", "--db", str(db), "--scenario", "tiny",
                                 "--port", str(busy_port)])
    assert r.exit_code == 1 and "is in use" in r.output
    assert not db.exists()  # nothing loaded, nothing planned


def test_a_mistyped_sqlite_url_creates_no_file(tmp_path) -> None:
    db = tmp_path / "spraes.db"
    r = CliRunner().invoke(cli, ["serve", "--url", f"sqlite:///{db}", "--port", str(_free_port())])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert f"no database file {db}" in r.output and "spares db init" in r.output
    assert not db.exists()


def test_a_database_without_the_schema_says_what_to_run(tmp_path) -> None:
    import sqlite3

    db = tmp_path / "other.db"
    sqlite3.connect(db).close()
    with pytest.raises(ServeError, match="holds no spares schema.*spares db init"):
        check_database(f"sqlite:///{db}")


def test_an_old_schema_revision_says_to_migrate(tiny_db, tmp_path) -> None:
    import shutil
    import sqlite3

    db = tmp_path / "old.db"
    shutil.copy(tiny_db.removeprefix("sqlite:///"), db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    with pytest.raises(ServeError, match="revision 0001.*spares db init"):
        check_database(f"sqlite:///{db}")


def test_an_unreachable_server_is_one_line() -> None:
    port = _free_port()  # a loopback port nobody listens on
    with pytest.raises(ServeError, match="cannot open") as err:
        check_database(f"postgresql://nobody@127.0.0.1:{port}/none")
    assert "\n" not in str(err.value)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_says_serving_once_bound_with_long_keep_alive(tiny_db, monkeypatch) -> None:
    """`run` hands uvicorn the socket it bound (its port already accepts connections when
    "serving" is printed) with a keep-alive longer than pooled clients keep connections."""
    import uvicorn

    said: list[tuple[str, bool]] = []
    calls: list[dict] = []
    port = _free_port()

    def echo(message: str) -> None:
        with socket.socket() as c:
            said.append((message, c.connect_ex(("127.0.0.1", port)) == 0))

    def fake_run(app, **options):
        calls.append({"app": app, **options})
        assert socket.socket(fileno=socket.dup(options["fd"])).getsockname()[1] == port

    monkeypatch.setattr(uvicorn, "run", fake_run)
    serve.run(tiny_db, "127.0.0.1", port, echo=echo)
    assert len(said) == 1 and said[0][0].startswith("serving 'tiny'") and said[0][1]
    options = calls[0]
    assert options["timeout_keep_alive"] >= 65  # above the 60 s of common client pools
    assert options["timeout_worker_healthcheck"] > 5
    calls[0]["app"].state.ctx.dispose()
    with socket.socket() as c:  # released after the server stopped
        assert c.connect_ex(("127.0.0.1", port)) != 0


def test_healthz_needs_no_database(tiny_db) -> None:
    from fastapi.testclient import TestClient

    app = build_app(tiny_db, webhook_worker=False)
    app.state.ctx.engine.dispose()
    app.state.ctx.engine.pool._creator = lambda: (_ for _ in ()).throw(OSError("db down"))
    client = TestClient(app, raise_server_exceptions=False)  # no lifespan: it reads the database
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 503
    app.state.ctx.dispose()
