"""The emulator's in-memory world: tenants, users, rooms, events, subscriptions."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import struct
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from shared.core.recurrence import Recurrence

UserPurpose = Literal["user", "shared", "room", "equipment"]
DEFAULT_APP_ID = "00000000-0000-0000-0000-0000000ca15c"


def new_guid() -> str:
    return str(uuid.uuid4())


def _b64(data: bytes) -> str:
    # Outlook REST ids are URL-safe Base64 with padding: letters, digits, `-`, `_`, `=`.
    return base64.urlsafe_b64encode(data).decode()


def new_change_key() -> str:
    return base64.b64encode(b"\x0f\x00\x00\x00\x16\x00\x00\x00" + os.urandom(16)).decode()


def new_event_ids(mailbox_id: str) -> tuple[str, str]:
    """(rest id, immutable id) for a new event; both name the same item."""
    mailbox = uuid.UUID(mailbox_id).bytes
    body = mailbox + b"\x00\x46\x00\x00" + os.urandom(30)
    return _b64(_REST + body), _b64(_IMMUTABLE + body)


_REST, _IMMUTABLE = b"\x00\x03\x24\x00", b"\x00\x09\x00\x2e\x00\x00"
# An occurrence's ids: the master's, marked, with the occurrence's original start (seconds
# since 1970, UTC) appended. Stable, distinct, and decodable without a lookup table.
_REST_OCC, _IMMUTABLE_OCC = b"\x00\x03\x24\x07", b"\x00\x09\x00\x2e\x00\x07"
_BODY = 50  # mailbox guid (16) + 4 + 30 random bytes


def immutable_of(rest_id: str) -> str:
    """The immutable id of the item a rest id names (both carry the same body)."""
    raw = _unb64(rest_id)
    if raw is not None and raw[:4] == _REST:
        return _b64(_IMMUTABLE + raw[4:])
    if raw is not None and raw[:4] == _REST_OCC:
        return _b64(_IMMUTABLE_OCC + raw[4:])
    return rest_id


def _unb64(value: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def occurrence_ids(master_rest_id: str, original_start: datetime) -> tuple[str, str]:
    """(rest id, immutable id) of the occurrence of a series that originally starts then."""
    raw = _unb64(master_rest_id) or b""
    tail = raw[4:] + struct.pack(">q", int(original_start.timestamp()))
    return _b64(_REST_OCC + tail), _b64(_IMMUTABLE_OCC + tail)


def parse_occurrence_id(event_id: str) -> tuple[str, datetime] | None:
    """(the master's rest id, the original start) an occurrence id names, else None."""
    raw = _unb64(event_id)
    if raw is None:
        return None
    for prefix in (_REST_OCC, _IMMUTABLE_OCC):
        if raw.startswith(prefix) and len(raw) == len(prefix) + _BODY + 8:
            body, stamp = raw[len(prefix) : -8], struct.unpack(">q", raw[-8:])[0]
            try:
                return _b64(_REST + body), datetime.fromtimestamp(stamp, UTC)
            except (OverflowError, OSError, ValueError):
                return None
    return None


_UID_HEAD = "040000008200E00074C5B7101A82E008"


def new_ical_uid() -> str:
    return _UID_HEAD + "00000000" + secrets.token_hex(28).upper()


def occurrence_ical_uid(series_uid: str, day: date) -> str:
    """resources/event.md: the iCalUId "is different for each occurrence in a recurring
    series". Exchange's global object id holds the instance date (year, month, day) after
    its 16-byte head; the same occurrence has the same id in every calendar."""
    if not series_uid.startswith(_UID_HEAD) or len(series_uid) < 48:
        return series_uid + day.strftime("%Y%m%d")
    return f"{_UID_HEAD}{day.year:04X}{day.month:02X}{day.day:02X}{series_uid[48:]}"


def series_ical_uid(uid: str) -> str:
    """The series' iCalUId for an occurrence's (itself for any other event)."""
    if uid.startswith(_UID_HEAD) and len(uid) >= 48:
        return _UID_HEAD + "00000000" + uid[48:]
    return uid


def derived_change_key(*parts: str) -> str:
    """A change key that is a function of `parts` (an occurrence's: its series' version)."""
    digest = hashlib.sha256("|".join(parts).encode()).digest()[:16]
    return base64.b64encode(b"\x0f\x00\x00\x00\x16\x00\x00\x00" + digest).decode()


def now() -> datetime:
    return datetime.now(UTC)


# What GET /users and GET /users/{id} return without $select (api-reference/v1.0/api/user-get.md,
# "Optional query parameters"); anything else, proxyAddresses included, only on $select.
USER_DEFAULT_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)


