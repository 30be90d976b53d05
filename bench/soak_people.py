"""The soak's workload, the people's side in Outlook (bench/soak.py): plain Graph calls to
the emulator as another application. They edit, move, relocate and delete our events, edit
or cancel one occurrence of our series, answer meetings, and make, edit and delete events
and room reservations of their own.

Each action registers the feed changes it must produce (`Expect`s of an `Op`, judged by
soak_feed.py), and what the booking product does once it has them: twoWay, it applies the
change and sends it back; oneWay, it waits until calsync has put its version back.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from bench.soak_state import SoakState
from bench.soak_world import (
    TWO_WAY,
    Appt,
    Expect,
    Op,
    OrgModel,
    OutlookEvent,
    event_content,
    expected,
    utc,
    zulu,
)

# docs/api.md "What a delta round reports" (Series): in oneWay an edit of one occurrence of our
# series is `restored` (its booking version back); a cancelled occurrence Graph cannot bring
# back short of making the series again. Until the docs settle what a oneWay cancellation
# gives, either `restored` (the occurrence back) or `occurrence_deleted` (the booking product
# then cancels it too) is taken, and neither — or an edit not undone — is recorded as the
# failure kind `oneway_occurrence`, apart from the rest.
ONE_WAY_OCCURRENCE_DELETE = ("restored", "occurrence_deleted")


def dt(at: Any) -> dict[str, str]:
    return {"dateTime": zulu(at)[:19], "timeZone": "UTC"}


class People(SoakState):
    def pick_target(
        self, org: OrgModel, roles: tuple[str, ...], *, series: bool | None = None
    ) -> tuple[Appt, dict[str, Any]] | None:
        """A synced calsync event of a free appointment (`series`: only series, none, or any)."""
        free = [
            a
            for a in self.free(org)  # soak_workload.Workload
            if series is None or bool(a.recurrence) == series
        ]
        self.rng.shuffle(free)
        for appt in free[:4]:
            view = self.api("GET", f"/orgs/{org.id}/appointments/{appt.id}").json()
            targets = [
                t for t in view.get("targets", []) if t["state"] == "synced" and t.get("eventId") and t["role"] in roles
            ]
            if targets:
                return appt, self.rng.choice(targets)
        return None

    # -- our events --------------------------------------------------------------------------
    def op_outlook_edit(self, org: OrgModel, what: str) -> bool:
        # A series is retitled or relocated as a whole here, never moved (occurrences are).
        picked = self.pick_target(org, ("organizer", "copy", "resource"), series=False if what == "move" else None)
        if picked is None:
            return False
        appt, target = picked
        mailbox, event_id = target["mailboxId"], target["eventId"]
        n = self.next_id()
        if what == "title":
            patch: dict[str, Any] = {"subject": f"{org.prefix}{appt.id} outlook{n}"}
            fields = {"title"}
        elif what == "location":
            patch, fields = {"location": {"displayName": f"{org.prefix}outlook-room{n}"}}, {"location"}
        else:
            shift = timedelta(minutes=self.rng.choice((-120, -60, 30, 60, 24 * 60)))
            patch = {"start": dt(appt.start + shift), "end": dt(appt.end + shift)}
            fields = {"start", "end"}
        r = self.g("PATCH", f"/users/{mailbox}/calendar/events/{event_id}", json=patch)
        if r.status_code == 404:
            return False
        if not self.check("graph: outlook action", r.status_code == 200, f"PATCH: {r.status_code} {r.text[:200]}"):
            return False
        after = event_content(r.json())
        appt.busy = "outlook"
        who = self.owner(org, mailbox)
        op = Op(f"{org.id}: outlook {what} of {appt.id} in {self.by_id[mailbox].upn}")
        if org.mode == TWO_WAY:
            want = {k: after[k] for k in ("title", "start", "end", "location")}
            types: tuple[str, ...] = ("updated",)
            op.after = lambda seen: self.apply_update(org, appt, seen[org.id])
        else:
            want, types = {"deleted": False}, ("restored",)
            op.after = lambda seen: self.wait_restored(org, appt, mailbox)
        e = Expect(org.id, types, mailbox, event_id, appt.id, want, op.desc, time.monotonic(), who, frozenset(fields))
        self.start_op(op, [e], lambda: None)
        return True

    def apply_update(self, org: OrgModel, appt: Appt, change: dict[str, Any]) -> None:
        """The booking product takes the Outlook edit (twoWay) and sends it back."""
        data = change["data"]
        changed = set(data.get("changed") or [])
        if "title" in changed:
            appt.title = data["title"]
        if "start" in changed:
            appt.start = utc(data["start"])
        if "end" in changed:
            appt.end = utc(data["end"])
        if "location" in changed:
            appt.location = data["location"]
        self.put(org, appt, "apply feed")

    def wait_restored(self, org: OrgModel, appt: Appt, mailbox: str) -> None:
        """oneWay: calsync puts the booking's version back; wait until the calendar shows it."""

        def ok() -> bool:
            want = expected(org, appt, self.boxes).get(mailbox)
            if want is None:
                return True
            view = self.api("GET", f"/orgs/{org.id}/appointments/{appt.id}").json()
            target = next((t for t in view.get("targets", []) if t.get("mailboxId") == mailbox), None)
            if target is None or target["state"] != "synced" or not target.get("eventId"):
                return False
            r = self.g("GET", f"/users/{mailbox}/calendar/events/{target['eventId']}")
            if r.status_code != 200:
                return False
            got = event_content(r.json())
            self.register(org, view)
            return got == {"title": want.title, "start": want.start, "end": want.end, "location": want.location}

        def done() -> None:
            appt.busy = None

        self.wait_for(f"{org.id}: {appt.id} never restored in {self.by_id[mailbox].upn}", ok, done)

    def op_outlook_delete(self, org: OrgModel) -> bool:
        picked = self.pick_target(org, ("organizer", "copy", "resource"))
        if picked is None:
            return False
        appt, target = picked
        mailbox, event_id = target["mailboxId"], target["eventId"]
        r = self.g("DELETE", f"/users/{mailbox}/calendar/events/{event_id}")
        if r.status_code == 404:
            return False
        if not self.check("graph: outlook action", r.status_code == 204, f"DELETE: {r.status_code}"):
            return False
        appt.busy = "outlook"
        op = Op(f"{org.id}: outlook delete of {appt.id} in {self.by_id[mailbox].upn}")
        who = self.owner(org, mailbox)
        if org.mode == TWO_WAY:
            e = Expect(org.id, ("deleted",), mailbox, event_id, appt.id, {}, op.desc, time.monotonic(), who)
            op.after = lambda seen: self.delete(org, appt, "apply feed")  # the booking is cancelled
        else:
            e = Expect(
                org.id, ("restored",), mailbox, event_id, appt.id, {"deleted": True}, op.desc, time.monotonic(), who
            )
            op.after = lambda seen: self.wait_restored(org, appt, mailbox)
        self.start_op(op, [e], lambda: None)
        return True

    # -- one occurrence of our series ------------------------------------------------------------
    def instances(self, mailbox: str, master: str, appt: Appt) -> dict[str, dict[str, Any]]:
        """The series' occurrences and exceptions in a mailbox, by original date."""
        series = appt.series()
        first, last = min(s for s, _ in series.values()), max(e for _, e in series.values())
        params = {
            "startDateTime": zulu(first - timedelta(days=2)),
            "endDateTime": zulu(last + timedelta(days=32)),  # an occurrence moves at most 30 days
            "$top": "100",
        }
        out: dict[str, dict[str, Any]] = {}
        for item in self.g_all(f"/users/{mailbox}/calendar/events/{master}/instances", params):
            if item.get("originalStart") and not item.get("isCancelled"):
                out[appt.occurrence_day(item["originalStart"])] = item
        return out

    def op_outlook_occurrence(self, org: OrgModel, what: str) -> bool:
        """A person edits, moves or cancels one occurrence of our series (docs/api.md
        "Series"): twoWay `occurrence_updated`/`occurrence_deleted`, once, which the booking
        product applies through the occurrence routes; oneWay `restored`."""
        picked = self.pick_target(org, ("organizer", "copy", "resource"), series=True)
        if picked is None:
            return False
        appt, target = picked
        mailbox, master = target["mailboxId"], target["eventId"]
        live = appt.occurrences()
        found = self.instances(mailbox, master, appt)
        days = [d for d in sorted(live) if d in found and (org.id, appt.id, d) not in self.oneway_occ]
        if not days or (what == "delete" and len(live) < 2):
            return False  # a series keeps one occurrence (its last one gone, nothing says it was)
        day = self.rng.choice(days)
        instance = found[day]
        n = self.next_id()
        fields: set[str] = set()
        if what == "delete":
            r = self.g("DELETE", f"/users/{mailbox}/calendar/events/{instance['id']}")
            ok = r.status_code == 204
        else:
            if what == "title":
                patch: dict[str, Any] = {"subject": f"{org.prefix}{appt.id} {day} outlook{n}"}
                fields = {"title"}
            else:
                shift = timedelta(minutes=self.rng.choice((-60, 60, 120)))
                patch = {"start": dt(live[day]["start"] + shift), "end": dt(live[day]["end"] + shift)}
                fields = {"start", "end"}
            r = self.g("PATCH", f"/users/{mailbox}/calendar/events/{instance['id']}", json=patch)
            ok = r.status_code == 200
        if r.status_code == 404:
            return False
        if not self.check("graph: outlook action", ok, f"occurrence {what}: {r.status_code} {r.text[:200]}"):
            return False
        appt.busy = "outlook"
        who = self.owner(org, mailbox)
        op = Op(f"{org.id}: outlook occurrence {what} of {appt.id} {day} in {self.by_id[mailbox].upn}")
        made = time.monotonic()
        if org.mode == TWO_WAY:
            if what == "delete":
                e = Expect(
                    org.id, ("occurrence_deleted",), mailbox, None, appt.id, {"occurrence": day}, op.desc, made, who
                )
                op.after = lambda seen: self.apply_occurrence(org, appt, day, seen[org.id])
            else:
                after = event_content(r.json())
                want = {"occurrence": day, **{k: after[k] for k in fields}}
                e = Expect(
                    org.id, ("occurrence_updated",), mailbox, None, appt.id, want, op.desc, made, who, frozenset(fields)
                )
                op.after = lambda seen: self.apply_occurrence(org, appt, day, seen[org.id])
        else:
            self.oneway_occ.add((org.id, appt.id, day))
            types = ONE_WAY_OCCURRENCE_DELETE if what == "delete" else ("restored",)
            e = Expect(org.id, types, mailbox, None, appt.id, {}, op.desc, made, who, missing="oneway_occurrence")
            op.after = lambda seen: self.occurrence_restored(org, appt, day, mailbox, master, seen[org.id])
        self.start_op(op, [e], lambda: None)
        return True

    def apply_occurrence(self, org: OrgModel, appt: Appt, day: str, change: dict[str, Any]) -> None:
        """twoWay: the booking product takes the occurrence's change and sends it back."""
        if change["type"] in ("occurrence_deleted", "deleted"):
            self.cancel_occurrence(org, appt, day, "apply feed")
            return
        data = change["data"]
        changed = set(data.get("changed") or [])
        own = dict(appt.occ.get(day, {}))
        body: dict[str, Any] = {}
        if "title" in changed:
            own["title"] = body["title"] = data["title"]
        if changed & {"start", "end"}:
            own["start"], own["end"] = utc(data["start"]), utc(data["end"])
            body["start"], body["end"] = appt.local(own["start"]), appt.local(own["end"])
        if "location" in changed:
            body["location"] = data["location"]
        appt.occ[day] = own
        if body:
            self.put_occurrence(org, appt, day, body, "apply feed")
        else:
            appt.busy = None

    def occurrence_restored(
        self, org: OrgModel, appt: Appt, day: str, mailbox: str, master: str, change: dict[str, Any]
    ) -> None:
        """oneWay: after `restored`, the occurrence is the booking's again; after a reported
        `occurrence_deleted`, the booking product cancels it as well."""
        if change["type"] == "occurrence_deleted":
            self.stats["oneWay occurrence cancellation reported as occurrence_deleted"] += 1
            self.oneway_occ.discard((org.id, appt.id, day))
            self.cancel_occurrence(org, appt, day, "apply feed")
            return

        def ok() -> bool:
            want = appt.occurrences().get(day)
            # A cancelled occurrence comes back only with its series made again (docs/api.md,
            # oneWay): the target's master now, not the one the person changed.
            view = self.api("GET", f"/orgs/{org.id}/appointments/{appt.id}").json()
            target = next((t for t in view.get("targets", []) if t.get("mailboxId") == mailbox), None)
            if target is None or target["state"] != "synced" or not target.get("eventId"):
                return False
            got = self.instances(mailbox, target["eventId"], appt).get(day)
            if want is None or got is None:
                return False
            have = event_content(got)
            return (have["start"], have["end"]) == (zulu(want["start"]), zulu(want["end"])) and (
                want["title"] is None or have["title"] == want["title"]
            )

        def done() -> None:
            appt.busy = None

        def restored() -> bool:
            if ok():
                self.oneway_occ.discard((org.id, appt.id, day))
                return True
            return False

        desc = f"{org.id}: {appt.id} occurrence {day} not the booking's again in {self.by_id[mailbox].upn}"
        self.wait_for(desc, restored, done, "oneway_occurrence")

    # -- meetings' answers ---------------------------------------------------------------------
    def op_outlook_respond(self, org: OrgModel) -> bool:
        if not org.use_organizer:
            return False
        picked = self.pick_target(org, ("organizer",))
        if picked is None:
            return False
        appt, target = picked
        if not appt.organizer:
            return False
        attendees = [
            w
            for w in appt.attendees
            if w != appt.organizer
            and org.is_linked("worker", w)
            and org.upn("worker", w) != org.upn("worker", appt.organizer)
        ]
        if not attendees:
            return False
        worker = self.rng.choice(attendees)
        upn = org.upn("worker", worker)
        mine = self.boxes[upn].id
        r = self.g("GET", f"/users/{target['mailboxId']}/calendar/events/{target['eventId']}")
        if r.status_code != 200:
            return False
        meeting = r.json()
        current = next(
            (a["status"]["response"] for a in meeting["attendees"] if a["emailAddress"]["address"].lower() == upn),
            None,
        )
        ical = meeting["iCalUId"]
        copies = self.g("GET", f"/users/{mine}/calendar/events", params={"$filter": f"iCalUId eq '{ical}'"}).json()
        live = [e for e in copies.get("value", []) if not e.get("isCancelled")]
        if not live:
            return False
        action = self.rng.choice(("accept", "tentativelyAccept", "decline"))
        response = {"accept": "accepted", "tentativelyAccept": "tentativelyAccepted", "decline": "declined"}[action]
        r = self.g("POST", f"/users/{mine}/calendar/events/{live[0]['id']}/{action}", json={"sendResponse": True})
        if not self.check("graph: outlook action", r.status_code == 202, f"{action}: {r.status_code}"):
            return False
        self.responses.add((org.id, appt.id, upn, response))
        op = Op(f"{org.id}: {worker} {action}s {appt.id}")
        expects = []
        if current != response and org.mode == TWO_WAY:
            appt.busy = "outlook"
            expects.append(
                Expect(
                    org.id,
                    ("responded",),
                    target["mailboxId"],
                    target["eventId"],
                    appt.id,
                    {"response": response, "address": upn},
                    op.desc,
                    time.monotonic(),
                    ("worker", worker),
                )
            )

        def release() -> None:
            appt.busy = None

        self.start_op(op, expects, release)
        return True

    # -- people's own events ------------------------------------------------------------------
    def op_personal_create(self, room: bool) -> bool:
        box = self.rng.choice([b for b in self.boxes.values() if b.room == room])
        n = self.next_id()
        subject = f"O:{n} {self.rng.choice(('Dentist', 'Gym', 'Focus time', 'Lunch', 'Call'))}"
        start, end = self.when()
        body = {
            "subject": subject,
            "start": dt(start),
            "end": dt(end),
            "location": {"displayName": "Somewhere"},
            "body": {"contentType": "text", "content": "personal"},
        }
        r = self.g("POST", f"/users/{box.id}/calendar/events", json=body)
        if not self.check("graph: outlook action", r.status_code == 201, f"create: {r.status_code} {r.text[:200]}"):
            return False
        ev = OutlookEvent(box.id, r.json()["id"], room, [subject])
        self.oevents[(box.id, ev.id)] = ev
        op = Op(f"outlook create {subject!r} in {box.upn}")
        expects = []
        for org, who in self.orgs_linking(box.id):
            if org.mode == TWO_WAY:
                # oneWay neither reports nor remembers an event made in Outlook (docs/api.md):
                # only a twoWay org knows of it, and hears of its deletion later.
                ev.known_by.add(org.id)
                expects.append(
                    Expect(
                        org.id, ("created",), box.id, ev.id, None, {"title": subject}, op.desc, time.monotonic(), who
                    )
                )
        ev.busy = bool(expects)

        def release() -> None:
            ev.busy = False

        self.start_op(op, expects, release)
        return True

    def op_personal_change(self, delete: bool) -> bool:
        free = [e for e in self.oevents.values() if not e.deleted and not e.busy]
        if not free:
            return False
        ev = self.rng.choice(free)
        box = self.by_id[ev.mailbox]
        if delete:
            r = self.g("DELETE", f"/users/{ev.mailbox}/calendar/events/{ev.id}")
            ok = r.status_code == 204
            ev.deleted = True
            types: tuple[str, ...] = ("deleted",)
            want: dict[str, Any] = {}
            desc = f"outlook delete {ev.titles[-1]!r} in {box.upn}"
        else:
            subject = f"O:{self.next_id()} {ev.titles[0].split(' ', 1)[1]} (moved)"
            ev.titles.append(subject)
            r = self.g("PATCH", f"/users/{ev.mailbox}/calendar/events/{ev.id}", json={"subject": subject})
            ok = r.status_code == 200
            types, want = ("updated", "created"), {"title": subject}
            desc = f"outlook retitle to {subject!r} in {box.upn}"
        if not self.check("graph: outlook action", ok, f"{desc}: {r.status_code}"):
            return False
        op = Op(desc)
        expects = []
        for org, who in self.orgs_linking(ev.mailbox):
            if org.mode == TWO_WAY and (not delete or org.id in ev.known_by):
                expects.append(Expect(org.id, types, ev.mailbox, ev.id, None, want, desc, time.monotonic(), who))
            if org.mode == TWO_WAY:
                ev.known_by.add(org.id)
        ev.busy = bool(expects)

        def release() -> None:
            ev.busy = False

        self.start_op(op, expects, release)
        return True
