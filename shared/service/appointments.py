"""Appointments from the booking product: storage, and the sync to Outlook.

A sync is gather (the appointment, the links it names, our stored targets) → plan (pure,
`shared.core.outbound`) → apply (`shared.service.push`). Every step is idempotent, so a
retry from the queue, a repeated PUT or a re-run bulk job creates nothing new.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.adapters.inbound_records import SeenEvent
from shared.adapters.messages import AppointmentRetry
from shared.adapters.records import Appointment, Org, Target
from shared.core.errors import InvalidInput, NotFound
from shared.core.logcontext import log_context
from shared.core.org_settings import SyncMode
from shared.core.outbound import Mailbox, Stored, occurrence_patch, plan
from shared.core.validation import identifier
from shared.service import room_release
from shared.service.appointment_input import carried_exceptions, check_references, parse
from shared.service.orgs import require_org
from shared.service.ports import Services
from shared.service.push import apply, target_view

log = logging.getLogger("calsync.appointments")

RETRY_DELAY_S = 10  # first retry of a push Graph held up


async def stored_targets(services: Services, org: str, appointment: str) -> list[Target]:
    return [t async for t in services.store.query(Target, org=org, row_prefix={"appointment": appointment})]


async def sync(
    services: Services,
    org: Org,
    appt: Appointment,
    boxes: dict[tuple[str, str], Mailbox] | None = None,
    *,
    retries: int | None = None,
    final: bool = False,
    reassert: bool = False,
) -> dict[str, Any]:
    """Gather, plan, apply; answers the target view. `final`: no further retry will come.
    `reassert`: the booking product's word (a PUT, a bulk push): Outlook is made to hold
    this version again, where Outlook changed or deleted our event (core.outbound.plan)."""
    with log_context(org=org.org, operation="push_appointment"):
        await room_release.hold(services, appt)  # where the release timer finds its room bookings
        boxes = boxes if boxes is not None else await check_references(services, appt)
        targets = await stored_targets(services, org.org, appt.appointment)
        if org.config.sync_mode is SyncMode.OFF:
            # Off: no Graph writes. The appointment is stored; turning sync on again
            # catches up (shared.service.orgs.update_settings).
            view = [target_view(t) for t in targets if t.state != "deleted"]
            return {**_head(appt, targets), "targets": view, "syncOff": True}
        stored = [
            Stored(
                t.mailbox,
                t.role,
                t.event_id,
                t.written,
                t.state,
                t.generation,
                t.occurrences,
                observed=await _observed(services, t) if reassert else None,
                reassert=tuple(t.reassert),
                renew=t.renew,
            )
            for t in targets
        ]
        actions = plan(appt.desired(), org.config.use_organizer, boxes, stored, reassert=reassert)
        by_mailbox = {t.mailbox: t for t in targets}  # the shell updates these (and adds new ones)
        results = await apply(services, org, appt.appointment, actions, by_mailbox, retries=retries, final=final)
        return {**_head(appt, list(by_mailbox.values())), "targets": results}


async def _observed(services: Services, target: Target) -> dict[str, Any] | None:
    """What Outlook holds of our event as the last delta round saw it (its snapshot)."""
    if not target.event_id or target.state != "synced":
        return None
    seen = await services.store.get(SeenEvent, mailbox=target.mailbox, org=target.org, event_id=target.event_id)
    return seen.content if seen is not None and seen.role == "ours" else None


def pending(view: dict[str, Any]) -> bool:
    return any(t["state"] == "pending" for t in view["targets"])


async def sync_or_queue(
    services: Services,
    org: Org,
    appt: Appointment,
    boxes: dict[tuple[str, str], Mailbox] | None,
    *,
    reassert: bool = False,
) -> dict[str, Any]:
    """Sync now; what Graph held up is finished from the queue (nothing accepted is lost)."""
    view = await sync(services, org, appt, boxes, reassert=reassert)
    if pending(view):
        await services.queues.send(AppointmentRetry(org.org, appt.appointment), delay_seconds=RETRY_DELAY_S)
    return view


async def put(services: Services, org_id: str, appointment_id: str, body: dict[str, Any]) -> dict[str, Any]:
    org = await require_org(services, org_id)
    appt = parse(org_id, appointment_id, body, org.config.push_appointments_by_default)
    boxes = await check_references(services, appt)  # 400 before anything is written
    before = await services.store.get(Appointment, org=org_id, appointment=appointment_id)
    appt.occurrences = carried_exceptions(before, appt)
    await services.store.upsert(appt)
    return await sync_or_queue(services, org, appt, boxes, reassert=True)


async def delete(services: Services, org_id: str, appointment_id: str) -> dict[str, Any]:
    org = await require_org(services, org_id)
    identifier("appointment", appointment_id)
    appt = await services.store.get(Appointment, org=org_id, appointment=appointment_id)
    if appt is None:
        appt = Appointment(org=org_id, appointment=appointment_id)
    appt.deleted, appt.updated_at = True, services.clock.now()
    await services.store.upsert(appt)
    return await sync_or_queue(services, org, appt, {})


async def get(services: Services, org_id: str, appointment_id: str) -> dict[str, Any]:
    await require_org(services, org_id)
    appt = await services.store.get(Appointment, org=org_id, appointment=appointment_id)
    if appt is None:
        raise NotFound(f"appointment {appointment_id!r} is not known", code="appointment_not_found")
    targets = await stored_targets(services, org_id, appointment_id)
    view = {**_head(appt, targets), "targets": [target_view(t) for t in targets if t.state != "deleted"]}
    if rooms := await room_release.presences(services, org_id, appointment_id):
        view["rooms"] = rooms
    return view


def _head(appt: Appointment, targets: list[Target]) -> dict[str, Any]:
    head: dict[str, Any] = {"appointment": appt.appointment, "deleted": appt.deleted}
    head["onlineMeeting"] = appt.online_meeting
    live = [t for t in targets if t.role == "organizer" and t.state not in ("deleted", "deleting")]
    head["joinUrl"] = next((t.join_url for t in live if t.join_url), None)
    if appt.recurrence is not None:
        head["recurrence"] = appt.recurrence
        head["occurrences"] = exceptions_view(appt, targets)
    return head


def exceptions_view(appt: Appointment, targets: list[Target]) -> list[dict[str, Any]]:
    """A series' exceptions and cancellations, each with whether every target has it yet."""
    live = [t for t in targets if t.state not in ("deleted", "deleting")]
    desired = appt.desired()
    rows = []
    for day, override in sorted(appt.occurrences.items()):
        patch = occurrence_patch(desired, override)
        done = all(t.occurrences.get(day) == patch for t in live)
        rows.append({"date": day, **override, "state": "synced" if done and live else "pending"})
    return rows


async def retry(services: Services, org_id: str, appointment_id: str, *, final: bool) -> bool:
    """Queue retry of a sync that Graph held up; True when nothing is pending any more."""
    org = await require_org(services, org_id)
    appt = await services.store.get(Appointment, org=org_id, appointment=appointment_id)
    if appt is None:
        return True
    try:
        view = await sync(services, org, appt, retries=4, final=final)
    except InvalidInput as exc:
        # A worker or resource it names was deleted meanwhile: no retry can fix that, so the
        # waiting targets fail visibly instead of the message ending in the poison queue.
        for target in await stored_targets(services, org_id, appointment_id):
            if target.state == "pending":
                target.state, target.error_code, target.error_message = "failed", exc.code, exc.message
                await services.store.upsert(target)
        return True
    return not pending(view)
