"""Reading infra/ offline: parse the Bicep with pycep and evaluate what the tests need.

pycep (pycep-parser, pinned in requirements-dev.txt) turns a .bicep file into JSON. Its
JSON writes an identifier and a string literal alike (`name: storageName` and
`name: 'storage'` both become a plain string), so a string is read as a reference when it
names a parameter, variable, resource or module of its file, and as a literal otherwise.
Interpolations stay as their `${...}` source text.

`Evaluator` computes parameter defaults, variables, `union`, `string`, `empty`, `==`, `!=`,
`!`, `&&`, `||` and `?:` — enough for the app settings and the scale settings. Anything it
cannot know offline (a resource's runtime property, a module output, `uniqueString`, …)
stays an `Opaque` value naming the expression; a string built from literals and opaque
parts is an `Interp`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")


@cache
def _parser() -> BicepParser:
    return BicepParser()


def parse(path: Path) -> dict[str, Any]:
    """pycep's JSON of one .bicep file (raises on a syntax error)."""
    return _parser().parse(text=path.read_text())


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@dataclass(frozen=True)
class Opaque:
    """A value Azure knows only at deployment (a module output, a runtime property, …)."""

    expression: str

    def stand_in(self) -> str:
        """A stable, plausible value for offline use: lowercase letters and digits, so it
        fits a storage account name, a host name label or an id."""
        return "x" + hashlib.sha1(self.expression.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Interp:
    """An interpolated string: literal text and opaque parts, in order."""

    parts: tuple[str | Opaque, ...]

    @property
    def literal_prefix(self) -> str:
        out = ""
        for part in self.parts:
            if not isinstance(part, str):
                break
            out += part
        return out

    def render(self) -> str:
        return "".join(p if isinstance(p, str) else p.stand_in() for p in self.parts)


Value = Any  # str | int | bool | None | list | dict | Opaque | Interp


def literal_prefix(value: Value) -> str | None:
    """The literal text a string value starts with (None for a non-string)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Interp):
        return value.literal_prefix
    return None


def render(value: Value) -> str:
    """A value as an app setting string, opaque parts replaced by their stand-ins."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (Opaque, Interp)):
        return value.stand_in() if isinstance(value, Opaque) else value.render()
    return str(value)


class Evaluator:
    """Evaluates expressions of one parsed file, given its parameters' values."""

    def __init__(self, doc: dict[str, Any], params: dict[str, Value]) -> None:
        self.doc = doc
        self.params = params
        self.variables: dict[str, Any] = doc.get("variables") or {}
        self.symbols = (
            set(doc.get("parameters") or {})
            | set(self.variables)
            | set(doc.get("resources") or {})
            | set(doc.get("modules") or {})
        )
        self._evaluating: set[str] = set()

    def bind(self, name: str, value: Value) -> Evaluator:
        """The same file with a loop variable bound."""
        child = Evaluator(self.doc, {**self.params, name: value})
        child.symbols.add(name)
        return child

    # -- references --------------------------------------------------------------------
    def reference(self, name: str) -> Value:
        if name in self.params:
            return self.params[name]
        if name in self.variables:
            if name in self._evaluating:
                raise ValueError(f"variable {name} refers to itself")
            self._evaluating.add(name)
            try:
                return self.eval(self.variables[name]["value"])
            finally:
                self._evaluating.discard(name)
        return Opaque(name)

    def dotted(self, text: str) -> Value:
        head, *rest = [part.strip() for part in text.split(".")]
        value = self.reference(head) if head in self.symbols else Opaque(text)
        for attr in rest:
            value = value.get(attr, Opaque(text)) if isinstance(value, dict) else Opaque(text)
        return value

    # -- expressions -------------------------------------------------------------------
    def eval(self, expr: Any) -> Value:
        if expr is None or isinstance(expr, (bool, int, float)):
            return expr
        if isinstance(expr, str):
            return self._string(expr)
        if isinstance(expr, list):
            return [self.eval(item) for item in expr]
        if isinstance(expr, dict):
            if set(expr) == {"operator"}:
                return self._operator(expr["operator"])
            if set(expr) == {"function"}:
                return self._function(expr["function"])
            return {self._key(key): self.eval(value) for key, value in expr.items()}
        raise TypeError(f"unexpected pycep value {expr!r}")

    def _key(self, key: str) -> Value:
        """An object key: a name or a quoted string, interpolated ('${id}': {}) — never a reference."""
        text = _unquote(key)
        return self._string(text) if "${" in text else text

    def _string(self, text: str) -> Value:
        if _IDENTIFIER.fullmatch(text) and text in self.symbols:
            return self.reference(text)
        if "${" not in text:
            return text
        parts: list[str | Opaque] = []
        pos = 0
        for match in _INTERPOLATION.finditer(text):
            if match.start() > pos:
                parts.append(text[pos : match.start()])
            value = self.dotted(match.group(1))
            if isinstance(value, Interp):
                parts.extend(value.parts)
            elif isinstance(value, (str, int)) and not isinstance(value, bool):
                parts.append(str(value))
            elif isinstance(value, Opaque):
                parts.append(value)
            else:
                parts.append(Opaque(match.group(1)))
            pos = match.end()
        if pos < len(text):
            parts.append(text[pos:])
        if all(isinstance(p, str) for p in parts):
            return "".join(parts)  # type: ignore[arg-type]
        if len(parts) == 1:
            return parts[0]  # '${x}' is x
        return Interp(tuple(parts))

    def _operator(self, op: dict[str, Any]) -> Value:
        kind, operands = op["type"], op.get("operands") or {}
        if kind == "conditional":
            condition = self.eval(operands["condition"])
            if not isinstance(condition, bool):
                return Opaque(f"condition {json.dumps(operands['condition'])}")
            return self.eval(operands["true_value"] if condition else operands["false_value"])
        if kind == "property_accessor":
            path = _dotted_path(op)
            if path is None:
                return Opaque(f"property of {json.dumps(operands)}")
            return self.dotted(path)
        values = [self.eval(v) for v in operands.values()]
        if any(isinstance(v, (Opaque, Interp)) for v in values):
            return Opaque(f"{kind} {json.dumps(operands)}")
        if kind == "equals":
            return values[0] == values[1]
        if kind == "not_equals":
            return values[0] != values[1]
        if kind == "and":
            return all(values)
        if kind == "or":
            return any(values)
        if kind == "not":
            return not values[0]
        if kind == "greater_than":
            return values[0] > values[1]
        return Opaque(f"{kind} {json.dumps(operands)}")

    def _function(self, fn: dict[str, Any]) -> Value:
        kind = fn["type"]
        args = [self.eval(v) for v in (fn.get("parameters") or {}).values()]
        if kind == "union" and all(isinstance(a, dict) for a in args):
            merged: dict[str, Value] = {}
            for arg in args:
                merged.update(arg)
            return merged
        if any(isinstance(a, (Opaque, Interp)) for a in args):
            return Opaque(f"{kind}(…)")
        if kind == "string" and len(args) == 1:
            return render(args[0])
        if kind == "empty" and len(args) == 1:
            return not args[0]
        return Opaque(f"{kind}(…)")


def _dotted_path(op: dict[str, Any]) -> str | None:
    """`a.b.c` for pycep's nested property accessors of plain names, else None."""
    operands = op.get("operands") or {}
    parts = []
    for operand in (operands.get("operand_1"), operands.get("operand_2")):
        if isinstance(operand, str) and _IDENTIFIER.fullmatch(operand):
            parts.append(operand)
        elif (
            isinstance(operand, dict)
            and set(operand) == {"operator"}
            and operand["operator"]["type"] == "property_accessor"
        ):
            inner = _dotted_path(operand["operator"])
            if inner is None:
                return None
            parts.append(inner)
        else:
            return None
    return ".".join(parts)


def _unquote(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == "'" else key


def parameter_values(doc: dict[str, Any], given: dict[str, Value]) -> dict[str, Value]:
    """Every parameter of a file: the given value, else its default, else Opaque."""
    out: dict[str, Value] = {}
    bare = Evaluator(doc, {})
    for name, decl in (doc.get("parameters") or {}).items():
        if name in given:
            out[name] = given[name]
        elif decl.get("default") is not None:
            out[name] = bare.eval(decl["default"])
        else:
            out[name] = Opaque(f"param {name}")
    return out


@dataclass
class Deployment:
    """main.bicep evaluated for one set of parameter values, with its local modules."""

    main_params: dict[str, Value]

    def __post_init__(self) -> None:
        self.main = parse(MAIN)
        self.main_eval = Evaluator(self.main, parameter_values(self.main, self.main_params))

    def modules(self) -> dict[str, tuple[Path, dict[str, Any], Evaluator]]:
        """Each local module of main.bicep: (file, parsed file, evaluator over the values
        main.bicep passes it)."""
        out = {}
        for name, module in (self.main.get("modules") or {}).items():
            path = (MAIN.parent / module["detail"]["path"]).resolve()
            doc = parse(path)
            passed = self.main_eval.eval(module["config"].get("params") or {})
            out[name] = (path, doc, Evaluator(doc, parameter_values(doc, passed)))
        return out

    def resources(self, resource_type: str) -> list[tuple[str, dict[str, Any], Evaluator]]:
        """Every resource of a type in the modules: (symbolic name, its config, evaluator).
        A `for` loop yields one entry per item (`name[i]`, its loop variable bound); a
        resource whose `if` condition is false is left out."""
        found = []
        for _name, (_path, doc, evaluator) in self.modules().items():
            for symbol, resource in (doc.get("resources") or {}).items():
                if resource.get("type", "").lower() != resource_type.lower():
                    continue
                config = resource["config"]
                if "loop_type" in config:
                    loop = config["loop_type"]
                    assert loop["type"] == "array", f"{symbol}: unsupported loop {loop}"
                    items = evaluator.eval(loop["detail"]["array_name"])
                    assert isinstance(items, list), f"{symbol}: loop over {items}"
                    for i, item in enumerate(items):
                        found.append(
                            (f"{symbol}[{i}]", config["config"], evaluator.bind(loop["detail"]["item_name"], item))
                        )
                    continue
                if "condition" in config and config["condition"] is not None:
                    if evaluator.eval(config["condition"]) is False:
                        continue
                    config = config["config"]
                found.append((symbol, config, evaluator))
        return found

    def app_settings(self) -> dict[str, Value]:
        """The function app's settings: `appsettings` config resources and any
        siteConfig.appSettings of a Microsoft.Web/sites resource."""
        settings: dict[str, Value] = {}
        for _symbol, config, evaluator in self.resources("Microsoft.Web/sites"):
            site_config = evaluator.eval(config.get("properties") or {}).get("siteConfig") or {}
            for item in site_config.get("appSettings") or []:
                settings[render(item["name"])] = item.get("value")
        for _symbol, config, evaluator in self.resources("Microsoft.Web/sites/config"):
            if evaluator.eval(config.get("name")) == "appsettings":
                properties = evaluator.eval(config.get("properties"))
                assert isinstance(properties, dict), (
                    f"appsettings properties did not evaluate to an object: {properties}"
                )
                settings.update(properties)
        return settings

    def site(self) -> tuple[dict[str, Any], Evaluator]:
        sites = self.resources("Microsoft.Web/sites")
        assert len(sites) == 1, f"expected one Microsoft.Web/sites resource, found {[s[0] for s in sites]}"
        _symbol, config, evaluator = sites[0]
        return config, evaluator
