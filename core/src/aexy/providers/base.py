"""The provider contract: transport only. Prompts, parsing, caching and retries live in the core."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from aexy.completion import Completion, CompletionRequest

if TYPE_CHECKING:
    from aexy.analysis import AnalysisResult, AnalysisType

__all__ = ["Availability", "BaseLLMProvider", "ProviderSettings", "ProviderSpec", "RateLimits"]


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Per-provider limits; ``None`` means unlimited."""

    requests_per_minute: float | None = None
    tokens_per_minute: int | None = None


@dataclass(frozen=True, slots=True)
class Availability:
    """The answer of :meth:`BaseLLMProvider.check`: whether the provider can take requests,
    and why (``"server down: ..."``, ``"model 'x' is not pulled: ..."``, ``"key missing: ..."``).
    ``reason`` is for people; it never holds a secret."""

    ok: bool
    reason: str = ""


class ProviderSettings(BaseSettings):
    """Base for a provider's settings, read from the environment (and ``.env``).

    Subclasses set their own ``env_prefix`` (``OLLAMA_`` gives ``OLLAMA_MODEL``,
    ``OLLAMA_TIMEOUT``, ...). The base prefix only exists so that a subclass that forgets to set
    one never reads bare, unrelated variables such as ``MODEL`` or ``TIMEOUT``.
    """

    model_config = SettingsConfigDict(
        env_prefix="AEXY_PROVIDER_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    model: str = ""
    requests_per_minute: float | None = Field(default=None, gt=0)
    tokens_per_minute: int | None = Field(default=None, gt=0)
    timeout: float = Field(default=60.0, gt=0)


class BaseLLMProvider(ABC):
    """Base class of every provider.

    Implement :meth:`complete` (one request, one answer, errors raised as
    :class:`aexy.errors.LLMError` with a core code) and :meth:`is_available` (cheap and
    never billed). Override :meth:`aclose` to release clients.
    """

    #: Registry name, e.g. ``"ollama"``.
    name: ClassVar[str] = ""
    #: Settings model read from the environment when the gateway builds the provider.
    settings_class: ClassVar[type[ProviderSettings]] = ProviderSettings
    #: Limits applied when the environment sets none.
    default_limits: ClassVar[RateLimits] = RateLimits()
    #: Whether the API itself enforces ``CompletionRequest.json_schema``.
    enforces_schema: ClassVar[bool] = False

    def __init__(
        self, settings: ProviderSettings | None = None, *, model: str | None = None
    ) -> None:
        self.settings = settings if settings is not None else self.settings_class()
        self._model_override = model

    @property
    def model(self) -> str:
        """The model used when a request names none."""
        return self._model_override or self.settings.model

    @property
    def limits(self) -> RateLimits:
        d = self.default_limits
        return RateLimits(
            requests_per_minute=self.settings.requests_per_minute or d.requests_per_minute,
            tokens_per_minute=self.settings.tokens_per_minute or d.tokens_per_minute,
        )

    @abstractmethod
    async def complete(self, request: CompletionRequest) -> Completion:
        """Send one request and return the answer, or raise :class:`aexy.errors.LLMError`."""

    async def is_available(self) -> bool:
        """Whether the provider can take requests now. Cheap; never a billed call."""
        return True

    async def check(self) -> Availability:
        """:meth:`is_available` with the reason (``aexy providers --check`` shows it). Cheap and
        never billed; it never raises. Providers that can say why they are not available
        override this and answer :meth:`is_available` from it."""
        try:
            ok = await self.is_available()
        except Exception as exc:  # a health check reports, it does not fail
            return Availability(False, f"is_available() failed ({type(exc).__name__})")
        return Availability(ok, "available" if ok else "is_available() answered no")

    async def aclose(self) -> None:
        """Release network clients. Called by :meth:`aexy.LLMGateway.aclose`."""
        return None

    def describe(self) -> Mapping[str, Any]:
        """Public, secret-free facts for ``aexy providers`` and logs."""
        lim = self.limits
        return {
            "name": self.name,
            "model": self.model,
            "requests_per_minute": lim.requests_per_minute,
            "tokens_per_minute": lim.tokens_per_minute,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, model={self.model!r})"

    async def analyze(
        self,
        analysis_type: AnalysisType | str,
        content: str,
        context: Mapping[str, Any] | None = None,
    ) -> AnalysisResult:
        """The seed API: one analysis through this provider alone, without cache or fallback
        (:func:`aexy.analyze_once`)."""
        # Through the package facade, which sits above every layer: nothing below the gateway
        # imports the gateway module.
        import aexy

        return await aexy.analyze_once(self, analysis_type, content, context)


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """What ``register_providers`` returns: a class, never an instance, so nothing is
    imported or contacted at registration."""

    name: str
    provider_class: type[BaseLLMProvider]
    description: str = ""

    @property
    def settings_class(self) -> type[ProviderSettings]:
        return self.provider_class.settings_class
