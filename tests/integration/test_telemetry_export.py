"""The path to Application Insights as deployed: the local host started with the template's
telemetry settings does what the Python worker does (configure_azure_monitor), and the
exporter's envelopes — caught by a stand-in for the ingestion endpoint — carry calsync's
spans and metrics, and no mailbox address, key or token in any span or metric.

The template's OTEL_PYTHON_DISABLED_INSTRUMENTATIONS is read from infra/, so a template that
let the distro's httpx instrumentation back in (full Graph URLs, mailbox addresses) fails here.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from devtools.services import Service, free_port, start_azurite
from tests.conftest import TEST_KEY
from tests.integration.conftest import Stack, eventually, link_everyone, new_org, stack_on, start_app
from tests.integration.test_inbound import DAY, graph, outlook_event, wait_for
from tests.integration.test_push import D

INFRA = Path(__file__).resolve().parents[2] / "infra"


def template_setting(name: str) -> str:
    """An app setting's literal value as the Bicep template gives it."""
    for path in INFRA.rglob("*.bicep"):
        found = re.search(rf"^\s*'?{re.escape(name)}'?\s*:\s*'([^']*)'", path.read_text(), re.MULTILINE)
        if found:
            return found.group(1)
    raise AssertionError(f"the template does not set {name}")


class Ingestion(BaseHTTPRequestHandler):
    """Application Insights' ingestion endpoint, as far as the exporter needs: POST …/track."""

    envelopes: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        items = json.loads(raw) if self.path.endswith("/track") else []
        type(self).envelopes.extend(items)
        body = json.dumps({"itemsReceived": len(items), "itemsAccepted": len(items), "errors": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def exported(emulator: Service) -> Iterator[Stack]:
    # An Azurite of its own: the session's other hosts would take this app's queue messages.
    azurite = start_azurite()
    storage_conn = azurite.env["AzureWebJobsStorage"]
    Ingestion.envelopes = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Ingestion)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/"
    host = start_app(
        storage_conn,
        emulator,
        APPLICATIONINSIGHTS_CONNECTION_STRING=(
            f"InstrumentationKey={uuid.uuid4()};IngestionEndpoint={endpoint};LiveEndpoint={endpoint}"
        ),
        PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=template_setting("PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"),
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=template_setting("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"),
        OTEL_TRACES_SAMPLER=template_setting("OTEL_TRACES_SAMPLER"),
        OTEL_TRACES_SAMPLER_ARG="1.0",  # the template's default (a parameter there)
        # Export at once rather than every 5 s / 60 s; no statsbeat to Microsoft's endpoint.
        OTEL_BSP_SCHEDULE_DELAY="200",
        OTEL_BLRP_SCHEDULE_DELAY="200",
        OTEL_METRIC_EXPORT_INTERVAL="1000",
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",
    )
    try:
        with stack_on(host, emulator, storage_conn) as stack:
            yield stack
    finally:
        host.stop()
        server.shutdown()
        azurite.stop()


def of_type(kind: str) -> list[dict[str, Any]]:
    return [e for e in list(Ingestion.envelopes) if e.get("data", {}).get("baseType") == kind]


def test_an_outlook_edit_reaches_application_insights_without_personal_data(exported: Stack) -> None:
    org = link_everyone(exported, new_org(exported))
    exported.wait_idle(org)
    with graph(exported, org) as g:
        outlook_event(g, org.users[f"ada@{D}"], "Exported edit", f"{DAY}T09:00:00", f"{DAY}T09:30:00")
    wait_for(exported, org, lambda found: any(c["data"].get("title") == "Exported edit" for c in found), timeout=20)

    def graph_dependencies() -> list[dict[str, Any]]:
        return [d for d in of_type("RemoteDependencyData") if d["data"]["baseData"]["name"].startswith("graph GET ")]

    def metric(name: str) -> list[dict[str, Any]]:
        return [m for m in of_type("MetricData") if m["data"]["baseData"]["metrics"][0]["name"] == name]

    eventually(graph_dependencies, timeout=20, what="Graph spans at the ingestion endpoint")
    eventually(lambda: metric("calsync.changes"), timeout=20, what="the changes metric at the ingestion endpoint")
    deltas = [d for d in graph_dependencies() if "delta" in d["data"]["baseData"]["name"]]
    assert deltas and all(
        d["data"]["baseData"]["properties"]["calsync.graph.route"] == "/users/{user-id}/calendarView/delta()"
        for d in deltas
    ), deltas[:1]
    eventually(
        lambda: any(r["data"]["baseData"]["name"] == "graph_notifications" for r in of_type("RequestData")),
        what="the notification's request",
    )

    # Spans and metrics: no mailbox address, key or token anywhere in them. (Logs do name the
    # mailbox a round was for: that is what an operator searches by.)
    email = re.compile(rf"[\w.+-]+@{re.escape(D)}", re.IGNORECASE)
    for envelope in of_type("RequestData") + of_type("RemoteDependencyData") + of_type("MetricData"):
        text = json.dumps(envelope)
        assert not email.search(text), text
        for secret in (TEST_KEY, "emulator:", "Bearer "):
            assert secret not in text, text
    # Only calsync's own Graph spans: the distro's httpx instrumentation would add `GET /v1.0/…`.
    names = {d["data"]["baseData"]["name"] for d in of_type("RemoteDependencyData")}
    assert not [n for n in names if n.startswith(("GET /", "POST /", "PATCH /"))], names
