"""A round's snapshots (SeenEvent), written so that a crash cannot separate them from its commit.

The changes and the new deltaLink commit in the feed's partition; the snapshots live in the
mailbox's partition of another table, so the two cannot share a transaction. Written after
the commit, a round killed in between left changes reported whose snapshots were never
written: the delta never lists those events again, and a later deletion of one found
nothing known and was dropped (the soak's lost deletions). Written before it, a round
that then fails would hide its own changes from its retry.

So a round stages them (StagedSnapshot rows under a fresh round id, invisible to readers),
commits naming that id (DeltaState.staged), then moves them into SeenEvent. The next round
of the mailbox first finishes a move a dead instance left undone. Each staged row moves in
one transaction with its own deletion, so a slow first mover cannot overwrite what a later
round wrote after finishing the move for it.

The round's other writes after its commit — oneWay's restores, targets whose event Outlook
deleted, attendees' answers, the webhook nudge — are staged the same way, one row per
appointment (`effects`), and carried out again by the round that finishes the move.

A round that finds staged rows cannot tell a dead round from one still finishing on another
instance, so all of this is safe to do twice: each row moves with its own deletion; a
restore or a lost event acts only while the target is still on the event it names
(shared.service.round_targets); answers and the nudge are the same the second time.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from shared.adapters.inbound_records import STAGE, SeenEvent, StagedSnapshot
from shared.core import inbound
from shared.core.errors import ConcurrencyConflict, StoreError, StoreUnavailable
from shared.service.ports import Services

log = logging.getLogger("calsync.inbound")
PAIRS_PER_TRANSACTION = 50  # two operations each: ≤ 100
# No Graph event id starts with a control character: a row of effects, never a snapshot.
EFFECTS = "\x01effects:"
FINISHED_KEPT = 10_000
_finished: set[tuple[str, str]] = set()  # (mailbox, round) whose staged rows this process saw moved


def new_round() -> str:
    return uuid.uuid4().hex


def staged_rows(org_id: str, mailbox: str, round_id: str, result: inbound.Plan) -> list[StagedSnapshot]:
    """What the plan writes (`upsert`), drops (`forget`) and does after its commit, as staged rows."""
    rows = [
        StagedSnapshot(
            mailbox=mailbox,
            round=round_id,
            org=org_id,
            event_id=s.event_id,
            appointment=s.appointment,
            role=s.role,
            change_key=s.change_key,
            content=s.content,
        )
        for s in {s.event_id: s for s in result.upsert}.values()  # the last word on each event
    ]
    kept = {r.event_id for r in rows}
    rows += [
        StagedSnapshot(mailbox=mailbox, round=round_id, org=org_id, event_id=e, forget=True)
        for e in dict.fromkeys(result.forget)
        if e not in kept
    ]
    rows += [
        StagedSnapshot(mailbox=mailbox, round=round_id, org=org_id, event_id=EFFECTS + a, role="effects", content=e)
        for a, e in _effects(result).items()
    ]
    return rows


def _effects(result: inbound.Plan) -> dict[str, dict[str, Any]]:
    """The plan's work after the commit, per appointment ("" for the webhook nudge)."""
    out: dict[str, dict[str, Any]] = {}
    for appointment, deleted in result.restore:
        out.setdefault(appointment, {})["restore"] = deleted
        out[appointment]["fields"] = list(result.restore_fields.get(appointment, ()))
    for appointment, days in result.restore_occurrences.items():
        out.setdefault(appointment, {})["occurrences"] = days
    for appointment, event_id in result.restore_events.items():
        out.setdefault(appointment, {})["event"] = event_id
    for appointment, event_id in result.lost:
        out.setdefault(appointment, {}).setdefault("lost", []).append(event_id)
    for appointment, answers in result.responses.items():
        out.setdefault(appointment, {})["responses"] = answers
    if result.changes:
        out[""] = {"nudge": True}
    return out


