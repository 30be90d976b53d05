"""The tasks routes' request body and answer (PUT/DELETE/GET /api/orgs/{org}/tasks/{task})."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

from shared.core import date_range
from shared.core.api_check import fail
from shared.core.api_requests import UNSET, Body, Ident, Title, text
from shared.core.api_views import ErrorInfo, ResponseModel
from shared.core.tasks import zulu

Importance = Literal["low", "normal", "high"]
TaskStatus = Literal["notStarted", "inProgress", "completed", "waitingOnOthers", "deferred"]


def _date(value: str) -> str:
    try:
        day = dt.date.fromisoformat(value.strip()) if len(value.strip()) == 10 else None
    except ValueError:
        day = None
    if day is None:
        return _bad_date(value)
    if date_range.outside(day):
        raise fail(f"{day.isoformat()} is outside the supported dates, {date_range.RANGE}")
    return day.isoformat()


def _bad_date(value: str) -> str:
    raise fail(f"must be a date, YYYY-MM-DD, got {value!r}")


def _instant(value: str) -> str:
    """An ISO 8601 date-time with an offset (or Z) → UTC `…Z`: a reminder is a moment."""
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"must be an ISO 8601 date-time with an offset, got {value!r}") from None
    if moment.tzinfo is None:
        raise fail("must carry an offset or Z (a reminder is a moment, not a wall-clock time)")
    if date_range.outside(moment):
        raise fail(f"{value.strip()} is outside the supported dates, {date_range.RANGE}")
    return zulu(moment)


DateText = Annotated[
    str, StringConstraints(max_length=40), AfterValidator(_date), Field(json_schema_extra={"format": "date"})
]
InstantText = Annotated[
    str, StringConstraints(max_length=40), AfterValidator(_instant), Field(json_schema_extra={"format": "date-time"})
]


class TaskBody(Body):
    """PUT /api/orgs/{org}/tasks/{task}: create or update; the same body makes no change."""

    worker: Ident = Field(description="The linked worker whose Microsoft To Do gets the task")
    title: Title
    body: str | None = text(30_000)
    due_date: DateText | None = Field(default=None, description="YYYY-MM-DD")
    reminder_at: InstantText | None = Field(default=None, description="When To Do reminds the worker (with an offset)")
    importance: Importance = "normal"
    status: TaskStatus = "notStarted"


class TaskView(ResponseModel):
    """A task and how its To Do copy is doing."""

    task: str
    worker: str
    title: str
    body: str
    due_date: str | None = Field(description="YYYY-MM-DD")
    reminder_at: str | None = Field(description="UTC, `…Z`")
    importance: Importance
    status: TaskStatus = Field(description="As the booking product or, later, the worker in To Do last set it")
    deleted: bool
    state: Literal["synced", "pending", "failed", "deleted", "deleted_in_todo"] = Field(
        description="pending: Graph held it up and a retry follows; deleted_in_todo: the worker deleted it"
    )
    mailbox_id: str | None = Field(description="The worker's mailbox (user id) it was written to")
    list_id: str | None = Field(description="The To Do list (the org's taskListName) it is in")
    todo_task_id: str | None = Field(description="The To Do task's id")
    completed_on: str | None = Field(
        description="The day it was completed in To Do (YYYY-MM-DD), if it was: To Do records a day, not a time"
    )
    error: ErrorInfo | None = Field(description="Graph's failure (pending, failed)")
    updated_at: dt.datetime = Field(
        description="When the task's row last changed (a push, a retry, a change read from To Do)"
    )


__all__ = ["UNSET", "TaskBody", "TaskView"]
