"""Start Azurite, the Graph emulator and the app on free ports, for benchmarks."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from devtools.services import ROOT, free_port, start_azurite, start_host, start_python

KEY = "bench-key"


@dataclass
class BenchStack:
    api: httpx.Client
    graph: httpx.Client
    graph_url: str
    app_url: str

    def graph_as(self, tenant_id: str) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.graph_url}/v1.0",
            timeout=60,
            headers={"Authorization": f"Bearer emulator:{tenant_id}", "Prefer": 'IdType="ImmutableId"'},
        )

    def tenant(self, users: list[dict], tenant_id: str | None = None) -> tuple[str, dict[str, str]]:
        tenant_id = tenant_id or str(uuid.uuid4())
        seeded = self.graph.post(
            "/_emulator/seed", json={"tenants": [{"id": tenant_id, "domain": "bench.test", "users": users}]}
        ).json()
        return tenant_id, {u["userPrincipalName"]: u["id"] for u in seeded["tenants"][0]["users"]}


@contextlib.contextmanager
def stack(**host_env: str) -> Iterator[BenchStack]:
    azurite = start_azurite()
    gport = free_port()
    emulator = start_python(
        "graph emulator",
        "devtools.graph_emulator",
        ["--port", str(gport)],
        {},
        f"http://127.0.0.1:{gport}/_emulator/tenants",
    )
    port = free_port()
    env = {
        **azurite.env,
        "GRAPH_AUTH_MODE": "emulator",
        "GRAPH_BASE_URL": f"http://127.0.0.1:{gport}/v1.0",
        "CALSYNC_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "CALSYNC_FUNCTION_KEY": KEY,
        "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.5",
        **host_env,
    }
    (ROOT / ".run").mkdir(exist_ok=True)
    host = start_host(env, port=port, log=ROOT / ".run" / "bench-host.log")  # the app's log, not the report
    try:
        with (
            httpx.Client(base_url=f"{host.url}/api", headers={"x-functions-key": KEY}, timeout=120) as api,
            httpx.Client(base_url=f"http://127.0.0.1:{gport}", timeout=60) as graph,
        ):
            yield BenchStack(api, graph, f"http://127.0.0.1:{gport}", host.url)
    finally:
        for service in (host, emulator, azurite):
            service.stop()
