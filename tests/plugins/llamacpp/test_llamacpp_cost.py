"""aexy-llamacpp and cost: calls are local ($0), and a dry run counts tokens with the model's
own tokenizer without generating anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llamacpp_wire import QWEN2_METADATA, FakeLoader, chat_completion

from aexy import CompletionRequest, ErrorCode, LLMError, LLMGateway, Message
from aexy.cache import MemoryCache
from aexy.plugins import PluginHost
from aexy_llamacpp import LlamaCppProvider, LlamaCppSettings
from aexy_llamacpp.provider import TEMPLATE_TOKENS_PER_MESSAGE

CODE = "from fastapi import FastAPI\napp = FastAPI()\n"
SKILLS = {"language": "Python", "frameworks": ["FastAPI"], "patterns": [], "complexity": 2,
          "quality_indicators": [], "domains": []}


def provider_for(gguf: Path, loader: FakeLoader, **settings: object) -> LlamaCppProvider:
    return LlamaCppProvider(LlamaCppSettings(model_path=gguf, **settings), loader=loader)


async def test_tokens_are_counted_by_the_models_tokenizer(gguf: Path) -> None:
    loader = FakeLoader(metadata=QWEN2_METADATA)
    p = provider_for(gguf, loader)
    request = CompletionRequest(system="You extract facts.",
                                messages=(Message("user", "Ada is 36."),), max_tokens=500)
    found = await p.count_tokens(request)
    model = loader.model
    assert model.calls == []  # nothing generated
    assert model.tokenized == [b"You extract facts.", b"Ada is 36."]
    # 4 tokens ("You", "extract", "facts", ".") and 5 ("Ada", "is", "36", "."), the framing of
    # two messages, and BOS.
    assert found.tokens == 4 + 4 + 2 * TEMPLATE_TOKENS_PER_MESSAGE + 1
    assert not found.estimated and found.method.startswith("llama.cpp tokenizer")


async def test_gemma_counts_the_system_prompt_inside_the_first_turn(gguf: Path) -> None:
    loader = FakeLoader()  # Gemma: no system turn
    p = provider_for(gguf, loader)
    await p.count_tokens(CompletionRequest.simple("Be brief.", "Hi."))
    assert loader.model.tokenized == [b"Be brief.\n\nHi."]


async def test_a_model_that_cannot_load_is_a_typed_error(gguf: Path) -> None:
    p = provider_for(gguf, FakeLoader(fail=OSError("not a GGUF file")))
    with pytest.raises(LLMError) as failed:
        await p.count_tokens(CompletionRequest.simple("s", "u"))
    assert failed.value.code is ErrorCode.NOT_FOUND


async def test_calls_are_local_and_a_dry_run_generates_nothing(gguf: Path) -> None:
    loader = FakeLoader(chat_completion(json.dumps(SKILLS)), metadata=QWEN2_METADATA)
    host = PluginHost(entry_points=False)
    async with LLMGateway(provider=provider_for(gguf, loader), plugins=host, fallbacks=(),
                          cache=MemoryCache()) as gw:
        cost = (await gw.analyze("skill_extraction", CODE)).provenance.cost
    assert cost is not None and str(cost) == "$0 (local)"
    async with LLMGateway(provider=provider_for(gguf, loader, max_tokens=256), plugins=host,
                          fallbacks=(), cache=MemoryCache(), dry_run=True) as gw:
        await gw.analyze("skill_extraction", CODE + "# another\n")
        plan = gw.plan
    assert len(loader.model.calls) == 1  # the first gateway's call only
    assert plan is not None
    s = plan.summary()
    assert s["calls_counted"] == 1 and s["max_output_tokens"] == 256  # LLAMACPP_MAX_TOKENS
    assert dict(plan.rows())["cost"] == "$0 (local)"
