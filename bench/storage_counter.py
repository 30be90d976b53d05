"""A counting reverse proxy in front of Azurite's Table and Queue endpoints (bench/capacity.py).

    .venv/bin/python -m bench.storage_counter --control-port 7090 \\
        --table-port 7091 --table-upstream 127.0.0.1:10002 \\
        --queue-port 7092 --queue-upstream 127.0.0.1:10001

Give the app a connection string whose TableEndpoint / QueueEndpoint are the two proxy ports
(same account name and key: Shared Key signs the path and headers, not the host, so the
requests pass unchanged). Every request is forwarded as it came (raw path and query, body,
headers) and counted by service and kind:

- table: `read` (point read of one entity), `query` (one page of a query; the entities it
  returned are counted too, and whether it named a PartitionKey), `insert`, `upsert`
  (PUT/MERGE/PATCH without If-Match), `update` (with If-Match), `delete`, `batch` (one
  entity group transaction, its operations counted as `batch ops`), `create table`,
  `list tables`;
- queue: `put`, `get` (a receive that returned messages; `got messages` counts them),
  `poll (empty)` (a receive that returned none — the trigger's idle polling), `delete`,
  `update` (visibility / lease renewal), `peek`, `create queue`, `metadata`, `list queues`.

`GET /stats` on the control port answers the counts (overall, per table and per queue, the
entities touched per table partition and the query pages each partition answered, non-2xx
answers per kind) and `quiet_for`: seconds since the last request that was not an
empty poll, which only the host's idle listeners keep making. `DELETE /stats` resets.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import time
from collections import Counter, defaultdict
from urllib.parse import parse_qs, unquote, urlsplit

import aiohttp
from aiohttp import web
from yarl import URL

from bench.proxy import HOP_BY_HOP as _PROXY_HOP_BY_HOP

# bench/proxy.py's, except that the answer's Content-Encoding is passed on with its body.
HOP_BY_HOP = _PROXY_HOP_BY_HOP - {"content-encoding"}
ENTITY = re.compile(r"^(?P<table>[^(/]+)\((?P<key>.+)\)$")
BATCH_OP = re.compile(rb"^(?:POST|PUT|PATCH|MERGE|DELETE|GET) https?://[^/ ]+/[^/ ]+/([^(/? ]+)(\S*)", re.MULTILINE)
KEY_PK = re.compile(r"PartitionKey='((?:[^']|'')*)'")
FILTER_PK = re.compile(r"PartitionKey eq '((?:[^']|'')*)'")
POLL = "poll (empty)"


class Counts:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.kinds: dict[str, Counter[str]] = {"table": Counter(), "queue": Counter()}
        self.by_name: dict[str, dict[str, Counter[str]]] = {
            "table": defaultdict(Counter),
            "queue": defaultdict(Counter),
        }
        self.failed: dict[str, Counter[str]] = {"table": Counter(), "queue": Counter()}
        self.failed_paths: dict[str, list[str]] = defaultdict(list)  # a few examples per failure
        # Entities touched per (table, PartitionKey): reads, writes, batch operations, and the
        # entities a query page returned (what the 2,000 entities/s partition target counts).
        self.partitions: Counter[tuple[str, str]] = Counter()
        self.partition_queries: Counter[tuple[str, str]] = Counter()  # query pages per partition
        self.partition_returned: Counter[tuple[str, str]] = Counter()  # entities they returned
        self.last_work = time.monotonic()
        self.since = time.time()

    def add(self, service: str, kind: str, name: str, status: int, extra: dict, path: str = "") -> None:
        touched = extra.pop("partitions", {})
        for key, returned in extra.pop("query partition", {}).items():
            self.partition_queries[key] += 1
            self.partition_returned[key] += returned
        self.kinds[service][kind] += 1
        self.by_name[service][name][kind] += 1
        for key, value in extra.items():
            self.kinds[service][key] += value
            self.by_name[service][name][key] += value
        for key, value in touched.items():
            self.partitions[key] += value
        if status >= 300:
            self.failed[service][f"{name} {kind} {status}"] += 1
            examples = self.failed_paths[f"{name} {kind} {status}"]
            if len(examples) < 3:
                examples.append(unquote(path))
        if kind != POLL:
            self.last_work = time.monotonic()

    def view(self) -> dict:
        per_table: dict[str, list[int]] = defaultdict(list)
        for (table, _pk), n in self.partitions.items():
            per_table[table].append(n)
        return {
            "since": self.since,
            "quiet_for": time.monotonic() - self.last_work,
            "table": dict(self.kinds["table"]),
            "queue": dict(self.kinds["queue"]),
            "tables": {n: dict(c) for n, c in sorted(self.by_name["table"].items())},
            "queues": {n: dict(c) for n, c in sorted(self.by_name["queue"].items())},
            "failed": {s: dict(c) for s, c in self.failed.items()},
            "failed_paths": dict(self.failed_paths),
            "partitions": {
                t: {"partitions": len(v), "entities": sum(v), "busiest": max(v)} for t, v in sorted(per_table.items())
            },
            "busiest_partitions": [[t, pk, n] for (t, pk), n in self.partitions.most_common()],
            "partition_queries": [
                [t, pk, n, self.partition_returned[(t, pk)]] for (t, pk), n in self.partition_queries.most_common()
            ],
        }


def _body_text(body: bytes, encoding: str | None) -> bytes:
    if encoding and "gzip" in encoding.lower():
        try:
            return gzip.decompress(body)
        except OSError:
            return b""
    return body


def _pk(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text)
    return found.group(1).replace("''", "'") if found else None


def classify_table(
    method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], req: bytes, resp: bytes
) -> tuple[str, str, dict]:
    """(kind, table name, extra counts) of one Table service request; `path` is after the account."""
    resource = unquote(path).strip("/")
    if resource == "$batch":
        ops = BATCH_OP.findall(req)
        table = ops[0][0].decode() if ops else "?"
        pk = _pk(KEY_PK, unquote(ops[0][1].decode())) if ops else None
        return "batch", table, {"batch ops": len(ops), "partitions": {(table, pk or "?"): len(ops)}}
    if resource.startswith("Tables"):
        kind = {"POST": "create table", "GET": "list tables"}.get(method, f"table {method}")
        return kind, "Tables", {}
    entity = ENTITY.match(resource)
    if entity is not None:
        table = entity.group("table")
        touched = {"partitions": {(table, _pk(KEY_PK, entity.group("key")) or "?"): 1}}
        if method == "GET":
            return "read", table, touched
        if method == "DELETE":
            return "delete", table, touched
        if method in ("PUT", "PATCH", "MERGE"):
            matched = any(k.lower() == "if-match" for k in headers)
            return ("update" if matched else "upsert"), table, touched
        return f"entity {method}", table, touched
    table = resource.removesuffix("()")
    if method == "POST":
        try:
            pk = str(json.loads(req or b"{}").get("PartitionKey", "?"))
        except ValueError:
            pk = "?"
        return "insert", table, {"partitions": {(table, pk): 1}}
    if method == "GET":
        try:
            returned = len(json.loads(resp or b"{}").get("value", []))
        except ValueError:
            returned = 0
        flt = " ".join(query.get("$filter", []))
        pk = _pk(FILTER_PK, flt)
        key = (table, pk or "(scan)")
        extra: dict = {
            "query entities": returned,
            "partitions": {key: max(returned, 1)},
            "query partition": {key: returned},
        }
        extra["query pages (partition)" if pk is not None else "query pages (no partition)"] = 1
        return "query", table, extra
    return f"{method}", table, {}


def classify_queue(method: str, path: str, query: dict[str, list[str]], resp: bytes) -> tuple[str, str, dict]:
    parts = [p for p in unquote(path).split("/") if p]
    if not parts:
        return ("list queues" if "list" in query.get("comp", []) else f"service {method}"), "", {}
    name = parts[0]
    if len(parts) == 1:
        if "metadata" in query.get("comp", []) or method == "HEAD":
            return "metadata", name, {}
        return {"PUT": "create queue", "DELETE": "delete queue"}.get(method, f"queue {method}"), name, {}
    if len(parts) == 2:  # …/messages
        if method == "POST":
            return "put", name, {}
        if method == "GET":
            if query.get("peekonly", ["false"])[0].lower() == "true":
                return "peek", name, {}
            got = resp.count(b"<QueueMessage>")
            return ("get", name, {"got messages": got}) if got else (POLL, name, {})
        if method == "DELETE":
            return "clear", name, {}
    if len(parts) >= 3:  # …/messages/{id}
        return {"DELETE": "delete", "PUT": "update"}.get(method, f"message {method}"), name, {}
    return f"{method}", name, {}


def build(table_upstream: str, queue_upstream: str, counts: Counts) -> tuple[web.Application, ...]:
    state: dict[str, aiohttp.ClientSession] = {}

    async def session() -> aiohttp.ClientSession:
        if "s" not in state:
            state["s"] = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=120, sock_connect=5),
                auto_decompress=False,
                connector=aiohttp.TCPConnector(limit=256),
            )
        return state["s"]

    def forwarder(service: str, upstream: str):
        async def forward(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            # Content-Length stays: Queue Shared Key signs it.
            headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP - {"content-length"}}
            url = URL(f"http://{upstream}{request.raw_path}", encoded=True)
            client = await session()
            try:
                async with client.request(
                    request.method,
                    url,
                    headers=headers,
                    data=body or None,
                    allow_redirects=False,
                    skip_auto_headers=("Content-Type",),  # signed by Shared Key: only what the client sent
                ) as resp:
                    payload = await resp.read()
                    out = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP}
                    status = resp.status
                    encoding = resp.headers.get("Content-Encoding")
            except (TimeoutError, aiohttp.ClientError) as exc:
                return web.Response(status=502, text=f"upstream failed: {type(exc).__name__}")
            raw = urlsplit(request.raw_path)
            path = raw.path.split("/", 2)[2] if raw.path.count("/") >= 2 else ""  # after /{account}/
            text = _body_text(payload, encoding)
            query = parse_qs(raw.query)
            if service == "table":
                kind, name, extra = classify_table(request.method, path, query, headers, body, text)
            else:
                kind, name, extra = classify_queue(request.method, path, query, text)
            counts.add(service, kind, name, status, extra, path)
            return web.Response(status=status, body=payload, headers=out)

        return forward

    def app_for(service: str, upstream: str) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", forwarder(service, upstream))
        return app

    async def stats(request: web.Request) -> web.Response:
        if request.method == "DELETE":
            counts.reset()
        return web.json_response(counts.view())

    control = web.Application()
    control.router.add_route("GET", "/stats", stats)
    control.router.add_route("DELETE", "/stats", stats)

    async def close(_: web.Application) -> None:
        if "s" in state:
            await state["s"].close()

    control.on_cleanup.append(close)
    return control, app_for("table", table_upstream), app_for("queue", queue_upstream)


async def serve(args: argparse.Namespace) -> None:
    counts = Counts()
    apps = build(args.table_upstream, args.queue_upstream, counts)
    runners = []
    for app, port in zip(apps, (args.control_port, args.table_port, args.queue_port), strict=True):
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
    try:
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--table-port", type=int, required=True)
    parser.add_argument("--table-upstream", required=True, help="host:port of Azurite's table service")
    parser.add_argument("--queue-port", type=int, required=True)
    parser.add_argument("--queue-upstream", required=True, help="host:port of Azurite's queue service")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
