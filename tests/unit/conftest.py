"""Fixtures shared by the unit tests."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest


@pytest.fixture
def host_in_tokyo() -> Iterator[None]:
    """A Functions host whose own zone is far from UTC (WEBSITE_TIME_ZONE / TZ, a developer's
    laptop): nothing calsync computes may follow it. TZ is put back, and read again, after."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "Asia/Tokyo")
        time.tzset()
        yield
    time.tzset()  # after the context put TZ back as it was
