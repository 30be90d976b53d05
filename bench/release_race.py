"""Room check-in and auto-release under two instances (#28): the promises under a race.

    .venv/bin/python -m bench.release_race [--bookings 40] [--seed 1] [--latency-ms 250]

Two local hosts on one Azurite and one Graph emulator, behind the round-robin proxy
(bench.stack.cluster), and one org with `roomCheckIn` on and `releaseAfterMinutes: 1`, a
linked organizer and one linked room per booking: a room's calendar holds only one meeting
at a time (the emulator's rooms decline a clash, as AutoAccept does), and every booking
here is in progress. Appointments book one or two rooms each; a booking is one room of one
appointment. Every booking's grace period ends within a few seconds of the others', and:

- a random half of the bookings is checked in: half of those well before the grace period
  ends, the other half right at its end (from 1 s before to 1.5 s after), while release
  runs are under way; a check-in answered before its booking fell due must be accepted;
- release runs (`{"org": …}` on queue `room-release`, what the minute timer sends) go out
  in bursts of 2–4 every half second, so both instances take them at once;
- Graph answers in `--latency-ms` (the emulator's answers take milliseconds, Graph's a few
  hundred): a release spends that long between taking a booking and committing it, the
  window a check-in or another instance's run must not get into;
- once releases are being committed, the instance that committed the latest one is
  SIGKILLed and restarted. A booking it had taken but not finished stays `releasing` until
  its 5-minute lease is over: the bench keeps sending runs until it is released (capped).

Then, from the feed, the emulator's request log, the rooms' calendars and the appointment
views: every booking nobody checked in to was released exactly once (one `room_released`,
one decline, its room's calendar free); every accepted check-in was never released; every
refused check-in was a 409 `room_released` of a released booking; the views agree. Failing,
it keeps both hosts' logs under /tmp/release-race-<seed>/ and exits non-zero.
"""

from __future__ import annotations

import argparse
import base64
import random
import re
import shutil
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from azure.storage.queue import QueueClient

from bench.capacity import OUTLOOK_APP
from bench.reconcile import wait_quiet
from bench.soak_world import zulu
from bench.stack import ClusterStack, Instance, cluster
from shared.adapters.message_wire import encode
from shared.adapters.messages import RoomRelease
from shared.core.room_release import LEASE  # a stalled release is taken over after it

ORG = "bench"
DOMAIN = "bench.test"
# The grace periods end in clusters, every 2 s over SPREAD_S seconds: runs meet several
# bookings falling due at once, and a kill finds an instance in the middle of a cluster.
SPREAD_S = 8
RACE_JITTER_S = (-1.0, 1.5)  # a boundary check-in comes this close to its grace period's end
RELEASED_LINE = "released room"  # shared.service.room_release logs this on each commit


@dataclass
class Booking:
    appointment: str
    resource: str  # r000…: one room, so one mailbox, per booking
    mailbox: str  # the room's user id in the emulator
    due: datetime  # when its grace period ends (start + 1 minute)
    plan: str  # "early" / "boundary" check-in, or "none"
    check_in: CheckIn | None = None


@dataclass
class CheckIn:
    sent: datetime
    answered: datetime | None = None  # the definite answer's arrival
    status: int = 0
    code: str | None = None
    tries: int = 0


@dataclass
class Run:
    """What happened during the run, for the report."""

    runs_sent: int = 0
    killed: list[str] = field(default_factory=list)
    left_releasing: int = 0  # bookings a dead instance had taken, released after the lease
    lease_wait_s: float = 0.0
    wave_s: float = 0.0
    t0: float = 0.0  # time.monotonic() when the first grace period ended


# -- the world ----------------------------------------------------------------------------------
def seed_tenant(s: ClusterStack, rooms: int) -> tuple[str, dict[str, str]]:
    users: list[dict[str, Any]] = [{"userPrincipalName": f"ada@{DOMAIN}", "displayName": "Ada"}]
    users += [
        {"userPrincipalName": f"room{i:03}@{DOMAIN}", "displayName": f"Room {i:03}", "userPurpose": "room"}
        for i in range(rooms)
    ]
    return s.tenant(users)