def check_addresses(mail: str, proxy_addresses: list[str]) -> None:
    """The shape resources/user.md gives proxyAddresses: `type:address` entries, one primary
    `SMTP:` (upper case) that is the mail address, secondary SMTP addresses as `smtp:`."""
    if "@" not in mail:
        raise ValueError(f"mail {mail!r} is not an SMTP address")
    primaries = [p for p in proxy_addresses if p.startswith("SMTP:")]
    if len(primaries) != 1:
        raise ValueError(f"proxyAddresses {proxy_addresses} must hold exactly one primary 'SMTP:' address")
    if primaries[0][5:].lower() != mail.lower():
        raise ValueError(f"the primary proxy address {primaries[0]!r} must be the mail address {mail!r}")
    for p in proxy_addresses:
        kind, sep, address = p.partition(":")
        if not sep or not kind or not address or (kind.lower() == "smtp" and "@" not in address):
            raise ValueError(f"proxy address {p!r} is not of the form 'type:address'")


@dataclass
class User:
    id: str
    tenant_id: str
    user_principal_name: str
    display_name: str
    user_purpose: UserPurpose = "user"
    has_mailbox: bool = True
    time_zone: str = "UTC"
    place_id: str | None = None  # rooms: their (changeable) place id
    place: dict[str, Any] = field(default_factory=dict)  # capacity, building, floorNumber…
    mail: str = ""  # the primary SMTP address; the UPN unless seeded otherwise
    proxy_addresses: list[str] = field(default_factory=list)
    working_hours: dict[str, Any] | None = None  # mailboxSettings.workingHours as seeded (schedule.py)
    teams: bool = True  # a Teams licence: the calendar allows teamsForBusiness meetings (online.py)

    def __post_init__(self) -> None:
        self.mail = self.mail or self.user_principal_name
        self.proxy_addresses = self.proxy_addresses or [f"SMTP:{self.mail}"]
        check_addresses(self.mail, self.proxy_addresses)

    def smtp_addresses(self) -> set[str]:
        """Every SMTP address mail for this mailbox is delivered to (lower case)."""
        return {p[5:].lower() for p in self.proxy_addresses if p[:5].lower() == "smtp:"}

    def set_mail(self, mail: str | None, proxy_addresses: list[str] | None) -> None:
        """A new mail and/or proxyAddresses. A new mail alone becomes the primary SMTP address
        and the old ones stay as secondary `smtp:` addresses (resources/user.md, **mail**:
        "Changes to this property update the user's proxyAddresses collection")."""
        if proxy_addresses is not None:
            primary = next((p[5:] for p in proxy_addresses if p.startswith("SMTP:")), None)
            mail = mail or primary or self.mail
            check_addresses(mail, list(proxy_addresses))
            self.mail, self.proxy_addresses = mail, list(proxy_addresses)
        elif mail is not None and mail.lower() != self.mail.lower():
            kept = [p for p in self.proxy_addresses if p[:5].lower() != "smtp:"]
            old = [f"smtp:{a}" for a in sorted(self.smtp_addresses()) if a != mail.lower()]
            proxies = [f"SMTP:{mail}", *old, *kept]
            check_addresses(mail, proxies)
            self.mail, self.proxy_addresses = mail, proxies

    def to_json(self) -> dict[str, Any]:
        """Every property the emulator knows; USER_DEFAULT_PROPERTIES is what is returned by default."""
        given, _, surname = self.display_name.partition(" ")
        return {
            "businessPhones": [],
            "displayName": self.display_name,
            "givenName": given if self.user_purpose == "user" else None,
            "jobTitle": None,
            "mail": self.mail if self.has_mailbox else None,
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": "en-US",
            "surname": surname or None if self.user_purpose == "user" else None,
            "userPrincipalName": self.user_principal_name,
            "id": self.id,
            "accountEnabled": True,
            "mailNickname": self.user_principal_name.split("@")[0],
            "proxyAddresses": list(self.proxy_addresses) if self.has_mailbox else [],
            "userType": "Member",
        }


