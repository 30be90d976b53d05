"""What the inbound side remembers between rounds, and the indexes it looks events up by."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from shared.orgs import utcnow
from shared.tables import Entity


@dataclass(kw_only=True)
class SeenEvent(Entity):
    """A mapped event as last seen (or written by us) in one mailbox."""

    TABLE: ClassVar[str] = "Seen"
    PARTITION: ClassVar[tuple[str, ...]] = ("mailbox",)
    ROW: ClassVar[tuple[str, ...]] = ("event_id",)

    mailbox: str
    event_id: str
    org: str
    appointment: str
    role: str  # ours | created | copy
    change_key: str | None = None
    content: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True)
class IcalRef(Entity):
    """iCalUId of one of our meetings → the appointment (finds attendee and room copies)."""

    TABLE: ClassVar[str] = "IcalIndex"
    PARTITION: ClassVar[tuple[str, ...]] = ("ical_uid",)
    ROW: ClassVar[tuple[str, ...]] = ("ical_uid",)

    ical_uid: str
    org: str
    appointment: str


@dataclass(kw_only=True)
class HeldDeletion(Entity):
    """A deletion the mass-deletion guard holds until an admin confirms it."""

    TABLE: ClassVar[str] = "Held"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("owner_kind", "owner_id", "event_id")

    org: str
    owner_kind: str
    owner_id: str
    event_id: str
    type: str
    appointment: str | None
    mailbox: str | None
    data: dict[str, Any] = field(default_factory=dict)
    held_at: datetime = field(default_factory=utcnow)
