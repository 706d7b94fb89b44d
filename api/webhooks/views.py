"""Routes of /v1/webhooks: register, list and remove callback URLs, rotate their secrets, ping
them, and see and retry deliveries."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api import idempotency, pagination
from api.auth.deps import require
from api.auth.models import Principal, Scope
from api.inputs import identifier
from api.limits import presented_key
from api.problems import Problem
from api.webhooks import destinations, service, worker
from api.webhooks.models import (
    DeliveryOut,
    DeliveryPage,
    DeliveryStatus,
    RotateSecret,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionPage,
)
from inventory.db.dispatch_models import WebhookSubscription

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

PROBLEM = {"content": {"application/problem+json": {}}, "description": "problem details"}
SubscriptionId = Annotated[identifier(40), Path(description="`id` of the subscription")]
MessageId = Annotated[identifier(40), Path(description="`id` of the message (its webhook-id)")]


def owner(who: Principal) -> str:
    """Who a subscription belongs to: the key's organization, the owner the dispatch service
    enqueues messages for (``Dispatch.owner``), so the two must change together. Every key of
    the organization sees and changes its subscriptions; a rotated key's dispatches still reach
    them."""
    return who.organization_id


def _check_url(request: Request, url: str) -> None:
    """Refuse (422 on ``body.url``) a URL webhooks would not be sent to."""
    settings = request.app.state.ctx.settings
    try:
        destinations.check(url, worker.allowed_origins(settings), worker.resolver(settings))
    except destinations.DestinationRefused as exc:
        raise Problem(422, "webhook-destination-refused", "Webhook destination refused",
                      f"body.url: {exc}", errors=[{"field": "body.url", "message": str(exc)}]) \
            from None


@router.post("", status_code=201, response_model=SubscriptionOut,
             responses={409: PROBLEM, 422: PROBLEM})
def create(body: SubscriptionCreate, request: Request,
           idempotency_key: Annotated[str | None, Header(
               alias="Idempotency-Key", max_length=255, pattern=r"^[!-~]+$",
               description="optional, unique per logical request and organization: a retried "
                           "create answers the subscription it made (`Idempotent-Replayed: "
                           "true`); another body with it is a 422")] = None,
           who: Principal = Depends(require(Scope.TICKETING))) -> Any:
    """Register a callback; the answer carries the signing secret (shown once, and again to a
    replay of the create's Idempotency-Key). The URL must be https to a public address (checked
    now, and again at every delivery); `event_types` limits what it receives. An organization
    holds a limited number of active subscriptions (409 beyond)."""
    ctx = request.app.state.ctx
    url = str(body.url)
    _check_url(request, url)
    with ctx.sessions(write=True) as session:
        found = idempotency_key and service.created_with(
            session=session, owner=owner(who), idempotency_key=idempotency_key, url=url,
            event_types=body.event_types)
        if found:
            return JSONResponse(jsonable_encoder(service.subscription_out(found, secret=True)),
                                status_code=201, headers={"Idempotent-Replayed": "true"})
        row = service.subscribe(session=session, owner=owner(who), url=url,
                                event_types=body.event_types,
                                max_subscriptions=ctx.settings.webhook_max_subscriptions,
                                now=worker.wall_clock(), idempotency_key=idempotency_key)
        out = service.subscription_out(row, secret=True)
    ctx.subscription_cache.pop(owner(who))
    return out


@router.get("", response_model=SubscriptionPage, responses={422: PROBLEM})
def list_(request: Request, limit: pagination.Limit = pagination.DEFAULT_PAGE,
          cursor: pagination.Cursor = None,
          who: Principal = Depends(require(Scope.TICKETING))) -> Any:
    """The active subscriptions of the caller's organization, oldest first, a page at a time."""
    with request.app.state.ctx.sessions() as session:
        return service.subscription_page(session=session, owner=owner(who), limit=limit,
                                         cursor=cursor)


@router.delete("/{subscription_id}", status_code=204, responses={404: PROBLEM})
def delete(subscription_id: SubscriptionId, request: Request,
           who: Principal = Depends(require(Scope.TICKETING))) -> None:
    """Remove a subscription: nothing more is sent to it, its undelivered messages fail."""
    ctx = request.app.state.ctx
    ctx.subscription_cache.pop(owner(who))
    with ctx.sessions(write=True) as session:
        if not service.unsubscribe(session=session, owner=owner(who),
                                   subscription_id=subscription_id, now=worker.wall_clock()):
            raise Problem(404, "subscription-not-found", "Subscription not found",
                          f"no active subscription {subscription_id!r}",
                          errors=[{"field": "path.subscription_id", "message": "unknown"}])


def _own_subscription(session: Any, subscription_id: str, who: Principal, *,
                      active: bool = False) -> WebhookSubscription:
    """The subscription if the caller owns it (an admin key sees all), else a 404; with
    ``active`` a removed one is a 409."""
    row = session.get(WebhookSubscription, subscription_id)
    if row is None or (row.owner != owner(who) and Scope.ADMIN not in who.scopes):
        raise Problem(404, "subscription-not-found", "Subscription not found",
                      f"no subscription {subscription_id!r} for this organization",
                      errors=[{"field": "path.subscription_id", "message": "unknown subscription"}])
    if active and not row.active:
        raise Problem(409, "subscription-inactive", "Subscription removed",
                      f"subscription {subscription_id!r} was removed; nothing is sent to it",
                      errors=[{"field": "path.subscription_id", "message": "removed"}])
    return row


@router.post("/{subscription_id}/rotate-secret", response_model=SubscriptionOut,
             responses={404: PROBLEM, 409: PROBLEM, 422: PROBLEM})
