"""What calsync's telemetry costs: CPU per span and per metric point, with no SDK configured
(`make run`, `make test`, any deployment without PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY)
and with the OpenTelemetry SDK recording (a batch processor over an exporter that drops
everything: the SDK's own cost, not Application Insights').

    .venv/bin/python -m bench.telemetry [--calls 100000]

Each mode runs in a fresh process (global providers can be set once). Prints µs of process
CPU time per call for: an operation span with a storage span inside (what a notification
ack adds, ×2), a Graph request span with one response seen, and a counter add.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time
calls, sdk = int(sys.argv[1]), sys.argv[2] == "sdk"
if sdk:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans):
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop(), max_queue_size=1 << 16))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
from shared.adapters import telemetry
from shared.core import metric_names

def operation():
    with telemetry.span("http graph_notifications", attributes={"calsync.operation": "graph_notifications"}):
        with telemetry.storage_span("send", "mailbox-sync", "queue"):
            pass

def graph():
    with telemetry.graph_request("GET", "/users/{user-id}/calendarView/delta()"):
        telemetry.graph_response(200, None)

def counter():
    telemetry.metrics_port.add(metric_names.NOTIFICATIONS, 1, kind="change", outcome="accepted")

out = {}
for name, fn in (("operation+storage span", operation), ("graph request span", graph), ("counter add", counter)):
    for _ in range(1000):
        fn()
    start = time.process_time()
    for _ in range(calls):
        fn()
    out[name] = (time.process_time() - start) / calls * 1e6
print(json.dumps(out))
"""


def run(mode: str, calls: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(calls), mode], capture_output=True, text=True, check=True, timeout=600
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000)
    args = parser.parse_args()
    started = time.monotonic()
    off, on = run("none", args.calls), run("sdk", args.calls)
    print(f"{'':28}{'no SDK':>12}{'SDK recording':>16}   (µs of CPU per call, {args.calls:,} calls)")
    for name in off:
        print(f"{name:28}{off[name]:>12.2f}{on[name]:>16.2f}")
    print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
