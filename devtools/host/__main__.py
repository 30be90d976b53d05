"""python -m devtools.host — serve function_app.app like `func start`.

Loads local.settings.json (or the sample) into the environment, indexes the app, serves
HTTP triggers on http://127.0.0.1:7071/api/..., fires timers and runs queue triggers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from aiohttp import web

from devtools.host.config import ROOT, load_host_config, load_local_settings

log = logging.getLogger("devtools.host")


MAX_LINE = 64 * 1024


def configure_telemetry() -> bool:
    """What the Python worker does at start (DEPLOY-FACTS §3): with
    PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true and a connection string, traces, metrics
    and logs go to Application Insights through azure-monitor-opentelemetry. Off by default."""
    if os.environ.get("PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY", "").lower() != "true":
        return False
    connection = os.environ.get("APPLICATIONINSIGHTS_CONNECTION_STRING")
    if not connection:
        log.warning("PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY is set without APPLICATIONINSIGHTS_CONNECTION_STRING")
        return False
    os.environ.setdefault("OTEL_EXPERIMENTAL_RESOURCE_DETECTORS", "azure_functions")
    try:
        from azure.monitor.opentelemetry import configure_azure_monitor
    except ImportError as exc:
        log.error("telemetry stays off: %s", exc)
        return False
    configure_azure_monitor(
        connection_string=connection, logger_name=os.environ.get("PYTHON_APPLICATIONINSIGHTS_LOGGER_NAME", "")
    )
    log.info("telemetry: exporting to Application Insights")
    return True


async def serve(args: argparse.Namespace) -> None:
    from devtools.host.server import LocalHost, find_app
    from shared.adapters import log_setup

    key = os.environ.get("CALSYNC_FUNCTION_KEY")
    if not key:
        raise SystemExit("setting CALSYNC_FUNCTION_KEY is required by the local host (the function key)")
    log_setup.install([key], stream_handler=True)
    host = LocalHost(find_app(args.app), load_host_config(Path(args.host_json) if args.host_json else None), key)
    # Lines past aiohttp's 8 KB default reach us, so that the host's own URL limits answer.
    runner = web.AppRunner(host.web_app(), access_log=None, max_line_size=MAX_LINE, max_field_size=MAX_LINE)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    await host.start_triggers()
    base = f"http://{args.host}:{args.port}"
    for route, fn in host.routes:
        log.info(
            "  %s: [%s] %s/%s",
            fn.get_function_name(),
            ",".join(m.value for m in fn.get_trigger().methods or []) or "ALL",
            base,
            route.template,
        )
    for name in host.timers:
        log.info("  %s: timerTrigger", host.timers[name].fn.get_function_name())
    for listener in host.listeners:
        log.info("  %s: queueTrigger (%s)", listener.fn.get_function_name(), listener.queue_name)
    log.info("Host started on %s", base)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("Host stopping")
    await runner.cleanup()
    await host.stop()
    # Like the real worker, the app gets no shutdown hook: its pooled clients die with the
    # process, so asyncio's "unclosed session" complaints are noise here.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.host", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--app", default="function_app", help="script module holding the FunctionApp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--settings", help="local settings file (default local.settings.json, else the sample)")
    parser.add_argument("--host-json", help="host.json to use (default the project's)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    used = load_local_settings(Path(args.settings) if args.settings else None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log.info("settings from %s", used.name if used else "the environment only")
    configure_telemetry()
    from shared.core.errors import SettingsError

    try:
        asyncio.run(serve(args))
    except SettingsError as exc:
        log.error("cannot start: %s", exc)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
