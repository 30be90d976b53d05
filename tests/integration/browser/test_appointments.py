"""Appointments in the console: one appointment's calendars and its rooms' check-ins and
releases; a check-in from the form, and one refused after the room was released."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.conftest import send_queue
from tests.integration.browser.conftest import Console
from tests.integration.conftest import OrgFixture, Stack, eventually
from tests.integration.test_inbound import changes
from tests.integration.test_room_release import zulu


def test_a_released_room_shows_on_the_appointment_and_a_check_in_there_is_refused(
    console: Console, linked: OrgFixture, stack: Stack
) -> None:
    stack.api.put(f"/orgs/{linked.id}/settings", json={"roomCheckIn": True, "releaseAfterMinutes": 1})
    began = datetime.now(UTC) - timedelta(minutes=2)
    for appointment, start in (("released-1", began), ("kept-1", began + timedelta(hours=2))):
        body = {"title": "Review", "start": zulu(start), "end": zulu(start + timedelta(hours=1)),
                "organizer": "w-ada", "resources": ["r-room0"]}  # fmt: skip
        r = stack.api.put(f"/orgs/{linked.id}/appointments/{appointment}", json=body)
        assert r.status_code == 200, r.text
    send_queue(stack.storage, "room-release", json.dumps({"org": linked.id}))
    eventually(lambda: any(c["type"] == "room_released" for c in changes(stack, linked)), timeout=30, what="release")

    page = console.open(f"/orgs/{linked.id}/appointments/released-1")
    rooms = page.get_by_role("table", name="Rooms: check-ins and releases")
    expect(rooms.locator("tbody tr")).to_have_count(1)
    expect(rooms.locator("tbody tr").first).to_contain_text("r-room0")
    expect(rooms.locator("tbody tr").first).to_contain_text("released")
    form = page.get_by_role("form", name="Check in to a room")
    form.get_by_label("Room (resource id)").fill("r-room0")
    form.get_by_role("button", name="Check in").click()
    expect(form.get_by_role("alert")).to_contain_text("room_released")
    console.labelled()
    console.shot("appointment")

    # A booking still to come: checked in from the console, shown at once.
    find = page.get_by_role("form", name="Find an appointment")
    find.get_by_label("Appointment id").fill("kept-1")
    find.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="Appointment kept-1")).to_be_visible()
    form = page.get_by_role("form", name="Check in to a room")
    form.get_by_label("Room (resource id)").fill("r-room0")
    form.get_by_role("button", name="Check in").click()
    expect(page.get_by_role("table", name="Rooms: check-ins and releases")).to_contain_text("checked in")
