"""The import structure: the contracts in pyproject.toml ``[tool.importlinter]`` (run with
``lint-imports``), no module-level import cycle in ``api/``, and no API slice importing another
slice's private (``_name``) helpers."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    run = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_no_import_cycle_between_api_modules() -> None:
    """Module level, function-level imports included (grimp sees both)."""
    graph = grimp.build_graph("api", "inventory", "optimizer", "scenarios")
    g = nx.DiGraph()
    for m in graph.modules:
        if m.startswith("api."):
            g.add_edges_from((m, i) for i in graph.find_modules_directly_imported_by(m)
                             if i.startswith("api."))
    cycles = sorted(nx.simple_cycles(g), key=len)
    assert not cycles, [" -> ".join([*c, c[0]]) for c in cycles[:5]]


def _slice(module: str) -> str:
    """``api.dispatches.flows`` -> ``dispatches``; a top-level module is its own slice."""
    return module.split(".")[1] if module.count(".") >= 1 else module


ONE_WAY_SLICES = ("dispatches",)
"""Slices laid out models / service / flows / views / render: there no module imports another
module's private names either (the others: only across slices)."""


def test_no_slice_imports_another_slices_private_names() -> None:
    found = []
    for path in sorted((ROOT / "api").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        here = _slice(".".join(rel.parts))
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                    and node.module.startswith("api.")
                    and (_slice(node.module) != here or here in ONE_WAY_SLICES)):
                found += [f"{rel}: from {node.module} import {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert not found, found
