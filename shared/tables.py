"""The one table store: typed entities in and out of Azure Table Storage.

An entity type is a dataclass subclass of `Entity` that names its table and which of its
fields make the PartitionKey and the RowKey. Key values are encoded so that any string
(Graph ids contain `/`, e-mail addresses contain `#`…) is a legal, filter-safe key and
decodes back exactly. Other fields are stored as Table properties: str, bool, int, float
and datetime natively; dicts, lists and other JSON values as JSON text.

Concurrency is optimistic: `update` and `delete` with an entity's etag fail with
`ConcurrencyConflict` when someone else wrote first, and so does `insert` of an entity
that already exists — one exception type for every lost race.

Works unchanged against Azurite and Azure (connection string, or endpoint + identity).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import types
import typing
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import EdmType, EntityProperty, TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from shared.settings import StorageSettings

MAX_BATCH = 100  # Table Storage: at most 100 operations per entity-group transaction
MAX_BATCH_BYTES = 3 * 1024 * 1024  # the limit is 4 MiB; leave room for the multipart framing
MAX_KEY_LENGTH = 1024
_INT32 = range(-(2**31), 2**31)

# Characters Table Storage forbids in keys, plus `%` (our escape) and `|` (our separator).
_FORBIDDEN = set("/\\#?%|") | {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}


class StoreError(Exception):
    """Base of the table store's errors."""


class ConcurrencyConflict(StoreError):
    """Someone else wrote first: an etag mismatch, or insert of an existing entity."""


class KeyTooLong(StoreError):
    """An encoded key would exceed Table Storage's 1 KiB limit."""


def encode_key(value: str) -> str:
    """Percent-encode the characters Table Storage keys forbid; reversible."""
    encoded = "".join(f"%{ord(ch):02X}" if ch in _FORBIDDEN else ch for ch in value)
    if len(encoded) > MAX_KEY_LENGTH:
        raise KeyTooLong(f"key of {len(encoded)} characters (max {MAX_KEY_LENGTH})")
    return encoded


