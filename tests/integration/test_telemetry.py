"""Telemetry end to end: the app served in this process by the local host (so the
OpenTelemetry SDK's in-memory exporters see what it records), over real HTTP, Azurite and
the Graph emulator.

A push and an Outlook edit must each be ONE connected trace — from the API call through a
queued retry to the event in Outlook; from Graph's notification through the delta round to
the product's webhook — with Graph and storage spans, no attribute carrying a secret, a
token, a body or an e-mail address, and the metrics of docs/operations.md moving.
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import re
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from aiohttp import web
from azure.storage.queue import QueueClient
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from devtools.host.config import load_host_config
from devtools.host.server import LocalHost, find_app
from devtools.services import Service, free_port, start_azurite
from tests.conftest import TEST_KEY
from tests.integration import test_inbound
from tests.integration.conftest import OrgFixture, Stack, eventually, link_everyone, new_org, stack_env, stack_on
from tests.integration.test_inbound import DAY, SECRET, Receiver, graph, outlook_event
from tests.integration.test_push import D, appointment, events

receiver = test_inbound.receiver  # the booking product's webhook (a fixture)
SPANS = InMemorySpanExporter()
READER = InMemoryMetricReader()


def _install_sdk() -> None:
    """The SDK with in-memory exporters, as the worker's configure_azure_monitor would set
    up exporters to Application Insights (global providers can be set once a process)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(SPANS))
    metrics.set_meter_provider(MeterProvider(metric_readers=[READER]))


class InProcessHost:
    """devtools.host's LocalHost on a loop of its own in this process."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="in-process-host", daemon=True)

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(60)

    async def _start(self) -> None:
        self.host = LocalHost(find_app("function_app"), load_host_config(), TEST_KEY)
        self.runner = web.AppRunner(self.host.web_app(), access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        await self.host.start_triggers()

    async def _stop(self) -> None:
        from shared import bootstrap

        await self.runner.cleanup()
        await self.host.stop()
        services = bootstrap._by_loop.pop(id(asyncio.get_running_loop()), None)
        if services is not None:
            await services.close()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def private_storage() -> Iterator[str]:
    """An Azurite of its own: queue names are not prefixed, and the session's other hosts
    would take this app's messages from a shared one."""
    azurite = start_azurite()
    yield azurite.env["AzureWebJobsStorage"]
    azurite.stop()


@pytest.fixture(scope="module")
def traced(private_storage: str, emulator: Service) -> Iterator[Stack]:
    storage_conn = private_storage
    _install_sdk()
    port = free_port()
    env = stack_env(storage_conn, emulator, port)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        settings = importlib.import_module("shared.adapters.settings")
        settings.get_settings.cache_clear()
        host = InProcessHost(port)
        host.start()
        try:
            service = SimpleNamespace(url=f"http://127.0.0.1:{port}", env=env)
            with stack_on(service, emulator, storage_conn) as stack:  # type: ignore[arg-type]
                yield stack
        finally:
            host.stop()
            settings.get_settings.cache_clear()
            SPANS.shutdown()  # the provider stays for the session: keep nothing more


@pytest.fixture(scope="module")
def org(traced: Stack) -> OrgFixture:
    org = link_everyone(traced, new_org(traced))
    traced.wait_idle(org)
    return org


# -- reading the spans ----------------------------------------------------------------------


def spans_of(trace_id: int) -> list[ReadableSpan]:
    return [s for s in SPANS.get_finished_spans() if s.context.trace_id == trace_id]


def chain(span: ReadableSpan, trace_spans: list[ReadableSpan]) -> list[str]:
    """The names from the trace's root down to `span`; fails on a parent not in the trace."""
    by_id = {s.context.span_id: s for s in trace_spans}
    names = [span.name]
    while span.parent is not None:
        assert span.parent.span_id in by_id, f"{span.name}: its parent is not in the trace"
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names[::-1]


def whole_trace(trace_id: int) -> list[ReadableSpan]:
    """The trace once every span in it has ended: one root, every other span's parent in it
    (a span ends after its children, so a parent is missing only while it still runs)."""

    def complete() -> list[ReadableSpan] | None:
        found = spans_of(trace_id)
        ids = {s.context.span_id for s in found}
        roots = [s for s in found if s.parent is None]
        return found if len(roots) == 1 and all(s.parent is None or s.parent.span_id in ids for s in found) else None

    return eventually(complete, what="every span of the trace ended, all connected to one root")


