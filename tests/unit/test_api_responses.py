"""The response models (shared.core.api_responses, api_views) against what the code answers.

Every HTTP function is called through its real handler with the in-memory fakes, and each
answer is validated against RESPONSES[function][status] (a problem against Problem and
ERRORS) with no key the models do not know; pure view builders are checked directly."""

from __future__ import annotations

import base64
import functools
import importlib
import inspect
import json
import pkgutil
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

import azure.functions as func
import pytest
from azure.functions.decorators.http import HttpTrigger
from pydantic import BaseModel, RootModel

import functions
import functions.http
from devtools.host.invoke import OUT, Out
from shared.adapters.inbound_records import FeedChange
from shared.adapters.messages import ImportChunk, ImportDiscover, MailboxSync, PushChunk
from shared.adapters.records import Appointment, ResourceLink, SubscriptionRecord, WorkerLink
from shared.core import api_responses as r
from shared.core import api_views as v
from shared.core import recurrence
from shared.core.clock import json_default
from shared.core.errors import GraphError
from shared.core.link_health import HEALTH_RANK, LINK_STATUSES
from shared.core.openapi import build
from shared.core.org_settings import OrgSettings
from shared.core.settings import AuthMode
from shared.service import bulk_jobs, feed, mailbox_rounds, notifications, room_import
from shared.service.link_views import link_view
from tests.service.conftest import PLATFORM_KEY, TENANT, World, new_world

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()  # a Standard Webhooks secret
USERS = [
    {"userPrincipalName": "ada@fabrikam.test", "displayName": "Ada"},
    {"userPrincipalName": "bob@fabrikam.test"},
    {"userPrincipalName": "fuji@fabrikam.test", "displayName": "Fuji", "userPurpose": "room"},
    {"userPrincipalName": "beamer@fabrikam.test", "userPurpose": "equipment"},
]
ROOM_LISTS = [{"emailAddress": "hq@fabrikam.test", "displayName": "HQ rooms", "rooms": ["fuji@fabrikam.test"]}]


