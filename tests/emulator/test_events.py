"""Contract: events, meetings, rooms, calendarView and delta, through msgraph-sdk."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.location import Location
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.single_value_legacy_extended_property import SingleValueLegacyExtendedProperty
from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import CalendarViewRequestBuilder
from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import DeltaRequestBuilder
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder
from msgraph.generated.users.item.events.item.event_item_request_builder import EventItemRequestBuilder

from tests.emulator.conftest import Tenant

PROP = "String {66f5a359-4659-4830-9070-00040ec6ac6e} Name calsyncRef"
ID_CHARS = re.compile(r"^[A-Za-z0-9_=-]{60,}$")
TOMORROW = (datetime.now(UTC) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


def when(hours: float = 0, length: float = 1, tz: str = "UTC") -> tuple[DateTimeTimeZone, DateTimeTimeZone]:
    start = TOMORROW + timedelta(hours=hours)
    fmt = "%Y-%m-%dT%H:%M:%S"
    return (
        DateTimeTimeZone(date_time=start.strftime(fmt), time_zone=tz),
        DateTimeTimeZone(date_time=(start + timedelta(hours=length)).strftime(fmt), time_zone=tz),
    )


def event(subject: str, hours: float = 0, **kw) -> Event:
    start, end = when(hours)
    return Event(subject=subject, start=start, end=end, **kw)


def headers(*prefer: str) -> RequestConfiguration:
    cfg = RequestConfiguration()
    for value in prefer:
        cfg.headers.add("Prefer", value)
    return cfg


async def test_create_get_update_delete(tenant: Tenant) -> None:
    me = tenant.client().users.by_user_id(tenant.uid("ada"))
    created = await me.events.post(
        event("Planning", body=ItemBody(content="agenda"), location=Location(display_name="Desk 4"))
    )
    assert ID_CHARS.match(created.id)
    assert created.additional_data["@odata.etag"] == f'W/"{created.change_key}"'
    assert created.is_organizer and created.response_status.response.value == "organizer"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT09:00:00\.0000000", created.start.date_time)
    assert created.start.time_zone == "UTC" and created.i_cal_u_id
    fetched = await me.events.by_event_id(created.id).get()
    assert fetched.subject == "Planning" and fetched.location.display_name == "Desk 4"
    updated = await me.events.by_event_id(created.id).patch(Event(subject="Planning v2"))
    assert updated.id == created.id and updated.subject == "Planning v2"
    assert updated.change_key != created.change_key
    await me.events.by_event_id(created.id).delete()
    with pytest.raises(ODataError) as err:
        await me.events.by_event_id(created.id).get()
    assert err.value.response_status_code == 404 and err.value.error.code == "ErrorItemNotFound"


async def test_time_zone_preference_and_windows_names(tenant: Tenant) -> None:
    me = tenant.client().users.by_user_id(tenant.uid("ada"))
    start, end = when(tz="W. Europe Standard Time")
    created = await me.events.post(Event(subject="tz", start=start, end=end))
    # Stored in the given zone, answered in UTC by default.
    local = datetime.strptime(start.date_time, "%Y-%m-%dT%H:%M:%S")
    utc = datetime.fromisoformat(created.start.date_time[:19])
    assert created.original_start_time_zone == "W. Europe Standard Time"
    assert utc != local  # converted
    pst = await me.events.by_event_id(created.id).get(
        request_configuration=headers('outlook.timezone="Pacific Standard Time"')
    )
    assert pst.start.time_zone == "Pacific Standard Time"
    assert datetime.fromisoformat(pst.start.date_time[:19]) != utc
    with pytest.raises(ODataError) as err:
        await me.events.post(
            Event(
                subject="bad",
                start=DateTimeTimeZone(date_time="2026-01-01T10:00:00", time_zone="Mars/Olympus"),
                end=DateTimeTimeZone(date_time="2026-01-01T11:00:00", time_zone="UTC"),
            )
        )
    assert err.value.error.code == "TimeZoneNotSupportedException"


async def test_immutable_ids_address_the_same_event(tenant: Tenant) -> None:
    me = tenant.client().users.by_user_id(tenant.uid("ada"))
    immutable = await me.events.post(event("imm"), request_configuration=headers('IdType="ImmutableId"'))
    rest = await me.events.by_event_id(immutable.id).get()
    assert rest.id != immutable.id and ID_CHARS.match(immutable.id)
    again = await me.events.by_event_id(rest.id).get(request_configuration=headers('IdType="ImmutableId"'))
    assert again.id == immutable.id


async def test_transaction_id_deduplicates_creates(tenant: Tenant) -> None:
    me = tenant.client().users.by_user_id(tenant.uid("ada"))
    first = await me.events.post(event("once", transaction_id="txn-1"))
    second = await me.events.post(event("once", transaction_id="txn-1"))
    assert first.id == second.id
    listed = await me.events.get()
    assert [e.subject for e in listed.value] == ["once"]


async def test_extended_property_expand_and_filter(tenant: Tenant) -> None:
    me = tenant.client().users.by_user_id(tenant.uid("ada"))
    tagged = await me.events.post(
        event(
            "tagged",
            single_value_extended_properties=[SingleValueLegacyExtendedProperty(id=PROP, value="org1/appt-42")],
        )
    )
    await me.events.post(event("plain", 2))
    assert not tagged.single_value_extended_properties  # create does not echo it
    q = EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(
        expand=[f"singleValueExtendedProperties($filter=id eq '{PROP}')"]
    )
    got = await me.events.by_event_id(tagged.id).get(request_configuration=RequestConfiguration(query_parameters=q))
    assert [(p.id, p.value) for p in got.single_value_extended_properties] == [(PROP, "org1/appt-42")]
    q = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
        filter=f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and ep/value eq 'org1/appt-42')"
    )
    found = await me.events.get(request_configuration=RequestConfiguration(query_parameters=q))
    assert [e.id for e in found.value] == [tagged.id]


async def test_list_pages_by_ten_by_default(tenant: Tenant) -> None:
    me = tenant.client().users.by_user_id(tenant.uid("bob"))
    for i in range(12):
        await me.events.post(event(f"e{i}", i))
    page = await me.events.get()
    assert len(page.value) == 10 and page.odata_next_link
    rest = await me.events.with_url(page.odata_next_link).get()
    assert len(rest.value) == 2


async def test_validation_errors(tenant: Tenant) -> None:
    me = tenant.client().users.by_user_id(tenant.uid("ada"))
    start, end = when()
    with pytest.raises(ODataError) as err:
        await me.events.post(Event(subject="backwards", start=end, end=start))
    assert err.value.response_status_code == 400
    with pytest.raises(ODataError):
        await me.events.post(Event(subject="all day at 9", start=start, end=end, is_all_day=True))


def meeting(subject: str, hours: float, *people: str, room: str | None = None) -> Event:
    attendees = [Attendee(email_address=EmailAddress(address=p), type=AttendeeType.Required) for p in people]
    if room:
        attendees.append(Attendee(email_address=EmailAddress(address=room), type=AttendeeType.Resource))
    return event(subject, hours, attendees=attendees, body=ItemBody(content="secret agenda"))


async def find_copy(tenant: Tenant, user: str, ical: str) -> Event | None:
    events = await tenant.client().users.by_user_id(tenant.uid(user)).events.get()
    return next((e for e in events.value if e.i_cal_u_id == ical), None)


async def test_meeting_creates_attendee_and_room_copies_and_room_declines_conflicts(tenant: Tenant) -> None:
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    org = await ada.events.post(
        meeting("Sync", 0, "bob@fabrikam.test", "cyd@fabrikam.test", room="room0@fabrikam.test")
    )
    bob = await find_copy(tenant, "bob", org.i_cal_u_id)
    assert bob is not None and not bob.is_organizer and bob.subject == "Sync"
    assert bob.organizer.email_address.address == "ada@fabrikam.test"
    assert bob.response_status.response.value == "notResponded"
    room = await find_copy(tenant, "room0", org.i_cal_u_id)
    assert room is not None and room.response_status.response.value == "accepted"
    assert room.subject == "Ada Test"  # AddOrganizerToSubject/DeleteSubject defaults
    org_now = await ada.events.by_event_id(org.id).get()
    statuses = {a.email_address.address: a.status.response.value for a in org_now.attendees}
    assert statuses == {"bob@fabrikam.test": "none", "cyd@fabrikam.test": "none", "room0@fabrikam.test": "accepted"}
    # Same room, overlapping time: the room declines and keeps no copy.
    dee = tenant.client().users.by_user_id(tenant.uid("dee"))
    clash = await dee.events.post(meeting("Clash", 0.5, room="room0@fabrikam.test"))
    clash_now = await dee.events.by_event_id(clash.id).get()
    assert clash_now.attendees[0].status.response.value == "declined"
    assert await find_copy(tenant, "room0", clash.i_cal_u_id) is None


async def test_organizer_updates_flow_to_copies_and_delete_cancels_them(tenant: Tenant) -> None:
    ada = tenant.client().users.by_user_id(tenant.uid("ada"))
    org = await ada.events.post(meeting("Review", 3, "bob@fabrikam.test", "cyd@fabrikam.test"))
    await ada.events.by_event_id(org.id).patch(Event(subject="Review (moved)", start=when(4)[0], end=when(4)[1]))
    bob = await find_copy(tenant, "bob", org.i_cal_u_id)
    assert bob.subject == "Review (moved)" and bob.start.date_time == when(4)[0].date_time + ".0000000"
    # Dropping an attendee cancels that attendee's copy.
    await ada.events.by_event_id(org.id).patch(
        Event(attendees=[Attendee(email_address=EmailAddress(address="bob@fabrikam.test"), type=AttendeeType.Required)])
    )
    assert (await find_copy(tenant, "cyd", org.i_cal_u_id)).is_cancelled
    await ada.events.by_event_id(org.id).delete()
    bob = await find_copy(tenant, "bob", org.i_cal_u_id)
    assert bob.is_cancelled and bob.subject.startswith("Canceled: ")


async def test_responses_update_the_organizer_and_cancel_is_for_organizers(tenant: Tenant) -> None:
    client = tenant.client()
    ada = client.users.by_user_id(tenant.uid("ada"))
    org = await ada.events.post(meeting("Offsite", 6, "bob@fabrikam.test", "cyd@fabrikam.test"))
    bob_copy = await find_copy(tenant, "bob", org.i_cal_u_id)
    cyd_copy = await find_copy(tenant, "cyd", org.i_cal_u_id)
    from msgraph.generated.users.item.events.item.accept.accept_post_request_body import AcceptPostRequestBody
    from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody
    from msgraph.generated.users.item.events.item.decline.decline_post_request_body import DeclinePostRequestBody

    await (
        client.users.by_user_id(tenant.uid("bob"))
        .events.by_event_id(bob_copy.id)
        .accept.post(AcceptPostRequestBody(comment="yes", send_response=True))
    )
    await (
        client.users.by_user_id(tenant.uid("cyd"))
        .events.by_event_id(cyd_copy.id)
        .decline.post(DeclinePostRequestBody(comment="no", send_response=True))
    )
    org_now = await ada.events.by_event_id(org.id).get()
    statuses = {a.email_address.address: a.status.response.value for a in org_now.attendees}
    assert statuses == {"bob@fabrikam.test": "accepted", "cyd@fabrikam.test": "declined"}
    assert (await find_copy(tenant, "bob", org.i_cal_u_id)).response_status.response.value == "accepted"
    assert await find_copy(tenant, "cyd", org.i_cal_u_id) is None  # a declined meeting leaves the calendar
    with pytest.raises(ODataError) as err:
        await (
            client.users.by_user_id(tenant.uid("bob"))
            .events.by_event_id(bob_copy.id)
            .cancel.post(CancelPostRequestBody(comment="nope"))
        )
    assert err.value.response_status_code == 400
    await ada.events.by_event_id(org.id).cancel.post(CancelPostRequestBody(comment="off"))
    assert (await find_copy(tenant, "bob", org.i_cal_u_id)).is_cancelled
    with pytest.raises(ODataError):
        await ada.events.by_event_id(org.id).get()


def window(days: int = 30) -> tuple[str, str]:
    start = datetime.now(UTC) - timedelta(days=1)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ"), (start + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_calendar_view_needs_a_window(tenant: Tenant) -> None:
    me = tenant.client().users.by_user_id(tenant.uid("ada"))
    await me.events.post(event("in", 1))
    far = Event(
        subject="far",
        start=DateTimeTimeZone(date_time="2030-01-01T10:00:00", time_zone="UTC"),
        end=DateTimeTimeZone(date_time="2030-01-01T11:00:00", time_zone="UTC"),
    )
    await me.events.post(far)
    s, e = window()
    q = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(start_date_time=s, end_date_time=e)
    view = await me.calendar_view.get(request_configuration=RequestConfiguration(query_parameters=q))
    assert [ev.subject for ev in view.value] == ["in"]
    with pytest.raises(ODataError) as err:
        await me.calendar_view.get()
    assert err.value.response_status_code == 400


async def delta_round(me, link: str | None, page_size: int | None = None) -> tuple[list, str, int]:
    """Follow nextLinks to the deltaLink the way the app must: through empty pages too."""
    cfg = headers(*([f"odata.maxpagesize={page_size}"] if page_size else []))
    if link is None:
        s, e = window()
        cfg.query_parameters = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
            start_date_time=s, end_date_time=e
        )
        page = await me.calendar_view.delta.get(request_configuration=cfg)
    else:
        page = await me.calendar_view.delta.with_url(link).get(request_configuration=cfg)
    items, pages = list(page.value), 1
    while page.odata_next_link:
        page = await me.calendar_view.delta.with_url(page.odata_next_link).get(request_configuration=cfg)
        items += page.value
        pages += 1
    return items, page.odata_delta_link, pages


async def test_delta_rounds_report_changes_and_removals(tenant: Tenant) -> None:
    me = tenant.client().users.by_user_id(tenant.uid("ada"))
    ids = [(await me.events.post(event(f"d{i}", i))).id for i in range(5)]
    s, e = window()
    first = await me.calendar_view.delta.get(
        request_configuration=RequestConfiguration(
            query_parameters=DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
                start_date_time=s, end_date_time=e
            )
        )
    )
    assert first.value == [] and first.odata_next_link and not first.odata_delta_link  # an empty first page
    items, link, pages = await delta_round(me, None, page_size=2)
    assert sorted(i.id for i in items) == sorted(ids) and pages == 4  # empty page + 3 pages of ≤2
    # Idle mailbox: one request, nothing new.
    items, link2, pages = await delta_round(me, link)
    assert (items, pages) == ([], 1)
    await me.events.by_event_id(ids[0]).patch(Event(subject="changed"))
    await me.events.by_event_id(ids[1]).delete()
    items, _, _ = await delta_round(me, link2)
    changed = {i.id: i for i in items}
    assert changed[ids[0]].subject == "changed"
    assert changed[ids[1]].additional_data["@removed"] == {"reason": "deleted"}
    assert set(changed) == {ids[0], ids[1]}
    # An old link still works (replays from its own state).
    again, _, _ = await delta_round(me, link2)
    assert {i.id for i in again} == {ids[0], ids[1]}


async def test_expired_delta_token_is_410_sync_state_not_found(tenant: Tenant) -> None:
    me = tenant.client().users.by_user_id(tenant.uid("ada"))
    await me.events.post(event("x"))
    _, link, _ = await delta_round(me, None)
    await tenant.control.post("/_emulator/delta/expire", json={"mailbox": tenant.uid("ada")})
    with pytest.raises(ODataError) as err:
        await delta_round(me, link)
    assert err.value.response_status_code == 410
    assert err.value.error.code == "syncStateNotFound"
    items, _, _ = await delta_round(me, None)  # a fresh round recovers everything
    assert [i.subject for i in items] == ["x"]
