"""`make run`: Azurite + the Graph emulator + the local host on :7071, stopped on Ctrl-C."""

from __future__ import annotations

import os
import signal
import sys
import time

import httpx

from devtools.graph_emulator.core.world import DEMO_TENANT_ID
from devtools.host.config import load_local_settings
from devtools.services import ROOT, start_azurite, start_host, start_python


def demo_org(base: str, key: str) -> None:
    """The demo organisation: connected to the demo tenant, rooms imported, two workers linked."""
    headers = {"x-functions-key": key}
    with httpx.Client(base_url=f"{base}/api", headers=headers, timeout=60) as api:
        org = api.put("/orgs/demo", json={"m365TenantId": DEMO_TENANT_ID, "displayName": "Contoso (demo)"}).json()
        job = api.post("/orgs/demo/resources/import").json()
        deadline = time.monotonic() + 60
        while job["state"] not in ("done", "failed") and time.monotonic() < deadline:  # 202: a job
            time.sleep(0.5)
            job = api.get(f"/orgs/demo/jobs/{job['job']}").json()
        imported = job["totals"]
        for worker, account in (("adele", "adele.vance@contoso.com"), ("alex", "alex.wilber@contoso.com")):
            api.put(f"/orgs/demo/workers/{worker}", json={"m365Account": account})
    print(
        f"demo org       'demo' ({org['status']}): {imported['created'] + imported['unchanged']} resources, "
        "workers adele and alex linked (send the function key from local settings as x-functions-key)"
    )


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    # Explicit handlers: a shell that starts us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    load_local_settings()
    run_dir = ROOT / ".run"
    run_dir.mkdir(exist_ok=True)
    services = []
    try:
        # The sample settings use UseDevelopmentStorage=true, i.e. Azurite's default ports.
        azurite = start_azurite(blob=10000, queue=10001, table=10002, log=run_dir / "azurite.log")
        services.append(azurite)
        print("Azurite        blob :10000  queue :10001  table :10002 (in memory)")
        emulator = start_python(
            "graph emulator",
            "devtools.graph_emulator",
            ["--port", "7072", "--demo"],
            {},
            "http://127.0.0.1:7072/_emulator/tenants",
            log=run_dir / "graph-emulator.log",
        )
        services.append(emulator)
        print(
            "Graph emulator http://127.0.0.1:7072/v1.0 (demo tenant contoso.com, "
            "token: Bearer emulator:6e0f5a1c-3b7d-4c2a-9f11-c0a7050c0de1)"
        )
        host = start_host({}, port=int(os.environ.get("CALSYNC_PORT", "7071")))
        services.append(host)
        print(f"calsync        {host.url}/api/health")
        demo_org(host.url, os.environ.get("CALSYNC_FUNCTION_KEY", "local-dev-key"))
        print("Ctrl-C stops everything.")
        while all(s.proc.poll() is None for s in services):
            time.sleep(0.5)
        dead = [s.name for s in services if s.proc.poll() is not None]
        print(f"stopped: {', '.join(dead)} exited", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("\nstopping…")
    except (RuntimeError, TimeoutError) as exc:
        # A service that did not start has said why (a bad setting: one line); no traceback.
        print(f"make run: {exc}", file=sys.stderr)
        sys.exit(1)
    finally:
        for service in reversed(services):
            service.stop()


if __name__ == "__main__":
    main()
