"""The suggestions route's request and answer (POST /api/orgs/{org}/suggestions): find a time
(and a room) for a meeting. Kept apart like api_availability; shared.core.openapi registers them."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from shared.core.api_availability import MAX_OWNERS, When
from shared.core.api_requests import Body, Ident
from shared.core.api_views import ResponseModel, absent

MAX_SUGGESTIONS = 20
MAX_ROOMS_PER_SUGGESTION = 10
MAX_DURATION_MINUTES = 1440
STEP_DEFAULT, STEP_MIN, STEP_MAX = 30, 5, 240
Feature = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class RoomWanted(Body):
    """A room for the meeting: only rooms that match every filter given are offered."""

    capacity: int = Field(default=1, ge=1, le=10_000, description="People the room must seat (places' capacity)")
    building: str | None = Field(default=None, min_length=1, max_length=200, description="Places' building")
    floor: str | None = Field(
        default=None, min_length=1, max_length=100, description="Places' floorLabel, or floorNumber as text"
    )
    features: list[Feature] = Field(
        default_factory=list, max_length=20, description="Places' tags the room must all have (any case)"
    )
    room_list: str | None = Field(
        default=None, min_length=1, max_length=200, description="The room list the room was imported from"
    )
    resources: list[Ident] = Field(
        default_factory=list, max_length=MAX_OWNERS, description="Only these resources (empty: every linked room)"
    )


class SuggestionsBody(Body):
    """POST /api/orgs/{org}/suggestions: times in [start, end) when the required workers are all
    free inside their working hours, best for the optional ones, with the rooms free throughout."""

    required: list[Ident] = Field(default_factory=list, max_length=MAX_OWNERS, description="Workers who must come")
    optional: list[Ident] = Field(default_factory=list, max_length=MAX_OWNERS, description="Workers who may come")
    duration_minutes: int = Field(ge=5, le=MAX_DURATION_MINUTES, description="How long the meeting is")
    start: When
    end: When
    time_zone: str = Field(
        default="UTC", min_length=1, max_length=100, description="IANA or Windows name; the answer's times use it"
    )
    step_minutes: int = Field(
        default=STEP_DEFAULT,
        ge=STEP_MIN,
        le=STEP_MAX,
        description="Suggestions start on this grid, counted from midnight in timeZone",
    )
    room: RoomWanted | None = Field(default=None, description="Also find a room; absent: no room")
    max_suggestions: int = Field(default=5, ge=1, le=MAX_SUGGESTIONS)
    rooms_per_suggestion: int = Field(default=3, ge=1, le=MAX_ROOMS_PER_SUGGESTION)


# -- the answer -----------------------------------------------------------------------------
class OptionalBusy(ResponseModel):
    """An optional worker who cannot come at that time, and why."""

    worker: str
    reason: str = Field(
        description="busy, tentative, oof, unknown (a block of that status there), outside_working_hours, or "
        "calendar_unavailable (the worker is in `unavailable`, with the reason)"
    )


class SuggestedRoom(ResponseModel):
    """A room free for the whole slot that matches the request (best fit first)."""

    resource: str
    name: str | None
    address: str
    capacity: int | None
    building: str | None = absent("when the places data has it")
    floor: str | None = absent("places' floorLabel, else floorNumber, when the places data has it")


class SuggestionView(ResponseModel):
    """A time every required worker is free for, inside their working hours."""

    start: str = Field(description="ISO 8601 with timeZone's offset")
    end: str
    optional_free: list[str] = Field(description="Optional workers who can come")
    optional_busy: list[OptionalBusy]
    rooms: list[SuggestedRoom] = absent("when a room was asked for: never empty then")


class SuggestionUnavailable(ResponseModel):
    """An optional worker or a room whose calendar could not be read: never counted as free."""

    worker: str = absent("for a worker")
    resource: str = absent("for a resource")
    code: str
    reason: str


class SuggestionsView(ResponseModel):
    """POST …/suggestions: the best times first (every required worker free, then the most
    optional ones, then the earliest)."""

    time_zone: str
    duration_minutes: int
    suggestions: list[SuggestionView]
    unavailable: list[SuggestionUnavailable]
    rooms_matching: int = absent("when a room was asked for: linked rooms that match the filters")
    rooms_asked: int = absent("when a room was asked for: how many of them were asked for their free/busy")
    graph_calls: int = Field(description="getSchedule calls made for this answer")
