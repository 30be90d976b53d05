"""Microsoft To Do: task lists, tasks and linked resources in a mailbox — state, request
bodies and wire format (GD:api-reference/v1.0/resources/todo.md, todotasklist.md,
todotask.md, linkedresource.md). The HTTP handlers and delta live in responses.py.

Every mailbox has the built-in lists "Tasks" (`defaultList`) and "Flagged Emails"
(`flaggedEmails`) from its first To Do request on: todotasklist.md, "built-in task lists
such as Flagged emails and Tasks which cannot be renamed or deleted".
"""

from __future__ import annotations

import base64
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from devtools.graph_emulator.core.errors import GraphError
from devtools.graph_emulator.core.ids import new_change_key, now
from devtools.graph_emulator.core.times import fmt, fmt_utc, parse_dt
from devtools.graph_emulator.core.world import World
from shared.core.timezones import zone

IMPORTANCE = ("low", "normal", "high")  # todotask.md, importance
STATUS = ("notStarted", "inProgress", "completed", "waitingOnOthers", "deferred")  # todotask.md, status
BODY_TYPES = ("text", "html")  # itembody.md
DATES = {  # wire name → attribute (dateTimeTimeZone properties of todotask.md)
    "dueDateTime": "due",
    "startDateTime": "start",
    "reminderDateTime": "reminder",
    "completedDateTime": "completed",
}
# Read-only properties: todotasklist-post-tasks.md lists them in the request body table;
# they are accepted and ignored. Anything else unknown is refused (openType false).
TASK_READ_ONLY = {"id", "createdDateTime", "lastModifiedDateTime", "bodyLastModifiedDateTime", "hasAttachments"}
TASK_WRITABLE = {"title", "body", "importance", "status", "isReminderOn", "categories", "recurrence", *DATES}
LIST_READ_ONLY = {"id", "isOwner", "isShared", "wellknownListName"}
LINK_WRITABLE = {"webUrl", "applicationName", "displayName", "externalId"}
NOT_FOUND = "The specified object was not found in the store."


def _new_id(mailbox_id: str, kind: bytes) -> str:
    # URL-safe Base64 like the Outlook ids of the docs' examples ("AAMkADIyAAAhrbPWAAA=").
    return base64.urlsafe_b64encode(b"\x00\x00" + kind + uuid.UUID(mailbox_id).bytes + os.urandom(28)).decode()


@dataclass
class LinkedResource:
    id: str
    web_url: str | None = None
    application_name: str | None = None
    display_name: str | None = None
    external_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "webUrl": self.web_url,
            "applicationName": self.application_name,
            "displayName": self.display_name,
            "externalId": self.external_id,
        }


@dataclass
class TodoTask:
    id: str
    title: str = ""
    body: str = ""
    body_type: str = "text"
    importance: str = "normal"
    status: str = "notStarted"
    is_reminder_on: bool = False
    categories: list[str] = field(default_factory=list)
    due: datetime | None = None  # aware UTC
    start: datetime | None = None
    reminder: datetime | None = None
    completed: datetime | None = None
    created: datetime = field(default_factory=now)
    modified: datetime = field(default_factory=now)
    body_modified: datetime = field(default_factory=now)
    change_key: str = field(default_factory=new_change_key)
    linked: list[LinkedResource] = field(default_factory=list)


@dataclass
class TodoList:
    id: str
    display_name: str
    wellknown: str = "none"  # none | defaultList | flaggedEmails
    change_key: str = field(default_factory=new_change_key)
    tasks: dict[str, TodoTask] = field(default_factory=dict)  # in creation order


@dataclass
class TodoMailbox:
    lists: dict[str, TodoList] = field(default_factory=dict)  # in creation order


