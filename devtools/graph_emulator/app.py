"""The Graph emulator's HTTP surface: Graph v1.0 paths plus the /_emulator control API."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from multidict import CIMultiDict

from devtools.graph_emulator import events as ev_ops
from devtools.graph_emulator import schedule, series
from devtools.graph_emulator.events import GraphError, View, filter_view, fmt_utc, in_window, render
from devtools.graph_emulator.notify import Notifier, ValidationFailed
from devtools.graph_emulator.odata import ODataError, apply_select, parse_expand_extended, parse_filter
from devtools.graph_emulator.state import (
    USER_DEFAULT_PROPERTIES,
    DeltaState,
    Event,
    Subscription,
    Tenant,
    User,
    World,
    immutable_of,
    new_change_key,
    new_guid,
    now,
    parse_occurrence_id,
)
from devtools.graph_schema import wire
from shared.core.timezones import UnknownTimeZone, zone

MAX_SUBSCRIPTION_MINUTES = 4230
MIN_SUBSCRIPTION_MINUTES = 45
MAX_SUBSCRIPTIONS_PER_MAILBOX = 1000
MAX_BATCH = 20
BATCH_PARALLEL = 4  # Graph sends Outlook at most 4 requests of an unordered batch at a time
DELTA_PAGE = 100
LIST_PAGE = 10  # Graph's default page size for events and calendarView
PLACES_PAGE = 100  # place-list.md: "By default, this operation returns 100 places per page."
PLACES_MAX_TOP = 1000  # docs silent; issues report $top=999, 1000 and 10000 accepted
MAX_WINDOW_DAYS = 1825  # calendarView: "Maximum number of days: 1825" (docs-contrib issue #6321)
# Directory $filter operators that need ConsistencyLevel: eventual + $count=true
# (concepts/aad-advanced-queries.md; concepts/filter-query-parameter.md), and ones Graph
# does not support on users at all (includes/filter-directory-objects.md lists none of them).
ADVANCED_OPERATORS = {"ne": "ne", "not": "not", "endswith": "endsWith", "count": "$count"}
UNSUPPORTED_USER_OPERATORS = {"gt", "lt", "contains"}
DELTA_REFUSED_OPTIONS = ("$select", "$expand", "$filter", "$orderby", "$search")  # event-delta.md
EXPIRED_DELTA_MESSAGES = {  # by lower-case code
    # concepts/errors.md, "Code property"
    "syncstatenotfound": "The sync state generation is not found. The delta token is expired and data must be "
    "synchronized again.",
    "resyncrequired": "The delta token is no longer valid, and the app must reset the sync state.",
    # Not in the docs (seen from Exchange by client libraries): wording is the emulator's.
    "syncstateinvalid": "The sync state is invalid. The delta token can't be used and data must be synchronized again.",
}
JSON_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"


@dataclass
class Call:
    method: str
    path: str  # below /v1.0, e.g. /users/{id}/events
    query: dict[str, str]
    headers: CIMultiDict[str]
    body: bytes
    tenant: Tenant
    app_id: str
    base: str  # http://host:port/v1.0
    pattern: str = ""
    mailbox: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from None

    def prefer(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for header in self.headers.getall("Prefer", []):
            for part in header.split(","):
                key, _, value = part.strip().partition("=")
                if key:
                    out[key.strip().lower()] = value.strip().strip('"')
        return out

    def view(self) -> View:
        prefer = self.prefer()
        tz = prefer.get("outlook.timezone") or "UTC"
        try:
            zone(tz)
        except UnknownTimeZone:
            raise GraphError(
                400,
                "TimeZoneNotSupportedException",
                f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{tz}'.",
            ) from None
        try:
            expand = parse_expand_extended(self.query.get("$expand"))
        except ODataError as exc:
            raise GraphError(400, "BadRequest", str(exc)) from None
        return View(
            tz=tz,
            immutable=prefer.get("idtype", "").lower() == "immutableid",
            text_body=prefer.get("outlook.body-content-type", "").lower() == "text",
            expand=expand,
        )

    def page_size(self, default: int, maximum: int = 1000) -> int:
        value = self.query.get("$top") or self.prefer().get("odata.maxpagesize")
        try:
            return max(1, min(int(value), maximum)) if value else default
        except ValueError:
            raise GraphError(400, "BadRequest", f"Invalid page size '{value}'.") from None


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Awaitable[Reply]]


def _error_body(code: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": new_guid(),
                "client-request-id": new_guid(),
            },
        }
    }


class Throttle:
    """Outlook's limits per app per mailbox: concurrent requests and a request budget."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.inflight: Counter[tuple[str, str]] = Counter()
        self.windows: dict[tuple[str, str], tuple[float, int]] = {}

    def reset(self) -> None:
        self.inflight.clear()
        self.windows.clear()

    def enter(self, key: tuple[str, str]) -> GraphError | None:
        faults = self.world.faults
        t = time.monotonic()
        start, count = self.windows.get(key, (t, 0))
        if t - start >= faults.throttle_window_s:
            start, count = t, 0
        self.windows[key] = (start, count + 1)  # Graph keeps counting while it throttles
        if count >= faults.throttle_requests:
            wait = max(1, math.ceil(start + faults.throttle_window_s - t))
            return GraphError(
                429,
                "ApplicationThrottled",
                "Application is over its MailboxRequests limit.",
                {"Retry-After": str(wait)},
            )
        if self.inflight[key] >= faults.throttle_concurrency:
            return GraphError(
                429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", {"Retry-After": "1"}
            )
        self.inflight[key] += 1
        return None

    def exit(self, key: tuple[str, str]) -> None:
        self.inflight[key] -= 1


