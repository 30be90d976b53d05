"""The mass-deletion guard's held deletions: kept per link until an admin confirms them."""

from __future__ import annotations

import logging
from typing import Any

from shared.adapters.inbound_records import HeldDeletion
from shared.adapters.records import LINK_CLASSES, MailboxLink, Org
from shared.core import metric_names
from shared.core.changes import NewChange
from shared.service import feed, webhooks
from shared.service.links import get_link, update_link
from shared.service.ports import Services

log = logging.getLogger("calsync.inbound")


async def hold(services: Services, org: Org, link: MailboxLink, held: list[NewChange]) -> None:
    await services.store.submit(
        [
            (
                "upsert",
                HeldDeletion(
                    org=org.org,
                    owner_kind=link.KIND,
                    owner_id=link.owner_id,
                    event_id=c.event_id or "",
                    type=c.type,
                    appointment=c.appointment,
                    mailbox=c.mailbox,
                    data=c.data,
                ),
            )
            for c in held
        ]
    )

    # Counted, not added: a round retried after holding them holds the same rows again.
    rows = {"owner_kind": link.KIND, "owner_id": link.owner_id}
    count = len([h async for h in services.store.query(HeldDeletion, org=org.org, row_prefix=rows)])

    def attend(current: MailboxLink) -> None:
        current.held_deletions = count
        current.attention = (
            f"{current.held_deletions} deletions in Outlook held by the mass-deletion guard; confirm them with "
            f"POST …/{link.KIND}s/{link.owner_id}/confirm-deletions"
        )

    await update_link(services, link, attend)
    log.warning("mass-deletion guard: holding %d deletions", len(held))


async def confirm_deletions(services: Services, org_id: str, kind: str, owner: str) -> dict[str, Any]:
    """The admin confirms: held deletions go to the feed and the link's attention clears."""
    link = await get_link(services, LINK_CLASSES[kind], org_id, owner)
    held = [
        h
        async for h in services.store.query(
            HeldDeletion, org=org_id, row_prefix={"owner_kind": kind, "owner_id": owner}
        )
    ]
    changes = [
        NewChange(h.type, h.appointment, mailbox=h.mailbox, event_id=h.event_id, data=h.data, **{kind: owner})
        for h in held
    ]
    await feed.commit(services.store, org_id, changes, None)
    for change in changes:
        services.metrics.add(metric_names.CHANGES, type=change.type)
    if held:
        for h in held:
            h.etag = None
        await services.store.submit([("delete", h) for h in held])

    def clear(current: MailboxLink) -> None:
        current.attention, current.held_deletions = None, 0

    await update_link(services, link, clear)
    org = await services.store.get(Org, org=org_id)
    if changes and org is not None:
        await webhooks.nudge(services, org)
    return {kind: owner, "released": len(changes)}
