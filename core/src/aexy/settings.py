"""Core settings from the environment (and a ``.env`` file), and the base of every plugin's
settings. Provider settings live with each provider (``BaseLLMProvider.settings_class``), a
cache backend's with its record (``CacheBackendSpec.settings_class``)."""

from __future__ import annotations

import warnings
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self

from pydantic import AliasChoices, ByteSize, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["AexySettings", "PluginSettings", "env_prefix_problem", "setting_names"]

CommaList = Annotated[list[str], NoDecode]


def _alias(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class AexySettings(BaseSettings):
    """Everything the core reads from the environment. Field docs name the variable."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    #: ``LLM_PROVIDER``: the primary provider; ``offline`` needs no key and no server.
    llm_provider: str = Field("offline", validation_alias=_alias("LLM_PROVIDER", "llm_provider"))
    #: ``LLM_FALLBACK_PROVIDERS``: comma-separated providers tried after the primary.
    llm_fallback_providers: CommaList = Field(
        default_factory=list,
        validation_alias=_alias("LLM_FALLBACK_PROVIDERS", "llm_fallback_providers"),
    )
    #: ``LLM_CACHE_ENABLED``
    llm_cache_enabled: bool = Field(
        True, validation_alias=_alias("LLM_CACHE_ENABLED", "llm_cache_enabled")
    )
    #: ``LLM_CACHE_TTL``: seconds, for analysis types without their own TTL.
    llm_cache_ttl: int = Field(
        3600, ge=0, validation_alias=_alias("LLM_CACHE_TTL", "llm_cache_ttl")
    )
    #: ``AEXY_CACHE_BACKEND``: a registered backend name (``memory`` and ``sqlite`` are built
    #: in). Unset: the one backend an installed plugin registers (installing ``aexy-redis``
    #: swaps the cache), else ``sqlite`` (the embedded default).
    cache_backend: str | None = Field(
        None, validation_alias=_alias("AEXY_CACHE_BACKEND", "cache_backend")
    )
    #: ``AEXY_CACHE_MAX_ENTRIES``: bound of the in-memory tier.
    cache_max_entries: int = Field(
        1000, gt=0, validation_alias=_alias("AEXY_CACHE_MAX_ENTRIES", "cache_max_entries")
    )
    #: ``AEXY_CACHE_MEMORY_TTL``: seconds the memory tier keeps an entry at most while a shared
    #: backend is behind it, so a clear or expiry there reaches every process within this bound.
    cache_memory_ttl: float = Field(
        300.0, gt=0, validation_alias=_alias("AEXY_CACHE_MEMORY_TTL", "cache_memory_ttl")
    )
    #: ``AEXY_CACHE_TIMEOUT``: seconds one shared-backend operation may take before it counts
    #: as a miss (reads) or is dropped (writes).
    cache_timeout: float = Field(
        0.1, gt=0, validation_alias=_alias("AEXY_CACHE_TIMEOUT", "cache_timeout")
    )
    #: ``AEXY_CACHE_PATH``: the file of the built-in ``sqlite`` backend; unset:
    #: ``cache.sqlite3`` in the platform's user cache directory (``~/.cache/aexy`` on Linux).
    cache_path: str | None = Field(
        None, validation_alias=_alias("AEXY_CACHE_PATH", "cache_path")
    )
    #: ``AEXY_CACHE_MAX_BYTES``: bound of what the ``sqlite`` backend stores (``256MiB``,
    #: ``1GB`` or a number of bytes); the least recently used entries go first.
    cache_max_bytes: ByteSize = Field(
        ByteSize(256 * 1024 * 1024), gt=0,
        validation_alias=_alias("AEXY_CACHE_MAX_BYTES", "cache_max_bytes"),
    )
    #: ``AEXY_MAX_CONTENT_CHARS``: larger content is rejected before any provider is called.
    max_content_chars: int = Field(
        200_000, gt=0, validation_alias=_alias("AEXY_MAX_CONTENT_CHARS", "max_content_chars")
    )
    #: ``AEXY_MAX_PROMPT_CHARS``: bound of the whole rendered prompt (instructions, context and
    #: content together), checked before any provider is called; twice
    #: ``AEXY_MAX_CONTENT_CHARS`` when unset.
    max_prompt_chars: int = Field(
        0, ge=0, validation_alias=_alias("AEXY_MAX_PROMPT_CHARS", "max_prompt_chars")
    )
    #: ``AEXY_PROMPTS_DIR``: directory of prompt overrides (one file per type).
    prompts_dir: str | None = Field(
        None, validation_alias=_alias("AEXY_PROMPTS_DIR", "prompts_dir")
    )
    #: ``AEXY_POSTPROCESSORS``: comma-separated post-processors, applied in this order.
    postprocessors: CommaList = Field(
        default_factory=list, validation_alias=_alias("AEXY_POSTPROCESSORS", "postprocessors")
    )
    #: ``AEXY_RATE_LIMITER``: a registered rate limiter (``local`` is built in).
    rate_limiter: str = Field(
        "local", validation_alias=_alias("AEXY_RATE_LIMITER", "rate_limiter")
    )

    # -- resilience (docs/resilience.md) --------------------------------------------------------
    #: ``AEXY_MAX_ATTEMPTS``: calls per provider for one request, the first included.
    max_attempts: int = Field(
        3, ge=1, validation_alias=_alias("AEXY_MAX_ATTEMPTS", "max_attempts")
    )
    #: ``AEXY_DEADLINE_SECONDS``: overall time budget of one ``analyze()`` call, every retry,
    #: wait and fallback included.
    deadline_seconds: float = Field(
        120.0, gt=0, validation_alias=_alias("AEXY_DEADLINE_SECONDS", "deadline_seconds")
    )
    #: ``AEXY_BACKOFF_BASE``: ceiling of the first retry's jittered backoff, seconds.
    backoff_base: float = Field(
        0.5, ge=0, validation_alias=_alias("AEXY_BACKOFF_BASE", "backoff_base")
    )
    #: ``AEXY_BACKOFF_CAP``: highest backoff ceiling, seconds.
    backoff_cap: float = Field(
        20.0, ge=0, validation_alias=_alias("AEXY_BACKOFF_CAP", "backoff_cap")
    )
    #: ``AEXY_BREAKER_FAILURE_RATE``: share of a provider's recent calls (retryable failures
    #: among all answers, over ``AEXY_BREAKER_WINDOW``) that opens its circuit; ``0`` disables
    #: the breaker.
    breaker_failure_rate: float = Field(
        0.5, ge=0, le=1,
        validation_alias=_alias("AEXY_BREAKER_FAILURE_RATE", "breaker_failure_rate"),
    )
    #: ``AEXY_BREAKER_WINDOW``: seconds of recent calls the failure rate is measured over.
    breaker_window: float = Field(
        60.0, gt=0, validation_alias=_alias("AEXY_BREAKER_WINDOW", "breaker_window")
    )
    #: ``AEXY_BREAKER_MIN_CALLS``: calls the window must hold before the circuit may open.
    breaker_min_calls: int = Field(
        20, ge=1, validation_alias=_alias("AEXY_BREAKER_MIN_CALLS", "breaker_min_calls")
    )
    #: ``AEXY_BREAKER_COOLDOWN``: seconds an open circuit waits before trial calls.
    breaker_cooldown: float = Field(
        30.0, ge=0, validation_alias=_alias("AEXY_BREAKER_COOLDOWN", "breaker_cooldown")
    )
    #: ``AEXY_BREAKER_HALF_OPEN_CALLS``: trial calls a half-open circuit lets through.
    breaker_half_open_calls: int = Field(
        3, ge=1,
        validation_alias=_alias("AEXY_BREAKER_HALF_OPEN_CALLS", "breaker_half_open_calls"),
    )
    #: ``AEXY_BREAKER_THRESHOLD``: deprecated (it counted consecutive failures); ``0`` still
    #: disables the breaker, any other value is ignored with a ``DeprecationWarning``.
    breaker_threshold: int | None = Field(
        None, ge=0, validation_alias=_alias("AEXY_BREAKER_THRESHOLD", "breaker_threshold")
    )
    #: ``AEXY_AVAILABILITY_TTL``: seconds an ``is_available()`` answer is reused when a
    #: fallback chain is configured; ``0`` never probes.
    availability_ttl: float = Field(
        30.0, ge=0, validation_alias=_alias("AEXY_AVAILABILITY_TTL", "availability_ttl")
    )
    #: ``AEXY_COALESCE``: identical concurrent requests share one provider call.
    coalesce: bool = Field(True, validation_alias=_alias("AEXY_COALESCE", "coalesce"))

    # -- cost (docs/cost.md) ---------------------------------------------------------------------
    #: ``AEXY_BUDGET_USD``: the most a gateway (or, with a shared ledger, every process using
    #: the same ``AEXY_BUDGET_NAME``) may spend, in US dollars; each call's worst case is
    #: reserved before it is sent. Unset: no budget.
    budget_usd: Decimal | None = Field(
        None, ge=0, validation_alias=_alias("AEXY_BUDGET_USD", "budget_usd")
    )
    #: ``AEXY_BUDGET_ALLOW_UNPRICED``: under a budget, let calls to a model without a known
    #: price through (uncounted) instead of refusing them.
    budget_allow_unpriced: bool = Field(
        False, validation_alias=_alias("AEXY_BUDGET_ALLOW_UNPRICED", "budget_allow_unpriced")
    )
    #: ``AEXY_BUDGET_NAME``: the shared ledger's name; processes with the same name (and
    #: Redis) draw on one budget.
    budget_name: str = Field(
        "default", min_length=1, validation_alias=_alias("AEXY_BUDGET_NAME", "budget_name")
    )
    #: ``AEXY_BUDGET_LEDGER``: where the budget's spending is kept, a registered ledger
    #: (``local``, one process, is built in). Unset: the one ledger an installed plugin
    #: registers (installing ``aexy-redis`` shares the budget between processes), else
    #: ``local``.
    budget_ledger: str | None = Field(
        None, validation_alias=_alias("AEXY_BUDGET_LEDGER", "budget_ledger")
    )

    # -- batch APIs (docs/batch.md) -------------------------------------------------------------
    #: ``AEXY_BATCH_POLL_SECONDS``: seconds between the first polls of a provider's batch; the
    #: wait grows by half each poll up to ``AEXY_BATCH_POLL_MAX_SECONDS``.
    batch_poll_seconds: float = Field(
        5.0, gt=0, validation_alias=_alias("AEXY_BATCH_POLL_SECONDS", "batch_poll_seconds")
    )
    #: ``AEXY_BATCH_POLL_MAX_SECONDS``: the longest wait between two polls.
    batch_poll_max_seconds: float = Field(
        120.0, gt=0,
        validation_alias=_alias("AEXY_BATCH_POLL_MAX_SECONDS", "batch_poll_max_seconds"),
    )
    #: ``AEXY_BATCH_STORE``: the file that records the batches jobs submitted, so that a rerun
    #: resumes them; unset: ``batches.sqlite3`` in the platform's user data directory
    #: (``~/.local/share/aexy`` on Linux).
    batch_store: str | None = Field(
        None, validation_alias=_alias("AEXY_BATCH_STORE", "batch_store")
    )

    @model_validator(mode="after")
    def _default_prompt_limit(self) -> Self:
        # Derived rather than fixed, so raising the content limit alone keeps working.
        if self.max_prompt_chars == 0:
            self.max_prompt_chars = 2 * self.max_content_chars
        return self

    @model_validator(mode="after")
    def _deprecated_threshold(self) -> Self:
        if self.breaker_threshold:
            warnings.warn(
                "AEXY_BREAKER_THRESHOLD is deprecated and ignored: circuits now open on a "
                "failure rate (AEXY_BREAKER_FAILURE_RATE over AEXY_BREAKER_WINDOW seconds, once "
                "AEXY_BREAKER_MIN_CALLS calls were made); AEXY_BREAKER_THRESHOLD=0 still "
                "disables the breaker (or set AEXY_BREAKER_FAILURE_RATE=0)",
                DeprecationWarning, stacklevel=2)
        return self

    @field_validator("llm_fallback_providers", "postprocessors", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("llm_provider", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("cache_backend", "budget_ledger", mode="before")
    @classmethod
    def _name_or_unset(cls, value: object) -> object:
        return (value.strip().lower() or None) if isinstance(value, str) else value

    @field_validator("llm_fallback_providers", mode="after")
    @classmethod
    def _lower_all(cls, value: list[str]) -> list[str]:
        return [v.lower() for v in value]


class PluginSettings(BaseSettings):
    """Base of a plugin's settings: read from the environment and ``.env`` under the plugin's
    own ``env_prefix``, which every subclass must set (``SettingsConfigDict(env_prefix=
    "MYCACHE_")`` gives ``MYCACHE_URL``, ``MYCACHE_TIMEOUT``...). The plugin host reports a
    settings class without one when it loads the plugin (:func:`env_prefix_problem`).

    Keyword arguments must name a field (or a field's alias): a misspelt one is a
    ``TypeError``, never silently ignored. Unrelated variables in the environment or ``.env``
    are ignored.
    """

    model_config = SettingsConfigDict(
        env_prefix="AEXY_PLUGIN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    #: Prefixes of the bases themselves: a subclass that keeps one has declared none.
    BASE_PREFIXES: ClassVar[frozenset[str]] = frozenset({"AEXY_PLUGIN_", "AEXY_PROVIDER_"})

    def __init__(self, **values: Any) -> None:
        # pydantic-settings' own options (``_env_file``...) start with an underscore.
        unknown = sorted(k for k in values if not k.startswith("_") and
                         k not in setting_names(type(self)))
        if unknown:
            known = ", ".join(sorted(type(self).model_fields))
            raise TypeError(
                f"{type(self).__name__} got unknown setting(s) {', '.join(map(repr, unknown))}; "
                f"its settings are: {known}"
            )
        super().__init__(**values)


def setting_names(cls: type[BaseSettings]) -> set[str]:
    """Every keyword a settings class accepts: its field names and their aliases."""
    names: set[str] = set()
    for name, info in cls.model_fields.items():
        names.add(name)
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                names.add(alias)
            elif isinstance(alias, AliasChoices):
                names.update(c for c in alias.choices if isinstance(c, str))
    return names


def env_prefix_problem(cls: type[BaseSettings]) -> str | None:
    """Why ``cls`` does not declare an env prefix of its own, or ``None`` when it does."""
    prefix = str(cls.model_config.get("env_prefix") or "")
    fix = (f"add model_config = SettingsConfigDict(env_prefix=\"NAME_\") to {cls.__name__} "
           "(NAME: your plugin's name in capitals)")
    if not prefix or prefix.upper() in PluginSettings.BASE_PREFIXES:
        shared = f" and reads the shared {prefix}* variables" if prefix else ""
        return f"settings class {cls.__name__} sets no env_prefix of its own{shared}; {fix}"
    if not prefix.endswith("_"):
        return (f"settings class {cls.__name__} has env_prefix {prefix!r}, which does not end "
                f"in '_' (variables would read {prefix.upper()}MODEL); use {prefix.upper()}_")
    return None
