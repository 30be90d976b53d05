"""The pure Outlook → booking planner for recurring series: one series, one appointment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.core.inbound import Known, Mailbox, Plan, Seen, plan
from shared.core.inbound_series import Series, cancelled_dates, occurrence_date
from shared.core.mapping import normalize
from shared.core.org_settings import OrgSettings
from tests.unit.test_inbound import BOX, SETTINGS, item

WEEKLY = {
    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
    "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 4, "recurrenceTimeZone": "UTC"},
}


def master(ck: str = "m1", **kw: Any) -> dict[str, Any]:
    return item("M", ck, type="seriesMaster", recurrence=WEEKLY, **kw)


def occurrence(day: int, ck: str = "o1", **kw: Any) -> dict[str, Any]:
    when = f"2026-12-{day:02}"
    return item(
        f"M-{day}",
        ck,
        type=kw.pop("type", "occurrence"),
        seriesMasterId="M",
        originalStart=f"{when}T10:00:00Z",
        start={"dateTime": f"{when}T10:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": f"{when}T11:00:00.0000000", "timeZone": "UTC"},
        **kw,
    )


def run(series: Series, seen: dict[str, Seen], known: Known | None = None) -> Plan:
    return plan(
        BOX, [], {}, seen, SETTINGS, full_round=False, people={}, series=(series,), series_known={"M": known or Known()}
    )


def remember(result: Plan, seen: dict[str, Seen] | None = None) -> dict[str, Seen]:
    out = dict(seen or {})
    for event_id in result.forget:
        out.pop(event_id, None)
    out.update({s.event_id: s for s in result.upsert})
    return out


def test_a_series_made_in_outlook_is_one_created_with_its_recurrence_and_exceptions() -> None:
    items = (occurrence(1), occurrence(8, type="exception", subject="Cut (late)"), occurrence(15), occurrence(22))
    result = run(Series("M", master(), items), {})
    [created] = result.changes
    assert created.type == "created" and created.data["recurrence"] == WEEKLY
    assert created.data["exceptions"] == [
        {
            "occurrence": "2026-12-08",
            "title": "Cut (late)",
            "start": "2026-12-08T10:00:00Z",
            "end": "2026-12-08T11:00:00Z",
            "isAllDay": False,
            "location": "A",
            "body": "b",
            "isPrivate": False,
        }
    ]
    assert {s.event_id for s in result.upsert} == {"M", "M-1", "M-8", "M-15", "M-22"}


def test_later_an_edited_occurrence_and_a_cancelled_one_are_one_change_each() -> None:
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}))
    edited = run(
        Series("M", master(), (occurrence(8, "o2", subject="Moved", type="exception"), {"id": "M-1", "@removed": {}})),
        seen,
    )
    assert [(c.type, c.data["occurrence"]) for c in edited.changes] == [
        ("occurrence_updated", "2026-12-08"),
        ("occurrence_deleted", "2026-12-01"),
    ]
    assert edited.changes[0].data["changed"] == ["title"]
    # The same again is nothing new.
    again = run(
        Series("M", master(), (occurrence(8, "o2", subject="Moved", type="exception"),)), remember(edited, seen)
    )
    assert again.changes == []


def test_a_deleted_series_is_one_deletion_however_many_occurrences() -> None:
    seen = remember(run(Series("M", master(), tuple(occurrence(d) for d in (1, 8, 15, 22))), {}))
    gone = tuple({"id": f"M-{d}", "@removed": {}} for d in (1, 8, 15, 22))
    result = run(Series("M", None, gone), seen)
    assert result.held == []
    # As any deletion: the series' appointment, who saw it, its master's id, nothing more (#29).
    [change] = result.changes
    assert (change.type, change.appointment, change.event_id, change.data) == (
        "deleted",
        seen["M"].appointment,
        "M",
        {},
    )
    assert (change.worker, change.mailbox) == (BOX.owner_id, BOX.user_id)
    assert set(result.forget) == {"M", "M-1", "M-8", "M-15", "M-22"}


def test_our_own_exception_coming_back_is_not_a_change() -> None:
    known = Known(ours="a1")
    seen = remember(run(Series("M", master(), (occurrence(8),)), {}, known))
    ours = {"2026-12-08": {"title": "Moved by us"}}
    moved = occurrence(8, "o2", subject="Moved by us", type="exception")
    back = run(Series("M", master(), (moved,), ours), seen, known)
    assert back.changes == []


def test_an_occurrence_is_named_by_its_original_date_in_the_series_zone() -> None:
    oslo = {**WEEKLY, "range": {**WEEKLY["range"], "recurrenceTimeZone": "W. Europe Standard Time"}}
    late = {"originalStart": "2026-12-01T23:30:00Z"}
    assert occurrence_date(late, {"recurrence": oslo}) == "2026-12-02"
    assert occurrence_date(late, {"recurrence": WEEKLY}) == "2026-12-01"


def test_one_way_puts_our_series_back_when_it_is_deleted_in_outlook() -> None:
    one_way = SETTINGS.merged({"syncMode": "oneWay"})
    known = Known(ours="a1")
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}, known))
    gone = Series("M", None, ({"id": "M-1", "@removed": {}}, {"id": "M-8", "@removed": {}}))
    result = plan(BOX, [], {}, seen, one_way, full_round=False, people={}, series=(gone,), series_known={"M": known})
    assert result.restore == [("a1", True)]
    assert result.restore_events == {"a1": "M"}  # done again after the series is made anew: left alone
    assert [(c.type, c.data["deleted"]) for c in result.changes] == [("restored", True)]


def test_a_restricted_workers_edits_to_our_series_follow_the_policies() -> None:
    restricted = Mailbox("o", "worker", "w1", "uid-1", restricted=True)
    known = Known(ours="a1")

    def go(settings: OrgSettings, series: Series, seen: dict[str, Seen]) -> Plan:
        return plan(
            restricted, [], {}, seen, settings, full_round=False, people={}, series=(series,), series_known={"M": known}
        )

    detach = SETTINGS.merged({"restrictedEdit": "detach", "restrictedDelete": "detach"})
    seen = remember(go(detach, Series("M", master(), (occurrence(1), occurrence(8))), {}))
    mine = occurrence(8, "o2", subject="Mine now", type="exception")
    edit = Series("M", master(), (mine, {"id": "M-1", "@removed": {}}))
    assert [(c.type, c.data) for c in go(detach, edit, seen).changes] == [
        ("attendee_removed", {"reason": "edited_in_outlook", "occurrence": "2026-12-08"}),
        ("attendee_removed", {"reason": "deleted_in_outlook", "occurrence": "2026-12-01"}),
    ]
    ignore = SETTINGS.merged({"restrictedEdit": "ignore", "restrictedDelete": "ignore"})
    assert go(ignore, edit, seen).changes == []  # ignore: nothing is reported
    gone = go(ignore, Series("M", None, ()), seen)
    assert gone.changes == [] and gone.lost == [("a1", "M")]  # the target says deleted_in_outlook


ONE_WAY = SETTINGS.merged({"syncMode": "oneWay"})


def one_way(series: Series, seen: dict[str, Seen]) -> Plan:
    ours = Known(ours="a1")
    return plan(BOX, [], {}, seen, ONE_WAY, full_round=False, people={}, series=(series,), series_known={"M": ours})


def test_one_way_puts_back_an_occurrence_of_our_series_edited_or_cancelled_in_outlook() -> None:
    seen = remember(one_way(Series("M", master(), (occurrence(1), occurrence(8))), {}))
    moved = {**occurrence(8, "o2", type="exception"), "start": {"dateTime": "2026-12-08T15:00:00", "timeZone": "UTC"}}
    result = one_way(Series("M", master("m2"), (moved, {"id": "M-1", "@removed": {}})), seen)
    assert [(c.type, c.data) for c in result.changes] == [
        ("restored", {"deleted": False, "changed": ["start"], "occurrence": "2026-12-08"}),
        ("restored", {"deleted": True, "changed": [], "occurrence": "2026-12-01"}),
    ]
    assert result.restore_occurrences == {"a1": {"2026-12-08": False, "2026-12-01": True}}
    assert result.restore_events == {"a1": "M"}  # the series they belong to
    assert result.restore == []  # the series itself was not changed in Outlook

    # Our write putting the occurrence back as the series has it is no news.
    back = occurrence(8, "o3", type="exception")
    assert one_way(Series("M", master("m3"), (back,)), remember(result, seen)).changes == []
    # In twoWay, the same move back is an Outlook change like any other.
    two_way = run(Series("M", master("m3"), (back,)), remember(result, seen), Known(ours="a1"))
    assert [c.type for c in two_way.changes] == ["occurrence_updated"]


def test_a_plain_occurrence_delta_sent_bare_is_named_when_it_is_cancelled_later() -> None:
    """delta sends a plain occurrence without `originalStart` (docs-contrib #34, #5602): its
    snapshot had no date, and its later cancellation in Outlook was dropped unreported."""
    bare = {k: v for k, v in occurrence(15).items() if k not in ("originalStart", "subject")}
    seen = remember(run(Series("M", master(), (occurrence(1), bare)), {}, Known(ours="a1")))
    cancelled = run(Series("M", master("m2"), ({"id": "M-15", "@removed": {}},)), seen, Known(ours="a1"))
    assert [(c.type, c.data) for c in cancelled.changes] == [("occurrence_deleted", {"occurrence": "2026-12-15"})]


def test_our_own_retitle_or_re_time_of_a_series_is_no_occurrence_change() -> None:
    """The soak's series echoes: every occurrence came back as `occurrence_updated` (with no
    date), and a re-time's removed old occurrence ids as `occurrence_deleted`."""
    ours = Known(ours="a1", bases=(normalize(master("m2", subject="Cut (new)")),))
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}, ours))
    bare = [{k: v for k, v in occurrence(d, "o2").items() if k not in ("originalStart", "subject")} for d in (1, 8)]
    retitled = run(Series("M", master("m2", subject="Cut (new)"), tuple(bare)), seen, ours)
    assert retitled.changes == []
    later = [{**occurrence(d, "o3"), "id": f"M-{d}-late"} for d in (1, 8)]
    for one in later:
        one["originalStart"] = one["originalStart"].replace("T10", "T12")
    renamed_id = run(
        Series("M", master("m3"), (*later, {"id": "M-1", "@removed": {}}, {"id": "M-8", "@removed": {}})), seen, ours
    )
    assert [c.type for c in renamed_id.changes if c.type.startswith("occurrence")] == []


