"""Dynamic concurrency for queue triggers, as host.json's `concurrency.dynamicConcurrencyEnabled`
asks of the Functions host (docs: articles/azure-functions/functions-concurrency.md,
"Dynamic concurrency configuration" and "Concurrency manager"):

- each function's concurrency starts at 1 and is adjusted up to what the instance can take;
- a concurrency manager watches the instance's health and, while it is throttled, message
  processing pauses and concurrency is adjusted down; once healthy again it may rise;
- batchSize / newBatchThreshold are ignored.

Azure's manager watches CPU and thread-pool use. This host is one asyncio process, where an
overloaded instance shows as event-loop lag: a ticker that should wake every TICK_S wakes
late. So lag is the health signal here. It is what keeps HTTP acknowledgements fast while a
backlog of queue work waits, as Azure keeps an instance healthy before it scales out.
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
ADJUST_S = 0.25  # how often each function's concurrency may change
MAXIMUM_CONCURRENCY = 500  # the host's default maximumFunctionConcurrency


class Health:
    """Event-loop lag, sampled by a ticker task."""

    def __init__(self) -> None:
        self._lags: deque[tuple[float, float]] = deque()
        self._task: asyncio.Task[None] | None = None

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
        return any(lag > LAG_LIMIT_S for _, lag in self._lags)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


class Limit:
    """One function's concurrency: up by one (faster after a run of healthy steps) while it is
    used in full and the host is healthy; halved while the host is throttled."""

    def __init__(self, health: Health, name: str) -> None:
        self.health, self.name = health, name
        self.value = 1
        self._changed = 0.0
        self._healthy_steps = 0

    def capacity(self, in_flight: int) -> int:
        """How many more messages to start now (0 while the host is throttled)."""
        now = time.perf_counter()
        if self.health.throttled:
            self._healthy_steps = 0
            if now - self._changed >= ADJUST_S and self.value > 1:
                self.value, self._changed = max(1, self.value // 2), now
                log.debug("%s: throttled, concurrency %d", self.name, self.value)
            return 0
        if in_flight >= self.value and now - self._changed >= ADJUST_S:
            self._healthy_steps += 1
            step = 1 if self._healthy_steps < 2 else max(1, self.value // 2)
            self.value, self._changed = min(MAXIMUM_CONCURRENCY, self.value + step), now
            log.debug("%s: healthy, concurrency %d", self.name, self.value)
        return max(0, self.value - in_flight)
