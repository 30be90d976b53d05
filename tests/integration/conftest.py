"""The whole stack for integration tests: Azurite, the Graph emulator and the real app."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from devtools.services import Service, free_port, start_azurite, start_host
from tests.conftest import TEST_KEY, app_env
from tests.emulator.conftest import tenant_doc

# The app's queues whose messages make Graph calls or start delta rounds (not the webhook
# sender, whose retries are hours apart by design, nor the appointment retries).
MAINTENANCE_QUEUES = ("org-reconcile", "subscription-lifecycle", "subscription-maintenance")
WORK_QUEUES = ("mailbox-sync", *MAINTENANCE_QUEUES)
NEVER = "0 0 0 1 1 *"  # the timers' schedule in tests (1 January): tests run them on demand
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def instant(value: str | None) -> datetime | None:
    """A time as the app (`2026-12-01T10:00:00.123456Z`) or the emulator
    (`2026-12-01T10:00:00.1234567Z`) writes it."""
    if not value:
        return None
    text = value.replace(" ", "T").replace("Z", "+00:00")
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def now() -> datetime:
    return datetime.now(UTC)


def eventually(check: Callable[[], Any], timeout: float = 15, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy (and return that), or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met in time")
        time.sleep(0.1)


def stack_env(storage_conn: str, emulator: Service, port: int) -> dict[str, str]:
    """The app's settings for a host on `port` over this Azurite and emulator."""
    return app_env(
        storage_conn,
        GRAPH_BASE_URL=f"{emulator.url}/v1.0",
        CALSYNC_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        CALSYNC_TABLE_PREFIX=f"it{uuid.uuid4().hex[:8]}",
        # A scheduled reconcile of every org of the session would start rounds (and Graph
        # calls) in the middle of any test; tests run the timers when they mean to.
        CALSYNC_RECONCILE_SCHEDULE=NEVER,
        CALSYNC_RENEW_SCHEDULE=NEVER,
    )


def start_app(storage_conn: str, emulator: Service, **extra: str) -> Service:
    port = free_port()
    return start_host({**stack_env(storage_conn, emulator, port), **extra}, port=port)


@pytest.fixture(scope="session")
def app_host(storage_conn: str, emulator: Service) -> Iterator[Service]:
    host = start_app(storage_conn, emulator)
    yield host
    host.stop()


