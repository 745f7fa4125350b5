"""The Ollama provider: ``POST /api/chat`` with the result's JSON schema as ``format``.

httpx is imported inside the methods that use it, so loading the ``aexy`` entry point (which
imports this module) stays cheap. Credentials in ``OLLAMA_BASE_URL`` (a proxy in front of the
server) are sent as HTTP Basic auth; the client only ever sees the URL without them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from aexy.completion import Completion, CompletionRequest, FinishReason, Usage
from aexy.errors import ClosedError, ErrorCode, LLMError, code_for_status
from aexy.providers.base import Availability, BaseLLMProvider, ProviderSettings, RateLimits
from aexy.redact import masked_repr_args, public_url, scrub, split_credentials
from aexy.resilience.retry import parse_retry_after
from aexy.schema import PerSchema

if TYPE_CHECKING:
    import httpx

__all__ = ["OllamaProvider", "OllamaSettings"]

_FINISH_REASONS: Mapping[str, FinishReason] = {
    "stop": FinishReason.STOP,
    "length": FinishReason.LENGTH,
}


class OllamaSettings(ProviderSettings):
    """Settings read from ``OLLAMA_*`` variables (or ``.env``); keywords use the field names.

    ``OllamaSettings(model="qwen2.5-coder")`` and ``OLLAMA_MODEL=qwen2.5-coder`` are the same.
    """

    # A prefix rather than per-field aliases: the core's ``populate_by_name`` would otherwise
    # also read bare variables such as ``MODEL`` or ``BASE_URL`` from the environment.
    model_config = SettingsConfigDict(env_prefix="OLLAMA_")

    base_url: str = Field(
        "http://localhost:11434", description="Ollama server URL (OLLAMA_BASE_URL)"
    )
    model: str = Field("llama3.2", min_length=1, description="model tag (OLLAMA_MODEL)")
    num_ctx: int | None = Field(
        None, gt=0, description="context window in tokens; the model's default when unset"
    )
    keep_alive: str | None = Field(
        None, description="how long the model stays loaded: '5m', '1h', seconds, or -1"
    )
    read_timeout: float = Field(
        120.0, gt=0, description="seconds to wait for an answer (a cold model load counts)"
    )
    connect_timeout: float = Field(5.0, gt=0, description="seconds to open a connection")
    availability_timeout: float = Field(
        2.0, gt=0, description="seconds is_available() waits for GET /api/tags"
    )

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            value = "http://" + value  # OLLAMA_HOST style "127.0.0.1:11434"
        return value

    @field_validator("keep_alive", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _one_timeout(self) -> Self:
        # The core's ``timeout`` (OLLAMA_TIMEOUT) and ``read_timeout`` are the same limit here:
        # an explicit read timeout wins, and ``timeout`` always reports the one in force.
        if "read_timeout" not in self.model_fields_set and "timeout" in self.model_fields_set:
            self.read_timeout = self.timeout
        self.timeout = self.read_timeout
        return self

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # A URL may carry proxy credentials (https://user:pass@host): never show them.
        return masked_repr_args(super().__repr_args__())


def _dumps(value: Any) -> str:
    # What httpx's json= sends (compact, UTF-8, no NaN), so the wire body is unchanged.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _keep_alive_value(value: str) -> str | int | float:
    # Ollama reads a JSON number as seconds but a string must carry a unit ("300" is rejected).
    try:
        seconds = float(value)
    except ValueError:
        return value
    if not math.isfinite(seconds):
        return value  # "inf" is no JSON number; let the server say what it accepts
    return int(seconds) if seconds.is_integer() else seconds


def _same_model(wanted: str, listed: str) -> bool:
    def norm(name: str) -> str:
        name = name.strip().lower()
        return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"

    return norm(wanted) == norm(listed)


class OllamaProvider(BaseLLMProvider):
    """Local models through a running Ollama server (``ollama serve``).

    :param settings: defaults to :class:`OllamaSettings` read from the environment.
    :param model: overrides ``OLLAMA_MODEL``.
    :param transport: an httpx transport to use instead of the network (tests pass
        ``httpx.MockTransport``).

    After :meth:`aclose` every call raises :class:`~aexy.errors.ClosedError`: a closed
    provider never opens a new client.
    """

    name: ClassVar[str] = "ollama"
    settings_class: ClassVar[type[ProviderSettings]] = OllamaSettings
    default_limits: ClassVar[RateLimits] = RateLimits()  # a local server: no quota
    enforces_schema: ClassVar[bool] = True

    settings: OllamaSettings

    def __init__(
        self,
        settings: OllamaSettings | None = None,
        *,
        model: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(settings, model=model)
        if not isinstance(self.settings, OllamaSettings):
            raise TypeError(
                f"OllamaProvider needs OllamaSettings, got {type(self.settings).__name__}"
            )
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._closed = False
        self._url, self._credentials = split_credentials(self.settings.base_url)
        self._where = public_url(self.settings.base_url)
        self._chat_url: httpx.URL | None = None  # parsed once, with the client
        # Each schema's JSON text, serialised once per schema object: it is most of the body.
        self._schema_text = PerSchema(_dumps)

    @property
    def base_url(self) -> str:
        """The server URL, without any credentials it was configured with."""
        return self._url

    # -- client --------------------------------------------------------------------------------
    def _timeout(self, cap: float | None = None) -> httpx.Timeout:
        import httpx

        s = self.settings

        def capped(value: float) -> float:
            # An exhausted deadline (cap <= 0) times out at once rather than not at all.
            return value if cap is None else max(min(value, cap), 0.001)

        return httpx.Timeout(
            connect=capped(s.connect_timeout),
            read=capped(s.read_timeout),
            write=capped(max(s.connect_timeout, 30.0)),
            pool=capped(s.connect_timeout),
        )

    @property
    def client(self) -> httpx.AsyncClient:
        """The provider's pooled client, created on first use and closed by :meth:`aclose`."""
        if self._client is None:
            if self._closed:  # never reopen: nothing would close the new client
                raise ClosedError(f"the {self.name} provider")
            import httpx

            self._client = httpx.AsyncClient(
                base_url=self._url,
                auth=httpx.BasicAuth(*self._credentials) if self._credentials else None,
                timeout=self._timeout(),
                transport=self._transport,
                # Content-Type on the client, not per request: the chat body is JSON bytes, and
                # merging request headers into the client's costs more than the header does.
                headers={"Accept": "application/json", "Content-Type": "application/json"},
                # Idle connections kept up to the pool size: concurrent callers reuse them
                # rather than open one per call (httpx keeps 20 idle by default).
                limits=httpx.Limits(max_connections=self.settings.max_connections,
                                    max_keepalive_connections=self.settings.max_connections),
            )
            # An absolute URL object: httpx neither parses nor merges it again on each call.
            self._chat_url = httpx.URL(self._url.rstrip("/") + "/api/chat")
        return self._client

    async def aclose(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- requests ------------------------------------------------------------------------------
    def build_payload(self, request: CompletionRequest) -> dict[str, Any]:
        """The ``/api/chat`` body for ``request`` (non-streaming, schema as ``format``)."""
        payload = self._payload(request)
        if request.json_schema is not None:
            payload["format"] = dict(request.json_schema)
        return payload

    def _payload(self, request: CompletionRequest) -> dict[str, Any]:
        s = self.settings
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        options: dict[str, Any] = {
            "temperature": request.temperature,
            "num_predict": request.max_tokens,
        }
        if s.num_ctx is not None:
            options["num_ctx"] = s.num_ctx
        payload: dict[str, Any] = {
            "model": request.model or self.model,
            "messages": messages,
            "stream": False,
            "options": options,
        }
        if s.keep_alive is not None:
            payload["keep_alive"] = _keep_alive_value(s.keep_alive)
        return payload

    def _body(self, payload: dict[str, Any], schema: Mapping[str, Any] | None) -> bytes:
        """:meth:`build_payload` as JSON bytes, with the schema's cached text spliced in."""
        text = _dumps(payload)
        if schema is not None:
            text = f'{text[:-1]},"format":{self._schema_text(schema)}}}'
        return text.encode()

    async def complete(self, request: CompletionRequest) -> Completion:
        import httpx

        payload = self._payload(request)
        model = payload["model"]
        body = self._body(payload, request.json_schema)
        client = self.client
        # The client's own timeouts, unless the caller's deadline is shorter.
        timeout = (httpx.USE_CLIENT_DEFAULT if request.timeout is None
                   else self._timeout(request.timeout))
        failure: LLMError | None = None
        try:
            response = await client.post(self._chat_url or "/api/chat", content=body,
                                         timeout=timeout)
        except httpx.HTTPError as exc:
            failure = self._transport_error(exc, model, request.timeout)
        if failure is not None:
            # Raised here, after the except block: the httpx exception holds the request (and
            # any Basic auth header) and must not ride along as __context__.
            raise failure
        if response.status_code >= 400:
            self._raise_status_error(response, model)
        return self._parse(response, model)

    def _parse(self, response: httpx.Response, model: str) -> Completion:
        try:
            body = response.json()
        except ValueError:
            body = None
        message = body.get("message") if isinstance(body, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(body, dict) or not isinstance(content, str):
            error = body.get("error") if isinstance(body, dict) else None
            detail = f": {error}" if error else f": {_server_error_text(response, 200)!r}"
            raise LLMError(
                f"Ollama at {self._where} sent an unexpected answer to /api/chat{detail}",
                code=ErrorCode.SERVER_ERROR, provider=self.name, model=model,
                status_code=response.status_code,
            )
        raw_reason = body.get("done_reason")
        if raw_reason is None:
            # Servers before done_reason existed only answered once generation had stopped.
            finish = FinishReason.STOP
        else:
            finish = _FINISH_REASONS.get(str(raw_reason), FinishReason.OTHER)
        return Completion(
            text=content,
            model=str(body.get("model") or model),
            usage=Usage(
                input_tokens=int(body.get("prompt_eval_count") or 0),
                output_tokens=int(body.get("eval_count") or 0),
            ),
            finish_reason=finish,
            raw_finish_reason=None if raw_reason is None else str(raw_reason),
        )

    # -- errors --------------------------------------------------------------------------------
    def _transport_error(
        self, exc: Exception, model: str, request_timeout: float | None
    ) -> LLMError:
        import httpx

        url = self._where
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            code, message = ErrorCode.CONNECTION_ERROR, (
                f"could not connect to {url}: is Ollama running at {url}? Start it with "
                "`ollama serve` or set OLLAMA_BASE_URL"
            )
        elif isinstance(exc, httpx.TimeoutException):
            limit = self.settings.read_timeout
            if request_timeout is not None and 0 < request_timeout < limit:
                limit = request_timeout
            code, message = ErrorCode.TIMEOUT, (
                f"no answer from Ollama at {url} within {limit:g}s ({type(exc).__name__}); "
                "loading a model can take a while: raise OLLAMA_READ_TIMEOUT, keep the model "
                "loaded with OLLAMA_KEEP_ALIVE, or use a smaller model"
            )
        else:
            code, message = ErrorCode.CONNECTION_ERROR, (
                f"connection to Ollama at {url} failed ({type(exc).__name__}: {exc}); "
                f"is Ollama running at {url}?"
            )
        return LLMError(message, code=code, provider=self.name, model=model)

    def _raise_status_error(self, response: httpx.Response, model: str) -> NoReturn:
        """:func:`~aexy.errors.code_for_status`, worded for Ollama (404 is a model to pull)."""
        status = response.status_code
        # A proxy may echo the credentials it was given: never pass them on.
        server = scrub(_server_error_text(response), *(self._credentials or ()))
        said = f": {server}" if server else ""
        url = self._where
        code = code_for_status(status)
        retry_after: float | None = None
        if code is ErrorCode.NOT_FOUND:
            message = (
                f"Ollama at {url} answered 404{said}. Pull the model with "
                f"`ollama pull {model}` (or set OLLAMA_MODEL to one that `ollama list` shows)"
            )
        elif code is ErrorCode.OVERLOADED:
            retry_after = parse_retry_after(response.headers)
            message = f"Ollama at {url} is busy ({status}){said}"
        elif code is ErrorCode.RATE_LIMIT_EXCEEDED:
            retry_after = parse_retry_after(response.headers)
            message = f"Ollama at {url} refused the request (429){said}"
        elif code is ErrorCode.TIMEOUT:
            message = (f"Ollama at {url} (or a proxy in front of it) gave up waiting ({status})"
                       f"{said}; raise OLLAMA_READ_TIMEOUT or use a smaller model")
        elif code is ErrorCode.SERVER_ERROR:
            message = f"Ollama at {url} failed ({status}){said}"
        elif code is ErrorCode.AUTHENTICATION_ERROR:
            message = (
                f"Ollama at {url} refused access ({status}){said}; a proxy in front of it may "
                "need credentials (put them in OLLAMA_BASE_URL as http://user:pass@host)"
            )
        elif code is ErrorCode.CONTEXT_LENGTH_EXCEEDED:
            message = f"the request is too large for Ollama at {url} ({status}){said}"
        else:
            message = f"Ollama at {url} rejected the request ({status}){said}"
        raise LLMError(
            message, code=code, provider=self.name, model=model, status_code=status,
            retry_after=retry_after,
        )

    # -- availability --------------------------------------------------------------------------
    async def list_models(self) -> list[str]:
        """Names of the models pulled on the server (``GET /api/tags``)."""
        response = await self.client.get(
            "/api/tags", timeout=self._timeout(self.settings.availability_timeout)
        )
        response.raise_for_status()
        names: list[str] = []
        for entry in response.json().get("models") or []:
            for key in ("name", "model"):
                value = entry.get(key)
                if isinstance(value, str) and value and value not in names:
                    names.append(value)
        return names

    async def check(self) -> Availability:
        """Whether the server answers ``GET /api/tags`` and has the model pulled, and if not,
        why. Never raises."""
        import httpx

        url, wait = self._where, self.settings.availability_timeout
        failure = ""
        try:
            names = await self.list_models()
        except ClosedError:
            failure = "the provider is closed"
        except (httpx.ConnectError, httpx.ConnectTimeout):
            failure = (f"server down: cannot connect to {url}; start it with `ollama serve` or "
                       "set OLLAMA_BASE_URL")
        except httpx.TimeoutException:
            failure = f"server unreachable: no answer from {url} within {wait:g}s"
        except httpx.HTTPStatusError as exc:
            failure = (f"{url} answered HTTP {exc.response.status_code} to GET /api/tags; is "
                       "it an Ollama server?")
        except (httpx.HTTPError, ValueError, AttributeError, TypeError) as exc:
            failure = f"{url} did not answer GET /api/tags like Ollama ({type(exc).__name__})"
        if failure:
            return Availability(False, failure)
        if not any(_same_model(self.model, name) for name in names):
            return Availability(False, f"model {self.model!r} is not pulled on {url}; run "
                                       f"`ollama pull {self.model}` or set OLLAMA_MODEL")
        return Availability(True, f"server up at {url}, model {self.model!r} pulled")

    async def is_available(self) -> bool:
        """True when the server answers and the configured model is pulled. Never raises."""
        return (await self.check()).ok

    def describe(self) -> Mapping[str, Any]:
        return {
            **super().describe(),
            "base_url": self._where,
            "num_ctx": self.settings.num_ctx,
            "keep_alive": self.settings.keep_alive,
            "read_timeout": self.settings.read_timeout,
        }


def _server_error_text(response: httpx.Response, limit: int = 500) -> str:
    """The server's ``{"error": "..."}`` text, or the start of a non-JSON body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error") is not None:
        text = str(body["error"])
    elif body is not None:
        text = json.dumps(body)
    else:
        text = response.text
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
