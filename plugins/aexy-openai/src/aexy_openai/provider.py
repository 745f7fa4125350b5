"""``OpenAIProvider``: ``POST {base}/chat/completions`` over one pooled httpx client.

Transport only (see ``aexy.providers.base``): the core owns prompts, parsing, retries and limits.
What lives here is what differs between OpenAI and the servers that copy its API:

- structured output: ``json_schema`` (strict) where supported, else llama.cpp's
  ``json_object`` + ``schema``, else plain ``json_object`` with the schema in the prompt, else
  nothing but the prompt. In ``auto`` a rejected mode is stepped down one at a time within the
  call, and the mode that worked is remembered per base URL and model;
- the two error body shapes (``{"error": {...}}`` and vLLM's older flat ``{"object": "error"}``)
  and the rate-limit headers (``retry-after``, ``retry-after-ms``, ``x-ratelimit-reset-*``).

httpx is imported when the first client is built, never at import time. Credentials in
``OPENAI_BASE_URL`` (``https://user:pass@proxy/v1``) are sent as HTTP Basic auth (as httpx does
for a URL with userinfo) and the client only ever sees the URL without them.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from aexy.completion import Completion, CompletionRequest, FinishReason, Usage
from aexy.errors import ClosedError, ErrorCode, LLMError, code_for_status
from aexy.providers.base import Availability, BaseLLMProvider, ProviderSettings, RateLimits
from aexy.redact import masked_repr_args, public_url, scrub, split_credentials
from aexy.resilience.retry import parse_retry_after
from aexy.schema import PerSchema, drop_strict_nulls, strict_schema

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "OPENAI_TIER1_LIMITS",
    "OpenAIProvider",
    "OpenAISettings",
    "StructuredOutput",
]

logger = logging.getLogger("aexy.openai")

DEFAULT_BASE_URL: Final = "https://api.openai.com/v1"
#: A current small, non-reasoning model: supports strict structured output and temperature 0.
DEFAULT_MODEL: Final = "gpt-4.1-mini"
#: OpenAI's published usage-tier-1 limits for its small models (the lowest paid tier), applied
#: only when the base URL is api.openai.com and the environment sets no limit. Higher tiers
#: raise them with OPENAI_REQUESTS_PER_MINUTE / OPENAI_TOKENS_PER_MINUTE.
OPENAI_TIER1_LIMITS: Final = RateLimits(requests_per_minute=500, tokens_per_minute=200_000)

StructuredOutput = Literal["auto", "json_schema", "json_object_schema", "json_object", "none"]
_Mode = Literal["json_schema", "json_object_schema", "json_object", "none"]
#: The order ``auto`` steps down in, one step per rejection.
_LADDER: Final[tuple[_Mode, ...]] = ("json_schema", "json_object_schema", "json_object", "none")

_AVAILABILITY_TIMEOUT: Final = 5.0


class OpenAISettings(ProviderSettings):
    """Settings of the ``openai`` provider, from ``OPENAI_*`` variables (or ``.env``).

    Keywords use the field names: ``OpenAISettings(model="gpt-4o-mini")`` equals
    ``OPENAI_MODEL=gpt-4o-mini``.
    """

    model_config = SettingsConfigDict(env_prefix="OPENAI_")

    #: ``OPENAI_API_KEY``: sent as ``Authorization: Bearer``; optional for local servers.
    api_key: SecretStr | None = None
    #: ``OPENAI_BASE_URL``: any OpenAI-compatible ``/v1`` root.
    base_url: str = DEFAULT_BASE_URL
    #: ``OPENAI_MODEL``
    model: str = Field(DEFAULT_MODEL, min_length=1)
    #: ``OPENAI_STRUCTURED_OUTPUT``: ``auto`` | ``json_schema`` | ``json_object_schema`` |
    #: ``json_object`` | ``none``.
    structured_output: StructuredOutput = "auto"
    #: ``OPENAI_REQUESTS_PER_MINUTE`` / ``OPENAI_TOKENS_PER_MINUTE``: client-side limits; see
    #: :data:`OPENAI_TIER1_LIMITS` for the defaults on api.openai.com.
    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: int | None = Field(None, gt=0)
    #: ``OPENAI_TIMEOUT``: seconds one call may take at most; a caller's shorter deadline
    #: (``CompletionRequest.timeout``) caps it further.
    timeout: float = Field(60.0, gt=0)
    #: ``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID``: optional OpenAI account headers (the names
    #: the official SDK reads).
    org_id: str | None = None
    project_id: str | None = None
    #: ``OPENAI_MAX_TOKENS_PARAM``: ``auto`` sends ``max_completion_tokens`` to api.openai.com
    #: (its reasoning models reject ``max_tokens``) and ``max_tokens`` everywhere else.
    max_tokens_param: Literal["auto", "max_tokens", "max_completion_tokens"] = "auto"
    #: ``OPENAI_SCHEMA_IN_PROMPT``: also put the JSON schema in the system prompt. Unset means
    #: yes, except for strict ``json_schema`` on api.openai.com, which shows the model the
    #: schema itself (self-hosted servers only constrain decoding, so the model would not see
    #: the field descriptions).
    schema_in_prompt: bool | None = None

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_key_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("base_url", mode="before")
    @classmethod
    def _strip_slash(cls, value: object) -> object:
        return value.strip().rstrip("/") if isinstance(value, str) else value

    @field_validator("structured_output", "max_tokens_param", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A proxy URL may carry credentials (https://user:pass@host/v1): never show them.
        return masked_repr_args(super().__repr_args__())


# The mode that worked, per (base URL, model): shared by every instance in the process, so a
# gateway built per request does not rediscover it. Writes are rare; a lock keeps them whole.
_working_modes: dict[tuple[str, str], _Mode] = {}
# Models that rejected a non-default temperature (OpenAI's reasoning models).
_no_temperature: set[tuple[str, str]] = set()
_memo_lock = threading.Lock()


def _is_openai(base_url: str) -> bool:
    try:
        return (urlsplit(base_url).hostname or "") == "api.openai.com"
    except ValueError:
        return False


class OpenAIProvider(BaseLLMProvider):
    """OpenAI's chat-completions API and compatible servers, over httpx.

    :param settings: :class:`OpenAISettings`; read from the environment when omitted.
    :param model: overrides ``OPENAI_MODEL``.
    :param transport: an httpx transport (tests pass ``httpx.MockTransport``).

    After :meth:`aclose` every call raises :class:`~aexy.errors.ClosedError`: a closed
    provider never opens a new client.
    """

    name: ClassVar[str] = "openai"
    settings_class: ClassVar[type[ProviderSettings]] = OpenAISettings
    enforces_schema: ClassVar[bool] = True

    settings: OpenAISettings

    def __init__(
        self,
        settings: ProviderSettings | None = None,
        *,
        model: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(settings, model=model)
        given: ProviderSettings = self.settings
        if not isinstance(given, OpenAISettings):
            # A plain ProviderSettings (or another provider's) cannot say where to connect.
            self.settings = OpenAISettings(**given.model_dump())
        # Parsed once: the URL without credentials is what the client and every message see.
        self.base_url, self._credentials = split_credentials(self.settings.base_url)
        self._where = public_url(self.settings.base_url)
        self._chat_url: str | httpx.URL = self.base_url + "/chat/completions"
        self._models_url = self.base_url + "/models"
        self._is_openai = _is_openai(self.base_url)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._closed = False
        self._headers = self._build_headers()
        # (strict schema, original schema) as compact JSON text, once per schema object:
        # the schema is most of the request body.
        self._schema_parts = PerSchema(_schema_texts)

    # -- configuration ---------------------------------------------------------------------
    @property
    def is_openai(self) -> bool:
        """Whether the base URL is OpenAI's own API (and not a compatible server)."""
        return self._is_openai

    @property
    def limits(self) -> RateLimits:
        # None by default for compatible servers (their limits are the operator's to state);
        # OpenAI's lowest paid tier for api.openai.com.
        d = OPENAI_TIER1_LIMITS if self.is_openai else RateLimits()
        return RateLimits(
            requests_per_minute=self.settings.requests_per_minute or d.requests_per_minute,
            tokens_per_minute=self.settings.tokens_per_minute or d.tokens_per_minute,
        )

    def _build_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        key = self.settings.api_key
        if key is not None:
            headers["Authorization"] = "Bearer " + key.get_secret_value()
        if self.settings.org_id:
            headers["OpenAI-Organization"] = self.settings.org_id
        if self.settings.project_id:
            headers["OpenAI-Project"] = self.settings.project_id
        return headers

    def _client_for_calls(self) -> httpx.AsyncClient:
        if self._client is None:
            if self._closed:  # never reopen: nothing would close the new client
                raise ClosedError(f"the {self.name} provider")
            import httpx

            self._client = httpx.AsyncClient(
                transport=self._transport,
                headers=self._headers,
                auth=httpx.BasicAuth(*self._credentials) if self._credentials else None,
                timeout=httpx.Timeout(self.settings.timeout),
                follow_redirects=False,
                # Idle connections kept up to the pool size: concurrent callers reuse them
                # rather than open one per call (httpx keeps 20 idle by default).
                limits=httpx.Limits(max_connections=self.settings.max_connections,
                                    max_keepalive_connections=self.settings.max_connections),
            )
            # A URL object: httpx does not parse it again on every call.
            self._chat_url = httpx.URL(str(self._chat_url))
        return self._client

    def structured_mode(self, model: str | None = None) -> _Mode:
        """The structured-output mode the next call to ``model`` will use."""
        configured = self.settings.structured_output
        if configured != "auto":
            return configured
        return _working_modes.get((self.base_url, model or self.model), "json_schema")

    @classmethod
    def forget_learned_modes(cls) -> None:
        """Forget every remembered mode and temperature rejection (tests, server upgrades)."""
        with _memo_lock:
            _working_modes.clear()
            _no_temperature.clear()

    def describe(self) -> Mapping[str, Any]:
        return {
            **super().describe(),
            "base_url": self._where,
            "structured_output": self.settings.structured_output,
            "api_key_set": self.settings.api_key is not None,
        }

    def __repr__(self) -> str:
        return (
            f"OpenAIProvider(model={self.model!r}, base_url={self._where!r}, "
            f"structured_output={self.settings.structured_output!r})"
        )

    # -- calls -----------------------------------------------------------------------------
    async def complete(self, request: CompletionRequest) -> Completion:
        model = request.model or self.model
        # OPENAI_TIMEOUT caps every call; a caller's deadline (the gateway's remainder) may
        # only make it shorter.
        timeout = self.settings.timeout
        if request.timeout is not None:
            timeout = max(min(timeout, request.timeout), 0.001)
        mode = self.structured_mode(model) if request.json_schema is not None else "none"
        auto = self.settings.structured_output == "auto" and request.json_schema is not None
        key = (self.base_url, model)
        send_temperature = key not in _no_temperature
        deadline = time.monotonic() + timeout
        # The first post runs under the client's own timeout when nothing shortens it; a post
        # after a step-down gets what is left.
        budget: float | None = None if request.timeout is None else timeout
        while True:
            body = self._body(request, model, mode, send_temperature)
            response = await self._post(body, model, budget)
            budget = max(deadline - time.monotonic(), 0.001)
            if response.status_code == 200:
                break
            info = _ErrorInfo.parse(response)
            if auto and mode != "none" and _rejects_structured_output(response.status_code, info):
                lower = _LADDER[_LADDER.index(mode) + 1]
                # "Invalid schema" is about this schema, not the server: step down for this
                # call only, so one odd plugin schema does not downgrade every analysis type.
                remember = not info.is_schema_specific()
                logger.warning(
                    "structured output mode rejected; stepping down",
                    extra={"provider": self.name, "model": model, "mode": mode, "next": lower,
                           "base_url": self._where, "remembered": remember},
                )
                mode = lower
                if remember:  # the higher mode fails on this server, whatever follows
                    with _memo_lock:
                        _working_modes[key] = mode
                continue
            if send_temperature and _rejects_temperature(response.status_code, info):
                send_temperature = False
                with _memo_lock:
                    _no_temperature.add(key)
                continue
            raise self._error(response, info, model)
        return self._parse(response, model, request if mode == "json_schema" else None)

    def _body(self, request: CompletionRequest, model: str, mode: _Mode,
              send_temperature: bool) -> bytes:
        """The request body, serialised; the cached schema text is spliced in as is."""
        system = request.system
        response_format: str | None = None
        if request.json_schema is not None:
            strict_text, schema_text = self._schema_parts(request.json_schema)
            if mode == "json_schema":
                response_format = (
                    '{"type":"json_schema","json_schema":{"name":'
                    f'{_dumps(_schema_name(request.schema_name))},"schema":{strict_text},'
                    '"strict":true}}'
                )
            elif mode == "json_object_schema":
                response_format = f'{{"type":"json_object","schema":{schema_text}}}'
            elif mode == "json_object":
                response_format = '{"type":"json_object"}'
            in_prompt = self.settings.schema_in_prompt
            if in_prompt is None:
                in_prompt = not (mode == "json_schema" and self.is_openai)
            if in_prompt:
                # OpenAI's json_object mode also requires the word "JSON" in the messages.
                system = (f"{system}\n\nAnswer with one JSON object that satisfies this JSON "
                          f"schema:\n{schema_text}")
        messages: list[dict[str, str]] = [{"role": "system", "content": system}]
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": False}
        if send_temperature:
            body["temperature"] = request.temperature
        param = self.settings.max_tokens_param
        if param == "auto":
            param = "max_completion_tokens" if self.is_openai else "max_tokens"
        body[param] = request.max_tokens
        text = _dumps(body)
        if response_format is not None:
            text = f'{text[:-1]},"response_format":{response_format}}}'
        return text.encode()

    async def _post(self, body: bytes, model: str, budget: float | None) -> httpx.Response:
        """One POST under httpx's own timeouts (``budget`` seconds, or the client's
        ``OPENAI_TIMEOUT`` when ``None``). Errors are raised after the ``except`` block: an
        httpx exception holds the request, whose headers hold the key, and must not ride along
        as ``__context__``."""
        import httpx

        client = self._client_for_calls()
        try:
            return await client.post(
                self._chat_url, content=body,
                timeout=httpx.USE_CLIENT_DEFAULT if budget is None else budget)
        except httpx.TimeoutException:
            limit = self.settings.timeout if budget is None else budget
            error = LLMError(
                f"no answer from {self._where} within {limit:.3g}s; raise OPENAI_TIMEOUT or "
                "check the server's load",
                code=ErrorCode.TIMEOUT, provider=self.name, model=model,
            )
        except httpx.TransportError as exc:
            error = LLMError(
                f"cannot connect to {self._where} ({type(exc).__name__}); check "
                "OPENAI_BASE_URL and that the server is running",
                code=ErrorCode.CONNECTION_ERROR, provider=self.name, model=model,
            )
        raise error

    def _parse(self, response: httpx.Response, model: str,
               strict_request: CompletionRequest | None) -> Completion:
        request_id = response.headers.get("x-request-id")
        try:
            data = response.json()
            choice = data["choices"][0]
            message = choice.get("message") or {}
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            data = None
        if data is None:  # raised outside the except block: no parser error attached
            info = _ErrorInfo.parse(response)
            if info.message:  # an error inside a 200 (some gateways do this)
                raise self._error(response, info, model)
            raise LLMError(
                f"{self._where} answered 200 without a chat completion",
                code=ErrorCode.SERVER_ERROR, provider=self.name, model=model,
                status_code=response.status_code, request_id=request_id,
            )
        text = message.get("content")
        text = text if isinstance(text, str) else ""
        raw_finish = choice.get("finish_reason")
        refusal = message.get("refusal")
        if refusal:
            finish, raw_finish = FinishReason.CONTENT_FILTER, raw_finish or "refusal"
            text = text or str(refusal)
        else:
            finish = _FINISH.get(raw_finish or "stop", FinishReason.OTHER)
        if strict_request is not None and strict_request.json_schema is not None and text:
            text = _restore_absent_fields(text, strict_request.json_schema)
        usage = data.get("usage") or {}
        return Completion(
            text=text,
            model=str(data.get("model") or model),
            usage=Usage(input_tokens=_int(usage.get("prompt_tokens")),
                        output_tokens=_int(usage.get("completion_tokens"))),
            finish_reason=finish,
            raw_finish_reason=raw_finish,
            request_id=request_id,
        )

    def _error(self, response: httpx.Response, info: _ErrorInfo, model: str) -> LLMError:
        """The core's error for a failed answer: :func:`~aexy.errors.code_for_status`, plus what
        OpenAI-style bodies say beyond the status (context length, an exhausted quota)."""
        status = response.status_code
        if status == 200 and info.code.isdigit() and 400 <= int(info.code) < 600:
            status = int(info.code)  # an error inside a 200 (OpenRouter) carries its status
        request_id = response.headers.get("x-request-id")
        where = self._where
        detail = info.message or f"HTTP {status}"
        retry_after: float | None = None
        retryable: bool | None = None
        code = code_for_status(status)
        if info.is_context_length():
            code = ErrorCode.CONTEXT_LENGTH_EXCEEDED
        if code is ErrorCode.CONTEXT_LENGTH_EXCEEDED and status == 413:
            message = f"the request is too large for {where} (HTTP 413): {detail}"
        elif code is ErrorCode.CONTEXT_LENGTH_EXCEEDED:
            message = (f"the prompt does not fit the model's context window (HTTP {status}): "
                       f"{detail}")
        elif code is ErrorCode.RATE_LIMIT_EXCEEDED:
            if info.code == "insufficient_quota":
                retryable = False  # billing, not a burst: waiting will not help
                message = f"the OpenAI account has no quota left: {detail}"
            else:
                retry_after = retry_after_seconds(response.headers, info.message)
                message = f"rate limited by {where}: {detail}"
        elif code is ErrorCode.AUTHENTICATION_ERROR:
            hint = ("set OPENAI_API_KEY" if self.settings.api_key is None
                    else "check OPENAI_API_KEY (and OPENAI_ORG_ID / OPENAI_PROJECT_ID)")
            message = f"{where} refused the credentials (HTTP {status}); {hint}: {detail}"
        elif code is ErrorCode.NOT_FOUND:
            message = (f"not found at {where} (HTTP 404): {detail}; check OPENAI_MODEL "
                       f"({model!r}) and OPENAI_BASE_URL")
        elif code is ErrorCode.OVERLOADED:
            retry_after = retry_after_seconds(response.headers, None)
            message = f"{where} is overloaded (HTTP {status}): {detail}"
        elif code is ErrorCode.TIMEOUT:
            message = f"{where} timed out the request (HTTP {status}): {detail}"
        elif code is ErrorCode.SERVER_ERROR and status >= 500:
            message = f"{where} failed (HTTP {status}): {detail}"
        elif code is ErrorCode.SERVER_ERROR:
            message = f"unexpected answer from {where} (HTTP {status}): {detail}"
        else:
            message = f"{where} rejected the request (HTTP {status}): {detail}"
        return LLMError(
            scrub(message, self.settings.api_key), code=code, provider=self.name, model=model,
            retryable=retryable, retry_after=retry_after, status_code=status,
            request_id=request_id,
        )

    async def check(self) -> Availability:
        """``GET {base}/models`` within a few seconds (free; never raises), with the reason."""
        import httpx

        timeout = min(_AVAILABILITY_TIMEOUT, self.settings.timeout)
        failure = ""
        try:
            response = await self._client_for_calls().get(
                self._models_url, timeout=httpx.Timeout(timeout))
        except ClosedError:
            failure = "the provider is closed"
        except httpx.TimeoutException:
            failure = f"endpoint unreachable: no answer from {self._where} within {timeout:g}s"
        except httpx.TransportError as exc:
            failure = (f"endpoint unreachable: cannot connect to {self._where} "
                       f"({type(exc).__name__}); check OPENAI_BASE_URL and that the server runs")
        except Exception as exc:  # a health check reports; it does not fail
            failure = f"GET /models failed ({type(exc).__name__})"
        if failure:
            return Availability(False, failure)
        status = response.status_code
        if status == 200:
            return Availability(True, f"{self._where} answered GET /models")
        if status in (401, 403):
            reason = (f"key missing: {self._where} wants credentials (HTTP {status}); set "
                      "OPENAI_API_KEY" if self.settings.api_key is None else
                      f"key rejected by {self._where} (HTTP {status}); check OPENAI_API_KEY")
            return Availability(False, reason)
        if status == 404:
            return Availability(False, f"no OpenAI-compatible API at {self._where} (GET /models "
                                       "answered 404); check OPENAI_BASE_URL")
        return Availability(False, f"{self._where} answered HTTP {status} to GET /models")

    async def is_available(self) -> bool:
        """``GET {base}/models`` answered 200 within a few seconds. Free; never raises."""
        return (await self.check()).ok

    async def aclose(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


# -- helpers -------------------------------------------------------------------------------
_FINISH: Final = {
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
    "content_filter": FinishReason.CONTENT_FILTER,
    "eos": FinishReason.STOP,  # some compatible servers
}
_SCHEMA_NAME = re.compile(r"[^a-zA-Z0-9_-]")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _schema_texts(schema: Mapping[str, Any]) -> tuple[str, str]:
    """``(strict schema, original schema)`` as compact JSON text."""
    return _dumps(strict_schema(schema)), _dumps(schema)


def _schema_name(name: str) -> str:
    return _SCHEMA_NAME.sub("_", name)[:64] or "result"


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: object) -> str:
    return "" if value is None else str(value)


