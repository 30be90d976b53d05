"""Graph's `patternedRecurrence`: parse and validate it, and expand a series into occurrences.

Public API (pure: standard library and shared.core only)

    DAYS                              the day names, "sunday" … "saturday"
    PATTERN_TYPES, RANGE_TYPES, INDEXES
    RecurrencePattern                 frozen: type, interval, days_of_week, day_of_month, month,
                                      index, first_day_of_week
    RecurrenceRange                   frozen: type, start_date, end_date, number_of_occurrences,
                                      recurrence_time_zone
    Recurrence                        frozen: pattern, range; .finite; .to_graph(time_zone)
    Occurrence                        frozen: start_local, end_local (naive wall clock),
                                      start, end (aware UTC), index (0-based ordinal in the series)
    parse_recurrence(raw, *, field="recurrence", max_occurrences=999,
                     first_day_of_week_required=False) -> Recurrence
    occurrence_dates(recurrence) -> Iterator[date]
    expand(recurrence, first_start, duration, time_zone, *, window_start=None,
           window_end=None) -> Iterator[Occurrence]

Every validation failure is `InvalidInput(field, message)` with the exact field path, e.g.
`recurrence.pattern.daysOfWeek`. Semantics follow Microsoft's documentation (cited in
docs/graph-emulator.md, *Recurrence*):

- The series starts applying the pattern at `range.startDate`; the first occurrence is the
  first date on or after it that fits the pattern, and the period (week, month, year) that
  holds it anchors the interval (concepts/outlook-schedule-recurring-events.md: "first
  Thursday of every other month starting August 29" → September, then November …).
- weekly: weeks begin on `firstDayOfWeek` (default sunday); every `interval`-th week.
- absoluteMonthly: a `dayOfMonth` past the month's end falls on its last day (Outlook/CDO:
  "The last day of every month can be represented by the value 31"); absoluteYearly on
  February 29 falls on February 28 in other years (CDO: "Outlook and CDO generate
  recurrences on February 28"), and a day the month never has (April 31) is refused.
- relative*: the `index`-th (first … fourth, or last) day of the month that is one of
  `daysOfWeek` ("the event falls on the first day that satisfies the pattern").
- Wall-clock time is kept across DST changes; the end is start + duration on the wall clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared.core import date_range
from shared.core.errors import InvalidInput, UnknownTimeZone
from shared.core.timezones import zone

__all__ = [
    "DAYS",
    "INDEXES",
    "PATTERN_TYPES",
    "RANGE_TYPES",
    "Occurrence",
    "Recurrence",
    "RecurrencePattern",
    "RecurrenceRange",
    "expand",
    "occurrence_dates",
    "parse_recurrence",
]

DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
PATTERN_TYPES = ("daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly")
RANGE_TYPES = ("endDate", "noEnd", "numbered")
INDEXES = ("first", "second", "third", "fourth", "last")
_PY_WEEKDAY = {name: (i - 1) % 7 for i, name in enumerate(DAYS)}  # datetime.weekday(): monday = 0
_PATTERN_KEYS = {"type", "interval", "daysOfWeek", "dayOfMonth", "month", "index", "firstDayOfWeek", "@odata.type"}
_RANGE_KEYS = {"type", "startDate", "endDate", "numberOfOccurrences", "recurrenceTimeZone", "@odata.type"}
_NO_DATE = "0001-01-01"  # what Graph answers for an unused endDate


@dataclass(frozen=True)
class RecurrencePattern:
    type: str
    interval: int
    days_of_week: tuple[str, ...] = ()
    day_of_month: int = 0
    month: int = 0
    index: str = "first"
    first_day_of_week: str = "sunday"


@dataclass(frozen=True)
class RecurrenceRange:
    type: str
    start_date: date
    end_date: date | None = None
    number_of_occurrences: int = 0
    recurrence_time_zone: str | None = None


@dataclass(frozen=True)
class Recurrence:
    pattern: RecurrencePattern
    range: RecurrenceRange

    @property
    def finite(self) -> bool:
        return self.range.type != "noEnd"

    def to_graph(self, time_zone: str | None = None) -> dict[str, Any]:
        """The `recurrence` as Graph answers it (every field present, as in
        user-post-events.md's examples: unused numbers 0, an unused endDate 0001-01-01)."""
        p, r = self.pattern, self.range
        pattern: dict[str, Any] = {
            "type": p.type,
            "interval": p.interval,
            "month": p.month,
            "dayOfMonth": p.day_of_month,
            "firstDayOfWeek": p.first_day_of_week,
            "index": p.index,
        }
        if p.days_of_week:
            pattern["daysOfWeek"] = list(p.days_of_week)
        return {
            "pattern": pattern,
            "range": {
                "type": r.type,
                "startDate": r.start_date.isoformat(),
                "endDate": r.end_date.isoformat() if r.end_date else _NO_DATE,
                "recurrenceTimeZone": r.recurrence_time_zone or time_zone,
                "numberOfOccurrences": r.number_of_occurrences,
            },
        }


@dataclass(frozen=True)
class Occurrence:
    start_local: datetime  # naive, wall clock in the series' zone
    end_local: datetime
    start: datetime  # aware, UTC
    end: datetime
    index: int  # 0-based position in the series


# -- parsing ---------------------------------------------------------------------------
def _enum(value: Any, allowed: tuple[str, ...], path: str) -> str:
    """Graph's enum values; the docs' own examples write them capitalised ("Monday")."""
    if isinstance(value, str):
        for name in allowed:
            if name.lower() == value.strip().lower():
                return name
    raise InvalidInput(path, f"{path} must be one of {', '.join(allowed)}; got {value!r}")


def _int(raw: Mapping[str, Any], key: str, path: str, default: int = 0) -> int:
    value = raw.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{path}.{key}", f"{path}.{key} must be an integer; got {value!r}")
    return value


def _date(raw: Mapping[str, Any], key: str, path: str) -> date | None:
    value = raw.get(key)
    if value is None:
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{path}.{key}", f"{path}.{key} must be a date YYYY-MM-DD; got {value!r}") from None
    return day


def _object(raw: Any, path: str, keys: set[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise InvalidInput(path, f"{path} is required and must be an object")
    for key in raw:
        if key not in keys:
            raise InvalidInput(f"{path}.{key}", f"{path}.{key} is not a property of {path.rsplit('.', 1)[-1]}")
    return raw


def _parse_pattern(raw: Any, path: str, first_day_required: bool) -> RecurrencePattern:
    raw = _object(raw, path, _PATTERN_KEYS)
    kind = _enum(raw.get("type"), PATTERN_TYPES, f"{path}.type")
    interval = _int(raw, "interval", path)
    if interval < 1:
        raise InvalidInput(f"{path}.interval", f"{path}.interval is required and must be at least 1")
    days_raw = raw.get("daysOfWeek") or []
    if not isinstance(days_raw, list):
        raise InvalidInput(f"{path}.daysOfWeek", f"{path}.daysOfWeek must be a list of day names")
    days = tuple(dict.fromkeys(_enum(d, DAYS, f"{path}.daysOfWeek") for d in days_raw))
    if not days and kind in ("weekly", "relativeMonthly", "relativeYearly"):
        raise InvalidInput(f"{path}.daysOfWeek", f"{path}.daysOfWeek is required for a {kind} pattern")
    # Ignored fields are still validated (outlook-schedule-recurring-events.md, "Note").
    index = _enum(raw["index"], INDEXES, f"{path}.index") if raw.get("index") is not None else "first"
    if raw.get("firstDayOfWeek") is None:
        if first_day_required and kind == "weekly":
            raise InvalidInput(f"{path}.firstDayOfWeek", f"{path}.firstDayOfWeek is required for a weekly pattern")
        first_day = "sunday"
    else:
        first_day = _enum(raw["firstDayOfWeek"], DAYS, f"{path}.firstDayOfWeek")
    day_of_month = _int(raw, "dayOfMonth", path)
    month = _int(raw, "month", path)
    absolute = kind in ("absoluteMonthly", "absoluteYearly")
    if not 0 <= day_of_month <= 31 or (absolute and day_of_month == 0):
        raise InvalidInput(f"{path}.dayOfMonth", f"{path}.dayOfMonth must be 1-31 for a {kind} pattern")
    yearly = kind in ("absoluteYearly", "relativeYearly")
    if not 0 <= month <= 12 or (yearly and month == 0):
        what = f"is required and must be 1-12 for a {kind} pattern" if yearly else "must be 1-12"
        raise InvalidInput(f"{path}.month", f"{path}.month {what}")
    if kind == "absoluteYearly" and day_of_month > calendar.monthrange(2000, month)[1]:  # 2000: a leap year
        raise InvalidInput(f"{path}.dayOfMonth", f"{path}.dayOfMonth {day_of_month} is past the end of month {month}")
    return RecurrencePattern(kind, interval, days, day_of_month, month, index, first_day)


def _parse_range(raw: Any, path: str) -> RecurrenceRange:
    raw = _object(raw, path, _RANGE_KEYS)
    kind = _enum(raw.get("type"), RANGE_TYPES, f"{path}.type")
    start = _date(raw, "startDate", path)
    if start is None:
        raise InvalidInput(f"{path}.startDate", f"{path}.startDate is required")
    date_range.check(f"{path}.startDate", start)
    end = _date(raw, "endDate", path)
    count = _int(raw, "numberOfOccurrences", path)
    tz = raw.get("recurrenceTimeZone")
    if tz is not None:
        try:
            zone(tz if isinstance(tz, str) else "")
        except UnknownTimeZone as exc:
            raise InvalidInput(f"{path}.recurrenceTimeZone", f"{path}.recurrenceTimeZone: {exc.message}") from None
    if kind == "endDate":
        if end is None:
            raise InvalidInput(f"{path}.endDate", f"{path}.endDate is required for an endDate range")
        if end < start:
            raise InvalidInput(f"{path}.endDate", f"{path}.endDate {end} is before startDate {start}")
        date_range.check(f"{path}.endDate", end)
    else:
        end = None  # ignored (Graph answers 0001-01-01 for it)
    if kind == "numbered":
        if count < 1:
            raise InvalidInput(f"{path}.numberOfOccurrences", f"{path}.numberOfOccurrences must be a positive integer")
    elif count < 0:
        raise InvalidInput(f"{path}.numberOfOccurrences", f"{path}.numberOfOccurrences must not be negative")
    else:
        count = 0
    return RecurrenceRange(kind, start, end, count, tz)


def parse_recurrence(
    raw: Any,
    *,
    field: str = "recurrence",
    max_occurrences: int = 999,
    first_day_of_week_required: bool = False,
) -> Recurrence:
    """Graph's patternedRecurrence JSON → Recurrence, or InvalidInput naming the field.

    A finite series (endDate, numbered) may have at most `max_occurrences` occurrences, and
    must have at least one. `first_day_of_week_required` follows recurrencepattern.md
    ("Required if type is weekly") instead of the concepts page ("Optional", sunday).
    """
    body = _object(raw, field, {"pattern", "range", "@odata.type"})
    pattern = _parse_pattern(body.get("pattern"), f"{field}.pattern", first_day_of_week_required)
    rng = _parse_range(body.get("range"), f"{field}.range")
    rec = Recurrence(pattern, rng)
    if rng.type == "numbered" and rng.number_of_occurrences > max_occurrences:
        raise InvalidInput(
            f"{field}.range.numberOfOccurrences",
            f"{field}.range.numberOfOccurrences must be at most {max_occurrences}",
        )
    if rng.type == "endDate":
        count = 0
        for _ in occurrence_dates(rec):
            count += 1
            if count > max_occurrences:
                raise InvalidInput(
                    f"{field}.range.endDate",
                    f"{field}.range.endDate: the series has more than {max_occurrences} occurrences before it",
                )
        if count == 0:
            raise InvalidInput(
                f"{field}.range", f"{field}.range: no date between startDate and endDate fits the pattern"
            )
    return rec


# -- expansion -------------------------------------------------------------------------
def _nth_day(year: int, month: int, days: tuple[str, ...], index: str) -> date:
    """The `index`-th day of the month that is one of `days` (relative patterns)."""
    wanted = {_PY_WEEKDAY[d] for d in days}
    last = calendar.monthrange(year, month)[1]
    fits = [date(year, month, d) for d in range(1, last + 1) if date(year, month, d).weekday() in wanted]
    return fits[-1] if index == "last" else fits[INDEXES.index(index)]


def _period(p: RecurrencePattern, d: date) -> int:
    """The number of the period (day, week, month, year) that holds `d`."""
    if p.type == "daily":
        return d.toordinal()
    if p.type == "weekly":
        return (d.toordinal() - 1 - _PY_WEEKDAY[p.first_day_of_week]) // 7  # ordinal 1 is a Monday
    if p.type in ("absoluteMonthly", "relativeMonthly"):
        return d.year * 12 + d.month - 1
    return d.year


def _dates_in(p: RecurrencePattern, n: int) -> list[date]:
    """The dates of period `n` that fit the pattern, in order."""
    if p.type == "daily":
        return [date.fromordinal(n)]
    if p.type == "weekly":
        first = n * 7 + 1 + _PY_WEEKDAY[p.first_day_of_week]
        days = {_PY_WEEKDAY[d] for d in p.days_of_week}
        return [date.fromordinal(o) for o in range(first, first + 7) if date.fromordinal(o).weekday() in days]
    year, month = (n // 12, n % 12 + 1) if p.type.endswith("Monthly") else (n, p.month)
    if p.type.startswith("relative"):
        return [_nth_day(year, month, p.days_of_week, p.index)]
    return [date(year, month, min(p.day_of_month, calendar.monthrange(year, month)[1]))]


def occurrence_dates(recurrence: Recurrence) -> Iterator[date]:
    """The local dates of the series' occurrences, in order (endless for a noEnd range, up to
    the year 9999)."""
    p, r = recurrence.pattern, recurrence.range
    n = _period(p, r.start_date)
    emitted = 0
    anchored = False
    while True:
        try:
            found = [d for d in _dates_in(p, n) if d >= r.start_date]
        except (ValueError, OverflowError):
            return  # past the year 9999
        for d in found:
            if r.end_date is not None and d > r.end_date:
                return
            yield d
            emitted += 1
            if r.type == "numbered" and emitted >= r.number_of_occurrences:
                return
        # Until a period holds a date on or after startDate, move one period at a time: the
        # first that does anchors the interval.
        anchored = anchored or bool(found)
        n += p.interval if anchored else 1


def expand(
    recurrence: Recurrence,
    first_start: datetime,
    duration: timedelta,
    time_zone: str,
    *,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
) -> Iterator[Occurrence]:
    """The series' occurrences in order: each on an occurrence date at `first_start`'s wall-clock
    time in `time_zone` (IANA or Windows name), lasting `duration` on the wall clock.

    `first_start` is the series master's local start (naive, or aware: then converted to
    `time_zone`). With a window (aware instants), only occurrences overlapping
    [window_start, window_end) are yielded, and a noEnd series stops at window_end.
    """
    tz = zone(time_zone)
    if first_start.tzinfo is not None:
        first_start = first_start.astimezone(tz).replace(tzinfo=None)
    at: time = first_start.time()
    for i, day in enumerate(occurrence_dates(recurrence)):
        start_local = datetime.combine(day, at)
        end_local = start_local + duration
        start = start_local.replace(tzinfo=tz).astimezone(UTC)
        end = end_local.replace(tzinfo=tz).astimezone(UTC)
        if window_end is not None and start >= window_end:
            return
        if window_start is not None and (end < window_start or (end == window_start and end != start)):
            continue
        yield Occurrence(start_local, end_local, start, end, i)