@dataclass
class Stack:
    api: httpx.Client  # the app, with the function key
    graph: httpx.Client  # the emulator's control API
    emulator_url: str
    app_url: str = ""  # the app host, as Graph calls it back
    storage: str = ""  # Azurite's connection string
    prefix: str = ""  # the app's table prefix

    def seed(self, tenant_id: str | None = None, **kw: Any) -> tuple[str, dict[str, str]]:
        """A fresh tenant in the emulator → (tenant id, {upn: user id})."""
        tenant_id = tenant_id or str(uuid.uuid4())
        doc = tenant_doc(tenant_id, **kw)
        seeded = self.graph.post("/_emulator/seed", json={"tenants": [doc]}).json()
        return tenant_id, {u["userPrincipalName"]: u["id"] for u in seeded["tenants"][0]["users"]}

    def graph_as(self, tenant_id: str, app_id: str | None = None) -> httpx.Client:
        """A Graph client of `tenant_id`: as calsync's app, or as another app (`app_id`), whose
        requests do not count against calsync's per-mailbox limits."""
        token = f"emulator:{tenant_id}" + (f":{app_id}" if app_id else "")
        return httpx.Client(
            base_url=f"{self.emulator_url}/v1.0", timeout=30, headers={"Authorization": f"Bearer {token}"}
        )

    def subscriptions(self, mailbox: str | None = None) -> list[dict[str, Any]]:
        subs = self.graph.get("/_emulator/subscriptions").json()["subscriptions"]
        return [s for s in subs if mailbox is None or s["mailbox"] == mailbox]

    def graph_calls(self, org: OrgFixture) -> int:
        """Every Graph request since the log was cleared that can be this test's tenant's: to
        one of its mailboxes, to an address no tenant knows, or to no mailbox at all (the
        emulator's log does not name the tenant of those, so clear it with `clear_requests`,
        which first waits for background work to finish)."""
        mine = set(org.users.values())
        items = self.graph.get("/_emulator/requests").json()["items"]
        return sum(
            i["count"] for i in items if i["mailbox"] is None or i["mailbox"] in mine or not _GUID.match(i["mailbox"])
        )

    def clear_requests(self, org: OrgFixture) -> None:
        """Clear the emulator's request log once the org's background rounds are done, so
        that what it counts next is what the test's own action caused."""
        self.wait_idle(org)
        self.graph.delete("/_emulator/requests")

    def import_resources(self, org_id: str, timeout: float = 60) -> dict[str, Any]:
        """POST …/resources/import and follow its job to the end: 200 when it finished at
        once, else 202 and the job view to poll (docs/api.md)."""
        r = self.api.post(f"/orgs/{org_id}/resources/import")
        assert r.status_code in (200, 202), r.text
        job = r.json()
        assert (job["state"] in ("done", "failed")) == (r.status_code == 200), job
        deadline = time.monotonic() + timeout
        while job["state"] not in ("done", "failed"):
            assert time.monotonic() < deadline, f"import job still {job['state']}: {job['processed']}/{job['total']}"
            time.sleep(0.3)
            job = self.api.get(f"/orgs/{org_id}/jobs/{job['job']}").json()
        return job

    # -- positive signals: what the app has done by now ------------------------------------
    def link(self, org: OrgFixture, owner: str, kind: str = "worker") -> dict[str, Any]:
        r = self.api.get(f"/orgs/{org.id}/{kind}s/{owner}")
        assert r.status_code == 200, r.text
        return r.json()

    def queued(self, *names: str) -> int:
        """Messages in the app's queues, waiting or being worked on (Azure counts both)."""
        total = 0
        for name in names or WORK_QUEUES:
            with QueueClient.from_connection_string(self.storage, name) as queue:
                try:
                    total += queue.get_queue_properties().approximate_message_count
                except ResourceNotFoundError:
                    pass  # never used yet
        return total

    def deliveries(self) -> list[dict[str, Any]]:
        return self.graph.get("/_emulator/deliveries").json()["deliveries"]

    def wait_delivered(
        self,
        subscription: str,
        since: datetime,
        *,
        event_id: str | None = None,
        change_key: str | None = None,
        change_type: str | None = None,
        lifecycle_event: str | None = None,
        timeout: float = 15,
    ) -> datetime:
        """Wait until Graph (the emulator) has POSTed to the app, and the app has answered
        2xx, a notification for `subscription` (about `event_id` at `change_key`, of
        `change_type`…) that it started sending after `since`; the app has queued its work
        before answering. Returns when that POST started: the app received it after that."""
        deadline = time.monotonic() + timeout
        while True:
            for d in reversed(self.deliveries()):
                if d["kind"] != "notification" or not d["url"].startswith(self.app_url) or d["status"] is None:
                    continue
                started = instant(d["at"]) - timedelta(milliseconds=d["latencyMs"] + 1)
                if not 200 <= d["status"] < 300 or started < since:
                    continue
                for item in d["body"]["value"]:
                    data = item.get("resourceData") or {}
                    if (
                        item.get("subscriptionId") == subscription
                        and (event_id is None or data.get("id") == event_id)
                        and (change_key is None or data.get("@odata.etag") == f'W/"{change_key}"')
                        and (change_type is None or item.get("changeType") == change_type)
                        and (lifecycle_event is None or item.get("lifecycleEvent") == lifecycle_event)
                    ):
                        return started
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no notification for subscription {subscription} (event {event_id}, changeKey {change_key}, "
                    f"{change_type or lifecycle_event}) reached the app after {since.isoformat()}"
                )
            time.sleep(0.1)

    def wait_for_round(
        self, org: OrgFixture, owner: str, since: datetime, *, kind: str = "worker", timeout: float = 15
    ) -> dict[str, Any]:
        """Wait until a delta round of the owner's mailbox has committed after `since` and no
        round is left queued or running, and return the link.

        `since` must be a moment by which the work was already queued (what
        `wait_delivered` returns, or a time taken before an API call that queues it): the
        round it asked for is then done — also when it was folded into a round already
        running, which goes once more — and its changes are in the feed (the link's
        `lastSyncAt` is stamped after they are committed)."""
        deadline = time.monotonic() + timeout
        while True:
            if self.queued() == 0:
                view = self.link(org, owner, kind)
                synced = instant(view["lastSyncAt"])
                if synced is not None and synced > since:
                    return view
            if time.monotonic() > deadline:
                view = self.link(org, owner, kind)
                raise AssertionError(
                    f"no round of {kind} {owner} after {since.isoformat()}: lastSyncAt {view['lastSyncAt']}, "
                    f"still queued: {[(q, n) for q in WORK_QUEUES if (n := self.queued(q))]}"
                )
            time.sleep(0.1)

    def notified_round(
        self, org: OrgFixture, owner: str, since: datetime, *, kind: str = "worker", **match: Any
    ) -> dict[str, Any]:
        """After an Outlook change made after `since` in the owner's mailbox: wait for Graph's
        notification of it to be accepted by the app, then for the round it started."""
        subscription = self.link(org, owner, kind)["subscription"]["id"]
        return self.wait_for_round(org, owner, self.wait_delivered(subscription, since, **match), kind=kind)

    def wait_idle(self, org: OrgFixture, timeout: float = 20) -> None:
        """Every linked worker and resource of the org has had its first round (its
        `lastSyncAt`, stamped when the round is done with Graph), and no reconcile, renewal
        or lifecycle work is queued or running. Other orgs' rounds may still run: they only
        call Graph for their own mailboxes."""
        deadline = time.monotonic() + timeout
        while True:
            links = [
                link
                for kind in ("workers", "resources")
                for link in self.api.get(f"/orgs/{org.id}/{kind}", params={"limit": 1000}).json()[kind]
                if link["status"] == "linked"
            ]
            maintenance = self.queued(*MAINTENANCE_QUEUES)
            if all(link["lastSyncAt"] for link in links) and maintenance == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"org {org.id} never settled: {maintenance} message(s) queued, links {links}")
            time.sleep(0.1)


