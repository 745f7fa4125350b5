"""Issue 12 for aexy-ollama: status mapping, shutdown, credentials and honest health checks."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from ollama_wire import ScriptedServer, chat_body, tags_body

from aexy import ClosedError, CompletionRequest, ErrorCode, LLMError
from aexy_ollama import OllamaProvider, OllamaSettings

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
ANSWER = ('{"complexity": 2, "cognitive_load": "low", "hotspots": [], '
          '"summary": "A one-line function."}')
PROXY = "http://proxy-user:s3cret-pass@gpu-box:11434"
BASIC = base64.b64encode(b"proxy-user:s3cret-pass").decode()


def provider_for(rec: ScriptedServer, **settings: Any) -> OllamaProvider:
    return OllamaProvider(OllamaSettings(**settings), transport=rec.transport)


def request(**kw: Any) -> CompletionRequest:
    return CompletionRequest.simple("You extract facts.", "Ollama is 22.", SCHEMA, **kw)


@pytest.mark.parametrize(
    ("status", "code"),
    [(408, ErrorCode.TIMEOUT), (504, ErrorCode.TIMEOUT), (529, ErrorCode.OVERLOADED),
     (503, ErrorCode.OVERLOADED), (413, ErrorCode.CONTEXT_LENGTH_EXCEEDED)],
)
async def test_statuses_follow_the_core_mapping(status: int, code: ErrorCode) -> None:
    rec = ScriptedServer(default=httpx.Response(status, json={"error": "upstream said no"}))
    p = provider_for(rec)
    with pytest.raises(LLMError) as info:
        await p.complete(request())
    await p.aclose()
    assert info.value.code is code


# -- timeouts ----------------------------------------------------------------------------------
async def test_the_read_timeout_caps_a_longer_deadline_and_an_exhausted_one_is_immediate(
        ) -> None:
    seen: list[float] = []

    def answer(r: httpx.Request) -> httpx.Response:
        seen.append(r.extensions["timeout"]["read"])
        return httpx.Response(200, json=chat_body('{"a": 1}'))

    p = provider_for(ScriptedServer(default=answer), read_timeout=40)
    for deadline in (500.0, 3.0, 0.0):
        await p.complete(request(timeout=deadline))
    await p.aclose()
    assert seen == [40.0, 3.0, 0.001]


# -- shutdown ----------------------------------------------------------------------------------
async def test_a_closed_provider_never_reopens_its_client() -> None:
    rec = ScriptedServer(default=httpx.Response(200, json=chat_body('{"a": 1}')))
    p = provider_for(rec)
    await p.complete(request())
    await p.aclose()
    with pytest.raises(ClosedError, match="ollama provider is closed"):
        await p.complete(request())
    with pytest.raises(ClosedError):
        await p.list_models()
    assert p._client is None and len(rec.requests) == 1
    availability = await p.check()
    assert not availability.ok and "closed" in availability.reason


# -- credentials -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "exc_type", [httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError])
async def test_errors_carry_nothing_that_holds_the_credentials(
        exc_type: type[httpx.TransportError],
        secret_paths: Callable[[object, str], list[str]]) -> None:
    def fail(r: httpx.Request) -> httpx.Response:
        raise exc_type("no", request=r)

    p = provider_for(ScriptedServer(default=fail), base_url=PROXY)
    with pytest.raises(LLMError) as info:
        await p.complete(request())
    await p.aclose()
    err = info.value
    assert err.__context__ is None and err.__cause__ is None
    assert secret_paths(err, "s3cret-pass") == [] and secret_paths(err, BASIC) == []


async def test_url_credentials_become_basic_auth_and_never_show(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # httpx logs each request's URL
    rec = ScriptedServer(default=httpx.Response(200, json=chat_body('{"a": 1}')))
    p = provider_for(rec, base_url=PROXY)
    await p.complete(request())
    await p.aclose()
    (sent,) = rec.requests
    assert str(sent.url) == "http://gpu-box:11434/api/chat"
    assert sent.headers["authorization"] == f"Basic {BASIC}"
    assert p.base_url == "http://gpu-box:11434"
    shown = [repr(p), str(p.describe()), repr(p.settings), str(p.settings), caplog.text]
    assert all("s3cret" not in text for text in shown)


# -- health check ------------------------------------------------------------------------------
def _connect_refused(r: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=r)


def _slow(r: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=r)


@pytest.mark.parametrize(
    ("answer", "ok", "words"),
    [
        (lambda r: httpx.Response(200, json=tags_body("llama3.2:latest")), True, "pulled"),
        (lambda r: httpx.Response(200, json=tags_body("qwen2.5-coder:7b")), False,
         "`ollama pull llama3.2`"),
        (_connect_refused, False, "server down"),
        (_slow, False, "no answer"),
        (lambda r: httpx.Response(500, text="boom"), False, "HTTP 500"),
        (lambda r: httpx.Response(200, text="<html>not ollama</html>"), False,
         "did not answer GET /api/tags like Ollama"),
    ],
    ids=["up", "not-pulled", "down", "slow", "server-error", "not-ollama"],
)
async def test_check_says_why(answer: Callable[[httpx.Request], httpx.Response], ok: bool,
                              words: str) -> None:
    rec = ScriptedServer(default=answer)
    p = provider_for(rec)
    result = await p.check()
    await p.aclose()
    assert result.ok is ok and words in result.reason, result.reason
    again = provider_for(ScriptedServer(default=answer))
    assert await again.is_available() is ok  # the gateway's yes/no is the same answer
    await again.aclose()
