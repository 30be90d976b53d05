"""What only Azurite can show about the table store: the raw keys it writes are legal for
Azure. Everything else the store promises is in tests/contracts/test_store_contract.py."""

from __future__ import annotations

import uuid

import pytest
from azure.data.tables.aio import TableClient

from shared.adapters.tables import TableStore
from tests.contracts.test_store_contract import Thing


@pytest.fixture
async def store(settings_for) -> TableStore:
    settings = settings_for(CALSYNC_TABLE_PREFIX=f"t{uuid.uuid4().hex[:10]}")
    s = TableStore(settings.storage, settings.table_prefix)
    yield s
    await s.drop_all()
    await s.close()


async def test_stored_keys_are_legal_for_azure(store: TableStore, storage_conn: str) -> None:
    """Azurite rejects `/ \\ # ?` and control characters in keys, as Azure does: prove we
    never send them by reading the raw rows."""
    await store.upsert(Thing(org="a/b", mailbox="c#d", event_id="e?f\\g"))
    async with TableClient.from_connection_string(storage_conn, store.table_name(Thing)) as raw:
        rows = [r async for r in raw.list_entities()]
    for row in rows:
        for key in (row["PartitionKey"], row["RowKey"]):
            assert not set(key) & set("/\\#?")
