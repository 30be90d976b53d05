"""Contract: free/busy — `POST /users/{id}/calendar/getSchedule`, through msgraph-sdk.

Every test names the documentation it checks (files of microsoftgraph/microsoft-graph-docs-contrib:
`api-reference/v1.0/api/calendar-getschedule.md` — "the API page"; `resources/scheduleinformation.md`,
`scheduleitem.md`, `freebusyerror.md`, `workinghours.md`; `concepts/outlook-get-free-busy-schedule.md`
— "the concepts page"), or says where the docs are silent and what the emulator chose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.free_busy_status import FreeBusyStatus
from msgraph.generated.models.location import Location
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
from msgraph.generated.models.recurrence_pattern import RecurrencePattern
from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
from msgraph.generated.models.recurrence_range import RecurrenceRange
from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
from msgraph.generated.models.schedule_information import ScheduleInformation
from msgraph.generated.models.sensitivity import Sensitivity
from msgraph.generated.users.item.calendar.get_schedule.get_schedule_post_request_body import (
    GetSchedulePostRequestBody,
)
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody

from tests.emulator.conftest import Tenant

FMT = "%Y-%m-%dT%H:%M:%S"
DAY = (datetime.now(UTC) + timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)


def addr(name: str) -> str:
    return f"{name}@fabrikam.test"


def at(hours: float, tz: str = "UTC") -> DateTimeTimeZone:
    return DateTimeTimeZone(date_time=(DAY + timedelta(hours=hours)).strftime(FMT), time_zone=tz)


def event(subject: str, start: float, end: float, **kw: Any) -> Event:
    return Event(subject=subject, start=at(start), end=at(end), **kw)


def body(names: list[str], start: float = 8, end: float = 18, interval: int | None = 60) -> GetSchedulePostRequestBody:
    return GetSchedulePostRequestBody(
        schedules=[addr(n) if "@" not in n else n for n in names],
        start_time=at(start),
        end_time=at(end),
        availability_view_interval=interval,
    )


def prefer(tz: str) -> RequestConfiguration:
    cfg = RequestConfiguration()
    cfg.headers.add("Prefer", f'outlook.timezone="{tz}"')
    return cfg


async def schedule(tenant: Tenant, req: GetSchedulePostRequestBody, tz: str | None = None) -> list[ScheduleInformation]:
    me = tenant.client().users.by_user_id(tenant.uid("ada"))
    answer = await me.calendar.get_schedule.post(req, prefer(tz) if tz else None)
    return answer.value


async def test_items_view_and_details_per_sensitivity(tenant: Tenant) -> None:
    # calendar-getschedule.md (one scheduleInformation per schedule; Prefer: outlook.timezone sets
    # the zone of the items' times); scheduleinformation.md (availabilityView 0 free, 1 tentative,
    # 2 busy, 3 oof, 4 workingElsewhere, one digit per availabilityViewInterval); scheduleitem.md
    # (status, start, end; subject, location, isPrivate "True if the event is marked private");
    # concepts page, "Event data returned": subject and location only for `normal`/`personal`.
    # Which status wins a slot several items share: docs silent; emulator: the strongest.
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    await ada.events.post(event("Review", 10, 11, location=Location(display_name="Desk 4")))
    await ada.events.post(event("Maybe", 11.5, 12, show_as=FreeBusyStatus.Tentative))
    await ada.events.post(event("Doctor", 9, 9.5, sensitivity=Sensitivity.Private))
    await ada.events.post(event("Away", 14, 15, show_as=FreeBusyStatus.Oof))
    await ada.events.post(event("Remote", 15, 16, show_as=FreeBusyStatus.WorkingElsewhere))
    await ada.events.post(event("Note", 16, 17, show_as=FreeBusyStatus.Free))
    await ada.events.post(event("Overlap", 14.5, 15.5))  # busy under the oof and the remote hour
    await ada.events.post(event("Outside", 19, 20))

    [info] = await schedule(tenant, body(["ada"]), tz="Europe/Berlin")
    assert info.schedule_id == addr("ada") and info.error is None
    # 08-18 UTC by hours: 9 private busy, 10 busy, 11 tentative, 14 oof wins, 15 busy over remote, 16 free.
    assert info.availability_view == "0221003200"
    items = [(i.subject, i.status.value, i.start.date_time, i.end.date_time) for i in info.schedule_items]

    def local(hours: float) -> str:
        return (DAY + timedelta(hours=hours)).astimezone(ZoneInfo("Europe/Berlin")).strftime(FMT) + ".0000000"

    assert items[0] == (None, "busy", local(9), local(9.5))
    assert [i[:2] for i in items] == [
        (None, "busy"),
        ("Review", "busy"),
        ("Maybe", "tentative"),
        ("Away", "oof"),
        ("Overlap", "busy"),
        ("Remote", "workingElsewhere"),
        ("Note", "free"),
    ]
    first, review = info.schedule_items[0], info.schedule_items[1]
    assert first.is_private is True and first.location is None
    assert review.is_private is False and review.location == "Desk 4"
    assert {i.start.time_zone for i in info.schedule_items} == {"Europe/Berlin"}


async def test_utc_by_default_and_cancelled_meetings_are_not_busy(tenant: Tenant) -> None:
    # calendar-getschedule.md, Prefer: outlook.timezone "If not specified, those time values are
    # returned in UTC"; the default interval is 30 minutes. A meeting the organizer cancelled stays
    # in the attendee's calendar as cancelled (docs/graph-emulator.md §3) and is no longer busy
    # (resources/event.md: a cancelled event; the emulator leaves it out of the schedule).
    bob = tenant.client().users.by_user_id(tenant.uid("bob"))
    invite = [Attendee(email_address=EmailAddress(address=addr("ada")), type=AttendeeType.Required)]
    kept = await bob.events.post(event("Kept", 9, 10, attendees=invite))
    gone = await bob.events.post(event("Gone", 11, 12, attendees=invite))
    await bob.events.by_event_id(gone.id).cancel.post(CancelPostRequestBody(comment="off"))
    [info] = await schedule(tenant, body(["ada"], 8, 13, None))
    assert info.availability_view == "0022000000"  # 30-minute slots from 08:00
    assert [(i.subject, i.start.time_zone) for i in info.schedule_items] == [("Kept", "UTC")]
    assert info.schedule_items[0].start.date_time == (DAY + timedelta(hours=9)).strftime(FMT) + ".0000000"
    assert kept.id


async def test_recurring_series_are_expanded(tenant: Tenant) -> None:
    # scheduleitem.md: an item "corresponding to an actual event on the user's default calendar":
    # each occurrence of a series is one (as calendarView expands them, docs/graph-emulator.md 3.8);
    # a deleted occurrence (event-delete.md) is no longer busy.
    cyd = tenant.client().users.by_user_id(tenant.uid("cyd"))
    daily = PatternedRecurrence(
        pattern=RecurrencePattern(type=RecurrencePatternType.Daily, interval=1),
        range=RecurrenceRange(type=RecurrenceRangeType.Numbered, start_date=DAY.date(), number_of_occurrences=3),
    )
    await cyd.events.post(event("Standup", 9, 9.5, recurrence=daily))
    [info] = await schedule(tenant, body(["cyd"], 0, 72, 1440))
    assert info.availability_view == "222"
    assert [i.subject for i in info.schedule_items] == ["Standup"] * 3
    view = await cyd.calendar_view.get(
        RequestConfiguration(
            query_parameters=cyd.calendar_view.CalendarViewRequestBuilderGetQueryParameters(
                start_date_time=(DAY + timedelta(days=1)).strftime(FMT) + "Z",
                end_date_time=(DAY + timedelta(days=2)).strftime(FMT) + "Z",
            )
        )
    )
    await cyd.events.by_event_id(view.value[0].id).delete()
    [info] = await schedule(tenant, body(["cyd"], 0, 72, 1440))
    assert info.availability_view == "202"


async def test_rooms_unknown_addresses_and_mailboxless_users(tenant: Tenant) -> None:
    # calendar-getschedule.md: users "or resources (rooms or equipment)": a room's accepted
    # meetings are busy. Concepts page: an address it cannot identify "returns a single schedule
    # item and indicates the error" — scheduleinformation.md `error` (freebusyerror.md: message,
    # responseCode); the code 5009 and wording as Graph answers (ISSUE microsoft-graph-docs#11225).
    # A user without a mailbox: docs silent; the same error.
    bob = tenant.client().users.by_user_id(tenant.uid("bob"))
    room = [Attendee(email_address=EmailAddress(address=addr("room0")), type=AttendeeType.Resource)]
    await bob.events.post(event("Workshop", 10, 12, attendees=room))
    infos = await schedule(tenant, body(["room0", "nobody@fabrikam.test", "nomail", "bob"]))
    assert [i.schedule_id for i in infos] == [addr("room0"), "nobody@fabrikam.test", addr("nomail"), addr("bob")]
    assert infos[0].availability_view == "0022000000" and infos[0].error is None
    assert infos[0].schedule_items[0].subject == "Bob Test"  # the room's copy: the organizer's name
    for unknown in infos[1:3]:
        assert unknown.error.response_code == "5009"
        assert unknown.error.message == f"Unable to resolve e-mail address {unknown.schedule_id} to an Active " \
            "Directory object."  # fmt: skip
        assert unknown.availability_view is None and unknown.schedule_items is None
    assert infos[3].availability_view == "0022000000"  # the organizer is busy too


async def test_working_hours_from_mailbox_settings(tenant: Tenant) -> None:
    # scheduleinformation.md: workingHours "are set as part of the user's mailboxSettings";
    # workinghours.md (daysOfWeek, startTime, endTime as Edm.TimeOfDay, timeZone); the API page's
    # example (Mon–Fri 08:00–17:00). The default and the seedable hours are the emulator's.
    seeded = {"userPrincipalName": addr("bob"), "workingHours": {
        "daysOfWeek": ["tuesday", "wednesday"], "startTime": "09:30", "endTime": "18:00",
        "timeZone": "W. Europe Standard Time"}}  # fmt: skip
    await tenant.control.post("/_emulator/seed", json={"tenants": [{"id": tenant.id, "users": [seeded]}]})
    ada, bob = await schedule(tenant, body(["ada", "bob"]))
    assert ada.working_hours.start_time.isoformat() == "08:00:00" and ada.working_hours.end_time.hour == 17
    assert [d.value for d in ada.working_hours.days_of_week] == ["monday", "tuesday", "wednesday", "thursday", "friday"]
    assert ada.working_hours.time_zone.name == "UTC"
    assert [d.value for d in bob.working_hours.days_of_week] == ["tuesday", "wednesday"]
    assert bob.working_hours.start_time.isoformat() == "09:30:00"
    assert bob.working_hours.time_zone.name == "W. Europe Standard Time"
    # user-get-mailboxsettings.md: the same workingHours.
    async with tenant.raw() as g:
        settings = (await g.get(f"/users/{tenant.uid('bob')}/mailboxSettings")).json()
    assert settings["workingHours"]["startTime"] == "09:30:00.0000000"
    bad = {"userPrincipalName": addr("cyd"), "workingHours": {"daysOfWeek": ["someday"]}}
    r = await tenant.control.post("/_emulator/seed", json={"tenants": [{"id": tenant.id, "users": [bad]}]})
    assert r.status_code == 400


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"schedules": [f"u{i}@fabrikam.test" for i in range(21)]}, "ErrorMailboxDataArrayTooBig"),
        ({"schedules": []}, "ErrorInvalidParameter"),
        ({"availabilityViewInterval": 4}, "ErrorInvalidParameter"),
        ({"availabilityViewInterval": 1441}, "ErrorInvalidParameter"),
        (
            {"endTime": {"dateTime": (DAY + timedelta(days=62)).strftime(FMT), "timeZone": "UTC"}},
            "ErrorInvalidParameter",
        ),
        ({"endTime": {"dateTime": DAY.strftime(FMT), "timeZone": "UTC"}}, "ErrorInvalidParameter"),
        ({"startTime": None}, "ErrorInvalidRequest"),
    ],
    ids=["21-schedules", "no-schedules", "interval-4", "interval-1441", "62-days", "empty-range", "no-start"],
)
async def test_documented_limits_are_400(tenant: Tenant, change: dict[str, Any], code: str) -> None:
    # Concepts page, "Limits and error conditions": "up to 20 entities at once" (Graph itself
    # allows 100 — ISSUE docs-contrib#5895, whose code ErrorMailboxDataArrayTooBig the emulator
    # sends; it keeps the documented 20), "must be less than 62 days"; the API page: interval
    # "minimum is 5, maximum is 1440". Codes other than the 20's: docs silent (emulator's).
    good = {
        "schedules": [addr("ada")],
        "startTime": {"dateTime": DAY.strftime(FMT), "timeZone": "UTC"},
        "endTime": {"dateTime": (DAY + timedelta(days=1)).strftime(FMT), "timeZone": "UTC"},
        "availabilityViewInterval": 60,
    }
    async with tenant.raw() as g:
        url = f"/users/{tenant.uid('ada')}/calendar/getSchedule"
        assert (await g.post(url, json=good)).status_code == 200
        r = await g.post(url, json={**good, **change})
    assert r.status_code == 400 and r.json()["error"]["code"] == code, r.text


async def test_the_concepts_pages_request_shape_is_accepted(tenant: Tenant) -> None:
    # Concepts page, "Example": PascalCase properties and the interval as a string ("15"); 61 days
    # is inside "less than 62 days". msgraph-sdk itself writes PascalCase (the other tests).
    async with tenant.raw() as g:
        r = await g.post(
            f"/users/{tenant.uid('ada')}/calendar/getSchedule",
            headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'},
            json={
                "Schedules": [addr("ada")],
                "StartTime": {"dateTime": DAY.strftime(FMT), "timeZone": "Pacific Standard Time"},
                "EndTime": {"dateTime": (DAY + timedelta(days=61)).strftime(FMT), "timeZone": "Pacific Standard Time"},
                "availabilityViewInterval": "15",
            },
        )
    assert r.status_code == 200, r.text
    value = r.json()["value"][0]
    assert len(value["availabilityView"]) == 61 * 24 * 4 and set(value["availabilityView"]) == {"0"}
    assert r.json()["@odata.context"].endswith("$metadata#Collection(microsoft.graph.scheduleInformation)")


async def test_the_caller_must_be_a_mailbox(tenant: Tenant) -> None:
    # calendar-getschedule.md: POST /users/{id|userPrincipalName}/calendar/getSchedule — the
    # user's calendar; one without a mailbox → 404 MailboxNotEnabledForRESTAPI (docs silent; as
    # for every mailbox path, docs/graph-emulator.md §4).
    nomail = tenant.client().users.by_user_id(tenant.uid("nomail"))
    with pytest.raises(ODataError) as err:
        await nomail.calendar.get_schedule.post(body(["ada"]))
    assert err.value.response_status_code == 404 and err.value.error.code == "MailboxNotEnabledForRESTAPI"
