"""To Do → booking: one delta round of a worker's task list into the change feed.

Graph has no change notifications for To Do with application permissions (GD:
api-reference/v1.0/api/subscription-post-subscriptions.md, todoTask: Application "Not
supported"), so the reconcile timer fans out the org's lists, 50 to a TaskRoundBatch, and
each round reads its list's delta (a failed one is queued again alone, as a TaskRound).
Gather (the delta, our task records) → plan (pure: `shared.core.tasks.heard`, which drops
our own writes coming back) → apply: the changes and the new deltaLink in one feed
transaction, then the task records. A round that loses the feed race changes nothing (the
winner reported the same items).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from shared.adapters.messages import TaskRound, TaskRoundBatch
from shared.adapters.records import Org, WorkerLink
from shared.adapters.task_records import Task, TaskDelta, TaskList, TaskRef
from shared.core import metric_names
from shared.core.changes import NewChange
from shared.core.errors import CalsyncError, ConcurrencyConflict, DeltaTokenExpired, GraphNotFound
from shared.core.logcontext import log_context
from shared.core.org_settings import SyncMode
from shared.core.tasks import TaskChange, completed_on, external_id, heard, todo_fields
from shared.service import feed, webhooks
from shared.service.ports import Services

log = logging.getLogger("calsync.task_rounds")

BATCH = 50  # task lists per message, as reconcile batches mailboxes
CONCURRENCY = 10  # rounds of one batch side by side


def rounds_wanted(org: Org) -> bool:
    """Tasks on and both ways: oneWay and off hear nothing back from To Do."""
    return org.config.sync_tasks and org.config.sync_mode is SyncMode.TWO_WAY


async def rounds(services: Services, org: Org) -> list[TaskRoundBatch]:
    """The reconcile timer's part for tasks: every task list of the org, BATCH to a message
    (10,000 task-using workers: 200 messages and 200 reads of the org, not 10,000)."""
    if not rounds_wanted(org):
        return []
    lists = [[r.worker, r.name] async for r in services.store.query(TaskList, org=org.org) if r.list_id]
    return [TaskRoundBatch(org.org, lists[i : i + BATCH]) for i in range(0, len(lists), BATCH)]


async def run_batch(services: Services, batch: TaskRoundBatch) -> dict[tuple[str, str], int | None]:
    """The batch's rounds, side by side: per list the changes it added, or None when it
    failed and was queued again on its own (TaskRound: the usual retries and poison)."""
    org = await services.store.get(Org, org=batch.org) if batch.lists else None
    if org is None:
        return {}
    (first_worker, first_name), (last_worker, last_name) = batch.lists[0], batch.lists[-1]
    # The batch's lists with one query (consecutive rows); each worker's link with a point
    # read in its round's turn (a range of links could span workers without lists).
    records = {
        (r.worker, r.name): r
        async for r in services.store.query(
            TaskList,
            org=batch.org,
            row_between=({"worker": first_worker, "name": first_name}, {"worker": last_worker, "name": last_name}),
            page_size=min(1000, 2 * len(batch.lists)),
        )
    }
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(worker: str, name: str) -> int | None:
        async with gate:
            try:
                record = records.get((worker, name))
                link = await services.store.get(WorkerLink, org=batch.org, worker=worker) if record else None
                return await run(services, batch.org, worker, name, read=(org, record, link))
            except (CalsyncError, OSError) as exc:
                log.warning("task round failed, queued again on its own: %s", type(exc).__name__)
                await services.queues.send(TaskRound(batch.org, worker, name))
                return None

    keys = [(worker, name) for worker, name in batch.lists]
    return dict(zip(keys, await asyncio.gather(*(one(*key) for key in keys)), strict=True))


async def run(
    services: Services,
    org_id: str,
    worker: str,
    name: str,
    *,
    read: tuple[Org | None, TaskList | None, WorkerLink | None] | None = None,
) -> int:
    """One round; the number of changes it added to the feed. `read`: the org, list and
    link as a batch just read them (run_batch)."""
    store = services.store
    if read is None:
        org = await store.get(Org, org=org_id)
        record = await store.get(TaskList, org=org_id, worker=worker, name=name)
        link = await store.get(WorkerLink, org=org_id, worker=worker) if record is not None else None
    else:
        org, record, link = read
    if org is None or record is None or not record.list_id or not rounds_wanted(org):
        return 0
    if link is None or link.status != "linked" or link.m365_user_id != record.mailbox:
        return 0  # unlinked (or linked to another mailbox): their To Do is not ours to read
    with log_context(org=org_id, operation="task_round"):
        state = await store.get(TaskDelta, org=org_id, kind="tasks", list_id=record.list_id) or TaskDelta(
            org=org_id, list_id=record.list_id, mailbox=record.mailbox, worker=worker
        )
        await _finish_deletions(services, org_id, record.mailbox, state.deleted)
        tenant = org.m365_tenant_id
        fresh = not state.delta_link
        try:
            try:
                items, link = await services.graph.todo_delta(tenant, record.mailbox, record.list_id, state.delta_link)
            except DeltaTokenExpired:
                # A fresh round: every task again, reported only where it differs from ours.
                items, link = await services.graph.todo_delta(tenant, record.mailbox, record.list_id, None)
                fresh = True
        except GraphNotFound:
            log.info("task list %s is gone from To Do; the next push makes it again", record.list_id)
            await store.delete(record)
            return 0
        heard_now: list[tuple[Task, TaskChange, dict]] = []
        for item in items:
            ref = await store.get(TaskRef, mailbox=record.mailbox, todo_id=str(item.get("id")))
            if ref is None or ref.org != org_id:
                continue  # not ours (a task the worker made), or our own deletion
            task = await store.get(Task, org=org_id, task=ref.task)
            if task is None or task.todo_id != ref.todo_id:
                continue
            change = heard(task.written, task.todo_etag, item, task.time_zone)
            if change is not None:
                heard_now.append((task, change, item))
        gone, now_seen = await _unseen_deletions(services, org, record, items, fresh)
        heard_now += gone
        # A task the worker moved to another list left this one (a new id there, @removed here):
        # it keeps our linked resource, so it is followed, not reported deleted.
        moves: list[tuple[Task, str, dict]] = []
        for task, change, _item in list(heard_now):
            if change.type == "task_deleted" and (found := await _moved(services, org, record, task)) is not None:
                heard_now.remove((task, change, _item))
                moves.append((task, *found))
        changes = [
            NewChange(
                change.type,
                None,
                worker=task.worker,
                mailbox=record.mailbox,
                event_id=task.todo_id,
                task=task.task,
                data=_data(change, item),
            )
            for task, change, item in heard_now
        ]
        state.delta_link, state.last_sync_at = link, services.clock.now()
        state.deleted = [task.todo_id or "" for task, change, _ in heard_now if change.type == "task_deleted"]
        try:
            await feed.commit(store, org_id, changes, state)
        except ConcurrencyConflict:
            log.info("a concurrent round of list %s committed first", record.list_id)
            return 0
        for task, change, item in heard_now:
            await _adopt(services, task, change, item)
        for task, list_id, item in moves:
            await _follow(services, task, list_id, item)
        for ref in now_seen:
            ref.seen = True
            await store.upsert(ref)
        if changes:
            await webhooks.nudge(services, org)
            log.info("%d task change(s) from %d item(s)", len(changes), len(items))
        services.metrics.add(metric_names.ROUNDS, kind="tasks", outcome="ok")
        services.metrics.record(metric_names.ROUND_ITEMS, len(items), kind="tasks")
        for change in changes:
            services.metrics.add(metric_names.CHANGES, type=change.type)
        return len(changes)


def _unseen(services: Services, mailbox: str, org_id: str, every: bool = False) -> AsyncIterator[TaskRef]:
    """Our tasks in the mailbox's To Do that no list delta has listed yet (rows from before
    `seen` have no such property, and count as seen); `every`: all of ours."""
    if every:
        refs = services.store.query(TaskRef, mailbox=mailbox)
    else:
        refs = services.store.query(TaskRef, mailbox=mailbox, filter="seen eq @seen", parameters={"seen": False})
    return (ref async for ref in refs if ref.org == org_id)


async def _unseen_deletions(
    services: Services, org: Org, record: TaskList, items: list[dict], fresh: bool
) -> tuple[list[tuple[Task, TaskChange, dict]], list[TaskRef]]:
    """Tasks we made that the worker deleted before any read of the list listed them: delta
    names only what it had listed, so they are looked for (by our linkedResource) instead.
    A fresh round (no token, or an expired one) names no removal at all: every task of ours
    it does not list is looked for. Also: the not yet seen ones this round lists (seen now)."""
    listed = {str(i.get("id")) for i in items if "@removed" not in i}
    removed = {str(i.get("id")) for i in items if "@removed" in i}
    out: list[tuple[Task, TaskChange, dict]] = []
    now_seen: list[TaskRef] = []
    async for ref in _unseen(services, record.mailbox, org.org, every=fresh):
        if ref.todo_id in listed:
            if not ref.seen:
                now_seen.append(ref)
            continue
        if ref.todo_id in removed:
            continue  # named by delta: heard above
        task = await services.store.get(Task, org=org.org, task=ref.task)
        if task is None or task.todo_id != ref.todo_id or task.list_id != record.list_id:
            continue
        found = await services.graph.find_todo_tasks(
            org.m365_tenant_id, record.mailbox, record.list_id or "", external_id(org.org, task.task)
        )
        if not any(f.get("id") == ref.todo_id for f in found):
            out.append((task, TaskChange("task_deleted", {}, ()), {}))
    return out, now_seen


async def _moved(services: Services, org: Org, record: TaskList, task: Task) -> tuple[str, dict] | None:
    """Where the task went, if the worker moved it to another of their lists: (list id, the
    task there), found by our linked resource; None if it is gone."""
    tenant, key = org.m365_tenant_id, external_id(org.org, task.task)
    for other in await services.graph.todo_lists(tenant, record.mailbox):
        if other.get("id") == record.list_id or other.get("wellknownListName") == "flaggedEmails":
            continue
        found = await services.graph.find_todo_tasks(tenant, record.mailbox, str(other.get("id")), key)
        if found:
            return str(other.get("id")), found[0]
    return None


async def _follow(services: Services, task: Task, list_id: str, item: dict) -> None:
    """The task is where the worker moved it: its record and index name the new list and id.
    Its round reads only the org's list, so edits made there are not reported; the booking
    product's next PUT updates it there."""
    store = services.store
    await store.delete_key(TaskRef, mailbox=task.mailbox or "", todo_id=task.todo_id or "")
    await store.upsert(TaskRef(mailbox=task.mailbox or "", todo_id=str(item["id"]), org=task.org, task=task.task))
    task.list_id, task.todo_id, task.todo_etag = list_id, str(item["id"]), item.get("@odata.etag")
    task.written = todo_fields(item, task.time_zone)
    task.updated_at = services.clock.now()
    try:
        await store.update(task)
    except ConcurrencyConflict:
        log.info("task %s was pushed while its move in To Do was read", task.task)


