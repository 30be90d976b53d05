"""Tasks from the booking product, pushed to the worker's Microsoft To Do.

Gather (the task, the worker's link, what we wrote) → plan (pure, `shared.core.tasks`) →
apply (here). Idempotent like appointments: the task record is written before a create
goes out (`create_sent`), so a retry after a lost answer finds the task by our
linkedResource instead of making a second one; two PUTs racing lose on the record's etag.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from shared.adapters.messages import TaskRetry
from shared.adapters.records import Org, WorkerLink
from shared.adapters.task_records import Task, TaskRef
from shared.core.api_check import checked
from shared.core.api_tasks import TaskBody
from shared.core.errors import (
    ConcurrencyConflict,
    Conflict,
    GraphError,
    GraphNotFound,
    GraphUnavailable,
    InvalidInput,
    NotFound,
)
from shared.core.logcontext import log_context
from shared.core.org_settings import SyncMode
from shared.core.tasks import (
    APPLICATION,
    CreateTask,
    DeleteTask,
    KeepTask,
    TaskAction,
    UpdateTask,
    completed_on,
    external_id,
    plan_task,
    todo_fields,
    written_fields,
)
from shared.core.validation import identifier
from shared.service.links import save_link_fields
from shared.service.orgs import require_org
from shared.service.ports import Services
from shared.service.task_lists import ensure_list, forget_list

log = logging.getLogger("calsync.tasks")

RETRY_DELAY_S = 10
STORE_TRIES = 3  # a write of the task row, against concurrent writes of the same task
SYNC_LEASE = timedelta(seconds=90)  # one sync of a task at a time; a crashed one's lease runs out
# What a sync writes (and only a sync, under its lease); the rest of the row is the booking
# product's wish (a PUT) or what a round read from To Do.
SYNC_STATE = (
    "mailbox",
    "list_id",
    "todo_id",
    "todo_etag",
    "written",
    "create_sent",
    "state",
    "completed_at",
    "attempts",
    "error_code",
    "error_message",
    "sync_until",
    "updated_at",
)


def tasks_on(org: Org) -> bool:
    return org.config.sync_tasks and org.config.sync_mode is not SyncMode.OFF


async def _org(services: Services, org_id: str) -> Org:
    org = await require_org(services, org_id)
    if not org.config.sync_tasks:
        raise Conflict(f"tasks are turned off for organisation {org_id!r} (setting syncTasks)", code="tasks_off")
    if org.config.sync_mode is SyncMode.OFF:
        raise Conflict(f"sync is off for organisation {org_id!r} (setting syncMode)", code="sync_off")
    return org


async def _worker(services: Services, org_id: str, worker: str) -> WorkerLink:
    link = await services.store.get(WorkerLink, org=org_id, worker=worker)
    if link is None:
        raise InvalidInput("worker", f"worker: unknown worker {worker!r}", code="unknown_worker")
    if link.status != "linked" or not link.m365_user_id:
        raise Conflict(f"worker {worker!r} is not linked to a Microsoft 365 account", code="worker_not_linked")
    return link


async def _time_zone(services: Services, org: Org, link: WorkerLink) -> str:
    """The worker's mailbox time zone, read once and kept on the link. If Graph cannot say
    now, UTC (due dates then read as before), and asked again with the next task."""
    if link.time_zone:
        return link.time_zone
    try:
        found = await services.graph.mailbox_time_zone(org.m365_tenant_id, link.m365_user_id or "")
    except GraphError as exc:
        log.warning("mailbox time zone unknown (%s); due dates in UTC", exc.code)
        return "UTC"
    await save_link_fields(services, link, time_zone=found)
    return found


async def put(services: Services, org_id: str, task_id: str, body: dict[str, Any]) -> dict[str, Any]:
    org = await _org(services, org_id)
    identifier("task", task_id)
    m = checked(TaskBody, body)
    link = await _worker(services, org_id, m.worker)  # 4xx before anything is written
    time_zone = await _time_zone(services, org, link)

    def wanted(task: Task) -> None:
        task.worker, task.title, task.body = m.worker, m.title, m.body or ""
        task.time_zone = time_zone
        task.due_date, task.reminder_at, task.importance = m.due_date, m.reminder_at, m.importance
        task.status, task.deleted = m.status, False
        if task.state == "deleted_in_todo":
            task.state = "pending"

    task, leased = await _write(services, org_id, task_id, wanted, create=True)
    return await sync_or_queue(services, org, task, link, leased=leased)


async def delete(services: Services, org_id: str, task_id: str) -> dict[str, Any]:
    org = await _org(services, org_id)
    identifier("task", task_id)

    def deleted(task: Task) -> None:
        task.deleted = True

    task, leased = await _write(services, org_id, task_id, deleted, create=False)
    return await sync_or_queue(services, org, task, None, leased=leased)


async def _write(
    services: Services, org_id: str, task_id: str, change: Callable[[Task], None], *, create: bool
) -> tuple[Task, bool]:
    """Read the task row, change what the booking product wants, write it back — with this
    request's sync lease on it when none is held (one write for both); when another push (or
    a round) wrote it meanwhile, again over the newer row: its sync state is kept and this
    request's body wins. NotFound without a row, unless `create`. Whether it took the lease."""
    for attempt in range(STORE_TRIES):
        task = await services.store.get(Task, org=org_id, task=task_id)
        if task is None and not create:
            raise NotFound(f"task {task_id!r} is not known", code="task_not_found")
        task = task or Task(org=org_id, task=task_id)
        change(task)
        now = services.clock.now()
        task.updated_at = now
        free = task.sync_until is None or task.sync_until <= now
        if free:
            task.sync_until = now + SYNC_LEASE
        try:
            return await (services.store.update(task) if task.etag else services.store.insert(task)), free
        except ConcurrencyConflict:
            if attempt == STORE_TRIES - 1:
                raise
    raise AssertionError("unreachable")


