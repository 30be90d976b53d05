"""Organisations, settings, workers and resources through the local host, Azurite and the emulator."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableServiceClient

from shared.adapters.table_codec import encode_key
from tests.integration.conftest import OrgFixture, Stack, now
from tests.integration.test_inbound import changes, graph, wait_for
from tests.integration.test_push import DAY, bulk, wait_job

D = "fabrikam.test"


def test_connect_org_and_unknown_tenant(stack: Stack) -> None:
    tenant, _ = stack.seed()
    r = stack.api.put("/orgs/acme-1", json={"m365TenantId": tenant, "displayName": "Acme"})
    assert r.status_code == 200
    body = r.json()
    assert (body["org"], body["m365TenantId"], body["status"], body["error"]) == ("acme-1", tenant, "connected", None)
    assert body["adminConsentUrl"].startswith(f"https://login.microsoftonline.com/{tenant}/adminconsent?client_id=")
    assert stack.api.get("/orgs/acme-1").json()["status"] == "connected"
    unknown = str(uuid.uuid4())
    r = stack.api.put("/orgs/acme-2", json={"m365TenantId": unknown})
    assert r.status_code == 200
    assert r.json()["status"] == "error" and r.json()["error"]["code"] == "consent_required"
    assert unknown in r.json()["adminConsentUrl"]
    r = stack.api.get("/orgs/acme-2/consent-url", params={"redirectUri": "https://booking.example/consented"})
    assert "redirect_uri=https%3A%2F%2Fbooking.example%2Fconsented" in r.json()["adminConsentUrl"]


def test_orgs_are_listed_a_page_at_a_time_in_id_order(stack: Stack) -> None:
    tenant, _ = stack.seed()
    mine = [f"list-{uuid.uuid4().hex[:6]}-{i}" for i in range(3)]
    for org_id in mine:
        assert stack.api.put(f"/orgs/{org_id}", json={"m365TenantId": tenant}).status_code == 200
    seen: list[str] = []
    after: str | None = None
    while True:
        page = stack.api.get("/orgs", params={"limit": 2, **({"after": after} if after else {})}).json()
        assert len(page["orgs"]) <= 2
        seen += [o["org"] for o in page["orgs"]]
        after = page["next"]
        if after is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert set(mine) <= set(seen)
    listed = next(o for o in stack.api.get("/orgs", params={"limit": 1000}).json()["orgs"] if o["org"] == mine[0])
    assert listed == stack.api.get(f"/orgs/{mine[0]}").json()
    bad = stack.api.get("/orgs", params={"limit": 0})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"


def test_the_demo_org_connects_and_imports_the_demo_rooms(stack: Stack) -> None:
    """What `make run` does, against the emulator's demo tenant."""
    from devtools.graph_emulator.core.world import DEMO_TENANT_ID, demo_seed

    stack.graph.post("/_emulator/seed", json=demo_seed())
    org_id = f"demo-{uuid.uuid4().hex[:6]}"
    assert stack.api.put(f"/orgs/{org_id}", json={"m365TenantId": DEMO_TENANT_ID}).json()["status"] == "connected"
    imported = stack.import_resources(org_id)["results"]
    assert {(r["mailbox"], r["kind"], r["group"], r["status"]) for r in imported} == {
        ("room.fuji@contoso.com", "room", "HQ rooms", "linked"),
        ("room.kilimanjaro@contoso.com", "room", "HQ rooms", "linked"),
        ("room.matterhorn@contoso.com", "room", "HQ rooms", "linked"),
        ("everest@contoso.com", "room", "HQ rooms", "linked"),  # mail ≠ UPN: found by its mail
        ("projector.1@contoso.com", "equipment", None, "linked"),
    }
    # A person whose mail and alias are not the UPN (the demo's Miriam Graham).
    for worker, address in (("miriam", "miriam.graham@contoso.com"), ("miri", "miriam@contoso.net")):
        r = stack.api.put(f"/orgs/{org_id}/workers/{worker}", json={"m365Account": address})
        assert r.json()["status"] == "linked", r.text
        stack.api.put(f"/orgs/{org_id}/workers/{worker}", json={"m365Account": ""})
    r = stack.api.put(f"/orgs/{org_id}/workers/w1", json={"m365Account": "former.employee@contoso.com"})
    assert r.json()["error"]["code"] == "no_mailbox"


