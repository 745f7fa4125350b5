"""Every error mapping, both error body shapes, rate-limit headers, and the key kept secret."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from openai_wire import (
    LLAMACPP_CONTEXT,
    LLAMACPP_NO_JSON_SCHEMA,
    OPENAI_HEADERS,
    ScriptedServer,
    fail,
    ok,
    openai_completion,
    openai_error,
    vllm_flat_error,
    vllm_nested_error,
)

from aexy import LLMGateway
from aexy.analysis import AnalysisType
from aexy.completion import CompletionRequest
from aexy.errors import ErrorCode, LLMError, LLMUnavailableError
from aexy.plugin_api import parse_duration, parse_retry_after
from aexy.plugins import PluginHost
from aexy_openai import OpenAIProvider, OpenAISettings

KEY = "sk-proj-SECRETvalue0123456789abcdefXYZ"
SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def provider(server: ScriptedServer, **settings: Any) -> OpenAIProvider:
    settings.setdefault("api_key", KEY)
    return OpenAIProvider(OpenAISettings(**settings), transport=server.transport)


async def error_for(reply: httpx.Response | Exception, **settings: Any) -> LLMError:
    p = provider(ScriptedServer(reply), **settings)
    with pytest.raises(LLMError) as info:
        await p.complete(CompletionRequest.simple("s", "u", SCHEMA))
    err = info.value
    assert KEY not in str(err) and KEY not in repr(err) and KEY not in err.message
    assert (err.provider, err.model) == ("openai", "gpt-4.1-mini")
    return err


RATE_LIMIT = openai_error(
    "Rate limit reached for gpt-4.1-mini in organization org-abc on requests per min (RPM): "
    "Limit 3, Used 3, Requested 1. Please try again in 20s. Visit "
    "https://platform.openai.com/account/rate-limits to learn more.",
    type_="requests", code="rate_limit_exceeded")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after-ms": "1500", "retry-after": "7"}, 1.5),
        ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s",
          "x-ratelimit-remaining-tokens": "5400", "x-ratelimit-reset-tokens": "6m0s"}, 1.0),
        ({"x-ratelimit-remaining-requests": "12", "x-ratelimit-reset-requests": "1s",
          "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s"}, 360.0),
        ({"x-ratelimit-reset-requests": "120ms", "x-ratelimit-reset-tokens": "2.5s"}, 2.5),
        ({}, 20.0),  # "Please try again in 20s" in the message
    ],
)
async def test_429_is_rate_limit_with_retry_after(headers: dict[str, str],
                                                  expected: float) -> None:
    err = await error_for(fail(429, RATE_LIMIT, {**OPENAI_HEADERS, **headers}))
    assert err.code is ErrorCode.RATE_LIMIT_EXCEEDED and err.retryable
    assert err.retry_after == pytest.approx(expected)
    assert err.status_code == 429
    assert err.request_id == OPENAI_HEADERS["x-request-id"]


async def test_429_without_any_hint_has_no_retry_after() -> None:
    err = await error_for(fail(429, {"error": "Too Many Requests"}))
    assert err.code is ErrorCode.RATE_LIMIT_EXCEEDED and err.retry_after is None


async def test_insufficient_quota_is_not_retryable() -> None:
    err = await error_for(fail(429, openai_error(
        "You exceeded your current quota, please check your plan and billing details.",
        type_="insufficient_quota", code="insufficient_quota")))
    assert err.code is ErrorCode.RATE_LIMIT_EXCEEDED
    assert err.retryable is False
    assert "quota" in err.message


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (503, openai_error("The engine is currently overloaded, please try again later.",
                           type_="server_error"), ErrorCode.OVERLOADED),
        (503, {"error": {"code": 503, "message": "Loading model",
                         "type": "unavailable_error"}}, ErrorCode.OVERLOADED),
        (500, openai_error("The server had an error while processing your request. Sorry "
                           "about that!", type_="server_error"), ErrorCode.SERVER_ERROR),
        (502, "<html><body>502 Bad Gateway</body></html>", ErrorCode.SERVER_ERROR),
        (500, vllm_flat_error("CUDA out of memory", 500, "InternalServerError"),
         ErrorCode.SERVER_ERROR),
        (408, openai_error("Request timed out."), ErrorCode.TIMEOUT),
        (404, openai_error("The model `gpt-9` does not exist or you do not have access to it.",
                           code="model_not_found"), ErrorCode.NOT_FOUND),
        (404, vllm_flat_error("The model `llama-9` does not exist.", 404, "NotFoundError"),
         ErrorCode.NOT_FOUND),
        (400, openai_error("This model's maximum context length is 128000 tokens. However, "
                           "your messages resulted in 130512 tokens. Please reduce the length "
                           "of the messages.", param="messages",
                           code="context_length_exceeded"),
         ErrorCode.CONTEXT_LENGTH_EXCEEDED),
        (400, vllm_flat_error("This model's maximum context length is 4096 tokens. However, "
                              "you requested 5120 tokens (1024 in the messages, 4096 in the "
                              "completion). Please reduce the length of the messages or "
                              "completion."), ErrorCode.CONTEXT_LENGTH_EXCEEDED),
        (400, LLAMACPP_CONTEXT, ErrorCode.CONTEXT_LENGTH_EXCEEDED),
        (400, openai_error("Invalid 'messages[0].role': expected one of system, user.",
                           param="messages[0].role", code="invalid_value"),
         ErrorCode.BAD_REQUEST),
        (400, vllm_nested_error("temperature must be non-negative, got -1.0."),
         ErrorCode.BAD_REQUEST),
        (422, {"detail": [{"loc": ["body", "messages"], "msg": "field required",
                           "type": "value_error.missing"}]}, ErrorCode.BAD_REQUEST),
        # code_for_status: too large to send is, for the caller, a context that is full.
        (413, "Request Entity Too Large", ErrorCode.CONTEXT_LENGTH_EXCEEDED),
    ],
)
async def test_status_mapping(status: int, body: dict[str, Any] | str, code: ErrorCode) -> None:
    err = await error_for(fail(status, body), structured_output="json_schema")
    assert err.code is code
    assert err.status_code == status
    assert err.retryable is (code in (ErrorCode.OVERLOADED, ErrorCode.SERVER_ERROR,
                                      ErrorCode.TIMEOUT))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (openai_error("nested message", code="x"), "nested message"),  # OpenAI, recent vLLM
        (vllm_flat_error("flat message"), "flat message"),  # vLLM before the envelope
        ({"error": "plain text message"}, "plain text message"),
        ("not json at all", "not json at all"),
    ],
)
async def test_error_body_shapes(body: dict[str, Any] | str, expected: str) -> None:
    err = await error_for(fail(400, body), structured_output="json_schema")
    assert expected in err.message


async def test_llamacpp_rejection_is_a_server_error_when_the_mode_is_fixed() -> None:
    err = await error_for(fail(500, LLAMACPP_NO_JSON_SCHEMA), structured_output="json_schema")
    assert err.code is ErrorCode.SERVER_ERROR
    assert "Input should be 'text' or 'json_object'" in err.message


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_errors_name_the_variable_never_the_key(status: int) -> None:
    # OpenAI echoes part of a wrong key; a careless proxy might echo all of it.
    body = openai_error(f"Incorrect API key provided: {KEY}. You can find your API key at "
                        "https://platform.openai.com/account/api-keys.", code="invalid_api_key")
    err = await error_for(fail(status, body))
    assert err.code is ErrorCode.AUTHENTICATION_ERROR and not err.retryable
    assert "OPENAI_API_KEY" in err.message
    assert "SECRET" not in str(err) and "Incorrect API key provided" in err.message


async def test_missing_key_says_to_set_it() -> None:
    p = OpenAIProvider(OpenAISettings(), transport=ScriptedServer(fail(401, openai_error(
        "You didn't provide an API key."))).transport)
    with pytest.raises(LLMError, match="set OPENAI_API_KEY") as info:
        await p.complete(CompletionRequest.simple("s", "u"))
    assert info.value.code is ErrorCode.AUTHENTICATION_ERROR


async def test_timeouts_and_connection_errors() -> None:
    err = await error_for(httpx.ReadTimeout("timed out"))
    assert err.code is ErrorCode.TIMEOUT and err.retryable and "OPENAI_TIMEOUT" in err.message
    err = await error_for(httpx.ConnectError("[Errno 111] Connection refused"))
    assert err.code is ErrorCode.CONNECTION_ERROR and err.retryable
    assert "OPENAI_BASE_URL" in err.message
    err = await error_for(httpx.RemoteProtocolError("Server disconnected"))
    assert err.code is ErrorCode.CONNECTION_ERROR


async def test_credentials_in_the_base_url_are_redacted() -> None:
    err = await error_for(httpx.ConnectError("refused"),
                          base_url="https://user:hunter2@proxy.example/v1")
    assert "hunter2" not in str(err) and "proxy.example" in str(err)
    p = provider(ScriptedServer(ok({})), base_url="https://user:hunter2@proxy.example/v1")
    assert "hunter2" not in repr(p) and "hunter2" not in str(p.describe())


def test_the_key_is_not_in_repr_describe_or_settings() -> None:
    p = provider(ScriptedServer(ok({})))
    assert KEY not in repr(p) and KEY not in repr(p.settings) and KEY not in str(p.settings)
    assert KEY not in str(p.describe())
    assert p.describe()["api_key_set"] is True
    assert p.describe()["base_url"] == "https://api.openai.com/v1"


async def test_the_key_never_reaches_logs(caplog: pytest.LogCaptureFixture,
                                          host: PluginHost) -> None:
    caplog.set_level(logging.DEBUG)
    server = ScriptedServer(
        fail(400, openai_error("'response_format' of type 'json_schema' is not supported",
                               param="response_format")),
        ok(openai_completion('{"score": 7}')),
        fail(401, openai_error(f"Incorrect API key provided: {KEY}.", code="invalid_api_key")),
    )
    p = provider(server, base_url="http://127.0.0.1:9/v1")
    await p.complete(CompletionRequest.simple("s", "u", SCHEMA))  # a logged downgrade
    async with LLMGateway(provider=p, plugins=host, cache=False) as gateway:
        with pytest.raises((LLMError, LLMUnavailableError)) as info:
            await gateway.analyze(AnalysisType.CODE_COMPLEXITY, "x = 1")
    assert "structured output mode rejected" in caplog.text
    assert KEY not in caplog.text
    for record in caplog.records:
        assert KEY not in str(record.__dict__)
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("120ms", 0.12), ("1h2m3.5s", 3723.5), ("17.28s", 17.28),
     ("3", 3.0), ("0.5", 0.5), ("soon", None), ("5x", None), ("", None)],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    result = parse_duration(text)
    assert result == (None if seconds is None else pytest.approx(seconds))


def test_retry_after_http_date_is_in_the_future() -> None:
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None) == 0.0
    assert parse_retry_after({}, "no hint here") is None
