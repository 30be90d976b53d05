"""Outlook → booking through the local host, Azurite and the emulator's notifications."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from azure.storage.queue import QueueClient
from standardwebhooks import Webhook, WebhookVerificationError

from devtools.services import Service, free_port, start_host
from shared.core.changes import decode_cursor
from tests.conftest import send_queue
from tests.integration.conftest import OrgFixture, Stack, eventually, new_org, now
from tests.integration.test_push import appointment

D = "fabrikam.test"
DAY = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%d")


def changes(stack: Stack, org: OrgFixture, limit: int = 500) -> list[dict[str, Any]]:
    out, after = [], None
    while True:
        body = stack.api.get(
            f"/orgs/{org.id}/changes", params={"after": after, "limit": limit} if after else {"limit": limit}
        ).json()
        out += body["changes"]
        if not body["changes"]:
            return out
        after = body["next"]


def wait_for(stack: Stack, org: OrgFixture, predicate, timeout: float = 10) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = changes(stack, org)
        if predicate(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"feed never matched; it has {found}")
        time.sleep(0.2)


def outlook_event(g: httpx.Client, mailbox: str, subject: str, start: str, end: str) -> dict[str, Any]:
    """Someone creates an event in Outlook (a plain Graph call, not through calsync); UTC times."""
    r = g.post(
        f"/users/{mailbox}/events",
        json={
            "subject": subject,
            "start": {"dateTime": start, "timeZone": "UTC"},
            "end": {"dateTime": end, "timeZone": "UTC"},
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def graph(stack: Stack, org: OrgFixture) -> httpx.Client:
    client = stack.graph_as(org.tenant)
    client.headers["Prefer"] = 'IdType="ImmutableId"'
    return client


def event(g: httpx.Client, mailbox: str, event_id: str) -> dict[str, Any]:
    r = g.get(f"/users/{mailbox}/events/{event_id}")
    assert r.status_code == 200, r.text
    return r.json()


def copy_of(g: httpx.Client, mailbox: str, ical_uid: str) -> dict[str, Any]:
    """The event of a meeting (by iCalUId) in one mailbox: the organizer's or a copy."""
    found, link = [], f"/users/{mailbox}/events?$top=100"
    while link:
        page = g.get(link).json()  # nextLinks are absolute
        found += [e for e in page["value"] if e["iCalUId"] == ical_uid]
        link = page.get("@odata.nextLink")
    [one] = found
    return one


def test_outlook_edit_reaches_the_feed_as_updated(linked: OrgFixture, stack: Stack) -> None:
    since = now()
    pushed = stack.api.put(
        f"/orgs/{linked.id}/appointments/a1", json=appointment(start=f"{DAY}T10:00:00", end=f"{DAY}T11:00:00")
    )
    event_id = pushed.json()["targets"][0]["eventId"]
    stack.notified_round(linked, "w-ada", since, event_id=event_id)  # our meeting, read back
    stack.notified_round(linked, "w-bob", since)  # and the attendee's copy
    assert changes(stack, linked) == []
    started = time.monotonic()
    with graph(stack, linked) as g:
        r = g.patch(
            f"/users/{linked.users[f'ada@{D}']}/events/{event_id}",
            json={
                "subject": "Moved in Outlook",
                "start": {"dateTime": f"{DAY}T14:00:00", "timeZone": "UTC"},
                "end": {"dateTime": f"{DAY}T15:30:00", "timeZone": "UTC"},
            },
        )
        assert r.status_code == 200
    feed = wait_for(stack, linked, lambda f: any(c["type"] == "updated" for c in f), timeout=5)
    assert time.monotonic() - started < 5
    [update] = [c for c in feed if c["type"] == "updated"]
    assert update["appointment"] == "a1" and update["worker"] == "w-ada"
    assert update["data"]["title"] == "Moved in Outlook"
    assert update["data"]["start"] == f"{DAY}T14:00:00Z" and update["data"]["end"] == f"{DAY}T15:30:00Z"
    assert sorted(update["data"]["changed"]) == ["end", "start", "title"]
    # The console's first read: the end of the feed, and a cursor to poll after it.
    latest = stack.api.get(f"/orgs/{linked.id}/changes", params={"latest": "true", "limit": 1}).json()
    assert latest["changes"] == feed[-1:] and latest["next"] == feed[-1]["cursor"]
    both = stack.api.get(f"/orgs/{linked.id}/changes", params={"latest": "true", "after": latest["next"]})
    assert both.status_code == 400 and both.json()["field"] == "latest"


