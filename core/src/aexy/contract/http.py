"""The HTTP provider base: everything a provider that speaks HTTP shares, so that a provider is
its wire mapping and nothing else.

:class:`HTTPProvider` owns one pooled client (sized for concurrency, built on first use, with an
injected transport for tests), the closed guard, the credentials in a base URL (sent as Basic
auth, never shown), the timeout cap, transport failures, and ``is_available()`` answered from
``check()``. A subclass writes three methods, under these names in every provider:

- :meth:`HTTPProvider.build_body`: the request body for one completion;
- :meth:`HTTPProvider.parse_answer`: the :class:`~aexy.contract.completion.Completion` in an
  answer;
- :meth:`HTTPProvider.map_error` (optional): an error answer to an ``LLMError``; the default
  reads the usual JSON error shapes and goes through :func:`http_error`, the one status -> code ->
  message table every provider shares, with the provider's own hints (:attr:`error_hints`).

``httpx`` is imported when the first client is built, never when the plugin loads.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import SecretStr

from aexy.contract.completion import Completion, CompletionRequest
from aexy.contract.provider import Availability, BaseLLMProvider, ProviderSettings
from aexy.errors import ClosedError, ErrorCode, LLMError, code_for_status
from aexy.redact import public_url, scrub, split_credentials

if TYPE_CHECKING:
    import httpx

__all__ = ["HTTPProvider", "error_text", "http_error", "parse_duration", "parse_retry_after"]


# -- how long a server asks us to wait ------------------------------------------------------------
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_TRY_AGAIN = re.compile(r"try again in\s+((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str) -> float | None:
    """``"1s"``, ``"6m0s"``, ``"120ms"``, ``"1h2m3.5s"`` (Go's duration format, which some
    servers put in rate-limit headers) or a bare number of seconds; ``None`` otherwise."""
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def parse_retry_after(headers: Mapping[str, str], message: str | None = None) -> float | None:
    """Seconds a server asks us to wait before the next request, ``None`` when it does not say.

    In order: ``retry-after-ms``; ``retry-after`` as seconds, an HTTP date (a date in the past
    means now) or a duration (``"1s"``, ``"6m0s"``); the ``x-ratelimit-reset-requests`` /
    ``-tokens`` of the exhausted bucket (or the later one when neither says it is exhausted);
    "try again in 20ms" in ``message``. Providers put the result in
    :attr:`aexy.errors.LLMError.retry_after`.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw:
        seconds = parse_duration(raw)
        if seconds is not None:
            return seconds
        try:
            return max(0.0, parsedate_to_datetime(raw).timestamp() - time.time())
        except (TypeError, ValueError, IndexError):
            pass
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


# -- one table: status -> code -> message --------------------------------------------------------
_MESSAGES: Mapping[ErrorCode, str] = {
    ErrorCode.RATE_LIMIT_EXCEEDED: "rate limited by {where} (HTTP {status}){detail}",
    ErrorCode.OVERLOADED: "{where} is overloaded (HTTP {status}){detail}",
    ErrorCode.AUTHENTICATION_ERROR: "{where} refused the credentials (HTTP {status}){detail}",
    ErrorCode.NOT_FOUND: "not found at {where} (HTTP {status}){detail}",
    ErrorCode.CONTEXT_LENGTH_EXCEEDED: "the prompt does not fit the model's context window "
                                       "(HTTP {status}){detail}",
    ErrorCode.TIMEOUT: "{where} timed out the request (HTTP {status}){detail}",
    ErrorCode.SERVER_ERROR: "{where} failed (HTTP {status}){detail}",
    ErrorCode.CONTENT_FILTERED: "{where} refused the content (HTTP {status}){detail}",
}
_TOO_LARGE = "the request is too large for {where} (HTTP {status}){detail}"
_UNEXPECTED = "unexpected answer from {where} (HTTP {status}){detail}"
_REJECTED = "{where} rejected the request (HTTP {status}){detail}"


