"""Importing a tenant's rooms (with their room lists as groups) and equipment mailboxes.

An import is a job on the queue, since a large tenant's discovery and linking would pass
Azure's HTTP timeout: discovery lists the rooms, room lists and users (and asks the users'
mailbox purposes, to find equipment), then the candidates are linked in chunks of 25, each
chunk storing its rows. The request waits a few seconds for the job, so a small tenant
still gets its whole answer at once.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from shared.adapters.messages import ImportChunk, ImportDiscover
from shared.adapters.records import Job, JobChunk, MailboxClaim, Org, ResourceLink
from shared.core.errors import Conflict, GraphError, GraphUnavailable, NotFound
from shared.service.linking import apply_account, check_quota, snapshot
from shared.service.links import save_link_fields
from shared.service.orgs import require_org
from shared.service.ports import Services

CHUNK = 25
# What a room's places data keeps for finding a room (GRAPH-FACTS.md §4.1, resources/room.md).
PLACE_FIELDS = ("capacity", "building", "floorNumber", "floorLabel", "tags", "bookingType", "isWheelChairAccessible")
WAIT_S = 5.0  # how long the request waits for a small tenant's import to finish
POLL_S = 0.25
OUTCOMES = ("created", "updated", "unchanged", "skipped")


async def start(services: Services, org_id: str) -> tuple[dict[str, Any], bool]:
    """Start an import job; (its view, finished) — finished when it was done within WAIT_S."""
    await require_org(services, org_id)
    job = Job(org=org_id, job=str(uuid.uuid4()), kind="import", created_at=services.clock.now())
    await services.store.insert(job)
    await services.queues.send(ImportDiscover(org_id, job.job))  # durable before we answer
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while True:
        current = await view(services, org_id, job.job)
        if current["state"] in ("done", "failed") or asyncio.get_running_loop().time() >= deadline:
            return current, current["state"] in ("done", "failed")
        await asyncio.sleep(POLL_S)


def _address_book(users: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every address a user is known by (mail, UPN, SMTP proxy addresses), lower-cased."""
    book: dict[str, dict[str, Any]] = {}
    for user in users:
        names = [user.get("mail"), user.get("userPrincipalName")]
        names += [p.split(":", 1)[1] for p in user.get("proxyAddresses") or [] if p.lower().startswith("smtp:")]
        for name in names:
            if name:
                book.setdefault(name.lower(), user)
    return book


async def discover(services: Services, work: ImportDiscover, *, final: bool) -> None:
    """List the candidates and queue them in chunks. Graph unavailable: raise (the queue
    retries) until the last try, which marks the job failed with Graph's reason."""
    job = await services.store.get(Job, org=work.org, job=work.job)
    org = await services.store.get(Org, org=work.org)
    if job is None or org is None or job.chunks:
        return  # gone, or already discovered (a repeated message)
    try:
        candidates = await _candidates(services, org.m365_tenant_id)
    except GraphError as exc:
        if isinstance(exc, GraphUnavailable) and not final:
            raise
        job.error_code, job.error_message = exc.code, exc.message
        await services.store.update(job)
        return
    chunks = [candidates[i : i + CHUNK] for i in range(0, len(candidates), CHUNK)]
    job.total, job.chunks = len(candidates), len(chunks)
    await services.store.update(job)
    if not chunks:
        await services.store.upsert(JobChunk(job=job.job, chunk="00000", final=True))
    for number, chunk in enumerate(chunks):
        await services.queues.send(ImportChunk(work.org, work.job, f"{number:05}", chunk))


