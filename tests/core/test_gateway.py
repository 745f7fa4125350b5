"""LLMGateway end to end with the deterministic fake provider."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import replace

import pytest
from pydantic import SecretStr

from aexy import (
    AnalysisSpec,
    AnalysisType,
    Completion,
    ConfigurationError,
    ErrorCode,
    FinishReason,
    InvalidInputError,
    LLMError,
    LLMGateway,
    UnknownAnalysisTypeError,
    Usage,
    hookimpl,
)
from aexy.cache import MemoryCache, cache_key
from aexy.plugins import PluginHost, reset_plugin_host
from aexy.resilience.clock import VirtualClock
from aexy.settings import AexySettings
from aexy.testing import FakeProvider, FakeSettings

CODE = "import jwt\n\ndef login(token: str) -> dict:\n    return jwt.decode(token, 'k')\n"
SKILLS = {
    "language": "Python", "frameworks": ["PyJWT"], "patterns": ["token validation"],
    "libraries": [{"name": "jwt", "evidence": "import jwt"}],
    "complexity": 3, "quality_indicators": ["type hints"], "domains": ["OAuth", "JWT"],
}


async def test_seed_usage_returns_a_typed_result_with_provenance(host: PluginHost) -> None:
    FakeProvider.script = [json.dumps(SKILLS)]
    reset_plugin_host(host)  # LLMGateway() without plugins= uses the process-wide host
    async with LLMGateway(provider="fake") as gateway:
        result = await gateway.analyze(AnalysisType.SKILL_EXTRACTION, content=CODE,
                                       context={"file_path": "auth/oauth.py"}, use_cache=True)
        assert type(result).__name__ == "SkillExtraction"
        assert result.skills == ["Python", "PyJWT", "OAuth", "JWT"]  # type: ignore[attr-defined]
        assert result.complexity == 3  # type: ignore[attr-defined]
        assert result.provenance.provider == "fake"
        assert result.provenance.model == "fake-model"
        assert result.provenance.cache_hit is False
        assert result.provenance.input_tokens > 0

        again = await gateway.analyze(AnalysisType.SKILL_EXTRACTION, content=CODE,
                                      context={"file_path": "auth/oauth.py"})
        assert again.provenance.cache_hit is True
        assert again.provenance.cache_tier == "memory"
        assert again.model_dump() == result.model_dump()  # re-validated from the cache
        assert gateway.stats()["cache"] == {"hits": 1, "misses": 1, "hit_rate": 0.5}


async def test_llm_provider_env_selects_the_provider(host: PluginHost,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "FAKE")
    monkeypatch.setenv("AEXY_FAKE_MODEL", "fake-large")
    reset_plugin_host(host)
    async with LLMGateway() as gateway:
        result = await gateway.analyze("skill_extraction", CODE)
    assert (result.provenance.provider, result.provenance.model) == ("fake", "fake-large")


async def test_analysis_type_by_name_string(host: PluginHost) -> None:
    async with LLMGateway(provider=FakeProvider(), plugins=host) as gw:
        result = await gw.analyze("attrition_risk", json.dumps({"commits": [3, 1, 0]}))
    assert result.provenance.analysis_type == "attrition_risk"


async def test_ttl_expiry_with_an_injected_clock(host: PluginHost) -> None:
    clock = VirtualClock(1000.0)
    provider = FakeProvider()
    gw = LLMGateway(provider=provider, plugins=host, cache=MemoryCache(100, timer=clock))
    ttl = gw.spec_for(AnalysisType.SKILL_EXTRACTION).ttl
    assert ttl == 7 * 24 * 3600

    await gw.analyze(AnalysisType.SKILL_EXTRACTION, CODE)
    clock.advance(ttl - 1)
    assert (await gw.analyze(AnalysisType.SKILL_EXTRACTION, CODE)).provenance.cache_hit
    clock.advance(2)
    assert not (await gw.analyze(AnalysisType.SKILL_EXTRACTION, CODE)).provenance.cache_hit
    assert len(provider.calls) == 2
    await gw.aclose()


async def test_types_without_their_own_ttl_use_llm_cache_ttl(host: PluginHost) -> None:
    clock = VirtualClock(1000.0)
    settings = AexySettings(llm_cache_ttl=60)
    provider = FakeProvider()
    gw = LLMGateway(provider=provider, plugins=host, settings=settings,
                    cache=MemoryCache(100, timer=clock))
    spec = replace(gw.spec_for("skill_extraction"), name="no_ttl", ttl=None)

    class NoTTL:
        @hookimpl
        def register_analysis_types(self) -> list[AnalysisSpec]:
            return [spec]

    host.register(NoTTL(), name="no-ttl")
    gw = LLMGateway(provider=provider, plugins=host, settings=settings,
                    cache=MemoryCache(100, timer=clock))
    assert gw.ttl_for(spec) == 60
    await gw.analyze(spec.name, CODE)
    clock.advance(61)
    await gw.analyze(spec.name, CODE)
    assert len(provider.calls) == 2


async def test_use_cache_false_bypasses_the_cache(host: PluginHost) -> None:
    provider = FakeProvider()
    async with LLMGateway(provider=provider, plugins=host) as gw:
        await gw.analyze("skill_extraction", CODE, use_cache=False)
        second = await gw.analyze("skill_extraction", CODE, use_cache=False)
        assert second.provenance.cache_hit is False
        # Nothing was written either: a cached call now still misses.
        third = await gw.analyze("skill_extraction", CODE)
        assert third.provenance.cache_hit is False
    assert len(provider.calls) == 3


async def test_llm_cache_enabled_false_disables_caching(host: PluginHost,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_CACHE_ENABLED", "false")
    provider = FakeProvider()
    async with LLMGateway(provider=provider, plugins=host) as gw:
        await gw.analyze("skill_extraction", CODE)
        assert not (await gw.analyze("skill_extraction", CODE)).provenance.cache_hit
        assert await gw.cache_stats() == []
    assert len(provider.calls) == 2


async def test_memory_cache_is_bounded(host: PluginHost) -> None:
    provider = FakeProvider()
    async with LLMGateway(provider=provider, plugins=host, cache=MemoryCache(2)) as gw:
        for i in range(3):
            await gw.analyze("skill_extraction", f"x = {i}")
        stats = (await gw.cache_stats())[0]
        assert stats["entries"] == 2
        assert (await gw.analyze("skill_extraction", "x = 2")).provenance.cache_hit
        assert not (await gw.analyze("skill_extraction", "x = 0")).provenance.cache_hit


async def test_clear_cache_by_type(host: PluginHost) -> None:
    async with LLMGateway(provider=FakeProvider(), plugins=host) as gw:
        await gw.analyze("skill_extraction", CODE)
        await gw.analyze("attrition_risk", "{}")
        assert await gw.clear_cache("skill_extraction") == 1
        assert not (await gw.analyze("skill_extraction", CODE)).provenance.cache_hit
        assert (await gw.analyze("attrition_risk", "{}")).provenance.cache_hit
        assert await gw.clear_cache() == 2


@pytest.mark.parametrize(
    ("kind", "content", "context", "error"),
    [
        ("no_such_type", CODE, None, UnknownAnalysisTypeError),
        (42, CODE, None, UnknownAnalysisTypeError),
        ("skill_extraction", "", None, InvalidInputError),
        ("skill_extraction", " \n\t", None, InvalidInputError),
        ("skill_extraction", b"bytes are not text", None, InvalidInputError),
        ("skill_extraction", None, None, InvalidInputError),
        ("skill_extraction", CODE, {"when": {1, 2}}, InvalidInputError),
        ("skill_extraction", CODE, {"obj": object()}, InvalidInputError),
        ("skill_extraction", CODE, {"nan": math.nan}, InvalidInputError),
        ("skill_extraction", CODE, {1: "int key"}, InvalidInputError),
        ("skill_extraction", CODE, ["not", "a", "mapping"], InvalidInputError),
        ("skill_extraction", "x" * 101, None, InvalidInputError),
    ],
)
async def test_bad_input_is_rejected_before_any_provider_call(
    host: PluginHost, kind: object, content: object, context: object,
    error: type[Exception],
) -> None:
    provider = FakeProvider()
    settings = AexySettings(max_content_chars=100)
    async with LLMGateway(provider=provider, plugins=host, settings=settings) as gw:
        with pytest.raises(error):
            await gw.analyze(kind, content, context=context)  # type: ignore[arg-type]
    assert provider.calls == []


async def test_unknown_type_error_lists_known_types(host: PluginHost) -> None:
    async with LLMGateway(provider=FakeProvider(), plugins=host) as gw:
        with pytest.raises(UnknownAnalysisTypeError, match="skill_extraction"):
            await gw.analyze("skill_extractoin", CODE)


async def test_context_is_copied_at_validation(host: PluginHost) -> None:
    provider = FakeProvider()
    context = {"file_path": "a.py", "tags": ["x"]}
    async with LLMGateway(provider=provider, plugins=host) as gw:
        await gw.analyze("skill_extraction", CODE, context=context)
        context["tags"].append("mutated later")  # must not change the cached entry's key
        assert (await gw.analyze("skill_extraction", CODE,
                                 context={"tags": ["x"], "file_path": "a.py"})
                ).provenance.cache_hit


def _key(**over: str) -> str:
    base = dict(analysis_type="skill_extraction", spec_version="1", prompt_version="p1",
                schema_hash="s1", provider="fake", model="m1", content=CODE,
                context_json='{"file_path":"a.py"}')
    base.update(over)
    return cache_key(**base)


@pytest.mark.parametrize(
    "field",
    ["spec_version", "prompt_version", "schema_hash", "provider", "model", "content",
     "context_json"],
)
def test_cache_key_changes_with_every_input(field: str) -> None:
    assert _key(**{field: "changed"}) != _key()


def test_cache_key_is_hashed_and_typed() -> None:
    key = _key()
    assert key.startswith("aexy:skill_extraction:")
    assert "jwt" not in key and "a.py" not in key
    assert len(key.rsplit(":", 1)[1]) == 64


async def test_no_secret_in_cache_keys_reprs_errors_or_logs(
    host: PluginHost, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-fake-SECRET-0123456789"
    settings = FakeSettings(api_key=SecretStr(secret))
    cache = MemoryCache(10)
    failing = LLMError("upstream said no", code=ErrorCode.AUTHENTICATION_ERROR, provider="fake")
    provider = FakeProvider(settings, replies=[failing])
    caplog.set_level(logging.DEBUG)
    async with LLMGateway(provider=provider, plugins=host, cache=cache) as gw:
        with pytest.raises(LLMError) as info:
            await gw.analyze("skill_extraction", CODE)
        result = await gw.analyze("skill_extraction", CODE)
        texts = [
            *cache._data.keys(), *(v[0] for v in cache._data.values()),
            repr(provider), repr(gw), repr(settings), str(settings.model_dump()),
            json.dumps(provider.describe(), default=str), str(info.value), repr(info.value),
            result.model_dump_json(), result.provenance.model_dump_json(), caplog.text,
        ]
    assert cache._data, "the successful call was cached"
    for text in texts:
        assert secret not in text


async def test_truncated_answer_is_an_error_and_never_cached(host: PluginHost) -> None:
    cut = Completion(text='{"language": "Py', model="fake-model", usage=Usage(10, 4096),
                     finish_reason=FinishReason.LENGTH, raw_finish_reason="length")
    provider = FakeProvider(replies=[cut])
    async with LLMGateway(provider=provider, plugins=host) as gw:
        with pytest.raises(LLMError) as info:
            await gw.analyze("skill_extraction", CODE)
        assert info.value.code is ErrorCode.OUTPUT_TRUNCATED
        assert not info.value.retryable
        assert not (await gw.analyze("skill_extraction", CODE)).provenance.cache_hit
    assert len(provider.calls) == 2


async def test_refusal_is_content_filtered(host: PluginHost) -> None:
    refused = Completion(text="", model="fake-model", finish_reason=FinishReason.CONTENT_FILTER,
                         raw_finish_reason="refusal")
    async with LLMGateway(provider=FakeProvider(replies=[refused]), plugins=host) as gw:
        with pytest.raises(LLMError) as info:
            await gw.analyze("skill_extraction", CODE)
    assert info.value.code is ErrorCode.CONTENT_FILTERED


async def test_invalid_cache_entry_is_a_miss_not_an_error(host: PluginHost) -> None:
    cache = MemoryCache(10)
    provider = FakeProvider()
    async with LLMGateway(provider=provider, plugins=host, cache=cache) as gw:
        await gw.analyze("skill_extraction", CODE)
        (key,) = list(cache._data.keys())
        await cache.set(key, json.dumps({"result": {"language": 5}}), 60)
        result = await gw.analyze("skill_extraction", CODE)
    assert not result.provenance.cache_hit
    assert len(provider.calls) == 2


async def test_aclose_releases_owned_providers_only(host: PluginHost) -> None:
    owned = FakeProvider()
    async with LLMGateway(provider=owned, plugins=host):
        pass
    assert owned.closed

    borrowed = FakeProvider()
    gw = LLMGateway(provider=borrowed, plugins=host, close_providers=False)
    await gw.aclose()
    assert not borrowed.closed
    with pytest.raises(RuntimeError, match="closed"):
        await gw.analyze("skill_extraction", CODE)


async def test_provider_built_by_name_is_closed(host: PluginHost) -> None:
    gw = LLMGateway(provider="fake", plugins=host)
    provider = gw.provider
    await gw.aclose()
    assert isinstance(provider, FakeProvider) and provider.closed


async def test_seed_provider_analyze_api(host: PluginHost) -> None:
    reset_plugin_host(host)
    provider = FakeProvider(replies=[json.dumps(SKILLS)])
    result = await provider.analyze(AnalysisType.SKILL_EXTRACTION, CODE, {"file_path": "a.py"})
    assert result.language == "Python"  # type: ignore[attr-defined]
    assert not provider.closed  # the caller owns it


async def test_request_carries_the_schema_and_system_prompt(host: PluginHost) -> None:
    provider = FakeProvider()
    async with LLMGateway(provider=provider, plugins=host) as gw:
        await gw.analyze("skill_extraction", CODE, context={"file_path": "auth/oauth.py"})
        spec = gw.spec_for("skill_extraction")
    (req,) = provider.calls
    assert req.json_schema == spec.json_schema
    assert req.system and all(m.role != "system" for m in req.messages)  # type: ignore[comparison-overlap]
    assert CODE in req.messages[0].content and "auth/oauth.py" in req.messages[0].content


async def test_post_processor_returning_another_model_is_a_configuration_error(
    host: PluginHost,
) -> None:
    from aexy.postprocess import PostProcessor
    from aexy.settings import AexySettings as Settings

    class Wrong:
        @hookimpl
        def register_postprocessors(self) -> list[PostProcessor]:
            return [PostProcessor("wrong", lambda result, request: object())]  # type: ignore[arg-type,return-value]

    host.register(Wrong(), name="wrong-pp")
    cache = MemoryCache(10)
    provider = FakeProvider()
    gw = LLMGateway(provider=provider, plugins=host, cache=cache,
                    settings=Settings(postprocessors=["wrong"]))
    with pytest.raises(ConfigurationError, match="'wrong' returned object, not SkillExtraction"):
        await gw.analyze("skill_extraction", CODE)
    assert not cache._data  # nothing unusable was cached
    await gw.aclose()


async def test_seed_provider_analyze_ignores_configured_fallbacks(
    host: PluginHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_FALLBACK_PROVIDERS", "fake")
    reset_plugin_host(host)
    failing = FakeProvider(replies=[LLMError("no", code=ErrorCode.AUTHENTICATION_ERROR)])
    with pytest.raises(LLMError) as info:  # its own error, not a fallback's answer
        await failing.analyze(AnalysisType.SKILL_EXTRACTION, CODE)
    assert info.value.code is ErrorCode.AUTHENTICATION_ERROR


async def test_a_result_is_freed_as_soon_as_its_caller_drops_it(host: PluginHost) -> None:
    """Provenance is attached without a reference cycle: no garbage collection is needed."""
    import gc
    import weakref

    async with LLMGateway(provider=FakeProvider(), plugins=host) as gw:
        result = await gw.analyze("code_quality", "x = 1\n", use_cache=False)
        assert result.provenance.attempts == 1
        fresh = await gw.analyze("code_quality", "y = 2\n", use_cache=False)
        gc.disable()
        try:
            gone = weakref.ref(fresh)
            del fresh  # provenance never read: the lazy record is still attached
            assert gone() is None
        finally:
            gc.enable()
