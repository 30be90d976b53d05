"""The change feed: inbound changes per org, ordered, durable, read by cursor.

All rows of an org's feed live in one partition of one table: a counter, the changes, each
mailbox's delta state and the webhook cursor. A mailbox round commits its changes, the
counter and its new deltaLink in one entity-group transaction, conditional on the etags it
read — so a change is visible exactly when its sequence number is, a concurrent round on
the same mailbox loses the race instead of writing the same change twice, and a reader
never skips a number that is committed later.
"""

from __future__ import annotations

from typing import Any

from shared.adapters.inbound_records import DeltaState, FeedChange, FeedCounter
from shared.core.changes import NewChange, encode_cursor
from shared.service.ports import Store

MAX_CHANGES_PER_TRANSACTION = 98  # 100 operations less the counter and the delta row


def _seq(n: int) -> str:
    return f"{n:016d}"


async def commit(store: Store, org: str, changes: list[NewChange], delta: DeltaState | None) -> list[int]:
    """Append changes and save `delta` atomically (per ≤98 changes); ConcurrencyConflict
    if the counter or the delta row changed since they were read (retry the round)."""
    if not changes:  # an idle round: only its delta row, conditional on its etag
        if delta is not None:
            await (store.update(delta) if delta.etag else store.insert(delta))
        return []
    counter = await store.get(FeedCounter, org=org, kind="seq") or FeedCounter(org=org)
    numbers: list[int] = []
    chunks = [changes[i : i + MAX_CHANGES_PER_TRANSACTION] for i in range(0, len(changes), MAX_CHANGES_PER_TRANSACTION)]
    for index, chunk in enumerate(chunks or [[]]):
        last = index == len(chunks or [[]]) - 1
        ops: list[Any] = []
        if chunk:
            start = counter.value
            counter.value += len(chunk)
            ops.append(("update" if counter.etag else "insert", counter))
            for offset, change in enumerate(chunk, start=1):
                numbers.append(start + offset)
                ops.append(
                    (
                        "insert",
                        FeedChange(
                            org=org,
                            seq=_seq(start + offset),
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
        if last and delta is not None:
            ops.append(("update" if delta.etag else "insert", delta))
        if ops:
            await store.submit(ops)
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