def test_a_hundred_pushes_of_our_own_make_no_feed_entry(linked: OrgFixture, stack: Stack) -> None:
    since = now()
    base = datetime.fromisoformat(f"{DAY}T06:00:00")
    meetings = {}
    for i in range(50):
        body = appointment(
            start=(base + timedelta(minutes=10 * i)).isoformat(),
            end=(base + timedelta(minutes=10 * i + 5)).isoformat(),
            attendees=["w-bob"],
            resources=["r-room0"] if i % 10 == 0 else [],
        )
        r = stack.api.put(f"/orgs/{linked.id}/appointments/own-{i}", json=body)
        assert r.status_code == 200
        meetings[i] = r.json()["targets"][0]["eventId"]
    for i in range(50):  # and fifty updates
        body = appointment(
            title=f"Renamed {i}",
            start=(base + timedelta(minutes=10 * i)).isoformat(),
            end=(base + timedelta(minutes=10 * i + 5)).isoformat(),
            attendees=["w-bob"],
            resources=["r-room0"] if i % 10 == 0 else [],
        )
        assert stack.api.put(f"/orgs/{linked.id}/appointments/own-{i}", json=body).status_code == 200
    # The last change in each mailbox (own-49 for the organizer and the attendee, own-40 for
    # the room) has been notified and read: every round our writes caused is done.
    with graph(stack, linked) as g:
        for owner, kind, upn, i in (
            ("w-ada", "worker", "ada", 49),
            ("w-bob", "worker", "bob", 49),
            ("r-room0", "resource", "room0", 40),
        ):
            ical = event(g, linked.users[f"ada@{D}"], meetings[i])["iCalUId"]
            last = copy_of(g, linked.users[f"{upn}@{D}"], ical)
            stack.notified_round(linked, owner, since, kind=kind, event_id=last["id"], change_key=last["changeKey"])
    feed = changes(stack, linked)
    # The room accepting our bookings is Exchange's answer, not an echo; nothing else may appear.
    assert [c for c in feed if not (c["type"] == "responded" and c["resource"] == "r-room0")] == []


def _delivered(stack: Stack, subscription: str) -> dict[str, Any]:
    """A notification collection Graph delivered for the subscription (the latest)."""
    deliveries = stack.deliveries()
    return next(
        d["body"]
        for d in reversed(deliveries)
        if d["kind"] == "notification" and d["body"]["value"][0]["subscriptionId"] == subscription
    )


def test_bad_notifications_change_nothing_and_repeats_yield_one_change(
    linked: OrgFixture, stack: Stack, app_host
) -> None:
    since = now()
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/a2", json=appointment()).json()
    event_id = pushed["targets"][0]["eventId"]
    ada = linked.users[f"ada@{D}"]
    sub_id = stack.link(linked, "w-ada")["subscription"]["id"]
    stack.notified_round(linked, "w-ada", since, event_id=event_id)
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})
    try:
        with graph(stack, linked) as g:
            g.patch(f"/users/{ada}/events/{event_id}", json={"subject": "Quiet edit"})
        stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
        edited = now()
        with graph(stack, linked) as g:  # an edit elsewhere, just to capture a real delivery's shape
            r = g.patch(f"/users/{ada}/events/{event_id}", json={"location": {"displayName": "X"}})
        stack.notified_round(linked, "w-ada", edited, event_id=event_id, change_key=r.json()["changeKey"])
        good = _delivered(stack, sub_id)
    finally:
        stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    feed = changes(stack, linked)
    assert len(feed) == 1  # both Outlook edits, read by the one round the second one's notification started
    url = f"{app_host.url}/api/graph/notifications"
    bads = []
    for field, value in (
        ("clientState", "forged"),
        ("subscriptionId", "00000000-0000-0000-0000-000000000000"),
        ("tenantId", "11111111-1111-1111-1111-111111111111"),
    ):
        item = {**good["value"][0], field: value}
        bads.append({"value": [item]})
    with graph(stack, linked) as g:
        stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})
        g.patch(f"/users/{ada}/events/{event_id}", json={"subject": "Third edit"})
        stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    synced = stack.link(linked, "w-ada")["lastSyncAt"]
    for bad in bads:
        assert httpx.post(url, json=bad).status_code == 202
    # A good notification's work is queued before its 202: once the queues are empty, every
    # round these could have started has run. None did, so the third edit is not in the feed.
    eventually(lambda: stack.queued() == 0, what="queues drained")
    assert stack.link(linked, "w-ada")["lastSyncAt"] == synced
    assert len(changes(stack, linked)) == 1  # forged, unknown, foreign: ignored
    repeated = now()
    for _ in range(3):
        assert httpx.post(url, json=good).status_code == 202
    stack.wait_for_round(linked, "w-ada", repeated)
    feed = changes(stack, linked)
    assert [c["data"]["title"] for c in feed if c["type"] == "updated"][-1] == "Third edit"
    assert len(feed) == 2
    assert httpx.post(url, content=b"{not json").status_code == 400
    assert httpx.post(url, json={"value": "nope"}).status_code == 400


