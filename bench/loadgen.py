"""A lean open-loop HTTP/1.1 load generator: POSTs at a fixed rate over kept-alive sockets.

httpx costs the generator about 2 ms of CPU per request, so at 500/s the load generator
itself saturated a core and the measured latencies were its own queueing. This one sends
pre-encoded requests and reads answers with a minimal parser, so it stays far below the
system under test. Latency is measured from each request's *scheduled* send time, so a
generator or server that falls behind shows up in the figures (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length:
            await self.reader.readexactly(length)
        return status


def _request(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in {"Content-Type": "application/json", **headers}.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def fire(
    url: str,
    bodies: list[bytes],
    rate: float,
    seconds: float,
    headers: dict[str, str] | None = None,
    max_connections: int = 2000,
) -> Result:
    """POST `rate` requests a second for `seconds`, cycling through `bodies`."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = [_request(parts.netloc, parts.path or "/", b, headers or {}) for b in bodies]
    idle: list[_Conn] = []
    opened = 0
    result = Result()
    total = int(rate * seconds)

    async def one(i: int, due: float) -> None:
        nonlocal opened
        if idle:
            conn = idle.pop()
        else:
            if opened >= max_connections:  # the server is far behind: counted as a failure, not sent
                result.statuses[0] = result.statuses.get(0, 0) + 1
                result.latencies_ms.append((time.perf_counter() - due) * 1000)
                return
            opened += 1
            conn = _Conn(*await asyncio.open_connection(host, port))
        try:
            status = await conn.exchange(requests[i % len(requests)])
        except (ConnectionError, asyncio.IncompleteReadError):
            status = 599  # the server closed or reset the connection
            conn.writer.close()
        else:
            idle.append(conn)
        result.latencies_ms.append((time.perf_counter() - due) * 1000)
        result.statuses[status] = result.statuses.get(status, 0) + 1

    tasks = []
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    result.elapsed_s = time.perf_counter() - start
    for conn in idle:
        conn.writer.close()
    return result
