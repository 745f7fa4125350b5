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
import secrets
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from aexy.plugin_api import (
    Availability,
    BatchCounts,
    BatchEntry,
    BatchLimits,
    BatchRequest,
    BatchStatus,
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

    from aexy.plugin_api import BatchState, EntryOutcome

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
    supports_batch: ClassVar[bool] = True
    #: The Batch API: 50,000 requests and a 200 MB input file per batch.
    batch_limits: ClassVar[BatchLimits] = BatchLimits(max_requests=50_000,
                                                      max_bytes=200 * 1024 * 1024)
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
            data: Any = response.json()
        except ValueError:
            data = None
        answer = self._completion(data, model, request_id, strict_request)
        if answer is None:
            info = _ErrorInfo.parse(response)
            if info.message:  # an error inside a 200 (some gateways do this)
                raise self.map_error(response, model, info)
            raise LLMError(
                f"{self.where} answered 200 without a chat completion",
                code=ErrorCode.SERVER_ERROR, provider=self.name, model=model,
                status_code=response.status_code, request_id=request_id,
            )
        return answer

    def _completion(self, data: Any, model: str, request_id: str | None,
                    strict_request: CompletionRequest | None) -> Completion | None:
        """The ``chat.completion`` in a body (a live answer's, or a batch output line's), or
        ``None`` when it holds none."""
        try:
            choice = data["choices"][0]
            message = choice.get("message") or {}
        except (KeyError, IndexError, TypeError, AttributeError):
            return None
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
        return self._error_of(response.status_code, info, model, response.headers)

    def _error_of(self, status: int, info: _ErrorInfo, model: str,
                  headers: Mapping[str, str]) -> LLMError:
        """:meth:`map_error` for a status and an error body, wherever they came from (a batch
        output line carries both without an HTTP response)."""
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
        return self.status_error(status, headers, model, detail, code=code,
                                 retryable=retryable)

    # -- the Batch API ---------------------------------------------------------------------
    async def submit_batch(self, requests: Sequence[BatchRequest]) -> BatchStatus:
        """Upload the requests as a JSONL file (``POST /files``, purpose ``batch``), each line's
        ``body`` built by :meth:`build_body` exactly as a live call's, then ``POST /batches``
        on ``/v1/chat/completions``."""
        lines = []
        for one in requests:
            request = one.request
            model = request.model or self.model
            mode = self.structured_mode(model) if request.json_schema is not None else "none"
            body = self.build_body(request, model, mode=mode, temperature=not _MEMO.refuses(
                self.base_url, model, "temperature")).decode()
            lines.append(f'{{"custom_id":{_dumps(one.custom_id)},"method":"POST",'
                         f'"url":"{_Batches.ENDPOINT}","body":{body}}}')
        content, headers = _Batches.multipart(("\n".join(lines) + "\n").encode())
        uploaded = await self._call("POST", "/files", content=content, headers=headers)
        batch = await self._call("POST", "/batches", content=_dumps({
            "input_file_id": uploaded.get("id"), "endpoint": _Batches.ENDPOINT,
            "completion_window": "24h"}).encode())
        log.debug("openai batch created", extra={"batch_id": batch.get("id"),
                                                 "requests": len(requests)})
        return _Batches.status(batch)

    async def poll_batch(self, batch_id: str) -> BatchStatus:
        """``GET /batches/{id}``."""
        return _Batches.status(await self._call("GET", f"/batches/{batch_id}"))

    async def cancel_batch(self, batch_id: str) -> BatchStatus:
        """``POST /batches/{id}/cancel``."""
        return _Batches.status(await self._call("POST", f"/batches/{batch_id}/cancel"))

    async def batch_results(self, batch_id: str, requests: Mapping[str, CompletionRequest]
                            ) -> AsyncIterator[BatchEntry]:
        """The lines of the batch's output file, then of its error file (``GET
        /files/{id}/content``): answers mapped as :meth:`parse_answer` maps a live one, errors
        through :meth:`map_error`'s table."""
        batch = await self._call("GET", f"/batches/{batch_id}")
        files = [str(f) for f in (batch.get("output_file_id"), batch.get("error_file_id")) if f]
        return self._entries(files, requests)

    async def _entries(self, files: list[str], requests: Mapping[str, CompletionRequest]
                       ) -> AsyncIterator[BatchEntry]:
        import httpx

        for file_id in files:
            response = await self.send("GET", f"/files/{file_id}/content", self.model,
                                       stream=True)
            try:
                if response.status_code >= 400:
                    await response.aread()
                    raise self.map_error(response, self.model)
                lines = response.aiter_lines()
                while True:
                    failure: LLMError | None = None
                    try:
                        line = await anext(lines)
                    except StopAsyncIteration:
                        break
                    except httpx.TransportError as exc:
                        failure = LLMError(
                            f"reading a batch file from {self.where} failed "
                            f"({type(exc).__name__}); {self.connect_hint}",
                            code=ErrorCode.CONNECTION_ERROR, provider=self.name,
                            model=self.model)
                    if failure is not None:
                        raise failure  # outside the except block: the request stays behind
                    if line.strip():
                        yield self._entry(line, requests)
            finally:
                await response.aclose()

    def _entry(self, line: str, requests: Mapping[str, CompletionRequest]) -> BatchEntry:
        """One line of an output or error file."""
        try:
            data: Any = json.loads(line)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return BatchEntry("", "errored", error=LLMError(
                f"{self.where} wrote a batch result line that is not a JSON object",
                code=ErrorCode.SERVER_ERROR, provider=self.name, model=self.model))
        custom_id = str(data.get("custom_id") or "")
        request = requests.get(custom_id)
        model = (request.model if request is not None else None) or self.model
        response, error = data.get("response"), data.get("error")
        if isinstance(response, dict):
            status = _int(response.get("status_code"))
            request_id = response.get("request_id")
            body = response.get("body")
            if status == 200:
                strict = request if self.structured_mode(model) == "json_schema" else None
                answer = self._completion(body, model, request_id, strict)
                if answer is not None:
                    return BatchEntry(custom_id, "succeeded", completion=answer)
            info = _ErrorInfo.of(body)
            headers = {"x-request-id": str(request_id)} if request_id else {}
            return BatchEntry(custom_id, "errored", error=self._error_of(
                status or 500, info, model, headers))
        if isinstance(error, dict):
            code, message = str(error.get("code") or ""), str(error.get("message") or "")
            outcome = _Batches.NOT_RUN.get(code)
            if outcome is not None:
                return BatchEntry(custom_id, outcome, error=LLMError(
                    f"{message or code} (not billed)", provider=self.name, model=model,
                    code=ErrorCode.EXPIRED if outcome == "expired" else ErrorCode.CANCELED))
            return BatchEntry(custom_id, "errored", error=LLMError(
                f"{self.where} could not run this batch request: {code}: {message}",
                code=ErrorCode.SERVER_ERROR, provider=self.name, model=model))
        return BatchEntry(custom_id, "errored", error=LLMError(
            f"{self.where} wrote a batch result line with neither a response nor an error",
            code=ErrorCode.SERVER_ERROR, provider=self.name, model=model))

    async def _call(self, method: str, path: str, *, content: bytes | None = None,
                    headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """One call of the Batch or Files API: its JSON object, or its error."""
        response = await self.send(method, path, self.model, content=content, headers=headers)
        if response.status_code >= 400:
            raise self.map_error(response, self.model)
        try:
            data: Any = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise LLMError(f"{self.where} answered {method} {path} without a JSON object",
                           code=ErrorCode.SERVER_ERROR, provider=self.name, model=self.model,
                           status_code=response.status_code)
        return data

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


class _Batches:
    """The OpenAI Batch API's shapes (checked against openai-python's ``Batch``,
    ``BatchRequestCounts``, ``FileObject`` and the Batch guide's input and output lines)."""

    #: What every request of a batch calls, as the Batch API names it.
    ENDPOINT: Final = "/v1/chat/completions"
    #: The API's status -> the core's state.
    STATES: Final[Mapping[str, BatchState]] = {
        "validating": "in_progress", "in_progress": "in_progress", "finalizing": "in_progress",
        "cancelling": "canceling", "completed": "ended", "failed": "ended", "expired": "ended",
        "cancelled": "ended",
    }
    #: An output line's ``error.code`` for a request that never ran.
    NOT_RUN: Final[Mapping[str, EntryOutcome]] = {"batch_expired": "expired",
                                                  "batch_cancelled": "canceled"}

    @classmethod
    def status(cls, data: Mapping[str, Any]) -> BatchStatus:
        raw = str(data.get("status") or "")
        state = cls.STATES.get(raw, "in_progress")
        counts = data.get("request_counts") or {}
        total, done, failed = (_int(counts.get(k)) for k in ("total", "completed", "failed"))
        rest = max(total - done - failed, 0)
        error = None
        if raw == "failed":  # the input was refused: nothing ran
            errors = (data.get("errors") or {}).get("data") or []
            error = "; ".join(
                (f"line {e['line']}: " if e.get("line") is not None else "")
                + str(e.get("message") or e.get("code") or "") for e in errors
                if isinstance(e, dict)) or "the batch failed"
        return BatchStatus(
            str(data.get("id") or ""), state,
            BatchCounts(processing=rest if state != "ended" else 0, succeeded=done,
                        errored=failed, expired=rest if raw == "expired" else 0,
                        canceled=rest if raw == "cancelled" else 0),
            raw_status=raw, error=error)

    @staticmethod
    def multipart(data: bytes) -> tuple[bytes, dict[str, str]]:
        """``POST /files`` with ``purpose=batch``: the form written here, because httpx's own
        (``files=``) would keep the client's JSON ``Content-Type`` over its multipart one."""
        boundary = secrets.token_hex(16)
        head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n"
                f"batch\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                "filename=\"aexy-batch.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n")
        return (head.encode() + data + f"\r\n--{boundary}--\r\n".encode(),
                {"Content-Type": f"multipart/form-data; boundary={boundary}"})


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
        return cls.of(data)

    @classmethod
    def of(cls, data: Any) -> _ErrorInfo:
        """The parts of a decoded error body."""
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
