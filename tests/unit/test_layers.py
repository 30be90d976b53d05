"""The layers hold: the pure core loads no SDK, and no module in shared/ grows past ~400
lines (import-linter checks the arrows between layers; this checks what it cannot)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = sorted(p for p in (ROOT / "shared" / "core").glob("*.py"))
SDKS = ("msgraph", "azure", "kiota", "httpx", "aiohttp")


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.stem)
def test_importing_a_core_module_loads_no_sdk_and_no_other_layer(path: Path) -> None:
    module = "shared.core" if path.stem == "__init__" else f"shared.core.{path.stem}"
    probe = (
        f"import {module}, sys; "
        f"print(sorted(m for m in sys.modules if m.startswith({SDKS!r}) "
        "or m.startswith(('shared.service', 'shared.adapters', 'shared.bootstrap'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"{module} loads {out.stdout.strip()}"


def test_no_module_in_shared_is_over_about_400_lines() -> None:
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines()) for p in (ROOT / "shared").rglob("*.py")}
    assert max(sizes.values()) <= 420, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
