"""ClaudeProvider against an ``httpx2.MockTransport`` speaking the Messages API's wire format.

The real ``anthropic`` SDK builds every request and parses every answer; only the transport
is replaced.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from claude_wire import KEY, REQUEST_ID, error, message_body, ok, server

from aexy import (
    AnalysisType,
    CompletionRequest,
    ConfigurationError,
    ErrorCode,
    FinishReason,
    LLMError,
    LLMGateway,
    LLMUnavailableError,
    Message,
)
from aexy.cache import MemoryCache
from aexy.catalogue.code import SkillExtraction
from aexy.plugins import PluginHost
from aexy_claude import DEFAULT_MODEL, ClaudeProvider, ClaudeSettings

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "score": {"type": "integer", "minimum": 1, "maximum": 10},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["score", "tags"],
}
SKILLS = {
    "language": "Python", "frameworks": ["FastAPI", "SQLAlchemy"], "patterns": ["repository"],
    "libraries": [{"name": "fastapi", "evidence": "from fastapi import FastAPI"}],
    "complexity": 4, "quality_indicators": ["type hints"], "domains": ["payments"],
}
CODE = "from fastapi import FastAPI\napp = FastAPI()\n"


def settings(**kw: Any) -> ClaudeSettings:
    return ClaudeSettings(api_key=KEY, **kw)


def provider(rec: server, **kw: Any) -> ClaudeProvider:
    return ClaudeProvider(settings(**kw), transport=rec.transport)


def request(**kw: Any) -> CompletionRequest:
    return CompletionRequest.simple("You are a careful reviewer.", "Review this.", SCHEMA, **kw)


def code_of(exc: BaseException) -> str | None:
    """The error code whether the gateway raised the provider's error or wrapped it."""
    if isinstance(exc, LLMError):
        return exc.code.value
    if isinstance(exc, LLMUnavailableError):
        return exc.last_code
    return None


# -- request shape -----------------------------------------------------------------------------
async def test_request_shape_system_top_level_and_native_schema() -> None:
    rec = server(ok('{"score": 7, "tags": []}'))
    p = provider(rec)
    req = CompletionRequest(
        system="SYSTEM PROMPT",
        messages=(Message("user", "first"), Message("assistant", "{}"), Message("user", "fix")),
        json_schema=SCHEMA, max_tokens=1234,
    )
    await p.complete(req)
    await p.aclose()

    (sent,) = rec.requests
    assert sent.method == "POST"
    assert sent.url == "https://api.anthropic.com/v1/messages"
    # SDK 2.x sends the key as a bearer token; older ones as x-api-key. Either way, this key.
    assert sent.headers.get("x-api-key") == KEY or sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["anthropic-version"]
    assert sent.headers["x-stainless-retry-count"] == "0"

    body = rec.bodies[0]
    assert body["system"] == "SYSTEM PROMPT"
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert [m["content"] for m in body["messages"]] == ["first", "{}", "fix"]
    assert body["model"] == DEFAULT_MODEL
    assert body["max_tokens"] == 1234
    fmt = body["output_config"]["format"]
    assert fmt["type"] == "json_schema"
    schema = fmt["schema"]
    assert schema["type"] == "object"
    assert schema["required"] == ["score", "tags"]
    assert schema["additionalProperties"] is False
    # Unsupported numeric bounds move into the description instead of failing the request.
    assert "minimum" not in schema["properties"]["score"]
    assert "minimum: 1" in schema["properties"]["score"]["description"]
    # Native structured output: no forced tool (current models reject one) and no sampling
    # parameter (Claude Sonnet 5 and later reject non-default ones).
    for absent in ("tools", "tool_choice", "temperature", "stream"):
        assert absent not in body


async def test_no_system_role_in_messages_even_through_the_gateway(host: PluginHost) -> None:
    rec = server(ok(json.dumps(SKILLS)))
    async with LLMGateway(provider=provider(rec), plugins=host, cache=False) as gw:
        await gw.analyze(AnalysisType.SKILL_EXTRACTION, CODE, context={"file_path": "app.py"})
    body = rec.bodies[0]
    assert body["system"].strip()
    assert all(m["role"] in ("user", "assistant") for m in body["messages"])
    assert CODE.strip() in body["messages"][0]["content"]
    assert CODE.strip() not in body["system"]
    props = body["output_config"]["format"]["schema"]["properties"]
    assert set(props) == set(SkillExtraction.model_fields)


