"""The pure part of tasks: what we write to To Do, the plan for one task, and what a delta
item of ours means (echo suppression)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.core.tasks import (
    CreateTask,
    DeleteTask,
    KeepTask,
    TaskStored,
    TaskWanted,
    UpdateTask,
    heard,
    plan_task,
    todo_body,
    todo_fields,
    wanted_fields,
    zulu,
)

wanted_tasks = st.builds(
    TaskWanted,
    title=st.text(min_size=1, max_size=20).filter(str.strip).map(str.strip),
    body=st.text(max_size=20).map(str.strip),
    due_date=st.none() | st.dates().map(lambda d: d.isoformat()),
    reminder_at=st.none() | st.datetimes().map(zulu),
    importance=st.sampled_from(["low", "normal", "high"]),
    status=st.sampled_from(["notStarted", "inProgress", "completed", "waitingOnOthers", "deferred"]),
)


def answered(body: dict, etag: str = 'W/"1"') -> dict:
    """The task as Graph answers a write of `body` (what the emulator renders)."""
    return {"@odata.etag": etag, "id": "T1", **{k: v for k, v in body.items() if v is not None}}


@given(wanted_tasks)
def test_what_we_write_reads_back_as_what_was_wanted(wanted: TaskWanted) -> None:
    assert todo_fields(answered(todo_body(wanted))) == wanted_fields(wanted)


@given(wanted_tasks)
def test_our_own_write_coming_back_is_never_a_change(wanted: TaskWanted) -> None:
    written = todo_fields(answered(todo_body(wanted)))
    # Even with another etag (a later write of ours read before its answer was stored).
    assert heard(written, 'W/"1"', answered(todo_body(wanted), 'W/"2"')) is None


def test_completion_in_todo_is_task_completed_and_other_edits_task_updated() -> None:
    wanted = TaskWanted("Call back", due_date="2026-12-04")
    written = wanted_fields(wanted)
    done = heard(written, 'W/"1"', answered({**todo_body(wanted), "status": "completed"}, 'W/"2"'))
    assert done is not None and (done.type, done.changed) == ("task_completed", ("status",))
    edited = heard(written, 'W/"1"', answered({**todo_body(wanted), "title": "Call later"}, 'W/"2"'))
    assert edited is not None and (edited.type, edited.changed) == ("task_updated", ("title",))
    gone = heard(written, 'W/"1"', {"id": "T1", "@removed": {"reason": "deleted"}})
    assert gone is not None and gone.type == "task_deleted"


def test_a_reminder_turned_off_in_todo_is_a_change_of_reminder_at() -> None:
    wanted = TaskWanted("Call back", reminder_at="2026-12-04T08:00:00Z")
    item = answered({**todo_body(wanted), "isReminderOn": False}, 'W/"2"')
    change = heard(wanted_fields(wanted), 'W/"1"', item)
    assert change is not None and change.changed == ("reminderAt",) and change.fields["reminderAt"] is None


def test_plan_creates_once_then_keeps_then_patches_only_what_changed() -> None:
    wanted = TaskWanted("Call back", importance="high")
    assert plan_task(wanted, "M1", TaskStored(None, None, {}, False)) == [
        CreateTask("M1", todo_body(wanted), maybe_exists=False)
    ]
    synced = TaskStored("M1", "T1", wanted_fields(wanted), False)
    assert plan_task(wanted, "M1", synced) == [KeepTask("M1", "T1")]
    later = TaskWanted("Call back", importance="high", reminder_at="2026-12-04T08:00:00Z")
    [update] = plan_task(later, "M1", synced)
    assert isinstance(update, UpdateTask)
    assert update.patch == {
        "isReminderOn": True,
        "reminderDateTime": {"dateTime": "2026-12-04T08:00:00", "timeZone": "UTC"},
    }


def test_plan_after_a_lost_create_looks_first_and_a_new_worker_moves_the_task() -> None:
    wanted = TaskWanted("Call back")
    [create] = plan_task(wanted, "M1", TaskStored("M1", None, {}, True))
    assert isinstance(create, CreateTask) and create.maybe_exists
    moved = plan_task(wanted, "M2", TaskStored("M1", "T1", wanted_fields(wanted), False))
    assert moved == [DeleteTask("M1", "T1"), CreateTask("M2", todo_body(wanted), maybe_exists=False)]
    assert plan_task(None, None, TaskStored("M1", None, {}, True)) == [DeleteTask("M1", None)]
    assert plan_task(None, None, TaskStored(None, None, {}, False)) == []


def test_graph_times_read_back_in_utc_whatever_zone_they_are_answered_in() -> None:
    # Graph writes seven fractional digits and may answer in the zone it was given (a
    # Windows name): 09:00 W. Europe in December is 08:00 UTC.
    item = {
        "title": "x",
        "isReminderOn": True,
        "reminderDateTime": {"dateTime": "2026-12-04T09:00:00.0000000", "timeZone": "W. Europe Standard Time"},
    }
    assert todo_fields(item)["reminderAt"] == "2026-12-04T08:00:00.000000Z"


def test_a_due_date_is_read_as_the_workers_day() -> None:
    """RogerSelwyn/MS365-ToDo issue #29: a due date of 2024-10-24 set in UTC+14 comes back as
    2024-10-23T10:00:00 UTC; in the worker's zone it is still the 24th."""
    from shared.core.tasks import due_date

    answered = {"dateTime": "2024-10-23T10:00:00.0000000", "timeZone": "UTC"}
    assert due_date(answered, "Line Islands Standard Time") == "2024-10-24"
    assert due_date(answered, "UTC") == "2024-10-23"
    assert due_date({"dateTime": "2026-12-17T23:00:00.0000000", "timeZone": "UTC"}, "Europe/Oslo") == "2026-12-18"
    assert due_date(None, "Europe/Oslo") is None
