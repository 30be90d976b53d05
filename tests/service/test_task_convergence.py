"""Convergence of tasks both ways through the real shell (tasks.put/delete → plan_task →
apply; task_rounds.run), over the fakes, with Graph failing, timing out and losing answers
after it applied a write, and the worker editing, completing and deleting in To Do between
pushes. Whatever the history: no To Do ever holds two tasks of one task; once Graph behaves
and the retries ran, the worker's list holds exactly what the booking product sent and a
second sync writes nothing; each change made in To Do is reported exactly once, and none of
ours ever."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.adapters.messages import TaskRoundBatch
from shared.adapters.records import WorkerLink
from shared.adapters.task_records import Task, TaskList
from shared.service import feed, task_rounds, tasks
from tests.fakes.graph import Faults
from tests.service.conftest import TENANT, World, make_org, new_world

WORKERS = ["w1", "w2"]
WRITES = ("create_todo_task", "update_todo_task", "delete_todo_task")

step = st.fixed_dictionaries(
    {
        "worker": st.sampled_from(WORKERS),
        "title": st.sampled_from(["Call back", "Send the invoice"]),
        "status": st.sampled_from(["notStarted", "completed"]),
        "delete": st.booleans(),
        "in_todo": st.sampled_from([None, "complete", "edit", "delete"]),
    }
)


async def _setup(world: World) -> dict[str, str]:
    users = world.graph.seed(TENANT, [{"userPrincipalName": f"{w}@fabrikam.test"} for w in WORKERS])
    await make_org(world)
    for w in WORKERS:
        uid = users[f"{w}@fabrikam.test"]
        await world.store.insert(
            WorkerLink(org="o1", worker=w, m365_user_id=uid, m365_account=f"{w}@fabrikam.test", status="linked")
        )
    return {w: users[f"{w}@fabrikam.test"] for w in WORKERS}


async def _ours(world: World, uids: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Our task's To Do copies, per worker, over every list of theirs."""
    out: dict[str, list[dict[str, Any]]] = {}
    for worker, uid in uids.items():
        for lst in await world.graph.todo_lists(TENANT, uid):
            found = [
                t
                for t in world.graph.todo_tasks(TENANT, uid, lst["id"])
                if any(r.get("externalId") == "o1/t1" for r in t["linkedResources"])
            ]
            if found:
                out.setdefault(worker, []).extend(found)
    return out


async def _rounds(world: World) -> list[str]:
    """The reconcile's task rounds, run; the types of the changes they added."""
    org = await world.store.get(tasks.Org, org="o1")
    assert org is not None
    before = len(await feed.read(world.store, "o1", 0, 1000))
    for message in await task_rounds.rounds(world.svc, org):
        await world.svc.queues.send(message)
    for work in world.queues.take(TaskRoundBatch.QUEUE):
        await task_rounds.run_batch(world.svc, work)
    return [c.type for c in (await feed.read(world.store, "o1", 0, 1000))[before:]]


def _writes(world: World) -> int:
    return sum(world.graph.count(op) for op in WRITES)


async def _history(steps: list[dict[str, Any]], seed: int, rates: tuple) -> None:
    world = new_world()
    uids = await _setup(world)
    faults = Faults(random.Random(seed), unavailable=rates[0], lost_answer=rates[1], timeout=rates[2])
    for s in steps:
        world.graph.faults = faults
        if s["delete"]:
            if await world.store.get(Task, org="o1", task="t1") is not None:
                await tasks.delete(world.svc, "o1", "t1")
        else:
            await tasks.put(world.svc, "o1", "t1", {"worker": s["worker"], "title": s["title"], "status": s["status"]})
        copies = await _ours(world, uids)
        assert all(len(c) == 1 for c in copies.values()), f"two To Do tasks of one task: {copies}"

        world.graph.faults = Faults()  # Graph behaves again; the queue's retries run
        if await world.store.get(Task, org="o1", task="t1") is not None:
            for _ in range(4):
                if await tasks.retry(world.svc, "o1", "t1", final=False):
                    break
            else:
                raise AssertionError("still pending after Graph recovered")
        task = await world.store.get(Task, org="o1", task="t1")
        copies = await _ours(world, uids)
        if task is None or task.deleted:
            assert copies == {}, f"a deleted task is still in To Do: {copies}"
            continue
        assert list(copies) == [task.worker], copies
        [copy] = copies[task.worker]
        assert (copy["title"], copy["status"]) == (task.title, task.status)
        record = await world.store.get(TaskList, org="o1", worker=task.worker, name="Bookings")
        assert record is not None and record.list_id == task.list_id
        writes = _writes(world)
        assert await tasks.retry(world.svc, "o1", "t1", final=False)
        assert _writes(world) == writes, "a second sync of an unchanged task wrote to Graph"
        assert await _rounds(world) == [], "our own write came back as a change"

        # The worker, in To Do.
        uid, list_id, todo_id = uids[task.worker], task.list_id or "", task.todo_id or ""
        expected: list[str] = []
        if s["in_todo"] == "complete" and copy["status"] != "completed":
            world.graph.todo_edit(TENANT, uid, list_id, todo_id, {"status": "completed"})
            expected = ["task_completed"]
        elif s["in_todo"] == "edit":
            world.graph.todo_edit(TENANT, uid, list_id, todo_id, {"title": copy["title"] + " (edited)"})
            expected = ["task_updated"]
        elif s["in_todo"] == "delete":
            world.graph.todo_delete(TENANT, uid, list_id, todo_id)
            expected = ["task_deleted"]
        assert await _rounds(world) == expected
        assert await _rounds(world) == []  # reported once


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(step, min_size=1, max_size=6),
    seed=st.integers(0, 2**16),
    rates=st.sampled_from([(0.0, 0.0, 0.0), (0.2, 0.2, 0.1), (0.0, 0.5, 0.0), (0.4, 0.0, 0.3)]),
)
def test_any_history_of_pushes_and_todo_changes_converges_and_reports_each_change_once(
    steps: list[dict[str, Any]], seed: int, rates: tuple
) -> None:
    asyncio.run(_history(steps, seed, rates))
