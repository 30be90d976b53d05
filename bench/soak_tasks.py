"""The soak's workload for tasks (docs/api.md "Tasks (Microsoft To Do)"), both sides: the
booking product PUTs, edits, moves and DELETEs tasks of linked workers; people in To Do
(plain Graph calls to the emulator's To Do, as another application) retitle, complete or
delete our tasks there.

To Do has no notifications: calsync reads each linked worker's list on the reconcile timer
(every 30 s here), in twoWay with `syncTasks` on, so a To Do action expects its change
(`task_updated`, `task_completed`, `task_deleted`) within a reconcile or two; the booking
product then applies it (PUTs what To Do holds, or re-makes or deletes a task deleted there).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx

from bench.soak_state import SoakState, now
from bench.soak_world import TWO_WAY, Expect, Op, OrgModel, Task


class Tasks(SoakState):
    # -- the booking product ------------------------------------------------------------------
    def put_task(self, org: OrgModel, task: Task, why: str) -> None:
        task.busy = why
        r = self.api("PUT", f"/orgs/{org.id}/tasks/{task.id}", json=task.body())
        if not self.check("api: task accepted", r.status_code in (200, 202), f"PUT task {task.id}: {r.text[:300]}"):
            task.busy = None
            return
        task.put_once = True
        self.task_answered(org, task, r)

    def delete_task(self, org: OrgModel, task: Task, why: str) -> None:
        task.busy = why
        r = self.api("DELETE", f"/orgs/{org.id}/tasks/{task.id}")
        if not self.check("api: task accepted", r.status_code in (200, 202), f"DELETE task {task.id}: {r.text[:300]}"):
            task.busy = None
            return
        task.deleted = True
        self.task_answered(org, task, r)

    def task_answered(self, org: OrgModel, task: Task, r: httpx.Response) -> None:
        view = r.json()
        self.log(
            f"task {org.id} {task.busy} {task.id} → {r.status_code} {view.get('state')} "
            f"{self.name(view.get('mailboxId'))} {(view.get('todoTaskId') or '')[-10:]} | {task.body()}"
        )
        self.register_task(org, view)
        if r.status_code == 202 or view.get("state") == "pending":
            self.stats["task answered 202"] += 1
            task.pending = True
            self.task_pending.add((org.id, task.id))
        else:
            task.busy = None

    def linked_workers(self, org: OrgModel) -> list[str]:
        return [w for kind, w in org.linked if kind == "worker"]

    def free_tasks(self, org: OrgModel) -> list[Task]:
        """Tasks the booking product may touch now: not held, their worker linked."""
        linked = set(self.linked_workers(org))
        return [t for t in org.tasks.values() if not t.deleted and not t.busy and not t.pending and t.worker in linked]

    def op_task_create(self, org: OrgModel) -> bool:
        workers = sorted(self.linked_workers(org))
        if not workers:
            return False
        n = self.next_id()
        task = Task(org.id, f"t{n}", self.rng.choice(workers), f"{org.prefix}t{n} task v1")
        task.importance = self.rng.choice(("low", "normal", "high"))
        if self.rng.random() < 0.6:
            task.due = (now() + timedelta(days=self.rng.randint(1, 30))).date().isoformat()
        org.tasks[task.id] = task
        self.put_task(org, task, "create")
        return True

    def op_task_change(self, org: OrgModel, what: str) -> bool:
        free = self.free_tasks(org)
        if not free:
            return False
        task = self.rng.choice(free)
        if what == "delete":
            self.delete_task(org, task, "delete")
            return True
        if what == "move":  # deleted from the first worker's list, made in the second's
            others = sorted(w for w in self.linked_workers(org) if w != task.worker)
            if not others:
                return False
            task.worker = self.rng.choice(others)
        else:
            change = self.rng.choice(("title", "importance", "status", "due"))
            if change == "title":
                task.title = f"{org.prefix}{task.id} task v{self.next_id()}"
            elif change == "importance":
                task.importance = self.rng.choice([i for i in ("low", "normal", "high") if i != task.importance])
            elif change == "status":
                task.status = self.rng.choice(
                    [s for s in ("notStarted", "inProgress", "waitingOnOthers") if s != task.status]
                )
            else:
                task.due = (now() + timedelta(days=self.rng.randint(1, 30))).date().isoformat()
        self.put_task(org, task, what)
        return True

    # -- people in To Do ---------------------------------------------------------------------
    def op_todo(self, org: OrgModel, what: str) -> bool:
        """A worker retitles, completes or deletes one of our tasks in To Do."""
        if org.mode != TWO_WAY:
            return False  # oneWay: To Do is not read (docs/api.md), nothing to expect
        free = [t for t in self.free_tasks(org) if t.put_once and not (what == "complete" and t.status == "completed")]
        if not free:
            return False
        task = self.rng.choice(free)
        view = self.api("GET", f"/orgs/{org.id}/tasks/{task.id}").json()
        if view.get("state") != "synced" or not view.get("todoTaskId") or not view.get("listId"):
            return False
        mailbox, list_id, todo_id = view["mailboxId"], view["listId"], view["todoTaskId"]
        path = f"/users/{mailbox}/todo/lists/{list_id}/tasks/{todo_id}"
        types: tuple[str, ...]
        if what == "delete":
            r = self.g("DELETE", path)
            ok, types, want = r.status_code == 204, ("task_deleted",), {}
        elif what == "complete":
            r = self.g("PATCH", path, json={"status": "completed"})
            ok, types, want = r.status_code == 200, ("task_completed",), {"status": "completed"}
        else:
            title = f"{org.prefix}{task.id} todo{self.next_id()}"
            r = self.g("PATCH", path, json={"title": title})
            ok, types, want = r.status_code == 200, ("task_updated",), {"title": title}
        if r.status_code == 404:
            return False
        if not self.check("graph: todo action", ok, f"To Do {what} of {task.id}: {r.status_code} {r.text[:200]}"):
            return False
        task.busy = "todo"
        op = Op(f"{org.id}: To Do {what} of {task.id} in {self.by_id[mailbox].upn}")
        e = Expect(
            org.id,
            types,
            mailbox,
            todo_id,
            None,
            want,
            op.desc,
            time.monotonic(),
            ("worker", task.worker),
            task=task.id,
        )
        op.after = lambda seen: self.apply_todo(org, task, seen[org.id])
        self.start_op(op, [e], lambda: None)
        return True

    def apply_todo(self, org: OrgModel, task: Task, change: dict[str, Any]) -> None:
        """The booking product takes the To Do change and sends the task again."""
        data = change.get("data") or {}
        if change["type"] == "task_deleted":
            if self.rng.random() < 0.5:
                self.delete_task(org, task, "apply feed")
            else:  # docs/api.md: `deleted_in_todo`, "the next PUT makes it again"
                task.title = f"{org.prefix}{task.id} task again v{self.next_id()}"
                self.put_task(org, task, "apply feed (again)")
            return
        if data.get("title"):
            task.title = data["title"]
        if data.get("status"):
            task.status = data["status"]
        self.put_task(org, task, "apply feed")
