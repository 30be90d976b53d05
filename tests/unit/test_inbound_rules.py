"""The Outlook → booking planner's rules per event: what counts as already seen, an event made
in Outlook, attendees' answers, and one recurring series (shared.core.inbound_rules)."""

from __future__ import annotations

from typing import Any

from shared.core.changes import NewChange
from shared.core.inbound import Known, Mailbox, Plan, Seen, plan
from shared.core.inbound_rules import answers, maybe_create, read_before_our_write, seen_since_our_write
from shared.core.inbound_series import Series
from shared.core.mapping import meeting_id, minted_id, normalize
from tests.unit.test_inbound import BOX, SETTINGS, item
from tests.unit.test_inbound_series import WEEKLY, master, occurrence, remember, run

ROOM = Mailbox("o", "resource", "r1", "uid-r")
PREFIXED = SETTINGS.merged({"createPrefix": "[B]"})


def attendees(**responses: str) -> list[dict[str, Any]]:
    """Graph's attendees, `name="accepted"` for name@x.test."""
    return [
        {"emailAddress": {"address": f"{name}@x.test"}, "status": {"response": r}, "type": "required"}
        for name, r in responses.items()
    ]


# --- What counts as already seen -------------------------------------------------------------


def test_a_read_from_before_our_latest_write_has_our_earlier_writes_as_its_bases() -> None:
    """Graph's times carry seven fractional digits: within one second, the order still counts."""
    first, second = {"title": "v1"}, {"title": "v2"}
    k = Known(ours="a1", earlier={"w1": first, "w2": second}, written_at="2026-12-06T14:37:30.6Z")
    before = {"lastModifiedDateTime": "2026-12-06T14:37:30.5999999Z"}
    assert read_before_our_write(before, k) == [first, second]
    # Modified at our write's instant, or after it: what it shows is not older than our write.
    assert read_before_our_write({"lastModifiedDateTime": "2026-12-06T14:37:30.6000000Z"}, k) == []
    assert read_before_our_write({"lastModifiedDateTime": "2026-12-06T14:37:30.6000001Z"}, k) == []


def test_without_a_time_on_either_side_or_earlier_writes_nothing_is_taken_for_ours() -> None:
    earlier = {"w1": {"title": "v1"}}
    old = {"lastModifiedDateTime": "2026-12-06T10:00:00Z"}
    assert read_before_our_write({}, Known(ours="a1", earlier=earlier, written_at="2026-12-06T11:00:00Z")) == []
    assert read_before_our_write(old, Known(ours="a1", earlier=earlier)) == []
    assert read_before_our_write(old, Known(ours="a1", written_at="2026-12-06T11:00:00Z")) == []


def test_a_snapshot_is_a_base_for_an_outlook_made_event_and_for_ours_seen_after_our_last_write() -> None:
    content = {**normalize(item("e1", "ck1")), "writes": 2}
    created = Seen("e1", "a1", "created", "ck1", content)
    ours = Seen("e1", "a1", "ours", "ck1", content)
    assert seen_since_our_write(created, "created", Known()) == [content]
    assert seen_since_our_write(ours, "ours", Known(ours="a1", writes=2)) == [content]
    # Seen before our last write (a write since), or with no count of our writes: not a base.
    assert seen_since_our_write(ours, "ours", Known(ours="a1", writes=3)) == []
    assert seen_since_our_write(ours, "ours", Known(ours="a1")) == []


def test_an_old_snapshot_without_a_write_count_is_no_base_while_we_count_none() -> None:
    """A snapshot from before we counted writes and a target with no count both lack one:
    that is no proof the snapshot saw Outlook after our last write."""
    content = normalize(item("e1", "ck1"))
    assert seen_since_our_write(Seen("e1", "a1", "ours", "ck1", content), "ours", Known(ours="a1")) == []


# --- An event made in Outlook ----------------------------------------------------------------


