"""Network-design records: Candidate, Depot.serves, Scenario.with_design and their storage."""

from __future__ import annotations

from dataclasses import replace

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

import scenarios
from inventory.db import load as load_module
from inventory.db.engine import session_factory
from inventory.db.load import load_scenario, read_scenario_from_db
from inventory.db.migrate import alembic_config, upgrade
from inventory.domain import Candidate, DepotKind, DomainError, Scenario, WeeklyHours


def tiny() -> Scenario:
    return scenarios.load("tiny")


def candidate(**kw) -> Candidate:
    base = dict(candidate_id="C1", name="kit", kind=DepotKind.CUSTOMER_KIT, lat=30.57, lon=104.06,
                timezone="Asia/Shanghai", country="CN", hours=WeeklyHours(), parent_id="CD",
                replenishment_lead_time_days=1.0, handling_hours=0.25, annual_fixed_cost=15000.0,
                opening_cost=12000.0, capacity_units=24, customer="China Mobile",
                site_ids=("CD-01",))
    return Candidate(**{**base, **kw})


# --- Candidate ----------------------------------------------------------------------------------

def test_candidate_as_depot_keeps_every_field() -> None:
    c = candidate(capacity_value=5e4)
    d = c.as_depot()
    assert (d.depot_id, d.kind, d.parent_id, d.customer, d.site_ids, d.capacity_units,
            d.capacity_value, d.annual_fixed_cost, d.closable) == (
        "C1", DepotKind.CUSTOMER_KIT, "CD", "China Mobile", ("CD-01",), 24, 5e4, 15000.0, False)


