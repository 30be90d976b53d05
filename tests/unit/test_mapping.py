"""Echo suppression rests on this: for every field we push, what Graph answers (as the
emulator renders it, with the Prefer headers our delta rounds send) normalizes to what
`written_content` says we wrote. If they disagreed, our own writes would come back as
Outlook edits."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from devtools.graph_emulator.calendar.bodies import apply_body, new_event
from devtools.graph_emulator.calendar.render import render
from devtools.graph_emulator.core.wire import View
from devtools.graph_emulator.core.world import World
from devtools.graph_emulator.directory.models import User
from shared.core.mapping import (
    FIELDS,
    Desired,
    attendee,
    desired_content,
    event_body,
    join_block_html,
    meeting_id,
    minted_id,
    normalize,
    property_value,
    same,
    tagged_appointment,
    transaction_id,
    values,
    written_content,
)

ZONES = ["UTC", "Europe/Oslo", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "W. Europe Standard Time"]
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40)


@st.composite
def desired(draw: st.DrawFn) -> Desired:
    all_day = draw(st.booleans())
    start = draw(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)))
    if all_day:
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=draw(st.integers(1, 5)))
    else:
        start = start.replace(second=0, microsecond=0)
        end = start + timedelta(minutes=draw(st.integers(15, 600)))
    return Desired(
        org="o",
        appointment="a",
        title=draw(TEXT.filter(str.strip)),
        start=start.isoformat(),
        end=end.isoformat(),
        time_zone=draw(st.sampled_from(ZONES)),
        is_all_day=all_day,
        location=draw(TEXT),
        body=draw(TEXT),
        is_private=draw(st.booleans()),
    )


def graph_answer(body: dict) -> dict:
    """The event as the emulator answers a delta/GET with UTC times and text bodies."""
    world = World()
    user = User(
        id="5f0c1d2e-3a4b-4c5d-8e9f-a0b1c2d3e4f5",
        tenant_id="6e0f5a1c-3b7d-4c2a-9f11-c0a7050c0de1",
        user_principal_name="ada@fabrikam.test",
        display_name="Ada",
    )
    event = new_event(user, body)
    apply_body(world, event, body, creating=True)
    return render(world, event, View(tz="UTC", immutable=True, text_body=True))


@settings(max_examples=300, deadline=None)
@given(desired(), st.sampled_from(["organizer", "copy", "resource"]))
def test_what_graph_answers_normalizes_to_what_we_wrote(want: Desired, role: str) -> None:
    body = event_body(want, role, [], want.location)
    seen = normalize(graph_answer(body))
    wrote = written_content(body)
    assert {f: seen[f] for f in FIELDS} == {f: wrote[f] for f in FIELDS}


@settings(max_examples=100, deadline=None)
@given(desired())
def test_what_the_booking_wants_is_what_we_write(want: Desired) -> None:
    assert desired_content(want) == written_content(event_body(want, "copy", [], want.location))


def test_a_changed_field_is_seen_as_changed() -> None:
    base = Desired("o", "a", "Title", "2026-03-02T10:00:00", "2026-03-02T11:00:00", "Europe/Oslo")
    wrote = written_content(event_body(base, "copy", [], ""))
    moved = graph_answer(
        event_body(base, "copy", [], "") | {"start": {"dateTime": "2026-03-02T10:30:00", "timeZone": "Europe/Oslo"}}
    )
    seen = normalize(moved)
    assert [f for f in FIELDS if seen[f] != wrote[f]] == ["start"]
    assert seen["start"] == "2026-03-02T09:30:00Z"


def test_the_teams_join_block_exchange_adds_is_not_part_of_the_body() -> None:
    """concepts/outlook-calendar-online-meetings.md, the 201 example: Exchange appends a line,
    the join link and meeting options, and another line to an online meeting's body."""
    from shared.core.mapping import normalize

    line = '<div style="width:100%"><span style="color:gray">' + "_" * 80 + "</span>\r\n</div>\r\n"
    block = (
        line + '<div><a href="https://teams.microsoft.com/l/meetup-join/x">Join\r\n Microsoft Teams Meeting</a></div>'
    )
    content = f"<html><body>\r\nDoes this time work for you?\r\n{block}{line}</body></html>"
    online = {"body": {"contentType": "html", "content": content}, "isOnlineMeeting": True}
    assert normalize(online)["body"] == "Does this time work for you?"
    # Only an online meeting's: a line a person typed in another event stays.
    assert "_" * 80 in normalize({**online, "isOnlineMeeting": False})["body"]


