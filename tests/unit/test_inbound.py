"""The pure Outlook → booking planner: echo suppression, mapping, policies, the guard."""

from __future__ import annotations

from typing import Any

from shared.core.inbound import Known, Mailbox, Seen, plan
from shared.core.mapping import minted_id, normalize
from shared.core.org_settings import OrgSettings

BOX = Mailbox("o", "worker", "w1", "uid-1")
SETTINGS = OrgSettings()


def item(event_id: str, ck: str = "ck2", **kw: Any) -> dict[str, Any]:
    base = {
        "id": event_id,
        "changeKey": ck,
        "subject": "Cut",
        "isAllDay": False,
        "isOrganizer": True,
        "start": {"dateTime": "2026-12-01T10:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T11:00:00.0000000", "timeZone": "UTC"},
        "location": {"displayName": "A"},
        "body": {"content": "b"},
        "sensitivity": "normal",
        "attendees": [],
        "organizer": {"emailAddress": {"address": "ada@x.test"}},
        "iCalUId": "ical",
    }
    base.update(kw)
    return base


def ours(event_id: str = "e1", **kw: Any) -> tuple[dict[str, Known], dict[str, Seen]]:
    content = normalize(item(event_id, "ck1"))
    return (
        {event_id: Known(ours="a1", bases=(content,), **kw)},
        {event_id: Seen(event_id, "a1", "ours", "ck1", content)},
    )


def test_same_change_key_is_an_echo() -> None:
    known, seen = ours()
    assert (
        plan(BOX, [item("e1", "ck1", subject="whatever")], known, seen, SETTINGS, full_round=False, people={}).changes
        == []
    )


def test_new_change_key_with_what_we_wrote_is_not_a_change() -> None:
    known, seen = ours()
    assert plan(BOX, [item("e1", "ck9")], known, seen, SETTINGS, full_round=False, people={}).changes == []


def test_echoes_are_counted_and_an_outlook_edit_is_not_one() -> None:
    # What the echoes metric reports (docs/operations.md): our writes coming back, nothing else.
    known, seen = ours()
    same_key = plan(BOX, [item("e1", "ck1")], known, seen, SETTINGS, full_round=False, people={})
    new_key = plan(BOX, [item("e1", "ck9")], known, seen, SETTINGS, full_round=False, people={})
    edited = plan(BOX, [item("e1", "ck9", subject="New")], known, seen, SETTINGS, full_round=False, people={})
    stranger = plan(BOX, [item("e7", "ck1", subject="Lunch")], {}, {}, SETTINGS, full_round=False, people={})
    assert (same_key.echoes, new_key.echoes, edited.echoes, stranger.echoes) == (1, 1, 0, 0)
    assert len(edited.changes) == 1 and len(stranger.changes) == 1


def test_outlook_edit_is_updated_with_the_changed_fields() -> None:
    known, seen = ours()
    [change] = plan(
        BOX,
        [item("e1", "ck9", subject="New", location={"displayName": "B"})],
        known,
        seen,
        SETTINGS,
        full_round=False,
        people={},
    ).changes
    assert (change.type, change.appointment, change.worker) == ("updated", "a1", "w1")
    assert change.data["changed"] == ["title", "location"] and change.data["title"] == "New"


def test_removal_while_we_retire_it_is_ours() -> None:
    known, seen = ours(retiring=True)
    out = plan(
        BOX, [{"id": "e1", "@removed": {"reason": "deleted"}}], known, seen, SETTINGS, full_round=False, people={}
    )
    assert out.changes == [] and out.forget == ["e1"]


def test_outlook_deletion_and_restricted_policies() -> None:
    known, seen = ours()
    removed = [{"id": "e1", "@removed": {"reason": "deleted"}}]
    [change] = plan(BOX, removed, known, seen, SETTINGS, full_round=False, people={}).changes
    assert change.type == "deleted"
    restricted = Mailbox("o", "worker", "w1", "uid-1", restricted=True)
    [detached] = plan(restricted, removed, known, seen, SETTINGS, full_round=False, people={}).changes
    assert detached.type == "attendee_removed"
    edit = plan(restricted, [item("e1", "ck9", subject="Mine now")], known, seen, SETTINGS, full_round=False, people={})
    assert [c.type for c in edit.changes] == ["attendee_removed", "created"]
    assert edit.changes[1].appointment == minted_id("uid-1", "e1") and edit.upsert[0].role == "created"
    ignore = SETTINGS.merged({"restrictedEdit": "ignore"})
    assert (
        plan(restricted, [item("e1", "ck9", subject="x")], known, seen, ignore, full_round=False, people={}).changes
        == []
    )


