"""Storage that fails after the SDK's retries is a 503 with Retry-After, never a 500
(issue #25): the adapters translate it, the HTTP functions answer it."""

from __future__ import annotations

import json
import socket
from typing import Any

import azure.functions as func
import pytest
from azure.data.tables.aio import TableServiceClient

import functions.http as http
from shared.adapters.records import Org
from shared.adapters.tables import TableStore
from shared.core.errors import StoreUnavailable
from shared.core.settings import StorageSettings


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_table_store_that_cannot_reach_storage_raises_store_unavailable() -> None:
    conn = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        f"TableEndpoint=http://127.0.0.1:{dead_port()}/devstoreaccount1;"
    )
    store = TableStore(StorageSettings(connection_string=conn))
    # No retries here (the store's own are bounded at 3): the refused connection at once.
    store._service = TableServiceClient.from_connection_string(conn, retry_total=0)
    try:
        with pytest.raises(StoreUnavailable):
            await store.get(Org, org="acme")
        with pytest.raises(StoreUnavailable):
            [o async for o in store.query(Org)]
    finally:
        await store.close()


async def test_an_http_function_answers_storage_unavailable_with_503_and_retry_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http, "services", lambda: None)

    @http.operation("get_org")
    async def fails(req: func.HttpRequest, svc: Any) -> func.HttpResponse:
        raise StoreUnavailable("storage is unavailable (ServiceResponseError); try again shortly")

    req = func.HttpRequest(method="GET", url="http://x/api/orgs/acme", body=b"", route_params={"org": "acme"})
    context = type("Context", (), {"invocation_id": "i1"})()
    r = await fails(req, context)
    assert r.status_code == 503 and r.mimetype == "application/problem+json"
    assert r.headers["Retry-After"] == "5"
    assert json.loads(r.get_body())["code"] == "storage_unavailable"
