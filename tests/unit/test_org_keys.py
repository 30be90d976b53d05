"""Org-scoped API keys (issue #25): the platform's key issues, lists and revokes them; an org
key reaches its own org's routes and nothing else, refused alike whether another org exists
or not; a revoked key is refused from then on; only a hash of a key is stored."""

from __future__ import annotations

from tests.service.conftest import TENANT
from tests.unit.test_api_responses import Api, api  # noqa: F401 (the fixture)

FORBIDDEN_DETAIL = "an org key reaches only its own organisation's routes"


async def two_orgs(api: Api) -> None:  # noqa: F811
    for org in ("o1", "o2"):
        await api("put_org", 200, body={"m365TenantId": TENANT, "displayName": org}, org=org)


async def test_the_platform_issues_lists_and_revokes_org_keys(api: Api) -> None:  # noqa: F811
    await two_orgs(api)
    made = await api("create_org_key", 201, org="o1")
    assert made.key.startswith(f"csk_{made.id}_") and made.prefix == f"csk_{made.id}"
    listed = await api("list_org_keys", 200, org="o1")
    assert [k.model_dump(by_alias=True, mode="json").keys() for k in listed.keys] == [{"id", "prefix", "createdAt"}]
    assert (await api("list_org_keys", 200, org="o2")).keys == []
    # Only a hash is stored: the secret is in no row.
    rows = str(api.world.store.tables)
    assert made.key not in rows and made.key.split("_")[-1] not in rows
    assert (await api("get_credential", 200, auth=made.key)).model_dump(exclude_none=True) == {
        "kind": "org",
        "org": "o1",
        "prefix": made.prefix,
    }
    await api("get_org", 200, org="o1", auth=made.key)
    await api("revoke_org_key", 204, org="o1", key=made.id)
    assert (await api("get_org", 401, org="o1", auth=made.key)).code == "unauthorized"
    assert (await api("list_org_keys", 200, org="o1")).keys == []
    await api("revoke_org_key", 404, org="o1", key=made.id)


async def test_an_org_key_reaches_its_own_org_only(api: Api) -> None:  # noqa: F811
    await two_orgs(api)
    key = (await api("create_org_key", 201, org="o1")).key
    await api("put_worker", 200, body={"m365Account": "ada@fabrikam.test"}, org="o1", worker="w-ada", auth=key)
    await api("get_org_settings", 200, org="o1", auth=key)
    # Another org, one that does not exist, the org list and key management: one answer.
    refused = [
        await api("get_org", 403, org="o2", auth=key),
        await api("get_org", 403, org="nobody", auth=key),
        await api("list_orgs", 403, auth=key),
        await api("create_org_key", 403, org="o1", auth=key),
        await api("list_org_keys", 403, org="o1", auth=key),
        await api("delete_org", 403, org="o1", auth=key),
    ]
    assert {(p.code, p.detail.split(",")[0]) for p in refused} == {("forbidden", FORBIDDEN_DETAIL)}
    await api("get_org", 200, org="o1")  # nothing was changed by the refused calls


async def test_no_key_a_wrong_key_or_a_forged_one_is_401(api: Api) -> None:  # noqa: F811
    await two_orgs(api)
    real = (await api("create_org_key", 201, org="o1")).key
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")  # its id, another secret
    for key in ("", "not-the-key", forged, "csk_short"):
        assert (await api("get_org", 401, org="o1", auth=key)).code == "unauthorized", key
    assert (await api("get_credential", 200)).kind == "platform"


async def test_deleting_an_org_revokes_its_keys(api: Api) -> None:  # noqa: F811
    await two_orgs(api)
    key = (await api("create_org_key", 201, org="o1")).key
    await api("delete_org", 200, org="o1")
    await api("put_org", 200, body={"m365TenantId": TENANT}, org="o1")  # the same id again
    await api("get_org", 401, org="o1", auth=key)
