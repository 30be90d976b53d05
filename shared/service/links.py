"""Reading, listing, forgetting and carefully updating worker and resource links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from shared.adapters.records import LINK_CLASSES, MailboxLink
from shared.core.errors import ConcurrencyConflict, InvalidInput, NotFound
from shared.core.link_health import LINK_STATUSES
from shared.service import people
from shared.service.orgs import require_org
from shared.service.ports import Services
from shared.service.subscriptions import release

L = TypeVar("L", bound=MailboxLink)
SAVE_RETRIES = 5


async def load_link(services: Services, org_id: str, kind: str, owner: str) -> MailboxLink | None:
    return await services.store.get(LINK_CLASSES[kind], org=org_id, **{kind: owner})


async def get_link(services: Services, cls: type[L], org_id: str, owner: str) -> L:
    await require_org(services, org_id)
    link = await services.store.get(cls, org=org_id, **{cls.KIND: owner})
    if link is None:
        raise NotFound(f"{cls.KIND} {owner!r} is not known in organisation {org_id!r}", code=f"{cls.KIND}_not_found")
    return link


async def delete_link(services: Services, cls: type[MailboxLink], org_id: str, owner: str) -> None:
    """Unlink and forget."""
    org = await require_org(services, org_id)
    link = await services.store.get(cls, org=org_id, **{cls.KIND: owner})
    if link is None:
        return
    await release(services, org, link)
    await services.store.delete(link)
    await people.unindex(services, link, link.account)


async def update_link(
    services: Services, link: MailboxLink, change: Callable[[MailboxLink], None], *, as_read: bool = False
) -> MailboxLink | None:
    """Apply `change` to the stored link without losing a concurrent change to its other
    fields: re-read first, write conditionally, re-read and re-apply on a lost race.
    `as_read`: `link` is exactly as read (with its etag), so the first try writes it without
    reading again. Returns the link as stored (None if it was deleted meanwhile)."""
    current = link if as_read and link.etag else await load_link(services, link.org, link.KIND, link.owner_id)
    for _ in range(SAVE_RETRIES):
        if current is None:
            return None
        change(current)
        try:
            return await services.store.update(current)
        except ConcurrencyConflict:
            current = await load_link(services, link.org, link.KIND, link.owner_id)
    raise ConcurrencyConflict(f"link {link.owner_id} keeps changing")


async def save_link_fields(services: Services, link: MailboxLink, **fields: Any) -> MailboxLink | None:
    """Set a few fields on the stored link (see update_link)."""

    def assign(current: MailboxLink) -> None:
        for name, value in fields.items():
            setattr(current, name, value)

    return await update_link(services, link, assign)


async def list_links(
    services: Services, cls: type[L], org_id: str, *, status: str | None, limit: int, after: str | None
) -> tuple[list[L], str | None]:
    """A page of an org's links in id order, optionally of one status; the next page's
    `after` (None on the last page)."""
    await require_org(services, org_id)
    if status and status not in LINK_STATUSES:
        raise InvalidInput("status", f"status must be one of {', '.join(LINK_STATUSES)}")
    items: list[L] = []
    async for link in services.store.query(
        cls,
        org=org_id,
        filter="status eq @status" if status else None,
        parameters={"status": status} if status else None,
        row_after={cls.KIND: after} if after else None,
        page_size=min(limit + 1, 1000),
    ):
        items.append(link)
        if len(items) > limit:
            break
    more = len(items) > limit
    items = items[:limit]
    return items, (items[-1].owner_id if more and items else None)
