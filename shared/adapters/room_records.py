"""The records of room check-in and auto-release (shared.service.room_release)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from shared.adapters.entity import Entity
from shared.core.clock import utcnow


@dataclass(kw_only=True)
class RoomHold(Entity):
    """An appointment that books rooms, where the release timer finds it: a single one under
    its start (UTC, to the minute: a range of rows is the bookings due), a series under
    "series" (its occurrences are worked out when due). Written by every push of it; a hold
    left behind by a move or a deletion is checked against the appointment and dropped."""

    TABLE: ClassVar[str] = "RoomHolds"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("at", "appointment")

    org: str
    at: str
    appointment: str


@dataclass(kw_only=True)
class RoomPresence(Entity):
    """One room booking's check-in or release. In the feed's partition, so that a release is
    committed with its `room_released` change in one transaction."""

    TABLE: ClassVar[str] = "Feed"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("kind", "appointment", "resource", "occurrence")

    org: str
    kind: str = "room"
    appointment: str
    resource: str
    occurrence: str  # the original date of a series' occurrence, or "-"
    state: str  # checked_in | releasing | released
    start: str = ""  # the booking's start, ISO 8601 UTC
    at: datetime = field(default_factory=utcnow)  # when it took this state


@dataclass(kw_only=True)
class RoomCheckInOrg(Entity):
    """An org with room check-in on: the release timer visits these only."""

    TABLE: ClassVar[str] = "RoomCheckInOrgs"
    PARTITION: ClassVar[tuple[str, ...]] = ("scope",)
    ROW: ClassVar[tuple[str, ...]] = ("org",)

    scope: str = "all"
    org: str
