"""Composition root: the one place real adapters are built, lazily, per event loop.

Azure SDK aio clients are bound to the loop that created them; the Functions worker runs
one loop, tests may run several, so services are cached per running loop.
"""

from __future__ import annotations

import asyncio

from shared.adapters import log_setup
from shared.adapters.graph import GraphGateway
from shared.adapters.queues import QueueSender
from shared.adapters.settings import get_settings
from shared.adapters.tables import TableStore
from shared.adapters.telemetry import metrics_port, quiet_libraries
from shared.adapters.webhook_http import HttpWebhookClient
from shared.core.clock import SystemClock
from shared.core.settings import Settings
from shared.service.ports import Services

_by_loop: dict[int, Services] = {}
_logging_installed = False


def build(settings: Settings) -> Services:
    return Services(
        settings=settings,
        store=TableStore(settings.storage, settings.table_prefix),
        queues=QueueSender(settings.storage),
        graph=GraphGateway(settings),
        webhooks=HttpWebhookClient(allow_loopback=settings.development),
        clock=SystemClock(),
        metrics=metrics_port,
    )


def services() -> Services:
    """The services for the running event loop (built on first use)."""
    global _logging_installed
    loop_id = id(asyncio.get_running_loop())
    found = _by_loop.get(loop_id)
    if found is None:
        settings = get_settings()
        if not _logging_installed:
            log_setup.install(settings.secrets())
            quiet_libraries()
            _logging_installed = True
        found = _by_loop[loop_id] = build(settings)
    return found
