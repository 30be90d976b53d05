"""The soak's feed invariants (bench/soak.py): every change of each org's feed, as it comes,
is judged against what people did (the open `Expect`s):

- not another org's (a mailbox it never linked, an event or To Do task calsync wrote for the
  other org, the other org's title prefix, a room reservation organized by someone else);
- of a type that fits the org's syncMode then (oneWay: only `restored`; a oneWay occurrence
  change is recorded as `oneway_occurrence`, see soak_people.py);
- explained by an Outlook or To Do action, once: never an echo of calsync's own write, no
  duplicate but after a crash (at-least-once), a stable minted id per Outlook event, and
  `changed` naming only what Outlook changed.

Expected changes never seen are failed at quiescence (soak_invariants.py).
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench.soak_state import SoakState
from bench.soak_world import ONE_WAY, OrgModel, utc

TASK_TYPES = ("task_updated", "task_completed", "task_deleted")
OCCURRENCE_TYPES = ("occurrence_updated", "occurrence_deleted")


class Feed(SoakState):
    def poll_feeds(self) -> None:
        self.last_feed = time.monotonic()
        for org in self.orgs.values():
            while True:
                params: dict[str, Any] = {"limit": 500}
                if org.cursor:
                    params["after"] = org.cursor
                page = self.api("GET", f"/orgs/{org.id}/changes", params=params).json()
                for change in page["changes"]:
                    org.feed.append(change)
                    self.log(
                        f"feed {org.id} {change['type']} {change.get('appointment') or change.get('task')} "
                        f"{change.get('worker') or change.get('resource')} {self.name(change.get('mailbox'))} "
                        f"{(change.get('eventId') or '')[-10:]} {json.dumps(change.get('data'))[:160]}"
                    )
                    self.judge(org, change)
                org.cursor = page.get("next") or org.cursor
                if len(page["changes"]) < 500:
                    break

    def leaks(self, org: OrgModel, c: dict[str, Any]) -> tuple[bool, str | None]:
        """Is it about another org's booking; and whose calsync wrote (if known)."""
        kind = c.get("type")
        mailbox, event_id, data = c.get("mailbox") or "", c.get("eventId") or "", c.get("data") or {}
        owner = self.todo_owner.get(event_id) if kind in TASK_TYPES else self.event_owner.get((mailbox, event_id))
        others = [o for o in self.orgs.values() if o.id != org.id]
        leak = (
            mailbox not in org.ever_linked
            or (owner is not None and not owner.startswith(f"{org.id}/"))
            or any(str(data.get("title") or "").startswith(o.prefix) for o in others)
            or (
                kind == "created"
                and mailbox in self.by_id
                and self.by_id[mailbox].room
                and data.get("organizer") not in (None, self.by_id[mailbox].upn)
            )
        )
        return leak, owner

    def judge(self, org: OrgModel, c: dict[str, Any]) -> None:
        """One feed change: not another org's, explained by an Outlook action, never an echo."""
        kind, appointment = c.get("type"), c.get("appointment") or ""
        data = c.get("data") or {}
        ctx = {"org": org.id, "change": c}
        self.checks["feed: change not another org's"] += 1
        leak, owner = self.leaks(org, c)
        if leak:
            what = c.get("task") or appointment
            self.fail(
                "feed_leak",
                f"{org.id}'s feed has a change about another org's booking: {kind} {what}",
                **ctx,
                owner=owner,
            )
            return
        mode = org.mode_at(utc(c["at"]))
        self.checks["feed: type fits syncMode"] += 1
        if mode == ONE_WAY and kind in OCCURRENCE_TYPES:
            if not self.match(org, c):  # only a oneWay cancellation may say so (soak_people.py)
                self.fail("oneway_occurrence", f"{kind} of {appointment} {data.get('occurrence')} in oneWay", **ctx)
            return
        if (mode == ONE_WAY) != (kind == "restored"):
            self.fail("feed_mode", f"{kind} reported while {org.id} was {mode}", **ctx)
            return
        # Whose change: the mailbox's owner in this org (responses: whoever answered).
        self.checks["feed: change explained"] += 1
        if kind in TASK_TYPES:
            self.judge_task(org, c, ctx)
            return
        if appointment.startswith("outlook-"):
            self.judge_outlook_event(org, c, ctx)
            return
        if appointment not in org.appts:
            self.fail("feed_unknown", f"{kind} for appointment {appointment!r} the booking product never made", **ctx)
            return
        if kind == "responded":
            if c.get("resource"):
                self.stats["room answers reported"] += 1  # rooms answer by their booking rules
                return
            if self.match(org, c):
                return
            key = (org.id, appointment, str(data.get("address")), str(data.get("response")))
            if key in self.responses and self.kills:
                self.stats["duplicate changes after a crash"] += 1
                return
            self.fail("feed_unexplained", f"responded for {appointment} that nobody answered", **ctx)
            return
        if kind in ("updated", "deleted", "restored", *OCCURRENCE_TYPES):
            self.judge_explained(org, c, ctx, f"{kind} of {appointment} {data.get('occurrence') or ''}".strip())
            return
        self.fail("feed_unexplained", f"unexpected change type {kind}", **ctx)

    def judge_explained(self, org: OrgModel, c: dict[str, Any], ctx: dict[str, Any], what: str) -> None:
        """A change some Outlook or To Do action must explain: an open Expect, else a
        duplicate after a crash (at-least-once), else a failure."""
        if self.match(org, c):
            return
        dup = [e for e in self.closed if e.org == org.id and e.matches(c)]
        late = [e for e in dup if e.missed and not e.late]
        if late:  # already failed as missing at a quiescence: it came after all
            late[0].late = True
            self.fail("feed_late", f"{what} reported after the quiescence that missed it", **ctx)
            return
        if dup and any(self.killed_since(e.made) for e in dup):
            self.stats["duplicate changes after a crash"] += 1
            return
        if dup:
            self.fail("feed_duplicate", f"{what} reported twice without a crash (echo?)", **ctx)
        else:
            self.fail("feed_echo", f"{what} without an Outlook change (echo?)", **ctx)

    def judge_task(self, org: OrgModel, c: dict[str, Any], ctx: dict[str, Any]) -> None:
        task = c.get("task") or ""
        if task not in org.tasks:
            self.fail("feed_unknown", f"{c['type']} for task {task!r} the booking product never made", **ctx)
            return
        self.judge_explained(org, c, ctx, f"{c['type']} of task {task}")

    def judge_outlook_event(self, org: OrgModel, c: dict[str, Any], ctx: dict[str, Any]) -> None:
        kind, mailbox, event_id, data = c["type"], c["mailbox"], c.get("eventId") or "", c.get("data") or {}
        ev = self.oevents.get((mailbox, event_id))
        if ev is None:
            self.fail("feed_unexplained", f"{kind} for an event nobody made in Outlook", **ctx)
            return
        # docs/api.md: a minted `outlook-…` id, stable: every report of the event names the same one.
        first = ev.ids.setdefault(org.id, c["appointment"])
        if not self.check(
            "feed: minted id stable",
            c["appointment"] == first,
            f"{c['appointment']} for an event first reported as {first}",
            **ctx,
        ):
            return
        self.match(org, c)
        if kind in ("created", "updated"):
            self.check(
                "feed: outlook event content",
                data.get("title") in ev.titles,
                f"{kind} says {data.get('title')!r}, the event was {ev.titles}",
                **ctx,
            )
        elif kind == "deleted":
            self.check("feed: outlook event content", ev.deleted, "deleted for an event that exists", **ctx)
        else:
            self.fail("feed_unexplained", f"{kind} for a personal event", **ctx)

    def match(self, org: OrgModel, c: dict[str, Any]) -> bool:
        for e in self.open:
            if e.org == org.id and e.matches(c):
                self.open.remove(e)
                self.closed.append(e)
                e.done = True
                self.checks["expected change seen"] += 1
                changed = set((c.get("data") or {}).get("changed") or [])
                if e.changed is not None:
                    self.check(
                        "feed: only what Outlook changed",
                        changed <= e.changed,
                        f"{c['type']} says {sorted(changed)} changed; Outlook changed {sorted(e.changed)}",
                        org=org.id,
                        change=c,
                    )
                op = e.op
                op.seen[org.id] = c
                if all(x.done for x in op.expects) and not op.finished:
                    op.finished = True
                    if op.after:
                        op.after(op.seen)
                return True
        return False
