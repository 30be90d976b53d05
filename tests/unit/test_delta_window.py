"""The window delta rounds watch (shared/core/delta_window.py, pure): how far it reaches, when
it must roll, which events lie outside it, one item per event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.core.delta_window import ROLL_SLACK, last_of_each, outside, roll_due, window

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_a_fresh_window_reaches_back_and_ahead_with_slack_to_roll_later() -> None:
    start, end = window(NOW, 30, 365)
    assert start == NOW - timedelta(days=30)
    assert end == NOW + timedelta(days=365) + ROLL_SLACK == NOW + timedelta(days=379)


def test_the_window_rolls_once_half_its_slack_is_used_at_either_end() -> None:
    start, end = window(NOW, 30, 365)
    assert not roll_due(start, end, NOW, 30, 365)
    half = ROLL_SLACK / 2
    assert not roll_due(start, end, NOW + half, 30, 365)  # exactly half used: not yet
    assert roll_due(start, end, NOW + half + timedelta(seconds=1), 30, 365)
    # The start falling behind now - days back rolls it too (a setting made shorter, say).
    assert not roll_due(start, end, NOW, 30 - 7, 365)
    assert roll_due(start, end, NOW, 30 - 8, 365)
    # A setting reaching further ahead than the stored window does: roll now.
    assert roll_due(start, end, NOW, 30, 365 + 8)
    assert roll_due(None, end, NOW, 30, 365) and roll_due(start, None, NOW, 30, 365)


def test_an_event_is_outside_only_when_wholly_outside() -> None:
    start, end = NOW, NOW + timedelta(days=1)
    assert outside({"start": "2026-12-07T10:00:00Z", "end": "2026-12-07T12:00:00Z"}, start, end)  # ends at start
    assert not outside({"start": "2026-12-07T11:00:00Z", "end": "2026-12-07T12:00:01Z"}, start, end)
    assert outside({"start": "2026-12-08T12:00:00Z", "end": "2026-12-08T13:00:00Z"}, start, end)  # starts at end
    assert not outside({"start": "2026-12-08T11:59:59Z", "end": "2026-12-08T13:00:00Z"}, start, end)
    assert outside({"start": "2026-12-05", "end": "2026-12-06"}, start, end)  # all day: dates
    assert not outside({"start": "2026-12-07", "end": "2026-12-08"}, start, end)
    # No usable times: never taken for gone.
    assert not outside({"start": "", "end": "2026-12-06T00:00:00Z"}, start, end)
    assert not outside({"start": "2026-12-01T00:00:00Z"}, start, end)
    assert not outside({"start": "soon", "end": "later"}, start, end)


def test_one_item_per_event_the_last_one_in_its_last_place() -> None:
    first, other, last = {"id": "a", "v": 1}, {"id": "b", "v": 1}, {"id": "a", "v": 2}
    assert last_of_each([first, other, last]) == [other, last]
    assert last_of_each([first, other]) == [first, other]
    assert last_of_each([]) == []


def test_an_all_day_events_dates_are_utc_days_whatever_the_hosts_zone(host_in_tokyo: None) -> None:
    """All-day snapshots hold dates, read as UTC days (as the window is): a host in Tokyo must
    not take the 9th for the 8th at 15:00 UTC and drop an event that still reaches the window."""
    start, end = datetime(2026, 12, 8, 20, tzinfo=UTC), datetime(2026, 12, 20, tzinfo=UTC)
    assert not outside({"start": "2026-12-08", "end": "2026-12-09"}, start, end)
    assert outside({"start": "2026-12-07", "end": "2026-12-08"}, start, end)
