"""Links between our workers / resources and Microsoft 365 mailboxes.

A link resolves the account in the org's tenant, claims the mailbox (one mailbox, one
owner per org — enforced by an insert-only claim row, so two racing requests cannot both
win), and subscribes to the mailbox's events. Its status says precisely what is wrong when
it is not `linked`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

from shared.bootstrap import Services
from shared.errors import Conflict as ConflictError
from shared.errors import (
    ConsentRequired,
    GraphError,
    GraphNotFound,
    GraphRejected,
    InvalidInput,
    MailboxNotEnabled,
    NotFound,
)
from shared.logctx import log_context
from shared.orgs import Org, require_org, utcnow
from shared.tables import ConcurrencyConflict, Entity, encode_key
from shared.validation import boolean, email, identifier, known_keys, optional_str

log = logging.getLogger("calsync.links")

# Graph's maximum for events is 4,230 minutes; stay a little under it.
SUBSCRIPTION_MINUTES = 4200
LINK_CONCURRENCY = 8
LINK_STATUSES = ("linked", "error", "unlinked")


@dataclass(kw_only=True)
class MailboxLink(Entity):
    """What workers and resources share: the mailbox, the subscription, the status."""

    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    KIND: ClassVar[str]

    org: str
    m365_user_id: str | None = None
    display_name: str = ""
    status: str = "unlinked"  # linked | error | unlinked
    error_code: str | None = None
    error_message: str | None = None
    mode: str = "push"  # push (subscription) | polling (Graph refused a subscription)
    subscription_id: str | None = None
    subscription_expires_at: datetime | None = None
    attention: str | None = None  # why an admin must look (held deletions)
    held_deletions: int = 0
    last_sync_at: datetime | None = None  # the last successful delta round
    last_notification_at: datetime | None = None
    updated_at: datetime = field(default_factory=utcnow)

    @property
    def owner_id(self) -> str:
        raise NotImplementedError

    @property
    def account(self) -> str | None:
        raise NotImplementedError

    def set_account(self, value: str | None) -> None:
        raise NotImplementedError

    def fail(self, code: str, message: str) -> None:
        self.status, self.error_code, self.error_message = "error", code, message


@dataclass(kw_only=True)
class WorkerLink(MailboxLink):
    TABLE: ClassVar[str] = "Workers"
    ROW: ClassVar[tuple[str, ...]] = ("worker",)
    KIND: ClassVar[str] = "worker"

    worker: str
    m365_account: str | None = None
    restricted: bool = False

    @property
    def owner_id(self) -> str:
        return self.worker

    @property
    def account(self) -> str | None:
        return self.m365_account

    def set_account(self, value: str | None) -> None:
        self.m365_account = value


@dataclass(kw_only=True)
class ResourceLink(MailboxLink):
    TABLE: ClassVar[str] = "Resources"
    ROW: ClassVar[tuple[str, ...]] = ("resource",)
    KIND: ClassVar[str] = "resource"

    resource: str
    mailbox: str | None = None
    kind: str = "room"  # room | equipment
    group: str | None = None  # the room list it came from, on import

    @property
    def owner_id(self) -> str:
        return self.resource

    @property
    def account(self) -> str | None:
        return self.mailbox

    def set_account(self, value: str | None) -> None:
        self.mailbox = value


@dataclass(kw_only=True)
class MailboxClaim(Entity):
    """One mailbox (by object id) belongs to at most one worker or resource of an org."""

    TABLE: ClassVar[str] = "Mailboxes"
    PARTITION: ClassVar[tuple[str, ...]] = ("org",)
    ROW: ClassVar[tuple[str, ...]] = ("user_id",)

    org: str
    user_id: str
    owner_kind: str
    owner_id: str


@dataclass(kw_only=True)
class SubscriptionRecord(Entity):
    """Our Graph subscriptions by id: what a notification is checked against."""

    TABLE: ClassVar[str] = "Subscriptions"
    PARTITION: ClassVar[tuple[str, ...]] = ("subscription_id",)
    ROW: ClassVar[tuple[str, ...]] = ("subscription_id",)

    subscription_id: str
    org: str
    tenant_id: str
    mailbox_id: str
    owner_kind: str
    owner_id: str
    client_state: str
    expires_at: datetime


L = TypeVar("L", bound=MailboxLink)


# -- views ----------------------------------------------------------------------------------
def _common_view(link: MailboxLink) -> dict[str, Any]:
    return {
        "m365UserId": link.m365_user_id,
        "displayName": link.display_name,
        "status": link.status,
        "error": {"code": link.error_code, "message": link.error_message} if link.status == "error" else None,
        "mode": link.mode if link.status == "linked" else None,
        "subscription": {"id": link.subscription_id, "expiresAt": link.subscription_expires_at}
        if link.subscription_id
        else None,
        "attention": {"reason": link.attention, "heldDeletions": link.held_deletions} if link.attention else None,
        "health": health(link),
        "lastSyncAt": link.last_sync_at,
        "lastNotificationAt": link.last_notification_at,
        "updatedAt": link.updated_at,
    }


STALE_AFTER = timedelta(minutes=30)  # two reconcile periods


def health(link: MailboxLink, now: datetime | None = None) -> str | None:
    """healthy | stale | attention | error (None for an unlinked link)."""
    now = now or datetime.now(UTC)
    if link.status == "unlinked":
        return None
    if link.status == "error":
        return "error"
    if link.attention:
        return "attention"
    if link.subscription_expires_at is not None and link.subscription_expires_at < now:
        return "stale"  # the subscription is past due: notifications have stopped
    if link.last_sync_at is None or now - link.last_sync_at > STALE_AFTER:
        return "stale"
    return "healthy"


def worker_view(link: WorkerLink) -> dict[str, Any]:
    return {
        "worker": link.worker,
        "m365Account": link.m365_account,
        "restricted": link.restricted,
        **_common_view(link),
    }


def resource_view(link: ResourceLink) -> dict[str, Any]:
    return {
        "resource": link.resource,
        "mailbox": link.mailbox,
        "kind": link.kind,
        "group": link.group,
        **_common_view(link),
    }


# -- request parsing --------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkerRequest:
    worker: str
    account: str | None
    display_name: str | None
    restricted: bool | None


@dataclass(frozen=True)
class ResourceRequest:
    resource: str
    mailbox: str | None
    display_name: str | None
    kind: str | None


def _account(body: dict[str, Any], field_name: str, prefix: str = "") -> str | None:
    value = body.get(field_name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(prefix + field_name, f"{prefix + field_name} must be a string (blank unlinks)")
    return email(prefix + field_name, value) if value.strip() else None


def parse_worker(worker_id: str, body: dict[str, Any], prefix: str = "") -> WorkerRequest:
    identifier(prefix + "worker", worker_id)
    known_keys(body, {"m365Account", "displayName", "restricted", "worker"}, prefix)
    restricted = boolean(body, "restricted", False, prefix) if "restricted" in body else None
    return WorkerRequest(
        worker_id, _account(body, "m365Account", prefix), optional_str(body, "displayName", prefix=prefix), restricted
    )


def parse_resource(resource_id: str, body: dict[str, Any]) -> ResourceRequest:
    identifier("resource", resource_id)
    known_keys(body, {"mailbox", "displayName", "kind"})
    kind = body.get("kind")
    if kind is not None and kind not in ("room", "equipment"):
        raise InvalidInput("kind", "kind must be room or equipment")
    return ResourceRequest(resource_id, _account(body, "mailbox"), optional_str(body, "displayName"), kind)


# -- the linking engine ---------------------------------------------------------------------
def _state(link: MailboxLink) -> tuple[Any, ...]:
    return tuple(v for k, v in link.__dict__.items() if k not in ("etag", "updated_at"))


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
        raise ConflictError(
            f"{address} is already linked to {held.owner_kind} {held.owner_id!r}",
            code=code,
            heldBy={"kind": held.owner_kind, "id": held.owner_id},
        )
    raise ConflictError(f"{address} is being linked by another request; try again", code="link_in_progress")


async def release(services: Services, org: Org, link: MailboxLink) -> None:
    """Drop the subscription and the mailbox claim; the link keeps its identity."""
    if link.subscription_id:
        try:
            await services.graph.delete_subscription(org.m365_tenant_id, link.subscription_id)
        except GraphError as exc:
            # Left at Graph; the reconcile timer deletes subscriptions we no longer know.
            log.warning("could not delete subscription %s: %s", link.subscription_id, exc.code)
        await services.store.delete_key(SubscriptionRecord, subscription_id=link.subscription_id)
    if link.m365_user_id:
        held = await services.store.get(MailboxClaim, org=org.org, user_id=link.m365_user_id)
        if held is not None and (held.owner_kind, held.owner_id) == (link.KIND, link.owner_id):
            await services.store.delete(held)
    link.m365_user_id = link.subscription_id = link.subscription_expires_at = None
    link.mode = "push"


_DUPLICATE = re.compile(r"Subscription Id ([0-9a-fA-F-]{36}) already exists")


async def subscribe(services: Services, org: Org, link: MailboxLink) -> None:
    """Create the events subscription for a linked mailbox (or fall back to polling)."""
    settings = services.settings
    base = settings.public_base_url
    for attempt in range(2):
        client_state = secrets.token_urlsafe(32)
        try:
            info = await services.graph.create_subscription(
                org.m365_tenant_id,
                link.m365_user_id or "",
                notification_url=f"{base}/api/graph/notifications",
                lifecycle_url=f"{base}/api/graph/lifecycle",
                client_state=client_state,
                expires_at=datetime.now(UTC) + timedelta(minutes=SUBSCRIPTION_MINUTES),
            )
        except GraphRejected as exc:
            duplicate = _DUPLICATE.search(exc.message)
            if exc.graph_status == 409 and duplicate and attempt == 0:
                # Ours from an interrupted attempt (we lost its clientState): replace it.
                await services.graph.delete_subscription(org.m365_tenant_id, duplicate.group(1))
                continue
            if link.KIND == "resource" and exc.graph_status in (400, 403) and exc.graph_code == "ExtensionError":
                link.status, link.mode, link.error_code, link.error_message = "linked", "polling", None, None
                link.subscription_id = link.subscription_expires_at = None
                return
            link.fail("subscription_failed", exc.message)
            return
        except ConsentRequired as exc:
            link.fail("consent_required", exc.message)
            return
        except GraphError as exc:
            link.fail("graph_unavailable" if exc.code == "graph_unavailable" else "subscription_failed", exc.message)
            return
        await services.store.upsert(
            SubscriptionRecord(
                subscription_id=info.id,
                org=org.org,
                tenant_id=org.m365_tenant_id,
                mailbox_id=link.m365_user_id or "",
                owner_kind=link.KIND,
                owner_id=link.owner_id,
                client_state=client_state,
                expires_at=info.expires_at,
            )
        )
        link.subscription_id, link.subscription_expires_at = info.id, info.expires_at
        link.status, link.mode, link.error_code, link.error_message = "linked", "push", None, None
        return


def _accepts(link: MailboxLink, org: Org, purpose: str) -> tuple[str, str] | None:
    """None if the mailbox kind suits the link, else (code, message)."""
    if link.KIND == "worker":
        if purpose in ("room", "equipment"):
            return "not_a_user_mailbox", f"the account is a {purpose} mailbox; link it as a resource"
        return None
    if purpose in ("room", "equipment", "shared"):
        return None
    if org.setting("allowUserMailboxesAsResources"):
        return None
    return "not_a_resource_mailbox", (
        f"the mailbox is a {purpose} mailbox, not a room, equipment or shared "
        "mailbox (allowUserMailboxesAsResources is off)"
    )


async def apply_account(services: Services, org: Org, link: MailboxLink, account: str | None) -> bool:
    """Point `link` at `account` (None unlinks). Saves the link; True if anything changed."""
    before = _state(link)
    was_linked_to = link.m365_user_id if link.status == "linked" else None
    same = (account or "").casefold() == (link.account or "").casefold()
    with log_context(org=org.org, mailbox=account or link.account, operation=f"link_{link.KIND}"):
        if account is None:
            if link.status != "unlinked" or link.m365_user_id:
                await release(services, org, link)
            link.set_account(None)
            link.status, link.error_code, link.error_message = "unlinked", None, None
        elif not (same and link.status == "linked" and link.m365_user_id):
            await _link(services, org, link, account, same)
        changed = _state(link) != before
        if changed or link.etag is None:
            link.updated_at = utcnow()
            await services.store.upsert(link)
        if link.status == "linked" and link.m365_user_id != was_linked_to:
            from shared.mailbox_sync import SYNC_QUEUE  # (import here: mailbox_sync imports this module)

            # Newly linked to this mailbox: the first delta round sets the baseline (and the
            # link's health) right away. A name change alone needs no round.
            await services.queues.send(
                SYNC_QUEUE, {"org": org.org, "kind": link.KIND, "owner": link.owner_id, "reason": "linked"}
            )
        return changed


async def _link(services: Services, org: Org, link: MailboxLink, account: str, same: bool) -> None:
    graph, tenant = services.graph, org.m365_tenant_id
    not_found = "account_not_found" if link.KIND == "worker" else "mailbox_not_found"
    try:
        user = await graph.get_user(tenant, account)
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


# -- workers --------------------------------------------------------------------------------
async def put_worker(services: Services, org_id: str, request: WorkerRequest) -> tuple[WorkerLink, bool]:
    org = await require_org(services, org_id)
    link = await services.store.get(WorkerLink, org=org_id, worker=request.worker) or WorkerLink(
        org=org_id, worker=request.worker
    )
    if request.display_name is not None:
        link.display_name = request.display_name
    if request.restricted is not None:
        link.restricted = request.restricted
    changed = await apply_account(services, org, link, request.account)
    return link, changed


async def get_link(services: Services, cls: type[L], org_id: str, **key: str) -> L:
    await require_org(services, org_id)
    link = await services.store.get(cls, org=org_id, **key)
    if link is None:
        name = next(iter(key.values()))
        raise NotFound(f"{cls.KIND} {name!r} is not known in organisation {org_id!r}", code=f"{cls.KIND}_not_found")
    return link


async def delete_link(services: Services, cls: type[L], org_id: str, **key: str) -> None:
    """Unlink and forget."""
    org = await require_org(services, org_id)
    link = await services.store.get(cls, org=org_id, **key)
    if link is None:
        return
    await release(services, org, link)
    await services.store.delete(link)


async def list_links(
    services: Services, cls: type[L], org_id: str, *, status: str | None, limit: int, after: str | None
) -> tuple[list[L], str | None]:
    await require_org(services, org_id)
    if status and status not in LINK_STATUSES:
        raise InvalidInput("status", f"status must be one of {', '.join(LINK_STATUSES)}")
    clauses, params = [], {}
    if status:
        clauses.append("status eq @status")
        params["status"] = status
    if after:
        clauses.append("RowKey gt @after")
        params["after"] = encode_key(after)
    items: list[L] = []
    async for link in services.store.query(
        cls, org=org_id, filter=" and ".join(clauses) or None, parameters=params, page_size=min(limit + 1, 1000)
    ):
        items.append(link)
        if len(items) > limit:
            break
    more = len(items) > limit
    items = items[:limit]
    return items, (items[-1].owner_id if more and items else None)


# -- batch link -----------------------------------------------------------------------------
MAX_BATCH_ROWS = 1000


def parse_batch(content_type: str, raw: bytes) -> list[dict[str, Any]]:
    """CSV (`worker,m365Account[,displayName]`) or a JSON array → rows (not yet validated)."""
    import csv
    import io
    import json

    from shared.errors import PayloadTooLarge

    if "csv" in content_type.lower():
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("body", "the CSV must be UTF-8") from None
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in reader.fieldnames or []]
        if header[:2] != ["worker", "m365Account"] or not set(header) <= {"worker", "m365Account", "displayName"}:
            raise InvalidInput("body", "the CSV header must be worker,m365Account[,displayName]")
        rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    else:
        try:
            rows = json.loads(raw or b"null")
        except ValueError as exc:
            raise InvalidInput("body", f"the body is neither CSV (text/csv) nor valid JSON: {exc}") from None
        if not isinstance(rows, list):
            raise InvalidInput("body", "the body must be a JSON array of {worker, m365Account, displayName}")
    if len(rows) > MAX_BATCH_ROWS:
        raise PayloadTooLarge(f"{len(rows)} rows; at most {MAX_BATCH_ROWS} per batch", code="batch_too_large")
    if not rows:
        raise InvalidInput("body", "the batch has no rows")
    return rows


async def batch_link(services: Services, org_id: str, rows: list[Any]) -> dict[str, Any]:
    org = await require_org(services, org_id)
    results: list[dict[str, Any] | None] = [None] * len(rows)
    valid: list[tuple[int, WorkerRequest]] = []
    seen_workers: dict[str, int] = {}
    seen_accounts: dict[str, int] = {}
    for index, row in enumerate(rows):
        number = index + 1
        try:
            if not isinstance(row, dict):
                raise InvalidInput(f"rows[{number}]", "each row must be an object")
            worker = row.get("worker")
            if not isinstance(worker, str):
                raise InvalidInput(f"rows[{number}].worker", "worker is required")
            request = parse_worker(worker.strip(), row, prefix=f"rows[{number}].")
            if request.worker in seen_workers:
                raise InvalidInput(
                    f"rows[{number}].worker",
                    f"worker {request.worker!r} also appears in row {seen_workers[request.worker]}",
                )
            if request.account and request.account.casefold() in seen_accounts:
                raise InvalidInput(
                    f"rows[{number}].m365Account",
                    f"{request.account} also appears in row {seen_accounts[request.account.casefold()]}",
                )
        except InvalidInput as exc:
            results[index] = {
                "row": number,
                "worker": row.get("worker") if isinstance(row, dict) else None,
                "status": "invalid",
                "changed": False,
                "error": {"code": "invalid_input", "field": exc.field, "message": exc.message},
            }
            continue
        seen_workers[request.worker] = number
        if request.account:
            seen_accounts[request.account.casefold()] = number
        valid.append((index, request))

    gate = asyncio.Semaphore(LINK_CONCURRENCY)

    async def one(index: int, request: WorkerRequest) -> None:
        async with gate:
            try:
                link = await services.store.get(WorkerLink, org=org_id, worker=request.worker) or WorkerLink(
                    org=org_id, worker=request.worker
                )
                if request.display_name is not None:
                    link.display_name = request.display_name
                changed = await apply_account(services, org, link, request.account)
                results[index] = {
                    "row": index + 1,
                    "worker": request.worker,
                    "status": link.status,
                    "changed": changed,
                    "m365UserId": link.m365_user_id,
                    "error": {"code": link.error_code, "message": link.error_message}
                    if link.status == "error"
                    else None,
                }
            except ConflictError as exc:
                results[index] = {
                    "row": index + 1,
                    "worker": request.worker,
                    "status": "error",
                    "changed": False,
                    "error": {"code": exc.code, "message": exc.message},
                }

    await asyncio.gather(*(one(i, r) for i, r in valid))
    done = [r for r in results if r is not None]
    totals = {"rows": len(rows)}
    for key in ("linked", "unlinked", "error", "invalid"):
        totals[key] = sum(1 for r in done if r["status"] == key)
    totals["changed"] = sum(1 for r in done if r["changed"])
    totals["unchanged"] = len(done) - totals["changed"]
    return {"results": done, "totals": totals}


# -- resources ------------------------------------------------------------------------------
async def _check_quota(services: Services, org: Org, link: ResourceLink) -> None:
    limit = org.setting("maxResources")
    if limit is None or link.status != "unlinked":
        return  # no limit, or this resource already counts
    used = 0
    async for other in services.store.query(
        ResourceLink, org=org.org, filter="status ne @s", parameters={"s": "unlinked"}
    ):
        if other.resource != link.resource:
            used += 1
    if used >= limit:
        raise ConflictError(
            f"the organisation may link at most {limit} resources", code="resource_quota_exceeded", limit=limit
        )


async def put_resource(services: Services, org_id: str, request: ResourceRequest) -> tuple[ResourceLink, bool]:
    org = await require_org(services, org_id)
    link = await services.store.get(ResourceLink, org=org_id, resource=request.resource) or ResourceLink(
        org=org_id, resource=request.resource
    )
    if request.mailbox is not None:
        await _check_quota(services, org, link)
    if request.display_name is not None:
        link.display_name = request.display_name
    if request.kind is not None:
        link.kind = request.kind
    changed = await apply_account(services, org, link, request.mailbox)
    return link, changed


async def import_resources(services: Services, org_id: str) -> dict[str, Any]:
    """Create or update resources from the tenant's rooms (with room lists as groups) and
    equipment mailboxes, keyed by mailbox address."""
    org = await require_org(services, org_id)
    graph, tenant = services.graph, org.m365_tenant_id
    rooms = await graph.list_rooms(tenant)
    groups: dict[str, str] = {}
    for room_list in await graph.list_room_lists(tenant):
        for room in await graph.rooms_in_list(tenant, room_list["emailAddress"]):
            groups.setdefault(room["emailAddress"].lower(), room_list.get("displayName") or room_list["emailAddress"])
    users = [u async for u in graph.list_users(tenant)]
    by_mail = {(u.get("mail") or u.get("userPrincipalName") or "").lower(): u for u in users}
    room_mails = {r["emailAddress"].lower() for r in rooms}
    others = [u["id"] for mail, u in by_mail.items() if mail and mail not in room_mails]
    purposes = await graph.purposes(tenant, others)
    candidates = [
        (r["emailAddress"], r.get("displayName") or r["emailAddress"], "room", groups.get(r["emailAddress"].lower()))
        for r in rooms
    ]
    candidates += [
        (u.get("mail") or u["userPrincipalName"], u.get("displayName") or "", "equipment", None)
        for u in users
        if purposes.get(u["id"]) == "equipment"
    ]

    results = []
    for mailbox, name, kind, group in sorted(candidates, key=lambda c: c[0].lower()):
        user = by_mail.get(mailbox.lower())
        resource_id = mailbox.lower()
        if user is not None:
            held = await services.store.get(MailboxClaim, org=org_id, user_id=user["id"])
            if held is not None and held.owner_kind == "resource":
                resource_id = held.owner_id
        link = await services.store.get(ResourceLink, org=org_id, resource=resource_id)
        outcome = "created" if link is None else "updated"
        link = link or ResourceLink(org=org_id, resource=resource_id)
        desired = (mailbox.casefold(), name, kind, group)
        if (
            link.status == "linked"
            and ((link.mailbox or "").casefold(), link.display_name, link.kind, link.group) == desired
        ):
            results.append(
                {
                    "resource": resource_id,
                    "mailbox": mailbox,
                    "kind": kind,
                    "group": group,
                    "outcome": "unchanged",
                    "status": link.status,
                    "error": None,
                }
            )
            continue
        try:
            await _check_quota(services, org, link)
            link.display_name, link.kind, link.group = name, kind, group
            await apply_account(services, org, link, mailbox)
        except ConflictError as exc:
            results.append(
                {
                    "resource": resource_id,
                    "mailbox": mailbox,
                    "kind": kind,
                    "group": group,
                    "outcome": "skipped",
                    "status": "error",
                    "error": {"code": exc.code, "message": exc.message},
                }
            )
            continue
        results.append(
            {
                "resource": resource_id,
                "mailbox": mailbox,
                "kind": kind,
                "group": group,
                "outcome": outcome,
                "status": link.status,
                "error": {"code": link.error_code, "message": link.error_message} if link.status == "error" else None,
            }
        )
    totals = {k: sum(1 for r in results if r["outcome"] == k) for k in ("created", "updated", "unchanged", "skipped")}
    return {"results": results, "totals": totals}


# -- organisations ----------------------------------------------------------------------------
async def delete_org(services: Services, org_id: str) -> dict[str, int]:
    """Unlink everything (deleting our Graph subscriptions) and delete the org's state.
    Events we wrote stay in people's calendars: they are theirs now."""
    from shared.appointments import Appointment
    from shared.feed import FeedCounter
    from shared.jobs import Job
    from shared.push import EventRef, Target
    from shared.snapshots import HeldDeletion, SeenEvent

    org = await require_org(services, org_id)
    released = 0
    mailboxes: set[str] = set()
    for cls in (WorkerLink, ResourceLink):
        async for link in services.store.query(cls, org=org_id):
            if link.subscription_id:
                released += 1
            if link.m365_user_id:
                mailboxes.add(link.m365_user_id)
            await release(services, org, link)
    for mailbox in mailboxes:  # per-mailbox indexes, when no other org shares the mailbox
        for cls in (SeenEvent, EventRef):
            rows = [r async for r in services.store.query(cls, mailbox=mailbox)]
            for row in rows:
                if row.org == org_id:
                    await services.store.delete_key(cls, mailbox=mailbox, event_id=row.event_id)
    for cls in (WorkerLink, ResourceLink, MailboxClaim, Appointment, Target, Job, FeedCounter, HeldDeletion):
        await services.store.delete_partition(cls, org=org_id)
    await services.store.delete(org)
    return {"subscriptionsDeleted": released}
