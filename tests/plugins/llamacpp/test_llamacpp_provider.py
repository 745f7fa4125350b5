"""LlamaCppProvider against a fake ``Llama`` answering like llama-cpp-python: the call it makes,
the answer it reads, and a whole analysis through the gateway."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from llamacpp_wire import QWEN2_METADATA, FakeLoader, chat_completion

from aexy import (
    AnalysisType,
    CompletionRequest,
    ErrorCode,
    FinishReason,
    LLMError,
    LLMGateway,
    Message,
)
from aexy.catalogue.code import SkillExtraction
from aexy.plugins import PluginHost
from aexy_llamacpp import LlamaCppProvider, LlamaCppSettings

SCHEMA = {
    "type": "object",
    "properties": {
        "age": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}},
        "pair": {"type": "array", "items": {"type": "integer"}, "maxItems": 2},
        "name": {"type": "string", "maxLength": 40},
    },
    "required": ["age"],
}
SKILLS = {
    "language": "Python", "frameworks": ["FastAPI"], "patterns": ["dependency injection"],
    "libraries": [{"name": "fastapi", "evidence": "from fastapi import FastAPI"}],
    "complexity": 4, "quality_indicators": ["type hints"], "domains": ["authentication"],
}
CODE = "from fastapi import FastAPI\napp = FastAPI()\n"


def provider_for(gguf: Path, loader: FakeLoader, **settings: Any) -> LlamaCppProvider:
    return LlamaCppProvider(LlamaCppSettings(model_path=gguf, **settings), loader=loader)


def simple_request(**kw: Any) -> CompletionRequest:
    return CompletionRequest.simple("You extract facts.", "Ada is 36.", SCHEMA, **kw)


# -- the call ---------------------------------------------------------------------------------
async def test_gemma_gets_the_system_prompt_in_its_first_user_turn(gguf: Path) -> None:
    loader = FakeLoader(chat_completion('{"age": 36}'))  # Gemma 3 metadata, no chat template
    provider = provider_for(gguf, loader, max_tokens=300)
    await provider.complete(simple_request(max_tokens=4096))

    (call,) = loader.model.calls
    assert loader.model.chat_format == "gemma"  # not llama-cpp-python's llama-2 fallback
    # llama-cpp-python's "gemma" format drops system messages, so the prompt opens the turn.
    assert call["messages"] == [
        {"role": "user", "content": "You extract facts.\n\nAda is 36."}]
    assert call["temperature"] == 0.0
    assert call["max_tokens"] == 300  # the lower of the setting and the request
    assert call["stream"] is False
    assert call["response_format"]["type"] == "json_object"


async def test_a_model_with_a_chat_template_gets_a_system_message(gguf: Path) -> None:
    loader = FakeLoader(chat_completion('{"age": 36}'), metadata=QWEN2_METADATA)
    provider = provider_for(gguf, loader)
    request = CompletionRequest(
        system="You extract facts.", json_schema=SCHEMA, max_tokens=200,
        messages=(Message("user", "Ada is 36."), Message("assistant", "{}"),
                  Message("user", "age is required")))
    await provider.complete(request)

    (call,) = loader.model.calls
    assert loader.model.chat_format == "chat_template.default"  # the GGUF's own template
    assert call["messages"] == [
        {"role": "system", "content": "You extract facts."},
        {"role": "user", "content": "Ada is 36."},
        {"role": "assistant", "content": "{}"},
        {"role": "user", "content": "age is required"},
    ]
    assert call["max_tokens"] == 200


async def test_a_configured_chat_format_is_passed_to_the_loader(gguf: Path) -> None:
    loader = FakeLoader(chat_completion('{"age": 1}'))
    await provider_for(gguf, loader, chat_format="chatml").complete(simple_request())
    ((_path, spec),) = loader.loads
    assert spec.chat_format == "chatml"
    assert loader.model.calls[0]["messages"][0]["role"] == "system"


async def test_the_grammar_schema_bounds_unbounded_lists_and_keeps_the_models_own(
        gguf: Path) -> None:
    loader = FakeLoader(chat_completion('{"age": 1}'), chat_completion('{"age": 2}'))
    await provider_for(gguf, loader, max_items=5).complete(simple_request())
    schema = loader.model.calls[0]["response_format"]["schema"]
    props = schema["properties"]
    assert props["tags"]["maxItems"] == 5  # unbounded in the model: bounded in the grammar
    assert props["pair"]["maxItems"] == 2  # the result model's own bound is sent as it is
    assert props["name"]["maxLength"] == 40
    assert props["age"]["minimum"] == 0
    assert "maxItems" not in SCHEMA["properties"]["tags"]  # the request is not modified

    release_and_reload = provider_for(gguf, loader, max_items=0)  # 0: no bound added
    await release_and_reload.complete(simple_request())
    assert loader.models[-1].calls[-1]["response_format"]["schema"] == SCHEMA


async def test_without_a_schema_no_grammar_is_sent(gguf: Path) -> None:
    loader = FakeLoader(chat_completion("plain text"))
    completion = await provider_for(gguf, loader).complete(
        CompletionRequest.simple("Be brief.", "Say hi."))
    assert "response_format" not in loader.model.calls[0]
    assert completion.text == "plain text"


# -- the answer -------------------------------------------------------------------------------
async def test_answer_text_usage_and_id_come_from_the_completion(gguf: Path) -> None:
    answer = chat_completion('{"age": 36, "tags": ["math"]}', prompt_tokens=57,
                             completion_tokens=14)
    provider = provider_for(gguf, FakeLoader(answer))
    completion = await provider.complete(simple_request())
    assert completion.text == '{"age": 36, "tags": ["math"]}'
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (57, 14)
    assert completion.finish_reason is FinishReason.STOP
    assert completion.raw_finish_reason == "stop"
    assert completion.request_id == answer["id"]
    # The name results carry is the file's, never the path llama-cpp-python reports.
    assert completion.model == "qwen2.5-coder-7b-instruct-q4_k_m"


async def test_a_length_stop_is_a_truncated_answer(gguf: Path) -> None:
    answer = chat_completion('{"age": 36, "tags": ["a", "a", "a", "a', finish_reason="length",
                             completion_tokens=1024)
    completion = await provider_for(gguf, FakeLoader(answer)).complete(simple_request())
    assert completion.finish_reason is FinishReason.LENGTH
    assert completion.raw_finish_reason == "length"


async def test_raw_control_characters_in_strings_become_valid_json(gguf: Path) -> None:
    # llama-cpp-python's schema grammar lets a literal newline into a string (seen with the
    # packaged Gemma model); JSON forbids it, so the answer is re-encoded.
    raw = '{ "age": 36, "name": "Ada\n Lovelace\t" } '
    completion = await provider_for(gguf, FakeLoader(chat_completion(raw))).complete(
        simple_request())
    assert json.loads(completion.text) == {"age": 36, "name": "Ada\n Lovelace\t"}
    jsonschema.validate(json.loads(completion.text), SCHEMA)


async def test_text_that_is_not_json_is_left_for_the_core(gguf: Path) -> None:
    completion = await provider_for(gguf, FakeLoader(chat_completion('{"age": 3'))).complete(
        simple_request())
    assert completion.text == '{"age": 3'


async def test_an_answer_without_choices_is_a_server_error(gguf: Path) -> None:
    provider = provider_for(gguf, FakeLoader({"id": "x", "object": "chat.completion"}))
    with pytest.raises(LLMError) as info:
        await provider.complete(simple_request())
    assert info.value.code is ErrorCode.SERVER_ERROR
    assert not info.value.retryable


# -- through the gateway ----------------------------------------------------------------------
def gateway_for(provider: LlamaCppProvider) -> LLMGateway:
    return LLMGateway(provider=provider, plugins=PluginHost(entry_points=False), fallbacks=())


async def test_a_skill_extraction_through_the_gateway_then_a_cache_hit(gguf: Path) -> None:
    loader = FakeLoader(chat_completion(json.dumps(SKILLS), prompt_tokens=812,
                                        completion_tokens=61))
    provider = provider_for(gguf, loader)
    async with gateway_for(provider) as gateway:
        first = await gateway.analyze(AnalysisType.SKILL_EXTRACTION, CODE,
                                      context={"file_path": "app.py"})
        second = await gateway.analyze(AnalysisType.SKILL_EXTRACTION, CODE,
                                       context={"file_path": "app.py"})
    assert isinstance(first, SkillExtraction)
    assert first.language == "Python"
    p = first.provenance
    assert (p.provider, p.model, p.cache_hit) == (
        "llamacpp", "qwen2.5-coder-7b-instruct-q4_k_m", False)
    assert (p.input_tokens, p.output_tokens, p.attempts) == (812, 61, 1)
    assert second.provenance.cache_hit
    assert second.model_dump() == first.model_dump()
    assert len(loader.model.calls) == 1
    (call,) = loader.model.calls
    schema = call["response_format"]["schema"]
    assert schema["properties"]["frameworks"]["maxItems"] == 8  # the default bound
    assert "skill" in call["messages"][0]["content"].lower()  # the catalogue's system prompt


async def test_a_truncated_answer_fails_the_analysis_as_output_truncated(gguf: Path) -> None:
    looping = '{"language": "Python", "frameworks": ["python", "python", "python", "py'
    loader = FakeLoader(chat_completion(looping, finish_reason="length", completion_tokens=1024))
    async with gateway_for(provider_for(gguf, loader)) as gateway:
        with pytest.raises(LLMError) as info:
            await gateway.analyze(AnalysisType.SKILL_EXTRACTION, CODE)
    assert info.value.code is ErrorCode.OUTPUT_TRUNCATED
    assert len(loader.model.calls) == 1  # not retried: the same call would be cut off again


async def test_an_out_of_range_score_is_repaired_by_the_core(gguf: Path) -> None:
    # The grammar does not enforce numeric bounds: the core's validation and repair do.
    loader = FakeLoader(chat_completion(json.dumps({**SKILLS, "complexity": 42})),
                        chat_completion(json.dumps(SKILLS)))
    async with gateway_for(provider_for(gguf, loader)) as gateway:
        result = await gateway.analyze(AnalysisType.SKILL_EXTRACTION, CODE)
    assert result.complexity == 4  # type: ignore[attr-defined]
    assert result.provenance.repaired
    repair = loader.model.calls[1]["messages"]
    assert [m["role"] for m in repair] == ["user", "assistant", "user"]
    assert "complexity" in repair[2]["content"]