@dataclass
class RoomList:
    id: str
    email: str
    display_name: str
    rooms: list[str]  # user ids of the room mailboxes


@dataclass
class Tenant:
    id: str
    domain: str
    users: dict[str, User] = field(default_factory=dict)  # by id
    room_lists: list[RoomList] = field(default_factory=list)

    def find_user(self, key: str) -> User | None:
        """`/users/{id | userPrincipalName}` (api-reference/v1.0/api/user-get.md): an object id or
        a UPN, never a mail or proxy address."""
        key = key.removeprefix("AAD-UPN:")
        user = self.users.get(key) or self.users.get(key.lower())
        if user:
            return user
        lowered = key.lower()
        return next((u for u in self.users.values() if u.user_principal_name.lower() == lowered), None)

    def find_by_smtp(self, address: str) -> User | None:
        """The recipient an SMTP address delivers to (any of its proxy addresses), as Exchange
        routes a meeting invitation; not a Graph key. An address several users have (seeds
        may make one, so that apps meet ambiguous look-ups) reaches none of them."""
        lowered = address.lower()
        found = [u for u in self.users.values() if lowered in u.smtp_addresses()]
        return found[0] if len(found) == 1 else None


@dataclass
class Attendee:
    address: str
    name: str
    type: str = "required"  # required | optional | resource
    response: str = "none"
    response_time: datetime | None = None


@dataclass
class Event:
    """One item in one mailbox's calendar (organizer's event or an attendee's copy)."""

    rest_id: str
    immutable_id: str
    mailbox_id: str
    ical_uid: str
    subject: str
    start: datetime  # aware UTC
    end: datetime
    start_tz: str
    end_tz: str
    is_all_day: bool = False
    body_type: str = "text"
    body: str = ""
    location: str = ""
    location_email: str | None = None
    sensitivity: str = "normal"
    show_as: str = "busy"
    importance: str = "normal"
    categories: list[str] = field(default_factory=list)
    organizer_address: str = ""
    organizer_name: str = ""
    is_organizer: bool = True
    is_cancelled: bool = False
    response: str = "organizer"
    response_time: datetime | None = None
    attendees: list[Attendee] = field(default_factory=list)
    transaction_id: str | None = None
    extended: dict[str, str] = field(default_factory=dict)  # normalised id → value
    extended_ids: dict[str, str] = field(default_factory=dict)  # normalised id → id as created
    created: datetime = field(default_factory=now)
    modified: datetime = field(default_factory=now)
    change_key: str = field(default_factory=new_change_key)
    seq: int = 0  # the mailbox change sequence number of the last change
    # Recurrence (resources/event.md: type, seriesMasterId, originalStart, recurrence).
    kind: str = "singleInstance"  # singleInstance | seriesMaster | occurrence | exception
    recurrence: Recurrence | None = None  # a seriesMaster's
    master_id: str | None = None  # an occurrence's or exception's series master (rest id)
    original_start: datetime | None = None  # an occurrence's or exception's, aware UTC
    cancelled: set[datetime] = field(default_factory=set)  # a master's deleted occurrences
    exceptions: dict[datetime, str] = field(default_factory=dict)  # a master's: original start → rest id
    series_key: str = field(default_factory=new_change_key)  # a master's version, for its occurrences
    # Online meeting (online.py): the provider and the join information, once initialised.
    online_provider: str = "unknown"
    online_meeting: dict[str, Any] | None = None


