"""An org's settings (shared/core/org_settings.py, pure): what is stored reads back typed, and a
PUT's blanks and nulls mean what docs/api.md says."""

from __future__ import annotations

import pytest

from shared.core.errors import InvalidInput
from shared.core.org_settings import OrgSettings, RestrictedPolicy, SyncMode

SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="  # base64 of 32 bytes


def test_stored_settings_read_back_as_their_types() -> None:
    stored = {"syncMode": "oneWay", "restrictedEdit": "ignore", "restrictedDelete": "ignore", "roomCheckIn": True}
    settings = OrgSettings.from_stored(stored)
    assert settings.sync_mode is SyncMode.ONE_WAY
    assert settings.restricted_edit is RestrictedPolicy.IGNORE
    assert settings.restricted_delete is RestrictedPolicy.IGNORE
    assert settings.room_check_in is True and settings.release_after_minutes == 10  # the default
    assert OrgSettings.from_stored(settings.to_stored()) == settings


def test_a_blank_or_null_prefix_means_every_event() -> None:
    prefixed = OrgSettings().merged({"createPrefix": "[book]"})
    assert prefixed.create_prefix == "[book]"
    assert prefixed.merged({"createPrefix": None}).create_prefix == ""
    assert prefixed.merged({"createPrefix": ""}).create_prefix == ""
    assert prefixed.merged({"syncTasks": False}).create_prefix == "[book]"  # not named: kept


def test_a_webhook_needs_a_secret_and_a_null_url_removes_it() -> None:
    with pytest.raises(InvalidInput) as missing:
        OrgSettings().merged({"webhookUrl": "https://booking.example/hooks"})
    assert (missing.value.field, missing.value.message) == (
        "webhookSecret",
        "webhookSecret is required when webhookUrl is set",
    )
    with pytest.raises(InvalidInput) as plain:  # plain http only when running against the emulator
        OrgSettings().merged({"webhookUrl": "http://localhost:9000/hooks", "webhookSecret": SECRET})
    assert plain.value.field == "webhookUrl"
    local = OrgSettings().merged(
        {"webhookUrl": "http://localhost:9000/hooks", "webhookSecret": SECRET}, development=True
    )
    assert local.webhook_url == "http://localhost:9000/hooks"
    hooked = OrgSettings().merged({"webhookUrl": "https://booking.example/hooks", "webhookSecret": SECRET})
    assert hooked.webhook_url == "https://booking.example/hooks"
    assert hooked.merged({"webhookUrl": None}).webhook_url is None
    assert hooked.merged({"webhookUrl": ""}).webhook_url is None
