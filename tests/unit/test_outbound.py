"""The pure booking → Outlook planner: examples and properties (no servers)."""

from __future__ import annotations

from shared.core.mapping import COMPARED, Desired
from shared.core.outbound import Create, Delete, Keep, Mailbox, Skip, Stored, Update, plan

WORKERS = ["w1", "w2", "w3", "w4"]
ROOMS = ["r1", "r2"]


def boxes(linked: set[str]) -> dict[tuple[str, str], Mailbox]:
    out = {}
    for w in WORKERS:
        out[("worker", w)] = Mailbox("worker", w, f"uid-{w}" if w in linked else None, f"{w}@x.test", w.upper())
    for r in ROOMS:
        out[("resource", r)] = Mailbox("resource", r, f"uid-{r}" if r in linked else None, f"{r}@x.test", r.upper())
    return out


def desired(**kw: object) -> Desired:
    base = dict(
        org="o",
        appointment="a",
        title="T",
        start="2026-12-01T10:00:00",
        end="2026-12-01T11:00:00",
        time_zone="UTC",
        organizer="w1",
        attendees=("w2",),
        resources=(),
    )
    base.update(kw)
    return Desired(**base)  # type: ignore[arg-type]


def applied(actions: list, before: list[Stored]) -> list[Stored]:
    """What the shell would store after carrying the actions out successfully (for the
    planner's examples; tests/service/test_push_convergence.py runs the real shell)."""
    state = {s.mailbox: s for s in before}
    for a in actions:
        if isinstance(a, Create):
            written = {k: a.event[k] for k in COMPARED if k in a.event}
            state[a.mailbox] = Stored(
                a.mailbox, a.role, f"ev-{a.mailbox}-{a.generation}", written, "synced", a.generation
            )
        elif isinstance(a, Update):
            old = state[a.mailbox]
            written = {k: a.event[k] for k in COMPARED if k in a.event}
            state[a.mailbox] = Stored(a.mailbox, a.role, old.event_id, written, "synced", old.generation)
        elif isinstance(a, Delete):
            old = state[a.mailbox]
            state[a.mailbox] = Stored(a.mailbox, old.role, None, {}, "deleted", old.generation + 1)
    return list(state.values())


def test_organizer_mode_is_one_meeting_with_invitations() -> None:
    actions = plan(
        desired(attendees=("w2", "w3"), resources=("r1",), guests=("g@out.test",)), True, boxes({"w1", "w2", "r1"}), []
    )
    creates = [a for a in actions if isinstance(a, Create)]
    assert [(c.mailbox, c.role) for c in creates] == [("uid-w1", "organizer")]
    invited = {(x["emailAddress"]["address"], x["type"]) for x in creates[0].event["attendees"]}
    assert invited == {("w2@x.test", "required"), ("g@out.test", "required"), ("r1@x.test", "resource")}
    assert [(s.id, s.reason) for s in actions if isinstance(s, Skip)] == [("w3", "not_linked")]


def test_unlinked_organizer_falls_back_to_copies() -> None:
    actions = plan(desired(resources=("r1",)), True, boxes({"w2", "r1"}), [])
    assert sorted((a.mailbox, a.role) for a in actions if isinstance(a, Create)) == [
        ("uid-r1", "resource"),
        ("uid-w2", "copy"),
    ]
    assert [s.id for s in actions if isinstance(s, Skip)] == ["w1"]


def test_unchanged_is_keep_and_change_is_a_minimal_patch() -> None:
    first = plan(desired(), True, boxes({"w1", "w2"}), [])
    stored = applied(first, [])
    assert all(isinstance(a, Keep) for a in plan(desired(), True, boxes({"w1", "w2"}), stored))
    [update] = plan(desired(title="New"), True, boxes({"w1", "w2"}), stored)
    assert isinstance(update, Update) and update.patch == {"subject": "New"}