class _ErrorInfo:
    """The parts of an error body, whichever shape the server uses."""

    __slots__ = ("code", "message", "param", "type")

    def __init__(self, message: str, type_: str, code: str, param: str) -> None:
        self.message = message
        self.type = type_
        self.code = code
        self.param = param

    @classmethod
    def parse(cls, response: httpx.Response) -> _ErrorInfo:
        try:
            data: Any = response.json()
        except ValueError:
            text = response.text.strip()
            return cls(text[:500], "", "", "")
        err: Any = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict):  # OpenAI, recent vLLM, llama.cpp, LM Studio, Groq...
            src = err
        elif isinstance(err, str):  # {"error": "text"} (Ollama /v1, some proxies)
            return cls(err[:500], "", "", "")
        elif isinstance(data, dict):  # older vLLM: {"object": "error", "message": ...}
            src = data
        else:
            return cls("", "", "", "")
        message = src.get("message") or src.get("detail") or ""
        if not isinstance(message, str):
            message = json.dumps(message)[:500]
        return cls(message[:1000], _text(src.get("type")), _text(src.get("code")),
                   _text(src.get("param")))

    def is_schema_specific(self) -> bool:
        return self.code == "invalid_json_schema" or "invalid schema" in self.message.lower()

    def is_context_length(self) -> bool:
        if self.code == "context_length_exceeded" or self.type == "exceed_context_size_error":
            return True
        lowered = self.message.lower()
        return any(m in lowered for m in _CONTEXT_MARKERS)


