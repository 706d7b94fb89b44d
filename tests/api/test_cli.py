"""`spares keys` through the CLI: the key is printed once and only its hash is stored."""

from __future__ import annotations

from typer.testing import CliRunner

from api.auth.models import Scope
from api.auth.service import authenticate, hash_key
from api.cli.main import app


def test_keys_create_list_revoke(tmp_path):
    from inventory.db.engine import make_engine, session_factory
    from inventory.db.migrate import upgrade

    url = f"sqlite:///{tmp_path}/keys.db"
    upgrade(url)
    runner = CliRunner()
    r = runner.invoke(app, ["keys", "create", "--name", "servicenow", "--scope", "ticketing",
                            "--scope", "planner", "--url", url])
    assert r.exit_code == 0, r.output
    plain = r.output.strip().splitlines()[-1]
    assert plain.startswith("spk_") and r.output.count(plain) == 1
    sessions = session_factory(make_engine(url))
    with sessions() as s:
        who = authenticate(session=s, key=plain)
    assert who.name == "servicenow" and who.scopes == {Scope.TICKETING, Scope.PLANNER}
    listed = runner.invoke(app, ["keys", "list", "--url", url])
    assert who.key_id in listed.output and plain not in listed.output
    assert hash_key(plain) not in listed.output
    bad = runner.invoke(app, ["keys", "create", "--name", "x", "--scope", "root", "--url", url])
    assert bad.exit_code != 0 and "unknown scope 'root'" in bad.output
    assert runner.invoke(app, ["keys", "revoke", who.key_id, "--url", url]).exit_code == 0
    with sessions() as s:
        assert authenticate(session=s, key=plain) is None
    assert runner.invoke(app, ["keys", "revoke", who.key_id, "--url", url]).exit_code == 1


def test_serve_is_registered():
    r = CliRunner().invoke(app, ["serve", "--help"])
    assert r.exit_code == 0 and "--port" in r.output and "--url" in r.output
