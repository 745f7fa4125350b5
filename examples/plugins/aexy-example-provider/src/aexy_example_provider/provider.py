"""``AcmeProvider``: one ``POST /v1/generate`` per completion over a pooled httpx client.

The Acme Models API (see this package's README) stands for any HTTP model API. What a provider
does, and nothing more: send the request the API's way, read usage and the stop reason back,
and turn every failure into an ``LLMError`` with the core's code. Prompts, retries, limits,
caching and validation are the core's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from aexy.plugin_api import (
    BaseLLMProvider,
    ClosedError,
    Completion,
    CompletionRequest,
    ErrorCode,
    FinishReason,
    LLMError,
    ProviderSettings,
    RateLimits,
    Usage,
    code_for_status,
    parse_retry_after,
    public_url,
    scrub,
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


class AcmeProvider(BaseLLMProvider):
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

    settings: AcmeSettings

    def __init__(self, settings: AcmeSettings | None = None, *, model: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(settings, model=model)  # rejects settings of another class
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    @property
    def base_url(self) -> str:
        return self.settings.base_url.rstrip("/")

    def _http(self) -> httpx.AsyncClient:
        if self._closed:  # never reopen: nothing would close the new client
            raise ClosedError(f"the {self.name} provider")
        if self._client is None:
            import httpx  # here, not at import: loading the plugin stays cheap

            headers = {"Accept": "application/json"}
            if self.settings.api_key is not None:
                headers["Authorization"] = f"Bearer {self.settings.api_key.get_secret_value()}"
            self._client = httpx.AsyncClient(base_url=self.base_url, headers=headers,
                                             transport=self._transport,
                                             timeout=self.settings.timeout)
        return self._client

    async def complete(self, request: CompletionRequest) -> Completion:
        import httpx

        model = request.model or self.model
        body: dict[str, Any] = {
            "model": model,
            "system": request.system,  # the API's own field, never a message role
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_output_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.json_schema is not None:
            body["response_schema"] = dict(request.json_schema)
        timeout = request.timeout if request.timeout is not None else self.settings.timeout
        failure: tuple[ErrorCode, str] | None = None
        try:
            response = await self._http().post("/v1/generate", json=body, timeout=timeout)
        except httpx.TimeoutException:
            failure = (ErrorCode.TIMEOUT, f"no answer within {timeout:g}s; raise ACME_TIMEOUT")
        except httpx.TransportError as exc:
            failure = (ErrorCode.CONNECTION_ERROR, f"cannot connect ({type(exc).__name__}); "
                       "check ACME_BASE_URL and that the server runs")
        # Raised outside the except blocks: the httpx exception holds the request and its
        # Authorization header, and must not ride along as __context__.
        if failure is not None:
            raise LLMError(f"Acme at {public_url(self.base_url)}: {failure[1]}",
                           code=failure[0], provider=self.name, model=model)
        if response.status_code != 200:
            raise self._error(response, model)
        return self._parse(response, model)

    def _parse(self, response: httpx.Response, model: str) -> Completion:
        try:
            data = response.json()
            text = data["output"]
            usage = data.get("usage") or {}
            stop = str(data.get("stop_reason") or "end")
        except (ValueError, KeyError, TypeError):
            raise LLMError(f"Acme at {public_url(self.base_url)} answered 200 without an "
                           "output", code=ErrorCode.SERVER_ERROR, provider=self.name,
                           model=model, status_code=200) from None
        return Completion(
            text=str(text), model=str(data.get("model") or model),
            usage=Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)),
            finish_reason=_STOP.get(stop, FinishReason.OTHER), raw_finish_reason=stop,
            request_id=response.headers.get("x-request-id"),
        )

    def _error(self, response: httpx.Response, model: str) -> LLMError:
        status = response.status_code
        try:
            error = response.json().get("error") or {}
            api_code, detail = str(error.get("code") or ""), str(error.get("message") or "")
        except (ValueError, AttributeError):
            api_code, detail = "", response.text[:300]
        code = _CODES.get(api_code) or code_for_status(status)
        hint = {ErrorCode.AUTHENTICATION_ERROR: "; check ACME_API_KEY",
                ErrorCode.NOT_FOUND: f"; check ACME_MODEL ({model!r})"}.get(code, "")
        # The server may echo what it was sent, key included: scrub before it enters a message.
        message = scrub(f"Acme answered HTTP {status}: {detail}{hint}", self.settings.api_key)
        return LLMError(message, code=code, provider=self.name, model=model, status_code=status,
                        retry_after=parse_retry_after(response.headers),
                        request_id=response.headers.get("x-request-id"))

    async def is_available(self) -> bool:
        """``GET /v1/health`` answers 200 within two seconds: free, never billed, never raises."""
        try:
            response = await self._http().get("/v1/health", timeout=min(2.0, self.settings.timeout))
        except Exception:  # a yes/no question: any failure is a no
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def describe(self) -> Mapping[str, Any]:
        return {**super().describe(), "base_url": public_url(self.base_url),
                "api_key_set": self.settings.api_key is not None}

    def __repr__(self) -> str:
        return f"AcmeProvider(model={self.model!r}, base_url={public_url(self.base_url)!r})"
