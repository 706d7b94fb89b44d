"""What-if overlays: a small TOML document of changes applied to a scenario (docs/what-if.md).

:func:`parse_overlay` reads the text into an :class:`Overlay` (plain data, checked field by field);
:func:`apply_overlay` is a pure function ``(Scenario, Overlay) -> Scenario`` that returns a new,
fully re-validated scenario and never touches the base. Every refusal is an
:class:`OverlayError` naming the overlay field (``demand[0].factor``, ``depots.add[1].lat``).

Sections, applied in this order:

* ``[[demand]]`` multiplies failure rates by ``factor``, on the installed base that all of its
  selectors match: ``families`` (a part's family is its id before the first ``-``), ``parts``
  (ids or glob patterns), ``regions`` (sites whose primary depot is one of these depots, in the
  base network), ``customers``, ``sites`` (ids or globs). Without a site selector the parts'
  ``annual_failure_rate`` is scaled; with one, the matched installed-base rows'
  ``demand_factor``. Entries compound.
* ``[depots]``: ``remove`` (ids: children and candidates are refilled from the parent with the
  lead times added, sites move to the nearest depot that serves them, its stock is dropped) and
  ``[[depots.add]]`` (the fields of ``depots.csv``, plus ``serves``: sites that take it as
  their primary depot).
* ``[candidates]``: ``remove`` and ``[[candidates.add]]`` (the fields of ``candidates.csv``).
* ``[[locations]]``: ``id`` of a depot or candidate and new ``annual_fixed_cost``,
  ``opening_cost`` (candidates), ``closable`` (depots), ``capacity_units``, ``capacity_value``.
* ``[[terms]]``: ``contract`` (an id) or ``tier`` (every contract of it), optional ``severity``
  (default: every severity), and new ``target``, ``window_kind``, ``window_value``,
  ``milestone``, ``clock_start``, ``coverage``, ``cutoff``.
"""

from __future__ import annotations

import fnmatch
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from inventory.domain import (
    Candidate,
    ClockStart,
    Contract,
    Depot,
    DepotKind,
    DomainError,
    Milestone,
    Scenario,
    WeeklyHours,
    WindowKind,
    parse_clock,
)


class OverlayError(ValueError):
    """An overlay field is wrong; ``field`` is its path (``depots.add[0].lat``)."""

    def __init__(self, field_path: str, message: str) -> None:
        self.field = field_path
        self.message = message
        super().__init__(f"overlay field {field_path!r}: {message}")


SELECTORS = ("families", "parts", "regions", "customers", "sites")
SITE_SELECTORS = ("regions", "customers", "sites")


@dataclass(frozen=True)
class DemandScale:
    """Multiply the failure rate of the installed base every given selector matches."""

    factor: float
    families: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    customers: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()


@dataclass(frozen=True)
class Overlay:
    """A parsed overlay: see the module docstring. ``text`` keeps the source (stored, shown)."""

    name: str = ""
    description: str = ""
    demand: tuple[DemandScale, ...] = ()
    remove_depots: tuple[str, ...] = ()
    add_depots: tuple[Mapping[str, Any], ...] = ()
    remove_candidates: tuple[str, ...] = ()
    add_candidates: tuple[Mapping[str, Any], ...] = ()
    locations: tuple[Mapping[str, Any], ...] = ()
    terms: tuple[Mapping[str, Any], ...] = ()
    text: str = field(default="", compare=False)

    @property
    def empty(self) -> bool:
        return not (self.demand or self.remove_depots or self.add_depots or self.remove_candidates
                    or self.add_candidates or self.locations or self.terms)


# --- parsing -------------------------------------------------------------------------------------

TOP_KEYS = {"name", "description", "demand", "depots", "candidates", "locations", "terms"}
DEPOT_FIELDS = {"depot_id": str, "name": str, "kind": str, "lat": float, "lon": float,
                "timezone": str, "country": str, "hours": str, "parent_id": str,
                "replenishment_lead_time_days": float, "handling_hours": float,
                "annual_fixed_cost": float, "closable": bool, "capacity_units": int,
                "capacity_value": float, "customer": str, "site_ids": list, "serves": list}
DEPOT_REQUIRED = ("depot_id", "name", "kind", "lat", "lon", "timezone", "country", "parent_id",
                  "replenishment_lead_time_days")