def rotate_secret(subscription_id: SubscriptionId, request: Request,
                  body: RotateSecret | None = None,
                  idempotency_key: idempotency.IdempotencyKey = None,
                  who: Principal = Depends(require(Scope.TICKETING))) -> Any:
    """A new signing secret (shown once in the answer). The old one keeps signing beside it
    (two `v1,` signatures in `webhook-signature`) for `overlap_hours`, so the receiver can switch
    over without losing messages; a secret left from an earlier rotation stops at once, so a
    blind retry would cut off the secret the receiver still uses: send an `Idempotency-Key`,
    and a retry answers the first rotation (its secret shown again to the same key within an
    hour, else `secret: null`) instead of rotating again."""
    ctx = request.app.state.ctx
    hours = body.overlap_hours if body and body.overlap_hours is not None \
        else ctx.settings.webhook_secret_overlap_hours
    digest = idempotency.request_hash(subscription_id, body.model_dump(mode="json") if body
                                      else None)
    caller = presented_key(request.scope["headers"]) or ""
    now = ctx.now()
    with ctx.sessions(write=True) as session:
        row = _own_subscription(session, subscription_id, who, active=True)
        if idempotency_key is not None:
            found = idempotency.find(session, owner=owner(who), operation=ROTATE_OPERATION,
                                     key=idempotency_key, digest=digest)
            if found is not None:
                shown = (idempotency.unseal(found.sealed_secret, caller)
                         if idempotency.secret_replayable(found, caller_key_id=who.key_id,
                                                          now=now) else None)
                return idempotency.replay(found, extra={
                    "secret": shown if shown in (row.secret, row.previous_secret) else None})
        service.rotate_secret(row=row, overlap=timedelta(hours=hours), now=worker.wall_clock())
        session.flush()
        out = service.subscription_out(row, secret=True)
        if idempotency_key is not None:
            idempotency.forget_old_secrets(session, now)
            idempotency.store(session, owner=owner(who), operation=ROTATE_OPERATION,
                              key=idempotency_key, digest=digest, status_code=200,
                              response=SubscriptionOut.model_validate({**out, "secret": None})
                              .model_dump(mode="json"), created_by=who.key_id, now=now,
                              sealed_secret=idempotency.seal(row.secret, caller))
        return out


ROTATE_OPERATION = "POST /v1/webhooks/{subscription_id}/rotate-secret"


@router.post("/{subscription_id}/ping", response_model=DeliveryOut,
             responses={404: PROBLEM, 409: PROBLEM})
def ping(subscription_id: SubscriptionId, request: Request,
         who: Principal = Depends(require(Scope.TICKETING))) -> Any:
    """Send a signed `webhook.ping` to the subscription now (whatever its event filter) and
    answer how it went: `delivered`, or `failed` with the reason (a ping is tried once; retry it
    like any failed message)."""
    ctx = request.app.state.ctx
    with ctx.sessions(write=True) as session:
        _own_subscription(session, subscription_id, who, active=True)
        msg_id = service.enqueue_ping(session=session, subscription_id=subscription_id,
                                      now=worker.wall_clock())
    worker.deliver_now(ctx, msg_id)
    with ctx.sessions() as session:
        return service.delivery_out(service.message(session=session,
                                                    subscription_id=subscription_id,
                                                    message_id=msg_id))


@router.get("/{subscription_id}/deliveries", response_model=DeliveryPage,
            responses={404: PROBLEM, 422: PROBLEM})
def list_deliveries(subscription_id: SubscriptionId, request: Request,
                    status: DeliveryStatus | None = None,
                    limit: pagination.Limit = pagination.DEFAULT_PAGE,
                    cursor: pagination.Cursor = None,
                    who: Principal = Depends(require(Scope.TICKETING))) -> Any:
    """The subscription's messages, newest first, a page at a time: `pending` (being retried),
    `delivered`, or `failed` (the dead letters, with the attempts and the last error). The
    owner's key or an admin key."""
    with request.app.state.ctx.sessions() as session:
        _own_subscription(session, subscription_id, who)
        return service.deliveries(session=session, subscription_id=subscription_id,
                                  status=status, limit=limit, cursor=cursor)


@router.post("/{subscription_id}/deliveries/{message_id}/retry", status_code=202,
             response_model=DeliveryOut, responses={404: PROBLEM, 409: PROBLEM})
def retry_delivery(subscription_id: SubscriptionId, message_id: MessageId, request: Request,
                   who: Principal = Depends(require(Scope.TICKETING))) -> Any:
    """Queue a failed message again: its tries and its retry horizon start over and the next
    worker pass sends it (same webhook-id, so a receiver that got it after all drops the
    duplicate). Only a `failed` message of an active subscription; anything else is a 409."""
    ctx = request.app.state.ctx
    with ctx.sessions(write=True) as session:
        sub = _own_subscription(session, subscription_id, who)
        msg = service.message(session=session, subscription_id=subscription_id,
                              message_id=message_id)
        if msg is None:
            raise Problem(404, "delivery-not-found", "Delivery not found",
                          f"no message {message_id!r} for subscription {subscription_id!r}",
                          errors=[{"field": "path.message_id", "message": "unknown message"}])
        _own_subscription(session, sub.id, who, active=True)
        out = service.retry(session=session, subscription_id=subscription_id,
                            message_id=message_id, now=worker.wall_clock())
        if out is None:
            status = service.delivery_status(msg).value
            raise Problem(409, "delivery-not-failed", "Delivery not failed",
                          f"message {message_id!r} is {status}; only a failed one is retried",
                          errors=[{"field": "path.message_id", "message": f"status is {status}"}])
        return out