async def test_optional_settings_are_sent_only_when_set() -> None:
    rec = server(ok('{"score": 1, "tags": []}'))
    p = provider(rec, temperature=0.0, effort="low", max_tokens=9000)
    await p.complete(request(model="claude-opus-5-5", max_tokens=100))
    await p.aclose()
    body = rec.bodies[0]
    assert body["temperature"] == 0.0
    assert body["output_config"]["effort"] == "low"
    assert body["max_tokens"] == 9000  # CLAUDE_MAX_TOKENS replaces the per-analysis budget
    assert body["model"] == "claude-opus-5-5"  # the request's model wins over the configured one


async def test_request_without_schema_sends_no_output_config() -> None:
    rec = server(ok("plain text"))
    p = provider(rec)
    done = await p.complete(CompletionRequest.simple("", "hi"))
    await p.aclose()
    assert done.text == "plain text"
    assert "output_config" not in rec.bodies[0]
    assert "system" not in rec.bodies[0]  # an empty system prompt is left out


async def test_base_url_and_model_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("CLAUDE_MODEL", "claude-haiku-5-5")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:8799/proxy")
    rec = server(ok('{"score": 2, "tags": []}', model="claude-haiku-5-5"))
    p = ClaudeProvider(transport=rec.transport)
    done = await p.complete(request())
    await p.aclose()
    assert str(rec.requests[0].url) == "http://127.0.0.1:8799/proxy/v1/messages"
    assert rec.bodies[0]["model"] == "claude-haiku-5-5"
    assert done.model == "claude-haiku-5-5"


# -- answers -----------------------------------------------------------------------------------
async def test_happy_path_through_the_gateway_gives_a_typed_result(host: PluginHost) -> None:
    rec = server(ok(json.dumps(SKILLS), thinking=True, model="claude-sonnet-5-5-20260928",
                      input_tokens=1200, cache_read_input_tokens=800,
                      cache_creation_input_tokens=100, output_tokens=150))
    async with LLMGateway(provider=provider(rec), plugins=host, cache=False) as gw:
        result = await gw.analyze(AnalysisType.SKILL_EXTRACTION, CODE)
    assert isinstance(result, SkillExtraction)
    assert result.language == "Python"
    assert result.frameworks == ["FastAPI"]  # SQLAlchemy: no import backs it
    assert result.provenance.ungrounded_dropped == 2  # and no quote backs "type hints"
    prov = result.provenance
    assert prov.provider == "claude"
    assert prov.model == "claude-sonnet-5-5-20260928"  # the model that answered
    assert prov.input_tokens == 2100
    assert prov.output_tokens == 150
    assert len(rec.requests) == 1


async def test_completion_reads_text_blocks_usage_and_request_id() -> None:
    rec = server(ok("", content=[
        {"type": "thinking", "thinking": "", "signature": "EqQBCkgIARAB"},
        {"type": "text", "text": '{"score": 9, '},
        {"type": "text", "text": '"tags": ["a"]}'},
    ], input_tokens=10, cache_read_input_tokens=30, cache_creation_input_tokens=5,
        output_tokens=7))
    p = provider(rec)
    done = await p.complete(request())
    await p.aclose()
    assert json.loads(done.text) == {"score": 9, "tags": ["a"]}
    assert done.usage.input_tokens == 45
    assert done.usage.output_tokens == 7
    assert done.finish_reason is FinishReason.STOP
    assert done.raw_finish_reason == "end_turn"
    assert done.request_id == REQUEST_ID


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", FinishReason.STOP),
        ("stop_sequence", FinishReason.STOP),
        ("max_tokens", FinishReason.LENGTH),
        ("model_context_window_exceeded", FinishReason.LENGTH),
        ("refusal", FinishReason.CONTENT_FILTER),
        ("pause_turn", FinishReason.OTHER),
        ("tool_use", FinishReason.OTHER),
    ],
)
async def test_stop_reasons(stop_reason: str, finish: FinishReason) -> None:
    rec = server(ok('{"score": 1', stop_reason=stop_reason))
    p = provider(rec)
    done = await p.complete(request())
    await p.aclose()
    assert done.finish_reason is finish
    assert done.raw_finish_reason == stop_reason