def test_a_new_exception_names_only_what_outlook_changed() -> None:
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}))
    moved = occurrence(8, "o2", type="exception", subject="Cut (later)")
    [change] = run(Series("M", master(), ({**moved, "id": "M-8x"},)), seen).changes
    assert (change.type, change.data["changed"]) == ("occurrence_updated", ["title"])


def test_our_series_edited_in_outlook_before_its_first_round_is_reported() -> None:
    """A person edited our series (and one occurrence) before any round had seen it: the
    first round took it all as the baseline and nothing was ever reported."""
    ours = Known(ours="a1", bases=(normalize(master()),))
    edited = occurrence(8, "o2", type="exception", subject="Moved")
    result = run(Series("M", master("m2", subject="Renamed"), (occurrence(1), edited)), {}, ours)
    assert sorted((c.type, c.data.get("changed")) for c in result.changes) == [
        ("occurrence_updated", ["title"]),
        ("updated", ["title"]),
    ]


def test_an_outlook_edit_reported_once_is_not_reported_again_when_our_later_writes_touch_the_series() -> None:
    """The soak's duplicate `updated`: a person retitled our series (reported); the booking
    product had not applied it when it moved one occurrence, which gave the master a new
    changeKey, and the same retitle was reported again."""
    wrote = Known(ours="a1", bases=(normalize(master()),), writes=1)
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}, wrote))
    renamed = run(Series("M", master("m2", subject="Renamed"), ()), seen, wrote)
    assert [(c.type, c.data["changed"]) for c in renamed.changes] == [("updated", ["title"])]
    seen = remember(renamed, seen)
    # Our occurrence write: the master's changeKey moves, its fields do not.
    assert run(Series("M", master("m3", subject="Renamed"), ()), seen, wrote).changes == []
    # Had we written the series since the round saw it, the same title is a new edit.
    rewritten = Known(ours="a1", bases=(normalize(master()),), writes=2)
    assert [c.type for c in run(Series("M", master("m3", subject="Renamed"), ()), seen, rewritten).changes] == [
        "updated"
    ]