def set_up_org(s: ClusterStack, tenant: str, rooms: int) -> None:
    s.api.put(f"/orgs/{ORG}", json={"m365TenantId": tenant, "displayName": "Bench"}).raise_for_status()
    settings = {"roomCheckIn": True, "releaseAfterMinutes": 1}
    s.api.put(f"/orgs/{ORG}/settings", json=settings).raise_for_status()
    r = s.api.put(f"/orgs/{ORG}/workers/w-ada", json={"m365Account": f"ada@{DOMAIN}"})
    assert r.json().get("status") == "linked", r.text

    def link(i: int) -> None:
        r = s.api.put(f"/orgs/{ORG}/resources/r{i:03}", json={"mailbox": f"room{i:03}@{DOMAIN}"})
        assert r.json().get("status") == "linked", r.text

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(link, range(rooms)))


def plan_bookings(n: int, ids: dict[str, str], boundary: datetime, rng: random.Random) -> list[Booking]:
    """n bookings over n rooms, grouped into appointments of one or two rooms; each falls due
    at one of the even seconds of [boundary, boundary + SPREAD_S]; half are to be checked in."""
    bookings: list[Booking] = []
    room = 0
    while room < n:
        size = min(n - room, rng.choice([1, 1, 2]))
        due = boundary + timedelta(seconds=2 * rng.randint(0, SPREAD_S // 2))
        for k in range(size):
            i = room + k
            mailbox = ids[f"room{i:03}@{DOMAIN}"]
            bookings.append(Booking(f"a{room:03}", f"r{i:03}", mailbox, due, "none"))
        room += size
    chosen = rng.sample(bookings, n // 2)
    for i, b in enumerate(chosen):
        b.plan = "early" if i % 2 == 0 else "boundary"
    return bookings


def push(s: ClusterStack, bookings: list[Booking]) -> None:
    """PUT each appointment: a meeting Ada organizes in its rooms, begun a minute before it is due."""
    by_appt: dict[str, list[Booking]] = {}
    for b in bookings:
        by_appt.setdefault(b.appointment, []).append(b)

    def put(appointment: str) -> None:
        group = by_appt[appointment]
        start = group[0].due - timedelta(minutes=1)
        body = {
            "title": f"Review {appointment}",
            "start": zulu(start),
            "end": zulu(start + timedelta(hours=1)),  # lasts past the lease wait
            "organizer": "w-ada",
            "resources": [b.resource for b in group],
        }
        r = s.api.put(f"/orgs/{ORG}/appointments/{appointment}", json=body)
        assert r.status_code == 200 and r.json()["targets"][0]["state"] == "synced", r.text

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(put, by_appt))


# -- the race -----------------------------------------------------------------------------------
def check_in(s: ClusterStack, b: Booking) -> None:
    """POST …/check-in until a definite answer: a check-in is idempotent (200 again, or 409 once
    released), so one lost with a killed instance (502) or refused by none (503) is sent again."""
    ci = b.check_in = CheckIn(sent=datetime.now(UTC))
    while ci.tries < 20:
        ci.tries += 1
        try:
            r = s.api.post(f"/orgs/{ORG}/appointments/{b.appointment}/check-in", json={"resource": b.resource})
        except httpx.TransportError:
            r = None
        if r is None or r.status_code in (502, 503):
            time.sleep(0.2)
            continue
        ci.status, ci.answered = r.status_code, datetime.now(UTC)
        if r.status_code != 200 and r.headers.get("content-type", "").startswith("application/problem+json"):
            ci.code = r.json().get("code")
        return


def release_runs(queue: QueueClient, count: int) -> None:
    """What the minute timer sends for the org, `count` times at once."""
    text = base64.b64encode(encode(RoomRelease(ORG)).encode()).decode()  # the host's messageEncoding
    for _ in range(count):
        queue.send_message(text)


def released_lines(node: Instance) -> list[str]:
    return [line for line in node.log.read_text(errors="replace").splitlines() if RELEASED_LINE in line]


def kill_the_releasing_one(s: ClusterStack, bookings: int, run: Run) -> None:
    """Once releases are being committed, SIGKILL the instance that committed the latest one
    (most likely in the middle of a run) and start it again."""
    deadline = time.monotonic() + SPREAD_S + 10
    while True:
        lines = {node.index: released_lines(node) for node in s.instances}
        seen = sum(map(len, lines.values()))
        if seen >= max(1, bookings // 8) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    # A log line starts with its time (23 characters): the latest one names the busy instance.
    latest = max(s.instances, key=lambda node: lines[node.index][-1][:23] if lines[node.index] else "")
    latest.kill()
    run.killed.append(f"instance {latest.index} after {seen} releases, {time.monotonic() - run.t0:+.1f} s")
    time.sleep(2)
    latest.start()


def wave(s: ClusterStack, bookings: list[Booking], boundary: datetime, rng: random.Random, run: Run) -> None:
    """Release runs in bursts from just before the first grace period ends to a few seconds after
    the last, the boundary check-ins at their moments, and one instance killed meanwhile."""
    killer = threading.Thread(target=kill_the_releasing_one, args=(s, len(bookings), run))
    racing = [b for b in bookings if b.plan == "boundary"]
    moments = {id(b): b.due + timedelta(seconds=rng.uniform(*RACE_JITTER_S)) for b in racing}

    def at_its_moment(b: Booking) -> None:
        time.sleep(max(0.0, (moments[id(b)] - datetime.now(UTC)).total_seconds()))
        check_in(s, b)

    wait_until_time(boundary - timedelta(seconds=2))
    started = time.perf_counter()
    run.t0 = time.monotonic() + 2
    killer.start()
    with QueueClient.from_connection_string(s.storage, RoomRelease.QUEUE) as queue, ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(at_its_moment, b) for b in racing]
        end = boundary + timedelta(seconds=SPREAD_S + 4)
        while datetime.now(UTC) < end:
            burst = rng.randint(2, 4)
            release_runs(queue, burst)
            run.runs_sent += burst
            time.sleep(0.5)
        for f in futures:
            f.result()
    killer.join()
    run.wave_s = time.perf_counter() - started


def wait_until_time(at: datetime) -> None:
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()))


