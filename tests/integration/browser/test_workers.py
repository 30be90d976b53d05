"""The workers screen: status per row, link/unlink inline, a failing link's reason, search,
paging, batch CSV; on a phone the table becomes stacked rows. And the health screen."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.integration.browser.conftest import PHONE, Console
from tests.integration.conftest import OrgFixture, Stack

D = "fabrikam.test"


def test_link_unlink_and_a_failing_link_says_why(console: Console, linked: OrgFixture) -> None:
    page = console.open(f"/orgs/{linked.id}/workers")
    expect(page.get_by_role("heading", name=f"Workers — {linked.id}")).to_be_focused()
    for worker in ("w-ada", "w-bob", "w-cyd"):  # pending until their first round, then linked
        expect(console.link(worker)).to_have_attribute("data-state", "ok")
        expect(console.link(worker)).to_contain_text("✔Linked")
    expect(console.link("w-dee")).to_contain_text("Not linked")
    expect(page.get_by_text("4 workers loaded.")).to_be_visible()

    search = page.get_by_label("Search the loaded workers")
    search.fill("bob")
    expect(page.locator("tbody tr:visible")).to_have_count(1)
    expect(console.link("w-bob")).to_be_visible()
    expect(page.get_by_text("1 of 4 loaded workers match “bob”.")).to_be_visible()
    search.fill("")
    expect(page.locator("tbody tr:visible")).to_have_count(4)

    # Link inline, then a failing link with its reason, then unlink with a blank account.
    dee = console.link("w-dee")
    dee.get_by_label("Microsoft 365 account of w-dee").fill(f"dee@{D}")
    dee.get_by_role("button", name="Link w-dee").click()
    expect(dee).to_have_attribute("data-state", "ok")
    cyd = console.link("w-cyd")
    cyd.get_by_label("Microsoft 365 account of w-cyd").fill(f"ghost@{D}")
    cyd.get_by_role("button", name="Link w-cyd").click()
    expect(cyd).to_contain_text("✖Error")
    expect(cyd).to_contain_text(f"account_not_found: ghost@{D} was not found in tenant {linked.tenant}")
    expect(cyd.get_by_role("button", name="Retry w-cyd")).to_be_visible()  # same account: link again
    bob = console.link("w-bob")
    bob.get_by_label("Microsoft 365 account of w-bob").fill("")
    bob.get_by_role("button", name="Unlink w-bob").click()
    expect(bob).to_contain_text("Not linked")
    expect(bob.get_by_label("Microsoft 365 account of w-bob")).to_have_value("")
    expect(bob.get_by_role("button", name="Link w-bob")).to_be_disabled()  # nothing to unlink any more

    # A mailbox another worker holds: 409, shown at that row's field; nothing changed.
    bob.get_by_label("Microsoft 365 account of w-bob").fill(f"ada@{D}")
    bob.get_by_role("button", name="Link w-bob").click()
    account = bob.get_by_label("Microsoft 365 account of w-bob")
    expect(account).to_have_attribute("aria-invalid", "true")
    expect(account).to_have_accessible_description(re.compile(r"already linked to worker 'w-ada' \(account_in_use\)"))
    expect(bob).to_contain_text("Not linked")

    # Add one: no licence, so an error that says so.
    add = page.get_by_role("form", name="Add or link a worker")
    add.get_by_label("Worker id").fill("w-eve")
    add.get_by_label("Microsoft 365 account").fill(f"nomail@{D}")
    add.get_by_label("Display name").fill("Eve (no licence)")
    add.get_by_role("button", name="Save").click()
    expect(add.get_by_role("alert")).to_contain_text("w-eve: Error — no_mailbox")
    expect(console.link("w-eve")).to_contain_text("no_mailbox")
    console.labelled()
    page.get_by_label("Search the loaded workers").scroll_into_view_if_needed()
    console.shot("workers")

    # A phone: the same screen, the table as stacked rows, nothing wider than the screen.
    page.set_viewport_size(PHONE)
    expect(console.link("w-ada").locator("td").first).to_have_css("display", "grid")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.evaluate("window.scrollTo(0, 0)")
    console.shot("workers-phone", full_page=False)
    page.set_viewport_size({"width": 1280, "height": 860})

    # The server's status filter.
    page.get_by_label("Status").select_option("error")
    expect(page.locator("tbody tr")).to_have_count(2)
    expect(console.link("w-cyd")).to_be_visible()
    expect(console.link("w-eve")).to_be_visible()


def test_batch_csv_with_results_per_row_and_paging(console: Console, linked: OrgFixture, stack: Stack) -> None:
    for i in range(30):
        assert stack.api.put(f"/orgs/{linked.id}/workers/w-p{i:02}", json={"displayName": f"Part-timer {i}"}).is_success
    page = console.open(f"/orgs/{linked.id}/workers")
    expect(page.locator("tbody tr")).to_have_count(34)
    page.get_by_label("Rows per page").select_option("25")
    expect(page.locator("tbody tr")).to_have_count(25)
    expect(page.get_by_text("25 workers loaded — more to load.")).to_be_visible()
    page.get_by_role("button", name="Load more").click()
    expect(page.locator("tbody tr")).to_have_count(34)
    expect(page.get_by_role("button", name="Load more")).to_be_hidden()

    batch = page.get_by_role("form", name="Link a batch (CSV)")
    rows = ["worker,m365Account,displayName", f"w-dee,dee@{D},Dee", f"w-nomail,nomail@{D},", "w-bad,not-an-email,"]
    csv = "\n".join([*rows, f"w-ghost,ghost@{D},"]) + "\n"
    batch.get_by_label("CSV file").set_input_files(
        files=[{"name": "workers.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    expect(batch.get_by_label("…or paste the CSV")).to_have_value(csv)  # what will be sent, shown
    batch.get_by_role("button", name="Link the batch").click()
    expect(batch.get_by_role("alert")).to_have_text(
        "4 rows: 1 linked, 0 unlinked, 2 error, 1 invalid — 3 changed, 1 unchanged."
    )
    results = batch.get_by_role("table", name="Batch results, per row")
    expect(results.locator('tr[data-row="1"]')).to_contain_text("✔Linked")
    expect(results.locator('tr[data-row="2"]')).to_contain_text("no_mailbox")
    expect(results.locator('tr[data-row="3"]')).to_contain_text("invalid_input (rows[3].m365Account)")
    expect(results.locator('tr[data-row="4"]')).to_contain_text("account_not_found")
    expect(console.link("w-nomail")).to_contain_text("Error")  # the list was reloaded
    console.labelled()
    console.shot("batch", batch)


def test_the_health_screen_counts_links_and_lists_the_worst(console: Console, linked: OrgFixture, stack: Stack) -> None:
    assert stack.api.put(f"/orgs/{linked.id}/workers/w-cyd", json={"m365Account": f"ghost@{D}"}).json()["status"] == (
        "error"
    )
    stack.wait_idle(linked)
    page = console.open(f"/orgs/{linked.id}/health")
    tiles = page.get_by_role("list", name="Links by health")
    expect(tiles.get_by_role("listitem").filter(has_text="Healthy")).to_have_text("3✔Healthy")  # ada, bob, room0
    expect(tiles.get_by_role("listitem").filter(has_text="Error")).to_have_text("1✖Error")
    worst = page.get_by_role("table", name="Links that need a look, worst first")
    expect(worst.locator("tbody tr")).to_have_count(1)
    expect(worst.locator("tbody tr")).to_contain_text(f"account_not_found: ghost@{D} was not found")
    expect(page.get_by_text("calsync itself: healthy (tables ok, queues ok).")).to_be_visible()
    console.labelled()
    console.shot("health")
