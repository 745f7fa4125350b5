"""OpenTelemetry output of a gateway, read back through the SDK's in-memory exporters."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from aexy import ErrorCode, LLMError, LLMGateway
from aexy.plugins import PluginHost
from aexy.telemetry import Telemetry
from aexy.testing import FakeProvider

CODE = "def add(a: int, b: int) -> int:\n    return a + b\n"


@pytest.fixture
def otel() -> tuple[Telemetry, InMemorySpanExporter, InMemoryMetricReader]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    telemetry = Telemetry(tracer_provider, MeterProvider(metric_readers=[reader]))
    return telemetry, spans, reader


def points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    found = []
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    found.extend(metric.data.data_points)
    return found


async def test_a_call_emits_a_genai_span_and_metrics(host: PluginHost, otel: Any) -> None:
    telemetry, spans, reader = otel
    async with LLMGateway(provider=FakeProvider(), plugins=host, telemetry=telemetry) as gw:
        await gw.analyze("skill_extraction", CODE)
        await gw.analyze("skill_extraction", CODE)  # a cache hit: no second span

    (span,) = spans.get_finished_spans()
    assert span.name == "chat fake-model"
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "fake"
    assert attrs["gen_ai.request.model"] == "fake-model"
    assert attrs["gen_ai.response.model"] == "fake-model"
    assert attrs["aexy.analysis_type"] == "skill_extraction"
    assert attrs["gen_ai.usage.input_tokens"] > 0
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)

    (duration,) = points(reader, "gen_ai.client.operation.duration")
    assert duration.count == 1
    tokens = {p.attributes["gen_ai.token.type"]: p for p in points(reader,
                                                                  "gen_ai.client.token.usage")}
    assert set(tokens) == {"input", "output"}
    assert tokens["input"].sum == attrs["gen_ai.usage.input_tokens"]
    lookups = {p.attributes["result"]: p.value for p in points(reader, "aexy.cache.lookups")}
    assert lookups == {"miss": 1, "hit": 1}


async def test_a_failed_call_marks_the_span_and_counts_the_error(host: PluginHost,
                                                                 otel: Any) -> None:
    telemetry, spans, reader = otel
    failing = FakeProvider(replies=[LLMError("bad key", code=ErrorCode.AUTHENTICATION_ERROR)])
    async with LLMGateway(provider=failing, plugins=host, telemetry=telemetry) as gw:
        with pytest.raises(LLMError):
            await gw.analyze("skill_extraction", CODE)
    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    (errors,) = points(reader, "aexy.errors")
    assert errors.attributes["error.type"] == "authentication_error"
    assert errors.value == 1


async def test_one_structured_log_line_per_call(host: PluginHost,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="aexy")
    async with LLMGateway(provider=FakeProvider(), plugins=host) as gw:
        await gw.analyze("skill_extraction", CODE)
    (record,) = [r for r in caplog.records if r.getMessage() == "LLM analysis completed"]
    assert record.provider == "fake"  # type: ignore[attr-defined]
    assert record.analysis_type == "skill_extraction"  # type: ignore[attr-defined]
    assert record.cache_hit is False  # type: ignore[attr-defined]
    assert record.tokens_used > 0  # type: ignore[attr-defined]
