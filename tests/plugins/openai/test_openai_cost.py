"""aexy-openai and cost: OpenAI's cached prompt tokens reported apart and priced at their own
rate; servers priced by their URL, never $0 for one the price list does not know."""

from __future__ import annotations

import json

from openai_wire import ScriptedServer, ok, openai_completion, vllm_completion

from aexy import LLMGateway
from aexy.completion import CompletionRequest, Usage
from aexy.cost import price
from aexy.plugins import PluginHost
from aexy_openai import OpenAIProvider, OpenAISettings

SKILLS = {"language": "Python", "frameworks": [], "patterns": [], "complexity": 2,
          "quality_indicators": [], "domains": []}
CODE = "def add(a, b):\n    return a + b\n"
REQUEST = CompletionRequest.simple("You review code.", "Review this: print(1)")


async def test_cached_prompt_tokens_are_counted_apart() -> None:
    server = ScriptedServer(ok(openai_completion("{}", prompt_tokens=2_200, cached_tokens=1_920)),
                        ok(vllm_completion("{}")))
    p = OpenAIProvider(OpenAISettings(api_key="sk-test"), transport=server.transport)
    openai = await p.complete(REQUEST)
    vllm = await p.complete(REQUEST)  # "prompt_tokens_details": null
    await p.aclose()
    # prompt_tokens already counts the cached ones: input stays 2,200.
    assert openai.usage == Usage(2_200, 40, cache_read_tokens=1_920)
    assert vllm.usage == Usage(180, 50)


async def test_cached_tokens_are_priced_at_their_own_rate_through_the_gateway() -> None:
    body = openai_completion(json.dumps(SKILLS), model="gpt-4.1-mini-2025-04-14",
                             prompt_tokens=3_000, completion_tokens=120, cached_tokens=2_048)
    server = ScriptedServer(ok(body))
    p = OpenAIProvider(OpenAISettings(api_key="sk-test", model="gpt-4.1-mini"),
                       transport=server.transport)
    async with LLMGateway(provider=p, plugins=PluginHost(entry_points=False), fallbacks=(),
                          cache=False) as gw:
        cost = (await gw.analyze("skill_extraction", CODE)).provenance.cost
    assert cost is not None and cost.status == "priced"
    assert cost == price("openai", "gpt-4.1-mini-2025-04-14",
                         Usage(3_000, 120, cache_read_tokens=2_048))
    assert cost.cache_read_usd is not None and cost.input_usd is not None
    # 2,048 cached tokens cost less than the 952 uncached ones, at a quarter of the rate.
    assert cost.cache_read_usd * 952 * 4 == cost.input_usd * 2_048


def test_a_server_is_priced_by_its_url() -> None:
    official = OpenAIProvider(OpenAISettings(api_key="sk-test"))
    local = OpenAIProvider(OpenAISettings(base_url="http://127.0.0.1:8080/v1", model="qwen"))
    assert price("openai", "gpt-4.1-mini", Usage(1, 1), ref=official.price_ref()).status == (
        "priced")
    unknown = price("openai", "qwen", Usage(1, 1), ref=local.price_ref())
    # A server on this machine may be a proxy to a paid API: unpriced, never $0.
    assert unknown.status == "unpriced" and "127.0.0.1" in (unknown.reason or "")