def test_a_workers_own_meeting_is_created_with_its_linked_people_by_kind() -> None:
    people = {
        "ada@x.test": ("worker", "w1"),
        "bob@x.test": ("worker", "w2"),
        "zed@x.test": ("worker", "w0"),
        "room@x.test": ("resource", "r1"),
    }
    meeting = item(
        "n1", subject="[B] Walk-in", attendees=attendees(zed="none", bob="accepted", room="accepted", eve="none")
    )
    content = normalize(meeting)
    created = maybe_create(BOX, "n1", content, PREFIXED, people)
    assert created == NewChange(
        "created",
        meeting_id("ical"),
        worker="w1",
        mailbox="uid-1",
        event_id="n1",
        data={
            "title": "[B] Walk-in",
            "start": "2026-12-01T10:00:00Z",
            "end": "2026-12-01T11:00:00Z",
            "isAllDay": False,
            "location": "A",
            "body": "b",
            "isPrivate": False,
            "organizer": "ada@x.test",
            "workers": ["w0", "w1", "w2"],
            "resources": ["r1"],
        },
    )


def test_an_event_without_an_ical_uid_gets_an_id_of_its_mailbox_and_event() -> None:
    content = normalize(item("n1", subject="[B] Walk-in", iCalUId=None))
    created = maybe_create(BOX, "n1", content, PREFIXED, {})
    assert created is not None and created.appointment == minted_id("uid-1", "n1")
    assert created.data["workers"] == ["w1"] and created.data["resources"] == []


def test_a_worker_event_booking_a_linked_room_is_created_without_the_prefix() -> None:
    people = {"room@x.test": ("resource", "r1"), "bob@x.test": ("worker", "w2")}
    booked = normalize(item("n1", subject="Lunch", attendees=attendees(room="accepted")))
    created = maybe_create(BOX, "n1", booked, PREFIXED, people)
    assert created is not None and created.data["resources"] == ["r1"]
    # A colleague or a stranger invited is no booking.
    for guest in (attendees(bob="accepted"), attendees(eve="accepted")):
        plain = normalize(item("n2", subject="Lunch", attendees=guest))
        assert maybe_create(BOX, "n2", plain, PREFIXED, people) is None


def test_what_is_not_made_from_outlook() -> None:
    people = {"room@x.test": ("resource", "r1")}
    invitation = normalize(item("n1", subject="[B] Their meeting", isOrganizer=False, attendees=attendees(room="none")))
    assert maybe_create(BOX, "n1", invitation, PREFIXED, people) is None
    cancelled = normalize(item("n2", subject="[B] Walk-in", isCancelled=True))
    assert maybe_create(BOX, "n2", cancelled, PREFIXED, people) is None
    assert maybe_create(ROOM, "n2", cancelled, PREFIXED, people) is None
    off = SETTINGS.merged({"createFromOutlook": False})
    assert maybe_create(BOX, "n3", normalize(item("n3", subject="[B] Walk-in")), off, people) is None
    assert maybe_create(ROOM, "n3", normalize(item("n3")), off, people) is None


def test_any_reservation_on_a_room_is_created_for_the_room_with_its_linked_organizer() -> None:
    people = {"ada@x.test": ("worker", "w1")}
    reservation = normalize(item("n1", subject="Lunch", isOrganizer=False, iCalUId=None))
    created = maybe_create(ROOM, "n1", reservation, PREFIXED, people)
    assert created is not None
    assert (created.type, created.appointment, created.resource, created.worker, created.mailbox) == (
        "created",
        minted_id("uid-r", "n1"),
        "r1",
        None,
        "uid-r",
    )
    assert (created.data["workers"], created.data["resources"]) == (["w1"], ["r1"])


# --- Attendees' answers ------------------------------------------------------------------------


PEOPLE = {
    "bob@x.test": ("worker", "w2"),
    "cy@x.test": ("worker", "w3"),
    "dee@x.test": ("worker", "w4"),
    "fay@x.test": ("worker", "w6"),
    "room@x.test": ("resource", "r1"),
}


