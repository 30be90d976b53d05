"""Metric attributes are closed sets, refused alike by the real instruments and the no-op
port the service tests run with, so an undeclared one (an org id, say) fails a fast test."""

import pytest

from shared.adapters.telemetry import metrics_port
from shared.core import metric_names
from shared.service.ports import NoMetrics


@pytest.mark.parametrize("port", [NoMetrics(), metrics_port], ids=["no-op", "OpenTelemetry"])
def test_an_undeclared_attribute_is_refused_with_telemetry_on_or_off(port) -> None:
    port.add(metric_names.ROUNDS, kind="worker", outcome="ok")
    with pytest.raises(ValueError, match="org"):
        port.add(metric_names.ROUNDS, kind="worker", org="o1")
    with pytest.raises(ValueError, match="mailbox"):
        port.record(metric_names.FEED_LATENCY, 1.0, mailbox="ada@fabrikam.test")
