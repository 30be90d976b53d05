"""A small v2 app that exercises every host feature the real app relies on."""

import json

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="echo/{org}/items/{id:int?}", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def echo(req: func.HttpRequest) -> func.HttpResponse:
    body = {
        "method": req.method,
        "route": dict(req.route_params),
        "query": dict(req.params),
        "header": req.headers.get("x-test"),
        "body": req.get_body().decode(),
    }
    return func.HttpResponse(json.dumps(body), status_code=201, mimetype="application/json", headers={"X-Echo": "yes"})


@app.route(route="echo/fixed/items", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def fixed(req: func.HttpRequest) -> str:
    return "literal route wins"


@app.route(route="files/{*path}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
async def files(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(req.route_params.get("path", ""))


@app.route(route="secret", methods=["GET"])
def secret(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("function level ok")


@app.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("admin level ok")


@app.route(route="nothing", methods=["DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
def nothing(req: func.HttpRequest) -> None:
    return None


@app.route(route="boom", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("boom")


@app.route(route="enqueue", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@app.queue_output(arg_name="out", queue_name="%HOSTAPP_QUEUE%", connection="AzureWebJobsStorage")
def enqueue(req: func.HttpRequest, out: func.Out[str]) -> func.HttpResponse:
    out.set(req.get_body().decode())
    return func.HttpResponse(status_code=202)


@app.queue_trigger(arg_name="msg", queue_name="%HOSTAPP_QUEUE%", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="done", queue_name="hostapp-done", connection="AzureWebJobsStorage")
async def work(msg: func.QueueMessage, done: func.Out[list[str]], context: func.Context) -> None:
    text = msg.get_body().decode()
    done.set(
        [
            json.dumps(
                {"body": text, "dequeueCount": msg.dequeue_count, "invocation": context.invocation_id, "part": i}
            )
            for i in range(2)
        ]
    )


@app.queue_trigger(arg_name="msg", queue_name="hostapp-fail", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="attempts", queue_name="hostapp-attempts", connection="AzureWebJobsStorage")
def always_fails(msg: func.QueueMessage, attempts: func.Out[str]) -> None:
    # Output bindings of a failed run are not written, so record the attempt elsewhere.
    import os

    with open(os.environ["HOSTAPP_ATTEMPTS_FILE"], "a") as fh:
        fh.write(f"{msg.get_body().decode()} {msg.dequeue_count}\n")
    raise RuntimeError("always fails")


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer", run_on_startup=False)
@app.queue_output(arg_name="out", queue_name="hostapp-ticks", connection="AzureWebJobsStorage")
def yearly(timer: func.TimerRequest, out: func.Out[str]) -> None:
    out.set(json.dumps({"pastDue": timer.past_due}))


@app.function_name(name="EverySecond")
@app.timer_trigger(schedule="* * * * * *", arg_name="timer")
@app.queue_output(arg_name="out", queue_name="%HOSTAPP_QUEUE%-seconds", connection="AzureWebJobsStorage")
def every_second(timer: func.TimerRequest, out: func.Out[str]) -> None:
    out.set("tick")


@app.function_name(name="EverySecondDisabled")
@app.timer_trigger(schedule="* * * * * *", arg_name="timer")
@app.queue_output(arg_name="out", queue_name="%HOSTAPP_QUEUE%-disabled", connection="AzureWebJobsStorage")
def every_second_disabled(timer: func.TimerRequest, out: func.Out[str]) -> None:
    """The tests disable this one (AzureWebJobs.EverySecondDisabled.Disabled): it must never run."""
    out.set("tick")


@app.queue_trigger(arg_name="msg", queue_name="%HOSTAPP_QUEUE%-many", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="done", queue_name="%HOSTAPP_QUEUE%-many-done", connection="AzureWebJobsStorage")
def many(msg: func.QueueMessage, done: func.Out[str]) -> None:
    """Says which message it handled: the host-restart test counts that none is lost."""
    done.set(msg.get_body().decode())
