"""`spares plan --overlay FILE`: the what-if applied, named on screen and in the plan files;
a wrong overlay refused naming the file and the field, nothing written."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from api.cli.main import app

SURGE = '''name = "Guangzhou surge"
[[demand]]
factor = 3
regions = ["GZ"]
'''


def test_plan_with_an_overlay_names_it_and_plans_the_changed_network(tmp_path):
    (tmp_path / "surge.toml").write_text(SURGE)
    runner = CliRunner()
    base = runner.invoke(app, ["plan", "--scenario", "tiny", "--out", str(tmp_path / "base")])
    assert base.exit_code == 0, base.output
    r = runner.invoke(app, ["plan", "--scenario", "tiny", "--overlay",
                            str(tmp_path / "surge.toml"), "--out", str(tmp_path / "what-if")])
    assert r.exit_code == 0, r.output
    assert "what-if overlay Guangzhou surge" in r.output
    assert "demand x3 for regions GZ" in r.output
    summary = json.loads((tmp_path / "what-if" / "summary.json").read_text())
    assert any(n.startswith("what-if overlay Guangzhou surge") and "demand x3" in n
               for n in summary["notes"])
    assert (tmp_path / "what-if" / "overlay.toml").read_text() == SURGE
    before = json.loads((tmp_path / "base" / "summary.json").read_text())
    assert summary["investment"] > before["investment"]  # three times the Guangzhou demand
    assert not any("what-if" in n for n in before["notes"])


def test_a_wrong_overlay_names_file_and_field(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[terms]]\ncontract = "GOLD"\ntarget = 1.2\n')
    r = CliRunner().invoke(app, ["plan", "--scenario", "tiny", "--overlay", str(bad), "--out",
                                 str(tmp_path / "out")])
    assert r.exit_code == 1
    said = "".join(r.output.split())  # rich wraps long lines, anywhere in a long path
    assert f"--overlay{bad}:overlayfield'terms[0].target'" in said
    assert not (tmp_path / "out").exists()
    r = CliRunner().invoke(app, ["plan", "--scenario", "tiny", "--overlay",
                                 str(tmp_path / "none.toml"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 1 and "none.toml" in "".join(r.output.split())
