"""Deleting an organisation: every subscription we hold for it, then every row it owns."""

from __future__ import annotations

from shared.adapters.inbound_records import SeenEvent
from shared.adapters.records import (
    LINK_CLASSES,
    ORG_PARTITIONED,
    EventRef,
    IcalRef,
    Job,
    JobChunk,
    Target,
)
from shared.adapters.room_records import RoomCheckInOrg, RoomHold
from shared.adapters.task_records import Task, TaskList, TaskRef
from shared.service import org_keys
from shared.service.orgs import require_org
from shared.service.ports import Services
from shared.service.subscriptions import release


async def delete_org(services: Services, org_id: str) -> dict[str, int]:
    """Unlink everything (deleting our Graph subscriptions) and delete the org's state.
    Events and To Do tasks we wrote stay with the people: they are theirs now."""
    store = services.store
    org = await require_org(services, org_id)
    await org_keys.revoke_all(services, org_id)  # first: no key of it works from here on
    released = 0
    mailboxes: set[str] = set()
    for cls in LINK_CLASSES.values():
        async for link in store.query(cls, org=org_id):
            if link.subscription_id:
                released += 1
            if link.m365_user_id:
                mailboxes.add(link.m365_user_id)
            await release(services, org, link)
    # Rows keyed by something else than the org: found through what the org owns.
    for mailbox in mailboxes:  # per-mailbox indexes, when no other org shares the mailbox
        for row in [r async for r in store.query(SeenEvent, mailbox=mailbox, row_prefix={"org": org_id})]:
            await store.delete_key(SeenEvent, mailbox=mailbox, org=org_id, event_id=row.event_id)
        for ref in [r async for r in store.query(EventRef, mailbox=mailbox)]:
            if ref.org == org_id:
                await store.delete_key(EventRef, mailbox=mailbox, event_id=ref.event_id)
    icals = {t.ical_uid async for t in store.query(Target, org=org_id) if t.ical_uid}
    for ical_uid in icals:
        ref = await store.get(IcalRef, ical_uid=ical_uid)
        if ref is not None and ref.org == org_id:
            await store.delete(ref)
    async for task in store.query(Task, org=org_id):  # To Do task ids → our tasks
        if task.mailbox and task.todo_id:
            await store.delete_key(TaskRef, mailbox=task.mailbox, todo_id=task.todo_id)
    for cls in (Task, TaskList):
        await store.delete_partition(cls, org=org_id)
    async for job in store.query(Job, org=org_id):
        await store.delete_partition(JobChunk, job=job.job)
    for cls in ORG_PARTITIONED:
        await store.delete_partition(cls, org=org_id)
    await store.delete_partition(RoomHold, org=org_id)  # room check-ins are in the feed's partition
    await store.delete_key(RoomCheckInOrg, scope="all", org=org_id)
    await store.delete(org)
    return {"subscriptionsDeleted": released}
