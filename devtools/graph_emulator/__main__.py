"""python -m devtools.graph_emulator [--port 7072] [--demo] — run the Graph emulator."""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from devtools.graph_emulator.server import build_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devtools.graph_emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7072)
    parser.add_argument("--demo", action="store_true", help="load the demo tenant (contoso)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    print(f"Graph emulator on http://{args.host}:{args.port}/v1.0", flush=True)
    web.run_app(build_app(seed_demo=args.demo), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
