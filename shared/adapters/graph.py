"""The one Graph gateway: each Graph operation calsync makes, built with msgraph-sdk's
request builders and sent through `GraphTransport` (auth, retry middleware, raw JSON, error
translation). Answers are plain dicts and shared.core.graph_types; msgraph-sdk types never
leave the adapters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.method import Method
from msgraph.generated.models.subscription import Subscription
from msgraph.generated.places.graph_room.graph_room_request_builder import GraphRoomRequestBuilder
from msgraph.generated.users.item.calendar_view.delta.delta_request_builder import DeltaRequestBuilder
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder
from msgraph.generated.users.item.events.item.event_item_request_builder import EventItemRequestBuilder
from msgraph.generated.users.item.events.item.instances.instances_request_builder import InstancesRequestBuilder
from msgraph.generated.users.item.mailbox_settings.mailbox_settings_request_builder import (
    MailboxSettingsRequestBuilder,
)
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from shared.adapters.graph_rooms import GraphRoomsMixin
from shared.adapters.graph_schedule import GraphScheduleMixin
from shared.adapters.graph_todo import TodoCalls
from shared.adapters.graph_transport import GraphTransport, parse_time, raw_post, with_body
from shared.core.errors import AccountAmbiguous, GraphNotFound
from shared.core.graph_types import DirectoryUser, SubscriptionInfo

IMMUTABLE_IDS = 'IdType="ImmutableId"'
UTC_TIMES = 'outlook.timezone="UTC"'
TEXT_BODIES = 'outlook.body-content-type="text"'
DELTA_PAGE = 200
CHANGED_PAGE = 100
USER_FIELDS = ["id", "userPrincipalName", "mail", "displayName", "proxyAddresses"]
PLACES_PAGE = 100  # place-list.md: $top and $skip are supported; 100 is the default page


class GraphGateway(GraphScheduleMixin, GraphRoomsMixin, TodoCalls, GraphTransport):
    """The Graph port (shared.service.ports.Graph) over msgraph-sdk."""

    # -- directory ---------------------------------------------------------------------
    async def get_user(self, tenant_id: str, key: str) -> DirectoryUser:
        """The user whose id, userPrincipalName, mail or proxy address is `key`.

        GET /users/{key} takes only an id or a UPN (user-get.md); an e-mail address that is
        not the UPN (first.last@company.com vs flast@company.onmicrosoft.com) is looked up by
        `mail`, then by `proxyAddresses`. GraphNotFound when nobody has it; AccountAmbiguous
        when two users do."""
        client, _ = self.client(tenant_id)
        query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=USER_FIELDS)
        info = client.users.by_user_id(key).to_get_request_information(RequestConfiguration(query_parameters=query))
        try:
            return _user(await self.send(tenant_id, info), key)
        except GraphNotFound:
            if "@" not in key:
                raise
        address = key.replace("'", "''")
        for clause in (f"mail eq '{address}'", f"proxyAddresses/any(p:p eq 'smtp:{address}')"):
            matches = await self._users_where(tenant_id, clause)
            if len(matches) > 1:
                names = ", ".join(sorted(m.get("userPrincipalName") or m["id"] for m in matches))
                raise AccountAmbiguous(f"{key} is the address of more than one user in the tenant: {names}")
            if matches:
                return _user(matches[0], key)
        raise GraphNotFound(f"no user in the tenant has the id, user name or e-mail address {key}")

    async def _users_where(self, tenant_id: str, clause: str) -> list[dict]:
        client, _ = self.client(tenant_id)
        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(filter=clause, select=USER_FIELDS, top=2)
        info = client.users.to_get_request_information(RequestConfiguration(query_parameters=query))
        return (await self.send(tenant_id, info)).get("value", [])

    async def user_purpose(self, tenant_id: str, user_id: str) -> str:
        """user | shared | room | equipment | linked | others; MailboxNotEnabled without a mailbox."""
        client, _ = self.client(tenant_id)
        query = MailboxSettingsRequestBuilder.MailboxSettingsRequestBuilderGetQueryParameters(select=["userPurpose"])
        info = client.users.by_user_id(user_id).mailbox_settings.to_get_request_information(
            RequestConfiguration(query_parameters=query)
        )
        data = await self.send(tenant_id, info)
        purpose = data.get("userPurpose")
        return (purpose.get("value") if isinstance(purpose, dict) else purpose) or "user"

    async def mailbox_time_zone(self, tenant_id: str, user_id: str) -> str:
        """The mailbox's time zone (mailboxSettings.timeZone: a Windows or IANA name), where
        To Do keeps a worker's due dates; "UTC" when it has none."""
        client, _ = self.client(tenant_id)
        query = MailboxSettingsRequestBuilder.MailboxSettingsRequestBuilderGetQueryParameters(select=["timeZone"])
        info = client.users.by_user_id(user_id).mailbox_settings.to_get_request_information(
            RequestConfiguration(query_parameters=query)
        )
        data = await self.send(tenant_id, info)
        return str(data.get("timeZone") or "UTC")

    async def probe(self, tenant_id: str) -> None:
        """The cheapest call that proves we may read the tenant's directory."""
        client, _ = self.client(tenant_id)
        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=1, select=["id"])
        await self.send(
            tenant_id, client.users.to_get_request_information(RequestConfiguration(query_parameters=query))
        )

    async def list_users(self, tenant_id: str) -> AsyncIterator[dict]:
        client, _ = self.client(tenant_id)
        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=999, select=USER_FIELDS)
        info = client.users.to_get_request_information(RequestConfiguration(query_parameters=query))
        async for page in self.pages(tenant_id, info, client.users):
            for user in page:
                yield user

    async def list_rooms(self, tenant_id: str) -> list[dict]:
        client, _ = self.client(tenant_id)
        return await self._places(tenant_id, client.places.graph_room)

    async def list_room_lists(self, tenant_id: str) -> list[dict]:
        client, _ = self.client(tenant_id)
        return await self._places(tenant_id, client.places.graph_room_list)

    async def rooms_in_list(self, tenant_id: str, list_email: str) -> list[dict]:
        client, _ = self.client(tenant_id)
        # No generated builder for /places/{email}/microsoft.graph.roomlist/rooms: the room
        # builder's request pointed at that path (a raw URL carries its own query string).
        url = f"{self.settings.graph_base_url}/places/{quote(list_email)}/microsoft.graph.roomlist/rooms"
        return await self._places(tenant_id, client.places.graph_room, url)

    async def _places(self, tenant_id: str, builder: Any, url: str | None = None) -> list[dict]:
        """Every place of a list, by $top/$skip: the places API answers 100 by default and
        sends no @odata.nextLink (docs-contrib #341, #6252, #7196), so following nextLink
        alone stops at 100. A short page is the last."""
        out: list[dict] = []
        while True:
            if url is None:
                query = GraphRoomRequestBuilder.GraphRoomRequestBuilderGetQueryParameters(
                    top=PLACES_PAGE, skip=len(out)
                )
                info = builder.to_get_request_information(RequestConfiguration(query_parameters=query))
            else:
                info = builder.with_url(f"{url}?$top={PLACES_PAGE}&$skip={len(out)}").to_get_request_information()
            page = (await self.send(tenant_id, info)).get("value", [])
            out.extend(page)
            if len(page) < PLACES_PAGE:
                return out

    async def purposes(self, tenant_id: str, user_ids: list[str]) -> dict[str, str | None]:
        """userPurpose of many mailboxes, 20 per $batch; None where there is no mailbox."""
        out: dict[str, str | None] = {}
        for start in range(0, len(user_ids), 20):
            chunk = user_ids[start : start + 20]
            body = {
                "requests": [
                    {"id": str(i), "method": "GET", "url": f"/users/{uid}/mailboxSettings/userPurpose"}
                    for i, uid in enumerate(chunk)
                ]
            }
            # Raw JSON: msgraph-core's batch response parser cannot read JSON item bodies.
            answer = await self.send(tenant_id, raw_post(f"{self.settings.graph_base_url}/$batch", body))
            for item in answer.get("responses", []):
                uid = chunk[int(item["id"])]
                if item.get("status") == 200:
                    out[uid] = (item.get("body") or {}).get("value")
                elif item.get("status") in (429, 503, 504):
                    out[uid] = await self.user_purpose(tenant_id, uid)  # throttled inside the batch: ask alone
                else:
                    out[uid] = None
        return out

    # -- events ----------------------------------------------------------------------------
    async def create_event(
        self, tenant_id: str, mailbox_id: str, event: dict[str, Any], *, retries: int | None = None
    ) -> dict[str, Any]:
        client, _ = self.client(tenant_id)
        info = with_body(
            client.users.by_user_id(mailbox_id).events.to_get_request_information(),
            Method.POST,
            event,
            prefer=(IMMUTABLE_IDS, UTC_TIMES),
        )
        return await self.send(tenant_id, info, retries=retries, mailbox=mailbox_id)

    async def update_event(
        self, tenant_id: str, mailbox_id: str, event_id: str, patch: dict[str, Any], *, retries: int | None = None
    ) -> dict[str, Any]:
        client, _ = self.client(tenant_id)
        builder = client.users.by_user_id(mailbox_id).events.by_event_id(event_id)
        info = with_body(builder.to_get_request_information(), Method.PATCH, patch, prefer=(IMMUTABLE_IDS, UTC_TIMES))
        return await self.send(tenant_id, info, retries=retries, mailbox=mailbox_id)

    async def delete_event(self, tenant_id: str, mailbox_id: str, event_id: str, *, retries: int | None = None) -> bool:
        """Delete (on an organizer's meeting Exchange sends cancellations); False if already gone."""
        client, _ = self.client(tenant_id)
        builder = client.users.by_user_id(mailbox_id).events.by_event_id(event_id)
        info = with_body(builder.to_get_request_information(), Method.DELETE, prefer=(IMMUTABLE_IDS,))
        try:
            await self.send(tenant_id, info, retries=retries, mailbox=mailbox_id)
        except GraphNotFound:
            return False
        return True

    async def find_events(self, tenant_id: str, mailbox_id: str, property_id: str, value: str) -> list[dict]:
        """Events of a mailbox carrying our extended property with this value."""
        client, _ = self.client(tenant_id)
        escaped = value.replace("'", "''")
        query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            filter=f"singleValueExtendedProperties/Any(ep: ep/id eq '{property_id}' and ep/value eq '{escaped}')",
            select=["id", "changeKey", "iCalUId", "subject", "onlineMeeting"],
        )
        config = RequestConfiguration(query_parameters=query)
        config.headers.add("Prefer", IMMUTABLE_IDS)
        builder = client.users.by_user_id(mailbox_id).events
        return await self.every_item(tenant_id, builder.to_get_request_information(config), builder, mailbox=mailbox_id)

    async def instances(
        self, tenant_id: str, mailbox_id: str, event_id: str, start: datetime, end: datetime
    ) -> list[dict]:
        """A series' occurrences and exceptions overlapping [start, end) (event-list-instances.md:
        both bounds are required), with `originalStart` to tell which is which; [] when the
        series is gone."""
        client, _ = self.client(tenant_id)
        query = InstancesRequestBuilder.InstancesRequestBuilderGetQueryParameters(
            start_date_time=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            end_date_time=end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            select=["id", "changeKey", "seriesMasterId", "originalStart", "start", "end", "type", "isCancelled"],
        )
        config = RequestConfiguration(query_parameters=query)
        config.headers.add("Prefer", IMMUTABLE_IDS)
        builder = client.users.by_user_id(mailbox_id).events.by_event_id(event_id).instances
        try:
            return await self.every_item(
                tenant_id, builder.to_get_request_information(config), builder, mailbox=mailbox_id
            )
        except GraphNotFound:
            return []

    async def delta(
        self, tenant_id: str, mailbox_id: str, link: str | None, start: datetime, end: datetime
    ) -> tuple[list[dict], str]:
        """One calendarView delta round: every item (through empty pages) and the new deltaLink.
        Without `link` a fresh round over [start, end). DeltaTokenExpired when Graph dropped it."""
        client, _ = self.client(tenant_id)
        builder = client.users.by_user_id(mailbox_id).calendar_view.delta
        if link:
            info = builder.with_url(link).to_get_request_information()
        else:
            query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(
                start_date_time=start.strftime("%Y-%m-%dT%H:%M:%SZ"), end_date_time=end.strftime("%Y-%m-%dT%H:%M:%SZ")
            )
            info = builder.to_get_request_information(RequestConfiguration(query_parameters=query))
        prefer = (f"odata.maxpagesize={DELTA_PAGE}", IMMUTABLE_IDS, UTC_TIMES, TEXT_BODIES)
        return await self.delta_round(tenant_id, info, builder, prefer, mailbox_id)

    async def get_event(self, tenant_id: str, mailbox_id: str, event_id: str) -> dict[str, Any] | None:
        """One event as delta renders it (immutable id, UTC, text body); None when it is gone."""
        client, _ = self.client(tenant_id)
        info = client.users.by_user_id(mailbox_id).events.by_event_id(event_id).to_get_request_information()
        for value in (IMMUTABLE_IDS, UTC_TIMES, TEXT_BODIES):
            info.headers.add("Prefer", value)
        try:
            return await self.send(tenant_id, info, mailbox=mailbox_id)
        except GraphNotFound:
            return None

    async def get_series_master(self, tenant_id: str, mailbox_id: str, event_id: str) -> dict[str, Any] | None:
        """A series master as get_event reads it, with its `cancelledOccurrences` (returned only
        on $select, on a GET of the master by id: resources/event.md); None when it is gone."""
        master = await self.get_event(tenant_id, mailbox_id, event_id)
        if master is None:
            return None
        data = await self._event_fields(tenant_id, mailbox_id, event_id, ["cancelledOccurrences"])
        if data is None:
            return None  # deleted between the two reads
        return {**master, "cancelledOccurrences": data.get("cancelledOccurrences") or []}

    async def changed_since(self, tenant_id: str, mailbox_id: str, since: datetime) -> list[dict]:
        """Single events and series masters Graph changed at or after `since` (/events lists no
        occurrences: resources/event.md), as id, type, changeKey and lastModifiedDateTime."""
        client, _ = self.client(tenant_id)
        query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            filter=f"lastModifiedDateTime ge {since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
            select=["id", "type", "changeKey", "lastModifiedDateTime"],
            top=CHANGED_PAGE,
        )
        config = RequestConfiguration(query_parameters=query)
        config.headers.add("Prefer", IMMUTABLE_IDS)
        builder = client.users.by_user_id(mailbox_id).events
        return await self.every_item(tenant_id, builder.to_get_request_information(config), builder, mailbox=mailbox_id)

    async def event_tag(self, tenant_id: str, mailbox_id: str, event_id: str, property_id: str) -> str | None:
        """The value of our extended property on one event (None if it has none or is gone)."""
        expand = [f"singleValueExtendedProperties($filter=id eq '{property_id}')"]
        data = await self._event_fields(tenant_id, mailbox_id, event_id, ["id"], expand)
        if data is None:
            return None
        props = data.get("singleValueExtendedProperties") or []
        return props[0].get("value") if props else None

    async def _event_fields(
        self, tenant_id: str, mailbox_id: str, event_id: str, select: list[str], expand: list[str] | None = None
    ) -> dict[str, Any] | None:
        """Some fields of one event (immutable ids), None when it is gone."""
        client, _ = self.client(tenant_id)
        query = EventItemRequestBuilder.EventItemRequestBuilderGetQueryParameters(select=select, expand=expand)
        config = RequestConfiguration(query_parameters=query)
        config.headers.add("Prefer", IMMUTABLE_IDS)
        info = client.users.by_user_id(mailbox_id).events.by_event_id(event_id).to_get_request_information(config)
        try:
            return await self.send(tenant_id, info, mailbox=mailbox_id)
        except GraphNotFound:
            return None

    async def find_by_ical(self, tenant_id: str, mailbox_id: str, ical_uid: str, property_id: str) -> str | None:
        """Our property's value on the event with this iCalUId in a mailbox (the organizer's
        copy of a meeting), or None."""
        client, _ = self.client(tenant_id)
        escaped = ical_uid.replace("'", "''")
        query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            filter=f"iCalUId eq '{escaped}'",
            select=["id"],
            expand=[f"singleValueExtendedProperties($filter=id eq '{property_id}')"],
        )
        info = client.users.by_user_id(mailbox_id).events.to_get_request_information(
            RequestConfiguration(query_parameters=query)
        )
        try:
            data = await self.send(tenant_id, info, mailbox=mailbox_id)
        except GraphNotFound:
            return None
        for event in data.get("value", []):
            for prop in event.get("singleValueExtendedProperties") or []:
                return prop.get("value")
        return None

    # -- subscriptions -------------------------------------------------------------------
    async def create_subscription(
        self,
        tenant_id: str,
        mailbox_id: str,
        *,
        notification_url: str,
        lifecycle_url: str,
        client_state: str,
        expires_at: datetime,
    ) -> SubscriptionInfo:
        client, _ = self.client(tenant_id)
        body = Subscription(
            change_type="created,updated,deleted",
            notification_url=notification_url,
            lifecycle_notification_url=lifecycle_url,
            resource=f"/users/{mailbox_id}/events",
            expiration_date_time=expires_at,
            client_state=client_state,
        )
        config = RequestConfiguration()
        config.headers.add("Prefer", IMMUTABLE_IDS)  # notifications then carry immutable ids
        data = await self.send(tenant_id, client.subscriptions.to_post_request_information(body, config))
        return SubscriptionInfo(data["id"], parse_time(data["expirationDateTime"]))

    async def renew_subscription(self, tenant_id: str, subscription_id: str, expires_at: datetime) -> datetime:
        """PATCH expirationDateTime (renewing also reauthorizes); GraphNotFound if it is gone."""
        client, _ = self.client(tenant_id)
        builder = client.subscriptions.by_subscription_id(subscription_id)
        body = {"expirationDateTime": expires_at.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")}
        data = await self.send(tenant_id, with_body(builder.to_get_request_information(), Method.PATCH, body))
        return parse_time(data["expirationDateTime"])

    async def reauthorize_subscription(self, tenant_id: str, subscription_id: str) -> None:
        client, _ = self.client(tenant_id)
        info = client.subscriptions.by_subscription_id(subscription_id).reauthorize.to_post_request_information()
        await self.send(tenant_id, info)

    async def list_subscriptions(self, tenant_id: str) -> list[dict]:
        """Our app's subscriptions in one tenant, every page."""
        client, _ = self.client(tenant_id)
        builder = client.subscriptions
        return await self.every_item(tenant_id, builder.to_get_request_information(), builder)

    async def delete_subscription(self, tenant_id: str, subscription_id: str) -> bool:
        """Delete; False when Graph no longer knows it."""
        client, _ = self.client(tenant_id)
        try:
            await self.send(
                tenant_id, client.subscriptions.by_subscription_id(subscription_id).to_delete_request_information()
            )
        except GraphNotFound:
            return False
        return True


def _user(data: dict[str, Any], key: str) -> DirectoryUser:
    return DirectoryUser(
        data["id"], data.get("userPrincipalName") or key, data.get("mail"), data.get("displayName") or ""
    )