@pytest.mark.parametrize(
    ("stop_reason", "code"),
    [("max_tokens", "output_truncated"), ("model_context_window_exceeded", "output_truncated"),
     ("refusal", "content_filtered")],
)
async def test_truncation_and_refusal_fail_the_analysis(
    host: PluginHost, stop_reason: str, code: str
) -> None:
    rec = server(ok('{"language": "Py', stop_reason=stop_reason))
    async with LLMGateway(provider=provider(rec), plugins=host, cache=False) as gw:
        with pytest.raises((LLMError, LLMUnavailableError)) as info:
            await gw.analyze(AnalysisType.SKILL_EXTRACTION, CODE)
    assert code_of(info.value) == code
    assert len(rec.requests) == 1  # neither is retried nor "repaired"


# -- errors ------------------------------------------------------------------------------------
ERRORS = [
    # status, error type, message, headers, code, retryable, retry_after
    (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit",
     {"retry-after": "7"}, ErrorCode.RATE_LIMIT_EXCEEDED, True, 7.0),
    (429, "rate_limit_error", "rate limited", {"retry-after-ms": "1500", "retry-after": "2"},
     ErrorCode.RATE_LIMIT_EXCEEDED, True, 1.5),
    (429, "rate_limit_error", "rate limited", {}, ErrorCode.RATE_LIMIT_EXCEEDED, True, None),
    (529, "overloaded_error", "Overloaded", {}, ErrorCode.OVERLOADED, True, None),
    (500, "api_error", "Internal server error", {}, ErrorCode.SERVER_ERROR, True, None),
    (503, "api_error", "Service unavailable", {}, ErrorCode.OVERLOADED, True, None),
    (504, "timeout_error", "Request timed out", {}, ErrorCode.TIMEOUT, True, None),
    (401, "authentication_error", "invalid x-api-key", {}, ErrorCode.AUTHENTICATION_ERROR,
     False, None),
    (403, "permission_error", "Your API key does not have permission to use the specified "
     "resource.", {}, ErrorCode.AUTHENTICATION_ERROR, False, None),
    (400, "invalid_request_error", "prompt is too long: 1052311 tokens > 1000000 maximum", {},
     ErrorCode.CONTEXT_LENGTH_EXCEEDED, False, None),
    (400, "invalid_request_error", "max_tokens: Field required", {}, ErrorCode.BAD_REQUEST,
     False, None),
    (413, "request_too_large", "Request exceeds the maximum allowed number of bytes.", {},
     ErrorCode.CONTEXT_LENGTH_EXCEEDED, False, None),
    (404, "not_found_error", "model: claude-sonnet-9", {}, ErrorCode.NOT_FOUND, False, None),
    (402, "billing_error", "Your credit balance is too low", {}, ErrorCode.BAD_REQUEST, False,
     None),
]


@pytest.mark.parametrize(
    ("status", "etype", "message", "headers", "code", "retryable", "retry_after"), ERRORS
)
async def test_http_errors_map_to_core_codes(
    status: int, etype: str, message: str, headers: dict[str, str], code: ErrorCode,
    retryable: bool, retry_after: float | None,
) -> None:
    rec = server(error(status, etype, message, headers=headers))
    p = provider(rec)
    with pytest.raises(LLMError) as info:
        await p.complete(request())
    await p.aclose()
    err = info.value
    assert err.code is code
    assert err.retryable is retryable
    assert err.retry_after == retry_after
    assert err.status_code == status
    assert err.request_id == REQUEST_ID
    assert err.provider == "claude"
    assert err.model == DEFAULT_MODEL
    assert message in err.message
    assert len(rec.requests) == 1  # the SDK's own retries are off
    if code is ErrorCode.AUTHENTICATION_ERROR:
        assert "ANTHROPIC_API_KEY" in str(err)
    assert KEY not in str(err) and KEY not in repr(err)


async def test_request_id_falls_back_to_the_error_body() -> None:
    body = {"type": "error", "error": {"type": "api_error", "message": "boom"},
            "request_id": "req_from_body"}
    rec = server(httpx2.Response(500, json=body))
    p = provider(rec)
    with pytest.raises(LLMError) as info:
        await p.complete(request())
    await p.aclose()
    assert info.value.request_id == "req_from_body"


