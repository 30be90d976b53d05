"""The base of every stored record: a dataclass naming its table and its key fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(kw_only=True)
class Entity:
    """Base for stored records. Subclasses set TABLE, PARTITION and ROW (field names)."""

    TABLE: ClassVar[str]
    PARTITION: ClassVar[tuple[str, ...]]
    ROW: ClassVar[tuple[str, ...]]

    etag: str | None = field(default=None, compare=False, repr=False)
