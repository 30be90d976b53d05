"""Linking a worker or resource to a Microsoft 365 mailbox.

A link resolves the account in the org's tenant, claims the mailbox (one mailbox, one
owner per org — enforced by an insert-only claim row, so two racing requests cannot both
win), and subscribes to the mailbox's events. Its status says precisely what is wrong when
it is not `linked`.
"""

from __future__ import annotations

from typing import Any

from shared.adapters.messages import MailboxSync
from shared.adapters.records import MailboxClaim, MailboxLink, Org, ResourceLink, WorkerLink
from shared.core.errors import ConcurrencyConflict, Conflict, GraphError, GraphNotFound, MailboxNotEnabled
from shared.core.logcontext import log_context
from shared.service import people
from shared.service.link_requests import ResourceRequest, WorkerRequest
from shared.service.orgs import require_org
from shared.service.ports import Services
from shared.service.subscriptions import release, subscribe


async def _claim(services: Services, org: Org, user_id: str, link: MailboxLink, address: str) -> None:
    store = services.store
    claim = MailboxClaim(org=org.org, user_id=user_id, owner_kind=link.KIND, owner_id=link.owner_id)
    for _ in range(3):
        try:
            await store.insert(claim)
            return
        except ConcurrencyConflict:
            held = await store.get(MailboxClaim, org=org.org, user_id=user_id)
        if held is None:
            continue  # released in between: try again
        if (held.owner_kind, held.owner_id) == (link.KIND, link.owner_id):
            return
        owner_cls = WorkerLink if held.owner_kind == "worker" else ResourceLink
        key = {"worker": held.owner_id} if held.owner_kind == "worker" else {"resource": held.owner_id}
        owner = await store.get(owner_cls, org=org.org, **key)
        if owner is None or owner.m365_user_id != user_id:
            # A claim left behind by an interrupted link: take it over.
            held.owner_kind, held.owner_id = link.KIND, link.owner_id
            try:
                await store.update(held)
                return
            except ConcurrencyConflict:
                continue
        code = "account_in_use" if link.KIND == "worker" else "mailbox_in_use"
        raise Conflict(
            f"{address} is already linked to {held.owner_kind} {held.owner_id!r}",
            code=code,
            heldBy={"kind": held.owner_kind, "id": held.owner_id},
        )
    raise Conflict(f"{address} is being linked by another request; try again", code="link_in_progress")


def _accepts(link: MailboxLink, org: Org, purpose: str) -> tuple[str, str] | None:
    """None if the mailbox kind suits the link, else (code, message)."""
    if link.KIND == "worker":
        if purpose in ("room", "equipment"):
            return "not_a_user_mailbox", f"the account is a {purpose} mailbox; link it as a resource"
        return None
    if purpose in ("room", "equipment", "shared"):
        return None
    if org.config.allow_user_mailboxes_as_resources:
        return None
    return "not_a_resource_mailbox", (
        f"the mailbox is a {purpose} mailbox, not a room, equipment or shared "
        "mailbox (allowUserMailboxesAsResources is off)"
    )


def snapshot(link: MailboxLink) -> tuple[Any, ...]:
    """What a link says, to tell later whether a request changed it (etag and time aside)."""
    return tuple(v for k, v in link.__dict__.items() if k not in ("etag", "updated_at"))


async def apply_account(
    services: Services,
    org: Org,
    link: MailboxLink,
    account: str | None,
    *,
    user_id: str | None = None,
    before: tuple[Any, ...] | None = None,
) -> bool:
    """Point `link` at `account` (None unlinks), found by `user_id` when the caller knows
    it. Saves the link when anything differs from `before` (its snapshot before the
    caller's own edits; default: now); True if anything changed."""
    before = snapshot(link) if before is None else before
    was_linked_to = link.m365_user_id if link.status == "linked" else None
    held = link.account if link.etag is not None else None  # the address the stored link holds
    same = (account or "").casefold() == (link.account or "").casefold()
    with log_context(org=org.org, mailbox=account or link.account, operation=f"link_{link.KIND}"):
        if account is None:
            if link.status != "unlinked" or link.m365_user_id:
                await release(services, org, link)
            link.set_account(None)
            link.status, link.error_code, link.error_message = "unlinked", None, None
        elif not (same and link.status == "linked" and link.m365_user_id):
            await _link(services, org, link, account, same, user_id)
        changed = snapshot(link) != before
        if changed or link.etag is None:
            link.updated_at = services.clock.now()
            await people.index(services, link)  # before the link holds it: the index is a superset
            await services.store.upsert(link)
            if held and held.lower() != (link.account or "").lower():
                await people.unindex(services, link, held)
        if link.status == "linked" and link.m365_user_id != was_linked_to:
            # Newly linked to this mailbox: the first delta round sets the baseline (and the
            # link's health) right away. A name change alone needs no round.
            await services.queues.send(MailboxSync(org.org, link.KIND, link.owner_id, reason="linked"))
        return changed


