"""schemathesis against the live local stack (local host, Azurite, Graph emulator), from
the app's own /api/openapi.json: for every operation, generated valid and invalid requests
never get a 5xx, every answer conforms to the document (status, content type, schema), and
every 4xx is problem+json. Bounded: CALSYNC_FUZZ_EXAMPLES examples per operation (default 12).

Most generated paths name an org nobody made; so that requests get past the 404 and reach
the validators and the use cases, positive cases (and negative ones whose mutation is not
in the path) are sent to a real org connected to a seeded tenant."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from shared.core.api_responses import RESPONSES
from tests.conftest import TEST_KEY
from tests.integration.conftest import new_org, stack_on

EXAMPLES = int(os.environ.get("CALSYNC_FUZZ_EXAMPLES", "12"))
# Schema-valid is not always valid: end after start, a series' first date, a tenant that
# exists. Those are the use cases' checks (each with its own tests), not the document's.
CROSS_FIELD = [positive_data_acceptance]
KEEP_RANDOM_ORG = {"delete_org", "put_org"}  # the real org stays for the others


@pytest.fixture(scope="module")
def fuzz_target(app_host: Any, emulator: Any, storage_conn: str) -> Iterator[dict[str, Any]]:
    with stack_on(app_host, emulator, storage_conn) as stack:
        yield {"url": f"{app_host.url}/api", "org": new_org(stack).id}


@pytest.fixture(scope="module")
def api_schema(fuzz_target: dict[str, Any]) -> Any:
    # The document's server is "/api": relative to where it was read from.
    schema = schemathesis.openapi.from_url(f"{fuzz_target['url']}/openapi.json")
    # A value too long for the host's URL limit is refused by the host, with its 414; too
    # many rows or appointments by us with a 413.
    schema.config.checks.negative_data_rejection.expected_statuses.extend(["413", "414"])
    return schema


# Every operation: the function names (operationIds) the document is built from.
# (The document itself is checked by tests/unit/test_openapi.py; schemathesis leaves it out.)
OPERATIONS = sorted({*RESPONSES, "console_page", "console_asset"} - {"openapi_document"})


def _mutated_in_path(case: Any) -> bool:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    location = getattr(meta.phase.data, "parameter_location", None)
    return location is None or getattr(location, "name", "") == "PATH"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_every_operation_answers_as_documented(
    api_schema: Any, fuzz_target: dict[str, Any], operation_id: str, mode: GenerationMode
) -> None:
    found = [r.ok() for r in api_schema.get_all_operations() if r.ok().definition.raw["operationId"] == operation_id]
    assert len(found) == 1, f"{operation_id} is not in the document"
    operation = found[0]
    if mode.is_negative and not _can_be_wrong(operation.definition.raw):
        pytest.skip("nothing in this request can be malformed")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
    )
    def exercise(case: Any) -> None:
        if "org" in (case.path_parameters or {}) and operation_id not in KEEP_RANDOM_ORG and not _mutated_in_path(case):
            case.path_parameters["org"] = fuzz_target["org"]
        response = case.call_and_validate(headers={"x-functions-key": TEST_KEY}, excluded_checks=CROSS_FIELD)
        if 400 <= response.status_code < 500 and response.status_code != 401:
            kind = response.headers.get("content-type") or [""]
            assert kind[0].startswith("application/problem+json"), response.text
            assert response.json()["code"], response.text

    exercise()


def _can_be_wrong(op: dict[str, Any]) -> bool:
    constrained = [p for p in op.get("parameters", []) if set(p["schema"]) - {"type", "description", "title"}]
    return bool(constrained or op.get("requestBody"))
