"""Booking → Outlook, the imperative shell: carry out the planner's actions.

Write-ahead: a target is stored as `pending` (with its deterministic transactionId) before
Graph is asked to create the event, and looked up by our extended property if an earlier
attempt may have reached Graph. Each action's failure is isolated to its target: Graph
being unavailable leaves it `pending` (the queue retries), a refusal makes it `failed`;
neither is swallowed.
"""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from shared.adapters.inbound_records import SeenEvent
from shared.adapters.records import Appointment, EventRef, IcalRef, MailboxLink, Org, Target
from shared.core.errors import ConcurrencyConflict, GraphError, GraphNotFound, GraphRejected, GraphUnavailable
from shared.core.mapping import (
    COMPARED,
    PROPERTY_ID,
    join_block_html,
    property_value,
    transaction_id,
    written_content,
)
from shared.core.outbound import Action, Create, Delete, Keep, Occurrences, Skip, Update
from shared.service.links import load_link, update_link
from shared.service.ports import Services

log = logging.getLogger("calsync.push")
# Where to look for an occurrence around its original start: Outlook does not let one move
# past its neighbours (ErrorOccurrenceCrossingBoundary), so a month covers daily to monthly.
INSTANCE_SLACK = timedelta(days=35)
EARLIER_WRITES = 3  # our writes before the last, kept per target for stale delta items
SAVE_TRIES = 5
ONLINE_REFUSED = (
    "Microsoft 365 made the event but not as a Teams meeting: the organizer's calendar does not "
    "allow Teams meetings (check the organizer's Teams licence and meeting policy). The next "
    "update of the appointment asks again."
)
OCCURRENCE_KEYS = 5  # our latest writes of one occurrence whose changeKeys the inbound side knows


def target_view(t: Target) -> dict[str, Any]:
    return {
        "mailbox": t.address,
        "mailboxId": t.mailbox,
        "role": t.role,
        t.owner_kind: t.owner_id,
        "eventId": t.event_id,
        "state": "pending" if t.state == "deleting" else t.state,
        "responses": t.responses or None,  # a meeting's attendees and rooms: accepted, declined…
        "error": {"code": t.error_code, "message": t.error_message} if t.error_code else None,
        **({"joinUrl": t.join_url} if t.join_url else {}),
    }


def skip_view(s: Skip) -> dict[str, Any]:
    return {
        "mailbox": None,
        "mailboxId": None,
        "role": s.role,
        s.kind: s.id,
        "eventId": None,
        "state": "skipped",
        "responses": None,
        "error": {"code": s.reason, "message": f"{s.kind} {s.id!r} is not linked to a Microsoft 365 mailbox"},
    }


async def apply(
    services: Services,
    org: Org,
    appointment: str,
    actions: list[Action],
    targets: dict[str, Target],
    *,
    retries: int | None = None,
    final: bool = False,
) -> list[dict]:
    """Run the actions, one mailbox's in order, mailboxes side by side."""
    per_mailbox: dict[str, list[Action]] = {}
    results: list[dict[str, Any]] = []
    for action in actions:
        if isinstance(action, Skip):
            results.append(skip_view(action))
        else:
            per_mailbox.setdefault(action.mailbox, []).append(action)
    shell = _Shell(services, org, appointment, targets, retries, final)
    done = await asyncio.gather(*(shell.run(mailbox, items) for mailbox, items in per_mailbox.items()))
    for target in done:
        if target is not None and target.state != "deleted":
            results.append(target_view(target))
    return results


