"""Outlook → booking for recurring series, the pure part.

calendarView delta lists a series' occurrences and exceptions, never its master
(concepts/delta-query-events.md), and an `@removed` item names only an id. The shell groups
a round's items by series (an occurrence's `seriesMasterId`, or the series its snapshot
remembers) and reads each master once; this module turns one series into at most:
one `created` (with `recurrence` and its exceptions), one `updated` (the master: its
fields or pattern), one `occurrence_updated` / `occurrence_deleted` per occurrence, or one
`deleted` for the whole series. A series counts once for the mass-deletion guard.

Occurrences are named by their original date in the series' time zone (`occurrence`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.core.changes import NewChange
from shared.core.mapping import FIELDS, normalize, values
from shared.core.timezones import zone


@dataclass(frozen=True)
class Series:
    """One series as a round sees it."""

    master_id: str
    master: dict[str, Any] | None  # the master as Graph has it now; None: the series is gone
    items: tuple[dict[str, Any], ...]  # the round's occurrences and exceptions of it (and removals)
    # Ours: what the booking product wants per original date (normalized fields), for echoes.
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Ours, at its first round: dates the booking's pattern has in the window that Outlook no
    # longer does (cancelled in Outlook before any round saw the series).
    missing: tuple[str, ...] = ()
    # Ours: changeKeys Graph answered our writes of its occurrences with (echoes, stale too).
    our_keys: frozenset[str] = frozenset()
    # Ours: per occurrence we wrote, the lastModifiedDateTime Graph answered our last write with,
    # and per original date what that write set (normalized fields).
    written_at: dict[str, str] = field(default_factory=dict)
    written: dict[str, dict[str, Any]] = field(default_factory=dict)


def occurrence_date(item: dict[str, Any], master: dict[str, Any] | None, fallback: str | None = None) -> str | None:
    """The original date of an occurrence, in the series' time zone (YYYY-MM-DD). delta sends a
    plain occurrence bare, without `originalStart` (docs-contrib issues #34, #5602): one that
    was never changed starts at its original time."""
    original = item.get("originalStart")
    if not original and item.get("type") == "occurrence":
        original = (item.get("start") or {}).get("dateTime")
    if not original:
        return fallback
    at = datetime.fromisoformat(str(original)[:19] + "+00:00")  # UTC (Graph's `…Z`, 7 digits or none)
    tz = "UTC"
    if master is not None:
        tz = (
            ((master.get("recurrence") or {}).get("range") or {}).get("recurrenceTimeZone")
            or master.get("originalStartTimeZone")
            or "UTC"
        )
    try:
        local = at.astimezone(zone(tz))
    except Exception:  # an unknown zone name from Graph: UTC is still a stable key
        local = at.astimezone(UTC)
    return local.date().isoformat()


def cancelled_dates(master: dict[str, Any] | None) -> set[str]:
    """The original dates of a master's cancelled occurrences. `cancelledOccurrences` holds
    their occurrenceIds, `OID.{master id}.{YYYY-MM-DD}` (resources/event.md; beta event-get.md's
    example), the date in the series' time zone; read only where Graph was asked for it."""
    out: set[str] = set()
    for oid in (master or {}).get("cancelledOccurrences") or ():
        day = str(oid).rsplit(".", 1)[-1]
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            out.add(day)
    return out


def live_dates(series: Series) -> set[str | None]:
    """The original dates this round lists an occurrence or exception of."""
    return {occurrence_date(i, series.master) for i in series.items if not _gone(i)}


def _fields(item: dict[str, Any], master: dict[str, Any] | None) -> dict[str, Any]:
    """An occurrence's comparable fields. delta sends a plain occurrence bare (id, type,
    start, end: docs-contrib issues #34, #5602), so the rest is its master's; an exception
    comes in full."""
    own = normalize(item)
    if "subject" in item or master is None:
        return own
    return {**normalize(master), "start": own["start"], "end": own["end"], "isCancelled": own["isCancelled"]}


def series_content(master: dict[str, Any]) -> dict[str, Any]:
    """The comparable fields of a master, with its pattern."""
    return {**normalize(master), "recurrence": master.get("recurrence")}


def occurrence_changes(
    series: Series,
    prior_of: dict[str, Any],
    change: Any,
    *,
    first_sight: bool,
    as_series: bool = False,
    reported: frozenset[str] = frozenset(),
    master_before: dict[str, Any] | None = None,
    ours: bool = False,
    series_writes: tuple[dict[str, Any], ...] = (),
) -> tuple[list[NewChange], list[tuple[str, str | None, dict[str, Any]]], list[str]]:
    """The occurrence-level changes of a known series: (changes, snapshots to keep as
    (event id, changeKey, content), event ids to forget). `prior_of`: event id → its
    snapshot (`Seen`) if any; `change(kind, event_id, data)` builds a NewChange.
    `as_series`: an occurrence that is as its series has it (its original time, the
    master's fields) is no change either — our series in oneWay, where calsync puts edited
    occurrences back so. `reported`: dates whose deletion was reported from the master's
    cancelledOccurrences already (a removal seen later is no news). An exception keeps only
    what it changed ([MS-OXOCAL] ExceptionInfo), so a change of the series reaches it: a field
    that followed its series (as the series was before, and is now: `master_before`) is the
    series' change, not the occurrence's; and for `ours`, a field that is as the series has it
    now, or as one of our writes of the series set it (`series_writes`: delta may read the
    exception before or after the master), where the booking product set nothing else for that
    date, is no news either."""
    changes: list[NewChange] = []
    keep: list[tuple[str, str | None, dict[str, Any]]] = []
    forget: list[str] = []
    # A re-timed series lists each occurrence under a new id and the old ids as removed: an
    # occurrence whose date is still there was moved with its series, not cancelled.
    live = live_dates(series)
    for item in series.items:
        event_id = item["id"]
        prior = prior_of.get(event_id)
        day = occurrence_date(item, series.master, prior.content.get("occurrence") if prior else None)
        if _gone(item):
            forget.append(event_id)
            wanted = series.overrides.get(day or "", {})
            if day and day not in live and day not in reported and not wanted.get("cancelled") and not first_sight:
                changes.append(change("occurrence_deleted", event_id, {"occurrence": day}))
            continue
        content = {
            **_fields(item, series.master),
            "series": series.master_id,
            "occurrence": day,
            "exception": item.get("type") == "exception",
        }
        if prior is not None and prior.change_key and prior.change_key == item.get("changeKey"):
            continue
        keep.append((event_id, item.get("changeKey"), content))
        if series.overrides.get(day or "", {}).get("cancelled"):
            # Cancelled by the booking product: a read from before our deletion (our own
            # earlier write of it, say), or an edit of what is going away either way.
            continue
        if first_sight or item.get("type") != "exception" or item.get("changeKey") in series.our_keys:
            # A plain occurrence is what its series says: a change of it is the series'
            # (reported, or known for our own write, at the master).
            continue
        # A new exception is compared with the occurrence as its series has it now (a plain
        # occurrence's snapshot is the series as it was; a change of the series since, ours
        # included, is the series'), with our own exception of that date over it (a move back
        # to the series' time is news).
        override = series.overrides.get(day or "", {})
        exception_before = prior is not None and bool(prior.content.get("exception"))
        before = (
            prior.content if exception_before else (_as_series(item, series.master) or (prior.content if prior else {}))
        )
        if not exception_before and before:
            before = {**before, **{f: v for f, v in override.items() if f in before}}
        changed = [f for f in FIELDS if f in before and content[f] != before[f]] if before else list(FIELDS)
        last_write = series.written.get(day or "", {})
        if _after(item, series.written_at.get(event_id)):
            # Changed after our last write of it: what differs from that write is news, even
            # where it equals a snapshot taken before the write.
            changed += [f for f in FIELDS if f in last_write and f not in changed and content[f] != last_write[f]]
        wanted = series.overrides.get(day or "", {})
        if as_series:
            wanted = {**_as_series(item, series.master), **wanted}
        if ours:
            # A value the series had (before this round, now, or as one of our writes set it),
            # where the booking product set nothing else for the date: it reached the exception
            # from its series (a person's series edit is reported, or put back, at the master).
            had = [*series_writes, master_before or {}, _inheritable(series.master)]
            inherited = [f for f in INHERITABLE if f not in override and any(w.get(f) == content[f] for w in had)]
            changed = [f for f in changed if f not in inherited]
        if exception_before and master_before is not None and series.master is not None:
            now = normalize(series.master)
            changed = [
                f
                for f in changed
                if not (f in INHERITABLE and before.get(f) == master_before.get(f) and content[f] == now[f])
            ]
        # What is as our own exception (or the occurrence we put back) says is not Outlook's.
        changed = [f for f in changed if f not in wanted or wanted[f] != content[f]]
        if changed:
            changes.append(
                change("occurrence_updated", event_id, {"occurrence": day, **values(content), "changed": changed})
            )
    return changes, keep, forget


def _after(item: dict[str, Any], written_at: str | None) -> bool:
    """Whether Graph last changed `item` after our last write of it."""
    modified = item.get("lastModifiedDateTime")
    return bool(written_at and modified) and utc_instant(str(modified), precise=True) > utc_instant(
        str(written_at), precise=True
    )


INHERITABLE = ("title", "location", "body")  # what an exception takes from its series unless it changed it


def _inheritable(master: dict[str, Any] | None) -> dict[str, Any]:
    base = normalize(master) if master is not None else {}
    return {f: base[f] for f in INHERITABLE if f in base}


def _as_series(item: dict[str, Any], master: dict[str, Any] | None) -> dict[str, Any]:
    """The fields an occurrence has when nobody changed it: its master's, at its original time."""
    original = item.get("originalStart")
    if master is None or not original:
        return {}
    base = normalize(master)
    same = {k: base[k] for k in ("title", "location", "body", "isPrivate")}
    if base["isAllDay"]:
        return same
    start = utc_instant(original)
    end = start + (utc_instant(base["end"]) - utc_instant(base["start"]))
    return {**same, "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": end.strftime("%Y-%m-%dT%H:%M:%SZ")}


def utc_instant(value: Any, precise: bool = False) -> datetime:
    """A UTC time as Graph writes it (`…Z`, fractions, or none) → an aware datetime (to the
    second, or to the microsecond if `precise`)."""
    text = str(value).replace("Z", "").split("+")[0]
    whole, _, fraction = text.partition(".")
    micro = f".{(fraction + '000000')[:6]}" if precise else ""
    return datetime.fromisoformat(whole[:19] + micro + "+00:00")


def _gone(item: dict[str, Any]) -> bool:
    return "@removed" in item or bool(item.get("isCancelled"))
