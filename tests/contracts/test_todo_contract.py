"""Contract of the Graph port's To Do part (shared.adapters.graph_todo): the real gateway
against the emulator, and FakeGraph, pass the same tests. Docs: microsoft-graph-docs-contrib
api-reference/v1.0/api/todo-*.md, todotasklist-*.md, todotask-*.md."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shared.core.errors import GraphNotFound, GraphRejected
from shared.core.tasks import APPLICATION, TaskWanted, todo_body, todo_fields, wanted_fields
from tests.contracts.conftest_graph import Backend, graph_backend, webhook_receiver  # noqa: F401 (fixtures)
from tests.fakes.graph import FakeGraph

WANTED = TaskWanted("Call Mrs. Jones", "about the invoice", "2026-12-04", "2026-12-04T08:00:00Z", "high")


def ours(ext: str = "o1/t1") -> dict[str, Any]:
    return {
        **todo_body(WANTED),
        "linkedResources": [{"applicationName": APPLICATION, "displayName": "t1", "externalId": ext}],
    }


async def in_todo(
    request: pytest.FixtureRequest, graph: Backend, mailbox: str, list_id: str, todo_id: str, patch: dict | None
) -> None:
    """The worker in To Do (another client): a PATCH, or a delete when `patch` is None."""
    if isinstance(graph.graph, FakeGraph):
        if patch is None:
            graph.graph.todo_delete(graph.tenant_id, mailbox, list_id, todo_id)
        else:
            graph.graph.todo_edit(graph.tenant_id, mailbox, list_id, todo_id, patch)
        return
    emulator = request.getfixturevalue("emulator")
    token = f"emulator:{graph.tenant_id}:11111111-2222-3333-4444-555555555555"
    url = f"{emulator.url}/v1.0/users/{mailbox}/todo/lists/{list_id}/tasks/{todo_id}"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        answer = await (client.delete(url) if patch is None else client.patch(url, json=patch))
        assert answer.status_code in (200, 204), answer.text


async def test_lists_include_the_default_one_and_a_new_list_is_listed(graph: Backend) -> None:
    ada = graph.uid("ada")
    before = await graph.graph.todo_lists(graph.tenant_id, ada)
    # todotasklist.md: the built-in lists are there from the start.
    assert sorted(x.get("wellknownListName") for x in before) == ["defaultList", "flaggedEmails"]
    made = await graph.graph.create_todo_list(graph.tenant_id, ada, "Bookings")  # todo-post-lists.md
    after = await graph.graph.todo_lists(graph.tenant_id, ada)
    assert {(x["id"], x["displayName"]) for x in after} >= {(made["id"], "Bookings")}


async def test_a_task_reads_back_as_written_and_is_found_by_its_linked_resource(graph: Backend) -> None:
    ada = graph.uid("ada")
    lst = await graph.graph.create_todo_list(graph.tenant_id, ada, "Bookings")
    made = await graph.graph.create_todo_task(graph.tenant_id, ada, lst["id"], ours())  # todotasklist-post-tasks.md
    assert made["id"] and made["@odata.etag"]
    assert todo_fields(made) == wanted_fields(WANTED)  # echo suppression rests on this
    [found] = await graph.graph.find_todo_tasks(graph.tenant_id, ada, lst["id"], "o1/t1")
    assert found["id"] == made["id"]
    assert await graph.graph.find_todo_tasks(graph.tenant_id, ada, lst["id"], "o1/t2") == []
    # todotask-update.md: PATCH answers the task; a new etag; completing it dates it.
    done = await graph.graph.update_todo_task(graph.tenant_id, ada, lst["id"], made["id"], {"status": "completed"})
    assert done["status"] == "completed" and done["@odata.etag"] != made["@odata.etag"]
    assert (done.get("completedDateTime") or {}).get("dateTime")
    assert todo_fields(done)["title"] == WANTED.title


async def test_delta_rounds_show_the_workers_edits_and_deletions(
    graph: Backend, request: pytest.FixtureRequest
) -> None:
    ada = graph.uid("ada")
    lst = (await graph.graph.create_todo_list(graph.tenant_id, ada, "Bookings"))["id"]
    made = await graph.graph.create_todo_task(graph.tenant_id, ada, lst, ours())
    items, link = await graph.graph.todo_delta(graph.tenant_id, ada, lst, None)  # todotask-delta.md
    assert [i["id"] for i in items] == [made["id"]] and link
    items, link = await graph.graph.todo_delta(graph.tenant_id, ada, lst, link)
    assert items == []
    await in_todo(request, graph, ada, lst, made["id"], {"status": "completed"})
    items, link = await graph.graph.todo_delta(graph.tenant_id, ada, lst, link)
    assert [(i["id"], i["status"]) for i in items] == [(made["id"], "completed")]
    await in_todo(request, graph, ada, lst, made["id"], None)
    items, link = await graph.graph.todo_delta(graph.tenant_id, ada, lst, link)
    assert [(i["id"], "@removed" in i) for i in items] == [(made["id"], True)]
    # A task made and deleted between two reads is not named at all: delta names removals
    # of what the token had listed (the emulator's reading of delta-query-overview.md).
    brief = await graph.graph.create_todo_task(graph.tenant_id, ada, lst, ours())
    await in_todo(request, graph, ada, lst, brief["id"], None)
    items, _ = await graph.graph.todo_delta(graph.tenant_id, ada, lst, link)
    assert items == []


async def test_missing_tasks_lists_and_bad_values(graph: Backend) -> None:
    ada = graph.uid("ada")
    lst = (await graph.graph.create_todo_list(graph.tenant_id, ada, "Bookings"))["id"]
    made = await graph.graph.create_todo_task(graph.tenant_id, ada, lst, ours())
    assert await graph.graph.delete_todo_task(graph.tenant_id, ada, lst, made["id"]) is True
    assert await graph.graph.delete_todo_task(graph.tenant_id, ada, lst, made["id"]) is False  # gone already
    with pytest.raises(GraphNotFound):
        await graph.graph.update_todo_task(graph.tenant_id, ada, lst, made["id"], {"title": "x"})
    with pytest.raises(GraphNotFound):
        await graph.graph.create_todo_task(graph.tenant_id, ada, "AAMkAGI1-no-such-list", ours())
    with pytest.raises(GraphRejected):  # importance is low | normal | high (todotask.md)
        await graph.graph.create_todo_task(graph.tenant_id, ada, lst, {**ours(), "importance": "urgent"})
