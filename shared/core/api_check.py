"""Request bodies checked against their pydantic model: the first failure becomes our
InvalidInput, naming the field by its full path (`appointments[2].end`) and saying what is
wanted in plain words instead of pydantic's own phrasing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from shared.core.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)

# pydantic's error types → what the field must be. Anything not here keeps pydantic's text.
_WANTED = {
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "missing": "is required",
}


def field_path(loc: Sequence[int | str], prefix: str = "") -> str:
    """('appointments', 2, 'end') → 'appointments[2].end'."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out and not out.endswith(".") else "") + part
    return out.rstrip(".") or "body"


def problem_of(error: ErrorDetails, prefix: str = "") -> InvalidInput:
    path = field_path(error["loc"], prefix)
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "calsync":  # our own validators say it in full
        return InvalidInput(path, f"{path} {error['msg']}")
    if kind == "extra_forbidden":
        return InvalidInput(path, f"unknown field {path!r}")
    if kind in ("string_too_long", "too_long"):
        unit = "characters" if kind == "string_too_long" else "items"
        return InvalidInput(path, f"{path} must be at most {ctx.get('max_length')} {unit}")
    if kind in ("string_too_short", "too_short"):
        unit = "character" if kind == "string_too_short" else "item"
        return InvalidInput(path, f"{path} must have at least {ctx.get('min_length')} {unit}(s)")
    if kind in ("literal_error", "enum"):
        return InvalidInput(path, f"{path} must be one of {ctx.get('expected')}")
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bound = {"greater_than_equal": "≥", "less_than_equal": "≤", "greater_than": ">", "less_than": "<"}[kind]
        limit = ctx.get("ge", ctx.get("le", ctx.get("gt", ctx.get("lt"))))
        return InvalidInput(path, f"{path} must be {bound} {limit}")
    if kind in _WANTED:
        return InvalidInput(path, f"{path} {_WANTED[kind]}")
    return InvalidInput(path, f"{path}: {error['msg']}")


def checked(model: type[M], data: Any, prefix: str = "") -> M:
    """`data` (parsed JSON) as `model`, or InvalidInput for its first failure."""
    if not isinstance(data, dict):
        where = prefix.rstrip(".")
        raise InvalidInput(where or "body", f"{where or 'the request body'} must be an object")
    try:
        return model.model_validate(data, by_alias=True)
    except ValidationError as exc:
        raise problem_of(exc.errors()[0], prefix) from None


def fail(message: str) -> PydanticCustomError:
    """A validator's failure, said in full after the field's path ("must be …")."""
    return PydanticCustomError("calsync", message)
