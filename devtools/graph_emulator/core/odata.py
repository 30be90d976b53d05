"""The slice of OData the emulator understands: $filter, $select, $expand, $top.

`parse_filter` also reports which operators a filter uses (`Filter.features`), so a caller
can apply Graph's per-API rules, e.g. the directory's "advanced query" operators
(concepts/aad-advanced-queries.md). The `all` lambda is refused everywhere: "Currently, it
isn't supported in Microsoft Graph" (concepts/filter-query-parameter.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')"
    r"|(?P<when>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<punc>[(),:])"
    r"|(?P<word>[A-Za-z_@$][A-Za-z0-9_./@$-]*))"
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


class ODataError(ValueError):
    """A query option the emulator cannot parse (Graph answers 400 BadRequest)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ODataError(f"Invalid filter clause: syntax error at position {pos} in '{text}'.")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


Predicate = Callable[[dict[str, Any], dict[str, Any]], bool]


def _lookup(item: Any, path: str, scope: dict[str, Any]) -> Any:
    if path.lower().endswith("/$count"):  # `collection/$count`: the collection's size
        collection = _lookup(item, path[: -len("/$count")], scope)
        return len(collection) if isinstance(collection, list) else 0
    parts = path.split("/")
    if parts[0] in scope:
        item, parts = scope[parts[0]], parts[1:]
    for part in parts:
        if not isinstance(item, dict):
            return None
        item = next((v for k, v in item.items() if k.lower() == part.lower()), None)
    return item


class _When(str):
    """A DateTimeOffset literal: compares only with a date-time property."""