EMAIL = re.compile(r"[^@\s/]+@[^@\s/]+\.[a-z]{2,}", re.IGNORECASE)
SECRETS = (TEST_KEY, SECRET, "emulator:", "Bearer", "whsec_", "AccountKey")


def assert_nothing_private(trace_spans: list[ReadableSpan], *bodies: str) -> None:
    # Only calsync's spans and the host's: the SDK's own (kiota's carry full URLs) are off.
    assert {s.instrumentation_scope.name for s in trace_spans} == {"calsync", "devtools.host"}
    for s in trace_spans:
        texts = [s.name] + [f"{k}={v}" for k, v in (s.attributes or {}).items()]
        texts += [f"{k}={v}" for e in s.events for k, v in (e.attributes or {}).items()]
        for text in texts:
            assert not EMAIL.search(text), f"{s.name}: an e-mail address in {text!r}"
            for secret in SECRETS:
                assert secret not in text, f"{s.name}: a secret or token in {text!r}"
            for body in bodies:
                assert body not in text, f"{s.name}: a body in {text!r}"


def metric_points(name: str) -> list[Any]:
    data = READER.get_metrics_data()
    return [
        point
        for rm in (data.resource_metrics if data else [])
        for sm in rm.scope_metrics
        for m in sm.metrics
        if m.name == name
        for point in m.data.data_points
    ]


def total(name: str, **attributes: str) -> float:
    """A counter's value (or a histogram's count) over the points matching `attributes`."""
    return sum(
        getattr(p, "value", None) if hasattr(p, "value") else p.count
        for p in metric_points(name)
        if all(p.attributes.get(k) == v for k, v in attributes.items())
    )


# -- the two traces -------------------------------------------------------------------------


def test_a_push_through_a_queued_retry_is_one_trace_down_to_the_event_in_outlook(
    traced: Stack, org: OrgFixture
) -> None:
    throttled_before = total("calsync.graph.throttled")
    traced.graph.post(
        "/_emulator/faults",
        json={
            "failNext": [
                {"method": "POST", "pattern": "/users/{id}/events", "status": 429, "retryAfter": 0, "count": 3}
            ]
        },
    )
    r = traced.api.put(f"/orgs/{org.id}/appointments/tel-push", json=appointment(title="Telemetry push"))
    assert r.status_code == 202 and r.json()["targets"][0]["state"] == "pending", r.text
    eventually(
        lambda: traced.api.get(f"/orgs/{org.id}/appointments/tel-push").json()["targets"][0]["state"] == "synced",
        timeout=40,
        what="the queued retry to put the event in Outlook",
    )
    assert [e for e in events(traced, org, "ada") if e["subject"] == "Telemetry push"]

    # The retry's span is finished before the appointment reads synced? Its Graph write is: wait
    # for the work item's own span, the positive signal that it has ended.
    def retry_span() -> ReadableSpan | None:
        for s in SPANS.get_finished_spans():
            if s.name.startswith("queue ") and s.attributes.get("calsync.queue") == "appointment-sync":
                return s
        return None

    retry = eventually(retry_span, what="the retry's span")
    trace_spans = whole_trace(retry.context.trace_id)
    route = chain(retry, trace_spans)
    root = next(s for s in trace_spans if s.parent is None)
    assert (root.name, root.kind, root.attributes["faas.trigger"]) == ("put_appointment", SpanKind.SERVER, "http")
    assert route[:2] == ["put_appointment", "http put_appointment"], route  # the host's span, then calsync's
    writes = [s for s in trace_spans if s.name == "graph POST /users/{user-id}/events"]
    assert {s.attributes["calsync.graph.status"] for s in writes} == {429, 201}, [dict(s.attributes) for s in writes]
    first = next(s for s in writes if s.attributes["calsync.graph.status"] == 429)
    assert first.attributes["calsync.graph.throttled"] is True
    assert first.attributes["calsync.graph.retry_after_s"] == "0"
    done = next(s for s in writes if s.attributes["calsync.graph.status"] == 201)
    assert "queue " + retry.name.split(" ", 1)[1] in chain(done, trace_spans)  # written by the retry
    assert any(s.name == "storage send appointment-sync" for s in trace_spans)
    assert any(s.name == "storage upsert Appointments" or s.name == "storage update Appointments" for s in trace_spans)
    assert_nothing_private(trace_spans, "Telemetry push")
    assert total("calsync.graph.throttled") - throttled_before >= 3
    assert total("calsync.graph.requests", method="POST", route="/users/{user-id}/events", status="201")


