"""The reference model: what the booking product holds, and what should be true.

Deliberately simple and written from the documentation (docs/api.md), not from the code:
- `Booked`: one appointment as the booking product holds it (its own writes plus the feed's
  changes it applied).
- `Truth`: per field, the value(s) the appointment should have once every Outlook change has
  been reported — the last writer wins, field by field; an Outlook edit and a booking edit of
  the same field made while sync was off may go either way.
- `Edit`: an Outlook change to one of our events that no delta round has seen yet.
- `targets()`: which calendars hold the appointment (organizer meeting, or copies).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tests.model.world import address

EDITABLE = ("title", "start", "end")  # what people change in Outlook
LinkKey = tuple[str, str]  # (worker | resource, id)


@dataclass(frozen=True)
class Booked:
    org: str
    id: str
    title: str
    start: datetime
    end: datetime
    tz: str = "UTC"
    organizer: str | None = None
    attendees: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    location: str = ""
    body: str = ""
    push: bool = True
    deleted: bool = False

    @property
    def live(self) -> bool:
        return self.push and not self.deleted

    def request(self) -> dict[str, Any]:
        """The PUT body the booking product sends."""
        return {
            "title": self.title,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "timeZone": self.tz,
            "organizer": self.organizer,
            "attendees": list(self.attendees),
            "resources": list(self.resources),
            "location": self.location,
            "body": self.body,
            "push": self.push,
        }

    def with_fields(self, **values: Any) -> Booked:
        return replace(self, **values)


@dataclass
class Truth:
    values: dict[str, set[Any]]
    stamp: dict[str, int]  # step of the booking's last write of the field
    off_written: set[str] = field(default_factory=set)  # written by the booking while sync was off
    deleted: bool = False

    @classmethod
    def of(cls, booked: Booked, step: int) -> Truth:
        return cls({f: {getattr(booked, f)} for f in EDITABLE}, dict.fromkeys(EDITABLE, step))


@dataclass
class Edit:
    org: str
    appointment: str
    mailbox: str
    role: str  # the target's role there: organizer | copy | resource
    fields: dict[str, Any]
    delete: bool
    step: int
    seq: int  # the mailbox's change number right after the edit
    during_off: bool


@dataclass
class Minted:
    """An appointment the feed made from an Outlook event (`created`)."""

    mailbox: str | None  # the calendar that reports it (None: handed over, to a calendar not named yet)
    event_id: str
    title: str
    start: datetime
    end: datetime
    live: bool = True
    handed_over: bool = False  # its first calendar left the meeting; another reports it


@dataclass
class Synced:
    """What calsync was asked for at the appointment's last sync: the links and the mode."""

    links: dict[LinkKey, str | None]
    use_organizer: bool
    booked: Booked | None = None


def rewrites(old: Booked, new: Booked, role: str, links: dict[LinkKey, str | None], accounts: dict[str, str]) -> bool:
    """Whether syncing `new` after `old` writes the event of a target with this role (a PATCH:
    for an event deleted in Outlook meanwhile, "the booking product's update brings it back",
    shared/service/push.py)."""
    fields = ("title", "start", "end", "tz", "location", "body")
    if any(getattr(old, f) != getattr(new, f) for f in fields):
        return True
    return role == "organizer" and invitees(old, links, accounts) != invitees(new, links, accounts)


def targets(booked: Booked, links: dict[LinkKey, str | None], use_organizer: bool) -> dict[str, str]:
    """mailbox → role of the calendars that hold the appointment (docs/api.md, PUT appointment)."""
    if not booked.live:
        return {}
    organizer = links.get(("worker", booked.organizer)) if booked.organizer else None
    if use_organizer and organizer:
        return {organizer: "organizer"}
    out: dict[str, str] = {}
    people = [booked.organizer] if booked.organizer else []
    for worker in [*people, *booked.attendees]:
        box = links.get(("worker", worker))
        if box and box not in out:
            out[box] = "copy"
    for resource in booked.resources:
        box = links.get(("resource", resource))
        if box and box not in out:
            out[box] = "resource"
    return out


def invitees(booked: Booked, links: dict[LinkKey, str | None], accounts: dict[str, str]) -> set[tuple[str, str]]:
    """(address, type) of the organizer meeting's attendees: linked workers and resources."""
    organizer = links.get(("worker", booked.organizer)) if booked.organizer else None
    out: set[tuple[str, str]] = set()
    for worker in booked.attendees:
        box = links.get(("worker", worker))
        if box and box != organizer:
            out.add((address(accounts[box]), "required"))
    for resource in booked.resources:
        box = links.get(("resource", resource))
        if box:
            out.add((address(accounts[box]), "resource"))
    return out
