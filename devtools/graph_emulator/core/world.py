"""The emulator's in-memory world: tenants and their users, every mailbox's events, subscriptions,
delta tokens, To Do, faults; and the demo organisation `make run` seeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devtools.graph_emulator.calendar.models import DeltaState, Event
from devtools.graph_emulator.core.faults import Faults
from devtools.graph_emulator.core.ids import new_change_key, new_guid, now
from devtools.graph_emulator.directory.models import RoomList, Tenant, User
from devtools.graph_emulator.directory.working_hours import check_working_hours
from devtools.graph_emulator.subscriptions.models import Subscription


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
    # Microsoft To Do (todo/models.py): mailbox id → its lists and tasks; delta token → state.
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
