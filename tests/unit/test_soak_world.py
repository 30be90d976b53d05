"""The soak's model of series and feed expectations (bench/soak_world.py): what the soak
compares calsync's calendars and feed with must itself follow docs/api.md."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.soak_world import Appt, Expect, Task


def series(kind: str = "daily", count: int = 4, tz: str = "Europe/Oslo") -> Appt:
    # 2027-03-26 09:00 in Oslo is 08:00 UTC (winter); summer time begins on the 28th.
    appt = Appt(
        "org-a", "a1", "Standup", datetime(2027, 3, 26, 8, tzinfo=UTC), datetime(2027, 3, 26, 9, tzinfo=UTC), tz
    )
    pattern = {"type": kind, "interval": 1}
    if kind == "weekly":
        pattern["daysOfWeek"] = ["friday"]
    appt.recurrence = {"pattern": pattern, "range": {"type": "numbered", "numberOfOccurrences": count}}
    return appt


def test_occurrences_keep_the_wall_clock_time_across_summer_time() -> None:
    starts = {day: start.strftime("%H:%M") for day, (start, _) in series().series().items()}
    assert starts == {"2027-03-26": "08:00", "2027-03-27": "08:00", "2027-03-28": "07:00", "2027-03-29": "07:00"}
    weekly = series("weekly", 3).series()
    assert sorted(weekly) == ["2027-03-26", "2027-04-02", "2027-04-09"]


def test_the_bookings_exceptions_replace_or_remove_occurrences() -> None:
    appt = series()
    moved = datetime(2027, 3, 27, 12, tzinfo=UTC)
    appt.occ = {"2027-03-26": {"cancelled": True}, "2027-03-27": {"start": moved, "end": moved.replace(hour=13)}}
    appt.occ["2027-03-29"] = {"title": "Standup (late)"}
    live = appt.occurrences()
    assert sorted(live) == ["2027-03-27", "2027-03-28", "2027-03-29"]
    assert live["2027-03-27"]["start"] == moved and live["2027-03-27"]["title"] is None
    assert live["2027-03-29"]["title"] == "Standup (late)"
    assert appt.body()["recurrence"]["range"]["numberOfOccurrences"] == 4
    # Wall clock in the zone, as the occurrence routes take it; an original start → its date there.
    assert appt.local(moved) == "2027-03-27T13:00:00"
    assert appt.occurrence_day("2027-03-27T23:30:00Z") == "2027-03-28"


def test_a_single_appointment_has_no_series_and_online_only_when_asked() -> None:
    appt = Appt(
        "org-a", "a2", "Haircut", datetime(2027, 1, 5, 9, tzinfo=UTC), datetime(2027, 1, 5, 10, tzinfo=UTC), "UTC"
    )
    assert appt.series() == {} and "recurrence" not in appt.body() and "onlineMeeting" not in appt.body()
    appt.online = True
    assert appt.body()["onlineMeeting"] is True


def test_a_task_expectation_matches_only_its_task_and_worker() -> None:
    e = Expect("org-b", ("task_completed",), "mbx", "todo1", None, {"status": "completed"}, "", 0.0, ("worker", "ada"))
    e.task = "t1"
    change = {
        "type": "task_completed",
        "mailbox": "mbx",
        "eventId": "todo1",
        "task": "t1",
        "worker": "ada",
        "appointment": None,
        "data": {"status": "completed", "completedOn": "2027-01-05"},
    }
    assert e.matches(change)
    assert not e.matches({**change, "task": "t2"})
    assert not e.matches({**change, "worker": "bob"})
    assert not e.matches({**change, "type": "task_updated"})
    body = Task("org-b", "t1", "ada", "Call back", due="2027-01-20").body()
    assert body == {
        "worker": "ada",
        "title": "Call back",
        "importance": "normal",
        "status": "notStarted",
        "dueDate": "2027-01-20",
    }
