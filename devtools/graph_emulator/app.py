"""The Graph emulator's request pipeline: routes from every area, throttling, scripted faults,
the schema checks (devtools/graph_schema) and `$batch`. The HTTP server is server.py."""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from multidict import CIMultiDict

from devtools.graph_emulator.calendar import series
from devtools.graph_emulator.calendar.delta import DeltaApi
from devtools.graph_emulator.calendar.models import Event
from devtools.graph_emulator.calendar.responses import EventsApi
from devtools.graph_emulator.core.errors import GraphError
from devtools.graph_emulator.core.throttle import Throttle
from devtools.graph_emulator.core.wire import Call, Handler, Reply, error_body
from devtools.graph_emulator.core.world import World
from devtools.graph_emulator.directory.models import User
from devtools.graph_emulator.directory.responses import DirectoryApi
from devtools.graph_emulator.places.responses import PlacesApi
from devtools.graph_emulator.schedule.responses import ScheduleApi
from devtools.graph_emulator.subscriptions.notify import Notifier
from devtools.graph_emulator.subscriptions.responses import SubscriptionsApi
from devtools.graph_emulator.todo.responses import TodoApi
from devtools.graph_schema import wire

MAX_BATCH = 20

BATCH_PARALLEL = 4  # Graph sends Outlook at most 4 requests of an unordered batch at a time


class Emulator:
    """Graph v1.0 for what calsync uses: each area's routes (…/responses.py, calendar/delta.py,
    todo/responses.py) behind one request pipeline — routing, throttling, scripted faults, the
    schema checks — that `$batch` items go through too."""

    def __init__(self) -> None:
        self.world = World()
        self.notifier = Notifier(self.world)
        self.throttle = Throttle(self.world)
        self.requests: Counter[tuple[str, str, str | None]] = Counter()
        self.statuses: Counter[int] = Counter()  # answers by HTTP status (429s, 503s…)
        self.routes: list[tuple[str, re.Pattern[str], str, Handler]] = []
        areas = (DirectoryApi, ScheduleApi, EventsApi, DeltaApi, PlacesApi, TodoApi, SubscriptionsApi)
        for area in areas:
            for method, pattern, handler in area(self).routes():
                self.route(method, pattern, handler)
        self.route("POST", "/$batch", self.batch)

    # -- routing ---------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(
            r"\{(\w+)\}",
            r"(?P<\1>[^/]+)",
            pattern.replace("$", r"\$").replace("(", r"\(").replace(")", r"\)").replace(".", r"\."),
        )
        self.routes.append((method, re.compile(regex + "/?", re.IGNORECASE), pattern, handler))

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
            reply = Reply(err.status, error_body(err.code, err.message), err.headers)
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
    def user(self, call: Call, *, mailbox: bool = True) -> User:
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

    def event(self, call: Call, user: User) -> Event:
        """The event an id names: stored, or an occurrence of a series (generated)."""
        event = series.lookup(self.world, user.id, call.params["event"])
        if event is None:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return event

    def context(self, call: Call, fragment: str) -> str:
        return f"{call.base}/$metadata#{fragment}"

    def page(self, call: Call, items: list[Any], context: str, default: int, maximum: int = 1000) -> Reply:
        size = call.page_size(default, maximum)
        skip = int(call.query.get("$skip", 0) or 0)
        chunk = items[skip : skip + size]
        body: dict[str, Any] = {"@odata.context": context, "value": chunk}
        if skip + size < len(items):
            query = {k: v for k, v in call.query.items() if k != "$skip"}
            query["$skip"] = str(skip + size)
            body["@odata.nextLink"] = f"{call.base}{call.path}?{urlencode(query)}"
        return Reply(200, body)

    def notify(self, event: Event, change_type: str) -> None:
        self.notifier.event_changed(event, change_type)

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
                    results[rid] = Reply(424, error_body("FailedDependency", "Dependent request failed."))
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
                results[rid] = Reply(400, error_body("BadRequest", "Content-Type header is required with a body."))
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
