"""Convergence of booking → Outlook through the real shell (appointments.put/delete →
outbound.plan → push.apply), over the fakes, with Graph failing, timing out and losing
answers after it applied a write. Whatever the history: no mailbox ever holds two events
of one appointment, and once Graph behaves and the queue's retries ran, each calendar holds
exactly what the booking product wants and syncing again writes nothing."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.adapters.records import Appointment, ResourceLink, WorkerLink
from shared.core.mapping import PROPERTY_ID, property_value
from shared.core.outbound import desired_targets
from shared.service import appointments
from shared.service.appointment_input import check_references
from shared.service.orgs import update_settings
from tests.fakes.graph import Faults
from tests.service.conftest import TENANT, World, make_org, new_world, store_link

WORKERS = ["w1", "w2", "w3"]
ROOMS = ["r1", "r2"]

step = st.fixed_dictionaries(
    {
        "title": st.sampled_from(["Standup", "Review"]),
        "start": st.sampled_from(["2026-12-07T09:00:00", "2026-12-07T10:30:00"]),
        "organizer": st.sampled_from([None, *WORKERS]),
        "attendees": st.lists(st.sampled_from(WORKERS), max_size=3, unique=True),
        "resources": st.lists(st.sampled_from(ROOMS), max_size=2, unique=True),
        "push": st.booleans(),
        "delete": st.booleans(),
        "useOrganizer": st.booleans(),
    }
)


async def _setup(world: World, linked: set[str]) -> dict[str, str]:
    users = world.graph.seed(
        TENANT,
        [{"userPrincipalName": f"{w}@fabrikam.test"} for w in WORKERS]
        + [{"userPrincipalName": f"{r}@fabrikam.test", "userPurpose": "room"} for r in ROOMS],
    )
    await make_org(world)
    for name in WORKERS + ROOMS:
        uid = users[f"{name}@fabrikam.test"] if name in linked else None
        status = "linked" if uid else "unlinked"
        address = f"{name}@fabrikam.test" if uid else None
        if name in WORKERS:
            await store_link(
                world, WorkerLink(org="o1", worker=name, m365_user_id=uid, m365_account=address, status=status)
            )
        else:
            await store_link(
                world, ResourceLink(org="o1", resource=name, m365_user_id=uid, mailbox=address, status=status)
            )
    return users


def _ours(world: World, users: dict[str, str]) -> dict[str, int]:
    """Events of appointment a1 per mailbox (found by our extended property)."""
    tag = property_value("o1", "a1")
    counts: dict[str, int] = {}
    for uid in users.values():
        events = world.graph.events(TENANT, uid)
        n = sum(
            1
            for e in events
            if any(p["id"] == PROPERTY_ID and p["value"] == tag for p in e.get("singleValueExtendedProperties") or [])
        )
        if n:
            counts[uid] = n
    return counts


async def _history(world: World, linked: set[str], steps: list[dict[str, Any]], seed: int, rates: tuple) -> None:
    users = await _setup(world, linked)
    faults = Faults(random.Random(seed), unavailable=rates[0], lost_answer=rates[1], timeout=rates[2])
    for s in steps:
        world.graph.faults = faults
        await update_settings(world.svc, "o1", {"useOrganizer": s["useOrganizer"]})
        if s["delete"]:
            await appointments.delete(world.svc, "o1", "a1")
        else:
            body = {
                "title": s["title"],
                "start": s["start"],
                "end": s["start"].replace("T09:00", "T09:30").replace("T10:30", "T11:00"),
                "timeZone": "Europe/Oslo",
                "organizer": s["organizer"],
                "attendees": s["attendees"],
                "resources": s["resources"],
                "push": s["push"],
            }
            await appointments.put(world.svc, "o1", "a1", body)
        assert all(n == 1 for n in _ours(world, users).values()), "two events of one appointment in a mailbox"

        # Graph behaves again; the queue's retries run until nothing is pending.
        world.graph.faults = Faults()
        for _ in range(4):
            if await appointments.retry(world.svc, "o1", "a1", final=False):
                break
        else:
            raise AssertionError("still pending after Graph recovered")
        appt = await world.store.get(Appointment, org="o1", appointment="a1")
        assert appt is not None
        boxes = await check_references(world.svc, appt) if not appt.deleted else {}
        wanted, _ = desired_targets(appt.desired(), s["useOrganizer"], boxes)
        assert _ours(world, users) == dict.fromkeys(wanted, 1)
        writes = (
            world.graph.count("create_event") + world.graph.count("update_event") + world.graph.count("delete_event")
        )
        view = await appointments.retry(world.svc, "o1", "a1", final=False)
        assert view is True
        again = (
            world.graph.count("create_event") + world.graph.count("update_event") + world.graph.count("delete_event")
        )
        assert again == writes, "a second sync of an unchanged appointment wrote to Graph"


@settings(max_examples=60, deadline=None)
@given(
    linked=st.sets(st.sampled_from(WORKERS + ROOMS), min_size=1),
    steps=st.lists(step, min_size=1, max_size=5),
    seed=st.integers(0, 2**16),
    rates=st.sampled_from([(0.0, 0.0, 0.0), (0.2, 0.2, 0.1), (0.0, 0.5, 0.0), (0.4, 0.0, 0.3)]),
)
def test_any_history_with_faults_converges_without_duplicates(
    linked: set[str], steps: list[dict[str, Any]], seed: int, rates: tuple
) -> None:
    asyncio.run(_history(new_world(), linked, steps, seed, rates))
