"""The scenario folder format: which CSV files exist and how each column maps to a domain field.

One :class:`Table` per CSV file lists its :class:`Column` s in file order. Column names equal the
field names of the domain dataclass the row builds (``inventory.domain``), so a :class:`DomainError`
naming a field points straight at a column. ``contracts.csv`` and ``contract_terms.csv`` together
build :class:`~inventory.domain.Contract` records (terms grouped by ``contract_id`` in file order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inventory.domain import (
    Candidate,
    ClockStart,
    DemandRecord,
    Depot,
    DepotKind,
    Hub,
    InstalledBase,
    Lifecycle,
    Milestone,
    Part,
    SeverityTerm,
    Site,
    SizeClass,
    StockRecord,
    Substitution,
    SubstitutionKind,
    TransportKind,
    TransportMode,
    WindowKind,
)
from scenarios import cells

REQUIRED: Any = object()
"""Marker default: the column must be present and the cell filled (unless ``nullable``)."""

SCENARIO_TOML = "scenario.toml"


@dataclass(frozen=True)
class Column:
    """One CSV column.

    ``default`` is used when the column is absent or the cell empty (``REQUIRED``: the column must
    exist); ``nullable`` means an empty cell reads as ``None``.
    """

    name: str
    parse: cells.Parser
    fmt: cells.Formatter
    default: Any = REQUIRED
    nullable: bool = False
    doc: str = ""

    @property
    def column_required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Table:
    """One CSV file: its columns, the record it builds and the columns that identify a row."""

    file: str
    record: type
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = True
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(c.name for c in self.columns))


def _s(name: str, **kw: Any) -> Column:
    return Column(name, cells.parse_str, cells.fmt_str, **kw)


def _f(name: str, **kw: Any) -> Column:
    return Column(name, cells.parse_float, cells.fmt_float, **kw)


def _i(name: str, **kw: Any) -> Column:
    return Column(name, cells.parse_int, cells.fmt_int, **kw)


def _b(name: str, **kw: Any) -> Column:
    return Column(name, cells.parse_bool, cells.fmt_bool, **kw)


def _e(name: str, enum: type, **kw: Any) -> Column:
    return Column(name, cells.enum_parser(enum), cells.fmt_enum, **kw)


def _h(name: str, **kw: Any) -> Column:
    return Column(name, cells.parse_hours, cells.fmt_hours, **kw)


def _t(name: str, **kw: Any) -> Column:
    return Column(name, cells.parse_time, cells.fmt_time, **kw)


def _ids(name: str, **kw: Any) -> Column:
    return Column(name, cells.parse_ids, cells.fmt_ids, **kw)


PARTS = Table("parts.csv", Part, (
    _s("part_id"), _s("name", default=""), _f("unit_cost"), _b("repairable"), _f("repair_turnaround_days"),
    _f("repair_yield"), _f("procurement_lead_time_days"), _e("size_class", SizeClass),
    _f("annual_failure_rate"), _e("lifecycle", Lifecycle, default=Lifecycle.ACTIVE),
), key=("part_id",))

SUBSTITUTIONS = Table("substitutions.csv", Substitution, (
    _s("part_id"), _s("substitute_id"),
    _e("kind", SubstitutionKind, default=SubstitutionKind.ONE_WAY),
), key=("part_id", "substitute_id"), required=False)

DEPOTS = Table("depots.csv", Depot, (
    _s("depot_id"), _s("name", default=""), _e("kind", DepotKind), _f("lat"), _f("lon"), _s("timezone"),
    _s("country"), _h("hours"), _s("parent_id", nullable=True), _f("replenishment_lead_time_days"),
    _f("handling_hours", default=0.5), _s("customer", default=None, nullable=True),
    _b("closable", default=False), _f("annual_fixed_cost", default=0.0),
    _i("capacity_units", default=None, nullable=True),
    _f("capacity_value", default=None, nullable=True), _ids("site_ids", default=()),
), key=("depot_id",))

SITES = Table("sites.csv", Site, (
    _s("site_id"), _s("name", default=""), _s("customer", default=""), _f("lat"), _f("lon"),
    _s("timezone"), _s("country"), _s("contract_id"), _s("primary_depot_id"),
), key=("site_id",))

CONTRACTS = Table("contracts.csv", dict, (
    _s("contract_id"), _s("name", default=""), _s("tier"),
), key=("contract_id",))

CONTRACT_TERMS = Table("contract_terms.csv", SeverityTerm, (
    _s("contract_id"), _i("severity"), _e("window_kind", WindowKind), _f("window_value"),
    _f("target"), _e("milestone", Milestone), _e("clock_start", ClockStart), _h("coverage"),
    _t("cutoff", default=None, nullable=True),
), key=("contract_id", "severity"))

INSTALLED_BASE = Table("installed_base.csv", InstalledBase, (
    _s("site_id"), _s("part_id"), _i("quantity"),
), key=("site_id", "part_id"))

TRANSPORT_MODES = Table("transport_modes.csv", TransportMode, (
    _s("mode_id"), _s("name", default=""), _e("kind", TransportKind), _f("speed_kmh"), _f("fixed_cost"),
    _f("cost_per_km"), _h("hours"),
    Column("size_classes", cells.parse_sizes, cells.fmt_sizes),
    _t("cutoff", default=None, nullable=True), _t("delivery_time", default=None, nullable=True),
    _f("min_distance_km", default=0.0), _f("handling_hours", default=0.0),
    _f("road_speed_kmh", default=60.0),
), key=("mode_id",))

HUBS = Table("hubs.csv", Hub, (
    _s("hub_id"), _s("name", default=""), _f("lat"), _f("lon"), _s("timezone"),
    _t("first_flight", default=cells.parse_time("07:00")),
    _t("last_flight", default=cells.parse_time("21:00")),
), key=("hub_id",), required=False)

STOCK = Table("stock.csv", StockRecord, (
    _s("depot_id"), _s("part_id"), _i("on_hand"), _i("defective", default=0),
), key=("depot_id", "part_id"), required=False)

DEMAND_HISTORY = Table("demand_history.csv", DemandRecord, (
    _s("month"), _s("site_id"), _s("part_id"), _i("quantity"),
), key=("month", "site_id", "part_id"), required=False)

CANDIDATES = Table("candidates.csv", Candidate, (
    _s("candidate_id"), _s("name", default=""), _e("kind", DepotKind), _f("lat"), _f("lon"),
    _s("timezone"), _s("country"), _h("hours"), _s("parent_id"),
    _f("replenishment_lead_time_days"), _f("handling_hours", default=0.5),
    _f("annual_fixed_cost"), _f("opening_cost", default=0.0),
    _i("capacity_units", default=None, nullable=True),
    _f("capacity_value", default=None, nullable=True), _s("customer", default=None, nullable=True),
    _ids("site_ids", default=()),
), key=("candidate_id",), required=False)

TABLES: tuple[Table, ...] = (PARTS, SUBSTITUTIONS, DEPOTS, SITES, CONTRACTS, CONTRACT_TERMS,
                             INSTALLED_BASE, TRANSPORT_MODES, HUBS, STOCK, DEMAND_HISTORY, CANDIDATES)
"""Every CSV file of the format, in the order they are read and written."""
