"""The pure part of tasks: what we write to To Do, the plan for one task, and what a delta
item of ours means (echo suppression)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.core.tasks import (
    CreateTask,
    DeleteTask,
    KeepTask,
    TaskChange,
    TaskStored,
    TaskWanted,
    UpdateTask,
    completed_on,
    due_date,
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


# -- what the mutation run found unchecked (#29) -------------------------------------------------


def test_the_todo_task_we_write_is_the_whole_graph_body() -> None:
    """todotask-update.md: body is an itemBody (`text`), a due date a dateTimeTimeZone at
    midnight in the worker's zone, a reminder one in UTC."""
    wanted = TaskWanted(
        "Call back", body="Ask for the invoice", due_date="2026-12-04", reminder_at="2026-12-04T08:00:00.000000Z",
        importance="high", status="inProgress", time_zone="W. Europe Standard Time",
    )  # fmt: skip
    assert todo_body(wanted) == {
        "title": "Call back",
        "body": {"content": "Ask for the invoice", "contentType": "text"},
        "dueDateTime": {"dateTime": "2026-12-04T00:00:00", "timeZone": "W. Europe Standard Time"},
        "isReminderOn": True,
        "reminderDateTime": {"dateTime": "2026-12-04T08:00:00", "timeZone": "UTC"},
        "importance": "high",
        "status": "inProgress",
    }


def test_a_task_as_graph_answers_it_reads_as_the_booking_side_fields() -> None:
    """todotask-get.md's shape: the body's text without the whitespace To Do keeps around it."""
    item = {
        "@odata.etag": 'W/"xzyPKP0BiUGgld+lMKXwbQAAgdhkVw=="',
        "id": "AlMKXwbQAAAJws6wcAAAA=",
        "title": "Call back",
        "body": {"content": "\r\nAsk for the invoice\r\n", "contentType": "text"},
        "importance": "high",
        "status": "waitingOnOthers",
        "isReminderOn": False,
        "dueDateTime": {"dateTime": "2026-12-03T23:00:00.0000000", "timeZone": "UTC"},
    }
    assert todo_fields(item, "Europe/Oslo") == {
        "title": "Call back",
        "body": "Ask for the invoice",
        "dueDate": "2026-12-04",
        "reminderAt": None,
        "importance": "high",
        "status": "waitingOnOthers",
    }


def test_what_a_sparse_task_leaves_out_reads_as_the_defaults_we_write() -> None:
    """A task with only a title (what a delta item may carry) is a normal, not started task
    with no body, due date or reminder: the same as the one we write for a bare title, so a
    push of it is kept, not patched."""
    bare = {"@odata.etag": 'W/"2"', "id": "T1", "title": "Call back"}
    assert todo_fields(bare) == wanted_fields(TaskWanted("Call back"))
    assert todo_fields({"id": "T1"}) == {
        "title": "",
        "body": "",
        "dueDate": None,
        "reminderAt": None,
        "importance": "normal",
        "status": "notStarted",
    }
    # A reminder switched on without a time holds no moment to report.
    assert todo_fields({**bare, "isReminderOn": True})["reminderAt"] is None


def test_a_due_date_far_from_utc_is_kept_not_rewritten_every_push() -> None:
    """A worker in UTC+14: To Do answers the 4th's midnight as the 3rd, 10:00 UTC. What we wrote
    is read in the zone we wrote it in, so the next push of the same task changes nothing."""
    wanted = TaskWanted("Call back", due_date="2026-12-04", time_zone="Line Islands Standard Time")
    assert wanted_fields(wanted)["dueDate"] == "2026-12-04"
    answered_due = {"dateTime": "2026-12-03T10:00:00.0000000", "timeZone": "UTC"}
    held = todo_fields({**answered(todo_body(wanted)), "dueDateTime": answered_due}, wanted.time_zone)
    assert plan_task(wanted, "M1", TaskStored("M1", "T1", held, False)) == [KeepTask("M1", "T1")]


