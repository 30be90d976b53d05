"""Every queue calsync uses, and the one typed message each carries.

A message is a frozen dataclass naming its QUEUE; `to_wire` gives the JSON object the queue
holds (the keys are the wire names below, unchanged since the first release), `from_wire`
reads one back and raises `BadMessage` when it is not of that shape (the host then retries
it and finally moves it to `<queue>-poison`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Self


class BadMessage(ValueError):
    """A queue message that is not of its queue's shape."""


@dataclass(frozen=True)
class QueueMessage:
    QUEUE: ClassVar[str]
    WIRE: ClassVar[dict[str, str]] = {}  # field name → wire name, where they differ

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[self.WIRE.get(f.name, f.name)] = value.isoformat() if isinstance(value, datetime) else value
        return out

    @classmethod
    def from_wire(cls, data: Any) -> Self:
        if not isinstance(data, dict):
            raise BadMessage(f"{cls.QUEUE}: a message is a JSON object")
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            wire = cls.WIRE.get(f.name, f.name)
            if wire not in data:
                if f.default is dataclasses.MISSING:
                    raise BadMessage(f"{cls.QUEUE}: the message has no {wire!r}")
                continue
            value = data[wire]
            if f.type in ("datetime | None", "datetime") and isinstance(value, str):
                try:
                    value = datetime.fromisoformat(value)
                except ValueError:
                    raise BadMessage(f"{cls.QUEUE}: {wire!r} is not an ISO date-time") from None
            values[f.name] = value
        return cls(**values)


@dataclass(frozen=True)
class MailboxSync(QueueMessage):
    """One delta round for one worker's or resource's mailbox."""

    QUEUE: ClassVar[str] = "mailbox-sync"
    org: str
    kind: str  # worker | resource
    owner: str
    reason: str = "notification"  # notification | missed | reconcile | linked | catch-up | reauthorized
    at: datetime | None = None  # when Graph's notification arrived
    marked: bool = False  # a QueuedRound stands for this message: its round clears it


@dataclass(frozen=True)
class MailboxSyncBatch(QueueMessage):
    """Reconcile rounds for consecutive links of one org and kind (in row-key order): one
    message, one read of the org and one page of links instead of one of each per mailbox."""

    QUEUE: ClassVar[str] = "mailbox-sync-batch"
    org: str
    kind: str  # worker | resource
    owners: list[str]
    reason: str = "reconcile"


@dataclass(frozen=True)
class WebhookDelivery(QueueMessage):
    QUEUE: ClassVar[str] = "webhook-delivery"
    org: str
    attempt: int = 0


@dataclass(frozen=True)
class AppointmentRetry(QueueMessage):
    """Finish a push Graph held up."""

    QUEUE: ClassVar[str] = "appointment-sync"
    org: str
    appointment: str


@dataclass(frozen=True)
class TaskRetry(QueueMessage):
    """Finish a task push Graph held up."""

    QUEUE: ClassVar[str] = "task-sync"
    org: str
    task: str


@dataclass(frozen=True)
class TaskRound(QueueMessage):
    """Read one worker's task list delta (the reconcile timer's fan-out: To Do has no
    application-permission change notifications)."""

    QUEUE: ClassVar[str] = "task-rounds"
    org: str
    worker: str
    name: str


@dataclass(frozen=True)
class TaskRoundBatch(QueueMessage):
    """Task-list rounds for up to 50 lists of one org (the reconcile timer's fan-out, as
    MailboxSyncBatch does for mailboxes): one message and one read of the org per batch."""

    QUEUE: ClassVar[str] = "task-round-batches"
    org: str
    lists: list[list[str]]  # [worker, list name], in the TaskList table's row order


@dataclass(frozen=True)
class PushChunk(QueueMessage):
    """Up to 20 appointments of one bulk push job."""

    QUEUE: ClassVar[str] = "push-jobs"
    org: str
    job: str
    chunk: str
    appointments: list[str]


@dataclass(frozen=True)
class ImportDiscover(QueueMessage):
    """Find a tenant's rooms and equipment for a resource import job."""

    QUEUE: ClassVar[str] = "resource-import"
    org: str
    job: str


@dataclass(frozen=True)
class ImportChunk(QueueMessage):
    """Up to 25 rooms or equipment mailboxes of an import job to link."""

    QUEUE: ClassVar[str] = "resource-import-chunks"
    org: str
    job: str
    chunk: str
    resources: list[dict[str, Any]]  # {mailbox, userId, name, kind, group}


@dataclass(frozen=True)
class RenewSubscription(QueueMessage):
    QUEUE: ClassVar[str] = "subscription-maintenance"
    WIRE: ClassVar[dict[str, str]] = {"subscription_id": "subscriptionId"}
    subscription_id: str
    action: str = "renew"


@dataclass(frozen=True)
class SubscriptionLifecycle(QueueMessage):
    QUEUE: ClassVar[str] = "subscription-lifecycle"
    WIRE: ClassVar[dict[str, str]] = {"subscription_id": "subscriptionId", "lifecycle_event": "lifecycleEvent"}
    org: str
    kind: str
    owner: str
    subscription_id: str
    lifecycle_event: str  # subscriptionRemoved | reauthorizationRequired


@dataclass(frozen=True)
class OrgReconcile(QueueMessage):
    QUEUE: ClassVar[str] = "org-reconcile"
    org: str


@dataclass(frozen=True)
class RoomRelease(QueueMessage):
    """Release the org's room bookings nobody checked in to (shared.service.room_release)."""

    QUEUE: ClassVar[str] = "room-release"
    org: str


MESSAGES: tuple[type[QueueMessage], ...] = (
    MailboxSync,
    MailboxSyncBatch,
    WebhookDelivery,
    AppointmentRetry,
    TaskRetry,
    TaskRound,
    TaskRoundBatch,
    PushChunk,
    ImportDiscover,
    ImportChunk,
    RenewSubscription,
    SubscriptionLifecycle,
    OrgReconcile,
    RoomRelease,
)