@pytest.mark.parametrize(("kw", "field"), [
    ({"kind": DepotKind.HQ}, "kind"),
    ({"annual_fixed_cost": -1.0}, "annual_fixed_cost"),
    ({"opening_cost": float("nan")}, "opening_cost"),
    ({"customer": None}, "customer"),
    ({"parent_id": ""}, "parent_id"),
    ({"lat": 95.0}, "lat"),
    ({"capacity_units": -3}, "capacity_units"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
])
def test_candidate_rules(kw: dict, field: str) -> None:
    with pytest.raises(DomainError) as err:
        candidate(**kw)
    assert (err.value.record, err.value.record_id, err.value.field) == ("candidate", "C1", field)


def test_scenario_checks_candidates() -> None:
    sc = tiny()
    with pytest.raises(DomainError, match="already the id of a depot"):
        replace(sc, candidates=(candidate(candidate_id="SH", parent_id="GZ"),))
    with pytest.raises(DomainError, match="unknown parent depot 'NOPE'"):
        replace(sc, candidates=(candidate(parent_id="NOPE"),))
    with pytest.raises(DomainError, match="no site belongs to customer 'Nobody'"):
        replace(sc, candidates=(candidate(customer="Nobody", site_ids=()),))
    with pytest.raises(DomainError, match="belongs to customer 'China Telecom'"):
        replace(sc, candidates=(candidate(site_ids=("CD-01", "CD-02")),))
    with pytest.raises(DomainError, match="unknown site 'XX'"):
        replace(sc, candidates=(candidate(site_ids=("XX",)),))
    with pytest.raises(DomainError, match="duplicate id"):
        replace(sc, candidates=(candidate(), candidate()))


# --- Depot.serves -------------------------------------------------------------------------------

def test_serves() -> None:
    sc = tiny()
    kit = candidate().as_depot()
    cd01, cd05, cd02 = sc.site("CD-01"), sc.site("CD-05"), sc.site("CD-02")
    assert kit.serves(cd01) and not kit.serves(cd05) and not kit.serves(cd02)
    whole_customer = replace(kit, site_ids=())
    assert whole_customer.serves(cd05) and not whole_customer.serves(cd02)
    general = sc.depot("CD")
    assert all(general.serves(s) for s in sc.sites)
    listed = replace(general, site_ids=("CD-02",))
    assert listed.serves(cd02) and not listed.serves(cd01)
    assert "China Mobile" in sc.customers and len(sc.customers) == 4


# --- Scenario.with_design -----------------------------------------------------------------------

def closable_tiny() -> Scenario:
    """tiny with SH closable (saving 200,000 a year) and a partner depot below it."""
    sc = tiny()
    sh = replace(sc.depot("SH"), closable=True, annual_fixed_cost=200_000.0)
    hz = replace(sc.depot("SH"), depot_id="HZ", name="Hangzhou partner", kind=DepotKind.PARTNER,
                 lat=30.27, lon=120.15, parent_id="SH", replenishment_lead_time_days=0.5)
    depots = tuple(sh if d.depot_id == "SH" else d for d in sc.depots) + (hz,)
    shanghai_trunk = candidate(candidate_id="TRK-SH", kind=DepotKind.TRUNK, customer=None,
                               site_ids=(), parent_id="SH", lat=31.2, lon=121.4)
    return replace(sc, depots=depots, candidates=sc.candidates + (shanghai_trunk,))


def test_opening_candidates() -> None:
    sc = tiny()
    d = sc.with_design(["KIT-CD01", "CON-CD", "KIT-CD01"])
    assert [x.depot_id for x in d.depots][-2:] == ["KIT-CD01", "CON-CD"]
    assert d.depot("KIT-CD01") == sc.candidate("KIT-CD01").as_depot()
    assert [c.candidate_id for c in d.candidates] == ["TRK-GZ"]
    assert d.sites == sc.sites and d.stock == sc.stock
    assert sc.with_design() == sc


def test_closing_reparents_children_and_moves_sites() -> None:
    sc = closable_tiny()
    d = sc.with_design(["KIT-CD01"], closed_ids=["SH"])
    ids = [x.depot_id for x in d.depots]
    assert "SH" not in ids and "KIT-CD01" in ids
    hz = d.depot("HZ")  # refilled from SH's parent, lead times added
    assert (hz.parent_id, hz.replenishment_lead_time_days) == ("HQ-SZ", 0.5 + 2.0)
    trunk = d.candidate("TRK-SH")  # a remaining candidate refilled by SH too
    assert (trunk.parent_id, trunk.replenishment_lead_time_days) == ("HQ-SZ", 3.0)
    moved = [s for s in d.sites if s.site_id.startswith("SH-")]
    assert moved and all(s.primary_depot_id == "HZ" for s in moved)  # the nearest left open
    assert not any(st.depot_id == "SH" for st in d.stock)
    assert all(d.site(s.site_id) == s for s in sc.sites if not s.site_id.startswith("SH-"))


def test_closed_sites_do_not_move_to_a_customer_kit() -> None:
    sc = tiny()
    cd = replace(sc.depot("CD"), closable=True, annual_fixed_cost=50_000.0)
    sc = replace(sc, depots=tuple(cd if d.depot_id == "CD" else d for d in sc.depots))
    d = sc.with_design(["KIT-CD01"], closed_ids=["CD"])
    # the kit (China Mobile, CD-01 only) is next door, but the nearest depot open to all is GZ
    assert {s.primary_depot_id for s in d.sites if s.site_id.startswith("CD-")} == {"GZ"}
    assert d.depot("KIT-CD01").parent_id == "HQ-SZ"


def test_unknown_ids_and_non_closable_depots_are_refused() -> None:
    sc = closable_tiny()
    with pytest.raises(KeyError, match="unknown candidate 'NOPE'"):
        sc.with_design(["NOPE"])
    with pytest.raises(KeyError):
        sc.with_design(closed_ids=["NOPE"])
    with pytest.raises(DomainError, match="may not be closed") as err:
        sc.with_design(closed_ids=["GZ"])
    assert (err.value.record_id, err.value.field) == ("GZ", "closable")
    with pytest.raises(DomainError, match="HQ cannot be closed"):
        replace(sc.hq, closable=True)


# --- storage ------------------------------------------------------------------------------------

@pytest.fixture
def _empty(sessions):
    with sessions() as s, s.begin():
        load_module.clear_scenario(session=s)


@pytest.mark.usefixtures("_empty")
def test_design_fields_survive_the_database(sessions) -> None:
    sc = closable_tiny()
    sc = replace(sc, settings=replace(sc.settings, design_years=4.0))
    sc = sc.with_design(["KIT-CD01", "TRK-GZ"])
    gz = replace(sc.depot("GZ"), capacity_units=500, capacity_value=0.1 + 0.2)
    sc = replace(sc, depots=tuple(gz if d.depot_id == "GZ" else d for d in sc.depots))
    with sessions() as s, s.begin():
        load_scenario(sc, session=s)
    with sessions() as s:
        back = read_scenario_from_db(session=s)
    assert back == replace(sc, candidates=())
    kit = back.depot("KIT-CD01")
    assert (kit.kind, kit.customer, kit.site_ids, kit.capacity_units) == (
        DepotKind.CUSTOMER_KIT, "China Mobile", ("CD-01",), 24)
    assert back.depot("SH").closable and back.depot("SH").annual_fixed_cost == 200_000.0
    assert back.depot("TRK-GZ").capacity_value == 60000.0
    assert back.depot("GZ").capacity_value == 0.1 + 0.2 and back.settings.design_years == 4.0


def test_migration_0006_downgrades_and_upgrades_with_data(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'mig.db'}"
    upgrade(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    plain = tiny()  # its depots hold the defaults of the new columns
    with sessions() as s, s.begin():
        load_scenario(plain, session=s)
    command.downgrade(alembic_config(url), "0005")
    with engine.connect() as conn:
        cols = {c["name"] for c in inspect(conn).get_columns("depots")}
        meta = {c["name"] for c in inspect(conn).get_columns("scenario_meta")}
    assert not cols & {"customer", "closable", "annual_fixed_cost", "capacity_units",
                       "capacity_value", "site_ids"} and "design_years" not in meta
    upgrade(url)  # existing rows get the defaults, which are what plain holds
    with sessions() as s:
        assert read_scenario_from_db(session=s) == replace(plain, candidates=())
    engine.dispose()