@contextmanager
def stack_on(host: Service, emulator: Service, storage_conn: str) -> Iterator[Stack]:
    with (
        httpx.Client(base_url=f"{host.url}/api", headers={"x-functions-key": TEST_KEY}, timeout=60) as api,
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
        yield Stack(api, graph, emulator.url, host.url, storage_conn, host.env["CALSYNC_TABLE_PREFIX"])


@pytest.fixture
def stack(app_host: Service, emulator: Service, storage_conn: str) -> Iterator[Stack]:
    with stack_on(app_host, emulator, storage_conn) as s:
        yield s


@pytest.fixture
def private_stack(emulator: Service) -> Iterator[Stack]:
    """The app on an Azurite of its own (a few seconds to start): its queues hold only this
    test's messages, so the test can count them."""
    azurite = start_azurite()
    try:
        host = start_app(azurite.env["AzureWebJobsStorage"], emulator)
        try:
            with stack_on(host, emulator, azurite.env["AzureWebJobsStorage"]) as s:
                yield s
        finally:
            host.stop()
    finally:
        azurite.stop()


@dataclass
class OrgFixture:
    id: str
    tenant: str
    users: dict[str, str]


def new_org(stack: Stack) -> OrgFixture:
    """A fresh tenant in the emulator and an org connected to it."""
    tenant, users = stack.seed()
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    r = stack.api.put(f"/orgs/{org_id}", json={"m365TenantId": tenant, "displayName": "Fabrikam"})
    assert r.status_code == 200 and r.json()["status"] == "connected", r.text
    return OrgFixture(org_id, tenant, users)


def link_everyone(stack: Stack, org: OrgFixture) -> OrgFixture:
    """Workers w-ada, w-bob and w-cyd linked, w-dee registered without an account, room r-room0 linked."""
    for worker, upn in (("w-ada", "ada"), ("w-bob", "bob"), ("w-cyd", "cyd")):
        r = stack.api.put(f"/orgs/{org.id}/workers/{worker}", json={"m365Account": f"{upn}@fabrikam.test"})
        assert r.json()["status"] == "linked", r.text
    stack.api.put(f"/orgs/{org.id}/workers/w-dee", json={"displayName": "Dee (not linked)"})
    r = stack.api.put(f"/orgs/{org.id}/resources/r-room0", json={"mailbox": "room0@fabrikam.test"})
    assert r.json()["status"] == "linked", r.text
    return org


@pytest.fixture
def org(stack: Stack) -> OrgFixture:
    return new_org(stack)


@pytest.fixture
def linked(org: OrgFixture, stack: Stack) -> OrgFixture:
    """Workers w-ada, w-bob and w-cyd linked, w-dee registered without an account, room r-room0 linked."""
    return link_everyone(stack, org)
