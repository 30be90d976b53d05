"""Room check-in's request (POST /api/orgs/{org}/appointments/{appointment}/check-in), kept
apart like api_availability; its answer is api_views.RoomPresenceView."""

from __future__ import annotations

from pydantic import Field

from shared.core.api_requests import Body, Ident


class CheckInBody(Body):
    """Someone came to the room: its booking is never released."""

    resource: Ident = Field(description="The room (a resource of the appointment)")
    occurrence: str | None = Field(
        default=None,
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        description="For a series: the occurrence's original date (YYYY-MM-DD); absent otherwise",
    )
