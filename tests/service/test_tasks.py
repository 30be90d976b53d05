"""Tasks to Microsoft To Do and back, over the fakes: idempotent pushes, the list made once,
To Do changes in the feed with our own writes suppressed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from shared.adapters.messages import TaskRetry, TaskRound, TaskRoundBatch
from shared.adapters.task_records import Task, TaskList
from shared.core.errors import Conflict, InvalidInput
from shared.service import feed, maintenance, task_rounds, tasks
from shared.service.link_requests import WorkerRequest
from shared.service.linking import put_worker
from tests.service.conftest import TENANT, World, make_org
from tests.service.test_links_and_rounds import linked_worker

BODY = {"worker": "w-ada", "title": "Call Mrs. Jones back", "dueDate": "2026-12-04", "importance": "high"}


async def _list_id(world: World) -> str:
    record = await world.store.get(TaskList, org="o1", worker="w-ada", name="Bookings")
    assert record is not None and record.list_id
    return record.list_id


async def _round(world: World) -> int:
    """What the reconcile timer does for tasks: its batches of lists, each run."""
    org = await world.store.get(maintenance.Org, org="o1")
    assert org is not None
    for message in await task_rounds.rounds(world.svc, org):
        await world.svc.queues.send(message)
    added = 0
    for work in world.queues.take(TaskRoundBatch.QUEUE):
        added += sum(n or 0 for n in (await task_rounds.run_batch(world.svc, work)).values())
    return added


async def test_a_task_pushed_twice_is_one_todo_task_in_the_bookings_list(world: World) -> None:
    await make_org(world)
    uid = (await linked_worker(world)).m365_user_id or ""
    first = await tasks.put(world.svc, "o1", "t1", BODY)
    again = await tasks.put(world.svc, "o1", "t1", BODY)
    assert first["state"] == again["state"] == "synced"
    assert first["todoTaskId"] == again["todoTaskId"]
    lists = await world.graph.todo_lists(TENANT, uid)
    assert [x["displayName"] for x in lists].count("Bookings") == 1
    [made] = world.graph.todo_tasks(TENANT, uid, await _list_id(world))
    assert (made["title"], made["importance"], made["dueDateTime"]["dateTime"][:10]) == (
        "Call Mrs. Jones back",
        "high",
        "2026-12-04",
    )
    assert made["linkedResources"][0]["externalId"] == "o1/t1"
    assert world.graph.count("update_todo_task") == 0  # the same body writes nothing


async def test_a_lost_create_answer_is_found_by_its_linked_resource_not_made_twice(world: World) -> None:
    await make_org(world)
    uid = (await linked_worker(world)).m365_user_id or ""
    world.graph.fail_next(1, "lost_answer", operation="create_todo_task")
    held = await tasks.put(world.svc, "o1", "t1", BODY)
    assert held["state"] == "pending" and held["error"]["code"]
    assert [type(s.message()) for s in world.queues.waiting(TaskRetry.QUEUE)] == [TaskRetry]  # in 10 s
    assert await tasks.retry(world.svc, "o1", "t1", final=False)
    assert len(world.graph.todo_tasks(TENANT, uid, await _list_id(world))) == 1
    assert (await tasks.get(world.svc, "o1", "t1"))["state"] == "synced"


async def test_completing_in_todo_is_one_task_completed_and_our_own_edit_is_not_reported(world: World) -> None:
    await make_org(world)
    uid = (await linked_worker(world)).m365_user_id or ""
    pushed = await tasks.put(world.svc, "o1", "t1", BODY)
    assert await _round(world) == 0  # the first round sees our task: nothing new
    await tasks.put(world.svc, "o1", "t1", {**BODY, "title": "Call Mrs. Jones back (urgent)"})
    assert await _round(world) == 0  # our own edit coming back
    list_id = await _list_id(world)
    world.graph.todo_edit(TENANT, uid, list_id, pushed["todoTaskId"], {"status": "completed"})
    assert await _round(world) == 1
    assert await _round(world) == 0  # read once
    [change] = await feed.read(world.store, "o1", 0, 10)
    assert (change.type, change.task, change.worker) == ("task_completed", "t1", "w-ada")
    assert change.data["status"] == "completed" and change.data["changed"] == ["status"]
    day = change.data["completedOn"]
    assert len(day) == 10 and date.fromisoformat(day)  # a day: To Do records no time
    shown = await tasks.get(world.svc, "o1", "t1")
    assert shown["status"] == "completed" and shown["completedOn"] == day


async def test_edits_and_deletion_in_todo_are_reported(world: World) -> None:
    await make_org(world)
    uid = (await linked_worker(world)).m365_user_id or ""
    pushed = await tasks.put(world.svc, "o1", "t1", BODY)
    list_id = await _list_id(world)
    world.graph.todo_edit(TENANT, uid, list_id, pushed["todoTaskId"], {"title": "Call Mr. Jones"})
    assert await _round(world) == 1
    world.graph.todo_delete(TENANT, uid, list_id, pushed["todoTaskId"])
    assert await _round(world) == 1
    kinds = [(c.type, c.data.get("title")) for c in await feed.read(world.store, "o1", 0, 10)]
    assert kinds == [("task_updated", "Call Mr. Jones"), ("task_deleted", None)]
    assert (await tasks.get(world.svc, "o1", "t1"))["state"] == "deleted_in_todo"
    # Pushed again, it is made again (once).
    again = await tasks.put(world.svc, "o1", "t1", BODY)
    assert again["state"] == "synced" and again["todoTaskId"] != pushed["todoTaskId"]
    assert len(world.graph.todo_tasks(TENANT, uid, list_id)) == 1


async def test_our_delete_is_not_reported_as_the_workers(world: World) -> None:
    await make_org(world)
    uid = (await linked_worker(world)).m365_user_id or ""
    await tasks.put(world.svc, "o1", "t1", BODY)
    assert await _round(world) == 0
    gone = await tasks.delete(world.svc, "o1", "t1")
    assert gone["state"] == "deleted" and gone["deleted"] is True
    assert world.graph.todo_tasks(TENANT, uid, await _list_id(world)) == []
    assert await _round(world) == 0
    assert await feed.read(world.store, "o1", 0, 10) == []


async def test_a_task_moved_to_another_worker_leaves_the_first_ones_list(world: World) -> None:
    await make_org(world)
    ada = (await linked_worker(world)).m365_user_id or ""
    world.graph.seed(TENANT, [{"userPrincipalName": "bob@fabrikam.test", "displayName": "Bob"}])
    bob_link, _ = await put_worker(world.svc, "o1", WorkerRequest("w-bob", "bob@fabrikam.test", None, None))
    await tasks.put(world.svc, "o1", "t1", BODY)
    moved = await tasks.put(world.svc, "o1", "t1", {**BODY, "worker": "w-bob"})
    assert moved["mailboxId"] == bob_link.m365_user_id and moved["state"] == "synced"
    assert world.graph.todo_tasks(TENANT, ada, await _list_id(world)) == []


async def test_bad_input_and_an_unlinked_worker_write_nothing(world: World) -> None:
    await make_org(world)
    await linked_worker(world)
    await put_worker(world.svc, "o1", WorkerRequest("w-dee", None, "Dee", None))
    for bad in (
        {**BODY, "importance": "urgent"},
        {**BODY, "dueDate": "2026-13-01"},
        {**BODY, "reminderAt": "2026-12-04T09:00:00"},  # a reminder is a moment: an offset is needed
        {k: v for k, v in BODY.items() if k != "title"},
        {**BODY, "worker": "w-who"},
    ):
        with pytest.raises(InvalidInput):
            await tasks.put(world.svc, "o1", "t1", bad)
    with pytest.raises(Conflict) as refused:
        await tasks.put(world.svc, "o1", "t1", {**BODY, "worker": "w-dee"})
    assert refused.value.code == "worker_not_linked"
    assert await world.store.get(Task, org="o1", task="t1") is None
    assert world.graph.count("create_todo_task") == 0


async def test_tasks_off_refuses_pushes_and_reads_nothing_back(world: World) -> None:
    await make_org(world, syncTasks=False)
    await linked_worker(world)
    with pytest.raises(Conflict) as refused:
        await tasks.put(world.svc, "o1", "t1", BODY)
    assert refused.value.code == "tasks_off"
    assert await _round(world) == 0 and world.graph.count("todo_delta") == 0


async def test_the_list_name_is_the_orgs_setting_and_an_existing_list_is_used(world: World) -> None:
    await make_org(world, taskListName="Clinic")
    uid = (await linked_worker(world)).m365_user_id or ""
    own = await world.graph.create_todo_list(TENANT, uid, "Clinic")  # the worker made it already
    pushed = await tasks.put(world.svc, "o1", "t1", BODY)
    assert pushed["listId"] == own["id"]
    assert [x["displayName"] for x in await world.graph.todo_lists(TENANT, uid)].count("Clinic") == 1


async def test_deleting_the_org_deletes_its_task_rows_and_leaves_the_todo_tasks(world: World) -> None:
    from shared.adapters.task_records import TaskRef
    from shared.service import offboarding

    await make_org(world)
    uid = (await linked_worker(world)).m365_user_id or ""
    pushed = await tasks.put(world.svc, "o1", "t1", BODY)
    list_id = await _list_id(world)
    await offboarding.delete_org(world.svc, "o1")
    assert await world.store.get(Task, org="o1", task="t1") is None
    assert await world.store.get(TaskList, org="o1", worker="w-ada", name="Bookings") is None
    assert await world.store.get(TaskRef, mailbox=uid, todo_id=pushed["todoTaskId"]) is None
    assert len(world.graph.todo_tasks(TENANT, uid, list_id)) == 1  # the worker's now


async def test_an_unlinked_workers_list_is_not_read_and_a_relinked_one_gets_a_new_list(world: World) -> None:
    await make_org(world)
    ada = (await linked_worker(world)).m365_user_id or ""
    await tasks.put(world.svc, "o1", "t1", BODY)
    await put_worker(world.svc, "o1", WorkerRequest("w-ada", None, None, None))  # unlinked
    before = world.graph.count("todo_delta")
    assert await _round(world) == 0 and world.graph.count("todo_delta") == before
    # Linked to another account: tasks go to a list in that mailbox, and only it is read.
    world.graph.seed(TENANT, [{"userPrincipalName": "ada2@fabrikam.test", "displayName": "Ada"}])
    relinked, _ = await put_worker(world.svc, "o1", WorkerRequest("w-ada", "ada2@fabrikam.test", None, None))
    moved = await tasks.put(world.svc, "o1", "t1", {**BODY, "title": "Call Mrs. Jones back (again)"})
    assert moved["mailboxId"] == relinked.m365_user_id != ada and moved["state"] == "synced"
    assert await _round(world) == 0
    assert world.graph.calls[-1][:3] == ("todo_delta", TENANT, relinked.m365_user_id)


async def test_a_pending_push_is_dropped_when_tasks_are_turned_off(world: World) -> None:
    from shared.service.orgs import update_settings

    await make_org(world)
    await linked_worker(world)
    world.graph.fail_next(1, "unavailable", operation="create_todo_task")
    assert (await tasks.put(world.svc, "o1", "t1", BODY))["state"] == "pending"
    await update_settings(world.svc, "o1", {"syncTasks": False})
    assert await tasks.retry(world.svc, "o1", "t1", final=False)
    assert world.graph.count("create_todo_task") == 1  # only the failed one


async def test_a_push_while_a_create_is_in_flight_waits_for_it_and_makes_no_second_task(world: World) -> None:
    import asyncio

    await make_org(world)
    uid = (await linked_worker(world)).m365_user_id or ""
    entered, release = asyncio.Event(), asyncio.Event()
    create = world.graph.create_todo_task

    async def slow_create(*args: object, **kw: object) -> dict:
        if not entered.is_set():  # the first create: it reached Graph, its answer is on its way
            entered.set()
            await release.wait()
        return await create(*args, **kw)  # type: ignore[arg-type]

    world.graph.create_todo_task = slow_create  # type: ignore[method-assign]
    first = asyncio.create_task(tasks.put(world.svc, "o1", "t1", BODY))
    await entered.wait()
    second = await tasks.put(world.svc, "o1", "t1", {**BODY, "title": "Call Mrs. Jones back today"})
    assert second["state"] == "pending"  # it waits for the sync that runs
    release.set()
    assert (await first)["state"] == "synced"
    assert await tasks.retry(world.svc, "o1", "t1", final=False)  # the second PUT's queued retry
    [made] = world.graph.todo_tasks(TENANT, uid, await _list_id(world))
    assert made["title"] == "Call Mrs. Jones back today"  # the later PUT won, in the one task
    shown = await tasks.get(world.svc, "o1", "t1")
    assert (shown["state"], shown["title"]) == ("synced", "Call Mrs. Jones back today")


async def test_a_retry_that_finds_a_sync_lease_comes_back_when_it_ends(world: World) -> None:
    await make_org(world)
    await linked_worker(world)
    await tasks.put(world.svc, "o1", "t1", BODY)
    task = await world.store.get(Task, org="o1", task="t1")
    assert task is not None
    task.sync_until = world.clock.now() + tasks.SYNC_LEASE  # a sync died holding it
    await world.store.update(task)
    assert await tasks.retry(world.svc, "o1", "t1", final=True)
    [again] = world.queues.waiting(TaskRetry.QUEUE)
    assert again.visible_at > world.clock.now() + tasks.SYNC_LEASE - timedelta(seconds=2)
    world.clock.advance(seconds=tasks.SYNC_LEASE.total_seconds() + 1)
    assert await tasks.retry(world.svc, "o1", "t1", final=True)
    assert (await tasks.get(world.svc, "o1", "t1"))["state"] == "synced"


async def test_a_failed_list_lookup_gives_the_claim_back_so_the_next_push_goes_at_once(world: World) -> None:
    await make_org(world)
    await linked_worker(world)
    world.graph.fail_next(1, "unavailable", operation="todo_lists")
    assert (await tasks.put(world.svc, "o1", "t1", BODY))["error"]["code"] == "graph_unavailable"
    assert await world.store.get(TaskList, org="o1", worker="w-ada", name="Bookings") is None
    assert (await tasks.put(world.svc, "o1", "t1", BODY))["state"] == "synced"  # not task_list_pending


async def test_a_task_deleted_in_todo_before_any_read_of_the_list_listed_it_is_reported(world: World) -> None:
    """The soak's todo_deleted_unseen: delta names only removals of what it had listed, so a
    task made and deleted between two reads of the list was never reported."""
    await make_org(world)
    uid = (await linked_worker(world)).m365_user_id or ""
    await tasks.put(world.svc, "o1", "t0", {**BODY, "title": "First"})
    assert await _round(world) == 0  # the list's delta token
    pushed = await tasks.put(world.svc, "o1", "t1", BODY)
    world.graph.todo_delete(TENANT, uid, await _list_id(world), pushed["todoTaskId"])
    assert await _round(world) == 1
    assert [(c.type, c.task) for c in await feed.read(world.store, "o1", 0, 10)] == [("task_deleted", "t1")]
    assert await _round(world) == 0  # once
    assert (await tasks.get(world.svc, "o1", "t1"))["state"] == "deleted_in_todo"


async def test_a_task_deleted_in_todo_is_reported_when_the_lists_delta_token_expired_meanwhile(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 30-minute soak: a task deleted in To Do, then the list's token expired; the fresh
    round lists what is there and names no removal, so the deletion was never reported."""
    from shared.core.errors import DeltaTokenExpired

    await make_org(world)
    uid = (await linked_worker(world)).m365_user_id or ""
    pushed = await tasks.put(world.svc, "o1", "t1", BODY)
    assert await _round(world) == 0  # listed once: seen
    world.graph.todo_delete(TENANT, uid, await _list_id(world), pushed["todoTaskId"])
    real = world.graph.todo_delta

    async def expired(tenant: str, mailbox: str, list_id: str, link: str | None) -> tuple[list[dict], str]:
        if link:
            raise DeltaTokenExpired("syncStateNotFound", graph_status=410, graph_code="syncStateNotFound")
        return await real(tenant, mailbox, list_id, link)

    monkeypatch.setattr(world.graph, "todo_delta", expired)
    assert await _round(world) == 1
    assert [(c.type, c.task) for c in await feed.read(world.store, "o1", 0, 10)] == [("task_deleted", "t1")]


