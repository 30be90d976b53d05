"""A request as handlers see it (`Call`: path, query, Prefer, body, tenant) and the answer they
give (`Reply`); Graph's error body; `Host`, what an area's routes may use of the emulator."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from multidict import CIMultiDict

from devtools.graph_emulator.core.errors import GraphError
from devtools.graph_emulator.core.ids import new_guid
from devtools.graph_emulator.core.odata import ODataError, parse_expand_extended
from shared.core.timezones import UnknownTimeZone, zone

if TYPE_CHECKING:
    from devtools.graph_emulator.calendar.models import Event
    from devtools.graph_emulator.core.world import World
    from devtools.graph_emulator.directory.models import Tenant, User
    from devtools.graph_emulator.subscriptions.notify import Notifier


JSON_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"


@dataclass(frozen=True)
class View:
    """How the caller wants events rendered (from its Prefer headers and query)."""

    tz: str = "UTC"
    immutable: bool = False
    text_body: bool = False
    expand: Callable[[dict[str, Any]], bool] | None = None


@dataclass
class Call:
    method: str
    path: str  # below /v1.0, e.g. /users/{id}/events
    query: dict[str, str]
    headers: CIMultiDict[str]
    body: bytes
    tenant: Tenant
    app_id: str
    base: str  # http://host:port/v1.0
    pattern: str = ""
    mailbox: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload.") from None

    def prefer(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for header in self.headers.getall("Prefer", []):
            for part in header.split(","):
                key, _, value = part.strip().partition("=")
                if key:
                    out[key.strip().lower()] = value.strip().strip('"')
        return out

    def view(self) -> View:
        prefer = self.prefer()
        tz = prefer.get("outlook.timezone") or "UTC"
        try:
            zone(tz)
        except UnknownTimeZone:
            raise GraphError(
                400,
                "TimeZoneNotSupportedException",
                f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{tz}'.",
            ) from None
        try:
            expand = parse_expand_extended(self.query.get("$expand"))
        except ODataError as exc:
            raise GraphError(400, "BadRequest", str(exc)) from None
        return View(
            tz=tz,
            immutable=prefer.get("idtype", "").lower() == "immutableid",
            text_body=prefer.get("outlook.body-content-type", "").lower() == "text",
            expand=expand,
        )

    def page_size(self, default: int, maximum: int = 1000) -> int:
        value = self.query.get("$top") or self.prefer().get("odata.maxpagesize")
        try:
            return max(1, min(int(value), maximum)) if value else default
        except ValueError:
            raise GraphError(400, "BadRequest", f"Invalid page size '{value}'.") from None


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Awaitable[Reply]]


def error_body(code: str, message: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": new_guid(),
                "client-request-id": new_guid(),
            },
        }
    }


class Host(Protocol):
    """What an area's routes use of the emulator (devtools.graph_emulator.app.Emulator)."""

    world: World
    notifier: Notifier

    def user(self, call: Call, *, mailbox: bool = True) -> User: ...
    def event(self, call: Call, user: User) -> Event: ...
    def context(self, call: Call, fragment: str) -> str: ...
    def page(self, call: Call, items: list[Any], context: str, default: int, maximum: int = 1000) -> Reply: ...
    def notify(self, event: Event, change_type: str) -> None: ...
    async def handle(self, call: Call) -> Reply: ...
