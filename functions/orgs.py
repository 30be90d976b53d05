"""Organisations: connect a Microsoft 365 tenant, consent URL, settings, delete."""

import azure.functions as func

from functions.http import handle, json_response, read_json
from shared import links, orgs
from shared.bootstrap import services
from shared.validation import https_url, identifier

bp = func.Blueprint()


@bp.route(route="orgs/{org}", methods=["PUT"])
async def put_org(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        org_id = identifier("org", req.route_params["org"])
        tenant, name = orgs.parse_org_body(read_json(req))
        svc = services()
        return json_response(orgs.org_view(svc, await orgs.connect(svc, org_id, tenant, name)))

    return await handle(req, context, "put_org", run)


@bp.route(route="orgs/{org}", methods=["GET"])
async def get_org(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        svc = services()
        return json_response(orgs.org_view(svc, await orgs.require_org(svc, req.route_params["org"])))

    return await handle(req, context, "get_org", run)


@bp.route(route="orgs/{org}", methods=["DELETE"])
async def delete_org(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        summary = await links.delete_org(services(), req.route_params["org"])
        return json_response({"org": req.route_params["org"], "deleted": True, **summary})

    return await handle(req, context, "delete_org", run)


@bp.route(route="orgs/{org}/consent-url", methods=["GET"])
async def get_consent_url(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        redirect = req.params.get("redirectUri")
        if redirect:
            https_url("redirectUri", redirect)
        svc = services()
        org = await orgs.require_org(svc, req.route_params["org"])
        url = orgs.consent_url(svc, org.m365_tenant_id, redirect, req.params.get("state"))
        return json_response({"org": org.org, "m365TenantId": org.m365_tenant_id, "adminConsentUrl": url})

    return await handle(req, context, "consent_url", run)


@bp.route(route="orgs/{org}/settings", methods=["GET"])
async def get_org_settings(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        return json_response(orgs.settings_view(await orgs.require_org(services(), req.route_params["org"])))

    return await handle(req, context, "get_settings", run)


@bp.route(route="orgs/{org}/settings", methods=["PUT"])
async def put_org_settings(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        body = read_json(req)
        org = await orgs.update_settings(services(), req.route_params["org"], body)
        return json_response(orgs.settings_view(org))

    return await handle(req, context, "put_settings", run)
