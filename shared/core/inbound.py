"""Outlook → booking, the pure part: a mailbox's delta items in, feed changes out.

`plan()` sees one delta round of one mailbox, what we know about each event (our own
write, a copy of our meeting, an event minted from Outlook), the org's policies, and the
snapshot of what we saw last time. It decides which changes the booking product hears of.

- Echo suppression: an event whose changeKey is the one we saw last (our own write
  included) is skipped; for our events a field counts as changed in Outlook only if it
  matches neither what we last wrote nor what the booking product wants now.
- Deletions of our events are ignored while we are deleting them ourselves.
- The mass-deletion guard holds a round's deletions when they are too many.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.core.changes import NewChange
from shared.core.inbound_series import Series, occurrence_changes, series_content
from shared.core.mapping import FIELDS, meeting_id, minted_id, normalize, values
from shared.core.one_way import restores
from shared.core.org_settings import OrgSettings, RestrictedPolicy, SyncMode

GUARD_MIN_DELETIONS = 20
GUARD_SHARE = 0.5


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
    # A meeting made in Outlook that this mailbox's copy reports (it claimed the meeting).
    outlook: str | None = None


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


def _who(box: Mailbox) -> dict[str, str]:
    return {box.owner_kind: box.owner_id}


def plan(
    box: Mailbox,
    items: list[dict[str, Any]],
    known: dict[str, Known],
    seen: dict[str, Seen],
    settings: OrgSettings,
    *,
    full_round: bool,
    people: dict[str, tuple[str, str]],
    mapped: int | None = None,
    left_window: frozenset[str] = frozenset(),
    series: tuple[Series, ...] = (),
    series_known: dict[str, Known] | None = None,
) -> Plan:
    """`people`: lower-cased address → (kind, id) of the org's linked workers and resources.
    `mapped`: how many mapped events the mailbox has (default: those in `seen`, which is
    complete on a full round). `left_window`: events a full round does not list because
    they now lie outside its window — not deleted. `series`: the round's recurring series
    (their items are not in `items`), with `series_known` by master id."""
    out = Plan()
    series_known = series_known or {}
    deletions: list[NewChange] = []
    present: set[str] = set()

    def change(kind: str, appointment: str | None, event_id: str, data: dict[str, Any] | None = None) -> NewChange:
        """A change seen in this mailbox, attributed to its worker or resource."""
        return NewChange(kind, appointment, mailbox=box.user_id, event_id=event_id, data=data or {}, **_who(box))

    # A new copy, under a new event id, of a meeting this mailbox reports (a room declined a
    # move, then accepted the next one): the same appointment; its old copy is superseded.
    replaced: dict[str, Seen] = {}
    for item in items:
        k = known.get(item["id"], Known())
        if "@removed" in item or not k.outlook or item["id"] in seen:
            continue
        old = next(
            (
                s
                for s in seen.values()
                if s.appointment == k.outlook and s.role == "created" and s.event_id != item["id"]
            ),
            None,
        )
        if old is not None:
            replaced[item["id"]] = old
    superseded = {s.event_id for s in replaced.values()}

    def delete(event_id: str, appointment: str, role: str, k: Known) -> None:
        out.forget.append(event_id)
        if k.retiring or role == "copy" or event_id in superseded:
            return  # our own delete, or an attendee's copy going away: not the appointment's
        if role == "ours":
            out.lost.append((appointment, event_id))
        if box.restricted and box.owner_kind == "worker":
            if settings.restricted_delete is RestrictedPolicy.DETACH:
                deletions.append(change("attendee_removed", appointment, event_id, {"reason": "deleted_in_outlook"}))
            return
        deletions.append(change("deleted", appointment, event_id))

    for item in items:
        event_id = item["id"]
        present.add(event_id)
        k = known.get(event_id, Known())
        if k.foreign:
            continue  # another org's booking in a shared mailbox: its details are not ours
        prior = seen.get(event_id) or replaced.get(event_id)
        appointment = k.ours or (prior.appointment if prior else None) or k.meeting
        role = "ours" if k.ours else (prior.role if prior else ("copy" if k.meeting else None))
        if k.outlook and prior is None:
            appointment = None  # claimed by this mailbox, never reported (a round that did not finish)
        elif k.outlook and prior is not None and prior.role == "copy":
            role = "created"  # the meeting's claim was handed to this mailbox's copy
        if "@removed" in item:
            if appointment and role:
                delete(event_id, appointment, role, k)
            continue
        if prior is not None and prior.change_key and prior.change_key == item.get("changeKey"):
            continue  # nothing new (our own write included)
        content = normalize(item)
        older = k.earlier.get(item.get("changeKey") or "")
        if older is not None and all(content[f] == older.get(f) for f in FIELDS):
            continue  # a stale read of an earlier write of ours
        if appointment is None:
            if box.owner_kind == "resource" and people.get(content["organizer"], ("", ""))[0] == "worker":
                continue  # a linked worker's meeting: the organizer's copy reports it (below), with its subject
            created = _maybe_create(box, event_id, content, settings, people)
            if created is not None:
                out.changes.append(created)
                if content["iCalUId"] and not k.outlook:
                    out.claims[content["iCalUId"]] = created.appointment or ""
                out.upsert.append(Seen(event_id, created.appointment or "", "created", item.get("changeKey"), content))
            continue
        if role == "copy":
            out.upsert.append(Seen(event_id, appointment, "copy", item.get("changeKey"), content))
            continue
        if content["isCancelled"]:
            delete(event_id, appointment, role or "ours", k)
            continue
        bases = list(k.bases) + ([prior.content] if prior and role == "created" else [])
        changed = [f for f in FIELDS if bases and all(content[f] != b.get(f) for b in bases)]
        if role == "ours":
            _answers(out, box, appointment, event_id, content, prior.content if prior else {}, people)
        out.upsert.append(Seen(event_id, appointment, role or "ours", item.get("changeKey"), content))
        if not changed:
            continue
        if box.restricted and box.owner_kind == "worker" and role == "ours":
            if settings.restricted_edit is RestrictedPolicy.DETACH:
                personal = minted_id(box.user_id, event_id)
                out.changes.append(change("attendee_removed", appointment, event_id, {"reason": "edited_in_outlook"}))
                out.changes.append(
                    change("created", personal, event_id, {**values(content), "detachedFrom": appointment})
                )
                out.upsert[-1] = Seen(event_id, personal, "created", item.get("changeKey"), content)
            continue
        out.changes.append(change("updated", appointment, event_id, {**values(content), "changed": changed}))

    for one in series:
        _plan_series(box, one, series_known.get(one.master_id, Known()), seen, settings, people, out, deletions)

    if full_round:
        # A fresh round lists everything in the window: what we saw before and is gone was deleted.
        for event_id, prior in seen.items():
            if prior.content.get("series"):
                continue  # an occurrence: its series decides (shared.core.inbound_series)
            if event_id not in present and event_id not in left_window and prior.role in ("ours", "created"):
                delete(event_id, prior.appointment, prior.role, known.get(event_id, Known()))

    if mapped is None:
        mapped = sum(1 for s in seen.values() if s.role in ("ours", "created") and not s.content.get("series"))
    if len(deletions) > GUARD_MIN_DELETIONS and len(deletions) > GUARD_SHARE * max(mapped, 1):
        out.held = deletions
    else:
        out.changes.extend(deletions)
    mode = settings.sync_mode
    restored: list[NewChange] = []
    if mode is SyncMode.ONE_WAY:
        ours = {e for e, k in [*known.items(), *series_known.items()] if k.ours}
        undo = restores(out.changes + out.held, ours, {k.ours for k in series_known.values() if k.ours})
        out.restore, out.restore_fields, out.restore_occurrences = undo.restore, undo.fields, undo.occurrences
        restored = undo.reported
    if mode is not SyncMode.TWO_WAY:
        # oneWay/off: Outlook changes are not reported (state is kept); oneWay's restores are.
        # An event made in Outlook meanwhile is not remembered as reported: back in twoWay it
        # is `created` first, never an `updated` of what the booking product never heard of.
        out.changes, out.held = restored, []
        out.upsert = [s for s in out.upsert if s.role != "created"]
        out.claims = {}
    return out


def _maybe_create(
    box: Mailbox,
    event_id: str,
    content: dict[str, Any],
    settings: OrgSettings,
    people: dict[str, tuple[str, str]],
) -> NewChange | None:
    if content["isCancelled"] or not settings.create_from_outlook:
        return None
    # A worker's own events (not invitations from others) with the prefix or with a linked
    # room or resource booked; any reservation on a room.
    booked = any(people.get(a, ("", ""))[0] == "resource" for a in content["attendees"])
    mine = content["isOrganizer"] and (content["title"].startswith(settings.create_prefix) or booked)
    if box.owner_kind == "worker" and not mine:
        return None
    # One appointment per meeting, whichever copy is seen first: its linked people, by kind.
    named: dict[str, set[str]] = {"worker": set(), "resource": set()}
    named[box.owner_kind].add(box.owner_id)
    for address in (content["organizer"], *content["attendees"]):
        if address in people:
            kind, ident = people[address]
            named[kind].add(ident)
    data = {
        **values(content),
        "organizer": content["organizer"],
        "workers": sorted(named["worker"]),
        "resources": sorted(named["resource"]),
    }
    appointment = meeting_id(content["iCalUId"]) if content["iCalUId"] else minted_id(box.user_id, event_id)
    return NewChange("created", appointment, mailbox=box.user_id, event_id=event_id, data=data, **_who(box))


def _plan_series(
    box: Mailbox,
    one: Series,
    k: Known,
    seen: dict[str, Seen],
    settings: OrgSettings,
    people: dict[str, tuple[str, str]],
    out: Plan,
    deletions: list[NewChange],
) -> None:
    """One recurring series of this round (shared.core.inbound_series)."""
    if k.foreign:
        return
    prior = seen.get(one.master_id)
    appointment = k.ours or (prior.appointment if prior else None) or k.meeting or k.outlook
    role = "ours" if k.ours else (prior.role if prior else ("copy" if k.meeting else None))
    if k.outlook and prior is not None and prior.role == "copy":
        role = "created"  # the meeting's claim was handed to this calendar's copy
    mine = {e: s for e, s in seen.items() if s.content.get("series") == one.master_id}

    def change(kind: str, event_id: str, data: dict[str, Any]) -> NewChange:
        return NewChange(kind, appointment, mailbox=box.user_id, event_id=event_id, data=data, **_who(box))

    def keep(event_id: str, change_key: str | None, content: dict[str, Any], appt: str, kind: str) -> None:
        out.upsert.append(Seen(event_id, appt, kind, change_key, content))

    # A restricted worker's changes to our series follow the org's policies, as for events.
    restricted = box.restricted and box.owner_kind == "worker" and role == "ours"

    def edited(found: list[NewChange]) -> list[NewChange]:
        if not restricted:
            return found
        kept = []
        for c in found:
            deleting = c.type == "occurrence_deleted"
            policy = settings.restricted_delete if deleting else settings.restricted_edit
            if policy is RestrictedPolicy.DETACH:
                data = {"reason": "deleted_in_outlook" if deleting else "edited_in_outlook"}
                if "occurrence" in c.data:
                    data["occurrence"] = c.data["occurrence"]
                kept.append(change("attendee_removed", c.event_id or "", data))
        return kept

    if one.master is None:  # the series is gone
        out.forget += [one.master_id, *mine]
        if appointment and role in ("ours", "created") and not k.retiring:
            if role == "ours":
                out.lost.append((appointment, one.master_id))
            if not restricted:
                deletions.append(change("deleted", one.master_id, {}))
                return
            if settings.restricted_delete is RestrictedPolicy.DETACH:
                deletions.append(change("attendee_removed", one.master_id, {"reason": "deleted_in_outlook"}))
        return
    content = series_content(one.master)
    if appointment is None or (k.outlook and prior is None):
        if box.owner_kind == "resource" and people.get(content["organizer"], ("", ""))[0] == "worker":
            return  # a linked worker's series: the organizer's calendar reports it
        created = _maybe_create(box, one.master_id, content, settings, people)
        if created is None:
            return
        appointment = created.appointment or ""
        _, kept, _ = occurrence_changes(one, mine, change, first_sight=True)
        exceptions = [{"occurrence": c["occurrence"], **values(c)} for _, _, c in kept if c["exception"]]
        data = {**created.data, "recurrence": one.master.get("recurrence"), "exceptions": exceptions}
        out.changes.append(
            NewChange("created", appointment, mailbox=box.user_id, event_id=one.master_id, data=data, **_who(box))
        )
        if content["iCalUId"] and not k.outlook:
            out.claims[content["iCalUId"]] = appointment
        keep(one.master_id, one.master.get("changeKey"), content, appointment, "created")
        for event_id, change_key, c in kept:
            keep(event_id, change_key, c, appointment, "created")
        return
    if role == "copy":
        keep(one.master_id, one.master.get("changeKey"), content, appointment, "copy")
        return
    role = role or "ours"
    master_changed = prior is None or prior.change_key != one.master.get("changeKey")
    if master_changed and (prior is not None or role == "ours"):  # ours: compared with what we wrote
        bases = list(k.bases) + ([prior.content] if role == "created" else [])
        changed = [f for f in FIELDS if bases and all(content[f] != b.get(f) for b in bases)]
        if role == "created" and content.get("recurrence") != prior.content.get("recurrence"):
            changed.append("recurrence")
        if changed:
            out.changes += edited(
                [
                    change(
                        "updated",
                        one.master_id,
                        {**values(content), "recurrence": content.get("recurrence"), "changed": changed},
                    )
                ]
            )
    if role == "ours" and master_changed:
        _answers(out, box, appointment, one.master_id, content, prior.content if prior else {}, people)
    keep(one.master_id, one.master.get("changeKey"), content, appointment, role)
    as_series = role == "ours" and settings.sync_mode is SyncMode.ONE_WAY
    # Our series is known from its first round on: what Outlook changed before it is news too.
    first = prior is None and role != "ours"
    changes, kept, forget = occurrence_changes(one, mine, change, first_sight=first, as_series=as_series)
    out.changes += edited(changes)
    out.forget += forget
    for event_id, change_key, c in kept:
        if role == "ours" and c["exception"]:
            # An answer to one occurrence: only where it differs from the answer to the series.
            before = mine[event_id].content if event_id in mine else content
            _answers(out, box, appointment, event_id, c, before, people, occurrence=c["occurrence"])
        keep(event_id, change_key, c, appointment, role)


def _answers(
    out: Plan,
    box: Mailbox,
    appointment: str,
    event_id: str,
    content: dict[str, Any],
    before: dict[str, Any],
    people: dict[str, tuple[str, str]],
    occurrence: str | None = None,
) -> None:
    """Attendees' and rooms' answers to our meeting (or series, or one occurrence of it) that
    are new since `before`. A room answers the moment our meeting is created, so the first
    sight of our event counts too (against "no answer yet")."""
    answered_before = before.get("attendees", {})
    for address, response in content["attendees"].items():
        if response != answered_before.get(address) and response not in ("none", "notResponded") and address in people:
            kind, ident = people[address]
            data = {"response": response, "address": address, **({"occurrence": occurrence} if occurrence else {})}
            # Attributed to whoever answered, not to this mailbox's owner.
            out.changes.append(
                NewChange("responded", appointment, mailbox=box.user_id, event_id=event_id, data=data, **{kind: ident})
            )
            if occurrence is None:
                out.responses.setdefault(appointment, {})[address] = response
