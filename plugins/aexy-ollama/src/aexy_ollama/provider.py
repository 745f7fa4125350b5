"""The Ollama provider: ``POST /api/chat`` with the result's JSON schema as ``format``, on the
core's HTTP provider base (which owns the pooled client, credentials, the status table and
availability; httpx is imported when the first client is built). Credentials in
``OLLAMA_BASE_URL`` (a proxy in front of the server) are sent as HTTP Basic auth; the client only
ever sees the URL without them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import Field, field_validator, model_validator
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
    Usage,
    error_text,
    masked_repr_args,
)

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


class OllamaProvider(HTTPProvider):
    """Local models through a running Ollama server (``ollama serve``).

    :param settings: defaults to :class:`OllamaSettings` read from the environment.
    :param model: overrides ``OLLAMA_MODEL``.
    :param transport: an httpx transport to use instead of the network (tests pass
        ``httpx.MockTransport``).
    """

    name: ClassVar[str] = "ollama"
    settings_class: ClassVar[type[ProviderSettings]] = OllamaSettings
    default_limits: ClassVar[RateLimits] = RateLimits()  # a local server: no quota
    enforces_schema: ClassVar[bool] = True
    completion_path: ClassVar[str] = "/api/chat"
    label: ClassVar[str] = "Ollama"
    error_hints: ClassVar[Mapping[ErrorCode, str]] = {
        ErrorCode.NOT_FOUND: "pull the model with `ollama pull {model}` (or set OLLAMA_MODEL "
                             "to one that `ollama list` shows)",
        ErrorCode.TIMEOUT: "raise OLLAMA_READ_TIMEOUT or use a smaller model",
        ErrorCode.AUTHENTICATION_ERROR: "a proxy in front of it may need credentials (put them "
                                        "in OLLAMA_BASE_URL as http://user:pass@host)",
    }
    connect_hint: ClassVar[str] = ("is Ollama running? Start it with `ollama serve` or set "
                                   "OLLAMA_BASE_URL")
    timeout_hint: ClassVar[str] = ("loading a model can take a while: raise "
                                   "OLLAMA_READ_TIMEOUT, keep the model loaded with "
                                   "OLLAMA_KEEP_ALIVE, or use a smaller model")

    settings: OllamaSettings

    def __init__(self, settings: OllamaSettings | None = None, *, model: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(settings, model=model, transport=transport)
        # Each schema's JSON text, serialised once per schema object: it is most of the body.
        self._schema_text = PerSchema(_dumps)

    def client_timeout(self, cap: float | None = None) -> httpx.Timeout:
        import httpx

        s = self.settings

        def capped(value: float) -> float:
            # An exhausted deadline (cap <= 0) times out at once rather than not at all.
            return value if cap is None else max(min(value, cap), 0.001)

        return httpx.Timeout(connect=capped(s.connect_timeout), read=capped(s.read_timeout),
                             write=capped(max(s.connect_timeout, 30.0)),
                             pool=capped(s.connect_timeout))

    # -- the wire mapping ------------------------------------------------------------------------
    def build_payload(self, request: CompletionRequest) -> dict[str, Any]:
        """The ``/api/chat`` body for ``request`` (non-streaming, schema as ``format``)."""
        payload = self._payload(request, request.model or self.model)
        if request.json_schema is not None:
            payload["format"] = dict(request.json_schema)
        return payload

    def build_body(self, request: CompletionRequest, model: str) -> bytes:
        """:meth:`build_payload` as JSON bytes, with the schema's cached text spliced in."""
        text = _dumps(self._payload(request, model))
        if request.json_schema is not None:
            text = f'{text[:-1]},"format":{self._schema_text(request.json_schema)}}}'
        return text.encode()

    def _payload(self, request: CompletionRequest, model: str) -> dict[str, Any]:
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
            "model": model,
            "messages": messages,
            "stream": False,
            "options": options,
        }
        if s.keep_alive is not None:
            payload["keep_alive"] = _keep_alive_value(s.keep_alive)
        return payload

    def parse_answer(self, response: httpx.Response, model: str,
                     request: CompletionRequest) -> Completion:
        try:
            body = response.json()
        except ValueError:
            body = None
        message = body.get("message") if isinstance(body, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(body, dict) or not isinstance(content, str):
            error = body.get("error") if isinstance(body, dict) else None
            detail = f": {error}" if error else f": {error_text(response, 200)!r}"
            raise LLMError(
                f"{self.where} sent an unexpected answer to /api/chat{detail}",
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

    # -- availability ----------------------------------------------------------------------------
    async def list_models(self) -> list[str]:
        """Names of the models pulled on the server (``GET /api/tags``)."""
        response = await self.client.get(
            self.url("/api/tags"),
            timeout=self.client_timeout(self.settings.availability_timeout))
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

        from aexy.plugin_api import ClosedError

        url, wait = self.shown_url, self.settings.availability_timeout
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

    def price_ref(self) -> PriceRef:
        """The model runs on the Ollama server: its calls cost nothing per token."""
        return PriceRef(local=True)

    def describe(self) -> Mapping[str, Any]:
        return {
            **super().describe(),
            "num_ctx": self.settings.num_ctx,
            "keep_alive": self.settings.keep_alive,
            "read_timeout": self.settings.read_timeout,
        }