async def _finish_deletions(services: Services, org_id: str, mailbox: str, todo_ids: list[str]) -> None:
    """The records of deletions the last commit reported, updated if the round that committed
    has not yet (it is running elsewhere, or died): reported once, never again."""
    for todo_id in todo_ids:
        ref = await services.store.get(TaskRef, mailbox=mailbox, todo_id=todo_id)
        task = await services.store.get(Task, org=org_id, task=ref.task) if ref is not None else None
        if task is not None and task.todo_id == todo_id:
            await _adopt(services, task, TaskChange("task_deleted", {}, ()), {})
        elif ref is not None:
            await services.store.delete_key(TaskRef, mailbox=mailbox, todo_id=todo_id)


def _data(change: TaskChange, item: dict) -> dict:
    if change.type == "task_deleted":
        return {}
    data = {**change.fields, "changed": list(change.changed)}
    if change.type == "task_completed":
        data["completedOn"] = completed_on(item)
    return data


async def _adopt(services: Services, task: Task, change: TaskChange, item: dict) -> None:
    """The task record takes what To Do holds now: a later push compares against it, and
    a GET shows it (the worker's completion is not undone by the next push of the same body)."""
    if change.type == "task_deleted":
        await services.store.delete_key(TaskRef, mailbox=task.mailbox or "", todo_id=task.todo_id or "")
        task.todo_id, task.todo_etag, task.written, task.mailbox, task.list_id = None, None, {}, None, None
        task.state = "deleted_in_todo"
    else:
        fields = change.fields
        task.title, task.body, task.due_date = fields["title"], fields["body"], fields["dueDate"]
        task.reminder_at, task.importance, task.status = fields["reminderAt"], fields["importance"], fields["status"]
        task.written, task.todo_etag, task.completed_at = fields, item.get("@odata.etag"), completed_on(item)
    task.updated_at = services.clock.now()
    try:
        await services.store.update(task)
    except ConcurrencyConflict:
        # A push wrote the task meanwhile: its answer set `written`; this change is in the feed.
        log.info("task %s was pushed while its To Do change was read", task.task)
