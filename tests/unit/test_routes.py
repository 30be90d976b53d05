import pytest

from devtools.host.routes import RouteTemplateError, compile_route, order_routes


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("api/orgs/{org}", "api/orgs/acme", {"org": "acme"}),
        ("api/orgs/{org}", "API/Orgs/acme", {"org": "acme"}),
        ("api/orgs/{org}", "api/orgs/acme/x", None),
        ("api/items/{id:int}", "api/items/12", {"id": "12"}),
        ("api/items/{id:int}", "api/items/ab", None),
        ("api/items/{id:int?}", "api/items", {}),
        ("api/items/{id=7}", "api/items", {"id": "7"}),
        ("api/f/{*rest}", "api/f/a/b/c", {"rest": "a/b/c"}),
        ("api/f/{*rest}", "api/f", {}),
        (
            "api/g/{id:guid}",
            "api/g/6f9619ff-8b86-d011-b42d-00cf4fc964ff",
            {"id": "6f9619ff-8b86-d011-b42d-00cf4fc964ff"},
        ),
        ("api/c/{n:alpha}", "api/c/abc", {"n": "abc"}),
        ("api/c/{n:alpha}", "api/c/ab1", None),
        ("api/r/{n:regex(^[a-z]+$)}", "api/r/ab", {"n": "ab"}),
        ("api/r/{n:regex(^[a-z]+$)}", "api/r/a1", None),
        ("api/m/{n:min(10)}", "api/m/9", None),
        ("api/m/{n:min(10)}", "api/m/10", {"n": "10"}),
        ("api/l/{n:maxlength(3)}", "api/l/abcd", None),
        ("api/x/{name}.{ext}", "api/x/report.pdf", {"name": "report", "ext": "pdf"}),
    ],
)
def test_match(template: str, path: str, expected: dict | None) -> None:
    assert compile_route(template).match(path) == expected


def test_unknown_constraint_is_rejected() -> None:
    with pytest.raises(RouteTemplateError):
        compile_route("api/{x:banana}")


def test_literal_beats_parameter_beats_catch_all() -> None:
    routes = [(compile_route(t), t) for t in ["api/{*all}", "api/{a}/x", "api/items/x", "api/{a:int}/x"]]
    assert [t for _, t in order_routes(routes)] == ["api/items/x", "api/{a:int}/x", "api/{a}/x", "api/{*all}"]


def test_answers_write_times_in_rfc_3339_with_a_t_and_z() -> None:
    import json
    import re
    from datetime import UTC, datetime, timedelta, timezone

    from functions.http import json_response

    oslo = timezone(timedelta(hours=1))
    body = json.loads(json_response({"at": datetime(2026, 11, 27, 20, 20, 31, 839000, tzinfo=oslo), "n": 1}).get_body())
    assert body == {"at": "2026-11-27T19:20:31.839000Z", "n": 1}
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", json.loads(json_response({"t": datetime.now(UTC)}).get_body())["t"]
    )
