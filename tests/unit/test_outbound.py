"""The pure booking → Outlook planner: examples and properties (no servers)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.core.mapping import COMPARED, PROPERTY_ID, Desired, transaction_id
from shared.core.outbound import (
    Create,
    Delete,
    Keep,
    Mailbox,
    Occurrences,
    Skip,
    Stored,
    Update,
    occurrence_patch,
    plan,
)

WORKERS = ["w1", "w2", "w3", "w4"]
ROOMS = ["r1", "r2"]


def boxes(linked: set[str]) -> dict[tuple[str, str], Mailbox]:
    out = {}
    for w in WORKERS:
        out[("worker", w)] = Mailbox("worker", w, f"uid-{w}" if w in linked else None, f"{w}@x.test", w.upper())
    for r in ROOMS:
        out[("resource", r)] = Mailbox("resource", r, f"uid-{r}" if r in linked else None, f"{r}@x.test", r.upper())
    return out


def desired(**kw: object) -> Desired:
    base = dict(
        org="o",
        appointment="a",
        title="T",
        start="2026-12-01T10:00:00",
        end="2026-12-01T11:00:00",
        time_zone="UTC",
        organizer="w1",
        attendees=("w2",),
        resources=(),
    )
    base.update(kw)
    return Desired(**base)  # type: ignore[arg-type]


def applied(actions: list, before: list[Stored]) -> list[Stored]:
    """What the shell would store after carrying the actions out successfully (for the
    planner's examples; tests/service/test_push_convergence.py runs the real shell)."""
    state = {s.mailbox: s for s in before}
    for a in actions:
        if isinstance(a, Create):
            written = {k: a.event[k] for k in COMPARED if k in a.event}
            state[a.mailbox] = Stored(
                a.mailbox, a.role, f"ev-{a.mailbox}-{a.generation}", written, "synced", a.generation
            )
        elif isinstance(a, Update):
            old = state[a.mailbox]
            written = {k: a.event[k] for k in COMPARED if k in a.event}
            state[a.mailbox] = Stored(a.mailbox, a.role, old.event_id, written, "synced", old.generation)
        elif isinstance(a, Delete):
            old = state[a.mailbox]
            state[a.mailbox] = Stored(a.mailbox, old.role, None, {}, "deleted", old.generation + 1)
    return list(state.values())


def test_organizer_mode_is_one_meeting_with_invitations() -> None:
    actions = plan(
        desired(attendees=("w2", "w3"), resources=("r1",), guests=("g@out.test",)), True, boxes({"w1", "w2", "r1"}), []
    )
    creates = [a for a in actions if isinstance(a, Create)]
    assert [(c.mailbox, c.role) for c in creates] == [("uid-w1", "organizer")]
    invited = {(x["emailAddress"]["address"], x["type"]) for x in creates[0].event["attendees"]}
    assert invited == {("w2@x.test", "required"), ("g@out.test", "required"), ("r1@x.test", "resource")}
    assert [(s.id, s.reason) for s in actions if isinstance(s, Skip)] == [("w3", "not_linked")]


def test_unlinked_organizer_falls_back_to_copies() -> None:
    actions = plan(desired(resources=("r1",)), True, boxes({"w2", "r1"}), [])
    assert sorted((a.mailbox, a.role) for a in actions if isinstance(a, Create)) == [
        ("uid-r1", "resource"),
        ("uid-w2", "copy"),
    ]
    assert [s.id for s in actions if isinstance(s, Skip)] == ["w1"]


def test_unchanged_is_keep_and_change_is_a_minimal_patch() -> None:
    first = plan(desired(), True, boxes({"w1", "w2"}), [])
    stored = applied(first, [])
    assert all(isinstance(a, Keep) for a in plan(desired(), True, boxes({"w1", "w2"}), stored))
    [update] = plan(desired(title="New"), True, boxes({"w1", "w2"}), stored)
    assert isinstance(update, Update) and update.patch == {"subject": "New"}


def test_new_organizer_deletes_old_meeting_and_creates_new() -> None:
    stored = applied(plan(desired(), True, boxes({"w1", "w2", "w3"}), []), [])
    actions = plan(desired(organizer="w3"), True, boxes({"w1", "w2", "w3"}), stored)
    assert {type(a).__name__ for a in actions} == {"Create", "Delete"}
    assert [a.mailbox for a in actions if isinstance(a, Delete)] == ["uid-w1"]


def test_recreate_after_delete_uses_a_new_transaction_id() -> None:
    first = plan(desired(), True, boxes({"w1"}), [])
    stored = applied(first, [])
    stored = applied(plan(desired(deleted=True), True, boxes({"w1"}), stored), stored)
    again = [a for a in plan(desired(), True, boxes({"w1"}), stored) if isinstance(a, Create)]
    [created] = [a for a in first if isinstance(a, Create)]
    assert again[0].transaction_id != created.transaction_id


def test_pending_create_is_looked_up_before_creating_again() -> None:
    pending = [Stored("uid-w1", "organizer", None, {}, "pending", 0)]
    [create] = [a for a in plan(desired(), True, boxes({"w1"}), pending) if isinstance(a, Create)]
    assert create.maybe_exists
    [delete] = plan(desired(deleted=True), True, boxes({"w1"}), pending)
    assert isinstance(delete, Delete) and delete.event_id is None  # found by property and deleted


WEEKLY = {
    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
    "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 10},
}


def test_a_series_is_one_master_and_its_exceptions_follow_it() -> None:
    series = desired(
        recurrence=WEEKLY,
        time_zone="Europe/Oslo",
        occurrences={
            "2026-12-08": {"title": "Moved", "start": "2026-12-08T14:00:00"},
            "2026-12-15": {"cancelled": True},
        },
    )
    actions = plan(series, True, boxes({"w1", "w2"}), [])
    assert [type(a).__name__ for a in actions] == ["Create", "Occurrences"]
    create, occurrences = actions
    assert create.event["recurrence"] == WEEKLY
    # Each exception is named by its original start in UTC (Oslo is UTC+1 in December).
    assert [(day, str(original)) for day, original, _ in occurrences.changes] == [
        ("2026-12-08", "2026-12-08 09:00:00+00:00"),
        ("2026-12-15", "2026-12-15 09:00:00+00:00"),
    ]
    moved = {"dateTime": "2026-12-08T14:00:00", "timeZone": "W. Europe Standard Time"}
    assert occurrences.changes[0][2] == {"subject": "Moved", "start": moved}
    assert occurrences.changes[1][2] == {"cancelled": True}


def test_exceptions_already_written_are_not_written_again_unless_the_pattern_changes() -> None:
    series = desired(recurrence=WEEKLY, occurrences={"2026-12-15": {"cancelled": True}})
    cancelled = {"2026-12-15": {"cancelled": True}}
    done = [Stored("uid-w1", "organizer", "ev", _written(series), "synced", 0, cancelled)]
    assert [type(a).__name__ for a in plan(series, True, boxes({"w1"}), done) if not isinstance(a, Skip)] == ["Keep"]
    longer = {**WEEKLY, "range": {**WEEKLY["range"], "numberOfOccurrences": 12}}
    actions = plan(desired(recurrence=longer, occurrences=series.occurrences), True, boxes({"w1"}), done)
    kinds = [type(a).__name__ for a in actions if not isinstance(a, Skip)]
    assert kinds == ["Update", "Occurrences"]  # Outlook drops exceptions then


def test_a_series_becoming_a_single_appointment_replaces_the_event() -> None:
    series = desired(recurrence=WEEKLY)
    stored = applied(plan(series, True, boxes({"w1"}), []), [])
    actions = plan(desired(), True, boxes({"w1"}), stored)
    assert [type(a).__name__ for a in actions if not isinstance(a, Skip)] == ["Delete", "Create"]
    [create] = [a for a in actions if isinstance(a, Create)]
    assert "recurrence" not in create.event and create.generation == 1


def _written(d: Desired) -> dict:
    [create] = [a for a in plan(d, True, boxes({"w1"}), []) if isinstance(a, Create)]
    return {k: create.event[k] for k in COMPARED if k in create.event}


# --- Who gets which event ---------------------------------------------------------------


def _txn(mailbox: str, generation: int = 0) -> str:
    return transaction_id("o", "a", mailbox, generation)


def _mark() -> list[dict]:
    return [{"id": PROPERTY_ID, "value": "o/a"}]


def _when(local: str, tz: str = "UTC") -> dict:
    return {"dateTime": local, "timeZone": tz}


def _invite(address: str, name: str, kind: str = "required") -> dict:
    return {"emailAddress": {"address": address, "name": name}, "type": kind}


def test_the_organizers_meeting_is_written_whole_with_its_invitations_and_our_mark() -> None:
    # The organizer named among the attendees is not invited to their own meeting, and does
    # not hide the attendees after them; the rooms booked name the meeting's place.
    d = desired(attendees=("w1", "w2"), resources=("r1", "r2"), guests=("g@out.test",), body="Agenda")
    [create] = plan(d, True, boxes({"w1", "w2", "r1", "r2"}), [])
    event = {
        "subject": "T",
        "body": {"contentType": "text", "content": "Agenda"},
        "start": _when("2026-12-01T10:00:00"),
        "end": _when("2026-12-01T11:00:00"),
        "isAllDay": False,
        "location": {"displayName": "R1; R2"},
        "sensitivity": "normal",
        "attendees": [
            _invite("w2@x.test", "W2"),
            _invite("g@out.test", "g@out.test"),
            _invite("r1@x.test", "R1", "resource"),
            _invite("r2@x.test", "R2", "resource"),
        ],
        "transactionId": _txn("uid-w1"),
        "singleValueExtendedProperties": _mark(),
    }
    assert create == Create("uid-w1", "w1@x.test", "organizer", "worker", "w1", event, _txn("uid-w1"), 0, False)


def test_a_meetings_place_is_the_booking_products_else_the_rooms_by_name_or_address() -> None:
    linked = boxes({"w1", "r1", "r2"})
    linked[("resource", "r2")] = Mailbox("resource", "r2", "uid-r2", "r2@x.test", "")  # no display name
    [create] = plan(desired(attendees=(), resources=("r1", "r2")), True, linked, [])
    assert create.event["location"] == {"displayName": "R1; r2@x.test"}
    assert create.event["attendees"][1] == _invite("r2@x.test", "r2@x.test", "resource")
    [create] = plan(desired(attendees=(), resources=("r1", "r2"), location="Lobby"), True, linked, [])
    assert create.event["location"] == {"displayName": "Lobby"}


def test_a_room_not_linked_is_neither_invited_nor_the_meetings_place() -> None:
    actions = plan(desired(attendees=(), resources=("r1",)), True, boxes({"w1"}), [])
    [create] = [a for a in actions if isinstance(a, Create)]
    assert create.event["attendees"] == [] and create.event["location"] == {"displayName": ""}
    assert [a for a in actions if isinstance(a, Skip)] == [Skip("resource", "r1", "resource", "not_linked")]


def test_a_worker_linked_to_the_organizers_own_mailbox_is_not_invited_to_it() -> None:
    linked = boxes({"w1", "w2"})
    linked[("worker", "w3")] = Mailbox("worker", "w3", "uid-w1", "w1@x.test", "W1 again")
    [create] = plan(desired(attendees=("w3", "w2")), True, linked, [])
    assert create.event["attendees"] == [_invite("w2@x.test", "W2")]


def test_an_attendee_not_in_the_links_at_all_is_skipped_as_not_linked() -> None:
    linked = boxes({"w1"})
    del linked[("worker", "w2")]
    actions = plan(desired(), True, linked, [])
    assert [a for a in actions if isinstance(a, Skip)] == [Skip("worker", "w2", "attendee", "not_linked")]
    [create] = [a for a in actions if isinstance(a, Create)]
    assert create.event["attendees"] == []


def test_without_use_organizer_each_linked_calendar_gets_its_own_copy_without_invitations() -> None:
    d = desired(attendees=("w2", "w1", "w3"), resources=("r1", "r2"), guests=("g@out.test",), location="")
    actions = plan(d, False, boxes({"w1", "w2", "r1"}), [])
    creates = [a for a in actions if isinstance(a, Create)]
    assert [(c.mailbox, c.role, c.owner_kind, c.owner_id, c.generation) for c in creates] == [
        ("uid-w1", "copy", "worker", "w1", 0),
        ("uid-w2", "copy", "worker", "w2", 0),
        ("uid-r1", "resource", "resource", "r1", 0),
    ]
    for c in creates:
        assert "attendees" not in c.event and c.transaction_id == _txn(c.mailbox) == c.event["transactionId"]
        assert c.event["singleValueExtendedProperties"] == _mark()
    # A copy has the booking's place; a room's copy, without one, the room's name.
    assert [c.event["location"] for c in creates] == [{"displayName": ""}] * 2 + [{"displayName": "R1"}]
    assert [a for a in actions if isinstance(a, Skip)] == [
        Skip("worker", "w3", "attendee", "not_linked"),
        Skip("resource", "r2", "resource", "not_linked"),
    ]
    placed = plan(desired(attendees=(), resources=("r1",), location="Lobby"), False, boxes({"w1", "r1"}), [])
    assert [c.event["location"] for c in placed] == [{"displayName": "Lobby"}] * 2


def test_an_unlinked_organizer_is_skipped_as_the_organizer() -> None:
    actions = plan(desired(), False, boxes({"w2"}), [])
    assert [a for a in actions if isinstance(a, Skip)] == [Skip("worker", "w1", "organizer", "not_linked")]


def test_two_people_on_one_mailbox_make_one_copy_there() -> None:
    linked = boxes({"w1", "w2", "r1"})
    linked[("worker", "w2")] = Mailbox("worker", "w2", "uid-w1", "w1@x.test", "W1")
    linked[("resource", "r2")] = Mailbox("resource", "r2", "uid-r1", "r1@x.test", "R1")
    actions = plan(desired(resources=("r1", "r2")), False, linked, [])
    assert [(a.mailbox, a.owner_id) for a in actions] == [("uid-w1", "w1"), ("uid-r1", "r1")]


def test_an_appointment_without_an_organizer_is_copies_of_its_attendees() -> None:
    actions = plan(desired(organizer=None, attendees=("w2",)), True, boxes({"w1", "w2"}), [])
    assert [(type(a).__name__, a.mailbox, a.role) for a in actions] == [("Create", "uid-w2", "copy")]


def test_a_deleted_or_unpushed_appointment_wants_no_event_and_reports_no_skip() -> None:
    for d in (desired(deleted=True), desired(push=False)):
        assert plan(d, True, boxes(set()), []) == []
        synced = [Stored("uid-w1", "organizer", "ev-1", {}, "synced", 2)]
        assert plan(d, True, boxes({"w1"}), synced) == [Delete("uid-w1", "organizer", "ev-1")]


# --- What is done with the events we wrote before -----------------------------------------


def _synced(
    d: Desired, mailbox: str = "uid-w1", role: str = "organizer", linked: tuple = ("w1", "w2"), **kw: object
) -> Stored:
    """The target as stored once `d` was written there (the organizer's, by default)."""
    actions = plan(d, role == "organizer", boxes(set(linked)), [])
    [create] = [a for a in actions if isinstance(a, Create) and a.mailbox == mailbox]
    written = {k: create.event[k] for k in COMPARED if k in create.event}
    return Stored(mailbox, role, f"ev-{mailbox}", written, "synced", **kw)  # type: ignore[arg-type]


def test_a_change_is_one_update_of_the_changed_fields_carrying_the_whole_event() -> None:
    stored = [_synced(desired())]
    [update] = plan(desired(title="New", location="Lobby"), True, boxes({"w1", "w2"}), stored)
    whole = {
        "subject": "New",
        "body": {"contentType": "text", "content": ""},
        "start": _when("2026-12-01T10:00:00"),
        "end": _when("2026-12-01T11:00:00"),
        "isAllDay": False,
        "location": {"displayName": "Lobby"},
        "sensitivity": "normal",
        "attendees": [_invite("w2@x.test", "W2")],
    }
    patch = {"subject": "New", "location": {"displayName": "Lobby"}}
    assert update == Update("uid-w1", "organizer", "ev-uid-w1", patch, whole)


def test_the_attendees_invited_in_another_order_or_case_are_not_invited_again() -> None:
    stored = [_synced(desired(attendees=("w2", "w3")), linked=("w1", "w2", "w3"))]
    shuffled = dict(stored[0].written)
    shuffled["attendees"] = [
        _invite("W3@X.TEST", "W3"),
        _invite("w2@x.test", "W2"),
    ]
    again = [Stored("uid-w1", "organizer", "ev-uid-w1", shuffled, "synced")]
    assert plan(desired(attendees=("w2", "w3")), True, boxes({"w1", "w2", "w3"}), again) == [
        Keep("uid-w1", "organizer", "ev-uid-w1")
    ]


def test_fields_a_held_up_put_sent_are_sent_again_though_written_says_them() -> None:
    stored = [_synced(desired(), reassert=("subject",))]
    [update] = plan(desired(), True, boxes({"w1", "w2"}), stored)
    assert isinstance(update, Update) and update.patch == {"subject": "T"}


def _observed(**changed: object) -> dict:
    """What a delta round saw of our event (normalized), with Outlook's edits."""
    seen = {
        "title": "T",
        "start": "2026-12-01T10:00:00Z",
        "end": "2026-12-01T11:00:00Z",
        "isAllDay": False,
        "location": "",
        "body": "",
        "isPrivate": False,
    }
    return {**seen, **changed}


def test_a_put_writes_back_only_the_fields_outlook_changed() -> None:
    stored = [_synced(desired(), observed=_observed(title="Mine now", isPrivate=True))]
    [update] = plan(desired(), True, boxes({"w1", "w2"}), stored, reassert=True)
    assert isinstance(update, Update) and update.patch == {"subject": "T", "sensitivity": "normal"}
    # A retry is not the booking product's word: Outlook's edits stand.
    assert plan(desired(), True, boxes({"w1", "w2"}), stored) == [Keep("uid-w1", "organizer", "ev-uid-w1")]
    # Outlook holding what we wrote, or nothing known of it: nothing to write back.
    for observed in (_observed(), {}, None):
        same = [_synced(desired(), observed=observed)]
        assert plan(desired(), True, boxes({"w1", "w2"}), same, reassert=True) == [
            Keep("uid-w1", "organizer", "ev-uid-w1")
        ]


def test_an_event_deleted_in_outlook_is_made_again_only_by_the_booking_products_word() -> None:
    lost = Stored("uid-w1", "copy", None, {}, "deleted_in_outlook", 1)
    stored = [lost, _synced(desired(), "uid-w2", "copy")]
    changed = desired(title="New")
    # A retry leaves Outlook's deletion alone, and still updates the other calendars.
    [update] = plan(changed, False, boxes({"w1", "w2"}), stored)
    assert isinstance(update, Update) and update.mailbox == "uid-w2"
    # A PUT makes it again, as the next generation (a new transactionId).
    creates = [a for a in plan(changed, False, boxes({"w1", "w2"}), stored, reassert=True) if isinstance(a, Create)]
    assert [(c.mailbox, c.generation, c.transaction_id, c.maybe_exists) for c in creates] == [
        ("uid-w1", 1, _txn("uid-w1", 1), False)
    ]


def test_a_meeting_becoming_copies_replaces_the_meeting_with_the_next_generation() -> None:
    stored = [_synced(desired(), generation=3)]
    actions = plan(desired(), False, boxes({"w1", "w2"}), stored)
    assert actions[0] == Delete("uid-w1", "organizer", "ev-uid-w1")
    create = actions[1]
    assert isinstance(create, Create) and (create.mailbox, create.role, create.generation) == ("uid-w1", "copy", 4)
    assert create.transaction_id == _txn("uid-w1", 4) and not create.maybe_exists
    assert [(a.mailbox, a.role) for a in actions[2:]] == [("uid-w2", "copy")]


def test_a_series_outlook_cut_an_occurrence_from_is_made_again_whole() -> None:
    series = desired(recurrence=WEEKLY, occurrences={"2026-12-15": {"cancelled": True}})
    stored = [_synced(series, generation=2, renew=True, occurrences={"2026-12-15": {"cancelled": True}})]
    actions = plan(series, True, boxes({"w1", "w2"}), stored)
    assert [type(a).__name__ for a in actions] == ["Delete", "Create", "Occurrences"]
    assert actions[0] == Delete("uid-w1", "organizer", "ev-uid-w1")
    assert actions[1].generation == 3 and actions[1].event["recurrence"] == WEEKLY
    # The new series has none of the old one's exceptions: they are written again.
    assert actions[2] == Occurrences(
        "uid-w1", (("2026-12-15", datetime(2026, 12, 15, 10, tzinfo=UTC), {"cancelled": True}),), {}
    )


def test_a_create_that_may_have_reached_graph_is_looked_up_first() -> None:
    for state, maybe in (("pending", True), ("failed", True), ("deleted", False)):
        stored = [Stored("uid-w1", "organizer", None, {}, state, 5)]
        [create] = plan(desired(), True, boxes({"w1", "w2"}), stored)
        assert isinstance(create, Create)
        assert (create.generation, create.maybe_exists) == (5, maybe), state


def test_a_calendar_no_longer_wanted_loses_our_event_and_nothing_else_is_deleted() -> None:
    stored = [
        Stored("uid-w1", "organizer", "ev-1", {}, "synced"),
        Stored("uid-w2", "copy", None, {}, "pending"),  # a create that may have reached Graph
        Stored("uid-w3", "copy", None, {}, "failed"),  # its last try too may have reached Graph
        Stored("uid-w4", "copy", None, {}, "deleted", 2),
        Stored("uid-r1", "resource", None, {}, "deleted_in_outlook", 1),
    ]
    assert plan(desired(deleted=True), False, boxes(set()), stored) == [
        Delete("uid-w1", "organizer", "ev-1"),
        Delete("uid-w2", "copy", None),
        Delete("uid-w3", "copy", None),
    ]


# --- A series' exceptions -----------------------------------------------------------------


def test_an_exception_from_the_booking_product_is_written_as_graph_fields() -> None:
    oslo = desired(time_zone="Europe/Oslo")
    override = {
        "title": "Moved",
        "start": "2026-12-08T14:00:00",
        "end": "2026-12-08T15:30:00",
        "location": "Lobby",
        "body": "Bring the slides",
        "note": "not a field we write",
    }
    assert occurrence_patch(oslo, override) == {
        "subject": "Moved",
        "start": _when("2026-12-08T14:00:00", "W. Europe Standard Time"),
        "end": _when("2026-12-08T15:30:00", "W. Europe Standard Time"),
        "location": {"displayName": "Lobby"},
        "body": {"contentType": "text", "content": "Bring the slides"},
    }
    # A cancellation is only that, whatever else came with it; `cancelled: false` is none.
    assert occurrence_patch(oslo, {"cancelled": True, "title": "x"}) == {"cancelled": True}
    assert occurrence_patch(oslo, {"cancelled": False, "title": "x"}) == {"subject": "x"}


def test_a_series_moved_or_lengthened_gets_its_exceptions_again() -> None:
    """Outlook drops a series' exceptions when its pattern or its time changes."""
    cancelled = {"2026-12-15": {"cancelled": True}}
    series = desired(recurrence=WEEKLY, occurrences=cancelled, attendees=())
    stored = [_synced(series, occurrences=cancelled)]
    for change in ({"start": "2026-12-01T09:00:00"}, {"end": "2026-12-01T12:00:00"}):
        moved = desired(recurrence=WEEKLY, occurrences=cancelled, attendees=(), **change)
        actions = plan(moved, True, boxes({"w1", "w2"}), stored)
        assert [type(a).__name__ for a in actions] == ["Update", "Occurrences"], change
        assert [patch for _, _, patch in actions[1].changes] == [{"cancelled": True}]
    # Another title keeps them.
    retitled = desired(recurrence=WEEKLY, occurrences=cancelled, attendees=(), title="New")
    assert [type(a).__name__ for a in plan(retitled, True, boxes({"w1", "w2"}), stored)] == ["Update"]


def test_only_the_exceptions_not_yet_written_are_written_in_date_order() -> None:
    days = {
        "2026-12-22": {"title": "Late"},
        "2026-12-08": {"cancelled": True},
        "2026-12-15": {"title": "Kept"},
    }
    series = desired(recurrence=WEEKLY, occurrences=days)
    written = {"2026-12-15": {"subject": "Kept"}, "2026-12-22": {"subject": "Earlier"}}
    actions = plan(series, True, boxes({"w1", "w2"}), [_synced(series, occurrences=written)])
    assert actions[1:] == [
        Occurrences(
            "uid-w1",
            (
                ("2026-12-08", datetime(2026, 12, 8, 10, tzinfo=UTC), {"cancelled": True}),
                ("2026-12-22", datetime(2026, 12, 22, 10, tzinfo=UTC), {"subject": "Late"}),
            ),
            {},
        )
    ]


def test_an_occurrence_put_back_is_written_as_the_series_has_it_and_not_remembered() -> None:
    # oneWay: Outlook moved the 8th; the series' own time, title, place and body go back on it.
    series = desired(recurrence=WEEKLY, attendees=(), resources=("r1",), body="")
    restore = {"2026-12-08": {"restore": True}}
    stored = [_synced(series, linked=("w1", "r1"), occurrences=restore)]
    [keep, occurrences] = plan(series, True, boxes({"w1", "r1"}), stored)
    assert keep == Keep("uid-w1", "organizer", "ev-uid-w1")
    put_back = {
        "subject": "T",
        "body": {"contentType": "text", "content": ""},
        "location": {"displayName": "R1"},  # the meeting's place: its room
        "start": _when("2026-12-08T10:00:00"),
        "end": _when("2026-12-08T11:00:00"),
    }
    assert occurrences == Occurrences(
        "uid-w1", (("2026-12-08", datetime(2026, 12, 8, 10, tzinfo=UTC), put_back),), {"2026-12-08": None}
    )


def test_an_occurrence_put_back_keeps_the_booking_products_exception_and_remembers_it() -> None:
    days = {"2026-12-08": {"title": "Moved", "start": "2026-12-08T14:00:00", "end": "2026-12-08T15:00:00"}}
    series = desired(recurrence=WEEKLY, occurrences=days, body="Agenda")
    stored = [_synced(series, occurrences={"2026-12-08": {"restore": True}})]
    [_, occurrences] = plan(series, True, boxes({"w1", "w2"}), stored)
    own = {"subject": "Moved", "start": _when("2026-12-08T14:00:00"), "end": _when("2026-12-08T15:00:00")}
    [(day, original, patch)] = occurrences.changes
    assert (day, original) == ("2026-12-08", datetime(2026, 12, 8, 10, tzinfo=UTC))
    assert patch == {
        **own,
        "body": {"contentType": "text", "content": "Agenda"},
        "location": {"displayName": ""},
    }
    assert occurrences.record == {"2026-12-08": own}


def test_an_occurrence_the_booking_product_cancelled_is_cancelled_not_put_back() -> None:
    cancelled = {"2026-12-08": {"cancelled": True}}
    series = desired(recurrence=WEEKLY, occurrences=cancelled)
    stored = [_synced(series, occurrences={"2026-12-08": {"restore": True}})]
    [_, occurrences] = plan(series, True, boxes({"w1", "w2"}), stored)
    assert occurrences == Occurrences(
        "uid-w1", (("2026-12-08", datetime(2026, 12, 8, 10, tzinfo=UTC), {"cancelled": True}),), {}
    )


def test_a_change_updates_every_calendar_holding_a_copy() -> None:
    stored = [_synced(desired(), "uid-w1", "copy"), _synced(desired(), "uid-w2", "copy")]
    actions = plan(desired(title="New"), False, boxes({"w1", "w2"}), stored)
    assert [(type(a).__name__, a.mailbox, a.patch) for a in actions] == [
        ("Update", "uid-w1", {"subject": "New"}),
        ("Update", "uid-w2", {"subject": "New"}),
    ]
