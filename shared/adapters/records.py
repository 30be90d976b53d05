"""Every table record calsync stores, with the fields that make its keys.

A record is a dataclass subclass of `Entity` naming its table (without the deployment's
prefix) and the fields that make its PartitionKey and RowKey (encoded by the table store).
Records sharing a table share its partitions: the feed's counter, changes, delta states and
webhook cursor are one partition per org, committed together. docs/architecture.md has the
table of tables.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from shared.adapters.entity import Entity
from shared.adapters.inbound_records import FeedCounter, HeldDeletion
from shared.core.clock import utcnow
from shared.core.mapping import Desired
from shared.core.org_settings import OrgSettings


# -- organisations ---------------------------------------------------------------------------
@dataclass(kw_only=True)
class Org(Entity):
    TABLE: ClassVar[str] = "Orgs"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("org",)

    org: str
    m365_tenant_id: str
    display_name: str = ""
    status: str = "pending"  # connected | error | pending
    error_code: str | None = None
    error_message: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # OrgSettings, stored by API name
    # Every link's address is in PersonAddress (orgs from before the index are indexed by
    # their first round that needs it).
    addresses_indexed: bool = False
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    @property
    def config(self) -> OrgSettings:
        return OrgSettings.from_stored(self.settings)


# -- links -------------------------------------------------------------------------------------
@dataclass(kw_only=True)
class MailboxLink(Entity):
    """What workers and resources share: the mailbox, the subscription, the status."""

    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    KIND: ClassVar[str]  # worker | resource: also the field that holds the owner's id
    ACCOUNT: ClassVar[str]  # the field that holds the address the booking product gave

    org: str
    m365_user_id: str | None = None
    display_name: str = ""
    status: str = "unlinked"  # linked | error | unlinked
    error_code: str | None = None
    error_message: str | None = None
    mode: str = "push"  # push (a subscription); "polling" only on links made before 2026-12
    subscription_id: str | None = None
    subscribe_attempts: int = 0  # failed subscription attempts in a row (reconcile's backoff)
    subscription_expires_at: datetime | None = None
    attention: str | None = None  # why an admin must look (held deletions)
    held_deletions: int = 0
    last_sync_at: datetime | None = None  # the last successful delta round
    # When that round began reading the delta: a notification that arrived before it (by a
    # margin for clocks) needs no round of its own (shared.service.mailbox_rounds).
    round_began_at: datetime | None = None
    last_notification_at: datetime | None = None
    # Series masters calsync made here that no round has read yet: delta never names a master,
    # nor an occurrence it never listed, so one deleted in Outlook before any round saw it
    # shows in no delta item. Rounds read these masters once (shared.service.mailbox_rounds).
    unseen_series: list[str] = field(default_factory=list)
    time_zone: str | None = None  # mailboxSettings.timeZone, read on a worker's first task (To Do due dates)
    updated_at: datetime = field(default_factory=utcnow)

    @property
    def owner_id(self) -> str:
        return getattr(self, self.KIND)

    @property
    def account(self) -> str | None:
        return getattr(self, self.ACCOUNT)

    def set_account(self, value: str | None) -> None:
        setattr(self, self.ACCOUNT, value)

    def fail(self, code: str, message: str) -> None:
        self.status, self.error_code, self.error_message = "error", code, message


@dataclass(kw_only=True)
class WorkerLink(MailboxLink):
    TABLE: ClassVar[str] = "Workers"
    ROW: ClassVar[tuple[str, ...]] = ("worker",)
    KIND: ClassVar[str] = "worker"
    ACCOUNT: ClassVar[str] = "m365_account"

    worker: str
    m365_account: str | None = None
    restricted: bool = False


@dataclass(kw_only=True)
class ResourceLink(MailboxLink):
    TABLE: ClassVar[str] = "Resources"
    ROW: ClassVar[tuple[str, ...]] = ("resource",)
    KIND: ClassVar[str] = "resource"
    ACCOUNT: ClassVar[str] = "mailbox"

    resource: str
    mailbox: str | None = None
    kind: str = "room"  # room | equipment
    group: str | None = None  # the room list it came from, on import
    # The room's places data as the import read it (capacity, building, floor, tags,
    # bookingType: shared.service.room_import.PLACE_FIELDS), for finding a room; and when.
    place: dict[str, Any] = field(default_factory=dict)
    place_read_at: datetime | None = None


LINK_CLASSES: dict[str, type[MailboxLink]] = {"worker": WorkerLink, "resource": ResourceLink}


@dataclass(kw_only=True)
class MailboxClaim(Entity):
    """One mailbox (by object id) belongs to at most one worker or resource of an org."""

    TABLE: ClassVar[str] = "Mailboxes"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("user_id",)

    org: str
    user_id: str
    owner_kind: str
    owner_id: str


@dataclass(kw_only=True)
class PersonAddress(Entity):
    """The org's link that holds an address (lower-cased), so a round can look up the people
    its events name with point reads instead of reading every link of the org. A superset:
    written before a link takes the address, removed after it gives it up; every look-up
    checks the link itself (shared.service.people)."""

    TABLE: ClassVar[str] = "Addresses"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("address",)

    org: str
    address: str
    owner_kind: str
    owner_id: str


@dataclass(kw_only=True)
class SubscriptionRecord(Entity):
    """Our Graph subscriptions by id: what a notification is checked against."""

    TABLE: ClassVar[str] = "Subscriptions"
    PARTITION: ClassVar[tuple[str, ...]] = ("subscription_id",)
    ROW: ClassVar[tuple[str, ...]] = ("subscription_id",)

    subscription_id: str
    org: str  # the link that created it (rows from before watchers were kept name only it)
    tenant_id: str
    mailbox_id: str
    owner_kind: str
    owner_id: str
    client_state: str
    expires_at: datetime
    # Every link that watches the mailbox through it, of any org on the tenant:
    # [{"org", "kind", "owner"}]. One Graph subscription per (tenant, mailbox).
    watchers: list[dict[str, str]] = field(default_factory=list)

    def watching(self) -> list[tuple[str, str, str]]:
        """(org, kind, owner) of every link this subscription serves."""
        found = [(w["org"], w["kind"], w["owner"]) for w in self.watchers]
        return found or [(self.org, self.owner_kind, self.owner_id)]


@dataclass(kw_only=True)
class MailboxSubscription(Entity):
    """(tenant, mailbox) → the one subscription every link of that mailbox shares."""

    TABLE: ClassVar[str] = "MailboxSubscriptions"
    PARTITION: ClassVar[tuple[str, ...]] = ("tenant_id",)
    ROW: ClassVar[tuple[str, ...]] = ("mailbox_id",)

    tenant_id: str
    mailbox_id: str
    subscription_id: str


# -- appointments and their targets ----------------------------------------------------------
@dataclass(kw_only=True)
class Appointment(Entity):
    TABLE: ClassVar[str] = "Appointments"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("appointment",)

    org: str
    appointment: str
    title: str = ""
    start: str = ""
    end: str = ""
    time_zone: str = "UTC"
    is_all_day: bool = False
    location: str = ""
    body: str = ""
    is_private: bool = False
    online_meeting: bool = False  # a Teams meeting (the organizer's meeting gets a join URL)
    organizer: str | None = None
    attendees: list[str] = field(default_factory=list)
    guests: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    push: bool = True
    deleted: bool = False
    recurrence: dict[str, Any] | None = None  # Graph's patternedRecurrence; None: one occurrence
    # A series' exceptions by original date (YYYY-MM-DD, local): changed fields, or cancelled.
    occurrences: dict[str, dict[str, Any]] = field(default_factory=dict)
    updated_at: datetime = field(default_factory=utcnow)

    def desired(self) -> Desired:
        """The planner's view of this appointment (lists become tuples)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(Desired)}
        return Desired(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


@dataclass(kw_only=True)
class Target(Entity):
    """One appointment in one mailbox: the event we keep there and how it went."""

    TABLE: ClassVar[str] = "Targets"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("appointment", "mailbox")

    org: str
    appointment: str
    mailbox: str  # the mailbox's user id
    address: str = ""
    role: str = "organizer"
    owner_kind: str = "worker"
    owner_id: str = ""
    event_id: str | None = None
    change_key: str | None = None  # what Graph answered to our last write: echo suppression
    written_at: str | None = None  # that answer's lastModifiedDateTime (reads from before it are stale)
    ical_uid: str | None = None
    state: str = "pending"  # pending | synced | failed | deleting | deleted
    written: dict[str, Any] = field(default_factory=dict)
    intended: dict[str, Any] = field(default_factory=dict)  # a write sent, its answer not (yet) back
    earlier: list[dict[str, Any]] = field(default_factory=list)  # our writes before: changeKey, written
    responses: dict[str, str] = field(default_factory=dict)  # attendee/room address → its answer
    occurrences: dict[str, dict[str, Any]] = field(default_factory=dict)  # date → what we wrote to it
    transaction_id: str | None = None
    join_url: str | None = None  # an online meeting's Teams join URL, as Graph answered it
    # Graph fields a PUT is writing whatever `written` says (it re-asserted them over an
    # Outlook edit): a retry writes them too; cleared when Graph confirms the write.
    reassert: list[str] = field(default_factory=list)
    renew: bool = False  # make the event again (oneWay: Outlook cancelled one of its occurrences)
    writes: int = 0  # writes of ours Graph confirmed (the inbound side orders its snapshots by it)
    generation: int = 0
    attempts: int = 0
    error_code: str | None = None
    error_message: str | None = None
    updated_at: datetime = field(default_factory=utcnow)


@dataclass(kw_only=True)
class EventRef(Entity):
    """Reverse index for the inbound side: (mailbox, event id) → our appointment."""

    TABLE: ClassVar[str] = "EventIndex"
    PARTITION: ClassVar[tuple[str, ...]] = ("mailbox",)
    ROW: ClassVar[tuple[str, ...]] = ("event_id",)

    mailbox: str
    event_id: str
    org: str
    appointment: str
    role: str
    change_key: str | None = None
    # An occurrence we wrote (an exception): its series master, and the changeKeys Graph
    # answered our last writes of it with (a delta item carrying one is ours, however stale).
    series: str | None = None
    keys: list[str] = field(default_factory=list)
    written_at: str | None = None  # the lastModifiedDateTime Graph answered our last write of it with
    # A single event's span (normalized, UTC): a fresh round that does not list an event we
    # wrote in its window asks Graph whether it is gone. None for series.
    when: dict[str, Any] | None = None


@dataclass(kw_only=True)
class IcalRef(Entity):
    """iCalUId of one of our meetings → the appointment (finds attendee and room copies)."""

    TABLE: ClassVar[str] = "IcalIndex"
    PARTITION: ClassVar[tuple[str, ...]] = ("ical_uid",)
    ROW: ClassVar[tuple[str, ...]] = ("ical_uid",)

    ical_uid: str
    org: str
    appointment: str


# -- bulk push jobs ------------------------------------------------------------------------------
@dataclass(kw_only=True)
class Job(Entity):
    TABLE: ClassVar[str] = "Jobs"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("job",)

    org: str
    job: str
    worker: str = ""  # push jobs: whose calendar
    kind: str = "push"  # push | import
    total: int = 0  # appointments or resources; an import knows it once discovered
    chunks: int = 0
    error_code: str | None = None  # an import whose discovery could not finish
    error_message: str | None = None
    created_at: datetime = field(default_factory=utcnow)


@dataclass(kw_only=True)
class JobChunk(Entity):
    TABLE: ClassVar[str] = "JobChunks"
    PARTITION: ClassVar[tuple[str, ...]] = ("job",)
    ROW: ClassVar[tuple[str, ...]] = ("chunk",)

    job: str
    chunk: str
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    pending: int = 0
    final: bool = False
    attempts: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)  # an import's rows; a push's outcomes
    updated_at: datetime = field(default_factory=utcnow)


# Records kept in partitions keyed by org (one delete_partition each removes an org's rows;
# the Feed partition holds FeedChange, DeltaState and WebhookCursor too).
ORG_PARTITIONED: tuple[type[Entity], ...] = (
    WorkerLink,
    ResourceLink,
    MailboxClaim,
    PersonAddress,
    Appointment,
    Target,
    Job,
    FeedCounter,
    HeldDeletion,
)
