"""The pure Outlook → booking planner: echo suppression, mapping, policies, the guard."""

from __future__ import annotations

from typing import Any

from shared.core.changes import NewChange
from shared.core.inbound import Known, Mailbox, Plan, Seen, plan
from shared.core.inbound_series import Series
from shared.core.mapping import meeting_id, minted_id, normalize, values
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


# What a change from BOX's worker says, whole: the feed reports every one of these fields.
def from_box(kind: str, appointment: str, event_id: str, data: dict[str, Any] | None = None) -> NewChange:
    return NewChange(kind, appointment, worker="w1", mailbox="uid-1", event_id=event_id, data=data or {})


def at(hour: int) -> dict[str, Any]:
    return {
        "start": {"dateTime": f"2026-12-01T{hour:02}:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": f"2026-12-01T{hour + 1:02}:00:00.0000000", "timeZone": "UTC"},
    }


REMOVED = {"reason": "deleted"}


def test_our_event_deleted_in_outlook_is_reported_and_its_target_marked_deleted_in_outlook() -> None:
    known, seen = ours()
    out = plan(BOX, [{"id": "e1", "@removed": REMOVED}], known, seen, SETTINGS, full_round=False, people={})
    assert out.changes == [from_box("deleted", "a1", "e1")]
    assert out.lost == [("a1", "e1")] and out.forget == ["e1"]


def test_a_restricted_workers_deletion_detaches_them_with_the_reason() -> None:
    known, seen = ours()
    restricted = Mailbox("o", "worker", "w1", "uid-1", restricted=True)
    out = plan(restricted, [{"id": "e1", "@removed": REMOVED}], known, seen, SETTINGS, full_round=False, people={})
    assert out.changes == [from_box("attendee_removed", "a1", "e1", {"reason": "deleted_in_outlook"})]
    assert out.lost == [("a1", "e1")]
    ignore = SETTINGS.merged({"restrictedDelete": "ignore"})
    quiet = plan(restricted, [{"id": "e1", "@removed": REMOVED}], known, seen, ignore, full_round=False, people={})
    assert quiet.changes == [] and quiet.lost == [("a1", "e1")] and quiet.forget == ["e1"]


def test_a_restricted_workers_edit_detaches_them_and_makes_the_event_their_own() -> None:
    known, seen = ours()
    restricted = Mailbox("o", "worker", "w1", "uid-1", restricted=True)
    mine = item("e1", "ck9", subject="Mine now")
    out = plan(restricted, [mine], known, seen, SETTINGS, full_round=False, people={})
    personal = minted_id("uid-1", "e1")
    content = normalize(mine)
    assert out.changes == [
        from_box("attendee_removed", "a1", "e1", {"reason": "edited_in_outlook"}),
        from_box("created", personal, "e1", {**values(content), "detachedFrom": "a1"}),
    ]
    # From now on the event is an Outlook-made one of theirs, not ours: read again as it is, no
    # news; their next edit is an update of their own appointment, not another detachment.
    after = {s.event_id: s for s in out.upsert}
    same = plan(restricted, [item("e1", "ck10", subject="Mine now")], {"e1": Known()}, after, SETTINGS,
                full_round=False, people={})  # fmt: skip
    assert same.changes == []
    renamed = item("e1", "ck10", subject="Mine, renamed")
    nxt = plan(restricted, [renamed], {"e1": Known()}, after, SETTINGS, full_round=False, people={})
    assert [(c.type, c.appointment, c.event_id, c.data["changed"]) for c in nxt.changes] == [
        ("updated", personal, "e1", ["title"])
    ]
    # The page goes on after it.
    k2, s2 = ours("e2")
    page = [mine, item("e2", "ck9", subject="Mine too")]
    both = plan(restricted, page, known | k2, seen | s2, SETTINGS, full_round=False, people={})
    assert [(c.type, c.event_id) for c in both.changes] == [
        ("attendee_removed", "e1"),
        ("created", "e1"),
        ("attendee_removed", "e2"),
        ("created", "e2"),
    ]


