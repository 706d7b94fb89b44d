"""The day-of-runs rules: stop matrices (against a per-pair brute force) and the deferral rule
(against hand-computed van departures and arrivals)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scenarios
from inventory.domain import EARTH_RADIUS_KM, TransportKind
from optimizer.calendars import Calendar, day_interval
from optimizer.routing.day import SERVICE_MINUTES, later_run_takes
from optimizer.travel import TravelNetwork


@pytest.fixture(scope="module")
def tiny():
    return scenarios.load("tiny")


@pytest.fixture(scope="module")
def net(tiny):
    return TravelNetwork(tiny)


def _van(scenario):
    return next(m for m in scenario.transport_modes if m.kind is TransportKind.VAN_RUN)


def _gc_km(a, b) -> float:
    """Great-circle km by the haversine formula, one pair at a time with ``math``."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _hours(scenario, km: float, speed: float) -> float:
    s = scenario.settings
    urban_speed = min(s.urban_speed_kmh, speed) if s.urban_speed_kmh > 0 else speed
    urban = min(km, 2 * s.urban_radius_km)
    return urban / urban_speed + (km - urban) / speed


def test_stop_matrices_match_a_pair_by_pair_brute_force(tiny, net) -> None:
    depot = tiny.depots[0]
    sites = [s.site_id for s in tiny.sites]
    speed = _van(tiny).speed_kmh
    km, hours = net.stop_matrices(depot.depot_id, sites, speed)
    points = [depot, *(tiny.site(s) for s in sites)]
    n = len(points)
    assert km.shape == hours.shape == (n, n)
    for a in range(n):
        for b in range(n):
            want = 0.0 if a == b else _gc_km(points[a], points[b]) * tiny.settings.circuity_factor
            assert km[a, b] == pytest.approx(want, rel=1e-9, abs=1e-9)
            assert hours[a, b] == pytest.approx(_hours(tiny, want, speed), rel=1e-9, abs=1e-12)
    # the depot row is the network's own depot-to-site road km
    i = net.depot_index[depot.depot_id]
    assert np.allclose(km[0, 1:], [net.road_km[i, net.site_index[s]] for s in sites])


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_stop_matrices_are_a_metric(tiny, net, data) -> None:
    """Symmetric, zero diagonal, triangle inequality, for any order and subset of sites."""
    ids = [s.site_id for s in tiny.sites]
    chosen = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=len(ids)))
    depot = data.draw(st.sampled_from([d.depot_id for d in tiny.depots]))
    km, hours = net.stop_matrices(depot, chosen, 50.0)
    assert np.allclose(km, km.T) and np.all(np.diag(km) == 0) and np.all(hours >= 0)
    assert np.all(km[:, None, :] <= km[:, :, None] + km[None, :, :] + 1e-6)  # [a, b, c]


def _shift(tiny, depot_id: str, day: date):
    depot = tiny.depot(depot_id)
    return day_interval(_van(tiny).hours, Calendar(depot.timezone, depot.country), day)


def test_deferral_waits_only_for_a_run_that_arrives_in_time(tiny, net) -> None:
    """GZ's vans run 08:00-20:00 local: a run left out on Wednesday goes on Thursday's 08:00
    run, arriving after the drive; the deadline decides, to the second."""
    mode = _van(tiny)
    start, end = _shift(tiny, "GZ", date(2025, 10, 15))
    thursday, _ = _shift(tiny, "GZ", date(2025, 10, 16))
    assert thursday - start == timedelta(hours=24)
    i, j = net.depot_index["GZ"], net.site_index["GZ-01"]
    drive_s = math.ceil(_hours(tiny, float(net.road_km[i, j]), mode.speed_kmh) * 3600 - 1e-6)
    arrives = thursday + timedelta(seconds=drive_s)
    ready = start - timedelta(hours=2)

    def later(site: str, due: datetime | None, load: int = 1) -> bool:
        return later_run_takes(net, "GZ", site, mode, load=load, capacity=30, ready_at=ready,
                               due_at=due, shift_start=start, shift_end=end)

    assert later("GZ-01", arrives) and not later("GZ-01", arrives - timedelta(seconds=1))
    assert later("GZ-01", None) and later("GZ-01", start + timedelta(hours=48))
    assert not later("GZ-01", start + timedelta(hours=23))  # before Thursday's run leaves
    assert not later("GZ-01", None, load=31)  # does not fit in a van


def test_deferral_needs_a_round_trip_inside_a_shift(tiny, net) -> None:
    mode = _van(tiny)
    start, end = _shift(tiny, "GZ", date(2025, 10, 15))
    i = net.depot_index["GZ"]
    for site in tiny.sites:
        j = net.site_index[site.site_id]
        trip = timedelta(hours=2 * _hours(tiny, float(net.road_km[i, j]), mode.speed_kmh),
                         minutes=SERVICE_MINUTES)
        got = later_run_takes(net, "GZ", site.site_id, mode, load=1, capacity=30,
                              ready_at=start, due_at=None, shift_start=start, shift_end=end)
        assert got == (trip <= end - start), site.site_id
    # Shanghai is ~1,600 road km from Guangzhou: no van gets there and back in a 12 h shift
    assert not later_run_takes(net, "GZ", "SH-01", mode, load=1, capacity=30, ready_at=start,
                               due_at=start + timedelta(days=7), shift_start=start,
                               shift_end=end)