@dataclass
class Subscription:
    id: str
    tenant_id: str
    app_id: str
    resource: str  # as given
    mailbox_id: str
    change_types: list[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expiration: datetime
    immutable_ids: bool
    creator_id: str


@dataclass
class DeltaState:
    """What a delta token remembers: the window and what the client has seen."""

    mailbox_id: str
    tenant_id: str
    start: datetime
    end: datetime
    seen: dict[str, str]  # event rest id → changeKey the client has
    seq: int  # mailbox sequence number the client is up to date with
    initial_url: str
    pending: list[dict[str, Any]] = field(default_factory=list)  # items still to page out
    next_seen: dict[str, str] = field(default_factory=dict)
    next_seq: int = 0
    first_page_empty: bool = False
    issued: int = 0  # World.expiry_seq when the round's initial request was made


@dataclass
class Faults:
    latency_ms: float = 0.0
    error_rate: float = 0.0
    throttle_requests: int = 10_000
    throttle_window_s: float = 600.0
    throttle_concurrency: int = 4
    deliver_notifications: bool = True
    notification_timeout_s: float = 10.0
    validation_timeout_s: float = 10.0  # the handshake's documented deadline
    time_scale: float = 1.0  # multiplies every emulated wait (notification retry backoff)
    delta_repeats: bool = False  # a delta round returns each item twice
    # False (the default): a deleted occurrence of a series that still exists gets no @removed
    # in delta (microsoft-graph-docs PR #4501, "found via experimentation"); True follows
    # event-delta.md's "@removed" for it. The master's cancelledOccurrences lists it either way.
    delta_occurrence_removals: bool = False
    # True (the default): calendarView delta lists a changed series master itself (type
    # seriesMaster, the first occurrence's start/end), also one whose first occurrence is before
    # the window (docs-contrib issue #3196; keeper.sh issues #409, #410), and its deletion as
    # @removed; False: never a master (concepts/delta-query-events.md's reading).
    delta_series_masters: bool = True
    fail_next: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "latencyMs": self.latency_ms,
            "errorRate": self.error_rate,
            "throttle": {
                "requests": self.throttle_requests,
                "windowSeconds": self.throttle_window_s,
                "concurrency": self.throttle_concurrency,
            },
            "deliverNotifications": self.deliver_notifications,
            "notificationTimeoutSeconds": self.notification_timeout_s,
            "validationTimeoutSeconds": self.validation_timeout_s,
            "timeScale": self.time_scale,
            "deltaRepeats": self.delta_repeats,
            "deltaOccurrenceRemovals": self.delta_occurrence_removals,
            "deltaSeriesMasters": self.delta_series_masters,
            "failNext": self.fail_next,
        }


