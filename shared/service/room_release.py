"""Room check-in and auto-release: the booking product checks people in; a timer releases
room bookings nobody checked in to (the room declines the meeting, as a room mailbox would,
saying why), and the feed reports `room_released`.

Each minute the timer sends one message per org with `roomCheckIn` on; the org's message
reads the holds due (a range of rows of RoomHolds, plus its series), and for each booking
takes it (RoomPresence none → `releasing`, conditional), finds the room's copy of the
meeting, renews the claim, declines it, and commits `released` with the change in one
transaction. A check-in takes the same record (none → `checked_in`), so the two never both
happen; two instances never both decline (shared.core.room_release). Only meetings calsync
organizes (an organizer target with its iCalUId) can be released: a room's calendar holds a
copy then.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.adapters.messages import RoomRelease
from shared.adapters.records import Appointment, Org, ResourceLink, Target
from shared.adapters.room_records import RoomCheckInOrg, RoomHold, RoomPresence
from shared.core import room_release as rules
from shared.core.api_check import checked
from shared.core.api_rooms import CheckInBody
from shared.core.changes import NewChange
from shared.core.errors import ConcurrencyConflict, Conflict, GraphError, InvalidInput, NotFound
from shared.service import feed
from shared.service.orgs import require_org
from shared.service.ports import Services

log = logging.getLogger("calsync.rooms")
CHECK_IN_TRIES = 3


async def hold(services: Services, appt: Appointment) -> None:
    """Keep the appointment where the release timer finds it (every push calls this)."""
    key = rules.hold_of(appt)
    if key is not None:
        await services.store.upsert(RoomHold(org=appt.org, at=key, appointment=appt.appointment))


async def fan_out(services: Services) -> int:
    sent = 0
    async for row in services.store.query(RoomCheckInOrg, scope="all"):
        await services.queues.send(RoomRelease(row.org))
        sent += 1
    return sent


async def release_due(services: Services, org_id: str) -> int:
    """Release the org's room bookings whose grace period is over; how many were released."""
    store = services.store
    org = await store.get(Org, org=org_id)
    if org is None or not org.config.room_check_in:
        await store.delete_key(RoomCheckInOrg, scope="all", org=org_id)  # off, or the org is gone: no more runs
        return 0
    now = services.clock.now()
    first, until = rules.window(now, timedelta(minutes=org.config.release_after_minutes))
    # Holds whose bookings began before the window will never be due again: dropped.
    async for old in store.query(RoomHold, org=org_id, row_between=({"at": "0"}, {"at": rules.hold_key(first)})):
        if old.at < rules.hold_key(first):
            await store.delete(old)
    due = ({"at": rules.hold_key(first)}, {"at": rules.hold_key(until + timedelta(minutes=1))})
    holds = [h async for h in store.query(RoomHold, org=org_id, row_between=due)]
    holds += [h async for h in store.query(RoomHold, org=org_id, row_prefix={"at": rules.SERIES})]
    released = 0
    for row in holds:
        appt = await store.get(Appointment, org=org_id, appointment=row.appointment)
        if appt is None or rules.hold_of(appt) != row.at:
            await store.delete(row)  # moved, deleted or no longer booking rooms: the push keeps the new one
            continue
        for booking in rules.bookings(appt, appt.resources, first, until, now):
            try:
                released += await _release(services, org, appt, booking, now)
            except GraphError as exc:  # this booking waits for the lease; the others go on
                log.warning("releasing %s of %s failed: %s", booking.resource, booking.appointment, exc.code)
            except ConcurrencyConflict:  # another run took it over after our lease: it finishes it
                log.info("release of %s of %s taken over by another run", booking.resource, booking.appointment)
    return released


def _key(org: str, appointment: str, resource: str, occurrence: str) -> dict[str, str]:
    return {"org": org, "kind": "room", "appointment": appointment, "resource": resource, "occurrence": occurrence}


