"""Outlook → booking, the imperative shell: one delta round for one mailbox.

Gather (the delta round, what we know of each event), plan (`shared.inbound`, pure),
apply (commit changes + the new deltaLink atomically to the feed, then snapshots, held
deletions, and a nudge to the webhook sender). A round that loses a race to another round
of the same mailbox raises ConcurrencyConflict and is retried from the queue, re-reading
from the deltaLink that won: the same change is never committed twice.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import feed, inbound
from shared.appointments import Appointment
from shared.bootstrap import Services
from shared.errors import ConsentRequired, DeltaTokenExpired, GraphNotFound, MailboxNotEnabled
from shared.links import MailboxLink, ResourceLink, WorkerLink
from shared.logctx import log_context
from shared.orgs import DEFAULT_SETTINGS, Org, utcnow
from shared.outbound import PROPERTY_ID
from shared.push import RETRY_QUEUE, EventRef, Target
from shared.snapshots import HeldDeletion, IcalRef, SeenEvent
from shared.tables import ConcurrencyConflict, encode_key

log = logging.getLogger("calsync.inbound")

SYNC_QUEUE = "mailbox-sync"
WEBHOOK_QUEUE = "webhook-delivery"


@dataclass(frozen=True)
class RoundResult:
    changes: int
    held: int
    items: int
    fresh: bool


async def load_link(services: Services, org_id: str, kind: str, owner: str) -> MailboxLink | None:
    if kind == "worker":
        return await services.store.get(WorkerLink, org=org_id, worker=owner)
    return await services.store.get(ResourceLink, org=org_id, resource=owner)


async def save_link_fields(services: Services, link: MailboxLink, **fields: Any) -> None:
    """Set a few fields on a link without losing a concurrent change to its other fields."""
    for _ in range(5):
        for name, value in fields.items():
            setattr(link, name, value)
        try:
            await (services.store.update(link) if link.etag else services.store.upsert(link))
            return
        except ConcurrencyConflict:
            fresh = await load_link(services, link.org, link.KIND, link.owner_id)
            if fresh is None:
                return
            link = fresh
    raise ConcurrencyConflict(f"link {link.owner_id} keeps changing")


async def _people(services: Services, org_id: str) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Linked workers and resources by lower-cased address: (kind, id), and their user ids."""
    out: dict[str, tuple[str, str]] = {}
    users: dict[str, str] = {}
    for cls in (WorkerLink, ResourceLink):
        async for link in services.store.query(cls, org=org_id, filter="status eq @s", parameters={"s": "linked"}):
            if link.account and link.m365_user_id:
                out[link.account.lower()] = (link.KIND, link.owner_id)
                users[link.account.lower()] = link.m365_user_id
    return out, users


def _desired(appt: Appointment) -> dict[str, Any]:
    return inbound.written_content(
        {
            "subject": appt.title,
            "body": {"content": appt.body},
            "isAllDay": appt.is_all_day,
            "start": {"dateTime": appt.start, "timeZone": appt.time_zone},
            "end": {"dateTime": appt.end, "timeZone": appt.time_zone},
            "location": {"displayName": appt.location},
            "sensitivity": "private" if appt.is_private else "normal",
        }
    )