def test_outlook_created_event_with_prefix_then_edited(linked: OrgFixture, stack: Stack) -> None:
    stack.api.put(f"/orgs/{linked.id}/settings", json={"createPrefix": "[B]"})
    with graph(stack, linked) as g:
        bob = linked.users[f"bob@{D}"]
        made = outlook_event(g, bob, "[B] Walk-in", f"{DAY}T12:00:00", f"{DAY}T12:30:00")
        outlook_event(g, bob, "Lunch", f"{DAY}T13:00:00", f"{DAY}T13:30:00")
        feed = wait_for(stack, linked, lambda f: any(c["type"] == "created" for c in f))
        g.patch(f"/users/{bob}/events/{made['id']}", json={"subject": "[B] Walk-in (late)"})
    feed = wait_for(stack, linked, lambda f: any(c["type"] == "updated" for c in f))
    created = [c for c in feed if c["type"] == "created"]
    assert len(created) == 1 and created[0]["worker"] == "w-bob" and created[0]["data"]["title"] == "[B] Walk-in"
    [updated] = [c for c in feed if c["type"] == "updated"]
    assert updated["appointment"] == created[0]["appointment"] and updated["data"]["title"] == "[B] Walk-in (late)"


def test_attendee_declining_our_meeting_is_responded(linked: OrgFixture, stack: Stack) -> None:
    since = now()
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/a3", json=appointment(attendees=["w-bob"])).json()
    meeting = pushed["targets"][0]["eventId"]
    stack.notified_round(linked, "w-ada", since, event_id=meeting)
    stack.notified_round(linked, "w-bob", since)
    with graph(stack, linked) as g:
        bob = linked.users[f"bob@{D}"]
        copy = next(e for e in g.get(f"/users/{bob}/events").json()["value"] if e["subject"] == "Haircut")
        declined = now()
        assert g.post(f"/users/{bob}/events/{copy['id']}/decline", json={"comment": "busy"}).status_code == 202
    feed = wait_for(stack, linked, lambda f: any(c["type"] == "responded" for c in f))
    [responded] = [c for c in feed if c["type"] == "responded"]
    assert (responded["appointment"], responded["worker"], responded["data"]["response"]) == ("a3", "w-bob", "declined")
    # Both sides of the decline have been read: the copy leaving bob's calendar, the answer on ada's meeting.
    stack.notified_round(linked, "w-bob", declined, event_id=copy["id"])
    stack.notified_round(linked, "w-ada", declined, event_id=meeting)
    assert not any(c["type"] == "deleted" for c in changes(stack, linked))  # a decline is not a deletion


def test_reservation_made_on_a_linked_room_is_created_for_the_resource(linked: OrgFixture, stack: Stack) -> None:
    with graph(stack, linked) as g:
        outlook_event(g, linked.users[f"room0@{D}"], "Board meeting", f"{DAY}T16:00:00", f"{DAY}T17:00:00")
    feed = wait_for(stack, linked, lambda f: any(c["type"] == "created" for c in f))
    [created] = [c for c in feed if c["type"] == "created"]
    assert created["resource"] == "r-room0" and created["data"]["title"] == "Board meeting"


