"""Free/busy for booking: the request's checks and Graph's scheduleInformation mapped into our
answer (shared/core/availability.py, pure), and the use case over the fakes
(shared/service/availability.py): every worker and resource asked for is answered or named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.adapters.records import ResourceLink, WorkerLink
from shared.core.availability import (
    Owner,
    answer,
    chunks,
    parse_request,
    schedule_entry,
    status_of,
    working_hours,
)
from shared.core.errors import InvalidInput
from shared.service.availability import availability
from tests.service.conftest import TENANT, World, make_org, new_world

REQ = {"workers": ["w-ada"], "start": "2026-12-01T08:00:00", "end": "2026-12-01T18:00:00", "timeZone": "Europe/Berlin"}


def utc(text: str) -> dict[str, str]:
    return {"dateTime": text + ".0000000", "timeZone": "UTC"}


# -- the request --------------------------------------------------------------------------
def test_wall_clock_times_are_in_the_asked_zone_and_offsets_are_honoured() -> None:
    r = parse_request(REQ)
    assert (r.start, r.end) == (datetime(2026, 12, 1, 7, tzinfo=UTC), datetime(2026, 12, 1, 17, tzinfo=UTC))
    assert (r.time_zone, r.interval_minutes, r.workers, r.resources) == ("Europe/Berlin", 30, ["w-ada"], [])
    r = parse_request({**REQ, "start": "2026-12-01T08:00:00Z", "intervalMinutes": 15, "workers": ["a", "b", "a"]})
    assert r.start == datetime(2026, 12, 1, 8, tzinfo=UTC) and r.workers == ["a", "b"] and r.interval_minutes == 15
    assert parse_request({**REQ, "timeZone": "W. Europe Standard Time"}).start == r.start - timedelta(hours=1)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": "2026-12-01T08:00:00"}, "end"),  # not after start
        ({"end": "2027-02-01T08:00:00"}, "end"),  # 62 days: Graph wants "less than 62 days"
        ({"workers": [], "resources": []}, "workers"),
        ({"workers": [f"w{i}" for i in range(101)]}, "workers"),
        ({"intervalMinutes": 4}, "intervalMinutes"),
        ({"intervalMinutes": 1441}, "intervalMinutes"),
        ({"intervalMinutes": "30"}, "intervalMinutes"),  # strict: a string is not a number
        ({"timeZone": "Mars/Olympus"}, "timeZone"),
        ({"start": "tomorrow"}, "start"),
        ({"workers": ["bad\x01id"]}, "workers[0]"),
        ({"rooms": ["r1"]}, "rooms"),
        ({"end": "tonight"}, "end"),
        ({"start": "1899-12-31T23:00:00"}, "start"),  # before the supported dates (docs/api.md)
        ({"end": "3000-01-01T00:00:00", "start": "2999-12-31T00:00:00"}, "end"),  # after them
    ],
)
def test_bad_requests_name_the_field(change: dict[str, Any], field: str) -> None:
    body = {**REQ, **change}
    with pytest.raises(InvalidInput) as err:
        parse_request(body)
    assert err.value.field == field, err.value.message
    assert err.value.message, "a refusal says why"


def test_a_period_just_under_62_days_is_accepted() -> None:
    r = parse_request({**REQ, "end": "2027-01-31T07:59:59"})
    assert r.end - r.start < timedelta(days=62)


def test_chunks_of_twenty() -> None:
    assert [len(c) for c in chunks(list(range(45)))] == [20, 20, 5]


# -- Graph's answer → ours ------------------------------------------------------------------
def test_items_become_busy_blocks_in_the_asked_zone() -> None:
    info = {
        "scheduleId": "ada@x.test",
        "availabilityView": "0210",
        "scheduleItems": [
            {"status": "busy", "start": utc("2026-12-01T09:00:00"), "end": utc("2026-12-01T10:00:00"),
             "isPrivate": False, "subject": "Review", "location": "Desk 4"},
            {"status": "Tentative", "start": utc("2026-12-01T08:30:00"), "end": utc("2026-12-01T09:00:00")},
            {"status": "free", "start": utc("2026-12-01T11:00:00"), "end": utc("2026-12-01T12:00:00")},
            {"status": "busy", "isPrivate": True,
             "start": utc("2026-06-01T09:00:00"), "end": utc("2026-06-01T10:00:00")},
        ],
        "workingHours": {"daysOfWeek": ["monday"], "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                         "timeZone": {"name": "W. Europe Standard Time"}},
    }  # fmt: skip
    view, refused = schedule_entry(Owner("worker", "w-ada"), "ada@x.test", info, "Europe/Berlin")
    assert refused is None
    assert view == {
        "worker": "w-ada",
        "address": "ada@x.test",
        "availabilityView": "0210",
        "busy": [
            {"status": "busy", "start": "2026-06-01T11:00:00+02:00", "end": "2026-06-01T12:00:00+02:00",
             "isPrivate": True},
            {"status": "tentative", "start": "2026-12-01T09:30:00+01:00", "end": "2026-12-01T10:00:00+01:00"},
            {"status": "busy", "start": "2026-12-01T10:00:00+01:00", "end": "2026-12-01T11:00:00+01:00",
             "subject": "Review", "location": "Desk 4", "isPrivate": False},
        ],
        "workingHours": {"daysOfWeek": ["monday"], "startTime": "08:00:00", "endTime": "17:00:00",
                         "timeZone": "Europe/Berlin"},
    }  # fmt: skip


def test_errors_and_missing_answers_are_named() -> None:
    error = {"scheduleId": "x@y.test", "error": {"message": "Unable to resolve", "responseCode": "5009"}}
    view, refused = schedule_entry(Owner("resource", "r1"), "x@y.test", error, "UTC")
    assert view is None and refused == {
        "resource": "r1",
        "code": "free_busy_error",
        "reason": "Unable to resolve (responseCode 5009)",
    }
    view, refused = schedule_entry(Owner("worker", "w1"), "x@y.test", None, "UTC")
    assert view is None and refused is not None and refused["code"] == "graph_error"


def test_working_hours_zone_names() -> None:
    # workinghours.md: timeZone is a timeZoneBase; a customTimeZone (the API page's example) keeps its name.
    tz = {"@odata.type": "#microsoft.graph.customTimeZone", "name": "Customized Time Zone"}
    custom = {"daysOfWeek": [], "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000", "timeZone": tz}
    assert working_hours(custom)["timeZone"] == "Customized Time Zone"
    assert working_hours({**custom, "timeZone": {"name": "UTC"}})["timeZone"] == "UTC"
    assert working_hours({**custom, "timeZone": {"name": "Etc/UTC"}})["timeZone"] == "UTC"  # one name for UTC
    assert working_hours(None) is None


def test_the_answer_keeps_the_asked_order() -> None:
    r = parse_request({**REQ, "workers": ["b", "a"], "resources": ["r"]})
    out = answer(r, [{"resource": "r"}, {"worker": "a"}], [{"worker": "b", "code": "not_linked", "reason": "-"}])
    assert out["schedules"] == [{"worker": "a"}, {"resource": "r"}]
    assert (out["start"], out["end"], out["timeZone"]) == (
        "2026-12-01T08:00:00+01:00",
        "2026-12-01T18:00:00+01:00",
        "Europe/Berlin",
    )


def test_the_answer_is_whole_and_resources_follow_workers_in_the_asked_order() -> None:
    r = parse_request({**REQ, "workers": ["w-b", "w-a"], "resources": ["r-1", "r-2", "r-3"], "intervalMinutes": 15})
    schedules = [{"resource": "r-3"}, {"worker": "w-a"}, {"resource": "r-1"}, {"worker": "w-b"}]
    unavailable = [{"resource": "r-2", "code": "not_linked", "reason": "-"}]
    assert answer(r, schedules, unavailable) == {
        "start": "2026-12-01T08:00:00+01:00",
        "end": "2026-12-01T18:00:00+01:00",
        "timeZone": "Europe/Berlin",
        "intervalMinutes": 15,
        "schedules": [{"worker": "w-b"}, {"worker": "w-a"}, {"resource": "r-1"}, {"resource": "r-3"}],
        "unavailable": [{"resource": "r-2", "code": "not_linked", "reason": "-"}],
    }


def test_a_status_we_do_not_know_is_unknown_not_free() -> None:
    """freeBusyStatus may grow (it has: workingElsewhere); an item of a status we cannot name
    still blocks the slot, as `unknown` (our answer's documented status)."""
    item = {"start": utc("2026-12-01T09:00:00"), "end": utc("2026-12-01T10:00:00")}
    info = {"scheduleItems": [{**item, "status": "someNewStatus"}, {**item, "status": "workingElsewhere"}]}
    view, _ = schedule_entry(Owner("worker", "w-ada"), "ada@x.test", info, "UTC")
    assert view is not None
    assert [b["status"] for b in view["busy"]] == ["unknown", "workingElsewhere"]
    # The same rule as suggestions read it: any case, and no status at all, likewise unknown.
    assert [status_of(s) for s in ("Busy", "OOF", "someNewStatus", None)] == ["busy", "oof", "unknown", "unknown"]


def test_a_schedule_without_working_hours_has_them_null_and_times_graph_left_out_are_not_invented() -> None:
    """docs/api.md: workingHours is null when Graph gave none. Working hours that came without
    their times or zone (workinghours.md always has them) get empty strings, no made-up hours."""
    none, _ = schedule_entry(Owner("worker", "w-ada"), "ada@x.test", {"scheduleId": "ada@x.test"}, "UTC")
    assert none is not None and none["workingHours"] is None
    info = {"scheduleId": "ada@x.test", "workingHours": {"daysOfWeek": ["monday"]}}
    view, _ = schedule_entry(Owner("worker", "w-ada"), "ada@x.test", info, "UTC")
    assert view == {
        "worker": "w-ada",
        "address": "ada@x.test",
        "availabilityView": "",
        "busy": [],
        "workingHours": {"daysOfWeek": ["monday"], "startTime": "", "endTime": "", "timeZone": ""},
    }


def test_a_mailbox_graph_did_not_answer_is_named_with_its_address() -> None:
    view, refused = schedule_entry(Owner("resource", "r1"), "room4@x.test", None, "UTC")
    assert view is None and refused is not None
    assert (refused["resource"], refused["code"]) == ("r1", "graph_error") and "room4@x.test" in refused["reason"]


# -- the use case over the fakes -----------------------------------------------------------
DAY = datetime(2026, 12, 1, tzinfo=UTC)


async def seeded() -> tuple[World, dict[str, str]]:
    world = new_world()
    await make_org(world)
    users = world.graph.seed(
        TENANT,
        [
            {"userPrincipalName": "ada@fabrikam.test"},
            {"userPrincipalName": "bobby@fabrikam.onmicrosoft.test", "mail": "bob@fabrikam.test",
             "proxyAddresses": ["SMTP:bob@fabrikam.test"]},
            {"userPrincipalName": "room0@fabrikam.test", "userPurpose": "room"},
        ],
    )  # fmt: skip
    for worker, upn in (("w-ada", "ada@fabrikam.test"), ("w-bob", "bobby@fabrikam.onmicrosoft.test")):
        await world.store.insert(
            WorkerLink(org="o1", worker=worker, m365_account=upn, m365_user_id=users[upn], status="linked")
        )
    await world.store.insert(WorkerLink(org="o1", worker="w-dee"))
    await world.store.insert(
        WorkerLink(org="o1", worker="w-err", status="error", error_code="no_mailbox", error_message="no licence")
    )
    room = users["room0@fabrikam.test"]
    await world.store.insert(
        ResourceLink(org="o1", resource="r-room0", mailbox="room0@fabrikam.test", m365_user_id=room, status="linked")
    )
    return world, users


def event(subject: str, hour: int) -> dict[str, Any]:
    return {
        "subject": subject,
        "start": {"dateTime": f"2026-12-01T{hour:02d}:00:00", "timeZone": "UTC"},
        "end": {"dateTime": f"2026-12-01T{hour + 1:02d}:00:00", "timeZone": "UTC"},
    }


async def test_every_owner_is_answered_or_named() -> None:
    world, users = await seeded()
    world.graph.outlook_create(TENANT, users["ada@fabrikam.test"], event("Review", 9))
    world.graph.outlook_create(TENANT, users["room0@fabrikam.test"], event("Workshop", 12))
    world.graph.outlook_create(TENANT, users["bobby@fabrikam.onmicrosoft.test"], event("Gym", 16))
    body = {**REQ, "workers": ["w-ada", "w-bob", "w-dee", "w-err", "w-who"], "resources": ["r-room0", "r-who"]}
    out = await availability(world.svc, "o1", body)
    assert [(s.get("worker") or s.get("resource"), s["address"]) for s in out["schedules"]] == [
        ("w-ada", "ada@fabrikam.test"),
        ("w-bob", "bob@fabrikam.test"),  # its UPN is no SMTP address: asked again by its mail
        ("r-room0", "room0@fabrikam.test"),
    ]
    ada, bob, room = out["schedules"]
    assert ada["busy"] == [
        {"status": "busy", "start": "2026-12-01T10:00:00+01:00", "end": "2026-12-01T11:00:00+01:00",
         "subject": "Review", "isPrivate": False}
    ]  # fmt: skip
    assert room["busy"][0]["start"] == "2026-12-01T13:00:00+01:00" and bob["busy"][0]["subject"] == "Gym"
    assert ada["availabilityView"] == "0000" + "22" + "0" * 14  # 30-minute slots from 08:00 Berlin
    assert [(u.get("worker") or u.get("resource"), u["code"]) for u in out["unavailable"]] == [
        ("w-dee", "not_linked"),
        ("w-err", "link_error"),
        ("w-who", "unknown_worker"),
        ("r-who", "unknown_resource"),
    ]
    assert "no licence" in out["unavailable"][1]["reason"]
    assert world.graph.count("get_schedule") == 2  # one call for the three, one again for w-bob


async def test_a_failed_call_names_every_schedule_it_held() -> None:
    world, users = await seeded()
    many = [f"w{i:02d}" for i in range(25)]
    for w in many:
        await world.store.insert(
            WorkerLink(org="o1", worker=w, m365_account="ada@fabrikam.test", m365_user_id=users["ada@fabrikam.test"],
                       status="linked")
        )  # fmt: skip
    world.graph.fail_next(1, "unavailable", operation="get_schedule")
    out = await availability(world.svc, "o1", {**REQ, "workers": many})
    failed = [u for u in out["unavailable"] if u["code"] == "graph_unavailable"]
    assert len(failed) == 20 and len(out["schedules"]) == 5  # the first call of 20 failed, the second did not
    assert {u["worker"] for u in failed} | {s["worker"] for s in out["schedules"]} == set(many)
    assert "Injected fault" in failed[0]["reason"]


async def test_unknown_org_and_bad_body() -> None:
    world, _ = await seeded()
    with pytest.raises(InvalidInput):
        await availability(world.svc, "o1", {**REQ, "intervalMinutes": 2})
    from shared.core.errors import NotFound

    with pytest.raises(NotFound):
        await availability(world.svc, "nope", REQ)
    assert world.graph.count("get_schedule") == 0