def test_a_patch_carries_exactly_the_graph_fields_of_what_changed() -> None:
    before = TaskWanted("Call back", body="Ask", due_date="2026-12-04", importance="low")
    synced = TaskStored("M1", "T1", wanted_fields(before), False)
    after = TaskWanted("Call back", body="Ask for the invoice", due_date="2026-12-05", importance="high")
    assert plan_task(after, "M1", synced) == [
        UpdateTask(
            "M1",
            "T1",
            {
                "body": {"content": "Ask for the invoice", "contentType": "text"},
                "dueDateTime": {"dateTime": "2026-12-05T00:00:00", "timeZone": "UTC"},
                "importance": "high",
            },
        )
    ]


def test_a_worker_without_a_mailbox_gets_no_task_and_loses_the_old_one() -> None:
    wanted = TaskWanted("Call back")
    assert plan_task(wanted, None, TaskStored(None, None, {}, False)) == []
    assert plan_task(wanted, None, TaskStored("M1", "T1", wanted_fields(wanted), False)) == [DeleteTask("M1", "T1")]


def test_a_deleted_task_is_reported_with_no_fields_and_nothing_changed() -> None:
    assert heard({"title": "x"}, 'W/"1"', {"id": "T1", "@removed": {"reason": "deleted"}}) == TaskChange(
        "task_deleted", {}, ()
    )


def test_a_task_at_the_version_we_hold_is_not_reported_even_if_it_reads_differently_now() -> None:
    """The etag names the version we already hold: when the worker's zone changed since, its
    due date reads as another day, but nobody edited the task."""
    wanted = TaskWanted("Call back", due_date="2026-12-04", time_zone="Europe/Oslo")
    item = {
        **answered(todo_body(wanted), 'W/"7"'),
        "dueDateTime": {"dateTime": "2026-12-03T23:00:00", "timeZone": "UTC"},
    }
    written = todo_fields(item, "Europe/Oslo")
    assert heard(written, 'W/"7"', item, "America/New_York") is None
    moved = heard(written, 'W/"6"', item, "America/New_York")  # another version: compared
    assert moved is not None and moved.changed == ("dueDate",)


def test_the_completion_day_is_the_day_to_do_wrote() -> None:
    """completedDateTime is the day's midnight UTC (docs-contrib #5306, #8664)."""
    day = {"dateTime": "2026-12-04T00:00:00.0000000", "timeZone": "UTC"}
    assert completed_on({"completedDateTime": day}) == "2026-12-04"
    assert completed_on({"completedDateTime": {"dateTime": "2026-12-04", "timeZone": "UTC"}}) == "2026-12-04"
    # Asked in another zone, the same midnight UTC comes back in it: still the 4th.
    oslo = {"dateTime": "2026-12-04T01:00:00.0000000", "timeZone": "W. Europe Standard Time"}
    assert completed_on({"completedDateTime": oslo}) == "2026-12-04"
    assert completed_on({"completedDateTime": {"dateTime": "2026-12", "timeZone": "UTC"}}) is None
    assert completed_on({}) is None
    # Not a dateTimeTimeZone at all: no day, rather than a failed round.
    assert completed_on({"completedDateTime": "2026-12-04T00:00:00Z"}) is None


@pytest.mark.usefixtures("host_in_tokyo")
def test_times_are_read_in_utc_whatever_the_hosts_own_zone() -> None:
    item = {
        "title": "x",
        "isReminderOn": True,
        "reminderDateTime": {"dateTime": "2026-12-04T08:00:00", "timeZone": "UTC"},
    }
    assert todo_fields(item)["reminderAt"] == "2026-12-04T08:00:00.000000Z"
    # A due date in a zone we cannot name is read in UTC, not in the host's zone.
    due = {"dateTime": "2026-12-03T20:00:00.0000000", "timeZone": "UTC"}
    assert due_date(due, "Mars/Olympus") == "2026-12-03"
