"""Tasks both ways, the pure part: the To Do task we write, what we compare it by, the plan
for one task, and what a To Do change means to the booking product.

Echo suppression rests on `todo_fields` (a task as Graph answers it) and `written_fields`
(what we sent) agreeing on every field we push; tests/unit/test_tasks.py checks that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.core.timezones import UnknownTimeZone, graph_instant, zone

APPLICATION = "calsync"  # linkedResource.applicationName on every task we write
# The booking-side fields of a task, and the Graph fields they are written as.
FIELDS = ("title", "body", "dueDate", "reminderAt", "importance", "status")
GRAPH_FIELDS = ("title", "body", "dueDateTime", "isReminderOn", "reminderDateTime", "importance", "status")


@dataclass(frozen=True)
class TaskWanted:
    """The task as the booking product last sent it (`reminder_at` in UTC, `…Z`)."""

    title: str
    body: str = ""
    due_date: str | None = None  # YYYY-MM-DD
    reminder_at: str | None = None
    importance: str = "normal"
    status: str = "notStarted"
    # The worker's mailbox time zone: To Do keeps a due date as midnight there and answers it
    # in UTC (todotask-update.md's example; a date set in UTC+14 comes back the day before).
    time_zone: str = "UTC"


def external_id(org: str, task: str) -> str:
    """What our linkedResource carries: finds a task whose create answer was lost."""
    return f"{org}/{task}"


def todo_body(wanted: TaskWanted) -> dict[str, Any]:
    """The todoTask we write. A due date is a date: To Do keeps it as midnight in the zone it
    is given, so it is given the worker's, as the To Do app does."""
    due = {"dateTime": f"{wanted.due_date}T00:00:00", "timeZone": wanted.time_zone} if wanted.due_date else None
    return {
        "title": wanted.title,
        "body": {"content": wanted.body, "contentType": "text"},
        "dueDateTime": due,
        "isReminderOn": wanted.reminder_at is not None,
        "reminderDateTime": (
            {"dateTime": wanted.reminder_at.removesuffix("Z")[:19], "timeZone": "UTC"} if wanted.reminder_at else None
        ),
        "importance": wanted.importance,
        "status": wanted.status,
    }


def _utc_text(value: dict[str, Any] | None) -> str | None:
    """A dateTimeTimeZone (UTC unless it says otherwise, as we ask) → `zulu` text."""
    moment = graph_instant(value)
    return zulu(moment) if moment is not None else None


