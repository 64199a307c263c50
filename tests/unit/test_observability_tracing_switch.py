"""Tracing is off in the all-in-one unless the standard OTEL_* variables ask for it."""

from __future__ import annotations

import pytest

from runners.observability.tracing import enabled


@pytest.mark.parametrize(("env", "on"), [
    ({}, False),
    ({"OTEL_SERVICE_NAME": "x"}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318"}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://jaeger:4318/v1/traces"}, True),
    ({"OTEL_SDK_DISABLED": "false"}, True),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318", "OTEL_SDK_DISABLED": "true"}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://jaeger:4318", "OTEL_SDK_DISABLED": " TRUE "}, False),
])
def test_tracing_follows_the_otlp_endpoint_and_otel_sdk_disabled(env: dict[str, str], on: bool) -> None:
    assert enabled(env) is on
