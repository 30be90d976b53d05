"""An organisation's settings: typed, with every default in one place.

Stored (and answered) under the API's camelCase names; `OrgSettings.from_stored` reads what
is stored, `merged` validates a PUT body over it (unknown keys refused, each field checked).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.core.api_check import checked
from shared.core.api_requests import SettingsBody
from shared.core.errors import InvalidInput
from shared.core.validation import https_url
from shared.core.webhook_secret import check_secret


class SyncMode(StrEnum):
    TWO_WAY = "twoWay"  # both ways
    ONE_WAY = "oneWay"  # booking → Outlook only; Outlook edits of our events are reverted
    OFF = "off"


class RestrictedPolicy(StrEnum):
    # Centerbase's restricted-user rules: an Outlook edit or delete by a restricted worker
    # detaches them (attendee_removed, plus a personal copy for edits) — or is ignored.
    DETACH = "detach"
    IGNORE = "ignore"


@dataclass(frozen=True)
class OrgSettings:
    sync_mode: SyncMode = SyncMode.TWO_WAY
    push_appointments_by_default: bool = True
    use_organizer: bool = True
    create_from_outlook: bool = True
    create_prefix: str = ""
    restricted_edit: RestrictedPolicy = RestrictedPolicy.DETACH
    restricted_delete: RestrictedPolicy = RestrictedPolicy.DETACH
    max_resources: int | None = None
    allow_user_mailboxes_as_resources: bool = False
    webhook_url: str | None = None
    webhook_secret: str | None = None
    sync_tasks: bool = True
    task_list_name: str = "Bookings"
    room_check_in: bool = False  # a room booking nobody checked in to is released
    release_after_minutes: int = 10

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> OrgSettings:
        values: dict[str, Any] = {}
        for api, name in _API_NAMES.items():
            if api in stored:
                values[name] = stored[api]
        if "sync_mode" in values:
            values["sync_mode"] = SyncMode(values["sync_mode"])
        for name in ("restricted_edit", "restricted_delete"):
            if name in values:
                values[name] = RestrictedPolicy(values[name])
        return cls(**values)

    def to_stored(self) -> dict[str, Any]:
        return {api: _plain(getattr(self, name)) for api, name in _API_NAMES.items()}

    def view(self) -> dict[str, Any]:
        """The answer of GET …/settings: every setting, never the webhook secret."""
        out = self.to_stored()
        out["webhookSecret"] = None
        out["webhookSecretSet"] = bool(self.webhook_secret)
        return out

    def merged(self, body: dict[str, Any], *, development: bool = False) -> OrgSettings:
        """`body` (a PUT) over these settings; every field checked, unknown keys refused.
        `development`: a webhook on this machine may be plain http."""
        given = checked(SettingsBody, body).given()
        changes: dict[str, Any] = {_API_NAMES[api]: value for api, value in given.items()}
        if "syncMode" in given:
            changes["sync_mode"] = SyncMode(given["syncMode"])
        for api in ("restrictedEdit", "restrictedDelete"):
            if api in given:
                changes[_API_NAMES[api]] = RestrictedPolicy(given[api])
        if "createPrefix" in given:
            changes["create_prefix"] = given["createPrefix"] or ""
        if "webhookUrl" in given:
            url = given["webhookUrl"]
            changes["webhook_url"] = https_url("webhookUrl", url, loopback_ok=development) if url else None
        if given.get("webhookSecret") is not None:
            changes["webhook_secret"] = check_secret(given["webhookSecret"])
        result = dataclasses.replace(self, **changes)
        if result.webhook_url and not result.webhook_secret:
            raise InvalidInput("webhookSecret", "webhookSecret is required when webhookUrl is set")
        return result


_API_NAMES = {
    "syncMode": "sync_mode",
    "pushAppointmentsByDefault": "push_appointments_by_default",
    "useOrganizer": "use_organizer",
    "createFromOutlook": "create_from_outlook",
    "createPrefix": "create_prefix",
    "restrictedEdit": "restricted_edit",
    "restrictedDelete": "restricted_delete",
    "maxResources": "max_resources",
    "allowUserMailboxesAsResources": "allow_user_mailboxes_as_resources",
    "webhookUrl": "webhook_url",
    "webhookSecret": "webhook_secret",
    "syncTasks": "sync_tasks",
    "taskListName": "task_list_name",
    "roomCheckIn": "room_check_in",
    "releaseAfterMinutes": "release_after_minutes",
}


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, StrEnum) else value
