"""StoreContract: what every use case relies on the table store for, run against
TableStore on Azurite and against FakeStore (tests/fakes/store.py)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from shared.adapters.entity import Entity
from shared.adapters.tables import TableStore
from shared.core.errors import ConcurrencyConflict, KeyTooLong, StoreError
from shared.service.ports import Store
from tests.fakes.store import FakeStore


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


@pytest.fixture(params=["TableStore", "FakeStore"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "FakeStore":
        yield FakeStore()
        return
    settings = request.getfixturevalue("settings_for")(CALSYNC_TABLE_PREFIX=f"t{uuid.uuid4().hex[:10]}")
    real = TableStore(settings.storage, settings.table_prefix)
    yield real
    await real.drop_all()
    await real.close()


# Graph event ids are base64 with `/`, `+`, `=`; mail has `#`; ours could contain `|`, `%`, `?`.
AWKWARD = [
    "AAMkAGI2TG93AAA/b+c==",
    "a\\b#c?d%e|f",
    "tab\there\x7f",
    "ünïcødé ' quote",
    "",
]


async def test_round_trip_keeps_every_type(store: Store) -> None:
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
async def test_awkward_keys_round_trip_and_query(store: Store, key: str) -> None:
    await store.upsert(Thing(org=key, mailbox=key, event_id=key, title="x"))
    got = await store.get(Thing, org=key, mailbox=key, event_id=key)
    assert got is not None and (got.org, got.mailbox, got.event_id) == (key, key, key)
    listed = [t async for t in store.query(Thing, org=key)]
    assert [(t.mailbox, t.event_id) for t in listed] == [(key, key)]


async def test_composite_keys_do_not_collide(store: Store) -> None:
    await store.upsert(Thing(org="o", mailbox="a|b", event_id="c", title="first"))
    await store.upsert(Thing(org="o", mailbox="a", event_id="b|c", title="second"))
    titles = sorted([t.title async for t in store.query(Thing, org="o")])
    assert titles == ["first", "second"]


async def test_key_too_long_is_refused_before_any_call(store: Store) -> None:
    with pytest.raises(KeyTooLong):
        await store.upsert(Thing(org="o", mailbox="/" * 400, event_id="e"))


async def test_insert_of_existing_entity_is_a_conflict(store: Store) -> None:
    await store.insert(Thing(org="o", mailbox="m", event_id="e"))
    with pytest.raises(ConcurrencyConflict):
        await store.insert(Thing(org="o", mailbox="m", event_id="e"))


async def test_update_with_stale_etag_loses_the_race(store: Store) -> None:
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


async def test_query_with_filter(store: Store) -> None:
    for i in range(5):
        await store.upsert(Thing(org="o", mailbox="m", event_id=f"e{i}", count=i))
    found = [t.event_id async for t in store.query(Thing, org="o", filter="count ge @n", parameters={"n": 3})]
    assert sorted(found) == ["e3", "e4"]


async def test_batch_of_250_is_split_into_transactions(store: Store) -> None:
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


async def test_batch_with_a_lost_race_raises_and_its_transaction_writes_nothing(store: Store) -> None:
    await store.insert(Thing(org="q", mailbox="m", event_id="taken"))
    batch = [Thing(org="q", mailbox="m", event_id=f"n{i}") for i in range(5)]
    batch.append(Thing(org="q", mailbox="m", event_id="taken"))
    with pytest.raises(ConcurrencyConflict):
        await store.submit([("insert", t) for t in batch])
    assert [t.event_id async for t in store.query(Thing, org="q")] == ["taken"]


async def test_missing_records_read_as_none_and_deleting_them_is_fine(store: Store) -> None:
    assert await store.get(Thing, org="o", mailbox="m", event_id="nope") is None
    await store.delete_key(Thing, org="o", mailbox="m", event_id="nope")
    await store.delete(Thing(org="o", mailbox="m", event_id="nope"))


async def test_update_of_a_record_that_vanished_is_a_conflict(store: Store) -> None:
    thing = await store.insert(Thing(org="o", mailbox="m", event_id="e"))
    await store.delete_key(Thing, org="o", mailbox="m", event_id="e")
    with pytest.raises(ConcurrencyConflict):
        await store.update(thing)


async def test_upsert_replaces_the_whole_record(store: Store) -> None:
    await store.upsert(Thing(org="o", mailbox="m", event_id="e", title="old", data={"a": 1}))
    await store.upsert(Thing(org="o", mailbox="m", event_id="e", count=7))
    got = await store.get(Thing, org="o", mailbox="m", event_id="e")
    assert (got.title, got.count, got.data) == ("", 7, {})


async def test_queries_answer_in_row_key_order_by_prefix_and_after(store: Store) -> None:
    for mailbox in ("b", "a", "a|x"):
        for event_id in ("2", "1", "10"):
            await store.upsert(Thing(org="o", mailbox=mailbox, event_id=event_id))
    await store.upsert(Thing(org="other", mailbox="a", event_id="1"))
    rows = [(t.mailbox, t.event_id) async for t in store.query(Thing, org="o")]
    # Row-key order is the order of the encoded keys ("a|x" is stored as "a%7Cx").
    assert rows == [
        ("a|x", "1"),
        ("a|x", "10"),
        ("a|x", "2"),
        ("a", "1"),
        ("a", "10"),
        ("a", "2"),
        ("b", "1"),
        ("b", "10"),
        ("b", "2"),
    ]
    prefixed = [(t.mailbox, t.event_id) async for t in store.query(Thing, org="o", row_prefix={"mailbox": "a"})]
    assert prefixed == [("a", "1"), ("a", "10"), ("a", "2")]  # not "a|x": the prefix is a whole field
    after = [
        t.event_id
        async for t in store.query(
            Thing, org="o", row_prefix={"mailbox": "a"}, row_after={"mailbox": "a", "event_id": "10"}
        )
    ]
    assert after == ["2"]
    between = [
        (t.mailbox, t.event_id)
        async for t in store.query(
            Thing, org="o", row_between=({"mailbox": "a", "event_id": "10"}, {"mailbox": "b", "event_id": "1"})
        )
    ]
    assert between == [("a", "10"), ("a", "2"), ("b", "1")]  # both ends included, in row-key order
    everywhere = [t.org async for t in store.query(Thing)]
    assert sorted(everywhere) == ["o"] * 9 + ["other"]


async def test_filters_compare_typed_values_and_a_missing_property_matches_nothing(store: Store) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    await store.upsert(Thing(org="o", mailbox="m", event_id="with", title="x", at=at))
    await store.upsert(Thing(org="o", mailbox="m", event_id="without", title="y"))
    later = [
        t.event_id
        async for t in store.query(
            Thing, org="o", filter="at lt @t", parameters={"t": datetime(2027, 1, 1, tzinfo=UTC)}
        )
    ]
    assert later == ["with"]
    not_x = [t.event_id async for t in store.query(Thing, org="o", filter="title ne @t", parameters={"t": "x"})]
    assert not_x == ["without"]
    both = [
        t.event_id
        async for t in store.query(
            Thing, org="o", filter="title eq @t and active eq @a", parameters={"t": "x", "a": True}
        )
    ]
    assert both == ["with"]


async def test_delete_partition_removes_only_that_partition(store: Store) -> None:
    await store.submit([("upsert", Thing(org="gone", mailbox="m", event_id=f"{i}")) for i in range(130)])
    await store.upsert(Thing(org="kept", mailbox="m", event_id="1"))
    assert await store.delete_partition(Thing, org="gone") == 130
    assert [t.org async for t in store.query(Thing)] == ["kept"]


async def test_batch_delete_of_a_missing_record_fails_its_transaction(store: Store) -> None:
    present = await store.insert(Thing(org="d", mailbox="m", event_id="here"))
    present.etag = None
    with pytest.raises(StoreError):
        await store.submit([("delete", present), ("delete", Thing(org="d", mailbox="m", event_id="absent"))])
    assert await store.get(Thing, org="d", mailbox="m", event_id="here") is not None