async def test_retry_after_as_an_http_date_is_seconds_from_now() -> None:
    rec = server(error(429, "rate_limit_error", "slow down",
                         headers={"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    p = provider(rec)
    with pytest.raises(LLMError) as info:
        await p.complete(request())
    await p.aclose()
    assert info.value.retry_after == 0.0  # a date in the past means "now", never negative


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (httpx2.ConnectTimeout("timed out"), ErrorCode.TIMEOUT),
        (httpx2.ReadTimeout("timed out"), ErrorCode.TIMEOUT),
        (httpx2.ConnectError("connection refused"), ErrorCode.CONNECTION_ERROR),
    ],
)
async def test_transport_failures_map_to_timeout_and_connection_error(
    exc: Exception, code: ErrorCode
) -> None:
    rec = server(exc)
    p = provider(rec)
    with pytest.raises(LLMError) as info:
        await p.complete(request())
    await p.aclose()
    assert info.value.code is code
    assert info.value.retryable
    assert len(rec.requests) == 1


async def test_non_sdk_errors_are_not_swallowed() -> None:
    p = provider(server(ok("{}")))

    async def boom(**_: Any) -> Any:
        raise RuntimeError("a bug, not an API failure")

    client = p._get_client()
    client.messages.create = boom  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="a bug"):
        await p.complete(request())
    await p.aclose()


# -- the key -----------------------------------------------------------------------------------
async def test_missing_key_is_a_configuration_error_without_any_request() -> None:
    rec = server()
    p = ClaudeProvider(ClaudeSettings(), transport=rec.transport)
    assert await p.is_available() is False
    with pytest.raises(ConfigurationError) as info:
        await p.complete(request())
    assert info.value.env_var == "ANTHROPIC_API_KEY"
    assert "ANTHROPIC_API_KEY" in str(info.value)
    assert rec.requests == []
    await p.aclose()


async def test_the_key_never_reaches_logs_errors_reprs_or_cache(
    host: PluginHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, SDK and httpx2 included
    cache = MemoryCache()
    # One answer per mode; the gateway may retry a retryable failure, so each mode answers
    # every attempt the same way.
    replies: dict[str, Callable[[], httpx2.Response | Exception]] = {
        "ok": lambda: ok(json.dumps(SKILLS)),
        "auth": lambda: error(401, "authentication_error", "invalid x-api-key"),
        "rate": lambda: error(429, "rate_limit_error", "slow down", headers={"retry-after": "1"}),
        "down": lambda: httpx2.ConnectError("connection refused"),
    }
    mode = ["ok"]

    def answer(_: httpx2.Request) -> httpx2.Response:
        reply = replies[mode[0]]()
        if isinstance(reply, Exception):
            raise reply
        return reply

    rec = server(*([answer] * 64))

    async def no_sleep(_: float) -> None:
        return None

    p = provider(rec)
    seen: list[str] = [repr(p), str(p.describe()), repr(p.settings), str(p.settings)]
    async with LLMGateway(provider=p, plugins=host, cache=cache, sleep=no_sleep) as gw:
        await gw.analyze(AnalysisType.SKILL_EXTRACTION, CODE)
        for i, failing in enumerate(("auth", "rate", "down")):
            mode[0] = failing
            with pytest.raises((LLMError, LLMUnavailableError)) as info:
                await gw.analyze(AnalysisType.SKILL_EXTRACTION, CODE + f"# {i}\n")
            seen += [str(info.value), repr(info.value)]
        seen += [json.dumps(await cache.stats())]
        seen += [f"{k}={v}" for k, v in cache._data.items()]
    assert len(rec.requests) >= 4
    assert len(cache._data) == 1
    assert caplog.records, "the SDK and the gateway log at DEBUG; the check must see them"
    text = "\n".join(seen) + caplog.text
    assert KEY not in text
    assert KEY[-12:] not in text


def test_settings_and_describe_hide_the_key() -> None:
    s = settings()
    assert KEY not in repr(s) and KEY not in str(s) and KEY not in s.model_dump_json()
    p = ClaudeProvider(s)
    facts = p.describe()
    assert facts["api_key_configured"] is True
    assert KEY not in json.dumps(facts, default=str)
    assert KEY not in repr(p)
    assert repr(p) == f"ClaudeProvider(name='claude', model='{DEFAULT_MODEL}')"


def test_describe_strips_credentials_from_a_proxy_url() -> None:
    p = ClaudeProvider(settings(base_url="https://user:hunter2@proxy.internal:8443/anthropic"))
    facts = p.describe()
    assert facts["base_url"] == "https://***@proxy.internal:8443/anthropic"
    assert "hunter2" not in json.dumps(facts, default=str)


# -- settings ----------------------------------------------------------------------------------
def test_settings_read_only_their_documented_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("API_KEY", "MODEL", "BASE_URL", "TIMEOUT", "MAX_TOKENS"):
        monkeypatch.setenv(name, "not-for-claude" if name != "TIMEOUT" else "1")
    s = ClaudeSettings()
    assert s.api_key is None
    assert s.model == DEFAULT_MODEL
    assert s.base_url is None
    assert s.timeout == 60.0
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("CLAUDE_MODEL", "claude-opus-5-5")
    monkeypatch.setenv("CLAUDE_TIMEOUT", "12.5")
    monkeypatch.setenv("CLAUDE_EFFORT", "medium")
    s = ClaudeSettings()
    assert s.api_key is not None and s.api_key.get_secret_value() == KEY
    assert (s.model, s.timeout, s.effort) == ("claude-opus-5-5", 12.5, "medium")


def test_constructor_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_MODEL", "from-env")
    assert ClaudeSettings(model="from-code").model == "from-code"
    assert ClaudeSettings().model == "from-env"


def test_a_blank_key_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "   ")
    assert ClaudeSettings().api_key is None


