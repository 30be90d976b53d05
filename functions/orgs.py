"""Organisations: connect a Microsoft 365 tenant, consent URL, settings, delete."""

import azure.functions as func

from functions.http import Blueprint, json_response, operation, query, read_json
from shared.core.api_queries import ConsentQuery, PageQuery
from shared.core.validation import https_url, identifier
from shared.service import offboarding, orgs
from shared.service.ports import Services

bp = Blueprint()


@bp.route(route="orgs", methods=["GET"])
@operation("list_orgs")
async def list_orgs(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    q = query(req, PageQuery)
    items, cursor = await orgs.list_orgs(svc, limit=q.limit, after=q.after)
    return json_response({"orgs": [orgs.org_view(svc, o) for o in items], "next": cursor})


@bp.route(route="orgs/{org}", methods=["PUT"])
@operation("put_org")
async def put_org(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    org_id = identifier("org", req.route_params["org"])
    tenant, name = orgs.parse_org_body(read_json(req))
    return json_response(orgs.org_view(svc, await orgs.connect(svc, org_id, tenant, name)))


@bp.route(route="orgs/{org}", methods=["GET"])
@operation("get_org")
async def get_org(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return json_response(orgs.org_view(svc, await orgs.require_org(svc, req.route_params["org"])))


@bp.route(route="orgs/{org}", methods=["DELETE"])
@operation("delete_org")
async def delete_org(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    summary = await offboarding.delete_org(svc, req.route_params["org"])
    return json_response({"org": req.route_params["org"], "deleted": True, **summary})


@bp.route(route="orgs/{org}/consent-url", methods=["GET"])
@operation("consent_url")
async def get_consent_url(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    q = query(req, ConsentQuery)
    if q.redirect_uri:
        https_url("redirectUri", q.redirect_uri)
    org = await orgs.require_org(svc, req.route_params["org"])
    url = orgs.consent_url(svc, org.m365_tenant_id, q.redirect_uri, q.state)
    return json_response({"org": org.org, "m365TenantId": org.m365_tenant_id, "adminConsentUrl": url})


@bp.route(route="orgs/{org}/settings", methods=["GET"])
@operation("get_settings")
async def get_org_settings(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return json_response((await orgs.require_org(svc, req.route_params["org"])).config.view())


@bp.route(route="orgs/{org}/settings", methods=["PUT"])
@operation("put_settings")
async def put_org_settings(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    org = await orgs.update_settings(svc, req.route_params["org"], read_json(req))
    return json_response(org.config.view())
