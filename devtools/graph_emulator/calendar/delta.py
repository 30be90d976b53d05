"""calendarView delta over HTTP (docs/graph-emulator.md §2, §3.8): rounds, pages, tokens and
their expiry, what a round lists and removes."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from devtools.graph_emulator.calendar import series
from devtools.graph_emulator.calendar.models import DeltaState
from devtools.graph_emulator.calendar.render import render
from devtools.graph_emulator.calendar.series import in_window
from devtools.graph_emulator.calendar.window import window
from devtools.graph_emulator.core.errors import EXPIRED_DELTA_MESSAGES, GraphError
from devtools.graph_emulator.core.ids import immutable_of, parse_occurrence_id
from devtools.graph_emulator.core.wire import Call, Handler, Host, Reply, View
from devtools.graph_emulator.directory.models import User

DELTA_PAGE = 100

DELTA_REFUSED_OPTIONS = ("$select", "$expand", "$filter", "$orderby", "$search")  # event-delta.md


class DeltaApi:
    """The calendarView delta routes."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def routes(self) -> list[tuple[str, str, Handler]]:
        out: list[tuple[str, str, Handler]] = []
        for prefix in ("/users/{user}/calendarView", "/users/{user}/calendar/calendarView"):
            out += [("GET", prefix + "/delta()", self.delta), ("GET", prefix + "/delta", self.delta)]
        return out

    # -- delta -------------------------------------------------------------------------------
    def _delta_state(self, token: str, user: User) -> DeltaState:
        state = self.host.world.delta.get(token)
        if state is None or state.mailbox_id != user.id:
            raise GraphError(400, "BadRequest", "The delta token is not valid.")
        expired = self.host.world.delta_expiry(user.id, state.issued)
        if expired is not None:
            status, code = expired
            # delta-query-overview.md, "Synchronization reset": a 410 carries a Location header
            # with the initial request's URL. Nothing is documented for a 400; none is sent.
            headers = {"Location": state.initial_url} if status == 410 else {}
            raise GraphError(status, code, EXPIRED_DELTA_MESSAGES[code.lower()], headers)
        return state

    async def delta(self, call: Call) -> Reply:
        user = self.host.user(call)
        refused = [o for o in DELTA_REFUSED_OPTIONS if o in call.query]
        if refused:
            raise GraphError(
                400, "ErrorInvalidUrlQuery", f"The query parameter '{refused[0]}' is not supported with delta."
            )
        view = call.view()
        page = call.page_size(DELTA_PAGE, 1000) if call.prefer().get("odata.maxpagesize") else DELTA_PAGE
        if "$skiptoken" in call.query:
            state = self._delta_state(call.query["$skiptoken"], user)
        elif "$deltatoken" in call.query:
            prev = self._delta_state(call.query["$deltatoken"], user)
            state = self._next_round(user, prev)
        else:
            start, end = window(call)
            if end <= start:
                raise GraphError(400, "ErrorInvalidParameter", "The end of the time window must follow its start.")
            base_query = urlencode(
                {"startDateTime": call.query["startDateTime"], "endDateTime": call.query["endDateTime"]}
            )
            state = DeltaState(
                mailbox_id=user.id,
                tenant_id=call.tenant.id,
                start=start,
                end=end,
                seen={},
                seq=0,
                initial_url=f"{call.base}/users/{user.id}/calendarView/delta?{base_query}",
                issued=self.host.world.expiry_seq,
            )
            state = self._next_round(user, state, initial=True)
        values: list[dict[str, Any]] = []
        opening = state.first_page_empty
        if opening:
            state.first_page_empty = False  # Graph may open a round with an empty page and a nextLink
        else:
            while state.pending and len(values) < page:
                values.append(self._delta_item(state, state.pending.pop(0), view))
        body: dict[str, Any] = {"@odata.context": self.host.context(call, "Collection(event)"), "value": values}
        link = f"{call.base}/users/{user.id}/calendarView/delta"
        if state.pending or opening:
            token = self._store_state(state)
            body["@odata.nextLink"] = f"{link}?$skiptoken={token}"
        else:
            done = DeltaState(
                mailbox_id=state.mailbox_id,
                tenant_id=state.tenant_id,
                start=state.start,
                end=state.end,
                seen=dict(state.next_seen),
                seq=state.next_seq,
                initial_url=state.initial_url,
                issued=state.issued,
            )
            body["@odata.deltaLink"] = f"{link}?$deltatoken={self._store_state(done)}"
        headers = {"Preference-Applied": f"odata.maxpagesize={page}"} if call.prefer().get("odata.maxpagesize") else {}
        return Reply(200, body, headers)

    def _store_state(self, state: DeltaState) -> str:
        token = base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode().rstrip("=")
        # Each response gets its own token: replaying an older link works, as in Graph.
        self.host.world.delta[token] = DeltaState(**{**state.__dict__, "pending": list(state.pending)})
        return token

    def _next_round(self, user: User, prev: DeltaState, *, initial: bool = False) -> DeltaState:
        """What changed in the window since `prev` (everything, on an initial round)."""
        mailbox = self.host.world.mailbox(user.id)
        ordered: list[tuple[datetime, str, dict[str, Any]]] = []
        next_seen: dict[str, str] = {}
        # The window's content: single events, occurrences and exceptions (never a master).
        for event in series.view(self.host.world, user.id, prev.start, prev.end):
            next_seen[event.rest_id] = event.change_key
            if prev.seen.get(event.rest_id) != event.change_key:
                ordered.append((event.start, event.rest_id, {"id": event.rest_id}))
        if self.host.world.faults.delta_series_masters:
            for event in mailbox.values():
                if event.kind == "seriesMaster" and series.instances(self.host.world, event, prev.start, prev.end):
                    next_seen[event.rest_id] = event.change_key
                    if prev.seen.get(event.rest_id) != event.change_key:
                        ordered.append((event.start, event.rest_id, {"id": event.rest_id, "master": True}))
        for event in mailbox.values():
            if event.kind == "seriesMaster" or event.rest_id in next_seen:
                continue
            if event.rest_id in prev.seen or (not initial and event.seq > prev.seq):
                # Left the window, or changed outside it: Graph reports both as removed.
                item = {"id": event.rest_id, "removed": True, "immutable": event.immutable_id}
                ordered.append((event.start, event.rest_id, item))
        pending = [item for _s, _r, item in sorted(ordered, key=lambda t: (t[0], t[1]))]
        if not initial:
            for rest_id, (seq, immutable, _s, _e) in self.host.world.tombstones.get(user.id, {}).items():
                if rest_id not in next_seen and (rest_id in prev.seen or seq > prev.seq):
                    pending.append({"id": rest_id, "removed": True, "immutable": immutable})
            # Anything else the client has that is no longer in the window (an occurrence of a
            # series that was re-timed or deleted, an event that became a series master).
            for rest_id in prev.seen:
                if rest_id not in next_seen:
                    pending.append({"id": rest_id, "removed": True, "immutable": immutable_of(rest_id)})
        if not self.host.world.faults.delta_occurrence_removals:
            pending = [i for i in pending if not (i.get("removed") and self._cancelled_occurrence(user.id, i["id"]))]
        seen_ids = set()
        unique = []
        for item in pending:
            if item["id"] not in seen_ids:
                seen_ids.add(item["id"])
                unique.append(item)
        if self.host.world.faults.delta_repeats:
            # delta-query-overview.md: "a single entity will be contained multiple times in the
            # response"; each item comes again at the end of the round (rendered then: latest wins).
            unique += [dict(item) for item in unique]
        return DeltaState(
            mailbox_id=user.id,
            tenant_id=prev.tenant_id,
            start=prev.start,
            end=prev.end,
            seen=prev.seen,
            seq=prev.seq,
            initial_url=prev.initial_url,
            pending=unique,
            next_seen=next_seen,
            next_seq=self.host.world.mailbox_seq.get(user.id, 0),
            first_page_empty=initial,
            issued=prev.issued,
        )

    def _cancelled_occurrence(self, mailbox_id: str, rest_id: str) -> bool:
        """A deleted occurrence of a series that still exists."""
        parsed = parse_occurrence_id(rest_id)
        master = self.host.world.find_event(mailbox_id, parsed[0]) if parsed else None
        return parsed is not None and master is not None and parsed[1] in master.cancelled

    def _delta_item(self, state: DeltaState, item: dict[str, Any], view: View) -> dict[str, Any]:
        event = series.lookup(self.host.world, state.mailbox_id, item["id"])
        removed = item.get("removed") or event is None or (event.kind == "seriesMaster" and not item.get("master"))
        if removed or event is None or (not item.get("master") and not in_window(event, state.start, state.end)):
            immutable = item.get("immutable") or (event.immutable_id if event else immutable_of(item["id"]))
            return {
                "@odata.type": "#microsoft.graph.event",
                "id": immutable if view.immutable else item["id"],
                "@removed": {"reason": "deleted"},
            }
        state.next_seen[event.rest_id] = event.change_key  # the client now has this version
        full = render(self.host.world, event, View(tz=view.tz, immutable=view.immutable, text_body=view.text_body))
        if event.kind == "occurrence":
            # Graph's delta answers an occurrence with these properties only (docs-contrib issues
            # #34 and #5602; event-delta.md promises "the same properties" as calendarView).
            keep = ("@odata.etag", "id", "seriesMasterId", "type", "start", "end")
            return {"@odata.type": "#microsoft.graph.event", **{k: full[k] for k in keep}}
        # Every documented delta item names its type (delta-query-events.md; docs-contrib #34).
        return {"@odata.type": "#microsoft.graph.event", **full}