def test_an_outlook_meeting_with_a_linked_room_is_one_appointment(linked: OrgFixture, stack: Stack) -> None:
    ada, room = linked.users[f"ada@{D}"], linked.users[f"room0@{D}"]
    since = now()
    with graph(stack, linked) as g:
        r = g.post(
            f"/users/{ada}/events",
            json={
                "subject": "Planning",
                "start": {"dateTime": f"{DAY}T14:00:00", "timeZone": "UTC"},
                "end": {"dateTime": f"{DAY}T15:00:00", "timeZone": "UTC"},
                "attendees": [{"emailAddress": {"address": f"room0@{D}"}, "type": "resource"}],
            },
        )
        assert r.status_code == 201, r.text
        meeting = r.json()
        # Both mailboxes' rounds have read their copy of the meeting.
        stack.notified_round(linked, "w-ada", since, event_id=meeting["id"])
        stack.notified_round(linked, "r-room0", since, kind="resource")
        [created] = [c for c in changes(stack, linked) if c["type"] == "created"]
        assert created["data"]["title"] == "Planning"
        assert (created["data"]["workers"], created["data"]["resources"]) == (["w-ada"], ["r-room0"])

        edited = now()
        assert g.patch(f"/users/{ada}/events/{meeting['id']}", json={"subject": "Planning (moved)"}).is_success
        room_copy = copy_of(g, room, meeting["iCalUId"])
        stack.notified_round(linked, "w-ada", edited, event_id=meeting["id"])
        stack.notified_round(linked, "r-room0", edited, kind="resource", event_id=room_copy["id"])
    feed = changes(stack, linked)
    assert [c["type"] for c in feed if c["type"] in ("created", "updated")] == ["created", "updated"]
    [updated] = [c for c in feed if c["type"] == "updated"]
    assert updated["appointment"] == created["appointment"] and updated["data"]["title"] == "Planning (moved)"


def test_one_way_mode_reports_only_its_restores(linked: OrgFixture, stack: Stack) -> None:
    stack.api.put(f"/orgs/{linked.id}/settings", json={"syncMode": "oneWay"})
    since = now()
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/a4", json=appointment()).json()
    ada, event_id = linked.users[f"ada@{D}"], pushed["targets"][0]["eventId"]
    stack.notified_round(linked, "w-ada", since, event_id=event_id)
    with graph(stack, linked) as g:
        edited = now()
        r = g.patch(f"/users/{ada}/events/{event_id}", json={"subject": "edited"})
        # Twice "reported" in twoWay: an edit of our event and an event made in Outlook.
        stack.notified_round(linked, "w-ada", edited, event_id=event_id, change_key=r.json()["changeKey"])
        made = now()
        new = outlook_event(g, ada, "new", f"{DAY}T16:00:00", f"{DAY}T17:00:00")
        stack.notified_round(linked, "w-ada", made, event_id=new["id"])
    # Neither is reported as an Outlook change; the edit was undone, and that is said.
    assert [(c["type"], c["appointment"], c["data"]) for c in changes(stack, linked)] == [
        ("restored", "a4", {"deleted": False, "changed": ["title"]})
    ]


def test_one_way_puts_our_event_back_after_an_outlook_edit_or_delete(linked: OrgFixture, stack: Stack) -> None:
    stack.api.put(f"/orgs/{linked.id}/settings", json={"syncMode": "oneWay"})
    since = now()
    pushed = stack.api.put(f"/orgs/{linked.id}/appointments/a5", json=appointment(attendees=[])).json()
    ada, event_id = linked.users[f"ada@{D}"], pushed["targets"][0]["eventId"]

    def shown(e: dict[str, Any]) -> tuple[str, str, str, str]:
        return e["subject"], e["location"]["displayName"], e["start"]["dateTime"], e["end"]["dateTime"]

    stack.notified_round(linked, "w-ada", since, event_id=event_id)
    with graph(stack, linked) as g:
        booked = shown(event(g, ada, event_id))  # the booking's version, as pushed
        assert booked[:2] == ("Haircut", "Salon 1")
        edited = now()
        r = g.patch(
            f"/users/{ada}/events/{event_id}",
            json={
                "subject": "Changed in Outlook",
                "location": {"displayName": "Elsewhere"},
                "start": {"dateTime": f"{DAY}T15:00:00", "timeZone": "UTC"},
                "end": {"dateTime": f"{DAY}T16:00:00", "timeZone": "UTC"},
            },
        )
        assert r.status_code == 200 and shown(r.json()) != booked
        # The round of the edit puts the booking's version back on the same event…
        restored = eventually(lambda: shown(e := event(g, ada, event_id)) == booked and e, what="restore")
        assert "Bring shampoo" in restored["body"]["content"]
        # …and the round of that write (our own) reads it back.
        stack.notified_round(linked, "w-ada", edited, event_id=event_id, change_key=restored["changeKey"])
        assert stack.api.get(f"/orgs/{linked.id}/appointments/a5").json()["targets"][0]["eventId"] == event_id

        deleted = now()
        assert g.delete(f"/users/{ada}/events/{event_id}").status_code == 204
        # Deleted in Outlook: the round of the deletion makes the event again.
        view = eventually(
            lambda: (
                (v := stack.api.get(f"/orgs/{linked.id}/appointments/a5").json())["targets"][0]["eventId"]
                not in (None, event_id)
                and v["targets"][0]["state"] == "synced"
                and v
            ),
            what="the event recreated",
        )
        [target] = view["targets"]
        assert shown(event(g, ada, target["eventId"])) == booked
        stack.notified_round(linked, "w-ada", deleted, event_id=target["eventId"])
        mine = [e for e in g.get(f"/users/{ada}/events", params={"$top": 100}).json()["value"] if not e["isCancelled"]]
        assert [e["id"] for e in mine] == [target["eventId"]]  # one event, no duplicate
    # oneWay: Outlook's edit and deletion are not reported as Outlook changes, their undoing is.
    assert [(c["type"], c["appointment"], c["data"]["deleted"]) for c in changes(stack, linked)] == [
        ("restored", "a5", False),
        ("restored", "a5", True),
    ]


