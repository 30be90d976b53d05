"""Free/busy for booking: POST /api/orgs/{org}/availability.

Only linked mailboxes are asked, 20 to a getSchedule call (the documented limit); every
worker and resource asked for ends up in `schedules` or in `unavailable` with a code and a
reason — unknown, not linked, a link in error, a Graph failure of its call, or Graph's
freeBusyError for it. Never silently left out.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.adapters.records import LINK_CLASSES, MailboxLink
from shared.core.availability import Owner, answer, chunks, parse_request, schedule_entry
from shared.core.errors import GraphError, GraphNotFound
from shared.service.orgs import require_org
from shared.service.ports import Services

log = logging.getLogger("calsync.availability")

LOOKUPS_AT_ONCE = 20  # link reads in flight (up to 200 owners per request)
CALLS_AT_ONCE = 4  # getSchedule calls in flight (Outlook serves 4 concurrent requests per mailbox)
Unresolved = tuple[Owner, MailboxLink, str, dict[str, Any]]  # with Graph's scheduleInformation (its error)


async def availability(services: Services, org_id: str, body: dict[str, Any]) -> dict[str, Any]:
    request = parse_request(body)  # 400 before any I/O
    org = await require_org(services, org_id)
    owners = [Owner("worker", w) for w in request.workers] + [Owner("resource", r) for r in request.resources]
    links = await links_of(services, org_id, owners)
    found = await read_schedules(
        services, org.m365_tenant_id, list(zip(owners, links, strict=True)), request.start, request.end,
        request.interval_minutes,
    )  # fmt: skip
    schedules: list[dict[str, Any]] = []
    unavailable = list(found.unavailable)
    for owner, (address, info) in found.infos.items():
        view, refused = schedule_entry(owner, address, info, request.time_zone)
        if view is not None:
            schedules.append(view)
        if refused is not None:
            unavailable.append(refused)
    return answer(request, schedules, unavailable)


@dataclass
class Schedules:
    """What getSchedule said: each owner's scheduleInformation (with the address asked), or
    why there is none (`unavailable`, the API's entries); and how many calls it took."""

    infos: dict[Owner, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    unavailable: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0


async def read_schedules(
    services: Services,
    tenant_id: str,
    owners: list[tuple[Owner, MailboxLink | None]],
    start: datetime,
    end: datetime,
    interval_minutes: int,
) -> Schedules:
    """getSchedule for every linked owner, 20 a call; an owner not linked, or whose call or
    schedule failed, is in `unavailable` with the reason."""
    out = Schedules()
    asked: list[tuple[Owner, MailboxLink, str]] = []
    for owner, link in owners:
        refused = refusal(owner, link)
        if refused is not None:
            out.unavailable.append(refused)
        else:
            assert link is not None and link.account and link.m365_user_id
            asked.append((owner, link, link.account))
    window = (start, end, interval_minutes)
    retry = await _ask(services, tenant_id, window, asked, out)
    if retry:
        # The address linked with (a UPN, say) is not one Exchange resolves: ask again by the
        # mailbox's primary SMTP address, read from the directory.
        again = await _by_primary_address(services, tenant_id, retry, out)
        await _ask(services, tenant_id, window, again, out, last=True)
    return out


async def links_of(services: Services, org_id: str, owners: list[Owner]) -> list[MailboxLink | None]:
    gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def one(owner: Owner) -> MailboxLink | None:
        async with gate:
            return await services.store.get(LINK_CLASSES[owner.kind], org=org_id, **{owner.kind: owner.id})

    return list(await asyncio.gather(*(one(o) for o in owners)))


def refusal(owner: Owner, link: MailboxLink | None) -> dict[str, Any] | None:
    """Why an owner's free/busy cannot be asked for (the API's unavailable entry), else None."""
    if link is None:
        return owner.named(code=f"unknown_{owner.kind}", reason=f"{owner.kind} {owner.id!r} is not known in the org")
    if link.status == "error":
        why = f"{link.error_code}: {link.error_message}" if link.error_code else "the link is in error"
        return owner.named(code="link_error", reason=f"the {owner.kind}'s link is in error ({why})")
    if link.status != "linked" or not link.m365_user_id or not link.account:
        return owner.named(code="not_linked", reason=f"{owner.kind} {owner.id!r} is not linked to a mailbox")
    return None


async def _ask(
    services: Services,
    tenant_id: str,
    window: tuple[datetime, datetime, int],
    asked: list[tuple[Owner, MailboxLink, str]],
    out: Schedules,
    *,
    last: bool = False,
) -> list[Unresolved]:
    """Ask Graph for `asked` in calls of 20; file each one's answer in `out`. Returns those
    Graph could not resolve by the address asked (unless `last`)."""
    gate = asyncio.Semaphore(CALLS_AT_ONCE)
    unresolved: list[Unresolved] = []

    async def call(chunk: list[tuple[Owner, MailboxLink, str]]) -> None:
        caller = chunk[0][1].m365_user_id  # any mailbox of the chunk: app-only reads every calendar
        assert caller is not None
        try:
            async with gate:
                out.calls += 1
                infos = await services.graph.get_schedule(
                    tenant_id, caller, [address for _, _, address in chunk], *window
                )
        except GraphError as exc:
            log.warning("getSchedule for %d mailbox(es) failed: %s", len(chunk), exc.code)
            out.unavailable.extend(owner.named(code=exc.code, reason=exc.message) for owner, _, _ in chunk)
            return
        by_id = {str(i.get("scheduleId") or "").lower(): i for i in infos if isinstance(i, dict)}
        for n, (owner, link, address) in enumerate(chunk):
            # Graph answers one per schedule, in order; matched by address, else by position.
            info = by_id.get(address.lower()) or (infos[n] if n < len(infos) and not by_id else None)
            if not last and isinstance(info, dict) and isinstance(info.get("error"), dict):
                unresolved.append((owner, link, address, info))
            elif isinstance(info, dict):
                out.infos[owner] = (address, info)
            else:
                out.unavailable.append(
                    owner.named(code="graph_error", reason=f"Graph's answer did not include {address}")
                )

    await asyncio.gather(*(call(chunk) for chunk in chunks(asked)))
    return unresolved


async def _by_primary_address(
    services: Services, tenant_id: str, retry: list[Unresolved], out: Schedules
) -> list[tuple[Owner, MailboxLink, str]]:
    again: list[tuple[Owner, MailboxLink, str]] = []
    for owner, link, address, info in retry:
        assert link.m365_user_id is not None
        try:
            user = await services.graph.get_user(tenant_id, link.m365_user_id)
        except GraphNotFound:
            out.unavailable.append(
                owner.named(code="free_busy_error", reason=f"the mailbox of {address} no longer exists")
            )
            continue
        except GraphError as exc:
            out.unavailable.append(owner.named(code=exc.code, reason=exc.message))
            continue
        if user.mail and user.mail.lower() != address.lower():
            again.append((owner, link, user.mail))
        else:
            out.infos[owner] = (address, info)  # Graph's freeBusyError: schedule_entry names it
    return again