def test_new_answers_of_linked_people_are_reported_for_whoever_answered() -> None:
    content = normalize(
        item(
            "e1",
            attendees=attendees(
                bob="declined",
                room="accepted",
                cy="none",
                dee="notResponded",
                eve="accepted",
                fay="tentativelyAccepted",
            ),
        )
    )
    before = {"attendees": {"fay@x.test": "tentativelyAccepted", "bob@x.test": "accepted"}}
    out = Plan()
    answers(out, BOX, "a1", "e1", content, before, PEOPLE)
    assert out.changes == [
        NewChange(
            "responded",
            "a1",
            worker="w2",
            mailbox="uid-1",
            event_id="e1",
            data={"response": "declined", "address": "bob@x.test"},
        ),
        NewChange(
            "responded",
            "a1",
            resource="r1",
            mailbox="uid-1",
            event_id="e1",
            data={"response": "accepted", "address": "room@x.test"},
        ),
    ]
    assert out.responses == {"a1": {"bob@x.test": "declined", "room@x.test": "accepted"}}


def test_a_room_answering_at_first_sight_counts_against_no_answer_yet() -> None:
    content = normalize(item("e1", attendees=attendees(room="accepted")))
    out = Plan()
    answers(out, BOX, "a1", "e1", content, {}, PEOPLE)
    assert [(c.type, c.resource, c.data) for c in out.changes] == [
        ("responded", "r1", {"response": "accepted", "address": "room@x.test"})
    ]


def test_an_answer_to_one_occurrence_names_it_and_is_not_the_series_answer() -> None:
    content = normalize(item("M-8", attendees=attendees(bob="declined")))
    out = Plan(responses={"a1": {"bob@x.test": "accepted"}})
    answers(out, BOX, "a1", "M-8", content, {"attendees": {"bob@x.test": "accepted"}}, PEOPLE, occurrence="2026-12-08")
    assert [(c.worker, c.event_id, c.data) for c in out.changes] == [
        ("w2", "M-8", {"response": "declined", "address": "bob@x.test", "occurrence": "2026-12-08"})
    ]
    assert out.responses == {"a1": {"bob@x.test": "accepted"}}  # the series' answer stays


# --- One recurring series ------------------------------------------------------------------------


def rows(result: Plan) -> list[tuple[str, str, str, str | None]]:
    """The snapshots a round keeps: event, appointment, role, changeKey (the next round's echo check)."""
    return [(s.event_id, s.appointment, s.role, s.change_key) for s in result.upsert]


def test_another_orgs_series_in_a_shared_mailbox_is_left_alone() -> None:
    foreign = Known(foreign=True)
    assert run(Series("M", master(), (occurrence(1),)), {}, foreign) == Plan()
    seen = remember(run(Series("M", master(), (occurrence(1),)), {}, Known(ours="a1")))
    assert run(Series("M", None, ()), seen, foreign) == Plan()


def test_a_series_made_in_outlook_is_created_by_who_saw_it_and_remembered_with_its_keys() -> None:
    result = run(Series("M", master(), (occurrence(1), occurrence(8, "o8"))), {})
    [created] = result.changes
    appointment = meeting_id("ical")
    assert (created.type, created.appointment, created.worker, created.mailbox, created.event_id) == (
        "created",
        appointment,
        "w1",
        "uid-1",
        "M",
    )
    assert created.data["workers"] == ["w1"] and created.data["exceptions"] == []
    assert rows(result) == [
        ("M", appointment, "created", "m1"),
        ("M-1", appointment, "created", "o1"),
        ("M-8", appointment, "created", "o8"),
    ]
    assert result.claims == {"ical": appointment}  # another mailbox's copy of it is only a copy
    # Seen again unchanged: nothing new.
    assert run(Series("M", master(), (occurrence(1), occurrence(8, "o8"))), remember(result)).changes == []


def test_a_series_without_an_ical_uid_is_named_by_its_mailbox_and_master_and_claims_nothing() -> None:
    result = run(Series("M", master(iCalUId=None), (occurrence(1),)), {})
    assert [c.appointment for c in result.changes] == [minted_id("uid-1", "M")]
    assert result.claims == {}