def mailbox(world: World, user_id: str) -> TodoMailbox:
    """The user's To Do, with its built-in lists."""
    box = world.todo.get(user_id)
    if box is None:
        box = world.todo[user_id] = TodoMailbox()
        for name, known in (("Tasks", "defaultList"), ("Flagged Emails", "flaggedEmails")):
            lst = TodoList(_new_id(user_id, b"L"), name, known)
            box.lists[lst.id] = lst
    return box


def find_list(world: World, user_id: str, list_id: str) -> TodoList:
    lst = mailbox(world, user_id).lists.get(list_id)
    if lst is None:
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)
    return lst


def find_task(lst: TodoList, task_id: str) -> TodoTask:
    task = lst.tasks.get(task_id)
    if task is None:
        raise GraphError(404, "ErrorItemNotFound", NOT_FOUND)
    return task


def touch(item: TodoTask | TodoList) -> None:
    """Every write gives a new @odata.etag."""
    item.change_key = new_change_key()
    if isinstance(item, TodoTask):
        item.modified = now()


# -- rendering -------------------------------------------------------------------------
def list_json(lst: TodoList) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.todoTaskList",
        "@odata.etag": f'W/"{lst.change_key}"',
        "id": lst.id,
        "displayName": lst.display_name,
        "isOwner": True,
        "isShared": False,
        "wellknownListName": lst.wellknown,
    }


def task_json(task: TodoTask, *, linked: bool = False) -> dict[str, Any]:
    """todotask.md's properties. Dates are answered in UTC, as todotask-get.md's example
    answers a dueDateTime set in Eastern Standard Time; an unset date is left out."""
    out: dict[str, Any] = {
        "@odata.etag": f'W/"{task.change_key}"',
        "importance": task.importance,
        "isReminderOn": task.is_reminder_on,
        "status": task.status,
        "title": task.title,
        "createdDateTime": fmt_utc(task.created),
        "lastModifiedDateTime": fmt_utc(task.modified),
        "bodyLastModifiedDateTime": fmt_utc(task.body_modified),
        "hasAttachments": False,
        "categories": list(task.categories),
        "id": task.id,
        "body": {"content": task.body, "contentType": task.body_type},
    }
    for name, attr in DATES.items():
        value = getattr(task, attr)
        if value is not None:
            out[name] = {"dateTime": fmt(value.astimezone(UTC)), "timeZone": "UTC"}
    if linked:
        out["linkedResources"] = [lr.to_json() for lr in task.linked]
    return out


# -- request bodies --------------------------------------------------------------------
def _unreadable(message: str) -> GraphError:
    # Docs silent on the code; OData's answer to a body it can't read into the type.
    return GraphError(400, "RequestBodyRead", message)


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    return body


def _check_names(body: dict[str, Any], writable: set[str], read_only: set[str], type_name: str) -> None:
    for key in body:
        if key.startswith("@odata.") or key in writable or key in read_only:
            continue
        raise _unreadable(
            f"The property '{key}' does not exist on type 'microsoft.graph.{type_name}'. Make sure to only use "
            "property names that are defined by the type."
        )


def _string(body: dict[str, Any], key: str, *, nullable: bool = False) -> str | None:
    value = body[key]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise _unreadable(f"Cannot convert the value of '{key}' to a string.")
    return value


