"""FakeGraph: the Graph port (shared.service.ports.Graph) in memory.

It answers as `GraphGateway` does when it talks to the Graph emulator (devtools/graph_emulator)
— the same dict shapes, the same GraphError types with the same `graph_status` /
`graph_code` — and is held to the same contract suite (tests/contracts/test_graph_contract.py).
Where the gateway turns an error into a value (delete of a missing event → False, event_tag
of a missing event → None), the fake raises internally what Graph would and converts it the
same way, so the two cannot drift apart silently.

What it keeps: tenants → users (directory, mailbox or not, userPurpose, rooms and room
lists); per mailbox the events, a change sequence and tombstones (for delta); delta tokens;
subscriptions. Not modelled: meeting copies in attendee mailboxes, room auto-accept,
recurrence, paging (every call answers everything at once), throttling, notification delivery
(the notifications Graph would send are appended to `notifications` instead).

For tests:
- `seed(tenant_id, users=[...], room_lists=[...])` → {upn: id}, users as the emulator's seed
  document has them (userPrincipalName, displayName, userPurpose, hasMailbox, capacity…).
- `calls`: one tuple per port call, `(operation, tenant_id, …)`; `count(operation)`.
- faults (`fail_next`, or `FakeGraph(faults=Faults(rng, unavailable=…, lost_answer=…))`):
  `"unavailable"` raises GraphUnavailable before doing anything, `"lost_answer"` and
  `"timeout"` do the work and then raise GraphUnavailable (the answer was lost). A fault is
  what the gateway raises after its own retries (the SDK retries 429/503/504 itself).
- `events(tenant, mailbox)`: what is stored, rendered with every extended property.
- `outlook_create` / `outlook_update` / `outlook_delete`: a person using Outlook (not a
  Graph call of ours: not recorded, never faulted); each change gets a new changeKey and
  shows up in delta and in `notifications`.
- `expire_delta(tenant, mailbox=None)`: existing delta links answer DeltaTokenExpired (as the
  emulator's /_emulator/delta/expire); `update_user(tenant, id, hasMailbox=False)`;
  `remove_subscription(id)`; `revoke(tenant)` (consent withdrawn: the tenant is unknown).
"""

from __future__ import annotations

import base64
import html
import random
import re
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from shared.core.clock import SystemClock
from shared.core.errors import (
    AccountAmbiguous,
    ConsentRequired,
    DeltaTokenExpired,
    GraphNotFound,
    GraphRejected,
    GraphUnavailable,
    MailboxNotEnabled,
)
from shared.core.graph_types import DirectoryUser, SubscriptionInfo
from shared.core.recurrence import expand, parse_recurrence
from shared.core.timezones import UnknownTimeZone, zone
from tests.fakes import graph_schedule
from tests.fakes.schema import conform
from tests.fakes.todo import FakeTodo

FaultKind = Literal["unavailable", "lost_answer", "timeout"]
FAULT_KINDS: tuple[FaultKind, ...] = ("unavailable", "lost_answer", "timeout")
WRITES = frozenset(
    {
        "create_event",
        "update_event",
        "delete_event",
        "decline_event",
        "create_todo_task",
        "update_todo_task",
        "delete_todo_task",
    }
)

MAX_SUBSCRIPTION_MINUTES = 4230
MIN_SUBSCRIPTION_MINUTES = 45
MAX_SUBSCRIPTIONS_PER_MAILBOX = 1000
BATCH_SIZE = 20  # the gateway asks purposes 20 per $batch
APP_ID = "00000000-0000-0000-0000-0000000ca15c"  # the emulator's default application id


# -- faults ------------------------------------------------------------------------------
@dataclass
class _Rule:
    kind: FaultKind
    count: int
    operation: str | None = None
    mailbox: str | None = None


