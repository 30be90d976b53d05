"""The local host: indexes a v2 app and serves HTTP, timer and queue triggers."""

from __future__ import annotations

import asyncio
import hmac
import importlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import azure.functions as func
from aiohttp import web
from azure.functions.decorators.http import HttpTrigger
from azure.functions.decorators.queue import QueueTrigger
from azure.functions.decorators.timer import TimerTrigger
from azure.functions.queue import QueueMessage

from devtools.host.concurrency import Health
from devtools.host.config import HostConfig
from devtools.host.invoke import Invoker
from devtools.host.queues import QueueClients, QueueListener, output_writer
from devtools.host.routes import Route, compile_route, order_routes
from devtools.host.timers import TimerRunner

log = logging.getLogger("devtools.host")

MAX_REQUEST_BYTES = 100 * 1024 * 1024  # the Functions host's request size limit
MAX_URL_BYTES = 8192  # and its URL and query string limits (FUNCTIONS-FACTS.md, "Limits")
MAX_QUERY_BYTES = 4096
STOP_WAIT_S = 5  # for the queue loops' last receives, within the 10 s a stop is given


def find_app(module_name: str) -> func.FunctionRegister:
    """Import the script module and find its one FunctionApp, as the worker's indexer does."""
    module = importlib.import_module(module_name)
    apps = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if len(apps) != 1:
        raise RuntimeError(f"{module_name}: expected exactly one FunctionApp instance, found {len(apps)}")
    return apps[0]


def disabled(name: str) -> bool:
    """`AzureWebJobs.<name>.Disabled=true` disables a function's trigger, as in Azure."""
    return os.environ.get(f"AzureWebJobs.{name}.Disabled", "").lower() in ("1", "true")


