"""Overlays and overrides on the database (SQLite and PostgreSQL): every change audited with who,
when, old, new and why; refusals name the field; expired overrides kept but not applied; restock
runs apply the overrides and name them."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import delete

from api.planning import service
from api.problems import Problem
from inventory.db.planning_models import (
    ForecastOverride,
    PlanningAudit,
    StockOverride,
    WhatIfOverlay,
)
from tests.api.conftest import NOW


@pytest.fixture
def ctx(api):
    with api.ctx.sessions() as session:
        for table in (PlanningAudit, StockOverride, ForecastOverride, WhatIfOverlay):
            session.execute(delete(table))
    return api.ctx


def _field(exc: pytest.ExceptionInfo) -> str:
    return exc.value.errors[0]["field"]


def test_stock_override_create_update_delete_is_audited(ctx):
    made = service.set_stock_override(ctx, actor="Li Wei", part_id="PSU-1200", location_id="GZ",
                                      min_stock="3", max_stock="", reason="launch at Tianhe")
    assert made["min_stock"] == 3 and made["max_stock"] is None and made["active"]
    service.set_stock_override(ctx, actor="Wang Fang", part_id="PSU-1200", location_id="GZ",
                               min_stock="2", max_stock="6", reason="launch moved",
                               expires_at="2025-12-31")
    rows = service.list_overrides(ctx)["stock"]
    assert len(rows) == 1 and rows[0]["max_stock"] == 6 and rows[0]["updated_by"] == "Wang Fang"
    service.delete_override(ctx, actor="Li Wei", kind="stock", override_id=rows[0]["id"],
                            reason="no longer needed")
    assert service.list_overrides(ctx)["stock"] == []
    audit = service.audit_rows(ctx)
    assert [(a["actor"], a["action"]) for a in audit] == [
        ("Li Wei", "delete"), ("Wang Fang", "update"), ("Li Wei", "create")]
    delete_row, update_row, create_row = audit
    assert create_row["old"] is None
    assert create_row["new"] == {"min_stock": 3, "max_stock": None, "expires_at": None,
                                 "reason": "launch at Tianhe"}
    assert update_row["old"]["min_stock"] == 3 and update_row["new"]["min_stock"] == 2
    assert update_row["new"]["expires_at"].startswith("2025-12-31T23:59:59")
    assert delete_row["old"]["max_stock"] == 6 and delete_row["new"] is None
    assert delete_row["reason"] == "no longer needed"
    assert all(a["kind"] == "stock" and a["subject"] == "PSU-1200@GZ" for a in audit)
    assert all(a["at"] == NOW for a in audit)  # the app's clock, aware UTC


def test_forecast_override_and_the_csv_export(ctx):
    service.set_forecast_override(ctx, actor="Li Wei", part_id="FAN-T1", units_per_month="4.5",
                                  reason="fan recall", expires_at="2025-09-30")
    service.set_forecast_override(ctx, actor="Li Wei", part_id="FAN-T1", units_per_month="5",
                                  reason="recall widened", expires_at="2025-10-31")
    rows = list(csv.reader(io.StringIO(service.audit_csv(ctx))))
    assert rows[0] == list(service.AUDIT_COLUMNS)
    assert len(rows) == 3
    newest = dict(zip(rows[0], rows[1], strict=True))
    assert newest["actor"] == "Li Wei" and newest["action"] == "update"
    assert "units_per_month=4.5" in newest["old"] and "units_per_month=5.0" in newest["new"]
    assert newest["reason"] == "recall widened" and newest["subject"] == "FAN-T1"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"part_id": "NOPE"}, "body.part_id"),
    ({"location_id": "NOPE"}, "body.location_id"),
    ({"min_stock": "", "max_stock": ""}, "body.min_stock"),
    ({"min_stock": "4", "max_stock": "2"}, "body.max_stock"),
    ({"min_stock": "-1"}, "body.min_stock"),
    ({"min_stock": "1.5"}, "body.min_stock"),
    ({"reason": "  "}, "body.reason"),
    ({"expires_at": "2020-01-01"}, "body.expires_at"),
    ({"expires_at": "soon"}, "body.expires_at"),
])
def test_stock_override_refusals_name_the_field(ctx, kwargs, field):
    args = {"part_id": "PSU-1200", "location_id": "GZ", "min_stock": "1", "max_stock": "",
            "reason": "why", "expires_at": ""} | kwargs
    with pytest.raises(Problem) as err:
        service.set_stock_override(ctx, actor="x", **args)
    assert err.value.status == 422 and _field(err) == field
    assert service.audit_rows(ctx) == []  # nothing half-written


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"expires_at": ""}, "body.expires_at"),
    ({"units_per_month": "-2"}, "body.units_per_month"),
    ({"units_per_month": "nan"}, "body.units_per_month"),
    ({"part_id": "ZZ"}, "body.part_id"),
])
def test_forecast_override_refusals_name_the_field(ctx, kwargs, field):
    args = {"part_id": "FAN-T1", "units_per_month": "2", "reason": "why",
            "expires_at": "2026-01-01"} | kwargs
    with pytest.raises(Problem) as err:
        service.set_forecast_override(ctx, actor="x", **args)
    assert _field(err) == field


def test_expired_overrides_are_listed_but_not_applied(ctx, monkeypatch):
    service.set_stock_override(ctx, actor="a", part_id="PSU-1200", location_id="GZ",
                               min_stock="3", max_stock="", reason="r", expires_at="2025-06-30")
    service.set_stock_override(ctx, actor="a", part_id="FAN-T1", location_id="SH",
                               min_stock="", max_stock="0", reason="r")
    service.set_forecast_override(ctx, actor="a", part_id="FAN-T1", units_per_month="9",
                                  reason="r", expires_at="2025-06-30")
    active = service.active_overrides(ctx)
    assert active.stock_limits == {("PSU-1200", "GZ"): (3, None), ("FAN-T1", "SH"): (None, 0)}
    assert active.forecasts == {"FAN-T1": 9.0}
    monkeypatch.setattr(ctx.settings, "clock", lambda: NOW + timedelta(days=30))
    later = service.active_overrides(ctx)
    assert later.stock_limits == {("FAN-T1", "SH"): (None, 0)}
    assert later.forecasts == {}
    listed = service.list_overrides(ctx)
    assert [o["active"] for o in listed["stock"]] == [True, False]  # FAN-T1 first, by part
    assert [o["active"] for o in listed["forecast"]] == [False]


def test_overrides_at_locations_an_overlay_removed_are_named_not_applied(ctx):
    service.set_stock_override(ctx, actor="a", part_id="PSU-1200", location_id="SH",
                               min_stock="2", max_stock="", reason="r")
    _, without_sh = service.check_overlay(ctx.scenario, '[depots]\nremove = ["SH"]\n')
    active = service.active_overrides(ctx, without_sh)
    assert active.stock_limits == {}
    assert active.lines[0].startswith("NOT applied")


def test_overlays_are_checked_named_and_audited(ctx):
    ov = service.save_overlay(ctx, actor="Li Wei", name="surge",
                              body='[[demand]]\nfactor = 1.3\n')
    assert ov["id"].startswith("ov_") and service.get_overlay(ctx, ov["id"])["name"] == "surge"
    with pytest.raises(Problem) as err:
        service.save_overlay(ctx, actor="Li Wei", name="bad", body='[[demand]]\nfactor = 0\n')
    assert err.value.status == 422 and _field(err) == "body.overlay.demand[0].factor"
    with pytest.raises(Problem) as err:
        service.save_overlay(ctx, actor="Li Wei", name="surge", body="")
    assert err.value.status == 409 and _field(err) == "body.name"
    service.save_overlay(ctx, actor="Wang Fang", name="surge 2", body='[[demand]]\nfactor = 2\n',
                         overlay_id=ov["id"])
    assert [o["name"] for o in service.list_overlays(ctx)] == ["surge 2"]
    audit = service.audit_rows(ctx)
    assert [(a["kind"], a["action"], a["actor"]) for a in audit] == [
        ("overlay", "update", "Wang Fang"), ("overlay", "create", "Li Wei")]
    assert audit[0]["old"]["body"] == '[[demand]]\nfactor = 1.3\n'
    with pytest.raises(Problem) as err:
        service.get_overlay(ctx, "ov_nope")
    assert err.value.status == 404


def test_restock_runs_apply_the_overrides_and_name_them(ctx):
    from api.restock.service import compute
    from optimizer.restock.quarter import Quarter

    service.set_stock_override(ctx, actor="Li Wei", part_id="PSU-1200", location_id="CD",
                               min_stock="7", max_stock="", reason="new contract in Chengdu")
    service.set_forecast_override(ctx, actor="Li Wei", part_id="FAN-T1", units_per_month="6",
                                  reason="recall", expires_at="2025-12-31")
    result = compute(ctx, Quarter.parse("2025Q3"), None)
    assert result.stocking.level("PSU-1200", "CD") >= 7
    i = list(result.forecast.part_ids).index("FAN-T1")
    assert result.forecast.rate_per_month[i] == 6.0
    notes = [n for n in result.notes if n.startswith("override: ")]
    assert any("PSU-1200@CD: min 7" in n and "Li Wei" in n for n in notes)
    assert any("forecast FAN-T1: 6 units a month" in n for n in notes)


def test_deleting_an_overlay_keeps_its_text_in_the_audit(ctx):
    ov = service.save_overlay(ctx, actor="Li Wei", name="gone soon",
                              body='[[demand]]\nfactor = 1.1\n')
    service.delete_overlay(ctx, actor="Wang Fang", overlay_id=ov["id"])
    assert service.list_overlays(ctx) == []
    last = service.audit_rows(ctx)[0]
    assert (last["action"], last["actor"], last["subject"]) == ("delete", "Wang Fang",
                                                                "gone soon")
    assert last["old"]["body"] == '[[demand]]\nfactor = 1.1\n' and last["new"] is None
    with pytest.raises(Problem) as err:
        service.delete_overlay(ctx, actor="x", overlay_id=ov["id"])
    assert err.value.status == 404