async def _know(
    services: Services,
    org: Org,
    mailbox: str,
    event_id: str,
    item: dict[str, Any] | None,
    people: dict[str, tuple[str, str]] | None = None,
    users: dict[str, str] | None = None,
) -> inbound.Known:
    """Everything the planner needs to know about one event, from our tables (and, for an
    unknown event some app created, one Graph read of our extended property)."""
    store = services.store
    ref = await store.get(EventRef, mailbox=mailbox, event_id=event_id)
    appointment = ref.appointment if ref is not None and ref.org == org.org else None
    if appointment is None and item is not None and "@removed" not in item:
        ical = item.get("iCalUId")
        meeting = await store.get(IcalRef, ical_uid=ical) if ical else None
        if meeting is not None and meeting.org == org.org:
            return inbound.Known(meeting=meeting.appointment)
        organizer = (((item.get("organizer") or {}).get("emailAddress") or {}).get("address") or "").lower()
        if ical and not item.get("isOrganizer") and people and users and people.get(organizer, ("", ""))[0] == "worker":
            # An invitation from a linked worker (a room's copy, say) that we may have just
            # sent, before our index of it was written: ask the organizer's copy.
            tag = await services.graph.find_by_ical(org.m365_tenant_id, users[organizer], ical, PROPERTY_ID)
            if tag and tag.startswith(f"{org.org}/"):
                return inbound.Known(meeting=tag[len(org.org) + 1 :])
        if item.get("transactionId"):
            # Made by an app: ours if it carries our property (our create may not have been
            # recorded yet when this round runs).
            tag = await services.graph.event_tag(org.m365_tenant_id, mailbox, event_id, PROPERTY_ID)
            if tag and tag.startswith(f"{org.org}/"):
                appointment = tag[len(org.org) + 1 :]
    if appointment is None:
        return inbound.Known()
    appt = await store.get(Appointment, org=org.org, appointment=appointment)
    target = await store.get(Target, org=org.org, appointment=appointment, mailbox=mailbox)
    bases = []
    if target is not None and target.written:
        bases.append(inbound.written_content(target.written))
    if appt is not None:
        bases.append(_desired(appt))
    retiring = (
        appt is None
        or appt.deleted
        or not appt.push
        or (target is not None and target.state in ("deleting", "deleted"))
    )
    return inbound.Known(ours=appointment, bases=tuple(bases), retiring=retiring)


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
        state = await store.get(feed.DeltaState, org=org_id, kind="delta", mailbox=mailbox) or feed.DeltaState(
            org=org_id, mailbox=mailbox, owner_kind=kind, owner_id=owner
        )
        now = datetime.now(UTC)
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
            code = {"MailboxNotEnabled": "no_mailbox", "ConsentRequired": "consent_required"}.get(
                type(exc).__name__, "account_not_found"
            )
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
        people, users = await _people(services, org_id) if items else ({}, {})
        known: dict[str, inbound.Known] = {}
        for item in items:
            known[item["id"]] = await _know(services, org, mailbox, item["id"], item, people, users)
        if fresh:
            present = {item["id"] for item in items}
            for event_id in seen:
                if event_id not in present:
                    known[event_id] = await _know(services, org, mailbox, event_id, None)
        box = inbound.Mailbox(org_id, kind, owner, mailbox, bool(getattr(link, "restricted", False)))
        settings = {**DEFAULT_SETTINGS, **org.settings}
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

        state.delta_link, state.last_sync_at, state.rounds = new_link, utcnow(), state.rounds + 1
        state.owner_kind, state.owner_id = kind, owner
        await feed.commit(store, org_id, result.changes, state)  # ConcurrencyConflict → retried
        await _apply_snapshots(services, org_id, mailbox, result)
        stamps: dict[str, Any] = {"last_sync_at": state.last_sync_at}
        if notified_at is not None and (link.last_notification_at is None or notified_at > link.last_notification_at):
            stamps["last_notification_at"] = notified_at
        await save_link_fields(services, link, **stamps)
        if result.restore:
            await _restore(services, org, mailbox, result.restore)
        if result.held:
            await _hold(services, org, link, result.held)
        if result.changes and settings.get("webhookUrl"):
            await services.queues.send(WEBHOOK_QUEUE, {"org": org_id, "attempt": 0})
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
        await services.queues.send(RETRY_QUEUE, {"org": org.org, "appointment": appointment})


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


async def _hold(services: Services, org: Org, link: MailboxLink, held: list[feed.NewChange]) -> None:
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
    link.attention = (
        f"{len(held)} deletions in Outlook held by the mass-deletion guard; confirm them with "
        f"POST …/{link.KIND}s/{link.owner_id}/confirm-deletions"
    )
    link.held_deletions += len(held)
    await services.store.upsert(link)
    log.warning("mass-deletion guard: holding %d deletions", len(held))


async def confirm_deletions(services: Services, org_id: str, kind: str, owner: str) -> dict[str, Any]:
    """The admin confirms: held deletions go to the feed and the link's attention clears."""
    from shared.links import get_link

    cls = WorkerLink if kind == "worker" else ResourceLink
    link = await get_link(services, cls, org_id, **{kind: owner})
    prefix = f"{encode_key(kind)}|{encode_key(owner)}|"
    held = [
        h
        async for h in services.store.query(
            HeldDeletion,
            org=org_id,
            filter="RowKey ge @lo and RowKey lt @hi",
            parameters={"lo": prefix, "hi": prefix[:-1] + "}"},
        )
    ]
    changes = [
        feed.NewChange(h.type, h.appointment, mailbox=h.mailbox, event_id=h.event_id, data=h.data, **{kind: owner})
        for h in held
    ]
    await feed.commit(services.store, org_id, changes, None)
    if held:
        for h in held:
            h.etag = None
        await services.store.submit([("delete", h) for h in held])
    link.attention, link.held_deletions = None, 0
    await services.store.upsert(link)
    org = await services.store.get(Org, org=org_id)
    if changes and org is not None and org.setting("webhookUrl"):
        await services.queues.send(WEBHOOK_QUEUE, {"org": org_id, "attempt": 0})
    return {kind: owner, "released": len(changes)}