# -- what the mutation run found unchecked (#29) -------------------------------------------------
ONLINE = Desired(
    "o1", "a1", "Review", "2026-12-04T09:00:00", "2026-12-04T10:00:00", "Europe/Oslo",
    location="Desk 4", body="Bring the figures", is_private=True, online_meeting=True,
    recurrence={"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["friday"]},
                "range": {"type": "noEnd", "startDate": "2026-12-04"}},
)  # fmt: skip


def test_the_organizers_event_is_the_whole_graph_body_with_attendees_and_teams() -> None:
    """event.md: times as dateTimeTimeZone in the Windows zone, a text body, a private
    sensitivity; the organizer's copy also carries the attendees and the Teams meeting."""
    people = [attendee("bob@x.test", "Bob", "required"), attendee("room4@x.test", "", "resource")]
    assert event_body(ONLINE, "organizer", people, "Room 4") == {
        "subject": "Review",
        "body": {"contentType": "text", "content": "Bring the figures"},
        "start": {"dateTime": "2026-12-04T09:00:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-12-04T10:00:00", "timeZone": "W. Europe Standard Time"},
        "isAllDay": False,
        "location": {"displayName": "Room 4"},
        "sensitivity": "private",
        "attendees": [
            {"emailAddress": {"address": "bob@x.test", "name": "Bob"}, "type": "required"},
            {"emailAddress": {"address": "room4@x.test", "name": "room4@x.test"}, "type": "resource"},
        ],
        "isOnlineMeeting": True,
        "onlineMeetingProvider": "teamsForBusiness",
        "recurrence": ONLINE.recurrence,
    }


def test_a_copy_carries_no_attendees_nor_its_own_teams_meeting() -> None:
    plain = Desired("o1", "a1", "Review", "2026-12-04T00:00:00", "2026-12-05T00:00:00", "UTC", is_all_day=True)
    assert event_body(plain, "copy", [attendee("bob@x.test", "Bob", "required")], "") == {
        "subject": "Review",
        "body": {"contentType": "text", "content": ""},
        "start": {"dateTime": "2026-12-04T00:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-05T00:00:00", "timeZone": "UTC"},
        "isAllDay": True,
        "location": {"displayName": ""},
        "sensitivity": "normal",
    }
    assert set(event_body(ONLINE, "copy", [], "")) == {
        "subject", "body", "start", "end", "isAllDay", "location", "sensitivity", "recurrence"
    }  # fmt: skip


def test_what_we_wrote_reads_as_the_booking_side_fields_in_utc() -> None:
    """A `written` as stored: wall-clock times in the zone we wrote them in → UTC; an all-day
    event's days as dates; the join block we add to an online meeting's body left out."""
    wrote = event_body(ONLINE, "organizer", [], "Room 4 ")
    wrote["body"] = {"contentType": "html", "content": "<p>Bring the figures</p>" + join_block_html("https://t/x")}
    assert written_content(wrote) == {
        "title": "Review",
        "start": "2026-12-04T08:00:00Z",
        "end": "2026-12-04T09:00:00Z",
        "isAllDay": False,
        "location": "Room 4",
        "body": "Bring the figures",
        "isPrivate": True,
    }
    day = event_body(Desired("o1", "a1", "Off", "2026-12-04T00:00:00", "2026-12-05T00:00:00", "Asia/Tokyo",
                             is_all_day=True), "copy", [], "")  # fmt: skip
    assert (written_content(day)["start"], written_content(day)["end"]) == ("2026-12-04", "2026-12-05")
    assert written_content({}) == {
        "title": "", "start": "", "end": "", "isAllDay": False, "location": "", "body": "", "isPrivate": False
    }  # fmt: skip


