"""Renewal, lifecycle events, reconciliation, orphans and link health, end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from azure.data.tables import TableClient, UpdateMode

from devtools.services import Service
from tests.conftest import TEST_KEY, send_queue
from tests.integration.conftest import OrgFixture, Stack, new_org, now
from tests.integration.test_inbound import changes, eventually, graph, outlook_event, wait_for
from tests.integration.test_push import appointment

D = "fabrikam.test"
DAY = (datetime.now(UTC) + timedelta(days=4)).strftime("%Y-%m-%d")


@pytest.fixture
def linked(org: OrgFixture, stack: Stack) -> OrgFixture:
    for worker, upn in (("w-ada", "ada"), ("w-bob", "bob")):
        assert (
            stack.api.put(f"/orgs/{org.id}/workers/{worker}", json={"m365Account": f"{upn}@{D}"}).json()["status"]
            == "linked"
        )
    stack.wait_idle(org)  # the first (baseline) rounds are done
    return org


def run_timer(app_host: Service | Stack, name: str) -> None:
    url = app_host.app_url if isinstance(app_host, Stack) else app_host.url
    r = httpx.post(f"{url}/admin/functions/{name}", json={"input": ""}, headers={"x-functions-key": TEST_KEY})
    assert r.status_code == 202


def reconcile(stack: Stack, org: OrgFixture) -> None:
    """What the reconcile timer asks for each org (one `org-reconcile` message), for this
    org only: the timer would reconcile every org of the test session."""
    send_queue(stack.storage, "org-reconcile", json.dumps({"org": org.id}))


def dropped(stack: Stack) -> int:
    """Notifications the emulator did not send because delivery is switched off."""
    return stack.graph.get("/_emulator/deliveries").json()["dropped"]


def worker(stack: Stack, org: OrgFixture, name: str = "w-ada") -> dict[str, Any]:
    return stack.api.get(f"/orgs/{org.id}/workers/{name}").json()


def emulator_sub(stack: Stack, sub_id: str) -> dict[str, Any] | None:
    return next((s for s in stack.subscriptions() if s["id"] == sub_id), None)


def test_subscription_near_expiry_is_renewed(
    linked: OrgFixture, stack: Stack, app_host: Service, storage_conn: str
) -> None:
    sub_id = worker(stack, linked)["subscription"]["id"]
    soon = datetime.now(UTC) + timedelta(hours=1)
    with stack.graph_as(linked.tenant) as g:  # Graph's side: one hour left
        assert g.patch(f"/subscriptions/{sub_id}", json={"expirationDateTime": soon.isoformat()}).status_code == 200
    prefix = app_host.env["CALSYNC_TABLE_PREFIX"]
    with TableClient.from_connection_string(storage_conn, f"{prefix}Subscriptions") as table:  # ours too
        table.update_entity({"PartitionKey": sub_id, "RowKey": sub_id, "expires_at": soon}, mode=UpdateMode.MERGE)
    run_timer(app_host, "renew_subscriptions")

    def renewed() -> bool:
        expires = datetime.fromisoformat(emulator_sub(stack, sub_id)["expirationDateTime"])
        return expires > datetime.now(UTC) + timedelta(minutes=4000)

    eventually(renewed)
    expires = datetime.fromisoformat(emulator_sub(stack, sub_id)["expirationDateTime"])
    assert expires <= datetime.now(UTC) + timedelta(minutes=4230)
    eventually(
        lambda: datetime.fromisoformat(worker(stack, linked)["subscription"]["expiresAt"]) > soon + timedelta(hours=24)
    )


def test_removed_subscription_is_recreated_and_catches_up(linked: OrgFixture, stack: Stack) -> None:
    since = now()
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/r1", json=appointment(attendees=[])).json()
    stack.notified_round(linked, "w-ada", since, event_id=pushed["targets"][0]["eventId"])
    old = worker(stack, linked)["subscription"]["id"]
    assert stack.graph.delete(f"/_emulator/subscriptions/{old}").json() == {"sent": True}
    with graph(stack, linked) as g:  # while it is gone: no notification for this
        g.patch(
            f"/users/{linked.users[f'ada@{D}']}/events/{pushed['targets'][0]['eventId']}",
            json={"subject": "Changed while unsubscribed"},
        )
    feed = wait_for(stack, linked, lambda f: any(c["type"] == "updated" for c in f), timeout=15)
    assert feed[-1]["data"]["title"] == "Changed while unsubscribed"
    new = worker(stack, linked)["subscription"]["id"]
    assert new != old and emulator_sub(stack, new) is not None


def test_missed_and_reauthorization_required(linked: OrgFixture, stack: Stack) -> None:
    since = now()
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/m1", json=appointment(attendees=[])).json()
    stack.notified_round(linked, "w-ada", since, event_id=pushed["targets"][0]["eventId"])
    sub_id = worker(stack, linked)["subscription"]["id"]
    before = dropped(stack)
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})
    with graph(stack, linked) as g:
        g.patch(
            f"/users/{linked.users[f'ada@{D}']}/events/{pushed['targets'][0]['eventId']}",
            json={"subject": "Missed edit"},
        )
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    assert dropped(stack) > before  # Graph did not tell us about the edit…
    assert changes(stack, linked) == []  # …so nothing read it yet
    stack.graph.post(f"/_emulator/subscriptions/{sub_id}/lifecycle", json={"lifecycleEvent": "missed"})
    feed = wait_for(stack, linked, lambda f: len(f) == 1)
    assert feed[0]["data"]["title"] == "Missed edit"
    stack.graph.delete("/_emulator/requests")
    stack.graph.post(f"/_emulator/subscriptions/{sub_id}/lifecycle", json={"lifecycleEvent": "reauthorizationRequired"})

    def reauthorized() -> bool:
        items = stack.graph.get("/_emulator/requests").json()["items"]
        return any(i["pattern"] == "/subscriptions/{id}/reauthorize" for i in items)

    eventually(reauthorized)
    assert worker(stack, linked)["subscription"]["id"] == sub_id


def test_reconcile_catches_every_change_when_notifications_are_off(linked: OrgFixture, stack: Stack) -> None:
    since = now()
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/c1", json=appointment(attendees=[])).json()
    stack.notified_round(linked, "w-ada", since, event_id=pushed["targets"][0]["eventId"])
    before = dropped(stack)
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})
    try:
        with graph(stack, linked) as g:
            ada, bob = linked.users[f"ada@{D}"], linked.users[f"bob@{D}"]
            g.patch(f"/users/{ada}/events/{pushed['targets'][0]['eventId']}", json={"subject": "Silent edit"})
            outlook_event(g, bob, "Silent new", f"{DAY}T09:00:00", f"{DAY}T10:00:00")
        assert dropped(stack) >= before + 2  # neither change was notified…
        assert changes(stack, linked) == []  # …so nothing read them yet
        stack.graph.post("/_emulator/delta/expire", json={"mailbox": ada})  # and ada's token expired
        first = now()
        reconcile(stack, linked)
        for name in ("w-ada", "w-bob"):
            stack.wait_for_round(linked, name, first)
        feed = changes(stack, linked)
        assert sorted((c["type"], c["data"]["title"]) for c in feed) == [
            ("created", "Silent new"),
            ("updated", "Silent edit"),
        ]
        second = now()
        reconcile(stack, linked)
        for name in ("w-ada", "w-bob"):
            stack.wait_for_round(linked, name, second)
    finally:
        stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    assert len(changes(stack, linked)) == 2  # a second reconcile adds nothing


def test_lost_licence_shows_error_and_the_org_health_counts_it(linked: OrgFixture, stack: Stack) -> None:
    eventually(lambda: worker(stack, linked)["health"] == "healthy")
    stack.graph.patch(f"/_emulator/users/{linked.users[f'bob@{D}']}", json={"hasMailbox": False})
    reconcile(stack, linked)
    bob = eventually(lambda: (w := worker(stack, linked, "w-bob"))["status"] == "error" and w)
    assert bob["health"] == "error" and bob["error"]["code"] == "no_mailbox"
    assert "mailbox" in bob["error"]["message"]
    health = stack.api.get(f"/orgs/{linked.id}/health").json()
    assert health["links"] == {"healthy": 1, "pending": 0, "stale": 0, "attention": 0, "error": 1}
    assert health["worst"][0]["worker"] == "w-bob" and health["worst"][0]["error"]["code"] == "no_mailbox"


def test_orphan_subscriptions_are_deleted(linked: OrgFixture, stack: Stack, app_host: Service) -> None:
    notification_url = f"{app_host.url}/api/graph/notifications"
    with stack.graph_as(linked.tenant) as g:
        orphan = g.post(
            "/subscriptions",
            json={
                "changeType": "updated",
                "notificationUrl": notification_url,
                "clientState": "lost",
                "resource": f"/users/{linked.users[f'cyd@{D}']}/events",
                "expirationDateTime": (datetime.now(UTC) + timedelta(hours=5)).isoformat(),
            },
        ).json()
    assert emulator_sub(stack, orphan["id"]) is not None
    reconcile(stack, linked)
    eventually(lambda: emulator_sub(stack, orphan["id"]) is None)
    for name in ("w-ada", "w-bob"):
        assert emulator_sub(stack, worker(stack, linked, name)["subscription"]["id"]) is not None


def test_the_reconcile_timer_reconciles_every_org(private_stack: Stack) -> None:
    """The timer itself, on a storage of its own (in the shared one it would reconcile
    every org of the test session)."""
    stack = private_stack
    orgs = [new_org(stack) for _ in range(2)]
    for org in orgs:
        assert stack.api.put(f"/orgs/{org.id}/workers/w-ada", json={"m365Account": f"ada@{D}"}).json()["status"] == (
            "linked"
        )
        stack.wait_idle(org)
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})
    try:
        for org in orgs:
            with graph(stack, org) as g:
                outlook_event(g, org.users[f"ada@{D}"], f"Made in {org.id}", f"{DAY}T09:00:00", f"{DAY}T10:00:00")
    finally:
        stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    run_timer(stack, "reconcile")
    for org in orgs:
        feed = wait_for(stack, org, lambda f: len(f) >= 1)
        assert [(c["type"], c["data"]["title"]) for c in feed] == [("created", f"Made in {org.id}")]
