"""Booking → Outlook, the pure part: what should exist in which calendar, and what to do.

`plan()` takes the appointment as the booking product wants it, the links of the people
and rooms it names, and the targets we stored last time; it returns small action objects
and does no I/O. The imperative shell (`shared.service.push`) carries them out.

Targets: with `useOrganizer` (the default) one meeting in the organizer's calendar whose
linked attendees, guests and rooms Exchange invites (role `organizer`); otherwise — or
when the organizer is not linked — one copy in each linked worker's calendar (`copy`) and
each linked resource's calendar (`resource`), with no invitations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from shared.core.mapping import (
    FIELDS,
    GRAPH_FIELDS,
    PROPERTY_ID,
    Desired,
    attendee,
    event_body,
    property_value,
    same,
    transaction_id,
    written_content,
)
from shared.core.timezones import to_utc, windows_name

__all__ = [
    "Action",
    "Create",
    "Delete",
    "Desired",
    "Keep",
    "Mailbox",
    "Occurrences",
    "Skip",
    "Stored",
    "Update",
    "occurrence_patch",
    "plan",
]


@dataclass(frozen=True)
class Mailbox:
    """A worker or resource as the planner sees its link."""

    kind: str  # worker | resource
    id: str
    user_id: str | None
    address: str | None
    display_name: str = ""

    @property
    def linked(self) -> bool:
        return self.user_id is not None


@dataclass(frozen=True)
class Stored:
    """A target as stored after the last sync."""

    mailbox: str
    role: str
    event_id: str | None
    written: dict[str, Any]
    state: str  # pending | synced | failed | deleted | deleted_in_outlook
    generation: int = 0
    occurrences: dict[str, dict[str, Any]] = field(default_factory=dict)  # date → what we wrote
    # What Outlook holds, as the last delta round saw it (normalized); None when unknown.
    observed: dict[str, Any] | None = None
    # Graph fields a PUT sent that Graph has not confirmed yet: written again whatever
    # `written` says (a PUT that re-asserted a field Outlook had changed, then was held up).
    reassert: tuple[str, ...] = ()
    renew: bool = False  # make the event again (oneWay: an occurrence cancelled in Outlook)


@dataclass(frozen=True)
class Create:
    mailbox: str
    address: str
    role: str
    owner_kind: str
    owner_id: str
    event: dict[str, Any]
    transaction_id: str
    generation: int
    maybe_exists: bool  # a previous create may have reached Graph: look it up first


@dataclass(frozen=True)
class Update:
    mailbox: str
    role: str
    event_id: str
    patch: dict[str, Any]
    event: dict[str, Any]


@dataclass(frozen=True)
class Delete:
    mailbox: str
    role: str
    event_id: str | None  # None: a create that may have reached Graph; find it by property


@dataclass(frozen=True)
class Keep:
    mailbox: str
    role: str
    event_id: str


@dataclass(frozen=True)
class Occurrences:
    """A series' exceptions to write after its master, in date order: (original date, its
    original start in UTC — how Graph's `originalStart` names it —, the override: changed
    Graph fields, or {"cancelled": True})."""

    mailbox: str
    changes: tuple[tuple[str, datetime, dict[str, Any]], ...]
    # What to remember as written for a date, where that is not the patch: an occurrence put
    # back (oneWay) is remembered as the booking's own exception, or not at all (None).
    record: dict[str, dict[str, Any] | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Skip:
    kind: str
    id: str
    role: str
    reason: str  # not_linked


Action = Create | Update | Delete | Keep | Occurrences | Skip


def desired_targets(
    desired: Desired, use_organizer: bool, mailboxes: dict[tuple[str, str], Mailbox]
) -> tuple[dict[str, tuple[Mailbox, str, dict[str, Any]]], list[Skip]]:
    """mailbox user id → (mailbox, role, event body), plus what is skipped and why."""
    skips: list[Skip] = []
    if desired.deleted or not desired.push:
        return {}, skips

    def look(kind: str, ident: str, role: str) -> Mailbox | None:
        box = mailboxes.get((kind, ident))
        if box is None or not box.linked:
            skips.append(Skip(kind, ident, role, "not_linked"))
            return None
        return box

    people = list(dict.fromkeys(([desired.organizer] if desired.organizer else []) + list(desired.attendees)))
    organizer = mailboxes.get(("worker", desired.organizer)) if desired.organizer else None
    rooms = [r for r in desired.resources]
    targets: dict[str, tuple[Mailbox, str, dict[str, Any]]] = {}
    if use_organizer and organizer is not None and organizer.linked:
        attendees: list[dict[str, Any]] = []
        for worker in desired.attendees:
            if worker == desired.organizer:
                continue
            box = look("worker", worker, "attendee")
            if box is not None and box.user_id != organizer.user_id:
                attendees.append(attendee(box.address or "", box.display_name, "required"))
        attendees += [attendee(g, g, "required") for g in desired.guests]
        room_names = []
        for resource in rooms:
            box = look("resource", resource, "resource")
            if box is not None:
                attendees.append(attendee(box.address or "", box.display_name, "resource"))
                room_names.append(box.display_name or box.address or "")
        location = desired.location or "; ".join(room_names)
        targets[organizer.user_id or ""] = (
            organizer,
            "organizer",
            event_body(desired, "organizer", attendees, location),
        )
        return targets, skips
    for worker in people:
        box = look("worker", worker, "organizer" if worker == desired.organizer else "attendee")
        if box is not None and box.user_id not in targets:
            targets[box.user_id or ""] = (box, "copy", event_body(desired, "copy", [], desired.location))
    for resource in rooms:
        box = look("resource", resource, "resource")
        if box is not None and box.user_id not in targets:
            targets[box.user_id or ""] = (
                box,
                "resource",
                event_body(desired, "resource", [], desired.location or box.display_name),
            )
    return targets, skips


def plan(
    desired: Desired,
    use_organizer: bool,
    mailboxes: dict[tuple[str, str], Mailbox],
    stored: list[Stored],
    *,
    reassert: bool = False,
) -> list[Action]:
    """`reassert`: the booking product's word (a PUT): Outlook must hold this version again —
    fields changed in Outlook are written back (by `observed`), an event deleted there is
    made again. Otherwise (a retry) only what the booking product changed is written."""
    wanted, actions = desired_targets(desired, use_organizer, mailboxes)
    have = {s.mailbox: s for s in stored if s.state != "deleted" or s.event_id}
    generations = {s.mailbox: s.generation for s in stored}
    value = property_value(desired.org, desired.appointment)
    for user_id, (box, role, event) in wanted.items():
        current = have.get(user_id)
        if current is not None and current.state == "deleted_in_outlook" and not reassert:
            continue  # Outlook's deletion stands until the booking product says otherwise
        series = "recurrence" in event
        was_series = current is not None and current.written.get("recurrence") is not None
        renew = current is not None and current.renew
        if current is not None and current.event_id and current.role == role and series == was_series and not renew:
            force = set(current.reassert) | (outlook_edits(current.observed, event) if reassert else set())
            patch = {k: v for k, v in event.items() if k in force or not same(k, current.written.get(k), v)}
            if patch:
                actions.append(Update(user_id, role, current.event_id, patch, event))
            else:
                actions.append(Keep(user_id, role, current.event_id))
            # A new pattern or time makes Outlook drop the series' exceptions: write them again.
            fresh = bool({"recurrence", "start", "end"} & set(patch))
            actions += _occurrences(desired, user_id, {} if fresh else current.occurrences, event)
            continue
        if current is not None and current.event_id and (current.role != role or series != was_series or renew):
            # Organizer meeting ↔ plain copy, series ↔ single, a series Outlook cut an
            # occurrence from (oneWay): replace the event, don't mutate it.
            actions.append(Delete(user_id, current.role, current.event_id))
            generation = current.generation + 1
            maybe = False
        else:
            generation = generations.get(user_id, 0)
            maybe = current is not None and current.state in ("pending", "failed") and current.event_id is None
        full = {
            **event,
            "transactionId": transaction_id(desired.org, desired.appointment, user_id, generation),
            "singleValueExtendedProperties": [{"id": PROPERTY_ID, "value": value}],
        }
        actions.append(
            Create(user_id, box.address or "", role, box.kind, box.id, full, full["transactionId"], generation, maybe)
        )
        actions += _occurrences(desired, user_id, {}, event)
    for user_id, current in have.items():
        # A pending or failed create may have reached Graph (its answer lost): found by our property.
        if user_id not in wanted and (current.event_id or current.state in ("pending", "failed")):
            actions.append(Delete(user_id, current.role, current.event_id))
    return actions


def outlook_edits(observed: dict[str, Any] | None, event: dict[str, Any]) -> set[str]:
    """The Graph fields of `event` that Outlook holds otherwise (`observed`, normalized)."""
    if not observed:
        return set()
    want = written_content(event)
    return {GRAPH_FIELDS[f] for f in FIELDS if f in observed and observed[f] != want[f] and GRAPH_FIELDS[f] in event}


def occurrence_patch(desired: Desired, override: dict[str, Any]) -> dict[str, Any]:
    """An exception as the booking product sent it (`title`, `start`, `end`, `location`,
    `body`; or `cancelled`) → what we write to that occurrence."""
    if override.get("cancelled"):
        return {"cancelled": True}
    tz = windows_name(desired.time_zone)
    patch: dict[str, Any] = {}
    for key, value in override.items():
        if key in ("start", "end"):
            patch[key] = {"dateTime": value, "timeZone": tz}
        elif key == "location":
            patch["location"] = {"displayName": value}
        elif key == "body":
            patch["body"] = {"contentType": "text", "content": value}
        elif key == "title":
            patch["subject"] = value
    return patch


def _occurrences(
    desired: Desired, mailbox: str, written: dict[str, dict[str, Any]], event: dict[str, Any]
) -> list[Action]:
    """The exceptions this target still needs (a meeting's go to the organizer's series only:
    Exchange updates the attendees' and rooms' copies), and the occurrences to put back as
    the series and the booking have them (`{"restore": True}` in `written`, oneWay)."""
    if desired.recurrence is None:
        return []
    first = datetime.fromisoformat(desired.start)
    length = datetime.fromisoformat(desired.end) - first
    restore = {day for day, w in written.items() if w.get("restore")}
    changes, record = [], {}
    for day in sorted(set(desired.occurrences) | restore):
        override = desired.occurrences.get(day)
        own = occurrence_patch(desired, override) if override is not None else None
        patch = own
        if day in restore and not (override or {}).get("cancelled"):
            start = datetime.combine(date.fromisoformat(day), first.time())
            series = {
                "title": event["subject"],
                "body": event["body"]["content"],
                "location": event["location"]["displayName"],  # a meeting's: its rooms' names
                "start": start.isoformat(),
                "end": (start + length).isoformat(),
            }
            patch, record[day] = occurrence_patch(desired, {**series, **(override or {})}), own
        if patch is not None and written.get(day) != patch:
            original = to_utc(datetime.combine(date.fromisoformat(day), first.time()), desired.time_zone)
            changes.append((day, original, patch))
    return [Occurrences(mailbox, tuple(changes), record)] if changes else []
