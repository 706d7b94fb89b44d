"""Checks across rows and files: duplicate keys, unknown references, the depot tree, reachability.

They mirror the checks :class:`~inventory.domain.Scenario` makes at construction, but report every
offending row with its file, row and column instead of stopping at the first.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from inventory.domain import DepotKind, great_circle_km
from scenarios.problems import Problem
from scenarios.schema import (
    CANDIDATES,
    CONTRACT_TERMS,
    CONTRACTS,
    DEMAND_HISTORY,
    DEPOTS,
    INSTALLED_BASE,
    PARTS,
    SITES,
    STOCK,
    SUBSTITUTIONS,
    TABLES,
    Table,
)
from scenarios.tables import Row

Rows = Mapping[str, list[Row]]

# (file, column) -> (file of the referenced ids, what they are)
_REFERENCES: tuple[tuple[Table, str, Table, str], ...] = (
    (SUBSTITUTIONS, "part_id", PARTS, "part"),
    (SUBSTITUTIONS, "substitute_id", PARTS, "part"),
    (DEPOTS, "parent_id", DEPOTS, "parent depot"),
    (SITES, "contract_id", CONTRACTS, "contract"),
    (SITES, "primary_depot_id", DEPOTS, "depot"),
    (CONTRACT_TERMS, "contract_id", CONTRACTS, "contract"),
    (INSTALLED_BASE, "site_id", SITES, "site"),
    (INSTALLED_BASE, "part_id", PARTS, "part"),
    (STOCK, "depot_id", DEPOTS, "depot"),
    (STOCK, "part_id", PARTS, "part"),
    (DEMAND_HISTORY, "site_id", SITES, "site"),
    (DEMAND_HISTORY, "part_id", PARTS, "part"),
    (CANDIDATES, "parent_id", DEPOTS, "parent depot"),
)


def cross_check(rows: Rows, max_service_radius_km: float | None,
                unusable: Collection[str] = ()) -> list[Problem]:
    """Every cross-row problem of a parsed folder, in file order.

    References into an ``unusable`` file (missing, or without its id column) are not checked:
    that file's own problem already says what is wrong.
    """
    problems: list[Problem] = []
    for table in TABLES:
        problems += _duplicates(table, rows[table.file])
    ids = {t.file: _ids(rows[t.file], t.key[0]) for t in (PARTS, DEPOTS, SITES, CONTRACTS)}
    for table, column, target, what in _REFERENCES:
        if target.file in unusable:
            continue
        known = ids[target.file]
        for r in rows[table.file]:
            ref = r.values.get(column)
            if ref is not None and ref not in known:
                problems.append(Problem(table.file, r.row, column, f"unknown {what} {ref!r}"))
    problems += _depot_tree(rows[DEPOTS.file])
    if CONTRACT_TERMS.file not in unusable:
        problems += _contracts_without_terms(rows[CONTRACTS.file], rows[CONTRACT_TERMS.file])
    if max_service_radius_km is not None:
        problems += _service_radius(rows[SITES.file], rows[DEPOTS.file], max_service_radius_km)
    if DEPOTS.file not in unusable:
        problems += _candidate_ids(rows[CANDIDATES.file], ids[DEPOTS.file])
    if SITES.file not in unusable:
        problems += _served_sites(rows, DEPOTS) + _served_sites(rows, CANDIDATES)
    return problems


def in_file_order(problems: list[Problem]) -> list[Problem]:
    """Problems sorted by file (scenario.toml, then the CSVs in format order) and row, stably."""
    order = {t.file: i for i, t in enumerate(TABLES)}
    return sorted(problems, key=lambda p: (order.get(p.file, -1), p.row or 0))


def _ids(rows: list[Row], column: str) -> set[str]:
    return {r.values[column] for r in rows if r.values.get(column) is not None}


def _duplicates(table: Table, rows: list[Row]) -> list[Problem]:
    first: dict[tuple, int] = {}
    out: list[Problem] = []
    for r in rows:
        key = tuple(r.values.get(c) for c in table.key)
        if any(k is None for k in key):
            continue
        if key in first:
            shown = key[0] if len(key) == 1 else key
            what = table.key[0] if len(key) == 1 else f"({', '.join(table.key)})"
            out.append(Problem(table.file, r.row, table.key[-1],
                               f"duplicate {what} {shown!r} (first on row {first[key]})"))
        else:
            first[key] = r.row
    return out


def _depot_tree(rows: list[Row]) -> list[Problem]:
    """Exactly one HQ, and no depot whose chain of parents comes back to itself."""
    out: list[Problem] = []
    hqs = [r for r in rows if r.values.get("kind") is DepotKind.HQ]
    if rows and not hqs and all("kind" in r.values for r in rows):
        out.append(Problem(DEPOTS.file, None, "kind", "needs exactly one depot of kind 'hq', found none"))
    for r in hqs[1:]:
        out.append(Problem(DEPOTS.file, r.row, "kind",
                           f"needs exactly one depot of kind 'hq'; the first is on row {hqs[0].row}"))
    parent: dict[str, str | None] = {}
    row_of: dict[str, int] = {}
    for r in rows:
        did = r.values.get("depot_id")
        if did is not None and did not in parent:
            parent[did] = r.values.get("parent_id")
            row_of[did] = r.row
    for did in parent:
        chain = [did]
        cur = parent[did]
        while cur is not None and cur in parent and cur not in chain:
            chain.append(cur)
            cur = parent[cur]
        if cur == did and len(chain) > 1:
            cycle = " -> ".join([*chain, did])
            out.append(Problem(DEPOTS.file, row_of[did], "parent_id", f"cycle in parents: {cycle}"))
    return out


def _contracts_without_terms(contracts: list[Row], terms: list[Row]) -> list[Problem]:
    with_terms = _ids(terms, "contract_id")
    return [Problem(CONTRACTS.file, r.row, "contract_id",
                    f"contract {r.values['contract_id']!r} has no rows in {CONTRACT_TERMS.file}")
            for r in contracts
            if r.values.get("contract_id") is not None and r.values["contract_id"] not in with_terms]


def _service_radius(sites: list[Row], depots: list[Row], radius_km: float) -> list[Problem]:
    where = {r.values["depot_id"]: (r.values["lat"], r.values["lon"]) for r in depots
             if all(r.values.get(k) is not None for k in ("depot_id", "lat", "lon"))}
    out: list[Problem] = []
    for r in sites:
        v = r.values
        if v.get("primary_depot_id") not in where or v.get("lat") is None or v.get("lon") is None:
            continue
        dlat, dlon = where[v["primary_depot_id"]]
        km = great_circle_km(v["lat"], v["lon"], dlat, dlon)
        if km > radius_km:
            out.append(Problem(SITES.file, r.row, "primary_depot_id",
                               f"primary depot {v['primary_depot_id']!r} is {km:.0f} km away, beyond "
                               f"max_service_radius_km {radius_km:.0f}"))
    return out



def _candidate_ids(candidates: list[Row], depot_ids: set[str]) -> list[Problem]:
    """A candidate opened becomes a depot with its id, so the id must not be a depot's already."""
    return [Problem(CANDIDATES.file, r.row, "candidate_id",
                    f"{r.values['candidate_id']!r} is already the id of a depot in {DEPOTS.file}")
            for r in candidates if r.values.get("candidate_id") in depot_ids]


def _served_sites(rows: Rows, table: Table) -> list[Problem]:
    """``customer`` names a customer of some site; ``site_ids`` are known sites of that customer."""
    site_customer = {r.values["site_id"]: r.values.get("customer") for r in rows[SITES.file]
                     if r.values.get("site_id") is not None}
    customers = set(site_customer.values())
    out: list[Problem] = []
    for r in rows[table.file]:
        customer = r.values.get("customer")
        if customer is not None and customer not in customers:
            out.append(Problem(table.file, r.row, "customer",
                               f"no site belongs to customer {customer!r}"))
        for sid in r.values.get("site_ids") or ():
            if sid not in site_customer:
                out.append(Problem(table.file, r.row, "site_ids", f"unknown site {sid!r}"))
            elif customer is not None and site_customer[sid] != customer:
                out.append(Problem(table.file, r.row, "site_ids",
                                   f"site {sid!r} belongs to customer {site_customer[sid]!r}, "
                                   f"not {customer!r}"))
    return out