def _compare(left: Any, op: str, right: Any) -> bool:
    if isinstance(right, _When):
        try:
            left = datetime.fromisoformat(str(left).replace("Z", "+00:00"))
        except ValueError:
            return False
        right = datetime.fromisoformat(right.replace("Z", "+00:00"))
        if left.tzinfo is None:
            return False
    if isinstance(left, str) and isinstance(right, str):
        left, right = left.lower(), right.lower()
        try:  # dates compare as dates whatever their precision
            left, right = datetime.fromisoformat(left.rstrip("z")), datetime.fromisoformat(right.rstrip("z"))
        except ValueError:
            pass
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if left is None or right is None:
        return False
    try:
        return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
    except TypeError:
        return False


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.text = text
        # Operators and functions seen: eq ne gt ge lt le in not startswith endswith contains
        # any count, and "lambda:<op>" for what a lambda body uses besides eq/and/or.
        self.features: set[str] = set()

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1].lower() != value):
            raise ODataError(f"Invalid filter clause: expected {value or 'more'} in '{self.text}'.")
        self.i += 1
        return tok

    def parse(self) -> Predicate:
        pred = self.or_expr()
        if self.peek() is not None:
            raise ODataError(f"Invalid filter clause: unexpected '{self.peek()[1]}' in '{self.text}'.")
        return pred

    def or_expr(self) -> Predicate:
        left = self.and_expr()
        while (tok := self.peek()) and tok[1].lower() == "or":
            self.take()
            right = self.and_expr()
            left = (lambda a, b: lambda it, sc: a(it, sc) or b(it, sc))(left, right)
        return left

    def and_expr(self) -> Predicate:
        left = self.unary()
        while (tok := self.peek()) and tok[1].lower() == "and":
            self.take()
            right = self.unary()
            left = (lambda a, b: lambda it, sc: a(it, sc) and b(it, sc))(left, right)
        return left

    def unary(self) -> Predicate:
        tok = self.peek()
        if tok and tok[1].lower() == "not":
            self.take()
            self.features.add("not")
            inner = self.unary()
            return lambda it, sc: not inner(it, sc)
        if tok and tok[1] == "(":
            self.take("(")
            inner = self.or_expr()
            self.take(")")
            return inner
        return self.primary()

    def literal(self) -> Any:
        kind, value = self.take()
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind == "when":  # a DateTimeOffset literal, unquoted (OData ABNF; python-o365 issue #327)
            return _When(value)
        if kind == "num":
            return float(value) if "." in value else int(value)
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        raise ODataError(f"Invalid filter clause: expected a literal, got '{value}'.")

    def primary(self) -> Predicate:
        kind, word = self.take()
        if kind != "word":
            raise ODataError(f"Invalid filter clause: unexpected '{word}' in '{self.text}'.")
        low = word.lower()
        if low in ("startswith", "endswith", "contains") and self.peek() and self.peek()[1] == "(":
            self.features.add(low)
            self.take("(")
            _, path = self.take()
            self.take(",")
            value = self.literal()
            self.take(")")

            def fn(it: dict[str, Any], sc: dict[str, Any], path: str = path, value: Any = value) -> bool:
                got = _lookup(it, path, sc)
                if not isinstance(got, str) or not isinstance(value, str):
                    return False
                got, want = got.lower(), value.lower()
                return {"startswith": got.startswith, "endswith": got.endswith}.get(low, got.__contains__)(want)

            return fn
        m = re.fullmatch(r"(.+)/(any|all)", word, re.IGNORECASE)
        if m and self.peek() and self.peek()[1] == "(":
            collection, quantifier = m.group(1), m.group(2).lower()
            if quantifier == "all":
                raise ODataError("Invalid filter clause: the 'all' operator is not supported.")
            self.take("(")
            _, var = self.take()
            self.take(":")
            outer, self.features = self.features, set()
            body = self.or_expr()
            self.take(")")
            inner, self.features = self.features, outer
            self.features |= inner | {"any"} | {f"lambda:{op}" for op in inner - {"eq"}}

            def lam(it: dict[str, Any], sc: dict[str, Any]) -> bool:
                items = _lookup(it, collection, sc) or []
                check = any if quantifier == "any" else all
                return check(body(it, {**sc, var: element}) for element in items)

            return lam
        op = self.take()[1].lower()
        if word.lower().endswith("/$count"):
            self.features.add("count")
        if op == "in":
            self.features.add("in")
            self.take("(")
            values = [self.literal()]
            while self.peek() and self.peek()[1] == ",":
                self.take(",")
                values.append(self.literal())
            self.take(")")
            return lambda it, sc: any(_compare(_lookup(it, word, sc), "eq", v) for v in values)
        if op not in _OPS:
            raise ODataError(f"Invalid filter clause: unsupported operator '{op}'.")
        self.features.add(op)
        value = self.literal()
        return lambda it, sc: _compare(_lookup(it, word, sc), op, value)


class Filter:
    """A parsed $filter: call it on an item; `features` names the operators it uses."""

    def __init__(self, text: str) -> None:
        parser = _Parser(text)
        self._pred = parser.parse()
        self.features = frozenset(parser.features)

    def __call__(self, item: dict[str, Any]) -> bool:
        return bool(self._pred(item, {}))


def parse_filter(text: str) -> Filter:
    return Filter(text)


def apply_select(
    item: dict[str, Any],
    select: str | None,
    keep: tuple[str, ...] = ("id", "@odata.etag", "singleValueExtendedProperties"),
) -> dict:
    """Only the selected properties (plus the id, etag and anything $expand added)."""
    if not select:
        return item
    wanted = {s.strip().lower() for s in select.split(",") if s.strip()}
    return {k: v for k, v in item.items() if k.lower() in wanted or k in keep or k.startswith("@odata")}


def parse_expand_extended(expand: str | None) -> Callable[[dict[str, Any]], bool] | None:
    """`singleValueExtendedProperties($filter=id eq '…')` → a predicate over {id, value}."""
    if not expand:
        return None
    m = re.fullmatch(r"\s*singleValueExtendedProperties(?:\(\$filter=(.+)\))?\s*", expand, re.IGNORECASE)
    if not m:
        raise ODataError(f"Parsing OData Select and Expand failed: Could not find a property named '{expand}'.")
    return parse_filter(m.group(1)) if m.group(1) else (lambda _item: True)