@dataclass
class World:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    events: dict[str, dict[str, Event]] = field(default_factory=dict)  # mailbox id → rest id → event
    by_any_id: dict[str, Event] = field(default_factory=dict)  # rest or immutable id → event
    mailbox_seq: dict[str, int] = field(default_factory=dict)
    # Events removed from a mailbox: rest id → (seq, immutable id, start, end); for delta.
    tombstones: dict[str, dict[str, tuple[int, str, datetime, datetime]]] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    delta: dict[str, DeltaState] = field(default_factory=dict)
    # /_emulator/delta/expire: mailbox id ("" = every mailbox) → (expiry_seq, status, code).
    # A token whose round began before that expiry is answered with that status and code.
    delta_expired: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    expiry_seq: int = 0
    faults: Faults = field(default_factory=Faults)
    # Microsoft To Do (todo.py): mailbox id → its lists and tasks; delta token → state.
    todo: dict[str, Any] = field(default_factory=dict)
    todo_delta: dict[str, Any] = field(default_factory=dict)

    def user(self, user_id: str) -> User | None:
        for tenant in self.tenants.values():
            if user_id in tenant.users:
                return tenant.users[user_id]
        return None

    def user_by_address(self, tenant_id: str, address: str) -> User | None:
        """The mailbox an attendee's SMTP address reaches (any proxy address)."""
        tenant = self.tenants.get(tenant_id)
        return tenant.find_by_smtp(address) if tenant else None

    def expire_delta(self, mailbox: str, status: int, code: str) -> None:
        self.expiry_seq += 1
        self.delta_expired[mailbox] = (self.expiry_seq, status, code)

    def delta_expiry(self, mailbox_id: str, issued: int) -> tuple[int, str] | None:
        """(status, code) if an expiry since `issued` covers the mailbox, else None."""
        marks = [m for key in (mailbox_id, "") if (m := self.delta_expired.get(key)) and m[0] > issued]
        if not marks:
            return None
        _, status, code = max(marks)
        return status, code

    def mailbox(self, user_id: str) -> dict[str, Event]:
        return self.events.setdefault(user_id, {})

    def bump(self, mailbox_id: str) -> int:
        self.mailbox_seq[mailbox_id] = self.mailbox_seq.get(mailbox_id, 0) + 1
        return self.mailbox_seq[mailbox_id]

    def add_event(self, event: Event) -> None:
        event.seq = self.bump(event.mailbox_id)
        self.mailbox(event.mailbox_id)[event.rest_id] = event
        self.by_any_id[event.rest_id] = self.by_any_id[event.immutable_id] = event

    def touch(self, event: Event) -> None:
        event.change_key = new_change_key()
        event.modified = now()
        event.seq = self.bump(event.mailbox_id)

    def remove_event(self, event: Event) -> None:
        self.mailbox(event.mailbox_id).pop(event.rest_id, None)
        self.by_any_id.pop(event.rest_id, None)
        self.by_any_id.pop(event.immutable_id, None)
        self.tombstone(event)

    def tombstone(self, event: Event) -> None:
        """Remember that `event` left the mailbox (for delta); a generated occurrence that is
        deleted has no stored item to remove, only this."""
        seq = self.bump(event.mailbox_id)
        self.tombstones.setdefault(event.mailbox_id, {})[event.rest_id] = (
            seq,
            event.immutable_id,
            event.start,
            event.end,
        )

    def find_event(self, mailbox_id: str, event_id: str) -> Event | None:
        event = self.by_any_id.get(event_id)
        return event if event is not None and event.mailbox_id == mailbox_id else None

    # -- seeding -------------------------------------------------------------------
    def seed(self, doc: dict[str, Any]) -> dict[str, Any]:
        out = []
        for spec in doc.get("tenants", []):
            tenant_id = spec.get("id") or new_guid()
            tenant = self.tenants.get(tenant_id)
            if tenant is None:
                tenant = self.tenants[tenant_id] = Tenant(tenant_id, spec.get("domain") or f"{tenant_id[:8]}.example")
            for u in spec.get("users", []):
                upn = u["userPrincipalName"]
                user = tenant.find_user(upn)
                proxies = u.get("proxyAddresses")
                if proxies is not None and not (isinstance(proxies, list) and all(isinstance(p, str) for p in proxies)):
                    raise ValueError(f"{upn}: proxyAddresses must be a list of strings")
                if user is None:
                    purpose = u.get("userPurpose", "user")
                    mail = u.get("mail") or next((p[5:] for p in proxies or [] if p.startswith("SMTP:")), None)
                    user = User(
                        id=u.get("id") or new_guid(),
                        tenant_id=tenant_id,
                        user_principal_name=upn,
                        display_name=u.get("displayName") or upn.split("@")[0],
                        user_purpose=purpose,
                        has_mailbox=u.get("hasMailbox", True),
                        teams=bool(u.get("teams", True)),
                        time_zone=u.get("timeZone", "UTC"),
                        mail=mail or "",
                        proxy_addresses=list(proxies or []),
                    )
                    tenant.users[user.id] = user
                elif "mail" in u or proxies is not None:
                    user.set_mail(u.get("mail"), proxies)
                if "workingHours" in u:
                    from devtools.graph_emulator.schedule import check_working_hours  # schedule imports state

                    user.working_hours = check_working_hours(u["workingHours"])
                for key in ("capacity", "building", "floorNumber", "floorLabel", "bookingType", "tags"):
                    if key in u:
                        user.place[key] = u[key]
                if user.user_purpose in ("room", "equipment") and user.place_id is None:
                    user.place_id = new_guid().upper()  # place-list.md examples: upper-case GUIDs
            for rl in spec.get("roomLists", []):
                ids = []
                for room_upn in rl.get("rooms", []):
                    room = tenant.find_user(room_upn) or tenant.find_by_smtp(room_upn)
                    if room is None:
                        raise ValueError(f"room list {rl['emailAddress']}: room {room_upn} is not a seeded user")
                    ids.append(room.id)
                existing = next((r for r in tenant.room_lists if r.email.lower() == rl["emailAddress"].lower()), None)
                if existing:
                    existing.rooms = list(dict.fromkeys(existing.rooms + ids))
                else:
                    tenant.room_lists.append(
                        RoomList(
                            new_guid().upper(), rl["emailAddress"], rl.get("displayName") or rl["emailAddress"], ids
                        )
                    )
            out.append(
                {
                    "id": tenant_id,
                    "domain": tenant.domain,
                    "users": [
                        {"id": u.id, "userPrincipalName": u.user_principal_name, "mail": u.mail}
                        for u in tenant.users.values()
                    ],
                }
            )
        return {"tenants": out}


