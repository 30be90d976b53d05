"""Dates at the edges of the calendar (issue #25): every route that takes a date answers a
date outside the supported range (1900-01-01 to 2999-12-31, docs/api.md) with a 400
problem naming the field — never a 500 — and writes nothing; the range's own edges are
accepted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import OrgFixture, Stack

FAR = "9999-12-31T20:00:00-01:00"  # past year 9999 in UTC: Python's datetime overflows
EARLY = "0001-01-01T10:00:00Z"


def appointment(**overrides: Any) -> dict[str, Any]:
    body = {"title": "x", "start": "2030-01-07T09:00:00", "end": "2030-01-07T10:00:00", "timeZone": "UTC"}
    body.update(overrides)
    return body


def weekly(**rng: Any) -> dict[str, Any]:
    return {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]}, "range": {"type": "noEnd", **rng}}


CASES = [
    ("put_appointment", {"start": FAR, "end": "9999-12-31T23:30:00-01:00"}, "start"),
    ("put_appointment", {"start": EARLY, "end": "0001-01-01T11:00:00Z"}, "start"),
    ("put_appointment", {"end": "3000-01-01T00:00:00"}, "end"),
    ("put_appointment", {"recurrence": weekly(type="endDate", endDate="9999-12-31")}, "recurrence.range.endDate"),
    ("put_appointment", {"recurrence": weekly(startDate="0001-01-01")}, "recurrence.range.startDate"),
    ("push_calendar", {"start": FAR, "end": "9999-12-31T23:30:00-01:00"}, "appointments[0].start"),
    ("put_task", {"dueDate": "9999-12-31"}, "dueDate"),
    ("put_task", {"reminderAt": FAR}, "reminderAt"),
    ("availability", {"start": EARLY}, "start"),
    ("availability", {"end": FAR}, "end"),
]


def send(stack: Stack, org: OrgFixture, route: str, fields: dict[str, Any]) -> Any:
    base = f"/orgs/{org.id}"
    if route == "put_appointment":
        return stack.api.put(f"{base}/appointments/edge", json=appointment(**fields))
    if route == "push_calendar":
        body = {"appointments": [{"appointment": "edge", **appointment(**fields)}]}
        return stack.api.post(f"{base}/workers/w-ada/push-calendar", json=body)
    if route == "put_task":
        return stack.api.put(f"{base}/tasks/edge", json={"worker": "w-ada", "title": "x", **fields})
    ask = {"workers": ["w-ada"], "start": "2030-01-07T08:00:00Z", "end": "2030-01-07T18:00:00Z", **fields}
    return stack.api.post(f"{base}/availability", json=ask)


@pytest.mark.parametrize(("route", "fields", "field"), CASES, ids=[f"{r}:{f}" for r, _, f in CASES])
def test_a_date_outside_the_range_is_a_400_naming_it(
    linked: OrgFixture, stack: Stack, route: str, fields: dict[str, Any], field: str
) -> None:
    r = send(stack, linked, route, fields)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in r.json()["detail"], r.json()
    assert stack.api.get(f"/orgs/{linked.id}/appointments/edge").status_code == 404
    assert stack.api.get(f"/orgs/{linked.id}/tasks/edge").status_code == 404


def test_an_occurrence_date_outside_the_range_is_a_400(linked: OrgFixture, stack: Stack) -> None:
    series = appointment(recurrence=weekly(startDate="2030-01-07"))
    assert stack.api.put(f"/orgs/{linked.id}/appointments/edge", json=series).status_code == 200
    for method in ("put", "delete"):
        url = f"/orgs/{linked.id}/appointments/edge/occurrences/9999-12-31"
        r = stack.api.put(url, json={"title": "y"}) if method == "put" else stack.api.delete(url)
        assert r.status_code == 400, r.text
        assert "date" in r.json()["detail"]
    r = stack.api.put(f"/orgs/{linked.id}/appointments/edge/occurrences/2030-01-14", json={"start": FAR})
    assert r.status_code == 400 and "start" in r.json()["detail"], r.text


def test_the_ranges_own_edges_are_accepted(linked: OrgFixture, stack: Stack) -> None:
    first = appointment(start="1900-01-01T09:00:00", end="1900-01-01T10:00:00")
    assert stack.api.put(f"/orgs/{linked.id}/appointments/edge", json=first).status_code == 200
    last = appointment(start="2999-12-31T09:00:00", end="2999-12-31T10:00:00")
    assert stack.api.put(f"/orgs/{linked.id}/appointments/edge2", json=last).status_code == 200
    task = {"worker": "w-ada", "title": "x", "dueDate": "2999-12-31"}
    assert stack.api.put(f"/orgs/{linked.id}/tasks/edge", json=task).status_code in (200, 202)
