"""Room check-in and auto-release through the local host, Azurite and the Graph emulator:
a room booking nobody checked in to is declined by the room (the organizer's meeting shows
it, the room's calendar is free), reported once as `room_released`; a checked-in one is
left alone; a check-in after the release is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.services import Service
from tests.conftest import send_queue
from tests.integration.conftest import OrgFixture, Stack, eventually, start_app
from tests.integration.test_inbound import changes

D = "fabrikam.test"


def zulu(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def release_run(stack: Stack, org: OrgFixture) -> None:
    """What the release timer sends each minute for an org with check-in on, for this org only."""
    send_queue(stack.storage, "room-release", json.dumps({"org": org.id}))


def released(stack: Stack, org: OrgFixture) -> list[dict[str, Any]]:
    return [c for c in changes(stack, org) if c["type"] == "room_released"]


def test_a_room_nobody_checked_in_to_is_released_once(stack: Stack) -> None:
    tenant, users = stack.seed(rooms=3)
    org = OrgFixture(f"org-rel-{tenant[:8]}", tenant, users)
    r = stack.api.put(f"/orgs/{org.id}", json={"m365TenantId": tenant, "displayName": "Fabrikam"})
    assert r.status_code == 200, r.text
    r = stack.api.put(f"/orgs/{org.id}/settings", json={"roomCheckIn": True, "releaseAfterMinutes": 1})
    assert r.json()["roomCheckIn"] is True, r.text
    assert stack.api.put(f"/orgs/{org.id}/workers/w-ada", json={"m365Account": f"ada@{D}"}).json()["status"] == "linked"
    for i in range(3):
        r = stack.api.put(f"/orgs/{org.id}/resources/r{i}", json={"mailbox": f"room{i}@{D}"})
        assert r.json()["status"] == "linked", r.text
    began = datetime.now(UTC) - timedelta(minutes=2)

    def book(appointment: str, room: str) -> None:
        body = {"title": "Review", "start": zulu(began), "end": zulu(began + timedelta(hours=1)),
                "organizer": "w-ada", "resources": [room]}  # fmt: skip
        r = stack.api.put(f"/orgs/{org.id}/appointments/{appointment}", json=body)
        assert r.status_code == 200 and r.json()["targets"][0]["state"] == "synced", r.text

    book("rel-1", "r0")
    book("rel-2", "r1")
    r = stack.api.post(f"/orgs/{org.id}/appointments/rel-2/check-in", json={"resource": "r1"})
    assert (r.status_code, r.json()["state"]) == (200, "checked_in"), r.text

    release_run(stack, org)
    [change] = eventually(lambda: released(stack, org), timeout=30, what="rel-1 released")
    assert (change["appointment"], change["resource"], change["data"]["declined"]) == ("rel-1", "r0", True)
    with stack.graph_as(tenant) as g:
        room0 = g.get(f"/users/{users[f'room0@{D}']}/calendarView", params={
            "startDateTime": zulu(began), "endDateTime": zulu(began + timedelta(hours=1))}).json()["value"]  # fmt: skip
        assert room0 == []  # the room's calendar is free again
        ada = users[f"ada@{D}"]
        [meeting] = [e for e in g.get(f"/users/{ada}/events").json()["value"] if e["subject"] == "Review"
                     and any(a["emailAddress"]["address"] == f"room0@{D}" for a in e["attendees"])]  # fmt: skip
        assert [a["status"]["response"] for a in meeting["attendees"]] == ["declined"]  # the organizer sees it
    view = stack.api.get(f"/orgs/{org.id}/appointments/rel-1").json()
    assert [(x["resource"], x["state"]) for x in view["rooms"]] == [("r0", "released")]
    r = stack.api.post(f"/orgs/{org.id}/appointments/rel-1/check-in", json={"resource": "r0"})
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert r.json()["code"] == "room_released"

    # A later run releases a new booking, and neither the released nor the checked-in one again.
    book("rel-3", "r2")
    release_run(stack, org)
    eventually(lambda: any(c["appointment"] == "rel-3" for c in released(stack, org)), timeout=30, what="rel-3")
    assert sorted(c["appointment"] for c in released(stack, org)) == ["rel-1", "rel-3"]


def test_bad_check_ins_are_problems(linked: OrgFixture, stack: Stack) -> None:
    r = stack.api.post(f"/orgs/{linked.id}/appointments/nothing/check-in", json={"resource": "r-room0"})
    assert (r.status_code, r.json()["code"]) == (409, "check_in_off"), r.text  # the org's default: off
    stack.api.put(f"/orgs/{linked.id}/settings", json={"roomCheckIn": True})
    for body, status, code in (
        ({"resource": "r-room0"}, 404, "appointment_not_found"),
        ({}, 400, "invalid_input"),
        ({"resource": "r-room0", "occurrence": "next week"}, 400, "invalid_input"),
    ):
        r = stack.api.post(f"/orgs/{linked.id}/appointments/nothing/check-in", json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
        assert r.headers["content-type"].startswith("application/problem+json")


def test_two_instances_releasing_at_once_decline_once(stack: Stack, emulator: Service) -> None:
    """Two hosts on the same storage (as after a scale-out) each take a release run of the org
    at the same moment: one decline, one `room_released`."""
    tenant, users = stack.seed()
    org = OrgFixture(f"org-two-{tenant[:8]}", tenant, users)
    stack.api.put(f"/orgs/{org.id}", json={"m365TenantId": tenant, "displayName": "Fabrikam"}).raise_for_status()
    stack.api.put(f"/orgs/{org.id}/settings", json={"roomCheckIn": True, "releaseAfterMinutes": 1}).raise_for_status()
    assert stack.api.put(f"/orgs/{org.id}/workers/w-ada", json={"m365Account": f"ada@{D}"}).json()["status"] == "linked"
    assert stack.api.put(f"/orgs/{org.id}/resources/r0", json={"mailbox": f"room0@{D}"}).json()["status"] == "linked"
    began = datetime.now(UTC) - timedelta(minutes=2)
    body = {"title": "Review", "start": zulu(began), "end": zulu(began + timedelta(hours=1)),
            "organizer": "w-ada", "resources": ["r0"]}  # fmt: skip
    assert stack.api.put(f"/orgs/{org.id}/appointments/two-1", json=body).status_code == 200
    # The same tables as the first host (start_app alone gives a host tables of its own, and
    # the race would be no race: found when the second host took every run and saw no org).
    second = start_app(stack.storage, emulator, CALSYNC_TABLE_PREFIX=stack.prefix)
    try:
        stack.graph.delete("/_emulator/requests")
        for _ in range(4):  # several runs at once, taken by either host
            release_run(stack, org)
        eventually(lambda: released(stack, org), timeout=30, what="released")
        eventually(lambda: stack.queued("room-release") == 0, timeout=30, what="every run done")
    finally:
        second.stop()
    assert len(released(stack, org)) == 1
    items = stack.graph.get("/_emulator/requests").json()["items"]
    declines = sum(i["count"] for i in items if i["pattern"].endswith("/decline") and i["method"] == "POST")
    assert declines == 1
