"""The soak's faults (bench/soak.py): what the emulator and the machine do to calsync in a
phase, and their clearing before the invariants are checked.

Each phase schedules 1–4 kinds at random times (and a SIGKILL every other phase): a throttle
storm (a tiny budget), scripted 429s, 5xx (`errorRate` and scripted 500/503), lost answers
(`afterApply`: carried out, then answered 500/504), dropped notifications, expired delta
tokens (events' and To Do's), a removed subscription, a lifecycle `missed`, and an app
instance SIGKILLed and restarted 3–12 s later. The rules target the app's paths (a person's
calls go to `/calendar/events`, and never create To Do tasks), so people are not refused.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.soak_state import NORMAL_FAULTS, SoakState

FAULT_KINDS = (
    "throttle_storm",
    "429",
    "5xx",
    "lost_answer",
    "dropped_notifications",
    "delta_expired",
    "subscription_removed",
    "lifecycle_missed",
    "kill",
)
TODO_TASKS = "/users/{id}/todo/lists/{id}/tasks"  # POST: only calsync makes To Do tasks


class Faults(SoakState):
    def faults_now(self) -> dict[str, Any]:
        return self.s.graph.get("/_emulator/faults").json()

    def add_rules(self, rules: list[dict[str, Any]]) -> None:
        current = self.faults_now().get("failNext") or []
        self.s.graph.post("/_emulator/faults", json={"failNext": current + rules})

    def schedule_faults(self, seconds: float, n: int) -> list[str]:
        """This phase's faults, each at a random time in its first 70 %."""
        kinds = self.rng.sample(FAULT_KINDS, self.rng.randint(1, 4))
        if "kill" not in kinds and (n % 2 == 1 or self.rng.random() < 0.3):
            kinds.append("kill")  # every other phase at least: an instance dies under load
        for kind in kinds:
            self.later(self.rng.uniform(0, seconds * 0.7), f"fault {kind}", lambda k=kind: self.inject(k))
        return kinds

    def inject(self, kind: str) -> None:
        rng, graph = self.rng, self.s.graph
        if kind == "kill":
            alive = [i for i in self.s.instances if i.alive]
            if len(alive) < len(self.s.instances) or len(alive) < 2:
                return
            victim = rng.choice(alive)
            victim.kill()
            self.kills.append(time.monotonic())
            print(f"  kill instance {victim.index}", flush=True)
            delay = rng.uniform(3, 12)
            thread = threading.Thread(target=lambda: (time.sleep(delay), victim.start()), daemon=True)
            thread.start()
            self.restarts.append(thread)
            self.log(f"fault kill instance {victim.index}")
        elif kind == "throttle_storm":
            graph.post("/_emulator/faults", json={"throttle": {"requests": 12, "windowSeconds": 5, "concurrency": 1}})
            self.later(
                rng.uniform(8, 20),
                "throttle off",
                lambda: graph.post("/_emulator/faults", json={"throttle": NORMAL_FAULTS["throttle"]}),
            )
        elif kind == "429":
            self.add_rules(
                [
                    {
                        "method": "GET",
                        "pattern": "/users/{id}/calendarView/delta",
                        "status": 429,
                        "count": 6,
                        "retryAfter": 1,
                    },
                    {"method": "POST", "pattern": "/users/{id}/events", "status": 429, "count": 3, "retryAfter": 1},
                    {
                        "method": "PATCH",
                        "pattern": "/users/{id}/events/{id}",
                        "status": 429,
                        "count": 3,
                        "retryAfter": 1,
                    },
                    {"method": "POST", "pattern": TODO_TASKS, "status": 429, "count": 2, "retryAfter": 1},
                ]
            )
        elif kind == "5xx":
            graph.post("/_emulator/faults", json={"errorRate": rng.choice((0.1, 0.2, 0.3))})
            self.later(rng.uniform(5, 15), "5xx off", lambda: graph.post("/_emulator/faults", json={"errorRate": 0}))
            self.add_rules(
                [
                    {"method": "GET", "pattern": "/users/{id}/calendarView/delta", "status": 503, "count": 3},
                    {"method": "PATCH", "pattern": "/users/{id}/events/{id}", "status": 500, "count": 1},
                ]
            )
        elif kind == "lost_answer":
            # Carried out, then answered with an error: the app cannot know it happened.
            self.add_rules(
                [
                    {
                        "method": "POST",
                        "pattern": "/users/{id}/events",
                        "status": rng.choice((500, 504)),
                        "count": 1,
                        "afterApply": True,
                    },
                    {
                        "method": "PATCH",
                        "pattern": "/users/{id}/events/{id}",
                        "status": rng.choice((500, 504)),
                        "count": 1,
                        "afterApply": True,
                    },
                    {
                        "method": "DELETE",
                        "pattern": "/users/{id}/events/{id}",
                        "status": rng.choice((500, 504)),
                        "count": 1,
                        "afterApply": True,
                    },
                    # docs/api.md "Tasks": a retry after a lost answer finds the task by its
                    # linkedResource instead of making another.
                    {
                        "method": "POST",
                        "pattern": TODO_TASKS,
                        "status": rng.choice((500, 504)),
                        "count": 1,
                        "afterApply": True,
                    },
                ]
            )
        elif kind == "dropped_notifications":
            graph.post("/_emulator/faults", json={"deliverNotifications": False})
            self.later(
                rng.uniform(5, 15),
                "notifications on",
                lambda: graph.post("/_emulator/faults", json={"deliverNotifications": True}),
            )
        elif kind == "delta_expired":
            body: dict[str, Any] = {
                "status": rng.choice((410, 400)),
                "code": rng.choice(("syncStateNotFound", "syncStateInvalid", "resyncRequired")),
            }
            if rng.random() < 0.6:
                body["mailbox"] = rng.choice(list(self.by_id))
            graph.post("/_emulator/delta/expire", json=body)
        elif kind in ("subscription_removed", "lifecycle_missed"):
            subs = [
                s
                for s in graph.get("/_emulator/subscriptions").json()["subscriptions"]
                if s["tenantId"] == self.tenant and not s["expired"]
            ]
            if not subs:
                return
            sub = rng.choice(subs)
            if kind == "subscription_removed":
                graph.delete(f"/_emulator/subscriptions/{sub['id']}")
            else:
                graph.post(f"/_emulator/subscriptions/{sub['id']}/lifecycle", json={"lifecycleEvent": "missed"})
        self.faults[kind] += 1
        self.log(f"fault {kind}")

    def clear_faults(self) -> None:
        self.scheduled.clear()  # this phase's faults (and their ends) are over
        self.s.graph.post("/_emulator/faults", json=NORMAL_FAULTS)
        for thread in self.restarts:
            thread.join()
        self.restarts.clear()
        for instance in self.s.instances:
            if not instance.alive:
                instance.start()
