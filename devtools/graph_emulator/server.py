"""aiohttp wiring: authentication, Graph paths under /v1.0 and the /_emulator control API."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from devtools.graph_emulator.app import Emulator
from devtools.graph_emulator.core.errors import EXPIRED_DELTA_MESSAGES
from devtools.graph_emulator.core.ids import DEFAULT_APP_ID, now
from devtools.graph_emulator.core.wire import JSON_TYPE, Call, Reply, error_body
from devtools.graph_emulator.core.world import demo_seed

log = logging.getLogger("graph_emulator")


def _json(reply: Reply) -> web.Response:
    headers = {"request-id": error_body("", "")["error"]["innerError"]["request-id"], **reply.headers}
    if reply.body is None:
        return web.Response(status=reply.status, headers=headers)
    headers["Content-Type"] = JSON_TYPE
    return web.Response(status=reply.status, body=json.dumps(reply.body).encode(), headers=headers)


def build_app(emulator: Emulator | None = None, *, seed_demo: bool = False) -> web.Application:
    emu = emulator or Emulator()
    if seed_demo:
        emu.world.seed(demo_seed())
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app["emulator"] = emu

    async def graph(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        m = re.fullmatch(r"Bearer emulator:([0-9a-fA-F-]{36})(?::([0-9a-fA-F-]{36}))?", auth.strip())
        if not auth:
            return _json(Reply(401, error_body("InvalidAuthenticationToken", "Access token is empty.")))
        tenant = emu.world.tenants.get(m.group(1).lower()) if m else None
        if tenant is None:
            return _json(
                Reply(
                    401, error_body("InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
                )
            )
        base = f"{request.scheme}://{request.host}/v1.0"
        call = Call(
            method=request.method,
            path="/" + request.match_info["tail"],
            query={k: v for k, v in request.query.items()},
            headers=CIMultiDict(request.headers),
            body=await request.read(),
            tenant=tenant,
            app_id=(m.group(2) or DEFAULT_APP_ID).lower(),
            base=base,
        )
        return _json(await emu.handle(call))

    # -- control API ------------------------------------------------------------------------
    async def reset(_: web.Request) -> web.Response:
        emu.world.__init__()  # type: ignore[misc]
        emu.notifier.world = emu.world
        emu.throttle.world = emu.world
        emu.notifier.reset()
        emu.throttle.reset()
        emu.requests.clear()
        emu.statuses.clear()
        return web.json_response({"status": "reset"})

    async def seed(request: web.Request) -> web.Response:
        try:
            return web.json_response(emu.world.seed(await request.json()))
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": f"bad seed: {exc}"}, status=400)

    async def tenants(_: web.Request) -> web.Response:
        return web.json_response(
            {"tenants": [{"id": t.id, "domain": t.domain, "users": len(t.users)} for t in emu.world.tenants.values()]}
        )

    async def faults(request: web.Request) -> web.Response:
        f = emu.world.faults
        if request.method == "POST":
            body: dict[str, Any] = await request.json()
            try:
                latency = float(body.get("latencyMs", f.latency_ms))
                error_rate = float(body.get("errorRate", f.error_rate))
                notification_timeout = float(body.get("notificationTimeoutSeconds", f.notification_timeout_s))
                validation_timeout = float(body.get("validationTimeoutSeconds", f.validation_timeout_s))
                time_scale = float(body.get("timeScale", f.time_scale))
                throttle = body.get("throttle") or {}
                requests_ = int(throttle.get("requests", f.throttle_requests))
                window = float(throttle.get("windowSeconds", f.throttle_window_s))
                concurrency = int(throttle.get("concurrency", f.throttle_concurrency))
            except (TypeError, ValueError) as exc:
                return web.json_response({"error": f"bad faults: {exc}"}, status=400)
            if latency < 0 or not 0 <= error_rate <= 1 or notification_timeout <= 0 or validation_timeout <= 0:
                return web.json_response({"error": "bad faults: a value is out of range"}, status=400)
            if time_scale <= 0:
                return web.json_response({"error": "bad faults: timeScale must be more than 0"}, status=400)
            f.latency_ms, f.error_rate = latency, error_rate
            f.notification_timeout_s, f.validation_timeout_s, f.time_scale = (
                notification_timeout,
                validation_timeout,
                time_scale,
            )
            f.throttle_requests, f.throttle_window_s, f.throttle_concurrency = requests_, window, concurrency
            f.deliver_notifications = bool(body.get("deliverNotifications", f.deliver_notifications))
            f.delta_repeats = bool(body.get("deltaRepeats", f.delta_repeats))
            f.delta_occurrence_removals = bool(body.get("deltaOccurrenceRemovals", f.delta_occurrence_removals))
            f.delta_series_masters = bool(body.get("deltaSeriesMasters", f.delta_series_masters))
            if "failNext" in body:
                f.fail_next = [dict(rule) for rule in body["failNext"] or []]
            if "throttle" in body:
                emu.throttle.reset()
        return web.json_response(f.to_json())

    async def expire_delta(request: web.Request) -> web.Response:
        body = (await request.json() if request.can_read_body else {}) or {}
        key = body.get("mailbox") or ""
        status = body.get("status", 410)
        code = body.get("code", "syncStateNotFound")
        # The docs spell the codes camelCase; Exchange is seen sending PascalCase too
        # (SyncStateNotFound): any casing of the three names is taken and sent as given.
        if status not in (400, 410) or not isinstance(code, str) or code.lower() not in EXPIRED_DELTA_MESSAGES:
            return web.json_response(
                {"error": "status must be 410 or 400; code syncStateNotFound, syncStateInvalid or resyncRequired"},
                status=400,
            )
        emu.world.expire_delta(key, status, code)
        return web.json_response({"expired": key or "all", "status": status, "code": code})

    async def lifecycle(request: web.Request) -> web.Response:
        sub = emu.world.subscriptions.get(request.match_info["id"])
        if sub is None:
            return web.json_response({"error": "no such subscription"}, status=404)
        event = (await request.json()).get("lifecycleEvent")
        if event not in ("reauthorizationRequired", "subscriptionRemoved", "missed"):
            return web.json_response(
                {"error": "lifecycleEvent must be reauthorizationRequired, subscriptionRemoved or missed"}, status=400
            )
        if event == "subscriptionRemoved":
            emu.world.subscriptions.pop(sub.id, None)
        sent = emu.notifier.lifecycle(sub, event)
        return web.json_response({"sent": sent})

    async def remove_subscription(request: web.Request) -> web.Response:
        sub = emu.world.subscriptions.pop(request.match_info["id"], None)
        if sub is None:
            return web.json_response({"error": "no such subscription"}, status=404)
        return web.json_response({"sent": emu.notifier.lifecycle(sub, "subscriptionRemoved")})

    async def subscriptions(_: web.Request) -> web.Response:
        return web.json_response(
            {
                "subscriptions": [
                    {
                        "id": s.id,
                        "tenantId": s.tenant_id,
                        "applicationId": s.app_id,
                        "resource": s.resource,
                        "mailbox": s.mailbox_id,
                        "changeType": ",".join(s.change_types),
                        "clientState": s.client_state,
                        "notificationUrl": s.notification_url,
                        "lifecycleNotificationUrl": s.lifecycle_url,
                        "expirationDateTime": s.expiration.isoformat(),
                        "expired": s.expiration <= now(),
                        "immutableIds": s.immutable_ids,
                    }
                    for s in emu.world.subscriptions.values()
                ]
            }
        )

    async def deliveries(_: web.Request) -> web.Response:
        return web.json_response(
            {
                "deliveries": list(emu.notifier.deliveries),
                "dropped": emu.notifier.dropped,
                "abandoned": emu.notifier.abandoned,
            }
        )

    async def requests(request: web.Request) -> web.Response:
        if request.method == "DELETE":
            emu.requests.clear()
            emu.statuses.clear()
            return web.json_response({"total": 0, "items": [], "statuses": {}})
        items = [
            {"method": m, "pattern": p, "mailbox": mb, "count": c}
            for (m, p, mb), c in sorted(emu.requests.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2] or ""))
        ]
        return web.json_response(
            {
                "total": sum(emu.requests.values()),
                "items": items,
                "byPattern": dict(sum((Counter({f"{m} {p}": c}) for (m, p, _), c in emu.requests.items()), Counter())),
                "statuses": {str(k): v for k, v in sorted(emu.statuses.items())},
            }
        )

    async def patch_user(request: web.Request) -> web.Response:
        user = emu.world.user(request.match_info["id"])
        if user is None:
            return web.json_response({"error": "no such user"}, status=404)
        body = await request.json()
        if "mail" in body or "proxyAddresses" in body:
            try:
                user.set_mail(body.get("mail"), body.get("proxyAddresses"))
            except (ValueError, TypeError) as exc:
                return web.json_response({"error": f"bad addresses: {exc}"}, status=400)
        if "hasMailbox" in body:
            user.has_mailbox = bool(body["hasMailbox"])
        if "teams" in body:
            user.teams = bool(body["teams"])
        if "displayName" in body:
            user.display_name = str(body["displayName"])
        return web.json_response(
            {
                "id": user.id,
                "hasMailbox": user.has_mailbox,
                "mail": user.mail,
                "proxyAddresses": user.proxy_addresses,
            }
        )

    app.router.add_post("/_emulator/reset", reset)
    app.router.add_post("/_emulator/seed", seed)
    app.router.add_get("/_emulator/tenants", tenants)
    app.router.add_route("GET", "/_emulator/faults", faults)
    app.router.add_route("POST", "/_emulator/faults", faults)
    app.router.add_post("/_emulator/delta/expire", expire_delta)
    app.router.add_post("/_emulator/subscriptions/{id}/lifecycle", lifecycle)
    app.router.add_delete("/_emulator/subscriptions/{id}", remove_subscription)
    app.router.add_get("/_emulator/subscriptions", subscriptions)
    app.router.add_get("/_emulator/deliveries", deliveries)
    app.router.add_route("GET", "/_emulator/requests", requests)
    app.router.add_route("DELETE", "/_emulator/requests", requests)
    app.router.add_patch("/_emulator/users/{id}", patch_user)
    app.router.add_route("*", "/v1.0/{tail:.*}", graph)

    async def close(_: web.Application) -> None:
        await emu.notifier.close()

    app.on_cleanup.append(close)
    return app
