"""Issue 12 for aexy-claude: shutdown, credentials, the health check and the status mapping,
against ``httpx2.MockTransport`` answering in the Messages and Models APIs' wire format."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from claude_wire import KEY, REQUEST_ID, error, ok, server

from aexy import ClosedError, CompletionRequest, ErrorCode, LLMError
from aexy_claude import ClaudeProvider, ClaudeSettings

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
ANSWER = json.dumps({"complexity": 2, "cognitive_load": "low", "hotspots": [],
                     "summary": "A one-line function."})
PROXY = "https://proxy-user:s3cret-pass@llm-proxy.internal:8443"
BASIC = base64.b64encode(b"proxy-user:s3cret-pass").decode()


def provider(rec: server, **kw: Any) -> ClaudeProvider:
    kw.setdefault("api_key", KEY)
    return ClaudeProvider(ClaudeSettings(**kw), transport=rec.transport)


def request() -> CompletionRequest:
    return CompletionRequest.simple("You are careful.", "Review this.", SCHEMA)


def models_page() -> httpx2.Response:
    """``GET /v1/models`` as the Models API answers it."""
    body = {"data": [{"type": "model", "id": "claude-sonnet-5-5",
                      "display_name": "Claude Sonnet 5.5", "created_at": "2026-09-28T00:00:00Z"}],
            "has_more": True, "first_id": "claude-sonnet-5-5", "last_id": "claude-sonnet-5-5"}
    return httpx2.Response(200, json=body, headers={"request-id": REQUEST_ID})


# -- shutdown ----------------------------------------------------------------------------------
async def test_a_closed_provider_never_reopens_its_client() -> None:
    rec = server(ok('{"a": 1}'))
    p = provider(rec)
    await p.complete(request())
    await p.aclose()
    with pytest.raises(ClosedError, match="claude provider is closed"):
        await p.complete(request())
    assert p._client is None and len(rec.requests) == 1
    availability = await p.check()
    assert not availability.ok and "closed" in availability.reason


def test_a_transport_or_an_http_client_not_both() -> None:
    rec = server()
    with pytest.raises(TypeError, match="not both"):
        ClaudeProvider(ClaudeSettings(api_key=KEY), transport=rec.transport,
                       http_client=rec.client())


# -- credentials -------------------------------------------------------------------------------
FAILURES: dict[str, Callable[[], httpx2.Response | Exception]] = {
    "connect": lambda: httpx2.ConnectError("connection refused"),
    "read-timeout": lambda: httpx2.ReadTimeout("timed out"),
    "401": lambda: error(401, "authentication_error", "invalid x-api-key"),
    "429": lambda: error(429, "rate_limit_error", "slow down", headers={"retry-after": "1"}),
    "500": lambda: error(500, "api_error", "Internal server error"),
}


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
async def test_errors_carry_nothing_that_holds_the_key(
        failure: Callable[[], httpx2.Response | Exception],
        secret_paths: Callable[[object, str], list[str]]) -> None:
    p = provider(server(failure()))
    with pytest.raises(LLMError) as info:
        await p.complete(request())
    await p.aclose()
    err = info.value
    assert err.__context__ is None and err.__cause__ is None
    assert secret_paths(err, KEY) == []


async def test_url_credentials_become_basic_auth_and_never_show(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the SDK logs request options and URLs at DEBUG
    rec = server(ok('{"a": 1}'))
    p = provider(rec, base_url=PROXY)
    await p.complete(request())
    await p.aclose()
    (sent,) = rec.requests
    assert str(sent.url) == "https://llm-proxy.internal:8443/v1/messages"
    assert sent.headers["authorization"] == f"Basic {BASIC}"
    shown = [repr(p), str(p.describe()), repr(p.settings), str(p.settings), caplog.text]
    assert caplog.records
    assert all("s3cret" not in text and BASIC not in text for text in shown)
    assert p.describe()["base_url"] == "https://***@llm-proxy.internal:8443"


async def test_url_credentials_also_reach_an_http_client_passed_in() -> None:
    rec = server(ok('{"a": 1}'))
    p = ClaudeProvider(ClaudeSettings(api_key=KEY, base_url=PROXY), http_client=rec.client())
    await p.complete(request())
    await p.aclose()
    assert rec.requests[0].headers["authorization"] == f"Basic {BASIC}"
    assert "s3cret" not in str(rec.requests[0].url)


# -- the health check --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "ok_", "words"),
    [
        (models_page, True, "accepted the key"),
        (lambda: error(401, "authentication_error", "invalid x-api-key"), False,
         "key rejected"),
        (lambda: error(403, "permission_error", "no access"), False, "HTTP 403"),
        (lambda: httpx2.ConnectError("connection refused"), False, "endpoint unreachable"),
        (lambda: httpx2.ConnectTimeout("timed out"), False, "no answer"),
        (lambda: httpx2.Response(404, text="Not Found"), False, "ANTHROPIC_BASE_URL"),
        (lambda: error(529, "overloaded_error", "Overloaded"), False, "HTTP 529"),
    ],
    ids=["up", "bad-key", "forbidden", "down", "slow", "not-anthropic", "overloaded"],
)
async def test_check_probes_the_models_endpoint_and_says_why(
        reply: Callable[[], httpx2.Response | Exception], ok_: bool, words: str) -> None:
    rec = server(reply())
    p = provider(rec, base_url="http://127.0.0.1:9/unreachable")
    result = await p.check()
    await p.aclose()
    assert (result.ok, words in result.reason) == (ok_, True), result.reason
    (sent,) = rec.requests
    assert sent.method == "GET" and sent.url.path == "/unreachable/v1/models"
    assert sent.url.params["limit"] == "1"
    assert sent.extensions["timeout"]["read"] <= 5.0  # a short probe, not CLAUDE_TIMEOUT
    assert KEY not in result.reason


async def test_a_missing_key_is_reported_without_any_request() -> None:
    rec = server()
    p = ClaudeProvider(ClaudeSettings(), transport=rec.transport)
    result = await p.check()
    assert not result.ok and "key missing" in result.reason and "ANTHROPIC_API_KEY" in result.reason
    assert await p.is_available() is False
    assert rec.requests == []


# -- the status mapping ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "etype", "code"),
    [(408, "api_error", ErrorCode.TIMEOUT), (504, "api_error", ErrorCode.TIMEOUT),
     (503, "api_error", ErrorCode.OVERLOADED), (529, "overloaded_error", ErrorCode.OVERLOADED),
     (500, "overloaded_error", ErrorCode.OVERLOADED)],
)
async def test_statuses_follow_the_core_mapping(status: int, etype: str, code: ErrorCode
                                                ) -> None:
    p = provider(server(error(status, etype, "upstream said no")))
    with pytest.raises(LLMError) as info:
        await p.complete(request())
    await p.aclose()
    assert info.value.code is code and info.value.retryable
