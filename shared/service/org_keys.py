"""Org-scoped API keys: issue, list, revoke (with the platform's key), and find the caller a
request's credentials name (shared.core.api_keys says who may call what)."""

from __future__ import annotations

import hmac
from typing import Any

from shared.adapters.key_records import KeyOwner, OrgKey
from shared.core import api_keys
from shared.core.api_keys import Caller
from shared.core.errors import NotFound
from shared.core.validation import identifier
from shared.service.orgs import require_org
from shared.service.ports import Services


def view(row: OrgKey) -> dict[str, Any]:
    return {"id": row.key_id, "prefix": f"{api_keys.PREFIX}{row.key_id}", "createdAt": row.created_at}


async def create(services: Services, org_id: str) -> dict[str, Any]:
    """A new key for the org: its secret is in this answer only."""
    await require_org(services, org_id)
    made = api_keys.new_key()
    row = await services.store.insert(OrgKey(org=org_id, key_id=made.key_id))
    await services.store.insert(KeyOwner(key_id=made.key_id, org=org_id, digest=made.digest))
    return {**view(row), "key": made.key}


async def listed(services: Services, org_id: str) -> list[dict[str, Any]]:
    await require_org(services, org_id)
    rows = [row async for row in services.store.query(OrgKey, org=org_id)]
    return [view(r) for r in sorted(rows, key=lambda r: r.created_at)]


async def revoke(services: Services, org_id: str, key_id: str) -> None:
    """Refused from now on (the lookup row first), then unlisted."""
    identifier("key", key_id)
    await require_org(services, org_id)
    row = await services.store.get(OrgKey, org=org_id, key_id=key_id)
    if row is None:
        raise NotFound(f"the org has no key {key_id!r}", code="key_not_found")
    await services.store.delete_key(KeyOwner, key_id=key_id)
    await services.store.delete(row)


async def revoke_all(services: Services, org_id: str) -> int:
    """Every key of an org (the org is being deleted)."""
    rows = [row async for row in services.store.query(OrgKey, org=org_id)]
    for row in rows:
        await services.store.delete_key(KeyOwner, key_id=row.key_id)
        await services.store.delete(row)
    return len(rows)


async def caller(services: Services, function_key: str, bearer: str) -> Caller | None:
    """Who the credentials are: the platform (the app's function key, `x-functions-key` or
    `code`), an org (`Authorization: Bearer csk_…`), or nobody (None)."""
    platform = services.settings.function_key
    if function_key and platform and hmac.compare_digest(function_key.encode(), platform.encode()):
        return Caller(None)
    key_id = api_keys.key_id_of(bearer) if bearer else None
    if key_id is None:
        return None
    owner = await services.store.get(KeyOwner, key_id=key_id)
    if owner is None or not api_keys.matches(bearer, owner.digest):
        return None
    return Caller(owner.org, key_id)
