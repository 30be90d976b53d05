"""The records of tasks pushed to Microsoft To Do (docs/architecture.md, table of tables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from shared.adapters.entity import Entity
from shared.core.clock import utcnow
from shared.core.tasks import TaskStored, TaskWanted


@dataclass(kw_only=True)
class Task(Entity):
    """A task from the booking product, and the To Do task we keep for it."""

    TABLE: ClassVar[str] = "Tasks"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("task",)

    org: str
    task: str
    worker: str = ""
    title: str = ""
    body: str = ""
    due_date: str | None = None
    reminder_at: str | None = None  # UTC, …Z
    importance: str = "normal"
    status: str = "notStarted"
    deleted: bool = False
    time_zone: str = "UTC"  # the worker's mailbox time zone when put: where To Do keeps the due date
    # In To Do:
    mailbox: str | None = None  # the worker's user id when we wrote it
    list_id: str | None = None
    todo_id: str | None = None
    todo_etag: str | None = None  # @odata.etag Graph answered our last write with: echo suppression
    written: dict[str, Any] = field(default_factory=dict)  # the fields To Do holds, as far as we know
    create_sent: bool = False  # a create went out; its answer not (yet) back
    sync_until: datetime | None = None  # the lease of the sync running now (one at a time)
    state: str = "pending"  # pending | synced | failed | deleted | deleted_in_todo
    completed_at: str | None = None
    attempts: int = 0
    error_code: str | None = None
    error_message: str | None = None
    updated_at: datetime = field(default_factory=utcnow)

    def wanted(self) -> TaskWanted | None:
        if self.deleted:
            return None
        return TaskWanted(
            self.title, self.body, self.due_date, self.reminder_at, self.importance, self.status, self.time_zone
        )

    def stored(self) -> TaskStored:
        return TaskStored(self.mailbox, self.todo_id, self.written, self.create_sent)


@dataclass(kw_only=True)
class TaskList(Entity):
    """A worker's To Do list of the org's tasks (the org's `taskListName`), made on first use.
    Inserted before the list is made: the insert is the claim that keeps two pushes from
    making two lists."""

    TABLE: ClassVar[str] = "TaskLists"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("worker", "name")

    org: str
    worker: str
    name: str
    mailbox: str
    list_id: str | None = None  # None while the claim's holder makes the list
    claimed_at: datetime = field(default_factory=utcnow)


@dataclass(kw_only=True)
class TaskRef(Entity):
    """A To Do task id → our task: what a delta item is looked up by."""

    TABLE: ClassVar[str] = "TaskRefs"
    PARTITION: ClassVar[tuple[str, ...]] = ("mailbox",)
    ROW: ClassVar[tuple[str, ...]] = ("todo_id",)

    mailbox: str
    todo_id: str
    org: str
    task: str
    # A list's delta has listed it (our create coming back). Until then a round that does not
    # find it looks it up: delta says nothing of a task made and deleted between two reads.
    seen: bool = True


@dataclass(kw_only=True)
class TaskDelta(Entity):
    """A task list's delta position; in the feed's partition, committed with its changes."""

    TABLE: ClassVar[str] = "Feed"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("kind", "list_id")

    org: str
    kind: str = "tasks"
    list_id: str
    mailbox: str = ""
    worker: str = ""
    delta_link: str | None = None
    last_sync_at: datetime | None = None
    # The To Do ids whose deletion the last commit reported: the round that committed updates
    # their records after the commit, so a round that reads them before it has (another
    # instance's, or the next after a crash) finishes that instead of reporting them again.
    deleted: list[str] = field(default_factory=list)
