"""shared.core.recurrence: Graph's patternedRecurrence parsed, validated and expanded.

Each test names the page it takes its example from: files of microsoftgraph/microsoft-graph-docs-contrib
(`concepts/outlook-schedule-recurring-events.md` — "the concepts page" —,
`api-reference/v1.0/resources/recurrencepattern.md`, `…/recurrencerange.md`,
`…/api/user-post-events.md`, `…/api/event-list-instances.md`), or Microsoft's CDO reference for
RecurrencePattern.DayOfMonth (https://learn.microsoft.com/previous-versions/ms528295, "CDO"), or
says it checks a consequence of those (DST, month ends) with no worked example in the docs.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from shared.core.errors import InvalidInput
from shared.core.recurrence import Recurrence, expand, occurrence_dates, parse_recurrence


def rec(pattern: dict[str, Any], start: str, *, end: str | None = None, count: int | None = None) -> Recurrence:
    rng: dict[str, Any] = {"type": "noEnd", "startDate": start}
    if end is not None:
        rng = {"type": "endDate", "startDate": start, "endDate": end}
    if count is not None:
        rng = {"type": "numbered", "startDate": start, "numberOfOccurrences": count}
    return parse_recurrence({"pattern": pattern, "range": rng})


def dates(r: Recurrence, n: int = 1000) -> list[date]:
    return list(itertools.islice(occurrence_dates(r), n))


def d(text: str) -> date:
    return date.fromisoformat(text)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- the docs' worked examples -------------------------------------------------------------
def test_daily_every_day_and_every_three_days() -> None:
    # concepts page, "Daily": "Repeat this event every day" / "every three days".
    assert dates(rec({"type": "daily", "interval": 1}, "2017-04-02"), 3) == [
        d("2017-04-02"),
        d("2017-04-03"),
        d("2017-04-04"),
    ]
    assert dates(rec({"type": "daily", "interval": 3}, "2017-04-02"), 3) == [
        d("2017-04-02"),
        d("2017-04-05"),
        d("2017-04-08"),
    ]


def test_weekly_every_thursday_and_every_other_monday_and_tuesday() -> None:
    # concepts page, "Weekly" (both examples); recurrencepattern.md: "Repeat event Monday and
    # Tuesday of every other week". 2017-07-03 is a Monday.
    thursday = rec({"type": "weekly", "interval": 1, "daysOfWeek": ["Thursday"]}, "2017-07-03")
    assert dates(thursday, 3) == [d("2017-07-06"), d("2017-07-13"), d("2017-07-20")]
    other = rec({"type": "weekly", "interval": 2, "daysOfWeek": ["Monday", "Tuesday"]}, "2017-07-03")
    assert dates(other, 4) == [d("2017-07-03"), d("2017-07-04"), d("2017-07-17"), d("2017-07-18")]


def test_absolute_monthly_on_the_15th_and_quarterly_on_the_7th() -> None:
    # concepts page, "Absolute monthly"; recurrencepattern.md: "quarterly (every 3 months) on the 15th".
    assert dates(rec({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 15}, "2017-01-20"), 3) == [
        d("2017-02-15"),
        d("2017-03-15"),
        d("2017-04-15"),
    ]
    assert dates(rec({"type": "absoluteMonthly", "interval": 3, "dayOfMonth": 7}, "2017-01-07"), 3) == [
        d("2017-01-07"),
        d("2017-04-07"),
        d("2017-07-07"),
    ]


def test_relative_monthly_second_wednesday_and_first_thursday_or_friday() -> None:
    # concepts page, "Relative monthly": "the second Wednesday of every month"; "the first
    # Thursday or Friday" falls "on the first day that satisfies the pattern".
    second_wed = rec(
        {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["Wednesday"], "index": "second"}, "2017-09-01"
    )
    assert dates(second_wed, 3) == [d("2017-09-13"), d("2017-10-11"), d("2017-11-08")]
    thu_or_fri = rec(
        {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["Thursday", "Friday"], "index": "first"}, "2017-09-01"
    )
    # September 2017 starts on a Friday; October's first Thursday (5th) comes before its Friday.
    assert dates(thu_or_fri, 2) == [d("2017-09-01"), d("2017-10-05")]


def test_relative_monthly_every_three_months_second_thursday_or_friday() -> None:
    # recurrencepattern.md: "Repeat event on the second Thursday or Friday every three months":
    # the index counts the allowed days together. January 2026: Thu 1, Fri 2 → the 2nd is Fri 2.
    r = rec(
        {"type": "relativeMonthly", "interval": 3, "daysOfWeek": ["thursday", "friday"], "index": "second"},
        "2026-01-01",
    )
    assert dates(r, 3) == [d("2026-01-02"), d("2026-04-03"), d("2026-07-03")]


def test_absolute_yearly_april_15_and_every_three_years_march_15() -> None:
    # concepts page, "Absolute yearly": "April 15 every year"; recurrencepattern.md: "the 15th
    # of March every 3 years".
    assert dates(rec({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 15, "month": 4}, "2017-04-15"), 2) == [
        d("2017-04-15"),
        d("2018-04-15"),
    ]
    assert dates(rec({"type": "absoluteYearly", "interval": 3, "dayOfMonth": 15, "month": 3}, "2017-01-01"), 2) == [
        d("2017-03-15"),
        d("2020-03-15"),
    ]


def test_relative_yearly_last_wednesday_of_november() -> None:
    # concepts page, "Relative yearly": "the last Wednesday of November every year".
    r = rec(
        {"type": "relativeYearly", "interval": 1, "daysOfWeek": ["Wednesday"], "index": "last", "month": 11},
        "2017-01-01",
    )
    assert dates(r, 3) == [d("2017-11-29"), d("2018-11-28"), d("2019-11-27")]


def test_relative_yearly_second_thursday_or_friday_of_november_every_three_years() -> None:
    # recurrencepattern.md: "the second Thursday or Friday of every November every 3 years".
    # November 2017: Thu 2, Fri 3 → Fri 3; November 2020: Thu 5, Fri 6 → Fri 6.
    r = rec(
        {"type": "relativeYearly", "interval": 3, "daysOfWeek": ["Thursday", "Friday"], "index": "second", "month": 11},
        "2017-01-01",
    )
    assert dates(r, 2) == [d("2017-11-03"), d("2020-11-06")]


def test_ranges_numbered_end_date_and_no_end() -> None:
    # concepts page, "Recurrence ranges": numbered ("Repeat this event 10 times" from
    # 2017-04-02), endDate ("from July 1, 2017, to July 31, 2017"), noEnd ("from May 15, 2017, forever").
    daily = {"type": "daily", "interval": 1}
    assert len(dates(rec(daily, "2017-04-02", count=10))) == 10
    july = dates(rec(daily, "2017-07-01", end="2017-07-31"))
    assert (july[0], july[-1], len(july)) == (d("2017-07-01"), d("2017-07-31"), 31)
    forever = rec(daily, "2017-05-15")
    assert not forever.finite and len(dates(forever, 5000)) == 5000


def test_every_monday_until_the_end_of_the_year_ends_on_december_25() -> None:
    # concepts page, "Creating a recurrence rule", first example: "Because December 31, 2017, is
    # on a Sunday, the last occurrence in this series will be on Monday, December 25."
    r = parse_recurrence(
        {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["Monday"]},
            "range": {"type": "endDate", "startDate": "2017-09-04", "endDate": "2017-12-31"},
        }
    )
    got = list(expand(r, datetime(2017, 9, 4, 13, 0), timedelta(minutes=30), "Pacific Standard Time"))
    assert got[0].start_local == datetime(2017, 9, 4, 13, 0) and got[-1].start_local == datetime(2017, 12, 25, 13, 0)
    assert got[-1].end_local == datetime(2017, 12, 25, 13, 30) and len(got) == 17


def test_first_thursday_of_every_other_month_from_august_29_starts_in_september() -> None:
    # concepts page, "Creating a recurrence rule", second example: "Because the value of
    # startDate is after the first Thursday in August, the first occurrence of this series will
    # be in September." The month that holds the first occurrence anchors the interval.
    r = parse_recurrence(
        {
            "pattern": {"type": "relativeMonthly", "interval": 2, "daysOfWeek": ["Thursday"], "index": "first"},
            "range": {"type": "noEnd", "startDate": "2017-08-29"},
        }
    )
    assert dates(r, 3) == [d("2017-09-07"), d("2017-11-02"), d("2018-01-04")]


def test_daily_twice_from_user_post_events_example() -> None:
    # user-post-events.md, "Example 4: Create a daily recurring event": 12:00-14:00 Pacific,
    # daily, numbered 2 from 2020-02-25.
    r = parse_recurrence(
        {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2020-02-25", "numberOfOccurrences": 2},
        }
    )
    got = list(expand(r, datetime(2020, 2, 25, 12), timedelta(hours=2), "Pacific Standard Time"))
    assert [o.start for o in got] == [utc("2020-02-25T20:00"), utc("2020-02-26T20:00")]
    assert [o.end for o in got] == [utc("2020-02-25T22:00"), utc("2020-02-26T22:00")]


def test_window_like_the_list_instances_example() -> None:
    # event-list-instances.md, the example: a weekly Monday series at 20:30-21:00 UTC asked for
    # 2019-04-08T09:00 to 2019-04-30T09:00 answers the occurrences of April 8, 15, 22 and 29.
    r = rec({"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]}, "2019-04-01")
    got = expand(
        r,
        datetime(2019, 4, 1, 20, 30),
        timedelta(minutes=30),
        "UTC",
        window_start=utc("2019-04-08T09:00"),
        window_end=utc("2019-04-30T09:00"),
    )
    assert [(o.start.day, o.index) for o in got] == [(8, 1), (15, 2), (22, 3), (29, 4)]


def test_to_graph_has_the_shape_of_graphs_answers_and_parses_back() -> None:
    # user-post-events.md, example 4's response: every pattern field present (month 0,
    # dayOfMonth 0, firstDayOfWeek sunday, index first), endDate 0001-01-01 for a numbered
    # range, recurrenceTimeZone the event's zone.
    r = rec({"type": "daily", "interval": 1}, "2020-02-25", count=2)
    out = r.to_graph("Pacific Standard Time")
    assert out == {
        "pattern": {
            "type": "daily",
            "interval": 1,
            "month": 0,
            "dayOfMonth": 0,
            "firstDayOfWeek": "sunday",
            "index": "first",
        },
        "range": {
            "type": "numbered",
            "startDate": "2020-02-25",
            "endDate": "0001-01-01",
            "recurrenceTimeZone": "Pacific Standard Time",
            "numberOfOccurrences": 2,
        },
    }
    assert parse_recurrence(out).pattern == r.pattern and parse_recurrence(out).range.end_date is None


# -- consequences without a worked example -------------------------------------------------
@pytest.mark.parametrize("tz", ["Europe/Oslo", "W. Europe Standard Time"])
def test_weekly_in_oslo_keeps_the_wall_clock_across_both_dst_changes(tz: str) -> None:
    # Wall-clock time is kept (Outlook stores the time of day in the series' zone). 2026: CEST
    # from Sunday March 29, CET again from Sunday October 25.
    r = rec({"type": "weekly", "interval": 1, "daysOfWeek": ["sunday"]}, "2026-03-22")
    spring = list(itertools.islice(expand(r, datetime(2026, 3, 22, 9), timedelta(hours=1), tz), 2))
    assert [o.start_local.hour for o in spring] == [9, 9]
    assert [o.start for o in spring] == [utc("2026-03-22T08:00"), utc("2026-03-29T07:00")]
    autumn = list(
        expand(
            r,
            datetime(2026, 3, 22, 9),
            timedelta(hours=1),
            tz,
            window_start=utc("2026-10-18T00:00"),
            window_end=utc("2026-10-26T00:00"),
        )
    )
    assert [o.start for o in autumn] == [utc("2026-10-18T07:00"), utc("2026-10-25T08:00")]
    assert all(o.end - o.start == timedelta(hours=1) for o in spring + autumn)


def test_an_occurrence_in_the_spring_gap_still_comes_in_order() -> None:
    # 02:30 does not exist in Oslo on 2026-03-29: the occurrence lands at the instant that
    # follows the gap's start (docs silent; Python's zoneinfo reading of the wall clock).
    r = rec({"type": "daily", "interval": 1}, "2026-03-28", count=3)
    got = list(expand(r, datetime(2026, 3, 28, 2, 30), timedelta(hours=1), "Europe/Oslo"))
    assert [o.start for o in got] == sorted(o.start for o in got)
    assert got[0].start == utc("2026-03-28T01:30") and got[2].start == utc("2026-03-30T00:30")


def test_day_31_falls_on_the_last_day_of_shorter_months() -> None:
    # CDO: "The last day of every month can be represented by the value 31 in monthly recurrences."
    r = rec({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31}, "2027-01-31")
    assert dates(r, 5) == [d("2027-01-31"), d("2027-02-28"), d("2027-03-31"), d("2027-04-30"), d("2027-05-31")]
    leap = rec({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 30}, "2028-01-30")
    assert dates(leap, 2) == [d("2028-01-30"), d("2028-02-29")]


def test_relative_monthly_last_friday_and_last_weekday() -> None:
    # recurrencepattern.md, index `last`.
    fri = rec({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"}, "2026-01-01")
    assert dates(fri, 3) == [d("2026-01-30"), d("2026-02-27"), d("2026-03-27")]
    weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday"]
    last = rec({"type": "relativeMonthly", "interval": 1, "daysOfWeek": weekdays, "index": "last"}, "2026-01-01")
    assert dates(last, 3) == [d("2026-01-30"), d("2026-02-27"), d("2026-03-31")]
    fourth = rec({"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["monday"], "index": "fourth"}, "2026-06-01")
    assert dates(fourth, 1) == [d("2026-06-22")]


def test_yearly_february_29_falls_on_the_28th_in_common_years() -> None:
    # CDO: for DayOfMonth 29 in February "Outlook and CDO generate recurrences on February 28
    # for years other than leap years".
    r = rec({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 29, "month": 2}, "2028-02-29")
    assert dates(r, 5) == [d("2028-02-29"), d("2029-02-28"), d("2030-02-28"), d("2031-02-28"), d("2032-02-29")]


def test_first_day_of_week_decides_which_days_share_a_week() -> None:
    # recurrencepattern.md, firstDayOfWeek: every other week on Sunday and Monday, from Sunday
    # 2026-03-01. Weeks from Sunday: Sun+Mon together. Weeks from Monday: that Sunday ends a week.
    days = ["sunday", "monday"]
    sun = rec({"type": "weekly", "interval": 2, "daysOfWeek": days, "firstDayOfWeek": "sunday"}, "2026-03-01")
    assert dates(sun, 4) == [d("2026-03-01"), d("2026-03-02"), d("2026-03-15"), d("2026-03-16")]
    mon = rec({"type": "weekly", "interval": 2, "daysOfWeek": days, "firstDayOfWeek": "monday"}, "2026-03-01")
    assert dates(mon, 4) == [d("2026-03-01"), d("2026-03-09"), d("2026-03-15"), d("2026-03-23")]


def test_a_week_without_a_fitting_day_moves_the_anchor_to_the_next_week() -> None:
    # As the concepts page's monthly example: the first period with an occurrence anchors the
    # interval. From Wednesday 2026-03-04, every other Monday: March 9, 23, April 6.
    r = rec({"type": "weekly", "interval": 2, "daysOfWeek": ["monday"]}, "2026-03-04")
    assert dates(r, 3) == [d("2026-03-09"), d("2026-03-23"), d("2026-04-06")]


def test_window_keeps_overlapping_occurrences_and_stops_an_endless_series() -> None:
    r = rec({"type": "daily", "interval": 1}, "2026-01-01")
    got = list(
        expand(
            r,
            datetime(2026, 1, 1, 23, 0),
            timedelta(hours=2),
            "UTC",
            window_start=utc("2026-01-03T00:30"),
            window_end=utc("2026-01-04T23:00"),
        )
    )
    # Jan 2 23:00-01:00 overlaps; Jan 4 23:00 starts at the window's end: not included.
    assert [o.start for o in got] == [utc("2026-01-02T23:00"), utc("2026-01-03T23:00")]
    aware = list(itertools.islice(expand(r, utc("2026-01-01T22:00"), timedelta(hours=1), "Europe/Oslo"), 1))
    assert aware[0].start_local == datetime(2026, 1, 1, 23, 0)


def test_a_series_ends_quietly_at_the_year_9999() -> None:
    r = rec({"type": "absoluteYearly", "interval": 1000, "dayOfMonth": 1, "month": 1}, "2026-01-01")
    assert dates(r) == [d("2026-01-01"), d("3026-01-01"), d("4026-01-01")] + [d(f"{y}026-01-01") for y in range(5, 10)]


# -- validation: every error names the field --------------------------------------------------
GOOD_RANGE = {"type": "noEnd", "startDate": "2026-01-05"}


def field_of(body: dict[str, Any], **kw: Any) -> str:
    """The field a refusal names; its message (what the API answers) starts with that field's
    whole path, as the API's other messages do ("recurrence.pattern.interval: …")."""
    with pytest.raises(InvalidInput) as err:
        parse_recurrence(body, **kw)
    assert err.value.message.startswith(err.value.field), (err.value.field, err.value.message)
    return err.value.field