def test_settings_defaults_validation_and_secret(org: OrgFixture, stack: Stack) -> None:
    r = stack.api.get(f"/orgs/{org.id}/settings")
    assert r.json()["syncMode"] == "twoWay" and r.json()["maxResources"] is None
    r = stack.api.put(
        f"/orgs/{org.id}/settings",
        json={
            "syncMode": "oneWay",
            "createPrefix": "[B] ",
            "webhookUrl": "https://booking.example/hook",
            "webhookSecret": "whsec_Y2Fsc3luYy1saW5raW5nLXNlY3JldC0x",
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["syncMode"] == "oneWay" and body["useOrganizer"] is True
    assert body["webhookSecret"] is None and body["webhookSecretSet"] is True
    for bad, field in [
        ({"colour": "red"}, "colour"),
        ({"syncMode": "sideways"}, "syncMode"),
        ({"maxResources": "ten"}, "maxResources"),
        ({"useOrganizer": "yes"}, "useOrganizer"),
        ({"webhookUrl": "ftp://x"}, "webhookUrl"),
        ({"webhookSecret": "0123456789abcdef0123"}, "webhookSecret"),  # not whsec_ + base64
    ]:
        r = stack.api.put(f"/orgs/{org.id}/settings", json=bad)
        assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"] == field, r.json()
    assert stack.api.get(f"/orgs/{org.id}/settings").json()["syncMode"] == "oneWay"  # nothing written


def test_link_three_workers_one_unknown(org: OrgFixture, stack: Stack) -> None:
    answers = {
        w: stack.api.put(f"/orgs/{org.id}/workers/{w}", json={"m365Account": acct}).json()
        for w, acct in [("w1", f"ada@{D}"), ("w2", f"bob@{D}"), ("w3", f"ghost@{D}")]
    }
    for w, upn in (("w1", "ada"), ("w2", "bob")):
        a = answers[w]
        assert a["status"] == "linked" and a["error"] is None and a["mode"] == "push"
        assert a["m365UserId"] == org.users[f"{upn}@{D}"]
        subs = stack.subscriptions(a["m365UserId"])
        assert [s["id"] for s in subs] == [a["subscription"]["id"]]
        assert subs[0]["notificationUrl"].endswith("/api/graph/notifications")
    assert answers["w3"]["status"] == "error" and answers["w3"]["error"]["code"] == "account_not_found"
    assert stack.api.get(f"/orgs/{org.id}/workers/w3").json()["status"] == "error"
    listed = stack.api.get(f"/orgs/{org.id}/workers", params={"status": "linked"}).json()
    assert sorted(w["worker"] for w in listed["workers"]) == ["w1", "w2"]
    page = stack.api.get(f"/orgs/{org.id}/workers", params={"limit": 2}).json()
    rest = stack.api.get(f"/orgs/{org.id}/workers", params={"limit": 2, "after": page["next"]}).json()
    assert [w["worker"] for w in page["workers"] + rest["workers"]] == ["w1", "w2", "w3"] and rest["next"] is None


def test_blank_account_unlinks_and_deletes_the_subscription(org: OrgFixture, stack: Stack) -> None:
    linked = stack.api.put(f"/orgs/{org.id}/workers/w1", json={"m365Account": f"ada@{D}"}).json()
    assert stack.subscriptions(linked["m365UserId"])
    r = stack.api.put(f"/orgs/{org.id}/workers/w1", json={"m365Account": ""})
    assert r.json()["status"] == "unlinked" and r.json()["subscription"] is None
    assert stack.subscriptions(linked["m365UserId"]) == []
    # The account is free again for another worker.
    assert stack.api.put(f"/orgs/{org.id}/workers/w9", json={"m365Account": f"ada@{D}"}).json()["status"] == "linked"
    # A worker first registered without an account exists, unlinked.
    fresh = stack.api.put(f"/orgs/{org.id}/workers/w10", json={"displayName": "New hire"}).json()
    assert (fresh["status"], fresh["displayName"]) == ("unlinked", "New hire")


def test_account_in_use_no_mailbox_and_foreign_tenant(org: OrgFixture, stack: Stack) -> None:
    stack.api.put(f"/orgs/{org.id}/workers/w1", json={"m365Account": f"ada@{D}"})
    r = stack.api.put(f"/orgs/{org.id}/workers/w2", json={"m365Account": f"ADA@{D}"})
    assert r.status_code == 409 and r.json()["code"] == "account_in_use"
    assert r.json()["heldBy"] == {"kind": "worker", "id": "w1"} and "w1" in r.json()["detail"]
    assert stack.api.get(f"/orgs/{org.id}/workers/w2").status_code == 404  # nothing written
    r = stack.api.put(f"/orgs/{org.id}/workers/w3", json={"m365Account": f"nomail@{D}"})
    assert r.json()["error"]["code"] == "no_mailbox"
    other, _ = stack.seed(domain="other.test")
    r = stack.api.put(f"/orgs/{org.id}/workers/w4", json={"m365Account": "ada@other.test"})
    assert r.json()["status"] == "error" and r.json()["error"]["code"] == "account_not_found"
    assert other  # the account exists, in another tenant


def test_same_put_twice_changes_nothing_and_makes_no_graph_call(org: OrgFixture, stack: Stack) -> None:
    first = stack.api.put(f"/orgs/{org.id}/workers/w1", json={"m365Account": f"ada@{D}"}).json()
    stack.clear_requests(org)
    again = stack.api.put(f"/orgs/{org.id}/workers/w1", json={"m365Account": f"ada@{D}"}).json()
    assert again["subscription"] == first["subscription"]
    assert stack.graph_calls(org) == 0


def test_moving_a_worker_to_another_account_moves_the_subscription(org: OrgFixture, stack: Stack) -> None:
    first = stack.api.put(f"/orgs/{org.id}/workers/w1", json={"m365Account": f"ada@{D}"}).json()
    moved = stack.api.put(f"/orgs/{org.id}/workers/w1", json={"m365Account": f"bob@{D}"}).json()
    assert moved["status"] == "linked" and moved["m365UserId"] == org.users[f"bob@{D}"]
    assert stack.subscriptions(first["m365UserId"]) == []
    assert stack.api.put(f"/orgs/{org.id}/workers/w2", json={"m365Account": f"ada@{D}"}).json()["status"] == "linked"


def test_batch_link_200_rows_with_5_bad(stack: Stack) -> None:
    tenant = str(uuid.uuid4())
    users = [{"userPrincipalName": f"u{i:03}@big.test", "displayName": f"User {i}"} for i in range(196)]
    stack.graph.post("/_emulator/seed", json={"tenants": [{"id": tenant, "domain": "big.test", "users": users}]})
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    stack.api.put(f"/orgs/{org_id}", json={"m365TenantId": tenant})
    lines = ["worker,m365Account,displayName"]
    lines += [f"w{i:03},u{i:03}@big.test,User {i}" for i in range(195)]
    lines += [
        "w900,not-an-email,Bad",
        ",u195@big.test,No worker",
        "w000,u195@big.test,Duplicate worker",
        "w901,nobody@big.test,Unknown",
        "w902,u000@big.test,Duplicate account",
    ]
    csv = "\n".join(lines).encode()
    r = stack.api.post(f"/orgs/{org_id}/workers/batch-link", content=csv, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["totals"]["linked"] == 195 and body["totals"]["rows"] == 200
    bad = {row["row"]: row["error"] for row in body["results"] if row["status"] != "linked"}
    assert sorted(bad) == [196, 197, 198, 199, 200]
    assert bad[196]["field"] == "rows[196].m365Account"
    assert bad[197]["field"] == "rows[197].worker"
    assert "row 1" in bad[198]["message"]
    assert bad[199]["code"] == "account_not_found"
    assert "row 1" in bad[200]["message"]
    assert len([s for s in stack.subscriptions() if s["tenantId"] == tenant]) == 195
    again = stack.api.post(f"/orgs/{org_id}/workers/batch-link", content=csv, headers={"Content-Type": "text/csv"})
    assert again.json()["totals"]["changed"] == 0 and again.json()["totals"]["linked"] == 195
    assert len([s for s in stack.subscriptions() if s["tenantId"] == tenant]) == 195


def test_batch_link_json_and_limits(org: OrgFixture, stack: Stack) -> None:
    rows = [{"worker": "a", "m365Account": f"ada@{D}"}, {"worker": "b", "m365Account": ""}]
    body = stack.api.post(f"/orgs/{org.id}/workers/batch-link", json=rows).json()
    assert [(x["worker"], x["status"]) for x in body["results"]] == [("a", "linked"), ("b", "unlinked")]
    stack.clear_requests(org)
    r = stack.api.post(f"/orgs/{org.id}/workers/batch-link", json=[{"worker": f"x{i}"} for i in range(1001)])
    assert r.status_code == 413 and r.json()["code"] == "batch_too_large"
    assert (
        stack.api.post(
            f"/orgs/{org.id}/workers/batch-link", content=b"worker;account\n", headers={"Content-Type": "text/csv"}
        ).status_code
        == 400
    )
    assert stack.graph_calls(org) == 0


def test_room_resource_push_mode_and_mailbox_in_use(org: OrgFixture, stack: Stack) -> None:
    r = stack.api.put(f"/orgs/{org.id}/resources/r1", json={"mailbox": f"room0@{D}", "kind": "room"}).json()
    assert (r["status"], r["mode"], r["kind"]) == ("linked", "push", "room")
    assert stack.subscriptions(org.users[f"room0@{D}"])
    clash = stack.api.put(f"/orgs/{org.id}/resources/r2", json={"mailbox": f"room0@{D}"})
    assert clash.status_code == 409 and clash.json()["code"] == "mailbox_in_use"
    assert "r1" in clash.json()["detail"] and clash.json()["heldBy"] == {"kind": "resource", "id": "r1"}
    user = stack.api.put(f"/orgs/{org.id}/resources/r3", json={"mailbox": f"bob@{D}"}).json()
    assert user["error"]["code"] == "not_a_resource_mailbox"
    stack.api.put(f"/orgs/{org.id}/settings", json={"allowUserMailboxesAsResources": True})
    assert stack.api.put(f"/orgs/{org.id}/resources/r3", json={"mailbox": f"bob@{D}"}).json()["status"] == "linked"
    assert (
        stack.api.put(f"/orgs/{org.id}/resources/r4", json={"mailbox": f"ghost@{D}"}).json()["error"]["code"]
        == "mailbox_not_found"
    )


def test_a_mailbox_exchange_refuses_us_is_an_error_that_says_why(org: OrgFixture, stack: Stack) -> None:
    """ExtensionError on a subscription: an application access policy or an on-premises
    mailbox (delta would fail too), so the link says so instead of pretending to poll."""
    stack.graph.post(
        "/_emulator/faults",
        json={
            "failNext": [
                {
                    "method": "POST",
                    "pattern": "/subscriptions",
                    "status": 403,
                    "code": "ExtensionError",
                    "message": "Subscriptions are not supported for this mailbox.",
                }
            ]
        },
    )
    r = stack.api.put(f"/orgs/{org.id}/resources/beamer", json={"mailbox": f"beamer@{D}", "kind": "equipment"})
    body = r.json()
    assert r.status_code == 200 and body["status"] == "error" and body["subscription"] is None
    assert body["error"]["code"] == "mailbox_not_accessible" and "access policy" in body["error"]["message"]


def test_resource_quota(org: OrgFixture, stack: Stack) -> None:
    stack.api.put(f"/orgs/{org.id}/settings", json={"maxResources": 1})
    assert stack.api.put(f"/orgs/{org.id}/resources/r1", json={"mailbox": f"room0@{D}"}).json()["status"] == "linked"
    r = stack.api.put(f"/orgs/{org.id}/resources/r2", json={"mailbox": f"room1@{D}"})
    assert r.status_code == 409 and r.json()["code"] == "resource_quota_exceeded"
    # Relinking the one that counts already is fine.
    assert stack.api.put(f"/orgs/{org.id}/resources/r1", json={"mailbox": f"room0@{D}"}).status_code == 200


def test_import_rooms_and_equipment_then_unchanged(org: OrgFixture, stack: Stack) -> None:
    first = stack.import_resources(org.id)
    got = {(r["mailbox"], r["kind"], r["group"], r["outcome"], r["status"]) for r in first["results"]}
    assert got == {
        (f"room0@{D}", "room", "All rooms", "created", "linked"),
        (f"room1@{D}", "room", "All rooms", "created", "linked"),
        (f"beamer@{D}", "equipment", None, "created", "linked"),
    }
    listed = stack.api.get(f"/orgs/{org.id}/resources").json()["resources"]
    assert len(listed) == 3 and all(r["subscription"] for r in listed)
    second = stack.import_resources(org.id)
    assert second["totals"] == {"created": 0, "updated": 0, "unchanged": 3, "skipped": 0}


def test_import_keeps_a_resource_linked_by_hand(org: OrgFixture, stack: Stack) -> None:
    stack.api.put(f"/orgs/{org.id}/resources/big-room", json={"mailbox": f"room1@{D}"})
    result = stack.import_resources(org.id)
    mine = next(r for r in result["results"] if r["mailbox"] == f"room1@{D}")
    assert mine["resource"] == "big-room" and mine["outcome"] == "updated"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "field"),
    [
        ("PUT", "/orgs/{org}/workers/w1", {"content": b"{not json"}, 400, "body"),
        ("PUT", "/orgs/{org}/workers/w1", {"json": {"m365Account": "not-an-email"}}, 400, "m365Account"),
        ("PUT", "/orgs/{org}/workers/w1", {"json": {"m365Account": 42}}, 400, "m365Account"),
        ("PUT", "/orgs/{org}/workers/w1", {"json": {"m365Account": "a@b.co", "colour": 1}}, 400, "colour"),
        ("PUT", "/orgs/{org}/workers/w1", {"json": {"restricted": "yes"}}, 400, "restricted"),
        ("PUT", "/orgs/{org}/resources/r1", {"json": {"mailbox": "room0@fabrikam.test", "kind": "car"}}, 400, "kind"),
        ("PUT", "/orgs/{org}", {"json": {"m365TenantId": "not-a-guid"}}, 400, "m365TenantId"),
        ("GET", "/orgs/{org}/workers", {"params": {"limit": "0"}}, 400, "limit"),
        ("GET", "/orgs/{org}/workers", {"params": {"status": "happy"}}, 400, "status"),
        ("PUT", "/orgs/nope-org/workers/w1", {"json": {"m365Account": "a@b.co"}}, 404, None),
        ("GET", "/orgs/nope-org", {}, 404, None),
    ],
)
def test_bad_input_is_4xx_and_calls_no_graph(
    org: OrgFixture, stack: Stack, method: str, path: str, kwargs: dict, status: int, field: str | None
) -> None:
    stack.clear_requests(org)
    r = stack.api.request(method, path.replace("{org}", org.id), **kwargs)
    assert r.status_code == status, r.text
    problem = r.json()
    assert problem["status"] == status and problem["code"] and problem["detail"]
    if field:
        assert problem["field"] == field
    assert stack.graph_calls(org) == 0
    assert stack.api.get(f"/orgs/{org.id}/workers").json()["workers"] == []


def test_delete_org_removes_links_and_subscriptions(org: OrgFixture, stack: Stack) -> None:
    stack.api.put(f"/orgs/{org.id}/workers/w1", json={"m365Account": f"ada@{D}"})
    stack.api.put(f"/orgs/{org.id}/resources/r1", json={"mailbox": f"room0@{D}"})
    assert len([s for s in stack.subscriptions() if s["tenantId"] == org.tenant]) == 2
    pushed = stack.api.put(
        f"/orgs/{org.id}/appointments/a1",
        json={
            "title": "Kept in Outlook",
            "start": "2027-01-05T10:00:00",
            "end": "2027-01-05T11:00:00",
            "organizer": "w1",
        },
    )
    assert pushed.status_code == 200
    r = stack.api.delete(f"/orgs/{org.id}")
    assert r.status_code == 200 and r.json()["subscriptionsDeleted"] == 2
    assert [s for s in stack.subscriptions() if s["tenantId"] == org.tenant] == []
    assert stack.api.get(f"/orgs/{org.id}").status_code == 404
    # The mailboxes are free for a new org with the same tenant, and nothing of the old one is left.
    stack.api.put(f"/orgs/{org.id}", json={"m365TenantId": org.tenant})
    assert stack.api.put(f"/orgs/{org.id}/workers/w2", json={"m365Account": f"ada@{D}"}).json()["status"] == "linked"
    assert stack.api.get(f"/orgs/{org.id}/appointments/a1").status_code == 404
    assert stack.api.get(f"/orgs/{org.id}/workers").json()["workers"][0]["worker"] == "w2"
    assert stack.api.get(f"/orgs/{org.id}/changes").json()["changes"] == []


def table(stack: Stack, name: str) -> TableClient:
    client = TableClient.from_connection_string(stack.storage, f"{stack.prefix}{name}")
    try:
        client.create_table()
    except ResourceExistsError:
        pass
    return client


@pytest.mark.parametrize("holder", ["worker that does not exist", "worker now on another mailbox"])
def test_a_claim_left_behind_does_not_block_linking_the_mailbox(org: OrgFixture, stack: Stack, holder: str) -> None:
    ada = org.users[f"ada@{D}"]
    if holder == "worker now on another mailbox":
        assert stack.api.put(f"/orgs/{org.id}/workers/w-old", json={"m365Account": f"bob@{D}"}).json()["status"] == (
            "linked"
        )
    owner = "w-old" if holder == "worker now on another mailbox" else "w-gone"
    # What an interrupted link leaves: the claim row of (org, ada's user id), held by `owner`.
    with table(stack, "Mailboxes") as claims:
        claims.create_entity(
            {"PartitionKey": encode_key(org.id), "RowKey": encode_key(ada), "owner_kind": "worker", "owner_id": owner}
        )
        r = stack.api.put(f"/orgs/{org.id}/workers/w-new", json={"m365Account": f"ada@{D}"})
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["m365UserId"]) == ("linked", ada)
        assert [s["id"] for s in stack.subscriptions(ada)] == [r.json()["subscription"]["id"]]
        claim = claims.get_entity(encode_key(org.id), encode_key(ada))
        assert (claim["owner_kind"], claim["owner_id"]) == ("worker", "w-new")
    # The claim is w-new's now: it holds against others.
    clash = stack.api.put(f"/orgs/{org.id}/workers/w-other", json={"m365Account": f"ada@{D}"})
    assert clash.status_code == 409 and clash.json()["heldBy"] == {"kind": "worker", "id": "w-new"}
    if owner == "w-old":
        old = stack.api.get(f"/orgs/{org.id}/workers/w-old").json()
        assert (old["status"], old["m365UserId"]) == ("linked", org.users[f"bob@{D}"])


