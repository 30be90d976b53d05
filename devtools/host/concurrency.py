"""Dynamic concurrency for queue triggers, as host.json's `concurrency.dynamicConcurrencyEnabled`
asks of the Functions host (docs: articles/azure-functions/functions-concurrency.md,
"Dynamic concurrency configuration" and "Concurrency manager"):

- each function's concurrency starts at 1 and is adjusted up to what the instance can take;
- a concurrency manager watches the instance's health and, while it is throttled, message
  processing pauses and concurrency is adjusted down; once healthy again it may rise;
- batchSize / newBatchThreshold are ignored.

Azure's manager watches CPU and thread-pool use. This host is one asyncio process, where an
overloaded instance shows as event-loop lag (a ticker that should wake every TICK_S wakes
late) and as slow HTTP answers (queue work and HTTP share the loop and the storage
emulator). Both are the health signal here: queue work yields to HTTP, as on Flex, where the
HTTP functions and each queue function scale on separate instances (FUNCTIONS-FACTS §6.1).
That keeps notification acknowledgements fast while a backlog of rounds waits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

log = logging.getLogger("devtools.host.concurrency")

TICK_S = 0.02
WINDOW_S = 0.5  # health is the worst lag over this window
LAG_LIMIT_S = 0.03  # a loop answering later than this is overloaded
HTTP_LIMIT_S = 0.02  # so is one whose HTTP answers take longer than this (the median of the window)
ADJUST_S = 0.25  # how often each function's concurrency may change
MAXIMUM_CONCURRENCY = 500  # the host's default maximumFunctionConcurrency


class Health:
    """Event-loop lag, sampled by a ticker task."""

    def __init__(self) -> None:
        self._lags: deque[tuple[float, float]] = deque()
        self._http: deque[tuple[float, float]] = deque()
        self._task: asyncio.Task[None] | None = None

    def answered(self, seconds: float) -> None:
        """An HTTP request took `seconds` to answer."""
        now = time.perf_counter()
        self._http.append((now, seconds))
        while self._http and self._http[0][0] < now - WINDOW_S:
            self._http.popleft()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._tick(), name="host:health")

    async def _tick(self) -> None:
        while True:
            due = time.perf_counter() + TICK_S
            await asyncio.sleep(TICK_S)
            now = time.perf_counter()
            self._lags.append((now, max(0.0, now - due)))
            while self._lags and self._lags[0][0] < now - WINDOW_S:
                self._lags.popleft()

    @property
    def throttled(self) -> bool:
        """The loop is late: queue work pauses."""
        return any(lag > LAG_LIMIT_S for _, lag in self._lags)

    @property
    def http_slow(self) -> bool:
        """HTTP answers are slow: queue work shrinks, but never below one at a time (an API
        call that is slow for its own reasons must not starve the queues)."""
        now = time.perf_counter()
        recent = sorted(took for at, took in self._http if at >= now - WINDOW_S)
        return bool(recent) and recent[len(recent) // 2] > HTTP_LIMIT_S

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


class Limit:
    """One function's concurrency: up by one (faster after a run of healthy steps) while it is
    used in full and the host is healthy; halved while the host is throttled (and paused) or
    its HTTP answers are slow (down to one)."""

    def __init__(self, health: Health, name: str) -> None:
        self.health, self.name = health, name
        self.value = 1
        self._changed = 0.0
        self._healthy_steps = 0

    def capacity(self, in_flight: int) -> int:
        """How many more messages to start now (0 while the host is throttled)."""
        now = time.perf_counter()
        throttled, slow = self.health.throttled, self.health.http_slow
        if throttled or slow:
            self._healthy_steps = 0
            if now - self._changed >= ADJUST_S and self.value > 1:
                self.value, self._changed = max(1, self.value // 2), now
                log.debug("%s: throttled, concurrency %d", self.name, self.value)
            return 0 if throttled else max(0, self.value - in_flight)
        if in_flight >= self.value and now - self._changed >= ADJUST_S:
            self._healthy_steps += 1
            step = 1 if self._healthy_steps < 2 else max(1, self.value // 2)
            self.value, self._changed = min(MAXIMUM_CONCURRENCY, self.value + step), now
            log.debug("%s: healthy, concurrency %d", self.name, self.value)
        return max(0, self.value - in_flight)