def test_key_from_a_dotenv_file(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text(f"ANTHROPIC_API_KEY={KEY}\nCLAUDE_MODEL=claude-haiku-5-5\n")
    monkeypatch.chdir(tmp_path)
    s = ClaudeSettings()
    assert s.api_key is not None and s.api_key.get_secret_value() == KEY
    assert s.model == "claude-haiku-5-5"


def test_default_limits_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    lim = ClaudeProvider(settings()).limits
    assert (lim.requests_per_minute, lim.tokens_per_minute) == (50, 100_000)
    monkeypatch.setenv("CLAUDE_REQUESTS_PER_MINUTE", "4000")
    monkeypatch.setenv("CLAUDE_TOKENS_PER_MINUTE", "2000000")
    lim = ClaudeProvider(ClaudeSettings()).limits
    assert (lim.requests_per_minute, lim.tokens_per_minute) == (4000, 2_000_000)


def test_model_argument_overrides_the_setting() -> None:
    assert ClaudeProvider(settings(), model="claude-opus-5-5").model == "claude-opus-5-5"
    assert ClaudeProvider(settings()).model == DEFAULT_MODEL


def test_foreign_settings_are_rejected() -> None:
    from aexy.testing import FakeSettings

    with pytest.raises(TypeError, match="ClaudeSettings"):
        ClaudeProvider(FakeSettings())


# -- the client --------------------------------------------------------------------------------
async def test_one_client_per_provider_without_sdk_retries_or_tracing() -> None:
    http = server(ok('{"score": 1, "tags": []}'), ok('{"score": 2, "tags": []}')).client()
    p = ClaudeProvider(settings(), http_client=http)
    await p.complete(request())
    first = p._client
    await p.complete(request())
    assert p._client is first
    assert first is not None
    assert first.max_retries == 0
    assert first.open_telemetry["traces"]["enabled"] is False
    await p.aclose()
    assert p._client is None
    assert http.is_closed


async def test_aclose_closes_an_unused_http_client() -> None:
    http = server().client()
    p = ClaudeProvider(settings(), http_client=http)
    await p.aclose()
    assert http.is_closed


async def test_gateway_builds_the_provider_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    async with LLMGateway(provider="claude", plugins=PluginHost(), cache=False) as gw:
        assert isinstance(gw.provider, ClaudeProvider)
        assert gw.provider.model == DEFAULT_MODEL
        assert gw.provider._client is None  # nothing built or contacted before the first call


def test_message_body_helper_matches_the_sdk_model() -> None:
    # The wire helper must parse cleanly into the SDK's own Message type.
    from anthropic.types import Message as SDKMessage

    msg = SDKMessage.model_validate(message_body("{}", thinking=True))
    assert [b.type for b in msg.content] == ["thinking", "text"]
    assert msg.usage.cache_read_input_tokens == 0


async def test_a_caller_deadline_caps_the_configured_timeout() -> None:
    seen: list[dict[str, Any]] = []

    def capture(request: httpx2.Request) -> httpx2.Response:
        seen.append(dict(request.extensions["timeout"]))
        return ok('{"score": 1, "tags": []}')

    p = provider(server(capture, capture), timeout=30.0)
    await p.complete(request(timeout=2.5))
    await p.complete(request())
    await p.aclose()
    assert seen[0]["read"] == 2.5
    assert seen[1]["read"] == 30.0