def test_concurrent_settings_updates_lose_nothing(org: OrgFixture, stack: Stack) -> None:
    updates: list[dict[str, Any]] = [
        {"syncMode": "oneWay"},
        {"pushAppointmentsByDefault": False},
        {"useOrganizer": False},
        {"createFromOutlook": False},
        {"createPrefix": "[B]"},
        {"restrictedEdit": "ignore"},
        {"restrictedDelete": "ignore"},
        {"maxResources": 7},
        {"allowUserMailboxesAsResources": True},
        {"webhookUrl": "https://booking.example/hook", "webhookSecret": "whsec_Y2Fsc3luYy1saW5raW5nLXNlY3JldC0x"},
    ]
    start = Barrier(len(updates))
    url = f"{stack.api.base_url}orgs/{org.id}/settings"

    def put(body: dict[str, Any]) -> httpx.Response:
        with httpx.Client(headers=stack.api.headers, timeout=60) as client:
            start.wait()
            return client.put(url, json=body)

    with ThreadPoolExecutor(len(updates)) as pool:
        answers = list(pool.map(put, updates))
    assert sorted({a.status_code for a in answers} - {200, 409}) == [], [(a.status_code, a.text) for a in answers]
    final = stack.api.get(f"/orgs/{org.id}/settings").json()
    for body, answer in zip(updates, answers, strict=True):
        if answer.status_code == 200:
            for key, value in body.items():
                assert final[key if key != "webhookSecret" else "webhookSecretSet"] == (
                    value if key != "webhookSecret" else True
                ), (key, final)