async def test_due_dates_are_the_workers_days_in_todo_both_ways(world: World) -> None:
    """#24 item 5: To Do keeps a due date as midnight in the worker's zone and answers it in
    UTC (todotask-update.md's example). Ada works in Oslo: a due date she sets in To Do for
    20 December comes back as 19 December 23:00 UTC — and is 20 December."""
    await make_org(world)
    world.graph.seed(TENANT, [{"userPrincipalName": "ada@fabrikam.test", "timeZone": "W. Europe Standard Time"}])
    uid = (await linked_worker(world)).m365_user_id or ""
    pushed = await tasks.put(world.svc, "o1", "t1", {**BODY, "dueDate": "2026-12-18"})
    [written] = world.graph.todo_tasks(TENANT, uid, await _list_id(world))
    assert written["dueDateTime"]["dateTime"].startswith("2026-12-17T23:00:00")  # midnight in Oslo
    assert pushed["dueDate"] == "2026-12-18"
    assert await _round(world) == 0  # our own due date coming back is no change
    oslo = {"dateTime": "2026-12-20T00:00:00", "timeZone": "W. Europe Standard Time"}
    world.graph.todo_edit(TENANT, uid, await _list_id(world), pushed["todoTaskId"], {"dueDateTime": oslo})
    assert await _round(world) == 1
    [change] = await feed.read(world.store, "o1", 0, 10)
    assert (change.type, change.data["dueDate"], change.data["changed"]) == ("task_updated", "2026-12-20", ["dueDate"])
    assert (await tasks.get(world.svc, "o1", "t1"))["dueDate"] == "2026-12-20"


