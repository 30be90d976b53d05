"""Link requests as the API takes them: parsed and checked, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.core.api_check import checked
from shared.core.api_requests import BatchRow, ResourceBody, WorkerBody
from shared.core.validation import identifier


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


def parse_worker(worker_id: str, body: dict[str, Any], prefix: str = "") -> WorkerRequest:
    """A PUT of a worker, or (with `prefix`, e.g. `rows[3].`) one row of a batch."""
    identifier(prefix + "worker", worker_id)
    m = checked(BatchRow if prefix else WorkerBody, body, prefix)
    return WorkerRequest(worker_id, m.m365_account, m.display_name, m.restricted)


def parse_resource(resource_id: str, body: dict[str, Any]) -> ResourceRequest:
    identifier("resource", resource_id)
    m = checked(ResourceBody, body)
    return ResourceRequest(resource_id, m.mailbox, m.display_name, m.kind)
