"""write_scenario then read_scenario gives back an equal Scenario, floats bit for bit."""

from __future__ import annotations

import dataclasses
import filecmp
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scenarios
from inventory.domain import Settings
from scenarios import read_scenario, write_scenario
from scenarios.generator import generate


@pytest.mark.parametrize("name", ["tiny", "cn-telecom"])
def test_bundled_round_trip(name: str, tmp_path: Path) -> None:
    sc = scenarios.load(name)
    again = read_scenario(write_scenario(sc, tmp_path / name))
    assert again == sc
    # writing is canonical: the bundled CSVs are exactly what write_scenario produces
    if name == "cn-telecom":
        for f in scenarios.bundled_path(name).glob("*.csv"):
            assert filecmp.cmp(f, tmp_path / name / f.name, shallow=False), f.name


def test_generated_round_trip(tmp_path: Path) -> None:
    sc = generate(parts=60, depots=6, sites=80, seed=11)
    assert read_scenario(write_scenario(sc, tmp_path)) == sc


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cost=st.floats(min_value=1e-9, max_value=1e12), rate=st.floats(min_value=0, max_value=5),
       lat=st.floats(min_value=-90, max_value=90), radius=st.floats(min_value=2e4, max_value=1e6),
       name=st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), max_size=12))
def test_arbitrary_floats_and_names_survive(tmp_path_factory: pytest.TempPathFactory, cost: float,
                                            rate: float, lat: float, radius: float, name: str) -> None:
    base = scenarios.load("tiny")
    part = dataclasses.replace(base.parts[0], unit_cost=cost, annual_failure_rate=rate, name=name)
    depot = dataclasses.replace(base.depots[0], lat=lat, name=name)
    sc = dataclasses.replace(base, parts=(part, *base.parts[1:]), depots=(depot, *base.depots[1:]),
                             settings=Settings(max_service_radius_km=radius))
    out = read_scenario(write_scenario(sc, tmp_path_factory.mktemp("rt")))
    assert out == sc
    assert out.parts[0].unit_cost.hex() == cost.hex()


def test_load_takes_name_or_path_and_rejects_others(tmp_path: Path) -> None:
    assert scenarios.bundled_names() == ["cn-telecom", "tiny"]
    assert scenarios.load(scenarios.bundled_path("tiny")) == scenarios.load("tiny")
    with pytest.raises(scenarios.ScenarioFormatError, match="neither a bundled scenario"):
        scenarios.load("no-such-scenario")
    with pytest.raises(KeyError, match="bundled: cn-telecom, tiny"):
        scenarios.bundled_path("nope")