def test_an_outlook_edit_is_one_trace_from_the_notification_to_the_webhook(
    traced: Stack, org: OrgFixture, receiver: str
) -> None:
    traced.api.put(f"/orgs/{org.id}/settings", json={"webhookUrl": receiver, "webhookSecret": SECRET})
    before = {
        "accepted": total("calsync.notifications", kind="change", outcome="accepted"),
        "rounds": total("calsync.rounds", kind="worker", outcome="ok"),
        "created": total("calsync.changes", type="created"),
        "delivered": total("calsync.webhook.deliveries", outcome="delivered"),
        "latency": total("calsync.notification_to_feed"),
        "items": total("calsync.round.items", kind="worker"),
    }
    ada = org.users[f"ada@{D}"]
    with graph(traced, org) as g:
        outlook_event(g, ada, "Telemetry edit", f"{DAY}T10:00:00", f"{DAY}T11:00:00")
    eventually(lambda: Receiver.received, timeout=30, what="the change at the product's webhook")
    assert "Telemetry edit" in Receiver.received[-1][0].decode()

    def webhook_span() -> ReadableSpan | None:
        found = [s for s in SPANS.get_finished_spans() if s.name == "webhook POST"]
        return found[-1] if found else None

    post = eventually(webhook_span, what="the webhook delivery's span")
    trace_spans = whole_trace(post.context.trace_id)
    route = chain(post, trace_spans)
    # The host's span for Graph's POST, calsync's, the round's work item, the delivery's.
    assert route == [
        "graph_notifications",
        "http graph_notifications",
        "queue sync_mailbox",
        "queue deliver_webhook",
        "webhook POST",
    ], route
    assert post.attributes["calsync.webhook.status"] == 204
    names = {s.name for s in trace_spans}
    assert any(n.startswith("graph GET ") and "delta" in n for n in names), names  # the round read the delta
    assert any(n.startswith("storage ") and n.endswith(" Feed") for n in names), names  # and wrote the feed
    assert_nothing_private(trace_spans, "Telemetry edit")
    # The received webhook continues the trace too (W3C traceparent header).
    trace_id = f"{post.context.trace_id:032x}"
    assert trace_id in Receiver.received[-1][1]["traceparent"]

    assert total("calsync.notifications", kind="change", outcome="accepted") > before["accepted"]
    assert total("calsync.rounds", kind="worker", outcome="ok") > before["rounds"]
    assert total("calsync.round.items", kind="worker") > before["items"]
    assert total("calsync.changes", type="created") > before["created"]
    assert total("calsync.webhook.deliveries", outcome="delivered") > before["delivered"]
    assert total("calsync.notification_to_feed") > before["latency"]


def test_every_declared_metric_moves_reconcile_counts_links_and_poison_is_counted(
    traced: Stack, org: OrgFixture, private_storage: str
) -> None:
    from shared.core import metric_names

    r = httpx.post(f"{traced.app_url}/admin/functions/reconcile", json={}, headers={"x-functions-key": TEST_KEY})
    assert r.status_code == 202, r.text
    eventually(lambda: total("calsync.links", kind="worker", state="healthy") >= 3, what="links counted by state")
    # A message that is not of its queue's shape fails every try; the last is counted as it
    # goes to <queue>-poison.
    with QueueClient.from_connection_string(private_storage, "org-reconcile") as queue:
        queue.send_message(base64.b64encode(b'{"not": "an org"}').decode())
    eventually(lambda: total("calsync.poison_messages", queue="org-reconcile") == 1, what="the poison counted")
    seen = {m.name for rm in READER.get_metrics_data().resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    missing = {m.name for m in metric_names.ALL} - seen
    assert not missing, missing
    assert all(not EMAIL.search(str(p.attributes)) for m in metric_names.ALL for p in metric_points(m.name))


def test_without_an_sdk_nothing_is_recorded() -> None:
    """The app's spans cost nothing and go nowhere where no SDK is configured: in a fresh
    process, a span is a no-op and its context invalid."""
    import subprocess
    import sys

    code = (
        "from shared.adapters import telemetry\n"
        "with telemetry.span('x') as s:\n"
        "    print(s.is_recording(), s.get_span_context().is_valid)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False", "False"]
