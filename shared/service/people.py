"""The linked people a round's events name, by address, without reading the whole org.

A delta round needs to know which organizers and attendees are the org's linked workers
and resources. Reading every link of the org for that made each round with items cost as
many entities as the org has links — ~780 linked mailboxes in a rush hour filled a table
partition's 2,000 entities/s (docs/benchmarks.md, capacity model). Instead each link's
address is kept in `PersonAddress` (org, address → owner), and a round looks up only the
addresses its events name: one point read of the index and one of the link per address.

The index is a superset, never missing a link: `index` writes an address before a link
takes it and `unindex` removes it after the link gave it up (a crash in between leaves an
extra row), and every look-up checks the link itself (linked, to this address). So an
unlinked person is never returned, whichever instance unlinked them, and no cache is kept
across rounds: one that other instances could not invalidate would serve a stale link.
Orgs from before the index are indexed by the first round that needs it (`Org.addresses_indexed`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from shared.adapters.records import LINK_CLASSES, MailboxLink, Org, PersonAddress
from shared.core.errors import ConcurrencyConflict
from shared.service.ports import Services

log = logging.getLogger("calsync.people")

LOOKUPS = 10  # point reads side by side


def addresses_of_items(items: Iterable[dict[str, Any]]) -> set[str]:
    """The organizer and attendee addresses of Graph event JSON, as `normalize` writes them."""
    out: set[str] = set()
    for item in items:
        if not item or "@removed" in item:
            continue
        out.add((((item.get("organizer") or {}).get("emailAddress") or {}).get("address") or "").lower())
        for attendee in item.get("attendees") or []:
            out.add(((attendee.get("emailAddress") or {}).get("address") or "").lower())
    out.discard("")
    return out


def addresses_of_contents(contents: Iterable[dict[str, Any]]) -> set[str]:
    """The organizer and attendee addresses of snapshots (`normalize`d content)."""
    out: set[str] = set()
    for content in contents:
        out.add(content.get("organizer") or "")
        out.update(content.get("attendees") or {})
    out.discard("")
    return out


def _holds(link: MailboxLink | None, address: str) -> bool:
    return (
        link is not None
        and link.status == "linked"
        and bool(link.m365_user_id)
        and (link.account or "").lower() == address
    )


class RoundPeople:
    """The people one round has looked up so far: `people` (address → (kind, id)) and
    `users` (address → user id), the dicts the planner and the hand-over read. `learn` adds
    the addresses a step is about to use."""

    def __init__(self, services: Services, org: Org) -> None:
        self.services = services
        self.org = org
        self.people: dict[str, tuple[str, str]] = {}
        self.users: dict[str, str] = {}
        self._asked: set[str] = set()
        self._everyone = False

    async def learn(self, addresses: Iterable[str]) -> None:
        if self._everyone:
            return
        wanted = {a.lower() for a in addresses if a} - self._asked
        if not wanted:
            return
        if not self.org.addresses_indexed:
            await self._index_org()
            return
        self._asked |= wanted
        gate = asyncio.Semaphore(LOOKUPS)
        store = self.services.store

        async def one(address: str) -> None:
            async with gate:
                entry = await store.get(PersonAddress, org=self.org.org, address=address)
                if entry is None or entry.owner_kind not in LINK_CLASSES:
                    return
                cls = LINK_CLASSES[entry.owner_kind]
                link = await store.get(cls, org=self.org.org, **{cls.KIND: entry.owner_id})
                if link is not None and _holds(link, address):
                    self.people[address] = (link.KIND, link.owner_id)
                    self.users[address] = link.m365_user_id or ""

        await asyncio.gather(*(one(a) for a in sorted(wanted)))

    async def _index_org(self) -> None:
        """An org from before the index: read every link once (as rounds used to), index
        each address a link holds, whatever its status — one in error may be linked again
        without passing through `index` —, and mark the org indexed."""
        store, org_id = self.services.store, self.org.org
        links: list[MailboxLink] = []
        for cls in LINK_CLASSES.values():
            links += [link async for link in store.query(cls, org=org_id)]
        # One row per address (a transaction refuses two writes of one row), the link that
        # holds it first; in transactions of 100: an org of 20,000 is 200 writes, once.
        rows: dict[str, PersonAddress] = {}
        for link in sorted(links, key=lambda one: not _holds(one, (one.account or "").lower())):
            if link.account:
                rows.setdefault(link.account.lower(), _entry(link))
        await store.submit([("upsert", row) for row in rows.values()])
        for link in links:
            if _holds(link, (link.account or "").lower()):
                address = (link.account or "").lower()
                self.people[address] = (link.KIND, link.owner_id)
                self.users[address] = link.m365_user_id or ""
        self._everyone = True
        current = await store.get(Org, org=org_id)
        if current is not None and not current.addresses_indexed:
            current.addresses_indexed = True
            try:
                await store.update(current)
            except ConcurrencyConflict:
                pass  # the org changed meanwhile: the next round indexes again (idempotent)
        self.org.addresses_indexed = True


def _entry(link: MailboxLink) -> PersonAddress:
    return PersonAddress(
        org=link.org, address=(link.account or "").lower(), owner_kind=link.KIND, owner_id=link.owner_id
    )


async def index(services: Services, link: MailboxLink) -> None:
    """Before a link takes its address: the index names it (a superset, checked on read)."""
    if link.account:
        await services.store.upsert(_entry(link))


async def unindex(services: Services, link: MailboxLink, address: str | None) -> None:
    """After a link gave `address` up (unlinked, moved to another, deleted): its index row
    goes, unless another link of the org has taken the address meanwhile."""
    if not address:
        return
    entry = await services.store.get(PersonAddress, org=link.org, address=address.lower())
    if entry is None or (entry.owner_kind, entry.owner_id) != (link.KIND, link.owner_id):
        return
    try:
        await services.store.delete(entry)  # with its etag: a link that took it since wins
    except ConcurrencyConflict:
        pass