@pytest.mark.parametrize(
    ("pattern", "field"),
    [
        ({"type": "hourly", "interval": 1}, "recurrence.pattern.type"),  # recurrencepattern.md, six types
        ({"interval": 1}, "recurrence.pattern.type"),  # "Required"
        ({"type": "weekly", "interval": 1}, "recurrence.pattern.daysOfWeek"),  # required for weekly
        ({"type": "weekly", "interval": 1, "daysOfWeek": []}, "recurrence.pattern.daysOfWeek"),
        ({"type": "relativeMonthly", "interval": 1}, "recurrence.pattern.daysOfWeek"),
        ({"type": "daily", "interval": 0}, "recurrence.pattern.interval"),  # interval "Required"
        ({"type": "daily"}, "recurrence.pattern.interval"),
        ({"type": "daily", "interval": "2"}, "recurrence.pattern.interval"),
        ({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 32}, "recurrence.pattern.dayOfMonth"),
        ({"type": "absoluteMonthly", "interval": 1}, "recurrence.pattern.dayOfMonth"),  # required
        ({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 1}, "recurrence.pattern.month"),  # required
        ({"type": "relativeYearly", "interval": 1, "daysOfWeek": ["monday"]}, "recurrence.pattern.month"),
        ({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 1, "month": 13}, "recurrence.pattern.month"),
        # CDO: "For yearly recurrences, DayOfMonth cannot be set past the last possible day in the selected month."
        ({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 31, "month": 4}, "recurrence.pattern.dayOfMonth"),
        ({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 30, "month": 2}, "recurrence.pattern.dayOfMonth"),
        # concepts page, "Note": "Even if a field is ignored, it is still validated."
        ({"type": "daily", "interval": 1, "daysOfWeek": ["funday"]}, "recurrence.pattern.daysOfWeek"),
        ({"type": "daily", "interval": 1, "index": "fifth"}, "recurrence.pattern.index"),
        ({"type": "daily", "interval": 1, "firstDayOfWeek": "someday"}, "recurrence.pattern.firstDayOfWeek"),
        ({"type": "daily", "interval": 1, "month": 13}, "recurrence.pattern.month"),
        # recurrencepattern.md: "Any property that you include that does not have a supported value
        # would result in an error."
        ({"type": "daily", "interval": 1, "hour": 9}, "recurrence.pattern.hour"),
        ({"type": "weekly", "interval": 1, "daysOfWeek": "monday"}, "recurrence.pattern.daysOfWeek"),  # "Collection"
        ({"type": "relativeYearly", "interval": 1, "month": 11}, "recurrence.pattern.daysOfWeek"),
        ({"type": "absoluteYearly", "interval": 1, "month": 3}, "recurrence.pattern.dayOfMonth"),  # required
        ({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": "15"}, "recurrence.pattern.dayOfMonth"),  # Int32
        ({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 15, "month": "3"}, "recurrence.pattern.month"),
    ],
)
def test_pattern_errors_name_the_field(pattern: dict[str, Any], field: str) -> None:
    assert field_of({"pattern": pattern, "range": GOOD_RANGE}) == field


DAILY = {"type": "daily", "interval": 1}


@pytest.mark.parametrize(
    ("rng", "field"),
    [
        ({"type": "until", "startDate": "2026-01-05"}, "recurrence.range.type"),
        ({"type": "noEnd"}, "recurrence.range.startDate"),  # concepts page: startDate "Required"
        ({"type": "noEnd", "startDate": "05/01/2026"}, "recurrence.range.startDate"),
        ({"type": "endDate", "startDate": "2026-01-05"}, "recurrence.range.endDate"),
        ({"type": "endDate", "startDate": "2026-01-05", "endDate": "2026-01-04"}, "recurrence.range.endDate"),
        ({"type": "numbered", "startDate": "2026-01-05"}, "recurrence.range.numberOfOccurrences"),
        # concepts page, "Numbered range": "Must be a positive integer."
        (
            {"type": "numbered", "startDate": "2026-01-05", "numberOfOccurrences": 0},
            "recurrence.range.numberOfOccurrences",
        ),
        (
            {"type": "numbered", "startDate": "2026-01-05", "numberOfOccurrences": -3},
            "recurrence.range.numberOfOccurrences",
        ),
        (
            {"type": "noEnd", "startDate": "2026-01-05", "recurrenceTimeZone": "Mars/Olympus"},
            "recurrence.range.recurrenceTimeZone",
        ),
        ({"type": "noEnd", "startDate": "2026-01-05", "until": "2027-01-01"}, "recurrence.range.until"),
        # recurrencerange.md: startDate and endDate are Edm.Date, "YYYY-MM-DD".
        ({"type": "noEnd", "startDate": "20260105"}, "recurrence.range.startDate"),
        ({"type": "noEnd", "startDate": 20260105}, "recurrence.range.startDate"),
        ({"type": "endDate", "startDate": "2026-01-05", "endDate": "31/01/2026"}, "recurrence.range.endDate"),
        # docs/api.md: calsync takes the dates 1900-01-01 to 2999-12-31.
        ({"type": "noEnd", "startDate": "1899-12-31"}, "recurrence.range.startDate"),
        ({"type": "endDate", "startDate": "2026-01-05", "endDate": "3000-01-01"}, "recurrence.range.endDate"),
        (
            {"type": "numbered", "startDate": "2026-01-05", "numberOfOccurrences": "3"},
            "recurrence.range.numberOfOccurrences",
        ),
        (
            {"type": "noEnd", "startDate": "2026-01-05", "numberOfOccurrences": -1},
            "recurrence.range.numberOfOccurrences",
        ),
        ({"type": "noEnd", "startDate": "2026-01-05", "recurrenceTimeZone": 5}, "recurrence.range.recurrenceTimeZone"),
    ],
)
def test_range_errors_name_the_field(rng: dict[str, Any], field: str) -> None:
    assert field_of({"pattern": DAILY, "range": rng}) == field


def test_missing_parts_and_a_prefix() -> None:
    assert field_of({"range": GOOD_RANGE}) == "recurrence.pattern"
    assert field_of({"pattern": DAILY}) == "recurrence.range"
    assert field_of([]) == "recurrence"  # type: ignore[arg-type]
    assert field_of({"pattern": DAILY, "range": GOOD_RANGE, "start": "2026-01-05"}) == "recurrence.start"
    assert field_of({"pattern": {"type": "weekly", "interval": 1}, "range": GOOD_RANGE}, field="body.recurrence") == (
        "body.recurrence.pattern.daysOfWeek"
    )


def test_at_most_max_occurrences_when_the_series_is_finite() -> None:
    numbered = {"pattern": DAILY, "range": {"type": "numbered", "startDate": "2026-01-05", "numberOfOccurrences": 1000}}
    assert field_of(numbered) == "recurrence.range.numberOfOccurrences"
    numbered["range"]["numberOfOccurrences"] = 999
    assert parse_recurrence(numbered).range.number_of_occurrences == 999
    long = {"pattern": DAILY, "range": {"type": "endDate", "startDate": "2026-01-01", "endDate": "2028-12-31"}}
    for cap in ({}, {"max_occurrences": 1000}):  # 1,096 days
        assert field_of(long, **cap) == "recurrence.range.endDate"
    assert len(dates(parse_recurrence(long, max_occurrences=1096), 2000)) == 1096
    endless = {"pattern": DAILY, "range": {"type": "noEnd", "startDate": "2026-01-01"}}
    assert not parse_recurrence(endless, max_occurrences=1).finite  # no cap without an end


def test_an_end_date_range_without_an_occurrence_is_refused() -> None:
    # Docs silent; less forgiving: a series with no occurrence is not accepted.
    body = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "endDate", "startDate": "2026-01-06", "endDate": "2026-01-11"},
    }
    assert field_of(body) == "recurrence.range"


