"""FakeQueues: the `Queues` port in memory, held to the QueuesContract like QueueSender.

A sent message is kept as its wire JSON (so what a worker reads back is what the real
queue would hand it), with the time it becomes visible."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.adapters.message_wire import MAX_MESSAGE_BYTES
from shared.adapters.messages import MESSAGES, QueueMessage
from shared.core.clock import utcnow

_BY_QUEUE = {m.QUEUE: m for m in MESSAGES}


@dataclass
class Sent:
    queue: str
    text: str
    visible_at: datetime

    def message(self) -> QueueMessage:
        return _BY_QUEUE[self.queue].from_wire(json.loads(self.text))


class FakeQueues:
    def __init__(self, now: Callable[[], datetime] = utcnow) -> None:
        self._now = now
        self.sent: list[Sent] = []

    async def send(self, message: QueueMessage, *, delay_seconds: int | None = None) -> None:
        text = json.dumps(message.to_wire(), separators=(",", ":"))
        if len(text.encode()) > MAX_MESSAGE_BYTES:
            raise ValueError(f"queue message of {len(text.encode())} bytes exceeds {MAX_MESSAGE_BYTES}")
        self.sent.append(Sent(message.QUEUE, text, self._now() + timedelta(seconds=delay_seconds or 0)))

    def write_output(self, queue: str, texts: list[str]) -> None:
        """What the Functions host does with a queue output binding's messages after the function returns."""
        for text in texts:
            _BY_QUEUE[queue].from_wire(json.loads(text))  # a message its trigger can read
            self.sent.append(Sent(queue, text, self._now()))

    def take(self, queue: str | None = None, *, visible_only: bool = True) -> list[QueueMessage]:
        """Receive and delete what is in `queue` (every queue if None), in send order."""
        now = self._now()
        taken = [
            s for s in self.sent if (queue is None or s.queue == queue) and (not visible_only or s.visible_at <= now)
        ]
        self.sent = [s for s in self.sent if s not in taken]
        return [s.message() for s in taken]

    def waiting(self, queue: str) -> list[Sent]:
        return [s for s in self.sent if s.queue == queue]

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