GRAPH_EVENT = {
    # event-get.md's shape, asked with Prefer: outlook.timezone="UTC" and outlook.body-content-type="text".
    "@odata.etag": 'W/"ZlnW4RIAV06KYYwlrfNZvQAAKGWwbw=="',
    "id": "AAMkAGIAAAoZDOFAAA=",
    "subject": "Review",
    "body": {"contentType": "text", "content": "Bring   the\r\nfigures "},
    "start": {"dateTime": "2026-12-04T08:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2026-12-04T09:00:00.0000000", "timeZone": "UTC"},
    "isAllDay": False,
    "location": {"displayName": " Desk 4 "},
    "sensitivity": "confidential",
    "isCancelled": True,
    "isOrganizer": True,
    "iCalUId": "040000008200E00074C5B7101A82E008",
    "isOnlineMeeting": True,
    "onlineMeeting": {"joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting"},
    "organizer": {"emailAddress": {"name": "Ada", "address": "Ada@X.test"}},
    "attendees": [
        {"type": "required", "status": {"response": "accepted", "time": "2026-12-01T08:00:00Z"},
         "emailAddress": {"name": "Bob", "address": "Bob@X.test"}},
        {"type": "resource", "status": {}, "emailAddress": {"name": "Room 4", "address": "room4@x.test"}},
    ],
}  # fmt: skip


def test_a_graph_event_normalizes_to_every_field_we_compare_and_report() -> None:
    assert normalize(GRAPH_EVENT) == {
        "title": "Review",
        "start": "2026-12-04T08:00:00Z",
        "end": "2026-12-04T09:00:00Z",
        "isAllDay": False,
        "location": "Desk 4",
        "body": "Bring the figures",
        "isPrivate": True,  # confidential hides as much as private does
        "isCancelled": True,
        "joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting",
        "isOrganizer": True,
        "iCalUId": "040000008200E00074C5B7101A82E008",
        "organizer": "ada@x.test",
        "attendees": {"bob@x.test": "accepted", "room4@x.test": "none"},
    }


def test_an_all_day_event_normalizes_to_its_dates_and_a_bare_ones_fields_besides_its_times_to_empty() -> None:
    day = {"isAllDay": True, "start": {"dateTime": "2026-12-04T00:00:00.0000000"},
           "end": {"dateTime": "2026-12-05T00:00:00.0000000"}}  # fmt: skip
    assert (normalize(day)["start"], normalize(day)["end"], normalize(day)["isAllDay"]) == (
        "2026-12-04",
        "2026-12-05",
        True,
    )
    bare = {k: v for k, v in normalize({"id": "x"}).items() if k not in ("start", "end")}
    assert bare == {
        "title": "", "isAllDay": False, "location": "", "body": "", "isPrivate": False, "isCancelled": False,
        "joinUrl": None, "isOrganizer": False, "iCalUId": None, "organizer": "", "attendees": {},
    }  # fmt: skip


def test_a_change_reports_the_booking_fields_and_an_online_meetings_join_url() -> None:
    seen = normalize(GRAPH_EVENT)
    fields = {
        "title": "Review",
        "start": "2026-12-04T08:00:00Z",
        "end": "2026-12-04T09:00:00Z",
        "isAllDay": False,
        "location": "Desk 4",
        "body": "Bring the figures",
        "isPrivate": True,
    }
    assert values(seen) == {**fields, "joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting"}
    offline = normalize({**GRAPH_EVENT, "isOnlineMeeting": False, "onlineMeeting": None})
    assert values(offline) == fields


def test_attendees_are_the_same_whatever_their_order_and_the_case_of_their_address() -> None:
    wrote = [attendee("bob@x.test", "Bob", "required"), attendee("room4@x.test", "Room 4", "resource")]
    read = [
        {"type": "resource", "emailAddress": {"address": "Room4@X.test", "name": "Room 4"}, "status": {}},
        {"type": "required", "emailAddress": {"address": "BOB@x.test", "name": "Bob"}},
    ]
    assert same("attendees", wrote, read)
    assert not same("attendees", wrote, read[:1])
    assert not same("attendees", wrote, [read[0], {**read[1], "type": "optional"}])
    assert same("attendees", None, [])
    assert same("subject", "Review", "Review") and not same("subject", "Review", "review")