def test_mass_deletion_is_held_until_confirmed(linked: OrgFixture, stack: Stack) -> None:
    since = now()
    base = datetime.fromisoformat(f"{DAY}T06:00:00")
    ids = []
    for i in range(40):
        r = stack.api.put(
            f"/orgs/{linked.id}/appointments/m{i}",
            json=appointment(
                attendees=[],
                start=(base + timedelta(minutes=15 * i)).isoformat(),
                end=(base + timedelta(minutes=15 * i + 10)).isoformat(),
            ),
        )
        ids.append(r.json()["targets"][0]["eventId"])
    stack.notified_round(linked, "w-ada", since, event_id=ids[-1])  # our forty creates, read back
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})
    try:
        with graph(stack, linked) as g:
            for event_id in ids[:30]:
                assert g.delete(f"/users/{linked.users[f'ada@{D}']}/events/{event_id}").status_code == 204
    finally:
        stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    with graph(stack, linked) as g:  # one more change, so a notification starts the round
        g.patch(f"/users/{linked.users[f'ada@{D}']}/events/{ids[39]}", json={"subject": "nudge"})
    worker = eventually(
        lambda: (w := stack.api.get(f"/orgs/{linked.id}/workers/w-ada").json())["attention"] and w,
        timeout=10,
        what="the guard holding the deletions",
    )
    assert worker["attention"]["heldDeletions"] == 30
    assert not any(c["type"] == "deleted" for c in changes(stack, linked))
    r = stack.api.post(f"/orgs/{linked.id}/workers/w-ada/confirm-deletions")
    assert r.json() == {"worker": "w-ada", "released": 30}
    deleted = [c for c in changes(stack, linked) if c["type"] == "deleted"]
    assert sorted(c["appointment"] for c in deleted) == sorted(f"m{i}" for i in range(30))
    assert stack.api.get(f"/orgs/{linked.id}/workers/w-ada").json()["attention"] is None


def test_expired_delta_token_recovers_without_duplicates_or_losses(linked: OrgFixture, stack: Stack) -> None:
    since = now()
    a = stack.api.put(f"/orgs/{linked.id}/appointments/e1", json=appointment(attendees=[])).json()
    b = stack.api.put(
        f"/orgs/{linked.id}/appointments/e2",
        json=appointment(attendees=[], start=f"{DAY}T12:00:00", end=f"{DAY}T13:00:00"),
    ).json()
    stack.notified_round(linked, "w-ada", since, event_id=b["targets"][0]["eventId"])
    ada = linked.users[f"ada@{D}"]
    with graph(stack, linked) as g:
        g.patch(f"/users/{ada}/events/{a['targets'][0]['eventId']}", json={"subject": "first edit"})
        wait_for(stack, linked, lambda f: len(f) == 1)
        stack.graph.post("/_emulator/delta/expire", json={"mailbox": ada})
        edited = now()
        r = g.patch(f"/users/{ada}/events/{b['targets'][0]['eventId']}", json={"subject": "second edit"})
    # The round after the 410 starts afresh and lists every event again: only the new edit is new.
    stack.notified_round(linked, "w-ada", edited, event_id=b["targets"][0]["eventId"], change_key=r.json()["changeKey"])
    feed = changes(stack, linked)
    assert [(c["appointment"], c["data"]["title"]) for c in feed] == [("e1", "first edit"), ("e2", "second edit")]


