"""Validation of malformed scenario folders: every problem, at its exact file, row and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.domain import DomainError
from scenarios import Problem, ScenarioFormatError, read_scenario, validate_folder
from scenarios.reader import locate
from scenarios.schema import TABLES
from scenarios.tables import read_table
from tests.scenarios.conftest import append_copy, drop_column, load_rows, save_rows, set_cell

FIXTURES = Path(__file__).parent / "fixtures"


def where(problems: list[Problem]) -> list[tuple[str, int | None, str | None]]:
    return [(p.file, p.row, p.column) for p in problems]


def test_clean_tiny_has_no_problems(tiny_dir: Path) -> None:
    assert validate_folder(tiny_dir) == []


def test_missing_column(tiny_dir: Path) -> None:
    drop_column(tiny_dir, "parts.csv", "unit_cost")
    assert validate_folder(tiny_dir) == [Problem("parts.csv", 1, "unit_cost", "missing column")]


def test_optional_column_may_be_left_out(tiny_dir: Path) -> None:
    drop_column(tiny_dir, "parts.csv", "lifecycle")
    drop_column(tiny_dir, "depots.csv", "handling_hours")
    sc = read_scenario(tiny_dir)
    assert {p.lifecycle.value for p in sc.parts} == {"active"}
    assert {d.handling_hours for d in sc.depots} == {0.5}


def test_bad_number(tiny_dir: Path) -> None:
    set_cell(tiny_dir, "parts.csv", 3, "unit_cost", "12,5")
    assert where(validate_folder(tiny_dir)) == [("parts.csv", 3, "unit_cost")]
    assert "'12,5' is not a number" in validate_folder(tiny_dir)[0].message


def test_unknown_depot(tiny_dir: Path) -> None:
    set_cell(tiny_dir, "sites.csv", 4, "primary_depot_id", "NOPE")
    set_cell(tiny_dir, "stock.csv", 6, "depot_id", "XX")
    assert validate_folder(tiny_dir) == [
        Problem("sites.csv", 4, "primary_depot_id", "unknown depot 'NOPE'"),
        Problem("stock.csv", 6, "depot_id", "unknown depot 'XX'"),
    ]


def test_parent_cycle(tiny_dir: Path) -> None:
    set_cell(tiny_dir, "depots.csv", 3, "parent_id", "SH")  # GZ -> SH
    set_cell(tiny_dir, "depots.csv", 4, "parent_id", "GZ")  # SH -> GZ
    assert validate_folder(tiny_dir) == [
        Problem("depots.csv", 3, "parent_id", "cycle in parents: GZ -> SH -> GZ"),
        Problem("depots.csv", 4, "parent_id", "cycle in parents: SH -> GZ -> SH"),
    ]


def test_duplicate_id(tiny_dir: Path) -> None:
    row = append_copy(tiny_dir, "parts.csv", 2)
    assert validate_folder(tiny_dir) == [
        Problem("parts.csv", row, "part_id", "duplicate part_id 'PSU-1200' (first on row 2)")]


def test_duplicate_composite_key(tiny_dir: Path) -> None:
    row = append_copy(tiny_dir, "contract_terms.csv", 3)
    assert where(validate_folder(tiny_dir)) == [("contract_terms.csv", row, "severity")]


def test_bad_enum(tiny_dir: Path) -> None:
    set_cell(tiny_dir, "parts.csv", 4, "size_class", "huge")
    [p] = validate_folder(tiny_dir)
    assert (p.file, p.row, p.column) == ("parts.csv", 4, "size_class")
    assert "small, medium, large" in p.message


def test_bad_time_zone(tiny_dir: Path) -> None:
    set_cell(tiny_dir, "depots.csv", 5, "timezone", "Asia/Atlantis")
    assert validate_folder(tiny_dir) == [
        Problem("depots.csv", 5, "timezone", "unknown IANA time zone 'Asia/Atlantis'")]


@pytest.mark.parametrize(("file", "row", "column", "value"), [
    ("parts.csv", 2, "repairable", "maybe"),
    ("contract_terms.csv", 12, "cutoff", "25:00"),
    ("transport_modes.csv", 3, "hours", "mon-fri 8-18"),
    ("transport_modes.csv", 2, "size_classes", "small||large"),
    ("installed_base.csv", 5, "quantity", "2.5"),
    ("parts.csv", 2, "repair_yield", "1.5"),  # DomainError from Part, mapped to its column
    ("parts.csv", 2, "unit_cost", "nan"),
    ("contract_terms.csv", 15, "coverage", "24x7"),  # business-day window needs business hours
    ("depots.csv", 3, "parent_id", ""),  # a regional depot needs a parent
    ("demand_history.csv", 2, "month", "2025-13"),
    ("sites.csv", 2, "contract_id", "DIAMOND"),
    ("sites.csv", 2, "lat", "45.9"),  # ~2,500 km from Guangzhou: beyond the service radius
])
def test_each_bad_cell_is_located(tiny_dir: Path, file: str, row: int, column: str, value: str) -> None:
    set_cell(tiny_dir, file, row, column, value)
    column_hit = "primary_depot_id" if column == "lat" else column
    assert where(validate_folder(tiny_dir)) == [(file, row, column_hit)]


def test_second_hq(tiny_dir: Path) -> None:
    set_cell(tiny_dir, "depots.csv", 5, "kind", "hq")
    set_cell(tiny_dir, "depots.csv", 5, "parent_id", "")
    assert where(validate_folder(tiny_dir)) == [("depots.csv", 5, "kind")]


def test_contract_without_terms(tiny_dir: Path) -> None:
    rows = load_rows(tiny_dir / "contract_terms.csv")
    save_rows(tiny_dir / "contract_terms.csv", [r for r in rows if r[0] != "SILV"])
    assert where(validate_folder(tiny_dir)) == [("contracts.csv", 4, "contract_id")]


def test_missing_file_does_not_cascade(tiny_dir: Path) -> None:
    (tiny_dir / "sites.csv").unlink()
    (tiny_dir / "hubs.csv").unlink()  # optional: fine to leave out
    assert validate_folder(tiny_dir) == [Problem("sites.csv", None, None, "missing file")]


def test_unknown_and_duplicate_columns(tiny_dir: Path) -> None:
    rows = load_rows(tiny_dir / "hubs.csv")
    rows[0][-1] = "first_flight"
    rows[0][1] = "nmae"
    save_rows(tiny_dir / "hubs.csv", rows)
    assert where(validate_folder(tiny_dir)) == [("hubs.csv", 1, "nmae"), ("hubs.csv", 1, "first_flight")]


def test_rows_count_blank_lines_as_a_spreadsheet_does(tiny_dir: Path) -> None:
    rows = load_rows(tiny_dir / "parts.csv")
    rows.insert(2, [])  # a blank line becomes row 3
    rows[4][rows[0].index("unit_cost")] = "x"  # LC-10G now on row 5
    save_rows(tiny_dir / "parts.csv", rows)
    assert where(validate_folder(tiny_dir)) == [("parts.csv", 5, "unit_cost")]


def test_bad_settings(tiny_dir: Path) -> None:
    toml = (tiny_dir / "scenario.toml").read_text()
    toml = toml.replace("severity_mix = [0.1, 0.25, 0.4, 0.25]", "severity_mix = [0.5, 0.25, 0.4, 0.25]")
    toml = toml.replace("horizon_days = 365", "horizon_days = \"soon\"\ncolour = 1")
    (tiny_dir / "scenario.toml").write_text(toml)
    assert sorted(where(validate_folder(tiny_dir)), key=str) == sorted([
        ("scenario.toml", None, "colour"), ("scenario.toml", None, "horizon_days"),
        ("scenario.toml", None, "defaults.severity_mix")], key=str)


def test_every_problem_at_once() -> None:
    """A checked-in folder with one of each kind of problem: all are reported in one pass."""
    folder = FIXTURES / "many_problems"
    expected = [
        ("parts.csv", 1, "size_class"),  # missing column
        ("parts.csv", 3, "unit_cost"),  # bad number
        ("parts.csv", 4, "part_id"),  # duplicate id
        ("depots.csv", 3, "timezone"),  # bad time zone
        ("depots.csv", 4, "parent_id"),  # cycle
        ("depots.csv", 5, "parent_id"),  # cycle
        ("sites.csv", 3, "primary_depot_id"),  # unknown depot
        ("contract_terms.csv", 3, "window_kind"),  # bad enum
    ]
    problems = validate_folder(folder)
    assert sorted(where(problems)) == sorted(expected)
    with pytest.raises(ScenarioFormatError) as info:
        read_scenario(folder)
    assert info.value.problems == problems
    text = str(info.value)
    assert text.startswith(f"{len(expected)} problems in scenario:")
    assert all(str(p) in text for p in problems)
    assert "depots.csv:3:timezone: unknown IANA time zone 'Mars/Olympus'" in text


def test_not_a_folder(tmp_path: Path) -> None:
    assert where(validate_folder(tmp_path / "nope")) == [(str(tmp_path / "nope"), None, None)]


def test_scenario_level_domain_error_maps_to_its_row(tiny_dir: Path) -> None:
    problems: list[Problem] = []
    rows = {t.file: read_table(tiny_dir, t, problems) or [] for t in TABLES}
    assert problems == []
    err = DomainError("site", "GZ-03", "primary_depot_id", "too far")
    assert locate(err, rows) == Problem("sites.csv", 4, "primary_depot_id", "too far")
    err = DomainError("contract_term", "SILV/sev3", "coverage", "bad")
    assert locate(err, rows) == Problem("contract_terms.csv", 12, "coverage", "bad")
    err = DomainError("stock", "SH/LC-10G", "on_hand", "bad")
    assert locate(err, rows) == Problem("stock.csv", 11, "on_hand", "bad")
    err = DomainError("scenario", "tiny", "depots", "needs exactly one HQ")
    assert locate(err, rows) == Problem("depots.csv", None, "kind", "needs exactly one HQ")
    err = DomainError("settings", "defaults", "circuity_factor", "must be >= 1")
    assert locate(err, rows) == Problem("scenario.toml", None, "defaults.circuity_factor", "must be >= 1")


def test_bom_and_padding_are_tolerated(tiny_dir: Path) -> None:
    text = (tiny_dir / "hubs.csv").read_text(encoding="utf-8").replace(",07:00,", ", 07:00 ,")
    (tiny_dir / "hubs.csv").write_text("\ufeff" + text, encoding="utf-8")
    assert validate_folder(tiny_dir) == []



def test_substitutes_follow_supersession_chains_nearest_first() -> None:
    from dataclasses import replace

    import scenarios
    from inventory.domain import Substitution, SubstitutionKind

    sc = scenarios.load("tiny")
    a, b, c, d = (p.part_id for p in sc.parts[:4])
    chain = replace(sc, substitutions=(
        Substitution(a, b, SubstitutionKind.ONE_WAY), Substitution(b, c, SubstitutionKind.ONE_WAY),
        Substitution(d, c, SubstitutionKind.TWO_WAY)))
    assert chain.substitutes_for(a) == (b, c, d)  # B, then C through B, then D through C
    assert chain.substitutes_for(b) == (c, d)
    assert chain.substitutes_for(c) == (d,)  # one-way links do not run backwards
    assert chain.substitutes_for(d) == (c,)
