"""A tiny round-robin HTTP proxy in front of several app instances, like Azure's front end.

    .venv/bin/python -m bench.proxy --port 7080 --backends 127.0.0.1:7081,127.0.0.1:7082

Each request goes to the next backend in turn. A backend that refuses the connection (a
stopped instance) is skipped, as a load balancer's health probe would, and the request goes
to the next one; nothing was sent, so that is safe for any method. A backend that dies
while it handles a request answers 502: the caller (or Graph, for a notification) retries.
`GET /_proxy/stats` answers how many requests each backend served.
"""

from __future__ import annotations

import argparse
import itertools
from collections import Counter

import aiohttp
from aiohttp import web

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "content-encoding",
}


def build(backends: list[str]) -> web.Application:
    turn = itertools.count()
    served: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    state: dict[str, aiohttp.ClientSession] = {}

    async def session() -> aiohttp.ClientSession:
        if "s" not in state:
            state["s"] = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=300, sock_connect=2),
                auto_decompress=False,
                connector=aiohttp.TCPConnector(limit=200, force_close=True),
            )
        return state["s"]

    async def stats(_: web.Request) -> web.Response:
        return web.json_response({"served": dict(served), "skipped": dict(skipped)})

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        first = next(turn)
        client = await session()
        for i in range(len(backends)):
            backend = backends[(first + i) % len(backends)]
            url = f"http://{backend}{request.rel_url}"
            try:
                async with client.request(
                    request.method, url, headers=headers, data=body, allow_redirects=False
                ) as resp:
                    payload = await resp.read()
                    out = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP}
                    served[backend] += 1
                    return web.Response(status=resp.status, body=payload, headers=out)
            except aiohttp.ClientConnectorError:
                skipped[backend] += 1
                continue  # not running: nothing was sent, try the next instance
            except (TimeoutError, aiohttp.ClientError) as exc:
                return web.Response(status=502, text=f"backend {backend} failed: {type(exc).__name__}")
        return web.Response(status=503, text="no backend is running")

    app = web.Application(client_max_size=100 * 1024 * 1024)
    app.router.add_get("/_proxy/stats", stats)
    app.router.add_route("*", "/{tail:.*}", forward)

    async def close(_: web.Application) -> None:
        if "s" in state:
            await state["s"].close()

    app.on_cleanup.append(close)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--backends", required=True, help="comma-separated host:port list")
    args = parser.parse_args()
    web.run_app(build(args.backends.split(",")), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
