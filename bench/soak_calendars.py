"""The soak's calendar invariants (bench/soak.py), checked at quiescence against the emulator
and the API:

- no mailbox holds two live events (or series) for one appointment — its own, or a meeting's
  copies (by the organizer's iCalUId);
- each calendar holds exactly the events the booking product wants (soak_world.expected),
  with its title, times, location and attendees, and the appointment's targets name them;
- a series: one master per wanted mailbox, and its instances are the booking's occurrences
  (cancelled ones gone, moved or retitled ones as the booking changed them);
- an online appointment with an organizer meeting: the view and the organizer target carry
  the same `joinUrl`, and the meeting in the organizer's calendar `isOnlineMeeting`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.soak_state import SoakState
from bench.soak_world import PROPERTY_ID, Appt, OrgModel, Want, event_content, expected, tag, zulu


class Calendars(SoakState):
    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Every mailbox's events (single ones and series masters, never instances)."""
        out: dict[str, list[dict[str, Any]]] = {}
        expand = f"singleValueExtendedProperties($filter=id eq '{PROPERTY_ID}')"
        for box in self.boxes.values():
            out[box.id] = self.g_all(f"/users/{box.id}/calendar/events", {"$top": "1000", "$expand": expand})
        for events in out.values():
            for e in events:
                value = tag(e)
                if value and e.get("isOrganizer"):
                    self.ical_owner[e["iCalUId"]] = value
        for mailbox, events in out.items():
            for e in events:
                value = tag(e) or self.ical_owner.get(e.get("iCalUId") or "")
                if value:
                    self.event_owner[(mailbox, e["id"])] = value
        return out

    def check_calendars(self) -> None:
        snap = self.snapshot()
        # No mailbox holds two live events for one appointment (its own or a meeting's copies).
        for mailbox, events in snap.items():
            owners = Counter(
                tag(e) or self.ical_owner.get(e.get("iCalUId") or "") for e in events if not e.get("isCancelled")
            )
            owners.pop(None, None)
            owners.pop("", None)
            for owner, n in owners.items():
                self.check(
                    "calendar: one event per appointment and mailbox",
                    n == 1,
                    f"{self.by_id[mailbox].upn} holds {n} live events of {owner}",
                )
        ours: dict[str, dict[str, dict[str, Any]]] = {}
        for mailbox, events in snap.items():
            for e in events:
                value = tag(e)
                if value and not e.get("isCancelled"):
                    ours.setdefault(value, {})[mailbox] = e
        known = {f"{o.id}/{a}" for o in self.orgs.values() for a in o.appts}
        for value in ours:
            self.check("calendar: no stray events", value in known, f"events of unknown appointment {value}")
        for org in self.orgs.values():
            for appt in org.appts.values():
                if appt.put_once:
                    self.check_appointment(org, appt, ours.get(f"{org.id}/{appt.id}", {}))

    def check_appointment(self, org: OrgModel, appt: Appt, have: dict[str, dict[str, Any]]) -> None:
        want = expected(org, appt, self.boxes)
        names = lambda ids: sorted(self.by_id[i].upn for i in ids)  # noqa: E731
        self.check(
            "calendar: the booking's events, where it wants them",
            set(want) == set(have),
            f"{org.id}/{appt.id}: events in {names(have)}, wanted in {names(want)}",
            appointment=appt.body(),
        )
        for mailbox, w in want.items():
            event = have.get(mailbox)
            if event is None:
                continue
            got = event_content(event)
            wanted = {"title": w.title, "start": w.start, "end": w.end, "location": w.location}
            self.check(
                "calendar: event content as the booking wants",
                got == wanted,
                f"{org.id}/{appt.id} in {self.by_id[mailbox].upn}: {got}, wanted {wanted}",
            )
            if w.attendees is not None:
                attendees = {(a["emailAddress"]["address"].lower(), a["type"]) for a in event.get("attendees") or []}
                self.check(
                    "calendar: meeting attendees",
                    attendees == set(w.attendees),
                    f"{org.id}/{appt.id}: attendees {sorted(attendees)}, wanted {sorted(w.attendees)}",
                )
            if appt.recurrence:
                self.check_series(org, appt, mailbox, event)
        if appt.deleted and not want:
            return
        view = self.api("GET", f"/orgs/{org.id}/appointments/{appt.id}").json()
        states = {t.get("mailboxId"): t for t in view.get("targets", [])}
        for mailbox, event in have.items():
            t = states.get(mailbox)
            self.check(
                "api: targets match the calendars",
                t is not None and t["state"] == "synced" and t.get("eventId") == event["id"],
                f"{org.id}/{appt.id} in {self.by_id[mailbox].upn}: target {t}, event {event['id']}",
            )
        if appt.online:
            self.check_online(org, appt, want, have, view)

    def check_series(self, org: OrgModel, appt: Appt, mailbox: str, master: dict[str, Any]) -> None:
        """One master per wanted mailbox (above), a series (not a single event), and its
        instances as the booking's occurrences."""
        where = f"{org.id}/{appt.id} in {self.by_id[mailbox].upn}"
        if not self.check(
            "calendar: a series where the booking has one",
            master.get("type") == "seriesMaster",
            f"{where}: a {master.get('type')}, not a series",
        ):
            return
        instances = self.instances(mailbox, master["id"], appt)  # soak_people.People
        want = appt.occurrences()
        for day in sorted(set(want) | set(instances)):
            w, got = want.get(day), instances.get(day)
            problem = None
            if w is None and got is not None:
                problem = f"{where}: occurrence {day} is in Outlook, the booking cancelled it"
            elif w is not None and got is None:
                problem = f"{where}: occurrence {day} is missing"
            elif w is not None and got is not None:
                have = event_content(got)
                wanted = {"start": zulu(w["start"]), "end": zulu(w["end"])}
                if w["title"] is not None:
                    wanted["title"] = w["title"]
                if {k: have[k] for k in wanted} != wanted:
                    problem = f"{where}: occurrence {day} is {have}, wanted {wanted}"
            kind = "calendar: occurrences as the booking wants"
            if problem and (org.id, appt.id, day) in self.oneway_occ:
                self.checks[kind] += 1  # changed in Outlook in oneWay: recorded apart, once
                self.fail("oneway_occurrence", problem)
            else:
                self.check(kind, problem is None, problem or "")

    def check_online(
        self, org: OrgModel, appt: Appt, want: dict[str, Want], have: dict[str, dict[str, Any]], view: dict[str, Any]
    ) -> None:
        """docs/api.md "onlineMeeting": only an organizer meeting gets a joinUrl."""
        organizer = next((m for m, w in want.items() if w.role == "organizer"), None)
        if organizer is None:
            return
        target = next((t for t in view.get("targets", []) if t.get("mailboxId") == organizer), {})
        join = view.get("joinUrl")
        self.check(
            "online: joinUrl in the view and the organizer target",
            bool(join) and target.get("joinUrl") == join,
            f"{org.id}/{appt.id}: view joinUrl {join!r}, organizer target {target.get('joinUrl')!r}",
        )
        event = have.get(organizer)
        if event is not None:
            self.check(
                "online: the organizer's meeting is online",
                event.get("isOnlineMeeting") is True,
                f"{org.id}/{appt.id} in {self.by_id[organizer].upn}: isOnlineMeeting {event.get('isOnlineMeeting')}",
            )
