"""Appointments: push to Outlook (create/update/delete), read their sync status."""

import azure.functions as func

from functions import queue
from functions.http import Blueprint, json_response, operation, read_json
from shared.adapters.messages import AppointmentRetry
from shared.service import appointments, occurrences, room_release
from shared.service.ports import Services

bp = Blueprint()


def _answer(view: dict) -> func.HttpResponse:
    # 202 while Graph held something up: the queue finishes it; nothing accepted is lost.
    return json_response(view, 202 if appointments.pending(view) else 200)


@bp.route(route="orgs/{org}/appointments/{appointment}", methods=["PUT"])
@operation("put_appointment")
async def put_appointment(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    body = read_json(req)
    return _answer(await appointments.put(svc, req.route_params["org"], req.route_params["appointment"], body))


@bp.route(route="orgs/{org}/appointments/{appointment}", methods=["DELETE"])
@operation("delete_appointment")
async def delete_appointment(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return _answer(await appointments.delete(svc, req.route_params["org"], req.route_params["appointment"]))


@bp.route(route="orgs/{org}/appointments/{appointment}", methods=["GET"])
@operation("get_appointment")
async def get_appointment(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return json_response(await appointments.get(svc, req.route_params["org"], req.route_params["appointment"]))


@bp.route(route="orgs/{org}/appointments/{appointment}/check-in", methods=["POST"])
@operation("check_in_room")
async def check_in_room(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    """Someone came to a room of the appointment: that booking is never released."""
    body, p = read_json(req), req.route_params
    return json_response(await room_release.check_in(svc, p["org"], p["appointment"], body))


@bp.route(route="orgs/{org}/appointments/{appointment}/occurrences/{date}", methods=["PUT"])
@operation("put_occurrence")
async def put_occurrence(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    body = read_json(req)
    p = req.route_params
    return _answer(await occurrences.put(svc, p["org"], p["appointment"], p["date"], body))


@bp.route(route="orgs/{org}/appointments/{appointment}/occurrences/{date}", methods=["DELETE"])
@operation("cancel_occurrence")
async def cancel_occurrence(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    p = req.route_params
    return _answer(await occurrences.cancel(svc, p["org"], p["appointment"], p["date"]))


@bp.route(route="orgs/{org}/appointments/{appointment}/occurrences", methods=["GET"])
@operation("list_occurrences")
async def list_occurrences(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return json_response(await occurrences.listing(svc, req.route_params["org"], req.route_params["appointment"]))


@bp.queue_trigger(arg_name="msg", queue_name=AppointmentRetry.QUEUE, connection="AzureWebJobsStorage")
@queue.worker(AppointmentRetry, "retry_appointment")
async def retry_appointment(work: AppointmentRetry, svc: Services, final: bool) -> None:
    """Finish a sync that Graph held up. Raise to retry; the last try marks what is left failed."""
    done = await appointments.retry(svc, work.org, work.appointment, final=final)
    if not done and not final:
        raise queue.RetryLater(f"appointment {work.appointment} still pending; retrying")
