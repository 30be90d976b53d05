"""Tasks to Microsoft To Do and back, and Teams links on appointments, end to end: the local
host, Azurite and the Graph emulator."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from tests.integration.conftest import OrgFixture, Stack, eventually, now
from tests.integration.test_inbound import changes, graph
from tests.integration.test_maintenance import reconcile
from tests.integration.test_push import DAY, appointment

D = "fabrikam.test"
TASK = {"worker": "w-ada", "title": "Call Mrs. Jones back", "dueDate": "2026-12-18", "importance": "high"}
WORKER_IN_TODO = "7d1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"  # another client: the To Do app


def todo_tasks(stack: Stack, org: OrgFixture, mailbox: str, name: str = "Bookings") -> list[dict[str, Any]]:
    """What the worker's To Do holds in the list `name` (read as the To Do app would)."""
    with stack.graph_as(org.tenant, WORKER_IN_TODO) as g:
        lists = g.get(f"/users/{mailbox}/todo/lists").json()["value"]
        named = [x for x in lists if x["displayName"] == name]
        assert len(named) <= 1, named
        if not named:
            return []
        return g.get(f"/users/{mailbox}/todo/lists/{named[0]['id']}/tasks").json()["value"]


def test_a_task_pushed_twice_is_one_todo_task_and_its_completion_one_change(linked: OrgFixture, stack: Stack) -> None:
    ada = linked.users[f"ada@{D}"]
    first = stack.api.put(f"/orgs/{linked.id}/tasks/t1", json=TASK)
    assert first.status_code == 200, first.text
    again = stack.api.put(f"/orgs/{linked.id}/tasks/t1", json=TASK)
    assert again.status_code == 200 and again.json()["todoTaskId"] == first.json()["todoTaskId"]
    [made] = todo_tasks(stack, linked, ada)
    assert (made["title"], made["importance"], made["status"]) == ("Call Mrs. Jones back", "high", "notStarted")
    assert made["dueDateTime"]["dateTime"].startswith("2026-12-18")

    reconcile(stack, linked)  # a first round of the list: our own task, nothing to report
    eventually(lambda: stack.queued("task-round-batches", "task-rounds", "org-reconcile") == 0, what="rounds done")

    # The worker completes it in To Do; the next reconcile reads the list's delta.
    with stack.graph_as(linked.tenant, WORKER_IN_TODO) as g:
        r = g.patch(
            f"/users/{ada}/todo/lists/{first.json()['listId']}/tasks/{made['id']}", json={"status": "completed"}
        )
        assert r.status_code == 200, r.text
    reconcile(stack, linked)
    found = eventually(lambda: [c for c in changes(stack, linked) if c["type"] == "task_completed"], what="completed")
    [done] = found
    assert (done["task"], done["worker"], done["eventId"]) == ("t1", "w-ada", made["id"])
    # To Do records the day of a completion, not the moment (ada's mailbox is in UTC).
    assert done["data"]["status"] == "completed" and done["data"]["completedOn"] == str(datetime.now(UTC).date())
    reconcile(stack, linked)  # read again: nothing new
    eventually(lambda: stack.queued("task-round-batches", "task-rounds", "org-reconcile") == 0, what="rounds done")
    assert [c["type"] for c in changes(stack, linked)] == ["task_completed"]
    shown = stack.api.get(f"/orgs/{linked.id}/tasks/t1").json()
    assert (shown["status"], shown["state"]) == ("completed", "synced")


def test_deleting_a_task_removes_it_from_todo_and_bad_tasks_are_refused(linked: OrgFixture, stack: Stack) -> None:
    ada = linked.users[f"ada@{D}"]
    assert stack.api.put(f"/orgs/{linked.id}/tasks/t2", json=TASK).status_code == 200
    gone = stack.api.delete(f"/orgs/{linked.id}/tasks/t2")
    assert gone.status_code == 200 and gone.json()["state"] == "deleted"
    assert todo_tasks(stack, linked, ada) == []
    for bad, code in (
        ({**TASK, "status": "done"}, "invalid_input"),
        ({**TASK, "worker": "w-nobody"}, "unknown_worker"),
        ({**TASK, "worker": "w-dee"}, "worker_not_linked"),
    ):
        r = stack.api.put(f"/orgs/{linked.id}/tasks/t3", json=bad)
        assert r.status_code in (400, 409) and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == code, r.text
    assert stack.api.get(f"/orgs/{linked.id}/tasks/t3").status_code == 404  # nothing was written


def test_an_online_appointment_carries_a_teams_join_url_into_the_view_and_the_feed(
    linked: OrgFixture, stack: Stack
) -> None:
    since = now()
    r = stack.api.put(f"/orgs/{linked.id}/appointments/a-teams", json=appointment(onlineMeeting=True))
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["onlineMeeting"] is True
    join = view["joinUrl"]
    assert join and join.startswith("https://teams.microsoft.com/l/meetup-join/")
    [target] = view["targets"]
    assert target["joinUrl"] == join
    assert stack.api.get(f"/orgs/{linked.id}/appointments/a-teams").json()["joinUrl"] == join
    ada = linked.users[f"ada@{D}"]
    with graph(stack, linked) as g:
        meeting = g.get(f"/users/{ada}/events/{target['eventId']}").json()
        assert (meeting["isOnlineMeeting"], meeting["onlineMeetingProvider"]) == (True, "teamsForBusiness")
        stack.notified_round(linked, "w-ada", since, event_id=target["eventId"])  # our own write: no change
        started = time.monotonic()
        moved = g.patch(f"/users/{ada}/events/{target['eventId']}", json={"subject": "Haircut (Teams)"})
        assert moved.status_code == 200, moved.text
    found = eventually(
        lambda: [c for c in changes(stack, linked) if c["type"] == "updated" and c["appointment"] == "a-teams"],
        timeout=15 + (time.monotonic() - started),
        what="the Outlook edit in the feed",
    )
    assert found[0]["data"]["joinUrl"] == join
    # An appointment without it has none.
    plain = stack.api.put(
        f"/orgs/{linked.id}/appointments/a-plain", json=appointment(start=f"{DAY}T12:00:00", end=f"{DAY}T13:00:00")
    )
    assert plain.json()["joinUrl"] is None and "joinUrl" not in plain.json()["targets"][0]
    # Asked for later, the same meeting becomes online (a PATCH, the same event).
    later = stack.api.put(
        f"/orgs/{linked.id}/appointments/a-plain",
        json=appointment(start=f"{DAY}T12:00:00", end=f"{DAY}T13:00:00", onlineMeeting=True),
    ).json()
    assert later["joinUrl"] and later["joinUrl"] != join
    assert later["targets"][0]["eventId"] == plain.json()["targets"][0]["eventId"]