# -- checking an answer --------------------------------------------------------------------------
def _exact(value: Any, path: str) -> None:
    """No key the models do not know, and every time in UTC with its offset."""
    if isinstance(value, RootModel):
        _exact(value.root, path)
    elif isinstance(value, BaseModel):
        assert not value.model_extra, f"{path}: keys the model does not know: {sorted(value.model_extra)}"
        for name in type(value).model_fields:
            _exact(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _exact(item, f"{path}[{i}]")
    elif isinstance(value, datetime):
        assert value.utcoffset() == timedelta(0), f"{path}: {value} is not UTC with an offset"


def valid(model: type[BaseModel], view: Any) -> Any:
    """`view` as the API writes it (json_default), validated against `model`."""
    answer = model.model_validate(json.loads(json.dumps(view, default=json_default)))
    _exact(answer, model.__name__)
    return answer


def _blueprints() -> list[Any]:
    modules = [importlib.import_module(f"functions.{m.name}") for m in pkgutil.iter_modules(functions.__path__)]
    return [m.bp for m in modules if hasattr(m, "bp")]


@functools.cache
def http_functions() -> dict[str, Any]:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    for bp in _blueprints():
        app.register_functions(bp)
    return {f.get_function_name(): f for f in app.get_functions() if isinstance(f.get_trigger(), HttpTrigger)}


@dataclass
class _Context:
    invocation_id: str = "test"


@dataclass
class Api:
    world: World

    async def __call__(
        self, name: str, want: int, *, body: Any = None, params: Any = None, auth: str = PLATFORM_KEY, **route: str
    ) -> Any:
        """Call HTTP function `name` with the key `auth` (the platform's, an org key, or "" for
        none); check its answer against RESPONSES or ERRORS."""
        fn = http_functions()[name]
        method = fn.get_trigger().methods[0]
        raw = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        headers = {"content-type": "application/json"} if raw else {}
        if auth.startswith("csk_"):
            headers["authorization"] = f"Bearer {auth}"
        elif auth:
            headers["x-functions-key"] = auth
        req = func.HttpRequest(
            str(getattr(method, "value", method)), f"http://localhost/api/{name}", headers=headers,
            params=params or {}, route_params=route, body=raw,
        )  # fmt: skip
        handler = fn.get_user_function()
        wrapped = "context" in inspect.signature(handler).parameters
        bindings = [b for b in fn.get_bindings() if b.direction == OUT and b.type == "queue"]
        outputs = {b.name: Out() for b in bindings}
        resp = await (handler(req, _Context(), **outputs) if wrapped else handler(req))
        for b in bindings:  # as the host does once the function returns
            self.world.queues.write_output(b.queue_name, outputs[b.name].get() or [])
        text = resp.get_body()
        assert resp.status_code == want, text
        if resp.mimetype == "application/problem+json":
            problem = valid(r.Problem, json.loads(text))
            if (want, problem.code) not in ((401, "unauthorized"), (403, "forbidden")):  # every keyed route's
                assert (want, problem.code) in r.ERRORS[name], f"{name} answered {want} {problem.code}: not in ERRORS"
            return problem
        model = r.RESPONSES[name][want]
        if model is None:
            assert text == b""
            return None
        media = r.MEDIA_TYPES.get(name, {}).get(want, "application/json")
        assert resp.mimetype == media
        return valid(model, json.loads(text)) if media == "application/json" else model.model_validate(text.decode())

    async def linked(self) -> None:
        await self("put_org", 200, body={"m365TenantId": TENANT, "displayName": "Fabrikam"}, org="o1")
        await self("put_worker", 200, body={"m365Account": "ada@fabrikam.test"}, org="o1", worker="w-ada")
        await self("put_resource", 200, body={"mailbox": "fuji@fabrikam.test"}, org="o1", resource="fuji")

    async def rounds(self) -> None:
        while batch := self.world.queues.take(MailboxSync.QUEUE):
            for w in batch:
                await mailbox_rounds.run(self.world.svc, w.org, w.kind, w.owner, notified_at=w.at, marked=w.marked)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Api:
    world = new_world()
    notifications._cache.clear()
    world.graph.seed(TENANT, USERS, ROOM_LISTS)
    monkeypatch.setattr(functions.http, "services", lambda: world.svc)
    monkeypatch.setattr(room_import, "WAIT_S", 0.0)  # answer the import at once (202), queued
    return Api(world)


# -- the maps and the models ------------------------------------------------------------------------
def test_every_http_function_has_its_answers_and_errors() -> None:
    names = {n for n in http_functions() if n != "unknown_route" and not n.startswith("console_")}
    assert set(r.RESPONSES) == names
    assert set(r.ERRORS) == names
    for name, fn in http_functions().items():  # an `operation` answers a logged 500 as a problem
        wrapped = "context" in inspect.signature(fn.get_user_function()).parameters
        assert ((500, "internal_error") in r.ERRORS.get(name, [])) == (wrapped and name in names), name
    assert not any(code == "unauthorized" for found in r.ERRORS.values() for _, code in found)


def _models() -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    todo = [r.Problem, *(m for answers in r.RESPONSES.values() for m in answers.values() if m is not None)]
    while todo:
        model = todo.pop()
        found.add(model)
        stack = [f.annotation for f in model.model_fields.values()]
        while stack:
            kind = stack.pop()
            if isinstance(kind, type) and issubclass(kind, BaseModel) and kind not in found:
                todo.append(kind)
            stack.extend(get_args(kind))
    return found


def test_every_model_is_open_described_and_named_as_in_the_json() -> None:
    for model in _models():
        assert (model.__doc__ or "").strip(), model
        if not issubclass(model, RootModel):
            assert model.model_config.get("extra") == "allow", model
            schema = model.model_json_schema(by_alias=True)
            assert not [k for k in schema.get("properties", {}) if "_" in k], model  # camelCase JSON names


def test_the_closed_value_sets_are_the_codes() -> None:
    def values(literal: Any) -> set[Any]:
        return {a for x in get_args(literal) for a in (values(x) if get_args(x) else {x})}

    assert values(v.LinkStatus) == set(LINK_STATUSES)
    assert values(v.LinkHealth) == {*HEALTH_RANK, "healthy", "pending"}
    assert values(v.Day) == set(recurrence.DAYS)
    pattern, rng = v.PatternView.model_fields, v.RangeView.model_fields
    assert values(pattern["type"].annotation) == set(recurrence.PATTERN_TYPES)
    assert values(pattern["index"].annotation) == set(recurrence.INDEXES)
    assert values(rng["type"].annotation) == set(recurrence.RANGE_TYPES)
    assert set(v.ImportTotals.model_fields) == set(room_import.OUTCOMES)
    assert values(r.DeploymentSettings.model_fields["graph_auth_mode"].annotation) == set(get_args(AuthMode))

    def family(cls: type[GraphError]) -> set[str]:
        return {cls.code}.union(*(family(sub) for sub in cls.__subclasses__()))

    assert values(v.GraphErrorCode) == family(GraphError)


# -- pure view builders ------------------------------------------------------------------------------
def test_settings_link_and_change_views() -> None:
    assert valid(r.SettingsView, OrgSettings().view()).webhook_secret_set is False
    configured = OrgSettings().merged({"webhookUrl": "https://hook.test", "webhookSecret": SECRET, "maxResources": 3})
    assert valid(r.SettingsView, configured.view()).max_resources == 3
    linked = WorkerLink(org="o1", worker="w1", m365_account="a@b.test", m365_user_id="u1", status="linked")
    linked.subscription_id, linked.subscription_expires_at, linked.last_sync_at = "s1", NOW, NOW
    linked.attention, linked.held_deletions = "30 deletions held", 30
    failed = ResourceLink(org="o1", resource="r1", mailbox="x@b.test", status="error", updated_at=NOW)
    failed.error_code, failed.error_message = "mailbox_not_found", "x@b.test was not found"
    unlinked = WorkerLink(org="o1", worker="w2")
    for link, model in ((linked, v.WorkerView), (failed, v.ResourceView), (unlinked, v.WorkerView)):
        valid(model, link_view(link, NOW + timedelta(minutes=1)))
    row = FeedChange(org="o1", seq="0000000000000007", type="occurrence_deleted", appointment="a1", resource="r1")
    row.data = {"occurrence": "2026-12-14"}
    assert valid(r.ChangeView, feed.change_view(row)).data.occurrence == "2026-12-14"
    assert all(RFC3339.match(json_default(at)) for at in (NOW, NOW.astimezone(timezone(timedelta(hours=-5)))))


# -- every HTTP function, through its handler ---------------------------------------------------------
async def test_orgs_settings_and_health(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    org = await api("put_org", 200, body={"m365TenantId": TENANT, "displayName": "Fabrikam"}, org="o1")
    assert org.status == "connected" and org.error is None
    other = "0f0f0f0f-0000-4000-8000-000000000000"
    assert (await api("put_org", 200, body={"m365TenantId": other}, org="o2")).error.code == "consent_required"
    await api("put_org", 400, body={"m365TenantId": "not a guid"}, org="o3")
    page = await api("list_orgs", 200, params={"limit": "1"})
    assert [o.org for o in page.orgs] == ["o1"] and page.next == "o1"
    assert (await api("list_orgs", 200, params={"after": "o1"})).next is None
    await api("list_orgs", 400, params={"limit": "0"})
    await api("get_org", 200, org="o1")
    await api("get_org", 404, org="nobody")
    consent = await api("get_consent_url", 200, params={"redirectUri": "https://app.test/done"}, org="o1")
    assert "redirect_uri=" in consent.admin_consent_url
    await api("get_consent_url", 400, params={"redirectUri": "http://app.test/done"}, org="o1")
    assert (await api("get_org_settings", 200, org="o1")).webhook_secret is None
    body = {"webhookUrl": "https://hook.test/in", "webhookSecret": SECRET, "syncMode": "oneWay"}
    assert (await api("put_org_settings", 200, body=body, org="o1")).webhook_secret_set
    assert (await api("put_org_settings", 400, body={"nope": 1}, org="o1")).field == "nope"
    assert (await api("get_org_health", 200, org="o1")).links.healthy == 0
    assert (await api("delete_org", 200, org="o2")).subscriptions_deleted == 0
    await api("delete_org", 404, org="o2")
    assert (await api("health_check", 200)).checks.tables.status == "ok"

    async def down() -> None:
        raise ConnectionError("storage is down")

    monkeypatch.setattr(api.world.store, "ping", down)
    assert (await api("health_check", 503)).checks.tables.reason.startswith("ConnectionError")


async def test_workers_resources_batches_and_imports(api: Api) -> None:
    await api.linked()
    ada = await api("get_worker", 200, org="o1", worker="w-ada")
    assert ada.status == "linked" and ada.subscription is not None and ada.health == "pending"
    ghost = await api("put_worker", 200, body={"m365Account": "ghost@fabrikam.test"}, org="o1", worker="w-ghost")
    assert ghost.error.code == "account_not_found" and ghost.mode is None
    assert [w.error.code for w in (await api("get_org_health", 200, org="o1")).worst] == ["account_not_found"]
    assert (await api("put_worker", 200, body={"restricted": True}, org="o1", worker="w-idle")).health is None
    taken = await api("put_worker", 409, body={"m365Account": "ada@fabrikam.test"}, org="o1", worker="w-copy")
    assert taken.code == "account_in_use" and taken.held_by.id == "w-ada"
    await api("put_worker", 400, body={"m365Account": "not an address"}, org="o1", worker="w-x")
    await api("get_worker", 404, org="o1", worker="w-none")
    assert (await api("list_workers", 200, params={"limit": "2"}, org="o1")).next is not None
    await api("list_workers", 400, params={"status": "sleepy"}, org="o1")
    rows = [
        {"worker": "w-bob", "m365Account": "bob@fabrikam.test"},
        {"worker": 5},
        {"worker": "w-bad", "m365Account": "x"},
        {"worker": "w-dup", "m365Account": "ada@fabrikam.test"},
    ]
    batch = await api("batch_link_workers", 200, body=rows, org="o1")
    assert [x.status for x in batch.results] == ["linked", "invalid", "invalid", "error"]
    assert batch.results[1].worker == 5 and batch.results[3].error.code == "account_in_use"
    await api("batch_link_workers", 413, body=[{"worker": f"w{i}"} for i in range(1001)], org="o1")
    await api("delete_worker", 204, org="o1", worker="w-idle")

    desk = await api("put_resource", 200, body={"mailbox": "bob@fabrikam.test"}, org="o1", resource="desk")
    assert desk.error.code == "not_a_resource_mailbox"
    await api("put_org_settings", 200, body={"maxResources": 1}, org="o1")
    over = await api("put_resource", 409, body={"mailbox": "beamer@fabrikam.test"}, org="o1", resource="beamer")
    assert over.code == "resource_quota_exceeded" and over.limit == 1
    await api("put_org_settings", 200, body={"maxResources": None}, org="o1")
    assert (await api("list_resources", 200, org="o1")).next is None
    await api("get_resource", 200, org="o1", resource="fuji")
    await api("get_resource", 404, org="o1", resource="nowhere")
    await api("delete_resource", 204, org="o1", resource="desk")

    job = await api("import_resources", 202, org="o1")
    assert job.state == "queued"
    for msg in api.world.queues.take():
        if isinstance(msg, ImportDiscover):
            await room_import.discover(api.world.svc, msg, final=True)
    for msg in api.world.queues.take():
        if isinstance(msg, ImportChunk):
            await room_import.run_chunk(api.world.svc, msg, final=True)
    done = (await api("get_job", 200, org="o1", job=job.job)).root
    assert done.kind == "import" and done.state == "done"
    assert {x.mailbox for x in done.results} == {"fuji@fabrikam.test", "beamer@fabrikam.test"}
    await api("get_job", 404, org="o1", job="no-such-job")


async def test_appointments_occurrences_and_push_jobs(api: Api) -> None:
    await api.linked()
    single = {"title": "Haircut", "start": "2026-12-07T10:00:00", "end": "2026-12-07T11:00:00", "timeZone": "UTC"}
    single |= {"organizer": "w-ada", "attendees": ["w-dee"], "resources": ["fuji"]}
    await api("put_worker", 200, body={}, org="o1", worker="w-dee")
    one = await api("put_appointment", 200, body=single, org="o1", appointment="a1")
    states = {t.role: t for t in one.targets}
    assert states["organizer"].state == "synced" and states["attendee"].error.code == "not_linked"
    await api("put_appointment", 400, body={**single, "attendees": ["w-who"]}, org="o1", appointment="a2")
    api.world.graph.fail_next(50)
    held = await api("put_appointment", 202, body={**single, "attendees": []}, org="o1", appointment="a3")
    assert held.targets[0].error.code == "graph_unavailable"
    api.world.graph.faults.clear()
    await api("get_appointment", 200, org="o1", appointment="a1")
    await api("get_appointment", 404, org="o1", appointment="a9")
    assert (await api("delete_appointment", 200, org="o1", appointment="a1")).deleted

    series = {"title": "Team", "start": "2026-12-07T09:00:00", "end": "2026-12-07T10:00:00", "organizer": "w-ada"}
    series["recurrence"] = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "numbered", "numberOfOccurrences": 4},
    }
    team = await api("put_appointment", 200, body=series, org="o1", appointment="team")
    assert team.recurrence.range.number_of_occurrences == 4 and team.occurrences == []
    moved = {"start": "2026-12-14T13:00:00", "title": "Team (pm)"}
    await api("put_occurrence", 200, body=moved, org="o1", appointment="team", date="2026-12-14")
    await api("cancel_occurrence", 200, org="o1", appointment="team", date="2026-12-21")
    listing = await api("list_occurrences", 200, org="o1", appointment="team")
    assert [(o.start, o.cancelled) for o in listing.occurrences] == [("2026-12-14T13:00:00", None), (None, True)]
    await api("cancel_occurrence", 409, org="o1", appointment="team", date="2026-12-21")
    await api("cancel_occurrence", 404, org="o1", appointment="team", date="2026-12-15")
    await api("put_occurrence", 409, body={"title": "x"}, org="o1", appointment="a3", date="2026-12-07")
    await api("list_occurrences", 404, org="o1", appointment="a9")
    await api("put_org_settings", 200, body={"syncMode": "off"}, org="o1")
    assert (await api("put_appointment", 200, body=series, org="o1", appointment="team")).sync_off is True
    await api("put_org_settings", 200, body={"syncMode": "twoWay"}, org="o1")

    items = [{**single, "appointment": f"b{i}", "attendees": [], "resources": []} for i in range(3)]
    job = await api("push_calendar", 202, body={"appointments": items}, org="o1", worker="w-ada")
    assert (job.state, job.total) == ("queued", 3)
    await api("push_calendar", 404, body={"appointments": items}, org="o1", worker="w-none")
    await api("push_calendar", 413, body={"appointments": [{}] * 5001}, org="o1", worker="w-ada")
    api.world.clock.advance(minutes=3)
    assert (await api("get_job", 200, org="o1", job=job.job)).root.stalled[0].chunk == "00000"
    await api.world.store.delete_key(Appointment, org="o1", appointment="b0")
    api.world.graph.fail_next(100)
    for msg in api.world.queues.take():
        if isinstance(msg, PushChunk):
            await bulk_jobs.run_chunk(api.world.svc, msg, final=False)
    api.world.graph.faults.clear()
    errors = {e.appointment: e for e in (await api("get_job", 200, org="o1", job=job.job)).root.errors}
    assert (errors["b0"].code, errors["b0"].message) == ("appointment_missing", None)
    assert errors["b1"].code == "graph_unavailable"


