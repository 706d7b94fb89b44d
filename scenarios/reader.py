"""Read and validate a scenario folder (``scenario.toml`` plus CSV files) into a Scenario.

:func:`validate_folder` reports every problem it finds; :func:`read_scenario` returns the
:class:`~inventory.domain.Scenario` or raises :class:`ScenarioFormatError` listing them all.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from inventory.domain import Contract, DomainError, Scenario, Settings
from scenarios.crosscheck import cross_check, in_file_order
from scenarios.problems import Problem, ScenarioFormatError
from scenarios.schema import (
    CANDIDATES,
    CONTRACT_TERMS,
    CONTRACTS,
    DEMAND_HISTORY,
    DEPOTS,
    HUBS,
    INSTALLED_BASE,
    PARTS,
    SCENARIO_TOML,
    SITES,
    STOCK,
    SUBSTITUTIONS,
    TABLES,
    TRANSPORT_MODES,
)
from scenarios.tables import Row, read_table

_SETTINGS_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


@dataclasses.dataclass(frozen=True)
class Header:
    """The contents of ``scenario.toml``."""

    name: str
    currency: str
    horizon_days: int
    settings: Settings


def validate_folder(path: str | Path) -> list[Problem]:
    """Every problem of the scenario folder at ``path`` (empty list: it reads cleanly)."""
    return _read(Path(path))[1]


def read_scenario(path: str | Path) -> Scenario:
    """Read the scenario folder at ``path``; raise :class:`ScenarioFormatError` listing all problems."""
    scenario, problems = _read(Path(path))
    if problems or scenario is None:
        raise ScenarioFormatError(problems)
    return scenario


def _read(folder: Path) -> tuple[Scenario | None, list[Problem]]:
    if not folder.is_dir():
        return None, [Problem(str(folder), None, None, "not a scenario folder (no such directory)")]
    problems: list[Problem] = []
    header = read_header(folder, problems)
    read = {t.file: read_table(folder, t, problems) for t in TABLES}
    rows = {name: r or [] for name, r in read.items()}
    unusable = {name for name, r in read.items() if r is None}
    radius = header.settings.max_service_radius_km if header else None
    problems = in_file_order(problems + cross_check(rows, radius, unusable))
    if problems or header is None:
        return None, problems
    try:
        return _assemble(header, rows), []
    except DomainError as exc:
        return None, [locate(exc, rows)]


def _records(rows: list[Row]) -> tuple[Any, ...]:
    return tuple(r.record for r in rows)


def _assemble(header: Header, rows: dict[str, list[Row]]) -> Scenario:
    terms: dict[str, list] = {}
    for r in rows[CONTRACT_TERMS.file]:
        terms.setdefault(r.values["contract_id"], []).append(r.record)
    contracts = tuple(Contract(terms=tuple(terms.get(c["contract_id"], ())), **c)
                      for c in _records(rows[CONTRACTS.file]))
    return Scenario(
        name=header.name, currency=header.currency, horizon_days=header.horizon_days,
        settings=header.settings, parts=_records(rows[PARTS.file]),
        depots=_records(rows[DEPOTS.file]), sites=_records(rows[SITES.file]), contracts=contracts,
        installed_base=_records(rows[INSTALLED_BASE.file]),
        transport_modes=_records(rows[TRANSPORT_MODES.file]),
        substitutions=_records(rows[SUBSTITUTIONS.file]), hubs=_records(rows[HUBS.file]),
        stock=_records(rows[STOCK.file]), demand_history=_records(rows[DEMAND_HISTORY.file]),
        candidates=_records(rows[CANDIDATES.file]),
    )


# --- scenario.toml ------------------------------------------------------------------------------

def read_header(folder: Path, problems: list[Problem]) -> Header | None:
    """Parse ``scenario.toml``; append problems (column = key, ``defaults.<key>`` for settings)."""
    path = folder / SCENARIO_TOML
    if not path.exists():
        problems.append(Problem(SCENARIO_TOML, None, None, "missing file"))
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(Problem(SCENARIO_TOML, None, None, f"not valid TOML: {exc}"))
        return None
    n0 = len(problems)
    for key in data.keys() - {"name", "currency", "horizon_days", "defaults"}:
        problems.append(Problem(SCENARIO_TOML, None, key, "unknown key"))
    name = _toml_value(data, "name", str, problems)
    currency = _toml_value(data, "currency", str, problems)
    horizon = _toml_value(data, "horizon_days", int, problems)
    if isinstance(horizon, int) and horizon <= 0:
        problems.append(Problem(SCENARIO_TOML, None, "horizon_days", "must be > 0"))
    settings = _settings(data.get("defaults", {}), problems)
    if len(problems) > n0 or settings is None:
        return None
    return Header(name, currency, horizon, settings)


def _toml_value(data: dict, key: str, kind: type, problems: list[Problem]) -> Any:
    if key not in data:
        problems.append(Problem(SCENARIO_TOML, None, key, "missing key"))
        return None
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool) or (kind is str and not value.strip()):
        problems.append(Problem(SCENARIO_TOML, None, key, f"must be a non-empty {kind.__name__}, "
                                                          f"got {value!r}"))
        return None
    return value


def _settings(table: Any, problems: list[Problem]) -> Settings | None:
    if not isinstance(table, dict):
        problems.append(Problem(SCENARIO_TOML, None, "defaults", "must be a table [defaults]"))
        return None
    kwargs: dict[str, Any] = {}
    ok = True
    for key, value in table.items():
        col = f"defaults.{key}"
        if key not in _SETTINGS_FIELDS:
            problems.append(Problem(SCENARIO_TOML, None, col,
                                    f"unknown setting (expected: {', '.join(_SETTINGS_FIELDS)})"))
            ok = False
        elif key == "severity_mix":
            if not (isinstance(value, list) and len(value) == 4 and all(_is_number(x) for x in value)):
                problems.append(Problem(SCENARIO_TOML, None, col, f"must be 4 numbers, got {value!r}"))
                ok = False
            else:
                kwargs[key] = tuple(float(x) for x in value)
        elif not _is_number(value):
            problems.append(Problem(SCENARIO_TOML, None, col, f"must be a number, got {value!r}"))
            ok = False
        else:
            kwargs[key] = float(value)
    if not ok:
        return None
    try:
        return Settings(**kwargs)
    except DomainError as exc:
        problems.append(Problem(SCENARIO_TOML, None, f"defaults.{exc.field}", exc.message))
        return None


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


# --- mapping a scenario-level DomainError back to its row ---------------------------------------

_RECORD_FILES = {
    "part": (PARTS, lambda v: v["part_id"]),
    "substitution": (SUBSTITUTIONS, lambda v: v["part_id"]),
    "depot": (DEPOTS, lambda v: v["depot_id"]),
    "site": (SITES, lambda v: v["site_id"]),
    "contract": (CONTRACTS, lambda v: v["contract_id"]),
    "contract_term": (CONTRACT_TERMS, lambda v: f"{v['contract_id']}/sev{v['severity']}"),
    "installed_base": (INSTALLED_BASE, lambda v: f"{v['site_id']}/{v['part_id']}"),
    "transport_mode": (TRANSPORT_MODES, lambda v: v["mode_id"]),
    "hub": (HUBS, lambda v: v["hub_id"]),
    "stock": (STOCK, lambda v: f"{v['depot_id']}/{v['part_id']}"),
    "demand": (DEMAND_HISTORY, lambda v: f"{v['site_id']}/{v['part_id']}"),
    "candidate": (CANDIDATES, lambda v: v["candidate_id"]),
}


def locate(exc: DomainError, rows: dict[str, list[Row]]) -> Problem:
    """The file, row and column of the record a scenario-level :class:`DomainError` names.

    The error carries the record type, its id and the field; ids are matched against the parsed
    rows (first match). Errors about the scenario or its settings point at ``scenario.toml``, or at
    ``depots.csv`` for the number of HQs.
    """
    if exc.record == "settings" or (exc.record == "scenario" and exc.field != "depots"):
        column = f"defaults.{exc.field}" if exc.record == "settings" else exc.field
        return Problem(SCENARIO_TOML, None, column, exc.message)
    if exc.record == "scenario":
        return Problem(DEPOTS.file, None, "kind", exc.message)
    if exc.record in _RECORD_FILES:
        table, rid = _RECORD_FILES[exc.record]
        column = exc.field if exc.field in table.names else None
        for r in rows.get(table.file, []):
            try:
                if rid(r.values) == exc.record_id:
                    return Problem(table.file, r.row, column, exc.message)
            except KeyError:
                continue
        return Problem(table.file, None, column, f"{exc.record_id!r}: {exc.message}")
    return Problem("", None, exc.field, str(exc))
