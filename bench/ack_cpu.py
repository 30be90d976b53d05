"""Acknowledgement CPU: what one change notification costs the app's Python process.

    .venv/bin/python -m bench.ack_cpu [--mailboxes 1000] [--acks 10000]

Azurite only (acknowledgements make no Graph call). `--mailboxes` subscriptions are stored
through the app's own table store; then the `graph_notifications` function is called in
this process — exactly as the Python worker calls it, with its output bindings as plain
`Out` objects — `--acks` times, round-robin over the mailboxes, and the process CPU time
(`time.process_time`) per call is printed for the first pass over the mailboxes (cold:
nothing cached) and for the rest (warm). Then the local host's share, which in Azure is
the Functions host's: writing one output-binding message with the Storage SDK, timed the
same way over as many messages as the acknowledgements produced.

Run at an older commit the same script calls the function with whatever bindings it
declares, so the two designs are compared with one command.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

from devtools.host.invoke import Out
from devtools.services import start_azurite

GOAL_MS = 0.5


class _Context:
    invocation_id = "bench"
    trace_context = None


def _body(sub_id: str, client_state: str, tenant: str, mailbox: str, n: int) -> bytes:
    item = {
        "subscriptionId": sub_id,
        "subscriptionExpirationDateTime": "2026-12-31T00:00:00Z",
        "changeType": "updated",
        "resource": f"Users/{mailbox}/Events/AAMk{n:08}=",
        "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": f"Users/{mailbox}/Events/x", "id": "x"},
        "clientState": client_state,
        "tenantId": tenant,
    }
    return json.dumps({"value": [item]}).encode()


async def run(mailboxes: int, acks: int) -> None:
    import azure.functions as func

    from function_app import app
    from shared.adapters.records import SubscriptionRecord
    from shared.bootstrap import services

    svc = services()
    tenant = str(uuid.uuid4())
    bodies = []
    for i in range(mailboxes):
        sub_id, state, mailbox = str(uuid.uuid4()), uuid.uuid4().hex, str(uuid.uuid4())
        await svc.store.upsert(
            SubscriptionRecord(
                subscription_id=sub_id,
                org="bench",
                tenant_id=tenant,
                mailbox_id=mailbox,
                owner_kind="worker",
                owner_id=f"w{i:05}",
                client_state=state,
                expires_at=datetime.now(UTC) + timedelta(days=2),
            )
        )
        bodies.append(_body(sub_id, state, tenant, mailbox, i))
    fn = next(f for f in app.get_functions() if f.get_function_name() == "graph_notifications")
    handler = fn.get_user_function()
    outs = [b.name for b in fn.get_bindings() if getattr(b, "direction", None) == 1 and b.name != "$return"]
    takes_context = "context" in inspect.signature(handler).parameters
    written: list[str] = []

    async def ack(body: bytes) -> None:
        req = func.HttpRequest("POST", "http://localhost/api/graph/notifications", body=body, headers={})
        bound = {name: Out() for name in outs}
        resp = await (handler(req, _Context(), **bound) if takes_context else handler(req))
        assert resp.status_code == 202, resp.get_body()
        for out in bound.values():
            written.extend(out.get() or [])

    for body in bodies[:20]:  # clients and connections, not the per-ack cost
        await ack(body)
    phases = {"cold (first pass)": bodies, "warm": [bodies[i % mailboxes] for i in range(max(0, acks - mailboxes))]}
    print(f"graph_notifications in-process, {mailboxes} mailboxes, output bindings: {outs or 'none'}")
    total_cpu, total_n = 0.0, 0
    for label, batch in phases.items():
        if not batch:
            continue
        started = time.process_time()
        for body in batch:
            await ack(body)
        used = time.process_time() - started
        total_cpu, total_n = total_cpu + used, total_n + len(batch)
        print(f"  {label:18} {len(batch):6} acks: {1000 * used / len(batch):.3f} ms of process CPU per ack")
    per_ack = 1000 * total_cpu / total_n
    print(
        f"  all                {total_n:6} acks: {per_ack:.3f} ms per ack; goal ≤ {GOAL_MS} ms: "
        f"{'pass' if per_ack <= GOAL_MS else 'FAIL'}"
    )
    if written:  # what the host does with them, as the local host does it (one SDK call each)
        from azure.storage.queue import TextBase64EncodePolicy
        from azure.storage.queue.aio import QueueClient

        client = QueueClient.from_connection_string(
            os.environ["AzureWebJobsStorage"],  # noqa: SIM112 - the Functions setting name
            "bench-ack-out",
            message_encode_policy=TextBase64EncodePolicy(),
        )
        async with client:
            await client.create_queue()
            sample = written[: min(len(written), 3000)]
            started = time.process_time()
            for text in sample:
                await client.send_message(text)
            used = time.process_time() - started
        print(
            f"  host's share       {len(sample):6} output messages written with the Storage SDK (the local host's "
            f"way): {1000 * used / len(sample):.3f} ms of process CPU each"
        )
    await svc.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--acks", type=int, default=10_000)
    args = parser.parse_args()
    azurite = start_azurite()
    try:
        os.environ.update(
            {
                **azurite.env,
                "GRAPH_AUTH_MODE": "emulator",
                "GRAPH_BASE_URL": "http://127.0.0.1:9/v1.0",  # never called by an acknowledgement
                "CALSYNC_PUBLIC_BASE_URL": "http://127.0.0.1:7071",
                "CALSYNC_FUNCTION_KEY": "bench-key",
            }
        )
        asyncio.run(run(args.mailboxes, args.acks))
    finally:
        azurite.stop()


if __name__ == "__main__":
    main()
