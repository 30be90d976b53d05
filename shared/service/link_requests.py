"""Link requests as the API takes them: parsed and checked, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.core.errors import InvalidInput
from shared.core.validation import boolean, email, identifier, known_keys, optional_str


@dataclass(frozen=True)
class WorkerRequest:
    worker: str
    account: str | None
    display_name: str | None
    restricted: bool | None


@dataclass(frozen=True)
class ResourceRequest:
    resource: str
    mailbox: str | None
    display_name: str | None
    kind: str | None


def _account(body: dict[str, Any], field_name: str, prefix: str = "") -> str | None:
    value = body.get(field_name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(prefix + field_name, f"{prefix + field_name} must be a string (blank unlinks)")
    return email(prefix + field_name, value) if value.strip() else None


def parse_worker(worker_id: str, body: dict[str, Any], prefix: str = "") -> WorkerRequest:
    identifier(prefix + "worker", worker_id)
    known_keys(body, {"m365Account", "displayName", "restricted", "worker"}, prefix)
    restricted = boolean(body, "restricted", False, prefix) if "restricted" in body else None
    return WorkerRequest(
        worker_id, _account(body, "m365Account", prefix), optional_str(body, "displayName", prefix=prefix), restricted
    )


def parse_resource(resource_id: str, body: dict[str, Any]) -> ResourceRequest:
    identifier("resource", resource_id)
    known_keys(body, {"mailbox", "displayName", "kind"})
    kind = body.get("kind")
    if kind is not None and kind not in ("room", "equipment"):
        raise InvalidInput("kind", "kind must be room or equipment")
    return ResourceRequest(resource_id, _account(body, "mailbox"), optional_str(body, "displayName"), kind)