def test_created_needs_the_prefix_and_own_events() -> None:
    prefixed = SETTINGS.merged({"createPrefix": "[B]"})
    out = plan(
        BOX,
        [
            item("n1", subject="[B] Walk-in"),
            item("n2", subject="Lunch"),
            item("n3", subject="[B] Their meeting", isOrganizer=False),
        ],
        {},
        {},
        prefixed,
        full_round=False,
        people={},
    )
    assert [(c.type, c.event_id) for c in out.changes] == [("created", "n1")]


def test_room_reservations_are_created_for_the_resource() -> None:
    room = Mailbox("o", "resource", "r1", "uid-r")
    [change] = plan(room, [item("n1", isOrganizer=False)], {}, {}, SETTINGS, full_round=False, people={}).changes
    assert (change.type, change.resource) == ("created", "r1")


def test_copies_of_our_meetings_are_not_changes() -> None:
    out = plan(
        BOX, [item("c1", isOrganizer=False)], {"c1": Known(meeting="a1")}, {}, SETTINGS, full_round=False, people={}
    )
    assert out.changes == [] and out.upsert[0].role == "copy"


def test_responses_on_our_meeting() -> None:
    known, seen = ours()
    answered = item(
        "e1",
        "ck9",
        attendees=[{"emailAddress": {"address": "BOB@x.test"}, "status": {"response": "declined"}, "type": "required"}],
    )
    [change] = plan(
        BOX, [answered], known, seen, SETTINGS, full_round=False, people={"bob@x.test": ("worker", "w2")}
    ).changes
    assert (change.type, change.worker, change.data["response"]) == ("responded", "w2", "declined")


def test_fresh_round_finds_deletions_and_the_guard_holds_mass_deletions() -> None:
    seen = {f"e{i}": Seen(f"e{i}", f"a{i}", "ours", "ck", normalize(item(f"e{i}"))) for i in range(40)}
    known = {f"e{i}": Known(ours=f"a{i}") for i in range(40)}
    few = plan(BOX, [item(f"e{i}", "ck") for i in range(5, 40)], known, seen, SETTINGS, full_round=True, people={})
    assert sorted(c.appointment for c in few.changes) == [f"a{i}" for i in range(5)] and few.held == []
    many = plan(BOX, [item(f"e{i}", "ck") for i in range(30, 40)], known, seen, SETTINGS, full_round=True, people={})
    assert many.changes == [] and len(many.held) == 30


def test_one_way_reports_only_that_it_restored_and_keeps_snapshots() -> None:
    known, seen = ours()
    out = plan(
        BOX,
        [item("e1", "ck9", subject="New")],
        known,
        seen,
        SETTINGS.merged({"syncMode": "oneWay"}),
        full_round=False,
        people={},
    )
    assert [(c.type, c.appointment, c.data) for c in out.changes] == [
        ("restored", "a1", {"deleted": False, "changed": ["title"]})
    ]
    assert out.restore_fields == {"a1": ("title",)} and out.upsert
    assert out.restore_events == {"a1": "e1"}  # the event it undoes the edit on


ONE_WAY = SETTINGS.merged({"syncMode": "oneWay"})


def test_one_way_restores_our_edited_and_deleted_events_but_not_outlook_made_ones() -> None:
    known, seen = ours("e1")
    known2, seen2 = ours("e2")
    known.update({"e2": Known(ours="a2", bases=known2["e2"].bases)})
    seen.update(seen2)
    edited = item("e1", "ck9", subject="Edited in Outlook")
    removed = {"id": "e2", "@removed": {"reason": "deleted"}}
    made_in_outlook = item("e3", "ck1", subject="Lunch", isOrganizer=True)
    out = plan(BOX, [edited, removed, made_in_outlook], known, seen, ONE_WAY, full_round=False, people={})
    assert out.restore == [("a1", False), ("a2", True)]  # edited: PATCH back; deleted: create again
    assert [(c.type, c.appointment, c.data["deleted"]) for c in out.changes] == [
        ("restored", "a1", False),
        ("restored", "a2", True),
    ]  # the Outlook-made event is not reported, and nothing else is
    assert out.held == []


def test_one_way_restores_nothing_that_is_only_our_own_echo() -> None:
    known, seen = ours("e1")
    out = plan(BOX, [item("e1", "ck9")], known, seen, ONE_WAY, full_round=False, people={})
    assert out.restore == [] and out.changes == []


