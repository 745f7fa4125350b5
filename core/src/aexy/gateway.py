"""``LLMGateway``: one ``analyze()`` call from validated input to a typed, cached result.

The steps of one call, in the order they run and in the order they are defined below:
validate, spec, prompt, key, cache, coalesce, provider chain, ground, post-process, store,
record.
Each concern behind a step lives in its own module: the cache tiers in :mod:`aexy.cache`, the
resilience around each provider (breaker, limiter, retries, availability, attempt timeout) in
:mod:`aexy.resilience.guard`, parsing in :mod:`aexy.output`, stats and OpenTelemetry in
:mod:`aexy.telemetry`. ``docs/architecture.md`` and ``docs/resilience.md`` explain them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random as _random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

from aexy.analysis import (
    AnalysisRequest,
    AnalysisResult,
    AnalysisSpec,
    AnalysisType,
    attach_provenance,
    check_prompt_size,
)
from aexy.cache import CacheBackend, TieredCache, cache_key
from aexy.completion import CompletionRequest, Message
from aexy.errors import (
    ClosedError,
    ConfigurationError,
    InvalidOutputError,
    LLMError,
    LLMUnavailableError,
    ProviderNotFoundError,
    UnknownAnalysisTypeError,
)
from aexy.grounding import ground
from aexy.output import OutputParseError, parse_result, repair_instructions
from aexy.plugins import PluginHost, get_plugin_host
from aexy.postprocess import PostProcessor
from aexy.prompts import Prompt, find_template, ordered_sources, render_prompt
from aexy.providers.base import BaseLLMProvider
from aexy.ratelimit import RateLimiter
from aexy.resilience.breaker import CircuitBreaker
from aexy.resilience.clock import Clock, Deadline, Random, Sleep
from aexy.resilience.guard import CallState, GuardedProvider, ProviderSkipped
from aexy.resilience.retry import RetryPolicy
from aexy.resilience.singleflight import SingleFlight
from aexy.settings import AexySettings
from aexy.telemetry import Recorder, Telemetry, logger

__all__ = ["GatewayClosedError", "LLMGateway", "analyze_once"]


class GatewayClosedError(ClosedError):
    """The gateway was closed (``aclose()``); build a new one."""


@dataclass(slots=True)
class _Produced:
    """What the provider chain produced for one request (shared by coalesced callers)."""

    result: AnalysisResult
    provider: str
    model: str
    state: CallState
    fallback: bool
    repaired: bool = False
    cache_tier: str | None = None
    #: How the result was made: by a model, or by a heuristic provider's rules.
    method: Literal["model", "heuristic"] = "model"
    #: Claims dropped by grounding because their evidence is not in the content.
    ungrounded: int = 0


class _Record:
    """A finished call as its provenance reads it. The fields are only put together when read
    (``result.provenance``, or the log line when INFO is on): most callers never look."""

    __slots__ = ("cache_tier", "fallback", "joined", "latency_ms", "method", "model",
                 "prompt_version", "provider", "repaired", "spec_name", "spec_version", "state",
                 "ungrounded")

    def __init__(self, produced: _Produced, spec_name: str, spec_version: str,
                 prompt_version: str, latency_ms: float, joined: bool) -> None:
        # The result is not kept: it holds this record, and a cycle would outlive its caller.
        self.provider, self.model, self.state = produced.provider, produced.model, produced.state
        self.cache_tier, self.repaired = produced.cache_tier, produced.repaired
        self.fallback, self.method = produced.fallback, produced.method
        self.ungrounded = produced.ungrounded
        self.spec_name, self.spec_version, self.prompt_version = (spec_name, spec_version,
                                                                  prompt_version)
        self.latency_ms, self.joined = latency_ms, joined

    def fields(self) -> dict[str, Any]:
        st, joined = self.state, self.joined
        return {
            "analysis_type": self.spec_name, "provider": self.provider, "model": self.model,
            "cache_hit": self.cache_tier is not None, "cache_tier": self.cache_tier,
            "coalesced": joined, "attempts": 0 if joined else st.calls,
            "input_tokens": 0 if joined else st.input_tokens,
            "output_tokens": 0 if joined else st.output_tokens,
            "latency_ms": self.latency_ms, "spec_version": self.spec_version,
            "prompt_version": self.prompt_version, "repaired": self.repaired,
            "fallback": self.fallback, "retries": 0 if joined else st.retries,
            "failures": tuple(f"{a.provider}/{a.model}: {a.code}" for a in st.failures),
            "rate_limit_wait_ms": 0.0 if joined else st.rate_wait * 1000,
            "method": self.method, "tokens_estimated": not joined and st.tokens_estimated,
            "ungrounded_dropped": self.ungrounded,
        }


#: The state of a request the cache answered: no call made (read, never written).
_NO_CALLS = CallState(Deadline(time.monotonic, 0))


class LLMGateway:
    """The entry point: ``await gateway.analyze(AnalysisType.X, content, context=...)``.

    :param provider: a provider name (default ``LLM_PROVIDER``) or a provider instance.
    :param model: overrides the primary provider's configured model.
    :param fallbacks: providers (names or instances) tried in order after the primary;
        ``None`` reads ``LLM_FALLBACK_PROVIDERS``, ``()`` means none.
    :param settings: core settings; read from the environment when omitted.
    :param cache: ``None`` builds the configured backend (``AEXY_CACHE_BACKEND``), ``False``
        disables caching, or pass a :class:`~aexy.cache.CacheBackend` (a shared one gets the
        memory tier in front of it).
    :param plugins: the plugin host; the process-wide one when omitted.
    :param close_providers: whether :meth:`aclose` closes provider instances passed in.
    :param clock: monotonic clock in seconds (tests inject one).
    :param sleep: async sleep (tests inject one).
    :param random: uniform ``[0, 1)`` source of backoff jitter (tests inject one).
    :param telemetry: OpenTelemetry instruments; by default from the global providers
        (nothing is recorded until the application installs an OpenTelemetry SDK).
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
        self.settings = s = settings if settings is not None else AexySettings()
        self.plugins = plugins if plugins is not None else get_plugin_host()
        self.clock = clock
        self._recorder = Recorder(telemetry)
        self._owned: list[BaseLLMProvider] = []
        self._close_passed = close_providers
        self._closed = False
        self._types = self.plugins.analysis_types()
        self._prompt_sources = ordered_sources(self.plugins.prompt_sources().items.values())
        self._postprocessors = self._resolve_postprocessors(s.postprocessors)
        self._postprocessor_names = tuple(pp.name for pp in self._postprocessors)
        policy = RetryPolicy(max_attempts=s.max_attempts, base=s.backoff_base,
                             cap=s.backoff_cap)
        self._chain: list[GuardedProvider] = []
        primary = self._build_provider(provider if provider is not None else s.llm_provider,
                                       model)
        for built in (primary, *(self._build_provider(fb, None, env_var="LLM_FALLBACK_PROVIDERS")
                                 for fb in (fallbacks if fallbacks is not None
                                            else s.llm_fallback_providers))):
            label = f"{built.name}/{built.model}"
            if all(g.label != label for g in self._chain):
                self._chain.append(GuardedProvider(
                    built, breaker=CircuitBreaker(label, threshold=s.breaker_threshold,
                                                  cooldown=s.breaker_cooldown, clock=clock),
                    limiter=self._limiter_for(built, label, sleep), policy=policy,
                    recorder=self._recorder, clock=clock, sleep=sleep, random=random,
                    availability_ttl=s.availability_ttl))
        self.provider = primary
        self._cache = self._build_cache(cache)
        self._flights: SingleFlight[_Produced] = SingleFlight()

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

    def _limiter_for(self, provider: BaseLLMProvider, label: str,
                     sleep: Sleep) -> RateLimiter | None:
        limits = provider.limits
        if not (limits.requests_per_minute or limits.tokens_per_minute):
            return None
        name = self.settings.rate_limiter
        spec = self.plugins.rate_limiters().get(name)
        if spec is None:
            raise ConfigurationError(
                f"unknown rate limiter {name!r}; available: "
                f"{', '.join(self.plugins.rate_limiters().names()) or 'none'}",
                env_var="AEXY_RATE_LIMITER",
            )
        limiter: RateLimiter = spec.factory(label, limits, clock=self.clock, sleep=sleep)
        return limiter

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

    def _build_cache(self, cache: CacheBackend | bool | None) -> TieredCache | None:
        s = self.settings
        if cache is False or (cache is None and not s.llm_cache_enabled):
            return None
        given = None if cache is None or cache is True else cache
        return TieredCache.from_settings(s, self.plugins, recorder=self._recorder, backend=given)

    @property
    def providers(self) -> tuple[BaseLLMProvider, ...]:
        """The chain: the primary, then the fallbacks, in the order they are tried."""
        return tuple(g.provider for g in self._chain)

    @property
    def cache(self) -> TieredCache | None:
        """The result cache (``None`` when caching is off)."""
        return self._cache

    # -- lifecycle -----------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every client this gateway opened (providers, rate limiters, cache backends)."""
        if self._closed:
            return
        self._closed = True
        for guard in self._chain:
            guard.cancel_probe()
            close = getattr(guard.limiter, "aclose", None)  # optional: distributed limiters
            if close is not None:
                await close()
        for provider in self._owned:
            await provider.aclose()
        if self._cache is not None:
            await self._cache.aclose()

    # -- the call, step by step ----------------------------------------------------------------
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
        :raises GatewayClosedError: the gateway was closed.
        """
        if self._closed:
            raise GatewayClosedError("this LLMGateway")
        started = self.clock()
        # 1-2 validate the input against its type's spec: nothing is sent for bad input.
        spec = self.spec_for(analysis_type)
        request = AnalysisRequest.create(spec.name, content, context,
                                         max_content_chars=self.settings.max_content_chars,
                                         max_prompt_chars=self.settings.max_prompt_chars)
        # 3 the prompt's template: its version goes into the key, rendering waits for a miss.
        source, template = find_template(self._prompt_sources, spec, self.settings)
        self._recorder.request()
        # 4-5 the key and the cache.
        caching = use_cache and self._cache is not None
        key = self._key(spec, template.version, request, self.provider) if caching else None
        if key is not None:
            hit = await self._cache_get(key, spec, self.provider)
            if hit is not None:
                return self._finish(hit, spec, template.version, started, joined=False)
        prompt = template.render(request.content, request.context, source=source)
        check_prompt_size(prompt, self.settings.max_prompt_chars)
        # 6 coalesce identical concurrent requests (callers with and without the cache never
        # share: only the former may store); 7-9 the provider chain, post-processing, storing.
        deadline = Deadline(self.clock, timeout if timeout is not None
                            else self.settings.deadline_seconds)
        if not self.settings.coalesce:
            produced = await self._produce(spec, prompt, request, key, deadline)
            return self._finish(produced, spec, prompt.version, started, joined=False)
        # Without the cache there is no key to spend a hash on: the request itself identifies it.
        flight = (key, True) if key is not None else (
            spec.name, prompt.version, request.context_json, request.content, False)
        produced, joined, shared = await self._flights.do(
            flight, lambda: self._produce(spec, prompt, request, key, deadline))
        if shared:  # each caller owns its result object
            produced = dataclasses.replace(produced,
                                           result=produced.result.model_copy(deep=True))
        if joined:
            self._recorder.coalesced(spec.name)
        # 10 provenance and the log line.
        return self._finish(produced, spec, prompt.version, started, joined=joined)

    async def analyze_with_fallback(
        self,
        analysis_type: AnalysisType | str,
        content: str,
        context: Mapping[str, Any] | None = None,
        use_cache: bool = True,
    ) -> AnalysisResult:
        """The seed's name for :meth:`analyze`, which always walks the fallback chain."""
        return await self.analyze(analysis_type, content, context, use_cache)

    def spec_for(self, analysis_type: AnalysisType | str) -> AnalysisSpec:
        """The registered spec of a type, by enum member or name."""
        name = analysis_type.value if isinstance(analysis_type, AnalysisType) else analysis_type
        spec = self._types.get(name) if isinstance(name, str) else None
        if spec is None:
            raise UnknownAnalysisTypeError(analysis_type, self._types.names())
        return spec

    def prompt_for(self, spec: AnalysisSpec, request: AnalysisRequest) -> Prompt:
        """The effective prompt: the first source that has a template for this type."""
        return render_prompt(self._prompt_sources, spec, request.content, request.context,
                             self.settings)

    def _key(self, spec: AnalysisSpec, prompt_version: str, request: AnalysisRequest,
             provider: BaseLLMProvider) -> str:
        return cache_key(
            analysis_type=spec.name, spec_version=spec.version, prompt_version=prompt_version,
            schema_hash=spec.schema_hash, provider=provider.name, model=provider.model,
            content=request.content, context_json=request.context_json,
            postprocessors=self._postprocessor_names,
        )

    async def _cache_get(self, key: str, spec: AnalysisSpec,
                         provider: BaseLLMProvider) -> _Produced | None:
        """A hit stored under ``provider``'s key, as if ``provider`` had just answered."""
        assert self._cache is not None
        hit = await self._cache.get(key, spec, self.ttl_for(spec))
        if hit is None:
            return None
        return _Produced(hit.result, hit.provider, hit.model, _NO_CALLS, fallback=False,
                         cache_tier=hit.tier, method=provider.method)

    def ttl_for(self, spec: AnalysisSpec) -> int:
        return spec.ttl if spec.ttl is not None else self.settings.llm_cache_ttl

    async def _produce(self, spec: AnalysisSpec, prompt: Prompt, request: AnalysisRequest,
                       key: str | None, deadline: Deadline) -> _Produced:
        """Step 7: walk the chain until a provider answers with a valid result, then
        post-process (8) and store (9) it."""
        state = CallState(deadline)
        last_error: LLMError | None = None
        several = len(self._chain) > 1
        for index, guard in enumerate(self._chain):
            provider = guard.provider
            if index > 0:
                self._recorder.fallback(provider.name)
            if deadline.expired:
                state.fail(provider, "timeout", f"the deadline of {deadline.seconds}s ran out "
                           "before this provider was tried")
                break
            if index > 0 and key is not None:
                # Results are stored under the key of the provider that produced them, so a
                # fallback's earlier answer is served when the chain reaches it again.
                fallback_key = self._key(spec, prompt.version, request, provider)
                hit = await self._cache_get(fallback_key, spec, provider)
                if hit is not None:
                    self._recorder.answered_by_fallback()
                    return dataclasses.replace(hit, state=state, fallback=True)
            if not guard.breaker.allows():
                guard.skip(state, "circuit_open",
                           f"circuit open; next trial in {guard.breaker.retry_in():.1f}s")
                continue
            if several and not await guard.is_available(deadline):
                guard.skip(state, "unavailable", "is_available() returned false")
                continue
            try:
                result, model, repaired = await self._complete_validated(
                    guard, spec, prompt, request, state)
            except ProviderSkipped as skip:
                if isinstance(skip.__cause__, LLMError):
                    last_error = skip.__cause__
                continue
            except LLMError as exc:
                last_error = exc
                continue
            # 8 grounding: claims whose evidence is not in the content are dropped.
            path = request.context.get("file_path")
            result, ungrounded = ground(result, request.content,
                                        path if isinstance(path, str) else None)
            if self._postprocessors:
                result = self._postprocess(spec, request, result)
            if key is not None:
                await self._cache.set(  # type: ignore[union-attr]
                    key if index == 0 else self._key(spec, prompt.version, request, provider), spec,
                    result, provider.name, model, self.ttl_for(spec))
            if index > 0:
                self._recorder.answered_by_fallback()
            return _Produced(result, provider.name, model, state, index > 0, repaired=repaired,
                             method=provider.method, ungrounded=ungrounded)
        if not several and last_error is not None:
            raise last_error  # one provider: its own typed error, as without resilience
        self._recorder.unavailable()
        tried = ", ".join(g.label for g in self._chain)
        raise LLMUnavailableError(
            f"no provider could answer {spec.name} (tried {tried})", state.failures
        ) from last_error

    async def _complete_validated(self, guard: GuardedProvider, spec: AnalysisSpec,
                                  prompt: Prompt, request: AnalysisRequest, state: CallState
                                  ) -> tuple[AnalysisResult, str, bool]:
        """Call, parse and validate; on invalid output ask the same model once to repair it.
        Returns the result, the model that answered, and whether a repair was needed."""
        messages: tuple[Message, ...] = (Message("user", prompt.user),)
        call = CompletionRequest(
            system=prompt.system, messages=messages, json_schema=spec.json_schema,
            schema_name=spec.name, max_tokens=spec.max_tokens,
            metadata={"analysis_type": spec.name}, analysis=request,
        )
        first = await guard.complete(call, state)
        try:
            return parse_result(first.text, spec.result_model), first.model, False
        except OutputParseError as exc:
            errors = exc.errors
        logger.info("repairing invalid output", extra={
            "provider": guard.provider.name, "analysis_type": spec.name, "errors": errors[:5]})
        repair = dataclasses.replace(call, messages=(
            *messages, Message("assistant", first.text),
            Message("user", repair_instructions(errors, spec.json_schema))))
        second = await guard.complete(repair, state)
        try:
            return parse_result(second.text, spec.result_model), second.model, True
        except OutputParseError as exc:
            errors = exc.errors
        error = InvalidOutputError(
            f"the answer for {spec.name} did not validate after one repair request: "
            + "; ".join(errors[:5]),
            provider=guard.provider.name, model=second.model, raw_text=second.text,
            errors=errors,
        )
        self._recorder.answer_refused(guard.provider.name, error.code.value)
        state.fail(guard.provider, error.code.value, error.message)
        raise error

    def _postprocess(self, spec: AnalysisSpec, request: AnalysisRequest,
                     result: AnalysisResult) -> AnalysisResult:
        for pp in self._postprocessors:
            processed = pp.process(result, request)
            if not isinstance(processed, spec.result_model):
                # Caching it would make every later read a silent miss: fail loudly now.
                raise ConfigurationError(
                    f"post-processor {pp.name!r} returned {type(processed).__name__}, "
                    f"not {spec.result_model.__name__}", env_var="AEXY_POSTPROCESSORS")
            result = processed
        return result

    def _finish(self, produced: _Produced, spec: AnalysisSpec, prompt_version: str, started: float,
                *, joined: bool) -> AnalysisResult:
        """Attach provenance and log the call. A joiner or a cache hit spent nothing itself:
        it reports no calls and no tokens, so summing provenance over results gives the cost."""
        record = _Record(produced, spec.name, spec.version, prompt_version,
                         (self.clock() - started) * 1000, joined)
        attach_provenance(produced.result, record)
        self._recorder.completed(
            record, heuristic_fallback=produced.fallback and produced.method != "model")
        return produced.result

    # -- the cache, for callers ----------------------------------------------------------------
    async def clear_cache(self, analysis_type: AnalysisType | str | None = None) -> int:
        """Delete cached results, all or of one type; returns how many entries went."""
        if self._cache is None:
            return 0
        name = None if analysis_type is None else self.spec_for(analysis_type).name
        return await self._cache.clear(name)

    async def cache_stats(self) -> list[dict[str, Any]]:
        """One dict per cache tier (``[]`` when caching is off)."""
        return [] if self._cache is None else await self._cache.stats()

    # -- observability -------------------------------------------------------------------------
    @property
    def analysis_types(self) -> list[str]:
        return self._types.names()

    def stats(self) -> dict[str, Any]:
        """Requests, cache hit rate, provider calls, errors by code, tokens, latency p50/95/99,
        retries, fallbacks, skips, and per provider/model: circuit breaker, rate limiter and
        availability state."""
        snap = self._recorder.stats.snapshot()
        snap["providers"] = [g.label for g in self._chain]
        snap["in_flight"] = len(self._flights)
        snap["breakers"] = {g.label: g.breaker.snapshot() for g in self._chain}
        snap["rate_limiters"] = {g.label: _limiter_snapshot(g.limiter)
                                 for g in self._chain if g.limiter is not None}
        snap["availability"] = {g.label: g.availability() for g in self._chain}
        return snap

    def __repr__(self) -> str:
        fallbacks = [g.label for g in self._chain[1:]]
        tiers = [] if self._cache is None else [t.name for t in self._cache.tiers]
        return f"LLMGateway(provider={self.provider!r}, fallbacks={fallbacks}, cache={tiers})"


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
