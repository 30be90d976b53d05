"""The ports the use cases are written against, and the bundle of them they receive.

The real adapters (shared.adapters: TableStore, QueueSender, GraphGateway,
HttpWebhookClient) and the in-memory fakes (tests/fakes) both satisfy these Protocols and
pass the same contract suites (tests/contracts).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from shared.adapters.entity import Entity
from shared.adapters.messages import QueueMessage
from shared.core.clock import SystemClock
from shared.core.graph_types import DirectoryUser, SubscriptionInfo
from shared.core.metric_names import Metric
from shared.core.settings import Settings

E = TypeVar("E", bound=Entity)
BatchOp = tuple[Literal["insert", "upsert", "update", "delete"], Entity]


class Store(Protocol):
    """Table records in and out. Optimistic concurrency: `update`/`delete` with an etag and
    `insert` of an existing record raise ConcurrencyConflict when someone wrote first."""

    async def get(self, cls: type[E], **key: str) -> E | None: ...
    async def insert(self, entity: E) -> E: ...
    async def upsert(self, entity: E) -> E: ...
    async def update(self, entity: E) -> E: ...
    async def delete(self, entity: Entity) -> None: ...
    async def delete_key(self, cls: type[Entity], **key: str) -> None: ...
    async def delete_partition(self, cls: type[Entity], **partition: str) -> int: ...
    def query(
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
        """Records of one partition in row-key order; see TableStore.query."""
        ...

    async def submit(self, ops: Sequence[BatchOp]) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class Queues(Protocol):
    async def send(self, message: QueueMessage, *, delay_seconds: int | None = None) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class Graph(Protocol):
    """Microsoft Graph as calsync uses it. Failures raise shared.core.errors.GraphError types."""

    async def probe(self, tenant_id: str) -> None: ...
    async def get_user(self, tenant_id: str, key: str) -> DirectoryUser:
        """By id, userPrincipalName, mail or proxy address; AccountAmbiguous for two users."""
        ...

    async def user_purpose(self, tenant_id: str, user_id: str) -> str: ...
    async def mailbox_time_zone(self, tenant_id: str, user_id: str) -> str: ...
    def list_users(self, tenant_id: str) -> AsyncIterator[dict]: ...
    async def list_rooms(self, tenant_id: str) -> list[dict]: ...
    async def list_room_lists(self, tenant_id: str) -> list[dict]: ...
    async def rooms_in_list(self, tenant_id: str, list_email: str) -> list[dict]: ...
    async def purposes(self, tenant_id: str, user_ids: list[str]) -> dict[str, str | None]: ...
    async def create_event(
        self, tenant_id: str, mailbox_id: str, event: dict[str, Any], *, retries: int | None = None
    ) -> dict[str, Any]: ...
    async def update_event(
        self, tenant_id: str, mailbox_id: str, event_id: str, patch: dict[str, Any], *, retries: int | None = None
    ) -> dict[str, Any]: ...
    async def delete_event(
        self, tenant_id: str, mailbox_id: str, event_id: str, *, retries: int | None = None
    ) -> bool: ...
    async def find_events(self, tenant_id: str, mailbox_id: str, property_id: str, value: str) -> list[dict]: ...
    async def instances(
        self, tenant_id: str, mailbox_id: str, event_id: str, start: datetime, end: datetime
    ) -> list[dict]: ...
    async def delta(
        self, tenant_id: str, mailbox_id: str, link: str | None, start: datetime, end: datetime
    ) -> tuple[list[dict], str]: ...
    async def get_event(self, tenant_id: str, mailbox_id: str, event_id: str) -> dict[str, Any] | None: ...
    async def get_series_master(self, tenant_id: str, mailbox_id: str, event_id: str) -> dict[str, Any] | None: ...
    async def changed_since(self, tenant_id: str, mailbox_id: str, since: datetime) -> list[dict]: ...
    async def event_tag(self, tenant_id: str, mailbox_id: str, event_id: str, property_id: str) -> str | None: ...
    async def find_by_ical(self, tenant_id: str, mailbox_id: str, ical_uid: str, property_id: str) -> str | None: ...
    async def meeting_copy(self, tenant_id: str, mailbox_id: str, ical_uid: str) -> dict[str, Any] | None: ...
    async def decline_event(self, tenant_id: str, mailbox_id: str, event_id: str, comment: str) -> bool: ...
    async def create_subscription(
        self,
        tenant_id: str,
        mailbox_id: str,
        *,
        notification_url: str,
        lifecycle_url: str,
        client_state: str,
        expires_at: datetime,
    ) -> SubscriptionInfo: ...
    async def renew_subscription(self, tenant_id: str, subscription_id: str, expires_at: datetime) -> datetime: ...
    async def reauthorize_subscription(self, tenant_id: str, subscription_id: str) -> None: ...
    async def list_subscriptions(self, tenant_id: str) -> list[dict]: ...
    async def delete_subscription(self, tenant_id: str, subscription_id: str) -> bool: ...
    async def get_schedule(
        self,
        tenant_id: str,
        caller_mailbox_id: str,
        addresses: list[str],
        start: datetime,
        end: datetime,
        interval_minutes: int,
    ) -> list[dict[str, Any]]:
        """Graph's scheduleInformation per address, in order, in UTC (shared.adapters.graph_schedule)."""
        ...

    # Microsoft To Do (shared.adapters.graph_todo)
    async def todo_lists(self, tenant_id: str, mailbox_id: str) -> list[dict]: ...
    async def create_todo_list(self, tenant_id: str, mailbox_id: str, name: str) -> dict[str, Any]: ...
    async def create_todo_task(
        self, tenant_id: str, mailbox_id: str, list_id: str, task: dict[str, Any], *, retries: int | None = None
    ) -> dict[str, Any]: ...
    async def update_todo_task(
        self,
        tenant_id: str,
        mailbox_id: str,
        list_id: str,
        todo_id: str,
        patch: dict[str, Any],
        *,
        retries: int | None = None,
    ) -> dict[str, Any]: ...
    async def delete_todo_task(
        self, tenant_id: str, mailbox_id: str, list_id: str, todo_id: str, *, retries: int | None = None
    ) -> bool: ...
    async def find_todo_tasks(self, tenant_id: str, mailbox_id: str, list_id: str, external_id: str) -> list[dict]: ...
    async def todo_delta(
        self, tenant_id: str, mailbox_id: str, list_id: str, link: str | None
    ) -> tuple[list[dict], str]: ...
    async def close(self) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class WebhookClient(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> str | None:
        """None when the receiver answered 2xx, else what went wrong."""
        ...

    async def close(self) -> None: ...


class Metrics(Protocol):
    """Counters and histograms declared in shared.core.metric_names."""

    def add(self, metric: Metric, amount: int = 1, **attributes: str) -> None: ...
    def record(self, metric: Metric, value: float, **attributes: str) -> None: ...


class NoMetrics:
    """Records nothing: the use cases' default where no telemetry is wired (unit tests). It
    refuses an undeclared attribute as the real one does, so the tests over it catch one."""

    def add(self, metric: Metric, amount: int = 1, **attributes: str) -> None:
        metric.points(attributes)

    def record(self, metric: Metric, value: float, **attributes: str) -> None:
        metric.points(attributes)


@dataclass
class Services:
    """What a use case is given: the settings and one of each port."""

    settings: Settings
    store: Store
    queues: Queues
    graph: Graph
    webhooks: WebhookClient
    clock: Clock = field(default_factory=SystemClock)
    metrics: Metrics = field(default_factory=NoMetrics)

    async def close(self) -> None:
        await self.store.close()
        await self.queues.close()
        await self.graph.close()
        await self.webhooks.close()
