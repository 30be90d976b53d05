"""What the worker and resource blueprints share: read, list and forget a link."""

from collections.abc import Callable
from typing import Any

import azure.functions as func

from functions.http import json_response, query_int
from shared import links
from shared.bootstrap import services


async def get_response(
    req: func.HttpRequest, cls: type[links.MailboxLink], view: Callable[[Any], dict[str, Any]]
) -> func.HttpResponse:
    key = {cls.KIND: req.route_params[cls.KIND]}
    return json_response(view(await links.get_link(services(), cls, req.route_params["org"], **key)))


async def delete_response(req: func.HttpRequest, cls: type[links.MailboxLink]) -> func.HttpResponse:
    await links.delete_link(services(), cls, req.route_params["org"], **{cls.KIND: req.route_params[cls.KIND]})
    return func.HttpResponse(status_code=204)


async def list_response(
    req: func.HttpRequest, cls: type[links.MailboxLink], view: Callable[[Any], dict[str, Any]]
) -> func.HttpResponse:
    items, cursor = await links.list_links(
        services(),
        cls,
        req.route_params["org"],
        status=req.params.get("status"),
        limit=query_int(req, "limit", 100, 1, 1000),
        after=req.params.get("after"),
    )
    return json_response({f"{cls.KIND}s": [view(i) for i in items], "next": cursor})
