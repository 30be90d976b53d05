"""Microsoft To Do over HTTP: `/users/{id | upn}/todo/lists/...` (lists, tasks, linked
resources, delta). The model and wire format are in models.py; docs are cited there and in
docs/graph-emulator.md, "Microsoft To Do".
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from devtools.graph_emulator.core.errors import EXPIRED_DELTA_MESSAGES, GraphError
from devtools.graph_emulator.core.odata import ODataError, apply_select, parse_filter
from devtools.graph_emulator.core.wire import Call, Handler, Host, Reply
from devtools.graph_emulator.todo import models as todo

LIST_PAGE = 10  # docs silent (GD:concepts/paging.md: sizes vary); as the emulator pages events
DELTA_PAGE = 100
# todotask-delta.md: "$select, $top, and $expand"; "no support for $search"; its $filter and
# $orderby are message properties a task doesn't have: refused, like anything unsupported.
DELTA_REFUSED = ("$filter", "$orderby", "$search", "$skip", "$count")


@dataclass
class TodoDelta:
    """What a To Do delta token remembers (for a list's tasks, or for the lists)."""

    mailbox_id: str
    list_id: str | None  # None: the lists themselves (todotasklist-delta.md)
    seen: dict[str, str]  # id → change key the client has
    issued: int  # World.expiry_seq at the round's initial request
    initial_url: str
    select: str | None = None
    expand: bool = False
    page: int = DELTA_PAGE
    pending: list[str] = field(default_factory=list)  # ids still to page out
    next_seen: dict[str, str] = field(default_factory=dict)
    opening: bool = False  # the round's first page is empty (as for events)


class TodoApi:
    def __init__(self, host: Host) -> None:
        self.host = host

    def routes(self) -> list[tuple[str, str, Handler]]:
        lists = "/users/{user}/todo/lists"
        tasks = lists + "/{list}/tasks"
        links = tasks + "/{task}/linkedResources"
        out: list[tuple[str, str, Handler]] = []
        for suffix in ("/delta()", "/delta"):  # msgraph-sdk sends delta(); the docs write delta
            out += [("GET", lists + suffix, self.lists_delta), ("GET", tasks + suffix, self.tasks_delta)]
        out += [
            ("GET", lists, self.list_lists),
            ("POST", lists, self.create_list),
            ("GET", lists + "/{list}", self.get_list),
            ("PATCH", lists + "/{list}", self.update_list),
            ("DELETE", lists + "/{list}", self.delete_list),
            ("GET", tasks, self.list_tasks),
            ("POST", tasks, self.create_task),
            ("GET", tasks + "/{task}", self.get_task),
            ("PATCH", tasks + "/{task}", self.update_task),
            ("DELETE", tasks + "/{task}", self.delete_task),
            ("GET", links, self.list_links),
            ("POST", links, self.create_link),
            ("GET", links + "/{link}", self.get_link),
            ("PATCH", links + "/{link}", self.update_link),
            ("DELETE", links + "/{link}", self.delete_link),
        ]
        return out

    # -- helpers ---------------------------------------------------------------------------
    def _ctx(self, call: Call, user_id: str, rest: str) -> str:
        return self.host.context(call, f"users('{user_id}')/todo/lists{rest}")

    def _list(self, call: Call) -> tuple[str, todo.TodoList]:
        user = self.host.user(call)
        return user.id, todo.find_list(self.host.world, user.id, call.params["list"])

    def _task(self, call: Call) -> tuple[str, todo.TodoList, todo.TodoTask]:
        user_id, lst = self._list(call)
        return user_id, lst, todo.find_task(lst, call.params["task"])

    @staticmethod
    def _expand(call: Call) -> bool:
        """`$expand=linkedResources` (the docs' examples show it inline; the emulator renders
        it only when asked: less forgiving). Other navigation properties are not served."""
        wanted = [e.strip() for e in (call.query.get("$expand") or "").split(",") if e.strip()]
        for name in wanted:
            if name.lower() != "linkedresources":
                raise GraphError(400, "BadRequest", f"Expanding '{name}' is not supported by the emulator.")
        return bool(wanted)

    def _collection(self, call: Call, values: list[dict[str, Any]], context: str) -> Reply:
        if call.query.get("$filter"):
            try:
                pred = parse_filter(call.query["$filter"])
            except ODataError as exc:
                raise GraphError(400, "BadRequest", str(exc)) from None
            values = [v for v in values if pred(v)]
        values = todo.order_by(values, call.query.get("$orderby"))
        values = [apply_select(v, call.query.get("$select"), keep=("id", "@odata.etag")) for v in values]
        reply = self.host.page(call, values, context, LIST_PAGE)
        if call.query.get("$count", "").lower() == "true":
            reply.body = {"@odata.context": context, "@odata.count": len(values), **reply.body}
        return reply

    # -- lists -------------------------------------------------------------------------------
    async def list_lists(self, call: Call) -> Reply:
        user = self.host.user(call)
        values = [todo.list_json(lst) for lst in todo.mailbox(self.host.world, user.id).lists.values()]
        return self._collection(call, values, self._ctx(call, user.id, ""))

    async def create_list(self, call: Call) -> Reply:
        user = self.host.user(call)
        name = todo.list_body(call.json(), creating=True)
        lst = todo.new_list(user.id, name or "")
        todo.mailbox(self.host.world, user.id).lists[lst.id] = lst
        return Reply(201, {"@odata.context": self._ctx(call, user.id, "/$entity"), **todo.list_json(lst)})

    async def get_list(self, call: Call) -> Reply:
        user_id, lst = self._list(call)
        body = apply_select(todo.list_json(lst), call.query.get("$select"), keep=("id", "@odata.etag"))
        return Reply(200, {"@odata.context": self._ctx(call, user_id, "/$entity"), **body})

    async def update_list(self, call: Call) -> Reply:
        user_id, lst = self._list(call)
        name = todo.list_body(call.json(), creating=False)
        if name is not None and name != lst.display_name:
            if lst.wellknown != "none":  # todotasklist.md: built-in lists "cannot be renamed"
                raise GraphError(400, "ErrorInvalidRequest", "A built-in task list can't be renamed.")
            lst.display_name = name
            todo.touch(lst)
        return Reply(200, {"@odata.context": self._ctx(call, user_id, "/$entity"), **todo.list_json(lst)})

    async def delete_list(self, call: Call) -> Reply:
        user_id, lst = self._list(call)
        if lst.wellknown != "none":  # todotasklist.md: built-in lists cannot be "deleted"
            raise GraphError(400, "ErrorInvalidRequest", "A built-in task list can't be deleted.")
        del todo.mailbox(self.host.world, user_id).lists[lst.id]
        return Reply(204)

    # -- tasks -------------------------------------------------------------------------------
    async def list_tasks(self, call: Call) -> Reply:
        user_id, lst = self._list(call)
        linked = self._expand(call)
        values = [todo.task_json(t, linked=linked) for t in lst.tasks.values()]
        return self._collection(call, values, self._ctx(call, user_id, f"('{lst.id}')/tasks"))

    def _zone(self, user_id: str) -> str:
        """The worker's time zone (mailboxSettings.timeZone as seeded): the day of a completion."""
        user = self.host.world.user(user_id)
        return user.time_zone if user is not None else "UTC"

    async def create_task(self, call: Call) -> Reply:
        user_id, lst = self._list(call)
        body = call.json()
        if lst.wellknown == "flaggedEmails":  # docs silent: its tasks come from flagged messages
            raise GraphError(400, "ErrorInvalidRequest", "Tasks can't be created in the flagged emails list.")
        task = todo.new_task(user_id, body, self._zone(user_id))
        lst.tasks[task.id] = task
        # todotasklist-post-tasks.md's example answers the linkedResources created with the task.
        shown = todo.task_json(task, linked=bool(task.linked) or self._expand(call))
        return Reply(201, {"@odata.context": self._ctx(call, user_id, f"('{lst.id}')/tasks/$entity"), **shown})

    async def get_task(self, call: Call) -> Reply:
        user_id, lst, task = self._task(call)
        body = apply_select(
            todo.task_json(task, linked=self._expand(call)), call.query.get("$select"), keep=("id", "@odata.etag")
        )
        return Reply(200, {"@odata.context": self._ctx(call, user_id, f"('{lst.id}')/tasks/$entity"), **body})

    async def update_task(self, call: Call) -> Reply:
        user_id, lst, task = self._task(call)
        if todo.apply_task(task, call.json(), creating=False, zone_name=self._zone(user_id)):
            todo.touch(task)
        shown = todo.task_json(task, linked=self._expand(call))
        return Reply(200, {"@odata.context": self._ctx(call, user_id, f"('{lst.id}')/tasks/$entity"), **shown})

    async def delete_task(self, call: Call) -> Reply:
        _user_id, lst, task = self._task(call)
        del lst.tasks[task.id]
        return Reply(204)

    # -- linked resources ------------------------------------------------------------------
    def _link(self, task: todo.TodoTask, link_id: str) -> todo.LinkedResource:
        found = next((lr for lr in task.linked if lr.id == link_id), None)
        if found is None:
            raise GraphError(404, "ErrorItemNotFound", todo.NOT_FOUND)
        return found

    def _link_ctx(self, call: Call, user_id: str, lst: todo.TodoList, task: todo.TodoTask, tail: str = "") -> str:
        return self._ctx(call, user_id, f"('{lst.id}')/tasks('{task.id}')/linkedResources{tail}")

    async def list_links(self, call: Call) -> Reply:
        user_id, lst, task = self._task(call)
        values = [lr.to_json() for lr in task.linked]
        return self._collection(call, values, self._link_ctx(call, user_id, lst, task))

    async def create_link(self, call: Call) -> Reply:
        user_id, lst, task = self._task(call)
        link = todo.parse_link(call.json())
        if task.linked:  # one per task (issue #654); a second one by POST too (docs silent)
            raise todo.one_link_only()
        task.linked.append(link)
        todo.touch(task)  # docs silent; a linked resource is part of the task
        ctx = self._link_ctx(call, user_id, lst, task, "/$entity")
        return Reply(201, {"@odata.context": ctx, "@odata.type": "#microsoft.graph.linkedResource", **link.to_json()})

    async def get_link(self, call: Call) -> Reply:
        user_id, lst, task = self._task(call)
        link = self._link(task, call.params["link"])
        return Reply(200, {"@odata.context": self._link_ctx(call, user_id, lst, task, "/$entity"), **link.to_json()})

    async def update_link(self, call: Call) -> Reply:
        user_id, lst, task = self._task(call)
        link = self._link(task, call.params["link"])
        if todo.update_link(link, call.json()):
            todo.touch(task)
        return Reply(200, {"@odata.context": self._link_ctx(call, user_id, lst, task, "/$entity"), **link.to_json()})

    async def delete_link(self, call: Call) -> Reply:
        _user_id, _lst, task = self._task(call)
        task.linked.remove(self._link(task, call.params["link"]))
        todo.touch(task)
        return Reply(204)

    # -- delta (todotask-delta.md, todotasklist-delta.md, concepts/delta-query-overview.md) --
    async def tasks_delta(self, call: Call) -> Reply:
        user_id, lst = self._list(call)
        return self._delta(call, user_id, lst, f"{call.base}/users/{user_id}/todo/lists/{lst.id}/tasks/delta")

    async def lists_delta(self, call: Call) -> Reply:
        user = self.host.user(call)
        return self._delta(call, user.id, None, f"{call.base}/users/{user.id}/todo/lists/delta")

    def _current(self, user_id: str, lst: todo.TodoList | None) -> dict[str, Any]:
        if lst is None:
            return dict(todo.mailbox(self.host.world, user_id).lists)
        return dict(lst.tasks)

    def _state(self, token: str, user_id: str, lst: todo.TodoList | None) -> TodoDelta:
        state = self.host.world.todo_delta.get(token)
        if state is None or state.mailbox_id != user_id or state.list_id != (lst.id if lst else None):
            raise GraphError(400, "BadRequest", "The delta token is not valid.")  # as for events
        expired = self.host.world.delta_expiry(user_id, state.issued)
        if expired is not None:  # /_emulator/delta/expire covers To Do tokens too
            status, code = expired
            headers = {"Location": state.initial_url} if status == 410 else {}
            raise GraphError(status, code, EXPIRED_DELTA_MESSAGES[code.lower()], headers)
        return state

    def _round(self, user_id: str, lst: todo.TodoList | None, prev: TodoDelta, *, initial: bool) -> TodoDelta:
        current = self._current(user_id, lst)
        changed = [i for i, item in current.items() if prev.seen.get(i) != item.change_key]
        removed = [i for i in prev.seen if i not in current]
        kept = {i: ck for i, ck in prev.seen.items() if i in current and current[i].change_key == ck}
        return replace(prev, pending=changed + removed, next_seen=kept, opening=initial)

    def _delta(self, call: Call, user_id: str, lst: todo.TodoList | None, link: str) -> Reply:
        refused = [o for o in DELTA_REFUSED if o in call.query]
        if refused:
            raise GraphError(
                400, "ErrorInvalidUrlQuery", f"The query parameter '{refused[0]}' is not supported with delta."
            )
        if "$skiptoken" in call.query:
            state = self._state(call.query["$skiptoken"], user_id, lst)
        elif "$deltatoken" in call.query:
            state = self._round(user_id, lst, self._state(call.query["$deltatoken"], user_id, lst), initial=False)
        else:
            if lst is None and call.query.get("$expand"):
                raise GraphError(400, "BadRequest", "The lists delta can't expand.")
            state = TodoDelta(
                mailbox_id=user_id,
                list_id=lst.id if lst else None,
                seen={},
                issued=self.host.world.expiry_seq,
                initial_url=link,
                select=call.query.get("$select"),
                expand=lst is not None and self._expand(call),
                page=call.page_size(DELTA_PAGE, 1000),
            )
            state = self._round(user_id, lst, state, initial=True)
        state = replace(state, pending=list(state.pending), next_seen=dict(state.next_seen))
        values: list[dict[str, Any]] = []
        opening = state.opening
        state.opening = False
        current = self._current(user_id, lst)
        while not opening and state.pending and len(values) < state.page:
            item_id = state.pending.pop(0)
            item = current.get(item_id)
            if item is None:  # concepts/delta-query-overview.md: "their id and an @removed object"
                values.append({"id": item_id, "@removed": {"reason": "deleted"}})
                continue
            state.next_seen[item_id] = item.change_key
            shown = todo.list_json(item) if lst is None else todo.task_json(item, linked=state.expand)
            values.append(apply_select(shown, state.select, keep=("id", "@odata.etag")))
        kind = "todoTaskList" if lst is None else "todoTask"
        body: dict[str, Any] = {"@odata.context": self.host.context(call, f"Collection({kind})"), "value": values}
        if state.pending or opening:
            body["@odata.nextLink"] = f"{link}?$skiptoken={self._store(state)}"
        else:
            done = replace(state, seen=dict(state.next_seen), pending=[], next_seen={})
            body["@odata.deltaLink"] = f"{link}?$deltatoken={self._store(done)}"
        prefer = call.prefer().get("odata.maxpagesize")
        return Reply(200, body, {"Preference-Applied": f"odata.maxpagesize={state.page}"} if prefer else {})

    def _store(self, state: TodoDelta) -> str:
        token = base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode().rstrip("=")
        self.host.world.todo_delta[token] = replace(state, pending=list(state.pending), next_seen=dict(state.next_seen))
        return token
