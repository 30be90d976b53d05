"""Every query string the API reads, as pydantic models (the OpenAPI document's parameters
come from these). Query values arrive as text, so numbers are parsed; parameters a route
does not read (the host's `code=` key among them) are ignored, as HTTP APIs do."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PageQuery(Query):
    limit: int = Field(default=100, ge=1, le=1000, description="Items per page")
    after: str | None = Field(default=None, max_length=400, description="The `next` of the page before")


class LinkPageQuery(PageQuery):
    status: Literal["linked", "error", "unlinked"] | None = Field(default=None, description="Only links of this status")


class ChangesQuery(Query):
    after: str | None = Field(default=None, max_length=400, description="The `next` cursor of the last read")
    limit: int = Field(default=100, ge=1, le=500, description="Changes per page")
    latest: bool = Field(
        default=False,
        description="The last `limit` changes instead (feed order); `next` then continues after them. "
        "Not with `after`.",
    )


class ConsentQuery(Query):
    redirect_uri: str | None = Field(
        default=None, alias="redirectUri", max_length=2048, description="https URL Microsoft returns the admin to"
    )
    state: str | None = Field(default=None, max_length=500, description="Handed back with the redirect")


class HandshakeQuery(Query):
    validation_token: str | None = Field(
        default=None, alias="validationToken", description="Graph's validation handshake: echoed as text/plain"
    )


QUERIES: dict[str, type[Query]] = {
    "list_orgs": PageQuery,
    "list_workers": LinkPageQuery,
    "list_resources": LinkPageQuery,
    "get_changes": ChangesQuery,
    "get_consent_url": ConsentQuery,
    "graph_notifications": HandshakeQuery,
    "graph_lifecycle": HandshakeQuery,
}
