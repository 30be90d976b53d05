"""FakeGraph's Microsoft To Do: lists, tasks, linkedResources and a list's delta, answered
as GraphGateway answers when it talks to the emulator (tests/contracts holds both to it).

For tests: `todo_tasks(tenant, mailbox, list_id)` (what is stored), `todo_edit(...)` and
`todo_delete(...)` (the worker in To Do: not a call of ours, never faulted).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from shared.core.errors import DeltaTokenExpired, GraphNotFound, GraphRejected
from shared.core.timezones import graph_instant, zone
from tests.fakes.schema import conform

IMPORTANCE = ("low", "normal", "high")
STATUS = ("notStarted", "inProgress", "completed", "waitingOnOthers", "deferred")
TASK_FIELDS = ("title", "body", "importance", "status", "isReminderOn", "reminderDateTime", "dueDateTime")


@dataclass
class _List:
    id: str
    name: str
    well_known: str = "none"
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    seq: int = 0
    changed: dict[str, int] = field(default_factory=dict)  # task id → seq of its last change
    removed: dict[str, int] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)  # task id → seq of its creation


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _bad(message: str) -> GraphRejected:
    return GraphRejected(f"invalidRequest: {message}", graph_status=400, graph_code="invalidRequest")


def _missing(what: str) -> GraphNotFound:
    return GraphNotFound(f"ErrorItemNotFound: The specified {what} was not found.", graph_status=404)


class FakeTodo:
    """Mixed into FakeGraph (which provides _call, _answer, _mailbox_user, _ids)."""

    _call: Any
    _answer: Any
    _mailbox_user: Any
    _ids: Any

    @property
    def _todo(self) -> dict[str, dict[str, _List]]:
        store = self.__dict__.setdefault("_todo_state", {})
        return store

    def _lists_of(self, tenant_id: str, mailbox_id: str) -> dict[str, _List]:
        user = self._mailbox_user(tenant_id, mailbox_id)
        lists = self._todo.setdefault(user.id, {})
        if not lists:  # the built-in lists (todotasklist.md)
            for name, known in (("Tasks", "defaultList"), ("Flagged Emails", "flaggedEmails")):
                built_in = _List(self._todo_id(), name, known)
                lists[built_in.id] = built_in
        return lists

    def _todo_list(self, tenant_id: str, mailbox_id: str, list_id: str) -> _List:
        found = self._lists_of(tenant_id, mailbox_id).get(list_id)
        if found is None:
            raise _missing("task list")
        return found

    def _todo_id(self) -> str:
        return base64.urlsafe_b64encode(b"\x00\x0e" + self._ids.randbytes(30)).decode()

    def _touch_task(self, lst: _List, task: dict[str, Any]) -> None:
        lst.seq += 1
        lst.changed[task["id"]] = lst.seq
        lst.created.setdefault(task["id"], lst.seq)
        task["lastModifiedDateTime"] = _now()
        task["@odata.etag"] = 'W/"' + base64.b64encode(self._ids.randbytes(12)).decode() + '"'

    @staticmethod
    def _set_fields(task: dict[str, Any], body: Any) -> None:
        if not isinstance(body, dict):
            raise _bad("Empty Payload. JSON content expected.")
        if "importance" in body and body["importance"] not in IMPORTANCE:
            raise _bad(f"Invalid value '{body['importance']}' for importance.")
        if "status" in body and body["status"] not in STATUS:
            raise _bad(f"Invalid value '{body['status']}' for status.")
        for key in TASK_FIELDS:
            if key in body:
                task[key] = body[key]
        due = body.get("dueDateTime")
        if due:
            # As To Do (todotask-update.md's example): the due date's midnight in the zone it
            # was given, answered in UTC.
            tz = zone(due.get("timeZone") or "UTC")
            day = (graph_instant(due) or datetime.now(UTC)).astimezone(tz).date()
            midnight = datetime.combine(day, time(0), tz).astimezone(UTC)
            task["dueDateTime"] = {"dateTime": midnight.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}
        was_done = task.get("completedDateTime") is not None
        if task.get("status") == "completed" and not was_done:
            # To Do records the day, as its midnight UTC (docs-contrib issues #5306, #8664).
            task["completedDateTime"] = {"dateTime": _now()[:10] + "T00:00:00.0000000", "timeZone": "UTC"}
        elif task.get("status") != "completed":
            task["completedDateTime"] = None

    # -- test helpers ---------------------------------------------------------------------------
    def todo_tasks(self, tenant_id: str, mailbox_id: str, list_id: str) -> list[dict[str, Any]]:
        return [dict(t) for t in self._todo_list(tenant_id, mailbox_id, list_id).tasks.values()]

    def todo_edit(self, tenant_id: str, mailbox_id: str, list_id: str, todo_id: str, patch: dict) -> None:
        lst = self._todo_list(tenant_id, mailbox_id, list_id)
        self._set_fields(lst.tasks[todo_id], patch)
        self._touch_task(lst, lst.tasks[todo_id])

    def todo_delete(self, tenant_id: str, mailbox_id: str, list_id: str, todo_id: str) -> None:
        lst = self._todo_list(tenant_id, mailbox_id, list_id)
        del lst.tasks[todo_id]
        lst.seq += 1
        lst.removed[todo_id] = lst.seq

    # -- the port -----------------------------------------------------------------------------
    async def todo_lists(self, tenant_id: str, mailbox_id: str) -> list[dict]:
        self._call("todo_lists", tenant_id, mailbox_id, mailbox=mailbox_id)
        return [
            {"id": lst.id, "displayName": lst.name, "wellknownListName": lst.well_known, "isOwner": True}
            for lst in self._lists_of(tenant_id, mailbox_id).values()
        ]

    async def create_todo_list(self, tenant_id: str, mailbox_id: str, name: str) -> dict[str, Any]:
        fault = self._call("create_todo_list", tenant_id, mailbox_id, mailbox=mailbox_id)
        lists = self._lists_of(tenant_id, mailbox_id)
        lst = _List(self._todo_id(), name)
        lists[lst.id] = lst
        return self._answer(fault, "create_todo_list", {"id": lst.id, "displayName": name, "wellknownListName": "none"})

    async def create_todo_task(
        self, tenant_id: str, mailbox_id: str, list_id: str, task: dict[str, Any], *, retries: int | None = None
    ) -> dict[str, Any]:
        fault = self._call("create_todo_task", tenant_id, mailbox_id, list_id, mailbox=mailbox_id)
        conform("graph.todoTask", task)
        lst = self._todo_list(tenant_id, mailbox_id, list_id)
        if not isinstance(task, dict) or not task.get("title"):
            raise _bad("A task needs a title.")
        made: dict[str, Any] = {
            "id": self._todo_id(),
            "importance": "normal",
            "status": "notStarted",
            "isReminderOn": False,
            "createdDateTime": _now(),
            "body": {"content": "", "contentType": "text"},
        }
        self._set_fields(made, task)
        made["linkedResources"] = [
            {**r, "id": str(self._ids.getrandbits(64))} for r in task.get("linkedResources") or []
        ]
        lst.tasks[made["id"]] = made
        self._touch_task(lst, made)
        return self._answer(fault, "create_todo_task", _render(made))

    async def update_todo_task(
        self,
        tenant_id: str,
        mailbox_id: str,
        list_id: str,
        todo_id: str,
        patch: dict[str, Any],
        *,
        retries: int | None = None,
    ) -> dict[str, Any]:
        fault = self._call("update_todo_task", tenant_id, mailbox_id, todo_id, mailbox=mailbox_id)
        conform("graph.todoTask", patch)
        lst = self._todo_list(tenant_id, mailbox_id, list_id)
        if todo_id not in lst.tasks:
            raise _missing("task")
        trial = dict(lst.tasks[todo_id])
        self._set_fields(trial, patch)  # validated in full before anything changes
        lst.tasks[todo_id] = trial
        self._touch_task(lst, trial)
        return self._answer(fault, "update_todo_task", _render(trial))

    async def delete_todo_task(
        self, tenant_id: str, mailbox_id: str, list_id: str, todo_id: str, *, retries: int | None = None
    ) -> bool:
        fault = self._call("delete_todo_task", tenant_id, mailbox_id, todo_id, mailbox=mailbox_id)
        try:
            lst = self._todo_list(tenant_id, mailbox_id, list_id)
            if todo_id not in lst.tasks:
                raise _missing("task")
        except GraphNotFound:
            return self._answer(fault, "delete_todo_task", False)
        self.todo_delete(tenant_id, mailbox_id, list_id, todo_id)
        return self._answer(fault, "delete_todo_task", True)

    async def find_todo_tasks(self, tenant_id: str, mailbox_id: str, list_id: str, external_id: str) -> list[dict]:
        self._call("find_todo_tasks", tenant_id, mailbox_id, list_id, mailbox=mailbox_id)
        try:
            lst = self._todo_list(tenant_id, mailbox_id, list_id)
        except GraphNotFound:
            return []
        return [
            {**_render(t), "linkedResources": t["linkedResources"]}
            for t in lst.tasks.values()
            if any(r.get("externalId") == external_id for r in t["linkedResources"])
        ]

    async def todo_delta(
        self, tenant_id: str, mailbox_id: str, list_id: str, link: str | None
    ) -> tuple[list[dict], str]:
        self._call("todo_delta", tenant_id, mailbox_id, list_id, mailbox=mailbox_id)
        lst = self._todo_list(tenant_id, mailbox_id, list_id)
        since = 0
        if link:
            token = link.rsplit("$deltatoken=", 1)[-1]
            if not token.isdigit():
                raise _bad("The delta token is not valid.")
            since = int(token)
            if since > lst.seq:
                raise DeltaTokenExpired("syncStateNotFound", graph_status=410, graph_code="syncStateNotFound")
        items: list[dict] = [_render(t) for t in lst.tasks.values() if lst.changed.get(t["id"], 0) > since]
        if since:
            # Only what the token had listed: a task made and deleted since is not named at all
            # (as the emulator: delta-query-overview.md names removals of what the client has).
            items += [
                {"id": i, "@removed": {"reason": "deleted"}}
                for i, s in lst.removed.items()
                if s > since and lst.created.get(i, 0) <= since
            ]
        base = "https://graph.fake.test/v1.0"
        return items, f"{base}/users/{mailbox_id}/todo/lists/{list_id}/tasks/delta?$deltatoken={lst.seq}"


def _render(task: dict[str, Any]) -> dict[str, Any]:
    """A task as Graph answers it (linkedResources are a relationship: only on $expand)."""
    return {"@odata.etag": task["@odata.etag"], **{k: v for k, v in task.items() if k not in ("linkedResources",)}}