def test_one_way_does_not_remember_an_outlook_event_as_reported() -> None:
    """Found by the model-based test: an event made in Outlook while oneWay was snapshotted as
    reported, so back in twoWay its first change was an `updated` of an appointment the
    booking product had never been told of."""
    one_way = SETTINGS.merged({"syncMode": "oneWay"})
    quiet = plan(BOX, [item("e9", "ck1", subject="Lunch")], {}, {}, one_way, full_round=False, people={})
    assert quiet.changes == [] and quiet.upsert == []
    back = plan(BOX, [item("e9", "ck2", subject="Lunch (late)")], {}, {}, SETTINGS, full_round=False, people={})
    assert [(c.type, c.data["title"]) for c in back.changes] == [("created", "Lunch (late)")]


def test_a_read_from_before_our_last_write_showing_an_earlier_write_of_ours_is_no_outlook_edit() -> None:
    """The soak's a3745: we made the event at 13:30, an attendee accepted (a new changeKey,
    the same fields), we moved it to 06:45. A round that read the event before our move, and
    looked our target up after it, saw "13:30" under a changeKey none of our writes had."""
    first = normalize(item("e1", "w1"))
    moved = normalize(item("e1", "w2", start={"dateTime": "2026-12-01T06:45:00.0000000", "timeZone": "UTC"}))
    known = {"e1": Known(ours="a1", bases=(moved,), earlier={"w1": first}, written_at="2026-12-06T14:37:30.6Z")}
    accepted = item("e1", "acc", lastModifiedDateTime="2026-12-06T14:37:27.7412345Z")
    assert plan(BOX, [accepted], known, {}, SETTINGS, full_round=False, people={}).changes == []
    # Read after our move: a person's move back to our earlier time is news.
    back = item("e1", "acc2", lastModifiedDateTime="2026-12-06T14:37:31.0000000Z")
    [change] = plan(BOX, [back], known, {}, SETTINGS, full_round=False, people={}).changes
    assert change.type == "updated" and change.data["changed"] == ["start"]
    # Read before our move, with a time we never wrote: still a person's edit.
    other = item(
        "e1",
        "acc3",
        lastModifiedDateTime="2026-12-06T14:37:29.0000000Z",
        start={"dateTime": "2026-12-01T09:00:00.0000000", "timeZone": "UTC"},
    )
    [change] = plan(BOX, [other], known, {}, SETTINGS, full_round=False, people={}).changes
    assert change.data["changed"] == ["start"]


def test_an_edit_of_an_event_we_are_removing_is_not_reported() -> None:
    """The soak's a5897: the booking product took a room off the appointment; a round that read
    the room's copy before our deletion, and our target after it (deleted, nothing written
    any more), compared the copy with the appointment alone and reported its location."""
    content = normalize(item("e1", "ck1"))
    seen = {"e1": Seen("e1", "a1", "ours", "ck1", content)}
    booking = {**content, "location": ""}  # what the appointment wants: not the room's copy's
    known = {"e1": Known(ours="a1", bases=(booking,), retiring=True)}
    moved = item("e1", "ck2", start={"dateTime": "2026-12-01T12:00:00.0000000", "timeZone": "UTC"})
    assert plan(BOX, [moved], known, seen, SETTINGS, full_round=False, people={}).changes == []


def test_another_orgs_event_in_a_shared_mailbox_does_not_hide_what_follows_it() -> None:
    """Mutation testing's hole (#29): an event of another org was skipped by leaving the loop,
    so every later item of that delta page — here an Outlook edit of ours — was lost."""
    known, seen = ours()
    known["other"] = Known(foreign=True)
    page = [item("other", "ckx", subject="Their meeting"), item("e1", "ck9", subject="New")]
    changes = plan(BOX, page, known, seen, SETTINGS, full_round=False, people={}).changes
    assert [(c.type, c.appointment, c.data["title"]) for c in changes] == [("updated", "a1", "New")]


def test_an_attendees_copy_going_away_is_not_the_appointments_deletion() -> None:
    """Mutation testing's hole (#29): with the copy check gone, an attendee's copy of our
    meeting leaving the calendar (the attendee declined, or we moved them) was reported as
    the appointment deleted."""
    content = normalize(item("c1", "ck1", isOrganizer=False))
    seen = {"c1": Seen("c1", "a1", "copy", "ck1", content)}
    out = plan(BOX, [{"id": "c1", "@removed": {"reason": "deleted"}}], {}, seen, SETTINGS, full_round=False, people={})
    assert out.changes == [] and out.held == [] and out.lost == []
    assert out.forget == ["c1"]  # its snapshot goes