async def _link(
    services: Services, org: Org, link: MailboxLink, account: str, same: bool, user_id: str | None = None
) -> None:
    graph, tenant = services.graph, org.m365_tenant_id
    not_found = "account_not_found" if link.KIND == "worker" else "mailbox_not_found"
    try:
        user = await graph.get_user(tenant, user_id or account)
        purpose = await graph.user_purpose(tenant, user.id)
    except GraphNotFound:
        await _fail_and_release(
            services, org, link, account, same, not_found, f"{account} was not found in tenant {tenant}"
        )
        return
    except MailboxNotEnabled as exc:
        await _fail_and_release(
            services,
            org,
            link,
            account,
            same,
            "no_mailbox",
            f"{account} has no Exchange Online mailbox (no licence?): {exc.message}",
        )
        return
    except GraphError as exc:
        code = exc.code if exc.code in ("consent_required", "graph_unavailable") else "graph_error"
        await _fail_and_release(services, org, link, account, same, code, exc.message)
        return
    refused = _accepts(link, org, purpose)
    if refused is not None:
        await _fail_and_release(services, org, link, account, same, *refused)
        return
    await _claim(services, org, user.id, link, account)  # raises Conflict: nothing written
    if link.m365_user_id and link.m365_user_id != user.id:
        await release(services, org, link)  # the link moves to another mailbox
    link.set_account(account)
    link.m365_user_id = user.id
    link.time_zone = None  # read again with the next task (the mailbox may be another)
    if not link.display_name:
        link.display_name = user.display_name
    if not link.subscription_id:
        await subscribe(services, org, link)
    else:
        link.status, link.error_code, link.error_message = "linked", None, None


async def _fail_and_release(
    services: Services, org: Org, link: MailboxLink, account: str, same: bool, code: str, message: str
) -> None:
    if not same and (link.m365_user_id or link.subscription_id):
        await release(services, org, link)  # the old mailbox is no longer this link's
    link.set_account(account)
    link.fail(code, message)


async def put_worker(services: Services, org_id: str, request: WorkerRequest) -> tuple[WorkerLink, bool]:
    org = await require_org(services, org_id)
    link = await services.store.get(WorkerLink, org=org_id, worker=request.worker) or WorkerLink(
        org=org_id, worker=request.worker
    )
    before = snapshot(link)
    if request.display_name is not None:
        link.display_name = request.display_name
    if request.restricted is not None:
        link.restricted = request.restricted
    changed = await apply_account(services, org, link, request.account, before=before)
    return link, changed


async def check_quota(services: Services, org: Org, link: ResourceLink) -> None:
    limit = org.config.max_resources
    if limit is None or link.status != "unlinked":
        return  # no limit, or this resource already counts
    used = 0
    async for other in services.store.query(
        ResourceLink, org=org.org, filter="status ne @s", parameters={"s": "unlinked"}
    ):
        if other.resource != link.resource:
            used += 1
    if used >= limit:
        raise Conflict(
            f"the organisation may link at most {limit} resources", code="resource_quota_exceeded", limit=limit
        )


async def put_resource(services: Services, org_id: str, request: ResourceRequest) -> tuple[ResourceLink, bool]:
    org = await require_org(services, org_id)
    link = await services.store.get(ResourceLink, org=org_id, resource=request.resource) or ResourceLink(
        org=org_id, resource=request.resource
    )
    if request.mailbox is not None:
        await check_quota(services, org, link)
    before = snapshot(link)
    if request.display_name is not None:
        link.display_name = request.display_name
    if request.kind is not None:
        link.kind = request.kind
    changed = await apply_account(services, org, link, request.mailbox, before=before)
    return link, changed
