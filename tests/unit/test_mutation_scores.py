"""`make mutation`'s table: mutmut's results counted per module (devtools/mutation_scores.py)."""

from __future__ import annotations

from devtools.mutation_scores import scores


def test_results_are_counted_per_module() -> None:
    lines = [
        "    shared.core.inbound.x_plan__mutmut_1: killed",
        "    shared.core.inbound.x_plan__mutmut_2: survived",
        "    shared.core.inbound.x__answers__mutmut_7: timeout",
        "    shared.core.mapping.x_normalize__mutmut_3: no tests",
        "noise that is not a result",
    ]
    table = scores(lines)
    assert dict(table["shared.core.inbound"]) == {"killed": 1, "survived": 1, "timeout": 1}
    assert dict(table["shared.core.mapping"]) == {"no tests": 1}
