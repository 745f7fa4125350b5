"""Claude through the official ``anthropic`` SDK.

The SDK is imported when the first client is built, never at import or registration time: it
takes over a second to import. The core owns retries, tracing, prompts and validation, so the
SDK's own retries and spans are switched off and this module only moves one request and maps
the answer (or the failure) onto the core's records.

Credentials in ``ANTHROPIC_BASE_URL`` (``https://user:pass@proxy``) are sent as HTTP Basic auth
to that host, as a URL with userinfo always was; the SDK and its logs only see the URL without
them.

Cost: the system prompt is marked for Anthropic's prompt cache (``cache_control``) when it is
long enough for the model to cache (``CLAUDE_PROMPT_CACHE``), the answer's usage keeps cache
reads and writes apart (each priced at its own rate), and a dry run counts a request's tokens
with the free ``POST /v1/messages/count_tokens``.
"""

from __future__ import annotations

import functools
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, TypeVar

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from aexy.plugin_api import (
    Availability,
    BaseLLMProvider,
    BatchCounts,
    BatchEntry,
    BatchLimits,
    BatchRequest,
    BatchStatus,
    ClosedError,
    Completion,
    CompletionRequest,
    ConfigurationError,
    ErrorCode,
    FinishReason,
    LLMError,
    PerSchema,
    PriceRef,
    ProviderSettings,
    RateLimits,
    TokenCount,
    Usage,
    estimate_request,
    http_error,
    logger,
    masked_repr_args,
    public_url,
    scrub,
    split_credentials,
)

if TYPE_CHECKING:
    import httpx2
    from anthropic import AsyncAnthropic

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_MODEL", "ClaudeProvider", "ClaudeSettings"]

T = TypeVar("T")

#: The current Sonnet model (Claude Sonnet 5.5). Override with ``CLAUDE_MODEL``.
DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_BASE_URL = "https://api.anthropic.com"
API_KEY_ENV = "ANTHROPIC_API_KEY"

log = logger.getChild("claude")

#: Upper bound of the ``GET /v1/models`` health check, seconds.
_CHECK_TIMEOUT: Final = 5.0

#: The fewest tokens a prompt-cache prefix may hold, by model (Anthropic's prompt caching
#: guide); a shorter prefix marked cacheable is processed without caching, at no extra cost.
#: Matched as a prefix of the model name; the newest families first.
_MIN_CACHEABLE: Final[tuple[tuple[str, int], ...]] = (
    ("claude-opus-4-5", 4096), ("claude-haiku-4-5", 4096),
    ("claude-3-5-haiku", 2048), ("claude-3-haiku", 2048),
    ("claude-opus-4", 1024), ("claude-sonnet-4", 1024), ("claude-3-7-sonnet", 1024),
)
#: Models this table does not name (newer ones): the larger minimum of the current families.
_MIN_CACHEABLE_DEFAULT: Final = 4096
#: The prefix is measured with an estimate fitted to another tokenizer (Claude's gives more
#: tokens for the same text), so it is marked from this share of the minimum up.
_CACHE_MARGIN: Final = 0.8

Effort = Literal["low", "medium", "high", "xhigh", "max"]

_FINISH: Mapping[str, FinishReason] = {
    "end_turn": FinishReason.STOP,
    "stop_sequence": FinishReason.STOP,
    "max_tokens": FinishReason.LENGTH,
    "model_context_window_exceeded": FinishReason.LENGTH,
    "refusal": FinishReason.CONTENT_FILTER,
}