def test_our_event_deleted_in_outlook_before_any_round_saw_it_is_still_a_deletion() -> None:
    """We wrote it; a person deleted it before a round snapshotted it: only our index knows it."""
    out = plan(
        BOX, [{"id": "e1", "@removed": REMOVED}], {"e1": Known(ours="a1")}, {}, SETTINGS, full_round=False, people={}
    )
    assert out.changes == [from_box("deleted", "a1", "e1")] and out.lost == [("a1", "e1")]


def test_a_rooms_answer_is_reported_at_the_first_sight_of_our_meeting_and_not_again() -> None:
    """A room answers the moment our meeting lands in its calendar, before any round saw it."""
    booked = item(
        "e1",
        "ck1",
        attendees=[
            {"emailAddress": {"address": "room@x.test"}, "status": {"response": "accepted"}, "type": "resource"}
        ],
    )
    people = {"room@x.test": ("resource", "r9")}
    known = {"e1": Known(ours="a1", bases=(normalize(booked),))}
    first = plan(BOX, [booked], known, {}, SETTINGS, full_round=False, people=people)
    answer = {"response": "accepted", "address": "room@x.test"}
    assert first.changes == [NewChange("responded", "a1", resource="r9", mailbox="uid-1", event_id="e1", data=answer)]
    assert first.responses == {"a1": {"room@x.test": "accepted"}}
    # The next read (someone else's answer changed the changeKey) holds the same answer: no news.
    seen = {s.event_id: s for s in first.upsert}
    again = plan(BOX, [{**booked, "changeKey": "ck2"}], known, seen, SETTINGS, full_round=False, people=people)
    assert again.changes == []


def test_an_outlook_edit_seen_before_our_latest_write_is_news_again_when_a_person_sets_it_back() -> None:
    """A person's title was reported; the booking product then wrote its own (our fourth write).
    The person's title read again after that write is their new edit; with no write of ours
    since the round that reported it, the same read is no news."""
    known, seen = ours(writes=3)
    first = plan(BOX, [item("e1", "ck9", subject="New")], known, seen, SETTINGS, full_round=False, people={})
    assert [c.data["changed"] for c in first.changes] == [["title"]]
    seen = {s.event_id: s for s in first.upsert}
    booked = (normalize(item("e1", "ck1", subject="Booked")),)
    back = [item("e1", "ck11", subject="New")]
    wrote = {"e1": Known(ours="a1", bases=booked, writes=4)}
    again = plan(BOX, back, wrote, seen, SETTINGS, full_round=False, people={})
    assert [(c.type, c.data["changed"], c.data["title"]) for c in again.changes] == [("updated", ["title"], "New")]
    no_write = {"e1": Known(ours="a1", bases=booked, writes=3)}
    assert plan(BOX, back, no_write, seen, SETTINGS, full_round=False, people={}).changes == []


def test_an_outlook_edit_reported_once_is_not_reported_again_when_the_event_changes_for_another_reason() -> None:
    """The booking product was told of the new title; until it sends it back, a later read of
    the event (an attendee's answer: a new changeKey, the same fields) is no news."""
    known, seen = ours(writes=3)
    first = plan(BOX, [item("e1", "ck9", subject="New")], known, seen, SETTINGS, full_round=False, people={})
    assert [c.data["changed"] for c in first.changes] == [["title"]]
    seen = {s.event_id: s for s in first.upsert}
    again = plan(BOX, [item("e1", "ck10", subject="New")], known, seen, SETTINGS, full_round=False, people={})
    assert again.changes == []


def test_an_event_made_in_outlook_is_created_once_and_claimed_by_its_ical_uid() -> None:
    walk_in = item("n1")
    out = plan(BOX, [walk_in], {}, {}, SETTINGS, full_round=False, people={})
    appointment = meeting_id("ical")  # the same from every copy of the meeting
    content = normalize(walk_in)
    data = {**values(content), "organizer": "ada@x.test", "workers": ["w1"], "resources": []}
    assert out.changes == [from_box("created", appointment, "n1", data)]
    assert out.claims == {"ical": appointment}  # another mailbox's copy is only a copy of it
    assert out.upsert == [Seen("n1", appointment, "created", "ck2", content)]
    # Without an iCalUId there is no meeting to claim: the appointment is this event's own.
    lone = plan(BOX, [item("n2", iCalUId=None)], {}, {}, SETTINGS, full_round=False, people={})
    assert [c.appointment for c in lone.changes] == [minted_id("uid-1", "n2")] and lone.claims == {}


