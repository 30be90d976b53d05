"""The product webhook's secret, as the Standard Webhooks specification has it: `whsec_`
followed by the base64 (standard alphabet, padded or not) of 24 to 64 random bytes."""

from __future__ import annotations

import base64
import binascii
from typing import NoReturn

from shared.core.errors import InvalidInput

PREFIX = "whsec_"
MIN_BYTES, MAX_BYTES = 24, 64
MAKE_ONE = "python3 -c \"import base64, secrets; print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())\""
_FORMAT = f'a Standard Webhooks secret: "{PREFIX}" then the base64 of {MIN_BYTES} to {MAX_BYTES} random bytes'


def check_secret(value: str) -> str:
    """`value` when it is a valid secret, else InvalidInput("webhookSecret") saying why."""
    if not value.startswith(PREFIX):
        _refuse(f'webhookSecret does not start with "{PREFIX}"')
    encoded = value[len(PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    canonical = base64.b64encode(key).decode()
    if not key or encoded not in (canonical, canonical.rstrip("=")):
        _refuse(f'what follows "{PREFIX}" in webhookSecret is not standard base64 (A-Z a-z 0-9 + /, "=" padding)')
    if not MIN_BYTES <= len(key) <= MAX_BYTES:
        _refuse(f"webhookSecret decodes to {len(key)} bytes, not {MIN_BYTES} to {MAX_BYTES}")
    return value


def _refuse(why: str) -> NoReturn:
    raise InvalidInput("webhookSecret", f"{why}. It must be {_FORMAT}; make one with: {MAKE_ONE}")
