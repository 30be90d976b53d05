"""Organisations: the booking product's tenants of calsync, each tied to one M365 tenant."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from shared.adapters.messages import AppointmentRetry, OrgReconcile
from shared.adapters.records import Appointment, Org
from shared.adapters.room_records import RoomCheckInOrg
from shared.core.api_check import checked
from shared.core.api_requests import OrgBody
from shared.core.errors import ConcurrencyConflict, GraphError, NotFound
from shared.core.org_settings import SyncMode
from shared.service.ports import Services

log = logging.getLogger("calsync.orgs")

SETTINGS_RETRIES = 5  # concurrent PUTs of settings: re-read and merge again, this many times


def consent_url(services: Services, tenant_id: str, redirect_uri: str | None = None, state: str | None = None) -> str:
    """The admin-consent URL of our multi-tenant app registration for one tenant."""
    params = {"client_id": services.settings.graph_client_id or ""}
    if redirect_uri:
        params["redirect_uri"] = redirect_uri
    if state:
        params["state"] = state
    return f"https://login.microsoftonline.com/{tenant_id}/adminconsent?{urlencode(params)}"


def org_view(services: Services, org: Org) -> dict[str, Any]:
    return {
        "org": org.org,
        "m365TenantId": org.m365_tenant_id,
        "displayName": org.display_name,
        "status": org.status,
        "error": {"code": org.error_code, "message": org.error_message} if org.error_code else None,
        "adminConsentUrl": consent_url(services, org.m365_tenant_id),
        "createdAt": org.created_at,
        "updatedAt": org.updated_at,
    }


def parse_org_body(body: dict[str, Any]) -> tuple[str, str]:
    """(tenant id, display name) of a PUT /api/orgs/{org} body."""
    m = checked(OrgBody, body)
    return m.m365_tenant_id, m.display_name or ""


async def list_orgs(services: Services, *, limit: int, after: str | None) -> tuple[list[Org], str | None]:
    """A page of orgs in id order; the next page's `after` (None on the last page)."""
    items: list[Org] = []
    async for org in services.store.query(
        Org, row_after={"org": after} if after else None, page_size=min(limit + 1, 1000)
    ):
        items.append(org)
        if len(items) > limit:
            break
    more = len(items) > limit
    items = items[:limit]
    return items, (items[-1].org if more and items else None)


async def require_org(services: Services, org_id: str) -> Org:
    org = await services.store.get(Org, org=org_id)
    if org is None:
        raise NotFound(f"organisation {org_id!r} is not known", code="org_not_found")
    return org


async def connect(services: Services, org_id: str, tenant_id: str, display_name: str) -> Org:
    """Store the org and check that we can read its tenant with one cheap Graph call."""
    # A new org has no links yet: its address index is complete from the start.
    org = await services.store.get(Org, org=org_id) or Org(org=org_id, m365_tenant_id=tenant_id, addresses_indexed=True)
    org.m365_tenant_id, org.display_name, org.updated_at = tenant_id, display_name, services.clock.now()
    try:
        await services.graph.probe(tenant_id)
        org.status, org.error_code, org.error_message = "connected", None, None
    except GraphError as exc:
        org.status, org.error_code, org.error_message = "error", exc.code, exc.message
        log.warning("org %s: tenant check failed: %s", org_id, exc.code)
    await services.store.upsert(org)
    return org


async def update_settings(services: Services, org_id: str, body: dict[str, Any]) -> Org:
    """Merge `body` over the stored settings. A concurrent writer makes us re-read and merge
    again (never a lost update, never a 500); past the retries, the 409 says so."""
    attempt = 0
    while True:
        org = await require_org(services, org_id)
        was_off = org.config.sync_mode is SyncMode.OFF
        development = services.settings.development
        org.settings = org.config.merged(body, development=development).to_stored()  # 400 before any write
        org.updated_at = services.clock.now()
        try:
            saved = await services.store.update(org)
        except ConcurrencyConflict:
            attempt += 1
            if attempt >= SETTINGS_RETRIES:
                raise
            continue
        if was_off and saved.config.sync_mode is not SyncMode.OFF:
            await catch_up(services, saved)
        # The release timer visits only orgs with room check-in on (shared.service.room_release).
        if saved.config.room_check_in:
            await services.store.upsert(RoomCheckInOrg(org=org_id))
        else:
            await services.store.delete_key(RoomCheckInOrg, scope="all", org=org_id)
        return saved


async def catch_up(services: Services, org: Org) -> None:
    """Sync is on again: one push of every appointment (each writes only what differs) and
    one round per mailbox (reporting what happened in Outlook while it was off)."""
    await services.queues.send(OrgReconcile(org.org))
    async for appt in services.store.query(Appointment, org=org.org):
        await services.queues.send(AppointmentRetry(org.org, appt.appointment))