@dataclass
class LocalHost:
    app: func.FunctionRegister
    config: HostConfig
    function_key: str
    functions: dict[str, func.Function] = field(default_factory=dict)
    routes: list[tuple[Route, func.Function]] = field(default_factory=list)
    timers: dict[str, TimerRunner] = field(default_factory=dict)
    listeners: list[QueueListener] = field(default_factory=list)
    invoker: Invoker = field(init=False)
    clients: QueueClients = field(default_factory=QueueClients)
    health: Health = field(default_factory=Health)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _background: set[asyncio.Task[Any]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.invoker = Invoker(output_writer(self.clients, self.config), self.config.function_timeout_s)
        for fn in self.app.get_functions():  # once: get_functions() is not idempotent
            name = fn.get_function_name()
            self.functions[name.lower()] = fn
            trigger = fn.get_trigger()
            if isinstance(trigger, HttpTrigger):
                template = f"{self.config.route_prefix}/{(trigger.route or name).lstrip('/')}".strip("/")
                self.routes.append((compile_route(template), fn))
            elif isinstance(trigger, TimerTrigger):
                self.timers[name.lower()] = TimerRunner(fn, self.invoker)
            elif isinstance(trigger, QueueTrigger):
                self.listeners.append(QueueListener(fn, self.invoker, self.clients, self.config, self.health))
        self.routes = order_routes(self.routes)

    # -- lifecycle ------------------------------------------------------------------
    async def start_triggers(self) -> None:
        if self.config.dynamic_concurrency:
            self.health.start()
        for name, runner in self.timers.items():
            if not disabled(runner.fn.get_function_name()):
                self._tasks.append(asyncio.create_task(runner.run(), name=f"timer:{name}"))
        for listener in self.listeners:
            if not disabled(listener.fn.get_function_name()):
                self._tasks.append(asyncio.create_task(listener.run(), name=f"queue:{listener.queue_name}"))

    async def stop(self) -> None:
        self.health.stop()
        for listener in self.listeners:
            listener.stop()  # its loop ends after the receive under way, if any
        for task in self._tasks:
            if task.get_name().startswith("timer:"):
                task.cancel()
        _, stuck = await asyncio.wait(self._tasks, timeout=STOP_WAIT_S) if self._tasks else (set(), set())
        for task in stuck:  # a receive hung past the client's own timeouts
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for listener in self.listeners:
            await listener.drain()
        if self._background:
            await asyncio.wait(self._background, timeout=10)
        await self.clients.close()
        self.invoker.close()

    # -- HTTP -------------------------------------------------------------------------
    def _authorized(self, request: web.Request, level: func.AuthLevel | None) -> bool:
        if level == func.AuthLevel.ANONYMOUS:
            return True
        given = request.headers.get("x-functions-key") or request.query.get("code") or ""
        return hmac.compare_digest(given.encode(), self.function_key.encode())

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_get("/admin/host/status", self._host_status)
        app.router.add_post("/admin/functions/{name}", self._admin_invoke)
        app.router.add_route("*", r"/{tail:[\s\S]*}", self._dispatch)  # a %0A in a path is still a path
        return app

    async def _host_status(self, request: web.Request) -> web.Response:
        if not self._authorized(request, func.AuthLevel.ADMIN):
            return _problem(
                401, "unauthorized", "a valid function key is required (the x-functions-key header or ?code=)"
            )
        return web.json_response(
            {"state": "Running", "functions": sorted(f.get_function_name() for f in self.functions.values())}
        )

    async def _admin_invoke(self, request: web.Request) -> web.Response:
        """POST /admin/functions/{name} {"input": "..."} runs a non-HTTP function (202)."""
        if not self._authorized(request, func.AuthLevel.ADMIN):
            return _problem(
                401, "unauthorized", "a valid function key is required (the x-functions-key header or ?code=)"
            )
        fn = self.functions.get(request.match_info["name"].lower())
        if fn is None:
            return _problem(404, "function_not_found", f"there is no function {request.match_info['name']!r}")
        try:
            payload = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            return web.Response(status=400, text='body must be JSON: {"input": "..."}')
        text = str((payload or {}).get("input") or "")
        name = fn.get_function_name().lower()
        if name in self.timers:
            coro = self.timers[name].fire()
        elif isinstance(fn.get_trigger(), QueueTrigger):
            coro = self._run_queue_input(fn, text)
        else:
            return web.Response(status=400, text="only non-HTTP functions can be run this way")
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return web.Response(status=202)

    async def _run_queue_input(self, fn: func.Function, text: str) -> None:
        message = QueueMessage(id="admin", body=text.encode(), dequeue_count=1)
        await self.invoker.invoke(fn, "queue(admin)", message)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await self._route(request)
        finally:
            self.health.answered(time.perf_counter() - started)

    async def _route(self, request: web.Request) -> web.StreamResponse:
        if len(request.rel_url.raw_path) + len(request.rel_url.raw_query_string) + 1 > MAX_URL_BYTES:
            return _problem(414, "uri_too_long", f"the URL is longer than the host's {MAX_URL_BYTES} bytes")
        if len(request.rel_url.raw_query_string) > MAX_QUERY_BYTES:
            return _problem(414, "uri_too_long", f"the query string is longer than the host's {MAX_QUERY_BYTES} bytes")
        path = unquote(request.rel_url.raw_path).strip("/")
        method_allowed = False
        for route, fn in self.routes:
            values = route.match(path)
            if values is None:
                continue
            trigger = fn.get_trigger()
            methods = [m.value if hasattr(m, "value") else str(m).upper() for m in trigger.methods or []]
            if methods and request.method not in methods:
                method_allowed = True
                continue
            if disabled(fn.get_function_name()):
                return _problem(404, "route_not_found", f"{fn.get_function_name()} is disabled")
            if not self._authorized(request, trigger.auth_level):
                return _problem(
                    401, "unauthorized", "a valid function key is required (the x-functions-key header or ?code=)"
                )
            return await self._invoke_http(request, fn, values)
        if method_allowed:
            return _problem(405, "method_not_allowed", f"{request.method} is not allowed on /{path}")
        return _problem(404, "route_not_found", f"there is no {request.method} /{path}")

    async def _invoke_http(self, request: web.Request, fn: func.Function, values: dict[str, str]) -> web.Response:
        too_large = _problem(
            413, "payload_too_large", f"the body is larger than the host's {MAX_REQUEST_BYTES // 2**20} MB"
        )
        if (request.content_length or 0) > MAX_REQUEST_BYTES:
            return too_large
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:  # a chunked body: known only once read
            return too_large
        req = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params=dict(request.query),
            route_params=values,
            body=body,
        )
        outcome = await self.invoker.invoke(fn, "http", req, traceparent=request.headers.get("traceparent"))
        if outcome.error is not None:
            return web.Response(status=500)
        return to_web_response(outcome.result)


def to_web_response(result: Any) -> web.Response:
    if result is None:
        return web.Response(status=204)
    if isinstance(result, str):
        return web.Response(status=200, text=result, content_type="text/plain")
    if isinstance(result, func.HttpResponse):
        headers = {k: v for k, v in result.headers.items() if k.lower() != "content-length"}
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = f"{result.mimetype or 'text/plain'}; charset={result.charset or 'utf-8'}"
        return web.Response(status=result.status_code, body=result.get_body(), headers=headers)
    log.error("function returned %s, not an HttpResponse", type(result).__name__)
    return web.Response(status=500)


def _problem(status: int, code: str, detail: str) -> web.Response:
    """The local host's own answers (no key, no route) as problem+json, like the app's errors.
    (The Functions host in Azure answers a missing key with an empty 401.)"""
    body = {"type": f"urn:calsync:problem:{code}", "title": code.replace("_", " "), "status": status}
    body |= {"detail": detail, "code": code}
    return web.Response(status=status, text=json.dumps(body), content_type="application/problem+json")
