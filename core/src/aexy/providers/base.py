"""The provider contract: transport only. Prompts, parsing, caching and retries live in the core."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from aexy.completion import Completion, CompletionRequest
from aexy.errors import InvalidInputError
from aexy.settings import PluginSettings

if TYPE_CHECKING:
    from aexy.analysis import AnalysisResult, AnalysisType

__all__ = ["BaseLLMProvider", "ProviderSettings", "ProviderSpec", "RateLimits"]


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Per-provider limits; ``None`` means unlimited."""

    requests_per_minute: float | None = None
    tokens_per_minute: int | None = None


class ProviderSettings(PluginSettings):
    """Base for a provider's settings, read from the environment (and ``.env``).

    Every subclass sets its own ``env_prefix``: ``SettingsConfigDict(env_prefix="OLLAMA_")``
    gives ``OLLAMA_MODEL``, ``OLLAMA_TIMEOUT``, ``OLLAMA_REQUESTS_PER_MINUTE``... A field may
    also name its variable outright with ``validation_alias`` (``ANTHROPIC_API_KEY``), but the
    prefix is still required, so no field falls back to a shared name. The plugin host reports a
    settings class without a prefix of its own (or with another provider's) when it loads the
    plugin. The base's ``AEXY_PROVIDER_`` prefix only exists so that such a class never reads
    bare, unrelated variables such as ``MODEL`` or ``TIMEOUT``.
    """

    model_config = SettingsConfigDict(env_prefix="AEXY_PROVIDER_")

    #: ``<PREFIX>MODEL``: the model used when a request names none.
    model: str = ""
    #: ``<PREFIX>REQUESTS_PER_MINUTE``: client-side request limit; unset means the provider's
    #: ``default_limits``.
    requests_per_minute: float | None = Field(default=None, gt=0)
    #: ``<PREFIX>TOKENS_PER_MINUTE``: client-side token limit (estimated, then reconciled).
    tokens_per_minute: int | None = Field(default=None, gt=0)
    #: ``<PREFIX>TIMEOUT``: seconds one call may take when the request carries no deadline.
    timeout: float = Field(default=60.0, gt=0)


class BaseLLMProvider(ABC):
    """Base class of every provider.

    Implement :meth:`complete` (one request, one answer, errors raised as
    :class:`aexy.errors.LLMError` with a core code) and :meth:`is_available` (cheap and
    never billed). Override :meth:`aclose` to release clients. A provider that talks HTTP takes
    its transport as the keyword ``transport=`` so that tests script wire answers
    (:class:`aexy.testing.ProviderContract`). ``docs/writing-plugins.md`` walks through one.

    :param settings: an instance of :attr:`settings_class` (another class is a ``TypeError``);
        read from the environment when omitted.
    :param model: overrides the configured model; ``None`` keeps it (an empty name is an
        error, not a silent fallback).
    """

    #: Registry name, e.g. ``"ollama"``.
    name: ClassVar[str] = ""
    #: Settings model read from the environment when the gateway builds the provider.
    settings_class: ClassVar[type[ProviderSettings]] = ProviderSettings
    #: Limits applied when the environment sets none.
    default_limits: ClassVar[RateLimits] = RateLimits()
    #: Whether the provider hands ``CompletionRequest.json_schema`` to an API that constrains
    #: the answer to it (structured output). ``aexy providers`` shows it, and
    #: :class:`aexy.testing.ProviderContract` checks that such a provider puts the schema on the
    #: wire. The core validates every answer either way.
    enforces_schema: ClassVar[bool] = False

    def __init__(
        self, settings: ProviderSettings | None = None, *, model: str | None = None
    ) -> None:
        cls = type(self)
        if settings is not None and not isinstance(settings, cls.settings_class):
            raise TypeError(
                f"{cls.__name__} takes {cls.settings_class.__name__}, not "
                f"{type(settings).__name__}; build one with {cls.settings_class.__name__}(...) "
                "or pass none to read the environment"
            )
        if model is not None and not model.strip():
            raise InvalidInputError(
                f"{cls.__name__}(model={model!r}): name a model, or pass None for the "
                "configured one"
            )
        self.settings = settings if settings is not None else cls.settings_class()
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
            "enforces_schema": self.enforces_schema,
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
    imported or contacted at registration.

    :param name: what ``LLM_PROVIDER`` selects; equal to ``provider_class.name``.
    :param provider_class: a :class:`BaseLLMProvider` subclass implementing ``complete``.
    :param description: one line for ``aexy providers`` (what it talks to, which variables).
    """

    name: str
    provider_class: type[BaseLLMProvider]
    description: str = ""

    @property
    def settings_class(self) -> type[ProviderSettings]:
        return self.provider_class.settings_class
