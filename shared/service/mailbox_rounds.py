"""Outlook → booking, the imperative shell: one delta round for one mailbox.

Gather (the delta round, what we know of each event: shared.service.event_lookup), plan
(`shared.core.inbound`, pure), apply (stage the snapshots and the work after the commit,
hold the guard's deletions, commit changes + the new deltaLink atomically to the feed, then
carry out the staged work: shared.service.snapshots). A round that
loses a race to another round of the same mailbox raises ConcurrencyConflict and is
retried, re-reading from the deltaLink that won: the same change is never committed twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.inbound_records import DeltaState, MeetingClaim, SeenEvent
from shared.adapters.records import EventRef, MailboxLink, Org
from shared.core import delta_window, inbound, metric_names
from shared.core.errors import (
    ConcurrencyConflict,
    ConsentRequired,
    DeltaTokenExpired,
    GraphNotFound,
    GraphRejected,
    MailboxNotEnabled,
)
from shared.core.logcontext import log_context
from shared.core.mapping import normalize
from shared.core.org_settings import SyncMode
from shared.service import feed, round_marks, snapshots, webhooks
from shared.service.coalescing import began_here, covered, remember_began
from shared.service.event_lookup import know
from shared.service.held_deletions import hold
from shared.service.links import load_link, save_link_fields, update_link
from shared.service.meeting_claims import hand_over
from shared.service.people import RoundPeople, addresses_of_contents, addresses_of_items
from shared.service.ports import Services
from shared.service.round_targets import mark_lost, note_responses, restore
from shared.service.series_lookup import changed_masters, gather_series, series_master

log = logging.getLogger("calsync.inbound")
# An idle round keeps the stored deltaLink unless it is this old: a reused token reads the
# same (empty) changes, and one refreshed hourly is far younger than Graph evicts them
# (GRAPH-FACTS.md §2.4: lifetime depends on the delta token cache, older ones evicted).
KEEP_DELTA_LINK = timedelta(hours=1)
# How far before the last round a round asks which masters changed: our clock and Graph's
# may differ, and a master listed twice is compared by changeKey, so overlap costs nothing.
MASTERS_LOOKBACK = timedelta(minutes=10)


# A batch's deferred link stamps: (org, kind, owner) → the link as read, stamped, and the stamp.
Stamps = dict[tuple[str, str, str], tuple[MailboxLink, Callable[[MailboxLink], None]]]


@dataclass(frozen=True)
class RoundResult:
    changes: int
    held: int
    items: int
    fresh: bool
    covered: bool = False  # not run: a round that began after the notification read its change


COVERED = RoundResult(0, 0, 0, False, covered=True)  # a message a round that began after it read

_running: dict[tuple[str, str, str], asyncio.Event] = {}
_again: set[tuple[str, str, str]] = set()
_marked: set[tuple[str, str, str]] = set()  # a merged request carried a QueuedRound mark


async def run(
    services: Services,
    org_id: str,
    kind: str,
    owner: str,
    *,
    notified_at: datetime | None = None,
    marked: bool = False,
    read: tuple[Org, MailboxLink | None] | None = None,
    stamps: Stamps | None = None,
) -> RoundResult | None:
    """Rounds for one mailbox, coalesced: a notification (`notified_at`) that a round which
    began after it has read needs none (known here, or from the link's stamp, whichever
    instance ran it); a request that arrives while a round runs makes that round go once
    more instead of racing it. A race with another instance is retried here a few times,
    then left to the queue. A `marked` request's mark (shared.service.round_marks, written
    by acknowledgements before 2026-12-07) is cleared before the delta is read. `read`: the
    org and link as a batch just read them (shared.service.reconcile_rounds), for the first
    try; `stamps`: that batch's, where an idle round leaves its link's stamp to be written
    with the others' in one transaction."""
    key = (org_id, kind, owner)
    if marked:
        _marked.add(key)
    if covered(began_here(key), notified_at):
        if marked:  # an old acknowledgement's mark still goes
            _marked.discard(key)
            await round_marks.started(services, org_id, kind, owner)
        services.metrics.add(metric_names.ROUNDS, kind=kind, outcome="covered")
        return COVERED
    if key in _running:
        _again.add(key)
        return None
    _running[key] = asyncio.Event()
    try:
        result = None
        while True:
            _again.discard(key)
            if key in _marked:
                _marked.discard(key)
                await round_marks.started(services, org_id, kind, owner)
            for attempt in range(3):
                try:
                    result = await _round(services, org_id, kind, owner, notified_at, read, stamps)
                    break
                except ConcurrencyConflict as exc:
                    read = None  # read again what another writer changed
                    services.metrics.add(metric_names.ROUNDS, kind=kind, outcome="conflict")
                    log.info("round lost a race (%s): %s", exc.message, "again" if attempt < 2 else "left to the queue")
                    if attempt == 2:
                        services.metrics.add(metric_names.ROUNDS, kind=kind, outcome="failed")
                        raise
                except Exception:
                    services.metrics.add(metric_names.ROUNDS, kind=kind, outcome="failed")
                    raise
            outcome = "skipped" if result is None else "covered" if result.covered else "ok"
            services.metrics.add(metric_names.ROUNDS, kind=kind, outcome=outcome)
            if key not in _again:
                return result
    finally:
        _running.pop(key).set()


