"""Check a JSON value against Microsoft's Graph v1.0 schema (the extract in v1.0-calsync.json).

`problems(type, value)` lists what the schema does not allow: a property the type (or its
base types) does not declare, a value of the wrong JSON type, an enum value that is not a
member. Annotations (`@odata.type`, `@odata.etag`, `@removed`, `name@odata.…`) are allowed; an
`@odata.type` names the type to check against (a derived type of the declared one). Open types
(event, user) are checked as closed: calsync sends and reads only declared properties; an open
type that declares nothing (resourceData) holds anything.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).with_name("v1.0-calsync.json")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?")
_INTEGERS = {"Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"}
_NUMBERS = {"Edm.Double", "Edm.Single", "Edm.Decimal"}
_STRINGS = {"Edm.String", "Edm.Guid", "Edm.Duration", "Edm.Binary"}


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


def _types() -> dict[str, Any]:
    return schema()["types"]


def _bare(type_ref: str) -> str:
    return type_ref if type_ref.startswith("Edm.") else type_ref.rsplit(".", 1)[-1]


def members(name: str) -> tuple[dict[str, str], dict[str, str]]:
    """(properties, navigation properties) of a structured type, its base types' included."""
    props: dict[str, str] = {}
    navs: dict[str, str] = {}
    node: dict[str, Any] | None = _types()[name]
    while node is not None:
        props.update(node.get("properties", {}))
        navs.update(node.get("navigation", {}))
        node = _types().get(node["base"]) if node.get("base") else None
    return props, navs


def _derives(name: str, ancestor: str) -> bool:
    while True:
        if name == ancestor:
            return True
        base = _types().get(name, {}).get("base")
        if not base:
            return False
        name = base


def problems(type_ref: str, value: Any, where: str = "", *, exact: bool = True) -> list[str]:
    """What in `value` the schema's `type_ref` (`graph.event`, `Collection(Edm.String)`, …) does
    not allow, each naming where (`attendees[0].type`). `exact`: enum members in their case
    (Graph's answers); a request's may differ in case (user-post-events.md's Example 3 sends
    `"daysOfWeek": ["Monday"]` and is answered 201)."""
    if value is None:
        return []
    label = where or "the value"
    if type_ref.startswith("Collection("):
        if not isinstance(value, list):
            return [f"{label}: a collection ({type_ref}) expected, got {type(value).__name__}"]
        inner = type_ref[len("Collection(") : -1]
        return [p for n, item in enumerate(value) for p in problems(inner, item, f"{where}[{n}]", exact=exact)]
    name = _bare(type_ref)
    if name.startswith("Edm."):
        return _primitive(name, value, label, exact)
    node = _types().get(name)
    if node is None:
        return [f"{label}: type {type_ref} is not in the extract (add it to extract.py's ROOTS)"]
    if node["kind"] == "enum":
        return _enum(name, node, value, label, exact)
    if not isinstance(value, dict):
        return [f"{label}: an object ({name}) expected, got {type(value).__name__}"]
    if node.get("open") and not node.get("properties") and not node.get("base"):
        return []  # a bag of whatever it carries (resourceData: the changed resource's own properties)
    named = value.get("@odata.type")
    if isinstance(named, str):
        actual = named.lstrip("#").rsplit(".", 1)[-1]
        if actual not in _types() or not _derives(actual, name):
            return [f"{label}: @odata.type {named} is not a {name}"]
        name = actual
    props, navs = members(name)
    out: list[str] = []
    for key, item in value.items():
        if "@" in key:
            continue  # an annotation
        at = f"{where}.{key}" if where else key
        if key in props:
            out += problems(props[key], item, at, exact=exact)
        elif key in navs:
            target = _bare(navs[key])
            if target in _types():  # a navigation property calsync expands or writes
                out += problems(navs[key], item, at, exact=exact)
        else:
            out.append(f"{at}: the property '{key}' does not exist on type 'microsoft.graph.{name}'")
    return out


def action_problems(action: str, body: Any) -> list[str]:
    """A bound action's parameters (`calendar.getSchedule`): names as the schema has them,
    compared without case (Graph matches action parameters so)."""
    params = {k.lower(): (k, t) for k, t in schema()["actions"][action].items()}
    if not isinstance(body, dict):
        return [f"the body of {action}: an object expected"]
    out: list[str] = []
    for key, item in body.items():
        found = params.get(key.lower())
        if found is None:
            out.append(f"{key}: '{key}' is not a parameter of {action}")
        else:
            out += problems(found[1], item, key, exact=False)
    return out


def _primitive(name: str, value: Any, label: str, exact: bool) -> list[str]:
    ok: bool
    if not exact and name in _INTEGERS | _NUMBERS and isinstance(value, str):
        # A number in quotes is read as one (the free/busy concepts page sends
        # `"availabilityViewInterval": "15"`; OData JSON allows it for numbers).
        value = int(value) if re.fullmatch(r"-?\d+", value) else _float(value)
    if name in _STRINGS:
        ok = isinstance(value, str)
    elif name == "Edm.Boolean":
        ok = isinstance(value, bool)
    elif name in _INTEGERS:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif name in _NUMBERS:
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or value in ("INF", "-INF", "NaN")
    elif name == "Edm.DateTimeOffset":
        ok = isinstance(value, str) and _instant(value)
    elif name == "Edm.Date":
        ok = isinstance(value, str) and bool(_DATE.fullmatch(value))
    elif name == "Edm.TimeOfDay":
        ok = isinstance(value, str) and bool(_TIME.fullmatch(value))
    else:
        ok = True  # Edm.Stream and the like: not checked
    return [] if ok else [f"{label}: {value!r} is not an {name}"]


def _float(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _instant(text: str) -> bool:
    """A DateTimeOffset: a date-time with `Z` or an offset (seven fraction digits allowed)."""
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})", text)
    if not m:
        return False
    try:
        datetime.fromisoformat(m.group(1))
    except ValueError:
        return False
    return True


def _enum(name: str, node: dict[str, Any], value: Any, label: str, exact: bool) -> list[str]:
    if not isinstance(value, str):
        return [f"{label}: {value!r} is not a {name} (a string expected)"]
    given = [v.strip() for v in value.split(",")] if node["flags"] else [value]
    known = node["members"] if exact else [m.lower() for m in node["members"]]
    wrong = [v for v in given if (v if exact else v.lower()) not in known]
    return [f"{label}: '{v}' is not a member of {name}" for v in wrong]
