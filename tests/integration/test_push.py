"""Pushing appointments to Outlook through the local host, Azurite and the emulator."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient

from devtools.services import Service, start_azurite
from shared.adapters.table_codec import encode_key
from tests.integration.conftest import OrgFixture, Stack, eventually, link_everyone, new_org, now, stack_on, start_app

D = "fabrikam.test"
DAY = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d")


def appointment(**overrides: object) -> dict:
    body = {
        "title": "Haircut",
        "start": f"{DAY}T10:00:00",
        "end": f"{DAY}T11:00:00",
        "timeZone": "Europe/Oslo",
        "organizer": "w-ada",
        "attendees": ["w-bob"],
        "location": "Salon 1",
        "body": "Bring shampoo",
    }
    body.update(overrides)
    return body


def ahead(month: int, day: int) -> date:
    """The next `month`/`day` at least a week from today."""
    soon = datetime.now(UTC).date() + timedelta(days=7)
    found = date(soon.year, month, day)
    return found if found >= soon else date(soon.year + 1, month, day)


def last_sunday_ahead(month: int) -> date:
    """The next last Sunday of `month` at least a week from today: the EU changes its clocks
    then, at 01:00 UTC (the last Sunday of March and of October)."""
    soon = datetime.now(UTC).date() + timedelta(days=7)
    for year in (soon.year, soon.year + 1):
        end = date(year, month + 1, 1) - timedelta(days=1)
        sunday = end - timedelta(days=(end.weekday() - 6) % 7)
        if sunday >= soon:
            return sunday
    raise AssertionError("unreachable")


def outlook_times(stack: Stack, org: OrgFixture, upn: str, event_id: str) -> tuple[str, str]:
    """(start, end) of one event as Outlook has it, in UTC."""
    with stack.graph_as(org.tenant) as g:
        r = g.get(f"/users/{org.users[f'{upn}@{D}']}/events/{event_id}", headers={"Prefer": 'IdType="ImmutableId"'})
        assert r.status_code == 200, r.text
        return r.json()["start"]["dateTime"], r.json()["end"]["dateTime"]


def events(stack: Stack, org: OrgFixture, upn: str) -> list[dict]:
    with stack.graph_as(org.tenant) as g:
        r = g.get(
            f"/users/{org.users[f'{upn}@{D}']}/events", params={"$top": 100}, headers={"Prefer": 'IdType="ImmutableId"'}
        )
        return r.json()["value"]


def writes(stack: Stack, org: OrgFixture) -> int:
    """Event writes (create, update, delete, meeting actions) in the org's mailboxes since the
    emulator's request log was cleared."""
    items = stack.graph.get("/_emulator/requests").json()["items"]
    mine = set(org.users.values())
    return sum(
        i["count"]
        for i in items
        if i["method"] in ("POST", "PATCH", "DELETE") and i["pattern"].startswith("/users/") and i["mailbox"] in mine
    )


def test_organizer_mode_one_meeting_with_attendee_and_room_copies(linked: OrgFixture, stack: Stack) -> None:
    winter = ahead(1, 15)
    r = stack.api.put(
        f"/orgs/{linked.id}/appointments/a1",
        json=appointment(
            start=f"{winter}T10:00:00",
            end=f"{winter}T11:00:00",
            attendees=["w-bob", "w-cyd"],
            resources=["r-room0"],
            guests=["guest@outside.test"],
        ),
    )
    assert r.status_code == 200, r.text
    targets = r.json()["targets"]
    assert [(t["role"], t["state"], t["mailbox"]) for t in targets] == [("organizer", "synced", f"ada@{D}")]
    [meeting] = events(stack, linked, "ada")
    assert meeting["id"] == targets[0]["eventId"] and meeting["subject"] == "Haircut"
    attendees = {a["emailAddress"]["address"]: (a["type"], a["status"]["response"]) for a in meeting["attendees"]}
    assert attendees == {
        f"bob@{D}": ("required", "none"),
        f"cyd@{D}": ("required", "none"),
        "guest@outside.test": ("required", "none"),
        f"room0@{D}": ("resource", "accepted"),
    }
    for upn in ("bob", "cyd", "room0"):
        [copy] = events(stack, linked, upn)
        assert copy["iCalUId"] == meeting["iCalUId"] and not copy["isOrganizer"]
    # Oslo 10:00 in the winter (UTC+1) is 09:00 UTC.
    assert (meeting["start"]["dateTime"], meeting["end"]["dateTime"]) == (
        f"{winter}T09:00:00.0000000",
        f"{winter}T10:00:00.0000000",
    )
    assert meeting["originalStartTimeZone"] == "W. Europe Standard Time"


