"""Telemetry: one :class:`Recorder` feeds both ``LLMGateway.stats()`` (always on, in process) and
OpenTelemetry (GenAI semantic conventions through ``opentelemetry-api``).

Every event has one method on the recorder, so a figure can never reach one of the two and miss
the other. OpenTelemetry costs nothing until an application installs an SDK: while the global
tracer and meter providers are the API's proxies, no span is started and no instrument is
touched. ``opentelemetry`` is imported when the first gateway is built, not on ``import aexy``.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from aexy.contract.completion import Usage
from aexy.cost import Charge, CostTally
from aexy.log import logger as logger

if TYPE_CHECKING:
    from collections.abc import Iterable

    from aexy.contract.analysis import ProvenanceRecord
    from aexy.contract.completion import Completion
    from aexy.contract.cost import Cost, PriceRef

__all__ = ["GatewayStats", "Recorder", "Telemetry", "logger"]

_LATENCY_WINDOW = 2048  # samples kept per provider for percentiles
_NO_SPAN = nullcontext(None)
#: Distinct calls kept unpriced before they are priced in one go, on the path of a call
#: (``stats()`` prices them first): a bound on memory for a gateway nobody asks.
_PENDING_CHARGES = 10_000


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
        self.cache_errors: Counter[str] = Counter()  # "tier:operation" -> count
        self.coalesced = 0
        # Every physical call is counted in provider_calls, failed or not.
        self.provider_calls: Counter[str] = Counter()
        #: Of those, answers read from a provider's batch results.
        self.batch_answers: Counter[str] = Counter()
        self.provider_failures: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.tokens: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.skipped: Counter[str] = Counter()  # "provider/model:reason" -> count
        self.fallbacks = 0  # results answered by a provider after the primary
        self.unavailable = 0  # requests that ended in LLMUnavailableError
        self.rate_limit_waits = 0
        self.rate_limit_wait_s = 0.0
        self.latency: defaultdict[str, deque[float]] = defaultdict(
            lambda: deque(maxlen=_LATENCY_WINDOW)
        )
        # Billed calls and what cache hits and coalesced calls saved, priced when read (most
        # gateways are never asked): identical calls in the same minute are counted once, so
        # a hit read again and again costs a counter. Keys hold plain values (C-level hashing:
        # this runs on every call), the price refs by identity.
        self._pending: dict[tuple[Any, ...], int] = {}
        self._refs: dict[int, PriceRef | None] = {}
        self._tally = CostTally()

    def charge(self, provider: str, model: str, ref: PriceRef | None, usage: Usage, at: float,
               saved: bool = False, batch: bool = False) -> None:
        ref_id = id(ref)
        if ref_id not in self._refs:
            self._refs[ref_id] = ref  # kept alive, so its id is never another's
        key = (provider, model, ref_id, usage.input_tokens, usage.output_tokens,
               usage.cache_read_tokens, usage.cache_write_tokens, int(at) // 60, saved, batch)
        pending = self._pending
        pending[key] = pending.get(key, 0) + 1
        if len(pending) >= _PENDING_CHARGES:
            self.cost()

    def cost(self) -> CostTally:
        """The running cost totals, every charge so far priced."""
        pending, self._pending = self._pending, {}
        for key, times in pending.items():
            provider, model, ref_id, n_in, n_out, n_read, n_write, minute, saved, batch = key
            cost = Charge(provider, model, Usage(n_in, n_out, n_read, n_write),
                          self._refs[ref_id], minute * 60.0, batch).cost()
            self._tally.add(cost.as_saved() if saved else cost, label=f"{provider}/{model}",
                            times=times)
        return self._tally

    def snapshot(self) -> dict[str, Any]:
        latency = {}
        for provider, samples in self.latency.items():
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
                **({"errors": dict(self.cache_errors)} if self.cache_errors else {}),
            },
            "coalesced": self.coalesced,
            "provider_calls": dict(self.provider_calls),
            "batch_answers": dict(self.batch_answers),
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
            "cost": self.cost().snapshot(),
            "latency": latency,
        }


class Telemetry:
    """OpenTelemetry instruments following the GenAI semantic conventions.

    :param tracer_provider: use these providers instead of the global ones (tests, or an
        application that keeps aexy's telemetry apart); given providers are always recorded to.
    :param meter_provider: see ``tracer_provider``.
    """

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        from opentelemetry import metrics, trace

        self._trace = trace
        self._metrics = metrics
        self._explicit = tracer_provider is not None or meter_provider is not None
        self._active = self._explicit
        self._recheck_at = -math.inf
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
        self.cache_errors = meter.create_counter(
            "aexy.cache.errors", description="Cache backend operations that failed or timed out"
        )
        self.coalesced = meter.create_counter(
            "aexy.requests.coalesced", description="Calls served by an identical in-flight call"
        )
        self.errors = meter.create_counter(
            "aexy.errors", description="Failures by code (provider errors, truncation, "
            "refusals, invalid output)"
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
        self.cost = meter.create_counter(
            "aexy.cost", unit="USD", description="What provider calls cost (status priced "
            "or local), and what cache hits and coalesced calls saved (aexy.cost.saved)"
        )
        self.unpriced = meter.create_counter(
            "aexy.cost.unpriced_calls", description="Provider calls whose model has no known "
            "price: not in aexy.cost, so that total is incomplete while this is above zero"
        )

    def active(self) -> bool:
        """Whether anything listens: given providers, or an SDK installed as the global ones.
        The global check is redone at most once a second, so an SDK installed after the
        gateway was built is picked up without costing every event a lookup."""
        if self._explicit:
            return True
        now = time.monotonic()
        if now >= self._recheck_at:
            tracer = type(self._trace.get_tracer_provider()).__name__
            meter = type(self._metrics.get_meter_provider()).__name__
            self._active = tracer not in _NOOP_PROVIDERS or meter not in _NOOP_PROVIDERS
            self._recheck_at = now + 1.0
        return self._active


#: The API's own provider classes: what is installed until an application sets up an SDK.
_NOOP_PROVIDERS = frozenset({"ProxyTracerProvider", "NoOpTracerProvider",
                             "_ProxyMeterProvider", "NoOpMeterProvider"})


class Recorder:
    """The one place every gateway event is counted: ``stats()`` and OpenTelemetry alike.

    :param telemetry: OpenTelemetry instruments; ``None`` builds them from the global providers.
    """

    def __init__(self, telemetry: Telemetry | None = None) -> None:
        self.stats = GatewayStats()
        self.otel = telemetry if telemetry is not None else Telemetry()

    # -- requests and the cache ----------------------------------------------------------------
    def request(self) -> None:
        self.stats.requests += 1

    def cache_lookup(self, hit: bool, tier: str | None = None) -> None:
        if hit:
            self.stats.cache_hits += 1
        else:
            self.stats.cache_misses += 1
        if self.otel.active():
            attrs = {"result": "hit", "tier": tier or ""} if hit else {"result": "miss"}
            self.otel.cache_lookups.add(1, attrs)

    def cache_error(self, tier: str, operation: str) -> None:
        self.stats.cache_errors[f"{tier}:{operation}"] += 1
        if self.otel.active():
            self.otel.cache_errors.add(1, {"tier": tier, "operation": operation})

    def coalesced(self, analysis_type: str) -> None:
        self.stats.coalesced += 1
        if self.otel.active():
            self.otel.coalesced.add(1, {"aexy.analysis_type": analysis_type})

    # -- provider calls ------------------------------------------------------------------------
    def span(self, provider: str, model: str, analysis_type: str) -> Any:
        """A GenAI span around one physical call; a shared no-op when nothing listens."""
        if not self.otel.active():
            return _NO_SPAN
        return self._span(provider, model, analysis_type)

    @contextmanager
    def _span(self, provider: str, model: str, analysis_type: str) -> Iterator[Any]:
        with self.otel.tracer.start_as_current_span(
            f"chat {model}",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": provider,
                "gen_ai.request.model": model,
                "aexy.analysis_type": analysis_type,
            },
        ) as span:
            yield span

    def call_ok(self, provider: str, seconds: float, completion: Completion,
                span: Any = None, charge: Charge | None = None) -> None:
        """A physical call that answered (its answer may still be refused or invalid), and
        what it was billed for (priced now only for OpenTelemetry)."""
        usage = completion.usage
        s = self.stats
        if charge is not None:
            s.charge(charge.provider, charge.model, charge.ref, charge.usage, charge.at,
                     batch=charge.batch)
        s.provider_calls[provider] += 1
        s.latency[provider].append(seconds)
        s.tokens[f"{provider}.input"] += usage.input_tokens
        s.tokens[f"{provider}.output"] += usage.output_tokens
        if span is not None:
            span.set_attribute("gen_ai.response.model", completion.model)
            span.set_attribute("gen_ai.usage.input_tokens", usage.input_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", usage.output_tokens)
            span.set_attribute("gen_ai.response.finish_reasons",
                               [completion.finish_reason.value])
            if completion.request_id:
                span.set_attribute("gen_ai.response.id", completion.request_id)
        if self.otel.active():
            attrs = _call_attrs(provider, completion.model)
            self.otel.duration.record(seconds, attrs)
            self.otel.token_usage.record(usage.input_tokens,
                                         {**attrs, "gen_ai.token.type": "input"})
            self.otel.token_usage.record(usage.output_tokens,
                                         {**attrs, "gen_ai.token.type": "output"})
            if charge is not None:
                cost = charge.cost()
                if span is not None:
                    _cost_attributes(span, cost)
                self._record_cost(cost, attrs)

    def batch_answer(self, provider: str, completion: Completion, charge: Charge) -> None:
        """An answer read from a provider's batch results: billed (at the batch rate) like a
        call, with its tokens; no latency, which is the batch's, not the request's."""
        usage = completion.usage
        s = self.stats
        s.charge(charge.provider, charge.model, charge.ref, charge.usage, charge.at,
                 batch=charge.batch)
        s.provider_calls[provider] += 1
        s.batch_answers[provider] += 1
        s.tokens[f"{provider}.input"] += usage.input_tokens
        s.tokens[f"{provider}.output"] += usage.output_tokens
        if self.otel.active():
            attrs = {**_call_attrs(provider, completion.model), "aexy.batch": "true"}
            self.otel.token_usage.record(usage.input_tokens,
                                         {**attrs, "gen_ai.token.type": "input"})
            self.otel.token_usage.record(usage.output_tokens,
                                         {**attrs, "gen_ai.token.type": "output"})
            self._record_cost(charge.cost(), _call_attrs(provider, completion.model))

    def saved(self, charges: Iterable[Charge]) -> None:
        """What a cache hit or a coalesced call would have cost: saved, not paid."""
        for one in charges:
            self.stats.charge(one.provider, one.model, one.ref, one.usage, one.at, saved=True)
            if self.otel.active():
                self._record_cost(one.cost().as_saved(), _call_attrs(one.provider, one.model))

    def saved_usage(self, provider: str, model: str, ref: PriceRef | None,
                    usage: Usage) -> None:
        """What a cache hit would have cost (the usage recorded with the entry)."""
        self.stats.charge(provider, model, ref, usage, time.time(), saved=True)
        if self.otel.active():
            cost = Charge(provider, model, usage, ref, time.time()).cost().as_saved()
            self._record_cost(cost, _call_attrs(provider, model))

    def _record_cost(self, cost: Cost, attrs: dict[str, str]) -> None:
        if cost.total_usd is None:
            self.otel.unpriced.add(1, attrs)
            return
        self.otel.cost.add(float(cost.total_usd), {**attrs, "aexy.cost.status": cost.status,
                                                   "aexy.cost.saved": cost.saved})

    def call_failed(self, provider: str, model: str, seconds: float, code: str) -> None:
        """A physical call that reached the provider and failed with ``code``."""
        s = self.stats
        s.provider_calls[provider] += 1
        s.provider_failures[provider] += 1
        s.errors[code] += 1
        if self.otel.active():
            attrs = {**_call_attrs(provider, model), "error.type": code}
            self.otel.duration.record(seconds, attrs)
            self.otel.errors.add(1, {"gen_ai.provider.name": provider, "error.type": code})

    def answer_refused(self, provider: str, code: str) -> None:
        """An answer that arrived but is no result: truncated, filtered or invalid output."""
        self.stats.errors[code] += 1
        if self.otel.active():
            self.otel.errors.add(1, {"gen_ai.provider.name": provider, "error.type": code})

    def retry(self, provider: str, code: str) -> None:
        self.stats.retries[provider] += 1
        if self.otel.active():
            self.otel.retries.add(1, {"gen_ai.provider.name": provider, "error.type": code})

    def limiter_wait(self, provider: str, seconds: float) -> None:
        self.stats.rate_limit_waits += 1
        self.stats.rate_limit_wait_s += seconds
        if self.otel.active():
            self.otel.rate_limit_wait.record(seconds, {"gen_ai.provider.name": provider})

    def skipped(self, label: str, reason: str) -> None:
        """A provider of the chain passed over without a call (circuit open, rate limited,
        unavailable)."""
        self.stats.skipped[f"{label}:{reason}"] += 1

    # -- the chain -----------------------------------------------------------------------------
    def fallback(self, provider: str) -> None:
        """The chain moved on to ``provider`` after the one before it failed or was skipped."""
        if self.otel.active():
            self.otel.fallbacks.add(1, {"gen_ai.provider.name": provider})

    def answered_by_fallback(self) -> None:
        self.stats.fallbacks += 1

    def unavailable(self) -> None:
        self.stats.unavailable += 1

    def completed(self, record: ProvenanceRecord, *, heuristic_fallback: bool) -> None:
        """The one structured log line of a finished analysis, from its provenance fields (built
        only when INFO is on), and a warning when a heuristic answer stood in for a model's
        (``heuristic_fallback``)."""
        if logger.isEnabledFor(logging.INFO):
            p = record.fields()
            logger.info(
                "LLM analysis completed",
                extra={
                    "provider": p["provider"], "model": p["model"],
                    "analysis_type": p["analysis_type"], "latency_ms": round(p["latency_ms"], 3),
                    "tokens_used": p["input_tokens"] + p["output_tokens"],
                    "cache_hit": p["cache_hit"], "attempts": p["attempts"],
                    "retries": p["retries"], "fallback": p["fallback"],
                    "coalesced": p["coalesced"], "method": p["method"],
                    **_cost_fields(p["cost"]),
                },
            )
        if heuristic_fallback:
            # A heuristic answer standing in for a model's must never pass unnoticed.
            p = record.fields()
            failed = "; ".join(p["failures"]) or "earlier providers"
            logger.warning(
                "%s was answered by %s/%s with %s rules, not a model, after %s",
                p["analysis_type"], p["provider"], p["model"], p["method"], failed,
                extra={"provider": p["provider"], "analysis_type": p["analysis_type"],
                       "method": p["method"], "failures": list(p["failures"])},
            )


def _cost_fields(cost: Cost | None) -> dict[str, Any]:
    """The cost in the log line: what was paid, or saved, or that there is no price."""
    if cost is None:
        return {}
    amount = None if cost.total_usd is None else float(cost.total_usd)
    return {"cost_usd": amount, "cost_status": cost.status, "cost_saved": cost.saved}


def _cost_attributes(span: Any, cost: Cost) -> None:
    """The call's cost on its GenAI span, next to ``gen_ai.usage.*``."""
    span.set_attribute("aexy.cost.status", cost.status)
    if cost.total_usd is not None:
        span.set_attribute("aexy.cost.usd", float(cost.total_usd))
    if cost.source:
        span.set_attribute("aexy.cost.source", cost.source)


def _call_attrs(provider: str, model: str) -> dict[str, str]:
    return {"gen_ai.operation.name": "chat", "gen_ai.provider.name": provider,
            "gen_ai.request.model": model}
