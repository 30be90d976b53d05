"""A queue message as the text a queue holds: its JSON with the sender's trace context.

One encoding for both ways a message leaves us: the QueueSender's own SDK call, and a
function's queue output binding, which the Functions host writes (and Base64-encodes, per
host.json's messageEncoding) after the function returns.
"""

from __future__ import annotations

import json

from shared.adapters.messages import QueueMessage
from shared.adapters.telemetry import inject

MAX_MESSAGE_BYTES = 48 * 1024  # 64 KiB after Base64 is ~48 KiB of payload


def encode(message: QueueMessage) -> str:
    wire = message.to_wire()
    inject(wire)  # the work continues this trace (functions.queue)
    text = json.dumps(wire, separators=(",", ":"))
    if len(text.encode()) > MAX_MESSAGE_BYTES:
        raise ValueError(f"queue message of {len(text.encode())} bytes exceeds {MAX_MESSAGE_BYTES}")
    return text
