"""Two orgs of the booking product on one Microsoft 365 tenant, linking the same mailbox,
through the local host, Azurite and the emulator."""

from __future__ import annotations

from tests.integration.conftest import OrgFixture, Stack, now
from tests.integration.test_inbound import changes, graph, outlook_event, wait_for

D = "fabrikam.test"


def settled(stack: Stack, org: OrgFixture, owner: str, since, **match) -> None:
    """The notification of a change made after `since` reached the app and its round is done
    (a generous wait: an earlier test's big mailbox may still be busy in the shared host)."""
    subscription = stack.link(org, owner)["subscription"]["id"]
    stack.wait_for_round(org, owner, stack.wait_delivered(subscription, since, **match), timeout=90)


def second_org(stack: Stack, first: OrgFixture) -> OrgFixture:
    """Another org of the booking product, connected to the first org's tenant."""
    org_id = f"{first.id}-b"
    r = stack.api.put(f"/orgs/{org_id}", json={"m365TenantId": first.tenant})
    assert r.json()["status"] == "connected", r.text
    return OrgFixture(org_id, first.tenant, first.users)


def test_two_orgs_share_one_subscription_both_hear_outlook_and_neither_sees_the_others_booking(
    linked: OrgFixture, stack: Stack
) -> None:
    ada = linked.users[f"ada@{D}"]
    other = second_org(stack, linked)
    r = stack.api.put(f"/orgs/{other.id}/workers/ada", json={"m365Account": f"ada@{D}"})
    assert r.json()["status"] == "linked", r.text
    assert len(stack.subscriptions(ada)) == 1  # one subscription serves both orgs
    assert stack.link(other, "ada")["subscription"]["id"] == stack.link(linked, "w-ada")["subscription"]["id"]
    stack.wait_idle(other, timeout=90)

    # The first org books a confidential meeting in Ada's calendar: the second hears nothing.
    since = now()
    body = {
        "title": "Confidential review",
        "start": "2027-03-01T10:00:00",
        "end": "2027-03-01T11:00:00",
        "organizer": "w-ada",
    }
    event_id = stack.api.put(f"/orgs/{linked.id}/appointments/secret", json=body).json()["targets"][0]["eventId"]
    settled(stack, other, "ada", since, event_id=event_id)
    assert changes(stack, other) == []

    # Ada makes an event in Outlook: both orgs hear of it, each once.
    since = now()
    with graph(stack, linked) as g:
        made = outlook_event(g, ada, "Dentist", "2027-03-02T08:00:00", "2027-03-02T09:00:00")
    settled(stack, other, "ada", since, event_id=made["id"])
    stack.wait_for_round(linked, "w-ada", since, timeout=90)
    for org in (linked, other):
        assert [(c["type"], c["data"]["title"]) for c in wait_for(stack, org, lambda c: len(c) >= 1)] == [
            ("created", "Dentist")
        ]

    # Deleting the second org keeps the subscription, and the first org still hears Outlook.
    assert stack.api.delete(f"/orgs/{other.id}").status_code == 200
    assert len(stack.subscriptions(ada)) == 1
    since = now()
    with graph(stack, linked) as g:
        later = outlook_event(g, ada, "Gym", "2027-03-03T08:00:00", "2027-03-03T09:00:00")
    settled(stack, linked, "w-ada", since, event_id=later["id"])
    assert [c["data"]["title"] for c in changes(stack, linked)] == ["Dentist", "Gym"]
    assert stack.link(linked, "w-ada")["health"] == "healthy"
