"""Contract: subscriptions, the validation handshake, change and lifecycle notifications.

Every test names the documentation it checks (paths in microsoftgraph/microsoft-graph-docs-contrib,
or a section of ../shared/GRAPH-FACTS.md), or says where the docs are silent and the emulator chose.
"""

from __future__ import annotations

import asyncio
import itertools
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
    # api-reference/v1.0/api/subscription-post-subscriptions.md (201, the subscription, its
    # clientState echoed as in the example); concepts/change-notifications-lifecycle-events.md
    # and includes/change-notifications-delivery-notificationurl-validation.md: both the
    # notificationUrl and the lifecycleNotificationUrl are validated.
    created = await tenant.client().subscriptions.post(sub(tenant, receiver))
    assert created.id and created.resource == f"/users/{tenant.uid('ada')}/events"
    assert created.client_state == "s3cret-state" and created.change_type == "created,updated,deleted"
    deliveries = (await tenant.control.get("/_emulator/deliveries")).json()["deliveries"]
    validations = [d for d in deliveries if d["kind"] == "validation"]
    assert len(validations) == 2 and all(d["status"] == 200 for d in validations)


@pytest.mark.parametrize("mode", ["wrong", "json"])
async def test_a_wrong_validation_answer_fails_with_400(tenant: Tenant, receiver: Receiver, mode: str) -> None:
    # concepts/includes/change-notifications-delivery-notificationurl-validation.md: answer
    # 200, text/plain, the decoded token; else no subscription; subscription-post-subscriptions.md:
    # a failed validation is 400. The code ValidationError: docs silent.
    receiver.validation = mode
    with pytest.raises(ODataError) as err:
        await tenant.client().subscriptions.post(sub(tenant, receiver))
    assert err.value.response_status_code == 400 and err.value.error.code == "ValidationError"
    assert (await tenant.client().subscriptions.get()).value == []


async def test_a_slow_validation_answer_fails(tenant: Tenant, receiver: Receiver) -> None:
    # includes/change-notifications-delivery-notificationurl-validation.md: respond "within 10
    # seconds". The deadline is the default of `validationTimeoutSeconds`; a shorter one keeps
    # this test fast (it used to wait 11 s) and lets an app rehearse a cold start.
    assert (await tenant.control.get("/_emulator/faults")).json()["validationTimeoutSeconds"] == 10
    receiver.validation, receiver.slow_seconds = "slow", 1.5
    await tenant.control.post("/_emulator/faults", json={"validationTimeoutSeconds": 1})
    try:
        with pytest.raises(ODataError) as err:
            await tenant.client().subscriptions.post(sub(tenant, receiver))
        assert err.value.response_status_code == 400
        assert "timed out" in err.value.error.message
        receiver.slow_seconds = 0.3  # slow, but inside the deadline
        created = await tenant.client().subscriptions.post(sub(tenant, receiver))
        assert created.id
    finally:
        await tenant.control.post("/_emulator/faults", json={"validationTimeoutSeconds": 10})


async def test_expiration_limits_duplicates_and_lifecycle_of_a_subscription(tenant: Tenant, receiver: Receiver) -> None:
    # concepts/includes/change-notifications-subscription-lifetime.md (events: 4,230 minutes);
    # SDK subscription model ("under 45 minutes … set to 45 minutes"); concepts/
    # change-notifications-delivery-webhooks.md (a duplicate is 409 "… already exists for the
    # requested combination"); subscription-update.md (PATCH renews); subscription-reauthorize.md
    # (204); subscription-delete.md (204). Over 4,230 minutes being 400 now: the lifetime
    # include's "In the future, any requests … beyond the maximum value will fail" (less forgiving).
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
    # concepts/change-notifications-delivery-webhooks.md (the POST body; "Any query string
    # parameter included in the notificationUrl is included"); resources/changenotification.md
    # (fields); concepts/outlook-immutable-id.md (Prefer IdType at creation); a create notifying
    # both created and updated: as seen from Graph (GRAPH-FACTS §1.2, issue microsoft-graph-docs#7598).
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
    # concepts/change-notifications-delivery-webhooks.md, "HTTP codes and retry logic": any
    # non-2xx answer is retried at exponential backoff intervals.
    await tenant.client().subscriptions.post(sub(tenant, receiver))
    receiver.fail_next = 1
    await tenant.client().users.by_user_id(tenant.uid("ada")).events.post(event("retry me"))
    items = await receiver.wait_for(2, within=10)
    assert {i["changeType"] for i in items} == {"created", "updated"}
    deliveries = (await tenant.control.get("/_emulator/deliveries")).json()["deliveries"]
    notes = [d for d in deliveries if d["kind"] == "notification"]
    assert [d["status"] for d in notes[:2]] == [503, 202] and notes[1]["attempt"] == 2


async def test_switched_off_delivery_drops_notifications(tenant: Tenant, receiver: Receiver) -> None:
    # Control API (emulator choice; stands in for Graph's "drop" state, webhooks doc "Throttling").
    await tenant.client().subscriptions.post(sub(tenant, receiver))
    await tenant.control.post("/_emulator/faults", json={"deliverNotifications": False})
    await tenant.client().users.by_user_id(tenant.uid("ada")).events.post(event("silent"))
    await asyncio.sleep(0.3)
    assert receiver.items() == []
    assert (await tenant.control.get("/_emulator/deliveries")).json()["dropped"] == 2


