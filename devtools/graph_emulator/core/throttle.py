"""Outlook's limits per app per mailbox (FACTS §5): concurrency and a request budget."""

from __future__ import annotations

import math
import time
from collections import Counter

from devtools.graph_emulator.core.errors import GraphError
from devtools.graph_emulator.core.world import World


class Throttle:
    """Outlook's limits per app per mailbox: concurrent requests and a request budget."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.inflight: Counter[tuple[str, str]] = Counter()
        self.windows: dict[tuple[str, str], tuple[float, int]] = {}

    def reset(self) -> None:
        self.inflight.clear()
        self.windows.clear()

    def enter(self, key: tuple[str, str]) -> GraphError | None:
        faults = self.world.faults
        t = time.monotonic()
        start, count = self.windows.get(key, (t, 0))
        if t - start >= faults.throttle_window_s:
            start, count = t, 0
        self.windows[key] = (start, count + 1)  # Graph keeps counting while it throttles
        if count >= faults.throttle_requests:
            wait = max(1, math.ceil(start + faults.throttle_window_s - t))
            return GraphError(
                429,
                "ApplicationThrottled",
                "Application is over its MailboxRequests limit.",
                {"Retry-After": str(wait)},
            )
        if self.inflight[key] >= faults.throttle_concurrency:
            return GraphError(
                429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", {"Retry-After": "1"}
            )
        self.inflight[key] += 1
        return None

    def exit(self, key: tuple[str, str]) -> None:
        self.inflight[key] -= 1