def test_a_round_with_more_changes_than_one_transaction_reports_each_once(linked: OrgFixture, stack: Stack) -> None:
    room, sub = linked.users[f"room0@{D}"], stack.link(linked, "r-room0", "resource")["subscription"]["id"]
    stack.wait_idle(linked)  # the room's first round is done: the next one reads all 120
    base = datetime.fromisoformat(f"{DAY}T06:00:00")
    titles = [f"Walk-in {i:03}" for i in range(120)]
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})
    try:
        with graph(stack, linked) as g:
            for i, title in enumerate(titles):
                start = base + timedelta(minutes=15 * i)
                outlook_event(g, room, title, start.isoformat(), (start + timedelta(minutes=10)).isoformat())
    finally:
        stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    asked = now()
    stack.graph.post(f"/_emulator/subscriptions/{sub}/lifecycle", json={"lifecycleEvent": "missed"})
    stack.notified_round(linked, "r-room0", asked, kind="resource", lifecycle_event="missed")
    feed = changes(stack, linked, limit=50)  # pages of 50 across the 98-change transactions
    assert sorted(c["data"]["title"] for c in feed) == titles  # each once, none missing
    assert {(c["type"], c["resource"]) for c in feed} == {("created", "r-room0")}
    assert len({c["appointment"] for c in feed}) == 120
    positions = [decode_cursor(c["cursor"]) for c in feed]
    assert all(a < b for a, b in pairwise(positions)), positions
    assert changes(stack, linked) == feed  # one page of 500 says the same


@pytest.fixture
def second_instance(app_host: Service, stack: Stack, tmp_path: Path) -> Iterator[Service]:
    """Another instance of the app on the same storage, as Azure runs several."""
    log = tmp_path / "second-instance.log"
    host = start_host(dict(app_host.env), log=log)
    host.env["log"] = str(log)
    yield host
    # Stopped with nothing queued, so that no message is left hidden in a stopped instance.
    eventually(lambda: stack.queued() == 0, what="queues drained")
    host.stop()


def test_rounds_racing_on_one_mailbox_report_each_change_once(
    linked: OrgFixture, stack: Stack, app_host: Service, second_instance: Service
) -> None:
    since = now()
    ids = []
    for i in range(5):
        body = appointment(attendees=[], start=f"{DAY}T{8 + i:02}:00:00", end=f"{DAY}T{8 + i:02}:30:00")
        ids.append(stack.api.put(f"/orgs/{linked.id}/appointments/c{i}", json=body).json()["targets"][0]["eventId"])
    stack.notified_round(linked, "w-ada", since, event_id=ids[-1])
    good = _delivered(stack, stack.link(linked, "w-ada")["subscription"]["id"])
    ada = linked.users[f"ada@{D}"]
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})
    try:
        with graph(stack, linked) as g:
            for i, event_id in enumerate(ids):
                assert g.patch(f"/users/{ada}/events/{event_id}", json={"subject": f"Edited {i}"}).status_code == 200
    finally:
        stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    # The same notification eight times, to both instances at once, and two reconciles:
    # several rounds of ada's mailbox run side by side and read the same five edits.
    urls = [f"{h.url}/api/graph/notifications" for h in (app_host, second_instance)]
    raced = now()
    with ThreadPoolExecutor(10) as pool:
        posts = [pool.submit(lambda u: httpx.post(u, json=good).status_code, urls[i % 2]) for i in range(8)]
        reconciles = [
            pool.submit(send_queue, stack.storage, "org-reconcile", json.dumps({"org": linked.id})) for _ in range(2)
        ]
        assert [p.result() for p in posts] == [202] * 8
        [r.result() for r in reconciles]
    stack.wait_for_round(linked, "w-ada", raced)
    feed = changes(stack, linked)
    assert sorted((c["type"], c["appointment"], c["data"]["title"]) for c in feed) == [
        ("updated", f"c{i}", f"Edited {i}") for i in range(5)
    ]
    # Both instances run rounds of the mailbox: which instance takes a queue message is the
    # hosts' race, so more reconciles are sent until the second has taken one; they find
    # nothing new, and nothing is reported twice.
    second_log = Path(second_instance.env["log"])
    for _ in range(20):
        if "Functions.sync_mailbox" in second_log.read_text():  # sync_mailbox or sync_mailboxes
            break
        send_queue(stack.storage, "org-reconcile", json.dumps({"org": linked.id}))
        eventually(lambda: stack.queued("org-reconcile", "mailbox-sync-batch", "mailbox-sync") == 0, what="rounds done")
    assert "Functions.sync_mailbox" in second_log.read_text()
    assert len(changes(stack, linked)) == 5


