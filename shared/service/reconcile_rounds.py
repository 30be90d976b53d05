"""Reconcile rounds in batches: the timer's fan-out sends one message per BATCH consecutive
links of an org, not one per mailbox. For 10,000 idle mailboxes that is 200 messages, 200
reads of the org and 200 one-page link queries instead of 10,000 of each; each idle round
is then its delta-row read, the delta call and its link's stamp (the deltaLink is written
only when it is an hour old: shared.service.mailbox_rounds). After its rounds a batch
checks its links' subscriptions (shared.service.watch_checks): from the link alone every
pass, and reading the subscription record on one pass in four.

A round that fails with a Graph or store error does not fail the batch: it is queued again
on its own (MailboxSync), where the usual retries and poison handling apply. Anything else
(storage itself unreachable, say) fails the batch, which the queue retries whole — idle
rounds are safe to repeat.
"""

from __future__ import annotations

import asyncio
import logging

from shared.adapters.messages import MailboxSync, MailboxSyncBatch
from shared.adapters.records import LINK_CLASSES, MailboxLink, Org
from shared.core.errors import CalsyncError, ConcurrencyConflict
from shared.service import mailbox_rounds
from shared.service.links import update_link
from shared.service.ports import Services
from shared.service.watch_checks import record_check_due, recreate, still_watched

log = logging.getLogger("calsync.reconcile")

BATCH = 50  # links per message (the message stays far below the queue's 64 KB)
CONCURRENCY = 10  # rounds of one batch side by side


def batches(org: str, links: list[MailboxLink], reason: str = "reconcile") -> list[MailboxSyncBatch]:
    """`links`, as the store listed them (row-key order per kind), as messages of up to
    BATCH consecutive links per kind."""
    out: list[MailboxSyncBatch] = []
    for kind in LINK_CLASSES:
        owners = [link.owner_id for link in links if kind == link.KIND]
        out += [MailboxSyncBatch(org, kind, owners[i : i + BATCH], reason) for i in range(0, len(owners), BATCH)]
    return out


async def _links(services: Services, org: str, kind: str, owners: list[str]) -> dict[str, MailboxLink]:
    """The batch's links with one query: its owners are consecutive in row-key order."""
    wanted = set(owners)
    found: dict[str, MailboxLink] = {}
    async for link in services.store.query(
        LINK_CLASSES[kind],
        org=org,
        row_between=({kind: owners[0]}, {kind: owners[-1]}),
        page_size=min(1000, 2 * len(owners)),
    ):
        if link.owner_id in wanted:
            found[link.owner_id] = link
    return found


async def run_batch(services: Services, batch: MailboxSyncBatch) -> dict[str, bool | None]:
    """The batch's rounds: per owner True (ran), False (not linked) or None (failed and
    queued again on its own)."""
    org = await services.store.get(Org, org=batch.org) if batch.owners else None
    if org is None:
        return {}
    links = await _links(services, batch.org, batch.kind, batch.owners)
    gate = asyncio.Semaphore(CONCURRENCY)
    stamps: mailbox_rounds.Stamps = {}

    async def one(owner: str) -> bool | None:
        async with gate:
            try:
                # An owner unlinked since the fan-out has no link: its round returns None.
                read = (org, links.get(owner))
                ran = await mailbox_rounds.run(services, batch.org, batch.kind, owner, read=read, stamps=stamps)
                return ran is not None
            except (CalsyncError, OSError) as exc:
                log.warning("reconcile round failed, queued again on its own: %s", type(exc).__name__)
                return None

    done = dict(zip(batch.owners, await asyncio.gather(*(one(o) for o in batch.owners)), strict=True))
    await _write_stamps(services, stamps)
    for owner in (o for o, ran in done.items() if ran is None):
        await services.queues.send(MailboxSync(batch.org, batch.kind, owner, reason=batch.reason))
    if batch.reason == "reconcile":
        await _check_watched(services, org, [link for link in links.values() if link.status == "linked"])
    return done


async def _write_stamps(services: Services, stamps: mailbox_rounds.Stamps) -> None:
    """The idle rounds' link stamps in one entity group transaction (the links share the
    org's partition) instead of a write each; if one link changed since the batch read it,
    each is written alone, read again and stamped again."""
    if not stamps:
        return
    try:
        await services.store.submit([("update", link) for link, _ in stamps.values()])
    except ConcurrencyConflict:
        for link, stamp in stamps.values():
            await update_link(services, link, stamp)


async def _check_watched(services: Services, org: Org, links: list[MailboxLink]) -> None:
    """Links whose subscription is gone, expired or no longer counts them subscribe again."""
    now = services.clock.now()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def watched(link: MailboxLink) -> bool:
        async with gate:
            return await still_watched(services, link, now, read_record=record_check_due(link, now))

    for link, ok in zip(links, await asyncio.gather(*(watched(link) for link in links)), strict=True):
        if not ok:
            try:
                await recreate(services, org, link)
            except (CalsyncError, OSError) as exc:  # the next pass tries again
                log.warning("could not watch a mailbox again: %s", type(exc).__name__)
