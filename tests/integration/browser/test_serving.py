"""How the console is served: anonymous, whitelisted assets with their types, a strict CSP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest

from devtools.services import Service
from functions.console import ASSETS, FOLDER, PAGE


@pytest.fixture(scope="module")
def anonymous(app_host: Service) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{app_host.url}/api", timeout=30) as client:
        yield client


def test_the_page_is_served_anonymously_with_a_strict_policy(anonymous: httpx.Client) -> None:
    r = anonymous.get("/console")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
    assert r.headers["cache-control"] == "no-cache" and r.headers["x-content-type-options"] == "nosniff"
    # The page's relative asset URLs need /api/console: with a trailing slash it redirects there.
    slash = anonymous.get("/console/")
    assert slash.status_code == 308 and slash.headers["location"] == "/api/console"


@pytest.mark.parametrize("name", sorted(ASSETS))
def test_each_asset_has_its_type_and_revalidates(anonymous: httpx.Client, name: str) -> None:
    r = anonymous.get(f"/console/{name}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == ASSETS[name]
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    assert r.content == (FOLDER / name).read_bytes()
    again = anonymous.get(f"/console/{name}", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(
    "asset",
    ["nope.js", "index.html", "..%2Ffunction_app.py", "%2e%2e%2Flocal.settings.sample.json", "console.js%00.css"],
)
def test_anything_else_is_a_404_problem(anonymous: httpx.Client, asset: str) -> None:
    r = anonymous.get(f"/console/{asset}")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] in ("asset_not_found", "route_not_found")
    assert b"FunctionApp" not in r.content and b"AzureWebJobsStorage" not in r.content


def test_every_file_of_the_folder_is_whitelisted_and_nothing_is_inline() -> None:
    assert {p.name for p in FOLDER.iterdir()} == {PAGE, *ASSETS}

    class Inline(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            names = {k for k, _ in attrs}
            if tag == "style" or (tag == "script" and "src" not in names) or "style" in names:
                self.found.append(tag)
            if any(k.startswith("on") for k in names):
                self.found.append(f"{tag} handler")
            for k, v in attrs:
                if k in ("src", "href") and v and re.match(r"(https?:)?//", v):
                    self.found.append(f"{tag} from {v}")

    parser = Inline()
    parser.feed((FOLDER / PAGE).read_text())
    assert parser.found == []
    for name in ASSETS:
        if name.endswith(".js"):
            text = (FOLDER / name).read_text()
            # Values from the API go in as text; markup is never built from strings.
            assert "innerHTML" not in text and "insertAdjacentHTML" not in text and "eval(" not in text, name
            assert not re.search(r"https?://", text), name  # nothing from elsewhere
