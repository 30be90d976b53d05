"""The smallest reproductions of what bench/soak.py found, through HTTP only.

    .venv/bin/python -m bench.soak_repro [names…]   # default: all

One app instance, Azurite and the emulator; each scenario uses fresh orgs on a fresh tenant,
drives the API and the emulator (people in Outlook are another application's plain Graph
calls), waits on positive signals (the queues empty and the mailbox's round after the
action) and prints what the feed says against what docs/api.md promises. The race scenarios
repeat their few requests and report how often the wrong change appeared.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from azure.storage.queue import QueueServiceClient

from bench.soak import APP_ID, HOST_ENV
from bench.soak_world import utc, zulu
from bench.stack import ClusterStack, cluster

DOMAIN = "bench.test"
SHOWN = ("occurrence", "title", "changed", "location", "start")


class Repro:
    def __init__(self, s: ClusterStack) -> None:
        self.s = s
        self.queues = QueueServiceClient.from_connection_string(s.storage)

    # -- helpers ------------------------------------------------------------------------------
    def world(self, use_organizer: dict[str, bool]) -> tuple[str, dict[str, str], httpx.Client]:
        users = [{"userPrincipalName": f"{p}@{DOMAIN}", "displayName": p.title()} for p in ("ada", "bob")]
        users += [
            {"userPrincipalName": f"room{i}@{DOMAIN}", "displayName": f"Room {i}", "userPurpose": "room"}
            for i in (0, 1)
        ]
        tenant, ids = self.s.tenant(users)
        for org, organizer in use_organizer.items():
            r = self.s.api.put(f"/orgs/{org}", json={"m365TenantId": tenant})
            assert r.json()["status"] == "connected", r.text
            self.s.api.put(f"/orgs/{org}/settings", json={"useOrganizer": organizer})
        g = self.s.graph_as(tenant, APP_ID)
        g.headers["Prefer"] = 'IdType="ImmutableId", outlook.timezone="UTC"'
        return tenant, ids, g

    def link(self, org: str, kind: str, ident: str, upn: str, name: str | None = None) -> None:
        body: dict[str, Any] = {"m365Account": upn} if kind == "workers" else {"mailbox": upn, "displayName": name}
        r = self.s.api.put(f"/orgs/{org}/{kind}/{ident}", json=body)
        assert r.json()["status"] == "linked", r.text

    def idle(self) -> bool:
        counts = [
            self.queues.get_queue_client(q.name).get_queue_properties().approximate_message_count
            for q in self.queues.list_queues()
            if not q.name.endswith("-poison")
        ]
        return not any(counts)

    def settle(self, orgs: list[str], timeout: float = 60) -> None:
        """A reconcile, then every linked mailbox's round after it, and nothing queued."""
        since = datetime.now(UTC)
        assert self.s.admin(self.s.instances[0], "reconcile") == 202
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            late = [
                link
                for org in orgs
                for kind in ("workers", "resources")
                for link in self.s.api.get(f"/orgs/{org}/{kind}").json()[kind]
                if link["status"] == "linked" and (not link["lastSyncAt"] or utc(link["lastSyncAt"]) <= since)
            ]
            if not late and self.idle() and self.idle():
                return
            time.sleep(0.3)
        counts = {
            q.name: self.queues.get_queue_client(q.name).get_queue_properties().approximate_message_count
            for q in self.queues.list_queues()
        }
        raise TimeoutError(f"no quiescence: since {zulu(since)} late {late}, queues {counts}")

    def feed(self, org: str) -> list[dict[str, Any]]:
        return self.s.api.get(f"/orgs/{org}/changes", params={"limit": 500}).json()["changes"]

    @staticmethod
    def show(changes: list[dict[str, Any]]) -> str:
        return "; ".join(
            f"{c['type']} {c['appointment']} ({c.get('worker') or c.get('resource')}) "
            f"{ {k: v for k, v in (c.get('data') or {}).items() if k in SHOWN} }"
            for c in changes
        )

    def faults(self, **body: Any) -> None:
        self.s.graph.post("/_emulator/faults", json=body)

    @staticmethod
    def slot(days: int) -> tuple[str, str]:
        start = (datetime.now(UTC) + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)
        return zulu(start), zulu(start + timedelta(hours=1))

    # -- scenarios ----------------------------------------------------------------------------------
    def shared_mailbox_deletion(self) -> bool:
        """Two orgs link the same person; she deletes an event she made in Outlook."""
        _, ids, g = self.world({"sa": True, "sb": True})
        for org in ("sa", "sb"):
            self.link(org, "workers", "ada", f"ada@{DOMAIN}")
        self.settle(["sa", "sb"])
        start, end = self.slot(3)
        made = g.post(
            f"/users/{ids[f'ada@{DOMAIN}']}/calendar/events",
            json={
                "subject": "Dentist",
                "start": {"dateTime": start[:19], "timeZone": "UTC"},
                "end": {"dateTime": end[:19], "timeZone": "UTC"},
            },
        ).json()
        self.settle(["sa", "sb"])
        assert g.delete(f"/users/{ids[f'ada@{DOMAIN}']}/calendar/events/{made['id']}").status_code == 204
        self.settle(["sa", "sb"])
        bad = False
        for org in ("sa", "sb"):
            changes = self.feed(org)
            print(f"    {org}: {self.show(changes)}")
            bad |= [c["type"] for c in changes] != ["created", "deleted"]
        return bad

    def lost_delete_answer(self) -> bool:
        """calsync deletes an attendee's copy; Graph deletes it but the answer is lost (500)."""
        _, ids, _ = self.world({"ld": False})
        self.link("ld", "workers", "ada", f"ada@{DOMAIN}")
        self.link("ld", "workers", "bob", f"bob@{DOMAIN}")
        start, end = self.slot(4)
        body = {"title": "Review", "start": start, "end": end, "organizer": "ada", "attendees": ["bob"]}
        assert self.s.api.put("/orgs/ld/appointments/x", json=body).status_code == 200
        self.settle(["ld"])
        self.faults(
            failNext=[
                {
                    "method": "DELETE",
                    "pattern": "/users/{id}/events/{id}",
                    "mailbox": ids[f"bob@{DOMAIN}"],
                    "status": 500,
                    "afterApply": True,
                }
            ]
        )
        r = self.s.api.put("/orgs/ld/appointments/x", json={**body, "attendees": []})
        print(
            f"    PUT without bob → {r.status_code}: "
            f"{[(t['worker'], t['state'], (t['error'] or {}).get('code')) for t in r.json()['targets']]}"
        )
        self.settle(["ld"])
        changes = self.feed("ld")
        print(f"    feed: {self.show(changes)}")
        return any(c["type"] == "deleted" for c in changes)

    def lost_patch_answer_room_location(self) -> bool:
        """A meeting whose location is its room's name moves to another room; Graph applies the
        PATCH but the answer is lost (500)."""
        _, ids, _ = self.world({"lp": True})
        self.link("lp", "workers", "ada", f"ada@{DOMAIN}")
        for i in (0, 1):
            self.link("lp", "resources", f"r{i}", f"room{i}@{DOMAIN}", f"Room {i}")
        start, end = self.slot(5)
        body = {"title": "Planning", "start": start, "end": end, "organizer": "ada", "resources": ["r0"]}
        assert self.s.api.put("/orgs/lp/appointments/x", json=body).status_code == 200
        self.settle(["lp"])
        before = len(self.feed("lp"))
        self.faults(
            failNext=[
                {
                    "method": "PATCH",
                    "pattern": "/users/{id}/events/{id}",
                    "mailbox": ids[f"ada@{DOMAIN}"],
                    "status": 500,
                    "afterApply": True,
                }
            ]
        )
        r = self.s.api.put("/orgs/lp/appointments/x", json={**body, "resources": ["r1"]})
        print(f"    PUT with room 1 → {r.status_code}")
        self.settle(["lp"])
        changes = [c for c in self.feed("lp")[before:] if c["type"] != "responded"]
        print(f"    feed (rooms' answers aside): {self.show(changes)}")
        return any(c["type"] == "updated" for c in changes)

    def create_then_delete(self, n: int = 25) -> bool:
        """Org B books a copy in a shared person's calendar and cancels it at once, n times."""
        _, _, _ = self.world({"ca": True, "cb": False})
        self.link("ca", "workers", "ada", f"ada@{DOMAIN}")
        self.link("cb", "workers", "ada", f"ada@{DOMAIN}")
        self.settle(["ca", "cb"])
        for i in range(n):
            start, end = self.slot(6 + i % 20)
            body = {"title": f"B secret {i}", "start": start, "end": end, "organizer": "ada"}
            assert self.s.api.put(f"/orgs/cb/appointments/x{i}", json=body).status_code == 200
            assert self.s.api.delete(f"/orgs/cb/appointments/x{i}").status_code == 200
        self.settle(["ca", "cb"])
        hits = 0
        for org in ("ca", "cb"):
            changes = self.feed(org)
            hits += len(changes)
            print(f"    {org} ({len(changes)} changes): {self.show(changes[:6])}")
        return hits > 0

    def quick_second_write(self, n: int = 25) -> bool:
        """The booking product creates an appointment and moves it right away, n times."""
        self.world({"qw": False})
        self.link("qw", "workers", "ada", f"ada@{DOMAIN}")
        self.settle(["qw"])
        for i in range(n):
            start, end = self.slot(6 + i % 20)
            later, later_end = self.slot(26 + i % 20)
            body = {"title": f"Fitting {i}", "start": start, "end": end, "organizer": "ada"}
            assert self.s.api.put(f"/orgs/qw/appointments/x{i}", json=body).status_code == 200
            time.sleep(0.15)
            assert (
                self.s.api.put(
                    f"/orgs/qw/appointments/x{i}", json={**body, "start": later, "end": later_end}
                ).status_code
                == 200
            )
        self.settle(["qw"])
        changes = self.feed("qw")
        print(f"    feed ({len(changes)} changes): {self.show(changes[:6])}")
        return bool(changes)

    def organizer_leaves(self, n: int = 25) -> bool:
        """A meeting's organizer becomes an attendee (the meeting is replaced by a copy in the
        same calendar), n times."""
        self.world({"ol": True})
        self.link("ol", "workers", "ada", f"ada@{DOMAIN}")
        self.s.api.put("/orgs/ol/workers/nobody", json={"displayName": "not linked"})
        self.settle(["ol"])
        for i in range(n):
            start, end = self.slot(6 + i % 20)
            body = {"title": f"Sync {i}", "start": start, "end": end, "organizer": "ada"}
            assert self.s.api.put(f"/orgs/ol/appointments/x{i}", json=body).status_code == 200
            time.sleep(0.15)
            r = self.s.api.put(
                f"/orgs/ol/appointments/x{i}", json={**body, "organizer": "nobody", "attendees": ["ada"]}
            )
            assert r.status_code == 200, r.text
        self.settle(["ol"])
        changes = [c for c in self.feed("ol") if c["type"] != "responded"]
        print(f"    feed ({len(changes)} changes): {self.show(changes[:6])}")
        return bool(changes)

    def deletion_unseen_then_expired(self) -> bool:
        """Notifications are lost (Graph's "missed"); a booked copy is deleted in Outlook before
        any round saw it, and the mailbox's delta token then expires."""
        _, ids, g = self.world({"de": False})
        self.link("de", "workers", "ada", f"ada@{DOMAIN}")
        self.settle(["de"])
        self.faults(deliverNotifications=False)
        start, end = self.slot(7)
        r = self.s.api.put(
            "/orgs/de/appointments/x", json={"title": "Massage", "start": start, "end": end, "organizer": "ada"}
        )
        event = r.json()["targets"][0]["eventId"]
        assert g.delete(f"/users/{ids[f'ada@{DOMAIN}']}/calendar/events/{event}").status_code == 204
        self.s.graph.post("/_emulator/delta/expire", json={"mailbox": ids[f"ada@{DOMAIN}"]})
        self.faults(deliverNotifications=True)
        self.settle(["de"])
        changes = self.feed("de")
        view = self.s.api.get("/orgs/de/appointments/x").json()
        targets = [(t["state"], t["eventId"][-8:]) for t in view["targets"]]
        gone = g.get(f"/users/{ids[f'ada@{DOMAIN}']}/calendar/events/{event}").status_code
        print(f"    feed: {self.show(changes) or 'nothing'}; target {targets} (the event: GET → {gone})")
        return not any(c["type"] == "deleted" for c in changes)

    # -- found by the extended soak (series, tasks) ---------------------------------------------
    def series(self, org: str, count: int = 4, **extra: Any) -> tuple[dict[str, Any], str]:
        """A daily series of `count` for ada (copies mode): its body and its first date."""
        start, end = self.slot(5)
        body = {
            "title": "Standup",
            "start": start,
            "end": end,
            "timeZone": "UTC",
            "organizer": "ada",
            "recurrence": {
                "pattern": {"type": "daily", "interval": 1},
                "range": {"type": "numbered", "numberOfOccurrences": count},
            },
            **extra,
        }
        r = self.s.api.put(f"/orgs/{org}/appointments/s", json=body)
        assert r.status_code == 200, r.text
        return body, start[:10]

    def instances(self, g: httpx.Client, mailbox: str, master: str) -> list[dict[str, Any]]:
        start, _ = self.slot(3)
        end, _ = self.slot(12)
        params = {"startDateTime": start, "endDateTime": end}
        return g.get(f"/users/{mailbox}/calendar/events/{master}/instances", params=params).json()["value"]

    def series_retitle_echo(self) -> bool:
        """calsync retitles (then re-times) its own series: its occurrences come back as changes."""
        self.world({"se": False})
        self.link("se", "workers", "ada", f"ada@{DOMAIN}")
        body, first = self.series("se")
        second = (datetime.fromisoformat(first) + timedelta(days=1)).date().isoformat()
        r = self.s.api.put(f"/orgs/se/appointments/s/occurrences/{second}", json={"title": "Standup (late)"})
        assert r.status_code == 200, r.text
        self.settle(["se"])
        before = len(self.feed("se"))
        assert self.s.api.put("/orgs/se/appointments/s", json={**body, "title": "Daily"}).status_code == 200
        self.settle(["se"])
        later = utc(body["start"]) + timedelta(minutes=30)
        retimed = {**body, "title": "Daily", "start": zulu(later), "end": zulu(later + timedelta(hours=1))}
        assert self.s.api.put("/orgs/se/appointments/s", json=retimed).status_code == 200
        self.settle(["se"])
        changes = self.feed("se")[before:]
        print(f"    feed after our own retitle and re-time: {self.show(changes) or 'nothing'}")
        return bool(changes)

    def series_edit_before_first_round(self) -> bool:
        """A person retitles our new series before calsync's first round has seen it."""
        _, ids, g = self.world({"sf": False})
        self.link("sf", "workers", "ada", f"ada@{DOMAIN}")
        self.settle(["sf"])
        self.faults(deliverNotifications=False)
        self.series("sf")
        master = self.s.api.get("/orgs/sf/appointments/s").json()["targets"][0]["eventId"]
        r = g.patch(f"/users/{ids[f'ada@{DOMAIN}']}/calendar/events/{master}", json={"subject": "Standup (moved room)"})
        assert r.status_code == 200, r.text
        self.faults(deliverNotifications=True)
        self.settle(["sf"])
        self.settle(["sf"])
        changes = self.feed("sf")
        print(f"    feed: {self.show(changes) or 'nothing'}")
        return not any(c["type"] == "updated" for c in changes)

    def occurrence_deleted(self) -> bool:
        """A person deletes one occurrence of our series: after a round saw it, and right
        after calsync re-timed the series (before a round saw the new occurrences)."""
        _, ids, g = self.world({"so": False})
        ada = ids[f"ada@{DOMAIN}"]
        self.link("so", "workers", "ada", f"ada@{DOMAIN}")
        body, _ = self.series("so")
        master = self.s.api.get("/orgs/so/appointments/s").json()["targets"][0]["eventId"]
        self.settle(["so"])
        found = self.instances(g, ada, master)
        assert g.delete(f"/users/{ada}/calendar/events/{found[1]['id']}").status_code == 204
        self.settle(["so"])
        seen = [c for c in self.feed("so") if c["type"] == "occurrence_deleted"]
        print(f"    a seen occurrence deleted: {self.show(seen) or 'nothing'}")
        self.faults(deliverNotifications=False)
        later = utc(body["start"]) + timedelta(minutes=30)
        retimed = {**body, "start": zulu(later), "end": zulu(later + timedelta(hours=1))}
        assert self.s.api.put("/orgs/so/appointments/s", json=retimed).status_code == 200
        found = self.instances(g, ada, master)
        assert g.delete(f"/users/{ada}/calendar/events/{found[2]['id']}").status_code == 204
        self.faults(deliverNotifications=True)
        self.settle(["so"])
        self.settle(["so"])
        after = [c for c in self.feed("so") if c["type"] == "occurrence_deleted"][len(seen) :]
        print(f"    deleted right after our re-time: {self.show(after) or 'nothing'}")
        return len(seen) != 1 or not after

    def todo_deleted_unseen(self) -> bool:
        """A worker deletes our task in To Do before calsync's next read of the list."""
        _, ids, g = self.world({"tt": False})
        self.link("tt", "workers", "ada", f"ada@{DOMAIN}")
        assert self.s.api.put("/orgs/tt/tasks/t0", json={"worker": "ada", "title": "First"}).status_code == 200
        self.settle(["tt"])  # the reconcile reads the list once: its delta token
        view = self.s.api.put("/orgs/tt/tasks/t1", json={"worker": "ada", "title": "Call back"}).json()
        path = f"/users/{ids[f'ada@{DOMAIN}']}/todo/lists/{view['listId']}/tasks/{view['todoTaskId']}"
        assert g.delete(path).status_code == 204
        self.settle(["tt"])
        self.settle(["tt"])
        changes = self.s.api.get("/orgs/tt/changes").json()["changes"]
        state = self.s.api.get("/orgs/tt/tasks/t1").json()["state"]
        print(f"    feed: {[(c['type'], c['task']) for c in changes] or 'nothing'}; task t1 {state}")
        return not any(c["type"] == "task_deleted" and c["task"] == "t1" for c in changes)

    def todo_lost_create_answer(self) -> bool:
        """To Do makes our task but its answer is lost (500 after applying it); the list exists."""
        _, ids, g = self.world({"tl": False})
        self.link("tl", "workers", "ada", f"ada@{DOMAIN}")
        assert self.s.api.put("/orgs/tl/tasks/t0", json={"worker": "ada", "title": "First"}).status_code == 200
        rule = {"method": "POST", "pattern": "/users/{id}/todo/lists/{id}/tasks", "status": 500, "afterApply": True}
        self.faults(failNext=[{**rule, "count": 1}])
        view = self.s.api.put("/orgs/tl/tasks/t1", json={"worker": "ada", "title": "Call back"})
        self.settle(["tl"])
        found = g.get(f"/users/{ids[f'ada@{DOMAIN}']}/todo/lists/{view.json()['listId']}/tasks").json()["value"]
        print(f"    PUT → {view.status_code} {view.json()['state']}; To Do holds {[t['title'] for t in found]}")
        return len(found) != 2

    def series_declined(self) -> bool:
        """An attendee declines our series (org-a style: a meeting in the organizer's calendar)."""
        _, ids, g = self.world({"sd": True})
        self.link("sd", "workers", "ada", f"ada@{DOMAIN}")
        self.link("sd", "workers", "bob", f"bob@{DOMAIN}")
        self.series("sd", attendees=["bob"])
        self.settle(["sd"])
        bob = ids[f"bob@{DOMAIN}"]
        ical = g.get(f"/users/{ids[f'ada@{DOMAIN}']}/calendar/events/{self.target('sd')}").json()["iCalUId"]
        [copy] = g.get(f"/users/{bob}/calendar/events", params={"$filter": f"iCalUId eq '{ical}'"}).json()["value"]
        r = g.post(f"/users/{bob}/calendar/events/{copy['id']}/decline", json={"sendResponse": True})
        assert r.status_code == 202, r.text
        self.settle(["sd"])
        answers = [c for c in self.feed("sd") if c["type"] == "responded" and c.get("worker") == "bob"]
        print(f"    bob's answers in the feed: {[c['data'] for c in answers] or 'nothing'}")
        return not any(c["data"].get("response") == "declined" for c in answers)

    def reattend_to_copy_holder_with_room(self, n: int = 8) -> bool:
        """The soak's a512: a meeting whose organizer has no mailbox (ada and bob hold copies)
        is re-attended so that bob organizes it with a room; a person then retitles bob's new
        event in Outlook. Only `title` changed (location is the room's name throughout)."""
        _, ids, g = self.world({"ra": True})
        self.link("ra", "workers", "ada", f"ada@{DOMAIN}")
        self.link("ra", "workers", "bob", f"bob@{DOMAIN}")
        assert self.s.api.put("/orgs/ra/workers/eve", json={"displayName": "Eve"}).status_code == 200
        self.link("ra", "resources", "r1", f"room1@{DOMAIN}", "Room 1")
        self.settle(["ra"])
        bad = 0
        for i in range(n):
            start, end = self.slot(3 + i)
            body = {"title": f"Review {i}", "start": start, "end": end, "organizer": "eve", "attendees": ["ada", "bob"]}
            assert self.s.api.put(f"/orgs/ra/appointments/x{i}", json=body).status_code == 200
            self.settle(["ra"])
            moved = {**body, "organizer": "bob", "attendees": [], "resources": ["r1"]}
            if i % 2:  # as in the soak, where faults slowed the push: bob's create answered 500 after applying
                lost = {"method": "POST", "pattern": "/users/{id}/events", "mailbox": ids[f"bob@{DOMAIN}"],
                        "status": 500, "afterApply": True}  # fmt: skip
                self.faults(failNext=[lost])
            view = self.s.api.put(f"/orgs/ra/appointments/x{i}", json=moved).json()
            [organizer] = [t for t in view["targets"] if t["role"] == "organizer"]
            if organizer["eventId"] is None:  # the push's retry makes it (adopts the event made)
                self.settle(["ra"])
                view = self.s.api.get(f"/orgs/ra/appointments/x{i}").json()
                [organizer] = [t for t in view["targets"] if t["role"] == "organizer"]
            time.sleep(0.5 * (i % 3))  # before, during or after the rounds the re-attend sets off
            before = len(self.feed("ra"))
            r = g.patch(
                f"/users/{ids[f'bob@{DOMAIN}']}/calendar/events/{organizer['eventId']}", json={"subject": "Mine"}
            )
            assert r.status_code == 200, r.text
            self.settle(["ra"])
            changes = [c for c in self.feed("ra")[before:] if c["appointment"] == f"x{i}" and c["type"] == "updated"]
            print(f"    x{i}: {self.show(changes)}")
            bad += any(c["data"].get("changed") != ["title"] for c in changes)
        print(f"    wrong `changed` in {bad} of {n}")
        return bad > 0

    def target(self, org: str) -> str:
        return self.s.api.get(f"/orgs/{org}/appointments/s").json()["targets"][0]["eventId"]


