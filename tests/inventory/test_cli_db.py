"""`spares db init` and `spares db load` through typer's CliRunner (SQLite)."""

from __future__ import annotations

from typer.testing import CliRunner

from api.cli.main import app
from inventory.db.engine import make_engine, session_factory
from inventory.db.load import read_scenario_from_db

runner = CliRunner()


def test_init_then_load_then_refuse_then_replace(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = runner.invoke(app, ["db", "init", "--url", url])
    assert result.exit_code == 0, result.output
    assert "revision" in result.output

    result = runner.invoke(app, ["db", "load", "tiny", "--url", url])
    assert result.exit_code == 0, result.output
    assert "installed_base" in result.output and "32" in result.output

    result = runner.invoke(app, ["db", "load", "tiny", "--url", url])
    assert result.exit_code == 1
    assert "already holds scenario" in result.output

    result = runner.invoke(app, ["db", "load", "tiny", "--url", url, "--replace"])
    assert result.exit_code == 0, result.output
    assert "replaced 'tiny'" in result.output

    engine = make_engine(url)
    with session_factory(engine)() as s:
        assert read_scenario_from_db(session=s).name == "tiny"
    engine.dispose()


def test_load_unknown_scenario_names_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner.invoke(app, ["db", "init", "--url", url])
    result = runner.invoke(app, ["db", "load", str(tmp_path / "missing"), "--url", url])
    assert result.exit_code == 1
    assert "missing" in result.output


def test_load_on_a_fresh_database_creates_the_schema(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = runner.invoke(app, ["db", "load", "tiny", "--url", url])
    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    with session_factory(engine)() as s:
        assert read_scenario_from_db(session=s).name == "tiny"
    engine.dispose()


def test_load_into_an_unreachable_server_names_it(tmp_path):
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = runner.invoke(app, ["db", "load", "tiny", "--url", url])
    assert result.exit_code == 1
    assert "cannot migrate" in result.output and "127.0.0.1:1" in result.output
