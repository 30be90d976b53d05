"""Plain data the Graph port answers with (msgraph-sdk types never leave the gateway)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class DirectoryUser:
    id: str
    user_principal_name: str
    mail: str | None
    display_name: str


@dataclass(frozen=True)
class SubscriptionInfo:
    id: str
    expires_at: datetime
