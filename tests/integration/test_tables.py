"""The table store against Azurite: round trips, races, batches and awkward keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from azure.data.tables.aio import TableClient

from shared.tables import ConcurrencyConflict, Entity, KeyTooLong, TableStore


@dataclass(kw_only=True)
class Thing(Entity):
    TABLE: ClassVar[str] = "Things"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("mailbox", "event_id")

    org: str
    mailbox: str
    event_id: str
    title: str = ""
    count: int = 0
    big: int | None = None
    active: bool = True
    at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


@pytest.fixture
async def store(settings_for) -> TableStore:
    settings = settings_for(CALSYNC_TABLE_PREFIX=f"t{uuid.uuid4().hex[:10]}")
    s = TableStore(settings.storage, settings.table_prefix)
    yield s
    await s.drop_all()
    await s.close()


# Graph event ids are base64 with `/`, `+`, `=`; mail has `#`; ours could contain `|`, `%`, `?`.
AWKWARD = [
    "AAMkAGI2TG93AAA/b+c==",
    "a\\b#c?d%e|f",
    "tab\there\x7f",
    "ünïcødé ' quote",
    "",
]


async def test_round_trip_keeps_every_type(store: TableStore) -> None:
    at = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
    thing = Thing(
        org="o1",
        mailbox="m@x.com",
        event_id="e1",
        title="T",
        count=3,
        big=2**40,
        active=False,
        at=at,
        data={"a": [1, 2]},
        tags=["x", "y"],
    )
    await store.insert(thing)
    got = await store.get(Thing, org="o1", mailbox="m@x.com", event_id="e1")
    assert got == thing
    assert got.etag and got.at == at and got.big == 2**40


@pytest.mark.parametrize("key", AWKWARD)
async def test_awkward_keys_round_trip_and_query(store: TableStore, key: str) -> None:
    await store.upsert(Thing(org=key, mailbox=key, event_id=key, title="x"))
    got = await store.get(Thing, org=key, mailbox=key, event_id=key)
    assert got is not None and (got.org, got.mailbox, got.event_id) == (key, key, key)
    listed = [t async for t in store.query(Thing, org=key)]
    assert [(t.mailbox, t.event_id) for t in listed] == [(key, key)]


async def test_composite_keys_do_not_collide(store: TableStore) -> None:
    await store.upsert(Thing(org="o", mailbox="a|b", event_id="c", title="first"))
    await store.upsert(Thing(org="o", mailbox="a", event_id="b|c", title="second"))
    titles = sorted([t.title async for t in store.query(Thing, org="o")])
    assert titles == ["first", "second"]


async def test_key_too_long_is_refused_before_any_call(store: TableStore) -> None:
    with pytest.raises(KeyTooLong):
        await store.upsert(Thing(org="o", mailbox="/" * 400, event_id="e"))


async def test_insert_of_existing_entity_is_a_conflict(store: TableStore) -> None:
    await store.insert(Thing(org="o", mailbox="m", event_id="e"))
    with pytest.raises(ConcurrencyConflict):
        await store.insert(Thing(org="o", mailbox="m", event_id="e"))


async def test_update_with_stale_etag_loses_the_race(store: TableStore) -> None:
    await store.insert(Thing(org="o", mailbox="m", event_id="e", count=1))
    a = await store.get(Thing, org="o", mailbox="m", event_id="e")
    b = await store.get(Thing, org="o", mailbox="m", event_id="e")
    a.count = 2
    await store.update(a)
    b.count = 3
    with pytest.raises(ConcurrencyConflict):
        await store.update(b)
    with pytest.raises(ConcurrencyConflict):
        await store.delete(b)
    assert (await store.get(Thing, org="o", mailbox="m", event_id="e")).count == 2
    await store.delete(a)  # a's etag is current
    assert await store.get(Thing, org="o", mailbox="m", event_id="e") is None
    await store.delete(a)  # deleting what is gone is fine


async def test_query_with_filter(store: TableStore) -> None:
    for i in range(5):
        await store.upsert(Thing(org="o", mailbox="m", event_id=f"e{i}", count=i))
    found = [t.event_id async for t in store.query(Thing, org="o", filter="count ge @n", parameters={"n": 3})]
    assert sorted(found) == ["e3", "e4"]


async def test_batch_of_250_is_split_into_transactions(store: TableStore, storage_conn: str) -> None:
    things = [Thing(org="p1", mailbox="m", event_id=f"{i:04}", count=i) for i in range(250)]
    things += [Thing(org="p2", mailbox="m", event_id=f"{i:04}") for i in range(30)]
    await store.submit([("upsert", t) for t in things])
    assert all(t.etag for t in things)
    assert len([t async for t in store.query(Thing, org="p1")]) == 250
    assert len([t async for t in store.query(Thing, org="p2")]) == 30
    # Updates with current etags succeed in a batch; deletes too.
    for t in things[:120]:
        t.count += 1000
    await store.submit([("update", t) for t in things[:120]])
    assert (await store.get(Thing, org="p1", mailbox="m", event_id="0119")).count == 1119
    await store.submit([("delete", t) for t in things[:250]])
    assert [t async for t in store.query(Thing, org="p1")] == []


async def test_batch_with_a_lost_race_raises_and_its_transaction_writes_nothing(store: TableStore) -> None:
    await store.insert(Thing(org="q", mailbox="m", event_id="taken"))
    batch = [Thing(org="q", mailbox="m", event_id=f"n{i}") for i in range(5)]
    batch.append(Thing(org="q", mailbox="m", event_id="taken"))
    with pytest.raises(ConcurrencyConflict):
        await store.submit([("insert", t) for t in batch])
    assert [t.event_id async for t in store.query(Thing, org="q")] == ["taken"]


async def test_stored_keys_are_legal_for_azure(store: TableStore, storage_conn: str) -> None:
    """Azurite rejects `/ \\ # ?` and control characters in keys, as Azure does: prove we
    never send them by reading the raw rows."""
    await store.upsert(Thing(org="a/b", mailbox="c#d", event_id="e?f\\g"))
    async with TableClient.from_connection_string(storage_conn, store.table_name(Thing)) as raw:
        rows = [r async for r in raw.list_entities()]
    for row in rows:
        for key in (row["PartitionKey"], row["RowKey"]):
            assert not set(key) & set("/\\#?")
