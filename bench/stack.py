"""Start Azurite, the Graph emulator and the app on free ports, for benchmarks.

`stack()` runs one app instance (bench/push_bulk.py, inbound.py, reconcile.py). `cluster(n)`
runs n instances on the same Azurite and emulator behind a round-robin proxy (bench/proxy.py)
whose URL is the app's public base URL, so Graph's notifications and the bench's requests
alternate between instances, as in Azure after a scale-out (bench/soak.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from azure.storage.queue import QueueClient

from devtools.services import ROOT, Service, free_port, http_ok, start_azurite, start_host, start_python, wait_until

KEY = "bench-key"


def memory_mb(pid: int) -> dict[str, float]:
    """A process's resident set now (VmRSS) and at its peak so far (VmHWM), in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {name: int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM")}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its descendants so far (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    family, total = {pid}, 0.0
    for _ in range(4):  # descendants a few levels down (npx → node)
        family |= {p for p, (parent, _) in stats.items() if parent in family}
    for p in family:
        total += stats.get(p, (0, 0.0))[1]
    return total


@dataclass
class BenchStack:
    api: httpx.Client
    graph: httpx.Client
    graph_url: str
    app_url: str
    host_pid: int = 0  # the local host process (stack() only): its /proc status gives the app's RSS
    storage: str = ""  # Azurite's connection string (the app's queues and tables)
    pids: dict[str, int] = field(default_factory=dict)  # host, emulator, azurite (stack() only)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each process of the stack (with its children)."""
        return {name: cpu_seconds(pid) for name, pid in self.pids.items()}

    def queue_depth(self, queue: str) -> int:
        """Messages in one of the app's queues, visible or not (a running one still counts)."""
        with QueueClient.from_connection_string(self.storage, queue) as client:
            return client.get_queue_properties().approximate_message_count

    def graph_as(self, tenant_id: str, app_id: str | None = None) -> httpx.Client:
        """A plain Graph client of the emulator for `tenant_id` (as another application when
        `app_id` is given: its throttling budget is its own)."""
        token = f"emulator:{tenant_id}" + (f":{app_id}" if app_id else "")
        return httpx.Client(
            base_url=f"{self.graph_url}/v1.0",
            timeout=60,
            headers={"Authorization": f"Bearer {token}", "Prefer": 'IdType="ImmutableId"'},
        )

    def tenant(self, users: list[dict], tenant_id: str | None = None) -> tuple[str, dict[str, str]]:
        tenant_id = tenant_id or str(uuid.uuid4())
        seeded = self.graph.post(
            "/_emulator/seed", json={"tenants": [{"id": tenant_id, "domain": "bench.test", "users": users}]}
        ).json()
        return tenant_id, {u["userPrincipalName"]: u["id"] for u in seeded["tenants"][0]["users"]}


def _start_emulator() -> tuple[Service, int]:
    gport = free_port()
    emulator = start_python(
        "graph emulator",
        "devtools.graph_emulator",
        ["--port", str(gport)],
        {},
        f"http://127.0.0.1:{gport}/_emulator/tenants",
    )
    return emulator, gport


def _app_env(azurite: Service, gport: int, public_url: str, host_env: dict[str, str]) -> dict[str, str]:
    return {
        **azurite.env,
        "GRAPH_AUTH_MODE": "emulator",
        "GRAPH_BASE_URL": f"http://127.0.0.1:{gport}/v1.0",
        "CALSYNC_PUBLIC_BASE_URL": public_url,
        "CALSYNC_FUNCTION_KEY": KEY,
        "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.5",
        **host_env,
    }