def test_a_meeting_this_mailbox_claimed_in_a_round_that_did_not_finish_is_reported_as_created() -> None:
    """The claim was stored, the change never reported: the next round reports it, and claims
    nothing again (the claim is this mailbox's already)."""
    appointment = meeting_id("ical")
    walk_in = item("n1")
    out = plan(BOX, [walk_in], {"n1": Known(outlook=appointment)}, {}, SETTINGS, full_round=False, people={})
    assert [(c.type, c.appointment) for c in out.changes] == [("created", appointment)]
    assert out.claims == {}
    assert out.upsert == [Seen("n1", appointment, "created", "ck2", normalize(walk_in))]


def test_an_edit_of_an_event_made_in_outlook_is_an_update_of_its_appointment() -> None:
    lunch = normalize(item("n1", "ck1", subject="Lunch"))
    seen = {"n1": Seen("n1", "outlook-1", "created", "ck1", lunch)}
    later = item("n1", "ck2", subject="Lunch", **at(12))
    out = plan(BOX, [later], {}, seen, SETTINGS, full_round=False, people={})
    content = normalize(later)
    assert out.changes == [from_box("updated", "outlook-1", "n1", {**values(content), "changed": ["start", "end"]})]
    assert out.upsert == [Seen("n1", "outlook-1", "created", "ck2", content)]
    # Read again under a new changeKey with nothing changed: no news, and not our write either.
    same = plan(BOX, [item("n1", "ck3", subject="Lunch")], {}, seen, SETTINGS, full_round=False, people={})
    assert same.changes == [] and same.echoes == 0


def test_a_meeting_whose_claim_was_handed_to_this_mailboxs_copy_is_reported_from_it() -> None:
    """The copy was only a copy; now this mailbox reports the meeting made in Outlook (its
    organizer's copy went away), so a person's edit of it is news."""
    appointment = meeting_id("ical")
    copy = normalize(item("c1", "ck1", isOrganizer=False))
    seen = {"c1": Seen("c1", appointment, "copy", "ck1", copy)}
    moved = item("c1", "ck2", isOrganizer=False, **at(12))
    out = plan(BOX, [moved], {"c1": Known(outlook=appointment)}, seen, SETTINGS, full_round=False, people={})
    content = normalize(moved)
    assert out.changes == [from_box("updated", appointment, "c1", {**values(content), "changed": ["start", "end"]})]
    assert out.upsert == [Seen("c1", appointment, "created", "ck2", content)]


def test_a_rooms_new_copy_of_the_meeting_it_reports_carries_the_meeting_on() -> None:
    """A room declined a move of a meeting made in Outlook (its copy went away) and accepted
    the next one (a new copy, a new event id): one meeting, moved — not a deletion."""
    room = Mailbox("o", "resource", "r1", "uid-r")
    appointment = meeting_id("ical")
    lunch = normalize(item("lunch", "ck1", subject="Lunch", iCalUId="ical-lunch", isOrganizer=False))
    seen = {
        "lunch": Seen("lunch", "outlook-lunch", "created", "ck1", lunch),  # another meeting it reports
        "old": Seen("old", appointment, "created", "ck1", normalize(item("old", "ck1", isOrganizer=False))),
    }
    moved = item("new", "ck5", isOrganizer=False, **at(12))
    page = [{"id": "old", "@removed": REMOVED}, moved]
    out = plan(room, page, {"new": Known(outlook=appointment)}, seen, SETTINGS, full_round=False, people={})
    data = {**values(normalize(moved)), "changed": ["start", "end"]}
    assert out.changes == [NewChange("updated", appointment, resource="r1", mailbox="uid-r", event_id="new", data=data)]
    assert out.forget == ["old"] and out.lost == [] and out.held == []
    assert out.upsert == [Seen("new", appointment, "created", "ck5", normalize(moved))]