# -- waiting on what happened ---------------------------------------------------------------------
def feed(s: ClusterStack) -> list[dict[str, Any]]:
    """Every change of the org, paged with `after`/`next` until nothing is new."""
    out: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"after": after} if after else {})}
        page = s.api.get(f"/orgs/{ORG}/changes", params=params).json()
        out += page["changes"]
        if not page["changes"]:
            return out
        after = page["next"]


def releases(s: ClusterStack) -> Counter[tuple[str, str]]:
    return Counter((c["appointment"], c["resource"]) for c in feed(s) if c["type"] == "room_released")


def room_states(s: ClusterStack, appointments: set[str]) -> dict[tuple[str, str], str]:
    """(appointment, resource) → state, from the appointments' views (`rooms`)."""
    states: dict[tuple[str, str], str] = {}
    for a in sorted(appointments):
        view = s.api.get(f"/orgs/{ORG}/appointments/{a}").json()
        states.update({(a, room["resource"]): room["state"] for room in view.get("rooms", [])})
    return states


def accepted(b: Booking) -> bool:
    return b.check_in is not None and b.check_in.status == 200


def settle(s: ClusterStack, bookings: list[Booking], run: Run, cap_s: float) -> None:
    """Send runs until every booking not checked in is released: every 2 s while some booking
    is untaken; every 10 s while the only ones left are `releasing` (a dead instance's, taken
    over once its lease is over)."""
    deadline = time.monotonic() + cap_s
    waiting_since: float | None = None
    with QueueClient.from_connection_string(s.storage, RoomRelease.QUEUE) as queue:
        while time.monotonic() < deadline:
            done = releases(s)
            left = [b for b in bookings if not accepted(b) and (b.appointment, b.resource) not in done]
            if not left:
                break
            states = room_states(s, {b.appointment for b in left})
            stalled = [b for b in left if states.get((b.appointment, b.resource)) == "releasing"]
            if len(stalled) == len(left):
                if waiting_since is None:
                    waiting_since, run.left_releasing = time.monotonic(), len(stalled)
                    print(f"  {len(stalled)} booking(s) left `releasing` by the killed instance: waiting for the lease")
                release_runs(queue, 1)
                run.runs_sent += 1
                time.sleep(10)
            else:
                release_runs(queue, 2)
                run.runs_sent += 2
                time.sleep(2)
    if waiting_since is not None:
        run.lease_wait_s = time.monotonic() - waiting_since


def drain(s: ClusterStack, run: Run) -> None:
    """One more burst of runs, then every run done: a release twice would show after this."""
    with QueueClient.from_connection_string(s.storage, RoomRelease.QUEUE) as queue:
        release_runs(queue, 4)
    run.runs_sent += 4
    deadline = time.monotonic() + 60
    while s.queue_depth(RoomRelease.QUEUE) and time.monotonic() < deadline:
        time.sleep(0.2)


