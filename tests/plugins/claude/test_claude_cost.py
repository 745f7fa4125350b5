"""aexy-claude and cost: usage with prompt-cache reads and writes kept apart and priced each at
its own rate, the system prompt marked for the prompt cache where the model can cache it, and
tokens counted with ``POST /v1/messages/count_tokens`` for dry runs."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from claude_wire import KEY, counted, error, message_body, ok, server

from aexy import CompletionRequest, ErrorCode, LLMError, LLMGateway, Message
from aexy.cache import MemoryCache
from aexy.completion import Usage
from aexy.cost import price
from aexy.plugins import PluginHost
from aexy.schema import example_from_schema
from aexy_claude import ClaudeProvider, ClaudeSettings

CODE = "from fastapi import FastAPI\napp = FastAPI()\n"
ATTRITION = json.dumps({"developer_id": "dev-1", "periods": []})
LONG_SYSTEM = "Review the code for defects and say why each matters.\n" * 120  # ~1,300 tokens


def provider(rec: server, **kw: Any) -> ClaudeProvider:
    return ClaudeProvider(ClaudeSettings(api_key=KEY, **kw), transport=rec.transport)


def request(system: str = LONG_SYSTEM) -> CompletionRequest:
    return CompletionRequest(system=system, messages=(Message("user", "Review this."),),
                             json_schema={"type": "object", "properties": {}}, max_tokens=900)


async def test_cache_reads_and_writes_are_counted_apart_and_in_the_input() -> None:
    rec = server(ok("{}", input_tokens=40, cache_read_input_tokens=1_800,
                      cache_creation_input_tokens=200, output_tokens=90))
    p = provider(rec)
    done = await p.complete(request())
    await p.aclose()
    # Claude's input_tokens leaves out the cached part; ours counts every input token.
    assert done.usage == Usage(input_tokens=2_040, output_tokens=90, cache_read_tokens=1_800,
                               cache_write_tokens=200)


async def test_each_part_is_priced_at_its_own_rate_through_the_gateway() -> None:
    model = "claude-sonnet-4-5"
    body = message_body(json.dumps({"language": "Python", "frameworks": [], "patterns": [],
                                    "complexity": 2, "quality_indicators": [], "domains": []}),
                        model=model, input_tokens=300, cache_read_input_tokens=1_200,
                        cache_creation_input_tokens=0, output_tokens=80)
    rec = server(httpx2.Response(200, json=body, headers={"request-id": "req_1"}))
    async with LLMGateway(provider=provider(rec, model=model), plugins=PluginHost(),
                          cache=False) as gw:
        result = await gw.analyze("skill_extraction", CODE)
    cost = result.provenance.cost
    assert cost is not None and cost.status == "priced"
    assert cost == price("claude", model, Usage(1_500, 80, cache_read_tokens=1_200))
    plain = price("claude", model, Usage(1_500, 80))
    assert cost.cache_read_usd is not None and cost.cache_read_usd > 0
    assert cost.total_usd is not None and plain.total_usd is not None
    assert cost.total_usd < plain.total_usd  # reading the cache is cheaper than plain input


@pytest.mark.parametrize(("model", "marked"), [
    ("claude-sonnet-4-5", True),  # 1,024 tokens at least: this prompt reaches it
    ("claude-haiku-4-5", False),  # 4,096 at least: it does not
    ("claude-sonnet-5-5", False),  # a model the table does not know: the larger minimum
])
async def test_the_system_prompt_is_marked_cacheable_where_the_model_can_cache_it(
        model: str, marked: bool) -> None:
    rec = server(ok("{}"), ok("{}"))
    p = provider(rec, model=model)
    await p.complete(request())
    await p.complete(request(system="Be brief."))  # far too short for any model
    await p.aclose()
    long_body, short_body = rec.bodies
    if marked:
        assert long_body["system"] == [{"type": "text", "text": LONG_SYSTEM,
                                        "cache_control": {"type": "ephemeral"}}]
    else:
        assert long_body["system"] == LONG_SYSTEM
    assert short_body["system"] == "Be brief."


async def test_prompt_caching_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_PROMPT_CACHE", "false")
    rec = server(ok("{}"))
    p = ClaudeProvider(ClaudeSettings(api_key=KEY, model="claude-sonnet-4-5"),
                       transport=rec.transport)
    await p.complete(request())
    await p.aclose()
    assert rec.bodies[0]["system"] == LONG_SYSTEM


async def test_a_long_built_in_prompt_is_cached_through_the_gateway() -> None:
    def answer(req: httpx2.Request) -> httpx2.Response:
        schema = json.loads(req.content)["output_config"]["format"]["schema"]
        return ok(json.dumps(example_from_schema(schema)))

    rec = server(answer)
    async with LLMGateway(provider=provider(rec, model="claude-sonnet-4-5"),
                          plugins=PluginHost(), cache=False) as gw:
        await gw.analyze("attrition_risk", ATTRITION)
    system = rec.bodies[0]["system"]
    assert isinstance(system, list) and system[0]["cache_control"] == {"type": "ephemeral"}


async def test_tokens_are_counted_by_the_api_with_what_the_call_would_send() -> None:
    rec = server(counted(2_095))
    p = provider(rec, model="claude-sonnet-4-5", max_tokens=2048)
    found = await p.count_tokens(request())
    await p.aclose()
    assert (found.tokens, found.estimated, found.method) == (2_095, False,
                                                             "anthropic count_tokens")
    (sent,) = rec.requests
    assert sent.method == "POST" and sent.url.path == "/v1/messages/count_tokens"
    body = rec.bodies[0]
    from anthropic.types import MessageCountTokensParams, MessageTokensCount

    assert set(body) <= set(MessageCountTokensParams.__annotations__)
    assert body["model"] == "claude-sonnet-4-5" and "max_tokens" not in body
    assert body["system"][0]["text"] == LONG_SYSTEM
    assert body["messages"] == [{"role": "user", "content": "Review this."}]
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert MessageTokensCount.model_validate({"input_tokens": 2_095}).input_tokens == 2_095
    assert p.max_output_tokens(request()) == 2048  # CLAUDE_MAX_TOKENS replaces the type's


async def test_a_failed_count_is_a_typed_error() -> None:
    rec = server(error(429, "rate_limit_error", "Number of request tokens has exceeded "
                         "your per-minute rate limit", headers={"retry-after": "7"}))
    p = provider(rec)
    with pytest.raises(LLMError) as failed:
        await p.count_tokens(request())
    await p.aclose()
    assert failed.value.code is ErrorCode.RATE_LIMIT_EXCEEDED
    assert KEY not in str(failed.value)


async def test_a_dry_run_counts_with_the_api_and_sends_no_message() -> None:
    def answer(req: httpx2.Request) -> httpx2.Response:
        if req.url.path != "/v1/messages/count_tokens":
            raise AssertionError(f"a dry run sent {req.method} {req.url.path}")
        return counted(1_500)

    rec = server(answer, answer)
    async with LLMGateway(provider=provider(rec, model="claude-sonnet-4-5"),
                          plugins=PluginHost(), cache=MemoryCache(), dry_run=True) as gw:
        await gw.analyze("skill_extraction", CODE)
        await gw.analyze("code_quality", CODE)
        plan = gw.plan
    assert plan is not None and len(rec.requests) == 2
    s = plan.summary()
    assert (s["to_send"], s["calls_counted"], s["input_tokens"]) == (2, 2, 3_000)
    assert s["count_methods"] == ["anthropic count_tokens"]
    assert dict(plan.rows())["input tokens"] == "3,000 (counted: anthropic count_tokens)"