DEMO_TENANT_ID = "6e0f5a1c-3b7d-4c2a-9f11-c0a7050c0de1"


def demo_seed() -> dict[str, Any]:
    """The demo tenant "contoso" that `make run` loads."""
    people = [
        ("adele.vance", "Adele Vance"),
        ("alex.wilber", "Alex Wilber"),
        ("diego.siciliani", "Diego Siciliani"),
        ("grady.archie", "Grady Archie"),
        ("isaiah.langer", "Isaiah Langer"),
        ("johanna.lorenz", "Johanna Lorenz"),
        ("lee.gu", "Lee Gu"),
        ("megan.bowen", "Megan Bowen"),
        ("nestor.wilke", "Nestor Wilke"),
        ("patti.fernandez", "Patti Fernandez"),
    ]
    users: list[dict[str, Any]] = [
        {"userPrincipalName": f"{upn}@contoso.com", "displayName": name, "userPurpose": "user"} for upn, name in people
    ]
    users.append(
        {
            "userPrincipalName": "former.employee@contoso.com",
            "displayName": "Former Employee",
            "userPurpose": "user",
            "hasMailbox": False,
        }
    )
    rooms = [
        ("room.fuji@contoso.com", "Fuji", 8, 1),
        ("room.kilimanjaro@contoso.com", "Kilimanjaro", 12, 2),
        ("room.matterhorn@contoso.com", "Matterhorn", 4, 2),
    ]
    for upn, name, capacity, floor in rooms:
        users.append(
            {
                "userPrincipalName": upn,
                "displayName": name,
                "userPurpose": "room",
                "capacity": capacity,
                "building": "HQ",
                "floorNumber": floor,
            }
        )
    users.append(
        {"userPrincipalName": "projector.1@contoso.com", "displayName": "Projector 1", "userPurpose": "equipment"}
    )
    users.append({"userPrincipalName": "reception@contoso.com", "displayName": "Reception", "userPurpose": "shared"})
    # Mailboxes whose mail (primary SMTP address) is not their UPN, as in tenants that sign in
    # with the onmicrosoft.com domain or renamed their mail domain: GET /users/{mail} is 404
    # for them; find them with $filter=mail eq '…' or proxyAddresses/any(p:p eq 'smtp:…').
    users += [
        {
            "userPrincipalName": "miriamg@contoso.onmicrosoft.com",
            "displayName": "Miriam Graham",
            "userPurpose": "user",
            "mail": "miriam.graham@contoso.com",
            "proxyAddresses": ["SMTP:miriam.graham@contoso.com", "smtp:miriam@contoso.net"],
        },
        {
            "userPrincipalName": "pradeepg@contoso.onmicrosoft.com",
            "displayName": "Pradeep Gupta",
            "userPurpose": "user",
            "mail": "pradeep.gupta@contoso.com",
            "proxyAddresses": [
                "SMTP:pradeep.gupta@contoso.com",
                "smtp:pgupta@contoso.com",
                "smtp:pradeepg@contoso.onmicrosoft.com",
            ],
        },
        {
            "userPrincipalName": "room.everest@contoso.onmicrosoft.com",
            "displayName": "Everest",
            "userPurpose": "room",
            "mail": "everest@contoso.com",
            "proxyAddresses": ["SMTP:everest@contoso.com", "smtp:room.everest@contoso.com"],
            "capacity": 20,
            "building": "HQ",
            "floorNumber": 3,
        },
    ]
    return {
        "tenants": [
            {
                "id": DEMO_TENANT_ID,
                "domain": "contoso.com",
                "users": users,
                "roomLists": [
                    {
                        "emailAddress": "hq.rooms@contoso.com",
                        "displayName": "HQ rooms",
                        "rooms": [r[0] for r in rooms] + ["everest@contoso.com"],
                    }
                ],
            }
        ]
    }
