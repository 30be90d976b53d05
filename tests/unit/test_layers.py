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


EMULATOR = ROOT / "devtools" / "graph_emulator"


def _emulator_imports() -> dict[str, set[str]]:
    """Each emulator module → the emulator modules it imports at run time (not under
    `if TYPE_CHECKING:`), `from package import module` counted as the module."""
    import ast

    names = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p for p in EMULATOR.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        tree = ast.parse(path.read_text())
        checked = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)
        }
        found: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in checked or not isinstance(node, ast.ImportFrom | ast.Import):
                continue
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name in names}
            elif node.module:
                found |= {node.module} & names.keys()
                found |= {f"{node.module}.{a.name}" for a in node.names} & names.keys()
        graph[name] = found - {name}
    return graph


def test_the_emulator_has_no_import_cycle() -> None:
    graph = _emulator_imports()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " → ".join((*path[path.index(name) :], name))
        if name in done:
            return
        for child in sorted(graph[name]):
            visit(child, (*path, name))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())


def test_no_emulator_module_is_over_about_400_lines() -> None:
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines()) for p in EMULATOR.rglob("*.py")}
    assert max(sizes.values()) <= 420, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
