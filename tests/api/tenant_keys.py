"""Keys of further organizations for the API tests (the ``api`` fixture's keys all belong to the
default organization)."""

from __future__ import annotations

from api.auth.service import create_key, create_organization, find_organization


def org_key(api, org: str, scope: str = "ticketing", *, as_name: str | None = None) -> str:
    """A new key with ``scope`` of organization ``org`` (created if missing), kept in
    ``api.keys`` under ``as_name`` (default ``org``) for ``api.h``; returns the organization id."""
    with api.ctx.sessions() as session:
        row = find_organization(session=session, ref=org) or create_organization(
            session=session, name=org)
        api.keys[as_name or org] = create_key(session=session, name=f"{org}-{scope}",
                                              scopes=scope, organization_id=row.id)[1]
        return row.id