def _utc(wall_clock: str) -> dict[str, str]:
    return {"dateTime": wall_clock, "timeZone": "UTC"}


async def test_graph_callbacks_the_feed_and_held_deletions(api: Api) -> None:
    await api.linked()
    token = await api("graph_notifications", 200, params={"validationToken": "a token <&>"})
    assert token.root == "a token <&>"
    await api("graph_lifecycle", 202, body={"value": [{"subscriptionId": "unknown", "clientState": "x"}]})
    await api("graph_notifications", 400, body=b"not json")
    await api.rounds()  # the baselines
    link = await api.world.store.get(WorkerLink, org="o1", worker="w-ada")
    record = await api.world.store.get(SubscriptionRecord, subscription_id=link.subscription_id)
    uid, day = link.m365_user_id, "2026-12-03"
    slots = [(f"{day}T{8 + i % 9:02d}:00:00", f"{day}T{8 + i % 9:02d}:30:00") for i in range(25)]
    made = [
        api.world.graph.outlook_create(TENANT, uid, {"subject": f"Focus {i}", "start": _utc(a), "end": _utc(b)})
        for i, (a, b) in enumerate(slots)
    ]
    item = {"subscriptionId": record.subscription_id, "clientState": record.client_state, "tenantId": TENANT}
    await api("graph_notifications", 202, body={"value": [item]})
    await api.rounds()
    api.world.graph.outlook_update(TENANT, uid, made[0]["id"], {"subject": "Moved in Outlook"})
    await api.world.svc.queues.send(MailboxSync("o1", "worker", "w-ada"))
    await api.rounds()
    for event in made:
        api.world.graph.outlook_delete(TENANT, uid, event["id"])
    await api.world.svc.queues.send(MailboxSync("o1", "worker", "w-ada"))
    await api.rounds()  # the mass-deletion guard holds them

    attention = (await api("get_worker", 200, org="o1", worker="w-ada")).attention
    assert attention is not None and attention.held_deletions == 25
    worst = (await api("get_org_health", 200, org="o1")).worst
    assert [(w.worker, w.health) for w in worst] == [("w-ada", "attention")]
    confirmed = await api("confirm_worker_deletions", 200, org="o1", worker="w-ada")
    assert (confirmed.worker, confirmed.released) == ("w-ada", 25)
    assert (await api("confirm_resource_deletions", 200, org="o1", resource="fuji")).released == 0
    await api("confirm_worker_deletions", 404, org="o1", worker="w-none")
    first = await api("get_changes", 200, params={"limit": "30"}, org="o1")
    rest = await api("get_changes", 200, params={"after": first.next}, org="o1")
    types = [c.type for c in first.changes + rest.changes]
    assert types.count("created") == 25 and types.count("deleted") == 25 and "updated" in types
    assert (await api("get_changes", 200, params={"after": rest.next}, org="o1")).next == rest.next
    await api("get_changes", 400, params={"after": "not a cursor"}, org="o1")
    await api("get_changes", 404, org="nobody")


async def test_the_openapi_document_is_answered_and_its_answers_resolve(api: Api) -> None:
    await api("openapi_document", 200)
    routes = [x for bp in _blueprints() for x in getattr(bp, "http_routes", []) if "{*" not in x.template]
    document = valid(r.OpenApiDocument, build(routes, title="t", version="0"))
    schemas = document.components["schemas"]
    answers = [op["responses"] for path in document.paths.values() for op in path.values()]
    refs = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps([answers, schemas]))
    assert refs and set(refs) <= set(schemas)
    assert {m.__name__ for m in _models()} <= set(schemas)  # no name clash with the request models
    with pytest.raises(AssertionError, match="does not know"):  # and the checker itself works
        valid(r.OrgDeleted, {"org": "o1", "deleted": True, "subscriptionsDeleted": 0, "surprise": 1})