def test_a_series_claimed_by_a_round_that_did_not_finish_is_reported_under_its_claim_not_claimed_again() -> None:
    """This calendar's copy claimed the meeting (the shell knows it: Known.outlook) but no
    snapshot of it was kept: the next round reports it, under the claimed appointment."""
    result = run(Series("M", master(), (occurrence(1),)), {}, Known(outlook=meeting_id("ical")))
    assert [(c.type, c.appointment) for c in result.changes] == [("created", meeting_id("ical"))]
    assert result.claims == {}


def test_a_room_reports_its_series_unless_a_linked_worker_organized_it() -> None:
    booked = master(isOrganizer=False)
    people = {"ada@x.test": ("worker", "w1")}

    def room(p: dict[str, tuple[str, str]]) -> Plan:
        return plan(ROOM, [], {}, {}, SETTINGS, full_round=False, people=p, series=(Series("M", booked, ()),))

    assert room(people) == Plan()  # the organizer's calendar reports it, with its subject
    [created] = room({}).changes
    assert (created.type, created.resource, created.data["resources"]) == ("created", "r1", ["r1"])
    # A worker's own series is created with its organizer's linked worker named too.
    organizer = {"ada@x.test": ("worker", "w2")}
    own = plan(BOX, [], {}, {}, SETTINGS, full_round=False, people=organizer, series=(Series("M", master(), ()),))
    assert [c.data["workers"] for c in own.changes] == [["w1", "w2"]]


def test_an_attendees_copy_of_our_series_is_kept_as_a_copy_and_reports_nothing() -> None:
    copy = Known(meeting="a1")
    theirs = master(isOrganizer=False)
    first = run(Series("M", theirs, (occurrence(1), occurrence(8, "o2", type="exception", subject="x"))), {}, copy)
    assert first.changes == [] and rows(first) == [("M", "a1", "copy", "m1")]
    assert first.upsert[0].content == {**normalize(theirs), "recurrence": WEEKLY, "cancelled": []}
    seen = remember(first)
    renamed = run(Series("M", master("m2", subject="Renamed", isOrganizer=False), ()), seen)
    assert renamed.changes == [] and rows(renamed) == [("M", "a1", "copy", "m2")]
    gone = run(Series("M", None, ()), seen)
    assert gone.changes == [] and gone.lost == [] and gone.forget == ["M"]


def test_a_copy_whose_meeting_claim_was_handed_to_this_calendar_reports_outlook_edits() -> None:
    """The organizer's calendar that claimed an Outlook-made meeting lost it: this copy reports it now."""
    appointment = meeting_id("ical")
    seen = {"M": Seen("M", appointment, "copy", "m1", {**normalize(master()), "recurrence": WEEKLY, "cancelled": []})}
    result = run(Series("M", master("m2", subject="Renamed"), ()), seen, Known(outlook=appointment))
    assert [(c.type, c.appointment, c.data["changed"]) for c in result.changes] == [("updated", appointment, ["title"])]
    assert rows(result) == [("M", appointment, "created", "m2")]


def test_an_outlook_made_series_whose_pattern_changed_is_updated_with_its_recurrence() -> None:
    seen = remember(run(Series("M", master(), (occurrence(1),)), {}))
    longer = {**WEEKLY, "range": {**WEEKLY["range"], "numberOfOccurrences": 6}}
    [change] = run(Series("M", {**master("m2"), "recurrence": longer}, ()), seen).changes
    assert (change.type, change.event_id, change.data["changed"], change.data["recurrence"]) == (
        "updated",
        "M",
        ["recurrence"],
        longer,
    )


def test_an_outlook_made_series_renamed_is_updated_with_its_fields_and_pattern() -> None:
    seen = remember(run(Series("M", master(), (occurrence(1),)), {}))
    [change] = run(Series("M", master("m2", subject="Renamed"), ()), seen).changes
    assert change.data == {
        "title": "Renamed",
        "start": "2026-12-01T10:00:00Z",
        "end": "2026-12-01T11:00:00Z",
        "isAllDay": False,
        "location": "A",
        "body": "b",
        "isPrivate": False,
        "recurrence": WEEKLY,
        "changed": ["title"],
    }
    assert (change.appointment, change.worker, change.mailbox, change.event_id) == (
        meeting_id("ical"),
        "w1",
        "uid-1",
        "M",
    )


