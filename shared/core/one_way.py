"""oneWay, the pure part: which of a round's Outlook changes to our events calsync undoes.

In `oneWay` the booking product is the only source: our events edited or deleted in
Outlook get the booking's version back, and the booking product hears only that they did
(`restored`). An edit is undone field by field (what Outlook did not touch, attendees'
answers above all, is not sent again). One occurrence of our series edited in Outlook is
written back as the series (and the booking's exception) has it; one cancelled cannot come
back in Graph, so its series is made again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.core.changes import NewChange

UNDONE = ("updated", "deleted", "attendee_removed")
OCCURRENCE = ("occurrence_updated", "occurrence_deleted")


@dataclass
class Restores:
    restore: list[tuple[str, bool]] = field(default_factory=list)  # (appointment, deleted)
    fields: dict[str, tuple[str, ...]] = field(default_factory=dict)  # what Outlook changed (edits)
    events: dict[str, str] = field(default_factory=dict)  # appointment → the event Outlook changed
    occurrences: dict[str, dict[str, bool]] = field(default_factory=dict)  # appointment → {date: deleted}
    reported: list[NewChange] = field(default_factory=list)  # the `restored` changes


def restores(changes: list[NewChange], ours: set[str], our_series: dict[str, str | None]) -> Restores:
    """`changes`: the round's changes (held ones included); `ours`: event ids of our events
    and series masters; `our_series`: appointment → master event id (None: not one known), of
    series that are ours."""
    out = Restores()
    wanted = [c for c in changes if c.type in UNDONE and c.appointment and c.event_id in ours]
    whole = {c.appointment or "": c.type != "updated" for c in wanted}
    out.restore = sorted(whole.items())
    for c in wanted:
        fields = tuple(c.data.get("changed") or ()) if c.type == "updated" else ()
        out.fields[c.appointment or ""] = fields
        if c.event_id:
            out.events[c.appointment or ""] = c.event_id
        out.reported.append(_restored(c, c.type != "updated", fields))
    for c in changes:
        if c.type not in OCCURRENCE or c.appointment not in our_series or c.appointment in whole:
            continue  # not ours, or the whole series is put back already
        deleted = c.type == "occurrence_deleted"
        out.occurrences.setdefault(c.appointment or "", {})[c.data["occurrence"]] = deleted
        if master := our_series[c.appointment or ""]:
            out.events[c.appointment or ""] = master
        fields = () if deleted else tuple(c.data.get("changed") or ())
        out.reported.append(_restored(c, deleted, fields, c.data["occurrence"]))
    return out


def _restored(c: NewChange, deleted: bool, fields: tuple[str, ...], occurrence: str | None = None) -> NewChange:
    data: dict[str, Any] = {"deleted": deleted, "changed": list(fields)}
    if occurrence is not None:
        data["occurrence"] = occurrence
    who = {"worker": c.worker, "resource": c.resource}
    return NewChange("restored", c.appointment, mailbox=c.mailbox, event_id=c.event_id, data=data, **who)
