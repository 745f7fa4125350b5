"""Core settings from the environment (and a ``.env`` file). Provider settings live with each
provider (``BaseLLMProvider.settings_class``)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["AexySettings"]

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
    #: ``AEXY_CACHE_BACKEND``: a registered backend name (``memory`` is built in). Unset: the
    #: one installed backend other than ``memory`` (installing ``aexy-redis`` swaps the
    #: cache), else ``memory``.
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
    #: ``REDIS_URL``: used by the ``redis`` cache backend when installed. May hold a password.
    redis_url: SecretStr | None = Field(None, validation_alias=_alias("REDIS_URL", "redis_url"))
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
    #: ``AEXY_BREAKER_THRESHOLD``: consecutive retryable failures that open a provider's
    #: circuit; ``0`` disables the breaker.
    breaker_threshold: int = Field(
        5, ge=0, validation_alias=_alias("AEXY_BREAKER_THRESHOLD", "breaker_threshold")
    )
    #: ``AEXY_BREAKER_COOLDOWN``: seconds an open circuit waits before one trial call.
    breaker_cooldown: float = Field(
        30.0, ge=0, validation_alias=_alias("AEXY_BREAKER_COOLDOWN", "breaker_cooldown")
    )
    #: ``AEXY_AVAILABILITY_TTL``: seconds an ``is_available()`` answer is reused when a
    #: fallback chain is configured; ``0`` never probes.
    availability_ttl: float = Field(
        30.0, ge=0, validation_alias=_alias("AEXY_AVAILABILITY_TTL", "availability_ttl")
    )
    #: ``AEXY_COALESCE``: identical concurrent requests share one provider call.
    coalesce: bool = Field(True, validation_alias=_alias("AEXY_COALESCE", "coalesce"))

    @model_validator(mode="after")
    def _default_prompt_limit(self) -> Self:
        # Derived rather than fixed, so raising the content limit alone keeps working.
        if self.max_prompt_chars == 0:
            self.max_prompt_chars = 2 * self.max_content_chars
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

    @field_validator("cache_backend", mode="before")
    @classmethod
    def _name_or_unset(cls, value: object) -> object:
        return (value.strip().lower() or None) if isinstance(value, str) else value

    @field_validator("llm_fallback_providers", mode="after")
    @classmethod
    def _lower_all(cls, value: list[str]) -> list[str]:
        return [v.lower() for v in value]