def test_an_event_we_write_is_ours_whatever_an_earlier_round_took_it_for() -> None:
    """Known.ours is the shell's proof (our EventRef): our own write is remembered as ours."""
    seen = remember(run(Series("M", master(), (occurrence(1),)), {}))
    booked = Known(ours="a1", bases=(normalize(master(subject="Booked")),), writes=1)
    result = run(Series("M", master("m2", subject="Booked"), ()), seen, booked)
    assert result.changes == []
    assert rows(result) == [("M", "a1", "ours", "m2")] and result.upsert[0].content["writes"] == 1


def test_our_series_whose_master_kept_its_change_key_is_no_news_while_the_booking_wants_more() -> None:
    """The booking product renamed the appointment, our write not done yet: Outlook changed nothing."""
    ours = Known(ours="a1", bases=(normalize(master()),))
    seen = remember(run(Series("M", master(), (occurrence(1),)), {}, ours))
    pending = Known(ours="a1", bases=(normalize(master(subject="Renamed by the booking")),))
    result = run(Series("M", master(), ()), seen, pending)
    assert result.changes == [] and rows(result) == [("M", "a1", "ours", "m1")]


def test_an_outlook_edit_of_our_series_we_are_removing_is_not_reported() -> None:
    ours = Known(ours="a1", bases=(normalize(master()),))
    seen = remember(run(Series("M", master(), (occurrence(1),)), {}, ours))
    retiring = Known(ours="a1", bases=(normalize(master()),), retiring=True)
    assert run(Series("M", master("m2", subject="Renamed"), ()), seen, retiring).changes == []
    [change] = run(Series("M", master("m2", subject="Renamed"), ()), seen, ours).changes
    assert (change.type, change.appointment, change.event_id) == ("updated", "a1", "M")


def test_a_round_reports_its_single_events_and_its_series_together() -> None:
    single = normalize(item("e1", "ck1"))
    seen = remember(run(Series("M", master(), (occurrence(1),)), {}, Known(ours="a1", bases=(normalize(master()),))))
    seen["e1"] = Seen("e1", "a2", "ours", "ck1", single)
    known = {"e1": Known(ours="a2", bases=(single,))}
    series_known = {"M": Known(ours="a1", bases=(normalize(master()),))}
    page = [{"id": "e1", "@removed": {"reason": "deleted"}}, item("e2", "ck1", subject="Lunch")]
    renamed = Series("M", master("m2", subject="Renamed"), ({"id": "M-1", "@removed": {}},))
    result = plan(
        BOX, page, known, seen, SETTINGS, full_round=False, people={}, series=(renamed,), series_known=series_known
    )
    assert sorted((c.type, c.event_id) for c in result.changes) == [
        ("created", "e2"),
        ("deleted", "e1"),
        ("occurrence_deleted", "M-1"),
        ("updated", "M"),
    ]
    assert sorted(result.forget) == ["M-1", "e1"]
    gone = plan(
        BOX,
        page,
        known,
        seen,
        SETTINGS,
        full_round=False,
        people={},
        series=(Series("M", None, ()),),
        series_known=series_known,
    )
    assert sorted(gone.forget) == ["M", "M-1", "e1"]
    assert sorted((c.type, c.event_id) for c in gone.changes) == [
        ("created", "e2"),
        ("deleted", "M"),
        ("deleted", "e1"),
    ]


RESTRICTED = Mailbox("o", "worker", "w1", "uid-1", restricted=True)
OURS = Known(ours="a1", bases=(normalize(master()),))


def restricted(settings: Any, series: Series, seen: dict[str, Seen], known: Known = OURS) -> Plan:
    return plan(
        RESTRICTED, [], {}, seen, settings, full_round=False, people={}, series=(series,), series_known={"M": known}
    )