async def test_a_task_the_worker_moves_to_another_list_is_followed_not_reported_deleted(world: World) -> None:
    """#24 item 7: To Do moves a task to another list as a new task (a new id; the old list's
    delta says @removed: todotasklist-post-tasks.md). It keeps our linked resource, so it is
    found there: no task_deleted, and the next PUT updates it there instead of making a copy."""
    await make_org(world)
    uid = (await linked_worker(world)).m365_user_id or ""
    pushed = await tasks.put(world.svc, "o1", "t1", BODY)
    assert await _round(world) == 0
    ours = await _list_id(world)
    [original] = world.graph.todo_tasks(TENANT, uid, ours)
    other = await world.graph.create_todo_list(TENANT, uid, "Errands")
    copy = {k: original[k] for k in ("title", "body", "importance", "status", "dueDateTime", "linkedResources")}
    moved = await world.graph.create_todo_task(TENANT, uid, other["id"], copy)
    world.graph.todo_delete(TENANT, uid, ours, pushed["todoTaskId"])
    assert await _round(world) == 0  # not deleted: moved
    view = await tasks.get(world.svc, "o1", "t1")
    assert (view["state"], view["listId"], view["todoTaskId"]) == ("synced", other["id"], moved["id"])
    await tasks.put(world.svc, "o1", "t1", {**BODY, "title": "Call Mrs. Jones back today"})
    assert world.graph.todo_tasks(TENANT, uid, ours) == []
    [there] = world.graph.todo_tasks(TENANT, uid, other["id"])
    assert there["title"] == "Call Mrs. Jones back today"