SECRET = "whsec_Y2Fsc3luYy1pbnRlZ3JhdGlvbi1zZWNyZXQtMDAwMDAx"
OTHER_SECRET = "whsec_Y2Fsc3luYy1zb21lLW90aGVyLXNlY3JldC0wMDAwMDAx"


class Receiver(BaseHTTPRequestHandler):
    """The booking product's webhook: records every attempt, fails while told to."""

    received: ClassVar[list[tuple[bytes, dict[str, str]]]] = []  # accepted deliveries: body, headers
    tried: ClassVar[list[tuple[bytes, dict[str, str]]]] = []  # every delivery, accepted or not
    attempts: ClassVar[list[float]] = []  # when each delivery arrived (monotonic), accepted or not
    failing = False  # answer 500 to everything
    fail_first = 0  # answer 500 to this many attempts, then accept

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        cls = type(self)
        cls.attempts.append(time.monotonic())
        cls.tried.append((body, headers))
        if cls.failing or len(cls.attempts) <= cls.fail_first:
            self.send_response(500)
        else:
            cls.received.append((body, headers))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received, Receiver.tried, Receiver.attempts, Receiver.failing, Receiver.fail_first = [], [], [], False, 0
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/calsync"
    server.shutdown()


def delivered() -> dict[str, dict[str, Any]]:
    """What the receiver accepted, deduplicated by cursor (delivery is at-least-once)."""
    return {c["cursor"]: c for body, _ in Receiver.received for c in json.loads(body)["changes"]}


def test_webhook_gets_signed_batches_and_loses_nothing_while_failing(
    linked: OrgFixture, stack: Stack, receiver: str
) -> None:
    stack.api.put(f"/orgs/{linked.id}/settings", json={"webhookUrl": receiver, "webhookSecret": SECRET})
    Receiver.failing = True
    ada = linked.users[f"ada@{D}"]
    with graph(stack, linked) as g:
        for i in range(3):
            outlook_event(g, ada, f"Outlook {i}", f"{DAY}T1{i}:00:00", f"{DAY}T1{i}:30:00")
    wait_for(stack, linked, lambda f: len(f) == 3)
    eventually(lambda: Receiver.attempts, what="a delivery attempt")  # refused: nothing accepted yet
    Receiver.failing = False
    # Retries back off (2 s, 4 s, 8 s…): wait for all three to be accepted.
    eventually(lambda: len(delivered()) == 3, timeout=60, what="every change delivered")
    assert sorted(c["data"]["title"] for c in delivered().values()) == ["Outlook 0", "Outlook 1", "Outlook 2"]
    for body, headers in Receiver.received:
        assert Webhook(SECRET).verify(body, headers)["org"] == linked.id
        with pytest.raises(WebhookVerificationError):
            Webhook(OTHER_SECRET).verify(body, headers)


def test_webhook_backs_off_while_failing_and_then_delivers_every_change_once(
    linked: OrgFixture, stack: Stack, receiver: str
) -> None:
    stack.api.put(f"/orgs/{linked.id}/settings", json={"webhookUrl": receiver, "webhookSecret": SECRET})
    Receiver.fail_first = 2
    ada, sub = linked.users[f"ada@{D}"], stack.link(linked, "w-ada")["subscription"]["id"]
    stack.wait_idle(linked)
    # Three Outlook events, read by one round: one batch to deliver.
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})
    try:
        with graph(stack, linked) as g:
            for i in range(3):
                outlook_event(g, ada, f"Outlook {i}", f"{DAY}T1{i}:00:00", f"{DAY}T1{i}:30:00")
    finally:
        stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    asked = now()
    stack.graph.post(f"/_emulator/subscriptions/{sub}/lifecycle", json={"lifecycleEvent": "missed"})
    stack.notified_round(linked, "w-ada", asked, lifecycle_event="missed")
    assert len(changes(stack, linked)) == 3
    eventually(lambda: len(delivered()) == 3, timeout=30, what="every change delivered")
    assert sorted(c["data"]["title"] for c in delivered().values()) == ["Outlook 0", "Outlook 1", "Outlook 2"]
    assert all(Webhook(SECRET).verify(body, headers) for body, headers in Receiver.received)
    # Refused twice, then accepted: 2 s after the first refusal, 4 s after the second.
    first, second, third = Receiver.attempts
    assert 1.9 <= second - first < third - second and third - second >= 3.9, Receiver.attempts