def test_an_outlook_edit_of_our_moved_occurrence_names_only_the_field_outlook_changed() -> None:
    """The soak's `changed: [title, start, end]`: the booking product had moved the
    occurrence (our exception), a person then retitled it before any round saw the move."""
    ours = Known(ours="a1", bases=(normalize(master()),))
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}, ours))
    moved = {
        **occurrence(8, "o2", type="exception", subject="Retitled"),
        "id": "M-8x",
        "start": {"dateTime": "2026-12-08T14:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-08T15:00:00.0000000", "timeZone": "UTC"},
    }
    booking = {"2026-12-08": {"start": "2026-12-08T14:00:00Z", "end": "2026-12-08T15:00:00Z"}}
    [change] = run(Series("M", master("m2"), (moved,), booking), seen, ours).changes
    assert (change.type, change.data["changed"]) == ("occurrence_updated", ["title"])


def test_a_stale_read_of_our_earlier_write_of_an_occurrence_is_no_outlook_change() -> None:
    """The soak's a646 (oneWay `restored` of nothing): two quick retitles of one occurrence by
    the booking product; the round read the first after the second was written."""
    ours = Known(ours="a1", bases=(normalize(master()),))
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}, ours))
    first = occurrence(8, "w1", type="exception", subject="v1")
    wanted = {"2026-12-08": {"title": "v2"}}  # the booking's latest
    stale = Series("M", master("m2"), (first,), wanted, (), frozenset({"w2", "w1"}))
    assert run(stale, seen, ours).changes == []
    outlook = Series("M", master("m2"), ({**first, "changeKey": "o9"},), wanted, (), frozenset({"w2", "w1"}))
    assert [c.type for c in run(outlook, seen, ours).changes] == ["occurrence_updated"]


def test_a_fresh_round_does_not_take_a_series_master_for_deleted() -> None:
    """The soak after an expired delta token: delta never lists a master, so a fresh round
    reported every series we knew as `deleted`."""
    ours = Known(ours="a1", bases=(normalize(master()),))
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}, ours))
    fresh = plan(
        BOX,
        [],
        {},
        seen,
        SETTINGS,
        full_round=True,
        people={},
        series=(Series("M", master(), (occurrence(1), occurrence(8))),),
        series_known={"M": ours},
    )
    assert fresh.changes == []


