"""Mutation scores per module, from the last `mutmut run` (make mutation).

    .venv/bin/python -m devtools.mutation_scores

Reads `mutmut results --all true` and prints, per mutated module, how many mutants the fast
suites killed (a timeout counts as killed: the mutant made a test hang), survived, or were
reached by no test; docs/mutation.md keeps the last table and the survivors judged
equivalent, each with its reason.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

LINE = re.compile(r"^\s*(?P<name>[\w.]+)__mutmut_\d+: (?P<status>.+)$")
KILLED = {"killed", "timeout", "caught by type check"}


def scores(lines: list[str]) -> dict[str, Counter[str]]:
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for line in lines:
        found = LINE.match(line)
        if not found:
            continue
        module = found["name"].rsplit(".", 1)[0]  # shared.core.inbound.x_plan → shared.core.inbound
        by_module[module][found["status"]] += 1
    return by_module


def main() -> int:
    mutmut = Path(sys.executable).with_name("mutmut")
    out = subprocess.run([str(mutmut), "results", "--all", "true"], capture_output=True, text=True, check=True)
    table = scores(out.stdout.splitlines())
    print(f"{'module':<32} {'mutants':>8} {'killed':>8} {'survived':>9} {'no tests':>9} {'score':>7}")
    total: Counter[str] = Counter()
    for module, counts in sorted(table.items()):
        total.update(counts)
        n, killed = sum(counts.values()), sum(counts[s] for s in KILLED)
        print(f"{module:<32} {n:>8} {killed:>8} {counts['survived']:>9} {counts['no tests']:>9} {killed / n:>7.1%}")
    n, killed = sum(total.values()), sum(total[s] for s in KILLED)
    if n:
        print(f"{'all':<32} {n:>8} {killed:>8} {total['survived']:>9} {total['no tests']:>9} {killed / n:>7.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