def zulu(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.000000Z`, the API's time format, whole seconds (To Do keeps no
    less); a naive moment is UTC. Four-digit years, unlike strftime's %Y."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat(timespec="microseconds") + "Z"


def due_date(value: dict[str, Any] | None, time_zone: str = "UTC") -> str | None:
    """A dueDateTime (midnight in the zone it was set in, answered in UTC) → its date, read
    in the worker's zone `time_zone`."""
    moment = graph_instant(value)
    if moment is None:
        return None
    try:
        return moment.astimezone(zone(time_zone)).date().isoformat()
    except UnknownTimeZone:
        return moment.astimezone(UTC).date().isoformat()


def todo_fields(item: dict[str, Any], time_zone: str = "UTC") -> dict[str, Any]:
    """A task as Graph answers it (create, PATCH, delta) → the booking-side fields; due dates
    read in the worker's zone `time_zone`."""
    return {
        "title": item.get("title") or "",
        "body": ((item.get("body") or {}).get("content") or "").strip(),
        "dueDate": due_date(item.get("dueDateTime"), time_zone),
        "reminderAt": _utc_text(item.get("reminderDateTime")) if item.get("isReminderOn") else None,
        "importance": item.get("importance") or "normal",
        "status": item.get("status") or "notStarted",
    }


def written_fields(body: dict[str, Any]) -> dict[str, Any]:
    """What we sent (a todo_body) → the same fields (its due date in the zone it was sent in)."""
    return todo_fields(body, str((body.get("dueDateTime") or {}).get("timeZone") or "UTC"))


def wanted_fields(wanted: TaskWanted) -> dict[str, Any]:
    return written_fields(todo_body(wanted))


# -- the plan for one task ----------------------------------------------------------------------
@dataclass(frozen=True)
class CreateTask:
    mailbox: str
    body: dict[str, Any]
    maybe_exists: bool  # a create was sent and its answer never came: look for it first


@dataclass(frozen=True)
class UpdateTask:
    mailbox: str
    todo_id: str
    patch: dict[str, Any]


@dataclass(frozen=True)
class DeleteTask:
    mailbox: str
    todo_id: str | None  # None: a create that may have reached Graph; find it first


@dataclass(frozen=True)
class KeepTask:
    mailbox: str
    todo_id: str


TaskAction = CreateTask | UpdateTask | DeleteTask | KeepTask


@dataclass(frozen=True)
class TaskStored:
    """What we know of the task in To Do after the last sync."""

    mailbox: str | None
    todo_id: str | None
    written: dict[str, Any]  # the booking-side fields To Do last held, as far as we know
    create_sent: bool  # a create went out whose answer we did not see


def plan_task(wanted: TaskWanted | None, mailbox: str | None, stored: TaskStored) -> list[TaskAction]:
    """`wanted` None: the task is deleted. `mailbox`: the worker's now (a new worker moves it)."""
    actions: list[TaskAction] = []
    live = stored.todo_id is not None or stored.create_sent
    if stored.mailbox and live and (wanted is None or mailbox != stored.mailbox):
        actions.append(DeleteTask(stored.mailbox, stored.todo_id))
        moved = True
    else:
        moved = False
    if wanted is None or mailbox is None:
        return actions
    body = todo_body(wanted)
    if stored.todo_id and not moved:
        fields = wanted_fields(wanted)
        if fields == stored.written:
            return [KeepTask(mailbox, stored.todo_id)]
        changed = {f for f in FIELDS if fields[f] != stored.written.get(f)}
        graph = {
            "title": ("title",),
            "body": ("body",),
            "dueDate": ("dueDateTime",),
            "reminderAt": ("isReminderOn", "reminderDateTime"),
            "importance": ("importance",),
            "status": ("status",),
        }
        patch = {g: body[g] for f in changed for g in graph[f]}
        return [UpdateTask(mailbox, stored.todo_id, patch)]
    actions.append(CreateTask(mailbox, body, stored.create_sent and not moved))
    return actions


# -- To Do → booking ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskChange:
    type: str  # task_updated | task_completed | task_deleted
    fields: dict[str, Any]  # the task as To Do holds it now ({} when deleted)
    changed: tuple[str, ...]


def heard(written: dict[str, Any], etag: str | None, item: dict[str, Any], time_zone: str = "UTC") -> TaskChange | None:
    """What a delta item of one of our tasks says; None for our own write coming back.
    `time_zone`: the worker's, where To Do keeps due dates."""
    if "@removed" in item:
        return TaskChange("task_deleted", {}, ())
    if etag is not None and item.get("@odata.etag") == etag:
        return None
    fields = todo_fields(item, time_zone)
    changed = tuple(f for f in FIELDS if fields[f] != written.get(f))
    if not changed:
        return None
    done = "status" in changed and fields["status"] == "completed"
    return TaskChange("task_completed" if done else "task_updated", fields, changed)


def completed_on(item: dict[str, Any]) -> str | None:
    """The day To Do says the task was completed (YYYY-MM-DD). To Do records a day, not a
    moment: completedDateTime is that day's midnight UTC whatever zone is asked for
    (docs-contrib issues #5306, #8664), so the date is read as written, never converted."""
    value = item.get("completedDateTime") or {}
    text = str(value.get("dateTime") or "") if isinstance(value, dict) else ""
    if len(text) < 10:
        return None
    if (value.get("timeZone") or "UTC") not in ("UTC", "Etc/UTC"):
        moment = graph_instant(value)  # another zone asked for: its midnight UTC is the day
        return zulu(moment)[:10] if moment is not None else None
    return text[:10]
