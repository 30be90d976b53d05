"""Changes the booking product hears of, and the feed cursor it reads them by."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from shared.core.errors import InvalidInput


@dataclass(frozen=True)
class NewChange:
    # updated | deleted | responded | created | attendee_removed | restored (oneWay);
    # task_updated | task_completed | task_deleted (To Do)
    type: str
    appointment: str | None
    worker: str | None = None
    resource: str | None = None
    mailbox: str | None = None
    event_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    task: str | None = None  # task_* changes: the booking product's task id


def encode_cursor(n: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{n}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, number = text.partition(":")
        if version != "v1":
            raise ValueError
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("after", "after is not a cursor this feed handed out") from None
