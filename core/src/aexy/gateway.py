"""``LLMGateway``: one ``analyze()`` call from validated input to a typed, cached result.

The steps of one call, numbered in the order they run (the comments in :meth:`LLMGateway.analyze`
and the methods below it carry the same numbers):

1. validate the input and 2. find its type's spec; 3. the prompt template (its version goes
into the key); 4. the cache key and 5. the cache; 6. single-flight for cached calls; 7. the
provider chain, one attempt at a time (each priced and, under a budget, reserved before it is
sent); 8. grounding (claims whose evidence is not in the content are dropped) and
post-processing; 9. storing; 10. provenance (with the cost), stats and the log line.
A dry run replaces 7-9 with planning (:mod:`aexy.plan`).

Each concern behind a step lives in its own module: the parts are built from settings by
:mod:`aexy.assembly`, the cache tiers are :mod:`aexy.cache`, the resilience around each provider
(breaker, budget, limiter, retries, availability, attempt timeout) is
:mod:`aexy.resilience.guard`, prices are :mod:`aexy.cost` and budgets :mod:`aexy.budget`,
parsing is :mod:`aexy.output`, grounding is :mod:`aexy.grounding`, stats and OpenTelemetry
are :mod:`aexy.telemetry`.
``docs/architecture.md`` and ``docs/resilience.md`` explain them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random as _random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

from aexy import assembly
from aexy.budget import Budget
from aexy.cache import TieredCache, cache_key
from aexy.contract.analysis import (
    AnalysisRequest,
    AnalysisResult,
    AnalysisSpec,
    AnalysisType,
    attach_provenance,
)
from aexy.contract.cache import CacheBackend
from aexy.contract.completion import (
    Completion,
    CompletionRequest,
    FinishReason,
    Message,
    Usage,
)
from aexy.contract.cost import Cost, PriceRef
from aexy.contract.prompts import Prompt, PromptTemplate
from aexy.contract.provider import BaseLLMProvider
from aexy.contract.ratelimit import RateLimiter
from aexy.contract.tokens import TokenCount, estimate_request
from aexy.cost import Charge, CostTally, total_cost
from aexy.errors import (
    BatchUnsupportedError,
    ClosedError,
    ConfigurationError,
    InvalidOutputError,
    LLMError,
    LLMUnavailableError,
    UnknownAnalysisTypeError,
)
from aexy.grounding import ground
from aexy.output import OutputParseError, parse_result, repair_instructions
from aexy.plan import JobPlan, PlannedCall
from aexy.plugins import PluginHost, get_plugin_host
from aexy.prompts import check_prompt_size, find_template, ordered_sources, render_prompt
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
    """What answered one request (shared by coalesced callers)."""

    result: AnalysisResult
    provider: str
    model: str
    state: CallState
    fallback: bool
    repaired: bool = False
    cache_tier: str | None = None
    #: How the result was made: by a model, or by a heuristic provider's rules.
    method: Literal["model", "heuristic"] = "model"
    #: The provider of the chain that answered: its key is where the answer is stored.
    by: BaseLLMProvider | None = None
    #: For a cache hit: the usage recorded with it (what producing it cost, saved now), and
    #: how the provider whose key it was is priced.
    saved: Usage | None = None
    saved_ref: PriceRef | None = None
    #: A dry run's stand-in (:mod:`aexy.plan`), never stored.
    dry_run: bool = False
    #: Claims dropped by grounding because their evidence is not in the content.
    ungrounded: int = 0
    #: The provider's batch that gave the answer (:mod:`aexy.batching`).
    batch_id: str | None = None


class _Record:
    """A finished call as its provenance reads it. The fields are only put together when read
    (``result.provenance``, or the log line when INFO is on): most callers never look, and
    pricing is the dearest part."""

    __slots__ = ("batch_id", "cache_tier", "dry_run", "fallback", "joined", "latency_ms",
                 "method", "model", "prompt_version", "provider", "repaired", "saved",
                 "saved_ref", "spec_name", "spec_version", "state", "ungrounded")

    def __init__(self, produced: _Produced, spec_name: str, spec_version: str,
                 prompt_version: str, latency_ms: float, joined: bool) -> None:
        # The result is not kept: it holds this record, and a cycle would outlive its caller.
        self.provider, self.model, self.state = produced.provider, produced.model, produced.state
        self.cache_tier, self.repaired = produced.cache_tier, produced.repaired
        self.fallback, self.method = produced.fallback, produced.method
        self.saved, self.saved_ref = produced.saved, produced.saved_ref
        self.dry_run, self.batch_id = produced.dry_run, produced.batch_id
        self.ungrounded = produced.ungrounded
        self.spec_name, self.spec_version, self.prompt_version = (spec_name, spec_version,
                                                                  prompt_version)
        self.latency_ms, self.joined = latency_ms, joined

    def cost(self) -> Cost | None:
        """What this call paid; for a coalesced call or a cache hit, what it saved."""
        paid = total_cost(self.state.charges)
        if self.joined:  # the leader's calls: this caller did not pay for them again
            return None if paid is None else paid.as_saved()
        if paid is not None or self.saved is None:
            return paid
        return Charge(self.provider, self.model, self.saved, self.saved_ref,
                      time.time()).cost().as_saved()

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
            "cost": self.cost(), "dry_run": self.dry_run, "batch_id": self.batch_id,
            "ungrounded_dropped": self.ungrounded,
        }


@dataclass(slots=True)
class _Admitted:
    """One request through steps 1-4: validated, its template found, its key made."""

    spec: AnalysisSpec
    request: AnalysisRequest
    source: str
    template: PromptTemplate
    cached: bool
    key: str


@dataclass(slots=True)
class _Call:
    """One request on its way through steps 4-9: what every step reads."""

    spec: AnalysisSpec
    request: AnalysisRequest
    prompt: Prompt
    deadline: Deadline
    #: Whether results are read from and written to the cache for this call.
    cached: bool
    #: The cache key under the primary provider (``""`` when uncached).
    key: str = ""


def _completion_request(call: _Call) -> CompletionRequest:
    """What a provider is sent for ``call`` (step 7)."""
    spec, prompt = call.spec, call.prompt
    return CompletionRequest(
        system=prompt.system, messages=(Message("user", prompt.user),),
        json_schema=spec.json_schema, schema_name=spec.name, max_tokens=spec.max_tokens,
        metadata={"analysis_type": spec.name}, analysis=call.request,
    )


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
        disables caching, or pass a :class:`~aexy.plugin_api.CacheBackend` instance (checked
        like an installed backend; the memory tier goes in front of it).
    :param plugins: the plugin host; the process-wide one when omitted.
    :param close_providers: whether :meth:`aclose` closes provider instances passed in.
    :param clock: monotonic clock in seconds (tests inject one).
    :param sleep: async sleep (tests inject one).
    :param random: uniform ``[0, 1)`` source of backoff jitter (tests inject one).
    :param telemetry: OpenTelemetry instruments; by default from the global providers
        (nothing is recorded until the application installs an OpenTelemetry SDK).
    :param budget: ``None`` (or ``True``) builds the budget ``AEXY_BUDGET_USD`` sets (on the
        ledger ``AEXY_BUDGET_LEDGER`` chooses), ``False`` means none, or pass a
        :class:`~aexy.budget.Budget` (shared by gateways that are given the same one).
    :param dry_run: send nothing: plan what calls would be made (:attr:`plan`) and answer each
        analysis the cache does not hold with a stand-in (see :mod:`aexy.plan`).
    :raises ConfigurationError: a setting names something unknown, or a given cache backend
        lacks a member (``ProviderNotFoundError`` for an unknown provider).
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
        budget: Budget | bool | None = None,
        dry_run: bool = False,
    ) -> None:
        self.settings = s = settings if settings is not None else AexySettings()
        self.plugins = host = plugins if plugins is not None else get_plugin_host()
        self.clock = clock
        self._recorder = Recorder(telemetry)
        self._owned: list[BaseLLMProvider] = []
        self._close_passed = close_providers
        self._closed = False
        self._types = host.analysis_types()
        self._prompt_sources = ordered_sources(host.prompt_sources().items.values())
        self._postprocessors = assembly.resolve_postprocessors(s.postprocessors, host)
        self._postprocessor_names = tuple(pp.name for pp in self._postprocessors)
        policy = RetryPolicy(max_attempts=s.max_attempts, base=s.backoff_base,
                             cap=s.backoff_cap)
        self._budget = (budget if isinstance(budget, Budget) else None if budget is False
                        else assembly.build_budget(s, host))
        self._chain: list[GuardedProvider] = []
        primary = self._provider(provider if provider is not None else s.llm_provider, model)
        fallback_names = fallbacks if fallbacks is not None else s.llm_fallback_providers
        for built in (primary, *(self._provider(fb, None, env_var="LLM_FALLBACK_PROVIDERS")
                                 for fb in fallback_names)):
            label = f"{built.name}/{built.model}"
            if any(g.label == label for g in self._chain):
                continue
            self._chain.append(GuardedProvider(
                built, breaker=CircuitBreaker.from_settings(label, s, clock=clock),
                limiter=assembly.build_limiter(built, label, s, host, clock=clock, sleep=sleep),
                policy=policy, recorder=self._recorder, clock=clock, sleep=sleep, random=random,
                availability_ttl=s.availability_ttl, budget=self._budget))
        self.provider = primary
        self._plan = JobPlan() if dry_run else None
        # A dry run's stand-in answers: the offline heuristics (of the host), by key.
        self._stand_in: BaseLLMProvider | None = None
        self._stood_in: dict[str, _Produced] = {}
        self._cache: TieredCache | None = None
        if cache is not False and (cache is not None or s.llm_cache_enabled):
            given = None if cache is None or cache is True else cache
            self._cache = assembly.build_cache(s, host, recorder=self._recorder, backend=given)
        self._flights: SingleFlight[_Produced] = SingleFlight()

    def _provider(self, provider: str | BaseLLMProvider, model: str | None,
                  *, env_var: str = "LLM_PROVIDER") -> BaseLLMProvider:
        if isinstance(provider, BaseLLMProvider):
            if model:
                provider._model_override = model
            if self._close_passed:
                self._owned.append(provider)
            return provider
        built = assembly.build_provider(provider, model, self.plugins, env_var=env_var)
        self._owned.append(built)
        return built

    @property
    def providers(self) -> tuple[BaseLLMProvider, ...]:
        """The chain: the primary, then the fallbacks, in the order they are tried."""
        return tuple(g.provider for g in self._chain)

    @property
    def cache(self) -> TieredCache | None:
        """The result cache (``None`` when caching is off)."""
        return self._cache

    @property
    def budget(self) -> Budget | None:
        """The spending limit every call is reserved against (``None``: no budget)."""
        return self._budget

    @property
    def plan(self) -> JobPlan | None:
        """A dry run's plan so far (``None`` unless built with ``dry_run=True``)."""
        return self._plan

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
        if self._stand_in is not None and self._stand_in not in self.providers:
            await self._stand_in.aclose()
        if self._cache is not None:
            await self._cache.aclose()
        if self._budget is not None:
            await self._budget.aclose()

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

        :param use_cache: read and write the cache for this call. An uncached call always asks
            for its own answer: it never joins an identical call already in flight.
        :param timeout: overall deadline of this call in seconds (``AEXY_DEADLINE_SECONDS``).
        :raises InvalidInputError: bad input; no provider was called.
        :raises LLMError: the only provider failed (``.code`` says how).
        :raises InvalidOutputError: the answer did not validate, even after one repair request.
        :raises LLMUnavailableError: no provider of a fallback chain could answer;
            ``.attempts`` lists every failure and skip in order.
        :raises GatewayClosedError: the gateway was closed.
        """
        started = self.clock()
        # 1-4 the input validated, its template found and its key made.
        admitted = self._admit(analysis_type, content, context, use_cache)
        spec, cached, key = admitted.spec, admitted.cached, admitted.key
        # 5 the cache, under the primary provider's key (read here, not through _lookup: a
        # hit is the hot path, and a coroutine less is measurable).
        if cached:
            hit = await self._read(key, spec, self._chain[0])
            if hit is not None:
                if self._plan is not None:
                    self._plan.cached[hit.cache_tier or ""] += 1
                return self._finish(hit, spec, admitted.template.version, started, joined=False)
        call = self._render(admitted, timeout)
        prompt = call.prompt
        # 6 single-flight: identical cached calls in flight share one answer. An uncached call
        # asked for an answer of its own, so it never joins another.
        if not (cached and self.settings.coalesce):
            produced = await self._produce(call)
            return self._finish(produced, spec, prompt.version, started, joined=False)
        produced, joined, shared = await self._flights.do(key, lambda: self._produce(call))
        if shared:  # each caller owns its result object
            produced = dataclasses.replace(produced,
                                           result=produced.result.model_copy(deep=True))
        if joined:
            self._recorder.coalesced(spec.name)
            if self._plan is not None:
                self._plan.repeats += 1
        return self._finish(produced, spec, prompt.version, started, joined=joined)

    def _admit(self, analysis_type: AnalysisType | str, content: str,
               context: Mapping[str, Any] | None, use_cache: bool, *,
               keyed: bool = False) -> _Admitted:
        """Steps 1-4: the input validated against its type's spec (nothing is sent for bad
        input), the prompt's template (its version goes into the key; rendering waits for a
        miss), and the key under the primary provider (``keyed``: also for an uncached call,
        which a batch job names its requests by)."""
        if self._closed:
            raise GatewayClosedError("this LLMGateway")
        spec = self.spec_for(analysis_type)
        request = AnalysisRequest.create(spec.name, content, context,
                                         max_content_chars=self.settings.max_content_chars,
                                         max_prompt_chars=self.settings.max_prompt_chars)
        source, template = find_template(self._prompt_sources, spec, self.settings)
        self._recorder.request()
        cached = use_cache and self._cache is not None
        key = (self._key(spec, template.version, request, self.provider) if cached or keyed
               else "")
        if self._plan is not None:
            self._plan.analyses += 1
        return _Admitted(spec, request, source, template, cached, key)

    async def _lookup(self, admitted: _Admitted) -> _Produced | None:
        """Step 5: the primary provider's cached answer, if the cache holds one."""
        hit = await self._read(admitted.key, admitted.spec, self._chain[0])
        if hit is not None and self._plan is not None:
            self._plan.cached[hit.cache_tier or ""] += 1
        return hit

    def _render(self, admitted: _Admitted, timeout: float | None = None) -> _Call:
        """A miss: the prompt rendered (within its size limit) and the call's deadline set."""
        request = admitted.request
        prompt = admitted.template.render(request.content, request.context,
                                          source=admitted.source)
        check_prompt_size(prompt, self.settings.max_prompt_chars)
        return _Call(admitted.spec, request, prompt, Deadline(
            self.clock, timeout if timeout is not None else self.settings.deadline_seconds),
            admitted.cached, admitted.key)

    async def _produce(self, call: _Call) -> _Produced:
        """Steps 7-9: the chain's first answer, post-processed and stored (a fallback's answer
        found in the cache was both already)."""
        if self._plan is not None:
            return await self._plan_call(call)
        produced = await self._walk_chain(call)
        if produced.cache_tier is None:
            await self._keep(call, produced)
        return produced

    async def _keep(self, call: _Call, produced: _Produced) -> None:
        """Steps 8-9 for a fresh answer (live or from a batch). 8 ground: claims whose evidence
        is not in the content are dropped; then post-process. 9 store under the key of the
        provider that answered, so a fallback's answer is served when the chain reaches that
        fallback again."""
        path = call.request.context.get("file_path")
        produced.result, produced.ungrounded = ground(
            produced.result, call.request.content, path if isinstance(path, str) else None)
        if self._postprocessors:
            produced.result = self._postprocess(call, produced.result)
        if call.cached:
            await self._write(call, produced)

    async def _walk_chain(self, call: _Call) -> _Produced:
        """Step 7: each provider in turn (skipping those whose circuit is open or that are
        unavailable) until one answers with a valid result."""
        state = CallState(call.deadline)
        last_error: LLMError | None = None
        several = len(self._chain) > 1
        for index, guard in enumerate(self._chain):
            provider = guard.provider
            if index > 0:
                self._recorder.fallback(provider.name)
            if call.deadline.expired:
                state.fail(provider, "timeout", f"the deadline of {call.deadline.seconds}s ran "
                           "out before this provider was tried")
                break
            if index > 0 and call.cached:  # a fallback's earlier answer, under its own key
                hit = await self._read(self._key(call.spec, call.prompt.version, call.request,
                                                 provider), call.spec, guard)
                if hit is not None:
                    self._recorder.answered_by_fallback()
                    return dataclasses.replace(hit, state=state, fallback=True)
            if not guard.breaker.allows():
                guard.skip(state, "circuit_open",
                           f"circuit open; next trial in {guard.breaker.retry_in():.1f}s")
                continue
            if several and not await guard.is_available(call.deadline):
                guard.skip(state, "unavailable", "is_available() returned false")
                continue
            try:
                result, model, repaired = await self._attempt(guard, call, state)
            except ProviderSkipped as skip:
                if isinstance(skip.__cause__, LLMError):
                    last_error = skip.__cause__
                continue
            except LLMError as exc:
                last_error = exc
                continue
            if index > 0:
                self._recorder.answered_by_fallback()
            return _Produced(result, provider.name, model, state, index > 0, repaired=repaired,
                             method=provider.method, by=provider)
        if not several and last_error is not None:
            raise last_error  # one provider: its own typed error, as without resilience
        self._recorder.unavailable()
        tried = ", ".join(g.label for g in self._chain)
        raise LLMUnavailableError(
            f"no provider could answer {call.spec.name} (tried {tried})", state.failures
        ) from last_error

    async def _attempt(self, guard: GuardedProvider, call: _Call, state: CallState
                       ) -> tuple[AnalysisResult, str, bool]:
        """Step 7 for one provider: call, parse and validate; on invalid output ask the same
        model once to repair it. Returns the result, the model that answered, and whether a
        repair was needed."""
        request = _completion_request(call)
        first = await guard.complete(request, state)
        return await self._validated(guard, call, state, request, first)

    async def _validated(self, guard: GuardedProvider, call: _Call, state: CallState,
                         request: CompletionRequest, first: Completion
                         ) -> tuple[AnalysisResult, str, bool]:
        """Parse and validate ``first``, the answer to ``request``; when it is invalid, ask the
        same model once (a live call) to repair it. A live answer and one from a batch go
        through here alike."""
        spec = call.spec
        messages = request.messages
        try:
            return parse_result(first.text, spec.result_model), first.model, False
        except OutputParseError as exc:
            errors = exc.errors
        logger.info("repairing invalid output", extra={
            "provider": guard.provider.name, "analysis_type": spec.name, "errors": errors[:5]})
        repair = dataclasses.replace(request, messages=(
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

    def _postprocess(self, call: _Call, result: AnalysisResult) -> AnalysisResult:
        """Step 8: the configured post-processors, in order."""
        for pp in self._postprocessors:
            processed = pp.process(result, call.request)
            if not isinstance(processed, call.spec.result_model):
                # Caching it would make every later read a silent miss: fail loudly now.
                raise ConfigurationError(
                    f"post-processor {pp.name!r} returned {type(processed).__name__}, "
                    f"not {call.spec.result_model.__name__}", env_var="AEXY_POSTPROCESSORS")
            result = processed
        return result

    def _finish(self, produced: _Produced, spec: AnalysisSpec, prompt_version: str, started: float,
                *, joined: bool) -> AnalysisResult:
        """Step 10: attach provenance and record the call. A joiner or a cache hit spent
        nothing itself: it reports no calls and no tokens, so summing provenance over results
        gives the cost."""
        record = _Record(produced, spec.name, spec.version, prompt_version,
                         (self.clock() - started) * 1000, joined)
        attach_provenance(produced.result, record)
        if joined:
            self._recorder.saved(produced.state.charges)
        elif produced.saved is not None and not produced.state.charges:
            self._recorder.saved_usage(produced.provider, produced.model, produced.saved_ref,
                                       produced.saved)
        self._recorder.completed(
            record, heuristic_fallback=produced.fallback and produced.method != "model")
        return produced.result

    # -- the cache: every read and write of a call goes through these two ---------------------
    async def _read(self, key: str, spec: AnalysisSpec,
                    guard: GuardedProvider) -> _Produced | None:
        """Step 5: a hit stored under the key of ``guard``'s provider, as if it had just
        answered; what producing it cost is what it saves."""
        assert self._cache is not None
        hit = await self._cache.get(key, spec, self.ttl_for(spec))
        if hit is None:
            return None
        return _Produced(hit.result, hit.provider, hit.model, _NO_CALLS, fallback=False,
                         cache_tier=hit.tier, method=guard.provider.method, saved=hit.usage,
                         saved_ref=guard.price_ref)

    async def _write(self, call: _Call, produced: _Produced) -> None:
        """Step 9: store a fresh answer under the key of the provider that gave it, with the
        usage of that provider's calls for it."""
        assert self._cache is not None
        assert produced.by is not None
        # The primary's key was hashed at step 4; content may be megabytes, so reuse it.
        key = call.key if produced.by is self.provider else self._key(
            call.spec, call.prompt.version, call.request, produced.by)
        mine = [c.usage for c in produced.state.charges if c.provider == produced.provider]
        usage = Usage(sum(u.input_tokens for u in mine), sum(u.output_tokens for u in mine),
                      sum(u.cache_read_tokens for u in mine),
                      sum(u.cache_write_tokens for u in mine)) if mine else None
        await self._cache.set(key, call.spec, produced.result, produced.provider,
                              produced.model, self.ttl_for(call.spec), usage)

    # -- whole jobs through the primary's batch API (aexy.batching drives these) --------------
    def _batch_provider(self) -> GuardedProvider:
        """The primary, which a batch job sends through; :class:`BatchUnsupportedError` (naming
        the installed providers that have a batch API) when it has none."""
        guard = self._chain[0]
        if not guard.provider.supports_batch:
            specs = self.plugins.providers().items.values()
            raise BatchUnsupportedError(guard.provider.name, sorted(
                spec.name for spec in specs if spec.provider_class.supports_batch))
        return guard

    async def _from_batch(self, call: _Call, answer: Completion, billed: Charge,
                          batch_id: str) -> _Produced:
        """Steps 7-9 for the primary's answer from its batch results, ``billed`` at the batch
        rate: checked, parsed and validated (a repair is a live call, under a deadline that
        starts now), post-processed and stored, exactly like a live answer."""
        guard = self._chain[0]
        provider = guard.provider
        call.deadline = Deadline(self.clock, self.settings.deadline_seconds)
        state = CallState(call.deadline)
        guard.record_batch_answer(answer, billed, state)
        if answer.finish_reason is not FinishReason.STOP:
            guard.check_finish(answer, state)
        try:
            result, model, repaired = await self._validated(guard, call, state,
                                                            _completion_request(call), answer)
        except ProviderSkipped as skip:  # the repair's circuit is open
            raise LLMUnavailableError(f"the repair of {call.spec.name}'s batch answer could "
                                      "not be sent", state.failures) from skip.__cause__
        produced = _Produced(result, provider.name, model, state, False, repaired=repaired,
                             method=provider.method, by=provider, batch_id=batch_id)
        await self._keep(call, produced)
        return produced

    def _batch_entry_failed(self, error: LLMError) -> None:
        """A request the batch did not answer (errored, canceled, expired), counted."""
        self._recorder.answer_refused(error.provider or self.provider.name, error.code.value)

    # -- a dry run: steps 7-9 planned, nothing sent -------------------------------------------
    async def _plan_call(self, call: _Call, *, batch: bool = False,
                         paid: bool = False) -> _Produced:
        """Count and price the call the primary would get (through its batch API with
        ``batch``), and answer with a stand-in; ``paid``: a batch already submitted holds the
        request, so only the stand-in is made."""
        plan = self._plan
        assert plan is not None
        if call.cached and call.key in self._stood_in:  # the real run answers it from the cache
            plan.repeats += 1
            seen = self._stood_in[call.key]
            return dataclasses.replace(seen, result=seen.result.model_copy(deep=True))
        guard = self._chain[0]
        provider = guard.provider
        request = _completion_request(call)
        if paid:
            plan.in_batches += 1
        else:
            plan.calls.append(PlannedCall(
                call.spec.name, provider.name, request.model or provider.model,
                guard.price_ref, await self._count_tokens(provider, request),
                provider.max_output_tokens(request), batch=batch))
        stand_in = self._stand_in_provider()
        try:
            answer = await stand_in.complete(request)
            result = parse_result(answer.text, call.spec.result_model)
        except (LLMError, OutputParseError):
            plan.stand_ins_refused += 1
            raise
        produced = _Produced(result, provider.name, provider.model,
                             CallState(call.deadline), fallback=False, method="heuristic",
                             dry_run=True)
        if call.cached:
            self._stood_in[call.key] = produced
        return produced

    async def _count_tokens(self, provider: BaseLLMProvider,
                            request: CompletionRequest) -> TokenCount:
        """The provider's count; the estimate when it cannot count this one."""
        try:
            return await provider.count_tokens(request)
        except Exception as exc:  # counting is a convenience: never a reason to fail a plan
            assert self._plan is not None
            self._plan.count_failures += 1
            if self._plan.count_failures == 1:  # the plan counts the others
                logger.warning("%s could not count tokens (%s: %s); estimating instead",
                               provider.name, type(exc).__name__, exc)
            return estimate_request(request)

    def _stand_in_provider(self) -> BaseLLMProvider:
        if self._stand_in is None:
            offline = next((p for p in self.providers if p.method == "heuristic"), None)
            self._stand_in = offline if offline is not None else assembly.build_provider(
                "offline", None, self.plugins)
        return self._stand_in

    def _key(self, spec: AnalysisSpec, prompt_version: str, request: AnalysisRequest,
             provider: BaseLLMProvider) -> str:
        """Step 4."""
        return cache_key(
            analysis_type=spec.name, spec_version=spec.version, prompt_version=prompt_version,
            schema_hash=spec.schema_hash, provider=provider.name, model=provider.model,
            content=request.content, context_json=request.context_json,
            postprocessors=self._postprocessor_names,
        )

    def ttl_for(self, spec: AnalysisSpec) -> int:
        return spec.ttl if spec.ttl is not None else self.settings.llm_cache_ttl

    # -- introspection -------------------------------------------------------------------------
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

    async def clear_cache(self, analysis_type: AnalysisType | str | None = None) -> int:
        """Delete cached results, all or of one type; returns how many entries went."""
        if self._cache is None:
            return 0
        name = None if analysis_type is None else self.spec_for(analysis_type).name
        return await self._cache.clear(name)

    async def cache_stats(self) -> list[dict[str, Any]]:
        """One dict per cache tier (``[]`` when caching is off)."""
        return [] if self._cache is None else await self._cache.stats()

    @property
    def analysis_types(self) -> list[str]:
        return self._types.names()

    def cost_totals(self) -> CostTally:
        """What this gateway's calls cost so far: paid, saved by the cache and by coalesced
        calls, and the calls without a price (``stats()["cost"]`` in figures)."""
        return self._recorder.stats.cost()

    def stats(self) -> dict[str, Any]:
        """Requests, cache hit rate, provider calls, errors by code, tokens, cost (paid, saved
        by the cache, unpriced calls), latency p50/95/99, retries, fallbacks, skips, the
        budget, and per provider/model: circuit breaker, rate limiter and availability
        state."""
        snap = self._recorder.stats.snapshot()
        snap["providers"] = [g.label for g in self._chain]
        snap["in_flight"] = len(self._flights)
        snap["breakers"] = {g.label: g.breaker.snapshot() for g in self._chain}
        snap["rate_limiters"] = {g.label: _limiter_snapshot(g.limiter)
                                 for g in self._chain if g.limiter is not None}
        snap["availability"] = {g.label: g.availability() for g in self._chain}
        snap["budget"] = None if self._budget is None else self._budget.local_snapshot()
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
