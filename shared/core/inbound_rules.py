"""The Outlook → booking planner's rules per event (shared.core.inbound): an event made in
Outlook, attendees' answers, what counts as already seen, and one recurring series."""

from __future__ import annotations

from typing import Any

from shared.core.changes import NewChange
from shared.core.inbound_series import (
    Series,
    cancelled_dates,
    live_dates,
    occurrence_changes,
    series_content,
    utc_instant,
)
from shared.core.inbound_types import Known, Mailbox, Plan, Seen, who
from shared.core.mapping import FIELDS, meeting_id, minted_id, values
from shared.core.org_settings import OrgSettings, RestrictedPolicy, SyncMode


def read_before_our_write(item: dict[str, Any], k: Known) -> list[dict[str, Any]]:
    """Our earlier writes as bases, when `item` was last modified before our latest write
    (Known.written_at): a read from before it, which cannot show a person's edit of a field
    to a value we wrote earlier any more than our own older write."""
    modified = item.get("lastModifiedDateTime")
    if not k.earlier or not k.written_at or not modified:
        return []
    return list(k.earlier.values()) if utc_instant(modified, True) < utc_instant(k.written_at, True) else []


def seen_since_our_write(prior: Seen | None, role: str | None, k: Known) -> list[dict[str, Any]]:
    """The snapshot as a base too, where what it saw is not news any more: an event made in
    Outlook (reported then), or ours seen after our last write (an Outlook edit the booking
    product was told of, still there while our later writes — an occurrence's, a retry —
    touch other fields). Ours seen before our last write is not: that write came after."""
    if prior is None:
        return []
    if role == "created" or (role == "ours" and k.writes is not None and prior.content.get("writes") == k.writes):
        return [prior.content]
    return []


def maybe_create(
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
    return NewChange("created", appointment, mailbox=box.user_id, event_id=event_id, data=data, **who(box))


def plan_series(
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
    appointment = k.ours or (prior.appointment if prior else None) or k.meeting
    role = "ours" if k.ours else (prior.role if prior else ("copy" if k.meeting else None))
    if k.outlook and prior is not None and prior.role == "copy":
        role = "created"  # the meeting's claim was handed to this calendar's copy
    mine = {e: s for e, s in seen.items() if s.content.get("series") == one.master_id}

    def change(kind: str, event_id: str, data: dict[str, Any]) -> NewChange:
        return NewChange(kind, appointment, mailbox=box.user_id, event_id=event_id, data=data, **who(box))

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
    # Cancelled occurrences the master lists (Graph may give no sign in delta: docs PR #4501);
    # one this round still lists was cancelled since, and is left for the next round.
    cancelled = cancelled_dates(one.master) - live_dates(one)
    reported = frozenset(prior.content.get("cancelled") or ()) if prior is not None else frozenset()
    content["cancelled"] = sorted(cancelled)
    if appointment is None or (k.outlook and prior is None):
        if box.owner_kind == "resource" and people.get(content["organizer"], ("", ""))[0] == "worker":
            return  # a linked worker's series: the organizer's calendar reports it
        created = maybe_create(box, one.master_id, content, settings, people)
        if created is None:
            return
        appointment = created.appointment or ""
        _, kept, _ = occurrence_changes(one, mine, change, first_sight=True)
        exceptions = [{"occurrence": c["occurrence"], **values(c)} for _, _, c in kept if c["exception"]]
        data = {**created.data, "recurrence": one.master.get("recurrence"), "exceptions": exceptions}
        out.changes.append(
            NewChange("created", appointment, mailbox=box.user_id, event_id=one.master_id, data=data, **who(box))
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
        bases = list(k.bases) + seen_since_our_write(prior, role, k)
        older = k.earlier.get(one.master.get("changeKey") or "")
        if older is not None:
            bases.append(older)  # a stale read of an earlier write of ours: its changeKey and content
        bases += read_before_our_write(one.master, k)
        changed = [f for f in FIELDS if bases and all(content[f] != b.get(f) for b in bases)]
        if role == "created" and content.get("recurrence") != prior.content.get("recurrence"):
            changed.append("recurrence")
        if changed and not (role == "ours" and k.retiring):  # not an edit of what we are removing
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
        answers(out, box, appointment, one.master_id, content, prior.content if prior else {}, people)
    if role == "ours":
        content = {**content, "writes": k.writes}
    keep(one.master_id, one.master.get("changeKey"), content, appointment, role)
    as_series = role == "ours" and settings.sync_mode is SyncMode.ONE_WAY
    # Only our series comes this far unseen (a copy returned above, an Outlook-made one was
    # created): it is known from its first round on, so what Outlook changed before is news too.
    changes, kept, forget = occurrence_changes(
        one,
        mine,
        change,
        first_sight=False,
        as_series=as_series,
        reported=reported,
        master_before=prior.content if prior is not None else None,
        ours=role == "ours",
        series_writes=(*k.bases, *k.earlier.values()) if role == "ours" else (),
    )
    changes += [change("occurrence_deleted", one.master_id, {"occurrence": day}) for day in one.missing]
    if prior is None or "cancelled" in prior.content:  # else: a snapshot from before we kept them
        said = {c.data.get("occurrence") for c in changes if c.type == "occurrence_deleted"}
        wanted = {day for day, o in one.overrides.items() if o.get("cancelled")}
        for day in sorted(cancelled - reported - said - wanted):
            snapshot = next((e for e, s in mine.items() if s.content.get("occurrence") == day), None)
            changes.append(change("occurrence_deleted", snapshot or one.master_id, {"occurrence": day}))
            if snapshot:
                forget.append(snapshot)
    out.changes += edited(changes)
    out.forget += forget
    for event_id, change_key, c in kept:
        if role == "ours" and c["exception"]:
            # An answer to one occurrence: only where it differs from the answer to the series.
            before = mine[event_id].content if event_id in mine else content
            answers(out, box, appointment, event_id, c, before, people, occurrence=c["occurrence"])
        keep(event_id, change_key, c, appointment, role)


def answers(
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