def decode_key(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "%":
            out.append(chr(int(value[i + 1 : i + 3], 16)))
            i += 3
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


@dataclass(kw_only=True)
class Entity:
    """Base for stored records. Subclasses set TABLE, PARTITION and ROW (field names)."""

    TABLE: ClassVar[str]
    PARTITION: ClassVar[tuple[str, ...]]
    ROW: ClassVar[tuple[str, ...]]

    etag: str | None = field(default=None, compare=False, repr=False)


E = TypeVar("E", bound=Entity)


def _key(cls: type[Entity], names: tuple[str, ...], values: dict[str, Any]) -> str:
    try:
        parts = [str(values[name]) for name in names]
    except KeyError as missing:
        raise TypeError(f"{cls.__name__} key needs {missing.args[0]!r}") from None
    # Each part is encoded (which escapes `|`), so a raw `|` is always our separator.
    key = "|".join(encode_key(p) for p in parts)
    if len(key) > MAX_KEY_LENGTH:
        raise KeyTooLong(f"key of {len(key)} characters (max {MAX_KEY_LENGTH})")
    return key


def _split_key(names: tuple[str, ...], raw: str) -> dict[str, str]:
    return {name: decode_key(part) for name, part in zip(names, raw.split("|"), strict=True)}


@typing.no_type_check
def _json_typed(hint: Any) -> bool:
    """True when a field's type is stored as JSON text (dict, list, tuple, Any)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return any(_json_typed(a) for a in args)
    if origin is Literal:
        return False
    return hint is Any or origin in (dict, list, tuple) or hint in (dict, list, tuple)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type[Entity]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def to_table(entity: Entity) -> dict[str, Any]:
    """Entity → Table Storage dict (keys encoded, JSON fields serialised)."""
    cls = type(entity)
    values = {f.name: getattr(entity, f.name) for f in dataclasses.fields(entity) if f.name != "etag"}
    row: dict[str, Any] = {
        "PartitionKey": _key(cls, cls.PARTITION, values),
        "RowKey": _key(cls, cls.ROW, values),
    }
    hints = _hints(cls)
    for name, value in values.items():
        if name in cls.PARTITION or name in cls.ROW or value is None:
            continue
        if _json_typed(hints[name]):
            row[name] = json.dumps(value, separators=(",", ":"), sort_keys=True)
        elif isinstance(value, bool):
            row[name] = value
        elif isinstance(value, int):
            row[name] = value if value in _INT32 else EntityProperty(value, EdmType.INT64)
        else:
            row[name] = value
    return row


def from_table(cls: type[E], row: dict[str, Any], etag: str | None = None) -> E:
    values: dict[str, Any] = {}
    values.update(_split_key(cls.PARTITION, row["PartitionKey"]))
    values.update(_split_key(cls.ROW, row["RowKey"]))
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if f.name == "etag" or f.name in values or f.name not in row:
            continue
        value = row[f.name]
        if isinstance(value, EntityProperty):
            value = value.value
        if _json_typed(hints[f.name]) and isinstance(value, str):
            value = json.loads(value)
        elif isinstance(value, datetime):
            value = datetime.fromtimestamp(value.timestamp(), tz=value.tzinfo)  # plain datetime, not the SDK subclass
        values[f.name] = value
    return cls(**values, etag=etag)


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
            opts = {"retry_total": 3, "connection_timeout": 5, "read_timeout": 30}
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
    async def get(self, cls: type[E], **key: str) -> E | None:
        table = await self._table(cls)
        try:
            row = await table.get_entity(_key(cls, cls.PARTITION, key), _key(cls, cls.ROW, key))
        except ResourceNotFoundError:
            return None
        return from_table(cls, row, row.metadata.get("etag"))

    async def insert(self, entity: E) -> E:
        """Create; ConcurrencyConflict if it already exists. Returns it with its etag."""
        table = await self._table(type(entity))
        try:
            meta = await table.create_entity(to_table(entity))
        except ResourceExistsError as exc:
            raise ConcurrencyConflict(f"{type(entity).__name__} already exists") from exc
        entity.etag = meta.get("etag")
        return entity

    async def upsert(self, entity: E) -> E:
        """Create or replace, last writer wins."""
        table = await self._table(type(entity))
        meta = await table.upsert_entity(to_table(entity), mode=UpdateMode.REPLACE)
        entity.etag = meta.get("etag")
        return entity

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

    async def delete_key(self, cls: type[Entity], **key: str) -> None:
        """Delete by key, unconditionally; missing is fine."""
        table = await self._table(cls)
        await table.delete_entity(_key(cls, cls.PARTITION, key), _key(cls, cls.ROW, key))

    async def delete_partition(self, cls: type[Entity], **partition: str) -> int:
        """Delete every row of one partition of cls's table, whatever entity types share it."""
        table = await self._table(cls)
        pk = _key(cls, cls.PARTITION, partition)
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
        **partition: str,
    ) -> AsyncIterator[E]:
        """Entities of one partition (pass the partition fields), optionally filtered.

        `filter` uses Table filter syntax over property names with `@name` parameters
        (keep spaces around them: the SDK splits on spaces).
        """
        table = await self._table(cls)
        clauses, params = [], dict(parameters or {})
        if partition:
            clauses.append("PartitionKey eq @__pk")
            params["__pk"] = _key(cls, cls.PARTITION, partition)
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
                raise ConcurrencyConflict(f"batch operation {exc.index} lost a race: {exc.error_code}") from exc
            raise
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


__all__ = [
    "BatchOp",
    "ConcurrencyConflict",
    "Entity",
    "HttpResponseError",
    "KeyTooLong",
    "StoreError",
    "TableStore",
    "decode_key",
    "encode_key",
    "from_table",
    "to_table",
]
