"""The product webhook's secret: `whsec_` + base64 of 24–64 bytes, as Standard Webhooks has it."""

from __future__ import annotations

import base64
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from shared.core.errors import InvalidInput
from shared.core.org_settings import OrgSettings
from shared.core.webhook_secret import MAKE_ONE, check_secret


def secret(n: int, *, padded: bool = True) -> str:
    encoded = base64.b64encode(bytes(range(n))).decode()
    return "whsec_" + (encoded if padded else encoded.rstrip("="))


def refusal(value: str) -> str:
    with pytest.raises(InvalidInput) as refused:
        check_secret(value)
    assert refused.value.field == "webhookSecret"
    assert "whsec_" in refused.value.message and "make one with" in refused.value.message  # how to fix it
    return refused.value.message


@pytest.mark.parametrize(("n", "padded"), [(24, True), (32, True), (64, True), (25, False), (26, False)])
def test_a_secret_of_24_to_64_bytes_is_good_and_the_library_signs_with_those_bytes(n: int, padded: bool) -> None:
    value = secret(n, padded=padded)
    assert check_secret(value) == value
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert Webhook(value).sign("id", at, "{}") == Webhook(bytes(range(n))).sign("id", at, "{}")


@pytest.mark.parametrize(
    "value",
    ["", "s" * 32, "0123456789abcdef0123", "whsec" + secret(32)[6:], "WHSEC_" + secret(32)[6:], " " + secret(32)],
)
def test_a_webhook_secret_without_the_whsec_prefix_is_refused(value: str) -> None:
    assert "does not start with" in refusal(value)


@pytest.mark.parametrize(
    "value",
    [
        "whsec_",
        "whsec_" + "s" * 31 + "!",
        "whsec_" + base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode(),  # the URL-safe alphabet
        secret(32) + "\n",
        "whsec_ " + secret(32)[6:],
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",  # padding where none belongs
        secret(31).rstrip("=") + "=",  # half the padding ("==")
        "whsec_A",  # not a length base64 has
    ],
)
def test_a_webhook_secret_that_is_not_standard_base64_is_refused(value: str) -> None:
    assert "not standard base64" in refusal(value)


@pytest.mark.parametrize(("n", "ok"), [(23, False), (24, True), (64, True), (65, False), (16, False), (100, False)])
def test_a_webhook_secret_holds_24_to_64_bytes(n: int, ok: bool) -> None:
    if ok:
        assert check_secret(secret(n)) == secret(n)
    else:
        assert f"decodes to {n} bytes, not 24 to 64" in refusal(secret(n))


def test_the_command_the_refusal_suggests_makes_a_good_webhook_secret() -> None:
    command = MAKE_ONE.removeprefix("python3 -c ").strip('"')
    made = subprocess.run([sys.executable, "-c", command], capture_output=True, text=True, check=True).stdout.strip()
    assert check_secret(made) == made


def test_org_settings_check_the_webhook_secret_of_a_put() -> None:
    settings = OrgSettings().merged({"webhookUrl": "https://booking.example/hook", "webhookSecret": secret(32)})
    assert settings.webhook_secret == secret(32)
    with pytest.raises(InvalidInput) as refused:
        OrgSettings().merged({"webhookUrl": "https://booking.example/hook", "webhookSecret": "0123456789abcdef0123"})
    assert refused.value.field == "webhookSecret"
    assert OrgSettings(webhook_secret=secret(32)).merged({"webhookSecret": None}).webhook_secret is None
