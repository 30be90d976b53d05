"""Microsoft To Do through Graph (GD: todotasklist-*.md, todotask-*.md): a worker's lists,
the tasks we write, and a list's delta. Raw JSON through msgraph-sdk's builders, like the
rest of the gateway; only application permission Tasks.ReadWrite.All is needed."""

from __future__ import annotations

from typing import Any

from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.method import Method
from msgraph.generated.users.item.todo.lists.item.tasks.tasks_request_builder import TasksRequestBuilder

from shared.adapters.graph_transport import GraphTransport, with_body
from shared.core.errors import GraphNotFound

TODO_PAGE = 100


class TodoCalls(GraphTransport):
    def _lists(self, tenant_id: str, mailbox_id: str) -> Any:
        client, _ = self.client(tenant_id)
        return client.users.by_user_id(mailbox_id).todo.lists

    def _tasks(self, tenant_id: str, mailbox_id: str, list_id: str) -> Any:
        return self._lists(tenant_id, mailbox_id).by_todo_task_list_id(list_id).tasks

    async def todo_lists(self, tenant_id: str, mailbox_id: str) -> list[dict]:
        """Every To Do list of the mailbox (a handful: no filter needed)."""
        builder = self._lists(tenant_id, mailbox_id)
        return [
            item
            async for page in self.pages(tenant_id, builder.to_get_request_information(), builder, mailbox=mailbox_id)
            for item in page
        ]

    async def create_todo_list(self, tenant_id: str, mailbox_id: str, name: str) -> dict[str, Any]:
        builder = self._lists(tenant_id, mailbox_id)
        info = with_body(builder.to_get_request_information(), Method.POST, {"displayName": name})
        # Not resent by the SDK either (see create_todo_task): a lost answer would make two lists.
        return await self.send(tenant_id, info, retries=0, mailbox=mailbox_id)

    async def create_todo_task(
        self, tenant_id: str, mailbox_id: str, list_id: str, task: dict[str, Any], *, retries: int | None = None
    ) -> dict[str, Any]:
        # Never resent by the SDK's retry handler: a 503/504 may come after To Do made it, and
        # a task (unlike an event's transactionId) carries nothing Graph de-duplicates by. A
        # failure is the caller's to retry, after looking the task up by its linkedResource
        # (`retries` is the port's; for a create it is always none).
        builder = self._tasks(tenant_id, mailbox_id, list_id)
        info = with_body(builder.to_get_request_information(), Method.POST, task)
        return await self.send(tenant_id, info, retries=0, mailbox=mailbox_id)

    async def update_todo_task(
        self,
        tenant_id: str,
        mailbox_id: str,
        list_id: str,
        todo_id: str,
        patch: dict[str, Any],
        *,
        retries: int | None = None,
    ) -> dict[str, Any]:
        builder = self._tasks(tenant_id, mailbox_id, list_id).by_todo_task_id(todo_id)
        info = with_body(builder.to_get_request_information(), Method.PATCH, patch)
        return await self.send(tenant_id, info, retries=retries, mailbox=mailbox_id)

    async def delete_todo_task(
        self, tenant_id: str, mailbox_id: str, list_id: str, todo_id: str, *, retries: int | None = None
    ) -> bool:
        """Delete; False when it is already gone."""
        builder = self._tasks(tenant_id, mailbox_id, list_id).by_todo_task_id(todo_id)
        try:
            await self.send(tenant_id, builder.to_delete_request_information(), retries=retries, mailbox=mailbox_id)
        except GraphNotFound:
            return False
        return True

    async def find_todo_tasks(self, tenant_id: str, mailbox_id: str, list_id: str, external_id: str) -> list[dict]:
        """The list's tasks whose linkedResource carries `external_id` (ours). Only after a
        create whose answer was lost, so reading the list is rare; [] when the list is gone."""
        builder = self._tasks(tenant_id, mailbox_id, list_id)
        query = TasksRequestBuilder.TasksRequestBuilderGetQueryParameters(top=TODO_PAGE, expand=["linkedResources"])
        info = builder.to_get_request_information(RequestConfiguration(query_parameters=query))
        found: list[dict] = []
        try:
            async for page in self.pages(tenant_id, info, builder, mailbox=mailbox_id):
                found += [
                    t for t in page if any(r.get("externalId") == external_id for r in t.get("linkedResources") or [])
                ]
        except GraphNotFound:
            return []
        return found

    async def todo_delta(
        self, tenant_id: str, mailbox_id: str, list_id: str, link: str | None
    ) -> tuple[list[dict], str]:
        """One delta round of a list (todotask-delta.md): every item through its pages, and the
        new deltaLink. DeltaTokenExpired when Graph dropped the token; GraphNotFound when the
        list is gone."""
        builder = self._tasks(tenant_id, mailbox_id, list_id).delta
        info = (builder.with_url(link) if link else builder).to_get_request_information()
        return await self.delta_round(tenant_id, info, builder, (f"odata.maxpagesize={TODO_PAGE}",), mailbox_id)