async def _release(services: Services, org: Org, appt: Appointment, booking: rules.Booking, now: datetime) -> int:
    store, graph = services.store, services.graph
    key = _key(org.org, booking.appointment, booking.resource, booking.occurrence)
    presence = await store.get(RoomPresence, **key)
    if not rules.may_release(presence.state if presence else None, presence.at if presence else None, now):
        return 0
    room = await store.get(ResourceLink, org=org.org, resource=booking.resource)
    targets = [t async for t in store.query(Target, org=org.org, row_prefix={"appointment": appt.appointment})]
    organizer = next((t for t in targets if t.role == "organizer" and t.state == "synced" and t.ical_uid), None)
    if room is None or room.status != "linked" or not room.m365_user_id or organizer is None:
        return 0  # no meeting of ours in a room calendar to decline
    claim = presence or RoomPresence(**key, state=rules.RELEASING, start=_iso(booking.start))
    claim.state, claim.at = rules.RELEASING, now
    try:
        claim = await (store.update(claim) if claim.etag else store.insert(claim))
    except ConcurrencyConflict:
        return 0  # a check-in, or another instance's release, came first
    copy = await _room_copy(services, org, room.m365_user_id, organizer.ical_uid or "", booking)
    declined = False
    if copy is not None and (copy.get("responseStatus") or {}).get("response") != "declined":
        # The read may have outlasted the lease (Graph's retries and their waits): renew the
        # claim first, so a run that took the booking over meanwhile declines alone.
        claim.at = services.clock.now()
        claim = await store.update(claim)  # ConcurrencyConflict: taken over
        minutes = org.config.release_after_minutes
        comment = f"Released: nobody checked in within {minutes} minutes of the start."
        declined = await graph.decline_event(org.m365_tenant_id, room.m365_user_id, copy["id"], comment)
    data: dict[str, Any] = {"start": _iso(booking.start), "releaseAfterMinutes": org.config.release_after_minutes}
    if booking.occurrence != rules.SINGLE:
        data["occurrence"] = booking.occurrence
    data["declined"] = declined  # false: the room's calendar no longer held it (released already)
    change = NewChange(
        "room_released",
        appt.appointment,
        mailbox=room.m365_user_id,
        event_id=copy["id"] if copy else None,
        data=data,
        resource=booking.resource,
    )
    claim.state, claim.at = rules.RELEASED, now
    await feed.commit(store, org.org, [change], claim)  # ConcurrencyConflict: another took it over
    log.info("released room %s of %s (%s)", booking.resource, booking.appointment, booking.occurrence)
    return 1


async def _room_copy(
    services: Services, org: Org, room: str, ical_uid: str, booking: rules.Booking
) -> dict[str, Any] | None:
    """The room's copy of the meeting (of its occurrence, for a series), or None."""
    copy = await services.graph.meeting_copy(org.m365_tenant_id, room, ical_uid)
    if copy is None or booking.occurrence == rules.SINGLE:
        return copy
    found = await services.graph.instances(org.m365_tenant_id, room, copy["id"], booking.start, booking.end)
    return next((i for i in found if not i.get("isCancelled")), None)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def check_in(services: Services, org_id: str, appointment_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Someone came: the booking of this room (and occurrence) is never released."""
    m = checked(CheckInBody, body)
    org = await require_org(services, org_id)
    if not org.config.room_check_in:
        raise Conflict("room check-in is off for this organisation (settings: roomCheckIn)", code="check_in_off")
    appt = await services.store.get(Appointment, org=org_id, appointment=appointment_id)
    if appt is None or appt.deleted:
        raise NotFound(f"appointment {appointment_id!r} is not known", code="appointment_not_found")
    if m.resource not in appt.resources:
        raise InvalidInput("resource", f"{m.resource!r} is not a room of appointment {appointment_id!r}")
    if (appt.recurrence is None) != (m.occurrence is None):
        why = "occurrence (its original date) is required for a series" if appt.recurrence else "not a series"
        raise InvalidInput("occurrence", f"occurrence: {why}")
    key = _key(org_id, appointment_id, m.resource, m.occurrence or rules.SINGLE)
    for _ in range(CHECK_IN_TRIES):
        presence = await services.store.get(RoomPresence, **key)
        refused = rules.check_in_refused(presence.state if presence else None)
        if refused:
            raise Conflict(refused, code="room_released")
        if presence is not None and presence.state == rules.CHECKED_IN:
            return presence_view(presence)
        record = presence or RoomPresence(**key, state=rules.CHECKED_IN)
        record.state, record.at = rules.CHECKED_IN, services.clock.now()
        try:
            saved = await (services.store.update(record) if record.etag else services.store.insert(record))
        except ConcurrencyConflict:
            continue  # a release or another check-in came first: look again
        return presence_view(saved)
    raise ConcurrencyConflict(f"the check-in of {m.resource} kept changing")


async def presences(services: Services, org_id: str, appointment_id: str) -> list[dict[str, Any]]:
    """The appointment's room check-ins and releases, for its view."""
    rows = services.store.query(RoomPresence, org=org_id, row_prefix={"kind": "room", "appointment": appointment_id})
    return [presence_view(p) async for p in rows]


def presence_view(p: RoomPresence) -> dict[str, Any]:
    out: dict[str, Any] = {"resource": p.resource, "state": p.state, "at": p.at}
    if p.occurrence != rules.SINGLE:
        out["occurrence"] = p.occurrence
    return out
