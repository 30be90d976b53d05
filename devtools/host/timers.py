"""Timer triggers on their NCRONTAB schedules (six fields, seconds first; UTC)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import azure.functions as func
from azure.functions.timer import TimerRequest
from croniter import croniter

from devtools.host.config import resolve
from devtools.host.invoke import Invoker

log = logging.getLogger("devtools.host")


def schedule_for(fn: func.Function) -> croniter:
    expression = resolve(fn.get_trigger().schedule)
    try:
        return croniter(expression, datetime.now(UTC), second_at_beginning=len(expression.split()) == 6)
    except (ValueError, KeyError) as exc:
        raise ValueError(f"timer {fn.get_function_name()}: bad schedule {expression!r}: {exc}") from exc


def timer_request(past_due: bool, last: datetime | None, next_: datetime | None) -> TimerRequest:
    status = {
        "Last": last.isoformat() if last else None,
        "Next": next_.isoformat() if next_ else None,
        "LastUpdated": datetime.now(UTC).isoformat(),
    }
    return TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": True})


class TimerRunner:
    def __init__(self, fn: func.Function, invoker: Invoker) -> None:
        self.fn = fn
        self.invoker = invoker
        self.cron = schedule_for(fn)  # validates the schedule at start-up
        self.last: datetime | None = None
        # Like the host's singleton lock: one run of a timer at a time.
        self.lock = asyncio.Lock()

    async def fire(self, *, past_due: bool = False, next_: datetime | None = None) -> None:
        async with self.lock:
            await self.invoker.invoke(self.fn, "timer", timer_request(past_due, self.last, next_))
            self.last = datetime.now(UTC)

    async def run(self) -> None:
        if self.fn.get_trigger().run_on_startup:
            await self.fire()
        while True:
            # Next occurrence from now: occurrences missed while a run overran are skipped.
            due = self.cron.get_next(datetime, start_time=datetime.now(UTC))
            wait = (due - datetime.now(UTC)).total_seconds()
            if wait > 0:
                await asyncio.sleep(wait)
            past_due = (datetime.now(UTC) - due).total_seconds() > 1
            following = self.cron.get_next(datetime, start_time=due, update_current=False)
            await self.fire(past_due=past_due, next_=following)
