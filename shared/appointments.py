"""Appointments from the booking product: validation, storage, and the sync to Outlook.

A sync is gather (the appointment, the links it names, our stored targets) → plan (pure,
`shared.outbound`) → apply (`shared.push`). Every step is idempotent, so a retry from the
queue, a repeated PUT or a re-run bulk job creates nothing new.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, ClassVar

from shared.bootstrap import Services
from shared.errors import InvalidInput, NotFound
from shared.links import ResourceLink, WorkerLink
from shared.logctx import log_context
from shared.orgs import Org, require_org, utcnow
from shared.outbound import Desired, Mailbox, Stored, plan
from shared.push import RETRY_QUEUE, Target, apply, target_view
from shared.tables import Entity, encode_key
from shared.timezones import UnknownTimeZone, zone
from shared.validation import boolean, email, identifier, known_keys, optional_str

log = logging.getLogger("calsync.appointments")

MAX_TITLE = 255
RETRY_DELAY_S = 10  # first retry of a push Graph held up
MAX_ATTENDEES = 500  # Graph/Exchange: at most 500 attendees per event
FIELDS = {
    "title",
    "start",
    "end",
    "timeZone",
    "isAllDay",
    "location",
    "body",
    "isPrivate",
    "organizer",
    "attendees",
    "guests",
    "resources",
    "push",
}


@dataclass(kw_only=True)
class Appointment(Entity):
    TABLE: ClassVar[str] = "Appointments"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("appointment",)

    org: str
    appointment: str
    title: str = ""
    start: str = ""
    end: str = ""
    time_zone: str = "UTC"
    is_all_day: bool = False
    location: str = ""
    body: str = ""
    is_private: bool = False
    organizer: str | None = None
    attendees: list[str] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    push: bool = True
    deleted: bool = False
    updated_at: datetime = field(default_factory=utcnow)

    def desired(self) -> Desired:
        return Desired(
            org=self.org,
            appointment=self.appointment,
            title=self.title,
            start=self.start,
            end=self.end,
            time_zone=self.time_zone,
            is_all_day=self.is_all_day,
            location=self.location,
            body=self.body,
            is_private=self.is_private,
            organizer=self.organizer,
            attendees=tuple(self.attendees),
            guests=tuple(self.guests),
            resources=tuple(self.resources),
            push=self.push,
            deleted=self.deleted,
        )


# -- validation -------------------------------------------------------------------------------
def _when(field_name: str, value: Any, tz_name: str, all_day: bool, prefix: str) -> datetime:
    """ISO date-time (naive = wall clock in timeZone; with offset = converted) → naive local."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(prefix + field_name, f"{prefix + field_name} must be an ISO 8601 date-time")
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = (
            datetime.combine(date.fromisoformat(text), time())
            if all_day and len(text) == 10
            else datetime.fromisoformat(text)
        )
    except ValueError:
        raise InvalidInput(
            prefix + field_name, f"{prefix + field_name}: {value!r} is not an ISO 8601 date-time"
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(zone(tz_name)).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def _ids(body: dict[str, Any], name: str, prefix: str) -> list[str]:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(prefix + name, f"{prefix + name} must be a list of strings")
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def parse(org_id: str, appointment_id: str, body: dict[str, Any], default_push: bool, prefix: str = "") -> Appointment:
    """Check every field (naming the bad one); no I/O."""
    identifier(prefix + "appointment", appointment_id)
    known_keys(body, FIELDS | ({"appointment"} if prefix else set()), prefix)
    title = optional_str(body, "title", max_len=MAX_TITLE, prefix=prefix)
    if not title or not title.strip():
        raise InvalidInput(prefix + "title", f"{prefix}title is required (1-{MAX_TITLE} characters)")
    tz_name = body.get("timeZone") or "UTC"
    if not isinstance(tz_name, str):
        raise InvalidInput(prefix + "timeZone", f"{prefix}timeZone must be a string")
    try:
        zone(tz_name)
    except UnknownTimeZone as exc:
        raise InvalidInput(prefix + "timeZone", f"{prefix}timeZone: {exc}") from None
    all_day = boolean(body, "isAllDay", False, prefix)
    start = _when("start", body.get("start"), tz_name, all_day, prefix)
    end = _when("end", body.get("end"), tz_name, all_day, prefix)
    if end <= start:
        raise InvalidInput(prefix + "end", f"{prefix}end must be after start")
    if all_day and (start.time() != time() or end.time() != time()):
        raise InvalidInput(prefix + "start", f"{prefix}an all-day appointment must start and end at midnight")
    organizer = body.get("organizer")
    if organizer is not None and (not isinstance(organizer, str) or not organizer.strip()):
        raise InvalidInput(prefix + "organizer", f"{prefix}organizer must be a worker id")
    attendees = _ids(body, "attendees", prefix)
    guests = [email(f"{prefix}guests[{i}]", g) for i, g in enumerate(_ids(body, "guests", prefix))]
    resources = _ids(body, "resources", prefix)
    if len(attendees) + len(guests) + len(resources) > MAX_ATTENDEES:
        raise InvalidInput(
            prefix + "attendees",
            f"{prefix}at most {MAX_ATTENDEES} attendees, guests and resources together (Exchange's limit)",
        )
    return Appointment(
        org=org_id,
        appointment=appointment_id,
        title=title.strip(),
        start=start.isoformat(),
        end=end.isoformat(),
        time_zone=tz_name,
        is_all_day=all_day,
        location=optional_str(body, "location", max_len=255, prefix=prefix) or "",
        body=optional_str(body, "body", max_len=30_000, prefix=prefix) or "",
        is_private=boolean(body, "isPrivate", False, prefix),
        organizer=organizer.strip() if organizer else None,
        attendees=attendees,
        guests=guests,
        resources=resources,
        push=boolean(body, "push", default_push, prefix),
    )


async def check_references(
    services: Services, appt: Appointment, prefix: str = "", known: dict[tuple[str, str], Mailbox] | None = None
) -> dict[tuple[str, str], Mailbox]:
    """Every worker and resource named must exist (400 naming it); returns their links."""
    boxes = dict(known or {})
    wanted = [
        ("worker", w, "organizer" if w == appt.organizer else "attendees")
        for w in ([appt.organizer] if appt.organizer else []) + appt.attendees
    ]
    wanted += [("resource", r, "resources") for r in appt.resources]
    for kind, ident, field_name in wanted:
        if (kind, ident) in boxes:
            continue
        if kind == "worker":
            link = await services.store.get(WorkerLink, org=appt.org, worker=ident)
        else:
            link = await services.store.get(ResourceLink, org=appt.org, resource=ident)
        if link is None:
            raise InvalidInput(
                prefix + field_name, f"{prefix + field_name}: unknown {kind} {ident!r}", code=f"unknown_{kind}"
            )
        linked = link.status == "linked" and link.m365_user_id is not None
        boxes[(kind, ident)] = Mailbox(
            kind, ident, link.m365_user_id if linked else None, link.account, link.display_name
        )
    return boxes


# -- operations ---------------------------------------------------------------------------------
async def stored_targets(services: Services, org: str, appointment: str) -> list[Target]:
    prefix = encode_key(appointment) + "|"
    return [
        t
        async for t in services.store.query(
            Target,
            org=org,
            filter="RowKey ge @lo and RowKey lt @hi",
            parameters={"lo": prefix, "hi": prefix[:-1] + "}"},
        )
    ]


async def sync(
    services: Services,
    org: Org,
    appt: Appointment,
    boxes: dict[tuple[str, str], Mailbox] | None = None,
    *,
    retries: int | None = None,
    final: bool = False,
) -> dict[str, Any]:
    """Gather, plan, apply; answers the target view. `final`: no further retry will come."""
    with log_context(org=org.org, operation="push_appointment"):
        boxes = boxes if boxes is not None else await check_references(services, appt)
        targets = await stored_targets(services, org.org, appt.appointment)
        stored = [Stored(t.mailbox, t.role, t.event_id, t.written, t.state, t.generation) for t in targets]
        actions = plan(appt.desired(), bool(org.setting("useOrganizer")), boxes, stored)
        results = await apply(
            services, org, appt.appointment, actions, {t.mailbox: t for t in targets}, retries=retries, final=final
        )
        return {"appointment": appt.appointment, "deleted": appt.deleted, "targets": results}


def pending(view: dict[str, Any]) -> bool:
    return any(t["state"] == "pending" for t in view["targets"])


async def _sync_or_queue(
    services: Services, org: Org, appt: Appointment, boxes: dict[tuple[str, str], Mailbox]
) -> dict[str, Any]:
    """Sync now; what Graph held up is finished from the queue (nothing accepted is lost)."""
    view = await sync(services, org, appt, boxes)
    if pending(view):
        await services.queues.send(
            RETRY_QUEUE, {"org": org.org, "appointment": appt.appointment}, delay_seconds=RETRY_DELAY_S
        )
    return view


async def put(services: Services, org_id: str, appointment_id: str, body: dict[str, Any]) -> dict[str, Any]:
    org = await require_org(services, org_id)
    appt = parse(org_id, appointment_id, body, bool(org.setting("pushAppointmentsByDefault")))
    boxes = await check_references(services, appt)  # 400 before anything is written
    await services.store.upsert(appt)
    return await _sync_or_queue(services, org, appt, boxes)


async def delete(services: Services, org_id: str, appointment_id: str) -> dict[str, Any]:
    org = await require_org(services, org_id)
    identifier("appointment", appointment_id)
    appt = await services.store.get(Appointment, org=org_id, appointment=appointment_id)
    if appt is None:
        appt = Appointment(org=org_id, appointment=appointment_id)
    appt.deleted, appt.updated_at = True, utcnow()
    await services.store.upsert(appt)
    return await _sync_or_queue(services, org, appt, {})


async def get(services: Services, org_id: str, appointment_id: str) -> dict[str, Any]:
    await require_org(services, org_id)
    appt = await services.store.get(Appointment, org=org_id, appointment=appointment_id)
    if appt is None:
        raise NotFound(f"appointment {appointment_id!r} is not known", code="appointment_not_found")
    targets = await stored_targets(services, org_id, appointment_id)
    return {
        "appointment": appointment_id,
        "deleted": appt.deleted,
        "targets": [target_view(t) for t in targets if t.state != "deleted"],
    }


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
