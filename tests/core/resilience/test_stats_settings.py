"""``gateway.stats()`` resilience figures and the resilience settings."""

from __future__ import annotations

import pytest

from aexy.errors import ErrorCode
from aexy.settings import AexySettings
from aexy.testing import FakeProvider, FakeSettings

from .conftest import CODE, BackupProvider, GatewayFactory, err


async def test_stats_account_for_every_call_retry_and_fallback(
        make_gateway: GatewayFactory) -> None:
    primary = FakeProvider(FakeSettings(requests_per_minute=100),
                           replies=[err(ErrorCode.OVERLOADED)] * 3)
    backup = BackupProvider(replies=[])
    gw = make_gateway(primary, fallbacks=(backup,), breaker_min_calls=3)
    await gw.analyze("code_quality", CODE)
    await gw.analyze("code_quality", "y = 2")
    s = gw.stats()
    assert s["requests"] == 2
    assert s["provider_calls"] == {"fake": 3, "backup": 2}
    assert s["provider_failures"] == {"fake": 3}
    assert s["retries"] == {"fake": 2}
    assert s["errors"] == {"overloaded": 3}
    assert s["fallbacks"] == 2
    assert s["skipped"] == {"fake/fake-model:circuit_open": 1}
    assert s["unavailable"] == 0
    assert s["breakers"]["fake/fake-model"] | {"retry_in_s": 0} == {
        "state": "open", "window_calls": 3, "window_failures": 3, "window_failure_rate": 1.0,
        "failure_rate_threshold": 0.5, "window_s": 60.0, "minimum_calls": 3,
        "cooldown_s": 30.0, "retry_in_s": 0, "half_open_calls": 3, "times_opened": 1,
        "rejected": 0}
    assert s["breakers"]["backup/fake-model"]["state"] == "closed"
    assert s["rate_limiters"]["fake/fake-model"]["waits"] == 0
    assert set(s["rate_limiters"]) == {"fake/fake-model"}
    assert s["availability"]["backup/fake-model"]["available"] is True
    assert s["latency"]["backup"]["count"] == 2


def test_resilience_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AEXY_MAX_ATTEMPTS": "5", "AEXY_DEADLINE_SECONDS": "12.5",
                        "AEXY_BACKOFF_BASE": "0.1", "AEXY_BACKOFF_CAP": "4",
                        "AEXY_BREAKER_FAILURE_RATE": "0", "AEXY_BREAKER_COOLDOWN": "9",
                        "AEXY_AVAILABILITY_TTL": "2", "AEXY_COALESCE": "false",
                        "LLM_FALLBACK_PROVIDERS": "Ollama, openai"}.items():
        monkeypatch.setenv(name, value)
    s = AexySettings()
    assert (s.max_attempts, s.deadline_seconds, s.backoff_base, s.backoff_cap) == (
        5, 12.5, 0.1, 4.0)
    assert (s.breaker_failure_rate, s.breaker_cooldown, s.availability_ttl, s.coalesce) == (
        0.0, 9.0, 2.0, False)
    assert s.llm_fallback_providers == ["ollama", "openai"]


def test_defaults() -> None:
    s = AexySettings()
    assert (s.max_attempts, s.breaker_failure_rate, s.breaker_window, s.breaker_min_calls,
            s.breaker_cooldown, s.breaker_half_open_calls, s.coalesce) == (
        3, 0.5, 60.0, 20, 30.0, 3, True)
    assert s.breaker_threshold is None


@pytest.mark.parametrize(("name", "value"), [("AEXY_MAX_ATTEMPTS", "0"),
                                             ("AEXY_DEADLINE_SECONDS", "0")])
def test_bad_values_are_rejected(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        AexySettings()
