"""Contract: Teams online meetings on events (isOnlineMeeting, onlineMeetingProvider,
onlineMeeting), through msgraph-sdk.

Every test names the documentation it checks (paths in microsoftgraph/microsoft-graph-docs-contrib),
or says where the docs are silent and the emulator chose.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
from msgraph.generated.models.recurrence_pattern import RecurrencePattern
from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
from msgraph.generated.models.recurrence_range import RecurrenceRange
from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
from msgraph.generated.users.item.events.item.instances.instances_request_builder import InstancesRequestBuilder

from tests.emulator.conftest import Tenant
from tests.emulator.test_events import TOMORROW, delta_round, event

JOIN = re.compile(r"^https://teams\.microsoft\.com/l/meetup-join/19%3ameeting_[A-Za-z0-9+/=]+%40thread\.v2/0\?context=")


def teams(subject: str, **kw) -> Event:
    return event(
        subject, is_online_meeting=True, online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness, **kw
    )


async def test_an_online_meeting_gets_a_stable_teams_join_url(tenant: Tenant) -> None:
    # api-reference/v1.0/api/user-post-events.md (and calendar-post-events.md), example "Create and
    # enable an event as an online meeting": isOnlineMeeting true + onlineMeetingProvider
    # teamsForBusiness → onlineMeeting {joinUrl https://teams.microsoft.com/l/meetup-join/…,
    # conferenceId}; onlineMeetingUrl null. resources/event.md: "Subsequently Outlook ignores any
    # further changes to isOnlineMeeting, and the meeting remains available online".
    me = tenant.client().users.by_user_id(tenant.uid("ada"))
    plain = await me.events.post(event("plain"))
    assert plain.is_online_meeting is False and plain.online_meeting is None
    assert plain.online_meeting_provider == OnlineMeetingProviderType.Unknown
    created = await me.events.post(teams("Standup"))
    assert created.is_online_meeting is True
    assert created.online_meeting_provider == OnlineMeetingProviderType.TeamsForBusiness
    url = created.online_meeting.join_url
    assert JOIN.match(url) and tenant.id in url and tenant.uid("ada") in url  # context: Tid, organizer Oid
    assert re.fullmatch(r"\d{9}", created.online_meeting.conference_id) and created.online_meeting_url is None
    fetched = await me.events.by_event_id(created.id).get()
    assert fetched.online_meeting.join_url == url
    patched = await me.events.by_event_id(created.id).patch(Event(subject="Standup v2", is_online_meeting=False))
    assert patched.is_online_meeting is True and patched.online_meeting.join_url == url  # "ignores"
    items, _, _ = await delta_round(me, None)
    assert {i.id: i.online_meeting.join_url for i in items if i.online_meeting} == {created.id: url}
    # Turned on by PATCH later: the provider defaults to the calendar's (calendar.md
    # defaultOnlineMeetingProvider; teamsForBusiness here: emulator choice).
    later = await me.events.by_event_id(plain.id).patch(Event(is_online_meeting=True))
    assert later.online_meeting_provider == OnlineMeetingProviderType.TeamsForBusiness
    assert JOIN.match(later.online_meeting.join_url) and later.online_meeting.join_url != url


async def test_attendee_copies_and_occurrences_carry_the_organizers_meeting(tenant: Tenant) -> None:
    # resources/event.md (onlineMeeting: "Details for an attendee to join the meeting online") —
    # the invitation carries the organizer's meeting; a series has one meeting for all its
    # occurrences (docs silent; as Teams does).
    me = tenant.client().users.by_user_id(tenant.uid("ada"))
    bob = tenant.client().users.by_user_id(tenant.uid("bob"))
    created = await me.events.post(
        teams(
            "Review",
            attendees=[
                Attendee(
                    email_address=EmailAddress(address="bob@fabrikam.test", name="Bob"), type=AttendeeType.Required
                )
            ],
        )
    )
    [copy] = [e for e in (await bob.events.get()).value if e.subject == "Review"]
    assert copy.is_online_meeting and copy.online_meeting.join_url == created.online_meeting.join_url
    # An attendee can't make or change the meeting (docs silent; refused).
    with pytest.raises(ODataError) as err:
        await bob.events.by_event_id(copy.id).patch(
            Event(online_meeting_provider=OnlineMeetingProviderType.SkypeForBusiness)
        )
    assert err.value.response_status_code == 400
    series = await me.events.post(
        teams(
            "Weekly",
            recurrence=PatternedRecurrence(
                pattern=RecurrencePattern(type=RecurrencePatternType.Daily, interval=1),
                range=RecurrenceRange(
                    type=RecurrenceRangeType.Numbered, start_date=TOMORROW.date(), number_of_occurrences=3
                ),
            ),
        )
    )
    window = InstancesRequestBuilder.InstancesRequestBuilderGetQueryParameters(
        start_date_time=TOMORROW.strftime("%Y-%m-%dT00:00:00Z"),
        end_date_time=(TOMORROW + timedelta(days=4)).strftime("%Y-%m-%dT00:00:00Z"),
    )
    occurrences = await me.events.by_event_id(series.id).instances.get(
        request_configuration=RequestConfiguration(query_parameters=window)
    )
    assert len(occurrences.value) == 3
    assert {o.online_meeting.join_url for o in occurrences.value} == {series.online_meeting.join_url}


async def test_unsupported_providers_and_read_only_properties_are_400(tenant: Tenant) -> None:
    # resources/calendar.md: allowedOnlineMeetingProviders (teamsForBusiness only here: a work
    # tenant with Teams; emulator choice). A provider the calendar doesn't allow is not an
    # error: Graph makes the event, not online (docs-contrib issue #4625).
    # resources/event.md: onlineMeeting and onlineMeetingUrl are "Read-only"; the
    # provider can't be changed once set ("you cannot change … onlineMeetingProvider").
    uid = tenant.uid("ada")
    base = event("x")
    times = {
        "start": {"dateTime": base.start.date_time, "timeZone": "UTC"},
        "end": {"dateTime": base.end.date_time, "timeZone": "UTC"},
    }
    async with tenant.raw() as raw:
        for quiet in ("skypeForConsumer", "skypeForBusiness"):
            # A provider the calendar doesn't allow: made, not online (docs-contrib issue #4625).
            body = {"subject": "x", **times, "isOnlineMeeting": True, "onlineMeetingProvider": quiet}
            answer = await raw.post(f"/users/{uid}/events", json=body)
            assert answer.status_code == 201, answer.text
            made = answer.json()
            assert (made["isOnlineMeeting"], made["onlineMeetingProvider"], made["onlineMeeting"]) == (
                False,
                "unknown",
                None,
            )
        bad = [
            {"isOnlineMeeting": True, "onlineMeetingProvider": "zoom"},
            {"isOnlineMeeting": "yes"},
            {"onlineMeetingProvider": "teamsForBusiness"},  # without isOnlineMeeting: ambiguous in event.md
            {"onlineMeeting": {"joinUrl": "https://teams.microsoft.com/l/meetup-join/x"}},
            {"onlineMeetingUrl": "https://example.com/meet"},
        ]
        for body in bad:
            answer = await raw.post(f"/users/{uid}/events", json={"subject": "x", **times, **body})
            assert answer.status_code == 400, body
        made = (await raw.post(f"/users/{uid}/events", json={"subject": "t", **times, "isOnlineMeeting": True})).json()
        path = f"/users/{uid}/events/{made['id']}"
        changed = await raw.patch(path, json={"subject": "renamed", "onlineMeetingProvider": "skypeForBusiness"})
        assert changed.status_code == 400
        assert (await raw.get(path)).json()["subject"] == "t"  # a refused PATCH changes nothing
        same = await raw.patch(path, json={"onlineMeetingProvider": "teamsForBusiness"})
        assert same.status_code == 200 and same.json()["onlineMeeting"]["joinUrl"] == made["onlineMeeting"]["joinUrl"]
