"""The Outlook → booking planner's inputs and output (shared.core.inbound): what was seen,
what is known of each event, the mailbox, and the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.core.changes import NewChange


@dataclass(frozen=True)
class Seen:
    """Snapshot of a mapped event as last seen (or written) in this mailbox."""

    event_id: str
    appointment: str
    role: str  # ours | created | copy
    change_key: str | None
    content: dict[str, Any]


@dataclass(frozen=True)
class Known:
    """What the shell found about one event before planning."""

    ours: str | None = None  # appointment, when the event is one we wrote (EventRef)
    meeting: str | None = None  # appointment, when the event is a copy of our meeting (iCalUId)
    bases: tuple[dict[str, Any], ...] = ()  # what we wrote / what the booking wants now
    retiring: bool = False  # we are deleting it ourselves (appointment deleted, push off, moved)
    foreign: bool = False  # calsync wrote it for another org (same tenant): never reported here
    # Our earlier writes of it by the changeKey Graph answered: an item with one of those keys
    # and that content is our own older version, read before our latest write.
    earlier: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Ours: when Graph says our last write changed it (its answer's lastModifiedDateTime). An
    # item last modified before that was read before our write: where it shows one of our
    # earlier writes (under another changeKey: an attendee's answer came after it), it is that.
    written_at: str | None = None
    # A meeting made in Outlook that this mailbox's copy reports (it claimed the meeting).
    outlook: str | None = None
    # Ours: how many writes of ours Graph has confirmed on this target. A snapshot taken
    # with the same count saw Outlook after our last write: what it saw was reported then.
    writes: int | None = None


@dataclass(frozen=True)
class Mailbox:
    org: str
    owner_kind: str  # worker | resource
    owner_id: str
    user_id: str
    restricted: bool = False


@dataclass
class Plan:
    changes: list[NewChange] = field(default_factory=list)
    held: list[NewChange] = field(default_factory=list)
    upsert: list[Seen] = field(default_factory=list)
    forget: list[str] = field(default_factory=list)  # event ids whose snapshot goes
    restore: list[tuple[str, bool]] = field(default_factory=list)  # oneWay: (appointment, deleted)
    restore_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)  # what Outlook changed (edits)
    # The event each restore is for: done again (another round finishing the staged work), it
    # must not take the event the first restore's push made for the one Outlook deleted.
    restore_events: dict[str, str] = field(default_factory=dict)
    # Our events deleted in Outlook: (appointment, event id). Their targets say so
    # (`deleted_in_outlook`), not `synced`, until the booking product's next PUT makes them again.
    lost: list[tuple[str, str]] = field(default_factory=list)
    # oneWay: occurrences of our series changed in Outlook, to put back: appointment →
    # {original date: deleted}. An edited one is written again; a cancelled one cannot come
    # back in Graph, so its series is made again.
    restore_occurrences: dict[str, dict[str, bool]] = field(default_factory=dict)
    # Answers of attendees and rooms to our meetings: appointment → {address: response}.
    responses: dict[str, dict[str, str]] = field(default_factory=dict)
    # Meetings made in Outlook this round reports first: iCalUId → appointment. Claimed
    # before the commit, so another mailbox's copy of the meeting is only a copy.
    claims: dict[str, str] = field(default_factory=dict)
    # Items not reported because they hold nothing new: our own writes coming back (the
    # content we wrote, or the changeKey we stored), or a stale read of an earlier write.
    echoes: int = 0


def who(box: Mailbox) -> dict[str, str]:
    return {box.owner_kind: box.owner_id}