async def get(services: Services, org_id: str, task_id: str) -> dict[str, Any]:
    await require_org(services, org_id)
    identifier("task", task_id)
    task = await services.store.get(Task, org=org_id, task=task_id)
    if task is None:
        raise NotFound(f"task {task_id!r} is not known", code="task_not_found")
    return view(task)


async def retry(services: Services, org_id: str, task_id: str, *, final: bool) -> bool:
    """The queue's retry of a push Graph held up; True when nothing is left pending."""
    org = await services.store.get(Org, org=org_id)
    task = await services.store.get(Task, org=org_id, task=task_id)
    if org is None or task is None or not tasks_on(org):
        return True  # tasks turned off meanwhile: no Graph writes (the task stays as it was)
    now = services.clock.now()
    if task.sync_until is not None and task.sync_until > now:
        # Another sync of it runs (or died holding the lease): come back when the lease ends,
        # rather than spend this message's tries on it.
        wait = int((task.sync_until - now).total_seconds()) + 1
        await services.queues.send(TaskRetry(org_id, task_id), delay_seconds=wait)
        return True
    link = None if task.deleted else await services.store.get(WorkerLink, org=org_id, worker=task.worker)
    if link is not None and (link.status != "linked" or not link.m365_user_id):
        link = None
    result = await sync(services, org, task, link, final=final)
    return result["state"] != "pending"


async def sync_or_queue(
    services: Services, org: Org, task: Task, link: WorkerLink | None, *, leased: bool
) -> dict[str, Any]:
    result = await sync(services, org, task, link, leased=leased)
    if result["state"] == "pending":
        await services.queues.send(TaskRetry(org.org, task.task), delay_seconds=RETRY_DELAY_S)
    return result


