"""Org-scoped API keys (shared.core.api_keys): listed per org, looked up per request by id.

Two rows per key in two tables: `OrgKey` in the org's partition (what the list and the
console show, never the secret) and `KeyOwner` by key id (what a request's key is checked
against). A key is made listed first and usable second, and revoked unusable first: a
failure between the two writes leaves a key that is listed, never one that works unlisted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from shared.adapters.entity import Entity
from shared.core.clock import utcnow


@dataclass(kw_only=True)
class OrgKey(Entity):
    TABLE: ClassVar[str] = "OrgKeys"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("key_id",)

    org: str
    key_id: str
    created_at: datetime = field(default_factory=utcnow)


@dataclass(kw_only=True)
class KeyOwner(Entity):
    TABLE: ClassVar[str] = "KeyOwners"
    PARTITION: ClassVar[tuple[str, ...]] = ("key_id",)
    ROW: ClassVar[tuple[str, ...]] = ("key_id",)

    key_id: str
    org: str
    digest: str  # SHA-256 of the whole key: the key itself is never stored