def _enum(body: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = body[key]
    if value not in allowed:  # exact spelling, as the docs list them
        raise _unreadable(f"Requested value '{value}' was not found for '{key}' (possible: {', '.join(allowed)}).")
    return str(value)


def _date(body: dict[str, Any], key: str) -> datetime | None:
    """A dateTimeTimeZone (datetimetimezone.md) or null; malformed → 400."""
    value = body[key]
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise GraphError(400, "ErrorInvalidRequest", f"The {key} property must be a dateTimeTimeZone.")
    if value.get("timeZone") is not None and not isinstance(value["timeZone"], str):
        raise GraphError(400, "ErrorInvalidRequest", f"The {key} time zone must be a string.")
    utc, tz_name = parse_dt(value, key)
    if key == "dueDateTime":
        # todotask-update.md's example sets 16:00 Eastern Standard Time and gets back 04:00 UTC
        # (midnight Eastern): To Do keeps the due *date* in the given zone, not the time.
        local = utc.astimezone(zone(tz_name))
        return datetime.combine(local.date(), time(0), zone(tz_name)).astimezone(UTC)
    return utc


def one_link_only() -> GraphError:
    """linkedResources is a collection, but To Do takes one per task (docs-contrib issue #654:
    400 invalidRequest, innerError InvalidModel)."""
    return GraphError(400, "invalidRequest", "Only one item in linkedResources is allowed.")


def parse_link(raw: Any) -> LinkedResource:
    """linkedresource.md: webUrl is optional ("not associated with any web URLs"); the
    emulator requires applicationName and displayName (docs silent; refused without)."""
    body = _object(raw)
    _check_names(body, LINK_WRITABLE, {"id"}, "linkedResource")
    values = {key: _string(body, key, nullable=True) for key in LINK_WRITABLE if key in body}
    for key in ("applicationName", "displayName"):
        if not values.get(key):
            raise GraphError(400, "ErrorInvalidRequest", f"A linkedResource needs a {key}.")
    return LinkedResource(
        id=str(uuid.uuid4()),
        web_url=values.get("webUrl"),
        application_name=values.get("applicationName"),
        display_name=values.get("displayName"),
        external_id=values.get("externalId"),
    )


def update_link(link: LinkedResource, raw: Any) -> bool:
    body = _object(raw)
    _check_names(body, LINK_WRITABLE, {"id"}, "linkedResource")
    changed = False
    for key, attr in (
        ("webUrl", "web_url"),
        ("applicationName", "application_name"),
        ("displayName", "display_name"),
        ("externalId", "external_id"),
    ):
        if key in body:
            value = _string(body, key, nullable=True)
            if key in ("applicationName", "displayName") and not value:
                raise GraphError(400, "ErrorInvalidRequest", f"A linkedResource needs a {key}.")
            changed |= getattr(link, attr) != value
            setattr(link, attr, value)
    return changed


def list_body(raw: Any, *, creating: bool) -> str | None:
    """todo-post-lists.md: displayName is required; the only writable property."""
    body = _object(raw)
    _check_names(body, {"displayName"}, LIST_READ_ONLY, "todoTaskList")
    if "displayName" not in body:
        if creating:
            raise GraphError(400, "ErrorInvalidRequest", "The displayName property is required.")
        return None
    name = _string(body, "displayName")
    if not (name or "").strip():
        raise GraphError(400, "ErrorInvalidRequest", "The displayName of a task list can't be empty.")
    return name


def completion_day(moment: datetime, zone_name: str) -> datetime:
    """To Do records the day a task was completed, as that day's midnight UTC (docs-contrib
    issues #5306 and #8664: "always UTC midnight", whatever zone is asked for); the day is the
    worker's, in their mailbox's time zone (docs silent; the issues' examples agree)."""
    try:
        local = moment.astimezone(zone(zone_name)).date()
    except Exception:  # an unknown zone name: UTC's day
        local = moment.astimezone(UTC).date()
    return datetime.combine(local, time(0), UTC)


def apply_task(task: TodoTask, raw: Any, *, creating: bool, zone_name: str = "UTC") -> bool:
    """Apply a create or PATCH body (todotasklist-post-tasks.md, todotask-update.md);
    returns whether anything changed. Validates everything before changing anything."""
    body = _object(raw)
    allowed = TASK_WRITABLE | ({"linkedResources"} if creating else set())
    _check_names(body, allowed, TASK_READ_ONLY, "todoTask")
    new: dict[str, Any] = {}
    if "title" in body:
        new["title"] = _string(body, "title")
    if "importance" in body:
        new["importance"] = _enum(body, "importance", IMPORTANCE)
    if "status" in body:
        new["status"] = _enum(body, "status", STATUS)
    if "isReminderOn" in body:
        if not isinstance(body["isReminderOn"], bool):
            raise _unreadable("Cannot convert the value of 'isReminderOn' to a Boolean.")
        new["is_reminder_on"] = body["isReminderOn"]
    if "categories" in body:
        cats = body["categories"]
        if cats is None:
            cats = []
        if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
            raise _unreadable("categories must be a collection of strings.")
        new["categories"] = list(cats)
    if body.get("body") is not None:
        item = body["body"]
        if not isinstance(item, dict):
            raise _unreadable("body must be an itemBody.")
        kind = str(item.get("contentType") or "text").lower()  # docs' examples write "HTML" too
        if kind not in BODY_TYPES or not isinstance(item.get("content", ""), str):
            raise _unreadable("body must be an itemBody with contentType text or html and a string content.")
        new["body"], new["body_type"] = item.get("content") or "", kind
    if body.get("recurrence") is not None:
        raise GraphError(400, "ErrorInvalidRequest", "Recurring tasks are not supported by the emulator.")
    dates = {attr: _date(body, name) for name, attr in DATES.items() if name in body}
    links = body.get("linkedResources") if creating else None
    if links is not None and not isinstance(links, list):
        raise _unreadable("linkedResources must be a collection.")
    if links is not None and len(links) > 1:
        raise one_link_only()
    parsed_links = [parse_link(lr) for lr in links or []]
    # completedDateTime follows status (docs silent; To Do sets it when a task is completed):
    # set to the day when the task becomes completed without one, cleared when it is reopened,
    # refused on a task that is not completed. A day either way (completion_day).
    status = new.get("status", task.status)
    if status == "completed":
        if dates.get("completed") is not None:
            dates["completed"] = completion_day(dates["completed"], zone_name)
        elif task.status != "completed" or task.completed is None:
            dates["completed"] = completion_day(now(), zone_name)
        elif "completed" not in dates:
            dates["completed"] = task.completed
    else:
        if dates.get("completed") is not None:
            raise GraphError(
                400, "ErrorInvalidRequest", "completedDateTime can only be set on a task whose status is completed."
            )
        dates["completed"] = None
    new.update(dates)
    changed = False
    for attr, value in new.items():
        if getattr(task, attr) != value:
            setattr(task, attr, value)
            changed = True
            if attr in ("body", "body_type"):
                task.body_modified = now()
    if parsed_links:
        task.linked.extend(parsed_links)
        changed = True
    return changed


def new_task(user_id: str, raw: Any, zone_name: str = "UTC") -> TodoTask:
    task = TodoTask(id=_new_id(user_id, b"T"))
    apply_task(task, raw, creating=True, zone_name=zone_name)
    task.modified = task.body_modified = task.created
    return task


def new_list(user_id: str, name: str) -> TodoList:
    return TodoList(_new_id(user_id, b"L"), name)


def order_by(values: list[dict[str, Any]], orderby: str | None) -> list[dict[str, Any]]:
    """`$orderby=prop [asc|desc], …` on top-level properties (a dateTimeTimeZone by its
    dateTime); anything more complex → 400."""
    if not orderby:
        return values
    out = list(values)
    for clause in reversed([c.strip() for c in orderby.split(",") if c.strip()]):
        m = re.fullmatch(r"(\w+)(?:/(dateTime))?(?:\s+(asc|desc))?", clause, re.IGNORECASE)
        if m is None:
            raise GraphError(400, "BadRequest", f"Unsupported $orderby clause '{clause}'.")

        def key(item: dict[str, Any], name: str = m.group(1)) -> tuple[bool, str]:
            value = item.get(name)
            if isinstance(value, dict):
                value = value.get("dateTime")
            return value is not None, str(value if value is not None else "")

        out.sort(key=key, reverse=(m.group(3) or "asc").lower() == "desc")
    return out
