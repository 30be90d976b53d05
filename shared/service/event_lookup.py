"""The gather step of a mailbox round: what we know of each event a delta round returned."""

from __future__ import annotations

from typing import Any

from shared.adapters.inbound_records import MeetingClaim
from shared.adapters.records import Appointment, EventRef, IcalRef, Org, Target
from shared.core import inbound
from shared.core.errors import GraphNotFound, GraphRejected
from shared.core.mapping import PROPERTY_ID, desired_content, tagged_appointment, written_content
from shared.service.ports import Services

FOREIGN = inbound.Known(foreign=True)


async def _organizer_tag(services: Services, org: Org, organizer: str, ical: str) -> str | None:
    """Our property on the organizer's copy of the meeting (by mailbox id or address), if any."""
    try:
        return await services.graph.find_by_ical(org.m365_tenant_id, organizer, ical, PROPERTY_ID)
    except (GraphNotFound, GraphRejected):
        return None  # not a mailbox of the tenant (an outside organizer): not ours


async def know(
    services: Services,
    org: Org,
    mailbox: str,
    event_id: str,
    item: dict[str, Any] | None,
    people: dict[str, tuple[str, str]] | None = None,
    users: dict[str, str] | None = None,
    ours_before: str | None = None,
) -> inbound.Known:
    """Everything the planner needs to know about one event, from our tables (and, for an
    unknown event some app created, one Graph read of our extended property).
    `ours_before`: the appointment this org's snapshot says the event was ours for."""
    store = services.store
    ref = await store.get(EventRef, mailbox=mailbox, event_id=event_id)
    if ref is not None and ref.org != org.org:
        return FOREIGN  # another org's booking, written by calsync: never this org's news
    appointment = ref.appointment if ref is not None else None
    if appointment is None and ours_before is not None:
        # Our event whose index we dropped: we deleted or replaced it ourselves (the target
        # no longer names it), unless the target still does.
        target = await store.get(Target, org=org.org, appointment=ours_before, mailbox=mailbox)
        if target is None or target.event_id != event_id or target.state in ("deleting", "deleted"):
            return inbound.Known(ours=ours_before, retiring=True)
    if appointment is None and item is not None and "@removed" not in item:
        ical = item.get("iCalUId")
        meeting = await store.get(IcalRef, ical_uid=ical) if ical else None
        if meeting is not None:
            return inbound.Known(meeting=meeting.appointment) if meeting.org == org.org else FOREIGN
        claim = await store.get(MeetingClaim, org=org.org, kind="meeting", ical_uid=ical) if ical else None
        if claim is not None:
            # A meeting made in Outlook, already this org's appointment: one copy reports it.
            if claim.mailbox == mailbox:
                return inbound.Known(outlook=claim.appointment)
            return inbound.Known(meeting=claim.appointment)
        organizer = (((item.get("organizer") or {}).get("emailAddress") or {}).get("address") or "").lower()
        if ical and organizer and not item.get("isOrganizer"):
            # An invitation (a room's copy, say) that calsync may have just sent, for this org
            # or another sharing the mailbox, before its index was written: ask the organizer's
            # copy — a linked worker's by its mailbox, anyone else's by address (one read, once
            # per new event; an address Graph does not know is no one's of ours).
            ours = people and users and people.get(organizer, ("", ""))[0] == "worker"
            tag = await _organizer_tag(services, org, users[organizer] if ours and users else organizer, ical)
            meeting_of = tagged_appointment(org.org, tag)
            if meeting_of:
                return inbound.Known(meeting=meeting_of)
            if tag:
                return FOREIGN
        if item.get("transactionId"):
            # Made by an app: ours if it carries our property (our create may not have been
            # recorded yet when this round runs).
            tag = await services.graph.event_tag(org.m365_tenant_id, mailbox, event_id, PROPERTY_ID)
            appointment = tagged_appointment(org.org, tag)
            if tag and appointment is None:
                return FOREIGN
            if tag is None and await services.graph.get_event(org.m365_tenant_id, mailbox, event_id) is None:
                # Gone already (an app's short-lived event — ours, just deleted, included): no
                # news; its removal comes in a later round.
                return FOREIGN
    if appointment is None:
        return inbound.Known()
    appt = await store.get(Appointment, org=org.org, appointment=appointment)
    target = await store.get(Target, org=org.org, appointment=appointment, mailbox=mailbox)
    bases = []
    if target is not None and target.written:
        bases.append(written_content(target.written))
    earlier, written_at = {}, None
    if target is not None and target.event_id == event_id:
        earlier = {e["changeKey"]: written_content(e["written"]) for e in target.earlier}
        written_at = target.written_at
    if target is not None and target.intended:
        bases.append(written_content({**target.written, **target.intended}))
    if appt is not None:
        bases.append(desired_content(appt.desired()))
    retiring = (
        appt is None
        or appt.deleted
        or not appt.push
        or (target is not None and target.state in ("deleting", "deleted"))
    )
    writes = target.writes if target is not None else None
    return inbound.Known(
        ours=appointment, bases=tuple(bases), retiring=retiring, earlier=earlier, writes=writes, written_at=written_at
    )
