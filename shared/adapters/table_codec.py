"""How a record becomes a Table Storage entity and back: keys and property values.

Key values are encoded so that any string (Graph ids contain `/`, e-mail addresses `#`…)
is a legal, filter-safe key and decodes back exactly; a record's key fields are joined with
`|`. Other fields are stored as Table properties: str, bool, int, float and datetime
natively; dicts, lists and other JSON values as JSON text.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import datetime
from typing import Any, Literal, TypeVar

from azure.data.tables import EdmType, EntityProperty

from shared.adapters.entity import Entity
from shared.core.errors import KeyTooLong

MAX_KEY_LENGTH = 1024
_INT32 = range(-(2**31), 2**31)

# Characters Table Storage forbids in keys, plus `%` (our escape) and `|` (our separator).
_FORBIDDEN = set("/\\#?%|") | {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}


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


E = TypeVar("E", bound=Entity)


def record_key(cls: type[Entity], names: tuple[str, ...], values: dict[str, Any]) -> str:
    try:
        parts = [str(values[name]) for name in names]
    except KeyError as missing:
        raise TypeError(f"{cls.__name__} key needs {missing.args[0]!r}") from None
    # Each part is encoded (which escapes `|`), so a raw `|` is always our separator.
    key = "|".join(encode_key(p) for p in parts)
    if len(key) > MAX_KEY_LENGTH:
        raise KeyTooLong(f"key of {len(key)} characters (max {MAX_KEY_LENGTH})")
    return key


def row_key_prefix(cls: type[Entity], values: dict[str, str]) -> str:
    """The encoded start of the row keys whose leading row fields have these values."""
    names = cls.ROW[: len(values)]
    if set(names) != set(values):
        raise TypeError(f"{cls.__name__} row prefix must be the leading fields of {cls.ROW}")
    return record_key(cls, names, values) + "|"


def split_key(names: tuple[str, ...], raw: str) -> dict[str, str]:
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


_SHAPES: dict[type, tuple[tuple[str, ...], frozenset[str]]] = {}


def _shape(cls: type[Entity]) -> tuple[tuple[str, ...], frozenset[str]]:
    """A record class's field names (etag aside) and those stored as JSON text, worked out
    once per class: every row read or written needs them (a reconcile pass, for each link)."""
    if cls not in _SHAPES:
        hints = typing.get_type_hints(cls)
        names = tuple(f.name for f in dataclasses.fields(cls) if f.name != "etag")
        _SHAPES[cls] = names, frozenset(n for n in names if _json_typed(hints[n]))
    return _SHAPES[cls]


def to_table(entity: Entity) -> dict[str, Any]:
    """Entity → Table Storage dict (keys encoded, JSON fields serialised)."""
    cls = type(entity)
    names, json_fields = _shape(cls)
    values = {name: getattr(entity, name) for name in names}
    row: dict[str, Any] = {
        "PartitionKey": record_key(cls, cls.PARTITION, values),
        "RowKey": record_key(cls, cls.ROW, values),
    }
    for name, value in values.items():
        if name in cls.PARTITION or name in cls.ROW or value is None:
            continue
        if name in json_fields:
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
    values.update(split_key(cls.PARTITION, row["PartitionKey"]))
    values.update(split_key(cls.ROW, row["RowKey"]))
    names, json_fields = _shape(cls)
    for name in names:
        if name in values or name not in row:
            continue
        value = row[name]
        if isinstance(value, EntityProperty):
            value = value.value
        if name in json_fields and isinstance(value, str):
            value = json.loads(value)
        elif isinstance(value, datetime):
            value = datetime.fromtimestamp(value.timestamp(), tz=value.tzinfo)  # plain datetime, not the SDK subclass
        values[name] = value
    return cls(**values, etag=etag)