_CONTEXT_MARKERS: Final = (
    "maximum context length",  # OpenAI wording, copied by vLLM
    "exceeds the available context size",  # llama.cpp
    "context length exceeded",
    "context_length_exceeded",
)
_FORMAT_MARKERS: Final = (
    "response_format", "json_schema", "json_object", "'text'", "structured output", "schema",
)


def _rejects_structured_output(status: int, info: _ErrorInfo) -> bool:
    """Whether an error is the server refusing the structured-output mode we sent."""
    if status not in (400, 422, 500, 501) or info.is_context_length():
        return False
    if info.param == "response_format":
        return True
    lowered = info.message.lower()
    return any(m in lowered for m in _FORMAT_MARKERS)


def _rejects_temperature(status: int, info: _ErrorInfo) -> bool:
    """OpenAI's reasoning models accept only the default temperature."""
    return status == 400 and (
        info.param == "temperature"
        or ("temperature" in info.message.lower() and "unsupported" in info.message.lower())
    )


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_TRY_AGAIN = re.compile(r"try again in\s+((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)", re.IGNORECASE)
_UNIT_SECONDS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str) -> float | None:
    """``"1s"``, ``"6m0s"``, ``"120ms"``, ``"1h2m3.5s"`` or a bare number of seconds."""
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def retry_after_seconds(headers: Mapping[str, str], message: str | None) -> float | None:
    """How long to wait, from the headers OpenAI-style servers send with a 429 (or 503).

    ``retry-after-ms`` and ``retry-after`` (seconds or an HTTP date) win; otherwise the
    ``x-ratelimit-reset-*`` of the exhausted bucket (or the later one when neither says it is
    exhausted); otherwise "try again in 20ms" in the message.
    """
    seconds = parse_retry_after(headers)
    if seconds is not None:
        return seconds
    raw = headers.get("retry-after")
    if raw:  # some compatible servers send a Go duration ("1s", "6m0s")
        seconds = parse_duration(raw)
        if seconds is not None:
            return seconds
    resets: list[float] = []
    exhausted: list[float] = []
    for bucket in ("requests", "tokens"):
        reset = headers.get(f"x-ratelimit-reset-{bucket}")
        seconds = parse_duration(reset) if reset else None
        if seconds is None:
            continue
        resets.append(seconds)
        if headers.get(f"x-ratelimit-remaining-{bucket}", "").strip() == "0":
            exhausted.append(seconds)
    if exhausted or resets:
        return max(exhausted or resets)
    if message:
        match = _TRY_AGAIN.search(message)
        if match:
            return parse_duration(match.group(1))
    return None


def _restore_absent_fields(text: str, schema: Mapping[str, Any]) -> str:
    """Undo what :func:`aexy.schema.strict_schema` had to do to optional fields.

    Strict mode makes every property required, so an optional field that does not accept
    ``null`` in the result model (``tags: list[str] = []``) was made nullable on the wire. A
    ``null`` there means "absent": drop the key so the model's default applies, instead of
    failing validation and costing a repair request.
    """
    if "null" not in text:
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return text  # the core reports unparseable output
    if drop_strict_nulls(data, schema):
        return json.dumps(data, ensure_ascii=False)
    return text
