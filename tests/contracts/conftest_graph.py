"""Fixtures for the Graph port contract (tests/contracts/test_graph_contract.py).

`graph` is parametrized: the real GraphGateway talking to the session's Graph emulator with
a freshly seeded tenant, and FakeGraph seeded with the same users. A test module imports
the fixtures by their function names (`graph_backend`, `webhook_receiver`); pytest knows
them as `graph` and `receiver_url`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiohttp import web

from devtools.services import free_port
from shared.adapters.graph import GraphGateway
from shared.adapters.settings import load
from shared.service.ports import Graph
from tests.conftest import app_env
from tests.fakes.graph import FakeGraph

DOMAIN = "fabrikam.test"
PEOPLE = ("ada", "bob", "cyd")
ROOMS = ("room0", "room1")


def tenant_doc(tenant_id: str) -> dict[str, Any]:
    """The seed both backends get (the emulator's /_emulator/seed document)."""
    users: list[dict[str, Any]] = [
        {"userPrincipalName": f"{p}@{DOMAIN}", "displayName": f"{p.title()} Test"} for p in PEOPLE
    ]
    users[1]["timeZone"] = "W. Europe Standard Time"  # bob: mailboxSettings.timeZone
    users.append({"userPrincipalName": f"nomail@{DOMAIN}", "displayName": "No Mail", "hasMailbox": False})
    users += [
        {"userPrincipalName": f"{r}@{DOMAIN}", "displayName": f"Room {r[-1]}", "userPurpose": "room", "capacity": 6}
        for r in ROOMS
    ]
    users.append({"userPrincipalName": f"beamer@{DOMAIN}", "displayName": "Beamer", "userPurpose": "equipment"})
    users.append({"userPrincipalName": f"reception@{DOMAIN}", "displayName": "Reception", "userPurpose": "shared"})
    # Addresses that are not user names (user-get.md: /users/{key} takes an id or a UPN only).
    users.append(
        {
            "userPrincipalName": f"mbowen@{DOMAIN}",
            "displayName": "Megan Bowen",
            "mail": f"megan.bowen@{DOMAIN}",
            "proxyAddresses": [f"SMTP:megan.bowen@{DOMAIN}", "smtp:megan@alias.test"],
        }
    )
    for n in (1, 2):
        users.append(
            {
                "userPrincipalName": f"desk{n}@{DOMAIN}",
                "displayName": f"Desk {n}",
                "proxyAddresses": [f"SMTP:desk{n}@{DOMAIN}", "smtp:frontdesk@alias.test"],
            }
        )
    return {
        "id": tenant_id,
        "domain": DOMAIN,
        "users": users,
        "roomLists": [
            {"emailAddress": f"rooms@{DOMAIN}", "displayName": "All rooms", "rooms": [f"{r}@{DOMAIN}" for r in ROOMS]}
        ],
    }


@dataclass
class Backend:
    """One Graph under test, with a tenant seeded for this test."""

    kind: str  # "emulator" | "fake"
    graph: Graph
    tenant_id: str
    users: dict[str, str]  # upn → id
    hook_url: str  # a notification URL that passes Graph's validation handshake
    _expire: Callable[[str], Awaitable[None]]

    def upn(self, name: str) -> str:
        return f"{name}@{DOMAIN}"

    def uid(self, name: str) -> str:
        return self.users[self.upn(name)]

    async def expire_delta(self, mailbox_id: str) -> None:
        """Graph drops the mailbox's sync state: older delta links are refused."""
        await self._expire(mailbox_id)


async def _echo_validation(request: web.Request) -> web.Response:
    token = request.query.get("validationToken")
    if token is not None:  # the subscription handshake: echo the token as text/plain
        return web.Response(text=token, content_type="text/plain")
    await request.read()
    return web.Response(status=202)


@pytest.fixture(scope="session", name="receiver_url")
async def webhook_receiver() -> AsyncIterator[str]:
    """A webhook endpoint on localhost that answers the validation handshake and accepts
    (and forgets) notifications."""
    app = web.Application()
    app.router.add_post("/hook", _echo_validation)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


@pytest.fixture(params=["emulator", "fake"], name="graph")
async def graph_backend(request: pytest.FixtureRequest, receiver_url: str) -> AsyncIterator[Backend]:
    tenant_id = str(uuid.uuid4())
    doc = tenant_doc(tenant_id)
    if request.param == "fake":
        fake = FakeGraph()
        users = fake.seed(tenant_id, doc["users"], doc["roomLists"], domain=DOMAIN)

        async def expire_fake(mailbox_id: str) -> None:
            fake.expire_delta(tenant_id, mailbox_id)

        yield Backend("fake", fake, tenant_id, users, receiver_url, expire_fake)
        await fake.close()
        return

    emulator = request.getfixturevalue("emulator")
    async with httpx.AsyncClient(base_url=emulator.url, timeout=30) as control:
        seeded = await control.post("/_emulator/seed", json={"tenants": [doc]})
        seeded.raise_for_status()
        users = {u["userPrincipalName"]: u["id"] for u in seeded.json()["tenants"][0]["users"]}

        async def expire_emulated(mailbox_id: str) -> None:
            (await control.post("/_emulator/delta/expire", json={"mailbox": mailbox_id})).raise_for_status()

        # Storage is never touched by the gateway; the settings only need to load.
        settings = load(app_env("UseDevelopmentStorage=true", GRAPH_BASE_URL=f"{emulator.url}/v1.0"))
        gateway = GraphGateway(settings)
        try:
            yield Backend("emulator", gateway, tenant_id, users, receiver_url, expire_emulated)
        finally:
            await gateway.close()