async def test_a_round_between_anothers_commit_and_its_task_updates_reports_no_deletion_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The soak's t1000 (seed 522915): two instances, one list. A round reported a task deleted
    in To Do and committed; before it updated the task's records, another round of the list
    read them, found the task still ours and unseen, looked for it, and reported it again."""
    await make_org(world)
    uid = (await linked_worker(world)).m365_user_id or ""
    await tasks.put(world.svc, "o1", "t0", {**BODY, "title": "First"})
    assert await _round(world) == 0  # the list's delta token
    pushed = await tasks.put(world.svc, "o1", "t1", BODY)
    world.graph.todo_delete(TENANT, uid, await _list_id(world), pushed["todoTaskId"])
    real, others, started = task_rounds._adopt, [], []

    async def another_round_first(*args: object) -> None:
        if not started:  # once: the other instance's round runs in this one's window
            started.append(True)
            others.append(await task_rounds.run(world.svc, "o1", "w-ada", "Bookings"))
        await real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(task_rounds, "_adopt", another_round_first)
    assert await task_rounds.run(world.svc, "o1", "w-ada", "Bookings") == 1
    assert others == [0]
    assert [(c.type, c.task) for c in await feed.read(world.store, "o1", 0, 10)] == [("task_deleted", "t1")]
    assert (await tasks.get(world.svc, "o1", "t1"))["state"] == "deleted_in_todo"


async def test_the_reconcile_reads_task_lists_fifty_to_a_message_and_requeues_a_failed_one_alone(
    world: World,
) -> None:
    # 10,000 task-using workers would be 200 messages and 200 reads of the org, not 10,000.
    await make_org(world)
    for i in range(60):
        await linked_worker(world, f"w-{i:03}", f"u{i:03}@fabrikam.test")
        await tasks.put(world.svc, "o1", f"t{i:03}", {**BODY, "worker": f"w-{i:03}"})
    org = await world.store.get(maintenance.Org, org="o1")
    assert org is not None
    batches = await task_rounds.rounds(world.svc, org)
    assert [len(b.lists) for b in batches] == [50, 10]
    listed = [worker for b in batches for worker, _ in b.lists]
    assert listed == sorted(listed) == [f"w-{i:03}" for i in range(60)]  # each list once, in row order

    # Each worker completes their task in To Do; one list's delta read fails.
    for i in range(60):
        uid = (await world.store.get(TaskList, org="o1", worker=f"w-{i:03}", name="Bookings")).mailbox
        pushed = await tasks.get(world.svc, "o1", f"t{i:03}")
        world.graph.todo_edit(
            TENANT, uid, await _list_id_of(world, f"w-{i:03}"), pushed["todoTaskId"], {"status": "completed"}
        )
    failing = (await world.store.get(TaskList, org="o1", worker="w-007", name="Bookings")).mailbox
    world.graph.fail_next(1, "unavailable", operation="todo_delta", mailbox=failing)
    results: dict = {}
    for batch in batches:
        results.update(await task_rounds.run_batch(world.svc, batch))
    assert results[("w-007", "Bookings")] is None
    assert sum(1 for n in results.values() if n == 1) == 59
    [alone] = world.queues.take(TaskRound.QUEUE)  # queued again on its own: the usual retries apply
    assert (alone.worker, alone.name) == ("w-007", "Bookings")
    assert await task_rounds.run(world.svc, alone.org, alone.worker, alone.name) == 1
    done = [c for c in await feed.read(world.store, "o1", 0, 1000) if c.type == "task_completed"]
    assert sorted(c.worker for c in done) == [f"w-{i:03}" for i in range(60)]  # each once


async def _list_id_of(world: World, worker: str) -> str:
    record = await world.store.get(TaskList, org="o1", worker=worker, name="Bookings")
    assert record is not None and record.list_id
    return record.list_id