async def _candidates(services: Services, tenant: str) -> list[dict[str, Any]]:
    graph = services.graph
    rooms = await graph.list_rooms(tenant)
    groups: dict[str, str] = {}
    for room_list in await graph.list_room_lists(tenant):
        for room in await graph.rooms_in_list(tenant, room_list["emailAddress"]):
            groups.setdefault(room["emailAddress"].lower(), room_list.get("displayName") or room_list["emailAddress"])
    users = [u async for u in graph.list_users(tenant)]
    book = _address_book(users)
    room_users = {book[r["emailAddress"].lower()]["id"] for r in rooms if r["emailAddress"].lower() in book}
    purposes = await graph.purposes(tenant, [u["id"] for u in users if u["id"] not in room_users])
    found = [
        {
            "mailbox": r["emailAddress"],
            "userId": (book.get(r["emailAddress"].lower()) or {}).get("id"),
            "name": r.get("displayName") or r["emailAddress"],
            "kind": "room",
            "group": groups.get(r["emailAddress"].lower()),
            "place": {k: r[k] for k in PLACE_FIELDS if r.get(k) not in (None, [], "")},
        }
        for r in rooms
    ]
    found += [
        {
            "mailbox": u.get("mail") or u["userPrincipalName"],
            "userId": u["id"],
            "name": u.get("displayName") or "",
            "kind": "equipment",
            "group": None,
        }
        for u in users
        if purposes.get(u["id"]) == "equipment"
    ]
    return sorted(found, key=lambda c: c["mailbox"].lower())


async def run_chunk(services: Services, work: ImportChunk, *, final: bool) -> None:
    org = await services.store.get(Org, org=work.org)
    if org is None:
        return
    results = [await _import_one(services, org, c) for c in work.resources]
    await services.store.upsert(
        JobChunk(
            job=work.job,
            chunk=work.chunk,
            final=True,
            attempts=1,
            results=results,
            updated_at=services.clock.now(),
        )
    )


async def _import_one(services: Services, org: Org, c: dict[str, Any]) -> dict[str, Any]:
    mailbox, name, kind, group = c["mailbox"], c["name"], c["kind"], c["group"]
    resource_id = mailbox.lower()
    if c.get("userId"):
        held = await services.store.get(MailboxClaim, org=org.org, user_id=c["userId"])
        if held is not None and held.owner_kind == "resource":
            resource_id = held.owner_id  # linked by hand under another id: keep that one
    link = await services.store.get(ResourceLink, org=org.org, resource=resource_id)
    row = {"resource": resource_id, "mailbox": mailbox, "kind": kind, "group": group}
    outcome = "created" if link is None else "updated"
    link = link or ResourceLink(org=org.org, resource=resource_id)
    before = snapshot(link)
    place, now = c.get("place") or {}, services.clock.now()
    desired = (mailbox.casefold(), name, kind, group, place)
    if (
        link.status == "linked"
        and ((link.mailbox or "").casefold(), link.display_name, link.kind, link.group, link.place) == desired
    ):
        await save_link_fields(services, link, place_read_at=now)  # read again: as fresh as this import
        return {**row, "outcome": "unchanged", "status": link.status, "error": None}
    try:
        await check_quota(services, org, link)
        link.display_name, link.kind, link.group = name, kind, group
        link.place, link.place_read_at = place, now
        await apply_account(services, org, link, mailbox, user_id=c.get("userId"), before=before)
    except Conflict as exc:
        return {**row, "outcome": "skipped", "status": "error", "error": {"code": exc.code, "message": exc.message}}
    error = {"code": link.error_code, "message": link.error_message} if link.status == "error" else None
    return {**row, "outcome": outcome, "status": link.status, "error": error}


async def view(services: Services, org_id: str, job_id: str) -> dict[str, Any]:
    job = await services.store.get(Job, org=org_id, job=job_id)
    if job is None or job.kind != "import":
        raise NotFound(f"job {job_id!r} is not known", code="job_not_found")
    return import_view(job, [c async for c in services.store.query(JobChunk, job=job_id)])


def import_view(job: Job, chunks: list[JobChunk]) -> dict[str, Any]:
    results = sorted((r for c in chunks for r in c.results), key=lambda r: r["mailbox"].lower())
    if job.error_code:
        state = "failed"
    elif not job.chunks and not chunks:
        state = "queued"
    else:
        state = "done" if len([c for c in chunks if c.final]) >= max(job.chunks, 1) else "running"
    return {
        "job": job.job,
        "kind": "import",
        "state": state,
        "total": job.total,
        "processed": len(results),
        "totals": {k: sum(1 for r in results if r["outcome"] == k) for k in OUTCOMES},
        "results": results,
        "error": {"code": job.error_code, "message": job.error_message} if job.error_code else None,
        "createdAt": job.created_at,
    }
