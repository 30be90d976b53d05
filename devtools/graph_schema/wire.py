"""Which schema type each Graph call the emulator serves takes and answers.

Keys are (method, path pattern) as the emulator routes them; `/users/{user}/calendar/events…`
and `/…/delta()` are the same calls as their shorter forms. A request type `action:<name>`
names a bound action's parameters; a response type `value:<type>` a `{"value": …}` wrapper of a
primitive or enum (a property read alone, e.g. mailboxSettings/userPurpose).
"""

from __future__ import annotations

from typing import Any

from devtools.graph_schema.check import action_problems, problems

EVENT, EVENTS = "graph.event", "Collection(graph.event)"
LISTS, TASKS, LINKS = "/users/{user}/todo/lists", "/users/{user}/todo/lists/{list}/tasks", "/linkedResources"

REQUESTS: dict[tuple[str, str], str] = {
    ("POST", "/users/{user}/events"): EVENT,
    ("PATCH", "/users/{user}/events/{event}"): EVENT,
    ("POST", "/users/{user}/events/{event}/accept"): "action:event.accept",
    ("POST", "/users/{user}/events/{event}/decline"): "action:event.decline",
    ("POST", "/users/{user}/events/{event}/cancel"): "action:event.cancel",
    ("POST", "/users/{user}/calendar/getSchedule"): "action:calendar.getSchedule",
    ("POST", "/subscriptions"): "graph.subscription",
    ("PATCH", "/subscriptions/{sub}"): "graph.subscription",
    ("POST", LISTS): "graph.todoTaskList",
    ("PATCH", LISTS + "/{list}"): "graph.todoTaskList",
    ("POST", TASKS): "graph.todoTask",
    ("PATCH", TASKS + "/{task}"): "graph.todoTask",
    ("POST", TASKS + "/{task}" + LINKS): "graph.linkedResource",
    ("PATCH", TASKS + "/{task}" + LINKS + "/{link}"): "graph.linkedResource",
}

RESPONSES: dict[tuple[str, str], str] = {
    ("GET", "/users"): "Collection(graph.user)",
    ("GET", "/users/{user}"): "graph.user",
    ("GET", "/users/{user}/mailboxSettings"): "graph.mailboxSettings",
    ("GET", "/users/{user}/mailboxSettings/userPurpose"): "value:graph.userPurpose",
    ("POST", "/users/{user}/calendar/getSchedule"): "Collection(graph.scheduleInformation)",
    ("GET", "/users/{user}/events"): EVENTS,
    ("POST", "/users/{user}/events"): EVENT,
    ("GET", "/users/{user}/events/{event}"): EVENT,
    ("PATCH", "/users/{user}/events/{event}"): EVENT,
    ("GET", "/users/{user}/events/{event}/instances"): EVENTS,
    ("GET", "/users/{user}/calendarView"): EVENTS,
    ("GET", "/users/{user}/calendarView/delta"): EVENTS,
    ("GET", "/places/microsoft.graph.room"): "Collection(graph.room)",
    ("GET", "/places/microsoft.graph.roomlist"): "Collection(graph.roomList)",
    ("GET", "/places/{list}/microsoft.graph.roomlist/rooms"): "Collection(graph.room)",
    ("GET", "/subscriptions"): "Collection(graph.subscription)",
    ("POST", "/subscriptions"): "graph.subscription",
    ("GET", "/subscriptions/{sub}"): "graph.subscription",
    ("PATCH", "/subscriptions/{sub}"): "graph.subscription",
    ("GET", LISTS + "/delta"): "Collection(graph.todoTaskList)",
    ("GET", LISTS): "Collection(graph.todoTaskList)",
    ("POST", LISTS): "graph.todoTaskList",
    ("GET", LISTS + "/{list}"): "graph.todoTaskList",
    ("PATCH", LISTS + "/{list}"): "graph.todoTaskList",
    ("GET", TASKS + "/delta"): "Collection(graph.todoTask)",
    ("GET", TASKS): "Collection(graph.todoTask)",
    ("POST", TASKS): "graph.todoTask",
    ("GET", TASKS + "/{task}"): "graph.todoTask",
    ("PATCH", TASKS + "/{task}"): "graph.todoTask",
    ("GET", TASKS + "/{task}" + LINKS): "Collection(graph.linkedResource)",
    ("POST", TASKS + "/{task}" + LINKS): "graph.linkedResource",
    ("GET", TASKS + "/{task}" + LINKS + "/{link}"): "graph.linkedResource",
    ("PATCH", TASKS + "/{task}" + LINKS + "/{link}"): "graph.linkedResource",
}


def _key(method: str, pattern: str) -> tuple[str, str]:
    pattern = pattern.replace("/calendar/events", "/events").replace("/calendar/calendarView", "/calendarView")
    pattern = pattern.removesuffix("()").replace("/graph.", "/microsoft.graph.")
    return method.upper(), pattern


def request_problems(method: str, pattern: str, body: Any) -> list[str]:
    """What the schema does not allow in a request body calsync (or a test) sends."""
    kind = REQUESTS.get(_key(method, pattern))
    if kind is None or body is None:
        return []
    if kind.startswith("action:"):
        return action_problems(kind.removeprefix("action:"), body)
    return problems(kind, body, exact=False)


def response_problems(method: str, pattern: str, body: Any, *, exact: bool = True) -> list[str]:
    """What the schema does not allow in an answer the emulator gives (`exact`: enum members
    in their own case)."""
    kind = RESPONSES.get(_key(method, pattern))
    if kind is None or not isinstance(body, dict):
        return []
    if kind.startswith("value:"):
        return problems(kind.removeprefix("value:"), body.get("value"), "value", exact=exact)
    if kind.startswith("Collection("):
        return problems(kind, body.get("value"), "value", exact=exact)
    return problems(kind, body, exact=exact)
