"""The admin console: one page (GET /api/console) and its assets (GET /api/console/{asset}),
static files from the top-level console/ folder.

Anonymous, like any static page: the page itself asks the admin for the function key and
sends it as `x-functions-key` to the documented API (docs/api.md). Only the files listed in
ASSETS are served, by exact name (no path is ever built from the request), each with its
Content-Type and a strict Content-Security-Policy: nothing inline, nothing from elsewhere."""

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import azure.functions as func

from functions.http import Blueprint, problem

bp = Blueprint()  # remembers its routes (the OpenAPI document, 405s)

FOLDER = Path(__file__).resolve().parent.parent / "console"
PAGE = "index.html"
ASSETS = {
    "console.css": "text/css",
    "console.js": "text/javascript",
    "api.js": "text/javascript",
    "ui.js": "text/javascript",
    "orgs.js": "text/javascript",
    "links.js": "text/javascript",
    "jobs.js": "text/javascript",
    "meetings.js": "text/javascript",
    "feed.js": "text/javascript",
    "icon.svg": "image/svg+xml",
}
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _file(req: func.HttpRequest, name: str, content_type: str) -> func.HttpResponse:
    body = (FOLDER / name).read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {**HEADERS, "ETag": etag}
    if etag in (req.headers.get("if-none-match") or ""):
        return func.HttpResponse(status_code=304, headers=headers)
    return func.HttpResponse(body, status_code=200, headers=headers, mimetype=content_type, charset="utf-8")


@bp.route(route="console", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def console_page(req: func.HttpRequest) -> func.HttpResponse:
    """The admin console (HTML; it asks for the function key and calls this API with it)."""
    path = urlsplit(req.url).path
    if path.endswith("/"):  # the page's relative asset URLs need /api/console, not /api/console/
        return func.HttpResponse(status_code=308, headers={**HEADERS, "Location": path.rstrip("/")})
    return _file(req, PAGE, "text/html")


@bp.route(route="console/{asset}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def console_asset(req: func.HttpRequest) -> func.HttpResponse:
    """One of the console's files (its styles, scripts and icon); 404 for any other name."""
    name = req.route_params.get("asset") or ""
    content_type = ASSETS.get(name)
    if content_type is None:
        return problem(404, "asset_not_found", f"the console has no asset {name[:100]!r}")
    return _file(req, name, content_type)
