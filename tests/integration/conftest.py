"""The whole stack for integration tests: Azurite, the Graph emulator and the real app."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devtools.services import Service, free_port, start_host
from tests.conftest import TEST_KEY, app_env
from tests.emulator.conftest import tenant_doc


@pytest.fixture(scope="session")
def app_host(storage_conn: str, emulator: Service) -> Iterator[Service]:
    port = free_port()
    env = app_env(
        storage_conn,
        GRAPH_BASE_URL=f"{emulator.url}/v1.0",
        CALSYNC_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        CALSYNC_TABLE_PREFIX=f"it{uuid.uuid4().hex[:8]}",
    )
    host = start_host(env, port=port)
    yield host
    host.stop()


@dataclass
class Stack:
    api: httpx.Client  # the app, with the function key
    graph: httpx.Client  # the emulator's control API
    emulator_url: str

    def seed(self, tenant_id: str | None = None, **kw: Any) -> tuple[str, dict[str, str]]:
        """A fresh tenant in the emulator → (tenant id, {upn: user id})."""
        tenant_id = tenant_id or str(uuid.uuid4())
        doc = tenant_doc(tenant_id, **kw)
        seeded = self.graph.post("/_emulator/seed", json={"tenants": [doc]}).json()
        return tenant_id, {u["userPrincipalName"]: u["id"] for u in seeded["tenants"][0]["users"]}

    def graph_as(self, tenant_id: str) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.emulator_url}/v1.0", timeout=30, headers={"Authorization": f"Bearer emulator:{tenant_id}"}
        )

    def subscriptions(self, mailbox: str | None = None) -> list[dict[str, Any]]:
        subs = self.graph.get("/_emulator/subscriptions").json()["subscriptions"]
        return [s for s in subs if mailbox is None or s["mailbox"] == mailbox]

    def graph_calls(self, org: OrgFixture) -> int:
        """Graph requests since the log was cleared that concern this test's tenant (its
        mailboxes, or none), leaving out the inbound side's background reads: delta rounds,
        and the event look-ups rounds make, which earlier tests' notifications can trigger."""
        background = {
            ("GET", "/users/{id}/calendarView/delta"),
            ("GET", "/users/{id}/events/{id}"),
            ("GET", "/users/{id}/events"),
        }
        mine = set(org.users.values()) | {None}
        items = self.graph.get("/_emulator/requests").json()["items"]
        return sum(i["count"] for i in items if (i["method"], i["pattern"]) not in background and i["mailbox"] in mine)


@pytest.fixture
def stack(app_host: Service, emulator: Service) -> Iterator[Stack]:
    with (
        httpx.Client(base_url=f"{app_host.url}/api", headers={"x-functions-key": TEST_KEY}, timeout=60) as api,
        httpx.Client(base_url=emulator.url, timeout=30) as graph,
    ):
        graph.post(
            "/_emulator/faults",
            json={
                "latencyMs": 0,
                "errorRate": 0,
                "failNext": [],
                "deliverNotifications": True,
                "throttle": {"requests": 10000, "windowSeconds": 600, "concurrency": 4},
            },
        )
        yield Stack(api, graph, emulator.url)


@dataclass
class OrgFixture:
    id: str
    tenant: str
    users: dict[str, str]


@pytest.fixture
def org(stack: Stack) -> OrgFixture:
    tenant, users = stack.seed()
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    r = stack.api.put(f"/orgs/{org_id}", json={"m365TenantId": tenant, "displayName": "Fabrikam"})
    assert r.status_code == 200 and r.json()["status"] == "connected", r.text
    return OrgFixture(org_id, tenant, users)


@pytest.fixture
def linked(org: OrgFixture, stack: Stack) -> OrgFixture:
    """Workers w-ada, w-bob and w-cyd linked, w-dee registered without an account, room r-room0 linked."""
    for worker, upn in (("w-ada", "ada"), ("w-bob", "bob"), ("w-cyd", "cyd")):
        r = stack.api.put(f"/orgs/{org.id}/workers/{worker}", json={"m365Account": f"{upn}@fabrikam.test"})
        assert r.json()["status"] == "linked", r.text
    stack.api.put(f"/orgs/{org.id}/workers/w-dee", json={"displayName": "Dee (not linked)"})
    r = stack.api.put(f"/orgs/{org.id}/resources/r-room0", json={"mailbox": "room0@fabrikam.test"})
    assert r.json()["status"] == "linked", r.text
    return org