def rows_of(stack: Stack, org: str, jobs: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Every row, in every table of the app (its prefix), that belongs to the org: in its
    partition, naming it in an `org` column or as the first part of its RowKey, or of one of
    its jobs."""
    values = {"org": org, **{f"j{i}": job for i, job in enumerate(jobs)}}
    # RowKeys that start with the org: "<org>|" up to (not including) "<org>}" ("|" + 1).
    values |= {"rk_from": encode_key(org) + "|", "rk_to": encode_key(org) + "}"}
    clauses = ["PartitionKey eq @pk", "org eq @org", "( RowKey ge @rk_from and RowKey lt @rk_to )"]
    clauses += [f"PartitionKey eq @j{i} or job eq @j{i}" for i in range(len(jobs))]
    found: dict[str, list[tuple[str, str]]] = {}
    with TableServiceClient.from_connection_string(stack.storage) as service:
        names = [t.name for t in service.list_tables() if t.name.startswith(stack.prefix)]
        for name in names:
            rows = service.get_table_client(name).query_entities(
                " or ".join(clauses), parameters={"pk": encode_key(org), **values}
            )
            keys = [(r["PartitionKey"], r["RowKey"]) for r in rows]
            if keys:
                found[name[len(stack.prefix) :]] = keys
    return found


def test_delete_org_leaves_no_row_of_it_in_any_table(linked: OrgFixture, stack: Stack) -> None:
    ada = linked.users[f"ada@{D}"]
    since = now()
    meeting = stack.api.put(
        f"/orgs/{linked.id}/appointments/a1",
        json={
            "title": "Review",
            "start": f"{DAY}T18:00:00",
            "end": f"{DAY}T19:00:00",
            "timeZone": "UTC",
            "organizer": "w-ada",
            "attendees": ["w-bob"],
            "resources": ["r-room0"],
        },
    ).json()["targets"][0]["eventId"]
    r = stack.api.post(f"/orgs/{linked.id}/workers/w-ada/push-calendar", json={"appointments": bulk(25)})
    assert r.status_code == 202, r.text
    job = r.json()["job"]
    assert wait_job(stack, linked, job)["succeeded"] == 25
    pushed = [stack.api.get(f"/orgs/{linked.id}/appointments/bulk-{i}").json() for i in range(25)]
    stack.notified_round(linked, "w-ada", since, event_id=pushed[-1]["targets"][0]["eventId"])
    with graph(stack, linked) as g:
        assert g.patch(f"/users/{ada}/events/{meeting}", json={"subject": "Moved in Outlook"}).status_code == 200
        wait_for(stack, linked, lambda f: any(c["type"] == "updated" for c in f))  # a change in the feed
        # The job's events deleted in Outlook, read by one round: the guard holds the deletions.
        stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})
        try:
            for appt in pushed:
                assert g.delete(f"/users/{ada}/events/{appt['targets'][0]['eventId']}").status_code == 204
        finally:
            stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    asked = now()
    sub = stack.link(linked, "w-ada")["subscription"]["id"]
    stack.graph.post(f"/_emulator/subscriptions/{sub}/lifecycle", json={"lifecycleEvent": "missed"})
    assert stack.notified_round(linked, "w-ada", asked, lifecycle_event="missed")["attention"]["heldDeletions"] == 25
    stack.wait_idle(linked)
    assert len(changes(stack, linked)) >= 1
    stack.api.put(f"/orgs/{linked.id}/settings", json={"roomCheckIn": True}).raise_for_status()
    before = rows_of(stack, linked.id, [job])
    expected = {"Orgs", "Workers", "Resources", "Mailboxes", "Subscriptions", "Appointments", "Targets"}
    expected |= {"EventIndex", "Seen", "Feed", "Held", "Jobs", "JobChunks", "RoomHolds"}
    assert expected <= set(before), sorted(before)  # the org has something in each of them

    r = stack.api.delete(f"/orgs/{linked.id}")
    assert r.status_code == 200 and r.json()["deleted"] is True
    assert rows_of(stack, linked.id, [job]) == {}


DEEP = b"[" * 5000 + b"]" * 5000


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/orgs/{org}"),
        ("PUT", "/orgs/{org}/settings"),
        ("PUT", "/orgs/{org}/workers/w-deep"),
        ("POST", "/orgs/{org}/workers/batch-link"),
        ("PUT", "/orgs/{org}/resources/r-deep"),
        ("PUT", "/orgs/{org}/appointments/a-deep"),
        ("POST", "/orgs/{org}/workers/w-deep/push-calendar"),
        ("POST", "/graph/notifications"),
    ],
)
def test_a_body_nested_5000_deep_is_400_and_writes_nothing(
    org: OrgFixture, stack: Stack, method: str, path: str
) -> None:
    target = path.format(org=org.id if "settings" in path or "/orgs/{org}/" in path else f"{org.id}-deep")
    settings = stack.api.get(f"/orgs/{org.id}/settings").json()
    r = stack.api.request(method, target, content=DEEP, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json") and r.json()["field"] == "body"
    assert stack.api.get(f"/orgs/{org.id}-deep").status_code == 404
    assert stack.api.get(f"/orgs/{org.id}/workers/w-deep").status_code == 404
    assert stack.api.get(f"/orgs/{org.id}/resources/r-deep").status_code == 404
    assert stack.api.get(f"/orgs/{org.id}/appointments/a-deep").status_code == 404
    assert stack.api.get(f"/orgs/{org.id}/settings").json() == settings


def test_a_put_with_the_same_account_stores_a_new_name_and_restriction(org: OrgFixture, stack: Stack) -> None:
    first = stack.api.put(f"/orgs/{org.id}/workers/dan", json={"m365Account": f"dee@{D}"})
    assert first.json()["status"] == "linked"
    stack.clear_requests(org)
    again = stack.api.put(
        f"/orgs/{org.id}/workers/dan", json={"m365Account": f"dee@{D}", "displayName": "Dan", "restricted": True}
    )
    assert (again.json()["displayName"], again.json()["restricted"]) == ("Dan", True)
    stored = stack.api.get(f"/orgs/{org.id}/workers/dan").json()
    assert (stored["displayName"], stored["restricted"]) == ("Dan", True)
    assert stack.graph_calls(org) == 0


def test_an_import_stores_what_it_reports_so_a_second_run_is_unchanged(org: OrgFixture, stack: Stack) -> None:
    stack.api.put(f"/orgs/{org.id}/resources/big-room", json={"mailbox": f"room1@{D}"})
    first = stack.import_resources(org.id)
    mine = next(r for r in first["results"] if r["mailbox"] == f"room1@{D}")
    assert (mine["resource"], mine["outcome"], mine["group"]) == ("big-room", "updated", "All rooms")
    assert stack.api.get(f"/orgs/{org.id}/resources/big-room").json()["group"] == "All rooms"
    second = stack.import_resources(org.id)
    assert next(r for r in second["results"] if r["mailbox"] == f"room1@{D}")["outcome"] == "unchanged"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/nothing-here"),
        ("POST", "/api/orgs/x/workers/y/unknown"),
        ("GET", "/api"),
        # A doubled slash (a client's base URL ending in "/") is no route: found from outside,
        # it was a 405 that said "takes POST, not POST".
        ("POST", "/api//orgs/x/suggestions"),
        ("GET", "/api//health"),
    ],
)
def test_an_unknown_route_is_a_404_problem(stack: Stack, method: str, path: str) -> None:
    with httpx.Client(base_url=stack.app_url, timeout=30) as anyone:  # no key: it still says only "no route"
        r = anyone.request(method, path)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert r.json()["code"] == "route_not_found" and method in r.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/health", "GET"),
        ("PATCH", "/api/orgs/x/workers/y", "DELETE, GET, PUT"),
        ("POST", "/api/orgs", "GET"),
    ],
)
def test_a_known_path_with_another_method_is_a_405_that_says_which(
    stack: Stack, method: str, path: str, allowed: str
) -> None:
    with httpx.Client(base_url=stack.app_url, timeout=30) as anyone:
        r = anyone.request(method, path)
    assert r.status_code == 405 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert r.headers["allow"] == allowed and r.json()["code"] == "method_not_allowed"


def test_a_missing_or_wrong_key_is_a_401_problem(org: OrgFixture, stack: Stack) -> None:
    for headers in ({}, {"x-functions-key": "wrong"}):
        with httpx.Client(base_url=stack.app_url, headers=headers, timeout=30) as caller:
            r = caller.get(f"/api/orgs/{org.id}")
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert r.json()["code"] == "unauthorized" and org.id not in r.text
    assert stack.api.get(f"/orgs/{org.id}").status_code == 200  # the right key still works
