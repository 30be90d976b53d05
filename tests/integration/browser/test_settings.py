"""The settings screen: every setting a control, saved with PUT, errors at their field."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.integration.browser.conftest import Console
from tests.integration.conftest import OrgFixture, Stack


def test_settings_are_saved_and_a_bad_value_is_shown_at_its_field(
    console: Console, org: OrgFixture, stack: Stack
) -> None:
    page = console.open(f"/orgs/{org.id}/settings")
    expect(page.get_by_role("heading", name=f"Settings — {org.id}")).to_be_visible()
    expect(page.get_by_role("region", name="Connection")).to_contain_text("Connected")
    form = page.get_by_role("form", name="Settings")
    expect(form.get_by_label("Sync mode")).to_have_value("twoWay")
    expect(form.get_by_label("One meeting in the organizer's calendar")).to_be_checked()

    form.get_by_label("Sync mode").select_option("oneWay")
    form.get_by_label("Only Outlook events whose subject starts with").fill("[book]")
    form.get_by_label("A restricted worker deletes our event in Outlook").select_option("ignore")
    form.get_by_label("Most linked resources").fill("12")
    form.get_by_label("Allow user mailboxes as resources").check()
    expect(form.get_by_label("Push tasks to Microsoft To Do")).to_be_checked()
    expect(form.get_by_label("To Do list for tasks")).to_have_value("Bookings")
    form.get_by_label("To Do list for tasks").fill("Clinic tasks")
    form.get_by_role("button", name="Save settings").click()
    expect(form.get_by_role("status")).to_have_text("✔ Settings saved.")
    saved = stack.api.get(f"/orgs/{org.id}/settings").json()
    assert (saved["syncMode"], saved["createPrefix"], saved["restrictedDelete"]) == ("oneWay", "[book]", "ignore")
    assert saved["maxResources"] == 12 and saved["allowUserMailboxesAsResources"] is True
    assert (saved["syncTasks"], saved["taskListName"]) == (True, "Clinic tasks")
    assert saved["useOrganizer"] is True and saved["webhookUrl"] is None  # the rest as it was

    # A webhook without a secret: the API names webhookSecret, the console shows it there.
    form.get_by_label("Webhook URL").fill("https://booking.example/hooks/calsync")
    form.get_by_role("button", name="Save settings").click()
    secret = form.get_by_label("New webhook secret")
    expect(secret).to_have_attribute("aria-invalid", "true")
    expect(secret).to_have_accessible_description(re.compile("webhookSecret is required when webhookUrl is set"))
    expect(secret).to_be_focused()
    expect(form.get_by_role("alert")).to_contain_text("Not saved: webhookSecret")
    secret.fill("too-short")
    form.get_by_role("button", name="Save settings").click()
    expect(form.get_by_role("alert")).to_contain_text("Not saved: webhookSecret")
    expect(secret).to_have_attribute("aria-invalid", "true")
    # A plain-http webhook to another host, with a good secret: the error moves to the URL.
    form.get_by_label("Webhook URL").fill("http://booking.example/hooks")
    form.get_by_role("button", name="Generate a secret").click()
    expect(secret).to_have_value(re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$"))
    form.get_by_role("button", name="Save settings").click()
    expect(form.get_by_role("alert")).to_contain_text("Not saved: webhookUrl")
    url = form.get_by_label("Webhook URL")
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(secret).not_to_have_attribute("aria-invalid", "true")
    assert stack.api.get(f"/orgs/{org.id}/settings").json()["webhookUrl"] is None  # nothing written

    # The consent link, with a redirect URI that must be https.
    connection = page.get_by_role("region", name="Connection")
    connection.get_by_label("Redirect URI (optional)").fill("http://booking.example/consented")
    connection.get_by_role("button", name="Get the consent link").click()
    redirect = connection.get_by_label("Redirect URI (optional)")
    expect(redirect).to_have_attribute("aria-invalid", "true")
    redirect.fill("https://booking.example/consented")
    connection.get_by_role("button", name="Get the consent link").click()
    expect(connection.get_by_role("link", name="Open the admin-consent page")).to_have_attribute(
        "href", re.compile(rf"/{org.tenant}/adminconsent\?.*redirect_uri=https%3A%2F%2Fbooking\.example%2Fconsented")
    )
    expect(redirect).not_to_have_attribute("aria-invalid", "true")
    console.labelled()
    url.scroll_into_view_if_needed()
    console.shot("settings")
