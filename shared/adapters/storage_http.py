"""What the Table and Queue clients' HTTP transport (azure-core's aiohttp) is told once.

With `use_env_settings` (azure-core's default) aiohttp runs with `trust_env`: every request
looks up the proxy variables and ~/.netrc, in an executor thread — about a fifth of the
local host's busy time at 400 notifications/s (docs/benchmarks.md). Whether a proxy is set
does not change while the process runs: look once, and only where one is set keep the
per-request lookup that honours it."""

from __future__ import annotations

import urllib.request
from functools import lru_cache


@lru_cache(maxsize=1)
def use_env_settings() -> bool:
    return bool(urllib.request.getproxies())