def test_a_copy_of_our_meeting_is_remembered_as_a_copy_even_when_cancelled() -> None:
    content = normalize(item("c1", "ck1", isOrganizer=False))
    out = plan(
        BOX,
        [item("c1", "ck1", isOrganizer=False), item("c2", "ck1", isOrganizer=False, isCancelled=True)],
        {"c1": Known(meeting="a1"), "c2": Known(meeting="a2")},
        {},
        SETTINGS,
        full_round=False,
        people={},
    )
    cancelled = normalize(item("c2", "ck1", isOrganizer=False, isCancelled=True))
    assert out.upsert == [Seen("c1", "a1", "copy", "ck1", content), Seen("c2", "a2", "copy", "ck1", cancelled)]
    assert out.changes == [] and out.forget == [] and out.lost == []


def test_a_cancelled_event_is_its_appointments_deletion() -> None:
    """Outlook keeps a cancelled meeting in attendees' and rooms' calendars, marked cancelled."""
    known, seen = ours()
    cancelled = item("e1", "ck9", isCancelled=True)
    out = plan(BOX, [cancelled], known, seen, SETTINGS, full_round=False, people={})
    assert out.changes == [from_box("deleted", "a1", "e1")]
    assert out.lost == [("a1", "e1")] and out.forget == ["e1"]
    # A meeting made in Outlook that a room reports, cancelled by its organizer: no target of ours.
    room = Mailbox("o", "resource", "r1", "uid-r")
    copy = normalize(item("m1", "ck1", isOrganizer=False))
    reported = {"m1": Seen("m1", "outlook-m", "created", "ck1", copy)}
    gone = plan(
        room,
        [item("m1", "ck2", isOrganizer=False, isCancelled=True)],
        {},
        reported,
        SETTINGS,
        full_round=False,
        people={},
    )
    assert gone.changes == [NewChange("deleted", "outlook-m", resource="r1", mailbox="uid-r", event_id="m1")]
    assert gone.lost == []


def test_a_linked_workers_meeting_in_a_room_is_reported_by_the_organizers_copy_only() -> None:
    room = Mailbox("o", "resource", "r1", "uid-r")
    people = {"ada@x.test": ("worker", "w9")}
    walk_in = item("n2", isOrganizer=False, organizer={"emailAddress": {"address": "zed@else.test"}}, iCalUId="i2")
    out = plan(room, [item("n1", isOrganizer=False), walk_in], {}, {}, SETTINGS, full_round=False, people=people)
    assert [(c.type, c.event_id, c.resource) for c in out.changes] == [("created", "n2", "r1")]
    # In the linked worker's own mailbox it is theirs to report.
    adas = Mailbox("o", "worker", "w9", "uid-9")
    own = plan(adas, [item("n1")], {}, {}, SETTINGS, full_round=False, people=people)
    assert [(c.type, c.event_id, c.worker) for c in own.changes] == [("created", "n1", "w9")]


def test_every_item_of_a_page_is_planned_whatever_comes_before_it() -> None:
    """Nothing an item is (an echo, a removal, a copy, a cancellation...) ends the page early."""
    known: dict[str, Known] = {}
    seen: dict[str, Seen] = {}
    for event_id in ("gone", "echo", "stale", "cancel", "write", "last"):
        k, s = ours(event_id)
        known[event_id], seen[event_id] = Known(ours=f"a-{event_id}", bases=k[event_id].bases), s[event_id]
    known["stale"] = Known(
        ours="a-stale", bases=(normalize(item("stale", **at(12))),), earlier={"w1": seen["stale"].content}
    )
    known["copy"] = Known(meeting="a9")
    page = [
        {"id": "gone", "@removed": REMOVED},
        item("echo", "ck1"),
        item("stale", "w1"),
        item("copy", isOrganizer=False),
        item("cancel", "ck9", isCancelled=True),
        item("made", subject="Lunch", iCalUId="i-made"),
        item("write", "ck9"),
        item("last", "ck9", subject="New"),
    ]
    out = plan(BOX, page, known, seen, SETTINGS, full_round=False, people={})
    assert [(c.type, c.event_id) for c in out.changes] == [
        ("created", "made"),
        ("updated", "last"),
        ("deleted", "gone"),
        ("deleted", "cancel"),
    ]
    assert out.echoes == 3  # the same changeKey, the stale read, our write coming back


