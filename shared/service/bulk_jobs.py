"""Bulk push ("push my calendar"): validate everything, store it, then sync from a queue.

The work is split into queue messages of CHUNK appointments, so several instances share
it; each message records its own progress row (no hot counter to fight over). A retried
message re-runs its chunk: appointments already in sync are no-ops, so a re-run creates
nothing new.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from shared.adapters.messages import PushChunk
from shared.adapters.records import Appointment, Job, JobChunk, WorkerLink
from shared.core.api_check import checked
from shared.core.api_requests import MAX_APPOINTMENTS, PushCalendarBody
from shared.core.errors import InvalidInput, NotFound, PayloadTooLarge
from shared.core.logcontext import log_context
from shared.core.outbound import Mailbox
from shared.core.validation import identifier
from shared.service import appointments, room_import
from shared.service.appointment_input import carried_exceptions, check_references, parse
from shared.service.orgs import require_org
from shared.service.ports import Services

log = logging.getLogger("calsync.jobs")

CHUNK = 20
CHUNK_CONCURRENCY = 4  # Outlook's per-mailbox concurrency; the gateway enforces it too
MAX_ERRORS = 100
STALLED_AFTER = timedelta(minutes=2)  # no progress for this long: shown under `stalled`


async def submit(services: Services, org_id: str, worker_id: str, body: dict[str, Any]) -> dict[str, Any]:
    org = await require_org(services, org_id)
    identifier("worker", worker_id)
    items = body.get("appointments")
    if isinstance(items, list) and len(items) > MAX_APPOINTMENTS:
        raise PayloadTooLarge(
            f"{len(items)} appointments; at most {MAX_APPOINTMENTS} per request", code="batch_too_large"
        )
    request = checked(PushCalendarBody, body)
    if await services.store.get(WorkerLink, org=org_id, worker=worker_id) is None:
        raise NotFound(f"worker {worker_id!r} is not known in organisation {org_id!r}", code="worker_not_found")
    default_push = org.config.push_appointments_by_default
    parsed: list[Appointment] = []
    seen: set[str] = set()
    boxes: dict[tuple[str, str], Mailbox] = {}
    for index, item in enumerate(request.appointments):
        prefix = f"appointments[{index}]."
        if item.appointment in seen:
            raise InvalidInput(prefix + "appointment", f"appointment {item.appointment!r} appears twice")
        seen.add(item.appointment)
        if "organizer" not in item.model_fields_set:
            item.organizer = worker_id
        appt = parse(org_id, item.appointment, item, default_push, prefix=prefix)
        boxes = await check_references(services, appt, prefix, boxes)
        parsed.append(appt)
    for appt in parsed:
        if appt.recurrence is not None:  # a series keeps its exceptions (one read per series)
            before = await services.store.get(Appointment, org=org_id, appointment=appt.appointment)
            appt.occurrences = carried_exceptions(before, appt)
    job_id = str(uuid.uuid4())
    chunks = [parsed[i : i + CHUNK] for i in range(0, len(parsed), CHUNK)]
    # Durable before we answer: the appointments, the job, then its messages.
    await services.store.submit([("upsert", a) for a in parsed])
    job = Job(
        org=org_id, job=job_id, worker=worker_id, total=len(parsed), chunks=len(chunks), created_at=services.clock.now()
    )
    await services.store.insert(job)
    for number, chunk in enumerate(chunks):
        await services.queues.send(PushChunk(org_id, job_id, f"{number:05}", [a.appointment for a in chunk]))
    return await view(services, org_id, job_id)


def _outcome(result: dict[str, Any]) -> str:
    states = [t["state"] for t in result["targets"]]
    if "pending" in states:
        return "pending"
    if "failed" in states:
        return "failed"
    return "succeeded" if "synced" in states else "skipped"


async def run_chunk(services: Services, message: PushChunk, *, final: bool) -> bool:
    """Sync one chunk; True when nothing in it is left pending.

    Progress is stored as each appointment finishes (at most once a second per chunk), so a
    crash loses at most that second of bookkeeping: the message comes back after its lease
    and the re-run finds the finished appointments in sync (no Graph write) and the rest
    still to do."""
    org_id, job_id, number = message.org, message.job, message.chunk
    org = await require_org(services, org_id)
    gate = asyncio.Semaphore(CHUNK_CONCURRENCY)
    chunk = await services.store.get(JobChunk, job=job_id, chunk=number) or JobChunk(job=job_id, chunk=number)
    outcomes: dict[str, dict[str, Any]] = {r["appointment"]: r for r in chunk.results}
    chunk.attempts += 1
    progress = _Progress(services, chunk, outcomes)
    await progress.flush()  # the job reads `running` from the first attempt on

    async def one(appointment_id: str) -> None:
        async with gate:
            appt = await services.store.get(Appointment, org=org_id, appointment=appointment_id)
            if appt is None:
                await progress.record(appointment_id, "failed", {"code": "appointment_missing"})
                return
            try:
                result = await appointments.sync(services, org, appt, retries=4, final=final, reassert=True)
            except InvalidInput as exc:  # a worker or resource deleted since the job was accepted
                await progress.record(appointment_id, "failed", {"code": exc.code, "message": exc.message})
                return
            outcome = _outcome(result)
            error = next((t["error"] for t in result["targets"] if t["state"] in ("failed", "pending")), None)
            await progress.record(appointment_id, outcome, error)

    with log_context(org=org_id, operation="push_job"):
        await asyncio.gather(*(one(a) for a in message.appointments))
    pending = sum(1 for r in outcomes.values() if r["outcome"] == "pending")
    chunk.final = final or pending == 0
    await progress.flush()
    return pending == 0


class _Progress:
    """One chunk's row, rewritten as its appointments finish (serialised: one row, one writer)."""

    FLUSH_EVERY_S = 1.0

    def __init__(self, services: Services, chunk: JobChunk, outcomes: dict[str, dict[str, Any]]) -> None:
        self.services, self.chunk, self.outcomes = services, chunk, outcomes
        self.lock = asyncio.Lock()
        self.flushed_at = services.clock.now()

    async def record(self, appointment_id: str, outcome: str, error: dict[str, Any] | None) -> None:
        self.outcomes[appointment_id] = {"appointment": appointment_id, "outcome": outcome, **(error or {})}
        if (self.services.clock.now() - self.flushed_at).total_seconds() >= self.FLUSH_EVERY_S:
            await self.flush()

    async def flush(self) -> None:
        async with self.lock:
            chunk, rows = self.chunk, list(self.outcomes.values())
            for kind in ("succeeded", "failed", "skipped", "pending"):
                setattr(chunk, kind, sum(1 for r in rows if r["outcome"] == kind))
            chunk.results = rows
            chunk.updated_at = self.flushed_at = self.services.clock.now()
            await self.services.store.upsert(chunk)


