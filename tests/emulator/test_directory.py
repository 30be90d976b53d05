"""Contract: tokens, tenants, users, mailbox settings and places, through msgraph-sdk."""

from __future__ import annotations

import uuid

import httpx
import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from tests.emulator.conftest import Tenant, tenant_doc

GUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


async def test_no_or_bad_token_is_401(tenant: Tenant) -> None:
    async with httpx.AsyncClient(base_url=f"{tenant.base}/v1.0") as raw:
        r = await raw.get("/users")
        assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"
        r = await raw.get("/users", headers={"Authorization": "Bearer something-else"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidAuthenticationToken"
    async with tenant.raw(str(uuid.uuid4())) as raw:
        assert (await raw.get("/users")).status_code == 401


async def test_unknown_tenant_through_the_sdk(tenant: Tenant) -> None:
    other = Tenant(str(uuid.uuid4()), {}, tenant.base, tenant.control)
    with pytest.raises(ODataError) as err:
        await other.client().users.get()
    assert err.value.response_status_code == 401
    assert err.value.error.code == "InvalidAuthenticationToken"


async def test_get_user_by_id_and_upn_with_select(tenant: Tenant) -> None:
    client = tenant.client()
    by_upn = await client.users.by_user_id("ada@fabrikam.test").get()
    assert by_upn.id == tenant.uid("ada") and by_upn.mail == "ada@fabrikam.test"
    assert by_upn.id.count("-") == 4
    cfg = RequestConfiguration(
        query_parameters=UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=["displayName"])
    )
    by_id = await client.users.by_user_id(tenant.uid("ada")).get(request_configuration=cfg)
    assert by_id.display_name == "Ada Test" and by_id.mail is None and by_id.id == tenant.uid("ada")


async def test_list_users_with_filter_and_paging(tenant: Tenant) -> None:
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


async def test_tenant_isolation(tenant: Tenant) -> None:
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
    client = tenant.client()
    settings = await client.users.by_user_id(tenant.uid("room0")).mailbox_settings.get()
    assert settings.user_purpose.value == "room"
    async with tenant.raw() as raw:
        r = await raw.get(f"/users/{tenant.uid('beamer')}/mailboxSettings/userPurpose")
        assert r.status_code == 200 and r.json()["value"] == "equipment"


async def test_user_without_mailbox_answers_calendar_calls_with_graphs_error(tenant: Tenant) -> None:
    client = tenant.client()
    assert (await client.users.by_user_id("nomail@fabrikam.test").get()).mail is None
    with pytest.raises(ODataError) as err:
        await client.users.by_user_id("nomail@fabrikam.test").events.get()
    assert err.value.error.code == "MailboxNotEnabledForRESTAPI"
    with pytest.raises(ODataError) as err:
        await client.users.by_user_id("nomail@fabrikam.test").mailbox_settings.get()
    assert err.value.error.code == "MailboxNotEnabledForRESTAPI"


async def test_places_rooms_room_lists_and_rooms_in_a_list(tenant: Tenant) -> None:
    client = tenant.client()
    rooms = await client.places.graph_room.get()
    assert sorted(r.email_address for r in rooms.value) == ["room0@fabrikam.test", "room1@fabrikam.test"]
    room = next(r for r in rooms.value if r.email_address == "room1@fabrikam.test")
    assert (room.display_name, room.capacity, room.booking_type.value) == ("Room 1", 5, "standard")
    assert room.id != tenant.uid("room1")  # a place id is not the mailbox's user id
    lists = await client.places.graph_room_list.get()
    assert [rl.email_address for rl in lists.value] == ["rooms@fabrikam.test"]
    async with tenant.raw() as raw:
        r = await raw.get("/places/rooms@fabrikam.test/microsoft.graph.roomlist/rooms")
        assert r.status_code == 200
        assert len(r.json()["value"]) == 2
        assert r.json()["@odata.context"].endswith("/microsoft.graph.roomlist/rooms")


async def test_places_page_at_100(tenant: Tenant) -> None:
    tid = str(uuid.uuid4())
    await tenant.control.post("/_emulator/seed", json={"tenants": [tenant_doc(tid, "big.test", rooms=150)]})
    client = Tenant(tid, {}, tenant.base, tenant.control).client()
    page = await client.places.graph_room.get()
    assert len(page.value) == 100 and page.odata_next_link
    rest = await client.places.graph_room.with_url(page.odata_next_link).get()
    assert len(rest.value) == 50 and rest.odata_next_link is None