def test_echoes_are_counted_one_per_item() -> None:
    known: dict[str, Known] = {}
    seen: dict[str, Seen] = {}
    for event_id in ("k1", "k2", "s1", "s2", "w1", "w2"):
        k, s = ours(event_id)
        known[event_id], seen[event_id] = k[event_id], s[event_id]
    for event_id in ("s1", "s2"):  # stale reads: an earlier write's changeKey and content
        older = normalize(item(event_id, **at(8)))
        known[event_id] = Known(ours="a1", bases=known[event_id].bases, earlier={"old": older})
    page = [item("k1", "ck1"), item("k2", "ck1"), item("s1", "old", **at(8)), item("s2", "old", **at(8))]
    page += [item("w1", "ck9"), item("w2", "ck9")]
    out = plan(BOX, page, known, seen, SETTINGS, full_round=False, people={})
    assert out.changes == [] and out.echoes == 6


def test_a_read_showing_an_earlier_write_of_ours_under_its_changekey_is_no_outlook_edit() -> None:
    """Graph answered our first write with changeKey w1; a read lagging behind our second write
    still shows the first, under w1: our own older write, not a person moving it back."""
    first = normalize(item("e1", "w1"))
    moved = normalize(item("e1", "w2", **at(12)))
    known = {"e1": Known(ours="a1", bases=(moved,), earlier={"w1": first})}
    seen = {"e1": Seen("e1", "a1", "ours", "w2", moved)}
    stale = plan(BOX, [item("e1", "w1")], known, seen, SETTINGS, full_round=False, people={})
    assert stale.changes == [] and stale.echoes == 1 and stale.upsert == []


def test_a_fresh_round_finds_deleted_events_made_in_outlook_but_not_those_we_retire_or_series() -> None:
    made = normalize(item("n1", "ck1", subject="Lunch"))
    seen = {
        "occ": Seen("occ", "a5", "ours", "ck1", {**normalize(item("occ", "ck1")), "series": "M"}),
        "M": Seen("M", "a5", "ours", "ck1", {**normalize(item("M", "ck1")), "recurrence": {"pattern": {}}}),
        "n1": Seen("n1", "outlook-1", "created", "ck1", made),
        "e1": Seen("e1", "a1", "ours", "ck1", normalize(item("e1", "ck1"))),
        "e2": Seen("e2", "a2", "ours", "ck1", normalize(item("e2", "ck1"))),
        "c1": Seen("c1", "a3", "copy", "ck1", normalize(item("c1", "ck1"))),
    }
    known = {"e1": Known(ours="a1"), "e2": Known(ours="a2", retiring=True)}
    out = plan(BOX, [], known, seen, SETTINGS, full_round=True, people={})
    assert out.changes == [from_box("deleted", "outlook-1", "n1"), from_box("deleted", "a1", "e1")]
    assert out.lost == [("a1", "e1")]
    assert sorted(out.forget) == ["e1", "e2", "n1"]  # occurrences and masters: their series decides


def test_a_series_without_anything_known_of_it_is_planned_as_made_in_outlook() -> None:
    weekly = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
        "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 2, "recurrenceTimeZone": "UTC"},
    }
    master = item("M", "m1", type="seriesMaster", recurrence=weekly)
    out = plan(BOX, [], {}, {}, SETTINGS, full_round=False, people={}, series=(Series("M", master, ()),))
    assert [(c.type, c.event_id, c.data["recurrence"]) for c in out.changes] == [("created", "M", weekly)]


