"""The stock ledger: every stock change is one append-only movement plus the matching balance update.

A movement has a kind, a quantity and the deltas it applies to the five buckets of a (depot, part)
balance (on_hand, reserved, in_transit, defective, in_repair). The deltas of each kind per unit are
fixed in :data:`KIND_DELTAS`, the single place that says how stock moves, so ``balances ==
fold(movements)`` always holds (:func:`replay`, :func:`verify`).

Each function takes the SQLAlchemy session as a keyword and works inside the caller's transaction
(it never commits). The balance changes through ONE conditional ``UPDATE ... WHERE`` that also
states the guard (no bucket below zero, reserved never above on hand), and the row count decides:
that makes :func:`reserve` safe against concurrent clients on SQLite and PostgreSQL alike, since
the database re-checks the guard on the row it locks. An impossible movement raises
:class:`LedgerError` and changes nothing (except :func:`reserve`, which returns ``False``).

Units are whole pieces; times are timezone-aware UTC instants (``at`` defaults to now).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, exists, insert, select, update
from sqlalchemy.orm import Session

from inventory.db.models import BUCKETS, DepotRow, PartRow, StockBalance, StockMovement
from inventory.db.prepared import Prepared, insert_of

Deltas = tuple[int, int, int, int, int]
"""Changes to (on_hand, reserved, in_transit, defective, in_repair)."""

KIND_DELTAS: dict[str, Deltas] = {
    # kind              on_hand reserved in_transit defective in_repair   (per unit)
    "receipt":           (1, 0, 0, 0, 0),    # new or returned serviceable stock arrives
    "adjustment":        (1, 0, 0, 0, 0),    # signed count correction, needs a reason
    "reserve":           (0, 1, 0, 0, 0),    # hold free units for a dispatch
    "release":           (0, -1, 0, 0, 0),   # drop a hold
    "issue":             (-1, -1, 0, 0, 0),  # ship a reserved unit out of the depot
    "transfer_out":      (-1, 0, 0, 0, 0),   # a transfer leaves the source depot ...
    "transfer_expected": (0, 0, 1, 0, 0),    # ... and is in transit to the destination
    "transfer_in":       (1, 0, -1, 0, 0),   # the transfer arrives at the destination
    "order_placed":      (0, 0, 1, 0, 0),    # a buy from a supplier is on its way
    "order_received":    (1, 0, -1, 0, 0),   # the buy arrives
    "defective_in":      (0, 0, 0, 1, 0),    # a failed unit comes back from a site
    "send_to_repair":    (0, 0, 0, -1, 1),   # defective unit goes to the repair loop
    "repair_return":     (1, 0, 0, 0, -1),   # repaired unit back on the shelf of the sender
    "repair_out":        (0, 0, 0, 0, -1),   # repaired unit leaves the sender's repair count ...
    "repair_in":         (1, 0, 0, 0, 0),    # ... and lands at another receiving depot
    "condemned":         (0, 0, 0, 0, -1),   # repair failed: the unit is scrapped, needs a reason
    "scrapped":          (0, 0, 0, -1, 0),   # a defective unit written off unrepaired, needs a reason
}
"""Per-unit bucket deltas of every movement kind; a movement applies ``quantity * deltas``."""

SIGNED_KINDS = frozenset({"adjustment"})
"""Kinds whose quantity may be negative (all others need quantity > 0)."""
REASON_KINDS = frozenset({"adjustment", "condemned", "scrapped"})
"""Kinds that must say why."""


class LedgerError(ValueError):
    """An impossible or malformed movement; nothing was written."""

    def __init__(self, kind: str, depot_id: str, part_id: str, message: str) -> None:
        self.kind, self.depot_id, self.part_id, self.message = kind, depot_id, part_id, message
        super().__init__(f"{kind} of {part_id!r} at depot {depot_id!r}: {message}")


@dataclass(frozen=True)
class Balance:
    """Stock of a part at a depot, in pieces."""

    depot_id: str
    part_id: str
    on_hand: int = 0
    reserved: int = 0
    in_transit: int = 0
    defective: int = 0
    in_repair: int = 0
    version: int = 0

    @property
    def available(self) -> int:
        """Free serviceable units: on hand and not reserved."""
        return self.on_hand - self.reserved

    def buckets(self) -> Deltas:
        return (self.on_hand, self.reserved, self.in_transit, self.defective, self.in_repair)


@dataclass(frozen=True)
class Movement:
    """One ledger entry as stored."""

    id: int
    at: datetime
    depot_id: str
    part_id: str
    kind: str
    quantity: int
    deltas: Deltas
    reference: str | None
    reason: str | None
    actor: str | None


def deltas_for(kind: str, quantity: int) -> Deltas:
    """``quantity * KIND_DELTAS[kind]`` after checking the kind and the quantity's sign."""
    if kind not in KIND_DELTAS:
        raise ValueError(f"unknown movement kind {kind!r}; known: {', '.join(KIND_DELTAS)}")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise ValueError(f"quantity must be a whole number, got {quantity!r}")
    if quantity == 0 or (quantity < 0 and kind not in SIGNED_KINDS):
        raise ValueError(f"quantity must be {'non-zero' if kind in SIGNED_KINDS else '> 0'}, "
                         f"got {quantity}")
    unit = KIND_DELTAS[kind]
    return (quantity * unit[0], quantity * unit[1], quantity * unit[2], quantity * unit[3],
            quantity * unit[4])