def test_first_day_of_week_default_and_required_mode() -> None:
    # concepts page: firstDayOfWeek "Optional", "Default value: Sunday"; recurrencepattern.md:
    # "Required if type is weekly" — the stricter reading on request.
    body = {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["Monday"]}, "range": GOOD_RANGE}
    assert parse_recurrence(body).pattern.first_day_of_week == "sunday"
    assert field_of(body, first_day_of_week_required=True) == "recurrence.pattern.firstDayOfWeek"


def test_enum_values_ignore_case_and_come_out_in_graphs_spelling() -> None:
    # The docs' examples write "Monday"; recurrencerange.md writes "EndDate", "NoEnd", "Numbered".
    r = parse_recurrence(
        {
            "pattern": {"type": "RelativeMonthly", "interval": 1, "daysOfWeek": ["MONDAY", "monday"], "index": "Last"},
            "range": {"type": "NoEnd", "startDate": "2026-01-05"},
        }
    )
    assert (r.pattern.type, r.pattern.days_of_week, r.pattern.index, r.range.type) == (
        "relativeMonthly",
        ("monday",),
        "last",
        "noEnd",
    )


def test_the_edges_that_are_still_a_series() -> None:
    # concepts page: numberOfOccurrences "Must be a positive integer" (1 is one); an endDate
    # range ending on its startDate holds that day (docs silent; only an end before the start is
    # refused); month 12 is December.
    assert dates(rec(DAILY, "2026-01-05", count=1)) == [d("2026-01-05")]
    assert dates(rec(DAILY, "2026-01-05", end="2026-01-05")) == [d("2026-01-05")]
    december = rec({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 24, "month": 12}, "2026-01-01")
    assert dates(december, 2) == [d("2026-12-24"), d("2027-12-24")]
    # msgraph-sdk's models write their `@odata.type` with the object (patternedRecurrence).
    typed = {"@odata.type": "#microsoft.graph.patternedRecurrence", "pattern": DAILY, "range": GOOD_RANGE}
    assert parse_recurrence(typed).pattern.type == "daily"


