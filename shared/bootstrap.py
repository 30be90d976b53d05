"""Composition root: the one place real dependencies are built, lazily, per event loop.

Azure SDK aio clients are bound to the loop that created them; the Functions worker runs
one loop, tests may run several, so services are cached per running loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from shared import logctx
from shared.graph import GraphGateway
from shared.queues import QueueSender
from shared.settings import Settings, get_settings
from shared.tables import TableStore


@dataclass
class Services:
    settings: Settings
    store: TableStore
    queues: QueueSender
    graph: GraphGateway

    async def close(self) -> None:
        await self.store.close()
        await self.queues.close()
        await self.graph.close()


_by_loop: dict[int, Services] = {}
_logging_installed = False


def build(settings: Settings) -> Services:
    return Services(
        settings=settings,
        store=TableStore(settings.storage, settings.table_prefix),
        queues=QueueSender(settings.storage),
        graph=GraphGateway(settings),
    )


def services() -> Services:
    """The services for the running event loop (built on first use)."""
    global _logging_installed
    loop_id = id(asyncio.get_running_loop())
    found = _by_loop.get(loop_id)
    if found is None:
        settings = get_settings()
        if not _logging_installed:
            logctx.install(settings.secrets())
            _logging_installed = True
        found = _by_loop[loop_id] = build(settings)
    return found
