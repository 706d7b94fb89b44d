"""The worklist: what needs a planner's decision, each item with where to act on it.

Classes the latest plan leaves below target, with the sites that no location reaches in time
for that severity and the parts whose shortfall costs the most on-time requests
(:func:`optimizer.worklist.miss_drivers`, computed by the plan job); platinum and gold parts
with no stock in reach of their sites (:func:`optimizer.worklist.no_stock_in_reach`); open
dispatches at risk or overdue; backorders;
the last succeeded restock run's buys that add little service and its excess stock; webhook
deliveries that failed for good.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select

from api.restock import service as restock
from api.ui import plans
from api.ui.overview import at_risk
from inventory.db.dispatch_models import Dispatch, WebhookOutbox, WebhookSubscription
from inventory.domain import Scenario

LOW_GAIN = 0.1
"""A buy adding fewer on-time requests a year than this is listed as gaining little."""
SHOWN = 50


def missed_classes(scenario: Scenario, summary: dict[str, Any],
                   reached: dict[str, int | None],
                   drivers: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Classes below target, each with the sites of its tier whose best location does not reach
    that severity in time (``reached``: site -> most demanding severity reached, None: none)
    and its ``parts``: the rows of ``drivers`` (:func:`api.ui.plans.class_drivers`) of that
    class, None when the plan has no such list."""
    tier_of = {c.contract_id: c.tier for c in scenario.contracts}
    out = []
    for c in summary.get("classes", []):
        if c["met"]:
            continue
        sev = int(c["severity"])
        sites = [s.site_id for s in scenario.sites if tier_of.get(s.contract_id) == c["tier"]
                 and reached and (reached.get(s.site_id) is None or reached[s.site_id] > sev)]
        parts = (None if drivers is None else
                 [d for d in drivers if d["tier"] == c["tier"] and d["severity"] == sev])
        out.append({**c, "sites": sites[:SHOWN], "site_count": len(sites), "parts": parts})
    return out


def low_gain_buys(orders: dict[str, Any] | None) -> list[dict[str, Any]]:
    buys = (orders or {}).get("buys") or []
    return [b for b in buys if (b.get("gain_per_year") or 0.0) < LOW_GAIN]


def worklist(ctx: Any, tenant: str | None = None) -> dict[str, Any]:
    """The worklist's items; ``tenant``: the organization whose dispatches and restock runs
    alone the viewer sees (None: all, as for planners)."""
    latest = plans.latest_plan(base_only=True)  # a what-if's misses are not today's work
    missed = (missed_classes(ctx.scenario, plans.summary(latest.id), plans.site_reach(latest.id),
                             plans.class_drivers(latest.id)) if latest else [])
    uncovered = plans.no_stock_in_reach(latest.id) if latest else None
    now = ctx.now()
    with ctx.sessions() as session:
        n_risk, risky = at_risk(session, now, limit=SHOWN, tenant=tenant)
        risky = [{"ticket_id": d.ticket_id, "site_id": d.site_id, "part_id": d.part_id,
                  "tier": d.tier, "severity": d.severity, "status": d.status, "due_at": d.due_at,
                  "overdue": d.due_at is not None and d.due_at < now} for d in risky]
        waiting = Dispatch.status == "backordered"
        if tenant is not None:
            waiting = and_(waiting, Dispatch.owner == tenant)
        n_back = session.scalar(select(func.count()).select_from(Dispatch).where(waiting)) or 0
        backorders = [{"ticket_id": d.ticket_id, "site_id": d.site_id, "part_id": d.part_id,
                       "tier": d.tier, "severity": d.severity, "reported_at": d.reported_at}
                      for d in session.scalars(select(Dispatch).where(waiting)
                                               .order_by(Dispatch.reported_at).limit(SHOWN))]
        failed = WebhookOutbox.failed_at.is_not(None)
        q = select(func.count()).select_from(WebhookOutbox)
        if tenant is not None:
            q = q.join(WebhookSubscription,
                       WebhookSubscription.id == WebhookOutbox.subscription_id).where(
                WebhookSubscription.owner == tenant)
        failed_hooks = session.scalar(q.where(failed)) or 0
    runs = restock.list_runs(ctx, limit=20, tenant=tenant)
    # a what-if run's orders are for another network (never approved): not a decision to make
    last = next((r for r in runs if r["status"] == "succeeded" and not r.get("overlay")), None)
    run = restock.get_run(ctx, last["id"], tenant=tenant) if last else None
    orders = (run or {}).get("orders") or {}
    return {"plan": latest, "missed": missed, "uncovered": (uncovered or [])[:SHOWN],
            "uncovered_count": None if uncovered is None else len(uncovered),
            "at_risk_count": n_risk, "at_risk": risky,
            "backorder_count": int(n_back), "backorders": backorders,
            "restock": run, "low_gain": low_gain_buys(orders)[:SHOWN],
            "low_gain_count": len(low_gain_buys(orders)),
            "excess": (orders.get("excess") or [])[:SHOWN], "excess_count": len(orders.get("excess") or []),
            "failed_webhooks": int(failed_hooks), "low_gain_threshold": LOW_GAIN}