@dataclass
class _Shell:
    services: Services
    org: Org
    appointment: str
    targets: dict[str, Target]
    retries: int | None
    final: bool
    # Each target's `written` as this push last read or saved it: what a delta round that
    # wrote the row meanwhile took out of it is told apart from what this push changed.
    stored: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.stored = {mailbox: dict(t.written) for mailbox, t in self.targets.items()}

    @property
    def tenant(self) -> str:
        return self.org.m365_tenant_id

    def target(self, mailbox: str) -> Target:
        if mailbox not in self.targets:
            self.targets[mailbox] = Target(org=self.org.org, appointment=self.appointment, mailbox=mailbox)
        return self.targets[mailbox]

    async def run(self, mailbox: str, actions: list[Action]) -> Target | None:
        target = self.target(mailbox)
        for action in actions:
            try:
                if isinstance(action, Create):
                    await self.create(target, action)
                elif isinstance(action, Update):
                    await self.update(target, action)
                elif isinstance(action, Delete):
                    await self.delete(target, action)
                elif isinstance(action, Keep) and target.state != "synced":
                    target.state, target.error_code, target.error_message = "synced", None, None
                    await self.save(target)
                elif isinstance(action, Occurrences):
                    await self.occurrences(target, action)
            except GraphError as exc:
                retryable = isinstance(exc, GraphUnavailable) and not self.final
                # A delete held up stays `deleting` (shown as pending): Graph may have done it
                # with the answer lost, and the inbound side must still take the removal for ours.
                deleting = isinstance(action, Delete) and target.state == "deleting"
                target.state = ("deleting" if deleting else "pending") if retryable else "failed"
                target.error_code, target.error_message = exc.code, exc.message
                log.warning("target %s: %s (%s)", mailbox, exc.code, target.state)
                await self.save(target)
                break
        return target

    async def save(self, target: Target) -> None:
        """Conditional on the row as read: the inbound side may have written it meanwhile (an
        attendee's or room's answer), and its write is kept, not overwritten."""
        target.updated_at = self.services.clock.now()
        store = self.services.store
        for _ in range(SAVE_TRIES):
            try:
                await (store.update(target) if target.etag else store.insert(target))
                self.stored[target.mailbox] = dict(target.written)
                return
            except ConcurrencyConflict:
                fresh = await store.get(Target, org=target.org, appointment=target.appointment, mailbox=target.mailbox)
                if fresh is not None:
                    _keep_round_writes(target, fresh, self.stored.get(target.mailbox, {}))
                    self.stored[target.mailbox] = dict(fresh.written)
                target.etag = fresh.etag if fresh is not None else None
        raise ConcurrencyConflict(f"target {target.mailbox} of {target.appointment} kept changing")

    async def _found(self, mailbox: str) -> list[dict[str, Any]]:
        return await self.services.graph.find_events(
            self.tenant, mailbox, PROPERTY_ID, property_value(self.org.org, self.appointment)
        )

    async def _still_wanted(self) -> bool:
        """Whether the appointment still wants its events, read again just before one is made:
        a booking product's DELETE that landed after this push read it wins (its own push
        deletes what there is; this one must not make a new event behind it)."""
        appt = await self.services.store.get(Appointment, org=self.org.org, appointment=self.appointment)
        return appt is not None and not appt.deleted and appt.push

    async def create(self, target: Target, action: Create) -> None:
        if not await self._still_wanted():
            return
        target.role, target.address = action.role, action.address
        target.owner_kind, target.owner_id = action.owner_kind, action.owner_id
        target.transaction_id, target.generation = action.transaction_id, action.generation
        target.intended = {k: action.event[k] for k in COMPARED if k in action.event}
        target.state, target.event_id, target.attempts = "pending", None, target.attempts + 1
        target.occurrences = {}  # a new series has none of the old one's exceptions
        await self.save(target)  # write-ahead: a crash from here on is recovered by lookup
        graph = self.services.graph
        existing = await self._found(action.mailbox) if action.maybe_exists else []
        if existing:
            event = existing[0]
            for extra in existing[1:]:  # never leave a duplicate behind
                await graph.delete_event(self.tenant, action.mailbox, extra["id"], retries=self.retries)
            if any(target.written.get(k) != action.event.get(k) for k in COMPARED if k in action.event):
                patch = {k: v for k, v in action.event.items() if k in COMPARED}
                join = (event.get("onlineMeeting") or {}).get("joinUrl") or target.join_url
                patch = _with_join_block(patch, join)
                event = await graph.update_event(self.tenant, action.mailbox, event["id"], patch, retries=self.retries)
        else:
            event = await graph.create_event(self.tenant, action.mailbox, action.event, retries=self.retries)
        await self._synced(target, event, action.event)

    async def update(self, target: Target, action: Update) -> None:
        # What we are about to write: if Graph applies it and the answer is lost, the inbound
        # side must still know it for ours (not an Outlook edit).
        target.intended = {k: action.event[k] for k in COMPARED if k in action.event}
        target.reassert = sorted(action.patch)  # a retry writes them again, whatever `written` says
        await self.save(target)
        try:
            event = await self.services.graph.update_event(
                self.tenant,
                action.mailbox,
                action.event_id,
                _with_join_block(action.patch, target.join_url),
                retries=self.retries,
            )
        except GraphNotFound:
            # Deleted in Outlook meanwhile: the booking product's update brings it back.
            await self.services.store.delete_key(EventRef, mailbox=action.mailbox, event_id=action.event_id)
            target.generation += 1
            full = {
                **action.event,
                "transactionId": transaction_id(self.org.org, self.appointment, action.mailbox, target.generation),
                "singleValueExtendedProperties": [
                    {"id": PROPERTY_ID, "value": property_value(self.org.org, self.appointment)}
                ],
            }
            await self.create(
                target,
                Create(
                    action.mailbox,
                    target.address,
                    action.role,
                    target.owner_kind,
                    target.owner_id,
                    full,
                    full["transactionId"],
                    target.generation,
                    False,
                ),
            )
            return
        await self._synced(target, event, action.event)

    async def delete(self, target: Target, action: Delete) -> None:
        graph = self.services.graph
        target.state = "deleting"  # write-ahead: the inbound side ignores our own deletion
        await self.save(target)
        ids = [action.event_id] if action.event_id else [e["id"] for e in await self._found(action.mailbox)]
        for event_id in ids:
            await graph.delete_event(self.tenant, action.mailbox, event_id, retries=self.retries)
            await self.services.store.delete_key(EventRef, mailbox=action.mailbox, event_id=event_id)
            await self.services.store.delete_key(SeenEvent, mailbox=action.mailbox, org=self.org.org, event_id=event_id)
        if target.ical_uid and target.role == "organizer":
            await self.services.store.delete_key(IcalRef, ical_uid=target.ical_uid)
        target.state, target.event_id, target.change_key, target.written = "deleted", None, None, {}
        target.generation += 1
        target.error_code = target.error_message = None
        await self.save(target)

    async def occurrences(self, target: Target, action: Occurrences) -> None:
        """Write a series' exceptions to the matching instances (found by `originalStart`):
        a PATCH moves or edits one, a DELETE cancels it. What is written is recorded per date,
        so a retry or a repeated PUT writes nothing again."""
        if not target.event_id or target.state != "synced":
            return  # the series itself did not make it: its retry brings the exceptions
        graph = self.services.graph
        first, last = action.changes[0][1], action.changes[-1][1]
        found = await graph.instances(
            self.tenant, target.mailbox, target.event_id, first - INSTANCE_SLACK, last + INSTANCE_SLACK
        )
        by_start = {str(e.get("originalStart") or "")[:19]: e for e in found}
        for day, original, patch in action.changes:
            instance = by_start.get(original.strftime("%Y-%m-%dT%H:%M:%S"))
            if patch.get("cancelled"):
                if instance is not None:
                    await graph.delete_event(self.tenant, target.mailbox, instance["id"], retries=self.retries)
                    await self.services.store.delete_key(EventRef, mailbox=target.mailbox, event_id=instance["id"])
            elif instance is None:
                raise GraphRejected(f"the series has no occurrence on {day}", code="occurrence_not_found")
            else:
                event = await graph.update_event(
                    self.tenant,
                    target.mailbox,
                    instance["id"],
                    _with_join_block(patch, target.join_url),
                    retries=self.retries,
                )
                before = await self.services.store.get(EventRef, mailbox=target.mailbox, event_id=event["id"])
                keys = [event.get("changeKey") or "", *(before.keys if before is not None else [])]
                await self.services.store.upsert(
                    EventRef(
                        mailbox=target.mailbox,
                        event_id=event["id"],
                        org=self.org.org,
                        appointment=self.appointment,
                        role=target.role,
                        change_key=event.get("changeKey"),
                        series=target.event_id,
                        keys=[k for k in keys if k][:OCCURRENCE_KEYS],
                        written_at=event.get("lastModifiedDateTime"),
                    )
                )
            remembered = action.record.get(day, patch) if day in action.record else patch
            target.occurrences = {k: v for k, v in target.occurrences.items() if k != day}
            if remembered is not None:
                target.occurrences[day] = remembered
            await self.save(target)

    async def _synced(self, target: Target, event: dict[str, Any], written: dict[str, Any]) -> None:
        # A delta item read before our latest write may show an earlier one of ours: it carries
        # that write's changeKey and content (both: a changeKey alone is not enough, the
        # answer to a PATCH of one field also carries an Outlook edit made to another).
        # The join URL of an online meeting: an answer without onlineMeeting (a lookup's
        # $select) keeps the one the same event had.
        joined = (event.get("onlineMeeting") or {}).get("joinUrl")
        target.join_url = joined or (target.join_url if target.event_id == event["id"] else None)
        if target.event_id == event["id"] and target.written and target.change_key:
            earlier = {"changeKey": target.change_key, "written": target.written}
            target.earlier = [earlier, *target.earlier][:EARLIER_WRITES]
        new_series = target.event_id != event["id"] and "recurrence" in written
        if target.event_id != event["id"]:
            target.earlier = []
        target.event_id, target.change_key = event["id"], event.get("changeKey")
        target.written_at = event.get("lastModifiedDateTime")
        target.ical_uid = event.get("iCalUId")
        # Graph may make the event and quietly leave it offline (201, isOnlineMeeting false:
        # docs-contrib issue #4625): not written, so the next update asks again; the target says so.
        refused = bool(written.get("isOnlineMeeting")) and event.get("isOnlineMeeting") is False
        offline = ("isOnlineMeeting", "onlineMeetingProvider") if refused else ()
        target.written = {k: written[k] for k in COMPARED if k in written and k not in offline}
        target.intended, target.reassert, target.renew = {}, [], False
        target.writes += 1
        target.state, target.error_code, target.error_message = "synced", None, None
        if refused:
            target.error_code, target.error_message = "online_meeting_refused", ONLINE_REFUSED
        await self.services.store.upsert(
            EventRef(
                mailbox=target.mailbox,
                event_id=target.event_id,
                org=self.org.org,
                appointment=self.appointment,
                role=target.role,
                change_key=target.change_key,
                when=None if "recurrence" in written else _span(written),
            )
        )
        if target.ical_uid and target.role == "organizer":
            # Attendees' and rooms' copies of our meeting carry its iCalUId: this finds them.
            await self.services.store.upsert(
                IcalRef(ical_uid=target.ical_uid, org=self.org.org, appointment=self.appointment)
            )
        await self.save(target)
        if new_series:
            # After the target names it: a round that reads the master for this mark knows
            # it for what we wrote (one in between compared it with the old series' write).
            await self._unseen(target, event["id"])

    async def _unseen(self, target: Target, master_id: str) -> None:
        """A series we just made: rounds read its master until one has (MailboxLink.unseen_series)."""
        link = await load_link(self.services, self.org.org, target.owner_kind, target.owner_id)

        def add(current: MailboxLink) -> None:
            if master_id not in current.unseen_series:
                current.unseen_series = [*current.unseen_series, master_id]

        if link is not None:
            await update_link(self.services, link, add)


