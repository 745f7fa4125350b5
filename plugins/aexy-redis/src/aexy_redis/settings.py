"""Settings of the Redis plugin: ``REDIS_URL`` plus ``AEXY_REDIS_*`` variables (or ``.env``)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from aexy.plugin_api import PluginSettings

__all__ = ["DEFAULT_URL", "RedisSettings"]

DEFAULT_URL = "redis://localhost:6379/0"


class RedisSettings(PluginSettings):
    """What the ``redis`` cache backend and rate limiter read. Keywords use the field names:
    ``RedisSettings(url="redis://cache:6379/1", timeout=0.25)``.

    The URL may hold a password, so it is a :class:`~pydantic.SecretStr` and is only ever shown
    with the credentials masked.
    """

    # A prefix rather than bare names: only REDIS_URL, the variable every Redis tool reads, is
    # taken without it.
    model_config = SettingsConfigDict(env_prefix="AEXY_REDIS_", populate_by_name=True)

    url: SecretStr = Field(
        SecretStr(DEFAULT_URL), validation_alias="REDIS_URL",
        description="REDIS_URL: redis://, rediss://, unix://, redis+sentinel://, "
        "redis+cluster:// (docs/deployment.md)",
    )
    timeout: float = Field(
        0.1, gt=0, description="AEXY_REDIS_TIMEOUT: seconds one cache or limiter operation may "
        "take (connect, send, answer and retry included)",
    )
    retries: int = Field(
        1, ge=0, description="AEXY_REDIS_RETRIES: redis-py retries of one command after a "
        "connection error (a pooled connection that died with a Redis restart)",
    )
    backoff_base: float = Field(
        0.1, ge=0, description="AEXY_REDIS_BACKOFF_BASE: seconds before Redis is tried again "
        "after the first failure of an outage; doubled after each further failure",
    )
    backoff_cap: float = Field(
        10.0, ge=0, description="AEXY_REDIS_BACKOFF_CAP: longest pause between two tries "
        "during an outage",
    )
    namespace: str = Field(
        "", description="AEXY_REDIS_NAMESPACE: prepended to every key, e.g. 'staging:', so "
        "several deployments can share one database",
    )
    max_connections: int = Field(
        64, gt=0, description="AEXY_REDIS_MAX_CONNECTIONS: connection pool size per process",
    )
    scan_batch: int = Field(
        500, gt=0, description="AEXY_REDIS_SCAN_BATCH: keys per SCAN step and per UNLINK "
        "when clearing",
    )
    sentinel_password: SecretStr | None = Field(
        None, description="AEXY_REDIS_SENTINEL_PASSWORD: password of the Sentinel processes "
        "themselves (the URL's password is the data nodes')",
    )
    limiter_timeout: float = Field(
        1.0, gt=0, description="AEXY_REDIS_LIMITER_TIMEOUT: seconds the rate limiter waits for "
        "Redis's answer before it counts Redis as unavailable (never less than "
        "AEXY_REDIS_TIMEOUT): a slow answer is still the shared budget's",
    )
    limiter_fallback_share: float = Field(
        1.0, gt=0, le=1, description="AEXY_REDIS_LIMITER_FALLBACK_SHARE: share of each limit "
        "one process may use on its own while Redis is unavailable (1/N for N processes); its "
        "local budget starts from this share of what Redis last reported left",
    )

    @field_validator("url", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if isinstance(value, str):
            return value.strip() or DEFAULT_URL
        return value

    @field_validator("namespace")
    @classmethod
    def _no_glob(cls, value: str) -> str:
        if any(c in value for c in "*?[]{}"):
            raise ValueError("AEXY_REDIS_NAMESPACE must not contain * ? [ ] { }")
        return value