def _now(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:
        raise ValueError(f"at={at.isoformat()} has no time zone; pass an aware datetime")
    return at.astimezone(UTC)


_BAL: Table = StockBalance.__table__  # type: ignore[assignment]
_MOV: Table = StockMovement.__table__  # type: ignore[assignment]


def _guarded_update(session: Session, depot_id: str, part_id: str, d: Deltas) -> bool:
    """Apply ``d`` to the balance row only if the result keeps every guard; True if it did."""
    c = _BAL.c
    cond = [c.depot_id == depot_id, c.part_id == part_id]
    for name, delta in zip(BUCKETS, d, strict=True):
        if delta < 0:
            cond.append(c[name] >= -delta)
    if d[1] - d[0] > 0:  # reserved grows faster than on hand: free stock must cover it
        cond.append(c.on_hand - c.reserved >= d[1] - d[0])
    values: dict[str, Any] = {name: c[name] + delta
                              for name, delta in zip(BUCKETS, d, strict=True) if delta}
    values["version"] = c.version + 1
    result = session.execute(update(_BAL).where(and_(*cond)).values(**values))
    return result.rowcount == 1


def _create_row(session: Session, depot_id: str, part_id: str, d: Deltas) -> bool:
    """Insert a new balance row holding ``d``; False if another transaction created it first."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    row = {"depot_id": depot_id, "part_id": part_id, "version": 1,
           **dict(zip(BUCKETS, d, strict=True))}
    stmt = dialect_insert(_BAL).values(**row).on_conflict_do_nothing(
        index_elements=["depot_id", "part_id"]).returning(_BAL.c.id)
    return session.execute(stmt).scalar() is not None  # (rowcount is not reliable here)


def _explain_refusal(session: Session, kind: str, depot_id: str, part_id: str,
                     d: Deltas) -> LedgerError:
    if not session.scalar(select(exists().where(DepotRow.depot_id == depot_id))):
        return LedgerError(kind, depot_id, part_id, f"unknown depot {depot_id!r}")
    if not session.scalar(select(exists().where(PartRow.part_id == part_id))):
        return LedgerError(kind, depot_id, part_id, f"unknown part {part_id!r}")
    now = balance(session=session, depot_id=depot_id, part_id=part_id)
    have = ", ".join(f"{b}={v}" for b, v in zip(BUCKETS, now.buckets(), strict=True))
    want = ", ".join(f"{b}{v:+d}" for b, v in zip(BUCKETS, d, strict=True) if v)
    return LedgerError(kind, depot_id, part_id,
                       f"not enough stock: balance {have}; movement {want} would make a bucket "
                       "negative or reserve more than on hand")


def _apply(session: Session, kind: str, depot_id: str, part_id: str, d: Deltas) -> bool:
    if _guarded_update(session, depot_id, part_id, d):
        return True
    if all(v >= 0 for v in d) and not session.scalar(
            select(exists().where(_BAL.c.depot_id == depot_id, _BAL.c.part_id == part_id))):
        if not session.scalar(select(exists().where(DepotRow.depot_id == depot_id))) or \
                not session.scalar(select(exists().where(PartRow.part_id == part_id))):
            return False
        # only reserve adds to a bucket with a guard; a new row has nothing free to reserve
        if d[1] > d[0]:
            return False
        return _create_row(session, depot_id, part_id, d) or _guarded_update(
            session, depot_id, part_id, d)
    return False


def _record(session: Session, kind: str, depot_id: str, part_id: str, quantity: int, d: Deltas,
            reference: str | None, reason: str | None, actor: str | None,
            at: datetime) -> Movement:
    row = {"at": at, "recorded_at": datetime.now(UTC), "depot_id": depot_id, "part_id": part_id,
           "kind": kind, "quantity": quantity, "reference": reference, "reason": reason,
           "actor": actor, **{f"d_{b}": v for b, v in zip(BUCKETS, d, strict=True)}}
    new_id = session.execute(insert(_MOV).values(**row)).inserted_primary_key[0]
    return Movement(int(new_id), at, depot_id, part_id, kind, quantity, d, reference, reason, actor)


def post(*, session: Session, kind: str, depot_id: str, part_id: str, quantity: int,
         reference: str | None = None, reason: str | None = None, actor: str | None = None,
         at: datetime | None = None) -> Movement:
    """Write one movement and apply its deltas to the balance, or raise :class:`LedgerError`.

    Parameters
    ----------
    kind : a key of :data:`KIND_DELTAS`.
    quantity : pieces, > 0 (``adjustment`` may be negative).
    reference : what caused it (dispatch id, order id, ...).
    reason : free text; required for ``adjustment``, ``condemned`` and ``scrapped``.
    at : when it happened (aware datetime; default now, stored as UTC).
    """
    try:
        d = deltas_for(kind, quantity)
        when = _now(at)
    except ValueError as exc:
        raise LedgerError(kind, depot_id, part_id, str(exc)) from exc
    if kind in REASON_KINDS and not (reason and reason.strip()):
        raise LedgerError(kind, depot_id, part_id, "a reason is required")
    if not _apply(session, kind, depot_id, part_id, d):
        raise _explain_refusal(session, kind, depot_id, part_id, d)
    return _record(session, kind, depot_id, part_id, quantity, d, reference, reason, actor, when)


# --- named movements -------------------------------------------------------------------------

_RESERVE = (update(_BAL)
            .where(_BAL.c.depot_id == bindparam("depot"), _BAL.c.part_id == bindparam("part"),
                   _BAL.c.on_hand - _BAL.c.reserved >= bindparam("q"))
            .values(reserved=_BAL.c.reserved + bindparam("q"), version=_BAL.c.version + 1))
"""The guarded update of :func:`reserve`, built once (what :func:`_guarded_update` builds for the
deltas ``(0, q, 0, 0, 0)``: reserved grows by q only while q units are free)."""
assert KIND_DELTAS["reserve"] == (0, 1, 0, 0, 0), "_RESERVE encodes these deltas"


def reserve(*, session: Session | Connection, depot_id: str, part_id: str, quantity: int,
            reference: str | None = None, at: datetime | None = None,
            actor: str | None = None) -> bool:
    """Hold ``quantity`` free units; False (nothing written) if fewer are free right now.

    The dispatch hot path: two statements built once (the conditional ``UPDATE`` whose row count
    decides, then the ``reserve`` movement row), run on an ORM session or a plain Core
    connection (there straight on the DBAPI cursor on SQLite: :mod:`inventory.db.prepared`).
    """
    try:
        d = deltas_for("reserve", quantity)
        when = _now(at)
    except ValueError as exc:
        raise LedgerError("reserve", depot_id, part_id, str(exc)) from exc
    if _RESERVE_P.run(session, {"depot": depot_id, "part": part_id, "q": quantity}) != 1:
        return False
    _INSERT_MOVEMENT_P.run(session, {
        "at": when, "recorded_at": datetime.now(UTC), "depot_id": depot_id, "part_id": part_id,
        "kind": "reserve", "quantity": quantity, "reference": reference, "reason": None,
        "actor": actor, **{f"d_{b}": v for b, v in zip(BUCKETS, d, strict=True)}})
    return True


_FREE = (select(_BAL.c.depot_id, _BAL.c.on_hand - _BAL.c.reserved)
         .where(_BAL.c.part_id == bindparam("part"), _BAL.c.on_hand > _BAL.c.reserved))


def free_stock(*, session: Session | Connection,
               part_ids: Iterable[str]) -> dict[tuple[str, str], int]:
    """``{(depot_id, part_id): on_hand - reserved}`` (> 0 only) of the given parts over all
    depots: one indexed read per part, statement built once (the dispatch hot path); on an ORM
    session or a plain Core connection."""
    out: dict[tuple[str, str], int] = {}
    for part in dict.fromkeys(part_ids):
        for depot, n in _FREE_P.rows(session, {"part": part}):
            out[(depot, part)] = int(n)
    return out


_RESERVE_P = Prepared(_RESERVE)
_INSERT_MOVEMENT_P = insert_of(_MOV, ("at", "recorded_at", "depot_id", "part_id", "kind",
                                      "quantity", "reference", "reason", "actor",
                                      *(f"d_{b}" for b in BUCKETS)))
_FREE_P = Prepared(_FREE)


def release(*, session: Session, depot_id: str, part_id: str, quantity: int,
            reference: str | None = None, at: datetime | None = None,
            actor: str | None = None) -> Movement:
    """Drop a hold of ``quantity`` reserved units."""
    return post(session=session, kind="release", depot_id=depot_id, part_id=part_id,
                quantity=quantity, reference=reference, actor=actor, at=at)


def issue(*, session: Session, depot_id: str, part_id: str, quantity: int,
          reference: str | None = None, at: datetime | None = None,
          actor: str | None = None) -> Movement:
    """Ship reserved units: they leave both the reservation and on hand."""
    return post(session=session, kind="issue", depot_id=depot_id, part_id=part_id,
                quantity=quantity, reference=reference, actor=actor, at=at)


def receive(*, session: Session, depot_id: str, part_id: str, quantity: int,
            reference: str | None = None, at: datetime | None = None,
            actor: str | None = None, reason: str | None = None) -> Movement:
    """Serviceable units arrive on the shelf (``receipt``)."""
    return post(session=session, kind="receipt", depot_id=depot_id, part_id=part_id,
                quantity=quantity, reference=reference, reason=reason, actor=actor, at=at)


def adjust(*, session: Session, depot_id: str, part_id: str, quantity: int, reason: str,
           reference: str | None = None, at: datetime | None = None,
           actor: str | None = None) -> Movement:
    """Correct on hand by ``quantity`` (negative removes; cannot take reserved units)."""
    return post(session=session, kind="adjustment", depot_id=depot_id, part_id=part_id,
                quantity=quantity, reference=reference, reason=reason, actor=actor, at=at)


def transfer(*, session: Session, from_depot_id: str, to_depot_id: str, part_id: str,
             quantity: int, reference: str | None = None, at: datetime | None = None,
             actor: str | None = None) -> tuple[Movement, Movement]:
    """Ship free units between depots: ``transfer_out`` at the source, ``transfer_expected``
    (+in_transit) at the destination; :func:`arrive` books the arrival."""
    if from_depot_id == to_depot_id:
        raise LedgerError("transfer_out", from_depot_id, part_id, "source and destination are equal")
    out = post(session=session, kind="transfer_out", depot_id=from_depot_id, part_id=part_id,
               quantity=quantity, reference=reference, actor=actor, at=at)
    return out, post(session=session, kind="transfer_expected", depot_id=to_depot_id,
                     part_id=part_id, quantity=quantity, reference=reference, actor=actor, at=at)


def arrive(*, session: Session, depot_id: str, part_id: str, quantity: int,
           reference: str | None = None, at: datetime | None = None,
           actor: str | None = None) -> Movement:
    """A transfer arrives at ``depot_id``: in transit -> on hand."""
    return post(session=session, kind="transfer_in", depot_id=depot_id, part_id=part_id,
                quantity=quantity, reference=reference, actor=actor, at=at)


def order_placed(*, session: Session, depot_id: str, part_id: str, quantity: int,
                 reference: str | None = None, at: datetime | None = None,
                 actor: str | None = None) -> Movement:
    """A supplier buy for ``depot_id`` is on its way (+in_transit)."""
    return post(session=session, kind="order_placed", depot_id=depot_id, part_id=part_id,
                quantity=quantity, reference=reference, actor=actor, at=at)


def order_received(*, session: Session, depot_id: str, part_id: str, quantity: int,
                   reference: str | None = None, at: datetime | None = None,
                   actor: str | None = None) -> Movement:
    """A supplier buy arrives: in transit -> on hand."""
    return post(session=session, kind="order_received", depot_id=depot_id, part_id=part_id,
                quantity=quantity, reference=reference, actor=actor, at=at)


def defective_in(*, session: Session, depot_id: str, part_id: str, quantity: int,
                 reference: str | None = None, at: datetime | None = None,
                 actor: str | None = None) -> Movement:
    """A failed unit comes back from a site (+defective)."""
    return post(session=session, kind="defective_in", depot_id=depot_id, part_id=part_id,
                quantity=quantity, reference=reference, actor=actor, at=at)


def send_to_repair(*, session: Session, depot_id: str, part_id: str, quantity: int,
                   reference: str | None = None, at: datetime | None = None,
                   actor: str | None = None) -> Movement:
    """Defective units enter the repair loop (defective -> in_repair)."""
    return post(session=session, kind="send_to_repair", depot_id=depot_id, part_id=part_id,
                quantity=quantity, reference=reference, actor=actor, at=at)


def repair_return(*, session: Session, depot_id: str, part_id: str, quantity: int,
                  to_depot_id: str | None = None, condemned: bool = False,
                  reason: str | None = None, reference: str | None = None,
                  at: datetime | None = None, actor: str | None = None) -> list[Movement]:
    """Close repairs sent by ``depot_id``.

    Repaired units go on hand at ``to_depot_id`` (default the sender: one ``repair_return``; another
    depot: ``repair_out`` at the sender plus ``repair_in`` there). ``condemned=True`` scraps them
    instead (``condemned``: in_repair -1 only, ``reason`` required).
    """
    common = {"session": session, "part_id": part_id, "quantity": quantity,
              "reference": reference, "actor": actor, "at": at}
    if condemned:
        return [post(kind="condemned", depot_id=depot_id, reason=reason, **common)]
    if to_depot_id is None or to_depot_id == depot_id:
        return [post(kind="repair_return", depot_id=depot_id, reason=reason, **common)]
    return [post(kind="repair_out", depot_id=depot_id, reason=reason, **common),
            post(kind="repair_in", depot_id=to_depot_id, reason=reason, **common)]


# --- reads -----------------------------------------------------------------------------------

def _to_balance(r: Any) -> Balance:
    return Balance(r.depot_id, r.part_id, r.on_hand, r.reserved, r.in_transit, r.defective,
                   r.in_repair, r.version)


def balance(*, session: Session, depot_id: str, part_id: str) -> Balance:
    """The balance of a part at a depot (all zero if it never had a movement)."""
    row = session.execute(select(_BAL).where(_BAL.c.depot_id == depot_id,
                                             _BAL.c.part_id == part_id)).first()
    return _to_balance(row) if row is not None else Balance(depot_id, part_id)


def balances(*, session: Session, depot_id: str | None = None,
             part_id: str | None = None) -> list[Balance]:
    """Balances, optionally of one depot and/or one part, sorted by depot then part."""
    q = select(_BAL).order_by(_BAL.c.depot_id, _BAL.c.part_id)
    if depot_id is not None:
        q = q.where(_BAL.c.depot_id == depot_id)
    if part_id is not None:
        q = q.where(_BAL.c.part_id == part_id)
    return [_to_balance(r) for r in session.execute(q)]


def available(*, session: Session, depot_id: str, part_id: str) -> int:
    """Free units (on hand - reserved) of a part at a depot."""
    return balance(session=session, depot_id=depot_id, part_id=part_id).available


def movements(*, session: Session, depot_id: str | None = None, part_id: str | None = None,
              reference: str | None = None) -> list[Movement]:
    """Movements in the order they were written, optionally filtered."""
    q = select(_MOV).order_by(_MOV.c.id)
    for col, value in (("depot_id", depot_id), ("part_id", part_id), ("reference", reference)):
        if value is not None:
            q = q.where(_MOV.c[col] == value)
    return [Movement(r.id, r.at, r.depot_id, r.part_id, r.kind, r.quantity,
                     tuple(getattr(r, f"d_{b}") for b in BUCKETS),  # type: ignore[arg-type]
                     r.reference, r.reason, r.actor)
            for r in session.execute(q)]


def fold(moves: Iterable[Movement]) -> dict[tuple[str, str], Deltas]:
    """Bucket totals per (depot, part) from kinds and quantities (:data:`KIND_DELTAS`) alone."""
    out: dict[tuple[str, str], list[int]] = {}
    for m in moves:
        acc = out.setdefault((m.depot_id, m.part_id), [0, 0, 0, 0, 0])
        for i, v in enumerate(deltas_for(m.kind, m.quantity)):
            acc[i] += v
    return {k: tuple(v) for k, v in out.items()}  # type: ignore[misc]


def replay(*, session: Session) -> dict[tuple[str, str], Deltas]:
    """Balances recomputed from the movement log: ``{(depot_id, part_id): buckets}``."""
    return fold(movements(session=session))


def verify(*, session: Session) -> list[str]:
    """Every disagreement between the stored balances and :func:`replay` (empty when sound)."""
    folded = replay(session=session)
    stored = {(b.depot_id, b.part_id): b.buckets() for b in balances(session=session)}
    problems = []
    for key in sorted(set(folded) | set(stored)):
        f, s = folded.get(key, (0,) * 5), stored.get(key, (0,) * 5)
        if f != s:
            problems.append(f"{key[0]}/{key[1]}: balance {s} but movements fold to {f}")
    for m in movements(session=session):
        if m.deltas != deltas_for(m.kind, m.quantity):
            problems.append(f"movement {m.id}: stored deltas {m.deltas} disagree with kind {m.kind}")
    return problems
