"""Contract: recurring series — masters, occurrences, exceptions, instances, calendarView, delta.

Every test names the documentation it checks (files of microsoftgraph/microsoft-graph-docs-contrib:
`api-reference/v1.0/resources/event.md`, `…/api/event-list-instances.md`, `…/api/event-delta.md`,
`…/api/user-post-events.md`, `concepts/outlook-schedule-recurring-events.md` — "the concepts
page"), or says where the docs are silent and what the emulator chose.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.day_of_week import DayOfWeek
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.event_type import EventType
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
from msgraph.generated.models.recurrence_pattern import RecurrencePattern
from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
from msgraph.generated.models.recurrence_range import RecurrenceRange
from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
from msgraph.generated.models.single_value_legacy_extended_property import SingleValueLegacyExtendedProperty
from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import CalendarViewRequestBuilder
from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import DeltaRequestBuilder
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder
from msgraph.generated.users.item.events.item.accept.accept_post_request_body import AcceptPostRequestBody
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody
from msgraph.generated.users.item.events.item.decline.decline_post_request_body import DeclinePostRequestBody
from msgraph.generated.users.item.events.item.event_item_request_builder import EventItemRequestBuilder
from msgraph.generated.users.item.events.item.instances.instances_request_builder import InstancesRequestBuilder

from tests.emulator.conftest import Receiver, Tenant
from tests.emulator.test_events import PROP, headers
from tests.emulator.test_subscriptions import sub

FMT = "%Y-%m-%dT%H:%M:%S"
_soon = date.today() + timedelta(days=7)
MONDAY = _soon + timedelta(days=(0 - _soon.weekday()) % 7)  # a Monday 7-13 days ahead
START = datetime(MONDAY.year, MONDAY.month, MONDAY.day, 9, 0)  # UTC wall clock
SPAN = (
    (START - timedelta(days=1)).strftime(FMT) + "Z",
    (START + timedelta(days=120)).strftime(FMT) + "Z",
)


def addr(name: str) -> str:
    return f"{name}@fabrikam.test"


def weekly(count: int, start: date = MONDAY, *days: DayOfWeek) -> PatternedRecurrence:
    return PatternedRecurrence(
        pattern=RecurrencePattern(
            type=RecurrencePatternType.Weekly, interval=1, days_of_week=list(days or [DayOfWeek.Monday])
        ),
        range=RecurrenceRange(type=RecurrenceRangeType.Numbered, start_date=start, number_of_occurrences=count),
    )


def series(subject: str, recurrence: PatternedRecurrence, *, start: datetime = START, tz: str = "UTC", **kw) -> Event:
    return Event(
        subject=subject,
        start=DateTimeTimeZone(date_time=start.strftime(FMT), time_zone=tz),
        end=DateTimeTimeZone(date_time=(start + timedelta(minutes=30)).strftime(FMT), time_zone=tz),
        recurrence=recurrence,
        **kw,
    )


def invite(*people: str, room: str | None = None) -> list[Attendee]:
    out = [Attendee(email_address=EmailAddress(address=addr(p)), type=AttendeeType.Required) for p in people]
    if room:
        out.append(Attendee(email_address=EmailAddress(address=addr(room)), type=AttendeeType.Resource))
    return out


async def view(tenant: Tenant, user: str, *prefer: str, span: tuple[str, str] = SPAN) -> list[Event]:
    me = tenant.client().users.by_user_id(tenant.uid(user))
    cfg = headers(*prefer)
    cfg.query_parameters = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
        start_date_time=span[0], end_date_time=span[1]
    )
    page = await me.calendar_view.get(request_configuration=cfg)
    items = list(page.value)
    while page.odata_next_link:
        page = await me.calendar_view.with_url(page.odata_next_link).get(request_configuration=headers(*prefer))
        items += page.value
    return items


async def listed(tenant: Tenant, user: str) -> list[Event]:
    return list((await tenant.client().users.by_user_id(tenant.uid(user)).events.get()).value)


async def delta(tenant: Tenant, user: str, link: str | None) -> tuple[list[Event], str]:
    me = tenant.client().users.by_user_id(tenant.uid(user))
    if link is None:
        q = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(start_date_time=SPAN[0], end_date_time=SPAN[1])
        page = await me.calendar_view.delta.get(request_configuration=RequestConfiguration(query_parameters=q))
    else:
        page = await me.calendar_view.delta.with_url(link).get()
    items = list(page.value)
    while page.odata_next_link:
        page = await me.calendar_view.delta.with_url(page.odata_next_link).get()
        items += page.value
    return items, page.odata_delta_link


def removed(ev: Event) -> bool:
    return "@removed" in (ev.additional_data or {})


async def weekly_meeting(tenant: Tenant, count: int = 10) -> Event:
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    return await ada.events.post(series("Weekly sync", weekly(count), attendees=invite("bob", room="room0")))


# -- series, copies, occurrences ---------------------------------------------------------------
async def test_a_weekly_meeting_is_one_master_and_ten_occurrences_in_every_mailbox(tenant: Tenant) -> None:
    # resources/event.md: `type` seriesMaster / occurrence, `seriesMasterId`, `originalStart`;
    # "List events": "single instance meetings and series masters"; calendarView holds
    # occurrences, never the master (concepts/delta-query-events.md via GRAPH-FACTS §2.2);
    # iCalUId "is different for each occurrence in a recurring series" and the same across
    # calendars. Copies in attendee and room calendars: user-post-events.md, as for single meetings.
    master = await weekly_meeting(tenant)
    assert master.type == EventType.SeriesMaster and master.series_master_id is None
    assert master.recurrence.pattern.type == RecurrencePatternType.Weekly
    assert master.recurrence.range.number_of_occurrences == 10
    assert master.recurrence.range.recurrence_time_zone == "UTC"  # the event's zone when not given
    icals: dict[str, list[str]] = {}
    for user in ("ada", "bob", "room0"):
        masters = await listed(tenant, user)
        assert [(m.type, m.i_cal_u_id) for m in masters] == [(EventType.SeriesMaster, master.i_cal_u_id)]
        occs = await view(tenant, user)
        assert len(occs) == 10 and {o.type for o in occs} == {EventType.Occurrence}
        assert {o.series_master_id for o in occs} == {masters[0].id}
        assert len({o.id for o in occs}) == 10 and masters[0].id not in {o.id for o in occs}
        assert [o.original_start for o in occs] == [(START + timedelta(weeks=i)).replace(tzinfo=UTC) for i in range(10)]
        assert all(o.start.date_time.startswith(o.original_start.strftime(FMT)) for o in occs)
        assert all(o.recurrence is None for o in occs)  # event-list-instances.md example: "recurrence": null
        icals[user] = [o.i_cal_u_id for o in occs]
        assert len(set(icals[user])) == 10 and master.i_cal_u_id not in icals[user]
    assert icals["ada"] == icals["bob"] == icals["room0"]
    room_copy = (await view(tenant, "room0"))[0]
    assert room_copy.subject == "Ada Test"  # AutoAccept's AddOrganizerToSubject, as for single meetings
    got = await tenant.client().users.by_user_id(tenant.uid("ada")).events.by_event_id(master.id).get()
    status = {a.email_address.address: a.status.response.value for a in got.attendees}
    assert status[addr("room0")] == "accepted"


async def test_the_documented_weekly_example_expands_to_its_last_monday(tenant: Tenant) -> None:
    # user-post-events.md, "Example 3" (weekly on Monday, 2017-09-04 to 2017-12-31, Pacific) and
    # the concepts page ("the last occurrence in this series will be on Monday, December 25");
    # the answer's recurrence has every field (month 0, dayOfMonth 0, firstDayOfWeek sunday,
    # index first, recurrenceTimeZone the event's zone), as in the example's response.
    async with tenant.raw() as raw:
        body = {
            "subject": "Let's go for lunch",
            "start": {"dateTime": "2017-09-04T12:00:00", "timeZone": "Pacific Standard Time"},
            "end": {"dateTime": "2017-09-04T14:00:00", "timeZone": "Pacific Standard Time"},
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["Monday"]},
                "range": {"type": "endDate", "startDate": "2017-09-04", "endDate": "2017-12-31"},
            },
        }
        r = await raw.post(f"/users/{tenant.uid('ada')}/events", json=body)
        assert r.status_code == 201, r.text
        made = r.json()
        assert made["type"] == "seriesMaster"
        assert made["recurrence"] == {
            "pattern": {
                "type": "weekly",
                "interval": 1,
                "month": 0,
                "dayOfMonth": 0,
                "firstDayOfWeek": "sunday",
                "index": "first",
                "daysOfWeek": ["monday"],
            },
            "range": {
                "type": "endDate",
                "startDate": "2017-09-04",
                "endDate": "2017-12-31",
                "recurrenceTimeZone": "Pacific Standard Time",
                "numberOfOccurrences": 0,
            },
        }
        q = {"startDateTime": "2017-09-01T00:00:00Z", "endDateTime": "2018-01-31T00:00:00Z"}
        r = await raw.get(f"/users/{tenant.uid('ada')}/events/{made['id']}/instances", params={**q, "$top": "50"})
        starts = [i["start"]["dateTime"] for i in r.json()["value"]]
        assert len(starts) == 17 and starts[0] == "2017-09-04T19:00:00.0000000"
        assert starts[-1] == "2017-12-25T20:00:00.0000000"  # 12:00 PST (after the November DST change)


async def test_wall_clock_is_kept_across_dst(tenant: Tenant) -> None:
    # Occurrences keep the series' local time (Outlook's recurrences are in the event's zone;
    # recurrencerange.md: recurrenceTimeZone is the zone of the dates). Europe: CEST from the
    # last Sunday of March.
    year = date.today().year + 1
    last_sunday = max(date(year, 3, d) for d in range(25, 32) if date(year, 3, d).weekday() == 6)
    first = last_sunday - timedelta(days=7)
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    start = datetime(first.year, first.month, first.day, 9, 0)
    await ada.events.post(
        series("Sunday", weekly(3, first, DayOfWeek.Sunday), start=start, tz="W. Europe Standard Time")
    )
    span = ((start - timedelta(days=1)).strftime(FMT) + "Z", (start + timedelta(days=20)).strftime(FMT) + "Z")
    local = await view(tenant, "ada", 'outlook.timezone="W. Europe Standard Time"', span=span)
    assert [o.start.date_time[11:19] for o in local] == ["09:00:00"] * 3
    utc = await view(tenant, "ada", span=span)
    assert [o.start.date_time[11:19] for o in utc] == ["08:00:00", "07:00:00", "07:00:00"]


async def test_occurrence_ids_are_stable_and_address_the_occurrence(tenant: Tenant) -> None:
    # resources/event.md (id, seriesMasterId); concepts/outlook-immutable-id.md: immutable ids
    # for occurrences too, and `seriesMasterId` in the same form. Id stability across reads:
    # docs silent (the emulator's ids are the master's plus the original start).
    master = await weekly_meeting(tenant, 3)
    first, again = await view(tenant, "ada"), await view(tenant, "ada")
    assert [o.id for o in first] == [o.id for o in again]
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    got = await ada.events.by_event_id(first[1].id).get()
    assert got.type == EventType.Occurrence and got.original_start == first[1].original_start
    immutable = await view(tenant, "ada", 'IdType="ImmutableId"')
    master_imm = await ada.events.by_event_id(master.id).get(request_configuration=headers('IdType="ImmutableId"'))
    assert {o.series_master_id for o in immutable} == {master_imm.id} != {master.id}
    assert immutable[1].id != first[1].id
    assert (await ada.events.by_event_id(immutable[1].id).get()).id == first[1].id


async def test_instances_need_a_window_and_list_occurrences_and_exceptions(tenant: Tenant) -> None:
    # event-list-instances.md: startDateTime and endDateTime are required query parameters;
    # "If the event is a seriesMaster type, this returns the occurrences and exceptions of the
    # event in the specified time range." 400 without them (code ErrorInvalidParameter, as
    # calendarView: docs silent); instances of an event that is not a master: docs silent,
    # the emulator refuses (400).
    master = await weekly_meeting(tenant, 5)
    item = tenant.client().users.by_user_id(tenant.uid("ada")).events.by_event_id(master.id)
    with pytest.raises(ODataError) as err:
        await item.instances.get()
    assert err.value.response_status_code == 400 and err.value.error.code == "ErrorInvalidParameter"
    q = InstancesRequestBuilder.InstancesRequestBuilderGetQueryParameters(
        start_date_time=(START - timedelta(hours=1)).strftime(FMT) + "Z",
        end_date_time=(START + timedelta(weeks=2, hours=1)).strftime(FMT) + "Z",
    )
    cfg = RequestConfiguration(query_parameters=q)
    three = (await item.instances.get(request_configuration=cfg)).value
    assert [o.type for o in three] == [EventType.Occurrence] * 3
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    await ada.events.by_event_id(three[1].id).patch(Event(subject="moved"))
    after = (await item.instances.get(request_configuration=cfg)).value
    assert [(o.type, o.subject) for o in after] == [
        (EventType.Occurrence, "Weekly sync"),
        (EventType.Exception, "moved"),
        (EventType.Occurrence, "Weekly sync"),
    ]
    with pytest.raises(ODataError) as err:
        await ada.events.by_event_id(three[0].id).instances.get(request_configuration=cfg)
    assert err.value.response_status_code == 400


# -- exceptions, deletions, delta --------------------------------------------------------------
async def test_patch_one_occurrence_and_delete_another(tenant: Tenant) -> None:
    # resources/event.md `type`: a changed occurrence is an `exception`; event-delete.md; event-delta.md:
    # "@removed with the reason deleted" for events in the range "deleted since the previous
    # delta call" — the deleted occurrence; the changed one comes as itself; nothing else.
    # Attendee and room copies follow the organizer (the attendee's copy of a deleted occurrence is
    # cancelled, `Canceled: …`, as for single meetings: docs silent, GRAPH-FACTS §3.1 [verify]).
    await weekly_meeting(tenant)
    links = {u: (await delta(tenant, u, None))[1] for u in ("ada", "bob", "room0")}
    occs = await view(tenant, "ada")
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    moved_start = (START + timedelta(weeks=2, hours=1)).strftime(FMT)
    moved_end = (START + timedelta(weeks=2, hours=1, minutes=30)).strftime(FMT)
    exc = await ada.events.by_event_id(occs[2].id).patch(
        Event(
            subject="Moved sync",
            start=DateTimeTimeZone(date_time=moved_start, time_zone="UTC"),
            end=DateTimeTimeZone(date_time=moved_end, time_zone="UTC"),
        )
    )
    assert exc.type == EventType.Exception and exc.id == occs[2].id
    assert exc.original_start == occs[2].original_start and exc.start.date_time.startswith(moved_start)
    await ada.events.by_event_id(occs[4].id).delete()
    with pytest.raises(ODataError) as err:
        await ada.events.by_event_id(occs[4].id).get()
    assert err.value.response_status_code == 404

    after = await view(tenant, "ada")
    assert Counter(o.type for o in after) == {EventType.Occurrence: 8, EventType.Exception: 1}
    assert occs[4].id not in {o.id for o in after}
    bob = {o.original_start: o for o in await view(tenant, "bob")}
    assert len(bob) == 10
    assert bob[occs[2].original_start].type == EventType.Exception
    assert bob[occs[2].original_start].subject == "Moved sync"
    gone = bob[occs[4].original_start]
    assert gone.is_cancelled and gone.subject == "Canceled: Weekly sync"
    room = {o.original_start: o for o in await view(tenant, "room0")}
    assert room[occs[2].original_start].start.date_time.startswith(moved_start)
    assert room[occs[2].original_start].subject == "Ada Test"

    # By default the deleted occurrence has no @removed (PR #4501) and the changed master comes
    # itself (docs-contrib issue #3196); the controls give event-delta.md's reading.
    items, _ = await delta(tenant, "ada", links["ada"])
    by_id = {i.id: i for i in items}
    master_id = occs[2].series_master_id
    assert set(by_id) == {occs[2].id, master_id}
    assert by_id[occs[2].id].type == EventType.Exception and by_id[occs[2].id].subject == "Moved sync"
    assert by_id[occs[2].id].series_master_id == master_id
    assert by_id[master_id].type == EventType.SeriesMaster
    items, _ = await delta(tenant, "bob", links["bob"])
    assert not any(removed(i) for i in items)
    assert sorted(i.type for i in items) == [EventType.Exception, EventType.Exception, EventType.SeriesMaster]


async def test_delta_answers_occurrences_bare_and_exceptions_in_full(tenant: Tenant) -> None:
    # docs-contrib issues #34 and #5602 (microsoft-graph-docs #7632): in calendarView delta an
    # occurrence has only @odata.type, @odata.etag, id, seriesMasterId, type, start and end —
    # read the rest from the master (or GET the occurrence). event-delta.md says delta returns
    # "the same properties you'd normally get from a GET /calendarView": the issues are what Graph does.
    await weekly_meeting(tenant, 3)
    occs = await view(tenant, "ada")
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    await ada.events.by_event_id(occs[1].id).patch(Event(subject="exception"))
    async with tenant.raw() as raw:
        q = {"startDateTime": SPAN[0], "endDateTime": SPAN[1]}
        r = await raw.get(f"/users/{tenant.uid('ada')}/calendarView/delta", params=q)
        items: list[dict[str, Any]] = []
        while True:
            items += r.json()["value"]
            if "@odata.nextLink" not in r.json():
                break
            r = await raw.get(r.json()["@odata.nextLink"])
    by_type = {i["type"]: i for i in items}
    assert sorted(by_type["occurrence"]) == sorted(
        ["@odata.type", "@odata.etag", "id", "seriesMasterId", "type", "start", "end"]
    )
    assert by_type["exception"]["subject"] == "exception" and by_type["exception"]["iCalUId"]
    assert by_type["exception"]["seriesMasterId"] == by_type["occurrence"]["seriesMasterId"]


async def test_a_deleted_occurrence_has_no_removal_in_delta_and_is_on_its_masters_list(tenant: Tenant) -> None:
    # microsoft-graph-docs PR #4501 (not merged; "found via experimentation"): "No indication is
    # given for a deleted occurrence" in calendarView delta — the emulator's default; the control
    # deltaOccurrenceRemovals true gives event-delta.md's @removed. resources/event.md
    # `cancelledOccurrences`: "Returned only on $select in a Get operation which specifies the id
    # of a series master", occurrenceIds `OID.{master id}.{date}` (beta event-get.md's example).
    await weekly_meeting(tenant, 3)
    occs = await view(tenant, "ada")
    master_id = occs[0].series_master_id
    _, link = await delta(tenant, "ada", None)
    _, with_removals = await delta(tenant, "ada", None)
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    await ada.events.by_event_id(occs[1].id).delete()
    items, _ = await delta(tenant, "ada", link)
    assert [(i.id, i.type, removed(i)) for i in items] == [(master_id, EventType.SeriesMaster, False)]
    assert len(await view(tenant, "ada")) == 2
    await tenant.control.post("/_emulator/faults", json={"deltaOccurrenceRemovals": True})
    items, _ = await delta(tenant, "ada", with_removals)
    assert {i.id for i in items if removed(i)} == {occs[1].id}

    async with tenant.raw() as raw:
        path = f"/users/{tenant.uid('ada')}/events"
        r = await raw.get(f"{path}/{master_id}", params={"$select": "subject,cancelledOccurrences"})
        assert r.json()["cancelledOccurrences"] == [f"OID.{master_id}.{MONDAY + timedelta(weeks=1)}"]
        assert "cancelledOccurrences" not in (await raw.get(f"{path}/{master_id}")).json()
        r = await raw.get(f"{path}/{occs[0].id}", params={"$select": "subject,cancelledOccurrences"})
        assert "cancelledOccurrences" not in r.json()  # only on the master


async def test_events_filtered_by_last_modified(tenant: Tenant) -> None:
    # `$filter=lastModifiedDateTime ge <DateTimeOffset>` on /events (an unquoted literal, OData
    # ABNF; python-o365 issue #327 filters /events so): a master whose occurrence was deleted
    # changed (resources/event.md changeKey: "Every time the event is changed, ChangeKey
    # changes"; its cancelledOccurrences is the master's).
    await weekly_meeting(tenant, 3)
    occs = await view(tenant, "ada")
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    masters = await listed(tenant, "ada")
    before = masters[0].change_key
    async with tenant.raw() as raw:
        path = f"/users/{tenant.uid('ada')}/events"
        since = (await raw.get(f"{path}/{masters[0].id}")).json()["lastModifiedDateTime"]
        await ada.events.by_event_id(occs[2].id).delete()
        r = await raw.get(path, params={"$filter": f"lastModifiedDateTime ge {since}", "$select": "id,changeKey"})
        [changed] = r.json()["value"]
        assert changed["id"] == masters[0].id and changed["changeKey"] != before
        later = (datetime.fromisoformat(since.replace("Z", "+00:00")) + timedelta(hours=1)).isoformat()
        r = await raw.get(path, params={"$filter": f"lastModifiedDateTime ge {later}"})
        assert r.json()["value"] == []
        r = await raw.get(path, params={"$filter": "lastModifiedDateTime ge 2026-13-01"})
        assert r.status_code == 400


async def test_changing_the_series_keeps_or_drops_exceptions(tenant: Tenant) -> None:
    # event-update.md (recurrence and start are updatable). What happens to exceptions is not
    # documented: the emulator keeps them when other properties change and drops exceptions
    # and deletions when the pattern or the time changes (Outlook: "Any exceptions … will be
    # lost"; the less forgiving reading). A re-timed series' occurrences get new ids (their
    # originalStart changed); delta reports the old ones removed.
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    daily = PatternedRecurrence(
        pattern=RecurrencePattern(type=RecurrencePatternType.Daily, interval=1),
        range=RecurrenceRange(type=RecurrenceRangeType.Numbered, start_date=MONDAY, number_of_occurrences=5),
    )
    master = await ada.events.post(series("Daily", daily, attendees=invite("bob")))
    occs = await view(tenant, "ada")
    await ada.events.by_event_id(occs[1].id).patch(Event(subject="special"))
    await ada.events.by_event_id(occs[2].id).delete()
    await ada.events.by_event_id(master.id).patch(Event(subject="Daily v2"))
    kept = await view(tenant, "ada")
    assert [o.subject for o in kept] == ["Daily v2", "special", "Daily v2", "Daily v2"]
    _, link = await delta(tenant, "ada", None)

    daily.range.number_of_occurrences = 3
    await ada.events.by_event_id(master.id).patch(Event(recurrence=daily))
    fresh = await view(tenant, "ada")
    assert [(o.type, o.subject) for o in fresh] == [(EventType.Occurrence, "Daily v2")] * 3
    assert [o.id for o in fresh] == [o.id for o in occs[:3]]  # same original starts, same ids
    assert [o.type for o in await view(tenant, "bob")] == [EventType.Occurrence] * 3

    later = (START + timedelta(hours=2)).strftime(FMT)
    end = (START + timedelta(hours=2, minutes=30)).strftime(FMT)
    await ada.events.by_event_id(master.id).patch(
        Event(
            start=DateTimeTimeZone(date_time=later, time_zone="UTC"),
            end=DateTimeTimeZone(date_time=end, time_zone="UTC"),
        )
    )
    moved = await view(tenant, "ada")
    assert [o.start.date_time[11:16] for o in moved] == ["11:00"] * 3
    assert not {o.id for o in moved} & {o.id for o in occs}
    items, _ = await delta(tenant, "ada", link)
    assert [i.id for i in items if i.type == EventType.SeriesMaster] == [master.id]  # the default
    items = [i for i in items if i.type != EventType.SeriesMaster]
    gone = {i.id for i in items if removed(i)}
    assert gone == {o.id for o in kept}  # everything the client had
    assert {i.id for i in items if not removed(i)} == {o.id for o in moved}
    assert all(i.subject is None for i in items)  # delta's occurrences are bare (see below)


async def test_deleting_the_master_deletes_the_series(tenant: Tenant) -> None:
    # event-delete.md on the master: the series goes; attendees' copies are cancelled (as for
    # single meetings). event-delta.md: every occurrence the client had comes as @removed.
    master = await weekly_meeting(tenant, 4)
    occs = await view(tenant, "ada")
    _, link = await delta(tenant, "ada", None)
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    await ada.events.by_event_id(occs[0].id).patch(Event(subject="an exception"))
    await ada.events.by_event_id(master.id).delete()
    assert await listed(tenant, "ada") == [] and await view(tenant, "ada") == []
    with pytest.raises(ODataError):
        await ada.events.by_event_id(occs[1].id).get()
    bob = await view(tenant, "bob")
    assert len(bob) == 4 and all(o.is_cancelled for o in bob)
    items, _ = await delta(tenant, "ada", link)
    # With the master too (deltaSeriesMasters, the default: docs-contrib issue #3196).
    assert {i.id for i in items} == {o.id for o in occs} | {master.id} and all(removed(i) for i in items)


async def test_attendee_answers_for_the_series_or_one_occurrence(tenant: Tenant) -> None:
    # event-accept.md / event-decline.md on the series master (the answer reaches the
    # organizer) or on one occurrence (it leaves the attendee's calendar; the organizer's series
    # is unchanged: docs silent).
    master = await weekly_meeting(tenant, 3)
    bob = tenant.client().users.by_user_id(tenant.uid("bob"))
    copy = (await listed(tenant, "bob"))[0]
    await bob.events.by_event_id(copy.id).accept.post(AcceptPostRequestBody(send_response=True))
    got = await tenant.client().users.by_user_id(tenant.uid("ada")).events.by_event_id(master.id).get()
    assert {a.email_address.address: a.status.response.value for a in got.attendees}[addr("bob")] == "accepted"
    mine = await view(tenant, "bob")
    assert {o.response_status.response.value for o in mine} == {"accepted"}
    await bob.events.by_event_id(mine[1].id).decline.post(DeclinePostRequestBody(send_response=True))
    assert [o.id for o in await view(tenant, "bob")] == [mine[0].id, mine[2].id]
    assert len(await view(tenant, "ada")) == 3


async def test_the_organizer_cancels_one_occurrence(tenant: Tenant) -> None:
    # event-cancel.md: "The organizer can also cancel an occurrence of a recurring meeting by
    # providing the occurrence event ID"; an attendee calling it gets 400.
    await weekly_meeting(tenant, 3)
    occs = await view(tenant, "ada")
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    await ada.events.by_event_id(occs[1].id).cancel.post(CancelPostRequestBody(comment="not this week"))
    assert [o.id for o in await view(tenant, "ada")] == [occs[0].id, occs[2].id]
    bob_view = await view(tenant, "bob")
    assert [o.is_cancelled for o in bob_view] == [False, True, False]
    bob = tenant.client().users.by_user_id(tenant.uid("bob"))
    with pytest.raises(ODataError) as err:
        await bob.events.by_event_id(bob_view[0].id).cancel.post(CancelPostRequestBody())
    assert err.value.response_status_code == 400


# -- rooms ---------------------------------------------------------------------------------------
async def test_a_room_declines_a_series_when_any_occurrence_conflicts(tenant: Tenant) -> None:
    # Set-CalendarProcessing AutoAccept (AllowConflicts $false, ConflictPercentageAllowed 0;
    # GRAPH-FACTS §4.3): one busy occurrence declines the whole series; the room holds nothing
    # of it. And an occurrence the room holds makes it busy for a later single meeting.
    room1 = tenant.client().users.by_user_id(tenant.uid("room1"))
    third = START + timedelta(weeks=2, minutes=10)
    await room1.events.post(
        Event(
            subject="direct",
            start=DateTimeTimeZone(date_time=third.strftime(FMT), time_zone="UTC"),
            end=DateTimeTimeZone(date_time=(third + timedelta(hours=1)).strftime(FMT), time_zone="UTC"),
        )
    )
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    made = await ada.events.post(series("Needs room1", weekly(5), attendees=invite(room="room1")))
    got = await ada.events.by_event_id(made.id).get()
    assert got.attendees[0].status.response.value == "declined"
    assert [e.subject for e in await listed(tenant, "room1")] == ["direct"]

    await weekly_meeting(tenant, 5)  # room0 accepts
    second = START + timedelta(weeks=1)
    single = await ada.events.post(
        Event(
            subject="clash",
            start=DateTimeTimeZone(date_time=second.strftime(FMT), time_zone="UTC"),
            end=DateTimeTimeZone(date_time=(second + timedelta(hours=1)).strftime(FMT), time_zone="UTC"),
            attendees=invite(room="room0"),
        )
    )
    got = await ada.events.by_event_id(single.id).get()
    assert got.attendees[0].status.response.value == "declined"


async def test_a_room_declines_one_moved_occurrence_when_busy_at_the_new_time(tenant: Tenant) -> None:
    # The single-meeting rule applied to an organizer's exception: the room checks the new
    # time; busy → that occurrence leaves the room's calendar and the organizer's exception
    # shows the room declined (docs silent on per-occurrence processing; AutoAccept, FACTS §4.3).
    await weekly_meeting(tenant, 3)
    second = START + timedelta(weeks=1, hours=2)
    room0 = tenant.client().users.by_user_id(tenant.uid("room0"))
    await room0.events.post(
        Event(
            subject="direct",
            start=DateTimeTimeZone(date_time=second.strftime(FMT), time_zone="UTC"),
            end=DateTimeTimeZone(date_time=(second + timedelta(hours=1)).strftime(FMT), time_zone="UTC"),
        )
    )
    occs = await view(tenant, "ada")
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    exc = await ada.events.by_event_id(occs[1].id).patch(
        Event(
            start=DateTimeTimeZone(date_time=second.strftime(FMT), time_zone="UTC"),
            end=DateTimeTimeZone(date_time=(second + timedelta(minutes=30)).strftime(FMT), time_zone="UTC"),
        )
    )
    room = [o for o in await view(tenant, "room0") if o.type != EventType.SingleInstance]
    assert [o.original_start for o in room] == [occs[0].original_start, occs[2].original_start]
    got = await ada.events.by_event_id(exc.id).get()
    assert {a.email_address.address: a.status.response.value for a in got.attendees}[addr("room0")] == "declined"


# -- validation ----------------------------------------------------------------------------------
def body(recurrence: Any, start: str = "2030-01-07T09:00:00", tz: str = "UTC") -> dict[str, Any]:
    return {
        "subject": "bad",
        "start": {"dateTime": start, "timeZone": tz},
        "end": {"dateTime": start[:11] + "10:00:00", "timeZone": tz},
        "recurrence": recurrence,
    }


WEEKLY = {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]}
NO_END = {"type": "noEnd", "startDate": "2030-01-07"}


@pytest.mark.parametrize(
    ("recurrence", "field"),
    [
        # recurrencepattern.md: daysOfWeek "Required if type is weekly"; interval "Required".
        ({"pattern": {"type": "weekly", "interval": 1}, "range": NO_END}, "recurrence.pattern.daysOfWeek"),
        ({"pattern": {**WEEKLY, "interval": 0}, "range": NO_END}, "recurrence.pattern.interval"),
        ({"pattern": {**WEEKLY, "type": "hourly"}, "range": NO_END}, "recurrence.pattern.type"),
        # The concepts page: "Even if a field is ignored, it is still validated."
        ({"pattern": {**WEEKLY, "index": "fifth"}, "range": NO_END}, "recurrence.pattern.index"),
        ({"pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 32}, "range": NO_END}, "dayOfMonth"),
        ({"pattern": {"type": "absoluteYearly", "interval": 1, "dayOfMonth": 7}, "range": NO_END}, "month"),
        # The concepts page, ranges: endDate "Required"; numberOfOccurrences "a positive integer".
        ({"pattern": WEEKLY, "range": {"type": "endDate", "startDate": "2030-01-07"}}, "recurrence.range.endDate"),
        (
            {"pattern": WEEKLY, "range": {"type": "endDate", "startDate": "2030-01-07", "endDate": "2030-01-01"}},
            "recurrence.range.endDate",
        ),
        (
            {"pattern": WEEKLY, "range": {"type": "numbered", "startDate": "2030-01-07", "numberOfOccurrences": 0}},
            "recurrence.range.numberOfOccurrences",
        ),
        # More than 999 occurrences: docs silent (Outlook's "End after" limit); refused.
        (
            {"pattern": WEEKLY, "range": {"type": "numbered", "startDate": "2030-01-07", "numberOfOccurrences": 1000}},
            "recurrence.range.numberOfOccurrences",
        ),
        # The concepts page: startDate "MUST correspond to the date value of the start property".
        ({"pattern": WEEKLY, "range": {"type": "noEnd", "startDate": "2030-01-08"}}, "recurrence.range.startDate"),
        # recurrenceTimeZone other than the start's: docs silent; refused.
        (
            {"pattern": WEEKLY, "range": {**NO_END, "recurrenceTimeZone": "Pacific Standard Time"}},
            "recurrence.range.recurrenceTimeZone",
        ),
    ],
)
async def test_a_bad_recurrence_is_400_naming_the_field(tenant: Tenant, recurrence: Any, field: str) -> None:
    # Graph's code and wording for these: docs silent (ErrorInvalidRequest, the field named); a
    # value that is no member of its enum fails reading the body against the schema first
    # (RequestBodyRead, as for To Do: devtools/graph_schema).
    async with tenant.raw() as raw:
        r = await raw.post(f"/users/{tenant.uid('ada')}/events", json=body(recurrence))
    assert r.status_code == 400, r.text
    enum = field in ("recurrence.pattern.type", "recurrence.pattern.index")
    assert r.json()["error"]["code"] == ("RequestBodyRead" if enum else "ErrorInvalidRequest")
    assert field in r.json()["error"]["message"]


async def test_instances_cannot_take_a_recurrence_and_a_series_keeps_its_own(tenant: Tenant) -> None:
    # Docs silent: an occurrence or exception given a recurrence, and a master's recurrence set
    # to null, are refused (400) rather than guessed at.
    master = await weekly_meeting(tenant, 3)
    occ = (await view(tenant, "ada"))[0]
    async with tenant.raw() as raw:
        base = f"/users/{tenant.uid('ada')}/events"
        r = await raw.patch(f"{base}/{occ.id}", json={"recurrence": {"pattern": WEEKLY, "range": NO_END}})
        assert r.status_code == 400
        r = await raw.patch(f"{base}/{master.id}", json={"recurrence": None})
        assert r.status_code == 400
        # A single event made recurring by PATCH becomes a series master (event-update.md).
        single = (await raw.post(base, json={k: v for k, v in body(None).items() if k != "recurrence"})).json()
        rec = {"pattern": WEEKLY, "range": {"type": "numbered", "startDate": "2030-01-07", "numberOfOccurrences": 2}}
        r = await raw.patch(f"{base}/{single['id']}", json={"recurrence": rec})
        assert r.status_code == 200 and r.json()["type"] == "seriesMaster"


# -- what single events have, series have too ----------------------------------------------------
async def test_transaction_id_and_extended_properties_on_a_series(tenant: Tenant) -> None:
    # resources/event.md transactionId; GRAPH-FACTS §3.3 extended properties. The occurrences
    # carry the master's extended properties (Exchange generates them from the master; docs
    # silent); /events $filter finds the master (the list has no occurrences).
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    make = series(
        "tagged",
        weekly(3),
        transaction_id="5d1c9a37-2e0c-4d6f-9d2e-7b0a1c2e3f40",
        single_value_extended_properties=[SingleValueLegacyExtendedProperty(id=PROP, value="booking-42")],
    )
    first = await ada.events.post(make)
    again = await ada.events.post(make)
    assert first.id == again.id and len(await listed(tenant, "ada")) == 1
    occ = (await view(tenant, "ada"))[1]
    cfg = RequestConfiguration(
        query_parameters=EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(
            expand=[f"singleValueExtendedProperties($filter=id eq '{PROP}')"]
        )
    )
    got = await ada.events.by_event_id(occ.id).get(request_configuration=cfg)
    assert [p.value for p in got.single_value_extended_properties] == ["booking-42"]
    q = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
        filter=f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and ep/value eq 'booking-42')"
    )
    found = await ada.events.get(request_configuration=RequestConfiguration(query_parameters=q))
    assert [(e.id, e.type) for e in found.value] == [(first.id, EventType.SeriesMaster)]


async def test_notifications_for_a_series_and_its_occurrences(tenant: Tenant, receiver: Receiver) -> None:
    # concepts/change-notifications-delivery-webhooks.md: a change to an event of the mailbox
    # notifies — the master on create; the occurrence (and its master, whose exceptions
    # changed) on a PATCH or DELETE of one occurrence.
    client = tenant.client()
    await client.subscriptions.post(sub(tenant, receiver))
    ada = client.users.by_user_id(tenant.uid("ada"))
    master = await ada.events.post(series("notify", weekly(3)))
    occs = await view(tenant, "ada")
    await ada.events.by_event_id(occs[0].id).patch(Event(subject="changed"))
    await ada.events.by_event_id(occs[1].id).delete()
    items = await receiver.wait_for(6)
    seen = Counter((i["changeType"], i["resourceData"]["id"]) for i in items)
    assert seen == {
        ("created", master.id): 1,
        ("updated", master.id): 3,
        ("updated", occs[0].id): 1,
        ("deleted", occs[1].id): 1,
    }


async def test_faults_throttling_and_batching_reach_instances(tenant: Tenant) -> None:
    # The control API's failNext (emulator choice) and concepts/json-batching.md: instances is
    # a request like any other.
    master = await weekly_meeting(tenant, 2)
    path = f"/users/{tenant.uid('ada')}/events/{master.id}/instances"
    q = {"startDateTime": SPAN[0], "endDateTime": SPAN[1]}
    await tenant.control.post(
        "/_emulator/faults",
        json={"failNext": [{"method": "GET", "pattern": "/users/{id}/events/{id}/instances", "status": 503}]},
    )
    async with tenant.raw() as raw:
        assert (await raw.get(path, params=q)).status_code == 503
        assert len((await raw.get(path, params=q)).json()["value"]) == 2
        batch = {"requests": [{"id": "1", "method": "GET", "url": f"{path}?{httpx.QueryParams(q)}"}]}
        r = await raw.post("/$batch", json=batch)
    item = r.json()["responses"][0]
    assert item["status"] == 200 and [o["type"] for o in item["body"]["value"]] == ["occurrence"] * 2


async def test_a_change_of_the_series_reaches_exceptions_that_did_not_change_it(tenant: Tenant) -> None:
    # [MS-OXOCAL] 2.2.1.44.2 ExceptionInfo: an exception stores what it overrides (subject,
    # location, busy status, body flags); the rest comes from its master. A renamed series
    # renames its moved occurrence, in the organizer's and the attendee's calendar, and the
    # exception shows in delta; one renamed on its own keeps its name.
    await weekly_meeting(tenant, 3)
    occs = await view(tenant, "ada")
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    later = (START + timedelta(weeks=1, hours=2)).strftime(FMT)
    later_end = (START + timedelta(weeks=1, hours=2, minutes=30)).strftime(FMT)
    await ada.events.by_event_id(occs[1].id).patch(
        Event(
            start=DateTimeTimeZone(date_time=later, time_zone="UTC"),
            end=DateTimeTimeZone(date_time=later_end, time_zone="UTC"),
        )
    )
    await ada.events.by_event_id(occs[2].id).patch(Event(subject="Its own"))
    _, link = await delta(tenant, "ada", None)
    await ada.events.by_event_id(occs[0].series_master_id).patch(Event(subject="Weekly sync (renamed)"))
    by_start = {o.original_start: o for o in await view(tenant, "ada")}
    assert by_start[occs[1].original_start].subject == "Weekly sync (renamed)"
    assert by_start[occs[1].original_start].start.date_time.startswith(later)
    assert by_start[occs[2].original_start].subject == "Its own"
    bob = {o.original_start: o for o in await view(tenant, "bob")}
    assert bob[occs[1].original_start].subject == "Weekly sync (renamed)"
    assert bob[occs[2].original_start].subject == "Its own"
    items, _ = await delta(tenant, "ada", link)
    assert occs[1].id in {i.id for i in items}