def test_the_teams_join_block_exchange_writes_into_the_body_is_no_outlook_edit(
    linked: OrgFixture, stack: Stack
) -> None:
    """#24 item 1: Exchange adds the Teams join block to an online meeting's body
    (concepts/outlook-calendar-online-meetings.md, the 201 example). That is nobody's edit;
    a new body from the booking product keeps the join link; a person's edit is still news."""
    ada = linked.users[f"ada@{D}"]

    def outlook_body(event_id: str) -> str:
        with graph(stack, linked) as g:
            return g.get(f"/users/{ada}/events/{event_id}").json()["body"]["content"]

    def ours() -> list[tuple[str, list[str]]]:
        return [(c["type"], c["data"].get("changed")) for c in changes(stack, linked) if c["appointment"] == "a-join"]

    since = now()
    view = stack.api.put(f"/orgs/{linked.id}/appointments/a-join", json=appointment(onlineMeeting=True)).json()
    event_id, join = view["targets"][0]["eventId"], view["joinUrl"]
    body = outlook_body(event_id)
    assert "Bring shampoo" in body and "Microsoft Teams Meeting" in body and join in body.replace("&amp;", "&")
    stack.notified_round(linked, "w-ada", since, event_id=event_id)

    since = now()
    r = stack.api.put(f"/orgs/{linked.id}/appointments/a-join", json=appointment(onlineMeeting=True, body="Bring gel"))
    assert r.status_code == 200, r.text
    body = outlook_body(event_id)
    assert "Bring gel" in body and join in body.replace("&amp;", "&")  # the join link stays
    stack.notified_round(linked, "w-ada", since, event_id=event_id)
    assert ours() == []

    since = now()
    with graph(stack, linked) as g:
        r = g.patch(f"/users/{ada}/events/{event_id}", json={"body": {"contentType": "text", "content": "No gel"}})
        assert r.status_code == 200, r.text
    stack.notified_round(linked, "w-ada", since, event_id=event_id)
    assert ours() == [("updated", ["body"])]


def test_a_teams_meeting_graph_quietly_refuses_says_so_and_the_next_update_asks_again(
    linked: OrgFixture, stack: Stack
) -> None:
    """#24 item 2: where the organizer's calendar does not allow Teams, Graph answers 201 with
    isOnlineMeeting false (docs-contrib issue #4625): the target says so, with a code."""
    ada = linked.users[f"ada@{D}"]
    assert stack.graph.patch(f"/_emulator/users/{ada}", json={"teams": False}).status_code == 200
    try:
        body = appointment(onlineMeeting=True, start=f"{DAY}T14:00:00", end=f"{DAY}T15:00:00")
        view = stack.api.put(f"/orgs/{linked.id}/appointments/a-noteams", json=body).json()
        [target] = view["targets"]
        assert view["joinUrl"] is None and target["state"] == "synced"
        assert target["error"]["code"] == "online_meeting_refused" and "Teams" in target["error"]["message"]
        assert (
            stack.api.get(f"/orgs/{linked.id}/appointments/a-noteams").json()["targets"][0]["error"]
            == (target["error"])
        )
    finally:
        stack.graph.patch(f"/_emulator/users/{ada}", json={"teams": True})
    again = stack.api.put(f"/orgs/{linked.id}/appointments/a-noteams", json=body).json()
    assert again["joinUrl"] and again["targets"][0]["error"] is None
    assert again["targets"][0]["eventId"] == target["eventId"]


def test_a_task_create_whose_answer_is_lost_is_one_todo_task(linked: OrgFixture, stack: Stack) -> None:
    """The soak's two To Do tasks for one task: To Do made it and answered 504, the SDK's
    retry handler sent the POST again (a task has no transactionId to de-duplicate it)."""
    ada = linked.users[f"ada@{D}"]
    assert stack.api.put(f"/orgs/{linked.id}/tasks/t0", json={**TASK, "title": "First"}).status_code == 200
    lost = {"method": "POST", "pattern": "/users/{id}/todo/lists/{id}/tasks", "status": 504, "afterApply": True}
    stack.graph.post("/_emulator/faults", json={"failNext": [{**lost, "retryAfter": 0}]})
    r = stack.api.put(f"/orgs/{linked.id}/tasks/t1", json=TASK)
    assert r.status_code in (200, 202), r.text
    eventually(lambda: stack.api.get(f"/orgs/{linked.id}/tasks/t1").json()["state"] == "synced", what="synced")
    assert sorted(t["title"] for t in todo_tasks(stack, linked, ada)) == ["Call Mrs. Jones back", "First"]
