"""What the worker and resource blueprints share: read, list and forget a link."""

import azure.functions as func

from functions.http import json_response, query
from shared.adapters.records import MailboxLink
from shared.core.api_queries import LinkPageQuery
from shared.service import links
from shared.service.link_views import link_view
from shared.service.ports import Services


async def get_response(req: func.HttpRequest, svc: Services, cls: type[MailboxLink]) -> func.HttpResponse:
    link = await links.get_link(svc, cls, req.route_params["org"], req.route_params[cls.KIND])
    return json_response(link_view(link, svc.clock.now()))


async def delete_response(req: func.HttpRequest, svc: Services, cls: type[MailboxLink]) -> func.HttpResponse:
    await links.delete_link(svc, cls, req.route_params["org"], req.route_params[cls.KIND])
    return func.HttpResponse(status_code=204)


async def list_response(req: func.HttpRequest, svc: Services, cls: type[MailboxLink]) -> func.HttpResponse:
    q = query(req, LinkPageQuery)
    items, cursor = await links.list_links(
        svc, cls, req.route_params["org"], status=q.status, limit=q.limit, after=q.after
    )
    now = svc.clock.now()
    return json_response({f"{cls.KIND}s": [link_view(i, now) for i in items], "next": cursor})
