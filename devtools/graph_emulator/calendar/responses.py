"""Events over HTTP: `/users/{id}/events` (list, create, get, PATCH, DELETE, instances, the
meeting actions) and `/users/{id}/calendarView`. Behaviour is in bodies.py, meetings.py,
series.py and online.py; the wire format in render.py."""

from __future__ import annotations

from typing import Any

from devtools.graph_emulator.calendar import meetings, series
from devtools.graph_emulator.calendar.bodies import apply_body, new_event
from devtools.graph_emulator.calendar.models import Event
from devtools.graph_emulator.calendar.render import filter_view, render
from devtools.graph_emulator.calendar.window import window
from devtools.graph_emulator.core.errors import GraphError
from devtools.graph_emulator.core.ids import new_change_key
from devtools.graph_emulator.core.odata import ODataError, apply_select, parse_filter
from devtools.graph_emulator.core.wire import Call, Handler, Host, Reply

LIST_PAGE = 10  # Graph's default page size for events and calendarView

ACTIONS = ("cancel", "accept", "decline", "tentativelyAccept")


class EventsApi:
    """The events routes."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def routes(self) -> list[tuple[str, str, Handler]]:
        out: list[tuple[str, str, Handler]] = []
        for prefix in ("/users/{user}/events", "/users/{user}/calendar/events"):
            out += [
                ("GET", prefix, self.list_events),
                ("POST", prefix, self.create_event),
                ("GET", prefix + "/{event}", self.get_event),
                ("GET", prefix + "/{event}/instances", self.list_instances),
                ("PATCH", prefix + "/{event}", self.update_event),
                ("DELETE", prefix + "/{event}", self.delete_event),
            ]
            out += [("POST", prefix + "/{event}/" + action, self.event_action) for action in ACTIONS]
        for prefix in ("/users/{user}/calendarView", "/users/{user}/calendar/calendarView"):
            out.append(("GET", prefix, self.calendar_view))
        return out

    # -- events ------------------------------------------------------------------------------
    async def list_events(self, call: Call) -> Reply:
        user = self.host.user(call)
        view = call.view()
        # resources/event.md, "List events": "single instance meetings and series masters".
        items = sorted(
            (e for e in self.host.world.mailbox(user.id).values() if e.kind in ("singleInstance", "seriesMaster")),
            key=lambda e: (e.start, e.rest_id),
        )
        rendered = [(e, render(self.host.world, e, view)) for e in items]
        if call.query.get("$filter"):
            try:
                pred = parse_filter(call.query["$filter"])
            except ODataError as exc:
                raise GraphError(400, "BadRequest", str(exc)) from None
            rendered = [(e, r) for e, r in rendered if pred(filter_view(e, r))]
        values = [apply_select(r, call.query.get("$select")) for _, r in rendered]
        return self.host.page(call, values, self.host.context(call, f"users('{user.id}')/events"), LIST_PAGE)

    async def get_event(self, call: Call) -> Reply:
        user = self.host.user(call)
        event = self.host.event(call, user)
        rendered = render(self.host.world, event, call.view())
        select = call.query.get("$select")
        if event.kind == "seriesMaster" and select:
            # resources/event.md: "Returned only on $select in a Get operation which specifies
            # the id of a series master event" (apply_select keeps it only if selected).
            rendered["cancelledOccurrences"] = series.cancelled_occurrences(event, rendered["id"])
        body = apply_select(rendered, select)
        return Reply(200, {"@odata.context": self.host.context(call, f"users('{user.id}')/events/$entity"), **body})

    async def create_event(self, call: Call) -> Reply:
        user = self.host.user(call)
        body = call.json()
        view = call.view()
        if not isinstance(body, dict):
            raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
        txn = body.get("transactionId")
        if txn:
            for existing in self.host.world.mailbox(user.id).values():
                if existing.transaction_id == txn:
                    # A retried create with the same transactionId returns the event already made.
                    return Reply(
                        201,
                        {
                            "@odata.context": self.host.context(call, f"users('{user.id}')/events/$entity"),
                            **render(self.host.world, existing, view),
                        },
                    )
        event = new_event(user, body)
        apply_body(self.host.world, event, body, creating=True)
        self.host.world.add_event(event)
        self.host.notify(event, "created")
        self.host.notify(event, "updated")  # Graph is seen sending both for one create
        if event.attendees:
            meetings.sync_meeting(self.host.world, event, self.host.notify, [])
        return Reply(
            201,
            {
                "@odata.context": self.host.context(call, f"users('{user.id}')/events/$entity"),
                **render(self.host.world, event, view),
            },
        )

    async def update_event(self, call: Call) -> Reply:
        user = self.host.user(call)
        event = self.host.event(call, user)
        if event.kind in ("occurrence", "exception"):
            self._update_instance(event, call.json())
        else:
            before = [a.address for a in event.attendees]
            timing = (event.recurrence, event.start, event.end, event.start_tz, event.is_all_day)
            changed = apply_body(self.host.world, event, call.json(), creating=False)
            if changed:
                # A series whose pattern or time changed loses its exceptions and deletions
                # (docs silent; as Outlook does, and the less forgiving choice).
                retimed = timing[0] is not None and timing != (
                    event.recurrence,
                    event.start,
                    event.end,
                    event.start_tz,
                    event.is_all_day,
                )
                if event.kind == "seriesMaster":
                    event.series_key = new_change_key()  # every occurrence changes with it
                    if retimed:
                        series.drop_instances(self.host.world, event, self.host.notify)
                    else:
                        series.inherit(self.host.world, event, changed, self.host.notify)
                self.host.world.touch(event)
                self.host.notify(event, "updated")
                if event.is_organizer and (event.attendees or before):
                    meetings.sync_meeting(self.host.world, event, self.host.notify, before, retimed=retimed)
        return Reply(
            200,
            {
                "@odata.context": self.host.context(call, f"users('{user.id}')/events/$entity"),
                **render(self.host.world, event, call.view()),
            },
        )

    def _update_instance(self, event: Event, body: Any) -> None:
        """PATCH of one occurrence: it becomes an exception (resources/event.md, `type`)."""
        master = series.master_of(self.host.world, event)
        assert master is not None
        changed = apply_body(self.host.world, event, body, creating=False)
        if not changed:
            return
        event.overrides |= changed & series.INHERITED.keys()
        if event.kind == "occurrence":
            series.make_exception(self.host.world, event)
        else:
            self.host.world.touch(event)
        self.host.notify(event, "updated")
        self.host.notify(master, "updated")
        if event.is_organizer and master.attendees:
            meetings.sync_occurrence(self.host.world, master, event, self.host.notify, cancelled=False)

    def _delete(self, event: Event) -> None:
        """event-delete.md: a single event, a whole series (its master), or one occurrence."""
        if event.kind in ("occurrence", "exception"):
            master = series.master_of(self.host.world, event)
            assert master is not None
            series.cancel_occurrence(self.host.world, event)
            self.host.notify(event, "deleted")
            self.host.notify(master, "updated")
            if event.is_organizer and master.attendees:
                meetings.sync_occurrence(self.host.world, master, event, self.host.notify, cancelled=True)
            return
        if event.kind == "seriesMaster":
            series.remove_series(self.host.world, event, self.host.notify)
        else:
            self.host.world.remove_event(event)
        self.host.notify(event, "deleted")
        if event.is_organizer and event.attendees:
            meetings.cancel_meeting(self.host.world, event, self.host.notify)

    async def delete_event(self, call: Call) -> Reply:
        user = self.host.user(call)
        self._delete(self.host.event(call, user))
        return Reply(204)

    async def event_action(self, call: Call) -> Reply:
        user = self.host.user(call)
        event = self.host.event(call, user)
        action = call.path.rstrip("/").rsplit("/", 1)[1]
        call.json()  # the body (comment, sendResponse) must at least be JSON
        if action.lower() == "cancel":
            if not event.is_organizer:
                raise GraphError(400, "ErrorInvalidRequest", "You need to be an organizer to cancel a meeting.")
            self._delete(event)  # the organizer's item moves to Deleted Items; attendees' are cancelled
        else:
            canonical = {"accept": "accept", "decline": "decline", "tentativelyaccept": "tentativelyAccept"}
            meetings.respond(self.host.world, event, canonical[action.lower()], self.host.notify)
        return Reply(202)

    async def calendar_view(self, call: Call) -> Reply:
        user = self.host.user(call)
        start, end = window(call)
        view = call.view()
        items = series.view(self.host.world, user.id, start, end)  # occurrences and exceptions, never masters
        values = [apply_select(render(self.host.world, e, view), call.query.get("$select")) for e in items]
        return self.host.page(call, values, self.host.context(call, f"users('{user.id}')/calendarView"), LIST_PAGE)

    async def list_instances(self, call: Call) -> Reply:
        """event-list-instances.md: startDateTime and endDateTime are required; a seriesMaster
        answers its occurrences and exceptions in the window."""
        user = self.host.user(call)
        event = self.host.event(call, user)
        start, end = window(call)
        if event.kind != "seriesMaster":  # docs silent for other types: refused
            raise GraphError(400, "ErrorInvalidRequest", "The event is not the master of a recurring series.")
        view = call.view()
        items = series.instances(self.host.world, event, start, end)
        values = [apply_select(render(self.host.world, e, view), call.query.get("$select")) for e in items]
        eid = event.immutable_id if view.immutable else event.rest_id
        return self.host.page(
            call, values, self.host.context(call, f"users('{user.id}')/events('{eid}')/instances"), LIST_PAGE
        )
