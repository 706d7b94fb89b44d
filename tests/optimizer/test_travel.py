"""ETA rules of the travel network, checked against hand-computed instants."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from inventory.domain import (
    ClockStart,
    Contract,
    Depot,
    DepotKind,
    Hub,
    Milestone,
    Part,
    Scenario,
    Settings,
    SeverityTerm,
    Site,
    SizeClass,
    TransportKind,
    TransportMode,
    WeeklyHours,
    WindowKind,
    great_circle_km,
)
from optimizer.travel import TravelNetwork

SH = ZoneInfo("Asia/Shanghai")
BH = WeeklyHours.parse("mon-fri 08:00-18:00")
ALL = frozenset(SizeClass)


def make_contract() -> Contract:
    cov = WeeklyHours.parse("mon-fri 09:00-17:00")
    return Contract("gold", "Gold 8x5", "gold", (
        SeverityTerm(1, WindowKind.HOURS, 4, 0.95, Milestone.PART_ON_SITE, ClockStart.TICKET_OPENED,
                     WeeklyHours()),
        SeverityTerm(2, WindowKind.HOURS, 8, 0.95, Milestone.PART_ON_SITE, ClockStart.TICKET_OPENED,
                     BH),
        SeverityTerm(3, WindowKind.BUSINESS_DAYS, 1, 0.9, Milestone.PART_ON_SITE,
                     ClockStart.TICKET_OPENED, cov, time(16, 0)),
        SeverityTerm(4, WindowKind.HOURS, 2, 0.9, Milestone.RESPONSE, ClockStart.TICKET_OPENED,
                     WeeklyHours()),
    ))


def make_scenario() -> Scenario:
    """Beijing HQ (24x7), Shanghai (business hours) and Urumqi depots; three sites; three hubs."""
    depots = (
        Depot("HQ", "Beijing HQ", DepotKind.HQ, 39.90, 116.40, "Asia/Shanghai", "CN", WeeklyHours(),
              None, 0, 0.5),
        Depot("SHA", "Shanghai", DepotKind.REGIONAL, 31.23, 121.47, "Asia/Shanghai", "CN", BH, "HQ",
              2, 1.0),
        Depot("URC", "Urumqi", DepotKind.REGIONAL, 43.80, 87.60, "Asia/Urumqi", "CN",
              WeeklyHours.parse("mon-fri 09:00-18:00"), "HQ", 4, 1.0),
    )
    sites = (
        Site("S1", "Pudong", "Acme", 31.30, 121.50, "Asia/Shanghai", "CN", "gold", "SHA"),
        Site("S2", "Chaoyang", "Acme", 39.95, 116.45, "Asia/Shanghai", "CN", "gold", "HQ"),
        Site("S3", "Tianshan", "Acme", 43.78, 87.62, "Asia/Urumqi", "CN", "gold", "URC"),
    )
    hubs = (Hub("PEK", "Beijing Capital", 40.08, 116.58, "Asia/Shanghai"),
            Hub("PVG", "Shanghai Pudong", 31.14, 121.80, "Asia/Shanghai"),
            Hub("URC", "Urumqi Diwopu", 43.90, 87.47, "Asia/Urumqi"))
    modes = (
        TransportMode("courier", "Courier", TransportKind.COURIER, 80, 50, 2.0, WeeklyHours(), ALL),
        TransportMode("parcel", "Parcel", TransportKind.PARCEL, 60, 10, 0.1,
                      WeeklyHours.parse("mon-fri 00:00-24:00"),
                      frozenset({SizeClass.SMALL, SizeClass.MEDIUM}), time(17, 0), time(10, 0)),
        TransportMode("air", "Air+courier", TransportKind.AIR, 700, 300, 2.0, WeeklyHours(),
                      frozenset({SizeClass.SMALL}), min_distance_km=800, handling_hours=1.0,
                      road_speed_kmh=60),
        TransportMode("van", "Van run", TransportKind.VAN_RUN, 50, 20, 0.5,
                      WeeklyHours.parse("mon-sat 07:00-19:00"), ALL),
    )
    parts = (Part("P1", "Board", 1000, True, 30, 0.9, 60, SizeClass.SMALL, 0.1),
             Part("P9", "Chassis", 9000, False, 0, 0, 90, SizeClass.LARGE, 0.01))
    return Scenario("unit", "CNY", 365, Settings(), parts, depots, sites, (make_contract(),), (),
                    modes, hubs=hubs)


@pytest.fixture(scope="module")
def net() -> TravelNetwork:
    return TravelNetwork(make_scenario())


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def drive_h(km: float, speed: float) -> float:
    """Independent road time: 30 km at each end at 30 km/h, the rest at ``speed``."""
    urban = min(km, 60.0)
    return urban / 30.0 + (km - urban) / speed


def secs(h: float) -> timedelta:
    return timedelta(seconds=math.ceil(h * 3600 - 1e-6))


def road_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    return great_circle_km(*a, *b) * 1.3


def test_request_after_closing_waits_for_next_morning(net: TravelNetwork) -> None:
    leg = net.earliest_arrival("SHA", "S1", "courier", local(2025, 3, 11, 19, 0))
    assert leg is not None
    assert leg.departs_at == local(2025, 3, 12, 9, 0)  # opens 08:00 + 1 h handling
    km = road_km((31.23, 121.47), (31.30, 121.50))
    assert leg.road_km == pytest.approx(km)
    assert leg.arrives_at == local(2025, 3, 12, 9, 0) + secs(drive_h(km, 80))
    assert leg.cost == pytest.approx(50 + 2.0 * km)


def test_holiday_closes_depot_and_adjusted_weekend_opens_it(net: TravelNetwork) -> None:
    # CN National Day 2024: 1-7 Oct off; Sat 12 Oct is an official working day.
    leg = net.earliest_arrival("SHA", "S1", "courier", local(2024, 9, 30, 19, 0))
    assert leg.departs_at == local(2024, 10, 8, 9, 0)
    leg = net.earliest_arrival("SHA", "S1", "courier", local(2024, 10, 12, 10, 0))
    assert leg.departs_at == local(2024, 10, 12, 11, 0)


def test_24x7_depot_never_waits(net: TravelNetwork) -> None:
    leg = net.earliest_arrival("HQ", "S2", "courier", local(2024, 10, 1, 3, 0))
    assert leg.departs_at == local(2024, 10, 1, 3, 30)


@pytest.mark.parametrize(("ready", "ships", "delivered"), [
    (local(2025, 3, 11, 10, 0), local(2025, 3, 11, 17, 0), local(2025, 3, 12, 10, 0)),
    (local(2025, 3, 11, 16, 30), local(2025, 3, 12, 17, 0), local(2025, 3, 13, 10, 0)),
    (local(2025, 3, 14, 12, 0), local(2025, 3, 14, 17, 0), local(2025, 3, 17, 10, 0)),
    (local(2024, 9, 30, 12, 0), local(2024, 9, 30, 17, 0), local(2024, 10, 8, 10, 0)),
])
def test_parcel_cutoff(net: TravelNetwork, ready: datetime, ships: datetime, delivered: datetime) -> None:
    leg = net.earliest_arrival("SHA", "S1", "parcel", ready)
    assert (leg.departs_at, leg.arrives_at) == (ships, delivered)


def test_air_only_beyond_minimum_distance_and_in_flight_hours(net: TravelNetwork) -> None:
    assert net.earliest_arrival("HQ", "S2", "air", local(2025, 3, 11, 10, 0)) is None
    ready = local(2025, 3, 11, 22, 0)
    leg = net.earliest_arrival("HQ", "S1", "air", ready)
    assert leg is not None
    to_hub = road_km((39.90, 116.40), (40.08, 116.58))
    at_hub = ready + timedelta(minutes=30) + secs(drive_h(to_hub, 60)) + timedelta(hours=1)
    assert at_hub > local(2025, 3, 11, 21, 0)  # too late for tonight: first flight 07:00
    air = great_circle_km(40.08, 116.58, 31.14, 121.80)
    last = road_km((31.14, 121.80), (31.30, 121.50))
    expected = local(2025, 3, 12, 7, 0) + secs(air / 700) + timedelta(hours=1) + secs(drive_h(last, 60))
    assert leg.arrives_at == expected
    assert leg.air_km == pytest.approx(air)
    assert leg.cost == pytest.approx(300 + 2.0 * (to_hub + last))


def test_van_leaves_at_start_of_next_window(net: TravelNetwork) -> None:
    leg = net.earliest_arrival("HQ", "S2", "van", local(2025, 3, 11, 10, 0))
    assert leg.departs_at == local(2025, 3, 12, 7, 0)
    leg = net.earliest_arrival("HQ", "S2", "van", local(2025, 3, 15, 20, 0))  # Saturday evening
    assert leg.departs_at == local(2025, 3, 17, 7, 0)


def test_options_respect_size_classes_and_sort_by_eta(net: TravelNetwork) -> None:
    sc = net.scenario
    ready = local(2025, 3, 11, 10, 0)
    small = net.options("HQ", "S1", sc.part("P1"), ready)
    assert {g.mode_id for g in small} == {"courier", "parcel", "air", "van"}
    assert [g.arrives_at for g in small] == sorted(g.arrives_at for g in small)
    large = net.options("HQ", "S1", sc.part("P9"), ready)
    assert {g.mode_id for g in large} == {"courier", "van"}


def test_options_agree_with_earliest_arrival_and_explain_each_leg(net: TravelNetwork) -> None:
    """``options`` picks once per depot; each leg is what ``earliest_arrival`` says for its mode,
    and its explanation (formatted when read) names the picking and the transport."""
    ready = local(2025, 3, 11, 16, 30)  # the parcel cut-off is missed, the van waits a night
    for depot in ("HQ", "SHA"):
        for leg in net.options(depot, "S1", net.scenario.part("P1"), ready):
            one = net.earliest_arrival(depot, "S1", leg.mode_id, ready)
            assert (one.departs_at, one.arrives_at, one.cost, one.road_km, one.air_km) == \
                (leg.departs_at, leg.arrives_at, leg.cost, leg.road_km, leg.air_km)
            assert one.legs == leg.legs and leg.explanation == "; ".join(leg.legs)
            assert len(leg.legs) == 2 and leg.legs[0].startswith(f"picked at {depot} by ")
    leg = net.earliest_arrival("SHA", "S1", "parcel", ready)
    assert "cut-off Wed 2025-03-12" in leg.explanation and "delivered Thu 2025-03-13 10:00" in \
        leg.explanation
    leg = net.earliest_arrival("HQ", "S1", "air", local(2025, 3, 11, 22, 0))
    assert "flight Wed 07:00" in leg.explanation and "to PVG" in leg.explanation


def test_two_time_zones(net: TravelNetwork) -> None:
    # 10:00 in Shanghai is 08:00 in Urumqi: the Urumqi depot (opens 09:00) waits an hour, then 1 h pick.
    leg = net.earliest_arrival("URC", "S3", "courier", local(2025, 3, 11, 10, 0))
    assert leg.departs_at == datetime(2025, 3, 11, 10, 0, tzinfo=ZoneInfo("Asia/Urumqi"))


def test_bad_input_is_a_clear_error(net: TravelNetwork) -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        net.earliest_arrival("HQ", "S1", "courier", datetime(2025, 3, 11, 10))
    with pytest.raises(KeyError, match="nope"):
        net.earliest_arrival("nope", "S1", "courier", local(2025, 3, 11, 10))


def test_graph_holds_nodes_and_air_edges(net: TravelNetwork) -> None:
    g = net.graph
    assert g.number_of_nodes() == 3 + 3 + 3
    assert g.edges[("hub", "PEK"), ("hub", "PVG")]["kind"] == "air"


def test_one_distance_drives_as_long_as_the_vectorised_rule() -> None:
    """``drive_seconds_one`` (the ETA hot path, plain floats) equals ``drive_seconds`` (numpy)
    to the second for any distance and speed."""
    import numpy as np
    from hypothesis import given, settings
    from hypothesis import strategies as st

    network = TravelNetwork(make_scenario())

    @settings(max_examples=300, deadline=None)
    @given(st.floats(0, 5000, allow_nan=False), st.floats(5, 900, allow_nan=False))
    def same(km: float, speed: float) -> None:
        assert network.drive_seconds_one(km, speed) == int(network.drive_seconds(np.array(km), speed))

    same()


def test_serving_depots_are_the_depots_that_serve_the_site(net: TravelNetwork) -> None:
    for site in net.sites:
        assert net.serving_depots(site.site_id) == tuple(d for d in net.depots if d.serves(site))
        assert net.serving_depots(site.site_id) is net.serving_depots(site.site_id)  # kept
