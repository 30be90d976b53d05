"""Resources (import rooms with progress, link inline), push-calendar with its live bar,
held deletions confirmed, and the change feed that shows them, latest first."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.integration.browser.conftest import Console
from tests.integration.conftest import OrgFixture, Stack, eventually, now
from tests.integration.test_push import bulk

D = "fabrikam.test"


def test_import_rooms_with_progress_then_link_one_inline(console: Console, org: OrgFixture) -> None:
    page = console.open(f"/orgs/{org.id}/resources")
    expect(page.get_by_text("No resources yet.")).to_be_visible()
    page.get_by_role("button", name="Import rooms").click()
    bar = page.get_by_role("progressbar", name="Import of rooms and equipment")
    expect(bar).to_have_attribute("aria-valuenow", "100")
    card = page.get_by_role("region", name="Import rooms and equipment")
    expect(card.get_by_role("status")).to_have_text("Import done: 3 created, 0 updated, 0 unchanged, 0 skipped.")
    imported = card.get_by_role("table", name="Imported resources")
    expect(imported.locator("tbody tr")).to_have_count(3)
    for mailbox in (f"room0@{D}", f"room1@{D}", f"beamer@{D}"):
        row = console.link(mailbox)
        expect(row).to_contain_text("Linked")  # pending, then linked after its first round
        expect(row).to_have_attribute("data-state", "ok")
    expect(console.link(f"room0@{D}")).to_contain_text("room · All rooms")

    # A resource of our own: a mailbox that does not exist says so; the search finds it.
    add = page.get_by_role("form", name="Add or link a resource")
    add.get_by_label("Resource id").fill("r-annex")
    add.get_by_label("Mailbox").fill(f"annex@{D}")
    add.get_by_label("Kind").select_option("room")
    add.get_by_role("button", name="Save").click()
    annex = console.link("r-annex")
    expect(annex).to_contain_text(f"mailbox_not_found: annex@{D} was not found")
    annex.get_by_label("Mailbox of r-annex").fill("")
    annex.get_by_role("button", name="Unlink r-annex").click()
    expect(annex).to_contain_text("Not linked")
    page.get_by_label("Search the loaded resources").fill("beamer")
    expect(page.locator("tbody tr[data-id]:visible")).to_have_count(1)
    page.get_by_label("Search the loaded resources").fill("")
    console.labelled()
    console.shot("resources")
    annex.get_by_role("button", name="Delete resource r-annex").click()
    page.get_by_role("dialog", name="Delete resource r-annex?").get_by_role("button", name="Delete r-annex").click()
    expect(annex).to_have_count(0)
    expect(page.get_by_text("r-annex deleted.")).to_be_visible()


def test_push_a_calendar_and_watch_the_bar_reach_100(console: Console, linked: OrgFixture, stack: Stack) -> None:
    # Slow enough that the job reports progress before it ends: progress is flushed at most once
    # a second per chunk, and at 150 ms a Graph call both chunks (20 and 10, 4 at a time) could
    # end within one 500 ms poll of the console (it flaked so on a loaded machine); at 400 ms
    # the chunks take about 2 s and 1.2 s.
    stack.graph.post("/_emulator/faults", json={"latencyMs": 400})
    page = console.open(f"/orgs/{linked.id}/workers")
    console.link("w-ada").get_by_role("link", name="Push the calendar of w-ada").click()
    expect(page.get_by_role("heading", name=f"Push calendar — {linked.id}")).to_be_focused()
    form = page.get_by_role("form", name="Push a worker's calendar")
    expect(form.get_by_label("Worker")).to_have_value("w-ada")

    # An invalid item: the API's field (appointments[1].end) shown at the appointments box.
    bad = bulk(2, prefix="p")
    bad[1]["end"] = bad[1]["start"]
    form.get_by_label("Appointments (JSON)").fill(json.dumps(bad))
    form.get_by_role("button", name="Push calendar").click()
    box = form.get_by_label("Appointments (JSON)")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_role("alert")).to_contain_text("Not saved: appointments[1].end")

    form.get_by_label("Appointments (JSON)").fill(json.dumps({"appointments": bulk(30, prefix="p")}, indent=1))
    form.get_by_role("button", name="Push calendar").click()
    expect(box).not_to_have_attribute("aria-invalid", "true")
    bar = page.get_by_role("progressbar", name="Push of w-ada's calendar")
    expect(bar).to_be_attached()
    # Every value the bar shows, as it shows it.
    bar.evaluate(
        """(el) => { window.seen = [el.getAttribute('aria-valuenow')];
        new MutationObserver(() => window.seen.push(el.getAttribute('aria-valuenow')))
          .observe(el, {attributes: true, attributeFilter: ['aria-valuenow']}); }"""
    )
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=60_000)
    seen = [int(v) for v in page.evaluate("window.seen")]
    assert seen == sorted(seen) and any(0 < v < 100 for v in seen), seen  # it moved, never back
    expect(page.get_by_text("100 % — done: 30 of 30 pushed")).to_be_visible()
    expect(page.locator("dl.counts")).to_contain_text("Succeeded30Failed0Skipped0Pending0")
    stack.graph.post("/_emulator/faults", json={"latencyMs": 0})
    assert stack.api.get(f"/orgs/{linked.id}/appointments/p-29").json()["targets"][0]["state"] == "synced"
    console.labelled()
    console.shot("push")


def test_held_deletions_are_confirmed_and_reach_the_feed(console: Console, linked: OrgFixture, stack: Stack) -> None:
    # As tests/integration/test_linking.py does: 22 pushed, 21 deleted in Outlook while
    # notifications are off, then one round (a `missed` lifecycle event) sees them all.
    since = now()
    r = stack.api.post(f"/orgs/{linked.id}/workers/w-ada/push-calendar", json={"appointments": bulk(22, prefix="h")})
    job = r.json()["job"]
    eventually(lambda: stack.api.get(f"/orgs/{linked.id}/jobs/{job}").json()["state"] == "done", timeout=60)
    pushed = [stack.api.get(f"/orgs/{linked.id}/appointments/h-{i}").json()["targets"][0]["eventId"] for i in range(22)]
    ada = linked.users[f"ada@{D}"]
    stack.notified_round(linked, "w-ada", since, event_id=pushed[-1])
    stack.graph.post("/_emulator/faults", json={"deliverNotifications": False})
    try:
        with stack.graph_as(linked.tenant) as g:
            for event_id in pushed[:21]:
                assert g.delete(f"/users/{ada}/events/{event_id}").status_code == 204
    finally:
        stack.graph.post("/_emulator/faults", json={"deliverNotifications": True})
    asked = now()
    sub = stack.link(linked, "w-ada")["subscription"]["id"]
    stack.graph.post(f"/_emulator/subscriptions/{sub}/lifecycle", json={"lifecycleEvent": "missed"})
    assert stack.notified_round(linked, "w-ada", asked, lifecycle_event="missed")["attention"]["heldDeletions"] == 21

    page = console.open(f"/orgs/{linked.id}/workers")
    ada_row = console.link("w-ada")
    expect(ada_row).to_contain_text("⚠Attention")
    expect(ada_row).to_contain_text("21 deletions held:")
    console.labelled()
    console.shot("attention")
    ada_row.get_by_role("button", name="Confirm the 21 held deletions of w-ada").click()
    dialog = page.get_by_role("dialog", name="Release 21 held deletions of w-ada?")
    dialog.get_by_role("button", name="Confirm 21 deletions").click()
    expect(ada_row).to_contain_text("Released 21 deletions of w-ada into the change feed.")
    expect(ada_row).not_to_contain_text("Attention")
    expect(ada_row.get_by_role("button", name="Confirm the 21 held deletions of w-ada")).to_have_count(0)
    assert stack.link(linked, "w-ada")["attention"] is None

    # The change feed: the deletions, latest first; then a new change comes in by itself.
    page.clock.install()  # the feed's periodic refresh, on a clock the test moves
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Changes").click()
    feed = page.get_by_role("table", name="Changes, latest first")
    expect(feed.locator('tbody tr[data-type="deleted"]')).to_have_count(21)
    released = [c["appointment"] for c in stack.api.get(f"/orgs/{linked.id}/changes").json()["changes"]]
    assert feed.locator("tbody tr td:nth-child(3)").all_inner_texts() == released[::-1]
    edited = now()
    with stack.graph_as(linked.tenant) as g:
        assert g.patch(f"/users/{ada}/events/{pushed[21]}", json={"subject": "Moved by Ada"}).status_code == 200
    stack.notified_round(linked, "w-ada", edited, event_id=pushed[21])
    expect(feed.locator("tbody tr")).to_have_count(21)  # not yet read: no refresh has run
    page.clock.run_for(5_000)
    expect(feed.locator("tbody tr").first).to_contain_text("updated")
    expect(feed.locator("tbody tr").first).to_contain_text("“Moved by Ada”")
    expect(feed.locator("tbody tr").first).to_contain_text("changed: title")
    console.labelled()
    console.shot("changes")
