"""getSchedule over HTTP (the behaviour: models.py)."""

from __future__ import annotations

from devtools.graph_emulator.core.wire import Call, Handler, Host, Reply
from devtools.graph_emulator.schedule import models as schedule


class ScheduleApi:
    """The free/busy route."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def routes(self) -> list[tuple[str, str, Handler]]:
        return [("POST", "/users/{user}/calendar/getSchedule", self.get_schedule)]

    async def get_schedule(self, call: Call) -> Reply:
        """calendar-getschedule.md; see models.py. The caller's mailbox must exist."""
        self.host.user(call)
        value = schedule.answer(self.host.world, call.tenant, call.json(), call.view().tz)
        context = self.host.context(call, "Collection(microsoft.graph.scheduleInformation)")
        return Reply(200, {"@odata.context": context, "value": value})