def mailbox_of(ours_n: int, created: int = 0, copies: int = 0, occurrences: int = 0) -> dict[str, Seen]:
    content = normalize(item("x"))
    seen = {f"e{i}": Seen(f"e{i}", f"a{i}", "ours", "ck", content) for i in range(ours_n)}
    seen |= {f"n{i}": Seen(f"n{i}", f"o{i}", "created", "ck", content) for i in range(created)}
    seen |= {f"c{i}": Seen(f"c{i}", f"m{i}", "copy", "ck", content) for i in range(copies)}
    seen |= {f"s{i}": Seen(f"s{i}", "a-s", "ours", "ck", {**content, "series": "M"}) for i in range(occurrences)}
    return seen


def fresh_round_losing(seen: dict[str, Seen], lost: int) -> Plan:
    """A fresh round that no longer lists the first `lost` of our events, and lists the rest."""
    gone = {f"e{i}" for i in range(lost)}
    page = [item(e, "ck") for e, s in seen.items() if e not in gone and not s.content.get("series")]
    return plan(BOX, page, {}, seen, SETTINGS, full_round=True, people={})


def test_the_guard_holds_more_than_20_deletions_that_are_more_than_half_of_the_mapped_events() -> None:
    # Half of the mapped events: ours and made in Outlook, not copies or occurrences.
    held = fresh_round_losing(mailbox_of(30, copies=60, occurrences=60), 21)
    assert held.changes == [] and len(held.held) == 21
    # 21 of 42 mapped (ours and made in Outlook) is not more than half.
    half = fresh_round_losing(mailbox_of(21, created=21), 21)
    assert half.held == [] and len(half.changes) == 21
    # 20 is not more than 20, even all of them.
    twenty = fresh_round_losing(mailbox_of(20), 20)
    assert twenty.held == [] and len(twenty.changes) == 20


def test_sync_off_reports_nothing_and_claims_nothing_but_keeps_our_snapshots() -> None:
    off = SETTINGS.merged({"syncMode": "off"})
    known, seen = ours()
    out = plan(BOX, [item("e1", "ck9", subject="New"), item("n1")], known, seen, off, full_round=False, people={})
    assert out.changes == [] and out.held == [] and out.claims == {}
    assert [s.event_id for s in out.upsert] == ["e1"]  # ours, not the Outlook-made one


def test_one_way_names_no_master_for_an_appointment_with_two_known_series() -> None:
    """A restore names its series' master only when the round knows just one for it."""
    weekly = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
        "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 2, "recurrenceTimeZone": "UTC"},
    }

    def occurrence(day: int, ck: str, hour: int = 10) -> dict[str, Any]:
        when = f"2026-12-{day:02}"
        return item(
            f"M-{day}",
            ck,
            type="occurrence" if hour == 10 else "exception",
            seriesMasterId="M",
            originalStart=f"{when}T10:00:00Z",
            start={"dateTime": f"{when}T{hour}:00:00.0000000", "timeZone": "UTC"},
            end={"dateTime": f"{when}T{hour + 1}:00:00.0000000", "timeZone": "UTC"},
        )

    master = item("M", "m1", type="seriesMaster", recurrence=weekly)
    one = {"M": Known(ours="a1")}
    first = plan(
        BOX,
        [],
        {},
        {},
        ONE_WAY,
        full_round=False,
        people={},
        series=(Series("M", master, (occurrence(1, "o1"), occurrence(8, "o1"))),),
        series_known=one,
    )
    seen = {s.event_id: s for s in first.upsert}
    moved = Series("M", master, (occurrence(8, "o2", 15),))
    alone = plan(BOX, [], {}, seen, ONE_WAY, full_round=False, people={}, series=(moved,), series_known=one)
    assert alone.restore_occurrences == {"a1": {"2026-12-08": False}} and alone.restore_events == {"a1": "M"}
    two = {**one, "M2": Known(ours="a1")}  # the booking's series remade: its old master still known
    both = plan(BOX, [], {}, seen, ONE_WAY, full_round=False, people={}, series=(moved,), series_known=two)
    assert both.restore_occurrences == {"a1": {"2026-12-08": False}} and both.restore_events == {}
