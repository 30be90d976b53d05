"""The error every handler raises: Graph's status, code and message (and headers)."""

from __future__ import annotations


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


EXPIRED_DELTA_MESSAGES = {  # by lower-case code
    # concepts/errors.md, "Code property"
    "syncstatenotfound": "The sync state generation is not found. The delta token is expired and data must be "
    "synchronized again.",
    "resyncrequired": "The delta token is no longer valid, and the app must reset the sync state.",
    # Not in the docs (seen from Exchange by client libraries): wording is the emulator's.
    "syncstateinvalid": "The sync state is invalid. The delta token can't be used and data must be synchronized again.",
}
