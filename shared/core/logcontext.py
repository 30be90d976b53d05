"""The log context: org, mailbox, operation and invocation of the work in hand.

Every record logged inside `log_context(...)` carries those fields once the filter of
`shared.adapters.log_setup` is installed (it also scrubs secrets)."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

FIELDS = ("org", "mailbox", "operation", "invocation")
_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("calsync_log_context", default=None)


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Add fields (org, mailbox, operation, invocation) to every log line in this block."""
    merged = dict(_context.get() or {})
    merged.update({k: str(v) for k, v in fields.items() if v is not None})
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def current() -> dict[str, str]:
    return dict(_context.get() or {})
