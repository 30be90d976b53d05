"""Find a time: the console's form asks POST …/suggestions and shows the times with their
rooms; a bad field is shown at that field."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.integration.browser.conftest import Console
from tests.integration.conftest import OrgFixture, Stack
from tests.integration.test_suggestions import DAY


def test_find_a_time_and_a_room(console: Console, linked: OrgFixture, stack: Stack) -> None:
    stack.import_resources(linked.id)  # the rooms' places data: Room 0 seats 4, Room 1 seats 5
    r = stack.api.put(
        f"/orgs/{linked.id}/appointments/find-1",
        json={"title": "Standup", "start": f"{DAY}T08:00:00Z", "end": f"{DAY}T09:00:00Z", "organizer": "w-bob"},
    )
    assert r.status_code == 200, r.text
    page = console.open(f"/orgs/{linked.id}/meetings")
    expect(page.get_by_role("heading", name=f"Find a time — {linked.id}")).to_be_focused()
    form = page.get_by_role("form", name="Find a time")
    form.get_by_label("Required workers").fill("w-ada, w-nobody")
    form.get_by_label("From").fill(f"{DAY}T08:00")
    form.get_by_label("To").fill(f"{DAY}T12:00")
    form.get_by_label("Time zone").fill("UTC")
    form.get_by_role("button", name="Find times").click()
    required = form.get_by_label("Required workers")
    expect(required).to_have_attribute("aria-invalid", "true")  # the API's field, at its control
    expect(form.get_by_role("alert")).to_contain_text("Not searched: required")

    required.fill("w-ada w-bob")
    form.get_by_label("Optional workers").fill("w-cyd")
    form.get_by_label("Also find a room").check()
    form.get_by_label("Seats").fill("5")
    form.get_by_role("button", name="Find times").click()
    expect(required).not_to_have_attribute("aria-invalid", "true")
    found = page.get_by_role("table", name="Suggested times")
    first = found.locator("tbody tr").first
    expect(first).to_contain_text(f"{DAY}T09:00:00+00:00")  # Bob's standup until 09:00
    expect(first).to_contain_text("w-cyd")
    expect(first).to_contain_text("Room 1 (5)")  # Room 0 seats 4
    expect(found.locator("tbody tr")).to_have_count(5)
    expect(page.get_by_text("getSchedule calls: 2. Rooms matching: 1, asked: 1.")).to_be_visible()
    console.labelled()
    console.shot("find-time")