@contextlib.contextmanager
def stack(**host_env: str) -> Iterator[BenchStack]:
    azurite = start_azurite()
    emulator, gport = _start_emulator()
    port = free_port()
    env = _app_env(azurite, gport, f"http://127.0.0.1:{port}", host_env)
    (ROOT / ".run").mkdir(exist_ok=True)
    host = start_host(env, port=port, log=ROOT / ".run" / "bench-host.log")  # the app's log, not the report
    try:
        with (
            httpx.Client(base_url=f"{host.url}/api", headers={"x-functions-key": KEY}, timeout=120) as api,
            httpx.Client(base_url=f"http://127.0.0.1:{gport}", timeout=60) as graph,
        ):
            yield BenchStack(
                api,
                graph,
                f"http://127.0.0.1:{gport}",
                host.url,
                host_pid=host.proc.pid,
                storage=azurite.env["AzureWebJobsStorage"],
                pids={"host": host.proc.pid, "emulator": emulator.proc.pid, "azurite": azurite.proc.pid},
            )
    finally:
        for service in (host, emulator, azurite):
            service.stop()


# -- several instances behind a proxy ----------------------------------------------------------
@dataclass
class Instance:
    """One app instance (a local host process) on a fixed port; it can be killed and restarted."""

    index: int
    port: int
    env: dict[str, str]
    log: Path
    service: Service | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.service is not None and self.service.proc.poll() is None

    def start(self) -> None:
        if self.alive:
            return
        self.service = start_host(self.env, port=self.port, log=self.log)
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no shutdown, running invocations die, their queue messages stay hidden."""
        if self.service is not None and self.service.proc.poll() is None:
            self.service.proc.send_signal(signal.SIGKILL)
            self.service.proc.wait()
        self.service = None

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
        self.service = None


@dataclass
class ClusterStack(BenchStack):
    instances: list[Instance] = field(default_factory=list)
    proxy_stats_url: str = ""

    def admin(self, instance: Instance, function: str) -> int:
        """Run a timer (or queue) function now on one instance: POST /admin/functions/{name}."""
        r = httpx.post(
            f"{instance.url}/admin/functions/{function}", json={"input": ""}, headers={"x-functions-key": KEY}
        )
        return r.status_code


@contextlib.contextmanager
def cluster(instances: int = 2, **host_env: str) -> Iterator[ClusterStack]:
    """`instances` app hosts on one Azurite and one emulator, behind a round-robin proxy whose
    URL is CALSYNC_PUBLIC_BASE_URL (and the URL of `api`)."""
    azurite = start_azurite()
    services: list[Service] = [azurite]
    nodes: list[Instance] = []
    try:
        emulator, gport = _start_emulator()
        services.append(emulator)
        ports = [free_port() for _ in range(instances)]
        pport = free_port()
        proxy = start_python(
            "proxy",
            "bench.proxy",
            ["--port", str(pport), "--backends", ",".join(f"127.0.0.1:{p}" for p in ports)],
            {},
            f"http://127.0.0.1:{pport}/_proxy/stats",
        )
        services.append(proxy)
        proxy_url = f"http://127.0.0.1:{pport}"
        env = _app_env(azurite, gport, proxy_url, host_env)
        (ROOT / ".run").mkdir(exist_ok=True)
        for i, port in enumerate(ports):
            log = ROOT / ".run" / f"bench-host-{i}.log"
            log.write_bytes(b"")
            nodes.append(Instance(i, port, env, log))
        for node in nodes:
            node.start()
        wait_until(lambda: http_ok(f"{proxy_url}/api/health"), 30, "proxy → app")
        with (
            httpx.Client(base_url=f"{proxy_url}/api", headers={"x-functions-key": KEY}, timeout=120) as api,
            httpx.Client(base_url=f"http://127.0.0.1:{gport}", timeout=60) as graph,
        ):
            yield ClusterStack(
                api,
                graph,
                f"http://127.0.0.1:{gport}",
                proxy_url,
                storage=azurite.env["AzureWebJobsStorage"],
                instances=nodes,
                proxy_stats_url=f"{proxy_url}/_proxy/stats",
            )
    finally:
        for node in nodes:
            node.stop()
        for service in reversed(services):
            service.stop()
