"""Outlook → booking, the imperative shell: one delta round for one mailbox.

Gather (the delta round, what we know of each event: shared.service.event_lookup), plan
(`shared.core.inbound`, pure), apply (commit changes + the new deltaLink atomically to the
feed, then snapshots, held deletions, and a nudge to the webhook sender). A round that
loses a race to another round of the same mailbox raises ConcurrencyConflict and is
retried, re-reading from the deltaLink that won: the same change is never committed twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.messages import AppointmentRetry
from shared.adapters.records import DeltaState, EventRef, MailboxLink, Org, SeenEvent, Target
from shared.core import inbound
from shared.core.errors import ConcurrencyConflict, ConsentRequired, DeltaTokenExpired, GraphNotFound, MailboxNotEnabled
from shared.core.logcontext import log_context
from shared.service import feed, webhooks
from shared.service.event_lookup import know, linked_people
from shared.service.held_deletions import hold
from shared.service.links import load_link, save_link_fields, update_link
from shared.service.ports import Services

log = logging.getLogger("calsync.inbound")


@dataclass(frozen=True)
class RoundResult:
    changes: int
    held: int
    items: int
    fresh: bool


_running: dict[tuple[str, str, str], asyncio.Event] = {}
_again: set[tuple[str, str, str]] = set()


async def run(
    services: Services, org_id: str, kind: str, owner: str, *, notified_at: datetime | None = None
) -> RoundResult | None:
    """Rounds for one mailbox, coalesced in this process: a request that arrives while a
    round runs makes that round go once more instead of racing it. A race with another
    instance is retried here a few times, then left to the queue."""
    key = (org_id, kind, owner)
    if key in _running:
        _again.add(key)
        return None
    _running[key] = asyncio.Event()
    try:
        result = None
        while True:
            _again.discard(key)
            for attempt in range(3):
                try:
                    result = await _round(services, org_id, kind, owner, notified_at)
                    break
                except ConcurrencyConflict:
                    if attempt == 2:
                        raise
            if key not in _again:
                return result
    finally:
        _running.pop(key).set()


async def _round(
    services: Services, org_id: str, kind: str, owner: str, notified_at: datetime | None = None
) -> RoundResult | None:
    """One round for the mailbox of worker/resource `owner`; None if it is not linked."""
    store = services.store
    org = await store.get(Org, org=org_id)
    link = await load_link(services, org_id, kind, owner)
    if org is None or link is None or link.status != "linked" or not link.m365_user_id:
        return None
    mailbox = link.m365_user_id
    with log_context(org=org_id, mailbox=link.account, operation="mailbox_sync"):
        state = await store.get(DeltaState, org=org_id, kind="delta", mailbox=mailbox) or DeltaState(
            org=org_id, mailbox=mailbox, owner_kind=kind, owner_id=owner
        )
        now = services.clock.now()
        start = now - timedelta(days=services.settings.delta_days_back)
        end = now + timedelta(days=services.settings.delta_days_ahead)
        fresh = not state.delta_link
        try:
            try:
                items, new_link = await services.graph.delta(org.m365_tenant_id, mailbox, state.delta_link, start, end)
            except DeltaTokenExpired:
                log.info("delta token expired; starting a fresh round")
                fresh = True
                items, new_link = await services.graph.delta(org.m365_tenant_id, mailbox, None, start, end)
        except (MailboxNotEnabled, ConsentRequired, GraphNotFound) as exc:
            # Not something a retry fixes (a licence removed, consent revoked, user deleted):
            # the link says so, with Graph's reason, until an admin acts.
            code = "account_not_found" if isinstance(exc, GraphNotFound) else exc.code
            log.warning("delta round failed: %s", exc.message)
            await save_link_fields(services, link, status="error", error_code=code, error_message=exc.message)
            return None

        # An idle round reads nothing more: a fresh round needs every snapshot (to find
        # deletions), an incremental one only those of the items it got.
        if fresh:
            rows = [s async for s in store.query(SeenEvent, mailbox=mailbox)]
        else:
            rows = [s for item in items if (s := await store.get(SeenEvent, mailbox=mailbox, event_id=item["id"]))]
        seen = {
            s.event_id: inbound.Seen(s.event_id, s.appointment, s.role, s.change_key, s.content)
            for s in rows
            if s.org == org_id
        }
        people, users = await linked_people(services, org_id) if items else ({}, {})
        known: dict[str, inbound.Known] = {}
        for item in items:
            known[item["id"]] = await know(services, org, mailbox, item["id"], item, people, users)
        if fresh:
            present = {item["id"] for item in items}
            for event_id in seen:
                if event_id not in present:
                    known[event_id] = await know(services, org, mailbox, event_id, None)
        box = inbound.Mailbox(org_id, kind, owner, mailbox, bool(getattr(link, "restricted", False)))
        settings = org.config
        mapped = None
        if not fresh and sum(1 for i in items if "@removed" in i or i.get("isCancelled")) > inbound.GUARD_MIN_DELETIONS:
            # Enough deletions to wake the guard: it needs the mailbox's whole mapped count.
            mapped = sum(
                [
                    1
                    async for s in store.query(SeenEvent, mailbox=mailbox)
                    if s.org == org_id and s.role in ("ours", "created")
                ]
            )
        result = inbound.plan(box, items, known, seen, settings, full_round=fresh, people=people, mapped=mapped)

        state.delta_link, state.last_sync_at, state.rounds = new_link, services.clock.now(), state.rounds + 1
        state.owner_kind, state.owner_id = kind, owner
        await feed.commit(store, org_id, result.changes, state)  # ConcurrencyConflict → retried
        await _apply_snapshots(services, org_id, mailbox, result)
        synced_at = state.last_sync_at

        def stamp(current: MailboxLink) -> None:
            current.last_sync_at = synced_at
            if notified_at is not None and (
                current.last_notification_at is None or notified_at > current.last_notification_at
            ):
                current.last_notification_at = notified_at

        await update_link(services, link, stamp)
        if result.restore:
            await _restore(services, org, mailbox, result.restore)
        if result.held:
            await hold(services, org, link, result.held)
        if result.changes:
            await webhooks.nudge(services, org)
        if result.changes:
            log.info("%d change(s) from %d item(s)", len(result.changes), len(items))
        return RoundResult(len(result.changes), len(result.held), len(items), fresh)


async def _restore(services: Services, org: Org, mailbox: str, restore: list[tuple[str, bool]]) -> None:
    """oneWay: put the booking's version back on our events changed or deleted in Outlook."""
    for appointment, deleted in restore:
        target = await services.store.get(Target, org=org.org, appointment=appointment, mailbox=mailbox)
        if target is None or target.state in ("deleting", "deleted"):
            continue
        if deleted and target.event_id:
            await services.store.delete_key(EventRef, mailbox=mailbox, event_id=target.event_id)
            target.event_id, target.state, target.generation = None, "pending", target.generation + 1
        target.written = {}  # what Outlook shows now is not what we wrote: send everything again
        await services.store.upsert(target)
        await services.queues.send(AppointmentRetry(org.org, appointment))


async def _apply_snapshots(services: Services, org_id: str, mailbox: str, result: inbound.Plan) -> None:
    ops: list[Any] = [
        (
            "upsert",
            SeenEvent(
                mailbox=mailbox,
                event_id=s.event_id,
                org=org_id,
                appointment=s.appointment,
                role=s.role,
                change_key=s.change_key,
                content=s.content,
            ),
        )
        for s in result.upsert
    ]
    if ops:
        await services.store.submit(ops)
    for event_id in set(result.forget) - {s.event_id for s in result.upsert}:
        # One by one: a batch delete of a row that is already gone fails the whole batch.
        await services.store.delete_key(SeenEvent, mailbox=mailbox, event_id=event_id)
