"""Scenarios: the folder format (``scenario.toml`` + CSV files), bundled scenarios and generators.

>>> import scenarios
>>> sc = scenarios.load("tiny")          # a bundled scenario by name, or a folder path
>>> scenarios.bundled_names()
['cn-telecom', 'tiny']

See ``docs/scenario-format.md`` for every file and column.
"""

from __future__ import annotations

from pathlib import Path

from inventory.domain import Scenario
from scenarios.problems import Problem, ScenarioFormatError
from scenarios.reader import read_scenario, validate_folder
from scenarios.writer import write_scenario

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
"""Folder of the scenarios shipped with the package, one sub-folder per name."""


def bundled_names() -> list[str]:
    """Names of the bundled scenarios, sorted."""
    if not BUNDLED_DIR.is_dir():
        return []
    return sorted(p.name for p in BUNDLED_DIR.iterdir() if (p / "scenario.toml").is_file())


def bundled_path(name: str) -> Path:
    """Folder of the bundled scenario ``name``; KeyError naming the known ones if there is none."""
    path = BUNDLED_DIR / name
    if "/" in name or "\\" in name or not (path / "scenario.toml").is_file():
        raise KeyError(f"no bundled scenario {name!r}; bundled: {', '.join(bundled_names())}")
    return path


def load(name_or_path: str | Path) -> Scenario:
    """Read a bundled scenario by name (``tiny``, ``cn-telecom``) or a scenario folder by path.

    Nothing is cached: every call reads the files again, so edits are always seen.
    """
    if isinstance(name_or_path, str) and name_or_path in bundled_names():
        return read_scenario(bundled_path(name_or_path))
    path = Path(name_or_path)
    if path.is_dir():
        return read_scenario(path)
    raise ScenarioFormatError([Problem(str(name_or_path), None, None,
                                       "neither a bundled scenario name "
                                       f"({', '.join(bundled_names())}) nor a scenario folder")])


__all__ = ["BUNDLED_DIR", "Problem", "ScenarioFormatError", "bundled_names", "bundled_path", "load",
           "read_scenario", "validate_folder", "write_scenario"]
