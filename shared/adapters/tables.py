"""The one table store: typed entities in and out of Azure Table Storage.

Records (shared.adapters.records) are dataclasses that name their table and which of
their fields make the PartitionKey and the RowKey; shared.adapters.table_codec turns them
into entities and back.

Concurrency is optimistic: `update` and `delete` with an entity's etag fail with
`ConcurrencyConflict` when someone else wrote first, and so does `insert` of an entity
that already exists — one exception type for every lost race.

Works unchanged against Azurite and Azure (connection string, or endpoint + identity).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Literal, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from shared.adapters.entity import Entity
from shared.adapters.storage_errors import guarded, translated
from shared.adapters.storage_http import use_env_settings
from shared.adapters.table_codec import from_table, record_key, row_key_prefix, to_table
from shared.adapters.telemetry import storage_span
from shared.core.errors import ConcurrencyConflict, StoreError
from shared.core.settings import StorageSettings

MAX_BATCH = 100  # Table Storage: at most 100 operations per entity-group transaction
MAX_BATCH_BYTES = 3 * 1024 * 1024  # the limit is 4 MiB; leave room for the multipart framing
E = TypeVar("E", bound=Entity)
BatchOp = tuple[Literal["insert", "upsert", "update", "delete"], Entity]


class TableStore:
    """Async repository over azure-data-tables. One instance per event loop."""

    def __init__(self, storage: StorageSettings, prefix: str = "calsync") -> None:
        self._storage = storage
        self._prefix = prefix
        self._service: TableServiceClient | None = None
        self._tables: dict[str, TableClient] = {}
        self._lock = asyncio.Lock()

    # -- clients -----------------------------------------------------------------
    def table_name(self, cls: type[Entity]) -> str:
        return f"{self._prefix}{cls.TABLE}"

    def _service_client(self) -> TableServiceClient:
        if self._service is None:
            # Bounded retries: a webhook path cannot wait azure-core's default ~minutes.
            opts = {
                "retry_total": 3,
                "connection_timeout": 5,
                "read_timeout": 30,
                "use_env_settings": use_env_settings(),
            }
            if self._storage.connection_string:
                self._service = TableServiceClient.from_connection_string(self._storage.connection_string, **opts)
            else:
                from azure.identity.aio import DefaultAzureCredential

                cred = DefaultAzureCredential(managed_identity_client_id=self._storage.identity_client_id)
                self._service = TableServiceClient(endpoint=self._storage.table_endpoint, credential=cred, **opts)
        return self._service

    async def _table(self, cls: type[Entity]) -> TableClient:
        name = self.table_name(cls)
        client = self._tables.get(name)
        if client is None:
            async with self._lock:  # concurrent first uses must not each build a client
                client = self._tables.get(name)
                if client is None:
                    client = await self._service_client().create_table_if_not_exists(name)
                    self._tables[name] = client
        return client

    @guarded
    async def ping(self) -> None:
        """Raise if the table service cannot be reached."""
        async for _ in self._service_client().list_tables(results_per_page=1):
            break

    async def close(self) -> None:
        for client in self._tables.values():
            await client.close()
        self._tables.clear()
        if self._service is not None:
            await self._service.close()
            self._service = None

    async def drop_all(self) -> None:
        """Delete every table with this store's prefix (tests, org-less resets)."""
        service = self._service_client()
        names = [t.name async for t in service.list_tables() if t.name.startswith(self._prefix)]
        for name in names:
            await service.delete_table(name)
        self._tables.clear()

    # -- single entities -----------------------------------------------------------
    @guarded
    async def get(self, cls: type[E], **key: str) -> E | None:
        table = await self._table(cls)
        try:
            row = await table.get_entity(record_key(cls, cls.PARTITION, key), record_key(cls, cls.ROW, key))
        except ResourceNotFoundError:
            return None
        return from_table(cls, row, row.metadata.get("etag"))

    @guarded
    async def insert(self, entity: E) -> E:
        """Create; ConcurrencyConflict if it already exists. Returns it with its etag."""
        table = await self._table(type(entity))
        try:
            meta = await table.create_entity(to_table(entity))
        except ResourceExistsError as exc:
            raise ConcurrencyConflict(f"{type(entity).__name__} already exists") from exc
        entity.etag = meta.get("etag")
        return entity

    @guarded
    async def upsert(self, entity: E) -> E:
        """Create or replace, last writer wins."""
        table = await self._table(type(entity))
        meta = await table.upsert_entity(to_table(entity), mode=UpdateMode.REPLACE)
        entity.etag = meta.get("etag")
        return entity

    @guarded
    async def update(self, entity: E) -> E:
        """Replace an entity read earlier; ConcurrencyConflict if it changed since."""
        if not entity.etag:
            raise ValueError("update needs the etag of the entity as read")
        table = await self._table(type(entity))
        try:
            meta = await table.update_entity(
                to_table(entity),
                mode=UpdateMode.REPLACE,
                etag=entity.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise ConcurrencyConflict(f"{type(entity).__name__} changed or vanished since it was read") from exc
        entity.etag = meta.get("etag")
        return entity

    @guarded
    async def delete(self, entity: Entity) -> None:
        """Delete; with an etag only if unchanged (ConcurrencyConflict otherwise). Missing is fine."""
        cls = type(entity)
        row = to_table(entity)
        table = await self._table(cls)
        try:
            if entity.etag:
                await table.delete_entity(
                    row["PartitionKey"], row["RowKey"], etag=entity.etag, match_condition=MatchConditions.IfNotModified
                )
            else:
                await table.delete_entity(row["PartitionKey"], row["RowKey"])
        except ResourceModifiedError as exc:
            raise ConcurrencyConflict(f"{cls.__name__} changed since it was read") from exc
        except ResourceNotFoundError:
            pass

    @guarded
    async def delete_key(self, cls: type[Entity], **key: str) -> None:
        """Delete by key, unconditionally; missing is fine."""
        table = await self._table(cls)
        await table.delete_entity(record_key(cls, cls.PARTITION, key), record_key(cls, cls.ROW, key))

    @guarded
    async def delete_partition(self, cls: type[Entity], **partition: str) -> int:
        """Delete every row of one partition of cls's table, whatever entity types share it."""
        table = await self._table(cls)
        pk = record_key(cls, cls.PARTITION, partition)
        keys = [
            row["RowKey"]
            async for row in table.query_entities("PartitionKey eq @pk", parameters={"pk": pk}, select=["RowKey"])
        ]
        for start in range(0, len(keys), MAX_BATCH):
            await table.submit_transaction(
                [("delete", {"PartitionKey": pk, "RowKey": rk}) for rk in keys[start : start + MAX_BATCH]]
            )
        return len(keys)

    # -- queries ---------------------------------------------------------------------
    async def query(
        self,
        cls: type[E],
        *,
        filter: str | None = None,
        parameters: dict[str, Any] | None = None,
        page_size: int = 1000,
        row_prefix: dict[str, str] | None = None,
        row_after: dict[str, str] | None = None,
        row_between: tuple[dict[str, str], dict[str, str]] | None = None,
        **partition: str,
    ) -> AsyncIterator[E]:
        """Records of one partition (pass the partition fields) in RowKey order, optionally
        filtered, only those whose leading row fields equal `row_prefix`, only those
        whose row key sorts after the one `row_after` makes, and only those from the first
        to the last key `row_between` makes (both included).

        `filter` uses Table filter syntax over field names with `@name` parameters
        (keep spaces around them: the SDK splits on spaces)."""
        with storage_span("query", cls.TABLE, "table"), translated():
            async for record in self._query(
                cls, filter, parameters, page_size, row_prefix, row_after, row_between, partition
            ):
                yield record

    async def _query(
        self,
        cls: type[E],
        filter: str | None,
        parameters: dict[str, Any] | None,
        page_size: int,
        row_prefix: dict[str, str] | None,
        row_after: dict[str, str] | None,
        row_between: tuple[dict[str, str], dict[str, str]] | None,
        partition: dict[str, str],
    ) -> AsyncIterator[E]:
        table = await self._table(cls)
        clauses, params = [], dict(parameters or {})
        if partition:
            clauses.append("PartitionKey eq @__pk")
            params["__pk"] = record_key(cls, cls.PARTITION, partition)
        if row_prefix:
            lo = row_key_prefix(cls, row_prefix)
            clauses.append("RowKey ge @__lo and RowKey lt @__hi")
            params["__lo"], params["__hi"] = lo, lo[:-1] + "}"  # "}" sorts right after our "|"
        if row_after:
            clauses.append("RowKey gt @__after")
            params["__after"] = record_key(cls, tuple(row_after), row_after)
        if row_between:
            clauses.append("RowKey ge @__from and RowKey le @__to")
            params["__from"], params["__to"] = (record_key(cls, tuple(k), k) for k in row_between)
        if filter:
            clauses.append(f"( {filter} )")
        rows = (
            table.query_entities(" and ".join(clauses), parameters=params, results_per_page=page_size)
            if clauses
            else table.list_entities(results_per_page=page_size)
        )
        async for row in rows:
            yield from_table(cls, row, row.metadata.get("etag"))

    # -- batches ---------------------------------------------------------------------
    @guarded
    async def submit(self, ops: Sequence[BatchOp]) -> None:
        """Write many entities: grouped per table and partition, ≤100 ops and ≤4 MiB a
        transaction. Each transaction is atomic; a batch larger than one is not.
        Raises ConcurrencyConflict if an insert/update in a transaction lost a race."""
        # Entity types may share a table: group by table and partition, not by type.
        groups: dict[tuple[str, str], list[tuple[str, Entity, dict[str, Any]]]] = {}
        classes: dict[str, type[Entity]] = {}
        for kind, entity in ops:
            row = to_table(entity)
            name = self.table_name(type(entity))
            classes.setdefault(name, type(entity))
            groups.setdefault((name, row["PartitionKey"]), []).append((kind, entity, row))
        for (name, _pk), items in groups.items():
            table = await self._table(classes[name])
            for chunk in _chunks(items):
                await self._transact(table, chunk)

    async def _transact(self, table: TableClient, chunk: list[tuple[str, Entity, dict[str, Any]]]) -> None:
        operations: list[Any] = []
        for kind, entity, row in chunk:
            if kind == "insert":
                operations.append(("create", row))
            elif kind == "upsert":
                operations.append(("upsert", row, {"mode": UpdateMode.REPLACE}))
            elif kind == "update":
                operations.append(
                    (
                        "update",
                        row,
                        {
                            "mode": UpdateMode.REPLACE,
                            "etag": entity.etag,
                            "match_condition": MatchConditions.IfNotModified,
                        },
                    )
                )
            else:
                extra = {"etag": entity.etag, "match_condition": MatchConditions.IfNotModified} if entity.etag else {}
                operations.append(("delete", row, extra))
        try:
            results = await table.submit_transaction(operations)
        except TableTransactionError as exc:
            if exc.status_code in (409, 412) or exc.error_code in (
                "EntityAlreadyExists",
                "UpdateConditionNotSatisfied",
            ):
                raise ConcurrencyConflict(
                    f"batch operation {exc.index} lost a race: {exc.error_code}", operation=exc.index
                ) from exc
            raise StoreError(f"batch operation {exc.index} failed: {exc.error_code}") from exc
        for (_kind, entity, _row), meta in zip(chunk, results, strict=False):
            entity.etag = meta.get("etag") if _kind != "delete" else None


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    size = 0
    for item in items:
        item_size = len(json.dumps(item[2], default=str)) * 2  # UTF-16 upper bound
        if chunk and (len(chunk) >= MAX_BATCH or size + item_size > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += item_size
    if chunk:
        yield chunk


__all__ = ["BatchOp", "TableStore"]
