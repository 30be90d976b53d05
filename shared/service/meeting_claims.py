"""Meetings made in Outlook and the calendar that reports each (MeetingClaim): handing the
claim over when that calendar leaves a meeting another linked calendar still holds."""

from __future__ import annotations

from dataclasses import replace

from shared.adapters.inbound_records import MeetingClaim, SeenEvent
from shared.adapters.records import Org
from shared.core import inbound
from shared.core.changes import NewChange
from shared.core.mapping import FIELDS, normalize, values
from shared.service.people import RoundPeople
from shared.service.ports import Services


async def hand_over(
    services: Services,
    org: Org,
    mailbox: str,
    result: inbound.Plan,
    seen: dict[str, inbound.Seen],
    found: RoundPeople,
) -> None:
    """A meeting made in Outlook left the calendar that reports it (a room declined a move, an
    attendee deleted it): while another linked calendar of the org still holds it, that one
    reports it from now on, and this owner is only `attendee_removed` — not `deleted`. What
    the meeting is now (a move that made this calendar leave, say) is reported at once: the
    new calendar may have seen it already, as a copy."""
    changes: list[NewChange] = []
    for change in result.changes:
        changes.append(change)
        prior = seen.get(change.event_id or "")
        ical = prior.content.get("iCalUId") if prior is not None and prior.role == "created" else None
        if change.type != "deleted" or prior is None or not ical:
            continue
        claim = await services.store.get(MeetingClaim, org=org.org, kind="meeting", ical_uid=ical)
        if claim is None or claim.mailbox != mailbox:
            continue
        addresses = (prior.content.get("organizer"), *prior.content.get("attendees", {}))
        await found.learn(a for a in addresses if a)
        people, users = found.people, found.users
        others = {users[a] for a in addresses if a in users} - {mailbox}
        for other in sorted(others):
            held = [
                s
                async for s in services.store.query(
                    SeenEvent,
                    mailbox=other,
                    row_prefix={"org": org.org},
                    filter="appointment eq @a",
                    parameters={"a": claim.appointment},
                )
            ]
            # Still there and not cancelled (a meeting its organizer cancelled is just deleted).
            copies = [await services.graph.get_event(org.m365_tenant_id, other, s.event_id) for s in held]
            live = next((c for c in copies if c is not None and not c.get("isCancelled")), None)
            if live is None:
                continue
            claim.mailbox = other
            await services.store.update(claim)  # ConcurrencyConflict: the round is retried
            changes[-1] = replace(change, type="attendee_removed", data={"reason": "left_the_meeting"})
            now = normalize(live)
            changed = [f for f in FIELDS if now[f] != prior.content.get(f)]
            owner = next(((k, i) for a, (k, i) in people.items() if users.get(a) == other), None)
            if changed:
                data = {**values(now), "changed": changed}
                who = {owner[0]: owner[1]} if owner else {}
                changes.append(
                    NewChange("updated", claim.appointment, mailbox=other, event_id=live["id"], data=data, **who)
                )
            await services.store.upsert(
                SeenEvent(
                    mailbox=other,
                    org=org.org,
                    event_id=live["id"],
                    appointment=claim.appointment,
                    role="created",
                    change_key=live.get("changeKey"),
                    content=now,
                )
            )
            break
    result.changes = changes
