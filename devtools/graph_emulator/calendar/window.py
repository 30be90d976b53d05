"""The time window a calendarView, its delta or instances asks for (startDateTime, endDateTime)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devtools.graph_emulator.core.errors import GraphError
from devtools.graph_emulator.core.wire import Call

MAX_WINDOW_DAYS = 1825  # calendarView: "Maximum number of days: 1825" (docs-contrib issue #6321)


def window(call: Call) -> tuple[datetime, datetime]:
    try:
        start = call.query["startDateTime"]
        end = call.query["endDateTime"]
    except KeyError:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters "
            "StartDateTime and EndDateTime.",
        ) from None
    try:
        s = datetime.fromisoformat(start.replace("Z", "+00:00"))
        e = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        raise GraphError(400, "ErrorInvalidParameter", "The time window parameters are not valid dates.") from None
    s = s if s.tzinfo else s.replace(tzinfo=UTC)
    e = e if e.tzinfo else e.replace(tzinfo=UTC)
    if e - s > timedelta(days=MAX_WINDOW_DAYS):
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            "Your request can't be completed. The range between the start and end dates is greater than the "
            f"allowed range. Maximum number of days: {MAX_WINDOW_DAYS}",
        )
    return s.astimezone(UTC), e.astimezone(UTC)
