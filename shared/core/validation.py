"""What the request models (shared.core.api_requests) build on, and the checks of route
parameters and URLs; each failure names the field (InvalidInput)."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from shared.core.errors import InvalidInput

EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ID_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MAX_ID = 200
# Every id is a path segment of its own routes (…/workers/{worker}): one with "/" could be
# stored but never addressed.
NO_SLASH = "must not contain '/': an id is a segment of its URL, and one with '/' could never be addressed"


def load_json(raw: bytes, what: str = "the request body") -> Any:
    """Parse a request body; a 400 naming `body` for anything that is not JSON — a body
    nested thousands deep included (the parser gives up with RecursionError: not a 500)."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        reason = "it nests too deep" if isinstance(exc, RecursionError) else str(exc)
        raise InvalidInput("body", f"{what} is not valid JSON: {reason}") from None


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw or not raw.strip():
        raise InvalidInput("body", "the request body must be a JSON object")
    value = load_json(raw)
    if not isinstance(value, dict):
        raise InvalidInput("body", "the request body must be a JSON object")
    return value


def identifier(field: str, value: str | None) -> str:
    """Our ids (org, worker, resource, appointment): 1-200 printable characters."""
    if value is None or not value.strip():
        raise InvalidInput(field, f"{field} must not be empty")
    if len(value) > MAX_ID or ID_BAD.search(value):
        raise InvalidInput(field, f"{field} must be 1-{MAX_ID} printable characters")
    if "/" in value:
        raise InvalidInput(field, f"{field} {NO_SLASH}")
    return value


def https_url(field: str, value: str, *, loopback_ok: bool = False) -> str:
    """An absolute https URL to a public host; plain http and this machine only where
    `loopback_ok` (development: the emulator's mode). A literal address must be public here;
    a name is resolved and checked at each delivery (shared.adapters.webhook_http)."""
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    loopback = host == "localhost" or host.endswith(".localhost") or _address(host, lambda a: a.is_loopback)
    local = loopback_ok and loopback
    if not host or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        hint = " (plain http only to localhost, in development)" if loopback_ok else ""
        raise InvalidInput(field, f"{field} must be an https URL{hint}")
    if not local and (loopback or _address(host, lambda a: not a.is_global or a.is_multicast or a.is_reserved)):
        raise InvalidInput(field, f"{field} must name a public host, not a loopback, private or reserved address")
    return value


def _address(host: str, test: Callable[[ipaddress.IPv4Address | ipaddress.IPv6Address], bool]) -> bool:
    """Whether `host` is an address literal for which `test` holds (IPv4-mapped IPv6 as IPv4)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return test(address)
