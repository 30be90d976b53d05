"""Tasks: push to the worker's Microsoft To Do (create/update/delete), read their status;
the queue workers that finish a held-up push and read a task list's changes."""

import azure.functions as func

from functions import queue
from functions.http import Blueprint, json_response, operation, read_json
from shared.adapters.messages import TaskRetry, TaskRound, TaskRoundBatch
from shared.service import task_rounds, tasks
from shared.service.ports import Services

bp = Blueprint()


def _answer(view: dict) -> func.HttpResponse:
    # 202 while Graph held it up: the queue finishes it; nothing accepted is lost.
    return json_response(view, 202 if view["state"] == "pending" else 200)


@bp.route(route="orgs/{org}/tasks/{task}", methods=["PUT"])
@operation("put_task")
async def put_task(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    body = read_json(req)
    return _answer(await tasks.put(svc, req.route_params["org"], req.route_params["task"], body))


@bp.route(route="orgs/{org}/tasks/{task}", methods=["DELETE"])
@operation("delete_task")
async def delete_task(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return _answer(await tasks.delete(svc, req.route_params["org"], req.route_params["task"]))


@bp.route(route="orgs/{org}/tasks/{task}", methods=["GET"])
@operation("get_task")
async def get_task(req: func.HttpRequest, svc: Services) -> func.HttpResponse:
    return json_response(await tasks.get(svc, req.route_params["org"], req.route_params["task"]))


@bp.queue_trigger(arg_name="msg", queue_name=TaskRetry.QUEUE, connection="AzureWebJobsStorage")
@queue.worker(TaskRetry, "retry_task")
async def retry_task(work: TaskRetry, svc: Services, final: bool) -> None:
    """Finish a task push Graph held up. Raise to retry; the last try marks it failed."""
    done = await tasks.retry(svc, work.org, work.task, final=final)
    if not done and not final:
        raise queue.RetryLater(f"task {work.task} still pending; retrying")


@bp.queue_trigger(arg_name="msg", queue_name=TaskRound.QUEUE, connection="AzureWebJobsStorage")
@queue.worker(TaskRound, "task_round")
async def task_round(work: TaskRound, svc: Services, final: bool) -> None:
    """One delta round of a worker's task list (Graph failures raise: the queue retries)."""
    await task_rounds.run(svc, work.org, work.worker, work.name)


@bp.queue_trigger(arg_name="msg", queue_name=TaskRoundBatch.QUEUE, connection="AzureWebJobsStorage")
@queue.worker(TaskRoundBatch, "task_round_batch")
async def task_round_batch(work: TaskRoundBatch, svc: Services, final: bool) -> None:
    """The reconcile timer's rounds of up to 50 task lists (a failed one is queued again alone)."""
    await task_rounds.run_batch(svc, work)
