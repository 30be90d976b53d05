"""Subscriptions that fail, and accounts typed by an address that is not the UPN, as use
cases over the fakes."""

from __future__ import annotations

from typing import Any

import pytest

from shared.adapters.messages import MailboxSync, SubscriptionLifecycle
from shared.adapters.records import WorkerLink
from shared.core.errors import AccountAmbiguous, ConsentRequired, GraphRejected, GraphUnavailable
from shared.service import linking, maintenance
from shared.service.link_requests import WorkerRequest
from tests.service.conftest import TENANT, World, make_org


async def put(world: World, account: str | None, worker: str = "w-ada") -> WorkerLink:
    link, _ = await linking.put_worker(world.svc, "o1", WorkerRequest(worker, account, None, None))
    return link


async def test_a_failed_subscription_is_retried_by_reconcile_with_backoff(world: World) -> None:
    await make_org(world)
    world.graph.seed(TENANT, [{"userPrincipalName": "ada@fabrikam.test"}])
    world.graph.fail_next(1, "unavailable", operation="create_subscription")  # e.g. a cold start
    link = await put(world, "ada@fabrikam.test")
    assert (link.status, link.error_code) == ("error", "graph_unavailable")
    creates = world.graph.count("create_subscription")

    await maintenance.reconcile_org(world.svc, "o1")
    assert world.graph.count("create_subscription") == creates  # too soon: the backoff holds
    world.clock.advance(minutes=16)
    world.graph.fail_next(1, "unavailable", operation="create_subscription")
    await maintenance.reconcile_org(world.svc, "o1")
    assert world.graph.count("create_subscription") == creates + 1  # tried again, failed again
    world.clock.advance(minutes=16)
    await maintenance.reconcile_org(world.svc, "o1")
    assert world.graph.count("create_subscription") == creates + 1  # now 30 minutes apart
    world.clock.advance(minutes=16)
    await maintenance.reconcile_org(world.svc, "o1")
    stored = await world.store.get(WorkerLink, org="o1", worker="w-ada")
    assert stored is not None and (stored.status, stored.subscribe_attempts) == ("linked", 0)
    assert stored.subscription_id in {s.id for s in world.graph.subscriptions(TENANT)}
    assert "catch-up" in [m.reason for m in world.queues.take(MailboxSync.QUEUE)]


async def test_a_mailbox_behind_an_access_policy_is_an_error_that_says_so(world: World, monkeypatch) -> None:
    await make_org(world)
    world.graph.seed(TENANT, [{"userPrincipalName": "room.fuji@fabrikam.test", "userPurpose": "room"}])

    async def refuse(*args: Any, **kwargs: Any) -> Any:
        raise GraphRejected(
            "ExtensionError: Operation: Create; Exception: [Status Code: Forbidden]",
            graph_status=403,
            graph_code="ExtensionError",
        )

    monkeypatch.setattr(world.graph, "create_subscription", refuse)
    link, _ = await linking.put_resource(world.svc, "o1", _room("fuji", "room.fuji@fabrikam.test"))
    assert (link.status, link.error_code) == ("error", "mailbox_not_accessible")
    assert "access policy" in (link.error_message or "") and link.mode == "push"


def _room(resource: str, mailbox: str) -> Any:
    from shared.service.link_requests import ResourceRequest

    return ResourceRequest(resource, mailbox, None, None)


@pytest.mark.parametrize(
    "refusal",
    [
        ConsentRequired("Authorization_RequestDenied", graph_status=403),
        GraphRejected("Forbidden", graph_status=403, graph_code="Forbidden"),
    ],
)
async def test_a_refused_reauthorization_marks_the_link_consent_revoked(
    world: World, refusal: Exception, monkeypatch
) -> None:
    await make_org(world)
    world.graph.seed(TENANT, [{"userPrincipalName": "ada@fabrikam.test"}])
    link = await put(world, "ada@fabrikam.test")

    async def refuse(*args: Any) -> None:
        raise refusal

    monkeypatch.setattr(world.graph, "reauthorize_subscription", refuse)
    message = SubscriptionLifecycle("o1", "worker", "w-ada", link.subscription_id or "", "reauthorizationRequired")
    await maintenance.lifecycle(world.svc, message, final=False)  # no raise: nothing to retry
    stored = await world.store.get(WorkerLink, org="o1", worker="w-ada")
    assert stored is not None and (stored.status, stored.error_code) == ("error", "consent_revoked")


async def test_reauthorization_while_graph_is_down_is_retried_by_the_queue(world: World, monkeypatch) -> None:
    await make_org(world)
    world.graph.seed(TENANT, [{"userPrincipalName": "ada@fabrikam.test"}])
    link = await put(world, "ada@fabrikam.test")

    async def down(*args: Any) -> None:
        raise GraphUnavailable("503")

    monkeypatch.setattr(world.graph, "reauthorize_subscription", down)
    message = SubscriptionLifecycle("o1", "worker", "w-ada", link.subscription_id or "", "reauthorizationRequired")
    with pytest.raises(GraphUnavailable):
        await maintenance.lifecycle(world.svc, message, final=False)


async def test_an_address_that_is_not_the_upn_links_by_mail_and_by_proxy_address(world: World) -> None:
    await make_org(world)
    users = world.graph.seed(
        TENANT,
        [
            {
                "userPrincipalName": "flast@fabrikam.onmicrosoft.com",
                "mail": "first.last@fabrikam.com",
                "proxyAddresses": ["SMTP:first.last@fabrikam.com", "smtp:fl@fabrikam.eu"],
            }
        ],
    )
    uid = users["flast@fabrikam.onmicrosoft.com"]
    by_mail = await put(world, "First.Last@fabrikam.com", "w-mail")
    assert (by_mail.status, by_mail.m365_user_id) == ("linked", uid)
    await put(world, None, "w-mail")  # unlink: the mailbox is free again
    by_proxy = await put(world, "fl@fabrikam.eu", "w-proxy")
    assert (by_proxy.status, by_proxy.m365_user_id) == ("linked", uid)


async def test_an_address_two_users_have_is_refused_and_writes_nothing(world: World) -> None:
    await make_org(world)
    world.graph.seed(
        TENANT,
        [
            {"userPrincipalName": "a@fabrikam.onmicrosoft.com", "proxyAddresses": ["SMTP:a@x.com", "smtp:team@x.com"]},
            {"userPrincipalName": "b@fabrikam.onmicrosoft.com", "proxyAddresses": ["SMTP:b@x.com", "smtp:team@x.com"]},
        ],
    )
    with pytest.raises(AccountAmbiguous) as refused:
        await put(world, "team@x.com")
    assert refused.value.status == 409 and "a@fabrikam.onmicrosoft.com" in refused.value.message
    assert await world.store.get(WorkerLink, org="o1", worker="w-ada") is None


async def test_a_put_that_changes_only_the_name_or_restriction_is_stored_without_a_graph_call(world: World) -> None:
    await make_org(world)
    world.graph.seed(TENANT, [{"userPrincipalName": "ada@fabrikam.test"}])
    await put(world, "ada@fabrikam.test")
    calls = len(world.graph.calls)
    link, changed = await linking.put_worker(
        world.svc, "o1", WorkerRequest("w-ada", "ada@fabrikam.test", "Ada Lovelace", True)
    )
    assert changed and (link.display_name, link.restricted) == ("Ada Lovelace", True)
    stored = await world.store.get(WorkerLink, org="o1", worker="w-ada")
    assert stored is not None and (stored.display_name, stored.restricted) == ("Ada Lovelace", True)
    assert len(world.graph.calls) == calls
