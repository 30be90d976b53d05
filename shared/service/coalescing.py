"""Coalescing notifications where their messages are read.

An acknowledgement queues a message for every notification (shared.service.notifications);
most need no round of their own. A message's notification arrived at `notified_at`; a round
of its mailbox that *began reading the delta* after that saw its change, because Graph
notifies after the change is made. So a message is covered — dropped without a Graph call —
when the last finished round of its mailbox began after it: known in this process, or from
the link's stamp (`round_began_at`), whichever instance ran the round.

Arrival and beginning are stamped by different instances' clocks: CLOCK_MARGIN is for
their skew. A round that began within it of the notification does not cover it (a round
more). Should two instances' clocks differ by more than the margin, a round that began just
before a notification could count as after it: that change would wait for the mailbox's
next round (its next notification, or the reconcile pass within 15 minutes), still never be
lost. Only a finished round counts: one that failed covers nothing.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

CLOCK_MARGIN = timedelta(seconds=2)
BEGAN_HERE = 20_000  # mailboxes whose last round's beginning this process remembers

_began: OrderedDict[tuple[str, str, str], datetime] = OrderedDict()


def covered(began: datetime | None, notified_at: datetime | None) -> bool:
    return began is not None and notified_at is not None and began >= notified_at + CLOCK_MARGIN


def began_here(key: tuple[str, str, str]) -> datetime | None:
    """When the last round of the mailbox that finished in this process began."""
    return _began.get(key)


def remember_began(key: tuple[str, str, str], began: datetime) -> None:
    if key not in _began or _began[key] < began:
        _began[key] = began
    _began.move_to_end(key)
    while len(_began) > BEGAN_HERE:
        _began.popitem(last=False)
