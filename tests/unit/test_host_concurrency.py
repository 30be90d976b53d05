"""The local host's dynamic concurrency: queue work grows while healthy, yields when not."""

from __future__ import annotations

import pytest

from devtools.host import concurrency
from devtools.host.concurrency import ADJUST_S, Limit


class Health:
    throttled = False
    http_slow = False


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(concurrency.time, "perf_counter", lambda: now[0])
    return now


def step(clock: list[float]) -> None:
    clock[0] += ADJUST_S


def test_concurrency_starts_at_one_and_rises_while_healthy_and_in_full_use(clock: list[float]) -> None:
    limit = Limit(Health(), "sync_mailbox")  # type: ignore[arg-type]
    assert limit.capacity(0) == 1
    values = []
    for _ in range(6):
        step(clock)
        limit.capacity(limit.value)  # every slot busy
        values.append(limit.value)
    assert values == sorted(values) and values[-1] > 6  # up by one, then faster


def test_it_does_not_rise_when_slots_are_idle(clock: list[float]) -> None:
    limit = Limit(Health(), "sync_mailbox")  # type: ignore[arg-type]
    for _ in range(5):
        step(clock)
        limit.capacity(0)
    assert limit.value == 1


def test_a_late_loop_pauses_queue_work_and_halves_concurrency(clock: list[float]) -> None:
    health = Health()
    limit = Limit(health, "sync_mailbox")  # type: ignore[arg-type]
    limit.value = 16
    health.throttled = True
    step(clock)
    assert limit.capacity(0) == 0 and limit.value == 8
    step(clock)
    assert limit.capacity(3) == 0 and limit.value == 4
    health.throttled = False
    assert limit.capacity(1) == 3  # healthy again: work resumes at what was left


def test_slow_http_shrinks_queue_work_but_never_starves_it(clock: list[float]) -> None:
    health = Health()
    limit = Limit(health, "sync_mailbox")  # type: ignore[arg-type]
    limit.value = 4
    health.http_slow = True
    for _ in range(5):
        step(clock)
        limit.capacity(0)
    assert limit.value == 1
    assert limit.capacity(0) == 1  # one at a time still runs