def test_to_graph_keeps_an_end_date_and_the_series_zone_and_zeroes_the_unused_count() -> None:
    # recurrencerange.md: recurrenceTimeZone is the series' own; user-post-events.md's answers
    # give 0 for a number the range type does not use.
    r = parse_recurrence(
        {
            "pattern": DAILY,
            "range": {
                "type": "endDate",
                "startDate": "2026-01-05",
                "endDate": "2026-01-09",
                "numberOfOccurrences": 3,
                "recurrenceTimeZone": "W. Europe Standard Time",
            },
        }
    )
    assert r.to_graph("UTC")["range"] == {
        "type": "endDate",
        "startDate": "2026-01-05",
        "endDate": "2026-01-09",
        "recurrenceTimeZone": "W. Europe Standard Time",
        "numberOfOccurrences": 0,
    }


def test_occurrences_are_in_utc_whatever_the_hosts_zone(host_in_tokyo: None) -> None:
    r = rec(DAILY, "2026-01-05", count=1)
    [o] = expand(r, datetime(2026, 1, 5, 9), timedelta(hours=1), "Europe/Oslo")
    assert (o.start.isoformat(), o.end.isoformat()) == ("2026-01-05T08:00:00+00:00", "2026-01-05T09:00:00+00:00")


def test_window_start_leaves_out_an_occurrence_ending_there_but_keeps_an_instant_at_it() -> None:
    # [window_start, window_end): an occurrence ending as the window starts is before it; one
    # of no length at that instant is in it.
    r = rec(DAILY, "2026-01-01", count=3)
    edge = utc("2026-01-02T10:00")
    hour = expand(r, datetime(2026, 1, 1, 9), timedelta(hours=1), "UTC", window_start=edge)
    assert [o.start for o in hour] == [utc("2026-01-03T09:00")]
    instant = expand(r, datetime(2026, 1, 1, 10), timedelta(0), "UTC", window_start=edge)
    assert [o.start for o in instant] == [utc("2026-01-02T10:00"), utc("2026-01-03T10:00")]
