"""Contract: tokens, tenants, users, mailbox settings and places, through msgraph-sdk.

Every test names the documentation it checks (paths in microsoftgraph/microsoft-graph-docs-contrib,
or a section of ../shared/GRAPH-FACTS.md), or says where the docs are silent and the emulator chose.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from devtools.graph_emulator.core.world import DEMO_TENANT_ID, demo_seed
from tests.emulator.conftest import Tenant, tenant_doc

GUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
EVENTUAL = {"ConsistencyLevel": "eventual"}

# Mailboxes whose mail is not their UPN (GRAPH-FACTS §3.7), seeded into the test tenant.
EVE = {
    "userPrincipalName": "evew@fabrikam.onmicrosoft.test",
    "displayName": "Eve Wong",
    "mail": "eve.wong@fabrikam.test",
    "proxyAddresses": ["SMTP:eve.wong@fabrikam.test", "smtp:eve@fabrikam.test", "smtp:ewong@sales.fabrikam.test"],
}
HALL = {
    "userPrincipalName": "hall@fabrikam.onmicrosoft.test",
    "displayName": "Great Hall",
    "userPurpose": "room",
    "capacity": 80,
    "mail": "great.hall@fabrikam.test",
    "proxyAddresses": ["SMTP:great.hall@fabrikam.test", "smtp:hall@fabrikam.test"],
}


async def seed_more(tenant: Tenant, *users: dict[str, Any], room_lists: list | None = None) -> dict[str, str]:
    doc = {"id": tenant.id, "users": list(users), "roomLists": room_lists or []}
    seeded = (await tenant.control.post("/_emulator/seed", json={"tenants": [doc]})).json()
    return {u["userPrincipalName"]: u["id"] for u in seeded["tenants"][0]["users"]}


async def test_no_or_bad_token_is_401(tenant: Tenant) -> None:
    # concepts/errors.md: 401 "Required authentication information is either missing or not
    # valid". The code InvalidAuthenticationToken is what Graph sends (docs silent on the code).
    async with httpx.AsyncClient(base_url=f"{tenant.base}/v1.0") as raw:
        r = await raw.get("/users")
        assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"
        r = await raw.get("/users", headers={"Authorization": "Bearer something-else"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"
    async with tenant.raw(str(uuid.uuid4())) as raw:
        assert (await raw.get("/users")).status_code == 401


async def test_unknown_tenant_through_the_sdk(tenant: Tenant) -> None:
    # Docs silent (in production the token request of a tenant that never consented fails,
    # concepts/auth-v2-service.md); emulator choice: 401 InvalidAuthenticationToken.
    other = Tenant(str(uuid.uuid4()), {}, tenant.base, tenant.control)
    with pytest.raises(ODataError) as err:
        await other.client().users.get()
    assert err.value.response_status_code == 401
    assert err.value.error.code == "InvalidAuthenticationToken"


async def test_get_user_by_id_and_upn_with_select(tenant: Tenant) -> None:
    # api-reference/v1.0/api/user-get.md: GET /users/{id | userPrincipalName}; by default the
    # eleven default properties (example 1); with $select exactly the selected ones — example 3
    # selects no id and gets none (this test used to expect an id: an emulator convenience).
    client = tenant.client()
    by_upn = await client.users.by_user_id("ada@fabrikam.test").get()
    assert by_upn.id == tenant.uid("ada") and by_upn.mail == "ada@fabrikam.test"
    assert by_upn.id.count("-") == 4
    assert by_upn.proxy_addresses is None  # resources/user.md: proxyAddresses "Returned only on $select"
    cfg = RequestConfiguration(
        query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=["displayName"])
    )
    by_id = await client.users.by_user_id(tenant.uid("ada")).get(request_configuration=cfg)
    assert by_id.display_name == "Ada Test" and by_id.mail is None and by_id.id is None
    async with tenant.raw() as raw:
        r = await raw.get(f"/users/{tenant.uid('ada')}")
        assert set(r.json()) - {"@odata.context"} == {
            "businessPhones",
            "displayName",
            "givenName",
            "id",
            "jobTitle",
            "mail",
            "mobilePhone",
            "officeLocation",
            "preferredLanguage",
            "surname",
            "userPrincipalName",
        }
        r = await raw.get(f"/users/{tenant.uid('ada')}", params={"$select": "id,displayName"})
        assert r.json()["@odata.context"].endswith("$metadata#users(id,displayName)/$entity")


async def test_mail_and_proxy_addresses_of_a_user_whose_mail_is_not_the_upn(tenant: Tenant) -> None:
    # resources/user.md: mail is "The SMTP address for the user"; proxyAddresses like
    # ["SMTP: bob@contoso.com", "smtp: bob@sales.contoso.com"], the `SMTP` (capitalized) one
    # primary, `smtp` secondary, "Returned only on $select". user-get.md: the key is an id or a
    # userPrincipalName — the mail address of such a user is 404 (GRAPH-FACTS §3.7).
    ids = await seed_more(tenant, EVE)
    eve = ids[EVE["userPrincipalName"]]
    client = tenant.client()
    got = await client.users.by_user_id(EVE["userPrincipalName"]).get()
    assert (got.id, got.mail, got.user_principal_name) == (eve, EVE["mail"], EVE["userPrincipalName"])
    cfg = RequestConfiguration(
        query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(
            select=["id", "mail", "proxyAddresses"]
        )
    )
    got = await client.users.by_user_id(eve).get(request_configuration=cfg)
    assert got.proxy_addresses == EVE["proxyAddresses"]
    # Default proxy addresses of a plain user: the primary SMTP address is the mail.
    ada = await client.users.by_user_id(tenant.uid("ada")).get(request_configuration=cfg)
    assert ada.proxy_addresses == ["SMTP:ada@fabrikam.test"]
    for key in (EVE["mail"], "eve@fabrikam.test"):
        with pytest.raises(ODataError) as err:
            await client.users.by_user_id(key).get()
        assert err.value.response_status_code == 404
        assert err.value.error.code == "Request_ResourceNotFound"
    # The same holds for the mailbox's own resources (user-list-events.md: /users/{id | userPrincipalName}).
    with pytest.raises(ODataError) as err:
        await client.users.by_user_id(EVE["mail"]).events.get()
    assert err.value.response_status_code == 404


async def test_find_a_user_by_mail_or_by_proxy_address(tenant: Tenant) -> None:
    # api-reference/v1.0/api/user-list.md; resources/user.md (mail: $filter eq …; proxyAddresses:
    # $filter eq …); includes/filter-directory-objects.md: `eq` on mail and proxyAddresses
    # works by default, no advanced query parameters; concepts/filter-query-parameter.md,
    # "any operator": `collection/any(p:p eq 'value')`.
    ids = await seed_more(tenant, EVE)
    eve = ids[EVE["userPrincipalName"]]
    client = tenant.client()

    async def find(flt: str) -> list[str]:
        q = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(filter=flt, select=["id", "mail"])
        found = await client.users.get(request_configuration=RequestConfiguration(query_parameters=q))
        return [u.id for u in found.value]

    assert await find("mail eq 'eve.wong@fabrikam.test'") == [eve]
    assert await find("mail eq 'eve@fabrikam.test'") == []  # an alias is not the mail
    assert await find("proxyAddresses/any(p:p eq 'smtp:eve@fabrikam.test')") == [eve]
    assert await find("proxyAddresses/any(p:p eq 'smtp:ewong@sales.fabrikam.test')") == [eve]
    assert await find("proxyAddresses/any(p:p eq 'SMTP:eve.wong@fabrikam.test')") == [eve]
    assert await find("userPrincipalName eq 'evew@fabrikam.onmicrosoft.test'") == [eve]
    both = await find("mail in ('eve.wong@fabrikam.test', 'bob@fabrikam.test')")  # `in`: default where `eq` is
    assert sorted(both) == sorted([eve, tenant.uid("bob")])


async def test_advanced_query_operators_need_consistency_level_and_count(tenant: Tenant) -> None:
    # concepts/aad-advanced-queries.md: `ne`, `not`, `endsWith` and `/$count` in a filter on
    # directory objects need the ConsistencyLevel: eventual header *and* $count=true; without
    # them: 400 Request_UnsupportedQuery "Operator 'endsWith' is not supported because the
    # required parameters might be missing…". With $count=true and the header the answer has
    # @odata.count; without the header $count is silently ignored. concepts/filter-query-parameter.md
    # marks lambdas with functions (`businessPhones/any(p:startswith(p, '44'))`,
    # `proxyAddresses/any(p:endswith(p,'contoso.com'))`) as advanced-only.
    ids = await seed_more(tenant, EVE)
    eve = ids[EVE["userPrincipalName"]]
    async with tenant.raw() as raw:
        for flt in (
            "mail ne 'ada@fabrikam.test'",
            "not(mail eq 'ada@fabrikam.test')",
            "endswith(mail,'@sales.fabrikam.test')",
            "proxyAddresses/any(p:endswith(p,'@sales.fabrikam.test'))",
            "proxyAddresses/any(p:startswith(p,'smtp:ewong'))",
            "proxyAddresses/$count eq 0",
        ):
            for params, headers in (({}, {}), ({"$count": "true"}, {}), ({}, EVENTUAL)):
                r = await raw.get("/users", params={"$filter": flt, **params}, headers=headers)
                assert r.status_code == 400, (flt, params, headers)
                assert r.json()["error"]["code"] == "Request_UnsupportedQuery"
                assert "ConsistencyLevel:eventual" in r.json()["error"]["message"]
        r = await raw.get(
            "/users",
            params={"$filter": "proxyAddresses/any(p:endswith(p,'@sales.fabrikam.test'))", "$count": "true"},
            headers=EVENTUAL,
        )
        assert r.status_code == 200 and [u["id"] for u in r.json()["value"]] == [eve]
        assert r.json()["@odata.count"] == 1
        r = await raw.get(
            "/users", params={"$filter": "mail ne 'ada@fabrikam.test'", "$count": "true"}, headers=EVENTUAL
        )
        assert tenant.uid("ada") not in {u["id"] for u in r.json()["value"]} and r.json()["@odata.count"] >= 5
        r = await raw.get("/users", params={"$count": "true"})  # no header: $count ignored, no error
        assert r.status_code == 200 and "@odata.count" not in r.json()
        # $search only with ConsistencyLevel (aad-advanced-queries.md, "Error handling").
        r = await raw.get("/users", params={"$search": '"displayName:eve"'})
        assert r.status_code == 400 and r.json()["error"]["code"] == "Request_UnsupportedQuery"
        r = await raw.get("/users", params={"$search": '"displayName:eve"'}, headers=EVENTUAL)
        assert [u["id"] for u in r.json()["value"]] == [eve]


async def test_lambda_all_and_operators_users_do_not_support_are_400(tenant: Tenant) -> None:
    # concepts/filter-query-parameter.md, "all operator": "Currently, it isn't supported in
    # Microsoft Graph." includes/filter-directory-objects.md lists no gt, lt or contains for
    # user properties; the emulator refuses them even with advanced query parameters.
    async with tenant.raw() as raw:
        for flt in ("proxyAddresses/all(p:p eq 'smtp:x@y')", "mail gt 'a'", "contains(mail,'ada')"):
            r = await raw.get("/users", params={"$filter": flt, "$count": "true"}, headers=EVENTUAL)
            assert r.status_code == 400 and r.json()["error"]["code"] == "Request_UnsupportedQuery", flt


async def test_list_users_with_filter_and_paging(tenant: Tenant) -> None:
    # api-reference/v1.0/api/user-list.md ($filter, $top); concepts/paging.md (follow
    # @odata.nextLink to the end). `eq` comparing 'BOB@…' to 'bob@…' as equal: docs silent on
    # case; emulator choice (the directory compares addresses case-insensitively).
    client = tenant.client()
    q = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(filter="mail eq 'BOB@fabrikam.test'")
    found = await client.users.get(request_configuration=RequestConfiguration(query_parameters=q))
    assert [u.id for u in found.value] == [tenant.uid("bob")]
    q = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        filter="userPrincipalName eq 'cyd@fabrikam.test' or mail eq 'dee@fabrikam.test'"
    )
    found = await client.users.get(request_configuration=RequestConfiguration(query_parameters=q))
    assert sorted(u.id for u in found.value) == sorted([tenant.uid("cyd"), tenant.uid("dee")])
    q = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=3)
    page = await client.users.get(request_configuration=RequestConfiguration(query_parameters=q))
    seen = [u.id for u in page.value]
    while page.odata_next_link:
        page = await client.users.with_url(page.odata_next_link).get()
        seen += [u.id for u in page.value]
    assert sorted(seen) == sorted(tenant.users.values())


async def test_advanced_paging_needs_the_header_on_every_page(tenant: Tenant) -> None:
    # concepts/paging.md: "any additional request headers such as the ConsistencyLevel header
    # are not included by default in subsequent page requests … you must set them explicitly";
    # "@odata.count … will be present only in the first page".
    async with tenant.raw() as raw:
        params = {"$filter": "mail ne 'nobody@fabrikam.test'", "$count": "true", "$top": "3"}
        first = (await raw.get("/users", params=params, headers=EVENTUAL)).json()
        assert first["@odata.count"] >= 5 and first["@odata.nextLink"]
        assert (await raw.get(first["@odata.nextLink"])).status_code == 400
        second = (await raw.get(first["@odata.nextLink"], headers=EVENTUAL)).json()
        assert "@odata.count" not in second and second["value"]


async def test_seeded_addresses_have_the_documented_shape(tenant: Tenant) -> None:
    # Control API (emulator choice), held to resources/user.md: one primary `SMTP:` address
    # that is the mail, `type:address` entries. An address two users share is accepted (less
    # forgiving: Exchange refuses it, but FACTS §3.7 says a look-up can find several users, and
    # apps must meet that): a filter finds both, and an invitation to it reaches neither.
    bad = [
        {"mail": "x@fabrikam.test", "proxyAddresses": ["smtp:x@fabrikam.test"]},  # no primary
        {"mail": "x@fabrikam.test", "proxyAddresses": ["SMTP:y@fabrikam.test"]},  # primary is not the mail
        {"proxyAddresses": ["SMTP:x4@fabrikam.test", "x4@fabrikam.test"]},  # not type:address
        {"proxyAddresses": ["SMTP:a@fabrikam.test", "SMTP:b@fabrikam.test"]},  # two primaries
    ]
    for i, user in enumerate(bad):
        user = {"userPrincipalName": f"x{i}@fabrikam.test", **user}
        r = await tenant.control.post("/_emulator/seed", json={"tenants": [{"id": tenant.id, "users": [user]}]})
        assert r.status_code == 400, user
    ids = await seed_more(
        tenant,
        {"userPrincipalName": "fay@fabrikam.test", "mail": "fay.fox@fabrikam.test"},
        {
            "userPrincipalName": "gil@fabrikam.test",
            "proxyAddresses": ["SMTP:gil@fabrikam.test", "smtp:desk@fabrikam.test"],
        },
        {
            "userPrincipalName": "hal@fabrikam.test",
            "proxyAddresses": ["SMTP:hal@fabrikam.test", "smtp:desk@fabrikam.test"],
        },
    )
    async with tenant.raw() as raw:
        r = await raw.get(f"/users/{ids['fay@fabrikam.test']}", params={"$select": "mail,proxyAddresses"})
        assert r.json()["mail"] == "fay.fox@fabrikam.test"
        assert r.json()["proxyAddresses"] == ["SMTP:fay.fox@fabrikam.test"]
        r = await raw.get("/users", params={"$filter": "proxyAddresses/any(p:p eq 'smtp:desk@fabrikam.test')"})
        assert sorted(u["userPrincipalName"] for u in r.json()["value"]) == ["gil@fabrikam.test", "hal@fabrikam.test"]
        meeting = {
            "subject": "Who gets it?",
            "start": {"dateTime": "2030-01-01T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-01-01T11:00:00", "timeZone": "UTC"},
            "attendees": [{"emailAddress": {"address": "desk@fabrikam.test"}, "type": "required"}],
        }
        assert (await raw.post(f"/users/{tenant.uid('ada')}/events", json=meeting)).status_code == 201
        for upn in ("gil@fabrikam.test", "hal@fabrikam.test"):
            assert (await raw.get(f"/users/{ids[upn]}/events")).json()["value"] == []
    r = await tenant.control.patch(f"/_emulator/users/{ids['fay@fabrikam.test']}", json={"mail": "fay@fabrikam.test"})
    assert r.json()["proxyAddresses"] == ["SMTP:fay@fabrikam.test", "smtp:fay.fox@fabrikam.test"]


async def test_the_demo_tenant_keeps_its_users_and_adds_mail_not_upn_ones(tenant: Tenant) -> None:
    # GRAPH-FACTS §3.7 (mail ≠ UPN is common); the demo's existing UPNs stay as they are.
    seeded = (await tenant.control.post("/_emulator/seed", json=demo_seed())).json()["tenants"][0]
    upns = {u["userPrincipalName"]: u["mail"] for u in seeded["users"]}
    for upn in (
        "adele.vance@contoso.com",
        "alex.wilber@contoso.com",
        "room.fuji@contoso.com",
        "room.kilimanjaro@contoso.com",
        "room.matterhorn@contoso.com",
        "projector.1@contoso.com",
    ):
        assert upns[upn] == upn
    different = {upn: mail for upn, mail in upns.items() if mail.lower() != upn.lower()}
    assert len(different) >= 3
    demo = Tenant(DEMO_TENANT_ID, {}, tenant.base, tenant.control)
    rooms = (await demo.client().places.graph_room.get()).value
    everest = next(r for r in rooms if r.display_name == "Everest")
    assert everest.email_address == "everest@contoso.com" == different["room.everest@contoso.onmicrosoft.com"]
    async with demo.raw() as raw:
        assert (await raw.get("/users/everest@contoso.com")).status_code == 404
        r = await raw.get("/users", params={"$filter": "mail eq 'everest@contoso.com'", "$select": "id,userPurpose"})
        assert len(r.json()["value"]) == 1
        r = await raw.get("/users", params={"$filter": "proxyAddresses/any(p:p eq 'smtp:miriam@contoso.net')"})
        assert [u["userPrincipalName"] for u in r.json()["value"]] == ["miriamg@contoso.onmicrosoft.com"]


async def test_tenant_isolation(tenant: Tenant) -> None:
    # concepts/auth-v2-service.md: a token is for one tenant; users of another tenant are not
    # found (the 404 is the emulator's choice; docs silent on cross-tenant keys).
    other_id = str(uuid.uuid4())
    doc = tenant_doc(other_id, domain="other.test")
    seeded = (await tenant.control.post("/_emulator/seed", json={"tenants": [doc]})).json()
    foreign = next(u["id"] for u in seeded["tenants"][0]["users"] if u["userPrincipalName"] == "ada@other.test")
    client = tenant.client()
    for key in (foreign, "ada@other.test"):
        with pytest.raises(ODataError) as err:
            await client.users.by_user_id(key).get()
        assert err.value.response_status_code == 404
    with pytest.raises(ODataError) as err:
        await client.users.by_user_id(foreign).events.get()
    assert err.value.response_status_code == 404
    listed = await client.users.get()
    assert foreign not in {u.id for u in listed.value}


async def test_mailbox_settings_and_user_purpose(tenant: Tenant) -> None:
    # api-reference/v1.0/api/user-get-mailboxsettings.md: GET …/mailboxSettings and
    # …/mailboxSettings/userPurpose → {"value": "room" | "equipment" | …}.
    client = tenant.client()
    settings = await client.users.by_user_id(tenant.uid("room0")).mailbox_settings.get()
    assert settings.user_purpose.value == "room"
    async with tenant.raw() as raw:
        r = await raw.get(f"/users/{tenant.uid('beamer')}/mailboxSettings/userPurpose")
        assert r.status_code == 200 and r.json()["value"] == "equipment"


async def test_user_without_mailbox_answers_calendar_calls_with_graphs_error(tenant: Tenant) -> None:
    # Docs silent on the error for a user without an Exchange Online mailbox; Exchange answers
    # 404 MailboxNotEnabledForRESTAPI (emulator choice, as seen from Graph).
    client = tenant.client()
    assert (await client.users.by_user_id("nomail@fabrikam.test").get()).mail is None
    with pytest.raises(ODataError) as err:
        await client.users.by_user_id("nomail@fabrikam.test").events.get()
    assert err.value.error.code == "MailboxNotEnabledForRESTAPI"
    with pytest.raises(ODataError) as err:
        await client.users.by_user_id("nomail@fabrikam.test").mailbox_settings.get()
    assert err.value.error.code == "MailboxNotEnabledForRESTAPI"


async def test_places_rooms_room_lists_and_rooms_in_a_list(tenant: Tenant) -> None:
    # api-reference/v1.0/api/place-list.md: /places/microsoft.graph.room, …/microsoft.graph.roomlist,
    # /places/{room-list-emailaddress}/microsoft.graph.roomlist/rooms ("you must specify the room
    # list by its emailAddress property, not by its id"); resources/room.md: emailAddress,
    # displayName, capacity, bookingType; the room's id is a place id, not the mailbox's user id.
    ids = await seed_more(
        tenant, HALL, room_lists=[{"emailAddress": "rooms@fabrikam.test", "rooms": ["great.hall@fabrikam.test"]}]
    )
    client = tenant.client()
    rooms = await client.places.graph_room.get()
    assert sorted(r.email_address for r in rooms.value) == [
        "great.hall@fabrikam.test",  # the room's mail, not its UPN
        "room0@fabrikam.test",
        "room1@fabrikam.test",
    ]
    room = next(r for r in rooms.value if r.email_address == "room1@fabrikam.test")
    assert (room.display_name, room.capacity, room.booking_type.value) == ("Room 1", 5, "standard")
    assert room.id != tenant.uid("room1")  # a place id is not the mailbox's user id
    hall = next(r for r in rooms.value if r.email_address == "great.hall@fabrikam.test")
    assert hall.display_name == "Great Hall" and hall.id != ids[HALL["userPrincipalName"]]
    lists = await client.places.graph_room_list.get()
    assert [rl.email_address for rl in lists.value] == ["rooms@fabrikam.test"]
    async with tenant.raw() as raw:
        r = await raw.get("/places/rooms@fabrikam.test/microsoft.graph.roomlist/rooms")
        assert r.status_code == 200
        assert sorted(x["emailAddress"] for x in r.json()["value"]) == [
            "great.hall@fabrikam.test",
            "room0@fabrikam.test",
            "room1@fabrikam.test",
        ]
        assert r.json()["@odata.context"].endswith("/microsoft.graph.roomlist/rooms")
        by_id = await raw.get(f"/places/{lists.value[0].id}/microsoft.graph.roomlist/rooms")
        assert by_id.status_code == 404
        r = await raw.get(
            "/places/microsoft.graph.room", params={"$filter": "capacity ge 10", "$select": "emailAddress"}
        )
        assert [x["emailAddress"] for x in r.json()["value"]] == ["great.hall@fabrikam.test"]


async def test_places_page_at_100_without_a_next_link(tenant: Tenant) -> None:
    # api-reference/v1.0/api/place-list.md: "By default, this operation returns 100 places per
    # page"; $top, $skip and $count=true are supported. Graph sends no @odata.nextLink for
    # places (docs-contrib issues #341, #6252, #7196; GRAPH-FACTS §4.1) — this test used to
    # expect one. The emulator's $top limit (1000; 400 above) is its own: docs silent.
    tid = str(uuid.uuid4())
    await tenant.control.post("/_emulator/seed", json={"tenants": [tenant_doc(tid, "big.test", rooms=250)]})
    big = Tenant(tid, {}, tenant.base, tenant.control)
    page = await big.client().places.graph_room.get()
    assert len(page.value) == 100 and page.odata_next_link is None
    async with big.raw() as raw:
        seen: list[str] = []
        while True:  # what a client must do: $top/$skip until a short page
            r = await raw.get("/places/microsoft.graph.room", params={"$top": "120", "$skip": str(len(seen))})
            assert "@odata.nextLink" not in r.json()
            seen += [x["emailAddress"] for x in r.json()["value"]]
            if len(r.json()["value"]) < 120:
                break
        assert len(seen) == len(set(seen)) == 250
        r = await raw.get("/places/microsoft.graph.room", params={"$count": "true", "$top": "1"})
        assert r.json()["@odata.count"] == 250 and len(r.json()["value"]) == 1
        r = await raw.get("/places/microsoft.graph.room", params={"$top": "1000"})
        assert len(r.json()["value"]) == 250
        assert (await raw.get("/places/microsoft.graph.room", params={"$top": "1001"})).status_code == 400
        r = await raw.get("/places/rooms@big.test/microsoft.graph.roomlist/rooms")
        assert len(r.json()["value"]) == 100 and "@odata.nextLink" not in r.json()
        r = await raw.get("/places/rooms@big.test/microsoft.graph.roomlist/rooms", params={"$skip": "200"})
        assert len(r.json()["value"]) == 50
        r = await raw.get("/places/microsoft.graph.roomlist", params={"$top": "5"})
        assert len(r.json()["value"]) == 1 and "@odata.nextLink" not in r.json()