# -- the checks ---------------------------------------------------------------------------------
def declines(s: ClusterStack) -> Counter[str]:
    """POST …/decline per mailbox, from the emulator's request log."""
    items = s.graph.get("/_emulator/requests").json()["items"]
    found: Counter[str] = Counter()
    for i in items:
        if i["method"] == "POST" and i["pattern"].endswith("/decline"):
            found[i["mailbox"]] += i["count"]
    return found


def room_holds_meeting(graph: httpx.Client, b: Booking) -> bool:
    """Whether the room's calendar still holds the meeting (read as another application)."""
    span = {"startDateTime": zulu(b.due - timedelta(minutes=1)), "endDateTime": zulu(b.due + timedelta(minutes=59))}
    events = graph.get(f"/users/{b.mailbox}/calendarView", params=span).json()["value"]
    return any((e.get("responseStatus") or {}).get("response") != "declined" for e in events)


def verify(s: ClusterStack, tenant: str, bookings: list[Booking]) -> list[tuple[str, bool, str]]:
    done, declined = releases(s), declines(s)
    states = room_states(s, {b.appointment for b in bookings})
    with s.graph_as(tenant, OUTLOOK_APP) as graph:
        holds = {b.resource: room_holds_meeting(graph, b) for b in bookings}

    def key(b: Booking) -> tuple[str, str]:
        return (b.appointment, b.resource)

    def failing(bs: list[Booking], ok: Any) -> str:
        bad = [f"{b.appointment}/{b.resource}" for b in bs if not ok(b)]
        return f"{len(bs) - len(bad)}/{len(bs)}" + (f"; wrong: {', '.join(bad[:8])}" if bad else "")

    released = [b for b in bookings if not accepted(b)]
    kept = [b for b in bookings if accepted(b)]
    refused = [b for b in bookings if b.check_in is not None and b.check_in.status != 200]
    # A check-in answered before its booking fell due cannot have met a release.
    in_time = [b for b in bookings if b.check_in and b.check_in.answered and b.check_in.answered < b.due]
    results = [
        ("not checked in: exactly one room_released", lambda b: done[key(b)] == 1, released),
        ("not checked in: exactly one decline by its room", lambda b: declined[b.mailbox] == 1, released),
        ("not checked in: the room's calendar is free", lambda b: not holds[b.resource], released),
        ("not checked in: the view says released", lambda b: states.get(key(b)) == "released", released),
        ("check-in accepted: never released", lambda b: done[key(b)] == 0, kept),
        ("check-in accepted: no decline", lambda b: declined[b.mailbox] == 0, kept),
        ("check-in accepted: the room still holds the meeting", lambda b: holds[b.resource], kept),
        ("check-in accepted: the view says checked_in", lambda b: states.get(key(b)) == "checked_in", kept),
        (
            "check-in refused: 409 room_released",
            lambda b: b.check_in is not None and (b.check_in.status, b.check_in.code) == (409, "room_released"),
            refused,
        ),
        ("check-in answered before the grace period ended: accepted", accepted, in_time),
    ]
    checks = [(name, all(ok(b) for b in bs), failing(bs, ok)) for name, ok, bs in results]
    strays = sorted(set(done) - {key(b) for b in bookings}) + sorted(set(states) - {key(b) for b in bookings})
    checks.append(("no release or room state of anything else", not strays, f"{len(strays)} stray"))
    return checks


# -- the report ---------------------------------------------------------------------------------
def executions(s: ClusterStack) -> dict[str, int]:
    pattern = re.compile(r"Executed 'Functions\.release_org_rooms' \((\w+)")
    found: Counter[str] = Counter()
    for node in s.instances:
        for status in pattern.findall(node.log.read_text(errors="replace")):
            found[f"instance {node.index} {status.lower()}"] += 1
    return dict(sorted(found.items()))


def latencies(bookings: list[Booking], changes: list[dict[str, Any]]) -> str:
    """How long after its grace period ended each booking was released (a taken-over one apart)."""
    due = {(b.appointment, b.resource): b.due for b in bookings}
    late = sorted(
        (datetime.fromisoformat(c["at"]) - due[(c["appointment"], c["resource"])]).total_seconds()
        for c in changes
        if (c["appointment"], c["resource"]) in due
    )
    prompt = [s for s in late if s < LEASE.total_seconds()]
    if not prompt:
        return "released after the grace period: -"
    return (
        f"released after the grace period ended: p50 {prompt[len(prompt) // 2]:.1f} s, max {prompt[-1]:.1f} s"
        f" ({len(late) - len(prompt)} more after a lease)"
    )


