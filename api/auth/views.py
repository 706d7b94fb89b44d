"""Routes of /v1/organizations and /v1/keys (admin scope): organizations, their API keys with
scopes and expiry, listing and revocation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from api import idempotency, pagination
from api.auth import service
from api.auth.deps import require
from api.auth.models import (
    KeyCreate,
    KeyCreated,
    KeyOut,
    KeyPage,
    OrganizationCreate,
    OrganizationOut,
    OrganizationPage,
    Principal,
    Scope,
)
from api.idempotency import IdempotencyKey
from api.inputs import identifier
from api.limits import presented_key
from api.problems import Problem, field_problem
from inventory.db.dispatch_models import ApiKey

router = APIRouter(tags=["keys"])

PROBLEM = {"content": {"application/problem+json": {}}, "description": "problem details"}
OrgId = Annotated[identifier(40), Path(description="`id` of the organization")]
KeyId = Annotated[identifier(40), Path(description="`id` of the key")]
ADMIN = Depends(require(Scope.ADMIN))


def _org_out(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "created_at": row.created_at}


def _no_org(org_id: str) -> Problem:
    return Problem(404, "organization-not-found", "Organization not found",
                   f"no organization {org_id!r}",
                   errors=[{"field": "path.organization_id", "message": "unknown organization"}])


@router.post("/v1/organizations", status_code=201, response_model=OrganizationOut,
             responses={409: PROBLEM, 422: PROBLEM})
def create_organization(body: OrganizationCreate, request: Request,
                        _: Principal = ADMIN) -> Any:
    """A new organization (a ticket-system integration, a partner). The name is unique: a
    second create with it is a 409 that names the existing organization."""
    with request.app.state.ctx.sessions(write=True) as session:
        existing = service.find_organization(session=session, ref=body.name.strip())
        if existing is not None and existing.name == body.name.strip():
            raise Problem(409, "organization-exists", "Organization exists",
                          f"an organization named {body.name!r} exists: {existing.id}",
                          errors=[{"field": "body.name", "message": "already taken"}],
                          existing=f"/v1/organizations/{existing.id}")
        return _org_out(service.create_organization(session=session, name=body.name,
                                                    now=request.app.state.ctx.now()))


@router.get("/v1/organizations", response_model=OrganizationPage)
def list_organizations(request: Request, limit: pagination.Limit = pagination.DEFAULT_PAGE,
                       cursor: pagination.Cursor = None, _: Principal = ADMIN) -> Any:
    """Organizations ordered by id, a page at a time."""
    after = pagination.decode("organizations", cursor, (str,))
    with request.app.state.ctx.sessions() as session:
        rows = service.list_organizations(session=session, after=after[0] if after else None,
                                          limit=limit + 1)
        return pagination.page("organizations", rows, limit, lambda r: (r.id,),
                               lambda rs: [_org_out(r) for r in rs])


@router.get("/v1/organizations/{organization_id}", response_model=OrganizationOut,
            responses={404: PROBLEM})
def get_organization(organization_id: OrgId, request: Request, _: Principal = ADMIN) -> Any:
    with request.app.state.ctx.sessions() as session:
        row = service.find_organization(session=session, ref=organization_id)
        if row is None or row.id != organization_id:
            raise _no_org(organization_id)
        return _org_out(row)


KEY_OPERATION = "POST /v1/organizations/{organization_id}/keys"


@router.post("/v1/organizations/{organization_id}/keys", status_code=201,
             response_model=KeyCreated, responses={404: PROBLEM, 422: PROBLEM})
def create_key(organization_id: OrgId, body: KeyCreate, request: Request,
               idempotency_key: IdempotencyKey = None, who: Principal = ADMIN) -> Any:
    """A new API key of the organization with its scopes and an optional expiry. The answer
    carries the key itself, shown this once (only its hash is stored). With an
    `Idempotency-Key`, a retry answers the same key (`Idempotent-Replayed: true`) and creates
    none; the secret is shown again only to the admin key that made the request, within an
    hour (kept sealed under that key, which the database does not hold); any other replay
    has `key: null`."""
    ctx = request.app.state.ctx
    now = ctx.now()
    digest = idempotency.request_hash(organization_id, body.model_dump(mode="json"))
    caller = presented_key(request.scope["headers"]) or ""
    with ctx.sessions(write=True) as session:
        if idempotency_key is not None:
            found = idempotency.find(session, owner=who.organization_id,
                                     operation=KEY_OPERATION, key=idempotency_key,
                                     digest=digest)
            if found is not None:
                return idempotency.replay(found, extra={
                    "key": _unsealed(session, found, who, caller, now)})
        try:
            row, plain = service.create_key(session=session, name=body.name,
                                            scopes=[s.value for s in body.scopes],
                                            organization_id=organization_id,
                                            expires_at=body.expires_at, now=now)
        except service.UnknownOrganization:
            raise _no_org(organization_id) from None
        except ValueError as exc:
            raise field_problem(422, "body.expires_at", str(exc)) from None
        out = service.key_out(row)
        if idempotency_key is not None:
            idempotency.forget_old_secrets(session, now)
            idempotency.store(session, owner=who.organization_id, operation=KEY_OPERATION,
                              key=idempotency_key, digest=digest, status_code=201,
                              response=KeyCreated.model_validate({**out, "key": None})
                              .model_dump(mode="json"), created_by=who.key_id, now=now,
                              sealed_secret=idempotency.seal(plain, caller))
        return {**out, "key": plain}


def _unsealed(session: Any, record: Any, who: Principal, caller: str, now: Any) -> str | None:
    """The created key's secret for a replay by the caller that created it, else None."""
    if not idempotency.secret_replayable(record, caller_key_id=who.key_id, now=now):
        return None
    plain = idempotency.unseal(record.sealed_secret, caller)
    row = session.get(ApiKey, record.response["id"])
    if plain is None or row is None or service.hash_key(plain) != row.key_hash:
        return None
    return plain


@router.get("/v1/keys", response_model=KeyPage, responses={422: PROBLEM})
def list_keys(request: Request, organization_id: identifier(40) | None = None,
              limit: pagination.Limit = pagination.DEFAULT_PAGE,
              cursor: pagination.Cursor = None, _: Principal = ADMIN) -> Any:
    """Keys (never their secrets) ordered by id, of one organization if given."""
    after = pagination.decode("keys", cursor, (str,))
    with request.app.state.ctx.sessions() as session:
        rows = service.list_keys(session=session, organization_id=organization_id,
                                 after=after[0] if after else None, limit=limit + 1)
        return pagination.page("keys", rows, limit, lambda r: (r.id,),
                               lambda rs: [service.key_out(r) for r in rs])


@router.post("/v1/keys/{key_id}/revoke", response_model=KeyOut, responses={404: PROBLEM})
def revoke_key(key_id: KeyId, request: Request, _: Principal = ADMIN) -> Any:
    """Revoke a key: this server process refuses it at once, every other one within
    `key_cache_seconds` (0.5 s). Revoking a revoked key again changes nothing."""
    ctx = request.app.state.ctx
    with ctx.sessions(write=True) as session:
        row = service.revoke_key(session=session, key_id=key_id, now=ctx.now())
        if row is None:
            raise Problem(404, "key-not-found", "Key not found", f"no key {key_id!r}",
                          errors=[{"field": "path.key_id", "message": "unknown key"}])
        out = service.key_out(row)
    ctx.key_cache.clear()
    return out
