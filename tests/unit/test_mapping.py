"""Echo suppression rests on this: for every field we push, what Graph answers (as the
emulator renders it, with the Prefer headers our delta rounds send) normalizes to what
`written_content` says we wrote. If they disagreed, our own writes would come back as
Outlook edits."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from devtools.graph_emulator.calendar.bodies import apply_body, new_event
from devtools.graph_emulator.calendar.render import render
from devtools.graph_emulator.core.wire import View
from devtools.graph_emulator.core.world import World
from devtools.graph_emulator.directory.models import User
from shared.core.mapping import FIELDS, Desired, desired_content, event_body, normalize, written_content

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
