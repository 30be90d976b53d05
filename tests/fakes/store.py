"""FakeStore: the `Store` port in memory, held to the StoreContract like TableStore.

Records are encoded with the real codec (shared.adapters.table_codec), so keys, JSON
fields and 64-bit integers behave as they do in Table Storage; etags, conditional writes
and entity-group transactions (one table and partition, ≤100 operations, all or nothing)
follow Table Storage's rules."""

from __future__ import annotations

import itertools
import operator
from collections.abc import AsyncIterator, Sequence
from typing import Any, TypeVar

from azure.data.tables import EntityProperty

from shared.adapters.entity import Entity
from shared.adapters.table_codec import from_table, record_key, row_key_prefix, to_table
from shared.core.errors import ConcurrencyConflict, StoreError
from shared.service.ports import BatchOp

E = TypeVar("E", bound=Entity)
MAX_BATCH = 100
_OPS = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


class FakeStore:
    def __init__(self, prefix: str = "fake") -> None:
        self.prefix = prefix
        # table → (PartitionKey, RowKey) → (row, etag)
        self.tables: dict[str, dict[tuple[str, str], tuple[dict[str, Any], str]]] = {}
        self._etags = itertools.count(1)
        self.writes = 0

    def table_name(self, cls: type[Entity]) -> str:
        return f"{self.prefix}{cls.TABLE}"

    def _table(self, cls: type[Entity]) -> dict[tuple[str, str], tuple[dict[str, Any], str]]:
        return self.tables.setdefault(self.table_name(cls), {})

    def _etag(self) -> str:
        return f'W/"fake-{next(self._etags)}"'

    @staticmethod
    def _address(row: dict[str, Any]) -> tuple[str, str]:
        return row["PartitionKey"], row["RowKey"]

    # -- single records ------------------------------------------------------------------
    async def get(self, cls: type[E], **key: str) -> E | None:
        address = (record_key(cls, cls.PARTITION, key), record_key(cls, cls.ROW, key))
        found = self._table(cls).get(address)
        return None if found is None else from_table(cls, dict(found[0]), found[1])

    async def insert(self, entity: E) -> E:
        self._apply(self._table(type(entity)), [("insert", entity, to_table(entity))])
        return entity

    async def upsert(self, entity: E) -> E:
        self._apply(self._table(type(entity)), [("upsert", entity, to_table(entity))])
        return entity

    async def update(self, entity: E) -> E:
        if not entity.etag:
            raise ValueError("update needs the etag of the entity as read")
        self._apply(self._table(type(entity)), [("update", entity, to_table(entity))])
        return entity

    async def delete(self, entity: Entity) -> None:
        table = self._table(type(entity))
        address = self._address(to_table(entity))
        held = table.get(address)
        if held is None:
            return
        if entity.etag and held[1] != entity.etag:
            raise ConcurrencyConflict(f"{type(entity).__name__} changed since it was read")
        del table[address]
        self.writes += 1

    async def delete_key(self, cls: type[Entity], **key: str) -> None:
        self._table(cls).pop((record_key(cls, cls.PARTITION, key), record_key(cls, cls.ROW, key)), None)
        self.writes += 1

    async def delete_partition(self, cls: type[Entity], **partition: str) -> int:
        table = self._table(cls)
        pk = record_key(cls, cls.PARTITION, partition)
        doomed = [a for a in table if a[0] == pk]
        for address in doomed:
            del table[address]
        self.writes += len(doomed)
        return len(doomed)

    # -- queries ---------------------------------------------------------------------------
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
        table = self._table(cls)
        first, last = (record_key(cls, tuple(k), k) for k in row_between) if row_between else (None, None)
        pk = record_key(cls, cls.PARTITION, partition) if partition else None
        lo = row_key_prefix(cls, row_prefix) if row_prefix else None
        after = record_key(cls, tuple(row_after), row_after) if row_after else None
        match = _compile(filter, parameters or {})
        for address in sorted(table):  # Table Storage answers in PartitionKey, RowKey order
            row, etag = table[address]
            if pk is not None and address[0] != pk:
                continue
            if lo is not None and not (lo <= address[1] < lo[:-1] + "}"):
                continue
            if after is not None and not address[1] > after:
                continue
            if first is not None and last is not None and not first <= address[1] <= last:
                continue
            if match(row):
                yield from_table(cls, dict(row), etag)

    # -- batches ------------------------------------------------------------------------------
    async def submit(self, ops: Sequence[BatchOp]) -> None:
        groups: dict[tuple[str, str], list[tuple[str, Entity, dict[str, Any]]]] = {}
        for kind, entity in ops:
            row = to_table(entity)
            groups.setdefault((self.table_name(type(entity)), row["PartitionKey"]), []).append((kind, entity, row))
        for (name, _pk), items in groups.items():
            table = self.tables.setdefault(name, {})
            for start in range(0, len(items), MAX_BATCH):
                self._apply(table, items[start : start + MAX_BATCH], batch=True)

    def _apply(
        self,
        table: dict[tuple[str, str], tuple[dict[str, Any], str]],
        items: list[tuple[str, Entity, dict[str, Any]]],
        batch: bool = False,
    ) -> None:
        """All or nothing: every operation is checked against the table before any applies."""
        seen: set[tuple[str, str]] = set()
        for index, (kind, entity, row) in enumerate(items):
            address = self._address(row)
            if batch and address in seen:
                raise StoreError(f"batch operation {index}: the same entity twice in one transaction")
            seen.add(address)
            held = table.get(address)
            if kind == "insert" and held is not None:
                raise ConcurrencyConflict(f"batch operation {index} lost a race: EntityAlreadyExists", operation=index)
            if kind == "update" and (held is None or held[1] != entity.etag):
                raise ConcurrencyConflict(
                    f"batch operation {index} lost a race: UpdateConditionNotSatisfied", operation=index
                )
            if kind == "delete":
                if held is None:
                    raise StoreError(f"batch operation {index} failed: ResourceNotFound")
                if entity.etag and held[1] != entity.etag:
                    raise ConcurrencyConflict(
                        f"batch operation {index} lost a race: UpdateConditionNotSatisfied", operation=index
                    )
        for kind, entity, row in items:
            address = self._address(row)
            if kind == "delete":
                del table[address]
                entity.etag = None
            else:
                etag = self._etag()
                table[address] = (row, etag)
                entity.etag = etag
            self.writes += 1

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def drop_all(self) -> None:
        self.tables.clear()


def _compile(text: str | None, parameters: dict[str, Any]):
    """The subset of Table filter syntax the app uses: `field op @param [and …]`."""
    if not text:
        return lambda row: True
    tokens = text.replace("(", " ").replace(")", " ").split()
    clauses = []
    while tokens:
        name, op, value = tokens[0], tokens[1], tokens[2]
        if op not in _OPS or not value.startswith("@"):
            raise NotImplementedError(f"filter clause not understood by the fake: {' '.join(tokens[:3])}")
        clauses.append((name, _OPS[op], parameters[value[1:]]))
        tokens = tokens[3:]
        if tokens:
            if tokens[0] != "and":
                raise NotImplementedError(f"only 'and' joins filter clauses in the fake, not {tokens[0]!r}")
            tokens = tokens[1:]

    def match(row: dict[str, Any]) -> bool:
        for name, compare, wanted in clauses:
            if name not in row:
                return False  # Table Storage: a missing property matches no comparison
            value = row[name]
            value = value.value if isinstance(value, EntityProperty) else value
            if not compare(value, wanted):
                return False
        return True

    return match
