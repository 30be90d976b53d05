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

from typing import Any

from shared.core.changes import NewChange
from shared.core.inbound_rules import answers, maybe_create, plan_series, read_before_our_write, seen_since_our_write
from shared.core.inbound_series import Series
from shared.core.inbound_types import Known, Mailbox, Plan, Seen, who
from shared.core.mapping import FIELDS, minted_id, normalize, values
from shared.core.one_way import restores
from shared.core.org_settings import OrgSettings, RestrictedPolicy, SyncMode

__all__ = ["GUARD_MIN_DELETIONS", "GUARD_SHARE", "Known", "Mailbox", "Plan", "Seen", "plan"]

GUARD_MIN_DELETIONS = 20
GUARD_SHARE = 0.5


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
        return NewChange(kind, appointment, mailbox=box.user_id, event_id=event_id, data=data or {}, **who(box))

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
            out.echoes += 1
            continue  # nothing new (our own write included)
        content = normalize(item)
        older = k.earlier.get(item.get("changeKey") or "")
        if older is not None and all(content[f] == older.get(f) for f in FIELDS):
            out.echoes += 1
            continue  # a stale read of an earlier write of ours
        if appointment is None:
            if box.owner_kind == "resource" and people.get(content["organizer"], ("", ""))[0] == "worker":
                continue  # a linked worker's meeting: the organizer's copy reports it (below), with its subject
            created = maybe_create(box, event_id, content, settings, people)
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
        bases = list(k.bases) + seen_since_our_write(prior, role, k) + read_before_our_write(item, k)
        changed = [f for f in FIELDS if bases and all(content[f] != b.get(f) for b in bases)]
        if role == "ours":
            answers(out, box, appointment, event_id, content, prior.content if prior else {}, people)
            content = {**content, "writes": k.writes}
        out.upsert.append(Seen(event_id, appointment, role or "ours", item.get("changeKey"), content))
        if not changed or (role == "ours" and k.retiring):
            if role == "ours" and not changed:
                out.echoes += 1  # our own write coming back
            continue  # nothing new, or an edit of an event we are removing ourselves
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
        plan_series(box, one, series_known.get(one.master_id, Known()), seen, settings, people, out, deletions)

    if full_round:
        # A fresh round lists everything in the window: what we saw before and is gone was deleted.
        for event_id, prior in seen.items():
            if prior.content.get("series") or "recurrence" in prior.content:
                # An occurrence, or a series master (which delta never lists): its series
                # decides, by its master's read (shared.service.series_lookup).
                continue
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
        masters: dict[str, list[str]] = {}
        for master, k in series_known.items():
            if k.ours:
                masters.setdefault(k.ours, []).append(master)
        # A restore names its series' master only when the round knows just one for it.
        our_series = {a: m[0] if len(m) == 1 else None for a, m in masters.items()}
        undo = restores(out.changes + out.held, ours, our_series)
        out.restore, out.restore_fields, out.restore_occurrences = undo.restore, undo.fields, undo.occurrences
        out.restore_events = undo.events
        restored = undo.reported
    if mode is not SyncMode.TWO_WAY:
        # oneWay/off: Outlook changes are not reported (state is kept); oneWay's restores are.
        # An event made in Outlook meanwhile is not remembered as reported: back in twoWay it
        # is `created` first, never an `updated` of what the booking product never heard of.
        out.changes, out.held = restored, []
        out.upsert = [s for s in out.upsert if s.role != "created"]
        out.claims = {}
    return out
