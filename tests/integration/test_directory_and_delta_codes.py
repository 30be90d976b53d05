"""Through the local host, Azurite and the emulator: people and rooms whose e-mail address
is not their user name, a tenant with more rooms than one page of the places API, and delta
rounds that survive every way Graph says a token is gone, and an event listed twice."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.integration.conftest import OrgFixture, Stack, now
from tests.integration.test_inbound import changes, graph, wait_for

DOMAIN = "northwind.test"


def seed(stack: Stack, users: list[dict[str, Any]], room_lists: list[dict[str, Any]] | None = None) -> OrgFixture:
    tenant = str(uuid.uuid4())
    doc = {"id": tenant, "domain": DOMAIN, "users": users, "roomLists": room_lists or []}
    seeded = stack.graph.post("/_emulator/seed", json={"tenants": [doc]})
    assert seeded.status_code == 200, seeded.text
    ids = {u["userPrincipalName"]: u["id"] for u in seeded.json()["tenants"][0]["users"]}
    org = f"org-{uuid.uuid4().hex[:8]}"
    r = stack.api.put(f"/orgs/{org}", json={"m365TenantId": tenant})
    assert r.json()["status"] == "connected", r.text
    return OrgFixture(org, tenant, ids)


def test_a_person_whose_mail_is_not_the_upn_links_by_mail_and_by_proxy_address(stack: Stack) -> None:
    org = seed(
        stack,
        [
            {
                "userPrincipalName": f"mbowen@{DOMAIN}",
                "mail": f"megan.bowen@{DOMAIN}",
                "proxyAddresses": [f"SMTP:megan.bowen@{DOMAIN}", "smtp:megan@northwind.example"],
                "displayName": "Megan Bowen",
            },
            {"userPrincipalName": f"ada@{DOMAIN}"},
        ],
    )
    megan = org.users[f"mbowen@{DOMAIN}"]
    with graph(stack, org) as g:  # what the app must not rely on: /users/{mail} is 404
        assert g.get(f"/users/megan.bowen@{DOMAIN}").status_code == 404
    by_mail = stack.api.put(f"/orgs/{org.id}/workers/megan", json={"m365Account": f"Megan.Bowen@{DOMAIN}"}).json()
    assert (by_mail["status"], by_mail["m365UserId"]) == ("linked", megan), by_mail
    assert stack.api.put(f"/orgs/{org.id}/workers/megan", json={"m365Account": ""}).json()["status"] == "unlinked"
    by_proxy = stack.api.put(f"/orgs/{org.id}/workers/meg", json={"m365Account": "megan@northwind.example"}).json()
    assert (by_proxy["status"], by_proxy["m365UserId"]) == ("linked", megan), by_proxy


def test_an_address_two_users_have_is_a_409_naming_them_and_writes_nothing(stack: Stack) -> None:
    org = seed(
        stack,
        [
            {"userPrincipalName": f"a@{DOMAIN}", "proxyAddresses": [f"SMTP:a@{DOMAIN}", f"smtp:desk@{DOMAIN}"]},
            {"userPrincipalName": f"b@{DOMAIN}", "proxyAddresses": [f"SMTP:b@{DOMAIN}", f"smtp:desk@{DOMAIN}"]},
        ],
    )
    r = stack.api.put(f"/orgs/{org.id}/workers/desk", json={"m365Account": f"desk@{DOMAIN}"})
    assert r.status_code == 409 and r.json()["code"] == "account_ambiguous", r.text
    assert f"a@{DOMAIN}" in r.json()["detail"] and f"b@{DOMAIN}" in r.json()["detail"]
    assert stack.api.get(f"/orgs/{org.id}/workers/desk").status_code == 404


def test_a_tenant_with_250_rooms_imports_250(stack: Stack) -> None:
    rooms = [
        {"userPrincipalName": f"room{i:03}@{DOMAIN}", "displayName": f"Room {i:03}", "userPurpose": "room"}
        for i in range(250)
    ]
    rooms[7]["mail"] = f"boardroom@{DOMAIN}"  # a room whose address is not its user name
    org = seed(
        stack,
        rooms,
        [{"emailAddress": f"hq@{DOMAIN}", "displayName": "HQ", "rooms": [r["userPrincipalName"] for r in rooms[:120]]}],
    )
    job = stack.import_resources(org.id, timeout=180)
    assert job["state"] == "done" and job["total"] == 250 and job["processed"] == 250
    assert job["totals"] == {"created": 250, "updated": 0, "unchanged": 0, "skipped": 0}
    assert {r["status"] for r in job["results"]} == {"linked"}
    grouped = [r for r in job["results"] if r["group"] == "HQ"]
    assert len(grouped) == 120  # the list's rooms past the first page of 100 too
    assert any(r["mailbox"] == f"boardroom@{DOMAIN}" for r in job["results"])
    listed, after = [], None
    while True:
        page = stack.api.get(f"/orgs/{org.id}/resources", params={"limit": 100, **({"after": after} if after else {})})
        listed += page.json()["resources"]
        after = page.json()["next"]
        if not after:
            break
    assert len(listed) == 250


@pytest.mark.parametrize(
    ("status", "code"),
    [(410, "syncStateNotFound"), (400, "syncStateInvalid"), (400, "resyncRequired"), (400, "SyncStateNotFound")],
)
def test_a_round_survives_each_expiry_code_and_reports_each_change_once(
    linked: OrgFixture, stack: Stack, status: int, code: str
) -> None:
    ada = linked.users["ada@fabrikam.test"]
    stack.wait_idle(linked)
    expired = stack.graph.post("/_emulator/delta/expire", json={"mailbox": ada, "status": status, "code": code})
    assert expired.status_code == 200, expired.text
    since = now()
    with graph(stack, linked) as g:
        made = g.post(
            f"/users/{ada}/events",
            json={
                "subject": f"After {code}",
                "start": {"dateTime": "2027-01-11T09:00:00", "timeZone": "UTC"},
                "end": {"dateTime": "2027-01-11T10:00:00", "timeZone": "UTC"},
            },
        ).json()
    stack.notified_round(linked, "w-ada", since, event_id=made["id"])
    found = wait_for(stack, linked, lambda c: len(c) >= 1)
    assert [(c["type"], c["data"]["title"]) for c in found] == [("created", f"After {code}")]
    assert stack.link(linked, "w-ada")["status"] == "linked"


def test_an_event_listed_twice_in_one_round_is_reported_once(linked: OrgFixture, stack: Stack) -> None:
    ada = linked.users["ada@fabrikam.test"]
    stack.wait_idle(linked)
    assert stack.graph.post("/_emulator/faults", json={"deltaRepeats": True}).status_code == 200
    try:
        since = now()
        with graph(stack, linked) as g:
            made = g.post(
                f"/users/{ada}/events",
                json={
                    "subject": "Listed twice",
                    "start": {"dateTime": "2027-01-12T09:00:00", "timeZone": "UTC"},
                    "end": {"dateTime": "2027-01-12T10:00:00", "timeZone": "UTC"},
                },
            ).json()
        stack.notified_round(linked, "w-ada", since, event_id=made["id"])
    finally:
        stack.graph.post("/_emulator/faults", json={"deltaRepeats": False})
    assert [(c["type"], c["data"]["title"]) for c in changes(stack, linked)] == [("created", "Listed twice")]
