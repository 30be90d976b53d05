"""Graph's identifiers as Exchange makes them: event ids (REST and immutable), occurrence ids,
change keys, iCalUIds, GUIDs; and the clock."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import struct
import uuid
from datetime import UTC, date, datetime

DEFAULT_APP_ID = "00000000-0000-0000-0000-0000000ca15c"


def new_guid() -> str:
    return str(uuid.uuid4())


def b64(data: bytes) -> str:
    # Outlook REST ids are URL-safe Base64 with padding: letters, digits, `-`, `_`, `=`.
    return base64.urlsafe_b64encode(data).decode()


def new_change_key() -> str:
    return base64.b64encode(b"\x0f\x00\x00\x00\x16\x00\x00\x00" + os.urandom(16)).decode()


def new_event_ids(mailbox_id: str) -> tuple[str, str]:
    """(rest id, immutable id) for a new event; both name the same item."""
    mailbox = uuid.UUID(mailbox_id).bytes
    body = mailbox + b"\x00\x46\x00\x00" + os.urandom(30)
    return b64(_REST + body), b64(_IMMUTABLE + body)


_REST, _IMMUTABLE = b"\x00\x03\x24\x00", b"\x00\x09\x00\x2e\x00\x00"
# An occurrence's ids: the master's, marked, with the occurrence's original start (seconds
# since 1970, UTC) appended. Stable, distinct, and decodable without a lookup table.
_REST_OCC, _IMMUTABLE_OCC = b"\x00\x03\x24\x07", b"\x00\x09\x00\x2e\x00\x07"
_BODY = 50  # mailbox guid (16) + 4 + 30 random bytes


def immutable_of(rest_id: str) -> str:
    """The immutable id of the item a rest id names (both carry the same body)."""
    raw = unb64(rest_id)
    if raw is not None and raw[:4] == _REST:
        return b64(_IMMUTABLE + raw[4:])
    if raw is not None and raw[:4] == _REST_OCC:
        return b64(_IMMUTABLE_OCC + raw[4:])
    return rest_id


def unb64(value: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def occurrence_ids(master_rest_id: str, original_start: datetime) -> tuple[str, str]:
    """(rest id, immutable id) of the occurrence of a series that originally starts then."""
    raw = unb64(master_rest_id) or b""
    tail = raw[4:] + struct.pack(">q", int(original_start.timestamp()))
    return b64(_REST_OCC + tail), b64(_IMMUTABLE_OCC + tail)


def parse_occurrence_id(event_id: str) -> tuple[str, datetime] | None:
    """(the master's rest id, the original start) an occurrence id names, else None."""
    raw = unb64(event_id)
    if raw is None:
        return None
    for prefix in (_REST_OCC, _IMMUTABLE_OCC):
        if raw.startswith(prefix) and len(raw) == len(prefix) + _BODY + 8:
            body, stamp = raw[len(prefix) : -8], struct.unpack(">q", raw[-8:])[0]
            try:
                return b64(_REST + body), datetime.fromtimestamp(stamp, UTC)
            except (OverflowError, OSError, ValueError):
                return None
    return None


_UID_HEAD = "040000008200E00074C5B7101A82E008"


def new_ical_uid() -> str:
    return _UID_HEAD + "00000000" + secrets.token_hex(28).upper()


def occurrence_ical_uid(series_uid: str, day: date) -> str:
    """resources/event.md: the iCalUId "is different for each occurrence in a recurring
    series". Exchange's global object id holds the instance date (year, month, day) after
    its 16-byte head; the same occurrence has the same id in every calendar."""
    if not series_uid.startswith(_UID_HEAD) or len(series_uid) < 48:
        return series_uid + day.strftime("%Y%m%d")
    return f"{_UID_HEAD}{day.year:04X}{day.month:02X}{day.day:02X}{series_uid[48:]}"


def series_ical_uid(uid: str) -> str:
    """The series' iCalUId for an occurrence's (itself for any other event)."""
    if uid.startswith(_UID_HEAD) and len(uid) >= 48:
        return _UID_HEAD + "00000000" + uid[48:]
    return uid


def derived_change_key(*parts: str) -> str:
    """A change key that is a function of `parts` (an occurrence's: its series' version)."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()[:16]
    return base64.b64encode(b"\x0f\x00\x00\x00\x16\x00\x00\x00" + digest).decode()


def now() -> datetime:
    return datetime.now(UTC)