def http_error(*, provider: str, model: str, status: int, where: str, detail: str = "",
               code: ErrorCode | None = None, hints: Mapping[ErrorCode, str] | None = None,
               headers: Mapping[str, str] | None = None, request_id: str | None = None,
               retryable: bool | None = None, secrets: Iterable[SecretStr | str | None] = (),
               ) -> LLMError:
    """The ``LLMError`` for an error answer: the code (:func:`~aexy.errors.code_for_status`
    unless the body said more), one message per code naming ``where`` and the server's
    ``detail``, the provider's hint for that code (formatted with ``model``), the wait a
    rate-limited or overloaded server asks for, and every secret in ``secrets`` scrubbed (a
    server may echo what it was sent)."""
    code = code if code is not None else code_for_status(status)
    if code is ErrorCode.CONTEXT_LENGTH_EXCEEDED and status == 413:
        template = _TOO_LARGE
    elif code is ErrorCode.SERVER_ERROR and status < 500:
        template = _UNEXPECTED
    else:
        template = _MESSAGES.get(code, _REJECTED)
    detail = " ".join(detail.split())
    message = template.format(where=where, status=status, detail=f": {detail}" if detail else "")
    hint = (hints or {}).get(code)
    if hint:
        message += f"; {hint.format(model=model)}"
    retry_after = None
    if code in (ErrorCode.RATE_LIMIT_EXCEEDED, ErrorCode.OVERLOADED) and headers is not None:
        retry_after = parse_retry_after(headers, detail)
    return LLMError(scrub(message, *secrets), code=code, provider=provider, model=model,
                    retryable=retryable, retry_after=retry_after, status_code=status,
                    request_id=request_id)