def test_a_stale_read_of_our_earlier_write_of_the_master_is_no_outlook_edit() -> None:
    """The soak's a585: two quick retitles of our new series; its first round read the master
    as our first write left it (its changeKey is that write's)."""
    first = normalize(master("w1", subject="v1"))
    ours = Known(ours="a1", bases=(normalize(master(subject="v2")),), earlier={"w1": first})
    stale = run(Series("M", master("w1", subject="v1"), (occurrence(1), occurrence(8))), {}, ours)
    assert stale.changes == []
    outlook = run(Series("M", master("o1", subject="v1"), (occurrence(1), occurrence(8))), {}, ours)
    assert [c.type for c in outlook.changes] == ["updated"]  # the same content under another key is a person's


def test_a_master_read_from_before_our_last_write_showing_an_earlier_write_is_no_outlook_edit() -> None:
    """As for single events: our cancellation of an occurrence gave the master a changeKey
    none of our writes of it had; a read of it from before our retitle is our older title."""
    first = normalize(master("w1", subject="v1"))
    ours = Known(
        ours="a1", bases=(normalize(master(subject="v2")),), earlier={"w1": first}, written_at="2026-12-06T10:00:00Z"
    )
    stale = master("x1", subject="v1", lastModifiedDateTime="2026-12-06T09:59:59.9990000Z")
    assert run(Series("M", stale, (occurrence(1), occurrence(8))), {}, ours).changes == []
    later = master("x2", subject="v1", lastModifiedDateTime="2026-12-06T10:00:00.0010000Z")
    assert [c.type for c in run(Series("M", later, (occurrence(1), occurrence(8))), {}, ours).changes] == ["updated"]


def test_an_outlook_move_of_our_moved_occurrence_back_to_its_series_time_is_news_at_first_sight() -> None:
    """The soak's a3045: calsync made the series with the booking's 8 December at 11:00, and
    0.2 s later a person moved it back to 10:00, before any round saw it. Compared with the
    occurrence as the series has it, nothing had changed."""
    ours = Known(ours="a1", bases=(normalize(master()),))
    wanted = {"2026-12-08": {"start": "2026-12-08T11:00:00Z", "end": "2026-12-08T12:00:00Z"}}
    moved_back = occurrence(8, "out", type="exception")
    [change] = run(Series("M", master(), (occurrence(1), moved_back), overrides=wanted), {}, ours).changes
    assert (change.type, change.data["occurrence"], change.data["changed"]) == (
        "occurrence_updated",
        "2026-12-08",
        ["start", "end"],
    )
    # As we wrote it: no news.
    as_ours = {
        **occurrence(8, "ours", type="exception"),
        "start": {"dateTime": "2026-12-08T11:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-08T12:00:00.0000000", "timeZone": "UTC"},
    }
    assert run(Series("M", master(), (occurrence(1), as_ours), overrides=wanted), {}, ours).changes == []


def test_a_read_of_an_occurrence_the_booking_product_has_cancelled_is_no_news() -> None:
    """The soak's a4922: the booking product moved one occurrence, then cancelled it; a round
    that read our move (its changeKey forgotten with the occurrence) reported it `restored`
    in oneWay — an edit of an occurrence that the booking product itself has taken away."""
    ours = Known(ours="a1", bases=(normalize(master()),))
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}, ours))
    moved = {
        **occurrence(8, "ours-earlier", type="exception"),
        "start": {"dateTime": "2026-12-08T11:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-08T12:00:00.0000000", "timeZone": "UTC"},
    }
    cancelled = {"2026-12-08": {"cancelled": True}}
    assert run(Series("M", master(), (moved,), overrides=cancelled), seen, ours).changes == []


def test_an_outlook_move_back_to_what_a_round_saw_before_our_last_write_is_news() -> None:
    """The soak's a589: a round saw our occurrence at 11:00; the booking product moved it to
    12:00 (our write), and 45 ms later a person moved it back to 11:00. Compared with the
    snapshot nothing had changed — but it is not as we last wrote it, and Graph changed it
    after our write (its lastModifiedDateTime), so it is a person's move."""
    ours = Known(ours="a1", bases=(normalize(master()),))
    at = {
        "start": {"dateTime": "2026-12-08T11:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-08T12:00:00.0000000", "timeZone": "UTC"},
    }
    seen = remember(
        run(Series("M", master(), (occurrence(1), {**occurrence(8, "k0", type="exception"), **at})), {}, ours)
    )
    wanted = {"2026-12-08": {"start": "2026-12-08T12:00:00Z", "end": "2026-12-08T13:00:00Z"}}
    moved_back = {
        **occurrence(8, "out", type="exception"),
        **at,
        "lastModifiedDateTime": "2026-12-06T15:20:09.7650000Z",
    }
    written = {"written_at": {"M-8": "2026-12-06T15:20:09.7200000Z"}, "written": wanted}
    after = Series("M", master(), (moved_back,), overrides=wanted, **written)
    [change] = run(after, seen, ours).changes
    assert (change.type, change.data["changed"]) == ("occurrence_updated", ["start", "end"])
    # The same item read before our write (older than it) is the state our write replaced.
    stale = {**moved_back, "lastModifiedDateTime": "2026-12-06T15:20:09.7000000Z"}
    before = Series("M", master(), (stale,), overrides=wanted, **written)
    assert run(before, seen, ours).changes == []


