"""A change-notification subscription as the emulator keeps it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class Subscription:
    id: str
    tenant_id: str
    app_id: str
    resource: str  # as given
    mailbox_id: str
    change_types: list[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expiration: datetime
    immutable_ids: bool
    creator_id: str
