"""Delta rounds against what Graph's calendarView delta really does (event-delta.md): the
window lives in the token, `@removed` also means "moved out of" or "changed outside" the
window, tokens expire with several codes, and one round may list an event twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.adapters.messages import AppointmentRetry, MailboxSync
from shared.core.errors import DeltaTokenExpired, GraphRejected
from shared.service import appointments, feed
from tests.service.conftest import TENANT, World, make_org
from tests.service.test_links_and_rounds import drain_rounds, linked_worker


def when(world: World, days: float, hours: int = 10) -> dict[str, str]:
    at = (world.clock.now() + timedelta(days=days)).replace(hour=hours, minute=0, second=0, microsecond=0)
    return {"dateTime": at.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


async def changes(world: World) -> list[tuple[str, str | None]]:
    return [(r.type, r.appointment) for r in await feed.read(world.store, "o1", 0, 1000)]


async def round_now(world: World) -> None:
    await world.svc.queues.send(MailboxSync("o1", "worker", "w-ada"))
    await drain_rounds(world)


async def booked(world: World, **settings: object) -> tuple[str, str]:
    """Org o1 with w-ada linked and appointment a1 pushed to her calendar a week ahead."""
    await make_org(world, **settings)
    uid = (await linked_worker(world)).m365_user_id or ""
    start = when(world, 7)["dateTime"]
    end = when(world, 7, 11)["dateTime"]
    body = {"title": "Consult", "start": start, "end": end, "organizer": "w-ada"}
    [target] = (await appointments.put(world.svc, "o1", "a1", body))["targets"]
    await drain_rounds(world)  # the baseline round
    return uid, target["eventId"]


async def test_our_event_moved_beyond_the_window_end_is_updated_not_deleted(world: World) -> None:
    uid, event_id = await booked(world)
    world.graph.outlook_update(TENANT, uid, event_id, {"start": when(world, 400), "end": when(world, 400, 11)})
    await round_now(world)
    assert await changes(world) == [("updated", "a1")]
    [row] = await feed.read(world.store, "o1", 0, 10)
    assert row.data["changed"] == ["start", "end"] and row.data["start"].startswith(when(world, 400)["dateTime"][:10])


async def test_a_real_deletion_in_outlook_is_still_deleted(world: World) -> None:
    uid, event_id = await booked(world)
    world.graph.outlook_delete(TENANT, uid, event_id)
    await round_now(world)
    assert await changes(world) == [("deleted", "a1")]


async def test_an_event_far_outside_the_window_changes_nothing(world: World) -> None:
    uid, _ = await booked(world)
    far = world.graph.outlook_create(
        TENANT, uid, {"subject": "Sabbatical", "start": when(world, 900), "end": when(world, 900, 11)}
    )
    world.graph.outlook_update(TENANT, uid, far["id"], {"subject": "Sabbatical (long)"})
    await round_now(world)
    assert world.graph.count("delta") == 2  # the baseline round and this one did run
    assert await changes(world) == []


async def test_one_way_puts_a_moved_event_back_once_and_does_not_loop(world: World) -> None:
    uid, event_id = await booked(world, syncMode="oneWay")
    world.graph.outlook_update(TENANT, uid, event_id, {"start": when(world, 600), "end": when(world, 600, 11)})
    await round_now(world)
    assert [m.appointment for m in world.queues.take(AppointmentRetry.QUEUE)] == ["a1"]
    assert await appointments.retry(world.svc, "o1", "a1", final=False)
    back = world.graph.event(TENANT, uid, event_id)
    assert back is not None and back["start"]["dateTime"].startswith(when(world, 7)["dateTime"][:10])
    patches = world.graph.count("update_event")
    for _ in range(3):  # our own restore comes back as an echo: nothing more happens
        await round_now(world)
    assert world.queues.take(AppointmentRetry.QUEUE) == []
    assert world.graph.count("update_event") == patches
    assert await changes(world) == [("restored", "a1")]  # said once; its echo is not


async def test_the_window_rolls_forward_without_duplicates_or_losses(world: World) -> None:
    uid, _ = await booked(world)
    old = world.graph.outlook_create(
        TENANT, uid, {"subject": "Retro", "start": when(world, -25), "end": when(world, -25, 11)}
    )
    await round_now(world)
    assert await changes(world) == [("created", _minted(await changes(world)))]
    fresh_rounds = sum(1 for c in world.graph.calls if c[0] == "delta" and c[3] == "fresh")

    world.clock.advance(days=8)  # the window is due to roll; "Retro" falls out of its back
    new = world.graph.outlook_create(
        TENANT, uid, {"subject": "Planning", "start": when(world, 3), "end": when(world, 3, 11)}
    )
    await round_now(world)
    assert sum(1 for c in world.graph.calls if c[0] == "delta" and c[3] == "fresh") == fresh_rounds + 1
    types = [t for t, _ in await changes(world)]
    assert types == ["created", "created"]  # "Planning" once; "Retro" neither again nor deleted
    await round_now(world)  # and the rolled window goes on incrementally
    assert len(await changes(world)) == 2
    assert {old["id"], new["id"]} <= {e["id"] for e in world.graph.events(TENANT, uid)}


def _minted(rows: list[tuple[str, str | None]]) -> str | None:
    return rows[0][1] if rows else None


@pytest.mark.parametrize(
    "refusal",
    [
        DeltaTokenExpired("syncStateNotFound", graph_status=410, graph_code="syncStateNotFound"),
        DeltaTokenExpired("syncStateInvalid", graph_status=400, graph_code="syncStateInvalid"),
        DeltaTokenExpired("resyncRequired", graph_status=400, graph_code="resyncRequired"),
        GraphRejected("BadRequest: The delta token is not valid.", graph_status=400, graph_code="BadRequest"),
    ],
    ids=["410", "syncStateInvalid", "resyncRequired", "other-400"],
)
async def test_a_round_survives_a_refused_delta_link_and_reports_each_change_once(
    world: World, refusal: Exception
) -> None:
    uid, event_id = await booked(world)
    world.graph.outlook_update(TENANT, uid, event_id, {"subject": "Consult (moved room)"})
    real = world.graph.delta

    async def refuse_stored_links(tenant: str, mailbox: str, link: str | None, *args: Any) -> Any:
        if link:
            raise refusal
        return await real(tenant, mailbox, link, *args)

    world.graph.delta = refuse_stored_links  # type: ignore[method-assign]
    await round_now(world)
    world.graph.delta = real  # type: ignore[method-assign]
    await round_now(world)
    assert await changes(world) == [("updated", "a1")]


async def test_an_event_listed_twice_in_one_round_is_reported_once(world: World) -> None:
    uid, event_id = await booked(world)
    world.graph.outlook_update(TENANT, uid, event_id, {"subject": "First edit"})
    world.graph.outlook_update(TENANT, uid, event_id, {"subject": "Second edit"})
    real = world.graph.delta

    async def twice(*args: Any) -> Any:
        items, link = await real(*args)
        stale = {**items[0], "subject": "First edit", "changeKey": "older"} if items else None
        return ([stale] if stale else []) + items, link

    world.graph.delta = twice  # type: ignore[method-assign]
    await round_now(world)
    rows = await feed.read(world.store, "o1", 0, 10)
    assert [(r.type, r.data.get("title")) for r in rows] == [("updated", "Second edit")]
