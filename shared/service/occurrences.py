"""One occurrence of a series, from the booking product: move or edit it, cancel it, list
the exceptions we hold. Stored on the appointment (by original date), then synced like any
change of it: the planner writes what each target has not had yet."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from shared.adapters.records import Appointment, Target
from shared.core import date_range
from shared.core.api_check import checked
from shared.core.api_requests import OccurrenceBody
from shared.core.errors import Conflict, InvalidInput, NotFound
from shared.core.recurrence import occurrence_dates, parse_recurrence
from shared.core.validation import identifier
from shared.service import appointments
from shared.service.appointment_input import when
from shared.service.orgs import require_org
from shared.service.ports import Services

EDITABLE = {"start", "end", "title", "location", "body"}


async def _series(services: Services, org_id: str, appointment_id: str, day: str) -> Appointment:
    """The appointment, which must be a series with an occurrence originally on `day`."""
    identifier("appointment", appointment_id)
    appt = await services.store.get(Appointment, org=org_id, appointment=appointment_id)
    if appt is None or appt.deleted:
        raise NotFound(f"appointment {appointment_id!r} is not known", code="appointment_not_found")
    if appt.recurrence is None:
        raise Conflict(f"appointment {appointment_id!r} is not a series (it has no recurrence)", code="not_a_series")
    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        raise InvalidInput("date", f"date must be an occurrence's original date, YYYY-MM-DD; got {day!r}") from None
    date_range.check("date", wanted)
    for found in occurrence_dates(parse_recurrence(appt.recurrence)):
        if found >= wanted:
            break
    if found != wanted:
        raise NotFound(f"the series has no occurrence on {day}", code="occurrence_not_found")
    if appt.occurrences.get(day, {}).get("cancelled"):
        raise Conflict(
            f"the occurrence on {day} is cancelled; Outlook cannot bring it back", code="occurrence_cancelled"
        )
    return appt


def _override(appt: Appointment, day: str, body: dict[str, Any]) -> dict[str, Any]:
    """The fields of this occurrence that differ from the series, checked (400 naming one)."""
    body = checked(OccurrenceBody, body).given()
    if not body:
        raise InvalidInput("body", f"name at least one of {', '.join(sorted(EDITABLE))}")
    override = dict(appt.occurrences.get(day, {}))
    if "title" in body:
        override["title"] = body["title"]
    for name in ("location", "body"):
        if name in body:
            override[name] = body[name] or ""
    first_start = datetime.fromisoformat(appt.start)
    duration = datetime.fromisoformat(appt.end) - first_start
    original = datetime.combine(date.fromisoformat(day), first_start.time())
    start = when("start", body["start"], appt.time_zone, appt.is_all_day, "") if "start" in body else None
    end = when("end", body["end"], appt.time_zone, appt.is_all_day, "") if "end" in body else None
    if start is not None or end is not None:
        start = start or datetime.fromisoformat(override.get("start") or original.isoformat())
        end = end or start + duration
        if end <= start:
            raise InvalidInput("end", "end must be after start")
        if abs(start - original) > timedelta(days=30):
            raise InvalidInput("start", "an occurrence moves at most 30 days from its original date")
        override["start"], override["end"] = start.isoformat(), end.isoformat()
    return override


async def put(services: Services, org_id: str, appointment_id: str, day: str, body: dict[str, Any]) -> dict[str, Any]:
    org = await require_org(services, org_id)
    appt = await _series(services, org_id, appointment_id, day)
    appt.occurrences = {**appt.occurrences, day: _override(appt, day, body)}  # 400 before any write
    appt.updated_at = services.clock.now()
    await services.store.upsert(appt)
    return await appointments.sync_or_queue(services, org, appt, None)


async def cancel(services: Services, org_id: str, appointment_id: str, day: str) -> dict[str, Any]:
    org = await require_org(services, org_id)
    appt = await _series(services, org_id, appointment_id, day)
    appt.occurrences = {**appt.occurrences, day: {"cancelled": True}}
    appt.updated_at = services.clock.now()
    await services.store.upsert(appt)
    return await appointments.sync_or_queue(services, org, appt, None)


async def listing(services: Services, org_id: str, appointment_id: str) -> dict[str, Any]:
    await require_org(services, org_id)
    identifier("appointment", appointment_id)
    appt = await services.store.get(Appointment, org=org_id, appointment=appointment_id)
    if appt is None:
        raise NotFound(f"appointment {appointment_id!r} is not known", code="appointment_not_found")
    targets = [t async for t in services.store.query(Target, org=org_id, row_prefix={"appointment": appointment_id})]
    return {"appointment": appointment_id, "occurrences": appointments.exceptions_view(appt, targets)}
