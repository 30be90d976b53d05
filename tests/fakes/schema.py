"""The fakes hold calsync to Microsoft's published Graph schema, as the emulator does."""

from __future__ import annotations

from typing import Any

from devtools.graph_schema.check import problems
from shared.core.errors import GraphRejected


def conform(type_ref: str, body: Any) -> None:
    """A request body the schema does not allow is refused (400 RequestBodyRead, as the
    emulator answers: devtools/graph_schema)."""
    found = problems(type_ref, body, exact=False) if isinstance(body, dict) else []
    if found:
        raise GraphRejected(f"RequestBodyRead: {found[0]}", graph_status=400, graph_code="RequestBodyRead")