def test_a_webhook_delivery_verifies_with_standard_webhooks_and_its_retry_is_the_same_batch(
    linked: OrgFixture, stack: Stack, receiver: str
) -> None:
    stack.api.put(f"/orgs/{linked.id}/settings", json={"webhookUrl": receiver, "webhookSecret": SECRET})
    Receiver.fail_first = 1
    ada, sub = linked.users[f"ada@{D}"], stack.link(linked, "w-ada")["subscription"]["id"]
    stack.wait_idle(linked)
    # Two Outlook events, read by one round: one batch, refused once, then accepted.
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})
    try:
        with graph(stack, linked) as g:
            for i in range(2):
                outlook_event(g, ada, f"Signed {i}", f"{DAY}T1{i}:00:00", f"{DAY}T1{i}:30:00")
    finally:
        stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    asked = now()
    stack.graph.post(f"/_emulator/subscriptions/{sub}/lifecycle", json={"lifecycleEvent": "missed"})
    stack.notified_round(linked, "w-ada", asked, lifecycle_event="missed")
    feed = changes(stack, linked)
    eventually(lambda: Receiver.received, timeout=30, what="the retried delivery accepted")
    (refused_body, refused), (body, headers) = Receiver.tried[:2]
    # What the receiver got verifies with the library's own verifier, and with no other secret.
    for data, sent in ((refused_body, refused), (body, headers)):
        assert [c["cursor"] for c in Webhook(SECRET).verify(data, sent)["changes"]] == [c["cursor"] for c in feed]
        with pytest.raises(WebhookVerificationError):
            Webhook(OTHER_SECRET).verify(data, sent)
    # webhook-id is the cursor of the batch's last change: the feed's `after` takes it.
    assert headers["webhook-id"] == feed[-1]["cursor"] == json.loads(body)["changes"][-1]["cursor"]
    after = stack.api.get(f"/orgs/{linked.id}/changes", params={"after": headers["webhook-id"]}).json()
    assert after["changes"] == [] and after["next"] == headers["webhook-id"]
    # The retry is the same batch: same webhook-id, same body (a receiver de-duplicates on the id).
    assert (refused["webhook-id"], refused_body) == (headers["webhook-id"], body)
    assert Receiver.received == [(body, headers)]


def test_a_failing_webhook_receiver_keeps_one_delivery_chain(private_stack: Stack, receiver: str) -> None:
    stack = private_stack
    org = new_org(stack)
    assert stack.api.put(f"/orgs/{org.id}/workers/w-ada", json={"m365Account": f"ada@{D}"}).json()["status"] == "linked"
    stack.wait_idle(org)
    stack.api.put(f"/orgs/{org.id}/settings", json={"webhookUrl": receiver, "webhookSecret": SECRET})
    Receiver.failing = True
    ada = org.users[f"ada@{D}"]
    with graph(stack, org) as g:
        for i in range(4):  # four rounds, each with a change to deliver
            made = now()
            new = outlook_event(g, ada, f"Outlook {i}", f"{DAY}T1{i}:00:00", f"{DAY}T1{i}:30:00")
            stack.notified_round(org, "w-ada", made, event_id=new["id"])
    assert len(changes(stack, org)) == 4
    eventually(lambda: len(Receiver.attempts) >= 2, what="two refused deliveries")
    # One chain of retries is one message, waiting for its time (invisible to a peek) or being
    # worked on; for a moment a retry and the attempt it follows are both there.
    with QueueClient.from_connection_string(stack.storage, "webhook-delivery") as queue:
        counts = []
        for _ in range(10):
            counts.append(queue.get_queue_properties().approximate_message_count)
            time.sleep(0.1)
        visible = [m.content for m in queue.peek_messages(max_messages=32)]
    assert min(counts) <= 1, f"{counts} messages in webhook-delivery (visible now: {visible})"
