"""Finding a time and a room through the local host, Azurite and the Graph emulator:
POST …/suggestions reads the workers' and the imported rooms' calendars (our pushes and
Outlook's own events alike) and answers times when the required workers are free inside
their working hours, with the rooms free for the whole time, smallest first."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tests.integration.conftest import OrgFixture, Stack

D = "fabrikam.test"


def weekday_ahead() -> date:
    """A working day at least three days ahead (the emulator's working hours: Mon–Fri 08–17)."""
    day = (datetime.now(UTC) + timedelta(days=3)).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


DAY = weekday_ahead()


def at(hour: int) -> str:
    return f"{DAY}T{hour:02d}:00:00Z"


def ask(stack: Stack, org: OrgFixture, **body: object) -> dict:
    r = stack.api.post(
        f"/orgs/{org.id}/suggestions",
        json={"durationMinutes": 60, "start": at(8), "end": at(17), "timeZone": "UTC", **body},
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_a_time_and_the_rooms_free_for_it(stack: Stack) -> None:
    tenant, users = stack.seed(rooms=3)  # Room 0, 1, 2 seat 4, 5 and 6
    org_id = f"org-sugg-{tenant[:8]}"
    r = stack.api.put(f"/orgs/{org_id}", json={"m365TenantId": tenant, "displayName": "Fabrikam"})
    assert r.status_code == 200, r.text
    fixture = OrgFixture(org_id, tenant, users)
    for worker in ("ada", "bob"):
        r = stack.api.put(f"/orgs/{org_id}/workers/w-{worker}", json={"m365Account": f"{worker}@{D}"})
        assert r.json()["status"] == "linked", r.text
    imported = stack.import_resources(org_id)["results"]
    rooms = {r["mailbox"]: r["resource"] for r in imported if r["kind"] == "room"}
    room = stack.api.get(f"/orgs/{org_id}/resources/{rooms[f'room1@{D}']}").json()
    assert room["place"]["capacity"] == 5 and room["placeReadAt"]  # the places data, as imported

    # Ada's meeting in Room 1, pushed through our API; Bob's own event, made in Outlook.
    r = stack.api.put(
        f"/orgs/{org_id}/appointments/sugg-1",
        json={
            "title": "Review",
            "start": at(8),
            "end": at(10),
            "organizer": "w-ada",
            "resources": [rooms[f"room1@{D}"]],
        },
    )
    assert r.status_code == 200, r.text
    with stack.graph_as(tenant, app_id="11111111-2222-3333-4444-555555555555") as g:
        lunch = {"subject": "Lunch", "start": {"dateTime": f"{DAY}T10:00:00", "timeZone": "UTC"},
                 "end": {"dateTime": f"{DAY}T11:00:00", "timeZone": "UTC"}}  # fmt: skip
        assert g.post(f"/users/{users[f'bob@{D}']}/events", json=lunch).status_code == 201

    out = ask(stack, fixture, required=["w-ada", "w-bob"], room={"capacity": 5}, maxSuggestions=2)
    assert [(s["start"], [x["name"] for x in s["rooms"]]) for s in out["suggestions"]] == [
        (f"{DAY}T11:00:00+00:00", ["Room 1", "Room 2"]),
        (f"{DAY}T11:30:00+00:00", ["Room 1", "Room 2"]),
    ]
    assert out["roomsMatching"] == 2 and out["unavailable"] == []  # Room 0 seats 4

    # Only a room, while Ada's meeting holds Room 1: the others, smallest first.
    only_room = ask(stack, fixture, end=at(10), durationMinutes=120, room={})
    [slot] = only_room["suggestions"][:1]
    assert (slot["start"], [x["name"] for x in slot["rooms"]]) == (f"{DAY}T08:00:00+00:00", ["Room 0", "Room 2"])

    # An optional worker nobody linked is named, never counted as coming.
    named = ask(stack, fixture, required=["w-ada"], optional=["w-nobody"], maxSuggestions=1)
    assert named["unavailable"][0]["code"] == "unknown_worker"
    assert named["suggestions"][0]["optionalBusy"] == [{"worker": "w-nobody", "reason": "calendar_unavailable"}]


def test_bad_requests_are_problems_and_call_no_graph(linked: OrgFixture, stack: Stack) -> None:
    stack.clear_requests(linked)
    period = {"start": at(10), "end": at(11), "durationMinutes": 30}
    for body, field, status in (
        ({"required": ["w-ada"], **period, "durationMinutes": 120}, "durationMinutes", 400),
        ({"required": ["w-ada"], "optional": ["w-ada"], **period}, "optional", 400),
        ({"required": ["w-ada"], **period, "room": {"capacity": 0}}, "room.capacity", 400),
        ({"required": ["w-nobody"], **period}, "required", 400),
    ):
        r = stack.api.post(f"/orgs/{linked.id}/suggestions", json=body)
        assert r.status_code == status and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert r.json()["field"] == field
    r = stack.api.post(f"/orgs/{linked.id}/suggestions", json={"required": ["w-dee"], **period})
    assert r.status_code == 409 and r.json()["code"] == "worker_not_linked", r.text
    assert stack.graph_calls(linked) == 0