async def test_lifecycle_notifications(tenant: Tenant, receiver: Receiver) -> None:
    # concepts/change-notifications-lifecycle-events.md: the shape {subscriptionId,
    # subscriptionExpirationDateTime, tenantId, clientState, lifecycleEvent} sent to the
    # lifecycleNotificationUrl; subscriptionRemoved removes the subscription. When Graph sends
    # them is its own; the emulator sends them when the control API says so.
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
    # resources/subscription.md: changeType created/updated/deleted; notificationUrl "must make
    # use of the HTTPS protocol"; SDK subscription model: clientState at most 128 characters.
    # An unknown user being 404 ResourceNotFound, and other resources (messages, which Graph does
    # support) being 400: docs silent / emulator choice — the emulator only serves events.
    async with tenant.raw() as raw:
        base = {
            "changeType": "created",
            "notificationUrl": receiver.url,
            "clientState": "x",
            "expirationDateTime": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
        }
        cases = [
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
    # api-reference/v1.0/api/subscription-list.md (the example's @odata.context ends in
    # $metadata#subscriptions; JSON content type).
    async with httpx.AsyncClient(
        base_url=f"{tenant.base}/v1.0", headers={"Authorization": f"Bearer emulator:{tenant.id}"}
    ) as raw:
        r = await raw.get("/subscriptions")
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["@odata.context"].endswith("$metadata#subscriptions")


async def test_client_state_is_not_returned_when_reading_subscriptions(tenant: Tenant, receiver: Receiver) -> None:
    # api-reference/v1.0/api/subscription-list.md: "the clientState property value is not
    # returned for security purposes" (its example has "clientState": null). subscription-get.md's
    # and subscription-update.md's examples show a value; the emulator answers null there too
    # (less forgiving: an app must keep its clientState itself). The control API shows everything.
    client = tenant.client()
    created = await client.subscriptions.post(sub(tenant, receiver))
    assert created.client_state == "s3cret-state"  # the create answer echoes it
    assert [s.client_state for s in (await client.subscriptions.get()).value] == [None]
    assert (await client.subscriptions.by_subscription_id(created.id).get()).client_state is None
    renewed = await client.subscriptions.by_subscription_id(created.id).patch(
        Subscription(expiration_date_time=datetime.now(UTC) + timedelta(minutes=600))
    )
    assert renewed.client_state is None
    async with tenant.raw() as raw:
        r = await raw.get(f"/subscriptions/{created.id}")
        assert "clientState" in r.json() and r.json()["clientState"] is None
    control = (await tenant.control.get("/_emulator/subscriptions")).json()["subscriptions"]
    assert [(s["id"], s["clientState"]) for s in control] == [(created.id, "s3cret-state")]


async def test_deliveries_are_retried_for_up_to_four_hours(tenant: Tenant, receiver: Receiver) -> None:
    # concepts/change-notifications-delivery-webhooks.md, "HTTP codes and retry logic": failed
    # deliveries are retried "at exponential backoff intervals" for "up to 4 hours" (GRAPH-FACTS
    # §1.6). The intervals are the emulator's (docs silent): 1 s, doubling, and a last attempt at
    # 4 h. `timeScale` shrinks the waits: 4 emulated hours take ~1.5 s here.
    await tenant.client().subscriptions.post(sub(tenant, receiver))
    await tenant.control.post("/_emulator/faults", json={"timeScale": 0.0001})
    receiver.fail_next = 10**6  # the endpoint never recovers
    try:
        await tenant.client().users.by_user_id(tenant.uid("ada")).events.post(event("never delivered"))
        deadline = asyncio.get_running_loop().time() + 15
        while (await tenant.control.get("/_emulator/deliveries")).json()["abandoned"] < 1:
            assert asyncio.get_running_loop().time() < deadline, "the emulator never gave up"
            await asyncio.sleep(0.1)
    finally:
        await tenant.control.post("/_emulator/faults", json={"timeScale": 1})
        receiver.fail_next = 0
    notes = [
        d
        for d in (await tenant.control.get("/_emulator/deliveries")).json()["deliveries"]
        if d["kind"] == "notification"
    ]
    offsets = [d["sinceFirstAttemptSeconds"] for d in notes]
    assert [d["attempt"] for d in notes] == list(range(1, len(notes) + 1)) and len(notes) == 15
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert all(abs(gap - 2**i) < 0.5 for i, gap in enumerate(gaps[:-1]))  # 1 s, 2 s, 4 s, … 4096 s
    assert 14_399 <= offsets[-1] <= 14_401 and notes[-1].get("final") is True  # the last one at 4 hours
    assert all(d["status"] == 503 for d in notes)


async def test_latency_control_delays_every_answer(tenant: Tenant) -> None:
    # Control API (emulator choice): `latencyMs` is added before every Graph answer (0 by default).
    assert (await tenant.control.get("/_emulator/faults")).json()["latencyMs"] == 0
    await tenant.control.post("/_emulator/faults", json={"latencyMs": 250})
    try:
        async with tenant.raw() as raw:
            started = asyncio.get_running_loop().time()
            assert (await raw.get(f"/users/{tenant.uid('ada')}/events")).status_code == 200
            assert asyncio.get_running_loop().time() - started >= 0.25
    finally:
        await tenant.control.post("/_emulator/faults", json={"latencyMs": 0})
    bad = await tenant.control.post("/_emulator/faults", json={"timeScale": 0})
    assert bad.status_code == 400
