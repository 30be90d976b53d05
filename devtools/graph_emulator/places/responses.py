"""Rooms and room lists over HTTP: `/places/microsoft.graph.room`, `…roomlist`, a list's rooms
(docs/graph-emulator.md §4)."""

from __future__ import annotations

from typing import Any

from devtools.graph_emulator.core.errors import GraphError
from devtools.graph_emulator.core.odata import ODataError, apply_select, parse_filter
from devtools.graph_emulator.core.wire import Call, Handler, Host, Reply
from devtools.graph_emulator.directory.models import User

PLACES_PAGE = 100  # place-list.md: "By default, this operation returns 100 places per page."

PLACES_MAX_TOP = 1000  # docs silent; issues report $top=999, 1000 and 10000 accepted


class PlacesApi:
    """The places routes."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def routes(self) -> list[tuple[str, str, Handler]]:
        out: list[tuple[str, str, Handler]] = []
        for cast in ("microsoft.graph", "graph"):  # OData lets the namespace be its alias
            out += [
                ("GET", f"/places/{cast}.room", self.list_rooms),
                ("GET", f"/places/{cast}.roomlist", self.list_room_lists),
                ("GET", f"/places/{{list}}/{cast}.roomlist/rooms", self.rooms_in_list),
            ]
        return out

    # -- places ------------------------------------------------------------------------------
    def _room_json(self, room: User) -> dict[str, Any]:
        place = room.place
        return {
            "id": room.place_id,
            "emailAddress": room.mail,
            "displayName": room.display_name,
            "address": {"street": "", "city": "", "state": "", "countryOrRegion": "", "postalCode": ""},
            "geoCoordinates": None,
            "phone": None,
            "nickname": room.display_name,
            "label": None,
            "capacity": place.get("capacity", 10),
            "building": place.get("building"),
            "floorLabel": place.get("floorLabel"),
            "floorNumber": place.get("floorNumber"),
            "isWheelChairAccessible": False,
            "bookingType": place.get("bookingType", "standard"),
            "tags": place.get("tags", []),
            "audioDeviceName": None,
            "videoDeviceName": None,
            "displayDeviceName": None,
        }

    def _places(self, call: Call, items: list[dict[str, Any]], context: str) -> Reply:
        """place-list.md: 100 per page by default, $top, $skip, $filter, $select, $count=true.
        Graph never sends @odata.nextLink here (docs-contrib issues #341, #6252, #7196): a
        client pages with $top/$skip itself and stops at a short page."""
        try:
            top = int(call.query.get("$top", PLACES_PAGE))
            skip = int(call.query.get("$skip", 0))
        except ValueError:
            raise GraphError(400, "BadRequest", "$top and $skip must be integers.") from None
        if not 1 <= top <= PLACES_MAX_TOP or skip < 0:
            raise GraphError(400, "BadRequest", f"$top must be between 1 and {PLACES_MAX_TOP} and $skip at least 0.")
        if call.query.get("$filter"):
            try:
                pred = parse_filter(call.query["$filter"])
            except ODataError as exc:
                raise GraphError(400, "BadRequest", str(exc)) from None
            items = [i for i in items if pred(i)]
        items = [apply_select(i, call.query.get("$select"), keep=()) for i in items]
        body: dict[str, Any] = {"@odata.context": context}
        if call.query.get("$count", "").lower() == "true":
            body["@odata.count"] = len(items)
        body["value"] = items[skip : skip + top]
        return Reply(200, body)

    async def list_rooms(self, call: Call) -> Reply:
        rooms = [self._room_json(u) for u in call.tenant.users.values() if u.user_purpose == "room"]
        return self._places(call, rooms, self.host.context(call, "places/microsoft.graph.room"))

    async def list_room_lists(self, call: Call) -> Reply:
        lists = [
            {
                "id": rl.id,
                "displayName": rl.display_name,
                "emailAddress": rl.email,
                "phone": None,
                "geoCoordinates": None,
                "address": None,
            }
            for rl in call.tenant.room_lists
        ]
        return self._places(call, lists, self.host.context(call, "places/microsoft.graph.roomlist"))

    async def rooms_in_list(self, call: Call) -> Reply:
        # place-list.md: "you must specify the room list by its emailAddress property, not by its id."
        wanted = call.params["list"].lower()
        room_list = next((rl for rl in call.tenant.room_lists if rl.email.lower() == wanted), None)
        if room_list is None:
            raise GraphError(404, "ErrorItemNotFound", f"The room list '{call.params['list']}' was not found.")
        rooms = [
            self._room_json(call.tenant.users[i])
            for i in room_list.rooms
            if i in call.tenant.users and call.tenant.users[i].user_purpose == "room"
        ]
        return self._places(
            call, rooms, self.host.context(call, f"places('{room_list.email}')/microsoft.graph.roomlist/rooms")
        )