def test_an_occurrence_moved_just_after_its_series_changed_reports_the_move_only() -> None:
    """The soak's a204: we changed the series' location, and 50 ms later a person moved one
    occurrence. Its snapshot (a plain occurrence, from before our change) has the old
    location; the new exception has the series' new one — the series' change, not the
    occurrence's."""
    ours = Known(ours="a1", bases=(normalize(master()),))
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}, ours))
    relocated = master("m2", location={"displayName": "Room 9"})
    moved = {
        **occurrence(8, "out", type="exception", location={"displayName": "Room 9"}),
        "start": {"dateTime": "2026-12-08T12:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-08T13:00:00.0000000", "timeZone": "UTC"},
    }
    ours_now = Known(ours="a1", bases=(normalize(relocated),))  # our write of the location
    [change] = run(Series("M", relocated, (moved,)), seen, ours_now).changes
    assert (change.type, change.data["changed"]) == ("occurrence_updated", ["start", "end"])


def test_a_series_rename_that_reaches_its_exceptions_is_the_series_change_only() -> None:
    """An exception keeps only what it changed ([MS-OXOCAL] ExceptionInfo): a person renames an
    Outlook series and its moved occurrence takes the new title too, so delta lists both. One
    `updated` for the series; the exception's own rename later is still news."""
    late = {"dateTime": "2026-12-08T12:00:00.0000000", "timeZone": "UTC"}
    moved = {**occurrence(8, "o2", type="exception"), "start": late}
    seen = remember(run(Series("M", master(), (occurrence(1), moved)), {}))
    followed = {**moved, "changeKey": "o3", "subject": "Renamed"}
    result = run(Series("M", master("m2", subject="Renamed"), (followed,)), seen)
    assert [(c.type, c.data["changed"]) for c in result.changes] == [("updated", ["title"])]
    seen = remember(result, seen)
    own = {**followed, "changeKey": "o4", "subject": "Its own"}
    [change] = run(Series("M", master("m2", subject="Renamed"), (own,)), seen).changes
    assert (change.type, change.data["changed"]) == ("occurrence_updated", ["title"])


def test_our_series_renamed_by_the_booking_product_reaching_an_exception_is_no_news() -> None:
    """The soak's a98: we renamed our series; its exception (moved by the booking product)
    took the new title: no news. A person's own title for the date still is."""
    ours = Known(ours="a1", bases=(normalize(master(subject="Renamed")),))
    late = {"dateTime": "2026-12-08T12:00:00.0000000", "timeZone": "UTC"}
    moved = {**occurrence(8, "o2", type="exception"), "start": late}
    moved_only = {"2026-12-08": {"start": "2026-12-08T12:00:00Z"}}
    seen = remember(run(Series("M", master(), (occurrence(1), moved), overrides=moved_only), {}, ours))
    followed = {**moved, "changeKey": "o3", "subject": "Renamed"}
    renamed = run(Series("M", master("m2", subject="Renamed"), (followed,), overrides=moved_only), seen, ours)
    assert renamed.changes == []
    seen = remember(renamed, seen)
    own = {**followed, "changeKey": "o4", "subject": "Its own"}
    edited = run(Series("M", master("m2", subject="Renamed"), (own,), overrides=moved_only), seen, ours)
    assert [c.data["changed"] for c in edited.changes] == [["title"]]


def test_an_exception_read_between_two_renames_of_our_series_is_no_news() -> None:
    """The soak's a76 (seed 767086): we renamed our series twice; delta read the moved
    occurrence with the first new title, the master was read after the second. A title one of
    our series writes set is ours, reaching the exception."""
    late = {"dateTime": "2026-12-08T12:00:00.0000000", "timeZone": "UTC"}
    moved = {**occurrence(8, "o2", type="exception"), "start": late}
    moved_only = {"2026-12-08": {"start": "2026-12-08T12:00:00Z"}}
    first = Known(ours="a1", bases=(normalize(master()),))
    seen = remember(run(Series("M", master(), (occurrence(1), moved), overrides=moved_only), {}, first))
    between = {**moved, "changeKey": "o3", "subject": "First rename"}
    twice = Known(
        ours="a1",
        bases=(normalize(master(subject="Second rename")),),
        earlier={"m2": normalize(master(subject="First rename"))},
    )
    result = run(Series("M", master("m3", subject="Second rename"), (between,), overrides=moved_only), seen, twice)
    assert [c for c in result.changes if c.type == "occurrence_updated"] == []


def test_one_way_a_persons_series_rename_reaching_an_exception_is_put_back_once_at_the_series() -> None:
    """The soak's a8479 (seed 963346, oneWay): a person renamed our series; the moved occurrence
    took the name too. The round that read the exception after our restore of the master (the
    master as we put it back, its snapshot as the person left it) reported the occurrence's
    title as well: the series' edit is put back once, at the master."""
    late = {"dateTime": "2026-12-08T12:00:00.0000000", "timeZone": "UTC"}
    moved = {**occurrence(8, "o2", type="exception"), "start": late}
    moved_only = {"2026-12-08": {"start": "2026-12-08T12:00:00Z"}}
    seen = remember(one_way(Series("M", master(), (occurrence(1), moved), overrides=moved_only), {}))
    seen["M"] = Seen("M", "a1", "ours", "m2", {**seen["M"].content, "title": "Person's name"})  # as it read it
    followed = {**moved, "changeKey": "o3", "subject": "Person's name"}
    result = one_way(Series("M", master("m3"), (followed,), overrides=moved_only), seen)
    assert [c for c in result.changes if c.data.get("occurrence")] == []


