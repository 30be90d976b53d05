"""Importing a tenant's rooms (with their room lists as groups) and equipment mailboxes."""

from __future__ import annotations

from typing import Any

from shared.adapters.records import MailboxClaim, ResourceLink
from shared.core.errors import Conflict
from shared.service.linking import apply_account, check_quota
from shared.service.orgs import require_org
from shared.service.ports import Services


async def import_resources(services: Services, org_id: str) -> dict[str, Any]:
    """Create or update resources from the tenant's rooms (with room lists as groups) and
    equipment mailboxes, keyed by mailbox address."""
    org = await require_org(services, org_id)
    graph, tenant = services.graph, org.m365_tenant_id
    rooms = await graph.list_rooms(tenant)
    groups: dict[str, str] = {}
    for room_list in await graph.list_room_lists(tenant):
        for room in await graph.rooms_in_list(tenant, room_list["emailAddress"]):
            groups.setdefault(room["emailAddress"].lower(), room_list.get("displayName") or room_list["emailAddress"])
    users = [u async for u in graph.list_users(tenant)]
    by_mail = {(u.get("mail") or u.get("userPrincipalName") or "").lower(): u for u in users}
    room_mails = {r["emailAddress"].lower() for r in rooms}
    others = [u["id"] for mail, u in by_mail.items() if mail and mail not in room_mails]
    purposes = await graph.purposes(tenant, others)
    candidates = [
        (r["emailAddress"], r.get("displayName") or r["emailAddress"], "room", groups.get(r["emailAddress"].lower()))
        for r in rooms
    ]
    candidates += [
        (u.get("mail") or u["userPrincipalName"], u.get("displayName") or "", "equipment", None)
        for u in users
        if purposes.get(u["id"]) == "equipment"
    ]

    results = []
    for mailbox, name, kind, group in sorted(candidates, key=lambda c: c[0].lower()):
        user = by_mail.get(mailbox.lower())
        resource_id = mailbox.lower()
        if user is not None:
            held = await services.store.get(MailboxClaim, org=org_id, user_id=user["id"])
            if held is not None and held.owner_kind == "resource":
                resource_id = held.owner_id
        link = await services.store.get(ResourceLink, org=org_id, resource=resource_id)
        outcome = "created" if link is None else "updated"
        link = link or ResourceLink(org=org_id, resource=resource_id)
        desired = (mailbox.casefold(), name, kind, group)
        if (
            link.status == "linked"
            and ((link.mailbox or "").casefold(), link.display_name, link.kind, link.group) == desired
        ):
            results.append(
                {
                    "resource": resource_id,
                    "mailbox": mailbox,
                    "kind": kind,
                    "group": group,
                    "outcome": "unchanged",
                    "status": link.status,
                    "error": None,
                }
            )
            continue
        try:
            await check_quota(services, org, link)
            link.display_name, link.kind, link.group = name, kind, group
            await apply_account(services, org, link, mailbox)
        except Conflict as exc:
            results.append(
                {
                    "resource": resource_id,
                    "mailbox": mailbox,
                    "kind": kind,
                    "group": group,
                    "outcome": "skipped",
                    "status": "error",
                    "error": {"code": exc.code, "message": exc.message},
                }
            )
            continue
        results.append(
            {
                "resource": resource_id,
                "mailbox": mailbox,
                "kind": kind,
                "group": group,
                "outcome": outcome,
                "status": link.status,
                "error": {"code": link.error_code, "message": link.error_message} if link.status == "error" else None,
            }
        )
    totals = {k: sum(1 for r in results if r["outcome"] == k) for k in ("created", "updated", "unchanged", "skipped")}
    return {"results": results, "totals": totals}