class ClaudeSettings(ProviderSettings):
    """Settings read from the environment (and ``.env``), each from its documented variable only.

    ``populate_by_name`` is off so that a bare ``API_KEY``, ``MODEL`` or ``TIMEOUT`` in the
    environment is never picked up (pydantic-settings reads field names as variables when it is
    on); constructor arguments may still use the field names (``ClaudeSettings(api_key=...)``).
    """

    # The prefix every provider declares (checked at load); the fields below name their
    # variables outright, so it only guards a field added without an alias.
    model_config = SettingsConfigDict(env_prefix="CLAUDE_", populate_by_name=False)

    api_key: SecretStr | None = Field(default=None, validation_alias=API_KEY_ENV)
    model: str = Field(default=DEFAULT_MODEL, min_length=1, validation_alias="CLAUDE_MODEL")
    base_url: str | None = Field(default=None, validation_alias="ANTHROPIC_BASE_URL")
    #: Replaces the per-analysis output budget when set. On current models adaptive thinking
    #: counts against it, so raise it rather than lower it.
    max_tokens: int | None = Field(default=None, gt=0, validation_alias="CLAUDE_MAX_TOKENS")
    timeout: float = Field(default=60.0, gt=0, validation_alias="CLAUDE_TIMEOUT")
    #: Sent only when set: Claude Sonnet 5 and later reject non-default sampling parameters.
    temperature: float | None = Field(
        default=None, ge=0.0, le=1.0, validation_alias="CLAUDE_TEMPERATURE"
    )
    #: ``output_config.effort``; the API's default when unset.
    effort: Effort | None = Field(default=None, validation_alias="CLAUDE_EFFORT")
    #: ``CLAUDE_PROMPT_CACHE``: mark the system prompt cacheable when it is long enough for
    #: the model (writing the cache costs 25% more once; each read within 5 minutes, 90% less).
    prompt_cache: bool = Field(default=True, validation_alias="CLAUDE_PROMPT_CACHE")
    requests_per_minute: float | None = Field(
        default=None, gt=0, validation_alias="CLAUDE_REQUESTS_PER_MINUTE"
    )
    tokens_per_minute: int | None = Field(
        default=None, gt=0, validation_alias="CLAUDE_TOKENS_PER_MINUTE"
    )

    @model_validator(mode="before")
    @classmethod
    def _accept_field_names(cls, data: Any) -> Any:
        # Constructor arguments by field name are mapped onto their aliases here (and win over
        # the environment) instead of through ``populate_by_name``; see the class docstring.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, info in cls.model_fields.items():
            alias = info.validation_alias
            if isinstance(alias, str) and name in data:
                data[alias] = data.pop(name)
        return data

    @field_validator("api_key", "base_url", "effort", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # ``ANTHROPIC_API_KEY=`` in a .env file means "not configured", not an empty key.
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, SecretStr) and not value.get_secret_value().strip():
            return None
        return value.strip() if isinstance(value, str) else value

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A proxy URL may carry credentials (https://user:pass@host): never show them.
        return masked_repr_args(super().__repr_args__())


class ClaudeProvider(BaseLLMProvider):
    """Anthropic's Messages API through one ``AsyncAnthropic`` client per provider.

    :param settings: read from the environment when omitted.
    :param model: overrides ``CLAUDE_MODEL``.
    :param transport: an ``httpx2`` transport for the SDK's client (tests pass
        ``httpx2.MockTransport`` to script the API's answers).
    :param http_client: a whole ``httpx2.AsyncClient`` for the SDK instead; the provider owns
        it and closes it in :meth:`aclose`. Give ``transport`` or ``http_client``, not both.

    After :meth:`aclose` every call raises :class:`~aexy.errors.ClosedError`: a closed
    provider never opens a new client.
    """

    name: ClassVar[str] = "claude"
    settings_class: ClassVar[type[ProviderSettings]] = ClaudeSettings
    default_limits: ClassVar[RateLimits] = RateLimits(
        requests_per_minute=50, tokens_per_minute=100_000
    )
    enforces_schema: ClassVar[bool] = True
    supports_batch: ClassVar[bool] = True
    #: Message Batches: 100,000 requests or 256 MB per batch.
    batch_limits: ClassVar[BatchLimits] = BatchLimits(max_requests=100_000,
                                                      max_bytes=256 * 1024 * 1024)

    settings: ClaudeSettings

    def __init__(
        self,
        settings: ProviderSettings | None = None,
        *,
        model: str | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        if settings is not None and not isinstance(settings, ClaudeSettings):
            raise TypeError(f"ClaudeProvider needs ClaudeSettings, got {type(settings).__name__}")
        if transport is not None and http_client is not None:
            raise TypeError("give ClaudeProvider a transport or an http_client, not both")
        super().__init__(settings, model=model)
        self._transport = transport
        self._http_client = http_client
        self._client: AsyncAnthropic | None = None
        self._closed = False
        self._base_url, self._credentials = split_credentials(
            self.settings.base_url or DEFAULT_BASE_URL)
        self._where = public_url(self.settings.base_url or DEFAULT_BASE_URL)
        self._where_label = f"the Anthropic API at {self._where}"
        # Structured-output schema per schema object: the gateway sends the same spec schema
        # on every call of a type, and transform_schema walks all of it.
        # The API's dialect of each schema, converted once per schema object.
        self._api_schema = PerSchema(_api_schema)
        self._schema_tokens = PerSchema(_schema_tokens)

    # -- configuration -------------------------------------------------------------------------
    def _api_key(self) -> str | None:
        secret = self.settings.api_key
        return secret.get_secret_value() if secret is not None else None

    def _get_client(self) -> AsyncAnthropic:
        if self._client is not None:
            return self._client
        if self._closed:  # never reopen: nothing would close the new client
            raise ClosedError(f"the {self.name} provider")
        key = self._api_key()
        if key is None:
            raise ConfigurationError(
                f"the claude provider needs an API key: set {API_KEY_ENV} "
                "(create one at https://platform.claude.com/settings/keys)",
                env_var=API_KEY_ENV,
            )
        import httpx2
        from anthropic import AsyncAnthropic, DefaultAsyncHttpxClient  # deferred: >1 s to import

        http_client = self._http_client
        auth = httpx2.BasicAuth(*self._credentials) if self._credentials else None
        if http_client is None and (self._transport is not None or auth is not None):
            kwargs: dict[str, Any] = {"auth": auth}
            if self._transport is not None:
                kwargs["transport"] = self._transport
            http_client = self._http_client = DefaultAsyncHttpxClient(**kwargs)
        elif http_client is not None and auth is not None:
            http_client.auth = auth
        self._client = AsyncAnthropic(
            api_key=key,
            base_url=self._base_url,
            timeout=self.settings.timeout,
            max_retries=0,  # the gateway owns retries, backoff and the circuit breaker
            open_telemetry=False,  # the gateway emits the GenAI spans
            http_client=http_client,
        )
        return self._client

    # -- the contract --------------------------------------------------------------------------
    async def check(self) -> Availability:
        """A key is configured and ``GET /v1/models`` (free, never billed) accepts it within a
        few seconds; otherwise why not. Never raises."""
        if self._api_key() is None:  # answered without importing the SDK
            return Availability(False, f"key missing: set {API_KEY_ENV}")
        import anthropic

        timeout = min(_CHECK_TIMEOUT, self.settings.timeout)
        failure = ""
        try:
            await self._get_client().models.list(limit=1, timeout=timeout)
        except ClosedError:
            failure = "the provider is closed"
        except anthropic.APITimeoutError:
            failure = f"endpoint unreachable: no answer from {self._where} within {timeout:g}s"
        except anthropic.APIConnectionError:
            failure = (f"endpoint unreachable: cannot connect to {self._where}; check "
                       "ANTHROPIC_BASE_URL and the network")
        except anthropic.APIStatusError as exc:
            status = exc.status_code
            if status == 401:
                failure = f"key rejected (HTTP 401); check {API_KEY_ENV}"
            elif status == 403:
                failure = f"the key may not use the API (HTTP 403); check {API_KEY_ENV}"
            elif status == 404:
                failure = (f"no Anthropic API at {self._where} (GET /v1/models answered 404); "
                           "check ANTHROPIC_BASE_URL")
            else:
                failure = f"{self._where} answered HTTP {status} ({exc.type or 'error'})"
        except Exception as exc:  # a health check reports; it does not fail
            failure = f"GET /v1/models failed ({type(exc).__name__})"
        if failure:
            return Availability(False, self._redact(failure))
        return Availability(True, f"{self._where} accepted the key (GET /v1/models)")

    async def is_available(self) -> bool:
        """The key is accepted by ``GET /v1/models`` (free, never billed). Never raises."""
        return (await self.check()).ok

    async def complete(self, request: CompletionRequest) -> Completion:
        client = self._get_client()
        model = request.model or self.model
        params = self._params(request, model)
        message = await self._send(lambda: client.messages.create(**params), model)
        request_id: str | None = getattr(message, "_request_id", None)
        log.debug(
            "claude answered",
            extra={"model": message.model, "stop_reason": message.stop_reason,
                   "request_id": request_id},
        )
        return _completion(message, model, request_id)

    async def count_tokens(self, request: CompletionRequest) -> TokenCount:
        """The input tokens of ``request`` from ``POST /v1/messages/count_tokens`` (free, not
        billed; it has its own rate limit), with the same system prompt, messages and output
        format the call would send.

        :raises LLMError: the endpoint failed (the core then estimates).
        """
        client = self._get_client()
        model = request.model or self.model
        params = self._params(request, model)
        for absent in ("max_tokens", "extra_body"):  # not parameters of the endpoint
            params.pop(absent, None)
        counted = await self._send(lambda: client.messages.count_tokens(**params), model)
        return TokenCount(counted.input_tokens, estimated=False, method="anthropic count_tokens")

    async def _send(self, call: Callable[[], Awaitable[T]], model: str) -> T:
        """One SDK call; its failure as the core's error."""
        failure: LLMError | None = None
        try:
            return await call()
        except Exception as exc:
            failure = self._map_error(exc, model)
            if failure is None:
                raise
        # Raised after the except block: the SDK error holds the request, and so the key
        # header, and must not ride along as __context__.
        raise failure

    # -- Message Batches -----------------------------------------------------------------------
    async def submit_batch(self, requests: Sequence[BatchRequest]) -> BatchStatus:
        """``POST /v1/messages/batches``: each request's ``params`` are what :meth:`complete`
        sends (the same :meth:`_params`), without the client-side timeout."""
        client = self._get_client()
        body: list[Any] = []  # the SDK's Request TypedDicts, built from the same params
        for one in requests:
            params = self._params(one.request, one.request.model or self.model)
            del params["timeout"]  # the SDK's, not the API's
            params.update(params.pop("extra_body", {}))  # in the body, as for a live call
            body.append({"custom_id": one.custom_id, "params": params})
        batch = await self._send(lambda: client.messages.batches.create(requests=body),
                                 self.model)
        log.debug("claude batch created", extra={"batch_id": batch.id,
                                                 "requests": len(requests)})
        return _batch_status(batch)

    async def poll_batch(self, batch_id: str) -> BatchStatus:
        """``GET /v1/messages/batches/{id}``."""
        client = self._get_client()
        return _batch_status(await self._send(
            lambda: client.messages.batches.retrieve(batch_id), self.model))

    async def cancel_batch(self, batch_id: str) -> BatchStatus:
        """``POST /v1/messages/batches/{id}/cancel``."""
        client = self._get_client()
        return _batch_status(await self._send(
            lambda: client.messages.batches.cancel(batch_id), self.model))

    async def batch_results(self, batch_id: str, requests: Mapping[str, CompletionRequest]
                            ) -> AsyncIterator[BatchEntry]:
        """The JSON Lines at the batch's ``results_url``: ``succeeded`` results mapped as live
        answers are, ``errored`` ones through the same error table as a live failure."""
        client = self._get_client()
        lines = await self._send(lambda: client.messages.batches.results(batch_id),
                                 self.model)
        return self._entries(lines)

    async def _entries(self, lines: AsyncIterable[Any]) -> AsyncIterator[BatchEntry]:
        iterator = aiter(lines)
        while True:
            failure: LLMError | None = None
            try:
                line = await anext(iterator)
            except StopAsyncIteration:
                return
            except Exception as exc:  # the stream broke off: the next round reads it again
                failure = self._map_error(exc, self.model) or LLMError(
                    f"reading the batch results from {self._where} failed "
                    f"({type(exc).__name__})", code=ErrorCode.CONNECTION_ERROR,
                    provider=self.name, model=self.model)
            if failure is not None:
                raise failure  # outside the except block: no SDK error attached
            yield self._entry(line)

    def _entry(self, line: Any) -> BatchEntry:
        result = line.result
        kind = result.type
        if kind == "succeeded":
            message = result.message
            return BatchEntry(line.custom_id, "succeeded",
                              completion=_completion(message, message.model or self.model,
                                                     None))
        if kind == "errored":
            error = result.error.error
            status = _STATUS_OF_TYPE.get(error.type, 500)
            return BatchEntry(line.custom_id, "errored", error=self._api_error(
                error.type, error.message, status, headers={},
                request_id=getattr(result.error, "request_id", None)))
        return BatchEntry(line.custom_id, "expired" if kind == "expired" else "canceled")

    def price_ref(self) -> PriceRef:
        """Anthropic's prices (through a proxy at ``ANTHROPIC_BASE_URL`` too)."""
        return PriceRef(provider_id="anthropic")

    def max_output_tokens(self, request: CompletionRequest) -> int:
        return self.settings.max_tokens or request.max_tokens

    async def aclose(self) -> None:
        self._closed = True
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()  # also closes an http_client passed in
        elif self._http_client is not None:
            await self._http_client.aclose()
        self._http_client = None

    def describe(self) -> Mapping[str, Any]:
        facts = dict(super().describe())
        facts.update(
            base_url=self._where,
            api_key_configured=self._api_key() is not None,
            structured_output="output_config.format (json_schema)",
        )
        return facts

    # -- request and error mapping -------------------------------------------------------------
    def _params(self, request: CompletionRequest, model: str) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": model,
            "max_tokens": self.settings.max_tokens or request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "timeout": _timeout(request.timeout, self.settings.timeout),
        }
        if request.system:
            # Top level: the Messages API has no system role. As a block marked for the prompt
            # cache when the model can cache it: the cached prefix is the system prompt, and
            # a change of output format invalidates it, so the two are measured together.
            params["system"] = request.system
            if self.settings.prompt_cache and self._cacheable(request, model):
                params["system"] = [{"type": "text", "text": request.system,
                                     "cache_control": {"type": "ephemeral"}}]
        output_config: dict[str, Any] = {}
        if request.json_schema is not None:
            output_config["format"] = {
                "type": "json_schema",
                "schema": self._api_schema(request.json_schema),
            }
        if self.settings.effort is not None:
            output_config["effort"] = self.settings.effort
        if output_config:
            params["output_config"] = output_config
        if self.settings.temperature is not None:
            # SDK 2.x dropped the keyword (current models reject sampling parameters); older
            # models still accept the field, so it goes in the body as is.
            params["extra_body"] = {"temperature": self.settings.temperature}
        return params

    def _cacheable(self, request: CompletionRequest, model: str) -> bool:
        """Whether the system prompt and the output format reach the model's minimum cacheable
        length (estimated; see :data:`_CACHE_MARGIN`)."""
        minimum = next((n for prefix, n in _MIN_CACHEABLE if model.startswith(prefix)),
                       _MIN_CACHEABLE_DEFAULT)
        size = _system_tokens(request.system)
        if request.json_schema is not None:
            size += self._schema_tokens(request.json_schema)
        return size >= minimum * _CACHE_MARGIN

    def _map_error(self, exc: Exception, model: str) -> LLMError | None:
        """The core's error for an SDK exception; ``None`` for anything that is not one."""
        import anthropic

        def err(message: str, code: ErrorCode) -> LLMError:
            return LLMError(self._redact(message), code=code, provider=self.name, model=model)

        if isinstance(exc, anthropic.APITimeoutError):
            return err("the request to the Anthropic API timed out", ErrorCode.TIMEOUT)
        if isinstance(exc, anthropic.APIConnectionError):
            return err(
                f"could not reach the Anthropic API at {self._where}: {exc.message}",
                ErrorCode.CONNECTION_ERROR,
            )
        if not isinstance(exc, anthropic.APIStatusError):
            return None

        return self._api_error(
            exc.type or "error", exc.api_message or _body_message(exc.body) or exc.message,
            exc.status_code, headers=exc.response.headers,
            request_id=exc.request_id or _body_request_id(exc.body), model=model)

    def _api_error(self, kind: str, detail: str, status: int, *, headers: Mapping[str, str],
                   request_id: str | None, model: str | None = None) -> LLMError:
        """The core's error for an API error (a live call's, or a batch request's ``errored``
        result): the core's table from the status, then what the type and message say."""
        code: ErrorCode | None = None
        if kind == "overloaded_error":
            code = ErrorCode.OVERLOADED
        elif kind == "timeout_error":
            code = ErrorCode.TIMEOUT
        elif status == 400 and "prompt is too long" in detail.lower():
            code = ErrorCode.CONTEXT_LENGTH_EXCEEDED
        return http_error(
            provider=self.name, model=model or self.model, status=status,
            where=self._where_label, detail=f"{kind}: {detail}", code=code, hints=_HINTS,
            headers=headers, request_id=request_id,
            secrets=(self._api_key(), *(self._credentials or ())))

    def _redact(self, text: str) -> str:
        # Belt and braces: no message we build may carry the key, whatever the server echoes.
        return scrub(text, self._api_key())


#: What to check, per error code (the message itself comes from the core's table).
_HINTS: Final[Mapping[ErrorCode, str]] = {
    ErrorCode.AUTHENTICATION_ERROR: f"check that {API_KEY_ENV} holds a valid key with access "
                                    "to {model!r}",
    ErrorCode.NOT_FOUND: "check CLAUDE_MODEL (now {model!r})",
}


#: The HTTP status of each error type (Anthropic's errors page), for a batch request's
#: ``errored`` result, which carries the type but no status.
_STATUS_OF_TYPE: Final[Mapping[str, int]] = {
    "invalid_request_error": 400, "authentication_error": 401, "billing_error": 402,
    "permission_error": 403, "not_found_error": 404, "request_too_large": 413,
    "rate_limit_error": 429, "api_error": 500, "timeout_error": 504, "overloaded_error": 529,
}


def _completion(message: Any, model: str, request_id: str | None) -> Completion:
    """A Messages API answer (live, or a batch's ``succeeded`` result) as the core's record."""
    text = "".join(block.text for block in message.content if block.type == "text")
    usage = message.usage
    # Claude's input_tokens leaves out what was read from and written to the prompt cache; the
    # core's counts every input token and says how many of them were which.
    read = usage.cache_read_input_tokens or 0
    written = usage.cache_creation_input_tokens or 0
    raw_finish = message.stop_reason
    return Completion(
        text=text,
        model=message.model or model,
        usage=Usage(input_tokens=usage.input_tokens + read + written,
                    output_tokens=usage.output_tokens, cache_read_tokens=read,
                    cache_write_tokens=written),
        finish_reason=_FINISH.get(raw_finish or "", FinishReason.OTHER),
        raw_finish_reason=raw_finish,
        request_id=request_id,
    )


def _batch_status(batch: Any) -> BatchStatus:
    """A ``MessageBatch`` as the core's record (its ``processing_status`` is already one of the
    core's states)."""
    counts = batch.request_counts
    return BatchStatus(
        batch.id, batch.processing_status,
        BatchCounts(processing=counts.processing, succeeded=counts.succeeded,
                    errored=counts.errored, canceled=counts.canceled, expired=counts.expired),
        raw_status=batch.processing_status)


def _api_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema in the subset structured outputs accepts.

    ``anthropic.transform_schema`` (what the SDK's own ``parse()`` uses) closes every object and
    moves unsupported keywords such as ``minimum`` into the description; the core still
    validates the answer against the full schema. A schema it cannot transform is sent as is,
    so the API, not this module, decides.
    """
    from anthropic import transform_schema

    try:
        return transform_schema(dict(schema))
    except (ValueError, TypeError):
        return dict(schema)


@functools.lru_cache(maxsize=256)
def _system_tokens(system: str) -> int:
    """The estimated tokens of a system prompt (the same few prompts come back every call)."""
    return estimate_request(CompletionRequest(system=system, messages=())).tokens


def _schema_tokens(schema: Mapping[str, Any]) -> int:
    """The estimated tokens of a schema as it is sent."""
    return estimate_request(CompletionRequest(system="", messages=(),
                                              json_schema=_api_schema(schema))).tokens


def _timeout(deadline: float | None, configured: float) -> float:
    """The configured timeout, capped by what is left of the caller's deadline."""
    if deadline is None:
        return configured
    return max(0.001, min(deadline, configured))  # an exhausted deadline times out at once


def _body_message(body: object) -> str | None:
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            return str(error["message"])
    return None


def _body_request_id(body: object) -> str | None:
    if isinstance(body, Mapping) and isinstance(body.get("request_id"), str):
        return str(body["request_id"])
    return None
