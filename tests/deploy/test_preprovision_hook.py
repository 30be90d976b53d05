"""infra/hooks/preprovision.sh against a stand-in `azd` that keeps its environment in a
file: the platform key is made once (32 random bytes, base64url, 43 characters), kept on
later runs, and never printed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.templates import ROOT

HOOK = ROOT / "infra" / "hooks" / "preprovision.sh"

# `azd env get-value NAME` prints the value, or fails with an ERROR line when the name is
# not set; `azd env set NAME VALUE` stores it.
FAKE_AZD = r"""#!/bin/sh
store="$AZD_STORE"
touch "$store"
case "$1 $2" in
    "env get-value")
        value=$(sed -n "s/^$3=//p" "$store")
        if [ -z "$value" ]; then echo "ERROR: key '$3' not found in the environment values" >&2; exit 1; fi
        printf '%s\n' "$value" ;;
    "env set")
        grep -v "^$3=" "$store" > "$store.new" || true
        printf '%s=%s\n' "$3" "$4" >> "$store.new"
        mv "$store.new" "$store" ;;
    *) echo "fake azd: unexpected $*" >&2; exit 2 ;;
esac
"""

# What the hook may use besides azd; `openssl` is left out in one variant to exercise the
# /dev/urandom fallback.
TOOLS = ["sh", "dd", "base64", "tr", "sed", "grep", "mv", "touch", "cat", "head"]


def _bin(tmp_path: Path, *, with_openssl: bool) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    azd = bin_dir / "azd"
    azd.write_text(FAKE_AZD)
    azd.chmod(0o755)
    for tool in TOOLS + (["openssl"] if with_openssl else []):
        found = shutil.which(tool)
        if found is None:
            pytest.skip(f"{tool} is not installed")
        (bin_dir / tool).symlink_to(found)
    return bin_dir


def _run(bin_dir: Path, store: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(bin_dir), "AZD_STORE": str(store), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(["sh", str(HOOK)], capture_output=True, text=True, env=env, timeout=60, check=False)


def _stored(store: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in store.read_text().splitlines() if "=" in line)


@pytest.mark.parametrize("with_openssl", [True, False], ids=["openssl", "urandom"])
def test_hook_generates_the_platform_key_once(tmp_path: Path, with_openssl: bool) -> None:
    bin_dir = _bin(tmp_path, with_openssl=with_openssl)
    store = tmp_path / "azd.env"

    first = _run(bin_dir, store)
    assert first.returncode == 0, first.stderr
    key = _stored(store).get("CALSYNC_PLATFORM_KEY", "")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key), f"expected 43 base64url characters (32 bytes), got {key!r}"
    assert key not in first.stdout + first.stderr, "the hook must never print the key"

    second = _run(bin_dir, store)
    assert second.returncode == 0, second.stderr
    assert _stored(store)["CALSYNC_PLATFORM_KEY"] == key, "a second run must keep the key"
    assert "keeping it" in second.stdout


def test_hook_makes_a_different_key_per_environment(tmp_path: Path) -> None:
    bin_dir = _bin(tmp_path, with_openssl=True)
    keys = set()
    for name in ("a", "b"):
        store = tmp_path / f"{name}.env"
        assert _run(bin_dir, store).returncode == 0
        keys.add(_stored(store)["CALSYNC_PLATFORM_KEY"])
    assert len(keys) == 2


def test_hook_fails_without_azd(tmp_path: Path) -> None:
    bin_dir = _bin(tmp_path, with_openssl=True)
    (bin_dir / "azd").unlink()
    result = _run(bin_dir, tmp_path / "azd.env")
    assert result.returncode != 0 and "azd is not on PATH" in result.stderr