async def sync(
    services: Services,
    org: Org,
    task: Task,
    link: WorkerLink | None,
    *,
    final: bool = False,
    leased: bool = False,
) -> dict[str, Any]:
    """Carry out the plan for the task under its sync lease (`leased`: its writer took it
    already); without the lease (another sync of it runs: its create may be in flight,
    unseen by a lookup) answer pending."""
    with log_context(org=org.org, operation="push_task"):
        held = task if leased else await _lease(services, task)
        if held is None:
            current = await services.store.get(Task, org=org.org, task=task.task) or task
            return {**view(current), "state": "pending"}
        apply = _Apply(services, org, held, final)
        mailbox = link.m365_user_id if link is not None else None
        try:
            if not held.deleted and mailbox is None:
                held.state, held.error_code = "failed", "worker_not_linked"
                held.error_message = f"worker {held.worker!r} is not linked to a Microsoft 365 account"
            else:
                for action in plan_task(held.wanted(), mailbox, held.stored()):
                    await apply.run(action)
            done = apply.task
            if done.deleted and done.state != "deleted" and done.todo_id is None and not done.create_sent:
                done.state, done.error_code, done.error_message = "deleted", None, None  # never reached To Do
        except GraphError as exc:
            retryable = isinstance(exc, GraphUnavailable) and not final
            apply.task.state = "pending" if retryable else "failed"
            apply.task.error_code, apply.task.error_message = exc.code, exc.message
            log.warning("task %s: %s (%s)", apply.task.task, exc.code, apply.task.state)
        finally:
            apply.task.sync_until = None
            await apply.save()
        return view(apply.task)


async def _lease(services: Services, task: Task) -> Task | None:
    """The task row with this sync's lease on it; None while another sync holds one."""
    for _ in range(STORE_TRIES):
        now = services.clock.now()
        if task.sync_until is not None and task.sync_until > now:
            return None
        task.sync_until = now + SYNC_LEASE
        try:
            return await services.store.update(task)
        except ConcurrencyConflict:
            fresh = await services.store.get(Task, org=task.org, task=task.task)
            if fresh is None:
                return None
            task = fresh
    return None


