"""Free/busy through Graph's getSchedule (api-reference/v1.0/api/calendar-getschedule.md),
mixed into GraphGateway. The request is built from msgraph-sdk's getSchedule builder (its
URL template) with a raw JSON body, and the answer read as raw JSON (GRAPH-FACTS §9)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation

from shared.adapters.graph_transport import GraphTransport, with_body
from shared.core.availability import MAX_SCHEDULES_PER_CALL, chunks

_UTC_TIMES = 'outlook.timezone="UTC"'


def _utc(at: datetime) -> dict[str, str]:
    return {"dateTime": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


class GraphScheduleMixin(GraphTransport):
    async def get_schedule(
        self,
        tenant_id: str,
        caller_mailbox_id: str,
        addresses: list[str],
        start: datetime,
        end: datetime,
        interval_minutes: int,
    ) -> list[dict[str, Any]]:
        """Graph's scheduleInformation for each address, in order, times in UTC; asked through
        `caller_mailbox_id`'s calendar, 20 addresses a call (the documented limit; concepts/
        outlook-get-free-busy-schedule.md). An address Graph cannot resolve is an entry with
        `error`; a failed call raises its GraphError."""
        client, _ = self.client(tenant_id)
        builder = client.users.by_user_id(caller_mailbox_id).calendar.get_schedule
        out: list[dict[str, Any]] = []
        for chunk in chunks(addresses, MAX_SCHEDULES_PER_CALL):
            info = RequestInformation(Method.POST, builder.url_template, builder.path_parameters)
            info.headers.try_add("Accept", "application/json")
            body = {
                "schedules": chunk,
                "startTime": _utc(start),
                "endTime": _utc(end),
                "availabilityViewInterval": interval_minutes,
            }
            data = await self.send(
                tenant_id, with_body(info, Method.POST, body, prefer=(_UTC_TIMES,)), mailbox=caller_mailbox_id
            )
            out.extend((data or {}).get("value", []))
        return out