async def _round(
    services: Services,
    org_id: str,
    kind: str,
    owner: str,
    notified_at: datetime | None = None,
    read: tuple[Org, MailboxLink | None] | None = None,
    stamps: Stamps | None = None,
) -> RoundResult | None:
    """One round for the mailbox of worker/resource `owner`; None if it is not linked."""
    store = services.store
    if read is not None:
        org, link = read
    else:
        link = await load_link(services, org_id, kind, owner)
        if link is not None and covered(link.round_began_at, notified_at):  # another instance's round read it
            return COVERED
        org = await store.get(Org, org=org_id) if link is not None else None
    if org is None or link is None or link.status != "linked" or not link.m365_user_id:
        return None
    if org.config.sync_mode is SyncMode.OFF:
        return None  # off: no reads either; the deltaLink waits, so turning on reports what happened
    mailbox = link.m365_user_id
    with log_context(org=org_id, mailbox=link.account, operation="mailbox_sync"):
        state = await store.get(DeltaState, org=org_id, kind="delta", mailbox=mailbox) or DeltaState(
            org=org_id, mailbox=mailbox, owner_kind=kind, owner_id=owner, series=False
        )
        began = services.clock.now()
        try:
            delta = await _read_delta(services, org, mailbox, state)
        except (MailboxNotEnabled, ConsentRequired, GraphNotFound) as exc:
            # Not something a retry fixes (a licence removed, consent revoked, user deleted):
            # the link says so, with Graph's reason, until an admin acts.
            code = "account_not_found" if isinstance(exc, GraphNotFound) else exc.code
            log.warning("delta round failed: %s", exc.message)
            await save_link_fields(services, link, status="error", error_code=code, error_message=exc.message)
            return None
        items, new_link, fresh = delta.items, delta.link, delta.fresh
        found = RoundPeople(services, org)  # the linked people this round's events name
        if state.staged and (rest := await snapshots.leftover(services, mailbox, state.staged)):
            # The round that committed it stopped short: finish its work before reading snapshots.
            done, nudge = snapshots.effects(rest)
            await _after_commit(services, org, mailbox, done, nudge)
            await snapshots.move(services, rest)
        seen, known, left_window, items = await _gather(services, org, mailbox, delta, found)
        unseen = list(link.unseen_series)
        changed: list[str] = []
        if state.series and not fresh and state.last_sync_at is not None:  # fresh: reads every series it knows
            changed = await changed_masters(services, org, mailbox, state.last_sync_at - MASTERS_LOOKBACK)
        items, series, series_known = await gather_series(
            services, org, mailbox, items, seen, fresh, (delta.start, delta.end), unseen, changed, found=found
        )
        box = inbound.Mailbox(org_id, kind, owner, mailbox, bool(getattr(link, "restricted", False)))
        settings = org.config
        mapped = None
        if not fresh and sum(1 for i in items if "@removed" in i or i.get("isCancelled")) > inbound.GUARD_MIN_DELETIONS:
            # Enough deletions to wake the guard: it needs the mailbox's whole mapped count.
            mapped = sum(
                [
                    1
                    async for s in store.query(SeenEvent, mailbox=mailbox, row_prefix={"org": org_id})
                    if s.role in ("ours", "created") and not s.content.get("series")
                ]
            )
        result = inbound.plan(
            box,
            items,
            known,
            seen,
            settings,
            full_round=fresh,
            people=found.people,
            mapped=mapped,
            left_window=left_window,
            series=series,
            series_known=series_known,
        )

        await hand_over(services, org, mailbox, result, seen, found)
        for ical_uid, appointment in result.claims.items():
            # Another mailbox's round that claimed it first wins: this round is retried and
            # then sees a copy (ConcurrencyConflict).
            await store.insert(MeetingClaim(org=org_id, ical_uid=ical_uid, appointment=appointment, mailbox=mailbox))
        now = services.clock.now()
        stale = not state.etag or not state.last_sync_at or now - state.last_sync_at >= KEEP_DELTA_LINK
        staged = snapshots.staged_rows(org_id, mailbox, snapshots.new_round(), result)
        idle = not (items or fresh or result.changes or stale or staged)
        if not idle:
            state.delta_link, state.last_sync_at, state.rounds = new_link, now, state.rounds + 1
            state.window_start, state.window_end = delta.start, delta.end
            state.owner_kind, state.owner_id = kind, owner
            state.series = state.series or any("recurrence" in s.content for s in result.upsert)
            if staged:
                # Staged first, made valid by the commit: a crash after the commit loses none
                # (shared.service.snapshots).
                await snapshots.stage(services, staged)
                state.staged = staged[0].round
            if result.held:
                await hold(services, org, link, result.held)  # idempotent: a retried round holds the same
            try:
                await feed.commit(store, org_id, result.changes, state)  # ConcurrencyConflict → retried
            except ConcurrencyConflict:
                await snapshots.discard(services, staged)
                raise
        # else idle (no items, no changes — a round can report changes without items, e.g. a
        # meeting another mailbox's round handed over): the stored deltaLink still reads from
        # where this one does, so it is kept and nothing is written but the link's stamp.
        synced_at = now

        def stamp(current: MailboxLink) -> None:
            current.last_sync_at = synced_at
            if current.round_began_at is None or began > current.round_began_at:
                current.round_began_at = began
            if unseen:  # read by this round: seen now, or reported gone
                current.unseen_series = [m for m in current.unseen_series if m not in unseen]
            if notified_at is not None and (
                current.last_notification_at is None or notified_at > current.last_notification_at
            ):
                current.last_notification_at = notified_at

        if idle and stamps is not None and link.etag:
            # Nothing else to write: the batch writes this stamp with its other idle rounds'.
            stamp(link)
            stamps[(org_id, kind, owner)] = (link, stamp)
        else:
            await update_link(services, link, stamp, as_read=True)
        remember_began((org_id, kind, owner), began)
        await _after_commit(services, org, mailbox, result, bool(result.changes))
        await snapshots.move(services, staged)
        if staged:
            snapshots.finished(mailbox, staged[0].round)
        if result.changes:
            log.info("%d change(s) from %d item(s)", len(result.changes), len(items))
        _measure(services, kind, len(items), result, notified_at, now)
        return RoundResult(len(result.changes), len(result.held), len(items), fresh)


