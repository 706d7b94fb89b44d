"""Routes of /v1/webhooks: register, list and remove callback URLs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from api.auth.deps import require
from api.auth.models import Principal, Scope
from api.problems import Problem
from api.webhooks import service
from api.webhooks.models import SubscriptionCreate, SubscriptionOut

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _out(row: Any, secret: bool = False) -> dict[str, Any]:
    return SubscriptionOut(id=row.id, url=row.url, active=row.active, created_at=row.created_at,
                           secret=row.secret if secret else None).model_dump(mode="json")


@router.post("", status_code=201, response_model=SubscriptionOut)
def create(body: SubscriptionCreate, request: Request,
           who: Principal = Depends(require(Scope.TICKETING))) -> Any:
    """Register a callback; the answer carries the signing secret (shown once)."""
    ctx = request.app.state.ctx
    with ctx.sessions() as session:
        out = _out(service.subscribe(session=session, owner=who.key_id, url=str(body.url)), True)
    ctx.subscription_cache.pop(who.key_id)
    return out


@router.get("", response_model=list[SubscriptionOut])
def list_(request: Request, who: Principal = Depends(require(Scope.TICKETING))) -> Any:
    with request.app.state.ctx.sessions() as session:
        return [_out(r) for r in service.subscriptions(session=session, owner=who.key_id)]


@router.delete("/{subscription_id}", status_code=204)
def delete(subscription_id: str, request: Request,
           who: Principal = Depends(require(Scope.TICKETING))) -> None:
    request.app.state.ctx.subscription_cache.pop(who.key_id)
    with request.app.state.ctx.sessions() as session:
        if not service.unsubscribe(session=session, owner=who.key_id,
                                   subscription_id=subscription_id):
            raise Problem(404, "subscription-not-found", "Subscription not found",
                          f"no active subscription {subscription_id!r}")
