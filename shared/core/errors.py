"""calsync's one error tree.

CalsyncError                 base; `code` is stable and goes into API answers
├── InvalidInput             a request field is wrong (400); `field` names it
│   └── UnknownTimeZone      neither an IANA nor a Windows zone name
├── NotFound                 an org, worker, resource, appointment or job we do not know (404)
├── Conflict                 the request clashes with stored state (409)
│   └── AccountAmbiguous     an e-mail address that more than one user of the tenant has
├── PayloadTooLarge          a batch over its limit (413)
├── SettingsError            an app setting is missing or invalid (start-up); `name` is the setting
├── StoreError               the table store failed
│   ├── ConcurrencyConflict  someone else wrote first (etag mismatch, insert of an existing row): 409
│   └── KeyTooLong           an encoded key over Table Storage's 1 KiB
└── GraphError               Microsoft Graph said no, or could not be reached
    ├── GraphNotFound        404 (user, event, subscription)
    ├── MailboxNotEnabled    the user has no Exchange Online mailbox
    ├── ConsentRequired      the tenant has not consented, or the token was refused
    ├── GraphRejected        Graph refused the request (400/403/409…); `graph_code` tells why
    ├── DeltaTokenExpired    the sync state is gone (410, syncStateNotFound, …): start afresh
    └── GraphUnavailable     429 or 5xx after bounded retries, or a timeout; retry later

Only the Graph gateway (shared/adapters/graph_errors.py) turns Graph's answers into the
GraphError family; everything else reads the types and their fields, never messages.
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


class UnknownTimeZone(InvalidInput):
    code = "invalid_input"

    def __init__(self, message: str, field: str = "timeZone") -> None:
        super().__init__(field, message)


class NotFound(CalsyncError):
    code = "not_found"
    status = 404


class Conflict(CalsyncError):
    code = "conflict"
    status = 409


class AccountAmbiguous(Conflict):
    code = "account_ambiguous"


class PayloadTooLarge(CalsyncError):
    code = "payload_too_large"
    status = 413


class SettingsError(CalsyncError):
    """A setting is missing or invalid. `name` is the setting, `problem` what is wrong."""

    code = "invalid_setting"

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"setting {name}: {problem}", setting=name)
        self.name = name
        self.problem = problem


class StoreError(CalsyncError):
    code = "store_error"


class StoreUnavailable(StoreError):
    """Storage failed after the SDK's retries (connections reset, timeouts, 5xx): try again
    shortly (503 with Retry-After); nothing was written, or the retry writes the same."""

    code = "storage_unavailable"
    status = 503
    retry_after = 5


class ConcurrencyConflict(StoreError):
    """Someone else wrote first: an etag mismatch, or insert of an entity that exists."""

    code = "concurrent_update"
    status = 409

    def __init__(self, message: str, *, operation: int | None = None) -> None:
        super().__init__(message)
        self.operation = operation  # in a transaction: the index of the operation that lost


class KeyTooLong(StoreError):
    code = "key_too_long"
    status = 400


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
        existing_id: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.graph_status = graph_status
        self.graph_code = graph_code
        self.retry_after = retry_after
        # A 409 for a duplicate subscription names the one that exists (read by the gateway).
        self.existing_id = existing_id


class GraphNotFound(GraphError):
    code = "graph_not_found"


class MailboxNotEnabled(GraphError):
    code = "no_mailbox"


class ConsentRequired(GraphError):
    code = "consent_required"


class GraphRejected(GraphError):
    code = "graph_rejected"

    @property
    def mailbox_policy(self) -> bool:
        """Graph will not serve this mailbox's calendar to us (an access policy, an
        on-premises mailbox): Outlook answers `ExtensionError` on subscriptions."""
        return self.graph_status in (400, 403) and self.graph_code == "ExtensionError"


class DeltaTokenExpired(GraphError):
    code = "delta_token_expired"


class GraphUnavailable(GraphError):
    code = "graph_unavailable"
    status = 503
