"""``OpenAIProvider``: ``POST {base}/chat/completions``, on the core's HTTP provider base.

The wire mapping only (the base owns the pooled client, credentials, timeouts, the status table
and availability; the core owns prompts, parsing, retries and limits). What lives here is what
differs between OpenAI and the servers that copy its API:

- structured output: ``json_schema`` (strict) where supported, else llama.cpp's
  ``json_object`` + ``schema``, else plain ``json_object`` with the schema in the prompt, else
  nothing but the prompt. In ``auto`` a rejected mode is stepped down one at a time within the
  call; the core's :class:`~aexy.plugin_api.ServerMemo` remembers what worked;
- the two error body shapes (``{"error": {...}}`` and vLLM's older flat ``{"object": "error"}``)
  and what they say beyond the status (context length, an exhausted quota).

Credentials in ``OPENAI_BASE_URL`` (``https://user:pass@proxy/v1``) are sent as HTTP Basic auth
and the client only ever sees the URL without them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from aexy.plugin_api import (
    Availability,
    Completion,
    CompletionRequest,
    ErrorCode,
    FinishReason,
    HTTPProvider,
    LLMError,
    PerSchema,
    PriceRef,
    ProviderSettings,
    RateLimits,
    ServerMemo,
    Usage,
    drop_strict_nulls,
    logger,
    masked_repr_args,
    strict_schema,
)

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

log = logger.getChild("openai")

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


#: What servers taught this process (shared by every instance): the structured-output mode that
#: works, and the models that refuse a non-default temperature.
_MEMO: Final = ServerMemo(_LADDER)


def _is_openai(base_url: str) -> bool:
    try:
        return (urlsplit(base_url).hostname or "") == "api.openai.com"
    except ValueError:
        return False


class OpenAIProvider(HTTPProvider):
    """OpenAI's chat-completions API and compatible servers.

    :param settings: :class:`OpenAISettings`; read from the environment when omitted.
    :param model: overrides ``OPENAI_MODEL``.
    :param transport: an httpx transport (tests pass ``httpx.MockTransport``).
    """

    name: ClassVar[str] = "openai"
    settings_class: ClassVar[type[ProviderSettings]] = OpenAISettings
    enforces_schema: ClassVar[bool] = True
    completion_path: ClassVar[str] = "/chat/completions"
    error_hints: ClassVar[Mapping[ErrorCode, str]] = {
        ErrorCode.NOT_FOUND: "check OPENAI_MODEL ({model!r}) and OPENAI_BASE_URL",
        ErrorCode.TIMEOUT: "raise OPENAI_TIMEOUT or check the server's load",
    }
    connect_hint: ClassVar[str] = "check OPENAI_BASE_URL and that the server is running"
    timeout_hint: ClassVar[str] = "raise OPENAI_TIMEOUT or check the server's load"

    settings: OpenAISettings

    def __init__(self, settings: ProviderSettings | None = None, *, model: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(settings, model=model, transport=transport)
        self._is_openai = _is_openai(self.base_url)
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

    def headers(self) -> dict[str, str]:
        headers = super().headers()
        if self.settings.org_id:
            headers["OpenAI-Organization"] = self.settings.org_id
        if self.settings.project_id:
            headers["OpenAI-Project"] = self.settings.project_id
        return headers

    def structured_mode(self, model: str | None = None) -> _Mode:
        """The structured-output mode the next call to ``model`` will use."""
        configured = self.settings.structured_output
        if configured != "auto":
            return configured
        return _MEMO.mode(self.base_url, model or self.model)

    @classmethod
    def forget_learned_modes(cls) -> None:
        """Forget every remembered mode and temperature rejection (tests, server upgrades)."""
        _MEMO.forget()

    def price_ref(self) -> PriceRef:
        """Priced by the server's URL: the price list knows OpenAI's and many hosted services'
        (Groq, OpenRouter, ...); a URL it does not know (a server on this machine, which may
        also be a proxy to a paid API) is unpriced, never $0."""
        return PriceRef(api_url=self.base_url)

    def describe(self) -> Mapping[str, Any]:
        return {**super().describe(), "structured_output": self.settings.structured_output}

    def __repr__(self) -> str:
        return (f"OpenAIProvider(model={self.model!r}, base_url={self.where!r}, "
                f"structured_output={self.settings.structured_output!r})")

    # -- one call --------------------------------------------------------------------------
    async def complete(self, request: CompletionRequest) -> Completion:
        model = request.model or self.model
        mode = self.structured_mode(model) if request.json_schema is not None else "none"
        auto = self.settings.structured_output == "auto" and request.json_schema is not None
        temperature = not _MEMO.refuses(self.base_url, model, "temperature")
        # A post after a step-down shares what is left of the first post's time.
        deadline = _Budget(request.timeout, self.settings.timeout)
        while True:
            body = self.build_body(request, model, mode=mode, temperature=temperature)
            response = await self.post(self.completion_path, body, model, deadline.left())
            if response.status_code == 200:
                break
            info = _ErrorInfo.parse(response)
            if auto and mode != "none" and _rejects_structured_output(response.status_code, info):
                # "Invalid schema" is about this schema, not the server: step down for this
                # call only, so one odd plugin schema does not downgrade every analysis type.
                remember = not info.is_schema_specific()
                lower = _MEMO.step_down(self.base_url, model, mode, remember=remember)
                assert lower is not None  # "none" is never rejected as a mode
                log.warning("structured output mode rejected; stepping down", extra={
                    "provider": self.name, "model": model, "mode": mode, "next": lower,
                    "base_url": self.where, "remembered": remember})
                mode = lower
                continue
            if temperature and _rejects_temperature(response.status_code, info):
                temperature = False
                _MEMO.refused(self.base_url, model, "temperature")
                continue
            raise self.map_error(response, model, info)
        return self.parse_answer(response, model, request if mode == "json_schema" else None)

    def build_body(self, request: CompletionRequest, model: str, *, mode: _Mode = "json_schema",
                   temperature: bool = True) -> bytes:
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
        if temperature:
            body["temperature"] = request.temperature
        param = self.settings.max_tokens_param
        if param == "auto":
            param = "max_completion_tokens" if self.is_openai else "max_tokens"
        body[param] = request.max_tokens
        raw = _dumps(body).encode()
        if response_format is None:
            return raw
        # Spliced as bytes through a view: content may be megabytes, and each extra copy of
        # the body costs as much as serialising it.
        return b"".join((memoryview(raw)[:-1], b',"response_format":', response_format.encode(),
                         b"}"))

    def parse_answer(self, response: httpx.Response, model: str,
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
                raise self.map_error(response, model, info)
            raise LLMError(
                f"{self.where} answered 200 without a chat completion",
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
        details = usage.get("prompt_tokens_details")
        # prompt_tokens counts every input token, the ones read from OpenAI's automatic prompt
        # cache (cached_tokens, at their own rate) included; servers that do not cache send
        # no details, or null.
        cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
        return Completion(
            text=text,
            model=str(data.get("model") or model),
            usage=Usage(input_tokens=_int(usage.get("prompt_tokens")),
                        output_tokens=_int(usage.get("completion_tokens")),
                        cache_read_tokens=cached),
            finish_reason=finish,
            raw_finish_reason=raw_finish,
            request_id=request_id,
        )

    def map_error(self, response: httpx.Response, model: str,
                  info: _ErrorInfo | None = None) -> LLMError:
        """The base's status table, plus what OpenAI-style bodies say beyond the status: the
        context length, an exhausted quota, the key to set."""
        info = info if info is not None else _ErrorInfo.parse(response)
        status = response.status_code
        if status == 200 and info.code.isdigit() and 400 <= int(info.code) < 600:
            status = int(info.code)  # an error inside a 200 (OpenRouter) carries its status
        code: ErrorCode | None = None
        retryable: bool | None = None
        detail = info.message
        if info.is_context_length():
            code = ErrorCode.CONTEXT_LENGTH_EXCEEDED
        elif info.code == "insufficient_quota":
            code, retryable = ErrorCode.RATE_LIMIT_EXCEEDED, False  # billing, not a burst
            detail = f"the OpenAI account has no quota left: {detail}"
        elif status in (401, 403):
            key = ("set OPENAI_API_KEY" if self.settings.api_key is None
                   else "check OPENAI_API_KEY (and OPENAI_ORG_ID / OPENAI_PROJECT_ID)")
            detail = f"{detail}; {key}" if detail else key
        return self.error(response, model, detail, code=code, retryable=retryable,
                          status=status)

    async def check(self) -> Availability:
        """``GET {base}/models`` within a few seconds (free; never raises), with the reason."""
        response, failure = await self.probe("/models")
        if response is None:
            return Availability(False, failure)
        status = response.status_code
        if status == 200:
            return Availability(True, f"{self.where} answered GET /models")
        if status in (401, 403):
            reason = (f"key missing: {self.where} wants credentials (HTTP {status}); set "
                      "OPENAI_API_KEY" if self.settings.api_key is None else
                      f"key rejected by {self.where} (HTTP {status}); check OPENAI_API_KEY")
            return Availability(False, reason)
        if status == 404:
            return Availability(False, f"no OpenAI-compatible API at {self.where} (GET /models "
                                       "answered 404); check OPENAI_BASE_URL")
        return Availability(False, f"{self.where} answered HTTP {status} to GET /models")


class _Budget:
    """The seconds the next post may take: the first runs under the client's own timeout
    unless the caller's deadline is shorter; a post after a step-down gets what is left."""

    __slots__ = ("_at", "_first", "_given")

    def __init__(self, deadline: float | None, configured: float) -> None:
        self._given = deadline is not None
        self._at = time.monotonic() + (configured if deadline is None
                                       else min(configured, deadline))
        self._first = True

    def left(self) -> float | None:
        first, self._first = self._first, False
        if first and not self._given:
            return None
        return max(self._at - time.monotonic(), 0.001)


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
