"""Contract: Microsoft To Do (lists, tasks, linked resources, delta), through msgraph-sdk.

Every test names the documentation it checks (paths in microsoftgraph/microsoft-graph-docs-contrib),
or says where the docs are silent and the emulator chose.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.importance import Importance
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.linked_resource import LinkedResource
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.task_status import TaskStatus
from msgraph.generated.models.todo_task import TodoTask
from msgraph.generated.models.todo_task_list import TodoTaskList
from msgraph.generated.models.wellknown_list_name import WellknownListName
from msgraph.generated.users.item.todo.lists.item.tasks.item.todo_task_item_request_builder import (
    TodoTaskItemRequestBuilder,
)
from msgraph.generated.users.item.todo.lists.item.tasks.tasks_request_builder import TasksRequestBuilder

from tests.emulator.conftest import Tenant


def todo(tenant: Tenant, name: str = "ada"):
    return tenant.client().users.by_user_id(tenant.uid(name)).todo


async def new_list(tenant: Tenant, name: str = "calsync") -> str:
    return (await todo(tenant).lists.post(TodoTaskList(display_name=name))).id


def prefer(*values: str) -> RequestConfiguration:
    cfg = RequestConfiguration()
    for value in values:
        cfg.headers.add("Prefer", value)
    return cfg


async def test_every_mailbox_has_its_built_in_lists_and_can_create_more(tenant: Tenant) -> None:
    # api-reference/v1.0/api/todo-list-lists.md (the "Tasks" list, wellknownListName defaultList),
    # resources/todotasklist.md ("built-in task lists such as Flagged emails and Tasks which cannot
    # be renamed or deleted"), api/todo-post-lists.md (201, wellknownListName none, isOwner,
    # isShared), todotasklist-update.md (200), todotasklist-delete.md (204). Codes of the refusals:
    # docs silent.
    lists = todo(tenant).lists
    found = (await lists.get()).value
    assert [(x.display_name, x.wellknown_list_name) for x in found] == [
        ("Tasks", WellknownListName.DefaultList),
        ("Flagged Emails", WellknownListName.FlaggedEmails),
    ]
    created = await lists.post(TodoTaskList(display_name="Travel items"))
    assert created.wellknown_list_name == WellknownListName.None_ and created.is_owner and not created.is_shared
    renamed = await lists.by_todo_task_list_id(created.id).patch(TodoTaskList(display_name="Vacation Plan"))
    assert renamed.display_name == "Vacation Plan"
    assert (await lists.by_todo_task_list_id(created.id).get()).display_name == "Vacation Plan"
    default = found[0].id
    for call in (
        lists.by_todo_task_list_id(default).patch(TodoTaskList(display_name="Mine")),
        lists.by_todo_task_list_id(default).delete(),
    ):
        with pytest.raises(ODataError) as err:
            await call
        assert err.value.response_status_code == 400
    await lists.by_todo_task_list_id(created.id).delete()
    with pytest.raises(ODataError) as err:
        await lists.by_todo_task_list_id(created.id).get()
    assert err.value.response_status_code == 404 and err.value.error.code == "ErrorItemNotFound"
    async with tenant.raw() as raw:  # todo-post-lists.md: displayName is required
        assert (await raw.post(f"/users/{tenant.uid('ada')}/todo/lists", json={})).status_code == 400


async def test_create_task_with_linked_resources_and_read_them(tenant: Tenant) -> None:
    # api-reference/v1.0/api/todotasklist-post-tasks.md (201; linkedResources given inline and
    # answered with ids), resources/todotask.md (defaults, @odata.etag), todotask-get.md,
    # todotask-list-linkedresources.md, todotask-post-linkedresources.md (201). linkedResources
    # on GET only with $expand=linkedResources: the docs' list example shows them inline; the
    # emulator renders them only when asked (less forgiving).
    list_id = await new_list(tenant)
    tasks = todo(tenant).lists.by_todo_task_list_id(list_id).tasks
    created = await tasks.post(
        TodoTask(
            title="Booking 42",
            body=ItemBody(content="Room 3"),
            linked_resources=[
                LinkedResource(
                    web_url="https://bookings.example/42", application_name="calsync", display_name="Booking 42"
                )
            ],
        )
    )
    assert created.status == TaskStatus.NotStarted and created.importance == Importance.Normal
    assert created.is_reminder_on is False and created.completed_date_time is None
    assert created.additional_data["@odata.etag"].startswith('W/"')
    [link] = created.linked_resources
    assert link.id and link.web_url == "https://bookings.example/42" and link.application_name == "calsync"
    plain = await tasks.by_todo_task_id(created.id).get()
    assert plain.title == "Booking 42" and plain.body.content == "Room 3" and not plain.linked_resources
    cfg = RequestConfiguration(
        query_parameters=TodoTaskItemRequestBuilder.TodoTaskItemRequestBuilderGetQueryParameters(
            expand=["linkedResources"]
        )
    )
    expanded = await tasks.by_todo_task_id(created.id).get(request_configuration=cfg)
    assert [x.id for x in expanded.linked_resources] == [link.id]
    # One linked resource per task (docs-contrib issue #654: a second one is 400 invalidRequest
    # "Only one item in linkedResources is allowed"): inline on create, and by POST (docs silent).
    second = LinkedResource(application_name="crm", display_name="Case 7", external_id="case-7")
    links = tasks.by_todo_task_id(created.id).linked_resources
    with pytest.raises(ODataError) as refused:
        await links.post(second)
    assert refused.value.response_status_code == 400 and refused.value.error.code == "invalidRequest"
    with pytest.raises(ODataError):
        await tasks.post(
            TodoTask(
                title="Two links", linked_resources=[LinkedResource(application_name="a", display_name="a"), second]
            )
        )
    bare = await tasks.post(TodoTask(title="Linked later"))
    extra = await tasks.by_todo_task_id(bare.id).linked_resources.post(second)
    assert extra.external_id == "case-7" and extra.web_url is None
    listed = await tasks.get(
        request_configuration=RequestConfiguration(
            query_parameters=TasksRequestBuilder.TasksRequestBuilderGetQueryParameters(expand=["linkedResources"])
        )
    )
    assert sorted(len(t.linked_resources) for t in listed.value) == [1, 1]


async def test_patch_to_completed_sets_completed_date_time_and_a_new_etag(tenant: Tenant) -> None:
    # api-reference/v1.0/api/todotask-update.md (200 with the task; dueDateTime answered in UTC,
    # 16:00 Eastern Standard Time kept as the day's midnight there), resources/todotask.md
    # (completedDateTime, lastModifiedDateTime, @odata.etag). completedDateTime set when the
    # status becomes completed and cleared when reopened: docs silent; emulator choice (as To Do).
    # It is a day, not a moment: that day's midnight UTC (docs-contrib issues #5306, #8664).
    tasks = todo(tenant).lists.by_todo_task_list_id(await new_list(tenant)).tasks
    created = await tasks.post(TodoTask(title="Call back"))
    etag = created.additional_data["@odata.etag"]
    due = await tasks.by_todo_task_id(created.id).patch(
        TodoTask(due_date_time=DateTimeTimeZone(date_time="2030-07-25T16:00:00", time_zone="Eastern Standard Time"))
    )
    assert (due.due_date_time.date_time, due.due_date_time.time_zone) == ("2030-07-25T04:00:00.0000000", "UTC")
    done = await tasks.by_todo_task_id(created.id).patch(TodoTask(status=TaskStatus.Completed))
    assert done.status == TaskStatus.Completed and done.completed_date_time.time_zone == "UTC"
    assert done.completed_date_time.date_time == f"{datetime.now(UTC).date()}T00:00:00.0000000"  # ada: UTC
    # A completion the client dates is kept as its day too: the worker's (ada's zone is UTC).
    dated = await tasks.by_todo_task_id(created.id).patch(
        TodoTask(
            completed_date_time=DateTimeTimeZone(date_time="2030-07-25T23:30:00", time_zone="Mountain Standard Time")
        )
    )
    assert dated.completed_date_time.date_time == "2030-07-26T00:00:00.0000000"
    assert etag != due.additional_data["@odata.etag"] != done.additional_data["@odata.etag"]
    assert done.last_modified_date_time >= created.last_modified_date_time
    reopened = await tasks.by_todo_task_id(created.id).patch(TodoTask(status=TaskStatus.InProgress))
    assert reopened.completed_date_time is None
    await tasks.by_todo_task_id(created.id).delete()
    with pytest.raises(ODataError) as err:
        await tasks.by_todo_task_id(created.id).get()
    assert err.value.response_status_code == 404 and err.value.error.code == "ErrorItemNotFound"


async def test_bad_bodies_are_400_and_unknown_ids_404(tenant: Tenant) -> None:
    # resources/todotask.md: importance low|normal|high, status notStarted|inProgress|completed|
    # waitingOnOthers|deferred; resources/datetimetimezone.md. Graph's codes for these: docs
    # silent (RequestBodyRead / ErrorInvalidRequest / TimeZoneNotSupportedException, as Outlook
    # sends); unknown list or task → 404 ErrorItemNotFound (as Outlook sends, e.g.
    # RogerSelwyn/MS365-ToDo#112). Refusing completedDateTime on an open task: emulator choice.
    uid = tenant.uid("ada")
    list_id = await new_list(tenant)
    base = f"/users/{uid}/todo/lists/{list_id}/tasks"
    async with tenant.raw() as raw:
        task_id = (await raw.post(base, json={"title": "ok"})).json()["id"]
        bad = [
            {"title": "x", "importance": "urgent"},
            {"title": "x", "status": "done"},
            {"title": "x", "status": "Completed"},  # enum members are spelled as documented
            {"title": "x", "dueDateTime": "2030-01-01"},
            {"title": "x", "dueDateTime": {"dateTime": "tomorrow", "timeZone": "UTC"}},
            {"title": "x", "reminderDateTime": {"dateTime": "2030-01-01T10:00:00", "timeZone": "Mars/Olympus"}},
            {"title": "x", "isReminderOn": "yes"},
            {"title": "x", "categories": "Red"},
            {"title": "x", "colour": "red"},  # not a todoTask property
            {"title": "x", "completedDateTime": {"dateTime": "2030-01-01T10:00:00", "timeZone": "UTC"}},
            {"title": "x", "linkedResources": [{"webUrl": "https://x"}]},  # no applicationName/displayName
        ]
        for body in bad:
            assert (await raw.post(base, json=body)).status_code == 400, body
            assert (await raw.patch(f"{base}/{task_id}", json=body)).status_code == 400, body
        assert (await raw.post(base, json=["a list"])).status_code == 400
        garbled = await raw.post(base, content=b"{not json", headers={"Content-Type": "application/json"})
        assert garbled.status_code == 400
        # linkedResources are created inline or through their own collection, not by PATCH.
        patched = await raw.patch(f"{base}/{task_id}", json={"linkedResources": []})
        assert patched.status_code == 400
        for path in (
            f"/users/{uid}/todo/lists/AAMkADnope=/tasks",
            f"{base}/AAMkADnope=",
            f"{base}/AAMkADnope=/linkedResources",
        ):
            answer = await raw.get(path)
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "ErrorItemNotFound", path
            assert set(answer.json()["error"]["innerError"]) >= {"date", "request-id"}
        nomail = await raw.get(f"/users/{tenant.uid('nomail')}/todo/lists")
        assert nomail.status_code == 404 and nomail.json()["error"]["code"] == "MailboxNotEnabledForRESTAPI"
        assert (await raw.get("/me/todo/lists")).status_code == 400  # app-only: no /me


async def test_tasks_page_with_next_links(tenant: Tenant) -> None:
    # concepts/paging.md (@odata.nextLink until the last page; page sizes vary: 10 is the
    # emulator's default, as for events), $top; $filter on status (query-parameters).
    tasks = todo(tenant).lists.by_todo_task_list_id(await new_list(tenant)).tasks
    for i in range(13):
        await tasks.post(TodoTask(title=f"t{i}", status=TaskStatus.Completed if i % 2 else TaskStatus.NotStarted))
    page = await tasks.get()
    titles = [t.title for t in page.value]
    assert len(titles) == 10 and page.odata_next_link
    page = await tasks.with_url(page.odata_next_link).get()
    assert [t.title for t in page.value] == ["t10", "t11", "t12"] and not page.odata_next_link
    query = TasksRequestBuilder.TasksRequestBuilderGetQueryParameters(top=4, filter="status ne 'completed'")
    page = await tasks.get(request_configuration=RequestConfiguration(query_parameters=query))
    assert [t.title for t in page.value] == ["t0", "t2", "t4", "t6"] and page.odata_next_link


async def delta_round(tasks, link: str | None, page_size: int | None = None) -> tuple[list, str, int]:
    """Follow nextLinks to the deltaLink, through empty pages too."""
    cfg = prefer(*([f"odata.maxpagesize={page_size}"] if page_size else []))
    builder = tasks.delta if link is None else tasks.delta.with_url(link)
    page = await builder.get(request_configuration=cfg)
    items, pages = list(page.value), 1
    while page.odata_next_link:
        page = await tasks.delta.with_url(page.odata_next_link).get(request_configuration=cfg)
        items += page.value
        pages += 1
    return items, page.odata_delta_link, pages


async def test_task_delta_initial_incremental_and_deleted(tenant: Tenant) -> None:
    # api-reference/v1.0/api/todotask-delta.md (GET …/tasks/delta — msgraph-sdk sends delta();
    # `Prefer: odata.maxpagesize`; a deltaLink with $deltatoken ends a round) and
    # concepts/delta-query-overview.md (nextLink with $skipToken, "even if the current response
    # may contain an empty result"; removed items as their id and "@removed": {"reason":
    # "deleted"}; "Token duration": syncStateNotFound; "Synchronization reset": 410 + Location).
    tasks = todo(tenant).lists.by_todo_task_list_id(await new_list(tenant)).tasks
    ids = [(await tasks.post(TodoTask(title=f"d{i}"))).id for i in range(5)]
    items, link, pages = await delta_round(tasks, None, page_size=2)
    assert sorted(i.id for i in items) == sorted(ids) and pages == 4  # empty page + 3 pages of ≤2
    assert "/tasks/delta?$deltatoken=" in link
    items, link, pages = await delta_round(tasks, link)
    assert (items, pages) == ([], 1)  # nothing changed: one request
    await tasks.by_todo_task_id(ids[0]).patch(TodoTask(status=TaskStatus.Completed))
    await tasks.by_todo_task_id(ids[1]).delete()
    added = await tasks.post(TodoTask(title="new"))
    items, link2, _ = await delta_round(tasks, link)
    got = {i.id: i for i in items}
    assert set(got) == {ids[0], ids[1], added.id}
    assert got[ids[0]].status == TaskStatus.Completed and got[added.id].title == "new"
    assert got[ids[1]].additional_data == {"@removed": {"reason": "deleted"}} and got[ids[1]].title is None
    async with tenant.raw() as raw:
        bogus = await raw.get(link2.split("/v1.0", 1)[1].split("$deltatoken=")[0] + "$deltatoken=garbled")
        assert bogus.status_code == 400 and bogus.json()["error"]["code"] == "BadRequest"  # docs silent, as events
        refused = await raw.get(link2.split("/v1.0", 1)[1].split("?")[0] + "?$search=x")
        assert refused.status_code == 400  # todotask-delta.md: "There is no support for $search"
    await tenant.control.post("/_emulator/delta/expire", json={"mailbox": tenant.uid("ada")})
    with pytest.raises(ODataError) as err:
        await delta_round(tasks, link2)
    assert err.value.response_status_code == 410 and err.value.error.code == "syncStateNotFound"
    assert err.value.response_headers["location"].endswith("/tasks/delta")
    items, _, _ = await delta_round(tasks, None)
    assert len(items) == 5  # a fresh round recovers everything


async def test_lists_delta(tenant: Tenant) -> None:
    # api-reference/v1.0/api/todotasklist-delta.md: the same rounds over the task lists.
    lists = todo(tenant).lists
    first = await lists.delta.get()
    items, pages = list(first.value), 1
    page = first
    while page.odata_next_link:
        page = await lists.delta.with_url(page.odata_next_link).get()
        items += page.value
        pages += 1
    assert [i.display_name for i in items] == ["Tasks", "Flagged Emails"]
    made = await lists.post(TodoTaskList(display_name="Fresh"))
    after = await lists.delta.with_url(page.odata_delta_link).get()
    assert [i.id for i in after.value] == [made.id] and after.odata_delta_link


async def test_todo_task_subscriptions_are_refused_for_app_only_tokens(tenant: Tenant) -> None:
    # api-reference/v1.0/api/subscription-post-subscriptions.md, Permissions: todoTask —
    # Application "Not supported"; concepts/includes/change-notifications-supported-resources-expanded.md
    # lists only /me/todo/lists/{todoTaskListId}/tasks. Status and code: as the emulator refuses
    # any other unsupported resource (docs silent).
    list_id = await new_list(tenant)
    async with tenant.raw() as raw:
        for resource in (f"/users/{tenant.uid('ada')}/todo/lists/{list_id}/tasks", f"/me/todo/lists/{list_id}/tasks"):
            answer = await raw.post(
                "/subscriptions",
                json={
                    "changeType": "created,updated,deleted",
                    "notificationUrl": "https://example.com/hook",
                    "resource": resource,
                    "expirationDateTime": "2030-01-01T00:00:00Z",
                },
            )
            assert answer.status_code == 400, resource
            assert "application permissions" in answer.json()["error"]["message"]


async def test_todo_requests_count_and_fail_like_mailbox_paths(tenant: Tenant) -> None:
    # concepts/throttling-limits.md (Outlook service limits apply per app and mailbox) — To Do is
    # an Outlook workload; the emulator's request log and faults treat it as one (docs silent).
    await tenant.control.delete("/_emulator/requests")
    await todo(tenant).lists.get()
    log = (await tenant.control.get("/_emulator/requests")).json()
    assert {"method": "GET", "pattern": "/users/{id}/todo/lists", "mailbox": tenant.uid("ada"), "count": 1} in log[
        "items"
    ]
    rule = {"method": "GET", "pattern": "/users/{id}/todo/lists", "status": 503, "count": 1}
    await tenant.control.post("/_emulator/faults", json={"failNext": [rule]})
    async with tenant.raw() as raw:
        assert (await raw.get(f"/users/{tenant.uid('ada')}/todo/lists")).status_code == 503
        assert (await raw.get(f"/users/{tenant.uid('ada')}/todo/lists")).status_code == 200
