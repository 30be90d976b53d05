"""The gather step for recurring series: a round's occurrences grouped by series, each
master read once, what we know of it, and (for our series) the exceptions we wrote."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.adapters.inbound_records import MeetingClaim, SeenEvent
from shared.adapters.records import Appointment, EventRef, Org, Target
from shared.core import delta_window, inbound
from shared.core.errors import InvalidInput
from shared.core.inbound_series import Series, occurrence_date
from shared.core.mapping import GRAPH_FIELDS, written_content
from shared.core.recurrence import occurrence_dates, parse_recurrence
from shared.core.timezones import to_utc
from shared.service.event_lookup import know
from shared.service.people import RoundPeople, addresses_of_contents, addresses_of_items
from shared.service.ports import Services


async def gather_series(
    services: Services,
    org: Org,
    mailbox: str,
    items: list[dict[str, Any]],
    seen: dict[str, inbound.Seen],
    fresh: bool,
    window: tuple[datetime, datetime] | None = None,
    unseen: list[str] | None = None,
    changed: list[str] | None = None,
    *,
    found: RoundPeople,
) -> tuple[list[dict[str, Any]], tuple[Series, ...], dict[str, inbound.Known]]:
    """Split the round: (single events, series, what we know of each series' master). The
    masters' snapshots are added to `seen`. `unseen`: masters of our series no round has read
    yet (MailboxLink.unseen_series), and `changed`: masters Graph changed since their snapshot
    (changed_masters) — an edit of a master alone, or a deleted occurrence, may show in no delta
    item: read each."""
    groups: dict[str, list[dict[str, Any]]] = {}
    singles: list[dict[str, Any]] = []
    for item in items:
        prior = seen.get(item["id"])
        if series_master(item, prior):
            groups.setdefault(item["id"], [])  # changed or deleted: its master's read says how
            continue
        master = item.get("seriesMasterId") or (prior.content.get("series") if prior else None)
        if master:
            groups.setdefault(master, []).append(item)
        else:
            singles.append(item)
    if fresh:
        # A fresh round lists every occurrence in the window: a series we know that shows
        # none may be gone (its master's read says), and an occurrence we saw that it does
        # not list was deleted or left the window (a GET says which, below) — a delta token
        # that expired after a deletion names nothing.
        listed = {item["id"] for item in items}
        for event_id, prior in seen.items():
            if "recurrence" in prior.content and event_id not in groups:
                groups[event_id] = []
        for event_id, prior in seen.items():
            master_id = prior.content.get("series")
            if master_id and event_id not in listed and not (window and delta_window.outside(prior.content, *window)):
                groups.setdefault(master_id, []).append({"id": event_id, "@removed": {"reason": "deleted"}})
    for master_id in [*(unseen or ()), *(changed or ())]:
        groups.setdefault(master_id, [])
    if not groups:
        return singles, (), {}
    tenant = org.m365_tenant_id
    people, users = found.people, found.users  # filled below with what each series names
    series: list[Series] = []
    known: dict[str, inbound.Known] = {}
    for master_id, members in groups.items():
        if master_id not in seen:  # an incremental round read only its items' snapshots
            row = await services.store.get(SeenEvent, mailbox=mailbox, org=org.org, event_id=master_id)
            if row is not None:
                seen[master_id] = inbound.Seen(row.event_id, row.appointment, row.role, row.change_key, row.content)
        master = await services.graph.get_series_master(tenant, mailbox, master_id)
        confirmed = []
        for item in members:
            # Graph also says @removed for an occurrence that left the window: only a 404
            # makes it cancelled (event-delta.md).
            removal = "@removed" in item and master is not None
            if removal and await services.graph.get_event(tenant, mailbox, item["id"]) is not None:
                continue
            confirmed.append(item)
        prior = seen.get(master_id)
        await found.learn(
            addresses_of_items([master, *confirmed] if master else confirmed)
            | addresses_of_contents(
                s.content for e, s in seen.items() if e == master_id or s.content.get("series") == master_id
            )
        )
        # Our series whose index we dropped: our own deletion, unless the target still names it.
        before = prior.appointment if prior is not None and prior.role == "ours" else None
        k = await know(services, org, mailbox, master_id, master, people, users, before)
        ical = prior.content.get("iCalUId") if prior is not None and master is None else None
        if ical:  # the series is gone: whether this calendar's copy is the one that reports it
            claim = await services.store.get(MeetingClaim, org=org.org, kind="meeting", ical_uid=ical)
            if claim is not None and claim.mailbox == mailbox:
                k = inbound.Known(outlook=claim.appointment)
        known[master_id] = k
        appt = await services.store.get(Appointment, org=org.org, appointment=k.ours) if k.ours else None
        overrides = _ours(appt) if appt is not None else {}
        missing: tuple[str, ...] = ()
        if appt is not None and master is not None and master_id not in seen and window is not None:
            live = [i for i in confirmed if "@removed" not in i]
            missing = await _missing(services, org, mailbox, master, appt, window, live)
        keys: set[str] = set()
        written_at: dict[str, str] = {}
        if k.ours:
            for item in confirmed:
                if "@removed" not in item:
                    ref = await services.store.get(EventRef, mailbox=mailbox, event_id=item["id"])
                    if ref is not None and ref.org == org.org:
                        keys.update(ref.keys)
                        if ref.written_at:
                            written_at[item["id"]] = ref.written_at
        written = await _written(services, org, mailbox, k.ours) if written_at else {}
        series.append(
            Series(master_id, master, tuple(confirmed), overrides, missing, frozenset(keys), written_at, written)
        )
    return singles, tuple(series), known


async def changed_masters(services: Services, org: Org, mailbox: str, since: datetime) -> list[str]:
    """Series masters Graph changed since `since` whose snapshot has another changeKey. A
    deleted occurrence may leave no sign in delta (microsoft-graph-docs PR #4501), but it
    changes its master (its cancelledOccurrences); delta lists no master unless it chooses to
    (docs-contrib issue #3196), /events lists them (resources/event.md, "List events")."""
    out: list[str] = []
    for item in await services.graph.changed_since(org.m365_tenant_id, mailbox, since):
        if item.get("type") != "seriesMaster":
            continue  # a single event's change comes in delta
        row = await services.store.get(SeenEvent, mailbox=mailbox, org=org.org, event_id=item["id"])
        if row is not None and row.change_key != item.get("changeKey"):
            out.append(item["id"])
    return out


def series_master(item: dict[str, Any], prior: inbound.Seen | None) -> bool:
    """A delta item naming a series master: calendarView delta may list a changed master
    itself, with its first occurrence's start and end, also from before the window
    (docs-contrib issue #3196), and its deletion as `@removed` (known by our snapshot)."""
    return item.get("type") == "seriesMaster" or (prior is not None and "recurrence" in prior.content)


async def _missing(
    services: Services,
    org: Org,
    mailbox: str,
    master: dict[str, Any],
    appt: Appointment,
    window: tuple[datetime, datetime],
    listed: list[dict[str, Any]],
) -> tuple[str, ...]:
    """Our series at its first round: the dates its pattern has in the window that Outlook's
    instances lack (cancelled there before any round saw them: delta names no occurrence
    it never listed), less those the booking product cancelled itself."""
    if appt.recurrence is None:
        return ()
    start, end = window
    try:
        pattern = parse_recurrence(appt.recurrence)
    except InvalidInput:
        return ()
    expected: set[str] = set()
    for day in occurrence_dates(pattern):
        if day > end.date():
            break
        if day >= start.date():
            expected.add(day.isoformat())
    if not expected:
        return ()
    found = await services.graph.instances(org.m365_tenant_id, mailbox, master["id"], start, end)
    # What this round's delta listed counts too: deleted between the two reads, its removal
    # comes in a later round (once).
    present = {occurrence_date(i, master) for i in [*found, *listed]}
    ours = {day for day, o in appt.occurrences.items() if o.get("cancelled")}
    return tuple(sorted(expected - present - ours))


async def _written(services: Services, org: Org, mailbox: str, appointment: str | None) -> dict[str, dict[str, Any]]:
    """What our last write of each exception set, per original date (normalized fields)."""
    target = await services.store.get(Target, org=org.org, appointment=appointment or "", mailbox=mailbox)
    out: dict[str, dict[str, Any]] = {}
    for day, patch in (target.occurrences if target is not None else {}).items():
        if not isinstance(patch, dict) or patch.get("restore") or patch.get("cancelled"):
            continue
        content = written_content(patch)
        out[day] = {f: content[f] for f, g in GRAPH_FIELDS.items() if g in patch and f in content}
    return out


def _ours(appt: Appointment) -> dict[str, dict[str, Any]]:
    """The exceptions we wrote to our series, as the fields a delta item shows (echoes)."""
    out: dict[str, dict[str, Any]] = {}
    for day, override in appt.occurrences.items():
        fields: dict[str, Any] = {}
        for key, value in override.items():
            if key in ("start", "end"):
                fields[key] = to_utc(datetime.fromisoformat(value), appt.time_zone).strftime("%Y-%m-%dT%H:%M:%SZ")
            else:
                fields[key] = value
        out[day] = fields
    return out