def test_a_restricted_workers_edits_and_deletions_of_our_series_follow_each_its_own_policy() -> None:
    seen = remember(restricted(SETTINGS, Series("M", master(), (occurrence(1), occurrence(8))), {}))
    edit = Series(
        "M",
        master("m2", subject="Renamed"),
        (occurrence(8, "o2", subject="Mine now", type="exception"), {"id": "M-1", "@removed": {}}),
    )
    delete_only = SETTINGS.merged({"restrictedEdit": "ignore", "restrictedDelete": "detach"})
    assert [
        (c.type, c.appointment, c.event_id, c.worker, c.data) for c in restricted(delete_only, edit, seen).changes
    ] == [("attendee_removed", "a1", "M-1", "w1", {"reason": "deleted_in_outlook", "occurrence": "2026-12-01"})]
    edit_only = SETTINGS.merged({"restrictedEdit": "detach", "restrictedDelete": "ignore"})
    assert [(c.type, c.event_id, c.data) for c in restricted(edit_only, edit, seen).changes] == [
        ("attendee_removed", "M", {"reason": "edited_in_outlook"}),
        ("attendee_removed", "M-8", {"reason": "edited_in_outlook", "occurrence": "2026-12-08"}),
    ]


def test_our_series_deleted_by_a_restricted_worker_detaches_them_and_its_target_says_so() -> None:
    seen = remember(restricted(SETTINGS, Series("M", master(), (occurrence(1),)), {}))
    gone = restricted(SETTINGS.merged({"restrictedDelete": "detach"}), Series("M", None, ()), seen)
    assert gone.changes == [
        NewChange(
            "attendee_removed", "a1", worker="w1", mailbox="uid-1", event_id="M", data={"reason": "deleted_in_outlook"}
        )
    ]
    assert gone.lost == [("a1", "M")] and sorted(gone.forget) == ["M", "M-1"]


def test_a_series_deleted_in_outlook_and_one_we_are_removing() -> None:
    outlook_made = remember(run(Series("M", master(), (occurrence(1),)), {}))
    gone = run(Series("M", None, ()), outlook_made)
    assert [(c.type, c.appointment, c.event_id) for c in gone.changes] == [("deleted", meeting_id("ical"), "M")]
    assert gone.lost == []  # no target of ours to mark
    ours = remember(run(Series("M", master(), (occurrence(1),)), {}, OURS))
    retiring = run(Series("M", None, ()), ours, Known(ours="a1", retiring=True))
    assert (retiring.changes, retiring.lost, sorted(retiring.forget)) == ([], [], ["M", "M-1"])


def cancelled_in(ck: str, *days: str) -> dict[str, Any]:
    """A master as GET gives it with `cancelledOccurrences` selected (OID.{master}.{date})."""
    return {**master(ck), "cancelledOccurrences": [f"OID.M.{d}" for d in days]}


def test_occurrences_cancelled_without_a_sign_in_delta_are_reported_once_from_their_master() -> None:
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}, OURS))
    result = run(Series("M", cancelled_in("m2", "2026-12-08", "2026-12-15"), ()), seen, OURS)
    assert [(c.type, c.appointment, c.event_id, c.data) for c in result.changes] == [
        ("occurrence_deleted", "a1", "M-8", {"occurrence": "2026-12-08"}),  # the occurrence a round saw
        ("occurrence_deleted", "a1", "M", {"occurrence": "2026-12-15"}),  # never seen: its master
    ]
    assert result.forget == ["M-8"]
    # Listed again, and delta's cancelled occurrence arriving later: no news.
    seen = remember(result, seen)
    later = Series("M", cancelled_in("m3", "2026-12-08", "2026-12-15"), (occurrence(15, "o3", isCancelled=True),))
    assert run(later, seen, OURS).changes == []


def test_a_cancellation_delta_and_the_master_both_show_is_one_deletion() -> None:
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}, OURS))
    both = run(Series("M", cancelled_in("m2", "2026-12-08"), ({"id": "M-8", "@removed": {}},)), seen, OURS)
    assert [(c.type, c.event_id, c.data) for c in both.changes] == [
        ("occurrence_deleted", "M-8", {"occurrence": "2026-12-08"})
    ]


