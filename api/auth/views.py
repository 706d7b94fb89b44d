"""Routes of /v1/organizations and /v1/keys (admin scope): organizations, their API keys with
scopes and expiry, listing and revocation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from api import pagination
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
from api.inputs import identifier
from api.problems import Problem, field_problem

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
        return _org_out(service.create_organization(session=session, name=body.name))


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


@router.post("/v1/organizations/{organization_id}/keys", status_code=201,
             response_model=KeyCreated, responses={404: PROBLEM, 422: PROBLEM})
def create_key(organization_id: OrgId, body: KeyCreate, request: Request,
               _: Principal = ADMIN) -> Any:
    """A new API key of the organization with its scopes and an optional expiry. The answer
    carries the key itself, shown this once (only its hash is stored)."""
    ctx = request.app.state.ctx
    with ctx.sessions(write=True) as session:
        try:
            row, plain = service.create_key(session=session, name=body.name,
                                            scopes=[s.value for s in body.scopes],
                                            organization_id=organization_id,
                                            expires_at=body.expires_at, now=ctx.now())
        except service.UnknownOrganization:
            raise _no_org(organization_id) from None
        except ValueError as exc:
            raise field_problem(422, "body.expires_at", str(exc)) from None
        return {**service.key_out(row), "key": plain}


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
        row = service.revoke_key(session=session, key_id=key_id)
        if row is None:
            raise Problem(404, "key-not-found", "Key not found", f"no key {key_id!r}",
                          errors=[{"field": "path.key_id", "message": "unknown key"}])
        out = service.key_out(row)
    ctx.key_cache.clear()
    return out
