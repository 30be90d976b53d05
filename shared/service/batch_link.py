"""Linking many workers at once: CSV or JSON, up to 1,000 rows, every row validated first."""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

from shared.adapters.records import WorkerLink
from shared.core.api_requests import MAX_BATCH_ROWS
from shared.core.errors import Conflict, InvalidInput, PayloadTooLarge
from shared.core.validation import load_json
from shared.service.link_requests import WorkerRequest, parse_worker
from shared.service.linking import apply_account, snapshot
from shared.service.orgs import require_org
from shared.service.ports import Services

LINK_CONCURRENCY = 8


def parse_batch(content_type: str, raw: bytes) -> list[dict[str, Any]]:
    """CSV (`worker,m365Account[,displayName]`) or a JSON array → rows (not yet validated)."""
    if "csv" in content_type.lower():
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("body", "the CSV must be UTF-8") from None
        reader = csv.DictReader(io.StringIO(text))
        header = [h.strip() for h in reader.fieldnames or []]
        if header[:2] != ["worker", "m365Account"] or not set(header) <= {"worker", "m365Account", "displayName"}:
            raise InvalidInput("body", "the CSV header must be worker,m365Account[,displayName]")
        rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    else:
        try:
            rows = load_json(raw or b"null")
        except InvalidInput as exc:
            raise InvalidInput("body", f"the body is neither CSV (text/csv) nor valid JSON: {exc.message}") from None
        if not isinstance(rows, list):
            raise InvalidInput("body", "the body must be a JSON array of {worker, m365Account, displayName}")
    if len(rows) > MAX_BATCH_ROWS:
        raise PayloadTooLarge(f"{len(rows)} rows; at most {MAX_BATCH_ROWS} per batch", code="batch_too_large")
    if not rows:
        raise InvalidInput("body", "the batch has no rows")
    return rows


async def batch_link(services: Services, org_id: str, rows: list[Any]) -> dict[str, Any]:
    org = await require_org(services, org_id)
    results: list[dict[str, Any] | None] = [None] * len(rows)
    valid: list[tuple[int, WorkerRequest]] = []
    seen_workers: dict[str, int] = {}
    seen_accounts: dict[str, int] = {}
    for index, row in enumerate(rows):
        number = index + 1
        try:
            if not isinstance(row, dict):
                raise InvalidInput(f"rows[{number}]", "each row must be an object")
            worker = row.get("worker")
            if not isinstance(worker, str):
                raise InvalidInput(f"rows[{number}].worker", "worker is required")
            request = parse_worker(worker.strip(), row, prefix=f"rows[{number}].")
            if request.worker in seen_workers:
                raise InvalidInput(
                    f"rows[{number}].worker",
                    f"worker {request.worker!r} also appears in row {seen_workers[request.worker]}",
                )
            if request.account and request.account.casefold() in seen_accounts:
                raise InvalidInput(
                    f"rows[{number}].m365Account",
                    f"{request.account} also appears in row {seen_accounts[request.account.casefold()]}",
                )
        except InvalidInput as exc:
            results[index] = {
                "row": number,
                "worker": row.get("worker") if isinstance(row, dict) else None,
                "status": "invalid",
                "changed": False,
                "error": {"code": "invalid_input", "field": exc.field, "message": exc.message},
            }
            continue
        seen_workers[request.worker] = number
        if request.account:
            seen_accounts[request.account.casefold()] = number
        valid.append((index, request))

    gate = asyncio.Semaphore(LINK_CONCURRENCY)

    async def one(index: int, request: WorkerRequest) -> None:
        async with gate:
            try:
                link = await services.store.get(WorkerLink, org=org_id, worker=request.worker) or WorkerLink(
                    org=org_id, worker=request.worker
                )
                before = snapshot(link)
                if request.display_name is not None:
                    link.display_name = request.display_name
                changed = await apply_account(services, org, link, request.account, before=before)
                results[index] = {
                    "row": index + 1,
                    "worker": request.worker,
                    "status": link.status,
                    "changed": changed,
                    "m365UserId": link.m365_user_id,
                    "error": {"code": link.error_code, "message": link.error_message}
                    if link.status == "error"
                    else None,
                }
            except Conflict as exc:
                results[index] = {
                    "row": index + 1,
                    "worker": request.worker,
                    "status": "error",
                    "changed": False,
                    "error": {"code": exc.code, "message": exc.message},
                }

    await asyncio.gather(*(one(i, r) for i, r in valid))
    done = [r for r in results if r is not None]
    totals = {"rows": len(rows)}
    for key in ("linked", "unlinked", "error", "invalid"):
        totals[key] = sum(1 for r in done if r["status"] == key)
    totals["changed"] = sum(1 for r in done if r["changed"])
    totals["unchanged"] = len(done) - totals["changed"]
    return {"results": done, "totals": totals}
