"""The error model: one root, typed subclasses, and stable codes for provider failures.

Messages name the fix (the variable to set, the command to run) and never carry a secret.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "PROVIDER_PACKAGES",
    "RETRYABLE_CODES",
    "AexyError",
    "Attempt",
    "BatchUnsupportedError",
    "BudgetExceededError",
    "ClosedError",
    "ConfigurationError",
    "ErrorCode",
    "InvalidInputError",
    "InvalidOutputError",
    "LLMError",
    "LLMUnavailableError",
    "PluginConflictError",
    "ProviderNotFoundError",
    "UnknownAnalysisTypeError",
    "code_for_status",
]


class ErrorCode(StrEnum):
    """Stable codes for everything that can go wrong talking to a model."""

    RATE_LIMIT_EXCEEDED = "rate_limit_exceeded"
    OVERLOADED = "overloaded"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    SERVER_ERROR = "server_error"
    AUTHENTICATION_ERROR = "authentication_error"
    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded"
    INVALID_OUTPUT = "invalid_output"
    CONTENT_FILTERED = "content_filtered"
    OUTPUT_TRUNCATED = "output_truncated"
    #: The provider cannot answer this analysis (type or input) by any method it has; another
    #: provider can. Never retried.
    UNSUPPORTED = "unsupported"
    #: The call could take the spending past the budget (``AEXY_BUDGET_USD``), or its model has
    #: no known price under a budget; nothing was sent. Never retried.
    BUDGET_EXCEEDED = "budget_exceeded"
    #: A request of a provider's batch was not run before the batch's window ran out (24
    #: hours); it was not billed. Never retried by the gateway (``--retry-live`` sends it live).
    EXPIRED = "expired"
    #: A request of a provider's batch was not run because the batch was canceled; it was not
    #: billed. Never retried by the gateway (``--retry-live`` sends it live).
    CANCELED = "canceled"


#: Codes worth another attempt: the same request may succeed a moment later.
RETRYABLE_CODES: frozenset[ErrorCode] = frozenset(
    {
        ErrorCode.RATE_LIMIT_EXCEEDED,
        ErrorCode.OVERLOADED,
        ErrorCode.TIMEOUT,
        ErrorCode.CONNECTION_ERROR,
        ErrorCode.SERVER_ERROR,
    }
)


def code_for_status(status: int) -> ErrorCode:
    """The core's code for an HTTP status, the one mapping every provider starts from.

    A provider adds only what its API really says beyond the status (an error type or message
    meaning "context too long", a quota that waiting will not refill, ...).
    """
    if status in (408, 504):  # the server, or a gateway in front of it, gave up waiting
        return ErrorCode.TIMEOUT
    if status == 429:
        return ErrorCode.RATE_LIMIT_EXCEEDED
    if status in (503, 529):  # 529: Anthropic's "overloaded"
        return ErrorCode.OVERLOADED
    if status in (401, 403):
        return ErrorCode.AUTHENTICATION_ERROR
    if status == 404:
        return ErrorCode.NOT_FOUND
    if status == 413:  # the request is too large: shorten the input, as for a full context
        return ErrorCode.CONTEXT_LENGTH_EXCEEDED
    if 400 <= status < 500:
        return ErrorCode.BAD_REQUEST
    # 5xx, and anything that is not an HTTP error at all where an answer was expected.
    return ErrorCode.SERVER_ERROR


class AexyError(Exception):
    """Root of every error aexy raises on purpose."""


class ClosedError(AexyError, RuntimeError):
    """A gateway or provider was used after ``aclose()``; build a new one. Also a
    ``RuntimeError``, which is what closed objects raised before."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"{what} is closed (aclose() was called); create a new one")


class InvalidInputError(AexyError, ValueError):
    """The request was rejected before any provider was called."""