def test_the_join_block_we_write_links_the_meeting_and_is_not_read_as_the_body() -> None:
    url = "https://teams.microsoft.com/l/meetup-join/19%3ameeting?context=%7b%22Tid%22%7d&a=1"
    block = join_block_html(url)
    line = "<p>" + "_" * 80 + "</p>"
    assert block == (
        f'{line}<p><a href="https://teams.microsoft.com/l/meetup-join/19%3ameeting?context=%7b%22Tid%22%7d&amp;a=1">'
        f"Join Microsoft Teams Meeting</a></p>{line}"
    )
    online = {"isOnlineMeeting": True, "body": {"contentType": "html", "content": "<p>Bring it</p>" + block}}
    assert normalize(online)["body"] == "Bring it"
    # An event that names its Teams meeting without isOnlineMeeting (not $selected) is one too.
    assert normalize({**online, "isOnlineMeeting": None, "onlineMeeting": {"joinUrl": url}})["body"] == "Bring it"


def test_a_text_body_is_read_as_written_not_decoded_as_html() -> None:
    """The body's contentType says what it is (itemBody): a text one that says `->`, `&amp;`
    or `a<b and c>d` keeps them (we ask Graph for text bodies, so every read is one)."""
    text = {"body": {"contentType": "text", "content": "Budget -> Q1 &amp; Q2"}}
    assert normalize(text)["body"] == "Budget -> Q1 &amp; Q2"
    for content in ("if a<b and c>d then", "Bring the <draft> & the budget", "Notes <https://example.test/x>"):
        assert normalize({"body": {"contentType": "text", "content": content}})["body"] == content
        # What we wrote reads back the same, so the event is not taken for an Outlook edit.
        assert written_content({"body": {"contentType": "text", "content": content}})["body"] == content
    assert normalize({"body": {"contentType": "html", "content": "<p>Q1 &amp; Q2</p>"}})["body"] == "Q1 & Q2"
    # A link with quotes cannot close the attribute it sits in.
    assert 'href="x&quot;&#x27;"' in join_block_html("x\"'")


def test_ids_we_mint_for_outlook_events_are_stable_and_ours() -> None:
    """docs/api.md: a `created` change names a minted appointment, `outlook-…`, stable."""
    first = minted_id("ada@x.test", "AAMkAG1=")
    assert first == minted_id("ada@x.test", "AAMkAG1=") and first.startswith("outlook-")
    assert first not in (minted_id("bob@x.test", "AAMkAG1="), minted_id("ada@x.test", "AAMkAG2="))
    meeting = meeting_id("040000008200E00074C5B7101A82E008")
    assert meeting.startswith("outlook-") and meeting != meeting_id("040000008200E00074C5B7101A82E009")


def test_ids_we_minted_stay_the_same_from_one_version_to_the_next() -> None:
    """The booking product stores the ids of Outlook-made appointments: a release that minted
    them otherwise would report every such appointment again under a new id, and the old
    one's changes would name an appointment it no longer knows."""
    assert minted_id("ada@x.test", "AAMkAG1=") == "outlook-9689e5d8ae9a2b8cbb46"
    assert meeting_id("040000008200E00074C5B7101A82E008") == "outlook-fa44d18e1d381fff37e2"


def test_our_property_names_this_orgs_appointment_and_no_other_orgs() -> None:
    tag = property_value("o1", "a/1")
    assert tag == "o1/a/1" and tagged_appointment("o1", tag) == "a/1"
    assert tagged_appointment("o10", tag) is None and tagged_appointment("o", tag) is None
    assert tagged_appointment("o1", None) is None and tagged_appointment("o1", "") is None


def test_a_retried_create_has_the_same_transaction_id_and_a_new_generation_another() -> None:
    """event.md transactionId: Graph drops a second create with the same id."""
    first = transaction_id("o1", "a1", "ada@x.test", 1)
    assert first == transaction_id("o1", "a1", "ada@x.test", 1)
    others = {transaction_id(*k) for k in [("o2", "a1", "ada@x.test", 1), ("o1", "a2", "ada@x.test", 1),
                                           ("o1", "a1", "bob@x.test", 1), ("o1", "a1", "ada@x.test", 2)]}  # fmt: skip
    assert first not in others and len(others) == 4
    assert str(uuid.UUID(first)) == first
