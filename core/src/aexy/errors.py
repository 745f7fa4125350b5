"""The error model: one root, typed subclasses, and stable codes for provider failures.

Messages name the fix (the variable to set, the command to run) and never carry a secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "RETRYABLE_CODES",
    "AexyError",
    "Attempt",
    "ConfigurationError",
    "ErrorCode",
    "InvalidInputError",
    "InvalidOutputError",
    "LLMError",
    "LLMUnavailableError",
    "PluginConflictError",
    "ProviderNotFoundError",
    "UnknownAnalysisTypeError",
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


class AexyError(Exception):
    """Root of every error aexy raises on purpose."""


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


class ProviderNotFoundError(ConfigurationError):
    """The requested provider is not installed (or its plugin failed to load)."""

    def __init__(self, name: str, installed: Sequence[str], *, reason: str | None = None) -> None:
        self.name = name
        self.installed = tuple(installed)
        hint = f"pip install aexy-{name}"
        listed = ", ".join(self.installed) or "none"
        detail = f" ({reason})" if reason else ""
        super().__init__(
            f"provider {name!r} is not available{detail}; installed providers: {listed}. "
            f"To add it: {hint}",
            env_var="LLM_PROVIDER",
        )
        self.pip_command = hint


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
