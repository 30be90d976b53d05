"""What the control API can make the emulator do wrong: latency, errors, throttling, notification
delivery, delta quirks, scripted failures (docs/graph-emulator.md, Control API)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Faults:
    latency_ms: float = 0.0
    error_rate: float = 0.0
    throttle_requests: int = 10_000
    throttle_window_s: float = 600.0
    throttle_concurrency: int = 4
    deliver_notifications: bool = True
    notification_timeout_s: float = 10.0
    validation_timeout_s: float = 10.0  # the handshake's documented deadline
    time_scale: float = 1.0  # multiplies every emulated wait (notification retry backoff)
    delta_repeats: bool = False  # a delta round returns each item twice
    # False (the default): a deleted occurrence of a series that still exists gets no @removed
    # in delta (microsoft-graph-docs PR #4501, "found via experimentation"); True follows
    # event-delta.md's "@removed" for it. The master's cancelledOccurrences lists it either way.
    delta_occurrence_removals: bool = False
    # True (the default): calendarView delta lists a changed series master itself (type
    # seriesMaster, the first occurrence's start/end), also one whose first occurrence is before
    # the window (docs-contrib issue #3196; keeper.sh issues #409, #410), and its deletion as
    # @removed; False: never a master (concepts/delta-query-events.md's reading).
    delta_series_masters: bool = True
    fail_next: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "latencyMs": self.latency_ms,
            "errorRate": self.error_rate,
            "throttle": {
                "requests": self.throttle_requests,
                "windowSeconds": self.throttle_window_s,
                "concurrency": self.throttle_concurrency,
            },
            "deliverNotifications": self.deliver_notifications,
            "notificationTimeoutSeconds": self.notification_timeout_s,
            "validationTimeoutSeconds": self.validation_timeout_s,
            "timeScale": self.time_scale,
            "deltaRepeats": self.delta_repeats,
            "deltaOccurrenceRemovals": self.delta_occurrence_removals,
            "deltaSeriesMasters": self.delta_series_masters,
            "failNext": self.fail_next,
        }