class Faults:
    """Scripted faults (`fail_next`) for any call, and random ones for writes.

    With `rng`, each write (`writes`, default create/update/delete of events) draws once:
    below `unavailable` → that fault, below `unavailable + lost_answer` → lost answer, and so
    on. Scripted rules are used first. Every injected fault is appended to `injected` as
    (operation, kind)."""

    def __init__(
        self,
        rng: random.Random | None = None,
        *,
        unavailable: float = 0.0,
        lost_answer: float = 0.0,
        timeout: float = 0.0,
        writes: Iterable[str] = WRITES,
    ) -> None:
        if unavailable + lost_answer + timeout > 1:
            raise ValueError("fault probabilities add up to more than 1")
        self.rng = rng
        self.rates: dict[FaultKind, float] = {
            "unavailable": unavailable,
            "lost_answer": lost_answer,
            "timeout": timeout,
        }
        self.writes = frozenset(writes)
        self.rules: list[_Rule] = []
        self.injected: list[tuple[str, FaultKind]] = []

    def fail_next(
        self, n: int = 1, kind: FaultKind = "unavailable", *, operation: str | None = None, mailbox: str | None = None
    ) -> None:
        """The next `n` calls (of `operation`, to `mailbox`, when given) fail with `kind`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if n > 0:
            self.rules.append(_Rule(kind, n, operation, mailbox))

    def clear(self) -> None:
        self.rules.clear()
        self.rng = None

    def take(self, operation: str, mailbox: str | None) -> FaultKind | None:
        for rule in self.rules:
            if rule.operation not in (None, operation) or rule.mailbox not in (None, mailbox):
                continue
            rule.count -= 1
            if rule.count <= 0:
                self.rules.remove(rule)
            self.injected.append((operation, rule.kind))
            return rule.kind
        if self.rng is not None and operation in self.writes:
            draw, edge = self.rng.random(), 0.0
            for kind in FAULT_KINDS:
                edge += self.rates[kind]
                if draw < edge:
                    self.injected.append((operation, kind))
                    return kind
        return None


def _fault_error(kind: FaultKind, operation: str) -> GraphUnavailable:
    if kind == "timeout":
        # What graph_errors.translate makes of an httpx timeout.
        return GraphUnavailable(f"Graph did not answer: ReadTimeout ({operation}, injected)")
    applied = " after applying" if kind == "lost_answer" else ""
    return GraphUnavailable(
        f"ServiceUnavailable: Injected fault{applied} ({operation}).",
        graph_status=503,
        graph_code="ServiceUnavailable",
        retry_after=1.0,
    )


# -- state -----------------------------------------------------------------------------
@dataclass
class FakeUser:
    id: str
    tenant_id: str
    user_principal_name: str
    display_name: str
    user_purpose: str = "user"  # user | room | equipment | shared
    has_mailbox: bool = True
    time_zone: str = "UTC"  # mailboxSettings.timeZone
    place_id: str | None = None
    place: dict[str, Any] = field(default_factory=dict)
    mail_address: str | None = None  # None: the UPN (the emulator's default)
    proxy_addresses: list[str] = field(default_factory=list)

    @property
    def mail(self) -> str:
        return self.mail_address or self.user_principal_name

    def addresses(self) -> set[str]:
        """Every SMTP address the user receives mail at, lower-cased."""
        proxies = {p.split(":", 1)[1].lower() for p in self.proxy_addresses if p.lower().startswith("smtp:")}
        return {self.mail.lower(), *proxies}

    def to_json(self) -> dict[str, Any]:
        """What the gateway selects: id, userPrincipalName, mail, displayName, proxyAddresses."""
        return {
            "id": self.id,
            "userPrincipalName": self.user_principal_name,
            "mail": self.mail if self.has_mailbox else None,
            "displayName": self.display_name,
            "proxyAddresses": self.proxy_addresses or [f"SMTP:{self.mail}"],
        }


@dataclass
class FakeRoomList:
    id: str
    email: str
    display_name: str
    rooms: list[str]  # user ids


@dataclass
class FakeTenant:
    id: str
    domain: str
    users: dict[str, FakeUser] = field(default_factory=dict)  # by id
    room_lists: list[FakeRoomList] = field(default_factory=list)

    def find_user(self, key: str) -> FakeUser | None:
        key = unquote(key).removeprefix("AAD-UPN:")
        user = self.users.get(key) or self.users.get(key.lower())
        if user is not None:
            return user
        lowered = key.lower()
        return next((u for u in self.users.values() if u.user_principal_name.lower() == lowered), None)


@dataclass
class FakeEvent:
    id: str
    mailbox_id: str
    ical_uid: str
    start: datetime  # aware UTC
    end: datetime
    start_tz: str
    end_tz: str
    change_key: str
    created: datetime
    modified: datetime
    subject: str = ""
    body: str = ""
    body_type: str = "text"
    is_all_day: bool = False
    location: str = ""
    location_email: str | None = None
    sensitivity: str = "normal"
    show_as: str = "busy"
    importance: str = "normal"
    categories: list[str] = field(default_factory=list)
    attendees: list[dict[str, Any]] = field(default_factory=list)
    organizer_address: str = ""
    organizer_name: str = ""
    is_organizer: bool = True
    is_cancelled: bool = False
    response: str = "organizer"
    transaction_id: str | None = None
    extended: dict[str, str] = field(default_factory=dict)  # normalised property id → value
    extended_ids: dict[str, str] = field(default_factory=dict)  # normalised id → id as written
    seq: int = 0
    # Series (kept simple; the emulator is the faithful one): a master stores `recurrence`;
    # its occurrences are stored events naming it, made when the series is created.
    kind: str = "singleInstance"  # singleInstance | seriesMaster | occurrence | exception
    recurrence: dict[str, Any] | None = None
    master_id: str | None = None
    original_start: datetime | None = None
    join_url: str | None = None  # an online (Teams) meeting's
    cancelled: list[datetime] = field(default_factory=list)  # a master's deleted occurrences


@dataclass
class FakeSubscription:
    id: str
    tenant_id: str
    mailbox_id: str
    resource: str
    change_types: list[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expiration: datetime
    creator_id: str


@dataclass
class _DeltaState:
    tenant_id: str
    mailbox_id: str
    start: datetime
    end: datetime
    seen: dict[str, str]  # event id → changeKey the client has
    seq: int  # the mailbox sequence number the client is up to date with
    generation: int


# -- wire format ---------------------------------------------------------------------------
def _fmt(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond * 10:07d}"


def _fmt_utc(dt: datetime) -> str:
    return _fmt(dt.astimezone(UTC)) + "Z"


def _local(dt: datetime, tz_name: str) -> datetime:
    return dt.astimezone(zone(tz_name)).replace(tzinfo=None)


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


def _html(text: str) -> str:
    # A text body as Exchange answers it without Prefer: outlook.body-content-type="text".
    return (
        '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n'
        f"<body>\r\n{html.escape(text)}\r\n</body>\r\n</html>\r\n"
    )


def _normalise_property_id(prop_id: str) -> str:
    # "String {GUID} Name X": type, GUID and "Name" are case-insensitive; the emulator
    # compares every string case-insensitively, so the fake does too.
    return re.sub(r"\s+", " ", prop_id.strip()).lower()


def _parse_dt(value: Any, name: str) -> tuple[datetime, str]:
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise _rejected("ErrorInvalidRequest", f"The {name} property is required and must be a dateTimeTimeZone.")
    tz_name = value.get("timeZone") or "UTC"
    try:
        tz = zone(tz_name)
    except UnknownTimeZone:
        raise _rejected(
            "TimeZoneNotSupportedException",
            f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{tz_name}'.",
        ) from None
    text = re.sub(r"(\.\d{6})\d+", r"\1", str(value["dateTime"]).rstrip("Z"))
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise _rejected("ErrorInvalidRequest", f"Cannot convert the literal '{value['dateTime']}'.") from None
    if local.tzinfo is not None:
        return local.astimezone(UTC), tz_name
    return local.replace(tzinfo=tz).astimezone(UTC), tz_name


def _in_window(ev: FakeEvent, start: datetime, end: datetime) -> bool:
    if ev.is_all_day:  # floating dates: a day either side, as the emulator does
        return ev.start < end + timedelta(days=1) and start - timedelta(days=1) < ev.end
    return ev.start < end and start < ev.end


def _rejected(code: str, message: str, status: int = 400, **kw: Any) -> GraphRejected:
    return GraphRejected(f"{code}: {message}", graph_status=status, graph_code=code, **kw)


def _not_found(code: str, message: str) -> GraphNotFound:
    return GraphNotFound(f"{code}: {message}", graph_status=404, graph_code=code)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


_SIMPLE = {"subject": "subject", "sensitivity": "sensitivity", "showAs": "show_as", "importance": "importance"}


class FakeGraph(FakeTodo):
    """The Graph port in memory; see the module docstring."""

    def __init__(
        self,
        *,
        faults: Faults | None = None,
        clock: Any = None,
        seed: int = 0,
        base_url: str = "https://graph.fake.test/v1.0",
    ) -> None:
        self.faults = faults or Faults()
        self.clock = clock or SystemClock()
        self.base_url = base_url.rstrip("/")
        self.calls: list[tuple[str, ...]] = []
        self.notifications: list[dict[str, Any]] = []
        self.closed = False
        self._ids = random.Random(seed)
        self._tenants: dict[str, FakeTenant] = {}
        self._events: dict[str, dict[str, FakeEvent]] = {}  # mailbox id → event id → event
        self._seq: dict[str, int] = {}
        self._tombstones: dict[str, dict[str, int]] = {}  # mailbox id → event id → seq of removal
        self._delta: dict[str, _DeltaState] = {}
        self._generation: dict[str, int] = {}  # mailbox id ("" = every mailbox) → generation
        self._subscriptions: dict[str, FakeSubscription] = {}

    # -- test helpers ------------------------------------------------------------------
    def seed(
        self,
        tenant_id: str,
        users: Iterable[dict[str, Any]] = (),
        room_lists: Iterable[dict[str, Any]] = (),
        *,
        domain: str | None = None,
    ) -> dict[str, str]:
        """Add a tenant (or add to one) as the emulator's /_emulator/seed does; {upn: id}
        of every user of the tenant."""
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            tenant = self._tenants[tenant_id] = FakeTenant(tenant_id, domain or f"{tenant_id[:8]}.example")
        for spec in users:
            upn = spec["userPrincipalName"]
            user = tenant.find_user(upn)
            if user is None:
                user = FakeUser(
                    id=spec.get("id") or self._guid(),
                    tenant_id=tenant_id,
                    user_principal_name=upn,
                    display_name=spec.get("displayName") or upn.split("@")[0],
                    user_purpose=spec.get("userPurpose", "user"),
                    has_mailbox=spec.get("hasMailbox", True),
                    time_zone=spec.get("timeZone", "UTC"),
                    mail_address=spec.get("mail"),
                    proxy_addresses=list(spec.get("proxyAddresses") or []),
                )
                tenant.users[user.id] = user
            for key in ("capacity", "building", "floorNumber", "floorLabel", "bookingType", "tags"):
                if key in spec:
                    user.place[key] = spec[key]
            if user.user_purpose in ("room", "equipment") and user.place_id is None:
                user.place_id = self._guid()
        for spec in room_lists:
            ids = []
            for room_upn in spec.get("rooms", []):
                room = tenant.find_user(room_upn)
                if room is None:
                    raise ValueError(f"room list {spec['emailAddress']}: room {room_upn} is not a seeded user")
                ids.append(room.id)
            email = spec["emailAddress"]
            existing = next((r for r in tenant.room_lists if r.email.lower() == email.lower()), None)
            if existing is not None:
                existing.rooms = list(dict.fromkeys(existing.rooms + ids))
            else:
                tenant.room_lists.append(FakeRoomList(self._guid(), email, spec.get("displayName") or email, ids))
        return {u.user_principal_name: u.id for u in tenant.users.values()}

    def update_user(self, tenant_id: str, user_id: str, **fields: Any) -> None:
        """`hasMailbox=False` (a licence removed), `displayName=…`, `userPurpose=…`."""
        user = self._tenants[tenant_id].users[user_id]
        if "hasMailbox" in fields:
            user.has_mailbox = bool(fields["hasMailbox"])
        if "displayName" in fields:
            user.display_name = str(fields["displayName"])
        if "userPurpose" in fields:
            user.user_purpose = str(fields["userPurpose"])

    def revoke(self, tenant_id: str) -> None:
        """The tenant withdrew consent: every call for it is refused (ConsentRequired)."""
        self._tenants.pop(tenant_id, None)

    def fail_next(
        self, n: int = 1, kind: FaultKind = "unavailable", *, operation: str | None = None, mailbox: str | None = None
    ) -> None:
        self.faults.fail_next(n, kind, operation=operation, mailbox=mailbox)

    def count(self, operation: str | None = None) -> int:
        return sum(1 for c in self.calls if operation is None or c[0] == operation)

    def events(self, tenant_id: str, mailbox_id: str) -> list[dict[str, Any]]:
        """The mailbox's events as stored (UTC, text bodies, every extended property)."""
        user = self._mailbox_user(tenant_id, mailbox_id)
        return [self._render(e, text_body=True, expand=True) for e in self._sorted(user.id)]

    def event(self, tenant_id: str, mailbox_id: str, event_id: str) -> dict[str, Any] | None:
        user = self._mailbox_user(tenant_id, mailbox_id)
        ev = self._events.get(user.id, {}).get(event_id)
        return self._render(ev, text_body=True, expand=True) if ev else None

    def outlook_create(
        self,
        tenant_id: str,
        mailbox_id: str,
        event: dict[str, Any],
        *,
        ical_uid: str | None = None,
        is_organizer: bool = True,
        organizer: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A person adds an event in Outlook (or a meeting copy arrives: `is_organizer=False`,
        the organizer's `ical_uid` and `organizer` {"address", "name"})."""
        user = self._mailbox_user(tenant_id, mailbox_id)
        ev = self._new_event(user, event)
        if ical_uid:
            ev.ical_uid = ical_uid
        if not is_organizer:
            ev.is_organizer, ev.response = False, "notResponded"
            if organizer:
                ev.organizer_address = organizer.get("address", "")
                ev.organizer_name = organizer.get("name", ev.organizer_address)
        self._add(ev)
        if ev.recurrence is not None:
            self._occur(user, ev)  # a series has its occurrences, as one calsync creates
        return self._render(ev, text_body=True, expand=True)

    def outlook_update(self, tenant_id: str, mailbox_id: str, event_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        """A person edits an event in Outlook: a new changeKey even when nothing differs."""
        user = self._mailbox_user(tenant_id, mailbox_id)
        ev = self._event(user, event_id)
        self._apply(ev, patch, creating=False)
        self._touch(ev)
        return self._render(ev, text_body=True, expand=True)

    def outlook_respond(self, tenant_id: str, mailbox_id: str, event_id: str, address: str, response: str) -> None:
        """An attendee (or a room, by its booking rules) answers the organizer's meeting: the
        organizer's event shows it, with a new changeKey (as the emulator's accept/decline)."""
        ev = self._event(self._mailbox_user(tenant_id, mailbox_id), event_id)
        for attendee in ev.attendees:
            if attendee["emailAddress"]["address"].lower() == address.lower():
                attendee["status"] = {"response": response, "time": _fmt_utc(self.clock.now())}
        self._touch(ev)

    def outlook_delete(self, tenant_id: str, mailbox_id: str, event_id: str) -> None:
        user = self._mailbox_user(tenant_id, mailbox_id)
        self._remove(self._event(user, event_id))

    def expire_delta(self, tenant_id: str | None = None, mailbox_id: str | None = None) -> None:
        """Every delta link issued so far (for one mailbox, or all) answers DeltaTokenExpired."""
        key = ""
        if mailbox_id is not None:
            key = self._mailbox_user(tenant_id or "", mailbox_id).id if tenant_id else mailbox_id
        self._generation[key] = self._generation.get(key, 0) + 1

    def remove_subscription(self, subscription_id: str) -> None:
        """Graph dropped the subscription (expired, removed): later calls get GraphNotFound."""
        self._subscriptions.pop(subscription_id, None)

    def subscriptions(self, tenant_id: str | None = None) -> list[FakeSubscription]:
        return [s for s in self._subscriptions.values() if tenant_id in (None, s.tenant_id)]

    # -- the port: directory -----------------------------------------------------------
    async def probe(self, tenant_id: str) -> None:
        self._call("probe", tenant_id)
        self._tenant(tenant_id)

    async def get_user(self, tenant_id: str, key: str) -> DirectoryUser:
        """By id or UPN; an e-mail address by `mail`, then by proxy address (as the gateway
        looks it up: user-get.md takes only an id or a UPN)."""
        self._call("get_user", tenant_id, key)
        tenant = self._tenant(tenant_id)
        user = tenant.find_user(key)
        if user is None and "@" in key:
            wanted = key.lower()
            for matches in (
                [u for u in tenant.users.values() if u.mail.lower() == wanted],
                [u for u in tenant.users.values() if wanted in u.addresses()],
            ):
                if len(matches) > 1:
                    names = ", ".join(sorted(u.user_principal_name for u in matches))
                    raise AccountAmbiguous(f"{key} is the address of more than one user in the tenant: {names}")
                if matches:
                    user = matches[0]
                    break
        if user is None:
            raise _not_found(
                "Request_ResourceNotFound",
                f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
            )
        data = user.to_json()
        return DirectoryUser(data["id"], data["userPrincipalName"] or key, data["mail"], data["displayName"] or "")

    async def mailbox_time_zone(self, tenant_id: str, user_id: str) -> str:
        self._call("mailbox_time_zone", tenant_id, user_id)
        return self._mailbox_user(tenant_id, user_id).time_zone

    async def user_purpose(self, tenant_id: str, user_id: str) -> str:
        self._call("user_purpose", tenant_id, user_id)
        return self._mailbox_user(tenant_id, user_id).user_purpose or "user"

    async def list_users(self, tenant_id: str) -> AsyncIterator[dict]:
        self._call("list_users", tenant_id)
        tenant = self._tenant(tenant_id)
        for user in list(tenant.users.values()):
            yield user.to_json()

    async def list_rooms(self, tenant_id: str) -> list[dict]:
        self._call("list_rooms", tenant_id)
        tenant = self._tenant(tenant_id)
        return [self._room_json(u) for u in tenant.users.values() if u.user_purpose == "room"]

    async def list_room_lists(self, tenant_id: str) -> list[dict]:
        self._call("list_room_lists", tenant_id)
        tenant = self._tenant(tenant_id)
        return [
            {
                "id": rl.id,
                "displayName": rl.display_name,
                "emailAddress": rl.email,
                "phone": None,
                "geoCoordinates": None,
                "address": None,
            }
            for rl in tenant.room_lists
        ]

    async def rooms_in_list(self, tenant_id: str, list_email: str) -> list[dict]:
        self._call("rooms_in_list", tenant_id, list_email)
        tenant = self._tenant(tenant_id)
        wanted = list_email.lower()
        room_list = next((rl for rl in tenant.room_lists if wanted in (rl.email.lower(), rl.id.lower())), None)
        if room_list is None:
            raise _not_found("ErrorItemNotFound", f"The room list '{list_email}' was not found.")
        return [self._room_json(tenant.users[i]) for i in room_list.rooms if i in tenant.users]

    async def purposes(self, tenant_id: str, user_ids: list[str]) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for start in range(0, len(user_ids), BATCH_SIZE):  # one $batch per 20, as the gateway
            chunk = user_ids[start : start + BATCH_SIZE]
            self._call("purposes", tenant_id, *chunk)
            tenant = self._tenant(tenant_id)
            for uid in chunk:
                user = tenant.find_user(uid)
                out[uid] = user.user_purpose if user is not None and user.has_mailbox else None
        return out

    # -- the port: events ----------------------------------------------------------------
    async def create_event(
        self, tenant_id: str, mailbox_id: str, event: dict[str, Any], *, retries: int | None = None
    ) -> dict[str, Any]:
        fault = self._call("create_event", tenant_id, mailbox_id, mailbox=mailbox_id)
        conform("graph.event", event)
        user = self._mailbox_user(tenant_id, mailbox_id)
        if not isinstance(event, dict):
            raise _rejected("BadRequest", "Empty Payload. JSON content expected.")
        txn = event.get("transactionId")
        existing = next((e for e in self._sorted(user.id) if txn and e.transaction_id == txn), None)
        if existing is not None:
            # A retried create with the same transactionId answers the event already made.
            return self._answer(fault, "create_event", self._render(existing))
        ev = self._new_event(user, event)
        self._add(ev)
        if ev.recurrence is not None:
            self._occur(user, ev)
        return self._answer(fault, "create_event", self._render(ev))

    async def update_event(
        self, tenant_id: str, mailbox_id: str, event_id: str, patch: dict[str, Any], *, retries: int | None = None
    ) -> dict[str, Any]:
        fault = self._call("update_event", tenant_id, mailbox_id, event_id, mailbox=mailbox_id)
        conform("graph.event", patch)
        user = self._mailbox_user(tenant_id, mailbox_id)
        ev = self._event(user, event_id)
        trial = replace(ev, categories=list(ev.categories), attendees=[dict(a) for a in ev.attendees])
        trial.extended, trial.extended_ids = dict(ev.extended), dict(ev.extended_ids)
        if self._apply(trial, patch, creating=False):  # validate in full before changing anything
            if trial.kind == "occurrence":
                trial.kind = "exception"
            self._events[user.id][ev.id] = trial
            self._touch(trial)
            if trial.kind == "seriesMaster" and {"recurrence", "start", "end"} & set(patch):
                for old in [e for e in self._sorted(user.id) if e.master_id == trial.id]:
                    self._remove(old)  # a new pattern: Outlook makes the occurrences anew
                self._occur(user, trial)
            ev = trial
        return self._answer(fault, "update_event", self._render(ev))

    async def delete_event(self, tenant_id: str, mailbox_id: str, event_id: str, *, retries: int | None = None) -> bool:
        fault = self._call("delete_event", tenant_id, mailbox_id, event_id, mailbox=mailbox_id)
        try:
            user = self._mailbox_user(tenant_id, mailbox_id)
            ev = self._event(user, event_id)
            for occurrence in [e for e in self._sorted(user.id) if e.master_id == ev.id]:
                self._remove(occurrence)
            self._remove(ev)
            master = self._events.get(user.id, {}).get(ev.master_id or "")
            if master is not None and ev.original_start is not None:
                master.cancelled.append(ev.original_start)  # resources/event.md cancelledOccurrences
                self._touch(master)
        except GraphNotFound:
            return self._answer(fault, "delete_event", False)  # as the gateway: gone already
        return self._answer(fault, "delete_event", True)

    async def find_events(self, tenant_id: str, mailbox_id: str, property_id: str, value: str) -> list[dict]:
        self._call("find_events", tenant_id, mailbox_id, value, mailbox=mailbox_id)
        user = self._mailbox_user(tenant_id, mailbox_id)
        key, wanted = _normalise_property_id(property_id), value.lower()
        out = []
        for ev in self._sorted(user.id):
            if ev.master_id is None and key in ev.extended and ev.extended[key].lower() == wanted:
                out.append(
                    {
                        "@odata.etag": f'W/"{ev.change_key}"',
                        "id": ev.id,
                        "changeKey": ev.change_key,
                        "iCalUId": ev.ical_uid,
                        "subject": ev.subject,
                        "onlineMeeting": {"joinUrl": ev.join_url} if ev.join_url else None,
                    }
                )
        return out

    async def instances(
        self, tenant_id: str, mailbox_id: str, event_id: str, start: datetime, end: datetime
    ) -> list[dict]:
        self._call("instances", tenant_id, mailbox_id, event_id, mailbox=mailbox_id)
        user = self._mailbox_user(tenant_id, mailbox_id)
        if user.id not in self._events or event_id not in self._events[user.id]:
            return []
        return [
            self._render(e)
            for e in self._sorted(user.id)
            if e.master_id == event_id and e.start < end.astimezone(UTC) and start.astimezone(UTC) < e.end
        ]

    async def delta(
        self, tenant_id: str, mailbox_id: str, link: str | None, start: datetime, end: datetime
    ) -> tuple[list[dict], str]:
        self._call("delta", tenant_id, mailbox_id, "link" if link else "fresh", mailbox=mailbox_id)
        if not link:
            user = self._mailbox_user(tenant_id, mailbox_id)
            start, end = start.astimezone(UTC), end.astimezone(UTC)
            if end <= start:
                raise _rejected("ErrorInvalidParameter", "The end of the time window must follow its start.")
            prev = _DeltaState(tenant_id, user.id, start, end, {}, 0, self._current_generation(user.id))
            return self._delta_round(user, prev, initial=True)
        parts = urlsplit(link)
        path = re.search(r"/users/([^/]+)/calendarView/delta(?:\(\))?/?$", parts.path, re.IGNORECASE)
        if path is None:
            raise _rejected("BadRequest", f"Resource not found for the segment '{parts.path.strip('/')}'.")
        self._tenant(tenant_id)
        user = self._mailbox_user(tenant_id, unquote(path.group(1)))
        query = parse_qs(parts.query)
        token = (query.get("$deltatoken") or query.get("$skiptoken") or [""])[0]
        state = self._delta.get(token)
        if state is None or state.mailbox_id != user.id or state.tenant_id != tenant_id:
            raise _rejected("BadRequest", "The delta token is not valid.")
        if state.generation < self._current_generation(user.id):
            raise DeltaTokenExpired(
                "syncStateNotFound: The sync state generation is not found. The delta token is expired and data "
                "must be synchronized again.",
                graph_status=410,
                graph_code="syncStateNotFound",
            )
        return self._delta_round(user, state, initial=False)

    async def get_event(self, tenant_id: str, mailbox_id: str, event_id: str) -> dict[str, Any] | None:
        self._call("get_event", tenant_id, mailbox_id, event_id, mailbox=mailbox_id)
        try:
            ev = self._event(self._mailbox_user(tenant_id, mailbox_id), event_id)
        except GraphNotFound:
            return None
        return self._render(ev, text_body=True)

    async def get_series_master(self, tenant_id: str, mailbox_id: str, event_id: str) -> dict[str, Any] | None:
        master = await self.get_event(tenant_id, mailbox_id, event_id)
        if master is None:
            return None
        self._call("get_series_master", tenant_id, mailbox_id, event_id, mailbox=mailbox_id)
        ev = self._event(self._mailbox_user(tenant_id, mailbox_id), event_id)
        days = [at.astimezone(zone(ev.start_tz)).date().isoformat() for at in sorted(ev.cancelled)]
        return {**master, "cancelledOccurrences": [f"OID.{ev.id}.{day}" for day in days]}

    async def changed_since(self, tenant_id: str, mailbox_id: str, since: datetime) -> list[dict]:
        self._call("changed_since", tenant_id, mailbox_id, mailbox=mailbox_id)
        user = self._mailbox_user(tenant_id, mailbox_id)
        return [
            {"id": e.id, "type": e.kind, "changeKey": e.change_key, "lastModifiedDateTime": _fmt_utc(e.modified)}
            for e in self._sorted(user.id)
            if e.kind in ("singleInstance", "seriesMaster") and e.modified >= since
        ]

    async def event_tag(self, tenant_id: str, mailbox_id: str, event_id: str, property_id: str) -> str | None:
        self._call("event_tag", tenant_id, mailbox_id, event_id, mailbox=mailbox_id)
        try:
            ev = self._event(self._mailbox_user(tenant_id, mailbox_id), event_id)
        except GraphNotFound:
            return None
        return ev.extended.get(_normalise_property_id(property_id))

    async def find_by_ical(self, tenant_id: str, mailbox_id: str, ical_uid: str, property_id: str) -> str | None:
        self._call("find_by_ical", tenant_id, mailbox_id, ical_uid)
        try:
            user = self._mailbox_user(tenant_id, mailbox_id)
        except GraphNotFound:
            return None
        key = _normalise_property_id(property_id)
        for ev in self._sorted(user.id):
            if ev.ical_uid.lower() == ical_uid.lower() and key in ev.extended:
                return ev.extended[key]
        return None

    async def meeting_copy(self, tenant_id: str, mailbox_id: str, ical_uid: str) -> dict[str, Any] | None:
        self._call("meeting_copy", tenant_id, mailbox_id, ical_uid, mailbox=mailbox_id)
        user = self._mailbox_user(tenant_id, mailbox_id)
        for ev in self._sorted(user.id):
            if ev.master_id is None and ev.ical_uid.lower() == ical_uid.lower():
                rendered = self._render(ev)
                keep = ("id", "type", "isCancelled", "responseStatus")
                return {k: rendered[k] for k in keep if k in rendered}
        return None

    async def decline_event(self, tenant_id: str, mailbox_id: str, event_id: str, comment: str) -> bool:
        """As the emulator (event-decline.md): the copy leaves the mailbox's calendar and the
        organizer's meeting shows this mailbox's decline."""
        fault = self._call("decline_event", tenant_id, mailbox_id, event_id, mailbox=mailbox_id)
        user = self._mailbox_user(tenant_id, mailbox_id)
        ev = self._events.get(user.id, {}).get(event_id)
        if ev is None:
            return bool(self._answer(fault, "decline_event", False))
        if ev.is_organizer:
            raise _rejected("ErrorInvalidRequest", "You can't respond to a meeting you organized.")
        self._remove(ev)
        for box in self._events.values():
            for meeting in list(box.values()):
                if meeting.is_organizer and meeting.ical_uid == ev.ical_uid and meeting.master_id is None:
                    for attendee in meeting.attendees:
                        if attendee["emailAddress"]["address"].lower() in user.addresses():
                            attendee["status"] = {"response": "declined", "time": _fmt_utc(self.clock.now())}
                    self._touch(meeting)
        return bool(self._answer(fault, "decline_event", True))

    # -- the port: subscriptions -------------------------------------------------------
    async def create_subscription(
        self,
        tenant_id: str,
        mailbox_id: str,
        *,
        notification_url: str,
        lifecycle_url: str,
        client_state: str,
        expires_at: datetime,
    ) -> SubscriptionInfo:
        self._call("create_subscription", tenant_id, mailbox_id)
        tenant = self._tenant(tenant_id)
        resource = f"/users/{mailbox_id}/events"
        user = tenant.find_user(mailbox_id)
        if user is None:
            raise _not_found("ResourceNotFound", f"Resource '{resource}' does not exist.")
        if not user.has_mailbox:
            raise self._no_mailbox()
        if client_state is not None and len(client_state) > 128:
            raise _rejected("InvalidRequest", "clientState must be at most 128 characters.")
        for name, url in (("notificationUrl", notification_url), ("lifecycleNotificationUrl", lifecycle_url)):
            if url is None and name == "lifecycleNotificationUrl":
                continue
            parts = urlsplit(str(url))
            local = parts.hostname in ("127.0.0.1", "localhost", "::1")
            if parts.scheme != "https" and not (parts.scheme == "http" and local):
                raise _rejected("InvalidRequest", f"The {name} must be an https URL.")
        expiration = self._expiration(expires_at)
        self._purge_expired()
        change_types = ["created", "updated", "deleted"]
        mine = [s for s in self._subscriptions.values() if s.mailbox_id == user.id]
        # As the emulator: a duplicate is the same mailbox, changeType and notificationUrl.
        dup = next(
            (
                s
                for s in mine
                if sorted(s.change_types) == sorted(change_types) and s.notification_url == notification_url
            ),
            None,
        )
        if dup is not None:
            raise _rejected(
                "ExtensionError",
                f"Subscription Id {dup.id} already exists for the requested combination",
                status=409,
                existing_id=dup.id,
            )
        if len(mine) >= MAX_SUBSCRIPTIONS_PER_MAILBOX:
            raise _rejected(
                "ExtensionError",
                f"The maximum of {MAX_SUBSCRIPTIONS_PER_MAILBOX} subscriptions per mailbox is reached.",
                status=403,
            )
        sub = FakeSubscription(
            id=self._guid(),
            tenant_id=tenant_id,
            mailbox_id=user.id,
            resource=resource,
            change_types=change_types,
            notification_url=notification_url,
            lifecycle_url=lifecycle_url,
            client_state=client_state,
            expiration=expiration,
            creator_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{APP_ID}")),
        )
        self._subscriptions[sub.id] = sub
        return SubscriptionInfo(sub.id, sub.expiration)

    async def renew_subscription(self, tenant_id: str, subscription_id: str, expires_at: datetime) -> datetime:
        self._call("renew_subscription", tenant_id, subscription_id)
        sub = self._own_subscription(tenant_id, subscription_id)
        # The gateway sends whole seconds ("%Y-%m-%dT%H:%M:%S.0000000Z").
        sub.expiration = self._expiration(expires_at.astimezone(UTC).replace(microsecond=0))
        return sub.expiration

    async def reauthorize_subscription(self, tenant_id: str, subscription_id: str) -> None:
        self._call("reauthorize_subscription", tenant_id, subscription_id)
        self._own_subscription(tenant_id, subscription_id)

    async def list_subscriptions(self, tenant_id: str) -> list[dict]:
        self._call("list_subscriptions", tenant_id)
        self._tenant(tenant_id)
        self._purge_expired()
        return [self._sub_json(s) for s in self._subscriptions.values() if s.tenant_id == tenant_id]

    async def delete_subscription(self, tenant_id: str, subscription_id: str) -> bool:
        self._call("delete_subscription", tenant_id, subscription_id)
        try:
            sub = self._own_subscription(tenant_id, subscription_id)
        except GraphNotFound:
            return False
        del self._subscriptions[sub.id]
        return True

    async def get_schedule(
        self,
        tenant_id: str,
        caller_mailbox_id: str,
        addresses: list[str],
        start: datetime,
        end: datetime,
        interval_minutes: int,
    ) -> list[dict[str, Any]]:
        """As the gateway: 20 addresses a call (one recorded call each), times in UTC."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        out: list[dict[str, Any]] = []
        for n in range(0, len(addresses), graph_schedule.MAX_SCHEDULES):
            chunk = addresses[n : n + graph_schedule.MAX_SCHEDULES]
            self._call("get_schedule", tenant_id, caller_mailbox_id, *chunk, mailbox=caller_mailbox_id)
            tenant = self._tenant(tenant_id)
            self._mailbox_user(tenant_id, caller_mailbox_id)
            graph_schedule.check(start, end, interval_minutes)
            out += [graph_schedule.schedule_info(tenant, self._events, a, start, end, interval_minutes) for a in chunk]
        return out

    async def close(self) -> None:
        self.closed = True

    # -- internals: calls and faults ---------------------------------------------------
    def _call(self, operation: str, tenant_id: str, *args: str, mailbox: str | None = None) -> FaultKind | None:
        """Record the call; raise an "unavailable" fault now, return a post-apply one."""
        self.calls.append((operation, tenant_id, *args))
        fault = self.faults.take(operation, mailbox)
        if fault == "unavailable":
            raise _fault_error(fault, operation)
        return fault

    @staticmethod
    def _answer(fault: FaultKind | None, operation: str, value: Any) -> Any:
        if fault is not None:
            raise _fault_error(fault, operation)  # the write happened; its answer is lost
        return value

    # -- internals: directory ----------------------------------------------------------
    def _tenant(self, tenant_id: str) -> FakeTenant:
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            # The emulator (and Graph for a token it refuses) answers 401 InvalidAuthenticationToken.
            raise ConsentRequired(
                "InvalidAuthenticationToken: Access token validation failure. Invalid audience.",
                graph_status=401,
                graph_code="InvalidAuthenticationToken",
            )
        return tenant

    @staticmethod
    def _no_mailbox() -> MailboxNotEnabled:
        return MailboxNotEnabled(
            "MailboxNotEnabledForRESTAPI: The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            graph_status=404,
            graph_code="MailboxNotEnabledForRESTAPI",
        )

    def _mailbox_user(self, tenant_id: str, key: str) -> FakeUser:
        user = self._tenant(tenant_id).find_user(key)
        if user is None:
            raise _not_found("ErrorInvalidUser", f"The requested user '{key}' is invalid.")
        if not user.has_mailbox:
            raise self._no_mailbox()
        return user

    @staticmethod
    def _room_json(room: FakeUser) -> dict[str, Any]:
        place = room.place
        return {
            "id": room.place_id,
            "emailAddress": room.mail,
            "displayName": room.display_name,
            "address": {"street": "", "city": "", "state": "", "countryOrRegion": "", "postalCode": ""},
            "geoCoordinates": None,
            "phone": None,
            "nickname": room.display_name,
            "label": None,
            "capacity": place.get("capacity", 10),
            "building": place.get("building"),
            "floorLabel": place.get("floorLabel"),
            "floorNumber": place.get("floorNumber"),
            "isWheelChairAccessible": False,
            "bookingType": place.get("bookingType", "standard"),
            "tags": place.get("tags", []),
            "audioDeviceName": None,
            "videoDeviceName": None,
            "displayDeviceName": None,
        }

    # -- internals: events -------------------------------------------------------------
    def _guid(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def _change_key(self) -> str:
        return base64.b64encode(b"\x0f\x00\x00\x00\x16\x00\x00\x00" + self._ids.randbytes(16)).decode()

    def _event_id(self, mailbox_id: str) -> str:
        try:
            mailbox = uuid.UUID(mailbox_id).bytes
        except ValueError:
            mailbox = uuid.uuid5(uuid.NAMESPACE_URL, mailbox_id).bytes
        # Shaped like an immutable id: URL-safe Base64, about 90 characters.
        return _b64(b"\x00\x09\x00\x2e\x00\x00" + mailbox + b"\x00\x46\x00\x00" + self._ids.randbytes(30))

    def _sorted(self, mailbox_id: str) -> list[FakeEvent]:
        return sorted(self._events.get(mailbox_id, {}).values(), key=lambda e: (e.start, e.id))

    def _event(self, user: FakeUser, event_id: str) -> FakeEvent:
        ev = self._events.get(user.id, {}).get(event_id)
        if ev is None:
            raise _not_found("ErrorItemNotFound", "The specified object was not found in the store.")
        return ev

    def _new_event(self, user: FakeUser, body: dict[str, Any]) -> FakeEvent:
        start, start_tz = _parse_dt(body.get("start"), "start")
        end, end_tz = _parse_dt(body.get("end"), "end")
        t = self.clock.now()
        ev = FakeEvent(
            id=self._event_id(user.id),
            mailbox_id=user.id,
            ical_uid="040000008200E00074C5B7101A82E00800000000" + self._ids.randbytes(28).hex().upper(),
            start=start,
            end=end,
            start_tz=start_tz,
            end_tz=end_tz,
            change_key=self._change_key(),
            created=t,
            modified=t,
            organizer_address=user.mail,
            organizer_name=user.display_name,
            transaction_id=body.get("transactionId"),
        )
        self._apply(ev, body, creating=True)
        return ev

    def _apply(self, ev: FakeEvent, body: Any, *, creating: bool) -> bool:
        """Apply a create/PATCH body (validated as the emulator does); whether anything changed."""
        if not isinstance(body, dict):
            raise _rejected("BadRequest", "Empty Payload. JSON content expected.")
        if "transactionId" in body and not creating and body["transactionId"] != ev.transaction_id:
            raise _rejected("ErrorInvalidRequest", "The transactionId property can't be changed.")
        changed = False
        for key, attr in _SIMPLE.items():
            if body.get(key) is not None and getattr(ev, attr) != str(body[key]):
                setattr(ev, attr, str(body[key]))
                changed = True
        teams = body.get("onlineMeetingProvider", "teamsForBusiness") == "teamsForBusiness"
        if body.get("isOnlineMeeting") and teams and ev.join_url is None:  # once online, it stays so (event.md)
            ev.join_url = f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{self._guid()}%40thread.v2/0"
            changed = True
        if "categories" in body:
            categories = [str(c) for c in body["categories"] or []]
            changed |= categories != ev.categories
            ev.categories = categories
        if body.get("body") is not None:
            content = str(body["body"].get("content") or "")
            kind = str(body["body"].get("contentType") or "text").lower()
            if (content, kind) != (ev.body, ev.body_type):
                ev.body, ev.body_type, changed = content, kind, True
        if "location" in body:
            loc = body["location"] or {}
            name, email = str(loc.get("displayName") or ""), loc.get("locationEmailAddress")
            if (name, email) != (ev.location, ev.location_email):
                ev.location, ev.location_email, changed = name, email, True
        start, start_tz = _parse_dt(body["start"], "start") if "start" in body else (ev.start, ev.start_tz)
        end, end_tz = _parse_dt(body["end"], "end") if "end" in body else (ev.end, ev.end_tz)
        all_day = bool(body.get("isAllDay", ev.is_all_day))
        if end < start:
            raise _rejected("ErrorInvalidRequest", "The event's end time can't be earlier than its start time.")
        if all_day:
            ls, le = _local(start, start_tz), _local(end, end_tz)
            if ls.time() != datetime.min.time() or le.time() != datetime.min.time() or start_tz != end_tz:
                raise _rejected(
                    "ErrorInvalidRequest",
                    "Your request can't be completed. If an event is an all-day event, its start and end times "
                    "must be set to midnight and be in the same time zone.",
                )
        if (start, end, start_tz, end_tz, all_day) != (ev.start, ev.end, ev.start_tz, ev.end_tz, ev.is_all_day):
            ev.start, ev.end, ev.start_tz, ev.end_tz, ev.is_all_day = start, end, start_tz, end_tz, all_day
            changed = True
        if "attendees" in body:
            attendees = []
            for raw in body["attendees"] or []:
                email = (raw.get("emailAddress") or {}) if isinstance(raw, dict) else {}
                address = str(email.get("address") or "").strip()
                if not address or "@" not in address:
                    raise _rejected("ErrorInvalidRecipients", "At least one recipient isn't valid.")
                old = next((a for a in ev.attendees if a["emailAddress"]["address"].lower() == address.lower()), None)
                attendees.append(
                    {
                        "type": str(raw.get("type") or "required"),
                        "status": old["status"] if old else {"response": "none", "time": "0001-01-01T00:00:00Z"},
                        "emailAddress": {"name": str(email.get("name") or address), "address": address},
                    }
                )
            if len(attendees) > 500:
                raise _rejected("ErrorTooManyRecipients", "An event can have at most 500 attendees.")

            def key(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
                return [(a["emailAddress"]["address"].lower(), a["type"]) for a in items]

            changed |= key(attendees) != key(ev.attendees)
            ev.attendees = attendees
        if body.get("recurrence") is not None and body["recurrence"] != ev.recurrence:
            if not creating and ev.kind != "seriesMaster":
                raise _rejected("ErrorInvalidRequest", "Only a series master takes a recurrence.")
            ev.recurrence, ev.kind, changed = body["recurrence"], "seriesMaster", True
        for prop in body.get("singleValueExtendedProperties") or []:
            pid = _normalise_property_id(str(prop.get("id", "")))
            ev.extended_ids[pid] = str(prop.get("id"))
            if ev.extended.get(pid) != str(prop.get("value")):
                ev.extended[pid] = str(prop.get("value"))
                changed = True
        return changed

    def _bump(self, mailbox_id: str) -> int:
        self._seq[mailbox_id] = self._seq.get(mailbox_id, 0) + 1
        return self._seq[mailbox_id]

    def _add(self, ev: FakeEvent) -> None:
        ev.seq = self._bump(ev.mailbox_id)
        self._events.setdefault(ev.mailbox_id, {})[ev.id] = ev
        self._notify(ev, "created")
        self._notify(ev, "updated")  # Graph is seen sending both for one create (as the emulator)

    def _occur(self, user: FakeUser, master: FakeEvent) -> None:
        """Store a master's occurrences (shared.core.recurrence expands the pattern)."""
        rec = parse_recurrence(master.recurrence)
        first = _local(master.start, master.start_tz)
        for n, occ in enumerate(expand(rec, first, master.end - master.start, master.start_tz)):
            if n >= 200:
                break  # an endless series: enough for any test
            self._add(
                replace(
                    master,
                    id=f"{master.id}-{occ.start:%Y%m%dT%H%M}",
                    start=occ.start,
                    end=occ.end,
                    kind="occurrence",
                    recurrence=None,
                    master_id=master.id,
                    original_start=occ.start,
                    change_key=self._change_key(),
                    categories=list(master.categories),
                    attendees=[dict(a) for a in master.attendees],
                    extended=dict(master.extended),
                    extended_ids=dict(master.extended_ids),
                    transaction_id=None,
                )
            )

    def _touch(self, ev: FakeEvent) -> None:
        ev.change_key = self._change_key()
        ev.modified = self.clock.now()
        ev.seq = self._bump(ev.mailbox_id)
        self._notify(ev, "updated")

    def _remove(self, ev: FakeEvent) -> None:
        seq = self._bump(ev.mailbox_id)
        self._events.get(ev.mailbox_id, {}).pop(ev.id, None)
        self._tombstones.setdefault(ev.mailbox_id, {})[ev.id] = seq
        self._notify(ev, "deleted")

    def _notify(self, ev: FakeEvent, change_type: str) -> None:
        for sub in self._subscriptions.values():
            if sub.mailbox_id != ev.mailbox_id or sub.expiration <= self.clock.now():
                continue
            self.notifications.append(
                {
                    "subscriptionId": sub.id,
                    "subscriptionExpirationDateTime": _fmt_utc(sub.expiration),
                    "changeType": change_type,
                    "resource": f"Users/{ev.mailbox_id}/Events/{ev.id}",
                    "resourceData": {
                        "@odata.type": "#Microsoft.Graph.Event",
                        "@odata.id": f"Users/{ev.mailbox_id}/Events/{ev.id}",
                        "@odata.etag": f'W/"{ev.change_key}"',
                        "id": ev.id,
                    },
                    "clientState": sub.client_state,
                    "tenantId": sub.tenant_id,
                }
            )

    def _render(self, ev: FakeEvent, *, text_body: bool = False, expand: bool = False) -> dict[str, Any]:
        """The event as Graph answers with Prefer: outlook.timezone="UTC" and immutable ids."""
        if ev.is_all_day:
            start, end = _fmt(_local(ev.start, ev.start_tz)), _fmt(_local(ev.end, ev.end_tz))
        else:
            start, end = _fmt(_local(ev.start, "UTC")), _fmt(_local(ev.end, "UTC"))
        if text_body:
            body = {"contentType": "text", "content": _plain(ev.body) if ev.body_type == "html" else ev.body}
        else:
            body = {"contentType": "html", "content": ev.body if ev.body_type == "html" else _html(ev.body)}
        location: dict[str, Any] = {"displayName": ev.location, "locationType": "default", "uniqueIdType": "unknown"}
        if ev.location_email:
            location.update(
                {
                    "locationUri": ev.location_email,
                    "locationType": "conferenceRoom",
                    "uniqueId": ev.location_email,
                    "uniqueIdType": "directory",
                }
            )
        out: dict[str, Any] = {
            "@odata.etag": f'W/"{ev.change_key}"',
            "id": ev.id,
            "createdDateTime": _fmt_utc(ev.created),
            "lastModifiedDateTime": _fmt_utc(ev.modified),
            "changeKey": ev.change_key,
            "categories": list(ev.categories),
            "originalStartTimeZone": ev.start_tz,
            "originalEndTimeZone": ev.end_tz,
            "iCalUId": ev.ical_uid,
            "reminderMinutesBeforeStart": 15,
            "isReminderOn": not ev.is_cancelled,
            "hasAttachments": False,
            "subject": ev.subject,
            "bodyPreview": _plain(ev.body)[:255],
            "importance": ev.importance,
            "sensitivity": ev.sensitivity,
            "isAllDay": ev.is_all_day,
            "isCancelled": ev.is_cancelled,
            "isOrganizer": ev.is_organizer,
            "responseRequested": True,
            "seriesMasterId": ev.master_id,
            "showAs": "free" if ev.is_cancelled else ev.show_as,
            "type": ev.kind,
            "recurrence": ev.recurrence,
            **({"originalStart": _fmt_utc(ev.original_start)} if ev.original_start else {}),
            "webLink": f"https://outlook.office365.com/owa/?itemid={ev.id}&exvsurl=1&path=/calendar/item",
            "responseStatus": {"response": ev.response, "time": "0001-01-01T00:00:00Z"},
            "body": body,
            "start": {"dateTime": start, "timeZone": "UTC"},
            "end": {"dateTime": end, "timeZone": "UTC"},
            "location": location,
            "locations": [location] if ev.location else [],
            "attendees": [dict(a) for a in ev.attendees],
            "organizer": {"emailAddress": {"name": ev.organizer_name, "address": ev.organizer_address}},
        }
        if ev.transaction_id:
            out["transactionId"] = ev.transaction_id
        out["isOnlineMeeting"] = ev.join_url is not None
        out["onlineMeetingProvider"] = "teamsForBusiness" if ev.join_url else "unknown"
        out["onlineMeeting"] = {"joinUrl": ev.join_url} if ev.join_url else None
        if expand:
            out["singleValueExtendedProperties"] = [
                {"id": ev.extended_ids[k], "value": v} for k, v in ev.extended.items()
            ]
        return out

    # -- internals: delta --------------------------------------------------------------
    def _current_generation(self, mailbox_id: str) -> int:
        return max(self._generation.get(mailbox_id, 0), self._generation.get("", 0))

    def _delta_round(self, user: FakeUser, prev: _DeltaState, *, initial: bool) -> tuple[list[dict], str]:
        """What changed in the window since `prev` (everything, on an initial round), as the
        emulator computes it: changed events in the window, and @removed for events deleted,
        moved out of the window or changed outside it."""
        items: list[dict[str, Any]] = []
        reported: set[str] = set()
        seen: dict[str, str] = {}

        def removed(event_id: str) -> None:
            if event_id not in reported:
                reported.add(event_id)
                items.append(
                    {"@odata.type": "#microsoft.graph.event", "id": event_id, "@removed": {"reason": "deleted"}}
                )

        for ev in self._sorted(user.id):
            if ev.kind == "seriesMaster":
                continue  # calendarView lists occurrences, never the master
            if _in_window(ev, prev.start, prev.end):
                seen[ev.id] = ev.change_key
                if prev.seen.get(ev.id) != ev.change_key:
                    reported.add(ev.id)
                    items.append(self._render(ev, text_body=True))
            elif ev.id in prev.seen or (not initial and ev.seq > prev.seq):
                removed(ev.id)
        if not initial:
            for event_id, seq in self._tombstones.get(user.id, {}).items():
                if event_id in prev.seen or seq > prev.seq:
                    removed(event_id)
        token = _b64(self._ids.randbytes(32)).rstrip("=")
        self._delta[token] = _DeltaState(
            prev.tenant_id, user.id, prev.start, prev.end, seen, self._seq.get(user.id, 0), prev.generation
        )
        return items, f"{self.base_url}/users/{user.id}/calendarView/delta?$deltatoken={token}"

    # -- internals: subscriptions ------------------------------------------------------
    def _expiration(self, wanted: datetime) -> datetime:
        wanted = wanted if wanted.tzinfo else wanted.replace(tzinfo=UTC)
        t = self.clock.now()
        if wanted > t + timedelta(minutes=MAX_SUBSCRIPTION_MINUTES, seconds=30):
            raise _rejected(
                "InvalidRequest",
                f"Subscription expiration can only be {MAX_SUBSCRIPTION_MINUTES} minutes in the future.",
            )
        return max(wanted.astimezone(UTC), t + timedelta(minutes=MIN_SUBSCRIPTION_MINUTES))

    def _purge_expired(self) -> None:
        t = self.clock.now()
        for sub_id, sub in list(self._subscriptions.items()):
            if sub.expiration <= t:
                del self._subscriptions[sub_id]

    def _own_subscription(self, tenant_id: str, subscription_id: str) -> FakeSubscription:
        self._tenant(tenant_id)
        self._purge_expired()
        sub = self._subscriptions.get(subscription_id)
        if sub is None or sub.tenant_id != tenant_id:
            raise _not_found(
                "ResourceNotFound", f"The object was not found. Subscription '{subscription_id}' does not exist."
            )
        return sub

    @staticmethod
    def _sub_json(sub: FakeSubscription) -> dict[str, Any]:
        return {
            "id": sub.id,
            "resource": sub.resource,
            "applicationId": APP_ID,
            "changeType": ",".join(sub.change_types),
            "clientState": None,  # subscription-list.md: never returned when read back
            "notificationUrl": sub.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": sub.lifecycle_url,
            "expirationDateTime": _fmt_utc(sub.expiration),
            "creatorId": sub.creator_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }


__all__ = ["FAULT_KINDS", "WRITES", "FakeGraph", "FaultKind", "Faults"]
