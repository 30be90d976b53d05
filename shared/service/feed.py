"""The change feed: inbound changes per org, ordered, durable, read by cursor.

All rows of an org's feed live in one partition of one table: a counter, the changes, each
mailbox's delta state and the webhook cursor. A mailbox round commits its changes, the
counter and its new deltaLink in one entity-group transaction, conditional on the etags it
read — so a change is visible exactly when its sequence number is, a concurrent round on
the same mailbox loses the race instead of writing the same change twice, and a reader
never skips a number that is committed later.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from typing import Any

from shared.adapters.entity import Entity
from shared.adapters.inbound_records import FeedChange, FeedCounter
from shared.core.changes import NewChange, encode_cursor
from shared.core.errors import ConcurrencyConflict
from shared.service.ports import Store

log = logging.getLogger("calsync.inbound")

MAX_CHANGES_PER_TRANSACTION = 98  # 100 operations less the counter and the delta row
COUNTER_TRIES = 10
COUNTER_BACKOFF_S = 0.01  # a random pause before trying again, growing per try
LOCKS = 10_000  # orgs whose lock this process keeps


def _seq(n: int) -> str:
    return f"{n:016d}"


async def commit(store: Store, org: str, changes: list[NewChange], delta: Entity | None) -> list[int]:
    """Append changes and save `delta` atomically (per ≤98 changes); ConcurrencyConflict
    if the delta row changed since it was read (retry the round). `delta`: a mailbox's
    DeltaState, or another row of the org's feed partition (a room's release). A counter another round
    of the org took meanwhile only moves this round's numbers: read again, and the same
    changes go in after that round's (COUNTER_TRIES times, with a random pause)."""
    if not changes:  # an idle round: only its delta row, conditional on its etag
        if delta is not None:
            await (store.update(delta) if delta.etag else store.insert(delta))
        return []
    async with _writing(org):  # this process's rounds of the org take turns; other instances race
        counter = await store.get(FeedCounter, org=org, kind="seq") or FeedCounter(org=org)
        numbers: list[int] = []
        chunks = [
            changes[i : i + MAX_CHANGES_PER_TRANSACTION] for i in range(0, len(changes), MAX_CHANGES_PER_TRANSACTION)
        ]
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            for attempt in range(COUNTER_TRIES):
                try:
                    numbers += await _append(store, org, counter, chunk, delta if last else None)
                    break
                except ConcurrencyConflict as exc:
                    # Operation 0 is the counter: another round of the org committed between
                    # our read and write. Anything else (the delta row: this mailbox's round
                    # elsewhere) means this round's reading is stale.
                    if exc.operation != 0 or attempt == COUNTER_TRIES - 1:
                        raise
                    log.info("feed counter taken by another round of the org; taking the next numbers")
                    await asyncio.sleep(random.uniform(0, COUNTER_BACKOFF_S * (attempt + 1)))
                    counter = await store.get(FeedCounter, org=org, kind="seq") or FeedCounter(org=org)
        return numbers


_locks: OrderedDict[tuple[int, str], asyncio.Lock] = OrderedDict()


def _writing(org: str) -> asyncio.Lock:
    """The org's feed lock in this process (per event loop: asyncio locks belong to one)."""
    key = (id(asyncio.get_running_loop()), org)
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = asyncio.Lock()
        while len(_locks) > LOCKS:
            oldest, held = next(iter(_locks.items()))
            if held.locked():
                break
            del _locks[oldest]
    _locks.move_to_end(key)
    return lock


async def _append(
    store: Store, org: str, counter: FeedCounter, chunk: list[NewChange], delta: Entity | None
) -> list[int]:
    """One transaction: the counter moved on by len(chunk), the changes under the numbers it
    gave (and `delta`); the counter object keeps its new value only if it committed."""
    start = counter.value
    numbers = [start + offset for offset in range(1, len(chunk) + 1)]
    moved = FeedCounter(org=org, value=start + len(chunk), etag=counter.etag)
    ops: list[Any] = [("update" if counter.etag else "insert", moved)]
    for number, change in zip(numbers, chunk, strict=True):
        ops.append(
            (
                "insert",
                FeedChange(
                    org=org,
                    seq=_seq(number),
                    type=change.type,
                    appointment=change.appointment,
                    worker=change.worker,
                    resource=change.resource,
                    mailbox=change.mailbox,
                    event_id=change.event_id,
                    data=change.data,
                    task=change.task,
                ),
            )
        )
    if delta is not None:
        ops.append(("update" if delta.etag else "insert", delta))
    await store.submit(ops)
    counter.value, counter.etag = moved.value, moved.etag
    return numbers


def change_view(row: FeedChange) -> dict[str, Any]:
    return {
        "cursor": encode_cursor(int(row.seq)),
        "type": row.type,
        "appointment": row.appointment,
        "worker": row.worker,
        "resource": row.resource,
        "mailbox": row.mailbox,
        "eventId": row.event_id,
        "task": row.task,
        "at": row.at,
        "data": row.data,
    }


LATEST_STEPS_BACK = 5  # gaps are rare (a round that failed after taking its numbers)


async def latest(store: Store, org: str, limit: int) -> list[FeedChange]:
    """The last `limit` changes, in order: read forward from the counter minus `limit` (the
    table reads only forward), and from further back while numbers left unused (a round that
    failed after taking them) leave the page short."""
    counter = await store.get(FeedCounter, org=org, kind="seq")
    top = counter.value if counter else 0
    span = limit
    rows = await read(store, org, max(0, top - span), limit)
    for _ in range(LATEST_STEPS_BACK):
        if len(rows) >= limit or top - span <= 0:
            break
        span *= 4  # a wide gap is crossed in a few reads
        rows = (await read(store, org, max(0, top - span), span))[-limit:]
    return rows


async def read(store: Store, org: str, after: int, limit: int) -> list[FeedChange]:
    """Up to `limit` changes after sequence number `after`, in order."""
    rows: list[FeedChange] = []
    async for row in store.query(
        FeedChange,
        org=org,
        row_prefix={"kind": "change"},
        row_after={"kind": "change", "seq": _seq(after)},
        page_size=min(limit, 1000),
    ):
        rows.append(row)
        if len(rows) >= limit:
            break
    return rows