# -- mutation testing (#29): the series planner's rules at their edges ---------------------------
TOKYO = {**WEEKLY, "range": {**WEEKLY["range"], "recurrenceTimeZone": "Tokyo Standard Time"}}


def test_an_occurrence_is_named_in_the_zone_the_series_was_made_in_or_utc(host_in_tokyo: None) -> None:
    """Without a recurrenceTimeZone the series' originalStartTimeZone names the date; a zone
    name no table knows (a legacy custom zone) falls back to UTC, never to the host's zone."""
    late = {"originalStart": "2026-12-01T23:30:00Z"}
    no_zone = {**WEEKLY, "range": {"type": "noEnd", "startDate": "2026-12-01"}}
    made_in_tokyo = {"recurrence": no_zone, "originalStartTimeZone": "Tokyo Standard Time"}
    assert occurrence_date(late, made_in_tokyo) == "2026-12-02"
    custom = {"recurrence": {**WEEKLY, "range": {"recurrenceTimeZone": "tzone://Microsoft/Custom"}}}
    assert occurrence_date(late, custom) == "2026-12-01"


def test_cancelled_dates_reads_the_date_of_each_occurrence_id_and_skips_what_is_not_one() -> None:
    # resources/event.md: cancelledOccurrences holds occurrenceIds, OID.{master id}.{date}.
    listed = {"cancelledOccurrences": ["OID.AAMkAD=.2026-12-08", "garbage", "OID.M.08/12/2026"]}
    assert cancelled_dates(listed) == {"2026-12-08"}
    assert cancelled_dates(None) == set()


def tokyo_occurrence(event_id: str, utc_start: str, ck: str = "o1", **kw: Any) -> dict[str, Any]:
    end = (datetime.fromisoformat(utc_start) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    return item(
        event_id,
        ck,
        type=kw.pop("type", "occurrence"),
        seriesMasterId="M",
        originalStart=utc_start,
        start={"dateTime": utc_start[:19], "timeZone": "UTC"},
        end={"dateTime": end[:19], "timeZone": "UTC"},
        **kw,
    )


def test_a_tokyo_series_names_its_dates_in_tokyo_and_a_date_under_a_new_id_is_not_deleted() -> None:
    """08:00 in Tokyo is 23:00 UTC the day before: the booking product knows the Tokyo date."""
    tokyo = item("M", "m1", type="seriesMaster", recurrence=TOKYO)
    seen = remember(run(Series("M", tokyo, (tokyo_occurrence("M-8", "2026-12-07T23:00:00Z"),)), {}))
    assert seen["M-8"].content["occurrence"] == "2026-12-08"
    # Listed under a new id (at 08:30 Tokyo), the old id as removed: its date is still in the series.
    later = tokyo_occurrence("M-8b", "2026-12-07T23:30:00Z")
    moved = item("M", "m2", type="seriesMaster", recurrence=TOKYO)
    renamed_id = run(Series("M", moved, (later, {"id": "M-8", "@removed": {}})), seen)
    assert [c.type for c in renamed_id.changes if c.type.startswith("occurrence")] == []
    edited = tokyo_occurrence("M-8", "2026-12-07T23:00:00Z", "o2", type="exception", subject="Renamed")
    [change] = run(Series("M", tokyo, (edited,)), seen).changes
    assert (change.type, change.data["occurrence"], change.data["changed"]) == (
        "occurrence_updated",
        "2026-12-08",
        ["title"],
    )


def test_a_plain_occurrence_delta_sends_bare_is_kept_with_its_series_fields() -> None:
    """Its snapshot (what a later exception of it is compared with) has the master's title,
    place and text, at its own time."""
    bare = {k: v for k, v in occurrence(15).items() if k not in ("subject", "location", "body")}
    result = run(Series("M", master(subject="Cut and colour"), (bare,)), {})
    [kept] = [s for s in result.upsert if s.event_id == "M-15"]
    assert kept.content == {
        **normalize(master(subject="Cut and colour")),
        "start": "2026-12-15T10:00:00Z",
        "end": "2026-12-15T11:00:00Z",
        "isCancelled": False,
        "series": "M",
        "occurrence": "2026-12-15",
        "exception": False,
    }


def test_a_pattern_changed_in_outlook_is_reported_with_the_new_pattern() -> None:
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}))
    longer = {**WEEKLY, "range": {**WEEKLY["range"], "numberOfOccurrences": 6}}
    [change] = run(Series("M", item("M", "m2", type="seriesMaster", recurrence=longer), ()), seen).changes
    assert (change.type, change.data["changed"], change.data["recurrence"]) == ("updated", ["recurrence"], longer)


