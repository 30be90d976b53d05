"""Org-scoped API keys: their form, and who may call what with which key (pure).

A key is `csk_<id>_<secret>`: `csk_` lets secret scanners find a leaked one, `<id>` (16
base32 characters) names the key without revealing it (`csk_<id>` is its prefix, listed),
and `<secret>` is 32 random bytes (base64url). Only a SHA-256 of the whole key is stored:
the key is random, so a slow hash would add nothing.

Two kinds of caller: the platform (the booking product's backend, with the app's function
key) reaches every route; an org key reaches the routes of its own org, except deleting the
org and managing keys. Any other org, or a platform-only route, is refused with the same 403
whether the org exists or not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "csk_"
_FORM = re.compile(r"^csk_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$")
# Operations an org key never reaches (the platform's own), and those any valid key does.
PLATFORM_ONLY = frozenset({"list_orgs", "delete_org", "create_org_key", "list_org_keys", "revoke_org_key"})
ANY_CALLER = frozenset({"get_credential"})


@dataclass(frozen=True)
class NewKey:
    key_id: str
    key: str  # shown once
    digest: str

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.key_id}"


@dataclass(frozen=True)
class Caller:
    """Who a request is from: the platform, or the org a key belongs to."""

    org: str | None  # None: the platform
    key_id: str | None = None


def new_key() -> NewKey:
    key_id = base64.b32encode(secrets.token_bytes(10)).decode().lower()
    key = f"{PREFIX}{key_id}_{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip('=')}"
    return NewKey(key_id, key, digest(key))


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(presented: str) -> str | None:
    """The id inside a presented org key; None if it does not have the form of one."""
    m = _FORM.match(presented)
    return m.group(1) if m else None


def matches(presented: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(presented), stored_digest)


def allowed(caller: Caller, operation: str, org: str | None) -> bool:
    """Whether `caller` may run `operation` (on `org`, the route's {org} if it has one)."""
    if caller.org is None or operation in ANY_CALLER:
        return True
    return operation not in PLATFORM_ONLY and org is not None and org == caller.org
