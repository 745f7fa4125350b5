"""``AcmeProvider``: one ``POST /v1/generate`` per completion, on the core's HTTP provider base.

The Acme Models API (see this package's README) stands for any HTTP model API. What a provider
writes, and nothing more: the request body the API's way (``build_body``), the answer read back
(``parse_answer``), and what an error body says beyond its status (``map_error``). The base owns
the pooled client, the key, timeouts, the status table and the health check; prompts, retries,
limits, caching and validation are the core's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from aexy.plugin_api import (
    Completion,
    CompletionRequest,
    ErrorCode,
    FinishReason,
    HTTPProvider,
    LLMError,
    ProviderSettings,
    RateLimits,
    Usage,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["AcmeProvider", "AcmeSettings"]

_STOP: Mapping[str, FinishReason] = {
    "end": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "refused": FinishReason.CONTENT_FILTER,
}
# The API's error codes that say more than the HTTP status does (code_for_status maps the rest).
_CODES: Mapping[str, ErrorCode] = {
    "context_too_long": ErrorCode.CONTEXT_LENGTH_EXCEEDED,
    "overloaded": ErrorCode.OVERLOADED,
}


class AcmeSettings(ProviderSettings):
    """``ACME_*`` variables (or ``.env``): ``ACME_BASE_URL``, ``ACME_API_KEY``,
    ``ACME_MODEL``, ``ACME_TIMEOUT``, ``ACME_REQUESTS_PER_MINUTE``, ``ACME_TOKENS_PER_MINUTE``."""

    # The one way a provider names its variables: a prefix of its own (checked at load).
    model_config = SettingsConfigDict(env_prefix="ACME_")

    base_url: str = "http://127.0.0.1:8089"
    api_key: SecretStr | None = None
    model: str = Field("acme-small", min_length=1)


class AcmeProvider(HTTPProvider):
    """The Acme Models API.

    :param settings: :class:`AcmeSettings`; read from the environment when omitted.
    :param model: overrides ``ACME_MODEL``.
    :param transport: an httpx transport instead of the network (tests pass
        ``httpx.MockTransport``; the conformance suite does).
    """

    name: ClassVar[str] = "acme"
    settings_class: ClassVar[type[ProviderSettings]] = AcmeSettings
    default_limits: ClassVar[RateLimits] = RateLimits(requests_per_minute=60)
    enforces_schema: ClassVar[bool] = True  # sent as response_schema; the API constrains to it
    completion_path: ClassVar[str] = "/v1/generate"
    health_path: ClassVar[str | None] = "/v1/health"  # free, never billed
    label: ClassVar[str] = "Acme"
    error_hints: ClassVar[Mapping[ErrorCode, str]] = {
        ErrorCode.AUTHENTICATION_ERROR: "check ACME_API_KEY",
        ErrorCode.NOT_FOUND: "check ACME_MODEL ({model!r})",
    }
    connect_hint: ClassVar[str] = "check ACME_BASE_URL and that the server runs"
    timeout_hint: ClassVar[str] = "raise ACME_TIMEOUT"

    settings: AcmeSettings

    def build_body(self, request: CompletionRequest, model: str) -> bytes:
        body: dict[str, Any] = {
            "model": model,
            "system": request.system,  # the API's own field, never a message role
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_output_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.json_schema is not None:
            body["response_schema"] = dict(request.json_schema)
        return json.dumps(body).encode()

    def parse_answer(self, response: httpx.Response, model: str,
                     request: CompletionRequest) -> Completion:
        try:
            data = response.json()
            text = data["output"]
            usage = data.get("usage") or {}
            stop = str(data.get("stop_reason") or "end")
        except (ValueError, KeyError, TypeError):
            raise LLMError(f"{self.where} answered 200 without an output",
                           code=ErrorCode.SERVER_ERROR, provider=self.name, model=model,
                           status_code=200) from None
        return Completion(
            text=str(text), model=str(data.get("model") or model),
            usage=Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)),
            finish_reason=_STOP.get(stop, FinishReason.OTHER), raw_finish_reason=stop,
            request_id=response.headers.get("x-request-id"),
        )

    def map_error(self, response: httpx.Response, model: str) -> LLMError:
        # What the API's own error code says beyond the status; the base's table does the rest.
        try:
            error = response.json().get("error") or {}
            api_code, detail = str(error.get("code") or ""), str(error.get("message") or "")
        except (ValueError, AttributeError):
            api_code, detail = "", response.text[:300]
        return self.error(response, model, detail, code=_CODES.get(api_code))
