"""Organisations: the booking product's tenants of calsync, each tied to one M365 tenant."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from shared.bootstrap import Services
from shared.errors import GraphError, InvalidInput, NotFound
from shared.tables import Entity
from shared.validation import GUID, boolean, https_url, known_keys, optional_str

log = logging.getLogger("calsync.orgs")

SYNC_MODES = ("twoWay", "oneWay", "off")
RESTRICTED_POLICIES = ("detach", "ignore")
DEFAULT_SETTINGS: dict[str, Any] = {
    "syncMode": "twoWay",
    "pushAppointmentsByDefault": True,
    "useOrganizer": True,
    "createFromOutlook": True,
    "createPrefix": "",
    # Centerbase's restricted-user rules: an Outlook edit or delete by a restricted worker
    # detaches them (attendee_removed, plus a personal copy for edits) — or is ignored.
    "restrictedEdit": "detach",
    "restrictedDelete": "detach",
    "maxResources": None,
    "allowUserMailboxesAsResources": False,
    "webhookUrl": None,
    "webhookSecret": None,
}


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(kw_only=True)
class Org(Entity):
    TABLE: ClassVar[str] = "Orgs"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("org",)

    org: str
    m365_tenant_id: str
    display_name: str = ""
    status: str = "pending"  # connected | error | pending
    error_code: str | None = None
    error_message: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def setting(self, name: str) -> Any:
        return self.settings.get(name, DEFAULT_SETTINGS[name])


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
    known_keys(body, {"m365TenantId", "displayName"})
    tenant = body.get("m365TenantId")
    if not isinstance(tenant, str) or not GUID.match(tenant.strip()):
        raise InvalidInput("m365TenantId", "m365TenantId must be the Microsoft 365 tenant id (a GUID)")
    return tenant.strip().lower(), optional_str(body, "displayName") or ""


async def require_org(services: Services, org_id: str) -> Org:
    org = await services.store.get(Org, org=org_id)
    if org is None:
        raise NotFound(f"organisation {org_id!r} is not known", code="org_not_found")
    return org


async def connect(services: Services, org_id: str, tenant_id: str, display_name: str) -> Org:
    """Store the org and check that we can read its tenant with one cheap Graph call."""
    org = await services.store.get(Org, org=org_id) or Org(org=org_id, m365_tenant_id=tenant_id)
    org.m365_tenant_id, org.display_name, org.updated_at = tenant_id, display_name, utcnow()
    try:
        await services.graph.probe(tenant_id)
        org.status, org.error_code, org.error_message = "connected", None, None
    except GraphError as exc:
        org.status, org.error_code, org.error_message = "error", exc.code, exc.message
        log.warning("org %s: tenant check failed: %s", org_id, exc.code)
    await services.store.upsert(org)
    return org


def validate_settings(body: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Merge `body` over the current settings; every field checked, unknown keys refused."""
    known_keys(body, set(DEFAULT_SETTINGS))
    merged = {**DEFAULT_SETTINGS, **current}
    for name in ("pushAppointmentsByDefault", "useOrganizer", "createFromOutlook", "allowUserMailboxesAsResources"):
        if name in body:
            merged[name] = boolean(body, name, DEFAULT_SETTINGS[name])
    if "syncMode" in body:
        if body["syncMode"] not in SYNC_MODES:
            raise InvalidInput("syncMode", f"syncMode must be one of {', '.join(SYNC_MODES)}")
        merged["syncMode"] = body["syncMode"]
    for name in ("restrictedEdit", "restrictedDelete"):
        if name in body:
            if body[name] not in RESTRICTED_POLICIES:
                raise InvalidInput(name, f"{name} must be one of {', '.join(RESTRICTED_POLICIES)}")
            merged[name] = body[name]
    if "createPrefix" in body:
        merged["createPrefix"] = optional_str(body, "createPrefix", max_len=64) or ""
    if "maxResources" in body:
        value = body["maxResources"]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise InvalidInput("maxResources", "maxResources must be a whole number ≥ 0, or null for no limit")
        merged["maxResources"] = value
    if "webhookUrl" in body:
        url = optional_str(body, "webhookUrl", max_len=2048)
        merged["webhookUrl"] = https_url("webhookUrl", url) if url else None
    if "webhookSecret" in body:
        secret = optional_str(body, "webhookSecret", max_len=256)
        if secret is not None and len(secret) < 16:
            raise InvalidInput("webhookSecret", "webhookSecret must be at least 16 characters")
        merged["webhookSecret"] = secret
    if merged["webhookUrl"] and not merged["webhookSecret"]:
        raise InvalidInput("webhookSecret", "webhookSecret is required when webhookUrl is set")
    return merged


def settings_view(org: Org) -> dict[str, Any]:
    view = {**DEFAULT_SETTINGS, **org.settings}
    view["webhookSecret"] = None  # never returned
    view["webhookSecretSet"] = bool(org.settings.get("webhookSecret"))
    return view


async def update_settings(services: Services, org_id: str, body: dict[str, Any]) -> Org:
    org = await require_org(services, org_id)
    merged = validate_settings(body, org.settings)
    org.settings, org.updated_at = merged, utcnow()
    await services.store.update(org)
    return org