def effects(rows: list[StagedSnapshot]) -> tuple[inbound.Plan, bool]:
    """The staged work after a commit, as the part of a plan that says it; and whether to nudge."""
    plan, nudge = inbound.Plan(), False
    for row in rows:
        if row.role != "effects":
            continue
        appointment, effect = row.event_id[len(EFFECTS) :], row.content
        nudge = nudge or bool(effect.get("nudge"))
        if "restore" in effect:
            plan.restore.append((appointment, effect["restore"]))
            plan.restore_fields[appointment] = tuple(effect.get("fields") or ())
        if effect.get("event"):  # rows staged before 2026-12-07 name none
            plan.restore_events[appointment] = effect["event"]
        if "occurrences" in effect:
            plan.restore_occurrences[appointment] = effect["occurrences"]
        plan.lost += [(appointment, e) for e in effect.get("lost", ())]
        if "responses" in effect:
            plan.responses[appointment] = effect["responses"]
    return plan, nudge


async def stage(services: Services, rows: list[StagedSnapshot]) -> None:
    if rows:
        await services.store.submit([("upsert", r) for r in rows])


async def discard(services: Services, rows: list[StagedSnapshot]) -> None:
    """A round that lost its commit: its staged rows never take effect; drop them (best effort)."""
    for row in rows:
        await services.store.delete_key(
            StagedSnapshot, mailbox=row.mailbox, stage=STAGE, round=row.round, org=row.org, event_id=row.event_id
        )


async def leftover(services: Services, mailbox: str, round_id: str) -> list[StagedSnapshot]:
    """The staged rows a committed round left (none when it finished: the usual case)."""
    if (mailbox, round_id) in _finished:
        return []
    prefix = {"stage": STAGE, "round": round_id}
    rows = [r async for r in services.store.query(StagedSnapshot, mailbox=mailbox, row_prefix=prefix)]
    if rows:
        log.warning("finishing %d staged row(s) of a round that stopped after its commit (or is finishing)", len(rows))
    else:
        finished(mailbox, round_id)
    return rows


def finished(mailbox: str, round_id: str) -> None:
    """This process knows the round's staged rows are all moved: no need to look again."""
    if len(_finished) >= FINISHED_KEPT:
        _finished.clear()
    _finished.add((mailbox, round_id))


async def move(services: Services, rows: list[StagedSnapshot]) -> None:
    """Staged rows of a committed round → SeenEvent. A row another mover took already is skipped."""
    for row in rows:
        if row.forget:
            # A deletion is the same whoever makes it, and may find the row gone already.
            await services.store.delete_key(SeenEvent, mailbox=row.mailbox, org=row.org, event_id=row.event_id)
    for start in range(0, len(rows), PAIRS_PER_TRANSACTION):
        chunk = rows[start : start + PAIRS_PER_TRANSACTION]
        try:
            await services.store.submit([op for row in chunk for op in _pair(row)])
        except StoreUnavailable:
            raise  # not a row another mover took: the round fails, and is retried
        except (StoreError, ConcurrencyConflict):
            # Another mover took some of them (its deletion of a staged row makes ours fail):
            # one at a time, each of those failing alone.
            for row in chunk:
                try:
                    await services.store.submit(_pair(row))
                except StoreUnavailable:
                    raise
                except (StoreError, ConcurrencyConflict):
                    continue


def _pair(row: StagedSnapshot) -> list[tuple[Any, Any]]:
    ops: list[tuple[Any, Any]] = []
    if not row.forget and row.role != "effects":
        seen = SeenEvent(
            mailbox=row.mailbox,
            event_id=row.event_id,
            org=row.org,
            appointment=row.appointment,
            role=row.role,
            change_key=row.change_key,
            content=row.content,
        )
        ops.append(("upsert", seen))
    row.etag = None  # delete whatever is there: it fails only when the row is gone
    ops.append(("delete", row))
    return ops
