"""Free/busy through the local host, Azurite and the Graph emulator: POST …/availability
answers the blocks two workers' and a room's calendars hold — pushed through our API and made
in Outlook — in the asked time zone, and names whoever it could not ask."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.integration.conftest import OrgFixture, Stack

D = "fabrikam.test"
BERLIN = ZoneInfo("Europe/Berlin")
DAY = (datetime.now(UTC) + timedelta(days=3)).date()


def berlin(hour: float) -> str:
    """DAY at `hour` o'clock in Berlin, as the API answers it (with Berlin's offset)."""
    at = datetime(DAY.year, DAY.month, DAY.day, tzinfo=BERLIN) + timedelta(hours=hour)
    return at.isoformat(timespec="seconds")


def wall(hour: float) -> dict[str, str]:
    return {"dateTime": f"{DAY}T{int(hour):02d}:{int(hour % 1 * 60):02d}:00", "timeZone": "W. Europe Standard Time"}


def outlook_event(
    stack: Stack, org: OrgFixture, upn: str, subject: str, start: float, end: float, **extra: str
) -> None:
    """Someone adds an event in Outlook (not through calsync), at Berlin wall-clock times."""
    body = {"subject": subject, "start": wall(start), "end": wall(end), **extra}
    with stack.graph_as(org.tenant, app_id="11111111-2222-3333-4444-555555555555") as g:
        r = g.post(f"/users/{org.users[f'{upn}@{D}']}/events", json=body)
        assert r.status_code == 201, r.text


def ask(stack: Stack, org: OrgFixture, **extra: object) -> dict:
    body = {
        "workers": ["w-ada", "w-bob", "w-dee", "w-nobody"],
        "resources": ["r-room0"],
        "start": f"{DAY}T08:00:00",
        "end": f"{DAY}T18:00:00",
        "timeZone": "Europe/Berlin",
        "intervalMinutes": 60,
        **extra,
    }
    r = stack.api.post(f"/orgs/{org.id}/availability", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_blocks_from_our_pushes_and_from_outlook_in_the_asked_zone(linked: OrgFixture, stack: Stack) -> None:
    # Pushed through our API: a meeting ada organizes with bob and the room, 10:00–11:00 Berlin.
    r = stack.api.put(
        f"/orgs/{linked.id}/appointments/avail-1",
        json={
            "title": "Haircut",
            "start": f"{DAY}T10:00:00",
            "end": f"{DAY}T11:00:00",
            "timeZone": "Europe/Berlin",
            "organizer": "w-ada",
            "attendees": ["w-bob"],
            "resources": ["r-room0"],
        },
    )
    assert r.status_code == 200, r.text
    # Made in Outlook: bob's tentative lunch, a direct room reservation, ada's private errand.
    outlook_event(stack, linked, "bob", "Lunch", 12, 13.5, showAs="tentative")
    outlook_event(stack, linked, "room0", "Cleaning", 16, 17)
    outlook_event(stack, linked, "ada", "Dentist", 15, 16, sensitivity="private")
    outlook_event(stack, linked, "ada", "Evening", 19, 20)  # outside the period

    out = ask(stack, linked)
    assert (out["start"], out["end"], out["timeZone"], out["intervalMinutes"]) == (
        berlin(8), berlin(18), "Europe/Berlin", 60
    )  # fmt: skip
    by_owner = {s.get("worker") or s.get("resource"): s for s in out["schedules"]}
    assert list(by_owner) == ["w-ada", "w-bob", "r-room0"]
    ada, bob, room = by_owner["w-ada"], by_owner["w-bob"], by_owner["r-room0"]
    assert [(b["start"], b["end"], b.get("subject")) for b in ada["busy"]] == [
        (berlin(10), berlin(11), "Haircut"),
        (berlin(15), berlin(16), None),  # private: no details
    ]
    assert ada["busy"][1]["isPrivate"] is True
    assert ada["availabilityView"] == "0020000200"
    assert [(b["status"], b["start"], b["end"]) for b in bob["busy"]] == [
        ("busy", berlin(10), berlin(11)),  # the meeting's copy
        ("tentative", berlin(12), berlin(13.5)),
    ]
    assert bob["availabilityView"] == "0020110000"
    assert [(b["start"], b["end"]) for b in room["busy"]] == [(berlin(10), berlin(11)), (berlin(16), berlin(17))]
    assert room["address"] == f"room0@{D}" and ada["address"] == f"ada@{D}"
    assert ada["workingHours"] == {
        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        "startTime": "08:00:00",
        "endTime": "17:00:00",
        "timeZone": "UTC",
    }
    # Whoever could not be asked is named with the reason.
    assert [(u["worker"], u["code"]) for u in out["unavailable"]] == [
        ("w-dee", "not_linked"),
        ("w-nobody", "unknown_worker"),
    ]
    assert all(u["reason"] for u in out["unavailable"])


def test_a_graph_fault_names_every_schedule_of_the_call(linked: OrgFixture, stack: Stack) -> None:
    outlook_event(stack, linked, "ada", "Busy", 9, 10)
    fault = {"method": "POST", "pattern": "/users/{id}/calendar/getSchedule", "status": 500, "count": 1}
    assert stack.graph.post("/_emulator/faults", json={"failNext": [fault]}).status_code == 200
    out = ask(stack, linked)
    assert out["schedules"] == []
    named = {(u.get("worker") or u.get("resource")): u["code"] for u in out["unavailable"]}
    assert named == {
        "w-ada": "graph_unavailable",
        "w-bob": "graph_unavailable",
        "r-room0": "graph_unavailable",
        "w-dee": "not_linked",
        "w-nobody": "unknown_worker",
    }
    # The next ask finds Graph well again.
    again = ask(stack, linked, workers=["w-ada"], resources=[])
    assert [b["start"] for b in again["schedules"][0]["busy"]] == [berlin(9)]


def test_bad_requests_are_problems_and_call_no_graph(linked: OrgFixture, stack: Stack) -> None:
    stack.clear_requests(linked)
    period = {"start": f"{DAY}T10:00:00", "end": f"{DAY}T11:00:00"}
    for body, field in (
        ({"workers": ["w-ada"], **period, "end": f"{DAY}T09:00:00"}, "end"),
        ({"workers": ["w-ada"], **period, "intervalMinutes": 1}, "intervalMinutes"),
        (period, "workers"),
    ):
        r = stack.api.post(f"/orgs/{linked.id}/availability", json=body)
        assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert r.json()["field"] == field
    r = stack.api.post(
        "/orgs/no-such-org/availability", json={"workers": ["w"], "start": f"{DAY}T10:00", "end": f"{DAY}T11:00"}
    )
    assert r.status_code == 404 and r.json()["code"] == "org_not_found"
    assert stack.graph_calls(linked) == 0