def test_oslo_wall_clock_times_follow_summer_time_and_its_changes(linked: OrgFixture, stack: Stack) -> None:
    summer, spring, autumn = ahead(7, 15), last_sunday_ahead(3), last_sunday_ahead(10)
    day = timedelta(days=1)
    # (Oslo start, Oslo end) → (UTC start, UTC end); Oslo is UTC+2 in summer time, else UTC+1.
    cases = {
        "summer": ((summer, "10:00", summer, "11:00"), (summer, "08:00", summer, "09:00")),
        "before-spring": (
            (spring - day, "10:00", spring - day, "11:00"),
            (spring - day, "09:00", spring - day, "10:00"),
        ),
        "after-spring": (
            (spring + day, "10:00", spring + day, "11:00"),
            (spring + day, "08:00", spring + day, "09:00"),
        ),
        # 02:00 does not exist that night: 01:30 → 03:30 is one hour.
        "across-spring": ((spring, "01:30", spring, "03:30"), (spring, "00:30", spring, "01:30")),
        "before-autumn": (
            (autumn - day, "10:00", autumn - day, "11:00"),
            (autumn - day, "08:00", autumn - day, "09:00"),
        ),
        "after-autumn": (
            (autumn + day, "10:00", autumn + day, "11:00"),
            (autumn + day, "09:00", autumn + day, "10:00"),
        ),
        # 02:00–03:00 happens twice that night: 01:30 → 03:30 is three hours.
        "across-autumn": ((autumn, "01:30", autumn, "03:30"), (autumn - day, "23:30", autumn, "02:30")),
    }
    for name, ((d0, t0, d1, t1), (u0, v0, u1, v1)) in cases.items():
        r = stack.api.put(
            f"/orgs/{linked.id}/appointments/dst-{name}",
            json=appointment(attendees=[], start=f"{d0}T{t0}:00", end=f"{d1}T{t1}:00", timeZone="Europe/Oslo"),
        )
        assert r.status_code == 200, r.text
        [target] = r.json()["targets"]
        assert outlook_times(stack, linked, "ada", target["eventId"]) == (
            f"{u0}T{v0}:00.0000000",
            f"{u1}T{v1}:00.0000000",
        ), name


def test_a_meeting_with_a_room_is_indexed_by_its_ical_uid(linked: OrgFixture, stack: Stack) -> None:
    since = now()
    r = stack.api.put(f"/orgs/{linked.id}/appointments/ical", json=appointment(resources=["r-room0"]))
    assert r.status_code == 200, r.text
    [meeting] = events(stack, linked, "ada")
    # Its copies have been read back (the rooms' and attendees' rounds look meetings up by iCalUId).
    stack.notified_round(linked, "w-ada", since, event_id=meeting["id"])
    stack.notified_round(linked, "w-bob", since)
    stack.notified_round(linked, "r-room0", since, kind="resource")
    key = encode_key(meeting["iCalUId"])
    with TableClient.from_connection_string(stack.storage, f"{stack.prefix}IcalIndex") as index:
        try:
            row = index.get_entity(key, key)
        except ResourceNotFoundError:
            row = None
    assert row is not None and (row["org"], row["appointment"]) == (linked.id, "ical"), row


