"""Subscriptions over HTTP: create (with the validation handshake), list, get, renew, delete,
reauthorize (docs/graph-emulator.md §1)."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from devtools.graph_emulator.core.errors import GraphError
from devtools.graph_emulator.core.ids import new_guid, now
from devtools.graph_emulator.core.times import fmt_utc
from devtools.graph_emulator.core.wire import Call, Handler, Host, Reply
from devtools.graph_emulator.subscriptions.models import Subscription
from devtools.graph_emulator.subscriptions.notify import ValidationFailed

MAX_SUBSCRIPTION_MINUTES = 4230

MIN_SUBSCRIPTION_MINUTES = 45

MAX_SUBSCRIPTIONS_PER_MAILBOX = 1000


class SubscriptionsApi:
    """The subscriptions routes."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [
            ("GET", "/subscriptions", self.list_subscriptions),
            ("POST", "/subscriptions", self.create_subscription),
            ("GET", "/subscriptions/{sub}", self.get_subscription),
            ("PATCH", "/subscriptions/{sub}", self.renew_subscription),
            ("DELETE", "/subscriptions/{sub}", self.delete_subscription),
            ("POST", "/subscriptions/{sub}/reauthorize", self.reauthorize_subscription),
        ]

    # -- subscriptions ---------------------------------------------------------------------
    def _purge_expired(self) -> None:
        for sub_id, sub in list(self.host.world.subscriptions.items()):
            if sub.expiration <= now():
                del self.host.world.subscriptions[sub_id]

    def _sub_json(self, call: Call, sub: Subscription, *, created: bool = False) -> dict[str, Any]:
        return {
            "id": sub.id,
            "resource": sub.resource,
            "applicationId": sub.app_id,
            "changeType": ",".join(sub.change_types),
            # subscription-list.md: "the clientState property value is not returned for security
            # purposes". Only the create answer echoes it (subscription-post-subscriptions.md).
            "clientState": sub.client_state if created else None,
            "notificationUrl": sub.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": sub.lifecycle_url,
            "expirationDateTime": fmt_utc(sub.expiration),
            "creatorId": sub.creator_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }

    def _own_subscription(self, call: Call) -> Subscription:
        # Only the named one: an expired subscription is gone (404). Purging them all here
        # made each renewal walk every subscription.
        sub = self.host.world.subscriptions.get(call.params["sub"])
        if sub is not None and sub.expiration <= now():
            del self.host.world.subscriptions[sub.id]
            sub = None
        if sub is None or sub.tenant_id != call.tenant.id or sub.app_id != call.app_id:
            raise GraphError(
                404,
                "ResourceNotFound",
                f"The object was not found. Subscription '{call.params['sub']}' does not exist.",
            )
        return sub

    def _expiration(self, value: Any) -> datetime:
        if not isinstance(value, str):
            raise GraphError(400, "InvalidRequest", "expirationDateTime is required.")
        try:
            wanted = datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00")))
        except ValueError:
            raise GraphError(400, "InvalidRequest", f"Cannot convert the literal '{value}' to a date.") from None
        wanted = wanted if wanted.tzinfo else wanted.replace(tzinfo=UTC)
        t = now()
        if wanted > t + timedelta(minutes=MAX_SUBSCRIPTION_MINUTES, seconds=30):
            raise GraphError(
                400,
                "InvalidRequest",
                f"Subscription expiration can only be {MAX_SUBSCRIPTION_MINUTES} minutes in the future.",
            )
        return max(wanted, t + timedelta(minutes=MIN_SUBSCRIPTION_MINUTES))

    async def create_subscription(self, call: Call) -> Reply:
        body = call.json()
        if not isinstance(body, dict):
            raise GraphError(400, "InvalidRequest", "The request body must be a subscription.")
        resource = str(body.get("resource") or "")
        m = re.fullmatch(r"/?(users|Users)/([^/]+)/(events|Events)", resource)
        if m is None:
            if re.fullmatch(r"/?(me|users/[^/]+)/todo/lists/[^/]+/tasks", resource, re.IGNORECASE):
                # subscription-post-subscriptions.md, Permissions: todoTask — Application "Not supported".
                raise GraphError(
                    400,
                    "InvalidRequest",
                    f"Resource '{resource}' is not supported for subscriptions with application permissions: "
                    "todoTask subscriptions (/me/todo/lists/{todoTaskListId}/tasks) need a delegated token.",
                )
            if re.fullmatch(r"/?me/events", resource, re.IGNORECASE):
                raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
            raise GraphError(400, "InvalidRequest", f"Resource '{resource}' is not supported for subscriptions.")
        user = call.tenant.find_user(unquote(m.group(2)))
        if user is None:
            raise GraphError(404, "ResourceNotFound", f"Resource '{resource}' does not exist.")
        if not user.has_mailbox:
            raise GraphError(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            )
        change_types = [c.strip() for c in str(body.get("changeType") or "").split(",") if c.strip()]
        if not change_types or any(c not in ("created", "updated", "deleted") for c in change_types):
            raise GraphError(400, "InvalidRequest", "changeType must be a combination of created, updated, deleted.")
        client_state = body.get("clientState")
        if client_state is not None and len(str(client_state)) > 128:
            raise GraphError(400, "InvalidRequest", "clientState must be at most 128 characters.")
        url = str(body.get("notificationUrl") or "")
        lifecycle = body.get("lifecycleNotificationUrl")
        for name, value in (("notificationUrl", url), ("lifecycleNotificationUrl", lifecycle)):
            if value is None and name == "lifecycleNotificationUrl":
                continue
            parts = urlsplit(str(value))
            local = parts.hostname in ("127.0.0.1", "localhost", "::1")
            if parts.scheme != "https" and not (parts.scheme == "http" and local):
                raise GraphError(400, "InvalidRequest", f"The {name} must be an https URL.")
        expiration = self._expiration(body.get("expirationDateTime"))
        self._purge_expired()
        mine = [s for s in self.host.world.subscriptions.values() if s.mailbox_id == user.id]
        dup = next(
            (
                s
                for s in mine
                if s.app_id == call.app_id
                and sorted(s.change_types) == sorted(change_types)
                and s.notification_url == url
            ),
            None,
        )
        if dup is not None:
            raise GraphError(
                409, "ExtensionError", f"Subscription Id {dup.id} already exists for the requested combination"
            )
        if len(mine) >= MAX_SUBSCRIPTIONS_PER_MAILBOX:
            raise GraphError(
                403,
                "ExtensionError",
                f"The maximum of {MAX_SUBSCRIPTIONS_PER_MAILBOX} subscriptions per mailbox is reached.",
            )
        try:
            await self.host.notifier.validate(url)
            if lifecycle and lifecycle != url:
                await self.host.notifier.validate(str(lifecycle))
        except ValidationFailed as exc:
            raise GraphError(400, "ValidationError", str(exc)) from None
        prefer = call.prefer()
        sub = Subscription(
            id=new_guid(),
            tenant_id=call.tenant.id,
            app_id=call.app_id,
            resource=resource,
            mailbox_id=user.id,
            change_types=change_types,
            notification_url=url,
            lifecycle_url=lifecycle,
            client_state=client_state,
            expiration=expiration,
            immutable_ids=prefer.get("idtype", "").lower() == "immutableid",
            creator_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{call.tenant.id}/{call.app_id}")),
        )
        self.host.world.subscriptions[sub.id] = sub
        return Reply(
            201,
            {
                "@odata.context": self.host.context(call, "subscriptions/$entity"),
                **self._sub_json(call, sub, created=True),
            },
        )

    async def list_subscriptions(self, call: Call) -> Reply:
        self._purge_expired()
        subs = [
            self._sub_json(call, s)
            for s in self.host.world.subscriptions.values()
            if s.tenant_id == call.tenant.id and s.app_id == call.app_id
        ]
        size = 100
        offset = int(base64.urlsafe_b64decode(call.query["$skiptoken"]).decode()) if call.query.get("$skiptoken") else 0
        body: dict[str, Any] = {
            "@odata.context": self.host.context(call, "subscriptions"),
            "value": subs[offset : offset + size],
        }
        if offset + size < len(subs):
            token = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
            body["@odata.nextLink"] = f"{call.base}/subscriptions?$skiptoken={token}"
        return Reply(200, body)

    async def get_subscription(self, call: Call) -> Reply:
        sub = self._own_subscription(call)
        return Reply(
            200, {"@odata.context": self.host.context(call, "subscriptions/$entity"), **self._sub_json(call, sub)}
        )

    async def renew_subscription(self, call: Call) -> Reply:
        sub = self._own_subscription(call)
        body = call.json()
        if "lifecycleNotificationUrl" in body and body["lifecycleNotificationUrl"] != sub.lifecycle_url:
            raise GraphError(
                400, "InvalidRequest", "lifecycleNotificationUrl can't be changed; recreate the subscription."
            )
        sub.expiration = self._expiration(body.get("expirationDateTime"))
        return Reply(
            200, {"@odata.context": self.host.context(call, "subscriptions/$entity"), **self._sub_json(call, sub)}
        )

    async def delete_subscription(self, call: Call) -> Reply:
        sub = self._own_subscription(call)
        del self.host.world.subscriptions[sub.id]
        return Reply(204)

    async def reauthorize_subscription(self, call: Call) -> Reply:
        self._own_subscription(call)
        return Reply(204)
