"""A worker's To Do list for the org's tasks: found by name or made on first use, once.

The TaskList record is inserted before the list is looked for or made, so two pushes racing
for a worker's first task do not make two lists: the one that lost the insert waits for the
list (its task stays pending and is retried). A claim older than CLAIM_STALE (its holder
died) is taken over; the list is then found by name, not made again.
"""

from __future__ import annotations

from datetime import timedelta

from shared.adapters.records import Org
from shared.adapters.task_records import TaskList
from shared.core.errors import ConcurrencyConflict, GraphError, GraphUnavailable
from shared.service.ports import Services

CLAIM_STALE = timedelta(minutes=2)


async def ensure_list(services: Services, org: Org, worker: str, mailbox: str) -> str:
    """The id of the worker's list named by the org's taskListName, made if need be."""
    name = org.config.task_list_name
    store, now = services.store, services.clock.now()
    record = await store.get(TaskList, org=org.org, worker=worker, name=name)
    if record is not None and record.list_id and record.mailbox == mailbox:
        return record.list_id
    fresh_claim = record is not None and record.list_id is None and now - record.claimed_at < CLAIM_STALE
    if fresh_claim and record is not None and record.mailbox == mailbox:
        raise GraphUnavailable(f"the worker's To Do list {name!r} is being made", code="task_list_pending")
    try:
        if record is None:
            record = await store.insert(
                TaskList(org=org.org, worker=worker, name=name, mailbox=mailbox, claimed_at=now)
            )
        else:  # a stale claim, or the worker was relinked to another mailbox
            record.mailbox, record.list_id, record.claimed_at = mailbox, None, now
            record = await store.update(record)
    except ConcurrencyConflict:
        raise GraphUnavailable(f"the worker's To Do list {name!r} is being made", code="task_list_pending") from None
    try:
        record.list_id = await _find_or_make(services, org.m365_tenant_id, mailbox, name)
    except GraphError:
        await store.delete(record)  # give the claim back: the next push tries at once
        raise
    await store.update(record)
    return record.list_id


async def _find_or_make(services: Services, tenant_id: str, mailbox: str, name: str) -> str:
    lists = await services.graph.todo_lists(tenant_id, mailbox)
    # The oldest of same-named lists (by id, stable) if a worker made one themselves; never
    # "Flagged Emails", which takes no tasks (its tasks are flagged messages).
    named = sorted(
        (i for i in lists if i.get("displayName") == name and i.get("wellknownListName") != "flaggedEmails"),
        key=lambda item: item["id"],
    )
    if named:
        return str(named[0]["id"])
    return str((await services.graph.create_todo_list(tenant_id, mailbox, name))["id"])


async def forget_list(services: Services, org_id: str, worker: str, list_id: str) -> None:
    """The list is gone from To Do: the next push makes it again."""
    async for record in services.store.query(TaskList, org=org_id, row_prefix={"worker": worker}):
        if record.list_id == list_id:
            await services.store.delete(record)
