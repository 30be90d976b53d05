"""Structured, secret-free logging.

Every record logged while a `log_context` (shared.core.logcontext) is active carries `org`, `mailbox`,
`operation` and `invocation` (the Functions invocation id, our correlation id).
`install()` adds one filter to the root handlers that (a) stamps those fields on every
record and (b) scrubs secrets: the configured secret values and anything shaped like a
bearer token, account key or client secret.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from shared.core.logcontext import FIELDS, current

_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-_.~+/=:]+"),
    re.compile(r"(?i)(accountkey=)[^;\s]+"),
    re.compile(r"(?i)(client_secret[\"'=:\s]+)[^&\s\"',;]+"),
    re.compile(r"(?i)(sig=)[^&\s]+"),
    re.compile(r"(?i)([?&]code=)[^&\s]+"),
    re.compile(r"(?i)(x-functions-key[\"'=:\s]+)[^&\s\"',;]+"),
]
REDACTED = "***"


class ContextFilter(logging.Filter):
    """Stamps the context fields on a record and redacts secrets from its message."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_calsync", False):
            return True  # already handled by this filter on another handler
        ctx = current()
        for name in FIELDS:
            if not hasattr(record, name):
                setattr(record, name, ctx.get(name, "-"))
        # The fields go into the message itself: the Functions worker forwards only the
        # message text to Application Insights.
        tags = " ".join(f"{name}={getattr(record, name)}" for name in FIELDS if getattr(record, name) != "-")
        message = self.scrub(record.getMessage())
        record.msg, record.args = (f"[{tags}] {message}" if tags else message), None
        record._calsync = True
        if record.exc_info and not record.exc_text:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True


LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def install(secrets: Iterable[str] = (), *, level: int = logging.INFO, stream_handler: bool = False) -> ContextFilter:
    """Attach the filter to the root logger's handlers (adding a stream handler if asked)."""
    root = logging.getLogger()
    if stream_handler and not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LINE_FORMAT))
        root.addHandler(handler)
    root.setLevel(level)
    # azure-core logs every request and response at INFO: noise, and headers we never want.
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    flt = ContextFilter(secrets)
    for handler in root.handlers:
        for old in [f for f in handler.filters if isinstance(f, ContextFilter)]:
            handler.removeFilter(old)
        handler.addFilter(flt)
    return flt
