"""The storage clients look up proxies per request only where a proxy is set."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.adapters.storage_http import use_env_settings

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    use_env_settings.cache_clear()
    yield
    use_env_settings.cache_clear()


def test_no_proxy_in_the_environment_means_no_per_request_lookup() -> None:
    assert use_env_settings() is False


def test_a_proxy_in_the_environment_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert use_env_settings() is True
