"""Which room bookings are due for release, and what a booking's state allows
(shared/core/room_release.py, pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.adapters.records import Appointment
from shared.core import room_release as rules

NOW = datetime(2026, 12, 1, 9, 16, tzinfo=UTC)
AFTER = timedelta(minutes=10)


def appt(**kw: object) -> Appointment:
    base: dict[str, object] = {
        "org": "o1",
        "appointment": "a1",
        "start": "2026-12-01T09:05:00",
        "end": "2026-12-01T10:00:00",
        "time_zone": "UTC",
        "resources": ["fuji", "kili"],
    }
    return Appointment(**{**base, **kw})  # type: ignore[arg-type]


def due(a: Appointment, now: datetime = NOW) -> list[tuple[str, str, str]]:
    first, until = rules.window(now, AFTER)
    return [
        (b.resource, b.occurrence, b.start.strftime("%d %H:%M"))
        for b in rules.bookings(a, a.resources, first, until, now)
    ]


def test_a_booking_is_due_once_its_grace_period_is_over_and_while_it_lasts() -> None:
    assert due(appt(), NOW - timedelta(minutes=2)) == []  # 09:14: not yet
    assert due(appt()) == [("fuji", "-", "01 09:05"), ("kili", "-", "01 09:05")]
    assert due(appt(end="2026-12-01T09:15:00")) == []  # over already: nothing to free
    assert due(appt(), NOW + timedelta(minutes=31)) == []  # past the lookback: a run long missed


def test_a_booking_in_another_zone_is_due_at_its_instant() -> None:
    oslo = appt(start="2026-12-01T10:05:00", end="2026-12-01T11:00:00", time_zone="Europe/Oslo")  # 09:05 UTC
    assert [r for r, _, _ in due(oslo)] == ["fuji", "kili"]


def test_nothing_is_held_for_what_books_no_room_is_deleted_not_pushed_or_all_day() -> None:
    assert rules.hold_of(appt()) == "20261201T0905Z"
    assert rules.hold_of(appt(resources=[])) is None
    assert rules.hold_of(appt(deleted=True)) is None
    assert rules.hold_of(appt(push=False)) is None
    assert rules.hold_of(appt(is_all_day=True, start="2026-12-01T00:00:00", end="2026-12-02T00:00:00")) is None


def test_a_series_occurrences_are_due_one_by_one_cancelled_and_moved_ones_as_they_are() -> None:
    weekly = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"], "firstDayOfWeek": "monday"},
        "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 3},
    }
    series = appt(resources=["fuji"], recurrence=weekly)
    assert rules.hold_of(series) == rules.SERIES
    assert due(series) == [("fuji", "2026-12-01", "01 09:05")]
    assert due(series, NOW + timedelta(days=7)) == [("fuji", "2026-12-08", "08 09:05")]
    cancelled = appt(resources=["fuji"], recurrence=weekly, occurrences={"2026-12-08": {"cancelled": True}})
    assert due(cancelled, NOW + timedelta(days=7)) == []
    moved = {"2026-12-08": {"start": "2026-12-09T14:00:00", "end": "2026-12-09T15:00:00"}}
    later = appt(resources=["fuji"], recurrence=weekly, occurrences=moved)
    assert due(later, NOW + timedelta(days=7)) == []
    assert due(later, datetime(2026, 12, 9, 14, 11, tzinfo=UTC)) == [("fuji", "2026-12-08", "09 14:00")]


def test_a_booking_is_released_once_unless_someone_checked_in() -> None:
    assert rules.may_release(None, None, NOW)
    assert not rules.may_release(rules.CHECKED_IN, NOW, NOW)
    assert not rules.may_release(rules.RELEASED, NOW, NOW)
    assert not rules.may_release(rules.RELEASING, NOW - timedelta(minutes=4), NOW)  # another instance is on it
    assert rules.may_release(rules.RELEASING, NOW - rules.LEASE, NOW)  # it died half-way: taken over
    assert rules.check_in_refused(None) is None and rules.check_in_refused(rules.CHECKED_IN) is None
    assert rules.check_in_refused(rules.RELEASING) and rules.check_in_refused(rules.RELEASED)
