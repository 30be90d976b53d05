"""Starting and stopping the local services (Azurite, Graph emulator, local host).

Used by `make run` (devtools.run) and by the test fixtures, so both start them the same way.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.adapters.settings import AZURITE_ACCOUNT, AZURITE_KEY

ROOT = Path(__file__).resolve().parents[1]
AZURITE_BIN = ROOT / "devtools" / "azurite" / "node_modules" / ".bin" / "azurite"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before it was ready")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str, headers: dict[str, str] | None = None) -> bool:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=1) as resp:
            return resp.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, TimeoutError):
        return False


@dataclass
class Service:
    name: str
    proc: subprocess.Popen
    url: str
    env: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_azurite(
    *, blob: int | None = None, queue: int | None = None, table: int | None = None, log: Path | None = None
) -> Service:
    """Azurite in memory on 127.0.0.1; ports default to free ones."""
    if not AZURITE_BIN.exists():
        raise RuntimeError(f"Azurite is not installed at {AZURITE_BIN}: run `make bootstrap`")
    blob, queue, table = blob or free_port(), queue or free_port(), table or free_port()
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [
            str(AZURITE_BIN),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
            "--silent",
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(blob),
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            str(queue),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(table),
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    wait_until(lambda: port_open(blob) and port_open(queue) and port_open(table), 30, "Azurite", proc)
    conn = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{blob}/{AZURITE_ACCOUNT};"
        f"QueueEndpoint=http://127.0.0.1:{queue}/{AZURITE_ACCOUNT};"
        f"TableEndpoint=http://127.0.0.1:{table}/{AZURITE_ACCOUNT};"
    )
    return Service("azurite", proc, f"http://127.0.0.1:{table}", {"AzureWebJobsStorage": conn})


def start_python(
    name: str,
    module: str,
    args: list[str],
    env: dict[str, str],
    ready_url: str,
    ready_headers: dict[str, str] | None = None,
    log: Path | None = None,
    timeout: float = 60,
) -> Service:
    out = open(log, "ab") if log else None  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=out,
        stderr=subprocess.STDOUT if out else None,
        stdin=subprocess.DEVNULL,
    )
    wait_until(lambda: http_ok(ready_url, ready_headers), timeout, name, proc)
    return Service(name, proc, ready_url, env)


def start_host(
    env: dict[str, str], *, port: int | None = None, app: str = "function_app", log: Path | None = None
) -> Service:
    port = port or free_port()
    key = env.get("CALSYNC_FUNCTION_KEY") or os.environ.get("CALSYNC_FUNCTION_KEY") or "local-dev-key"
    env = {"CALSYNC_FUNCTION_KEY": key, **env}
    service = start_python(
        "local host",
        "devtools.host",
        ["--app", app, "--port", str(port)],
        env,
        f"http://127.0.0.1:{port}/admin/host/status",
        {"x-functions-key": key},
        log,
    )
    service.url = f"http://127.0.0.1:{port}"
    return service
