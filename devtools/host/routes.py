"""ASP.NET Core route templates (as the Functions host uses them) compiled to regexes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_PARAM = re.compile(r"\{([^{}]+)\}")

# Constraint name → regex for the value (the host checks these before routing).
_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "alpha": r"[A-Za-z]+",
    "bool": r"(?i:true|false)",
    "guid": r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
    "decimal": r"-?\d+(?:\.\d+)?",
    "double": r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?",
    "float": r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?",
    "datetime": r"\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+)?",
}


class RouteTemplateError(ValueError):
    pass


@dataclass
class Route:
    template: str
    regex: re.Pattern[str]
    defaults: dict[str, str]
    checks: list[tuple[str, str, tuple[int, ...]]] = field(default_factory=list)
    rank: tuple[int, ...] = ()

    def match(self, path: str) -> dict[str, str] | None:
        m = self.regex.fullmatch(path)
        if m is None:
            return None
        values = {k: v for k, v in m.groupdict().items() if v is not None}
        for name, kind, args in self.checks:
            value = values.get(name)
            if value is None:
                continue
            if kind in ("min", "max", "range"):
                number = int(value)
                lo = args[0] if kind in ("min", "range") else None
                hi = args[-1] if kind in ("max", "range") else None
                if (lo is not None and number < lo) or (hi is not None and number > hi):
                    return None
            elif (
                (kind == "minlength" and len(value) < args[0])
                or (kind == "maxlength" and len(value) > args[0])
                or (kind == "length" and not (args[0] <= len(value) <= args[-1]))
            ):
                return None
        for name, default in self.defaults.items():
            values.setdefault(name, default)
        return values


def _split_constraints(spec: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in spec:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == ":" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def compile_route(template: str) -> Route:
    """Compile e.g. `orgs/{org}/items/{id:int?}` or `files/{*path}` (case-insensitive)."""
    template = template.strip("/")
    segments = template.split("/") if template else []
    pattern = ""
    defaults: dict[str, str] = {}
    checks: list[tuple[str, str, tuple[int, ...]]] = []
    rank: list[int] = []
    for index, segment in enumerate(segments):
        pieces = _PARAM.split(segment)
        seg_regex = ""
        optional_segment = False
        seg_rank = 0
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                seg_regex += re.escape(piece)
                continue
            raw = piece
            catch_all = raw.startswith("*")
            raw = raw.lstrip("*")
            optional = raw.endswith("?")
            raw = raw.rstrip("?")
            name_part, _, default = raw.partition("=")
            name, *constraints = _split_constraints(name_part)
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise RouteTemplateError(f"bad parameter name {name!r} in {template!r}")
            if default:
                defaults[name] = default
                optional = True
            value_regex = r".*" if catch_all else r"[^/]+"
            for constraint in constraints:
                cname, _, cargs = constraint.partition("(")
                cargs = cargs.rstrip(")")
                if cname in _CONSTRAINTS:
                    value_regex = _CONSTRAINTS[cname]
                elif cname == "regex":
                    # The host tests the value alone, so anchors are implied.
                    value_regex = f"(?:{cargs.removeprefix('^').removesuffix('$')})"
                elif cname in ("min", "max", "range", "minlength", "maxlength", "length"):
                    checks.append((name, cname, tuple(int(a) for a in cargs.split(","))))
                    if cname in ("min", "max", "range"):
                        value_regex = _CONSTRAINTS["long"]
                else:
                    raise RouteTemplateError(f"unknown route constraint {cname!r} in {template!r}")
            seg_rank = max(seg_rank, 4 if catch_all else (3 if optional else (1 if constraints else 2)))
            seg_regex += f"(?P<{name}>{value_regex})"
            if optional or catch_all:
                optional_segment = len(pieces) == 3 and not pieces[0] and not pieces[2]
                if not optional_segment:
                    seg_regex = seg_regex[: -len(f"(?P<{name}>{value_regex})")] + f"(?P<{name}>{value_regex})?"
        rank.append(seg_rank)
        if optional_segment:
            pattern += f"(?:/{seg_regex})?" if index else f"(?:{seg_regex})?"
        else:
            pattern += f"/{seg_regex}" if index else seg_regex
    return Route(template, re.compile(pattern, re.IGNORECASE | re.DOTALL), defaults, checks, tuple(rank))


def order_routes(routes: list[tuple[Route, Any]]) -> list[tuple[Route, Any]]:
    """Literal segments win over parameters, constrained over plain, catch-all last."""
    return sorted(routes, key=lambda item: (item[0].rank + (5,) * (32 - len(item[0].rank)), item[0].template))
