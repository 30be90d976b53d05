"""calsync's error tree.

CalsyncError                 base; `code` is stable and goes into API answers
├── InvalidInput             a request field is wrong (400); `field` names it
├── NotFound                 an org, worker or resource we do not know (404)
├── Conflict                 the request clashes with stored state (409)
├── PayloadTooLarge          a batch over its limit (413)
└── GraphError               Microsoft Graph said no, or could not be reached
    ├── GraphNotFound        404 (user, event, subscription)
    ├── MailboxNotEnabled    the user has no Exchange Online mailbox
    ├── ConsentRequired      the tenant has not consented, or the token was refused
    ├── GraphRejected        Graph refused the request (400/403/409…); `graph_code` tells why
    ├── DeltaTokenExpired    410 syncStateNotFound / resyncRequired: start a fresh round
    └── GraphUnavailable     429 or 5xx after bounded retries, or a timeout; retry later
"""

from __future__ import annotations


class CalsyncError(Exception):
    code = "error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class InvalidInput(CalsyncError):
    code = "invalid_input"
    status = 400

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code, field=field)
        self.field = field


class NotFound(CalsyncError):
    code = "not_found"
    status = 404


class Conflict(CalsyncError):
    code = "conflict"
    status = 409


class PayloadTooLarge(CalsyncError):
    code = "payload_too_large"
    status = 413


class GraphError(CalsyncError):
    code = "graph_error"
    status = 502

    def __init__(
        self,
        message: str,
        *,
        graph_status: int | None = None,
        graph_code: str | None = None,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.graph_status = graph_status
        self.graph_code = graph_code
        self.retry_after = retry_after


class GraphNotFound(GraphError):
    code = "graph_not_found"


class MailboxNotEnabled(GraphError):
    code = "no_mailbox"


class ConsentRequired(GraphError):
    code = "consent_required"


class GraphRejected(GraphError):
    code = "graph_rejected"


class DeltaTokenExpired(GraphError):
    code = "delta_token_expired"


class GraphUnavailable(GraphError):
    code = "graph_unavailable"
    status = 503
