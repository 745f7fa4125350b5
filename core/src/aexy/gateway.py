"""``LLMGateway``: one ``analyze()`` call from validated input to a typed, cached result.

The steps follow ``docs/architecture.md``: validate, spec, prompt, cache key, cache lookup,
provider call with output validation (and one repair request), post-processing, cache store,
telemetry.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from pydantic import ValidationError

from aexy.analysis import AnalysisRequest, AnalysisResult, AnalysisSpec, AnalysisType, Provenance
from aexy.cache import CacheBackend, MemoryCache, cache_key, type_prefix
from aexy.completion import Completion, CompletionRequest, FinishReason, Message
from aexy.errors import (
    ConfigurationError,
    ErrorCode,
    InvalidOutputError,
    LLMError,
    ProviderNotFoundError,
    UnknownAnalysisTypeError,
)
from aexy.output import OutputParseError, parse_result, repair_instructions
from aexy.plugins import PluginHost, get_plugin_host
from aexy.postprocess import PostProcessor
from aexy.prompts import Prompt, PromptSource
from aexy.provider import BaseLLMProvider
from aexy.settings import AexySettings
from aexy.telemetry import GatewayStats, Telemetry, logger

__all__ = ["LLMGateway"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True)
class _Outcome:
    """A validated result and what it cost."""

    result: AnalysisResult
    completion: Completion
    calls: int
    input_tokens: int
    output_tokens: int
    repaired: bool


class LLMGateway:
    """The entry point: ``await gateway.analyze(AnalysisType.X, content, context=...)``.

    :param provider: a provider name (default ``LLM_PROVIDER``) or a provider instance.
    :param model: overrides the provider's configured model.
    :param settings: core settings; read from the environment when omitted.
    :param cache: ``None`` builds the configured backend, ``False`` disables caching, or pass a
        :class:`~aexy.cache.CacheBackend`.
    :param plugins: the plugin host; the process-wide one when omitted.
    :param close_providers: whether :meth:`aclose` closes provider instances passed in.
    :param clock: monotonic clock in seconds (tests inject one).
    :param sleep: async sleep (tests inject one).
    """

    def __init__(
        self,
        provider: str | BaseLLMProvider | None = None,
        *,
        model: str | None = None,
        settings: AexySettings | None = None,
        cache: CacheBackend | bool | None = None,
        plugins: PluginHost | None = None,
        close_providers: bool = True,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings if settings is not None else AexySettings()
        self.plugins = plugins if plugins is not None else get_plugin_host()
        self.clock = clock
        self.sleep = sleep
        self._owned: list[BaseLLMProvider] = []
        self._close_passed = close_providers
        self.provider = self._build_provider(
            provider if provider is not None else self.settings.llm_provider, model
        )
        self._types = self.plugins.analysis_types()
        self._prompt_sources: list[PromptSource] = sorted(
            self.plugins.prompt_sources().items.values(), key=lambda s: (s.priority, s.name)
        )
        self._postprocessors = self._resolve_postprocessors(self.settings.postprocessors)
        self._tiers = self._build_cache(cache)
        self._stats = GatewayStats()
        self._telemetry = Telemetry()
        self._closed = False

    # -- construction --------------------------------------------------------------------------
    def _build_provider(
        self, provider: str | BaseLLMProvider, model: str | None
    ) -> BaseLLMProvider:
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
            raise ProviderNotFoundError(name, registry.names(), reason=reason)
        instance: BaseLLMProvider = spec.provider_class(model=model)
        self._owned.append(instance)
        return instance

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
            backend_name = self.settings.cache_backend
            spec = self.plugins.cache_backends().get(backend_name)
            if spec is None:
                raise ConfigurationError(
                    f"unknown cache backend {backend_name!r}; available: "
                    f"{', '.join(self.plugins.cache_backends().names())}",
                    env_var="AEXY_CACHE_BACKEND",
                )
            backend: CacheBackend = spec.factory(self.settings)
        else:
            backend = cache
        if isinstance(backend, MemoryCache):
            return [backend]
        # Two tiers: a small in-process cache in front of a shared backend.
        return [MemoryCache(self.settings.cache_max_entries), backend]

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
        return spec  # type: ignore[no-any-return]

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
    ) -> AnalysisResult:
        """Analyse ``content`` and return the type's validated result model.

        :raises InvalidInputError: bad input; no provider was called.
        :raises LLMError: the provider failed (``.code`` says how).
        :raises InvalidOutputError: the answer did not validate, even after one repair request.
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
        provider = self.provider
        key = self._key(spec, prompt, request, provider)
        caching = use_cache and bool(self._tiers)

        if caching:
            hit = await self._cache_get(key, spec)
            if hit is not None:
                result, tier, meta = hit
                result._provenance = Provenance(
                    analysis_type=spec.name, provider=meta.get("provider", provider.name),
                    model=meta.get("model", provider.model), cache_hit=True, cache_tier=tier,
                    attempts=0, latency_ms=(self.clock() - started) * 1000,
                    spec_version=spec.version, prompt_version=prompt.version,
                )
                self._log(result._provenance)
                return result

        outcome = await self._complete_validated(provider, spec, prompt)
        result = outcome.result
        for pp in self._postprocessors:
            result = pp.process(result, request)
        if caching:
            await self._cache_set(key, spec, result, provider.name, outcome.completion.model)
        result._provenance = Provenance(
            analysis_type=spec.name, provider=provider.name, model=outcome.completion.model,
            cache_hit=False, attempts=outcome.calls, input_tokens=outcome.input_tokens,
            output_tokens=outcome.output_tokens, latency_ms=(self.clock() - started) * 1000,
            spec_version=spec.version, prompt_version=prompt.version, repaired=outcome.repaired,
        )
        self._log(result._provenance)
        return result

    def _key(self, spec: AnalysisSpec, prompt: Prompt, request: AnalysisRequest,
             provider: BaseLLMProvider) -> str:
        return cache_key(
            analysis_type=spec.name, spec_version=spec.version, prompt_version=prompt.version,
            schema_hash=spec.schema_hash, provider=provider.name, model=provider.model,
            content=request.content, context_json=request.context_json,
        )

    def _completion_request(self, spec: AnalysisSpec, prompt: Prompt,
                            messages: tuple[Message, ...]) -> CompletionRequest:
        return CompletionRequest(
            system=prompt.system, messages=messages, json_schema=spec.json_schema,
            schema_name=spec.name, max_tokens=spec.max_tokens,
            metadata={"analysis_type": spec.name},
        )

    async def _call(self, provider: BaseLLMProvider, request: CompletionRequest,
                    analysis_type: str) -> Completion:
        """One provider call, timed and traced; truncation and refusals become errors."""
        t0 = self.clock()
        with self._telemetry.span(provider.name, provider.model, analysis_type):
            try:
                completion = await provider.complete(request)
            except LLMError as exc:
                self._stats.errors[exc.code.value] += 1
                self._telemetry.record_call(provider.name, provider.model, self.clock() - t0,
                                            0, 0, exc.code.value)
                raise
        elapsed = self.clock() - t0
        usage = completion.usage
        self._stats.record_call(provider.name, elapsed, usage.input_tokens, usage.output_tokens)
        self._telemetry.record_call(provider.name, completion.model, elapsed,
                                    usage.input_tokens, usage.output_tokens)
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

    async def _complete_validated(self, provider: BaseLLMProvider, spec: AnalysisSpec,
                                  prompt: Prompt) -> _Outcome:
        """Call, parse and validate; on invalid output ask the same model once to repair it."""
        messages: tuple[Message, ...] = (Message("user", prompt.user),)
        first = await self._call(provider, self._completion_request(spec, prompt, messages),
                                 spec.name)
        try:
            result = parse_result(first.text, spec.result_model)
            return _Outcome(result, first, 1, first.usage.input_tokens,
                            first.usage.output_tokens, False)
        except OutputParseError as exc:
            errors = exc.errors
        logger.info("repairing invalid output", extra={
            "provider": provider.name, "analysis_type": spec.name, "errors": errors[:5]})
        messages += (Message("assistant", first.text),
                     Message("user", repair_instructions(errors, spec.json_schema)))
        second = await self._call(provider, self._completion_request(spec, prompt, messages),
                                  spec.name)
        tokens_in = first.usage.input_tokens + second.usage.input_tokens
        tokens_out = first.usage.output_tokens + second.usage.output_tokens
        try:
            result = parse_result(second.text, spec.result_model)
        except OutputParseError as exc:
            self._stats.errors[ErrorCode.INVALID_OUTPUT.value] += 1
            raise InvalidOutputError(
                f"the answer for {spec.name} did not validate after one repair request: "
                + "; ".join(exc.errors[:5]),
                provider=provider.name, model=second.model, raw_text=second.text,
                errors=exc.errors,
            ) from None
        return _Outcome(result, second, 2, tokens_in, tokens_out, True)

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
        """Requests, cache hit rate, provider calls, errors by code, tokens, latency p50/95/99."""
        return self._stats.snapshot()

    def _log(self, p: Provenance) -> None:
        logger.info(
            "LLM analysis completed",
            extra={
                "provider": p.provider, "model": p.model, "analysis_type": p.analysis_type,
                "latency_ms": round(p.latency_ms, 3),
                "tokens_used": p.input_tokens + p.output_tokens, "cache_hit": p.cache_hit,
                "attempts": p.attempts,
            },
        )

    def __repr__(self) -> str:
        return f"LLMGateway(provider={self.provider!r}, cache={[t.name for t in self._tiers]})"