class UnknownAnalysisTypeError(InvalidInputError):
    """The analysis type is neither built in nor registered by a plugin."""

    def __init__(self, name: object, known: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        super().__init__(
            f"unknown analysis type {name!r}; known types: {', '.join(self.known)}"
        )


class ConfigurationError(AexyError):
    """Configuration is missing or wrong; ``env_var`` names the variable to set."""

    def __init__(self, message: str, *, env_var: str | None = None) -> None:
        self.env_var = env_var
        super().__init__(message)


#: Providers published from this repository, by provider name: the only distributions an
#: error message may tell anyone to install (a name built from user input could be a typosquat).
PROVIDER_PACKAGES: Mapping[str, str] = MappingProxyType({
    "claude": "aexy-claude",
    "llamacpp": "aexy-llamacpp",
    "ollama": "aexy-ollama",
    "openai": "aexy-openai",
})


class ProviderNotFoundError(ConfigurationError):
    """The requested provider is not installed (or its plugin failed to load).

    ``suggestion`` is the closest installed or published provider name (did-you-mean), and
    ``pip_command`` installs a provider published from the aexy repository, never a package
    name made up from what was typed; both are ``None`` when there is nothing to offer.
    """

    def __init__(self, name: str, installed: Sequence[str], *, reason: str | None = None) -> None:
        self.name = name
        self.installed = tuple(installed)
        known = sorted(set(self.installed) | set(PROVIDER_PACKAGES))
        close = [] if name in known else difflib.get_close_matches(name, known, n=1, cutoff=0.7)
        self.suggestion: str | None = close[0] if close else None
        wanted = name if name in PROVIDER_PACKAGES else self.suggestion
        self.pip_command: str | None = None
        if wanted is not None and wanted in PROVIDER_PACKAGES and wanted not in self.installed:
            self.pip_command = f"pip install {PROVIDER_PACKAGES[wanted]}"
        listed = ", ".join(self.installed) or "none"
        detail = f" ({reason})" if reason else ""
        message = f"provider {name!r} is not available{detail}; installed providers: {listed}."
        if self.suggestion is not None:
            message += f" Did you mean {self.suggestion!r}?"
        if self.pip_command is not None:
            message += f" To add it: {self.pip_command}"
        super().__init__(message, env_var="LLM_PROVIDER")

    def __str__(self) -> str:
        text = super().__str__()
        if self.pip_command is None:
            # Read here, not in __init__: the gateway sets env_var to the variable that named
            # the provider (LLM_PROVIDER or LLM_FALLBACK_PROVIDERS) after construction.
            text += f" Set {self.env_var} to an installed provider."
        return text


#: First-party providers with a batch API, offered when none installed has one.
_BATCH_PACKAGES = ("aexy-claude", "aexy-openai")


class BatchUnsupportedError(ConfigurationError):
    """A job asked for a provider's batch API (``--batch-api``) and the provider has none.
    ``providers`` names the installed providers that have one."""

    def __init__(self, provider: str, providers: Sequence[str]) -> None:
        self.provider = provider
        self.providers = tuple(providers)
        if self.providers:
            offer = f"providers with one: {', '.join(self.providers)} (-p NAME or LLM_PROVIDER)"
        else:
            offer = ("no installed provider has one; " + " and ".join(_BATCH_PACKAGES)
                     + f" do (pip install {_BATCH_PACKAGES[0]})")
        super().__init__(f"provider {provider!r} has no batch API; {offer}, or run the job "
                         "without --batch-api", env_var="LLM_PROVIDER")


class PluginConflictError(ConfigurationError):
    """Two distributions registered the same name for the same kind of component."""

    def __init__(self, kind: str, name: str, distributions: Sequence[str]) -> None:
        self.kind = kind
        self.name = name
        self.distributions = tuple(distributions)
        super().__init__(
            f"{kind} name {name!r} is claimed by more than one plugin: "
            f"{' and '.join(self.distributions)}; uninstall one or disable it with "
            "AEXY_DISABLE_PLUGINS",
            env_var="AEXY_DISABLE_PLUGINS",
        )


class LLMError(AexyError):
    """A provider call failed. ``code`` is an :class:`ErrorCode`; ``retryable`` follows it."""

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | str,
        provider: str = "",
        model: str = "",
        retryable: bool | None = None,
        retry_after: float | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.code = ErrorCode(code)
        self.provider = provider
        self.model = model
        self.retryable = self.code in RETRYABLE_CODES if retryable is None else retryable
        self.retry_after = retry_after
        self.status_code = status_code
        self.request_id = request_id
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        where = "/".join(p for p in (self.provider, self.model) if p)
        prefix = f"[{self.code}] {where}: " if where else f"[{self.code}] "
        return prefix + self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code.value!r}, provider={self.provider!r}, "
            f"model={self.model!r}, retryable={self.retryable}, message={self.message!r})"
        )


class BudgetExceededError(LLMError):
    """A call was refused before anything was sent: its worst-case cost does not fit in what
    is left of the budget, its model has no known price, or (``retryable``) the shared ledger
    did not answer. Amounts are in US dollars; ``setting`` names the variable to change."""

    def __init__(self, message: str, *, provider: str = "", model: str = "",
                 limit_usd: Decimal | None = None, spent_usd: Decimal | None = None,
                 reserved_usd: Decimal | None = None, needed_usd: Decimal | None = None,
                 setting: str = "AEXY_BUDGET_USD", retryable: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message, code=ErrorCode.BUDGET_EXCEEDED, provider=provider,
                         model=model, retryable=retryable, retry_after=retry_after)
        self.limit_usd = limit_usd
        self.spent_usd = spent_usd
        self.reserved_usd = reserved_usd
        self.needed_usd = needed_usd
        self.setting = setting


class InvalidOutputError(LLMError):
    """The model's answer could not be parsed or validated, even after one repair request."""

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        raw_text: str = "",
        errors: Sequence[str] = (),
    ) -> None:
        super().__init__(
            message, code=ErrorCode.INVALID_OUTPUT, provider=provider, model=model, retryable=False
        )
        self.raw_text = raw_text
        self.errors = tuple(errors)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One provider attempt that failed, as carried by :class:`LLMUnavailableError`."""

    provider: str
    model: str
    code: str
    message: str


class LLMUnavailableError(AexyError):
    """No provider produced a result; ``attempts`` lists every failure in order."""

    def __init__(self, message: str, attempts: Sequence[Attempt] = ()) -> None:
        self.attempts = tuple(attempts)
        lines = [message]
        lines += [f"  {a.provider}/{a.model}: [{a.code}] {a.message}" for a in self.attempts]
        super().__init__("\n".join(lines))

    @property
    def last_code(self) -> str | None:
        return self.attempts[-1].code if self.attempts else None