# -- the base -------------------------------------------------------------------------------------
class HTTPProvider(BaseLLMProvider):
    """Base of a provider that speaks HTTP (see the module docs for what it owns).

    Its settings need a ``base_url`` (credentials in it are sent as Basic auth and never
    shown), and may have an ``api_key`` (a :class:`~pydantic.SecretStr`, scrubbed from every
    message); ``timeout`` and ``max_connections`` come from
    :class:`~aexy.contract.provider.ProviderSettings`.

    :param settings: an instance of :attr:`settings_class`; read from the environment when
        omitted.
    :param model: overrides the configured model.
    :param transport: an httpx transport instead of the network (tests pass
        ``httpx.MockTransport``; :class:`aexy.testing.ProviderContract` does).

    After :meth:`aclose` every call raises :class:`~aexy.errors.ClosedError`: a closed provider
    never opens a new client.
    """

    #: The path of a completion, relative to the base URL. An API that carries the model in the
    #: URL overrides :meth:`endpoint` instead.
    completion_path: ClassVar[str] = ""
    #: A free, unbilled ``GET`` that answers 200 when the server is up (the default
    #: :meth:`check`); ``None``: the subclass overrides :meth:`check`.
    health_path: ClassVar[str | None] = None
    #: What messages call the server: ``"{label} at {url}"``, or the URL alone when empty.
    label: ClassVar[str] = ""
    #: Advice added to an error's message, per code; ``{model}`` is replaced. Name the variable
    #: to check (``"check ACME_API_KEY"``).
    error_hints: ClassVar[Mapping[ErrorCode, str]] = {}
    #: The hint of a transport failure (connection refused, DNS, TLS).
    connect_hint: ClassVar[str] = "check the base URL and that the server runs"
    #: The hint of a timeout.
    timeout_hint: ClassVar[str] = "raise the timeout or check the server's load"

    def __init__(self, settings: ProviderSettings | None = None, *, model: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(settings, model=model)
        configured = str(getattr(self.settings, "base_url", "") or "").strip().rstrip("/")
        # Parsed once: the URL without credentials is what the client and every message see.
        self.base_url, self._credentials = split_credentials(configured)
        #: The configured URL as people may see it (credentials masked).
        self.shown_url = public_url(configured)
        self.where = f"{self.label} at {self.shown_url}" if self.label else self.shown_url
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._closed = False
        self._urls: dict[str, httpx.URL] = {}

    # -- what a subclass writes ------------------------------------------------------------------
    def build_body(self, request: CompletionRequest, model: str) -> bytes:
        """The body of the completion request (JSON bytes)."""
        raise NotImplementedError(f"{type(self).__name__}.build_body()")

    def parse_answer(self, response: httpx.Response, model: str,
                     request: CompletionRequest) -> Completion:
        """The completion in a successful answer; raise ``LLMError`` for one that is not."""
        raise NotImplementedError(f"{type(self).__name__}.parse_answer()")

    def endpoint(self, model: str) -> str:
        """The path of a completion for ``model``: :attr:`completion_path` by default. An API
        that carries the model in the URL (``/v1beta/models/{model}:generateContent``)
        overrides this."""
        return self.completion_path

    def map_error(self, response: httpx.Response, model: str) -> LLMError:
        """The ``LLMError`` for an error answer: the server's message (the ``{"error":
        {"message", "code"}}``, ``{"error": "..."}`` and ``{"message": ...}`` shapes, else the
        start of the body) through :func:`http_error` with :attr:`error_hints`. Override to
        read what a body says beyond the status (a context-length code, a quota)."""
        return self.error(response, model, error_text(response))

    # -- what the base does ------------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        """Headers every request carries: JSON, and ``Authorization: Bearer`` when the settings
        have an ``api_key``. Override to name the key's header another way."""
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        key = self.api_key()
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def api_key(self) -> str | None:
        """The configured ``api_key`` (never logged, never shown), or ``None``."""
        secret = getattr(self.settings, "api_key", None)
        if isinstance(secret, SecretStr):
            return secret.get_secret_value() or None
        return secret if isinstance(secret, str) and secret else None

    def client_timeout(self, cap: float | None = None) -> httpx.Timeout:
        """The client's timeouts: the configured ``timeout``, capped by ``cap`` (what is left of
        a caller's deadline). Override for separate connect and read timeouts."""
        import httpx

        limit = self.settings.timeout
        return httpx.Timeout(limit if cap is None else max(min(limit, cap), 0.001))

    @property
    def client(self) -> httpx.AsyncClient:
        """The pooled client, built on first use and closed by :meth:`aclose`."""
        if self._client is None:
            if self._closed:  # never reopen: nothing would close the new client
                raise ClosedError(f"the {self.name} provider")
            import httpx

            from aexy.contract.transport import PoolTransport

            # httpcore2's pool behind httpx's API (contract/transport.py says why: no slot
            # lost to a cancelled attempt, no quadratic scan under concurrency), every
            # connection kept while idle so that concurrent callers reuse them; a test's
            # transport instead when one is given.
            transport = self._transport or PoolTransport(
                max_connections=self.settings.max_connections,
                name=f"the {self.name} provider's pool ({self.shown_url})")
            self._client = httpx.AsyncClient(
                transport=transport, headers=self.headers(),
                auth=httpx.BasicAuth(*self._credentials) if self._credentials else None,
                timeout=self.client_timeout(), follow_redirects=False)
        return self._client

    def url(self, path: str) -> httpx.URL:
        """The absolute URL of ``path`` under the base URL, parsed once."""
        found = self._urls.get(path)
        if found is None:
            import httpx

            found = self._urls[path] = httpx.URL(self.base_url + path)
        return found

    async def complete(self, request: CompletionRequest) -> Completion:
        model = request.model or self.model
        response = await self.post(self.endpoint(model), self.build_body(request, model), model,
                                   request.timeout)
        if response.status_code >= 400:
            raise self.map_error(response, model)
        return self.parse_answer(response, model, request)

    async def post(self, path: str, body: bytes, model: str,
                   remaining: float | None = None) -> httpx.Response:
        """One ``POST`` under the client's timeouts, or under ``remaining`` seconds (what is
        left of the caller's deadline) when that is shorter. A transport failure becomes an
        ``LLMError``."""
        return await self.send("POST", path, model, content=body, remaining=remaining)

    async def send(self, method: str, path: str, model: str, *, content: bytes | None = None,
                   headers: Mapping[str, str] | None = None, remaining: float | None = None,
                   stream: bool = False) -> httpx.Response:
        """One request to ``path`` under the base URL, as :meth:`post` sends it; ``headers``
        replace the client's (a multipart upload's ``Content-Type``). With ``stream``, the
        body is left to the caller to read and close (``aiter_lines()``, ``aclose()``)."""
        import httpx

        client = self.client
        timeout = remaining
        limit = (httpx.USE_CLIENT_DEFAULT if timeout is None or timeout >= self.settings.timeout
                 else self.client_timeout(timeout))
        failure: LLMError | None = None
        try:
            if method == "POST" and headers is None and not stream:
                return await client.post(self.url(path), content=content, timeout=limit)
            request = client.build_request(method, self.url(path), content=content,
                                           headers=headers, timeout=limit)
            return await client.send(request, stream=stream)
        except httpx.ConnectTimeout:  # the server was never reached: a connection failure
            failure = LLMError(f"cannot connect to {self.where} (ConnectTimeout); "
                               f"{self.connect_hint}", code=ErrorCode.CONNECTION_ERROR,
                               provider=self.name, model=model)
        except httpx.TimeoutException:
            seconds = self.settings.timeout if timeout is None else min(timeout,
                                                                        self.settings.timeout)
            failure = LLMError(f"no answer from {self.where} within {seconds:.3g}s; "
                               f"{self.timeout_hint}", code=ErrorCode.TIMEOUT,
                               provider=self.name, model=model)
        except httpx.TransportError as exc:
            failure = LLMError(f"cannot connect to {self.where} ({type(exc).__name__}); "
                               f"{self.connect_hint}", code=ErrorCode.CONNECTION_ERROR,
                               provider=self.name, model=model)
        # Raised here, after the except block: the httpx exception holds the request, whose
        # headers hold the key, and must not ride along as __context__.
        raise failure

    def error(self, response: httpx.Response, model: str, detail: str, *,
              code: ErrorCode | None = None, retryable: bool | None = None,
              status: int | None = None) -> LLMError:
        """:func:`http_error` for ``response``, with this provider's hints and secrets."""
        return self.status_error(status or response.status_code, response.headers, model,
                                 detail, code=code, retryable=retryable)

    def status_error(self, status: int, headers: Mapping[str, str], model: str, detail: str,
                     *, code: ErrorCode | None = None, retryable: bool | None = None
                     ) -> LLMError:
        """:meth:`error` for a status and headers without a response of their own (a request
        of a batch, whose answer is a line of the batch's results)."""
        return http_error(
            provider=self.name, model=model, status=status, where=self.where, detail=detail,
            code=code, hints=self.error_hints, headers=headers,
            request_id=headers.get("x-request-id"), retryable=retryable,
            secrets=(self.api_key(), *(self._credentials or ())))

    async def check(self) -> Availability:
        """``GET`` :attr:`health_path` answered 200 within a few seconds (free, never billed;
        never raises), or why not."""
        if self.health_path is None:
            return await super().check()
        response, failure = await self.probe(self.health_path)
        if response is None:
            return Availability(False, failure)
        status = response.status_code
        if status == 200:
            return Availability(True, f"{self.where} answered GET {self.health_path}")
        if status in (401, 403):
            return Availability(False, f"{self.where} refused the credentials (HTTP {status}) "
                                       f"to GET {self.health_path}")
        return Availability(False, f"{self.where} answered HTTP {status} to GET "
                                   f"{self.health_path}")

    async def probe(self, path: str, within: float = 5.0
                    ) -> tuple[httpx.Response | None, str]:
        """``GET path`` within ``within`` seconds (capped by the configured timeout): the
        response, or ``None`` and why there is none. Never raises."""
        import httpx

        limit = min(within, self.settings.timeout)
        try:
            return await self.client.get(self.url(path), timeout=self.client_timeout(limit)), ""
        except ClosedError:
            return None, "the provider is closed"
        except httpx.TimeoutException:
            return None, f"endpoint unreachable: no answer from {self.where} within {limit:g}s"
        except httpx.TransportError as exc:
            return None, (f"endpoint unreachable: cannot connect to {self.where} "
                          f"({type(exc).__name__}); {self.connect_hint}")
        except Exception as exc:  # a health check reports; it does not fail
            return None, f"GET {path} failed ({type(exc).__name__})"

    async def is_available(self) -> bool:
        """:meth:`check` said yes. Cheap, never billed, never raises."""
        return (await self.check()).ok

    async def aclose(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def describe(self) -> Mapping[str, Any]:
        return {**super().describe(), "base_url": self.shown_url,
                "api_key_set": self.api_key() is not None}

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, model={self.model!r}, "
                f"base_url={self.shown_url!r})")


def error_text(response: httpx.Response, limit: int = 500) -> str:
    """The server's error message: ``{"error": {"message": ...}}``, ``{"error": "..."}``,
    ``{"message": ...}`` or ``{"detail": ...}``, else the start of the body."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    text = ""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            text = str(error.get("message") or error.get("detail") or "")
        elif isinstance(error, str):
            text = error
        else:
            text = str(body.get("message") or body.get("detail") or "")
    if not text:
        text = response.text if body is None else ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
