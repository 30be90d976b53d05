"""Fixtures for the Graph emulator contract suite: the emulator, a tenant, a webhook receiver."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web
from msgraph import GraphServiceClient

from devtools.services import Service, free_port
from shared.adapters.graph_auth import graph_client
from shared.adapters.settings import load


@dataclass
class Tenant:
    id: str
    users: dict[str, str]  # upn → id
    base: str
    control: httpx.AsyncClient

    def uid(self, name: str) -> str:
        return self.users[f"{name}@fabrikam.test"]

    def client(self) -> GraphServiceClient:
        settings = load(
            {
                "AzureWebJobsStorage": "UseDevelopmentStorage=true",
                "GRAPH_AUTH_MODE": "emulator",
                "GRAPH_BASE_URL": f"{self.base}/v1.0",
                "CALSYNC_PUBLIC_BASE_URL": "http://127.0.0.1:1",
            }
        )
        return graph_client(settings, self.id)[0]

    def raw(self, tenant_id: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"{self.base}/v1.0",
            timeout=30,
            headers={"Authorization": f"Bearer emulator:{tenant_id or self.id}"},
        )


def tenant_doc(tenant_id: str, domain: str = "fabrikam.test", rooms: int = 2) -> dict[str, Any]:
    people = ["ada", "bob", "cyd", "dee"]
    users: list[dict[str, Any]] = [
        {"userPrincipalName": f"{p}@{domain}", "displayName": p.title() + " Test"} for p in people
    ]
    users.append({"userPrincipalName": f"nomail@{domain}", "displayName": "No Mail", "hasMailbox": False})
    users += [
        {"userPrincipalName": f"room{i}@{domain}", "displayName": f"Room {i}", "userPurpose": "room", "capacity": 4 + i}
        for i in range(rooms)
    ]
    users.append({"userPrincipalName": f"beamer@{domain}", "displayName": "Beamer", "userPurpose": "equipment"})
    return {
        "id": tenant_id,
        "domain": domain,
        "users": users,
        "roomLists": [
            {
                "emailAddress": f"rooms@{domain}",
                "displayName": "All rooms",
                "rooms": [f"room{i}@{domain}" for i in range(rooms)],
            }
        ],
    }


@pytest.fixture
async def tenant(emulator: Service) -> AsyncIterator[Tenant]:
    async with httpx.AsyncClient(base_url=emulator.url, timeout=30) as control:
        await control.post("/_emulator/reset")
        tid = str(uuid.uuid4())
        seeded = (await control.post("/_emulator/seed", json={"tenants": [tenant_doc(tid)]})).json()
        users = {u["userPrincipalName"]: u["id"] for u in seeded["tenants"][0]["users"]}
        yield Tenant(tid, users, emulator.url, control)


@dataclass
class Receiver:
    """A webhook endpoint: answers validation as told and records every POST."""

    url: str = ""
    validation: str = "echo"  # echo | wrong | slow | json
    slow_seconds: float = 11  # how long a "slow" validation answer takes
    fail_next: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    queries: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        token = request.query.get("validationToken")
        if token is not None:
            if self.validation == "slow":
                await asyncio.sleep(self.slow_seconds)
            if self.validation == "wrong":
                return web.Response(text="not the token", content_type="text/plain")
            if self.validation == "json":
                return web.json_response({"token": token})
            return web.Response(text=token, content_type="text/plain")
        body = await request.json()
        self.queries.append(dict(request.query))
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=503)
        self.received.append(body)
        return web.Response(status=202)

    def items(self) -> list[dict[str, Any]]:
        return [item for body in self.received for item in body["value"]]

    async def wait_for(self, count: int, within: float = 10) -> list[dict[str, Any]]:
        deadline = asyncio.get_running_loop().time() + within
        while len(self.items()) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} notifications, got {len(self.items())}")
            await asyncio.sleep(0.05)
        return self.items()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    rec.url = f"http://127.0.0.1:{port}/hook"
    yield rec
    await runner.cleanup()
