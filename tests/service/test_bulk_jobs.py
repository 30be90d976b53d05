"""Bulk push jobs: progress as appointments finish, a crashed chunk resumed, stalled chunks shown."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.messages import PushChunk
from shared.adapters.records import WorkerLink
from shared.service import bulk_jobs
from tests.service.conftest import TENANT, World, make_org


class Crash(Exception):
    """The instance dies: not a Graph failure, nothing in calsync handles it."""


def bulk(n: int) -> list[dict[str, Any]]:
    return [
        {
            "appointment": f"b{i:04}",
            "title": f"Bulk {i}",
            "start": f"2026-12-{1 + i % 28:02}T{8 + i % 9:02}:00:00",
            "end": f"2026-12-{1 + i % 28:02}T{8 + i % 9:02}:30:00",
            "timeZone": "UTC",
        }
        for i in range(n)
    ]


async def _worker(world: World) -> str:
    users = world.graph.seed(TENANT, [{"userPrincipalName": "ada@fabrikam.test"}])
    await make_org(world)
    uid = users["ada@fabrikam.test"]
    await world.store.insert(
        WorkerLink(org="o1", worker="w-ada", m365_user_id=uid, m365_account="ada@fabrikam.test", status="linked")
    )
    return uid


def _chunks(world: World) -> list[PushChunk]:
    return [m for m in world.queues.take("push-jobs") if isinstance(m, PushChunk)]


async def test_progress_survives_a_crash_and_the_rerun_finishes_without_duplicates(world: World) -> None:
    ada = await _worker(world)
    job = await bulk_jobs.submit(world.svc, "o1", "w-ada", {"appointments": bulk(20)})
    assert job["state"] == "queued" and job["total"] == 20
    (chunk,) = _chunks(world)

    # Each event takes Graph a second; the instance dies during the 13th.
    real_create, made = world.graph.create_event, []

    async def slow_then_crash(*args: Any, **kw: Any) -> dict[str, Any]:
        if len(made) == 12:
            raise Crash
        world.clock.advance(seconds=1)
        made.append(await real_create(*args, **kw))
        return made[-1]

    world.graph.create_event = slow_then_crash  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await bulk_jobs.run_chunk(world.svc, chunk, final=False)
    after_crash = await bulk_jobs.view(world.svc, "o1", job["job"])
    assert after_crash["state"] == "running"
    # What was counted is in Outlook; at most the last second's finishes are not counted yet.
    assert 8 <= after_crash["processed"] <= 12 and after_crash["succeeded"] == after_crash["processed"]

    # The message comes back after its lease; the re-run creates only what is missing.
    world.graph.create_event = real_create  # type: ignore[method-assign]
    assert await bulk_jobs.run_chunk(world.svc, chunk, final=False) is True
    done = await bulk_jobs.view(world.svc, "o1", job["job"])
    assert done["state"] == "done" and done["succeeded"] == 20 and done["processed"] == 20
    events = world.graph.events(TENANT, ada)
    assert sorted(e["subject"] for e in events) == sorted(f"Bulk {i}" for i in range(20))


async def test_chunks_that_do_not_move_are_shown_as_stalled(world: World) -> None:
    await _worker(world)
    job = await bulk_jobs.submit(world.svc, "o1", "w-ada", {"appointments": bulk(45)})
    first, second, third = _chunks(world)
    assert (await bulk_jobs.view(world.svc, "o1", job["job"]))["stalled"] == []

    await bulk_jobs.run_chunk(world.svc, first, final=False)
    world.clock.advance(minutes=1)
    await bulk_jobs.run_chunk(world.svc, second, final=False)
    world.clock.advance(minutes=1, seconds=30)
    view = await bulk_jobs.view(world.svc, "o1", job["job"])
    # The first and second chunks are done; the third was never picked up.
    assert view["state"] == "running" and view["processed"] == 40
    assert [(s["chunk"], s["processed"], s["attempts"]) for s in view["stalled"]] == [("00002", 0, 0)]

    await bulk_jobs.run_chunk(world.svc, third, final=False)
    view = await bulk_jobs.view(world.svc, "o1", job["job"])
    assert view["state"] == "done" and view["stalled"] == [] and view["succeeded"] == 45
