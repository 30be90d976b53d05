"""An appointment as the booking product sends it: every field checked (naming the bad
one, with its path in a bulk request), and every worker and resource it names looked up."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from shared.adapters.records import LINK_CLASSES, Appointment
from shared.core import date_range
from shared.core.api_check import checked
from shared.core.api_requests import MAX_ATTENDEES, AppointmentBody
from shared.core.errors import InvalidInput, UnknownTimeZone
from shared.core.outbound import Mailbox
from shared.core.recurrence import occurrence_dates, parse_recurrence
from shared.core.timezones import windows_name, zone
from shared.core.validation import identifier
from shared.service.ports import Services

MAX_OCCURRENCES = 999  # a finite series; Outlook itself allows 999 occurrences


# -- validation -------------------------------------------------------------------------------
def when(field_name: str, value: Any, tz_name: str, all_day: bool, prefix: str) -> datetime:
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
    date_range.check(prefix + field_name, parsed)  # before any zone conversion, which could overflow
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(zone(tz_name)).replace(tzinfo=None)
    return parsed.replace(microsecond=0)


def _ids(values: list[str] | None) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values or [] if v.strip()))


def parse(
    org_id: str, appointment_id: str, body: dict[str, Any] | AppointmentBody, default_push: bool, prefix: str = ""
) -> Appointment:
    """Check every field (naming the bad one); no I/O."""
    identifier(prefix + "appointment", appointment_id)
    m = body if isinstance(body, AppointmentBody) else checked(AppointmentBody, body, prefix)
    tz_name = m.time_zone or "UTC"
    try:
        zone(tz_name)
    except UnknownTimeZone as exc:
        raise InvalidInput(prefix + "timeZone", f"{prefix}timeZone: {exc}") from None
    start = when("start", m.start, tz_name, m.is_all_day, prefix)
    end = when("end", m.end, tz_name, m.is_all_day, prefix)
    if end <= start:
        raise InvalidInput(prefix + "end", f"{prefix}end must be after start")
    if m.is_all_day and (start.time() != time() or end.time() != time()):
        raise InvalidInput(prefix + "start", f"{prefix}an all-day appointment must start and end at midnight")
    if m.organizer is not None and not m.organizer.strip():
        raise InvalidInput(prefix + "organizer", f"{prefix}organizer must be a worker id")
    attendees, guests, resources = _ids(m.attendees), _ids(m.guests), _ids(m.resources)
    if len(attendees) + len(guests) + len(resources) > MAX_ATTENDEES:
        raise InvalidInput(
            prefix + "attendees",
            f"{prefix}at most {MAX_ATTENDEES} attendees, guests and resources together (Exchange's limit)",
        )
    raw_recurrence = m.recurrence.given() if m.recurrence else None
    recurrence = _recurrence(raw_recurrence, start, tz_name, prefix)
    return Appointment(
        org=org_id,
        appointment=appointment_id,
        title=m.title,
        start=start.isoformat(),
        end=end.isoformat(),
        time_zone=tz_name,
        is_all_day=m.is_all_day,
        location=m.location or "",
        body=m.body or "",
        is_private=m.is_private,
        organizer=m.organizer.strip() if m.organizer else None,
        attendees=attendees,
        guests=guests,
        resources=resources,
        push=default_push if m.push is None else m.push,
        recurrence=recurrence,
        online_meeting=m.online_meeting,
    )


def _recurrence(raw: Any, start: datetime, tz_name: str, prefix: str) -> dict[str, Any] | None:
    """Graph's patternedRecurrence, checked; `start` is its first occurrence, so the range
    starts on that date (given or not) and the pattern must fit it."""
    if raw is None:
        return None
    field_name = prefix + "recurrence"
    if isinstance(raw, dict) and isinstance(raw.get("range"), dict):
        given = raw["range"].get("startDate")
        if given is not None and given != start.date().isoformat():
            raise InvalidInput(
                field_name + ".range.startDate",
                f"{field_name}.range.startDate must be the date of start ({start.date().isoformat()}), or left out",
            )
        raw = {**raw, "range": {**raw["range"], "startDate": start.date().isoformat()}}
    rec = parse_recurrence(raw, field=field_name, max_occurrences=MAX_OCCURRENCES)
    first = next(occurrence_dates(rec), None)
    if first != start.date():
        raise InvalidInput(
            prefix + "start",
            f"{prefix}start must be the series' first occurrence: {start.date()} does not fit the pattern",
        )
    return rec.to_graph(windows_name(tz_name))


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
        link = await services.store.get(LINK_CLASSES[kind], org=appt.org, **{kind: ident})
        if link is None:
            raise InvalidInput(
                prefix + field_name, f"{prefix + field_name}: unknown {kind} {ident!r}", code=f"unknown_{kind}"
            )
        linked = link.status == "linked" and link.m365_user_id is not None
        boxes[(kind, ident)] = Mailbox(
            kind, ident, link.m365_user_id if linked else None, link.account, link.display_name
        )
    return boxes


def carried_exceptions(before: Appointment | None, after: Appointment) -> dict[str, dict[str, Any]]:
    """A PUT of a series keeps the exceptions set through its occurrence routes, on the dates
    that are still occurrences of the new pattern (Outlook drops the others)."""
    if before is None or after.recurrence is None or not before.occurrences:
        return {}
    dates = occurrence_dates(parse_recurrence(after.recurrence))
    wanted = sorted(before.occurrences)
    kept: dict[str, dict[str, Any]] = {}
    current = next(dates, None)
    for day in wanted:
        target = date.fromisoformat(day)
        while current is not None and current < target:
            current = next(dates, None)
        if current == target:
            kept[day] = before.occurrences[day]
    return kept