class _Apply:
    def __init__(self, services: Services, org: Org, task: Task, final: bool) -> None:
        self.services, self.org, self.task = services, org, task
        self.retries = 0 if final else None
        self.tenant = org.m365_tenant_id

    async def save(self) -> None:
        """Write the sync state. A PUT (or a round) may have written the row meanwhile: its
        wishes are kept and this sync's state goes over them (the lease makes it the only
        writer of that state); a newer wish is carried out by that PUT's queued retry."""
        self.task.updated_at = self.services.clock.now()
        for attempt in range(STORE_TRIES):
            try:
                self.task = await self.services.store.update(self.task)
                return
            except ConcurrencyConflict:
                fresh = await self.services.store.get(Task, org=self.task.org, task=self.task.task)
                if fresh is None or attempt == STORE_TRIES - 1:
                    raise
                for name in SYNC_STATE:
                    setattr(fresh, name, getattr(self.task, name))
                self.task = fresh

    async def run(self, action: TaskAction) -> None:
        if isinstance(action, DeleteTask):
            await self.delete(action)
        elif isinstance(action, CreateTask):
            await self.create(action)
        elif isinstance(action, UpdateTask):
            await self.update(action)
        elif isinstance(action, KeepTask) and self.task.state != "synced":
            self.task.state, self.task.error_code, self.task.error_message = "synced", None, None
            await self.save()

    async def create(self, action: CreateTask) -> None:
        graph, task = self.services.graph, self.task
        list_id = await ensure_list(self.services, self.org, task.worker, action.mailbox)
        found = []
        if action.maybe_exists and task.list_id:
            found = await graph.find_todo_tasks(
                self.tenant, action.mailbox, task.list_id, external_id(task.org, task.task)
            )
            list_id = task.list_id if found else list_id
        if found:
            answer = found[0]
            for extra in found[1:]:  # never leave a duplicate behind
                await graph.delete_todo_task(self.tenant, action.mailbox, list_id, extra["id"], retries=self.retries)
            if todo_fields(answer, task.time_zone) != written_fields(action.body):
                answer = await graph.update_todo_task(
                    self.tenant, action.mailbox, list_id, answer["id"], action.body, retries=self.retries
                )
        else:
            task.mailbox, task.list_id, task.create_sent = action.mailbox, list_id, True
            task.state, task.attempts = "pending", task.attempts + 1
            await self.save()  # write-ahead: a lost answer is found by our linkedResource
            body = {
                **action.body,
                "linkedResources": [
                    {
                        "applicationName": APPLICATION,
                        "displayName": task.title,
                        "externalId": external_id(task.org, task.task),
                    }
                ],
            }
            try:
                answer = await graph.create_todo_task(self.tenant, action.mailbox, list_id, body, retries=self.retries)
            except GraphNotFound:
                # The list was deleted in To Do: make it again, once.
                await forget_list(self.services, self.org.org, task.worker, list_id)
                list_id = await ensure_list(self.services, self.org, task.worker, action.mailbox)
                task.list_id = list_id
                answer = await graph.create_todo_task(self.tenant, action.mailbox, list_id, body, retries=self.retries)
        task.mailbox, task.list_id = action.mailbox, list_id
        await self.services.store.upsert(
            TaskRef(mailbox=action.mailbox, todo_id=answer["id"], org=task.org, task=task.task, seen=False)
        )
        await self._synced(answer)

    async def update(self, action: UpdateTask) -> None:
        task = self.task
        try:
            answer = await self.services.graph.update_todo_task(
                self.tenant, action.mailbox, task.list_id or "", action.todo_id, action.patch, retries=self.retries
            )
        except GraphNotFound:
            # Deleted in To Do meanwhile: the booking product's update brings it back.
            await self.services.store.delete_key(TaskRef, mailbox=action.mailbox, todo_id=action.todo_id)
            task.todo_id, task.create_sent, task.written = None, False, {}
            wanted = task.wanted()
            assert wanted is not None
            for again in plan_task(wanted, action.mailbox, task.stored()):
                await self.run(again)
            return
        await self._synced(answer)

    async def delete(self, action: DeleteTask) -> None:
        graph, task = self.services.graph, self.task
        list_id = task.list_id or ""
        ids = [action.todo_id] if action.todo_id else []
        if not ids and list_id:
            found = await graph.find_todo_tasks(self.tenant, action.mailbox, list_id, external_id(task.org, task.task))
            ids = [t["id"] for t in found]
        for todo_id in ids:
            # The ref first: the delta round then takes the removal for ours, not the worker's.
            await self.services.store.delete_key(TaskRef, mailbox=action.mailbox, todo_id=todo_id)
            await graph.delete_todo_task(self.tenant, action.mailbox, list_id, todo_id, retries=self.retries)
        task.todo_id, task.todo_etag, task.create_sent, task.written = None, None, False, {}
        task.mailbox = task.list_id = None
        task.state = "deleted" if task.deleted else "pending"
        task.error_code = task.error_message = None
        await self.save()

    async def _synced(self, answer: dict[str, Any]) -> None:
        task = self.task
        task.todo_id, task.todo_etag = answer["id"], answer.get("@odata.etag")
        task.written, task.create_sent = todo_fields(answer, task.time_zone), False
        task.completed_at = completed_on(answer)
        task.state, task.error_code, task.error_message = "synced", None, None
        await self.save()


def view(task: Task) -> dict[str, Any]:
    return {
        "task": task.task,
        "worker": task.worker,
        "title": task.title,
        "body": task.body,
        "dueDate": task.due_date,
        "reminderAt": task.reminder_at,
        "importance": task.importance,
        "status": task.status,
        "deleted": task.deleted,
        "state": task.state,
        "mailboxId": task.mailbox,
        "listId": task.list_id,
        "todoTaskId": task.todo_id,
        "completedOn": (task.completed_at or "")[:10] or None,
        "error": {"code": task.error_code, "message": task.error_message} if task.error_code else None,
        "updatedAt": task.updated_at,
    }