def _measure(
    services: Services, kind: str, items: int, result: inbound.Plan, notified_at: datetime | None, now: datetime
) -> None:
    metrics = services.metrics
    metrics.record(metric_names.ROUND_ITEMS, items, kind=kind)
    metrics.add(metric_names.ECHOES, result.echoes, kind=kind)
    for change in result.changes:
        metrics.add(metric_names.CHANGES, type=change.type)
    if result.changes and notified_at is not None:
        metrics.record(metric_names.FEED_LATENCY, max(0.0, (now - notified_at).total_seconds()), kind=kind)


async def _after_commit(services: Services, org: Org, mailbox: str, result: inbound.Plan, nudge: bool) -> None:
    """A committed round's writes elsewhere (staged with its snapshots, so a crash loses none)."""
    if result.restore or result.restore_occurrences:
        await restore(services, org, mailbox, result)
    for appointment, event_id in result.lost:
        await mark_lost(services, org, mailbox, appointment, event_id)
    for appointment, answers in result.responses.items():
        await note_responses(services, org, mailbox, appointment, answers)
    if nudge:
        await webhooks.nudge(services, org)


@dataclass
class _Delta:
    items: list[dict[str, Any]]
    link: str
    fresh: bool
    start: datetime
    end: datetime


async def _read_delta(services: Services, org: Org, mailbox: str, state: DeltaState) -> _Delta:
    """This round's delta items: from the stored deltaLink, or a fresh round over a new
    window when there is none, when the window is due to roll, or when Graph no longer
    honours the link (any expiry code, or another 400 on a stored link)."""
    settings, now = services.settings, services.clock.now()
    back, ahead = settings.delta_days_back, settings.delta_days_ahead
    link = state.delta_link
    if link and delta_window.roll_due(state.window_start, state.window_end, now, back, ahead):
        log.info("delta window due to roll; starting a fresh round")
        link = None
    if link and state.window_start and state.window_end:
        try:
            items, new_link = await services.graph.delta(
                org.m365_tenant_id, mailbox, link, state.window_start, state.window_end
            )
            return _Delta(delta_window.last_of_each(items), new_link, False, state.window_start, state.window_end)
        except DeltaTokenExpired:
            log.info("delta token expired; starting a fresh round")
        except GraphRejected as exc:
            if exc.graph_status != 400:
                raise
            log.warning("Graph refused the stored delta link (%s); starting a fresh round", exc.graph_code)
    start, end = delta_window.window(now, back, ahead)
    items, new_link = await services.graph.delta(org.m365_tenant_id, mailbox, None, start, end)
    return _Delta(delta_window.last_of_each(items), new_link, True, start, end)


