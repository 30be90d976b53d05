"""Tenants, users (people, rooms, equipment) and room lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

UserPurpose = Literal["user", "shared", "room", "equipment"]


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
    working_hours: dict[str, Any] | None = None  # mailboxSettings.workingHours as seeded (working_hours.py)
    teams: bool = True  # a Teams licence: the calendar allows teamsForBusiness meetings (calendar/online.py)

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
