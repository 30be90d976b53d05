"""API keys: org-scoped keys issued, listed and revoked with the platform's key; and what the
key a request carries is (the console asks, to know which screens it may open)."""

import azure.functions as func

from functions.http import Blueprint, credentials, json_response, operation
from shared.service import org_keys
from shared.service.ports import Services

bp = Blueprint()


@bp.route(route="orgs/{org}/keys", methods=["POST"])
@operation("create_org_key")
async def create_org_key(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    """A new org key: its secret `key` is in this answer only (stored as a hash)."""
    return json_response(await org_keys.create(svc, req.route_params["org"]), 201)


@bp.route(route="orgs/{org}/keys", methods=["GET"])
@operation("list_org_keys")
async def list_org_keys(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return json_response({"keys": await org_keys.listed(svc, req.route_params["org"])})


@bp.route(route="orgs/{org}/keys/{key}", methods=["DELETE"])
@operation("revoke_org_key")
async def revoke_org_key(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    await org_keys.revoke(svc, req.route_params["org"], req.route_params["key"])
    return func.HttpResponse(status_code=204)


@bp.route(route="credential", methods=["GET"])
@operation("get_credential")
async def get_credential(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    """What the key sent is: the platform's (every org) or one org's."""
    who = await org_keys.caller(svc, *credentials(req))
    if who is None or who.org is None:
        return json_response({"kind": "platform"})
    return json_response({"kind": "org", "org": who.org, "prefix": f"csk_{who.key_id}"})