def _keep_round_writes(ours: Target, fresh: Target, stored: dict[str, Any]) -> None:
    """A delta round wrote the target after the push read it (shared.service.round_targets):
    the push's write stands, with what the round said kept — the answers it noted, our event
    deleted in Outlook (a newer generation for the same event), and oneWay's requests to put
    fields, occurrences or the whole series back. `stored`: `written` as the push last read or
    saved the row, so that only what the round took out of it is taken out of ours."""
    ours.responses = {**ours.responses, **fresh.responses}
    if fresh.generation > ours.generation and fresh.event_id is None:
        ours.state, ours.event_id, ours.generation, ours.written = fresh.state, None, fresh.generation, {}
        return
    ours.renew = ours.renew or fresh.renew
    for day, written in fresh.occurrences.items():
        if written.get("restore"):
            ours.occurrences = {**ours.occurrences, day: written}
    # Fields the round took out of `written` (Outlook changed them): sent again next time.
    # (At worst a field is written once more than needed.) Not what the push wrote since it
    # read the row: a new event's whole body, over an empty `written`, is not taken out.
    taken = set(stored) - set(fresh.written)
    ours.written = {k: v for k, v in ours.written.items() if k not in taken}


def _span(written: dict[str, Any]) -> dict[str, Any]:
    content = written_content(written)
    return {k: content[k] for k in ("start", "end", "isAllDay")}


def _with_join_block(patch: dict[str, Any], join_url: str | None) -> dict[str, Any]:
    """A new body replaces the Teams join block Exchange wrote (an occurrence's too): the body
    we send an online meeting carries one. What we record stays the plain text we meant."""
    if "body" not in patch or not join_url:
        return patch
    text = html.escape(str((patch["body"] or {}).get("content") or "")).replace("\n", "<br>")
    return {**patch, "body": {"contentType": "html", "content": text + join_block_html(join_url)}}