def report(s: ClusterStack, bookings: list[Booking], run: Run, took: float) -> None:
    answers = Counter(b.check_in.status for b in bookings if b.check_in)
    boundary = [b for b in bookings if b.plan == "boundary"]
    changes = [c for c in feed(s) if c["type"] == "room_released"]
    not_declined = sum(1 for c in changes if not c["data"].get("declined"))
    print(f"  bookings {len(bookings)} in {len({b.appointment for b in bookings})} appointments")
    print(
        f"  check-ins {sum(answers.values())}: accepted {answers[200]}, refused {answers[409]}"
        f", other {sum(answers.values()) - answers[200] - answers[409]}"
        f"; at the boundary {len(boundary)}: accepted {sum(accepted(b) for b in boundary)}"
        f", retried after a lost answer {sum(1 for b in bookings if b.check_in and b.check_in.tries > 1)}"
    )
    print(f"  room_released {len(changes)} (declined: false {not_declined}), declines {sum(declines(s).values())}")
    print(f"  release runs sent {run.runs_sent}; executions {executions(s)}")
    print(f"  instances killed: {len(run.killed)} ({'; '.join(run.killed) or '-'}; times from the first due)")
    print(
        f"  left releasing by the kill: {run.left_releasing}, released after a lease wait of {run.lease_wait_s:.0f} s"
    )
    print(f"  {latencies(bookings, changes)}")
    print(f"  wave {run.wave_s:.1f} s; all settled {took:.1f} s after the first grace period ended")
    warnings = sum(node.log.read_text(errors="replace").count("WARNING calsync.rooms") for node in s.instances)
    print(f"  release warnings in the hosts' logs (a booking's Graph call failed): {warnings}")


def keep_logs(s: ClusterStack, seed: int) -> Path:
    where = Path(f"/tmp/release-race-{seed}")
    where.mkdir(parents=True, exist_ok=True)
    for node in s.instances:
        shutil.copy(node.log, where / node.log.name)
    return where


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=250, help="Graph's answer time during the race")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    n = args.bookings
    # A killed host's running messages come back after 15 s instead of 10 minutes.
    env = {
        "CALSYNC_HOST_LEASE_SECONDS": "15",
        "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.2",
    }
    with cluster(2, **env) as s:
        tenant, ids = seed_tenant(s, n)
        set_up_org(s, tenant, n)
        wait_quiet(s.graph, timeout_s=60)
        # The first grace period ends once the pushes and the early check-ins are done.
        boundary = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=15 + round(0.4 * n))
        bookings = plan_bookings(n, ids, boundary, rng)
        push(s, bookings)
        for b in bookings:
            if b.plan == "early":
                check_in(s, b)
        late = (datetime.now(UTC) - boundary).total_seconds()
        print(f"seed {args.seed}: {n} bookings pushed, first grace period ends in {-late:.1f} s", end="")
        print(f"; Graph answers in {args.latency_ms:.0f} ms from now")
        run = Run()
        # Graph's own latency (the emulator answers in milliseconds) is what keeps a release
        # between its claim and its commit: the window a check-in or another run can fall into.
        s.graph.post("/_emulator/faults", json={"latencyMs": args.latency_ms}).raise_for_status()
        wave(s, bookings, boundary, rng, run)
        settle(s, bookings, run, cap_s=(LEASE + timedelta(minutes=2)).total_seconds())
        drain(s, run)
        s.graph.post("/_emulator/faults", json={"latencyMs": 0}).raise_for_status()
        took = (datetime.now(UTC) - boundary).total_seconds()
        checks = verify(s, tenant, bookings)
        report(s, bookings, run, took)
        for name, ok, detail in checks:
            print(f"  {'PASS' if ok else 'FAIL'}  {name} ({detail})")
        if not all(ok for _, ok, _ in checks):
            raise SystemExit(f"FAIL (seed {args.seed}); the hosts' logs are in {keep_logs(s, args.seed)}")
        print("PASS")


if __name__ == "__main__":
    main()
