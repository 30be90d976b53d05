"""Through the local host, Azurite and the emulator: what Graph's calendarView delta really
says (event-delta.md) — `@removed` for an event moved out of the window — is not taken for
a deletion, oneWay does not loop over it, and the window rolls forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.adapters.table_codec import encode_key
from tests.integration.conftest import OrgFixture, Stack, instant, now
from tests.integration.test_inbound import changes, event, eventually, graph, outlook_event, wait_for
from tests.integration.test_linking import table
from tests.integration.test_maintenance import reconcile

D = "fabrikam.test"


def day(offset: int, hour: int = 10) -> str:
    return (datetime.now(UTC) + timedelta(days=offset)).replace(hour=hour).strftime("%Y-%m-%dT%H:00:00")


def book(stack: Stack, org: OrgFixture, appointment: str = "a1") -> tuple[str, str]:
    """An appointment organized by w-ada alone, a week ahead; (her user id, the event id),
    once the round that reads it back is done (so later rounds see only what follows)."""
    since = now()
    body = {"title": "Consult", "start": day(7), "end": day(7, 11), "organizer": "w-ada"}
    pushed = stack.api.put(f"/orgs/{org.id}/appointments/{appointment}", json=body)
    assert pushed.status_code == 200, pushed.text
    event_id = pushed.json()["targets"][0]["eventId"]
    stack.notified_round(org, "w-ada", since, event_id=event_id)
    return org.users[f"ada@{D}"], event_id


def move(stack: Stack, org: OrgFixture, mailbox: str, event_id: str, offset: int) -> dict[str, Any]:
    since = now()
    with graph(stack, org) as g:
        r = g.patch(
            f"/users/{mailbox}/events/{event_id}",
            json={
                "start": {"dateTime": day(offset), "timeZone": "UTC"},
                "end": {"dateTime": day(offset, 11), "timeZone": "UTC"},
            },
        )
        assert r.status_code == 200, r.text
    stack.notified_round(org, "w-ada", since, event_id=event_id, change_key=r.json()["changeKey"])
    return r.json()


def test_an_appointment_moved_beyond_the_window_end_is_updated_and_a_deletion_is_deleted(
    linked: OrgFixture, stack: Stack
) -> None:
    ada, event_id = book(stack, linked)
    move(stack, linked, ada, event_id, 400)  # the window reaches 365 (+14) days ahead
    [moved] = changes(stack, linked)
    assert (moved["type"], moved["appointment"]) == ("updated", "a1")
    assert moved["data"]["changed"] == ["start", "end"] and moved["data"]["start"] == day(400) + "Z"

    since = now()
    with graph(stack, linked) as g:
        assert g.delete(f"/users/{ada}/events/{event_id}").status_code == 204
    stack.notified_round(linked, "w-ada", since, event_id=event_id, change_type="deleted")
    assert [(c["type"], c["appointment"]) for c in changes(stack, linked)] == [("updated", "a1"), ("deleted", "a1")]


def test_one_way_puts_a_far_moved_event_back_once_and_does_not_loop(linked: OrgFixture, stack: Stack) -> None:
    assert stack.api.put(f"/orgs/{linked.id}/settings", json={"syncMode": "oneWay"}).status_code == 200
    ada, event_id = book(stack, linked)
    with graph(stack, linked) as g:
        original = event(g, ada, event_id)["start"]["dateTime"]
    move(stack, linked, ada, event_id, 900)
    with graph(stack, linked) as g:
        restored = eventually(
            lambda: (e := event(g, ada, event_id))["start"]["dateTime"] == original and e,
            timeout=20,
            what="the booking's time back on the event",
        )
    # The restore comes back as a notification; its round is an echo: no further write.
    stack.notified_round(
        linked, "w-ada", now() - timedelta(seconds=30), event_id=event_id, change_key=restored["changeKey"]
    )
    stack.clear_requests(linked)
    since = now()
    stack.api.put(f"/orgs/{linked.id}/workers/w-ada", json={"m365Account": f"ada@{D}"})  # no change: no round
    reconcile(stack, linked)  # one reconcile of this org and its round
    stack.wait_for_round(linked, "w-ada", since)
    writes = [
        i
        for i in stack.graph.get("/_emulator/requests").json()["items"]
        if i["method"] in ("PATCH", "POST") and i["mailbox"] == ada and i["pattern"].startswith("/users/{id}/events")
    ]
    assert writes == []
    assert [(c["type"], c["appointment"]) for c in changes(stack, linked)] == [("restored", "a1")]


def test_the_window_rolls_forward_without_duplicates_or_losses(linked: OrgFixture, stack: Stack) -> None:
    ada = linked.users[f"ada@{D}"]
    since = now()
    with graph(stack, linked) as g:
        made = outlook_event(g, ada, "Made in Outlook", day(5), day(5, 11))
    stack.notified_round(linked, "w-ada", since, event_id=made["id"])
    wait_for(stack, linked, lambda c: len(c) == 1)

    # Time passes (a week of it): the stored window's end falls short of "now + 365 days".
    feed = table(stack, "Feed")
    key = {"PartitionKey": encode_key(linked.id), "RowKey": f"delta|{encode_key(ada)}"}
    state = feed.get_entity(key["PartitionKey"], key["RowKey"])
    first_end = instant(state["window_end"].isoformat())
    feed.update_entity({**key, "window_end": datetime.now(UTC) + timedelta(days=300)})

    since = now()
    with graph(stack, linked) as g:
        later = outlook_event(g, ada, "Made during the roll", day(6), day(6, 11))
    stack.notified_round(linked, "w-ada", since, event_id=later["id"])
    rolled = instant(feed.get_entity(key["PartitionKey"], key["RowKey"])["window_end"].isoformat())
    assert rolled is not None and first_end is not None and rolled >= first_end  # a new, later window
    titles = [c["data"]["title"] for c in changes(stack, linked)]
    assert titles == ["Made in Outlook", "Made during the roll"]  # each once; nothing deleted
