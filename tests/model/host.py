"""A queue host for the use cases, in process: what functions/*.py and the Functions host do
with each queue message, over FakeQueues and the test's clock.

A message that raises one of calsync's errors is tried again after the visibility timeout,
up to `max_dequeue_count` tries (the last one is `final`), then it is poisoned. Anything
else a handler raises is a bug and propagates. `kill(queue)` makes the next message of a
queue vanish unprocessed (a crashed instance whose message ended in the poison queue).
Time moves to the next delayed message when nothing is visible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.messages import (
    AppointmentRetry,
    MailboxSync,
    MailboxSyncBatch,
    OrgReconcile,
    QueueMessage,
    RenewSubscription,
    SubscriptionLifecycle,
    WebhookDelivery,
)
from shared.core.errors import CalsyncError
from shared.service import appointments, mailbox_rounds, maintenance, reconcile_rounds, webhooks
from shared.service.ports import Services
from tests.fakes.queues import FakeQueues
from tests.model.wire import Clock

VISIBILITY_S = 30  # a failed message is visible again after this long


class RetryLater(Exception):
    """A worker whose work is not done yet (functions/queue.py RetryLater)."""


@dataclass
class Work:
    message: QueueMessage
    attempts: int = 1
    visible_at: datetime | None = None


@dataclass
class Round:
    org: str
    kind: str
    owner: str
    ran: bool  # a round ran (False: not linked, or sync off)


@dataclass
class Host:
    svc: Services
    queues: FakeQueues
    clock: Clock
    retrying: list[Work] = field(default_factory=list)
    poisoned: list[QueueMessage] = field(default_factory=list)
    killed: list[QueueMessage] = field(default_factory=list)
    rounds: list[Round] = field(default_factory=list)
    to_kill: dict[str, int] = field(default_factory=dict)
    observers: list[Callable[[Round], None]] = field(default_factory=list)  # told of each round, as it ends
    handled: int = 0

    @property
    def max_dequeue_count(self) -> int:
        return self.svc.settings.max_dequeue_count

    def kill(self, queue: str) -> None:
        self.to_kill[queue] = self.to_kill.get(queue, 0) + 1

    def idle(self) -> bool:
        return not self.queues.sent and not self.retrying

    async def pump(self, *, limit: int = 2000) -> int:
        """Run every message until the queues are empty (moving time to delayed ones)."""
        ran = 0
        while True:
            now = self.clock.now()
            batch = [Work(m) for m in self.queues.take()]
            due = [w for w in self.retrying if w.visible_at is not None and w.visible_at <= now]
            self.retrying = [w for w in self.retrying if w not in due]
            batch += due
            if not batch:
                waiting = [s.visible_at for s in self.queues.sent] + [
                    w.visible_at for w in self.retrying if w.visible_at
                ]
                if not waiting:
                    return ran
                self.clock.advance_to(min(waiting))
                continue
            for work in batch:
                ran += 1
                if ran > limit:
                    raise AssertionError(f"the queues did not drain after {limit} messages: {work.message}")
                await self._run(work)

    async def _run(self, work: Work) -> None:
        queue = work.message.QUEUE
        if self.to_kill.get(queue):
            self.to_kill[queue] -= 1
            self.killed.append(work.message)
            return
        final = work.attempts >= self.max_dequeue_count
        self.handled += 1
        try:
            await self._dispatch(work.message, final)
        except (CalsyncError, RetryLater):
            if final:
                self.poisoned.append(work.message)
            else:
                when = self.clock.now() + timedelta(seconds=VISIBILITY_S)
                self.retrying.append(Work(work.message, work.attempts + 1, when))

    async def _dispatch(self, message: Any, final: bool) -> None:
        svc = self.svc
        if isinstance(message, MailboxSync):
            result = await mailbox_rounds.run(
                svc, message.org, message.kind, message.owner, notified_at=message.at, marked=message.marked
            )
            done = Round(message.org, message.kind, message.owner, result is not None)
            self.rounds.append(done)
            for observe in self.observers:
                observe(done)
        elif isinstance(message, MailboxSyncBatch):
            for owner, ran in (await reconcile_rounds.run_batch(svc, message)).items():
                if ran is not None:  # a failed one is queued again on its own
                    done = Round(message.org, message.kind, owner, ran)
                    self.rounds.append(done)
                    for observe in self.observers:
                        observe(done)
        elif isinstance(message, WebhookDelivery):
            await webhooks.deliver(svc, message.org, message.attempt)
        elif isinstance(message, AppointmentRetry):
            done = await appointments.retry(svc, message.org, message.appointment, final=final)
            if not done and not final:
                raise RetryLater(message.appointment)
        elif isinstance(message, RenewSubscription):
            await maintenance.renew(svc, message.subscription_id, final=final)
        elif isinstance(message, SubscriptionLifecycle):
            await maintenance.lifecycle(svc, message, final=final)
        elif isinstance(message, OrgReconcile):
            await maintenance.reconcile_org(svc, message.org)
        else:
            raise NotImplementedError(f"the model's host does not run {type(message).__name__}")