async def view(services: Services, org_id: str, job_id: str) -> dict[str, Any]:
    job = await services.store.get(Job, org=org_id, job=job_id)
    if job is None:
        raise NotFound(f"job {job_id!r} is not known", code="job_not_found")
    chunks = [c async for c in services.store.query(JobChunk, job=job_id)]
    if job.kind == "import":
        return room_import.import_view(job, chunks)
    done = [c for c in chunks if c.final]
    totals = {k: sum(getattr(c, k) for c in chunks) for k in ("succeeded", "failed", "skipped", "pending")}
    state = "queued" if not chunks else ("done" if len(done) == job.chunks else "running")
    errors = [
        {k: v for k, v in r.items() if k != "outcome"}
        for c in chunks
        for r in c.results
        if r["outcome"] in ("failed", "pending")
    ][:MAX_ERRORS]
    return {
        "job": job.job,
        "kind": "push",
        "worker": job.worker,
        "state": state,
        "total": job.total,
        **totals,
        "processed": totals["succeeded"] + totals["failed"] + totals["skipped"],
        "errors": errors,
        "stalled": _stalled(job, chunks, services.clock.now()) if state != "done" else [],
        "createdAt": job.created_at,
    }


def _stalled(job: Job, chunks: list[JobChunk], now: datetime) -> list[dict[str, Any]]:
    """Chunks not finished whose progress has not moved for STALLED_AFTER: a crashed instance's
    work waits for its message's lease to end; a chunk never started waits for the queue."""
    by_number = {c.chunk: c for c in chunks}
    stalled = []
    for number in (f"{n:05}" for n in range(job.chunks)):
        chunk = by_number.get(number)
        if chunk is not None and chunk.final:
            continue
        since = chunk.updated_at if chunk is not None else job.created_at
        if now - since >= STALLED_AFTER:
            stalled.append(
                {
                    "chunk": number,
                    "processed": (chunk.succeeded + chunk.failed + chunk.skipped) if chunk else 0,
                    "attempts": chunk.attempts if chunk else 0,
                    "lastProgressAt": since,
                }
            )
    return stalled
