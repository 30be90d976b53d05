"""Shared fixtures: a real Azurite per test session, helpers to run the local host."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from devtools.services import Service, free_port, start_azurite, start_python
from shared.adapters.settings import load

TEST_KEY = "test-function-key"


@pytest.fixture(scope="session")
def azurite() -> Iterator[Service]:
    service = start_azurite()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def emulator() -> Iterator[Service]:
    """The Graph emulator, empty; tests seed tenants of their own."""
    port = free_port()
    service = start_python(
        "graph emulator",
        "devtools.graph_emulator",
        ["--port", str(port)],
        {},
        f"http://127.0.0.1:{port}/_emulator/tenants",
    )
    service.url = f"http://127.0.0.1:{port}"
    yield service
    service.stop()


@pytest.fixture(scope="session")
def storage_conn(azurite: Service) -> str:
    return azurite.env["AzureWebJobsStorage"]


def app_env(storage_conn: str, **extra: str) -> dict[str, str]:
    """Environment for the real app pointed at the test Azurite (and, later, the emulator)."""
    env = {
        "AzureWebJobsStorage": storage_conn,
        "GRAPH_AUTH_MODE": "emulator",
        "GRAPH_BASE_URL": "http://127.0.0.1:7072/v1.0",
        "CALSYNC_PUBLIC_BASE_URL": "http://127.0.0.1:7071",
        "CALSYNC_FUNCTION_KEY": TEST_KEY,
        # Failed queue messages retry at once and queues are polled often: tests stay fast.
        "AzureFunctionsJobHost__extensions__queues__visibilityTimeout": "00:00:00",
        "AzureFunctionsJobHost__extensions__queues__maxPollingInterval": "00:00:00.5",
    }
    env.update(extra)
    return env


@pytest.fixture
def settings_for(storage_conn: str):
    def make(**extra: str):
        return load(app_env(storage_conn, **extra))

    return make


def read_queue(conn: str, name: str, max_messages: int = 32, *, raw: bool = False) -> list[str]:
    """Receive and delete up to max_messages (Base64-decoded text unless raw)."""
    client = QueueClient.from_connection_string(conn, name)
    out: list[str] = []
    try:
        for message in client.receive_messages(max_messages=max_messages, visibility_timeout=5):
            out.append(message.content if raw else base64.b64decode(message.content).decode())
            client.delete_message(message)
    except ResourceNotFoundError:
        pass  # not created yet: nothing sent to it
    finally:
        client.close()
    return out


def send_queue(conn: str, name: str, text: str, *, raw: bool = False) -> None:
    client = QueueClient.from_connection_string(conn, name)
    try:
        try:
            client.create_queue()
        except Exception:
            pass
        client.send_message(text if raw else base64.b64encode(text.encode()).decode())
    finally:
        client.close()


@pytest.fixture(autouse=True, scope="session")
def _no_stray_settings() -> None:
    # Tests build their environment explicitly; a developer's shell must not leak in.
    for name in ("GRAPH_CLIENT_SECRET", "AzureWebJobsStorage"):
        os.environ.pop(name, None)