def test_each_occurrence_change_names_its_event_and_a_removal_hides_nothing_after_it() -> None:
    """A removal, an edit and an occurrence Outlook lists as cancelled (an attendee's copy of
    what the organizer cancelled), in that order: one change each, on its own event id."""
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8), occurrence(15))), {}))
    edited = occurrence(8, "o2", type="exception", subject="Moved", lastModifiedDateTime="2026-12-06T10:00:00Z")
    cancelled = occurrence(15, "o2", isCancelled=True)
    result = run(Series("M", master("m2"), ({"id": "M-1", "@removed": {}}, edited, cancelled)), seen)
    assert [(c.type, c.event_id, c.data["occurrence"]) for c in result.changes] == [
        ("occurrence_deleted", "M-1", "2026-12-01"),
        ("occurrence_updated", "M-8", "2026-12-08"),
        ("occurrence_deleted", "M-15", "2026-12-15"),
    ]
    assert {"M-1", "M-15"} <= set(result.forget)


def test_an_unchanged_occurrence_is_not_stored_again_and_hides_nothing_after_it() -> None:
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}))
    same = run(Series("M", master(), (occurrence(1), occurrence(8))), seen)
    assert (same.changes, [s.event_id for s in same.upsert]) == ([], ["M"])
    edited = occurrence(8, "o2", type="exception", subject="Moved")
    after = run(Series("M", master(), (occurrence(1), edited)), seen)
    assert [(c.type, c.event_id) for c in after.changes] == [("occurrence_updated", "M-8")]
    assert [s.event_id for s in after.upsert] == ["M", "M-8"]


def test_an_occurrence_the_booking_product_cancelled_is_no_news_and_hides_nothing_after_it() -> None:
    ours = Known(ours="a1", bases=(normalize(master()),))
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}, ours))
    cancelled = {"2026-12-08": {"cancelled": True}}
    gone = run(Series("M", master("m2"), ({"id": "M-8", "@removed": {}},), cancelled), seen, ours)
    assert gone.changes == []
    # A read of it from before our deletion, then a person's edit of another date.
    stale = occurrence(8, "ours", type="exception", subject="Moved by us")
    edited = occurrence(1, "o2", type="exception", subject="Person's")
    result = run(Series("M", master("m2"), (stale, edited), cancelled), seen, ours)
    assert [(c.type, c.data["occurrence"]) for c in result.changes] == [("occurrence_updated", "2026-12-01")]


def test_our_retitle_of_a_moved_occurrence_is_no_news_under_a_key_we_do_not_know() -> None:
    """The booking product moved an occurrence (its exception seen), then retitled it; the
    read carries another changeKey (an attendee's answer since, say): as the booking wants it."""
    ours = Known(ours="a1", bases=(normalize(master()),))
    at = {
        "start": {"dateTime": "2026-12-08T12:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-08T13:00:00.0000000", "timeZone": "UTC"},
    }
    moved = {**occurrence(8, "k1", type="exception"), **at}
    moved_only = {"2026-12-08": {"start": "2026-12-08T12:00:00Z", "end": "2026-12-08T13:00:00Z"}}
    seen = remember(run(Series("M", master(), (occurrence(1), moved), moved_only), {}, ours))
    wanted = {"2026-12-08": {**moved_only["2026-12-08"], "title": "Cut (long)"}}
    retitled = {**moved, "changeKey": "k9", "subject": "Cut (long)"}
    assert run(Series("M", master(), (retitled,), wanted), seen, ours).changes == []
    # Another title there is a person's.
    other = {**retitled, "subject": "Person's"}
    assert [c.data["changed"] for c in run(Series("M", master(), (other,), wanted), seen, ours).changes] == [["title"]]


def test_a_persons_edit_after_our_last_write_back_to_what_the_snapshot_had_is_news() -> None:
    """The booking product moved and titled a date (its exception seen as "Cut (late)"), then
    retitled it "Cut (long)"; before any read of that write, a person set the title back to
    "Cut (late)". Equal to the snapshot, but Graph changed it after our last write, which set
    another title: the person's change."""
    ours = Known(ours="a1", bases=(normalize(master()),))
    late = {"dateTime": "2026-12-08T12:00:00.0000000", "timeZone": "UTC"}
    moved = {**occurrence(8, "k1", type="exception", subject="Cut (late)"), "start": late}
    first = {"2026-12-08": {"start": "2026-12-08T12:00:00Z", "title": "Cut (late)"}}
    seen = remember(run(Series("M", master(), (occurrence(1), moved), first), {}, ours))
    wanted = {"2026-12-08": {**first["2026-12-08"], "title": "Cut (long)"}}
    set_back = {**moved, "changeKey": "k3", "lastModifiedDateTime": "2026-12-06T10:00:01.0000000Z"}
    after = Series(
        "M",
        master(),
        (set_back,),
        wanted,
        written_at={"M-8": "2026-12-06T10:00:00.0000000Z"},
        written={"2026-12-08": {"title": "Cut (long)"}},
    )
    [change] = run(after, seen, ours).changes
    assert (change.type, change.data["occurrence"], change.data["changed"], change.data["title"]) == (
        "occurrence_updated",
        "2026-12-08",
        ["title"],
        "Cut (late)",
    )


