"""Scenario load / read round trip, refusal to load twice, replace, and all-or-nothing loading."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.exc import IntegrityError

import scenarios
from inventory import ledger
from inventory.db import load as load_module
from inventory.db.load import LoadError, load_scenario, read_scenario_from_db, table_counts
from tests.inventory.fixtures import small_scenario


@pytest.fixture(autouse=True)
def _empty(sessions):
    """Every test starts from an empty (but migrated) database."""
    with sessions() as s, s.begin():
        load_module.clear_scenario(session=s)


def _load(sessions, scenario, **kw):
    with sessions() as s, s.begin():
        return load_scenario(scenario, session=s, **kw)


def _read(sessions):
    with sessions() as s:
        return read_scenario_from_db(session=s)


def test_round_trip_small_scenario_is_exact(sessions):
    sc = small_scenario()
    report = _load(sessions, sc)
    assert report.counts["parts"] == 3 and report.counts["contract_terms"] == 4
    # HQ/P-1 has on hand and defective: two movements; HQ/P-3 with nothing has none
    assert report.counts["stock_movements"] == 4 and report.counts["stock_balances"] == 4
    back = _read(sessions)
    assert back == sc
    assert back.parts[0].unit_cost == 0.1 + 0.2  # float exactness, not 0.3
    assert back.depots[2].hours == sc.depots[2].hours  # non-contiguous days survive


def test_round_trip_bundled_tiny(sessions):
    sc = scenarios.load("tiny")
    _load(sessions, sc)
    assert _read(sessions) == replace(sc, candidates=())  # candidates are not stored


def test_opening_stock_is_booked_as_ledger_movements(sessions):
    _load(sessions, small_scenario())
    with sessions() as s:
        assert ledger.verify(session=s) == []
        kinds = {(m.depot_id, m.part_id, m.kind, m.quantity) for m in ledger.movements(session=s)}
        assert ("HQ", "P-1", "receipt", 10) in kinds and ("HQ", "P-1", "defective_in", 2) in kinds
        b = ledger.balance(session=s, depot_id="HQ", part_id="P-1")
        assert (b.on_hand, b.defective, b.available) == (10, 2, 10)


def test_loading_twice_is_refused_and_changes_nothing(sessions):
    _load(sessions, small_scenario("first"))
    with pytest.raises(LoadError, match="already holds scenario 'first'"):
        _load(sessions, small_scenario("second"))
    assert _read(sessions).name == "first"


def test_replace_deletes_old_scenario_and_ledger(sessions):
    _load(sessions, small_scenario("first"))
    with sessions() as s, s.begin():
        assert ledger.reserve(session=s, depot_id="HQ", part_id="P-1", quantity=3, reference="d1")
    tiny = scenarios.load("tiny")
    report = _load(sessions, tiny, replace=True)
    assert report.replaced == "first"
    assert _read(sessions) == replace(tiny, candidates=())
    with sessions() as s:
        assert ledger.movements(session=s, reference="d1") == []
        assert ledger.verify(session=s) == []


def test_failure_mid_load_leaves_database_empty(sessions, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("disk full while booking stock")

    monkeypatch.setattr(load_module, "_book_opening_stock", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        _load(sessions, small_scenario())
    with sessions() as s:
        assert all(n == 0 for n in table_counts(session=s).values())


def test_failed_replace_keeps_the_old_scenario(sessions, monkeypatch):
    _load(sessions, small_scenario("keep-me"))
    monkeypatch.setattr(load_module, "_book_opening_stock",
                        lambda *a, **k: (_ for _ in ()).throw(IntegrityError("x", {}, Exception())))
    with pytest.raises(IntegrityError):
        _load(sessions, scenarios.load("tiny"), replace=True)
    assert _read(sessions) == small_scenario("keep-me")


def test_reading_an_empty_database_says_so(sessions):
    with sessions() as s, pytest.raises(LoadError, match="holds no scenario"):
        read_scenario_from_db(session=s)
