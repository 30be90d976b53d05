"""Records of the Outlook → booking side: the change feed (one partition per org, holding
its counter, changes, delta states, webhook cursor and claimed meetings) and what the
inbound side remembers of each mailbox's events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from shared.adapters.entity import Entity
from shared.core.clock import utcnow


# -- the change feed (one partition per org) -----------------------------------------------------
@dataclass(kw_only=True)
class FeedCounter(Entity):
    TABLE: ClassVar[str] = "Feed"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("kind",)

    org: str
    kind: str = "seq"
    value: int = 0


@dataclass(kw_only=True)
class WebhookCursor(Entity):
    TABLE: ClassVar[str] = "Feed"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("kind",)

    org: str
    kind: str = "webhook"
    delivered: int = 0
    failures: int = 0
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    # While a retry is scheduled (the org's one retry chain), rounds enqueue no delivery.
    retry_at: datetime | None = None
    # The last seq of a batch whose delivery failed: until it is acknowledged, every retry
    # sends exactly that batch again (same changes, webhook-id and body), nothing after it.
    in_flight: int | None = None


@dataclass(kw_only=True)
class DeltaState(Entity):
    """A mailbox's delta position; committed with the changes its round produced."""

    TABLE: ClassVar[str] = "Feed"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("kind", "mailbox")

    org: str
    kind: str = "delta"
    mailbox: str
    owner_kind: str = "worker"
    owner_id: str = ""
    delta_link: str | None = None
    # The calendarView window the deltaLink's token holds (its first request's).
    window_start: datetime | None = None
    window_end: datetime | None = None
    last_sync_at: datetime | None = None
    rounds: int = 0
    # The round whose snapshots this commit made valid (StagedSnapshot rows under its id):
    # written before the commit, copied into SeenEvent after it — by that round, or by the
    # next round that reads snapshots, if that round died first.
    staged: str | None = None
    # Whether the mailbox has had a series: its rounds then ask Graph which masters changed
    # (shared.service.series_lookup.changed_masters). A row from before this field: unknown, so
    # yes; a new mailbox's state starts without.
    series: bool = True


@dataclass(kw_only=True)
class FeedChange(Entity):
    TABLE: ClassVar[str] = "Feed"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("kind", "seq")

    org: str
    kind: str = "change"
    seq: str  # zero-padded so RowKey order is sequence order
    type: str
    appointment: str | None = None
    worker: str | None = None
    resource: str | None = None
    mailbox: str | None = None
    event_id: str | None = None
    at: datetime = field(default_factory=utcnow)
    data: dict[str, Any] = field(default_factory=dict)
    task: str | None = None


@dataclass(kw_only=True)
class MeetingClaim(Entity):
    """A meeting made in Outlook, reported to the org once: the first mailbox round to see it
    claims it in the transaction that commits its `created`; the other mailboxes' copies
    (attendees, rooms) are copies of that one appointment."""

    TABLE: ClassVar[str] = "Feed"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("kind", "ical_uid")

    org: str
    kind: str = "meeting"
    ical_uid: str
    appointment: str
    mailbox: str  # the mailbox whose copy reports the meeting's edits


# -- what the inbound side remembers ---------------------------------------------------------------
@dataclass(kw_only=True)
class SeenEvent(Entity):
    """A mapped event as last seen (or written by us) in one mailbox, by one org: orgs
    sharing a mailbox each keep their own."""

    TABLE: ClassVar[str] = "Seen"
    PARTITION: ClassVar[tuple[str, ...]] = ("mailbox",)
    ROW: ClassVar[tuple[str, ...]] = ("org", "event_id")

    mailbox: str
    event_id: str
    org: str
    appointment: str
    role: str  # ours | created | copy
    change_key: str | None = None
    content: dict[str, Any] = field(default_factory=dict)


# No id of ours contains a control character (shared.core.validation.identifier), so no
# SeenEvent row key (org first) starts with this one's.
STAGE = "\x01stage"


@dataclass(kw_only=True)
class StagedSnapshot(Entity):
    """A round's snapshot write (or `forget`), staged before its commit in the same table and
    partition as SeenEvent: it takes effect only if DeltaState.staged names its round, and
    is then moved into SeenEvent in one transaction with its own deletion, so it is applied
    once — however many instances try."""

    TABLE: ClassVar[str] = "Seen"
    PARTITION: ClassVar[tuple[str, ...]] = ("mailbox",)
    ROW: ClassVar[tuple[str, ...]] = ("stage", "round", "org", "event_id")

    mailbox: str
    stage: str = STAGE
    round: str
    org: str
    event_id: str
    forget: bool = False
    appointment: str = ""
    role: str = ""
    change_key: str | None = None
    content: dict[str, Any] = field(default_factory=dict)


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


# -- rounds asked for and not yet started (one partition per mailbox link) -----------------------
@dataclass(kw_only=True)
class QueuedRound(Entity):
    """A notification's round for this mailbox is in the queue and has not started reading the
    delta: further notifications need no message of their own (shared.service.round_marks).
    One partition per link, so one busy mailbox's marks are not an org-wide hot partition."""

    TABLE: ClassVar[str] = "Rounds"
    PARTITION: ClassVar[tuple[str, ...]] = ("org", "owner_kind", "owner_id")
    ROW: ClassVar[tuple[str, ...]] = ("kind",)

    org: str
    owner_kind: str
    owner_id: str
    kind: str = "queued"
    queued_at: datetime = field(default_factory=utcnow)
