"""Browser tests of the admin console (/api/console): Debian's Chromium driven by Playwright,
through the real local stack — the app on the local host, Azurite and the Graph emulator —
with the integration fixtures (`stack`, `org`, `linked`, …).

Playwright's own browser download is not reachable here: the tests launch /usr/bin/chromium
(`make test` installs it). Each test saves a screenshot of its screen to docs/console/."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, expect, sync_playwright

from tests.conftest import TEST_KEY
from tests.integration.conftest import Stack

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).resolve().parents[3] / "docs" / "console"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}

expect.set_options(timeout=15_000)

# Every form control and button on the screen has an accessible name (a label, aria-label or text).
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button, a[href]')]
  .filter((el) => el.offsetParent !== null || el.getClientRects().length)
  .filter((el) => {
    if (el.type === 'hidden') return false;
    if (el.labels && el.labels.length) return false;
    if ((el.getAttribute('aria-label') || '').trim()) return false;
    if (el.getAttribute('aria-labelledby')) return false;
    return !['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName) && !(el.textContent || '').trim();
  })
  .map((el) => el.outerHTML.slice(0, 120))"""


# Package scope: Playwright's sync API runs its own event loop in this thread while it is
# open; closed before the async tests of other packages run on pytest-asyncio's loop.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("the browser tests need Debian's Chromium: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@dataclass
class Console:
    """One browser tab on the console, and what it saw go wrong."""

    page: Page
    base: str
    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def open(self, route: str = "/orgs", key: str = TEST_KEY) -> Page:
        """The console with the key in the fragment (then taken out of the address bar)."""
        self.page.goto(f"{self.base}/api/console#key={key}&{route}")
        return self.page

    def shot(self, name: str, of: Locator | None = None, *, full_page: bool = True) -> None:
        """docs/console/<name>.png: the whole screen, or one part of it (`of`)."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.evaluate("document.activeElement && document.activeElement.blur()")  # no stray focus ring
        if of is not None:
            of.screenshot(path=SHOTS / f"{name}.png")
        else:
            self.page.screenshot(path=SHOTS / f"{name}.png", full_page=full_page)

    def labelled(self) -> None:
        assert self.page.evaluate(UNLABELLED) == [], "controls without an accessible name"

    def row(self, text: str) -> Locator:
        return self.page.locator("tbody tr", has_text=text)

    def link(self, owner: str) -> Locator:
        """A worker's or resource's row."""
        return self.page.locator(f'tbody tr[data-id="{owner}"]')


def _watch(console: Console) -> None:
    page = console.page

    def on_console(msg: ConsoleMessage) -> None:
        if "Content Security Policy" in msg.text or "Refused to" in msg.text:
            console.problems.append(f"CSP: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: console.problems.append(f"page error: {exc}"))
    page.on("request", lambda req: console.requests.append(req.url))


@pytest.fixture
def console(browser: Browser, stack: Stack) -> Iterator[Console]:
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="UTC")
    page = context.new_page()
    tab = Console(page, stack.app_url)
    _watch(tab)
    try:
        yield tab
    finally:
        context.close()
    assert tab.problems == [], tab.problems
    assert not [u for u in tab.requests if TEST_KEY in u], "the key went into a URL"