SCENARIOS = (
    "shared_mailbox_deletion",
    "lost_delete_answer",
    "lost_patch_answer_room_location",
    "create_then_delete",
    "quick_second_write",
    "organizer_leaves",
    "deletion_unseen_then_expired",
    "series_retitle_echo",
    "series_edit_before_first_round",
    "occurrence_deleted",
    "todo_deleted_unseen",
    "todo_lost_create_answer",
    "series_declined",
    "reattend_to_copy_holder_with_room",
)


def main() -> None:
    wanted = sys.argv[1:] or list(SCENARIOS)
    never = "0 0 0 1 1 *"  # timers only when a scenario runs them
    env = {**HOST_ENV, "CALSYNC_RECONCILE_SCHEDULE": never, "CALSYNC_RENEW_SCHEDULE": never}
    with cluster(1, **env) as s:
        repro = Repro(s)
        for name in wanted:
            s.graph.post("/_emulator/faults", json={"failNext": [], "errorRate": 0, "latencyMs": 0})
            print(f"{name}: {getattr(Repro, name).__doc__.split(chr(10))[0]}")
            try:
                bad = getattr(repro, name)()
            except Exception as exc:  # a scenario that cannot run says so and the next one runs
                print(f"    could not run: {exc!r}")
                continue
            print(f"    → {'BUG REPRODUCED' if bad else 'as documented'}")


if __name__ == "__main__":
    main()
