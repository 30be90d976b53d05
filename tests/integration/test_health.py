"""GET /api/health through the local host with the real app."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from devtools.services import ROOT, free_port, start_host
from tests.conftest import TEST_KEY, app_env


def test_health_is_200_with_settings_and_no_secret(storage_conn: str) -> None:
    host = start_host(app_env(storage_conn))
    try:
        r = httpx.get(f"{host.url}/api/health")  # anonymous: no key needed
    finally:
        host.stop()
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "healthy"
    assert body["checks"] == {"tables": {"status": "ok"}, "queues": {"status": "ok"}}
    assert body["settings"]["graphAuthMode"] == "emulator"
    assert body["settings"]["storage"]["account"] == "devstoreaccount1"
    assert "AccountKey" not in r.text and "Eby8vdM02x" not in r.text and TEST_KEY not in r.text


def test_health_is_503_when_storage_is_unreachable() -> None:
    dead = free_port()
    conn = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=ZmFrZQ==;"
        f"QueueEndpoint=http://127.0.0.1:{dead}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{dead}/devstoreaccount1;"
    )
    host = start_host(app_env(conn))
    try:
        r = httpx.get(f"{host.url}/api/health", timeout=30)
    finally:
        host.stop()
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["tables"]["status"] == "unreachable"
    assert "ZmFrZQ" not in r.text


def test_missing_setting_stops_start_up_and_names_it(storage_conn: str) -> None:
    env = {**os.environ, **app_env(storage_conn), "CALSYNC_PUBLIC_BASE_URL": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "devtools.host", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "CALSYNC_PUBLIC_BASE_URL" in proc.stderr
