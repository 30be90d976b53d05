"""The change feed: inbound changes per org, ordered, durable, read by cursor.

All rows of an org's feed live in one partition of one table: a counter, the changes, each
mailbox's delta state and the webhook cursor. A mailbox round commits its changes, the
counter and its new deltaLink in one entity-group transaction, conditional on the etags it
read — so a change is visible exactly when its sequence number is, a concurrent round on
the same mailbox loses the race instead of writing the same change twice, and a reader
never skips a number that is committed later.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from shared.errors import InvalidInput
from shared.orgs import utcnow
from shared.tables import Entity, TableStore

MAX_CHANGES_PER_TRANSACTION = 98  # 100 operations less the counter and the delta row


@dataclass(kw_only=True)
class FeedCounter(Entity):
    TABLE: ClassVar[str] = "Feed"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("kind",)

    org: str
    kind: str = "seq"
    value: int = 0


@dataclass(kw_only=True)
class WebhookCursor(Entity):
    TABLE: ClassVar[str] = "Feed"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("kind",)

    org: str
    kind: str = "webhook"
    delivered: int = 0
    failures: int = 0
    last_error: str | None = None
    last_attempt_at: datetime | None = None


@dataclass(kw_only=True)
class DeltaState(Entity):
    """A mailbox's delta position; committed with the changes its round produced."""

    TABLE: ClassVar[str] = "Feed"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("kind", "mailbox")

    org: str
    kind: str = "delta"
    mailbox: str
    owner_kind: str = "worker"
    owner_id: str = ""
    delta_link: str | None = None
    last_sync_at: datetime | None = None
    rounds: int = 0


@dataclass(kw_only=True)
class FeedChange(Entity):
    TABLE: ClassVar[str] = "Feed"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("kind", "seq")

    org: str
    kind: str = "change"
    seq: str  # zero-padded so RowKey order is sequence order
    type: str
    appointment: str | None = None
    worker: str | None = None
    resource: str | None = None
    mailbox: str | None = None
    event_id: str | None = None
    at: datetime = field(default_factory=utcnow)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewChange:
    type: str  # updated | deleted | responded | created | attendee_removed
    appointment: str | None
    worker: str | None = None
    resource: str | None = None
    mailbox: str | None = None
    event_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _seq(n: int) -> str:
    return f"{n:016d}"


def encode_cursor(n: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{n}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, number = text.partition(":")
        if version != "v1":
            raise ValueError
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("after", "after is not a cursor this feed handed out") from None


async def commit(store: TableStore, org: str, changes: list[NewChange], delta: DeltaState | None) -> list[int]:
    """Append changes and save `delta` atomically (per ≤98 changes); ConcurrencyConflict
    if the counter or the delta row changed since they were read (retry the round)."""
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
        "at": row.at,
        "data": row.data,
    }


async def read(store: TableStore, org: str, after: int, limit: int) -> list[FeedChange]:
    rows: list[FeedChange] = []
    lo = f"change|{_seq(after)}"
    async for row in store.query(
        FeedChange,
        org=org,
        filter="RowKey gt @lo and RowKey lt @hi",
        parameters={"lo": lo, "hi": "change}"},
        page_size=min(limit, 1000),
    ):
        rows.append(row)
        if len(rows) >= limit:
            break
    return rows
