"""FakeGraph's getSchedule: what the gateway answers from the emulator's
devtools/graph_emulator/schedule/models.py, computed from the fake's own events (UTC times)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.core.errors import GraphRejected

if TYPE_CHECKING:
    from tests.fakes.graph import FakeEvent, FakeTenant

MAX_SCHEDULES = 20  # per getSchedule call (the gateway chunks; the documented limit)
MAX_RANGE = timedelta(days=62)
DIGITS = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
STRENGTH = {"free": 0, "unknown": 0, "workingElsewhere": 1, "tentative": 2, "busy": 3, "oof": 4}
WORKING_HOURS = {
    "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
    "startTime": "08:00:00.0000000",
    "endTime": "17:00:00.0000000",
    "timeZone": {"name": "UTC"},  # the fake's users all live in UTC (the emulator's default)
}


def _rejected(code: str, message: str) -> GraphRejected:
    return GraphRejected(f"{code}: {message}", graph_status=400, graph_code=code)


def _fmt(dt: datetime) -> dict[str, str]:
    utc = dt.astimezone(UTC)
    return {"dateTime": utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond * 10:07d}", "timeZone": "UTC"}


def check(start: datetime, end: datetime, interval_minutes: int) -> None:
    """The emulator's 400s (calendar-getschedule.md; concepts/outlook-get-free-busy-schedule.md)."""
    if not 5 <= interval_minutes <= 1440:
        raise _rejected("ErrorInvalidParameter", "availabilityViewInterval must be between 5 and 1440 minutes.")
    if end <= start:
        raise _rejected("ErrorInvalidParameter", "endTime must be after startTime.")
    if end - start >= MAX_RANGE:
        raise _rejected("ErrorInvalidParameter", "The time period to look up must be less than 62 days.")


def schedule_info(
    tenant: FakeTenant,
    events: dict[str, dict[str, FakeEvent]],
    address: str,
    start: datetime,
    end: datetime,
    interval_minutes: int,
) -> dict[str, Any]:
    wanted = address.strip().lower()
    found = [u for u in tenant.users.values() if wanted in u.addresses()]
    user = found[0] if len(found) == 1 else None
    if user is None or not user.has_mailbox:
        return {
            "scheduleId": address,
            "error": {
                "message": f"Unable to resolve e-mail address {address} to an Active Directory object.",
                "responseCode": "5009",
            },
        }
    items = sorted(
        (
            ev
            for ev in events.get(user.id, {}).values()
            if ev.kind != "seriesMaster" and not ev.is_cancelled and ev.start < end and start < ev.end
        ),
        key=lambda ev: (ev.start, ev.id),
    )
    step = timedelta(minutes=interval_minutes)
    view = []
    for n in range(math.ceil((end - start) / step)):
        s, e = start + n * step, min(start + (n + 1) * step, end)
        here = [ev.show_as for ev in items if ev.start < e and s < ev.end]
        view.append(DIGITS.get(max(here, key=lambda x: STRENGTH.get(x, 0), default="free"), "0"))
    rendered = []
    for ev in items:
        item: dict[str, Any] = {"status": ev.show_as}
        if ev.sensitivity in ("normal", "personal"):
            item.update({"isPrivate": False, "subject": ev.subject, "location": ev.location})
        else:
            item["isPrivate"] = True
        rendered.append({**item, "start": _fmt(ev.start), "end": _fmt(ev.end)})
    return {
        "scheduleId": address,
        "availabilityView": "".join(view),
        "scheduleItems": rendered,
        "workingHours": dict(WORKING_HOURS),
    }