def test_an_exception_listed_without_its_original_start_is_still_compared() -> None:
    """Graph lists an exception with its originalStart; should one come without it, it is
    named by its snapshot's date and compared with it: only what changed is reported."""
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}))
    retitled = {k: v for k, v in occurrence(8, "o2", type="exception", subject="Moved").items() if k != "originalStart"}
    [change] = run(Series("M", master(), (retitled,)), seen).changes
    assert (change.data["occurrence"], change.data["changed"]) == ("2026-12-08", ["title"])


def test_an_all_day_series_edit_of_one_day_names_only_what_changed() -> None:
    day = {"isAllDay": True}
    whole = master(
        start={"dateTime": "2026-12-01T00:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2026-12-02T00:00:00.0000000", "timeZone": "UTC"},
        **day,
    )

    def on(d: int, ck: str = "o1", **kw: Any) -> dict[str, Any]:
        return {
            **occurrence(d, ck, **kw, **day),
            "originalStart": f"2026-12-{d:02}T00:00:00Z",
            "start": {"dateTime": f"2026-12-{d:02}T00:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": f"2026-12-{d + 1:02}T00:00:00.0000000", "timeZone": "UTC"},
        }

    seen = remember(run(Series("M", whole, (on(1), on(8))), {}))
    [change] = run(Series("M", whole, (on(8, "o2", type="exception", subject="Closed"),)), seen).changes
    assert (change.type, change.data["changed"]) == ("occurrence_updated", ["title"])


def test_a_persons_second_rename_of_our_series_reaching_an_exception_is_the_series_change_only() -> None:
    """A person renamed our series twice; the moved occurrence was listed only after the
    second (its snapshot still has the first title): its title is the series' now."""
    ours = Known(ours="a1", bases=(normalize(master()),))
    late = {"dateTime": "2026-12-08T12:00:00.0000000", "timeZone": "UTC"}
    moved = {**occurrence(8, "o2", type="exception"), "start": late}
    moved_only = {"2026-12-08": {"start": "2026-12-08T12:00:00Z"}}
    seen = remember(run(Series("M", master(), (occurrence(1), moved), moved_only), {}, ours))
    seen["M"] = Seen("M", "a1", "ours", "m2", {**seen["M"].content, "title": "First"})  # the first rename, read
    followed = {**moved, "changeKey": "o3", "subject": "Second"}
    result = run(Series("M", master("m3", subject="Second"), (followed,), moved_only), seen, ours)
    assert [(c.type, c.data["changed"]) for c in result.changes] == [("updated", ["title"])]


def test_a_series_rename_reaching_a_date_the_booking_product_titled_is_news_for_that_date() -> None:
    """The booking product set this date's title itself (to the series' title then): a person's
    rename of the series that reaches it changes what the booking product set."""
    ours = Known(ours="a1", bases=(normalize(master()),))
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}, ours))
    titled = {"2026-12-08": {"title": "Cut", "start": "2026-12-08T12:00:00Z", "end": "2026-12-08T13:00:00Z"}}
    moved = {
        **occurrence(8, "o2", type="exception", subject="Renamed"),
        "start": {"dateTime": "2026-12-08T12:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-08T13:00:00.0000000", "timeZone": "UTC"},
    }
    result = run(Series("M", master("m2", subject="Renamed"), (moved,), titled), seen, ours)
    assert sorted((c.type, c.data["changed"]) for c in result.changes) == [
        ("occurrence_updated", ["title"]),
        ("updated", ["title"]),
    ]


def test_a_persons_exception_titled_back_to_its_series_title_is_reported_as_a_title_change() -> None:
    """A series made in Outlook (twoWay): a person gave one date its own title, then set it
    back to the series' title. Not something calsync put back: the person's change."""
    own = occurrence(8, type="exception", subject="Own")
    seen = remember(run(Series("M", master(), (occurrence(1), own)), {}))
    back = occurrence(8, "o2", type="exception")
    [change] = run(Series("M", master(), (back,)), seen).changes
    assert (change.type, change.event_id, change.data["occurrence"], change.data["changed"]) == (
        "occurrence_updated",
        "M-8",
        "2026-12-08",
        ["title"],
    )


def test_a_person_retitling_a_date_whose_exception_the_booking_product_dropped_is_news() -> None:
    """We wrote date 8 once (its write time is still known), then the booking product dropped
    that exception, so nothing of ours is recorded for the date any more: a person's later
    retitle of it is compared with the series and reported, not taken for our write."""
    ours = Known(ours="a1", bases=(normalize(master()),))
    seen = remember(run(Series("M", master(), (occurrence(1), occurrence(8))), {}, ours))
    retitled = {
        **occurrence(8, "o2", type="exception", subject="Person's"),
        "lastModifiedDateTime": "2026-12-06T10:00:01.0000000Z",
    }
    after = Series("M", master(), (retitled,), written_at={"M-8": "2026-12-06T10:00:00.0000000Z"}, written={})
    [change] = run(after, seen, ours).changes
    assert (change.type, change.data["occurrence"], change.data["changed"]) == (
        "occurrence_updated",
        "2026-12-08",
        ["title"],
    )
