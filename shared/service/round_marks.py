"""Coalescing notifications: one queued round per mailbox, however many notifications arrive.

A notification for a mailbox whose round is queued and has not yet started reading the delta
needs no message of its own: that round's delta read will see its change, since Graph
notifies after the change is made. Safe across instances because the mark lives in the
table, not in a process:

- a notification finds the mark (a conditional insert that fails, or a read); a fresh one
  (younger than STALE) means "already asked"; otherwise it writes the mark (conditionally,
  so two notifications racing send at most one message more) and then sends a message
  that says it carries the mark;
- that message's round deletes the mark *before* it reads the delta, so a notification that
  arrives while the round runs finds no mark and queues one more round.

The only unsafe state is a mark with no message behind it; the mark is written before the
message and removed again if the send fails, and a mark older than STALE (its message lost,
or stuck behind a long queue) is ignored. The reconcile timer is the last backstop.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from datetime import timedelta

from shared.adapters.inbound_records import QueuedRound
from shared.adapters.messages import MailboxSync
from shared.core.errors import ConcurrencyConflict
from shared.service.ports import Services

log = logging.getLogger("calsync.notifications")

# Longer than a queued message normally waits to start; a mark this old no longer holds
# notifications back (at worst one round more).
STALE = timedelta(minutes=5)
# Which order of table operations is likely cheapest: mailboxes this process saw marked
# (read first) or not (insert first). A wrong guess costs one operation, never correctness.
HINTS = 20_000
_marked_here: OrderedDict[tuple[str, str, str], None] = OrderedDict()


async def ask(services: Services, message: MailboxSync) -> bool:
    """Queue `message`'s round unless one is already queued and not started; True if sent."""
    store, now = services.store, services.clock.now()
    key = _key(message.org, message.kind, message.owner)
    hint = (message.org, message.kind, message.owner)
    mark: QueuedRound | None = None
    if hint in _marked_here:  # likely marked: one read decides (a rush on one mailbox)
        mark = await store.get(QueuedRound, **key)
        if mark is not None and now - mark.queued_at < STALE:
            return False
    try:
        if mark is None:  # likely unmarked: one conditional insert decides (a rush over many)
            mark = await store.insert(QueuedRound(**key, queued_at=now))
        else:
            mark.queued_at = now
            mark = await store.update(mark)
    except ConcurrencyConflict:
        # Marked meanwhile (then its message covers ours), or a round removed a stale mark
        # meanwhile (then ours must still be sent).
        mark = await store.get(QueuedRound, **key)
        if mark is not None and now - mark.queued_at < STALE:
            _remember(hint)
            return False
        mark = await store.upsert(QueuedRound(**key, queued_at=now))
    try:
        await services.queues.send(dataclasses.replace(message, marked=True))
    except Exception:
        await _drop(services, mark)  # no message behind the mark: it must not hold anything back
        raise
    _remember(hint)
    return True


async def started(services: Services, org: str, kind: str, owner: str) -> None:
    """A marked round is about to read the delta: notifications from now on queue another."""
    _marked_here.pop((org, kind, owner), None)
    await services.store.delete_key(QueuedRound, **_key(org, kind, owner))


def _remember(hint: tuple[str, str, str]) -> None:
    _marked_here[hint] = None
    _marked_here.move_to_end(hint)
    while len(_marked_here) > HINTS:
        _marked_here.popitem(last=False)


def _key(org: str, kind: str, owner: str) -> dict[str, str]:
    return {"org": org, "owner_kind": kind, "owner_id": owner, "kind": "queued"}


async def _drop(services: Services, mark: QueuedRound) -> None:
    try:
        await services.store.delete(mark)
    except Exception:
        log.warning("could not remove the round mark after a failed send", exc_info=True)
