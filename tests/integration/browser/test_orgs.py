"""The key, and the organisations screen: connect (by keyboard), consent, validation, delete."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.conftest import TEST_KEY
from tests.integration.browser.conftest import Console
from tests.integration.conftest import OrgFixture, Stack


def test_the_key_from_the_fragment_is_kept_and_taken_out_of_the_address(console: Console) -> None:
    page = console.open()
    expect(page.get_by_role("heading", name="Organisations", level=1)).to_be_visible()
    assert page.url.endswith("/api/console#/orgs")  # the key is out of the address bar…
    assert page.evaluate("sessionStorage.getItem('calsync.functionKey')") == TEST_KEY
    console.labelled()
    page.go_back()  # …and out of the history: the entry before is the blank tab
    assert page.url == "about:blank"


def test_a_refused_key_sends_the_admin_back_to_the_key_form(console: Console) -> None:
    page = console.open(key="not-the-key")
    form = page.get_by_role("form", name="Sign in with the function key")
    expect(form.get_by_role("alert")).to_contain_text("refused (401 Unauthorized)")
    assert page.evaluate("sessionStorage.getItem('calsync.functionKey')") is None
    console.labelled()
    console.shot("key")
    page.get_by_label("Function key", exact=True).fill(TEST_KEY)
    page.get_by_role("button", name="Open the console").click()
    expect(page.get_by_role("heading", name="Organisations", level=1)).to_be_visible()


def test_connect_an_org_by_keyboard_see_consent_and_field_errors_then_delete(console: Console, stack: Stack) -> None:
    tenant, _ = stack.seed()
    org_id = f"org-{uuid.uuid4().hex[:8]}"
    page = console.open()
    expect(page.get_by_role("heading", name="Organisations", level=1)).to_be_focused()

    # Keyboard only: the skip link first, then into the form, Enter submits.
    skip = page.get_by_role("link", name="Skip to content")
    skip.focus()
    assert skip.bounding_box()["y"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    assert page.url.endswith("#/orgs")  # the skip link does not change the screen
    page.keyboard.press("Tab")
    org_field = page.get_by_label("Organisation id")
    expect(org_field).to_be_focused()
    page.keyboard.type(org_id)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Microsoft 365 tenant id")).to_be_focused()
    page.keyboard.type("not-a-guid")
    page.keyboard.press("Enter")
    tenant_field = page.get_by_label("Microsoft 365 tenant id")
    expect(tenant_field).to_have_attribute("aria-invalid", "true")
    expect(tenant_field).to_have_accessible_description(re.compile(r"m365TenantId must be the Microsoft 365 tenant id"))
    expect(tenant_field).to_be_focused()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid", "focus must be visible"

    tenant_field.fill(tenant)
    page.keyboard.press("Tab")
    page.keyboard.type("Fabrikam")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Connect", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("form", name="Connect an organisation").get_by_role("status")).to_contain_text(
        f"{org_id} is connected"
    )
    row = console.row(org_id)
    expect(row).to_contain_text("Connected")
    consent = row.get_by_role("link", name="Admin consent")
    expect(consent).to_have_attribute("href", re.compile(f"/{tenant}/adminconsent"))

    # A tenant that never consented: stored, in error, with the admin-consent link.
    stranger = str(uuid.uuid4())
    other = f"org-{uuid.uuid4().hex[:8]}"
    org_field.fill(other)
    tenant_field.fill(stranger)
    page.get_by_role("button", name="Connect", exact=True).click()
    alert = page.get_by_role("form", name="Connect an organisation").get_by_role("alert")
    expect(alert).to_contain_text("consent_required")
    expect(alert.get_by_role("link", name="Open the admin-consent page")).to_have_attribute(
        "href", re.compile(rf"^https://login\.microsoftonline\.com/{stranger}/adminconsent\?client_id=")
    )
    expect(console.row(other)).to_contain_text("Error")
    console.labelled()
    console.shot("orgs")

    console.row(other).get_by_role("button", name=f"Delete {other}").click()
    dialog = page.get_by_role("dialog", name=f"Delete {other}?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name=f"Delete {other}").click()
    expect(console.row(other)).to_have_count(0)
    expect(page.get_by_text(f"{other} deleted")).to_be_visible()
    assert stack.api.get(f"/orgs/{other}").status_code == 404
    assert stack.api.get(f"/orgs/{org_id}").json()["status"] == "connected"


def test_an_org_key_opens_its_own_org_and_says_what_needs_the_platform_key(
    console: Console, stack: Stack, linked: OrgFixture
) -> None:
    """Issue #25: an org's admin signs in with the org's key (issued with the platform's)."""
    made = stack.api.post(f"/orgs/{linked.id}/keys")
    assert made.status_code == 201, made.text
    org_key = made.json()["key"]
    page = console.open("/orgs", key=org_key)
    # Straight to its own org (the org list needs the platform's key).
    expect(page.get_by_role("heading", name="Workers", level=1)).to_be_visible()
    assert page.url.endswith(f"#/orgs/{linked.id}/workers")
    expect(console.link("w-ada")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('calsync.functionKey')") == org_key
    expect(page.get_by_role("link", name="Organisations")).to_have_count(0)
    console.labelled()
    page.goto(f"{console.base}/api/console#/orgs/someone-else/workers")
    expect(page.get_by_role("heading", name="Not with this key", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text(f"reaches {linked.id} only")
    console.shot("org-key")
    # Revoked: refused from then on, back to the key form.
    key_id = made.json()["id"]
    assert stack.api.delete(f"/orgs/{linked.id}/keys/{key_id}").status_code == 204
    page.goto(f"{console.base}/api/console#/orgs/{linked.id}/settings")  # its next call is refused
    expect(page.get_by_role("form", name="Sign in with the function key").get_by_role("alert")).to_contain_text(
        "refused (401 Unauthorized)"
    )
    assert not [u for u in console.requests if org_key in u], "the org key went into a URL"