def test_new_organizer_deletes_old_meeting_and_creates_new() -> None:
    stored = applied(plan(desired(), True, boxes({"w1", "w2", "w3"}), []), [])
    actions = plan(desired(organizer="w3"), True, boxes({"w1", "w2", "w3"}), stored)
    assert {type(a).__name__ for a in actions} == {"Create", "Delete"}
    assert [a.mailbox for a in actions if isinstance(a, Delete)] == ["uid-w1"]


def test_recreate_after_delete_uses_a_new_transaction_id() -> None:
    first = plan(desired(), True, boxes({"w1"}), [])
    stored = applied(first, [])
    stored = applied(plan(desired(deleted=True), True, boxes({"w1"}), stored), stored)
    again = [a for a in plan(desired(), True, boxes({"w1"}), stored) if isinstance(a, Create)]
    [created] = [a for a in first if isinstance(a, Create)]
    assert again[0].transaction_id != created.transaction_id


def test_pending_create_is_looked_up_before_creating_again() -> None:
    pending = [Stored("uid-w1", "organizer", None, {}, "pending", 0)]
    [create] = [a for a in plan(desired(), True, boxes({"w1"}), pending) if isinstance(a, Create)]
    assert create.maybe_exists
    [delete] = plan(desired(deleted=True), True, boxes({"w1"}), pending)
    assert isinstance(delete, Delete) and delete.event_id is None  # found by property and deleted


WEEKLY = {
    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
    "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 10},
}


def test_a_series_is_one_master_and_its_exceptions_follow_it() -> None:
    series = desired(
        recurrence=WEEKLY,
        time_zone="Europe/Oslo",
        occurrences={
            "2026-12-08": {"title": "Moved", "start": "2026-12-08T14:00:00"},
            "2026-12-15": {"cancelled": True},
        },
    )
    actions = plan(series, True, boxes({"w1", "w2"}), [])
    assert [type(a).__name__ for a in actions] == ["Create", "Occurrences"]
    create, occurrences = actions
    assert create.event["recurrence"] == WEEKLY
    # Each exception is named by its original start in UTC (Oslo is UTC+1 in December).
    assert [(day, str(original)) for day, original, _ in occurrences.changes] == [
        ("2026-12-08", "2026-12-08 09:00:00+00:00"),
        ("2026-12-15", "2026-12-15 09:00:00+00:00"),
    ]
    moved = {"dateTime": "2026-12-08T14:00:00", "timeZone": "W. Europe Standard Time"}
    assert occurrences.changes[0][2] == {"subject": "Moved", "start": moved}
    assert occurrences.changes[1][2] == {"cancelled": True}


def test_exceptions_already_written_are_not_written_again_unless_the_pattern_changes() -> None:
    series = desired(recurrence=WEEKLY, occurrences={"2026-12-15": {"cancelled": True}})
    cancelled = {"2026-12-15": {"cancelled": True}}
    done = [Stored("uid-w1", "organizer", "ev", _written(series), "synced", 0, cancelled)]
    assert [type(a).__name__ for a in plan(series, True, boxes({"w1"}), done) if not isinstance(a, Skip)] == ["Keep"]
    longer = {**WEEKLY, "range": {**WEEKLY["range"], "numberOfOccurrences": 12}}
    actions = plan(desired(recurrence=longer, occurrences=series.occurrences), True, boxes({"w1"}), done)
    kinds = [type(a).__name__ for a in actions if not isinstance(a, Skip)]
    assert kinds == ["Update", "Occurrences"]  # Outlook drops exceptions then


def test_a_series_becoming_a_single_appointment_replaces_the_event() -> None:
    series = desired(recurrence=WEEKLY)
    stored = applied(plan(series, True, boxes({"w1"}), []), [])
    actions = plan(desired(), True, boxes({"w1"}), stored)
    assert [type(a).__name__ for a in actions if not isinstance(a, Skip)] == ["Delete", "Create"]
    [create] = [a for a in actions if isinstance(a, Create)]
    assert "recurrence" not in create.event and create.generation == 1


def _written(d: Desired) -> dict:
    [create] = [a for a in plan(d, True, boxes({"w1"}), []) if isinstance(a, Create)]
    return {k: create.event[k] for k in COMPARED if k in create.event}
