"""Write a Scenario as a scenario folder; :func:`read_scenario` reads it back equal."""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from inventory.domain import Scenario, Settings
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
    TRANSPORT_MODES,
    Table,
)


def write_scenario(scenario: Scenario, path: str | Path) -> Path:
    """Write ``scenario`` into the folder ``path`` (created if needed); return the folder.

    Every file of the format is written, optional ones with just their header when empty, so the
    folder documents the format. Existing files of the format are overwritten.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SCENARIO_TOML).write_text(header_toml(scenario), encoding="utf-8")
    s = scenario
    _write(folder, PARTS, _fields(s.parts))
    _write(folder, SUBSTITUTIONS, _fields(s.substitutions))
    _write(folder, DEPOTS, _fields(s.depots))
    _write(folder, SITES, _fields(s.sites))
    _write(folder, CONTRACTS, ({"contract_id": c.contract_id, "name": c.name, "tier": c.tier}
                               for c in s.contracts))
    _write(folder, CONTRACT_TERMS, ({"contract_id": c.contract_id, **_asdict(t)}
                                    for c in s.contracts for t in c.terms))
    _write(folder, INSTALLED_BASE, _fields(s.installed_base))
    _write(folder, TRANSPORT_MODES, _fields(s.transport_modes))
    _write(folder, HUBS, _fields(s.hubs))
    _write(folder, STOCK, _fields(s.stock))
    _write(folder, DEMAND_HISTORY, _fields(s.demand_history))
    _write(folder, CANDIDATES, _fields(s.candidates))
    return folder


def header_toml(scenario: Scenario) -> str:
    """The text of ``scenario.toml``: name, currency, horizon and the ``[defaults]`` settings."""
    lines = [f"name = {json.dumps(scenario.name, ensure_ascii=False)}",
             f"currency = {json.dumps(scenario.currency, ensure_ascii=False)}",
             f"horizon_days = {int(scenario.horizon_days)}", "", "[defaults]"]
    for f in dataclasses.fields(Settings):
        value = getattr(scenario.settings, f.name)
        if isinstance(value, tuple):
            text = "[" + ", ".join(repr(float(x)) for x in value) + "]"
        else:
            text = repr(float(value))
        lines.append(f"{f.name} = {text}")
    return "\n".join(lines) + "\n"


def _asdict(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.init}


def _fields(records: Iterable[Any]) -> Iterator[dict[str, Any]]:
    return (_asdict(r) for r in records)


def _write(folder: Path, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    with (folder / table.file).open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(table.names)
        for values in rows:
            out.writerow(["" if values[c.name] is None else c.fmt(values[c.name])
                          for c in table.columns])
