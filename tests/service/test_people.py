"""Rounds look up only the linked people their events name (shared.service.people), and
never see a link that is gone: the address index is a superset checked against the links."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from shared.adapters.records import Org, PersonAddress, WorkerLink
from shared.service import feed, mailbox_rounds
from shared.service.link_requests import WorkerRequest
from shared.service.linking import put_worker
from shared.service.links import delete_link
from shared.service.people import RoundPeople
from tests.service.conftest import TENANT, World, make_org
from tests.service.test_links_and_rounds import drain_rounds, linked_worker

ORG_SIZE = 150


def slot(world: World, hour: int) -> dict[str, str]:
    at = (world.clock.now() + timedelta(days=2)).replace(hour=hour, minute=0, second=0, microsecond=0)
    return {"dateTime": at.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def counting(world: World) -> Counter[str]:
    """Rows of each table the store hands out from here on (reads by key and by query)."""
    read: Counter[str] = Counter()
    store, get, query = world.store, world.store.get, world.store.query

    async def counted_get(cls: Any, **key: str) -> Any:
        found = await get(cls, **key)
        read[cls.TABLE] += found is not None
        return found

    def counted_query(cls: Any, **kw: Any) -> Any:
        async def rows() -> Any:
            async for row in query(cls, **kw):
                read[cls.TABLE] += 1
                yield row

        return rows()

    store.get, store.query = counted_get, counted_query  # type: ignore[method-assign]
    return read


async def big_org(world: World) -> dict[str, str]:
    """An org of ORG_SIZE linked workers (w-000 is ada): their user ids by worker."""
    await make_org(world)
    world.graph.seed(TENANT, [{"userPrincipalName": f"u{i:03}@fabrikam.test"} for i in range(ORG_SIZE)])
    ids = {}
    for i in range(ORG_SIZE):
        link, _ = await put_worker(world.svc, "o1", WorkerRequest(f"w-{i:03}", f"u{i:03}@fabrikam.test", None, None))
        assert link.status == "linked"
        ids[link.worker] = link.m365_user_id or ""
    await drain_rounds(world)  # the first rounds (baselines)
    return ids


async def created(world: World) -> list[dict[str, Any]]:
    return [c.data for c in await feed.read(world.store, "o1", 0, 1000) if c.type == "created"]


async def test_a_round_reads_the_people_its_meeting_names_not_the_whole_org(world: World) -> None:
    ids = await big_org(world)
    meeting = {
        "subject": "Planning",
        "start": slot(world, 10),
        "end": slot(world, 11),
        "attendees": [{"emailAddress": {"address": "U007@fabrikam.test"}, "type": "required"}],
    }
    world.graph.outlook_create(TENANT, ids["w-000"], meeting)
    read = counting(world)
    await mailbox_rounds.run(world.svc, "o1", "worker", "w-000")
    [data] = await created(world)
    assert data["workers"] == ["w-000", "w-007"]  # the attendee is known as the linked worker
    # The organizer and the attendee: one index row and one link each (plus the round's own link).
    assert read["Workers"] <= 3 and read["Addresses"] == 2, read


async def test_an_unlinked_or_deleted_worker_is_not_named_by_any_later_round(world: World) -> None:
    await make_org(world)
    ada = await linked_worker(world)
    await linked_worker(world, "w-bob", "bob@fabrikam.test")
    org = await world.store.get(Org, org="o1")
    found = RoundPeople(world.svc, org)
    await found.learn(["bob@fabrikam.test", "ada@fabrikam.test"])
    assert found.people == {"bob@fabrikam.test": ("worker", "w-bob"), "ada@fabrikam.test": ("worker", "w-ada")}

    await put_worker(world.svc, "o1", WorkerRequest("w-bob", None, None, None))  # blank: unlinked
    await delete_link(world.svc, WorkerLink, "o1", "w-ada")
    later = RoundPeople(world.svc, org)
    await later.learn(["bob@fabrikam.test", "ada@fabrikam.test"])
    assert later.people == {} and later.users == {}
    assert await world.store.get(PersonAddress, org="o1", address="bob@fabrikam.test") is None
    assert ada.m365_user_id not in later.users.values()


async def test_an_address_moved_to_another_worker_names_the_new_one(world: World) -> None:
    await make_org(world)
    await linked_worker(world, "w-bob", "bob@fabrikam.test")
    await put_worker(world.svc, "o1", WorkerRequest("w-bob", None, None, None))
    await put_worker(world.svc, "o1", WorkerRequest("w-rob", "BOB@fabrikam.test", None, None))
    found = RoundPeople(world.svc, await world.store.get(Org, org="o1"))
    await found.learn(["bob@fabrikam.test"])
    assert found.people == {"bob@fabrikam.test": ("worker", "w-rob")}


async def test_an_index_row_whose_link_never_took_the_address_names_nobody(world: World) -> None:
    # A crash between writing the index (first) and the link: the row is there, the link is not.
    await make_org(world)
    await linked_worker(world)
    await world.store.upsert(
        PersonAddress(org="o1", address="eve@fabrikam.test", owner_kind="worker", owner_id="w-ada")
    )
    found = RoundPeople(world.svc, await world.store.get(Org, org="o1"))
    await found.learn(["eve@fabrikam.test"])
    assert found.people == {}


async def test_an_org_from_before_the_index_is_indexed_by_its_first_round_that_needs_it(world: World) -> None:
    await make_org(world)
    await linked_worker(world)
    await linked_worker(world, "w-bob", "bob@fabrikam.test")
    # As stored before the index existed: no rows, the org not marked.
    await world.store.delete_partition(PersonAddress, org="o1")
    org = await world.store.get(Org, org="o1")
    org.addresses_indexed = False
    await world.store.update(org)

    found = RoundPeople(world.svc, org)
    await found.learn(["bob@fabrikam.test"])
    assert found.people["bob@fabrikam.test"] == ("worker", "w-bob")
    assert (await world.store.get(Org, org="o1")).addresses_indexed
    rows = {r.address: r.owner_id async for r in world.store.query(PersonAddress, org="o1")}
    assert rows == {"ada@fabrikam.test": "w-ada", "bob@fabrikam.test": "w-bob"}
    later = RoundPeople(world.svc, await world.store.get(Org, org="o1"))
    await later.learn(["ada@fabrikam.test"])  # by the index now
    assert later.people == {"ada@fabrikam.test": ("worker", "w-ada")}


async def test_indexing_an_old_org_where_two_links_name_one_address_keeps_the_linked_one(world: World) -> None:
    # A link left in error keeps the address it was given; another worker now holds it.
    await make_org(world)
    await linked_worker(world, "w-bob", "bob@fabrikam.test")
    await world.store.insert(WorkerLink(org="o1", worker="w-old", m365_account="Bob@fabrikam.test", status="error"))
    await world.store.delete_partition(PersonAddress, org="o1")
    org = await world.store.get(Org, org="o1")
    org.addresses_indexed = False
    await world.store.update(org)
    found = RoundPeople(world.svc, org)
    await found.learn(["bob@fabrikam.test"])  # one transaction: one row for the address
    assert found.people == {"bob@fabrikam.test": ("worker", "w-bob")}
    row = await world.store.get(PersonAddress, org="o1", address="bob@fabrikam.test")
    assert row is not None and row.owner_id == "w-bob"
