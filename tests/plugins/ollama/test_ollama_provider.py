"""OllamaProvider against an httpx.MockTransport speaking Ollama's wire format."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest
from ollama_wire import ScriptedServer, chat_body, tags_body

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
from aexy_ollama import OllamaProvider, OllamaSettings

SCHEMA = {
    "type": "object",
    "properties": {"age": {"type": "integer"}, "available": {"type": "boolean"}},
    "required": ["age", "available"],
}
SKILLS = {
    "language": "Python", "frameworks": ["FastAPI", "SQLAlchemy"], "patterns": ["repository"],
    "libraries": [{"name": "fastapi", "evidence": "from fastapi import FastAPI"}],
    "complexity": 4, "quality_indicators": ["type hints"], "domains": ["payments"],
}
CODE = "from fastapi import FastAPI\napp = FastAPI()\n"


def ok(content: str, **kw: Any) -> httpx.Response:
    return httpx.Response(200, json=chat_body(content, **kw))


def provider_for(rec: ScriptedServer, **settings: Any) -> OllamaProvider:
    return OllamaProvider(OllamaSettings(**settings), transport=rec.transport)


def simple_request(**kw: Any) -> CompletionRequest:
    return CompletionRequest.simple("You extract facts.", "Ollama is 22.", SCHEMA, **kw)


# -- request shape ----------------------------------------------------------------------------
async def test_request_body_follows_the_chat_api() -> None:
    rec = ScriptedServer(default=ok('{"age": 22, "available": true}'))
    provider = provider_for(rec, num_ctx=8192, keep_alive="10m")
    await provider.complete(simple_request(max_tokens=777))

    (request,) = rec.requests
    assert request.method == "POST"
    assert str(request.url) == "http://localhost:11434/api/chat"
    assert request.headers["content-type"] == "application/json"
    assert rec.bodies[0] == {
        "model": "llama3.2",
        "messages": [
            {"role": "system", "content": "You extract facts."},
            {"role": "user", "content": "Ollama is 22."},
        ],
        "stream": False,
        "format": SCHEMA,
        "options": {"temperature": 0.0, "num_predict": 777, "num_ctx": 8192},
        "keep_alive": "10m",
    }


async def test_optional_fields_are_left_out_and_turns_keep_their_order() -> None:
    rec = ScriptedServer(default=ok("{}"))
    provider = provider_for(rec)
    turns = (Message("user", "a"), Message("assistant", "b"), Message("user", "fix it"))
    await provider.complete(CompletionRequest(system="", messages=turns, model="qwen2.5:7b",
                                              temperature=0.3))
    body = rec.bodies[0]
    assert body["model"] == "qwen2.5:7b"
    assert body["messages"] == [{"role": "user", "content": "a"},
                                {"role": "assistant", "content": "b"},
                                {"role": "user", "content": "fix it"}]
    assert body["options"] == {"temperature": 0.3, "num_predict": 4096}
    assert "format" not in body and "keep_alive" not in body


@pytest.mark.parametrize(("setting", "sent"), [
    ("300", 300), ("-1", -1), ("90.5", 90.5), ("1h", "1h"), ("inf", "inf"),
])
async def test_keep_alive_numbers_are_sent_as_seconds(setting: str, sent: object) -> None:
    # Ollama parses a JSON string keep_alive as a Go duration, which needs a unit.
    rec = ScriptedServer(default=ok("{}"))
    await provider_for(rec, keep_alive=setting).complete(simple_request())
    assert rec.bodies[0]["keep_alive"] == sent
    assert type(rec.bodies[0]["keep_alive"]) is type(sent)


async def test_timeouts_default_to_local_model_values_and_respect_the_request() -> None:
    rec = ScriptedServer(default=ok("{}"))
    provider = provider_for(rec)
    await provider.complete(simple_request())
    await provider.complete(simple_request(timeout=7.5))
    await provider_for(rec, read_timeout=600).complete(simple_request(timeout=900))
    first, capped, long = (r.extensions["timeout"] for r in rec.requests)
    assert first["read"] == 120.0 and first["connect"] == 5.0
    assert capped["read"] == 7.5 and capped["connect"] == 5.0
    assert long["read"] == 600.0


async def test_one_pooled_client_serves_every_call() -> None:
    rec = ScriptedServer(default=lambda r: ok("{}") if r.url.path == "/api/chat" else
                   httpx.Response(200, json=tags_body("llama3.2:latest")))
    provider = provider_for(rec)
    await provider.complete(simple_request())
    client = provider.client
    assert await provider.is_available()
    await provider.complete(simple_request())
    assert provider.client is client
    assert len(rec.requests) == 3


# -- answers ---------------------------------------------------------------------------------
async def test_answer_text_usage_model_and_finish_reason() -> None:
    rec = ScriptedServer(default=ok('{"age": 22, "available": false}', model="llama3.2:latest",
                                prompt_eval_count=34, eval_count=12))
    completion = await provider_for(rec).complete(simple_request())
    assert json.loads(completion.text) == {"age": 22, "available": False}
    assert completion.model == "llama3.2:latest"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (34, 12)
    assert completion.finish_reason is FinishReason.STOP
    assert completion.raw_finish_reason == "stop"


@pytest.mark.parametrize(("done_reason", "finish"), [
    ("length", FinishReason.LENGTH), ("stop", FinishReason.STOP), ("load", FinishReason.OTHER),
    (None, FinishReason.STOP),
])
async def test_done_reason_maps_to_finish_reason(done_reason: str | None,
                                                 finish: FinishReason) -> None:
    rec = ScriptedServer(default=ok("{}", done_reason=done_reason))
    completion = await provider_for(rec).complete(simple_request())
    assert completion.finish_reason is finish
    assert completion.raw_finish_reason == done_reason


async def test_an_answer_without_a_message_is_a_server_error() -> None:
    rec = ScriptedServer(default=httpx.Response(200, json={"model": "llama3.2", "done": True}))
    with pytest.raises(LLMError) as info:
        await provider_for(rec).complete(simple_request())
    assert info.value.code is ErrorCode.SERVER_ERROR
    assert "unexpected answer" in info.value.message


# -- through the gateway ---------------------------------------------------------------------
async def test_gateway_returns_a_typed_skill_extraction(host: PluginHost) -> None:
    rec = ScriptedServer(default=ok(json.dumps(SKILLS), prompt_eval_count=640, eval_count=88))
    provider = OllamaProvider(transport=rec.transport)
    async with LLMGateway(provider=provider, plugins=host) as gateway:
        result = await gateway.analyze(AnalysisType.SKILL_EXTRACTION, CODE,
                                       context={"file_path": "api/app.py"})
    assert isinstance(result, SkillExtraction)
    assert result.skills == ["Python", "FastAPI", "payments"]  # SQLAlchemy: not imported
    assert result.provenance.provider == "ollama"
    assert result.provenance.model == "llama3.2"
    assert (result.provenance.input_tokens, result.provenance.output_tokens) == (640, 88)
    body = rec.bodies[0]
    assert body["format"] == gateway.spec_for(AnalysisType.SKILL_EXTRACTION).json_schema
    assert body["format"]["properties"]["complexity"]["maximum"] == 10
    assert body["messages"][0]["role"] == "system"
    assert "api/app.py" in body["messages"][1]["content"]


async def test_truncated_answer_is_output_truncated(host: PluginHost) -> None:
    rec = ScriptedServer(default=ok('{"language": "Pyth', done_reason="length", eval_count=4096))
    async with LLMGateway(provider=OllamaProvider(transport=rec.transport), plugins=host,
                          cache=False) as gateway:
        with pytest.raises(LLMError) as info:
            await gateway.analyze(AnalysisType.SKILL_EXTRACTION, CODE)
    assert info.value.code is ErrorCode.OUTPUT_TRUNCATED
    assert info.value.provider == "ollama"
    assert "4096" in str(info.value)
    assert len(rec.requests) == 1  # truncation is not repaired by asking again


async def test_gateway_aclose_closes_the_http_client(host: PluginHost) -> None:
    rec = ScriptedServer(default=ok(json.dumps(SKILLS)))
    provider = OllamaProvider(transport=rec.transport)
    gateway = LLMGateway(provider=provider, plugins=host)
    await gateway.analyze(AnalysisType.SKILL_EXTRACTION, CODE)
    client = provider._client
    assert client is not None
    open_before = not client.is_closed
    await gateway.aclose()
    assert open_before and client.is_closed
    assert provider._client is None


async def test_gateway_builds_the_provider_by_name_from_the_environment(
        monkeypatch: pytest.MonkeyPatch, host: PluginHost) -> None:
    import aexy_ollama

    host.register(aexy_ollama, name="ollama", distribution="aexy-ollama", version="0.1.0")
    monkeypatch.setenv("LLM_PROVIDER", "ollama")
    monkeypatch.setenv("OLLAMA_MODEL", "qwen2.5-coder:7b")
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://gpu-box:11434/")
    async with LLMGateway(plugins=host) as gateway:
        provider = gateway.provider
        assert isinstance(provider, OllamaProvider)
        assert provider.model == "qwen2.5-coder:7b"
        assert provider.base_url == "http://gpu-box:11434"
        assert provider.limits.requests_per_minute is None  # a local server: no default limit
        assert provider.limits.tokens_per_minute is None
        assert provider._client is None  # nothing contacted or opened at construction


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "body", "code", "retryable", "words"), [
    (404, {"error": 'model "llama3.2" not found, try pulling it first'}, ErrorCode.NOT_FOUND,
     False, ['model "llama3.2" not found, try pulling it first', "`ollama pull llama3.2`"]),
    (503, {"error": "server busy, please try again.  maximum pending requests exceeded"},
     ErrorCode.OVERLOADED, True, ["server busy, please try again"]),
    (500, {"error": "llama runner process has terminated: signal: killed"},
     ErrorCode.SERVER_ERROR, True, ["llama runner process has terminated"]),
    (400, {"error": "invalid format: expected \"json\" or a valid JSON schema"},
     ErrorCode.BAD_REQUEST, False, ["invalid format"]),
    (502, "<html><body>502 Bad Gateway</body></html>", ErrorCode.SERVER_ERROR, True,
     ["502 Bad Gateway"]),
    (429, {"error": "too many requests"}, ErrorCode.RATE_LIMIT_EXCEEDED, True, ["too many"]),
    (401, {"error": "unauthorized"}, ErrorCode.AUTHENTICATION_ERROR, False, ["unauthorized"]),
])
async def test_http_errors_map_to_core_codes(status: int, body: object,
                                             code: ErrorCode, retryable: bool,
                                             words: list[str]) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers={"content-type": "text/html"})
        return httpx.Response(status, json=body)

    rec = ScriptedServer(default=answer)
    with pytest.raises(LLMError) as info:
        await provider_for(rec).complete(simple_request())
    err = info.value
    assert err.code is code
    assert err.retryable is retryable
    assert err.status_code == status
    assert (err.provider, err.model) == ("ollama", "llama3.2")
    for word in words:
        assert word in err.message


async def test_busy_server_retry_after_is_kept() -> None:
    rec = ScriptedServer(default=httpx.Response(503, json={"error": "server busy"},
                                            headers={"Retry-After": "3"}))
    with pytest.raises(LLMError) as info:
        await provider_for(rec).complete(simple_request())
    assert info.value.retry_after == 3.0


@pytest.mark.parametrize("exc_type", [httpx.ConnectError, httpx.ConnectTimeout])
async def test_unreachable_server_is_a_connection_error(exc_type: type[Exception]) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise exc_type("[Errno 111] Connection refused", request=request)  # type: ignore[call-arg]

    rec = ScriptedServer(default=refuse)
    with pytest.raises(LLMError) as info:
        await provider_for(rec).complete(simple_request())
    assert info.value.code is ErrorCode.CONNECTION_ERROR
    assert info.value.retryable
    assert "cannot connect to Ollama at http://localhost:11434" in info.value.message
    assert "ollama serve" in info.value.message


async def test_a_refused_loopback_port_is_a_connection_error() -> None:
    # A real socket: bind a free loopback port, close it, then talk to it.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    provider = OllamaProvider(OllamaSettings(base_url=url, connect_timeout=2))
    try:
        with pytest.raises(LLMError) as info:
            await provider.complete(simple_request())
        assert info.value.code is ErrorCode.CONNECTION_ERROR
        assert f"cannot connect to Ollama at {url}" in info.value.message
        assert await provider.is_available() is False
    finally:
        await provider.aclose()


async def test_read_timeout_is_a_timeout() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    rec = ScriptedServer(default=slow)
    with pytest.raises(LLMError) as info:
        await provider_for(rec).complete(simple_request(timeout=30))
    assert info.value.code is ErrorCode.TIMEOUT
    assert info.value.retryable
    assert "30s" in info.value.message and "OLLAMA_READ_TIMEOUT" in info.value.message


async def test_credentials_in_the_url_never_reach_messages_or_describe() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    rec = ScriptedServer(default=refuse)
    provider = provider_for(rec, base_url="https://bob:s3cr3t-pass@ollama.internal:443")
    with pytest.raises(LLMError) as info:
        await provider.complete(simple_request())
    shown = [str(info.value), repr(info.value), repr(provider), json.dumps(provider.describe()),
             repr(provider.settings), str(provider.settings)]
    assert not any("s3cr3t-pass" in text for text in shown)
    assert "https://***@ollama.internal:443" in info.value.message
    assert rec.requests[0].headers["authorization"].startswith("Basic ")  # still used


# -- availability ----------------------------------------------------------------------------
@pytest.mark.parametrize(("configured", "pulled", "expected"), [
    ("llama3.2", ["llama3.2:latest", "codellama:13b"], True),
    ("llama3.2:latest", ["llama3.2:latest"], True),
    ("llama3.2:latest", ["llama3.2"], True),
    ("LLaMA3.2", ["llama3.2:latest"], True),
    ("llama3.2", ["llama3.2:1b", "mistral:latest"], False),
    ("llama3.2", [], False),
    ("hf.co/org/model", ["hf.co/org/model:latest"], True),
])
async def test_available_only_when_the_model_is_pulled(configured: str,
                                                       pulled: list[str],
                                                       expected: bool) -> None:
    rec = ScriptedServer(default=httpx.Response(200, json=tags_body(*pulled)))
    provider = provider_for(rec, model=configured)
    assert await provider.is_available() is expected
    (request,) = rec.requests
    assert (request.method, request.url.path) == ("GET", "/api/tags")
    assert request.extensions["timeout"]["read"] == 2.0


@pytest.mark.parametrize("answer", [
    lambda r: httpx.Response(500, json={"error": "boom"}),
    lambda r: httpx.Response(200, text="not json"),
    lambda r: httpx.Response(200, json=["unexpected"]),
])
async def test_availability_never_raises(answer: Any) -> None:
    assert await provider_for(ScriptedServer(default=answer)).is_available() is False


async def test_availability_is_false_on_timeouts() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    assert await provider_for(ScriptedServer(default=slow)).is_available() is False


@pytest.mark.parametrize("base", ["http://proxy.local/ollama", "http://proxy.local/ollama/"])
async def test_a_base_url_with_a_path_keeps_it(base: str) -> None:
    rec = ScriptedServer(default=ok('{"age": 22, "available": true}'))
    provider = OllamaProvider(OllamaSettings(base_url=base), transport=rec.transport)
    await provider.complete(simple_request())
    await provider.complete(simple_request())  # the URL object built with the client is reused
    assert [str(r.url) for r in rec.requests] == ["http://proxy.local/ollama/api/chat"] * 2