def test_cancellations_the_booking_product_made_or_a_snapshot_from_before_we_kept_them_are_no_news() -> None:
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}, OURS))
    ours = Series("M", cancelled_in("m2", "2026-12-08"), (), overrides={"2026-12-08": {"cancelled": True}})
    assert run(ours, seen, OURS).changes == []
    # A snapshot written before calsync kept the reported dates: those may be reported already.
    old = {k: v for k, v in seen["M"].content.items() if k != "cancelled"}
    assert (
        run(
            Series("M", cancelled_in("m2", "2026-12-08"), ()), {**seen, "M": Seen("M", "a1", "ours", "m1", old)}, OURS
        ).changes
        == []
    )


def test_dates_our_series_lost_before_its_first_round_are_reported_as_cancelled_occurrences() -> None:
    result = run(Series("M", master(), (occurrence(1), occurrence(8)), missing=("2026-12-15",)), {}, OURS)
    assert result.changes == [
        NewChange(
            "occurrence_deleted", "a1", worker="w1", mailbox="uid-1", event_id="M", data={"occurrence": "2026-12-15"}
        )
    ]


BOB = {"bob@x.test": ("worker", "w2")}


def ours_with_people(series: Series, seen: dict[str, Seen], known: Known = OURS) -> Plan:
    return plan(BOX, [], {}, seen, SETTINGS, full_round=False, people=BOB, series=(series,), series_known={"M": known})


def test_an_answer_to_our_series_is_reported_once_for_the_series() -> None:
    seen = remember(ours_with_people(Series("M", master(), (occurrence(1), occurrence(8))), {}))
    accepted = attendees(bob="accepted")
    answered = Series(
        "M",
        master("m2", attendees=accepted),
        (occurrence(1, "o2", attendees=accepted), occurrence(8, "o2", attendees=accepted)),
    )
    result = ours_with_people(answered, seen)
    assert result.changes == [
        NewChange(
            "responded",
            "a1",
            worker="w2",
            mailbox="uid-1",
            event_id="M",
            data={"response": "accepted", "address": "bob@x.test"},
        )
    ]
    assert result.responses == {"a1": {"bob@x.test": "accepted"}}
    assert rows(result) == [("M", "a1", "ours", "m2"), ("M-1", "a1", "ours", "o2"), ("M-8", "a1", "ours", "o2")]
    # Our own rename of the series later: the answer is not news again.
    renamed = Known(ours="a1", bases=(normalize(master(subject="Renamed")),))
    again = ours_with_people(
        Series("M", master("m3", subject="Renamed", attendees=accepted), ()), remember(result, seen), renamed
    )
    assert again.changes == []


def test_an_answer_to_one_occurrence_of_our_series_is_reported_for_that_occurrence_only() -> None:
    accepted = attendees(bob="accepted")
    seen = remember(ours_with_people(Series("M", master(attendees=accepted), (occurrence(1), occurrence(8))), {}))
    declined = occurrence(8, "o2", type="exception", attendees=attendees(bob="declined"))
    result = ours_with_people(Series("M", master(attendees=accepted), (declined,)), seen)
    assert [(c.type, c.appointment, c.event_id, c.worker, c.data) for c in result.changes] == [
        ("responded", "a1", "M-8", "w2", {"response": "declined", "address": "bob@x.test", "occurrence": "2026-12-08"})
    ]
    assert result.responses == {}  # the series' answer is still Bob's acceptance
    # Seen again under a new changeKey (the series re-answered): that occurrence's answer is not news.
    seen = remember(result, seen)
    again = ours_with_people(Series("M", master("m2", attendees=accepted), ({**declined, "changeKey": "o3"},)), seen)
    assert again.changes == []


def test_answers_on_a_series_made_in_outlook_are_not_reported() -> None:
    """Answers are reported for our meetings: the booking product knows who it invited."""
    people_seen = plan(BOX, [], {}, {}, SETTINGS, full_round=False, people=BOB, series=(Series("M", master(), ()),))
    answered = Series("M", master("m2", attendees=attendees(bob="accepted")), ())
    later = plan(BOX, [], {}, remember(people_seen), SETTINGS, full_round=False, people=BOB, series=(answered,))
    assert later.changes == [] and later.responses == {}