CANDIDATE_FIELDS = {"candidate_id": str, "name": str, "kind": str, "lat": float, "lon": float,
                    "timezone": str, "country": str, "hours": str, "parent_id": str,
                    "replenishment_lead_time_days": float, "handling_hours": float,
                    "annual_fixed_cost": float, "opening_cost": float, "capacity_units": int,
                    "capacity_value": float, "customer": str, "site_ids": list}
CANDIDATE_REQUIRED = ("candidate_id", "name", "kind", "lat", "lon", "timezone", "country",
                      "parent_id", "replenishment_lead_time_days", "annual_fixed_cost")
LOCATION_FIELDS = {"id": str, "annual_fixed_cost": float, "opening_cost": float,
                   "closable": bool, "capacity_units": int, "capacity_value": float}
TERM_FIELDS = {"contract": str, "tier": str, "severity": int, "target": float,
               "window_kind": str, "window_value": float, "milestone": str, "clock_start": str,
               "coverage": str, "cutoff": str}
TERM_CHANGES = ("target", "window_kind", "window_value", "milestone", "clock_start", "coverage",
                "cutoff")


def _typed(path: str, value: Any, kind: type) -> Any:
    """``value`` checked against ``kind`` (ints are accepted as floats; bools are not numbers)."""
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise OverlayError(path, f"must be a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise OverlayError(path, "must be a finite number")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise OverlayError(path, f"must be a whole number, got {value!r}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise OverlayError(path, f"must be true or false, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise OverlayError(path, f"must be text, got {value!r}")
        return value
    if kind is list:
        return _strings(path, value)
    raise TypeError(kind)  # pragma: no cover - the field tables use the kinds above


def _strings(path: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise OverlayError(path, "must be a list of non-empty texts")
    return tuple(v.strip() for v in value)


def _table(path: str, raw: Any, fields: Mapping[str, type], required: Sequence[str] = ()
           ) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise OverlayError(path, "must be a table")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in fields:
            raise OverlayError(f"{path}.{key}", f"unknown field; allowed: {', '.join(fields)}")
        out[key] = _typed(f"{path}.{key}", value, fields[key])
    for key in required:
        if key not in out:
            raise OverlayError(f"{path}.{key}", "is required")
    return out


def _array(path: str, raw: Any) -> list[Any]:
    if not isinstance(raw, list):
        raise OverlayError(path, "must be an array of tables ([[...]])")
    return raw


def parse_overlay(text: str) -> Overlay:
    """Parse overlay TOML; :class:`OverlayError` naming the field (or the TOML line) if wrong."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OverlayError("(toml)", f"not valid TOML: {exc}") from None
    for key in raw:
        if key not in TOP_KEYS:
            raise OverlayError(key, f"unknown section; allowed: {', '.join(sorted(TOP_KEYS))}")
    name = _typed("name", raw.get("name", ""), str).strip()
    description = _typed("description", raw.get("description", ""), str)
    demand = []
    for i, entry in enumerate(_array("demand", raw.get("demand", []))):
        path = f"demand[{i}]"
        t = _table(path, entry, {"factor": float, **{s: list for s in SELECTORS}}, ("factor",))
        if not t["factor"] > 0:
            raise OverlayError(f"{path}.factor", f"must be > 0, got {t['factor']}")
        demand.append(DemandScale(**t))
    depots = raw.get("depots", {})
    if not isinstance(depots, dict):
        raise OverlayError("depots", "must be a table with 'remove' and/or [[depots.add]]")
    for key in depots:
        if key not in ("remove", "add"):
            raise OverlayError(f"depots.{key}", "unknown field; allowed: remove, add")
    candidates = raw.get("candidates", {})
    if not isinstance(candidates, dict):
        raise OverlayError("candidates", "must be a table with 'remove' and/or [[candidates.add]]")
    for key in candidates:
        if key not in ("remove", "add"):
            raise OverlayError(f"candidates.{key}", "unknown field; allowed: remove, add")
    add_depots = tuple(_table(f"depots.add[{i}]", d, DEPOT_FIELDS, DEPOT_REQUIRED)
                       for i, d in enumerate(_array("depots.add", depots.get("add", []))))
    add_cands = tuple(_table(f"candidates.add[{i}]", c, CANDIDATE_FIELDS, CANDIDATE_REQUIRED)
                      for i, c in enumerate(_array("candidates.add", candidates.get("add", []))))
    locations = tuple(_table(f"locations[{i}]", loc, LOCATION_FIELDS, ("id",))
                      for i, loc in enumerate(_array("locations", raw.get("locations", []))))
    terms = []
    for i, entry in enumerate(_array("terms", raw.get("terms", []))):
        path = f"terms[{i}]"
        t = _table(path, entry, TERM_FIELDS)
        if ("contract" in t) == ("tier" in t):
            raise OverlayError(f"{path}.contract", "give either 'contract' (an id) or 'tier'")
        if not any(k in t for k in TERM_CHANGES):
            raise OverlayError(path, f"changes nothing; set one of {', '.join(TERM_CHANGES)}")
        terms.append(t)
    return Overlay(name=name, description=description, demand=tuple(demand),
                   remove_depots=_strings("depots.remove", depots.get("remove", [])),
                   add_depots=add_depots,
                   remove_candidates=_strings("candidates.remove", candidates.get("remove", [])),
                   add_candidates=add_cands, locations=locations, terms=tuple(terms), text=text)


# --- application ---------------------------------------------------------------------------------

def part_family(part_id: str) -> str:
    """A part's family: its id before the first ``-`` (``OTU-00001`` -> ``OTU``)."""
    return part_id.split("-", 1)[0]


def _matches(value: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def _check_known(path: str, values: Sequence[str], known: set[str], what: str,
                 globs: bool = False) -> None:
    for k, v in enumerate(values):
        if globs and any(ch in v for ch in "*?["):
            if not any(fnmatch.fnmatchcase(x, v) for x in known):
                raise OverlayError(f"{path}[{k}]", f"pattern {v!r} matches no {what}")
        elif v not in known:
            raise OverlayError(f"{path}[{k}]", f"unknown {what} {v!r}")


def _scale_demand(sc: Scenario, demand: Sequence[DemandScale]) -> Scenario:
    parts = {p.part_id: p for p in sc.parts}
    base = list(sc.installed_base)
    part_ids, site_ids = set(parts), {s.site_id for s in sc.sites}
    families = {part_family(p) for p in part_ids}
    for i, d in enumerate(demand):
        path = f"demand[{i}]"
        _check_known(f"{path}.families", d.families, families, "part family")
        _check_known(f"{path}.parts", d.parts, part_ids, "part", globs=True)
        _check_known(f"{path}.regions", d.regions, {x.depot_id for x in sc.depots}, "depot")
        _check_known(f"{path}.customers", d.customers, set(sc.customers), "customer")
        _check_known(f"{path}.sites", d.sites, site_ids, "site", globs=True)

        def part_ok(pid: str, d: DemandScale = d) -> bool:
            return ((not d.families or part_family(pid) in d.families)
                    and (not d.parts or _matches(pid, d.parts)))

        if not any(getattr(d, s) for s in SITE_SELECTORS):
            for pid, p in parts.items():
                if part_ok(pid):
                    parts[pid] = replace(p, annual_failure_rate=p.annual_failure_rate * d.factor)
            continue
        for k, ib in enumerate(base):
            site = sc.site(ib.site_id)
            if (part_ok(ib.part_id)
                    and (not d.regions or site.primary_depot_id in d.regions)
                    and (not d.customers or site.customer in d.customers)
                    and (not d.sites or _matches(site.site_id, d.sites))):
                base[k] = replace(ib, demand_factor=ib.demand_factor * d.factor)
    return replace(sc, parts=tuple(parts.values()), installed_base=tuple(base))


def _remove_depots(sc: Scenario, ids: Sequence[str]) -> Scenario:
    known = {d.depot_id for d in sc.depots}
    for k, did in enumerate(ids):
        if did not in known:
            raise OverlayError(f"depots.remove[{k}]", f"unknown depot {did!r}")
        if sc.depot(did).kind is DepotKind.HQ:
            raise OverlayError(f"depots.remove[{k}]", "the HQ cannot be removed")
    if not ids:
        return sc
    gone = set(ids)
    marked = replace(sc, depots=tuple(replace(d, closable=True) if d.depot_id in gone else d
                                      for d in sc.depots))
    out = marked.with_design(closed_ids=ids)
    return out


def _build(path: str, make: Any) -> Any:
    try:
        return make()
    except OverlayError:
        raise
    except DomainError as exc:
        raise OverlayError(f"{path}.{exc.field}", exc.message) from None
    except ValueError as exc:
        raise OverlayError(path, str(exc)) from None


def _location_kwargs(path: str, t: Mapping[str, Any]) -> dict[str, Any]:
    kw = {k: v for k, v in t.items() if k != "serves"}
    try:
        kw["kind"] = DepotKind(kw["kind"])
    except ValueError:
        raise OverlayError(f"{path}.kind", f"{kw['kind']!r} is not one of "
                           f"{', '.join(k.value for k in DepotKind)}") from None
    try:
        kw["hours"] = WeeklyHours.parse(kw.get("hours", "24x7"))
    except ValueError as exc:
        raise OverlayError(f"{path}.hours", str(exc)) from None
    kw["site_ids"] = tuple(kw.get("site_ids", ()))
    return kw


def _add_depots(sc: Scenario, adds: Sequence[Mapping[str, Any]]) -> Scenario:
    depots, sites = list(sc.depots), {s.site_id: s for s in sc.sites}
    taken = {d.depot_id for d in depots} | {c.candidate_id for c in sc.candidates}
    for i, t in enumerate(adds):
        path = f"depots.add[{i}]"
        if t["depot_id"] in taken:
            raise OverlayError(f"{path}.depot_id", f"{t['depot_id']!r} is already a location id")
        depot = _build(path, lambda t=t, path=path: Depot(**_location_kwargs(path, t)))
        taken.add(depot.depot_id)
        depots.append(depot)
        for k, sid in enumerate(t.get("serves", ())):
            if sid not in sites:
                raise OverlayError(f"{path}.serves[{k}]", f"unknown site {sid!r}")
            if not depot.serves(sites[sid]):
                raise OverlayError(f"{path}.serves[{k}]", f"the depot may not serve site {sid!r}")
            sites[sid] = replace(sites[sid], primary_depot_id=depot.depot_id)
    ids = {d.depot_id for d in depots}
    for i, t in enumerate(adds):
        if t["parent_id"] not in ids:
            raise OverlayError(f"depots.add[{i}].parent_id", f"unknown depot {t['parent_id']!r}")
    return replace(sc, depots=tuple(depots), sites=tuple(sites.values()))


def _candidates(sc: Scenario, remove: Sequence[str], adds: Sequence[Mapping[str, Any]]) -> Scenario:
    known = {c.candidate_id for c in sc.candidates}
    for k, cid in enumerate(remove):
        if cid not in known:
            raise OverlayError(f"candidates.remove[{k}]", f"unknown candidate {cid!r}")
    cands = [c for c in sc.candidates if c.candidate_id not in set(remove)]
    taken = {d.depot_id for d in sc.depots} | {c.candidate_id for c in cands}
    depot_ids = {d.depot_id for d in sc.depots}
    for i, t in enumerate(adds):
        path = f"candidates.add[{i}]"
        if t["candidate_id"] in taken:
            raise OverlayError(f"{path}.candidate_id",
                               f"{t['candidate_id']!r} is already a location id")
        if t["parent_id"] not in depot_ids:
            raise OverlayError(f"{path}.parent_id", f"unknown depot {t['parent_id']!r}")
        kw = _location_kwargs(path, t)
        kw.setdefault("handling_hours", 0.5)
        cand = _build(path, lambda kw=kw: Candidate(**kw))
        taken.add(cand.candidate_id)
        cands.append(cand)
    return replace(sc, candidates=tuple(cands))


def _locations(sc: Scenario, changes: Sequence[Mapping[str, Any]]) -> Scenario:
    depots = {d.depot_id: d for d in sc.depots}
    cands = {c.candidate_id: c for c in sc.candidates}
    for i, t in enumerate(changes):
        path = f"locations[{i}]"
        lid = t["id"]
        new = {k: v for k, v in t.items() if k != "id"}
        if lid in depots:
            if "opening_cost" in new:
                raise OverlayError(f"{path}.opening_cost", f"{lid!r} is a depot, already open")
            depots[lid] = _build(path, lambda d=depots[lid], new=new: replace(d, **new))
        elif lid in cands:
            if "closable" in new:
                raise OverlayError(f"{path}.closable", f"{lid!r} is a candidate, not a depot")
            cands[lid] = _build(path, lambda c=cands[lid], new=new: replace(c, **new))
        else:
            raise OverlayError(f"{path}.id", f"no depot or candidate {lid!r}")
    return replace(sc, depots=tuple(depots.values()), candidates=tuple(cands.values()))


def _term_values(path: str, t: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, enum in (("window_kind", WindowKind), ("milestone", Milestone),
                      ("clock_start", ClockStart)):
        if key in t:
            try:
                out[key] = enum(t[key])
            except ValueError:
                raise OverlayError(f"{path}.{key}", f"{t[key]!r} is not one of "
                                   f"{', '.join(m.value for m in enum)}") from None
    for key in ("target", "window_value"):
        if key in t:
            out[key] = t[key]
    if "coverage" in t:
        try:
            out["coverage"] = WeeklyHours.parse(t["coverage"])
        except ValueError as exc:
            raise OverlayError(f"{path}.coverage", str(exc)) from None
    if "cutoff" in t:
        try:
            out["cutoff"] = parse_clock(t["cutoff"])
        except ValueError as exc:
            raise OverlayError(f"{path}.cutoff", str(exc)) from None
    return out


def _terms(sc: Scenario, changes: Sequence[Mapping[str, Any]]) -> Scenario:
    contracts = {c.contract_id: c for c in sc.contracts}
    tiers = {c.tier for c in sc.contracts}
    for i, t in enumerate(changes):
        path = f"terms[{i}]"
        if "contract" in t and t["contract"] not in contracts:
            raise OverlayError(f"{path}.contract", f"unknown contract {t['contract']!r}")
        if "tier" in t and t["tier"] not in tiers:
            raise OverlayError(f"{path}.tier", f"unknown tier {t['tier']!r}")
        values = _term_values(path, t)
        hit = False
        for cid, c in contracts.items():
            if t.get("contract", cid) != cid or t.get("tier", c.tier) != c.tier:
                continue
            terms = []
            for term in c.terms:
                if t.get("severity", term.severity) == term.severity:
                    term = replace(term, **values)
                    hit = True
                terms.append(term)
            contracts[cid] = _build(path, lambda c=c, terms=terms: Contract(
                c.contract_id, c.name, c.tier, tuple(terms)))
        if not hit:
            raise OverlayError(f"{path}.severity", f"no term of severity {t.get('severity')} to "
                               "change")
    return replace(sc, contracts=tuple(contracts.values()))


def apply_overlay(scenario: Scenario, overlay: Overlay) -> Scenario:
    """The scenario with ``overlay`` applied (a new record; ``scenario`` is unchanged).

    The result is validated as a whole (references, radius, one HQ); a violation that only
    shows then is an :class:`OverlayError` on the section that caused it.
    """
    sc = scenario
    steps = (("demand", overlay.demand, lambda s: _scale_demand(s, overlay.demand)),
             ("depots.remove", overlay.remove_depots,
              lambda s: _remove_depots(s, overlay.remove_depots)),
             ("depots.add", overlay.add_depots, lambda s: _add_depots(s, overlay.add_depots)),
             ("candidates", overlay.remove_candidates or overlay.add_candidates,
              lambda s: _candidates(s, overlay.remove_candidates, overlay.add_candidates)),
             ("locations", overlay.locations, lambda s: _locations(s, overlay.locations)),
             ("terms", overlay.terms, lambda s: _terms(s, overlay.terms)))
    for section, given, step in steps:
        if not given:  # each step re-validates the whole network: skip the empty ones
            continue
        try:
            sc = step(sc)
        except OverlayError:
            raise
        except DomainError as exc:
            raise OverlayError(section, str(exc)) from None
    return sc


def describe(overlay: Overlay) -> list[str]:
    """One line per change, for plan outputs and the workspace."""
    out = []
    for d in overlay.demand:
        sel = "; ".join(f"{s} {', '.join(getattr(d, s))}" for s in SELECTORS if getattr(d, s))
        out.append(f"demand x{d.factor:g}" + (f" for {sel}" if sel else " everywhere"))
    if overlay.remove_depots:
        out.append(f"depots removed: {', '.join(overlay.remove_depots)}")
    for t in overlay.add_depots:
        out.append(f"depot added: {t['depot_id']} ({t['name']})")
    if overlay.remove_candidates:
        out.append(f"candidates removed: {', '.join(overlay.remove_candidates)}")
    for t in overlay.add_candidates:
        out.append(f"candidate added: {t['candidate_id']} ({t['name']})")
    for t in overlay.locations:
        changes = ", ".join(f"{k} {v}" for k, v in t.items() if k != "id")
        out.append(f"location {t['id']}: {changes}")
    for t in overlay.terms:
        who = f"contract {t['contract']}" if "contract" in t else f"tier {t['tier']}"
        sev = f" severity {t['severity']}" if "severity" in t else ""
        changes = ", ".join(f"{k} {t[k]}" for k in TERM_CHANGES if k in t)
        out.append(f"{who}{sev}: {changes}")
    return out
