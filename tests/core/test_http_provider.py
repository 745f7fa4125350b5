"""The HTTP provider base: a provider that is its wire mapping and nothing else passes the whole
provider contract, including an API that carries the model in the URL (Gemini's
``/v1beta/models/{model}:generateContent``); and the one status table every provider shares."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from aexy.plugin_api import (
    ClosedError,
    Completion,
    CompletionRequest,
    ErrorCode,
    FinishReason,
    HTTPProvider,
    ProviderSettings,
    Usage,
    http_error,
)
from aexy.testing import ProviderContract, ScriptedServer, find_secret

_FINISH = {"STOP": FinishReason.STOP, "MAX_TOKENS": FinishReason.LENGTH,
           "SAFETY": FinishReason.CONTENT_FILTER}


class GeminiSettings(ProviderSettings):
    model_config = SettingsConfigDict(env_prefix="GEMINI_TEST_")

    base_url: str = "https://generativelanguage.googleapis.com"
    api_key: SecretStr | None = None
    model: str = "gemini-2.5-flash"


class GeminiLike(HTTPProvider):
    """Written from docs/writing-plugins.md: the model is in the URL, the key in a header."""

    name: ClassVar[str] = "gemini-test"
    settings_class: ClassVar[type[ProviderSettings]] = GeminiSettings
    enforces_schema: ClassVar[bool] = True
    health_path: ClassVar[str | None] = "/v1beta/models"
    label: ClassVar[str] = "Gemini"
    error_hints: ClassVar[Mapping[ErrorCode, str]] = {
        ErrorCode.NOT_FOUND: "check GEMINI_TEST_MODEL ({model!r})"}

    def endpoint(self, model: str) -> str:
        return f"/v1beta/models/{model}:generateContent"

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        key = self.api_key()
        if key is not None:
            headers["x-goog-api-key"] = key
        return headers

    def build_body(self, request: CompletionRequest, model: str) -> bytes:
        config: dict[str, Any] = {"maxOutputTokens": request.max_tokens,
                                  "temperature": request.temperature}
        if request.json_schema is not None:
            config.update(responseMimeType="application/json",
                          responseSchema=dict(request.json_schema))
        return json.dumps({
            "systemInstruction": {"parts": [{"text": request.system}]},
            "contents": [{"role": "user" if m.role == "user" else "model",
                          "parts": [{"text": m.content}]} for m in request.messages],
            "generationConfig": config,
        }).encode()

    def parse_answer(self, response: httpx.Response, model: str,
                     request: CompletionRequest) -> Completion:
        data = response.json()
        candidate = data["candidates"][0]
        text = "".join(p.get("text", "") for p in candidate["content"]["parts"])
        usage = data.get("usageMetadata") or {}
        return Completion(text=text, model=data.get("modelVersion") or model,
                          usage=Usage(usage.get("promptTokenCount", 0),
                                      usage.get("candidatesTokenCount", 0)),
                          finish_reason=_FINISH.get(candidate.get("finishReason"),
                                                    FinishReason.OTHER),
                          raw_finish_reason=candidate.get("finishReason"))


_REASONS = {"stop": "STOP", "length": "MAX_TOKENS", "refusal": "SAFETY"}


class TestGeminiLikeContract(ProviderContract):
    provider_class = GeminiLike

    def make_settings(self) -> ProviderSettings:
        return GeminiSettings(base_url="https://gemini.contract.test", api_key=self.secret)

    def answer(self, text: str, *, finish: str, input_tokens: int, output_tokens: int,
               model: str) -> Any:
        return httpx.Response(200, json={
            "candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                            "finishReason": _REASONS[finish]}],
            "usageMetadata": {"promptTokenCount": input_tokens,
                              "candidatesTokenCount": output_tokens},
            "modelVersion": model})

    def error(self, status: int, *, message: str, headers: Mapping[str, str]) -> Any:
        return httpx.Response(status, json={"error": {"code": status, "message": message,
                                                      "status": "ERROR"}},
                              headers=dict(headers))

    def sent_schema(self, request: Any) -> Mapping[str, Any] | None:
        config = json.loads(request.content)["generationConfig"]
        schema: Mapping[str, Any] | None = config.get("responseSchema")
        return schema

    def sent_model(self, request: Any) -> str:
        return str(request.url)  # the model is in the path, not the body

    def available(self, request: Any) -> Any:
        return httpx.Response(200, json={"models": []})

    def test_an_installed_plugin_registers_it_soundly(self) -> None:
        # Not an installed distribution: registered here the way its entry point would.
        from aexy.plugin_api import ProviderSpec, hookimpl
        from aexy.plugins import PluginHost

        class Plugin:
            @hookimpl
            def register_providers(self) -> list[ProviderSpec]:
                return [ProviderSpec("gemini-test", GeminiLike, "Gemini-style, model in URL")]

        host = PluginHost(entry_points=False)
        host.register(Plugin(), name="gemini-test", distribution="aexy-gemini-test", version="1")
        assert host.providers().get("gemini-test") is not None
        assert host.hook_errors == []


# -- the status table ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "code", "words"),
    [
        (401, ErrorCode.AUTHENTICATION_ERROR, "refused the credentials (HTTP 401)"),
        (404, ErrorCode.NOT_FOUND, "not found at Gemini at https://g.test (HTTP 404)"),
        (413, ErrorCode.CONTEXT_LENGTH_EXCEEDED, "the request is too large for"),
        (429, ErrorCode.RATE_LIMIT_EXCEEDED, "rate limited by Gemini at https://g.test"),
        (503, ErrorCode.OVERLOADED, "is overloaded (HTTP 503)"),
        (500, ErrorCode.SERVER_ERROR, "failed (HTTP 500)"),
        (418, ErrorCode.BAD_REQUEST, "rejected the request (HTTP 418)"),
    ],
)
def test_one_table_gives_every_status_its_code_and_message(status: int, code: ErrorCode,
                                                            words: str) -> None:
    error = http_error(provider="p", model="m", status=status, where="Gemini at https://g.test",
                       detail="it said no", hints={ErrorCode.NOT_FOUND: "check MODEL ({model!r})"},
                       headers={"retry-after": "3"})
    assert error.code is code and words in error.message and "it said no" in error.message
    assert error.status_code == status
    if code is ErrorCode.NOT_FOUND:
        assert error.message.endswith("; check MODEL ('m')")
    # Only a server asking to wait (rate limit, overloaded) sets the wait.
    assert error.retry_after == (3.0 if code in (ErrorCode.RATE_LIMIT_EXCEEDED,
                                                 ErrorCode.OVERLOADED) else None)


def test_a_secret_echoed_by_the_server_never_reaches_the_error() -> None:
    key = "AIza-secret-0123456789"
    error = http_error(provider="p", model="m", status=400, where="w",
                       detail=f"bad key {key}", secrets=(SecretStr(key), None))
    assert find_secret(error, key) is None


async def test_the_base_gives_a_closed_guard_and_masks_url_credentials() -> None:
    server = ScriptedServer(default=httpx.Response(200, json={"models": []}))
    provider = GeminiLike(GeminiSettings(base_url="https://u:p4ss@g.test"),
                          transport=server.transport)
    assert await provider.is_available()
    assert "p4ss" not in repr(provider) and "p4ss" not in str(provider.describe())
    assert server.requests[0].headers["authorization"].startswith("Basic ")
    await provider.aclose()
    with pytest.raises(ClosedError, match="gemini-test provider is closed"):
        await provider.complete(CompletionRequest.simple("s", "u"))
    assert server.requests[1:] == []  # a closed provider never opens a new client
