"""Routes of /v1/webhooks: register, list and remove callback URLs; see and retry deliveries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.auth.deps import require
from api.auth.models import Principal, Scope
from api.problems import Problem
from api.webhooks import service
from api.webhooks.models import DeliveryOut, DeliveryStatus, SubscriptionCreate, SubscriptionOut
from inventory.db.dispatch_models import WebhookSubscription

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


PROBLEM = {"content": {"application/problem+json": {}}, "description": "problem details"}


def _own_subscription(session: Any, subscription_id: str, who: Principal) -> WebhookSubscription:
    """The subscription if the caller owns it (an admin key sees all), else a 404."""
    row = session.get(WebhookSubscription, subscription_id)
    if row is None or (row.owner != who.key_id and Scope.ADMIN not in who.scopes):
        raise Problem(404, "subscription-not-found", "Subscription not found",
                      f"no subscription {subscription_id!r} for this API key",
                      errors=[{"field": "path.subscription_id", "message": "unknown subscription"}])
    return row


@router.get("/{subscription_id}/deliveries", response_model=list[DeliveryOut],
            responses={404: PROBLEM})
def list_deliveries(subscription_id: str, request: Request, status: DeliveryStatus | None = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    offset: Annotated[int, Query(ge=0)] = 0,
                    who: Principal = Depends(require(Scope.TICKETING))) -> Any:
    """The subscription's messages, newest first: `pending` (tries left), `delivered`, or
    `failed` (every try used: the dead letters, with the attempts and the last error). The
    owner's key or an admin key."""
    ctx = request.app.state.ctx
    with ctx.sessions() as session:
        _own_subscription(session, subscription_id, who)
        return service.deliveries(session=session, subscription_id=subscription_id,
                                  max_attempts=ctx.settings.webhook_max_attempts, status=status,
                                  limit=limit, offset=offset)


@router.post("/{subscription_id}/deliveries/{message_id}/retry", status_code=202,
             response_model=DeliveryOut, responses={404: PROBLEM, 409: PROBLEM})
def retry_delivery(subscription_id: str, message_id: str, request: Request,
                   who: Principal = Depends(require(Scope.TICKETING))) -> Any:
    """Queue a failed message again: its tries start over and the next worker pass sends it
    (same webhook-id, so a receiver that got it after all drops the duplicate). Only a `failed`
    message of an active subscription; anything else is a 409."""
    ctx = request.app.state.ctx
    max_attempts = ctx.settings.webhook_max_attempts
    with ctx.sessions(write=True) as session:
        sub = _own_subscription(session, subscription_id, who)
        msg = service.message(session=session, subscription_id=subscription_id,
                              message_id=message_id)
        if msg is None:
            raise Problem(404, "delivery-not-found", "Delivery not found",
                          f"no message {message_id!r} for subscription {subscription_id!r}",
                          errors=[{"field": "path.message_id", "message": "unknown message"}])
        if not sub.active:
            raise Problem(409, "subscription-inactive", "Subscription removed",
                          f"subscription {subscription_id!r} was removed; nothing is sent to it",
                          errors=[{"field": "path.subscription_id", "message": "removed"}])
        out = service.retry(session=session, subscription_id=subscription_id,
                            message_id=message_id, max_attempts=max_attempts, now=ctx.now())
        if out is None:
            status = service.delivery_status(msg, max_attempts).value
            raise Problem(409, "delivery-not-failed", "Delivery not failed",
                          f"message {message_id!r} is {status}; only a failed one is retried",
                          errors=[{"field": "path.message_id", "message": f"status is {status}"}])
        return out
