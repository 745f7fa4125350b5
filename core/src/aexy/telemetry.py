"""Telemetry: in-process stats (always on) and OpenTelemetry GenAI instruments (no-ops unless an
SDK is configured). ``opentelemetry`` is imported when the first gateway is built, not on
``import aexy``."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["GatewayStats", "Telemetry", "logger"]

logger = logging.getLogger("aexy")

_LATENCY_WINDOW = 2048  # samples kept per provider for percentiles


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    idx = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[idx]


class GatewayStats:
    """Counters and latency windows behind ``LLMGateway.stats()``."""

    def __init__(self) -> None:
        self.requests = 0
        self.cache_hits = 0
        self.cache_misses = 0
        self.coalesced = 0
        self.provider_calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.tokens: Counter[str] = Counter()
        # Resilience: every physical call is counted in provider_calls, failed or not.
        self.provider_failures: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()  # "provider:reason" -> count
        self.fallbacks = 0  # results answered by a provider after the primary
        self.unavailable = 0  # requests that ended in LLMUnavailableError
        self.rate_limit_waits = 0
        self.rate_limit_wait_s = 0.0
        self._latency: defaultdict[str, deque[float]] = defaultdict(
            lambda: deque(maxlen=_LATENCY_WINDOW)
        )

    def record_call(self, provider: str, latency_s: float, input_tokens: int,
                    output_tokens: int) -> None:
        self.provider_calls[provider] += 1
        self._latency[provider].append(latency_s)
        self.tokens[f"{provider}.input"] += input_tokens
        self.tokens[f"{provider}.output"] += output_tokens

    def record_failure(self, provider: str, code: str) -> None:
        """A call that reached the provider and failed."""
        self.provider_calls[provider] += 1
        self.provider_failures[provider] += 1
        self.errors[code] += 1

    def snapshot(self) -> dict[str, Any]:
        latency = {}
        for provider, samples in self._latency.items():
            ordered = sorted(samples)
            latency[provider] = {
                "count": len(ordered),
                "p50_ms": round(_percentile(ordered, 0.50) * 1000, 3),
                "p95_ms": round(_percentile(ordered, 0.95) * 1000, 3),
                "p99_ms": round(_percentile(ordered, 0.99) * 1000, 3),
            }
        lookups = self.cache_hits + self.cache_misses
        return {
            "requests": self.requests,
            "cache": {
                "hits": self.cache_hits,
                "misses": self.cache_misses,
                "hit_rate": round(self.cache_hits / lookups, 4) if lookups else 0.0,
            },
            "coalesced": self.coalesced,
            "provider_calls": dict(self.provider_calls),
            "provider_failures": dict(self.provider_failures),
            "retries": dict(self.retries),
            "fallbacks": self.fallbacks,
            "skipped": dict(self.skipped),
            "unavailable": self.unavailable,
            "rate_limit": {
                "waits": self.rate_limit_waits,
                "waited_s": round(self.rate_limit_wait_s, 3),
            },
            "errors": dict(self.errors),
            "tokens": dict(self.tokens),
            "latency": latency,
        }


class Telemetry:
    """OpenTelemetry instruments following the GenAI semantic conventions."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        """Instruments from the global providers, or from the ones given (tests, or an
        application that keeps aexy's telemetry apart)."""
        from opentelemetry import metrics, trace

        self.tracer = trace.get_tracer("aexy", tracer_provider=tracer_provider)
        meter = metrics.get_meter("aexy", meter_provider=meter_provider)
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s",
            description="GenAI operation duration",
        )
        self.token_usage = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}",
            description="Measures number of input and output tokens used",
        )
        self.cache_lookups = meter.create_counter(
            "aexy.cache.lookups", description="Cache lookups by result (hit/miss)"
        )
        self.coalesced = meter.create_counter(
            "aexy.requests.coalesced", description="Calls served by an identical in-flight call"
        )
        self.errors = meter.create_counter(
            "aexy.errors", description="Provider errors by code"
        )
        self.retries = meter.create_counter(
            "aexy.retries", description="Provider calls repeated after a retryable failure"
        )
        self.fallbacks = meter.create_counter(
            "aexy.fallbacks", description="Provider skipped or abandoned for the next in chain"
        )
        self.rate_limit_wait = meter.create_histogram(
            "aexy.rate_limit.wait", unit="s", description="Time spent waiting for the limiter"
        )

    @contextmanager
    def span(self, provider: str, model: str, analysis_type: str) -> Iterator[Any]:
        with self.tracer.start_as_current_span(
            f"chat {model}",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": provider,
                "gen_ai.request.model": model,
                "aexy.analysis_type": analysis_type,
            },
        ) as span:
            yield span

    @staticmethod
    def annotate(span: Any, completion: Any) -> None:
        """Response attributes of the GenAI conventions, once the answer is in."""
        usage = completion.usage
        span.set_attribute("gen_ai.response.model", completion.model)
        span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
        span.set_attribute("gen_ai.response.finish_reasons", [completion.finish_reason.value])
        if completion.request_id:
            span.set_attribute("gen_ai.response.id", completion.request_id)

    def record_call(self, provider: str, model: str, seconds: float, input_tokens: int,
                    output_tokens: int, error_code: str | None = None) -> None:
        attrs: dict[str, str] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
        }
        if error_code:
            attrs["error.type"] = error_code
            self.errors.add(1, {"gen_ai.provider.name": provider, "error.type": error_code})
        self.duration.record(seconds, attrs)
        if not error_code:
            self.token_usage.record(input_tokens, {**attrs, "gen_ai.token.type": "input"})
            self.token_usage.record(output_tokens, {**attrs, "gen_ai.token.type": "output"})
