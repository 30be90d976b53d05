"""A room's copy of a meeting, and the room declining it (a release), mixed into GraphGateway.

The copy is found by the meeting's iCalUId, which is the same in every calendar that holds
the meeting (GRAPH-FACTS.md §3); the decline is event-decline.md's `POST …/decline` with
`sendResponse: true` and a comment, made in the room's mailbox (Application
Calendars.ReadWrite), so the organizer receives the room's decline as from a room mailbox."""

from __future__ import annotations

from typing import Any

from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder

from shared.adapters.graph_transport import GraphTransport, with_body
from shared.core.errors import GraphNotFound

_IMMUTABLE_IDS = 'IdType="ImmutableId"'


class GraphRoomsMixin(GraphTransport):
    async def meeting_copy(self, tenant_id: str, mailbox_id: str, ical_uid: str) -> dict[str, Any] | None:
        """The mailbox's copy of the meeting with this iCalUId (`id`, `type`, `isCancelled`,
        `responseStatus`), or None when it holds none."""
        client, _ = self.client(tenant_id)
        query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            filter="iCalUId eq '{}'".format(ical_uid.replace("'", "''")),
            select=["id", "type", "isCancelled", "responseStatus"],
        )
        config = RequestConfiguration(query_parameters=query)
        config.headers.add("Prefer", _IMMUTABLE_IDS)
        info = client.users.by_user_id(mailbox_id).events.to_get_request_information(config)
        try:
            data = await self.send(tenant_id, info, mailbox=mailbox_id)
        except GraphNotFound:
            return None
        found = [e for e in (data or {}).get("value", []) if isinstance(e, dict)]
        return found[0] if found else None

    async def decline_event(self, tenant_id: str, mailbox_id: str, event_id: str, comment: str) -> bool:
        """The mailbox declines the meeting, telling the organizer why; False when the event is
        gone already."""
        client, _ = self.client(tenant_id)
        builder = client.users.by_user_id(mailbox_id).events.by_event_id(event_id).decline
        # The builder's URL template, a raw JSON body (no typed model to build).
        request = RequestInformation(Method.POST, builder.url_template, builder.path_parameters)
        body = {"comment": comment, "sendResponse": True}
        try:
            await self.send(tenant_id, with_body(request, Method.POST, body), mailbox=mailbox_id)
        except GraphNotFound:
            return False
        return True
