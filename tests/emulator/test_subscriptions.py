"""Contract: subscriptions, the validation handshake, change and lifecycle notifications."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from msgraph.generated.models.event import Event
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.subscription import Subscription

from tests.emulator.conftest import Receiver, Tenant
from tests.emulator.test_events import event, headers


def sub(tenant: Tenant, receiver: Receiver, user: str = "ada", minutes: int = 4000, **kw) -> Subscription:
    return Subscription(
        change_type="created,updated,deleted",
        notification_url=receiver.url + "?code=fn-key",
        lifecycle_notification_url=receiver.url + "?code=fn-key&kind=lifecycle",
        resource=f"/users/{tenant.uid(user)}/events",
        expiration_date_time=datetime.now(UTC) + timedelta(minutes=minutes),
        client_state="s3cret-state",
        **kw,
    )


async def test_create_validates_both_urls_and_answers_201(tenant: Tenant, receiver: Receiver) -> None:
    created = await tenant.client().subscriptions.post(sub(tenant, receiver))
    assert created.id and created.resource == f"/users/{tenant.uid('ada')}/events"
    assert created.client_state == "s3cret-state" and created.change_type == "created,updated,deleted"
    deliveries = (await tenant.control.get("/_emulator/deliveries")).json()["deliveries"]
    validations = [d for d in deliveries if d["kind"] == "validation"]
    assert len(validations) == 2 and all(d["status"] == 200 for d in validations)


@pytest.mark.parametrize("mode", ["wrong", "json"])
async def test_a_wrong_validation_answer_fails_with_400(tenant: Tenant, receiver: Receiver, mode: str) -> None:
    receiver.validation = mode
    with pytest.raises(ODataError) as err:
        await tenant.client().subscriptions.post(sub(tenant, receiver))
    assert err.value.response_status_code == 400 and err.value.error.code == "ValidationError"
    assert (await tenant.client().subscriptions.get()).value == []


async def test_a_slow_validation_answer_fails(tenant: Tenant, receiver: Receiver) -> None:
    receiver.validation = "slow"
    with pytest.raises(ODataError) as err:
        await tenant.client().subscriptions.post(sub(tenant, receiver))
    assert err.value.response_status_code == 400
    assert "timed out" in err.value.error.message


async def test_expiration_limits_duplicates_and_lifecycle_of_a_subscription(tenant: Tenant, receiver: Receiver) -> None:
    client = tenant.client()
    with pytest.raises(ODataError) as err:
        await client.subscriptions.post(sub(tenant, receiver, minutes=4300))
    assert err.value.response_status_code == 400
    short = await client.subscriptions.post(sub(tenant, receiver, minutes=5))
    assert short.expiration_date_time >= datetime.now(UTC) + timedelta(minutes=44)  # raised to 45
    with pytest.raises(ODataError) as err:
        await client.subscriptions.post(sub(tenant, receiver))
    assert err.value.response_status_code == 409
    listed = await client.subscriptions.get()
    assert [s.id for s in listed.value] == [short.id]
    renewed = await client.subscriptions.by_subscription_id(short.id).patch(
        Subscription(expiration_date_time=datetime.now(UTC) + timedelta(minutes=4229))
    )
    assert renewed.expiration_date_time > datetime.now(UTC) + timedelta(minutes=4200)
    await client.subscriptions.by_subscription_id(short.id).reauthorize.post()
    await client.subscriptions.by_subscription_id(short.id).delete()
    with pytest.raises(ODataError) as err:
        await client.subscriptions.by_subscription_id(short.id).get()
    assert err.value.response_status_code == 404


async def test_change_notifications_have_the_documented_shape(tenant: Tenant, receiver: Receiver) -> None:
    client = tenant.client()
    created = await client.subscriptions.post(
        sub(tenant, receiver), request_configuration=headers('IdType="ImmutableId"')
    )
    # "Another client" changes the calendar: a plain Graph call, not through calsync.
    other = tenant.client().users.by_user_id(tenant.uid("ada"))
    ev = await other.events.post(event("outside edit"), request_configuration=headers('IdType="ImmutableId"'))
    await other.events.by_event_id(ev.id).patch(Event(subject="edited"))
    await other.events.by_event_id(ev.id).delete()
    items = await receiver.wait_for(4)
    # Graph does not promise order across POSTs; the set of changes is what counts.
    assert sorted(i["changeType"] for i in items) == ["created", "deleted", "updated", "updated"]
    for item in items:
        assert item["subscriptionId"] == created.id
        assert item["clientState"] == "s3cret-state"
        assert item["tenantId"] == tenant.id
        assert item["resource"] == f"Users/{tenant.uid('ada')}/Events/{ev.id}"
        data = item["resourceData"]
        assert data["@odata.type"] == "#Microsoft.Graph.Event" and data["id"] == ev.id
        assert data["@odata.id"] == item["resource"] and data["@odata.etag"].startswith('W/"')
        assert item["subscriptionExpirationDateTime"].endswith("Z")
    assert all(q == {"code": "fn-key"} for q in receiver.queries)  # the URL's query string is kept


async def test_failed_deliveries_are_retried(tenant: Tenant, receiver: Receiver) -> None:
    await tenant.client().subscriptions.post(sub(tenant, receiver))
    receiver.fail_next = 1
    await tenant.client().users.by_user_id(tenant.uid("ada")).events.post(event("retry me"))
    items = await receiver.wait_for(2, within=10)
    assert {i["changeType"] for i in items} == {"created", "updated"}
    deliveries = (await tenant.control.get("/_emulator/deliveries")).json()["deliveries"]
    notes = [d for d in deliveries if d["kind"] == "notification"]
    assert [d["status"] for d in notes[:2]] == [503, 202] and notes[1]["attempt"] == 2


async def test_switched_off_delivery_drops_notifications(tenant: Tenant, receiver: Receiver) -> None:
    await tenant.client().subscriptions.post(sub(tenant, receiver))
    await tenant.control.post("/_emulator/faults", json={"deliverNotifications": False})
    await tenant.client().users.by_user_id(tenant.uid("ada")).events.post(event("silent"))
    await asyncio.sleep(0.3)
    assert receiver.items() == []
    assert (await tenant.control.get("/_emulator/deliveries")).json()["dropped"] == 2


async def test_lifecycle_notifications(tenant: Tenant, receiver: Receiver) -> None:
    created = await tenant.client().subscriptions.post(sub(tenant, receiver))
    r = await tenant.control.post(
        f"/_emulator/subscriptions/{created.id}/lifecycle", json={"lifecycleEvent": "reauthorizationRequired"}
    )
    assert r.json() == {"sent": True}
    r = await tenant.control.delete(f"/_emulator/subscriptions/{created.id}")
    assert r.json() == {"sent": True}
    items = await receiver.wait_for(2)
    assert [i["lifecycleEvent"] for i in items] == ["reauthorizationRequired", "subscriptionRemoved"]
    for item in items:
        assert set(item) == {
            "subscriptionId",
            "subscriptionExpirationDateTime",
            "tenantId",
            "clientState",
            "lifecycleEvent",
        }
        assert item["subscriptionId"] == created.id and item["clientState"] == "s3cret-state"
    assert all(q.get("kind") == "lifecycle" for q in receiver.queries)
    with pytest.raises(ODataError):
        await tenant.client().subscriptions.by_subscription_id(created.id).get()


async def test_bad_subscription_requests(tenant: Tenant, receiver: Receiver) -> None:
    async with tenant.raw() as raw:
        base = {
            "changeType": "created",
            "notificationUrl": receiver.url,
            "clientState": "x",
            "expirationDateTime": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        }
        cases = [  # docs/graph-emulator.md: 404 for an unknown user, 400 for the rest
            ({**base, "resource": "/users/nobody@fabrikam.test/events"}, 404, "ResourceNotFound"),
            ({**base, "resource": f"/users/{tenant.uid('ada')}/messages"}, 400, "InvalidRequest"),
            ({**base, "resource": f"/users/{tenant.uid('ada')}/events", "changeType": "moved"}, 400, "InvalidRequest"),
            (
                {**base, "resource": f"/users/{tenant.uid('ada')}/events", "clientState": "x" * 129},
                400,
                "InvalidRequest",
            ),
            (
                {**base, "resource": f"/users/{tenant.uid('ada')}/events", "notificationUrl": "http://example.com/x"},
                400,
                "InvalidRequest",
            ),
        ]
        for body, status, code in cases:
            r = await raw.post("/subscriptions", json=body)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), body


async def test_http_details(tenant: Tenant) -> None:
    async with httpx.AsyncClient(
        base_url=f"{tenant.base}/v1.0", headers={"Authorization": f"Bearer emulator:{tenant.id}"}
    ) as raw:
        r = await raw.get("/subscriptions")
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["@odata.context"].endswith("$metadata#subscriptions")
