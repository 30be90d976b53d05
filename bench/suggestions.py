"""Finding a time and a room in a big org: Graph calls and time per question.

    .venv/bin/python -m bench.suggestions [--workers 20] [--rooms 2000] [--repeat 5]

Through the real local stack (host + Azurite + emulator): a tenant of `--workers` people and
`--rooms` rooms (places data: capacity 2–30, four buildings, ten floors, tags), the rooms
imported (POST …/resources/import), each person's week made busy in Outlook (about 15 % of
working time) and every room booked at random over the week. Then POST …/suggestions for a
week's window, each question `--repeat` times:
- half the workers required, half optional, a room for all of them;
- five required, the rest optional, a room with filters (building, features);
- every worker required, no room (with this workload there is seldom a free hour for all
  20: the planner's whole grid is walked);
- the worst case: a room size only a few rooms have, all of them booked at the best times,
  so every matching room is asked.
Printed per question: getSchedule calls (from the emulator's request log, and as the answer
counts them), rooms matching and asked, latency p50 and max.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date, datetime, timedelta

from bench.reconcile import link_workers, wait_quiet
from bench.stack import BenchStack, stack

BUILDINGS = ["North", "South", "East", "West"]
TAGS = ["video", "whiteboard", "phone", "accessible"]


def next_monday() -> date:
    today = datetime.now().date() + timedelta(days=7)
    return today - timedelta(days=today.weekday())


def seed(s: BenchStack, workers: int, rooms: int, rng: random.Random) -> tuple[str, dict[str, str]]:
    users = [{"userPrincipalName": f"u{i:05}@bench.test", "displayName": f"User {i}"} for i in range(workers)]
    for i in range(rooms):
        tags = sorted(rng.sample(TAGS, rng.randint(0, 3)))
        size = 2 + (i * 7919) % 29  # 2–30, spread evenly; only a few seat 30
        users.append(
            {
                "userPrincipalName": f"room{i:05}@bench.test",
                "displayName": f"Room {i:05}",
                "userPurpose": "room",
                "capacity": size,
                "building": BUILDINGS[i % 4],
                "floorNumber": 1 + i % 10,
                "tags": tags,
            }
        )
    return s.tenant(users)


def book(s: BenchStack, tenant: str, ids: dict[str, str], upn: str, day: date, hour: float, hours: float) -> None:
    start = datetime(day.year, day.month, day.day) + timedelta(hours=hour)
    body = {
        "subject": "Busy",
        "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(hours=hours)).isoformat(), "timeZone": "UTC"},
    }
    with s.graph_as(tenant, app_id="11111111-2222-3333-4444-555555555555") as g:
        g.post(f"/users/{ids[upn]}/events", json=body).raise_for_status()


def count_schedule_calls(s: BenchStack) -> int:
    items = s.graph.get("/_emulator/requests").json()["items"]
    return sum(i["count"] for i in items if "getSchedule" in i["pattern"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--rooms", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    monday = next_monday()
    week = [monday + timedelta(days=d) for d in range(5)]
    with stack() as s:
        tenant, ids = seed(s, args.workers, args.rooms, rng)
        s.api.put("/orgs/bench", json={"m365TenantId": tenant}).raise_for_status()
        link_workers(s, args.workers)
        started = time.perf_counter()
        r = s.api.post("/orgs/bench/resources/import")
        job = r.json()
        while job["state"] not in ("done", "failed"):
            time.sleep(1)
            job = s.api.get(f"/orgs/bench/jobs/{job['job']}").json()
        print(f"import: {job['totals']} in {time.perf_counter() - started:.1f} s")
        for i in range(args.workers):  # ~15 % of an 08–17 week busy: two blocks of 30–60 minutes a day
            for day in week:
                for hour in rng.sample(range(8, 17), 2):
                    book(s, tenant, ids, f"u{i:05}@bench.test", day, hour, rng.choice([0.5, 1]))
        for i in range(args.rooms):  # every room booked twice over the week
            for _ in range(2):
                book(s, tenant, ids, f"room{i:05}@bench.test", rng.choice(week), rng.randint(8, 16), 1)
        big = [i for i in range(args.rooms) if 2 + (i * 7919) % 29 == 30]
        for i in big:  # the worst case: the biggest rooms busy all Monday to Wednesday
            for day in week[:3]:
                book(s, tenant, ids, f"room{i:05}@bench.test", day, 8, 9)
        wait_quiet(s.graph, s=s)
        everyone = [f"w{i:05}" for i in range(args.workers)]
        window = {"start": f"{week[0]}T08:00:00Z", "end": f"{week[-1]}T17:00:00Z", "timeZone": "UTC"}
        questions = {
            "half required, half optional + room": {
                "required": everyone[: args.workers // 2],
                "optional": everyone[args.workers // 2 :],
                "room": {"capacity": args.workers},
            },
            "5 required + optional, filtered room": {
                "required": everyone[:5],
                "optional": everyone[5:],
                "room": {"capacity": 5, "building": "North", "features": ["video"]},
            },
            "all required, no room": {"required": everyone},
            "worst case: 30-seat room": {"required": everyone[:2], "room": {"capacity": 30}},
        }
        print(
            f"{args.workers} workers, {args.rooms} rooms ({len(big)} seat 30), window {window['start']}–{window['end']}"
        )
        for name, q in questions.items():
            body = {**window, "durationMinutes": 60, "maxSuggestions": 5, "roomsPerSuggestion": 3, **q}
            latencies, calls, answers = [], [], []
            for _ in range(args.repeat):
                s.graph.delete("/_emulator/requests")
                t0 = time.perf_counter()
                r = s.api.post("/orgs/bench/suggestions", json=body)
                latencies.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
                answers.append(r.json())
                calls.append(count_schedule_calls(s))
            a = answers[-1]
            first = a["suggestions"][0]["start"] if a["suggestions"] else "none"
            print(
                f"{name:<38} getSchedule calls {calls[-1]:>3} (answer says {a['graphCalls']})  "
                f"rooms matching {a.get('roomsMatching', '-')!s:>5} asked {a.get('roomsAsked', '-')!s:>5}  "
                f"p50 {statistics.median(latencies):7.1f} ms  max {max(latencies):7.1f} ms  "
                f"suggestions {len(a['suggestions'])}, first {first}"
            )


if __name__ == "__main__":
    main()
