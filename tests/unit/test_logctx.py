import logging

from shared.adapters.log_setup import ContextFilter
from shared.core.logcontext import log_context


def _capture(flt: ContextFilter):
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(flt)
    logger = logging.getLogger("test.logctx")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, records


def test_context_fields_are_in_every_line() -> None:
    logger, records = _capture(ContextFilter())
    with log_context(org="acme", operation="link", invocation="inv-1"), log_context(mailbox="a@acme.com"):
        logger.info("linked %s", "w1")
    logger.info("outside")
    assert records[0].getMessage() == "[org=acme mailbox=a@acme.com operation=link invocation=inv-1] linked w1"
    assert records[0].org == "acme"
    assert records[1].getMessage() == "outside"


def test_secrets_are_scrubbed_from_messages_and_tracebacks() -> None:
    logger, records = _capture(ContextFilter(["super-secret-value"]))
    logger.info("token Bearer eyJabc.def and key %s", "super-secret-value")
    logger.info("conn AccountKey=abc123==;TableEndpoint=x url https://h/api/x?code=k123&y=1")
    try:
        raise RuntimeError("failed with super-secret-value")
    except RuntimeError:
        logger.exception("oops")
    text = " ".join(r.getMessage() + (r.exc_text or "") for r in records)
    assert "super-secret-value" not in text
    assert "eyJabc" not in text and "abc123" not in text and "k123" not in text
    assert text.count("***") >= 4