def test_copies_mode_one_event_per_linked_worker_and_resource(linked: OrgFixture, stack: Stack) -> None:
    stack.api.put(f"/orgs/{linked.id}/settings", json={"useOrganizer": False})
    r = stack.api.put(f"/orgs/{linked.id}/appointments/a2", json=appointment(resources=["r-room0"]))
    roles = sorted((t["role"], t["mailbox"]) for t in r.json()["targets"])
    assert roles == [("copy", f"ada@{D}"), ("copy", f"bob@{D}"), ("resource", f"room0@{D}")]
    for upn in ("ada", "bob", "room0"):
        [copy] = events(stack, linked, upn)
        assert copy["attendees"] == [] and copy["subject"] == "Haircut" and copy["isOrganizer"]


def test_same_put_ten_times_leaves_one_event_and_writes_once(linked: OrgFixture, stack: Stack) -> None:
    stack.graph.delete("/_emulator/requests")
    for _ in range(10):
        assert stack.api.put(f"/orgs/{linked.id}/appointments/a3", json=appointment()).status_code == 200
    assert len(events(stack, linked, "ada")) == 1 and len(events(stack, linked, "bob")) == 1
    assert writes(stack, linked) == 1


def test_create_retried_after_503_with_lost_answer_is_not_duplicated(linked: OrgFixture, stack: Stack) -> None:
    stack.graph.post(
        "/_emulator/faults",
        json={
            "failNext": [
                {"method": "POST", "pattern": "/users/{id}/events", "status": 503, "afterApply": True, "retryAfter": 0}
            ]
        },
    )
    r = stack.api.put(f"/orgs/{linked.id}/appointments/a4", json=appointment())
    assert r.status_code == 200 and r.json()["targets"][0]["state"] == "synced"
    assert len(events(stack, linked, "ada")) == 1


def test_graph_down_past_the_bound_answers_202_and_the_queue_finishes(linked: OrgFixture, stack: Stack) -> None:
    stack.graph.post(
        "/_emulator/faults",
        json={
            "failNext": [
                {
                    "method": "POST",
                    "pattern": "/users/{id}/events",
                    "status": 503,
                    "afterApply": True,
                    "retryAfter": 0,
                    "count": 3,
                }
            ]
        },
    )
    r = stack.api.put(f"/orgs/{linked.id}/appointments/a5", json=appointment())
    assert r.status_code == 202
    assert r.json()["targets"][0]["state"] == "pending"
    assert r.json()["targets"][0]["error"]["code"] == "graph_unavailable"
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        view = stack.api.get(f"/orgs/{linked.id}/appointments/a5").json()
        if view["targets"][0]["state"] == "synced":
            break
        time.sleep(0.5)
    assert view["targets"][0]["state"] == "synced"
    assert len(events(stack, linked, "ada")) == 1  # the lost answer was found by our property, not re-created


def test_update_keeps_the_event_and_patches_only_what_changed(linked: OrgFixture, stack: Stack) -> None:
    first = stack.api.put(f"/orgs/{linked.id}/appointments/a6", json=appointment()).json()
    stack.graph.delete("/_emulator/requests")
    second = stack.api.put(f"/orgs/{linked.id}/appointments/a6", json=appointment(title="Haircut + beard")).json()
    assert second["targets"][0]["eventId"] == first["targets"][0]["eventId"]
    [meeting] = events(stack, linked, "ada")
    assert meeting["subject"] == "Haircut + beard" and meeting["body"]["content"].find("Bring shampoo") >= 0
    assert writes(stack, linked) == 1
    [bob] = events(stack, linked, "bob")
    assert bob["subject"] == "Haircut + beard"