class Emulator:
    def __init__(self) -> None:
        self.world = World()
        self.notifier = Notifier(self.world)
        self.throttle = Throttle(self.world)
        self.requests: Counter[tuple[str, str, str | None]] = Counter()
        self.statuses: Counter[int] = Counter()  # answers by HTTP status (429s, 503s…)
        self.routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        self._register()

    # -- routing ---------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(
            r"\{(\w+)\}",
            r"(?P<\1>[^/]+)",
            pattern.replace("$", r"\$").replace("(", r"\(").replace(")", r"\)").replace(".", r"\."),
        )
        self.routes.append((method, re.compile(regex + "/?", re.IGNORECASE), pattern, handler))

    def _register(self) -> None:
        r = self.route
        r("GET", "/users", self.list_users)
        r("GET", "/users/{user}", self.get_user)
        r("GET", "/users/{user}/mailboxSettings", self.mailbox_settings)
        r("GET", "/users/{user}/mailboxSettings/userPurpose", self.user_purpose)
        r("POST", "/users/{user}/calendar/getSchedule", self.get_schedule)  # schedule.py
        for prefix in ("/users/{user}/events", "/users/{user}/calendar/events"):
            r("GET", prefix, self.list_events)
            r("POST", prefix, self.create_event)
            r("GET", prefix + "/{event}", self.get_event)
            r("GET", prefix + "/{event}/instances", self.list_instances)
            r("PATCH", prefix + "/{event}", self.update_event)
            r("DELETE", prefix + "/{event}", self.delete_event)
            for action in ("cancel", "accept", "decline", "tentativelyAccept"):
                r("POST", prefix + "/{event}/" + action, self.event_action)
        for prefix in ("/users/{user}/calendarView", "/users/{user}/calendar/calendarView"):
            r("GET", prefix + "/delta()", self.delta)
            r("GET", prefix + "/delta", self.delta)
            r("GET", prefix, self.calendar_view)
        for cast in ("microsoft.graph", "graph"):  # OData lets the namespace be its alias
            r("GET", f"/places/{cast}.room", self.list_rooms)
            r("GET", f"/places/{cast}.roomlist", self.list_room_lists)
            r("GET", f"/places/{{list}}/{cast}.roomlist/rooms", self.rooms_in_list)
        from devtools.graph_emulator.todo_api import TodoApi  # imports this module: here, not at the top

        for method, pattern, handler in TodoApi(self).routes():  # /users/{user}/todo/lists/...
            r(method, pattern, handler)
        r("GET", "/subscriptions", self.list_subscriptions)
        r("POST", "/subscriptions", self.create_subscription)
        r("GET", "/subscriptions/{sub}", self.get_subscription)
        r("PATCH", "/subscriptions/{sub}", self.renew_subscription)
        r("DELETE", "/subscriptions/{sub}", self.delete_subscription)
        r("POST", "/subscriptions/{sub}/reauthorize", self.reauthorize_subscription)
        r("POST", "/$batch", self.batch)

    def resolve(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None:
        allowed = False
        for m, regex, pattern, handler in self.routes:
            match = regex.fullmatch(path)
            if match:
                if m == method:
                    return pattern, handler, {k: unquote(v) for k, v in match.groupdict().items()}
                allowed = True
        if allowed:
            raise GraphError(405, "Request_BadRequest", f"The request method '{method}' is not allowed.")
        return None

    # -- the request pipeline (also used for $batch items) ---------------------------------
    async def handle(self, call: Call) -> Reply:
        try:
            if re.match(r"/me(/|$)", call.path, re.IGNORECASE):
                raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
            found = self.resolve(call.method, call.path)
            if found is None:
                raise GraphError(400, "BadRequest", f"Resource not found for the segment '{call.path.strip('/')}'.")
            call.pattern, handler, call.params = found
            if "user" in call.params:
                user = call.tenant.find_user(call.params["user"])
                call.mailbox = user.id if user else call.params["user"]
            self.requests[(call.method, _pattern_name(call.pattern), call.mailbox)] += 1
            rule = self._take_fault(call)
            if rule is not None and not rule.get("afterApply"):
                raise _fault_error(rule)
            if call.method in ("POST", "PATCH") and call.body:
                _conform_request(call)
            if call.mailbox is None or call.pattern == "/$batch":
                reply = await self._run(handler, call)
            else:
                key = (call.app_id, call.mailbox)
                refused = self.throttle.enter(key)
                if refused is not None:
                    raise refused
                try:
                    reply = await self._run(handler, call)
                finally:
                    self.throttle.exit(key)
            if reply.status < 300:
                _conform_reply(call, reply)
            if rule is not None:
                raise _fault_error(rule)  # applied, but the answer is lost
        except GraphError as err:
            reply = Reply(err.status, _error_body(err.code, err.message), err.headers)
        self.statuses[reply.status] += 1
        return reply

    async def _run(self, handler: Handler, call: Call) -> Reply:
        faults = self.world.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.error_rate and random.random() < faults.error_rate:
            raise GraphError(503, "ServiceUnavailable", "The service is temporarily unavailable.", {"Retry-After": "1"})
        return await handler(call)

    def _take_fault(self, call: Call) -> dict[str, Any] | None:
        for rule in self.world.faults.fail_next:
            if rule.get("method", call.method).upper() != call.method:
                continue
            if rule.get("pattern") and rule["pattern"].lower() != _pattern_name(call.pattern).lower():
                continue
            if rule.get("mailbox") and rule["mailbox"] != call.mailbox:
                continue
            rule["count"] = int(rule.get("count", 1)) - 1
            if rule["count"] <= 0:
                self.world.faults.fail_next.remove(rule)
            return rule
        return None

    # -- helpers -----------------------------------------------------------------------------
    def _user(self, call: Call, *, mailbox: bool = True) -> User:
        user = call.tenant.find_user(call.params["user"])
        if user is None:
            if mailbox:
                raise GraphError(404, "ErrorInvalidUser", f"The requested user '{call.params['user']}' is invalid.")
            raise GraphError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{call.params['user']}' does not exist or one of its queried "
                "reference-property objects are not present.",
            )
        if mailbox and not user.has_mailbox:
            raise GraphError(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            )
        return user

    def _event(self, call: Call, user: User) -> Event:
        """The event an id names: stored, or an occurrence of a series (generated)."""
        event = series.lookup(self.world, user.id, call.params["event"])
        if event is None:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return event

    def _context(self, call: Call, fragment: str) -> str:
        return f"{call.base}/$metadata#{fragment}"

    def _page(self, call: Call, items: list[Any], context: str, default: int, maximum: int = 1000) -> Reply:
        size = call.page_size(default, maximum)
        skip = int(call.query.get("$skip", 0) or 0)
        chunk = items[skip : skip + size]
        body: dict[str, Any] = {"@odata.context": context, "value": chunk}
        if skip + size < len(items):
            query = {k: v for k, v in call.query.items() if k != "$skip"}
            query["$skip"] = str(skip + size)
            body["@odata.nextLink"] = f"{call.base}{call.path}?{urlencode(query)}"
        return Reply(200, body)

    def _notify(self, event: Event, change_type: str) -> None:
        self.notifier.event_changed(event, change_type)

    # -- users -------------------------------------------------------------------------------
    @staticmethod
    def _user_view(user: User, select: str | None) -> dict[str, Any]:
        """The default properties, or exactly the $select-ed ones (user-get.md, examples 1 and 3)."""
        full = user.to_json()
        if not select:
            return {k: full[k] for k in USER_DEFAULT_PROPERTIES}
        wanted = {s.strip().lower() for s in select.split(",") if s.strip()}
        return {k: v for k, v in full.items() if k.lower() in wanted}

    @staticmethod
    def _advanced(call: Call) -> bool:
        """ConsistencyLevel: eventual and $count=true: the "advanced query parameters"."""
        eventual = call.headers.get("ConsistencyLevel", "").strip().lower() == "eventual"
        return eventual and call.query.get("$count", "").lower() == "true"

    async def list_users(self, call: Call) -> Reply:
        eventual = call.headers.get("ConsistencyLevel", "").strip().lower() == "eventual"
        advanced = self._advanced(call)
        users = list(call.tenant.users.values())
        if call.query.get("$search") is not None:
            if not eventual:
                raise GraphError(
                    400,
                    "Request_UnsupportedQuery",
                    "Request with $search query parameter only works through MSGraph with a special request "
                    "header: 'ConsistencyLevel: eventual'",
                )
            users = [u for u in users if _search_matches(u.to_json(), call.query["$search"])]
        if call.query.get("$filter"):
            try:
                pred = parse_filter(call.query["$filter"])
            except ODataError as exc:
                raise GraphError(400, "Request_UnsupportedQuery", str(exc)) from None
            unsupported = sorted(pred.features & UNSUPPORTED_USER_OPERATORS)
            if unsupported:
                raise GraphError(
                    400,
                    "Request_UnsupportedQuery",
                    f"Unsupported or invalid query filter clause specified for operator '{unsupported[0]}' of "
                    "resource 'User'.",
                )
            needed = [name for key, name in ADVANCED_OPERATORS.items() if key in pred.features]
            needed += sorted(f[len("lambda:") :] for f in pred.features if f.startswith("lambda:"))
            if call.query.get("$orderby"):
                needed.append("$orderby with $filter")
            if needed and not advanced:
                raise GraphError(
                    400,
                    "Request_UnsupportedQuery",
                    f"Operator '{needed[0]}' is not supported because the required parameters might be missing. "
                    "Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to "
                    "https://aka.ms/graph-docs/advanced-queries for more information",
                )
            users = [u for u in users if pred(u.to_json())]
        select = call.query.get("$select")
        values = [self._user_view(u, select) for u in users]
        size = call.page_size(100, 999)
        offset = int(base64.urlsafe_b64decode(call.query["$skiptoken"]).decode()) if call.query.get("$skiptoken") else 0
        context = self._context(call, f"users({select})" if select else "users")
        body: dict[str, Any] = {"@odata.context": context}
        if eventual and call.query.get("$count", "").lower() == "true" and offset == 0:
            body["@odata.count"] = len(values)  # paging.md: only on the first page
        body["value"] = values[offset : offset + size]
        if offset + size < len(values):
            query = {k: v for k, v in call.query.items() if k != "$skiptoken"}
            query["$skiptoken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
            body["@odata.nextLink"] = f"{call.base}/users?{urlencode(query)}"
        return Reply(200, body)

    async def get_user(self, call: Call) -> Reply:
        user = self._user(call, mailbox=False)
        select = call.query.get("$select")
        context = self._context(call, f"users({select})/$entity" if select else "users/$entity")
        return Reply(200, {"@odata.context": context, **self._user_view(user, select)})

    async def mailbox_settings(self, call: Call) -> Reply:
        user = self._user(call)
        return Reply(
            200,
            {
                "@odata.context": self._context(call, f"users('{user.id}')/mailboxSettings"),
                "archiveFolder": "",
                "timeZone": user.time_zone,
                "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
                "dateFormat": "yyyy-MM-dd",
                "timeFormat": "HH:mm",
                "userPurpose": user.user_purpose,
                "automaticRepliesSetting": {
                    "status": "disabled",
                    "externalAudience": "all",
                    "internalReplyMessage": "",
                    "externalReplyMessage": "",
                },
                "language": {"locale": "en-US", "displayName": "English (United States)"},
                "workingHours": schedule.working_hours(user),
            },
        )

    async def get_schedule(self, call: Call) -> Reply:
        """calendar-getschedule.md; see schedule.py. The caller's mailbox must exist."""
        self._user(call)
        value = schedule.answer(self.world, call.tenant, call.json(), call.view().tz)
        context = self._context(call, "Collection(microsoft.graph.scheduleInformation)")
        return Reply(200, {"@odata.context": context, "value": value})

    async def user_purpose(self, call: Call) -> Reply:
        user = self._user(call)
        return Reply(
            200,
            {
                "@odata.context": self._context(call, f"users('{user.id}')/mailboxSettings/userPurpose"),
                "value": user.user_purpose,
            },
        )

    # -- events ------------------------------------------------------------------------------
    async def list_events(self, call: Call) -> Reply:
        user = self._user(call)
        view = call.view()
        # resources/event.md, "List events": "single instance meetings and series masters".
        items = sorted(
            (e for e in self.world.mailbox(user.id).values() if e.kind in ("singleInstance", "seriesMaster")),
            key=lambda e: (e.start, e.rest_id),
        )
        rendered = [(e, render(self.world, e, view)) for e in items]
        if call.query.get("$filter"):
            try:
                pred = parse_filter(call.query["$filter"])
            except ODataError as exc:
                raise GraphError(400, "BadRequest", str(exc)) from None
            rendered = [(e, r) for e, r in rendered if pred(filter_view(e, r))]
        values = [apply_select(r, call.query.get("$select")) for _, r in rendered]
        return self._page(call, values, self._context(call, f"users('{user.id}')/events"), LIST_PAGE)

    async def get_event(self, call: Call) -> Reply:
        user = self._user(call)
        event = self._event(call, user)
        rendered = render(self.world, event, call.view())
        select = call.query.get("$select")
        if event.kind == "seriesMaster" and select:
            # resources/event.md: "Returned only on $select in a Get operation which specifies
            # the id of a series master event" (apply_select keeps it only if selected).
            rendered["cancelledOccurrences"] = series.cancelled_occurrences(event, rendered["id"])
        body = apply_select(rendered, select)
        return Reply(200, {"@odata.context": self._context(call, f"users('{user.id}')/events/$entity"), **body})

    async def create_event(self, call: Call) -> Reply:
        user = self._user(call)
        body = call.json()
        view = call.view()
        if not isinstance(body, dict):
            raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
        txn = body.get("transactionId")
        if txn:
            for existing in self.world.mailbox(user.id).values():
                if existing.transaction_id == txn:
                    # A retried create with the same transactionId returns the event already made.
                    return Reply(
                        201,
                        {
                            "@odata.context": self._context(call, f"users('{user.id}')/events/$entity"),
                            **render(self.world, existing, view),
                        },
                    )
        event = ev_ops.new_event(user, body)
        ev_ops.apply_body(self.world, event, body, creating=True)
        self.world.add_event(event)
        self._notify(event, "created")
        self._notify(event, "updated")  # Graph is seen sending both for one create
        if event.attendees:
            ev_ops.sync_meeting(self.world, event, self._notify, [])
        return Reply(
            201,
            {
                "@odata.context": self._context(call, f"users('{user.id}')/events/$entity"),
                **render(self.world, event, view),
            },
        )

    async def update_event(self, call: Call) -> Reply:
        user = self._user(call)
        event = self._event(call, user)
        if event.kind in ("occurrence", "exception"):
            self._update_instance(event, call.json())
        else:
            before = [a.address for a in event.attendees]
            timing = (event.recurrence, event.start, event.end, event.start_tz, event.is_all_day)
            changed = ev_ops.apply_body(self.world, event, call.json(), creating=False)
            if changed:
                # A series whose pattern or time changed loses its exceptions and deletions
                # (docs silent; as Outlook does, and the less forgiving choice).
                retimed = timing[0] is not None and timing != (
                    event.recurrence,
                    event.start,
                    event.end,
                    event.start_tz,
                    event.is_all_day,
                )
                if event.kind == "seriesMaster":
                    event.series_key = new_change_key()  # every occurrence changes with it
                    if retimed:
                        series.drop_instances(self.world, event, self._notify)
                self.world.touch(event)
                self._notify(event, "updated")
                if event.is_organizer and (event.attendees or before):
                    ev_ops.sync_meeting(self.world, event, self._notify, before, retimed=retimed)
        return Reply(
            200,
            {
                "@odata.context": self._context(call, f"users('{user.id}')/events/$entity"),
                **render(self.world, event, call.view()),
            },
        )

    def _update_instance(self, event: Event, body: Any) -> None:
        """PATCH of one occurrence: it becomes an exception (resources/event.md, `type`)."""
        master = series.master_of(self.world, event)
        assert master is not None
        changed = ev_ops.apply_body(self.world, event, body, creating=False)
        if not changed:
            return
        if event.kind == "occurrence":
            series.make_exception(self.world, event)
        else:
            self.world.touch(event)
        self._notify(event, "updated")
        self._notify(master, "updated")
        if event.is_organizer and master.attendees:
            ev_ops.sync_occurrence(self.world, master, event, self._notify, cancelled=False)

    def _delete(self, event: Event) -> None:
        """event-delete.md: a single event, a whole series (its master), or one occurrence."""
        if event.kind in ("occurrence", "exception"):
            master = series.master_of(self.world, event)
            assert master is not None
            series.cancel_occurrence(self.world, event)
            self._notify(event, "deleted")
            self._notify(master, "updated")
            if event.is_organizer and master.attendees:
                ev_ops.sync_occurrence(self.world, master, event, self._notify, cancelled=True)
            return
        if event.kind == "seriesMaster":
            series.remove_series(self.world, event, self._notify)
        else:
            self.world.remove_event(event)
        self._notify(event, "deleted")
        if event.is_organizer and event.attendees:
            ev_ops.cancel_meeting(self.world, event, self._notify)

    async def delete_event(self, call: Call) -> Reply:
        user = self._user(call)
        self._delete(self._event(call, user))
        return Reply(204)

    async def event_action(self, call: Call) -> Reply:
        user = self._user(call)
        event = self._event(call, user)
        action = call.path.rstrip("/").rsplit("/", 1)[1]
        call.json()  # the body (comment, sendResponse) must at least be JSON
        if action.lower() == "cancel":
            if not event.is_organizer:
                raise GraphError(400, "ErrorInvalidRequest", "You need to be an organizer to cancel a meeting.")
            self._delete(event)  # the organizer's item moves to Deleted Items; attendees' are cancelled
        else:
            canonical = {"accept": "accept", "decline": "decline", "tentativelyaccept": "tentativelyAccept"}
            ev_ops.respond(self.world, event, canonical[action.lower()], self._notify)
        return Reply(202)

    def _window(self, call: Call) -> tuple[datetime, datetime]:
        try:
            start = call.query["startDateTime"]
            end = call.query["endDateTime"]
        except KeyError:
            raise GraphError(
                400,
                "ErrorInvalidParameter",
                "This request requires a time window specified by the query string parameters "
                "StartDateTime and EndDateTime.",
            ) from None
        try:
            s = datetime.fromisoformat(start.replace("Z", "+00:00"))
            e = datetime.fromisoformat(end.replace("Z", "+00:00"))
        except ValueError:
            raise GraphError(400, "ErrorInvalidParameter", "The time window parameters are not valid dates.") from None
        s = s if s.tzinfo else s.replace(tzinfo=UTC)
        e = e if e.tzinfo else e.replace(tzinfo=UTC)
        if e - s > timedelta(days=MAX_WINDOW_DAYS):
            raise GraphError(
                400,
                "ErrorInvalidRequest",
                "Your request can't be completed. The range between the start and end dates is greater than the "
                f"allowed range. Maximum number of days: {MAX_WINDOW_DAYS}",
            )
        return s.astimezone(UTC), e.astimezone(UTC)

    async def calendar_view(self, call: Call) -> Reply:
        user = self._user(call)
        start, end = self._window(call)
        view = call.view()
        items = series.view(self.world, user.id, start, end)  # occurrences and exceptions, never masters
        values = [apply_select(render(self.world, e, view), call.query.get("$select")) for e in items]
        return self._page(call, values, self._context(call, f"users('{user.id}')/calendarView"), LIST_PAGE)

    async def list_instances(self, call: Call) -> Reply:
        """event-list-instances.md: startDateTime and endDateTime are required; a seriesMaster
        answers its occurrences and exceptions in the window."""
        user = self._user(call)
        event = self._event(call, user)
        start, end = self._window(call)
        if event.kind != "seriesMaster":  # docs silent for other types: refused
            raise GraphError(400, "ErrorInvalidRequest", "The event is not the master of a recurring series.")
        view = call.view()
        items = series.instances(self.world, event, start, end)
        values = [apply_select(render(self.world, e, view), call.query.get("$select")) for e in items]
        eid = event.immutable_id if view.immutable else event.rest_id
        return self._page(call, values, self._context(call, f"users('{user.id}')/events('{eid}')/instances"), LIST_PAGE)

    # -- delta -------------------------------------------------------------------------------
    def _delta_state(self, token: str, user: User) -> DeltaState:
        state = self.world.delta.get(token)
        if state is None or state.mailbox_id != user.id:
            raise GraphError(400, "BadRequest", "The delta token is not valid.")
        expired = self.world.delta_expiry(user.id, state.issued)
        if expired is not None:
            status, code = expired
            # delta-query-overview.md, "Synchronization reset": a 410 carries a Location header
            # with the initial request's URL. Nothing is documented for a 400; none is sent.
            headers = {"Location": state.initial_url} if status == 410 else {}
            raise GraphError(status, code, EXPIRED_DELTA_MESSAGES[code.lower()], headers)
        return state

    async def delta(self, call: Call) -> Reply:
        user = self._user(call)
        refused = [o for o in DELTA_REFUSED_OPTIONS if o in call.query]
        if refused:
            raise GraphError(
                400, "ErrorInvalidUrlQuery", f"The query parameter '{refused[0]}' is not supported with delta."
            )
        view = call.view()
        page = call.page_size(DELTA_PAGE, 1000) if call.prefer().get("odata.maxpagesize") else DELTA_PAGE
        if "$skiptoken" in call.query:
            state = self._delta_state(call.query["$skiptoken"], user)
        elif "$deltatoken" in call.query:
            prev = self._delta_state(call.query["$deltatoken"], user)
            state = self._next_round(user, prev)
        else:
            start, end = self._window(call)
            if end <= start:
                raise GraphError(400, "ErrorInvalidParameter", "The end of the time window must follow its start.")
            base_query = urlencode(
                {"startDateTime": call.query["startDateTime"], "endDateTime": call.query["endDateTime"]}
            )
            state = DeltaState(
                mailbox_id=user.id,
                tenant_id=call.tenant.id,
                start=start,
                end=end,
                seen={},
                seq=0,
                initial_url=f"{call.base}/users/{user.id}/calendarView/delta?{base_query}",
                issued=self.world.expiry_seq,
            )
            state = self._next_round(user, state, initial=True)
        values: list[dict[str, Any]] = []
        opening = state.first_page_empty
        if opening:
            state.first_page_empty = False  # Graph may open a round with an empty page and a nextLink
        else:
            while state.pending and len(values) < page:
                values.append(self._delta_item(state, state.pending.pop(0), view))
        body: dict[str, Any] = {"@odata.context": self._context(call, "Collection(event)"), "value": values}
        link = f"{call.base}/users/{user.id}/calendarView/delta"
        if state.pending or opening:
            token = self._store_state(state)
            body["@odata.nextLink"] = f"{link}?$skiptoken={token}"
        else:
            done = DeltaState(
                mailbox_id=state.mailbox_id,
                tenant_id=state.tenant_id,
                start=state.start,
                end=state.end,
                seen=dict(state.next_seen),
                seq=state.next_seq,
                initial_url=state.initial_url,
                issued=state.issued,
            )
            body["@odata.deltaLink"] = f"{link}?$deltatoken={self._store_state(done)}"
        headers = {"Preference-Applied": f"odata.maxpagesize={page}"} if call.prefer().get("odata.maxpagesize") else {}
        return Reply(200, body, headers)

    def _store_state(self, state: DeltaState) -> str:
        token = base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode().rstrip("=")
        # Each response gets its own token: replaying an older link works, as in Graph.
        self.world.delta[token] = DeltaState(**{**state.__dict__, "pending": list(state.pending)})
        return token

    def _next_round(self, user: User, prev: DeltaState, *, initial: bool = False) -> DeltaState:
        """What changed in the window since `prev` (everything, on an initial round)."""
        mailbox = self.world.mailbox(user.id)
        ordered: list[tuple[datetime, str, dict[str, Any]]] = []
        next_seen: dict[str, str] = {}
        # The window's content: single events, occurrences and exceptions (never a master).
        for event in series.view(self.world, user.id, prev.start, prev.end):
            next_seen[event.rest_id] = event.change_key
            if prev.seen.get(event.rest_id) != event.change_key:
                ordered.append((event.start, event.rest_id, {"id": event.rest_id}))
        if self.world.faults.delta_series_masters:
            for event in mailbox.values():
                if event.kind == "seriesMaster" and series.instances(self.world, event, prev.start, prev.end):
                    next_seen[event.rest_id] = event.change_key
                    if prev.seen.get(event.rest_id) != event.change_key:
                        ordered.append((event.start, event.rest_id, {"id": event.rest_id, "master": True}))
        for event in mailbox.values():
            if event.kind == "seriesMaster" or event.rest_id in next_seen:
                continue
            if event.rest_id in prev.seen or (not initial and event.seq > prev.seq):
                # Left the window, or changed outside it: Graph reports both as removed.
                item = {"id": event.rest_id, "removed": True, "immutable": event.immutable_id}
                ordered.append((event.start, event.rest_id, item))
        pending = [item for _s, _r, item in sorted(ordered, key=lambda t: (t[0], t[1]))]
        if not initial:
            for rest_id, (seq, immutable, _s, _e) in self.world.tombstones.get(user.id, {}).items():
                if rest_id not in next_seen and (rest_id in prev.seen or seq > prev.seq):
                    pending.append({"id": rest_id, "removed": True, "immutable": immutable})
            # Anything else the client has that is no longer in the window (an occurrence of a
            # series that was re-timed or deleted, an event that became a series master).
            for rest_id in prev.seen:
                if rest_id not in next_seen:
                    pending.append({"id": rest_id, "removed": True, "immutable": immutable_of(rest_id)})
        if not self.world.faults.delta_occurrence_removals:
            pending = [i for i in pending if not (i.get("removed") and self._cancelled_occurrence(user.id, i["id"]))]
        seen_ids = set()
        unique = []
        for item in pending:
            if item["id"] not in seen_ids:
                seen_ids.add(item["id"])
                unique.append(item)
        if self.world.faults.delta_repeats:
            # delta-query-overview.md: "a single entity will be contained multiple times in the
            # response"; each item comes again at the end of the round (rendered then: latest wins).
            unique += [dict(item) for item in unique]
        return DeltaState(
            mailbox_id=user.id,
            tenant_id=prev.tenant_id,
            start=prev.start,
            end=prev.end,
            seen=prev.seen,
            seq=prev.seq,
            initial_url=prev.initial_url,
            pending=unique,
            next_seen=next_seen,
            next_seq=self.world.mailbox_seq.get(user.id, 0),
            first_page_empty=initial,
            issued=prev.issued,
        )

    def _cancelled_occurrence(self, mailbox_id: str, rest_id: str) -> bool:
        """A deleted occurrence of a series that still exists."""
        parsed = parse_occurrence_id(rest_id)
        master = self.world.find_event(mailbox_id, parsed[0]) if parsed else None
        return parsed is not None and master is not None and parsed[1] in master.cancelled

    def _delta_item(self, state: DeltaState, item: dict[str, Any], view: View) -> dict[str, Any]:
        event = series.lookup(self.world, state.mailbox_id, item["id"])
        removed = item.get("removed") or event is None or (event.kind == "seriesMaster" and not item.get("master"))
        if removed or event is None or (not item.get("master") and not in_window(event, state.start, state.end)):
            immutable = item.get("immutable") or (event.immutable_id if event else immutable_of(item["id"]))
            return {
                "@odata.type": "#microsoft.graph.event",
                "id": immutable if view.immutable else item["id"],
                "@removed": {"reason": "deleted"},
            }
        state.next_seen[event.rest_id] = event.change_key  # the client now has this version
        full = render(self.world, event, View(tz=view.tz, immutable=view.immutable, text_body=view.text_body))
        if event.kind == "occurrence":
            # Graph's delta answers an occurrence with these properties only (docs-contrib issues
            # #34 and #5602; event-delta.md promises "the same properties" as calendarView).
            keep = ("@odata.etag", "id", "seriesMasterId", "type", "start", "end")
            return {"@odata.type": "#microsoft.graph.event", **{k: full[k] for k in keep}}
        # Every documented delta item names its type (delta-query-events.md; docs-contrib #34).
        return {"@odata.type": "#microsoft.graph.event", **full}

    # -- places ------------------------------------------------------------------------------
    def _room_json(self, room: User) -> dict[str, Any]:
        place = room.place
        return {
            "id": room.place_id,
            "emailAddress": room.mail,
            "displayName": room.display_name,
            "address": {"street": "", "city": "", "state": "", "countryOrRegion": "", "postalCode": ""},
            "geoCoordinates": None,
            "phone": None,
            "nickname": room.display_name,
            "label": None,
            "capacity": place.get("capacity", 10),
            "building": place.get("building"),
            "floorLabel": place.get("floorLabel"),
            "floorNumber": place.get("floorNumber"),
            "isWheelChairAccessible": False,
            "bookingType": place.get("bookingType", "standard"),
            "tags": place.get("tags", []),
            "audioDeviceName": None,
            "videoDeviceName": None,
            "displayDeviceName": None,
        }

    def _places(self, call: Call, items: list[dict[str, Any]], context: str) -> Reply:
        """place-list.md: 100 per page by default, $top, $skip, $filter, $select, $count=true.
        Graph never sends @odata.nextLink here (docs-contrib issues #341, #6252, #7196): a
        client pages with $top/$skip itself and stops at a short page."""
        try:
            top = int(call.query.get("$top", PLACES_PAGE))
            skip = int(call.query.get("$skip", 0))
        except ValueError:
            raise GraphError(400, "BadRequest", "$top and $skip must be integers.") from None
        if not 1 <= top <= PLACES_MAX_TOP or skip < 0:
            raise GraphError(400, "BadRequest", f"$top must be between 1 and {PLACES_MAX_TOP} and $skip at least 0.")
        if call.query.get("$filter"):
            try:
                pred = parse_filter(call.query["$filter"])
            except ODataError as exc:
                raise GraphError(400, "BadRequest", str(exc)) from None
            items = [i for i in items if pred(i)]
        items = [apply_select(i, call.query.get("$select"), keep=()) for i in items]
        body: dict[str, Any] = {"@odata.context": context}
        if call.query.get("$count", "").lower() == "true":
            body["@odata.count"] = len(items)
        body["value"] = items[skip : skip + top]
        return Reply(200, body)

    async def list_rooms(self, call: Call) -> Reply:
        rooms = [self._room_json(u) for u in call.tenant.users.values() if u.user_purpose == "room"]
        return self._places(call, rooms, self._context(call, "places/microsoft.graph.room"))

    async def list_room_lists(self, call: Call) -> Reply:
        lists = [
            {
                "id": rl.id,
                "displayName": rl.display_name,
                "emailAddress": rl.email,
                "phone": None,
                "geoCoordinates": None,
                "address": None,
            }
            for rl in call.tenant.room_lists
        ]
        return self._places(call, lists, self._context(call, "places/microsoft.graph.roomlist"))

    async def rooms_in_list(self, call: Call) -> Reply:
        # place-list.md: "you must specify the room list by its emailAddress property, not by its id."
        wanted = call.params["list"].lower()
        room_list = next((rl for rl in call.tenant.room_lists if rl.email.lower() == wanted), None)
        if room_list is None:
            raise GraphError(404, "ErrorItemNotFound", f"The room list '{call.params['list']}' was not found.")
        rooms = [
            self._room_json(call.tenant.users[i])
            for i in room_list.rooms
            if i in call.tenant.users and call.tenant.users[i].user_purpose == "room"
        ]
        return self._places(
            call, rooms, self._context(call, f"places('{room_list.email}')/microsoft.graph.roomlist/rooms")
        )

    # -- subscriptions ---------------------------------------------------------------------
    def _purge_expired(self) -> None:
        for sub_id, sub in list(self.world.subscriptions.items()):
            if sub.expiration <= now():
                del self.world.subscriptions[sub_id]

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
        self._purge_expired()
        sub = self.world.subscriptions.get(call.params["sub"])
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
        mine = [s for s in self.world.subscriptions.values() if s.mailbox_id == user.id]
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
            await self.notifier.validate(url)
            if lifecycle and lifecycle != url:
                await self.notifier.validate(str(lifecycle))
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
        self.world.subscriptions[sub.id] = sub
        return Reply(
            201,
            {"@odata.context": self._context(call, "subscriptions/$entity"), **self._sub_json(call, sub, created=True)},
        )

    async def list_subscriptions(self, call: Call) -> Reply:
        self._purge_expired()
        subs = [
            self._sub_json(call, s)
            for s in self.world.subscriptions.values()
            if s.tenant_id == call.tenant.id and s.app_id == call.app_id
        ]
        size = 100
        offset = int(base64.urlsafe_b64decode(call.query["$skiptoken"]).decode()) if call.query.get("$skiptoken") else 0
        body: dict[str, Any] = {
            "@odata.context": self._context(call, "subscriptions"),
            "value": subs[offset : offset + size],
        }
        if offset + size < len(subs):
            token = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
            body["@odata.nextLink"] = f"{call.base}/subscriptions?$skiptoken={token}"
        return Reply(200, body)

    async def get_subscription(self, call: Call) -> Reply:
        sub = self._own_subscription(call)
        return Reply(200, {"@odata.context": self._context(call, "subscriptions/$entity"), **self._sub_json(call, sub)})

    async def renew_subscription(self, call: Call) -> Reply:
        sub = self._own_subscription(call)
        body = call.json()
        if "lifecycleNotificationUrl" in body and body["lifecycleNotificationUrl"] != sub.lifecycle_url:
            raise GraphError(
                400, "InvalidRequest", "lifecycleNotificationUrl can't be changed; recreate the subscription."
            )
        sub.expiration = self._expiration(body.get("expirationDateTime"))
        return Reply(200, {"@odata.context": self._context(call, "subscriptions/$entity"), **self._sub_json(call, sub)})

    async def delete_subscription(self, call: Call) -> Reply:
        sub = self._own_subscription(call)
        del self.world.subscriptions[sub.id]
        return Reply(204)

    async def reauthorize_subscription(self, call: Call) -> Reply:
        self._own_subscription(call)
        return Reply(204)

    # -- $batch --------------------------------------------------------------------------------
    async def batch(self, call: Call) -> Reply:
        body = call.json()
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise GraphError(400, "BadRequest", "Invalid batch payload format.")
        if len(requests) > MAX_BATCH:
            raise GraphError(400, "BadRequest", f"Number of batch requests exceeds the maximum of {MAX_BATCH}.")
        ids = [str(r.get("id")) for r in requests]
        if len(set(ids)) != len(ids) or any(not i or i == "None" for i in ids):
            raise GraphError(400, "BadRequest", "Batch request ids must be present and unique.")
        ordered = any(r.get("dependsOn") for r in requests)
        results: dict[str, Reply] = {}

        async def run(item: dict[str, Any]) -> None:
            rid = str(item["id"])
            for dep in item.get("dependsOn") or []:
                dep_reply = results.get(str(dep))
                if dep_reply is None or dep_reply.status >= 400:
                    results[rid] = Reply(424, _error_body("FailedDependency", "Dependent request failed."))
                    return
            url = str(item.get("url") or "")
            if url.startswith("http"):
                url = urlsplit(url).path.split("/v1.0", 1)[-1] + (
                    f"?{urlsplit(url).query}" if urlsplit(url).query else ""
                )
            path, _, query = ("/" + url.lstrip("/")).partition("?")
            headers = CIMultiDict(call.headers)
            for k, v in (item.get("headers") or {}).items():
                headers[k] = v
            inner_body = item.get("body")
            if inner_body is not None and not any(k.lower() == "content-type" for k in item.get("headers") or {}):
                results[rid] = Reply(400, _error_body("BadRequest", "Content-Type header is required with a body."))
                return
            inner = Call(
                method=str(item.get("method", "GET")).upper(),
                path=path,
                query=dict(parse_qsl(query)),
                headers=headers,
                body=json.dumps(inner_body).encode() if inner_body is not None else b"",
                tenant=call.tenant,
                app_id=call.app_id,
                base=call.base,
            )
            results[rid] = await self.handle(inner)

        if ordered:
            for item in requests:
                await run(item)
        else:
            gate = asyncio.Semaphore(BATCH_PARALLEL)

            async def gated(item: dict[str, Any]) -> None:
                async with gate:
                    await run(item)

            await asyncio.gather(*(gated(item) for item in requests))
        responses = []
        for rid in ids:
            reply = results[rid]
            entry: dict[str, Any] = {
                "id": rid,
                "status": reply.status,
                "headers": {"Content-Type": "application/json", **reply.headers},
            }
            if reply.body is not None:
                entry["body"] = reply.body
            responses.append(entry)
        return Reply(200, {"responses": responses})


def _pattern_name(pattern: str) -> str:
    """Route pattern as the request log names it: every parameter is {id}."""
    return re.sub(r"\{\w+\}", "{id}", pattern).replace("delta()", "delta").replace("/graph.", "/microsoft.graph.")


def _conform_request(call: Call) -> None:
    """A body the published schema does not allow is refused, as Graph does (an unknown
    property: 400 RequestBodyRead, "The property '…' does not exist on type …"; a wrong type or
    enum value: the same code). devtools/graph_schema."""
    found = wire.request_problems(call.method, call.pattern or "", call.json())
    if found:
        raise GraphError(400, "RequestBodyRead", found[0])


def _conform_reply(call: Call, reply: Reply) -> None:
    """An answer of ours the published schema does not allow is the emulator's bug: a 500 that
    names it, so the test that met it fails."""
    found = wire.response_problems(call.method, call.pattern or "", reply.body)
    if found:
        raise GraphError(500, "EmulatorSchemaViolation", "; ".join(found[:5]))


def _fault_error(rule: dict[str, Any]) -> GraphError:
    status = int(rule.get("status", 503))
    code = rule.get("code") or {429: "TooManyRequests", 503: "ServiceUnavailable", 504: "GatewayTimeout"}.get(
        status, "InternalServerError"
    )
    headers = {"Retry-After": str(rule["retryAfter"])} if "retryAfter" in rule else {}
    return GraphError(status, code, rule.get("message") or "Injected fault.", headers)


def _search_matches(user: dict[str, Any], search: str) -> bool:
    """`$search="property:text"` clauses joined by AND/OR: a word of the property starts with
    the text (concepts/search-query-parameter.md tokenizes directory properties)."""
    clauses = re.findall(r'"([^":]+):([^"]*)"|\b(AND|OR)\b', search)
    result: bool | None = None
    joiner = "OR"
    for prop, text, op in clauses:
        if op:
            joiner = op
            continue
        value = next((v for k, v in user.items() if k.lower() == prop.lower()), None)
        words = re.split(r"[^0-9A-Za-z]+", str(value or "").lower())
        hit = any(w.startswith(text.lower()) for w in words if w) if text else True
        result = hit if result is None else (result and hit if joiner == "AND" else result or hit)
    return bool(result)
