"""The availability route's request and answer (POST /api/orgs/{org}/availability), kept
apart so that neither api_requests nor api_views grows; shared.core.openapi registers them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.core.api_requests import Body, Ident
from shared.core.api_views import ResponseModel, absent

MAX_OWNERS = 100  # workers, and resources, per request: 5 getSchedule calls of 20 each
INTERVAL_DEFAULT, INTERVAL_MIN, INTERVAL_MAX = 30, 5, 1440  # calendar-getschedule.md
MAX_RANGE_DAYS = 62  # concepts/outlook-get-free-busy-schedule.md: "must be less than 62 days"


When = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40),
    Field(description="ISO 8601 date-time; without an offset it is wall-clock time in timeZone"),
]


class AvailabilityBody(Body):
    """POST /api/orgs/{org}/availability: free/busy of workers and resources over [start, end)."""

    workers: list[Ident] = Field(default_factory=list, max_length=MAX_OWNERS, description="Worker ids")
    resources: list[Ident] = Field(default_factory=list, max_length=MAX_OWNERS, description="Resource ids")
    start: When
    end: When
    time_zone: str = Field(
        default="UTC", min_length=1, max_length=100, description="IANA or Windows name; the answer's times use it"
    )
    interval_minutes: int = Field(
        default=INTERVAL_DEFAULT, ge=INTERVAL_MIN, le=INTERVAL_MAX, description="One availabilityView digit per slot"
    )


# -- the answer -----------------------------------------------------------------------------
Status = Literal["tentative", "busy", "oof", "workingElsewhere", "unknown"]


class BusyBlock(ResponseModel):
    """One event that makes the mailbox not free, in the asked time zone (with its offset)."""

    status: Status
    start: str = Field(description="ISO 8601 with the asked zone's offset, e.g. 2026-12-01T09:00:00+01:00")
    end: str
    subject: str = absent("when the mailbox's owner shares it (never for private events)")
    location: str = absent("when the mailbox's owner shares it")
    is_private: bool = absent()


class WorkingHoursView(ResponseModel):
    """The mailbox's working hours, in its own time zone (Outlook's mailbox settings)."""

    days_of_week: list[str]
    start_time: str = Field(description="HH:MM:SS")
    end_time: str = Field(description="HH:MM:SS")
    time_zone: str = Field(description="IANA name when known, else the name Outlook gives")


class ScheduleView(ResponseModel):
    """One worker's or resource's free/busy."""

    worker: str = absent("for a worker")
    resource: str = absent("for a resource")
    address: str = Field(description="The mailbox address that was asked")
    availability_view: str = Field(
        description="One digit per intervalMinutes from start: 0 free, 1 tentative, 2 busy, 3 out of office, "
        "4 working elsewhere"
    )
    busy: list[BusyBlock]
    working_hours: WorkingHoursView | None


class UnavailableView(ResponseModel):
    """A worker or resource whose free/busy could not be read, and why."""

    worker: str = absent("for a worker")
    resource: str = absent("for a resource")
    code: str = Field(
        description="unknown_worker, unknown_resource, not_linked, link_error, free_busy_error, or the Graph "
        "error's code (graph_unavailable, consent_required, …)"
    )
    reason: str


class AvailabilityView(ResponseModel):
    """POST …/availability: every worker and resource asked for is in `schedules` or `unavailable`."""

    start: str
    end: str
    time_zone: str
    interval_minutes: int
    schedules: list[ScheduleView]
    unavailable: list[UnavailableView]
