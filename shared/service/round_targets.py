"""What a mailbox round writes on the push side's targets: attendees' answers, our events
deleted in Outlook, oneWay's restores. Every write is conditional on the row as read — the
push side may be writing the same target (an occurrence of its series, a PUT) — and a lost
race re-reads and applies the round's part again, so neither side's write is lost."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from shared.adapters.messages import AppointmentRetry
from shared.adapters.records import EventRef, Org, Target
from shared.core import inbound
from shared.core.errors import ConcurrencyConflict
from shared.core.mapping import GRAPH_FIELDS
from shared.service.ports import Services


async def note_responses(services: Services, org: Org, mailbox: str, appointment: str, answers: dict[str, str]) -> None:
    """Attendees' and rooms' answers to our meeting, on the organizer's target (so the
    appointment shows "room declined")."""

    def note(target: Target) -> bool:
        if all(target.responses.get(a) == r for a, r in answers.items()):
            return False
        target.responses = {**target.responses, **answers}
        return True

    await _edit(services, org, appointment, mailbox, note)


async def _edit(services: Services, org: Org, appointment: str, mailbox: str, edit: Callable[[Target], bool]) -> bool:
    """Change a target conditionally on the row as read (the push side may be writing it):
    `edit` changes it and says whether to save; a lost race re-reads and edits again."""
    for _ in range(5):
        target = await services.store.get(Target, org=org.org, appointment=appointment, mailbox=mailbox)
        if target is None or not edit(target):
            return False
        target.updated_at = services.clock.now()
        try:
            await services.store.update(target)
            return True
        except ConcurrencyConflict:
            continue
    raise ConcurrencyConflict(f"target {mailbox} of {appointment} kept changing")


async def mark_lost(services: Services, org: Org, mailbox: str, appointment: str, event_id: str) -> None:
    """Our event is gone from this calendar without the appointment being deleted: the target
    says so (`deleted_in_outlook`); the booking product's next PUT makes it again."""

    def lost(target: Target) -> bool:
        if target.state != "synced" or target.event_id != event_id:
            return False  # written again meanwhile (or already marked): not this event any more
        target.state, target.event_id, target.change_key = "deleted_in_outlook", None, None
        target.written, target.generation, target.reassert = {}, target.generation + 1, []
        return True

    if await _edit(services, org, appointment, mailbox, lost):
        await services.store.delete_key(EventRef, mailbox=mailbox, event_id=event_id)


async def restore(services: Services, org: Org, mailbox: str, result: inbound.Plan) -> None:
    """oneWay: put the booking's version back on our events changed or deleted in Outlook.
    An edit is undone field by field, so what Outlook did not touch — the attendees and
    their answers above all — is not sent again; an occurrence edited is written back, one
    cancelled makes its series again (shared.core.one_way)."""
    appointments = dict(result.restore)
    for appointment in sorted(set(appointments) | set(result.restore_occurrences)):
        deleted = appointments.get(appointment)
        days = result.restore_occurrences.get(appointment, {})
        gone: list[str] = []
        fields = result.restore_fields.get(appointment, ())
        event = result.restore_events.get(appointment)
        put_back = partial(_put_back, deleted=deleted, fields=fields, days=days, gone=gone, event=event)
        if await _edit(services, org, appointment, mailbox, put_back):
            for event_id in gone:
                await services.store.delete_key(EventRef, mailbox=mailbox, event_id=event_id)
            await services.queues.send(AppointmentRetry(org.org, appointment))


def _put_back(
    target: Target,
    *,
    deleted: bool | None,
    fields: tuple[str, ...],
    days: dict[str, bool],
    gone: list[str],
    event: str | None = None,
) -> bool:
    """The target's part of a oneWay restore (`deleted`: None when only occurrences changed;
    `event`: the event Outlook changed). A restore done again — by a round that finished this
    one's staged work, the first still finishing or dead — finds the target on another event
    (or none) once the first one's took effect, and leaves it: that event is the put-back one."""
    if target.state in ("deleting", "deleted"):
        return False
    if event is not None and target.event_id != event:
        return False
    gone.clear()
    if deleted and target.event_id:
        gone.append(target.event_id)
        target.event_id, target.state, target.generation = None, "pending", target.generation + 1
    if deleted is not None:
        changed = [GRAPH_FIELDS[f] for f in fields if f in GRAPH_FIELDS]
        if deleted or not changed:
            target.written = {}  # nothing of what we wrote is there: send everything again
        else:
            target.written = {k: v for k, v in target.written.items() if k not in changed}
    if any(days.values()):
        target.renew = True  # a cancelled occurrence comes back only with its series
    for day, cancelled in days.items():
        if not cancelled:
            target.occurrences = {**target.occurrences, day: {"restore": True}}
    return True
