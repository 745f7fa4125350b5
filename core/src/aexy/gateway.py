"""``LLMGateway``: one ``analyze()`` call from validated input to a typed, cached result.

The steps follow ``docs/architecture.md``: validate, spec, prompt, cache key, cache lookup,
single-flight, the provider chain (circuit breaker, availability, rate limit, retries, output
validation with one repair request), post-processing, cache store, telemetry.
``docs/resilience.md`` explains retries, fallback, breakers, limits and coalescing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import random as _random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from pydantic import ValidationError

from aexy.analysis import AnalysisRequest, AnalysisResult, AnalysisSpec, AnalysisType, Provenance
from aexy.cache import CacheBackend, MemoryCache, cache_key, type_prefix
from aexy.completion import Completion, CompletionRequest, FinishReason, Message
from aexy.errors import (
    Attempt,
    ConfigurationError,
    ErrorCode,
    InvalidOutputError,
    LLMError,
    LLMUnavailableError,
    ProviderNotFoundError,
    UnknownAnalysisTypeError,
)
from aexy.output import OutputParseError, parse_result, repair_instructions
from aexy.plugins import PluginHost, get_plugin_host
from aexy.postprocess import PostProcessor
from aexy.prompts import Prompt, PromptSource
from aexy.providers.base import BaseLLMProvider
from aexy.ratelimit import RateLimiter, RateLimitWaitError, estimate_tokens
from aexy.resilience.breaker import CircuitBreaker, Permit
from aexy.resilience.clock import Clock, Deadline, Random, Sleep
from aexy.resilience.retry import RetryPolicy
from aexy.resilience.singleflight import SingleFlight
from aexy.settings import AexySettings
from aexy.telemetry import GatewayStats, Telemetry, logger

__all__ = ["LLMGateway", "analyze_once"]

#: Upper bound of one ``is_available()`` probe, seconds.
_PROBE_TIMEOUT = 5.0


@dataclass(eq=False)
class _Target:
    """One provider of the chain with its own breaker, limiter and availability cache."""

    provider: BaseLLMProvider
    label: str  # "name/model": breakers, limiters and stats are kept per provider and model
    breaker: CircuitBreaker
    limiter: RateLimiter | None
    available: bool = True
    available_until: float = -math.inf
    probe: asyncio.Task[bool] | None = None


@dataclass(eq=False)
class _State:
    """What one request has done so far, across retries and providers."""

    deadline: Deadline
    calls: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    rate_wait: float = 0.0
    failures: list[Attempt] = field(default_factory=list)

    def fail(self, target: _Target, code: str, message: str) -> None:
        self.failures.append(Attempt(target.provider.name, target.provider.model, code, message))


@dataclass(slots=True)
class _Outcome:
    """A validated result from one provider."""

    result: AnalysisResult
    completion: Completion
    repaired: bool


@dataclass(slots=True)
class _Produced:
    """What the provider chain produced for one request (shared by coalesced callers)."""

    result: AnalysisResult
    provider: str
    model: str
    state: _State
    fallback: bool
    repaired: bool = False
    cache_tier: str | None = None


class _Skip(Exception):
    """The provider was skipped (circuit open); the reason is already in the request state."""


class LLMGateway:
    """The entry point: ``await gateway.analyze(AnalysisType.X, content, context=...)``.

    :param provider: a provider name (default ``LLM_PROVIDER``) or a provider instance.
    :param model: overrides the primary provider's configured model.
    :param fallbacks: providers (names or instances) tried in order after the primary;
        ``None`` reads ``LLM_FALLBACK_PROVIDERS``, ``()`` means none.
    :param settings: core settings; read from the environment when omitted.
    :param cache: ``None`` builds the configured backend, ``False`` disables caching, or pass a
        :class:`~aexy.cache.CacheBackend`.
    :param plugins: the plugin host; the process-wide one when omitted.
    :param close_providers: whether :meth:`aclose` closes provider instances passed in.
    :param clock: monotonic clock in seconds (tests inject one).
    :param sleep: async sleep (tests inject one).
    :param random: uniform ``[0, 1)`` source of backoff jitter (tests inject one).
    :param telemetry: OpenTelemetry instruments; by default from the global providers
        (no-ops unless the application configured an OpenTelemetry SDK).
    """

    def __init__(
        self,
        provider: str | BaseLLMProvider | None = None,
        *,
        model: str | None = None,
        fallbacks: Sequence[str | BaseLLMProvider] | None = None,
        settings: AexySettings | None = None,
        cache: CacheBackend | bool | None = None,
        plugins: PluginHost | None = None,
        close_providers: bool = True,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        random: Random = _random.random,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.settings = settings if settings is not None else AexySettings()
        self.plugins = plugins if plugins is not None else get_plugin_host()
        self.clock = clock
        self.sleep = sleep
        self.random = random
        self._owned: list[BaseLLMProvider] = []
        self._close_passed = close_providers
        s = self.settings
        self.retry_policy = RetryPolicy(max_attempts=s.max_attempts, base=s.backoff_base,
                                        cap=s.backoff_cap)
        self.provider = self._build_provider(
            provider if provider is not None else s.llm_provider, model
        )
        chain = [self.provider]
        extra = fallbacks if fallbacks is not None else s.llm_fallback_providers
        for fb in extra:
            built = self._build_provider(fb, None, env_var="LLM_FALLBACK_PROVIDERS")
            if all(_label(built) != _label(p) for p in chain):
                chain.append(built)
        self._chain = [self._target(p) for p in chain]
        self._types = self.plugins.analysis_types()
        self._prompt_sources: list[PromptSource] = sorted(
            self.plugins.prompt_sources().items.values(), key=lambda s: (s.priority, s.name)
        )
        self._postprocessors = self._resolve_postprocessors(self.settings.postprocessors)
        self._tiers = self._build_cache(cache)
        self._flights: SingleFlight[_Produced] = SingleFlight()
        self._stats = GatewayStats()
        self._telemetry = telemetry if telemetry is not None else Telemetry()
        self._closed = False

    # -- construction --------------------------------------------------------------------------
    def _build_provider(self, provider: str | BaseLLMProvider, model: str | None,
                        *, env_var: str = "LLM_PROVIDER") -> BaseLLMProvider:
        if isinstance(provider, BaseLLMProvider):
            if model:
                provider._model_override = model
            if self._close_passed:
                self._owned.append(provider)
            return provider
        name = provider.strip().lower()
        registry = self.plugins.providers()
        spec = registry.get(name)  # raises PluginConflictError for a doubly claimed name
        if spec is None:
            failed = self.plugins.failed_plugin_for(name)
            reason = f"plugin {failed.distribution} is {failed.status}: {failed.error}" if (
                failed and failed.error) else None
            error = ProviderNotFoundError(name, registry.names(), reason=reason)
            error.env_var = env_var
            raise error
        instance: BaseLLMProvider = spec.provider_class(model=model)
        self._owned.append(instance)
        return instance

    def _target(self, provider: BaseLLMProvider) -> _Target:
        label = _label(provider)
        s = self.settings
        breaker = CircuitBreaker(label, threshold=s.breaker_threshold,
                                 cooldown=s.breaker_cooldown, clock=self.clock)
        limiter: RateLimiter | None = None
        limits = provider.limits
        if limits.requests_per_minute or limits.tokens_per_minute:
            spec = self.plugins.rate_limiters().get(s.rate_limiter)
            if spec is None:
                raise ConfigurationError(
                    f"unknown rate limiter {s.rate_limiter!r}; available: "
                    f"{', '.join(self.plugins.rate_limiters().names()) or 'none'}",
                    env_var="AEXY_RATE_LIMITER",
                )
            limiter = spec.factory(label, limits, clock=self.clock, sleep=self.sleep)
        return _Target(provider, label, breaker, limiter)

    def _resolve_postprocessors(self, names: Sequence[str]) -> list[PostProcessor]:
        registry = self.plugins.postprocessors()
        chosen = []
        for name in names:
            pp = registry.get(name)
            if pp is None:
                raise ConfigurationError(
                    f"unknown post-processor {name!r} in AEXY_POSTPROCESSORS; "
                    f"available: {', '.join(registry.names()) or 'none'}",
                    env_var="AEXY_POSTPROCESSORS",
                )
            chosen.append(pp)
        return chosen

    def _build_cache(self, cache: CacheBackend | bool | None) -> list[CacheBackend]:
        if cache is False or (cache is None and not self.settings.llm_cache_enabled):
            return []
        if cache is None or cache is True:
            # The host reads the backend's own settings and checks what the factory built.
            backend = self.plugins.build_cache_backend(self.settings.cache_backend, self.settings)
        else:
            backend = cache
        if isinstance(backend, MemoryCache):
            return [backend]
        # Two tiers: a small in-process cache in front of a shared backend.
        return [MemoryCache(self.settings.cache_max_entries), backend]

    @property
    def providers(self) -> tuple[BaseLLMProvider, ...]:
        """The chain: the primary, then the fallbacks, in the order they are tried."""
        return tuple(t.provider for t in self._chain)

    # -- lifecycle -----------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every client this gateway opened (providers, cache backends)."""
        if self._closed:
            return
        self._closed = True
        for target in self._chain:
            if target.probe is not None and not target.probe.done():
                target.probe.cancel()
        for provider in self._owned:
            await provider.aclose()
        for tier in self._tiers:
            await tier.aclose()

    # -- catalogue -----------------------------------------------------------------------------
    def spec_for(self, analysis_type: AnalysisType | str) -> AnalysisSpec:
        """The registered spec of a type, by enum member or name."""
        name = analysis_type.value if isinstance(analysis_type, AnalysisType) else analysis_type
        spec = self._types.get(name) if isinstance(name, str) else None
        if spec is None:
            raise UnknownAnalysisTypeError(analysis_type, self._types.names())
        return spec

    @property
    def analysis_types(self) -> list[str]:
        return self._types.names()

    def prompt_for(self, spec: AnalysisSpec, request: AnalysisRequest) -> Prompt:
        """The effective prompt: the first source that has a template for this type."""
        for source in self._prompt_sources:
            template = source.get(spec)
            if template is not None:
                return template.render(request.content, request.context, source=source.name)
        raise ConfigurationError(f"no prompt source has a prompt for {spec.name!r}")

    def ttl_for(self, spec: AnalysisSpec) -> int:
        return spec.ttl if spec.ttl is not None else self.settings.llm_cache_ttl

    # -- the call ------------------------------------------------------------------------------
    async def analyze(
        self,
        analysis_type: AnalysisType | str,
        content: str,
        context: Mapping[str, Any] | None = None,
        use_cache: bool = True,
        *,
        # A budget on the injected clock spanning sleeps, limiter waits and fallbacks, which
        # asyncio.timeout (real time, no early refusal) cannot express.
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> AnalysisResult:
        """Analyse ``content`` and return the type's validated result model.

        :param timeout: overall deadline of this call in seconds (``AEXY_DEADLINE_SECONDS``).
        :raises InvalidInputError: bad input; no provider was called.
        :raises LLMError: the only provider failed (``.code`` says how).
        :raises InvalidOutputError: the answer did not validate, even after one repair request.
        :raises LLMUnavailableError: no provider of a fallback chain could answer;
            ``.attempts`` lists every failure and skip in order.
        """
        if self._closed:
            raise RuntimeError("this LLMGateway is closed")
        started = self.clock()
        spec = self.spec_for(analysis_type)
        request = AnalysisRequest.create(
            spec.name, content, context, max_content_chars=self.settings.max_content_chars
        )
        prompt = self.prompt_for(spec, request)
        self._stats.requests += 1
        primary = self.provider
        key = self._key(spec, prompt, request, primary)
        caching = use_cache and bool(self._tiers)

        if caching:
            hit = await self._cache_get(key, spec)
            if hit is not None:
                result, tier, meta = hit
                result._provenance = Provenance(
                    analysis_type=spec.name, provider=meta.get("provider", primary.name),
                    model=meta.get("model", primary.model), cache_hit=True, cache_tier=tier,
                    attempts=0, latency_ms=(self.clock() - started) * 1000,
                    spec_version=spec.version, prompt_version=prompt.version,
                )
                self._log(result._provenance)
                return result

        seconds = timeout if timeout is not None else self.settings.deadline_seconds
        deadline = Deadline(self.clock, seconds)

        async def produce() -> _Produced:
            return await self._produce(spec, prompt, request, caching, deadline)

        joined = False
        if self.settings.coalesce:
            # Callers with and without the cache never share: only the former may store.
            produced, joined, shared = await self._flights.do((key, caching), produce)
            if shared:
                produced = dataclasses.replace(
                    produced, result=produced.result.model_copy(deep=True))
            if joined:
                self._stats.coalesced += 1
                self._telemetry.coalesced.add(1, {"aexy.analysis_type": spec.name})
        else:
            produced = await produce()
        result = produced.result
        st = produced.state
        # A joiner spent nothing itself: like a cache hit it reports no calls and no tokens, so
        # summing provenance over many results gives the real cost.
        result._provenance = Provenance(
            analysis_type=spec.name, provider=produced.provider, model=produced.model,
            cache_hit=produced.cache_tier is not None, cache_tier=produced.cache_tier,
            coalesced=joined, attempts=0 if joined else st.calls,
            input_tokens=0 if joined else st.input_tokens,
            output_tokens=0 if joined else st.output_tokens,
            latency_ms=(self.clock() - started) * 1000, spec_version=spec.version,
            prompt_version=prompt.version, repaired=produced.repaired,
            fallback=produced.fallback, retries=0 if joined else st.retries,
            failures=tuple(f"{a.provider}/{a.model}: {a.code}" for a in st.failures),
            rate_limit_wait_ms=0.0 if joined else st.rate_wait * 1000,
        )
        self._log(result._provenance)
        return result

    async def analyze_with_fallback(
        self,
        analysis_type: AnalysisType | str,
        content: str,
        context: Mapping[str, Any] | None = None,
        use_cache: bool = True,
    ) -> AnalysisResult:
        """The seed's name for :meth:`analyze`, which always walks the fallback chain."""
        return await self.analyze(analysis_type, content, context, use_cache)

    async def _produce(self, spec: AnalysisSpec, prompt: Prompt, request: AnalysisRequest,
                       caching: bool, deadline: Deadline) -> _Produced:
        """Walk the chain until a provider answers with a valid result."""
        state = _State(deadline)
        last_error: LLMError | None = None
        several = len(self._chain) > 1
        for index, target in enumerate(self._chain):
            provider = target.provider
            if index > 0:
                self._telemetry.fallbacks.add(1, {"gen_ai.provider.name": provider.name})
            if deadline.expired:
                state.fail(target, ErrorCode.TIMEOUT.value,
                           f"the deadline of {deadline.seconds}s ran out before this provider "
                           "was tried")
                break
            if index > 0 and caching:
                # Results are stored under the key of the provider that produced them, so a
                # fallback's earlier answer is served when the chain reaches it again.
                hit = await self._cache_get(self._key(spec, prompt, request, provider), spec)
                if hit is not None:
                    result, tier, meta = hit
                    self._stats.fallbacks += 1
                    return _Produced(result, meta.get("provider", provider.name),
                                     meta.get("model", provider.model), state, True,
                                     cache_tier=tier)
            if not target.breaker.allows():
                self._skip(state, target, "circuit_open",
                           f"circuit open; next trial in {target.breaker.retry_in():.1f}s")
                continue
            if several and not await self._is_available(target, deadline):
                self._skip(state, target, "unavailable", "is_available() returned false")
                continue
            try:
                outcome = await self._complete_validated(target, spec, prompt, request, state)
            except _Skip as skip:
                if isinstance(skip.__cause__, LLMError):
                    last_error = skip.__cause__
                continue
            except LLMError as exc:
                last_error = exc
                continue
            result = outcome.result
            for pp in self._postprocessors:
                processed = pp.process(result, request)
                if not isinstance(processed, spec.result_model):
                    # Caching it would make every later read a silent miss: fail loudly now.
                    raise ConfigurationError(
                        f"post-processor {pp.name!r} returned {type(processed).__name__}, "
                        f"not {spec.result_model.__name__}", env_var="AEXY_POSTPROCESSORS")
                result = processed
            if caching:
                await self._cache_set(self._key(spec, prompt, request, provider), spec,
                                      result, provider.name, outcome.completion.model)
            if index > 0:
                self._stats.fallbacks += 1
            return _Produced(result, provider.name, outcome.completion.model, state, index > 0,
                             repaired=outcome.repaired)
        if not several and last_error is not None:
            raise last_error  # one provider: its own typed error, as without resilience
        self._stats.unavailable += 1
        tried = ", ".join(t.label for t in self._chain)
        raise LLMUnavailableError(
            f"no provider could answer {spec.name} (tried {tried})", state.failures
        ) from last_error

    def _skip(self, state: _State, target: _Target, reason: str, message: str,
              code: str | None = None) -> None:
        state.fail(target, code or reason, message)
        self._stats.skipped[f"{target.label}:{reason}"] += 1

    async def _is_available(self, target: _Target, deadline: Deadline) -> bool:
        """``is_available()``, asked at most once per ``AEXY_AVAILABILITY_TTL`` per provider;
        a successful call counts as a fresh "yes"."""
        ttl = self.settings.availability_ttl
        if ttl <= 0:
            return True
        if self.clock() < target.available_until:
            return target.available
        if target.probe is None or target.probe.done():
            limit = min(_PROBE_TIMEOUT, deadline.remaining())
            target.probe = asyncio.ensure_future(self._probe(target, limit, ttl))
        return await asyncio.shield(target.probe)

    async def _probe(self, target: _Target, limit: float, ttl: float) -> bool:
        try:
            async with asyncio.timeout(limit):
                ok = bool(await target.provider.is_available())
        except Exception as exc:  # a failing probe means "not available", never a crash
            logger.warning("availability probe failed",
                           extra={"provider": target.label, "error": type(exc).__name__})
            ok = False
        target.available = ok
        target.available_until = self.clock() + ttl
        return ok

    def _key(self, spec: AnalysisSpec, prompt: Prompt, request: AnalysisRequest,
             provider: BaseLLMProvider) -> str:
        return cache_key(
            analysis_type=spec.name, spec_version=spec.version, prompt_version=prompt.version,
            schema_hash=spec.schema_hash, provider=provider.name, model=provider.model,
            content=request.content, context_json=request.context_json,
        )

    def _completion_request(self, spec: AnalysisSpec, prompt: Prompt, request: AnalysisRequest,
                            messages: tuple[Message, ...]) -> CompletionRequest:
        return CompletionRequest(
            system=prompt.system, messages=messages, json_schema=spec.json_schema,
            schema_name=spec.name, max_tokens=spec.max_tokens,
            metadata={"analysis_type": spec.name}, analysis=request,
        )

    async def _call(self, target: _Target, request: CompletionRequest, state: _State,
                    analysis_type: str) -> Completion:
        """One logical provider call: breaker, rate limit, deadline and retries around
        ``complete()``; truncation and refusals become errors."""
        provider = target.provider
        estimate = estimate_tokens(request.prompt_chars, request.max_tokens)
        input_estimate = request.prompt_chars // 4
        attempt = 0
        while True:
            remaining = state.deadline.remaining()
            if remaining <= 0:
                error = LLMError(f"the deadline of {state.deadline.seconds}s ran out",
                                 code=ErrorCode.TIMEOUT, provider=provider.name,
                                 model=provider.model)
                state.fail(target, error.code.value, error.message)
                raise error
            permit = target.breaker.acquire()
            if permit is None:
                self._skip(state, target, "circuit_open",
                           f"circuit open; next trial in {target.breaker.retry_in():.1f}s")
                raise _Skip
            attempt += 1
            try:
                completion = await self._attempt(target, permit, request, state, estimate,
                                                 input_estimate, analysis_type)
            except RateLimitWaitError as exc:
                exc.provider, exc.model = provider.name, provider.model
                self._skip(state, target, "rate_limited", exc.message, code=exc.code.value)
                raise
            except LLMError as exc:
                state.fail(target, exc.code.value, exc.message)
                delay = self.retry_policy.delay(exc, attempt, state.deadline.remaining(),
                                                self.random)
                if delay is None:
                    raise
                if not target.breaker.allows():
                    # This failure opened the circuit: move on now rather than sleep.
                    self._skip(state, target, "circuit_open", "circuit opened")
                    raise _Skip from exc
                state.retries += 1
                self._stats.retries[provider.name] += 1
                self._telemetry.retries.add(1, {"gen_ai.provider.name": provider.name,
                                                "error.type": exc.code.value})
                await self.sleep(delay)
                continue
            try:
                return self._check_finish(provider, completion)
            except LLMError as exc:
                state.fail(target, exc.code.value, exc.message)
                raise

    async def _attempt(self, target: _Target, permit: Permit, request: CompletionRequest,
                       state: _State, estimate: int, input_estimate: int,
                       analysis_type: str) -> Completion:
        """One physical call (after the limiter), recorded on the breaker and the limiter."""
        provider = target.provider
        limiter = target.limiter
        try:
            if limiter is not None:
                waited = await limiter.acquire(estimate, max_wait=state.deadline.remaining())
                if waited > 0:
                    state.rate_wait += waited
                    self._stats.rate_limit_waits += 1
                    self._stats.rate_limit_wait_s += waited
                    self._telemetry.rate_limit_wait.record(
                        waited, {"gen_ai.provider.name": provider.name})
            remaining = state.deadline.remaining()
            if remaining <= 0:
                raise LLMError("the deadline ran out while waiting for the rate limiter",
                               code=ErrorCode.TIMEOUT, provider=provider.name,
                               model=provider.model)
        except BaseException:
            target.breaker.release(permit)
            raise
        call = dataclasses.replace(request, timeout=remaining)
        state.calls += 1
        t0 = self.clock()
        with self._telemetry.span(provider.name, provider.model, analysis_type) as span:
            try:
                # The provider gets the remaining time as request.timeout; the event loop
                # enforces it too, for providers that ignore it.
                async with asyncio.timeout(remaining if math.isfinite(remaining) else None):
                    completion = await provider.complete(call)
                self._telemetry.annotate(span, completion)
            except (LLMError, TimeoutError) as exc:
                error = exc if isinstance(exc, LLMError) else LLMError(
                    f"no answer within the remaining {remaining:.2f}s of the deadline",
                    code=ErrorCode.TIMEOUT, provider=provider.name, model=provider.model)
                target.breaker.record(permit, failed=error.retryable)
                if limiter is not None:
                    limiter.reconcile(estimate, input_estimate)
                self._stats.record_failure(provider.name, error.code.value)
                self._telemetry.record_call(provider.name, provider.model, self.clock() - t0,
                                            0, 0, error.code.value)
                if error is exc:
                    raise
                raise error from None
            except BaseException:  # cancelled, or a provider bug: no verdict on its health
                target.breaker.release(permit)
                if limiter is not None:
                    limiter.reconcile(estimate, input_estimate)
                raise
        elapsed = self.clock() - t0
        usage = completion.usage
        target.breaker.record(permit, failed=False)
        if limiter is not None and usage.total_tokens > 0:
            limiter.reconcile(estimate, usage.total_tokens)
        if self.settings.availability_ttl > 0:
            target.available, target.available_until = True, (
                self.clock() + self.settings.availability_ttl)
        state.input_tokens += usage.input_tokens
        state.output_tokens += usage.output_tokens
        self._stats.record_call(provider.name, elapsed, usage.input_tokens, usage.output_tokens)
        self._telemetry.record_call(provider.name, completion.model, elapsed,
                                    usage.input_tokens, usage.output_tokens)
        return completion

    def _check_finish(self, provider: BaseLLMProvider, completion: Completion) -> Completion:
        usage = completion.usage
        if completion.finish_reason is FinishReason.LENGTH:
            self._stats.errors[ErrorCode.OUTPUT_TRUNCATED.value] += 1
            raise LLMError(
                f"the answer was cut off at {usage.output_tokens} output tokens "
                f"(finish reason {completion.raw_finish_reason or 'length'}); shorten the input "
                "or raise the output limit",
                code=ErrorCode.OUTPUT_TRUNCATED, provider=provider.name, model=completion.model,
                retryable=False, request_id=completion.request_id,
            )
        if completion.finish_reason is FinishReason.CONTENT_FILTER:
            self._stats.errors[ErrorCode.CONTENT_FILTERED.value] += 1
            raise LLMError(
                "the model refused or its answer was filtered "
                f"(finish reason {completion.raw_finish_reason or 'content_filter'})",
                code=ErrorCode.CONTENT_FILTERED, provider=provider.name, model=completion.model,
                retryable=False, request_id=completion.request_id,
            )
        return completion

    async def _complete_validated(self, target: _Target, spec: AnalysisSpec, prompt: Prompt,
                                  request: AnalysisRequest, state: _State) -> _Outcome:
        """Call, parse and validate; on invalid output ask the same model once to repair it."""
        provider = target.provider
        messages: tuple[Message, ...] = (Message("user", prompt.user),)
        first = await self._call(target, self._completion_request(spec, prompt, request, messages),
                                 state, spec.name)
        try:
            result = parse_result(first.text, spec.result_model)
            return _Outcome(result, first, False)
        except OutputParseError as exc:
            errors = exc.errors
        logger.info("repairing invalid output", extra={
            "provider": provider.name, "analysis_type": spec.name, "errors": errors[:5]})
        messages += (Message("assistant", first.text),
                     Message("user", repair_instructions(errors, spec.json_schema)))
        second = await self._call(target, self._completion_request(spec, prompt, request, messages),
                                  state, spec.name)
        try:
            result = parse_result(second.text, spec.result_model)
        except OutputParseError as exc:
            self._stats.errors[ErrorCode.INVALID_OUTPUT.value] += 1
            error = InvalidOutputError(
                f"the answer for {spec.name} did not validate after one repair request: "
                + "; ".join(exc.errors[:5]),
                provider=provider.name, model=second.model, raw_text=second.text,
                errors=exc.errors,
            )
            state.fail(target, error.code.value, error.message)
            raise error from None
        return _Outcome(result, second, True)

    # -- cache ---------------------------------------------------------------------------------
    async def _cache_get(self, key: str, spec: AnalysisSpec
                         ) -> tuple[AnalysisResult, str, dict[str, Any]] | None:
        for i, tier in enumerate(self._tiers):
            raw = await tier.get(key)
            if raw is None:
                continue
            try:
                envelope = json.loads(raw)
                result = spec.result_model.model_validate(envelope["result"])
            except (ValueError, KeyError, TypeError, ValidationError):
                # A stale or foreign value is a miss, never an error.
                logger.warning("discarding invalid cache entry", extra={"tier": tier.name})
                continue
            for upper in self._tiers[:i]:  # promote to faster tiers
                await upper.set(key, raw, self.ttl_for(spec))
            self._stats.cache_hits += 1
            self._telemetry.cache_lookups.add(1, {"result": "hit", "tier": tier.name})
            return result, tier.name, envelope
        self._stats.cache_misses += 1
        self._telemetry.cache_lookups.add(1, {"result": "miss"})
        return None

    async def _cache_set(self, key: str, spec: AnalysisSpec, result: AnalysisResult,
                         provider: str, model: str) -> None:
        envelope = json.dumps({"provider": provider, "model": model,
                               "result": result.model_dump(mode="json")})
        ttl = self.ttl_for(spec)
        for tier in self._tiers:
            await tier.set(key, envelope, ttl)

    async def clear_cache(self, analysis_type: AnalysisType | str | None = None) -> int:
        """Delete cached results, all or of one type; returns how many entries went."""
        name = None if analysis_type is None else self.spec_for(analysis_type).name
        total = 0
        for tier in self._tiers:
            total += await tier.clear(type_prefix(name))
        return total

    async def cache_stats(self) -> list[dict[str, Any]]:
        return [await tier.stats() for tier in self._tiers]

    # -- observability -------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Requests, cache hit rate, provider calls, errors by code, tokens, latency p50/95/99,
        retries, fallbacks, skips, and per provider/model: circuit breaker, rate limiter and
        availability state."""
        snap = self._stats.snapshot()
        now = self.clock()
        snap["providers"] = [t.label for t in self._chain]
        snap["in_flight"] = len(self._flights)
        snap["breakers"] = {t.label: t.breaker.snapshot() for t in self._chain}
        snap["rate_limiters"] = {
            t.label: _limiter_snapshot(t.limiter) for t in self._chain if t.limiter is not None
        }
        snap["availability"] = {
            t.label: {"available": t.available if now < t.available_until else None,
                      "expires_in_s": round(max(0.0, t.available_until - now), 3)
                      if math.isfinite(t.available_until) else None}
            for t in self._chain
        }
        return snap

    def _log(self, p: Provenance) -> None:
        logger.info(
            "LLM analysis completed",
            extra={
                "provider": p.provider, "model": p.model, "analysis_type": p.analysis_type,
                "latency_ms": round(p.latency_ms, 3),
                "tokens_used": p.input_tokens + p.output_tokens, "cache_hit": p.cache_hit,
                "attempts": p.attempts, "retries": p.retries, "fallback": p.fallback,
                "coalesced": p.coalesced,
            },
        )

    def __repr__(self) -> str:
        fallbacks = [t.label for t in self._chain[1:]]
        return (f"LLMGateway(provider={self.provider!r}, fallbacks={fallbacks}, "
                f"cache={[t.name for t in self._tiers]})")


def _label(provider: BaseLLMProvider) -> str:
    return f"{provider.name}/{provider.model}"


def _limiter_snapshot(limiter: RateLimiter) -> dict[str, Any]:
    snapshot = getattr(limiter, "snapshot", None)
    if callable(snapshot):
        return dict(snapshot())
    return {"limiter": type(limiter).__name__}


async def analyze_once(
    provider: BaseLLMProvider,
    analysis_type: AnalysisType | str,
    content: str,
    context: Mapping[str, Any] | None = None,
) -> AnalysisResult:
    """The seed's ``provider.analyze()``: one analysis through ``provider`` alone, with no cache
    and no fallback; the caller keeps (and closes) the provider."""
    gateway = LLMGateway(provider=provider, fallbacks=(), close_providers=False)
    try:
        return await gateway.analyze(analysis_type, content, context=context, use_cache=False)
    finally:
        await gateway.aclose()
