"""`spares restock` on the database applies the planners' unexpired overrides and names them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
from typer.testing import CliRunner

import scenarios
from api.app import build_context
from api.cli.main import app
from api.context import ApiSettings
from api.planning import service


def test_database_restock_applies_and_names_the_overrides(tmp_path) -> None:
    runner = CliRunner()
    url = f"sqlite:///{tmp_path}/restock.db"
    assert runner.invoke(app, ["db", "init", "--url", url]).exit_code == 0
    assert runner.invoke(app, ["db", "load", "tiny", "--url", url]).exit_code == 0
    ctx = build_context(ApiSettings(database_url=url, scenario=scenarios.load("tiny")))
    try:
        service.set_stock_override(ctx, actor="Li Wei", part_id="PSU-1200", location_id="SH",
                                   min_stock="8", max_stock="", reason="Shanghai launch")
        service.set_forecast_override(ctx, actor="Li Wei", part_id="FAN-T1",
                                      units_per_month="5", reason="recall",
                                      expires_at=f"{datetime.now(UTC).year + 1}-12-31")
        service.set_stock_override(ctx, actor="Li Wei", part_id="FAN-T1", location_id="GZ",
                                   min_stock="30", max_stock="", reason="old",
                                   expires_at="2099-01-01")
        with ctx.sessions() as session:  # expire the last one
            from inventory.db.planning_models import StockOverride

            row = session.query(StockOverride).filter_by(part_id="FAN-T1").one()
            row.expires_at = datetime(2020, 1, 1, tzinfo=UTC)
    finally:
        ctx.dispose()
    r = runner.invoke(app, ["restock", "--quarter", "2027Q1", "--out", str(tmp_path / "run"),
                            "--url", url])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    notes = [n for n in summary["notes"] if n.startswith("override: ")]
    assert any("stock PSU-1200@SH: min 8" in n and "Shanghai launch" in n for n in notes)
    assert any("forecast FAN-T1: 5 units a month" in n for n in notes)
    assert not any("FAN-T1@GZ" in n for n in notes)  # expired: ignored
    # the minimum is bought even where it adds no service, as a contractual buy naming why
    floors = pd.read_csv(tmp_path / "run" / "contractual.csv", dtype={"part id": str})
    row = floors[(floors["part id"] == "PSU-1200") & (floors["to depot"] == "SH")]
    assert len(row) == 1 and int(row["minimum units"].iloc[0]) == 8
    assert row["reason"].iloc[0] == "planner override: Shanghai launch (Li Wei)"
    assert not (floors["part id"] == "FAN-T1").any()