def test_delete_removes_the_event_and_repeating_it_is_harmless(linked: OrgFixture, stack: Stack) -> None:
    stack.api.put(f"/orgs/{linked.id}/appointments/a7", json=appointment())
    r = stack.api.delete(f"/orgs/{linked.id}/appointments/a7")
    assert r.status_code == 200 and r.json()["targets"] == [] and r.json()["deleted"] is True
    assert events(stack, linked, "ada") == []
    [bob] = events(stack, linked, "bob")
    assert bob["isCancelled"]  # Exchange cancelled the attendee's copy
    stack.graph.delete("/_emulator/requests")
    assert stack.api.delete(f"/orgs/{linked.id}/appointments/a7").status_code == 200
    assert writes(stack, linked) == 0
    assert stack.api.delete(f"/orgs/{linked.id}/appointments/never-made").status_code == 200


def test_unlinked_attendee_is_skipped_while_the_others_sync(linked: OrgFixture, stack: Stack) -> None:
    r = stack.api.put(f"/orgs/{linked.id}/appointments/a8", json=appointment(attendees=["w-bob", "w-dee"]))
    targets = r.json()["targets"]
    skipped = [t for t in targets if t["state"] == "skipped"]
    assert skipped == [
        {
            "mailbox": None,
            "mailboxId": None,
            "role": "attendee",
            "worker": "w-dee",
            "eventId": None,
            "state": "skipped",
            "responses": None,
            "error": {"code": "not_linked", "message": "worker 'w-dee' is not linked to a Microsoft 365 mailbox"},
        }
    ]
    assert [t["state"] for t in targets if t["role"] == "organizer"] == ["synced"]
    assert len(events(stack, linked, "bob")) == 1


def test_new_organizer_moves_the_meeting(linked: OrgFixture, stack: Stack) -> None:
    stack.api.put(f"/orgs/{linked.id}/appointments/a9", json=appointment(attendees=["w-cyd"]))
    r = stack.api.put(f"/orgs/{linked.id}/appointments/a9", json=appointment(organizer="w-bob", attendees=["w-cyd"]))
    assert [(t["role"], t["mailbox"]) for t in r.json()["targets"]] == [("organizer", f"bob@{D}")]
    assert events(stack, linked, "ada") == []
    cyd = events(stack, linked, "cyd")
    assert sorted(e["isCancelled"] for e in cyd) == [False, True]  # old meeting cancelled, new one invited


def test_push_false_opts_out_and_removes_what_was_pushed(linked: OrgFixture, stack: Stack) -> None:
    stack.api.put(f"/orgs/{linked.id}/appointments/a10", json=appointment())
    r = stack.api.put(f"/orgs/{linked.id}/appointments/a10", json=appointment(push=False))
    assert r.json()["targets"] == [] and events(stack, linked, "ada") == []
    stack.api.put(f"/orgs/{linked.id}/appointments/a10", json=appointment())
    assert len(events(stack, linked, "ada")) == 1


def test_all_day_appointment(linked: OrgFixture, stack: Stack) -> None:
    r = stack.api.put(
        f"/orgs/{linked.id}/appointments/a11",
        json=appointment(
            isAllDay=True,
            start=DAY,
            end=(datetime.fromisoformat(DAY) + timedelta(days=1)).strftime("%Y-%m-%d"),
            timeZone="W. Europe Standard Time",
        ),
    )
    assert r.status_code == 200
    [event] = events(stack, linked, "ada")
    assert event["isAllDay"] and event["start"]["dateTime"] == f"{DAY}T00:00:00.0000000"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"end": f"{DAY}T09:00:00"}, "end"),
        ({"isAllDay": True}, "start"),
        ({"title": "x" * 256}, "title"),
        ({"title": ""}, "title"),
        ({"attendees": [f"w{i}" for i in range(501)]}, "attendees"),
        ({"attendees": ["w-nobody"]}, "attendees"),
        ({"organizer": "w-nobody"}, "organizer"),
        ({"resources": ["r-nothing"]}, "resources"),
        ({"timeZone": "Mars/Olympus Mons"}, "timeZone"),
        ({"start": "tomorrow at ten"}, "start"),
        ({"guests": ["not-an-email"]}, "guests[0]"),
        ({"colour": "blue"}, "colour"),
        ({"push": "yes"}, "push"),
    ],
)
def test_bad_input_is_400_and_calls_no_graph(linked: OrgFixture, stack: Stack, overrides: dict, field: str) -> None:
    stack.clear_requests(linked)
    r = stack.api.put(f"/orgs/{linked.id}/appointments/bad", json=appointment(**overrides))
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field
    assert stack.graph_calls(linked) == 0
    assert stack.api.get(f"/orgs/{linked.id}/appointments/bad").status_code == 404