async def _gather(
    services: Services, org: Org, mailbox: str, delta: _Delta, found: RoundPeople
) -> tuple[dict[str, inbound.Seen], dict[str, inbound.Known], frozenset[str], list[dict[str, Any]]]:
    """Snapshots and what we know of each event; removals of events we know confirmed.

    Graph sends `@removed` also for an event moved out of, or changed outside, the window
    (event-delta.md): a GET tells whether it is really gone (404) or what it is now. A fresh
    round does not list what lies outside its window: such events left it, they were not
    deleted."""
    store, org_id, items = services.store, org.org, delta.items
    # An idle round reads nothing more: a fresh round needs every snapshot (to find
    # deletions), an incremental one only those of the items it got.
    if delta.fresh:
        rows = [s async for s in store.query(SeenEvent, mailbox=mailbox, row_prefix={"org": org_id})]
    else:
        rows = [
            s for item in items if (s := await store.get(SeenEvent, mailbox=mailbox, org=org_id, event_id=item["id"]))
        ]
    seen = {
        s.event_id: inbound.Seen(s.event_id, s.appointment, s.role, s.change_key, s.content)
        for s in rows
        if s.org == org_id
    }
    # The linked people these events name, now and as we saw them: one point read each.
    await found.learn(addresses_of_items(items) | addresses_of_contents(s.content for s in seen.values()))
    known: dict[str, inbound.Known] = {}

    async def learn(item: dict[str, Any] | None, event_id: str) -> None:
        if item is not None and (item.get("seriesMasterId") or _occurrence(seen.get(event_id))):
            return  # an occurrence: known through its series (shared.service.series_lookup)
        prior = seen.get(event_id)
        before = prior.appointment if prior is not None and prior.role == "ours" else None
        known[event_id] = await know(services, org, mailbox, event_id, item, found.people, found.users, before)

    confirmed: list[dict[str, Any]] = []
    for item in items:
        if series_master(item, seen.get(item["id"])):
            confirmed.append(item)  # its series is read as a whole (shared.service.series_lookup)
            continue
        if "@removed" in item and item["id"] not in seen:
            # An exception we wrote whose snapshot went with its series: its removal is the
            # series' to judge (already reported, or gone with it), never an event of its own.
            ref = await store.get(EventRef, mailbox=mailbox, event_id=item["id"])
            if ref is not None and ref.series and ref.org == org_id:
                item = {**item, "seriesMasterId": ref.series}
        await learn(item, item["id"])
        removal = "@removed" in item and not _occurrence(seen.get(item["id"]))
        if removal and (item["id"] in seen or known.get(item["id"], inbound.Known()).ours):
            current = await services.graph.get_event(org.m365_tenant_id, mailbox, item["id"])
            if current is not None:
                item = current  # not deleted: moved or changed outside the window
                await learn(item, item["id"])
        confirmed.append(item)
    left: set[str] = set()
    if delta.fresh:
        present = {item["id"] for item in confirmed}
        # Events we wrote that no round has seen yet (deleted in Outlook before one did, the
        # token then expired): a fresh round must find their deletion too.
        async for ref in store.query(EventRef, mailbox=mailbox):
            if ref.org != org_id or not ref.when or ref.event_id in present or ref.event_id in seen:
                continue
            if not delta_window.outside(ref.when, delta.start, delta.end):
                seen[ref.event_id] = inbound.Seen(ref.event_id, ref.appointment, "ours", ref.change_key, ref.when)
        for event_id, prior in seen.items():
            if event_id in present or _occurrence(prior) or "recurrence" in prior.content:
                continue  # occurrences and series masters: their series decides
            if delta_window.outside(prior.content, delta.start, delta.end):
                left.add(event_id)
                continue
            current = await services.graph.get_event(org.m365_tenant_id, mailbox, event_id)
            if current is None:
                await learn(None, event_id)
            elif delta_window.outside(normalize(current), delta.start, delta.end):
                left.add(event_id)
            else:
                confirmed.append(current)
                await learn(current, event_id)
    return seen, known, frozenset(left), confirmed


def _occurrence(prior: inbound.Seen | None) -> bool:
    return prior is not None and bool(prior.content.get("series"))
