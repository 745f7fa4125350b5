"""Issue 12 for aexy-openai: timeouts, shutdown, credentials and honest health checks."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from openai_wire import ScriptedServer, fail, ok, openai_completion, openai_error

from aexy import AnalysisType, ClosedError, LLMGateway
from aexy.completion import CompletionRequest
from aexy.errors import ErrorCode, LLMError
from aexy.settings import AexySettings
from aexy_openai import OpenAIProvider, OpenAISettings

KEY = "sk-proj-SECRETvalue0123456789abcdefXYZ"
ANSWER = ('{"complexity": 2, "cognitive_load": "low", "hotspots": [], '
          '"summary": "A one-line function."}')


def provider(server: ScriptedServer, **settings: Any) -> OpenAIProvider:
    settings.setdefault("api_key", KEY)
    return OpenAIProvider(OpenAISettings(**settings), transport=server.transport)


def read_timeout(request: httpx.Request) -> float:
    value: float = request.extensions["timeout"]["read"]
    return value


# -- timeouts ----------------------------------------------------------------------------------
async def test_openai_timeout_caps_a_longer_caller_deadline() -> None:
    server = ScriptedServer(default=ok(openai_completion("{}")))
    p = provider(server, timeout=5.0)
    await p.complete(CompletionRequest.simple("s", "u", timeout=100.0))
    await p.complete(CompletionRequest.simple("s", "u", timeout=2.0))
    await p.complete(CompletionRequest.simple("s", "u"))
    await p.aclose()
    # Approximate: the budget is what is left of it when the request is sent.
    assert [read_timeout(r) for r in server.requests] == [
        pytest.approx(5.0, abs=0.5), pytest.approx(2.0, abs=0.5), pytest.approx(5.0, abs=0.5)]


async def test_openai_timeout_applies_under_the_gateway() -> None:
    # The gateway passes what is left of its 120 s deadline; OPENAI_TIMEOUT=7 must still cap
    # the attempt, so a hung call leaves time for the fallback.
    server = ScriptedServer(ok(openai_completion(ANSWER)))
    p = provider(server, timeout=7.0)
    async with LLMGateway(provider=p, fallbacks=(), cache=False,
                          settings=AexySettings(deadline_seconds=120)) as gateway:
        await gateway.analyze(AnalysisType.CODE_COMPLEXITY, "x = 1\n")
    assert read_timeout(server.requests[0]) == pytest.approx(7.0, abs=0.5)


# -- shutdown ----------------------------------------------------------------------------------
async def test_a_closed_provider_never_reopens_its_client() -> None:
    server = ScriptedServer(ok(openai_completion("{}")))
    p = provider(server)
    await p.complete(CompletionRequest.simple("s", "u"))
    await p.aclose()
    with pytest.raises(ClosedError, match="openai provider is closed"):
        await p.complete(CompletionRequest.simple("s", "u"))
    assert p._client is None and len(server.requests) == 1
    availability = await p.check()
    assert availability.ok is False and "closed" in availability.reason
    assert await p.is_available() is False
    assert len(server.requests) == 1


# -- credentials -------------------------------------------------------------------------------
FAILURES: dict[str, Callable[[], httpx.Response | Exception]] = {
    "connect": lambda: httpx.ConnectError("refused"),
    "read-timeout": lambda: httpx.ReadTimeout("timed out"),
    "protocol": lambda: httpx.RemoteProtocolError("server disconnected"),
    "401": lambda: fail(401, openai_error("Incorrect API key provided")),
    "200-without-completion": lambda: httpx.Response(200, text="<html>proxy page</html>"),
    "200-with-error": lambda: ok({"error": {"message": "upstream failed", "code": 502}}),
}


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
async def test_errors_carry_nothing_that_holds_the_key(
        failure: Callable[[], httpx.Response | Exception],
        secret_paths: Callable[[object, str], list[str]]) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        reply = failure()
        if isinstance(reply, Exception):
            raise type(reply)(str(reply), request=request)  # as httpx raises: with the request
        return reply

    p = provider(ScriptedServer(answer), structured_output="json_schema")
    with pytest.raises(LLMError) as info:
        await p.complete(CompletionRequest.simple("s", "u"))
    await p.aclose()
    err = info.value
    assert err.__context__ is None and err.__cause__ is None
    assert secret_paths(err, KEY) == []


async def test_url_credentials_become_basic_auth_and_never_show(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # httpx logs every request URL at INFO
    server = ScriptedServer(ok(openai_completion("{}")))
    url = "https://proxy-user:s3cr%40t-pass@proxy.internal:8443/v1"
    p = OpenAIProvider(OpenAISettings(base_url=url), transport=server.transport)
    await p.complete(CompletionRequest.simple("s", "u"))
    await p.aclose()
    (sent,) = server.requests
    assert str(sent.url) == "https://proxy.internal:8443/v1/chat/completions"
    expected = base64.b64encode(b"proxy-user:s3cr@t-pass").decode()
    assert sent.headers["authorization"] == f"Basic {expected}"
    shown = [repr(p), str(p.describe()), repr(p.settings), str(p.settings), caplog.text,
             p.base_url]
    assert all("s3cr" not in text and "proxy-user" not in text for text in shown)
    assert p.describe()["base_url"] == "https://***@proxy.internal:8443/v1"


# -- health check ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reply", "key", "ok_", "words"),
    [
        (lambda: ok({"object": "list", "data": [{"id": "gpt-4.1-mini", "object": "model"}]}),
         KEY, True, "answered GET /models"),
        (lambda: httpx.ConnectError("refused"), KEY, False, "endpoint unreachable"),
        (lambda: httpx.ConnectTimeout("slow"), KEY, False, "within"),
        (lambda: fail(401, openai_error("You didn't provide an API key.")), None, False,
         "key missing"),
        (lambda: fail(401, openai_error("Incorrect API key provided")), KEY, False,
         "key rejected"),
        (lambda: fail(404, "Not Found"), KEY, False, "OPENAI_BASE_URL"),
        (lambda: fail(502, "Bad Gateway"), KEY, False, "HTTP 502"),
    ],
    ids=["up", "down", "slow", "no-key", "bad-key", "not-openai", "bad-gateway"],
)
async def test_check_says_why(reply: Callable[[], httpx.Response | Exception], key: str | None,
                              ok_: bool, words: str) -> None:
    server = ScriptedServer(lambda request: _raise_or_return(reply()))
    p = OpenAIProvider(OpenAISettings(api_key=key), transport=server.transport)
    result = await p.check()
    await p.aclose()
    assert (result.ok, words in result.reason) == (ok_, True), result.reason
    assert server.requests[0].url.path == "/v1/models"
    assert KEY not in result.reason


def _raise_or_return(reply: httpx.Response | Exception) -> httpx.Response:
    if isinstance(reply, Exception):
        raise reply
    return reply


@pytest.mark.parametrize(
    ("status", "code"),
    [(408, ErrorCode.TIMEOUT), (504, ErrorCode.TIMEOUT), (529, ErrorCode.OVERLOADED),
     (503, ErrorCode.OVERLOADED)],
)
async def test_statuses_follow_the_core_mapping(status: int, code: ErrorCode) -> None:
    p = provider(ScriptedServer(fail(status, "upstream said no")), structured_output="json_schema")
    with pytest.raises(LLMError) as info:
        await p.complete(CompletionRequest.simple("s", "u"))
    await p.aclose()
    assert info.value.code is code and info.value.retryable