def test_get_shows_targets(linked: OrgFixture, stack: Stack) -> None:
    put = stack.api.put(f"/orgs/{linked.id}/appointments/a12", json=appointment()).json()
    got = stack.api.get(f"/orgs/{linked.id}/appointments/a12").json()
    assert got["targets"] == [t for t in put["targets"] if t["state"] != "skipped"]


def bulk(n: int, start: int = 0, prefix: str = "bulk") -> list[dict]:
    base = datetime.fromisoformat(f"{DAY}T06:00:00")
    return [
        {
            "appointment": f"{prefix}-{i}",
            "title": f"Client {i}",
            "start": (base + timedelta(minutes=15 * i)).isoformat(),
            "end": (base + timedelta(minutes=15 * i + 10)).isoformat(),
            "timeZone": "UTC",
        }
        for i in range(start, start + n)
    ]


def wait_job(stack: Stack, org: OrgFixture, job: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        view = stack.api.get(f"/orgs/{org.id}/jobs/{job}").json()
        if view["state"] == "done" or time.monotonic() > deadline:
            return view
        time.sleep(0.5)


def test_bulk_push_1000_under_injected_429s_with_no_duplicates(linked: OrgFixture, stack: Stack) -> None:
    # A tight budget (how many 429s it yields depends on this machine's speed) plus 30 sure ones.
    stack.graph.post(
        "/_emulator/faults",
        json={
            "throttle": {"requests": 150, "windowSeconds": 2},
            "failNext": [
                {"method": "POST", "pattern": "/users/{id}/events", "status": 429, "retryAfter": 1, "count": 30}
            ],
        },
    )
    stack.graph.delete("/_emulator/requests")
    try:
        r = stack.api.post(f"/orgs/{linked.id}/workers/w-ada/push-calendar", json={"appointments": bulk(1000)})
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["total"] == 1000 and job["state"] in ("queued", "running")  # no chunk can be done yet
        seen_progress = set()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            view = stack.api.get(f"/orgs/{linked.id}/jobs/{job['job']}").json()
            seen_progress.add(view["processed"])
            if view["state"] == "done":
                break
            time.sleep(0.5)
    finally:
        stack.graph.post("/_emulator/faults", json={"throttle": {"requests": 10000, "windowSeconds": 600}})
    assert view["state"] == "done" and view["succeeded"] == 1000 and view["failed"] == 0, view
    assert len(seen_progress) > 2  # progress was visible as it went
    ada = linked.users[f"ada@{D}"]
    assert stack.graph.get("/_emulator/requests").json()["statuses"].get("429", 0) >= 30  # Graph pushed back
    with stack.graph_as(linked.tenant) as g:
        subjects, link = [], f"/users/{ada}/events?$top=1000&$select=subject"
        while link:
            page = g.get(link.replace(f"{stack.emulator_url}/v1.0", "")).json()
            subjects += [e["subject"] for e in page["value"]]
            link = page.get("@odata.nextLink")
    assert len(subjects) == 1000 and len(set(subjects)) == 1000
    # Re-running the same job creates nothing new.
    again = stack.api.post(f"/orgs/{linked.id}/workers/w-ada/push-calendar", json={"appointments": bulk(1000)})
    assert wait_job(stack, linked, again.json()["job"])["succeeded"] == 1000
    with stack.graph_as(linked.tenant) as g:
        assert len(g.get(f"/users/{ada}/events", params={"$top": 1000}).json()["value"]) == 1000


OUTLOOK_APP = "00000002-0000-0ff1-ce00-000000000000"  # reads as another app: calsync's mailbox limits untouched


def _events(stack: Stack, tenant: str, user: str) -> list[str]:
    with stack.graph_as(tenant, OUTLOOK_APP) as g:
        subjects, link = [], f"/users/{user}/events?$top=1000&$select=subject"
        while link:
            page = g.get(link.replace(f"{stack.emulator_url}/v1.0", "")).json()
            subjects += [e["subject"] for e in page["value"]]
            link = page.get("@odata.nextLink")
    return subjects


def test_bulk_push_killed_mid_job_shows_its_progress_and_resumes_to_exactly_200(emulator: Service) -> None:
    azurite = start_azurite()
    prefix = f"it{uuid.uuid4().hex[:8]}"
    # The host's lease on a running message, shortened from 10 minutes: a dead instance's
    # chunks come back after 5 s.
    env = {"CALSYNC_TABLE_PREFIX": prefix, "CALSYNC_HOST_LEASE_SECONDS": "5"}
    conn = azurite.env["AzureWebJobsStorage"]
    host = start_app(conn, emulator, **env)
    try:
        with stack_on(host, emulator, conn) as stack:
            org = link_everyone(stack, new_org(stack))
            ada = org.users[f"ada@{D}"]
            stack.graph.post("/_emulator/faults", json={"latencyMs": 150})  # ~25 events/s through 4 at a time
            r = stack.api.post(f"/orgs/{org.id}/workers/w-ada/push-calendar", json={"appointments": bulk(200)})
            assert r.status_code == 202, r.text
            job = r.json()["job"]
            eventually(lambda: len(_events(stack, org.tenant, ada)) >= 60, timeout=60, what="60 events in Outlook")
            host.proc.kill()  # SIGKILL: no clean shutdown
            host.proc.wait()
            in_outlook = len(_events(stack, org.tenant, ada))
            stack.graph.post("/_emulator/faults", json={"latencyMs": 0})

            host = start_app(conn, emulator, **env)
            stack.api.base_url = f"{host.url}/api"
            view = stack.api.get(f"/orgs/{org.id}/jobs/{job}").json()
            # Progress counted before the crash is there; all of it is in Outlook.
            assert view["state"] == "running" and 0 < view["processed"] <= in_outlook, (view, in_outlook)
            view = wait_job(stack, org, job, timeout=90)
            assert view["state"] == "done" and view["succeeded"] == 200 and view["processed"] == 200, view
            subjects = _events(stack, org.tenant, ada)
            assert len(subjects) == 200 and len(set(subjects)) == 200
    finally:
        host.stop()
        azurite.stop()


def test_bulk_push_validates_everything_first(linked: OrgFixture, stack: Stack) -> None:
    stack.clear_requests(linked)
    items = bulk(3)
    items[2]["end"] = items[2]["start"]
    r = stack.api.post(f"/orgs/{linked.id}/workers/w-ada/push-calendar", json={"appointments": items})
    assert r.status_code == 400 and r.json()["field"] == "appointments[2].end"
    assert stack.api.get(f"/orgs/{linked.id}/appointments/bulk-0").status_code == 404
    r = stack.api.post(f"/orgs/{linked.id}/workers/w-ada/push-calendar", json={"appointments": bulk(5001)})
    assert r.status_code == 413
    r = stack.api.post(f"/orgs/{linked.id}/workers/w-nobody/push-calendar", json={"appointments": bulk(1)})
    assert r.status_code == 404
    assert stack.graph_calls(linked) == 0
