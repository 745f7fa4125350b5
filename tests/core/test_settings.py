from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from aexy.settings import AexySettings


def test_defaults() -> None:
    s = AexySettings()
    assert s.llm_provider == "offline"
    assert s.llm_cache_enabled is True
    assert s.llm_cache_ttl == 3600
    assert s.llm_fallback_providers == []


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_PROVIDER", " Claude ")
    monkeypatch.setenv("LLM_FALLBACK_PROVIDERS", "ollama, openai")
    monkeypatch.setenv("LLM_CACHE_TTL", "120")
    monkeypatch.setenv("LLM_CACHE_ENABLED", "false")
    monkeypatch.setenv("AEXY_POSTPROCESSORS", "a,b")
    s = AexySettings()
    assert s.llm_provider == "claude"
    assert s.llm_fallback_providers == ["ollama", "openai"]
    assert s.llm_cache_ttl == 120
    assert s.llm_cache_enabled is False
    assert s.postprocessors == ["a", "b"]


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("LLM_PROVIDER=ollama\nLLM_CACHE_TTL=5\n")
    s = AexySettings()
    assert (s.llm_provider, s.llm_cache_ttl) == ("ollama", 5)


def test_bad_values_fail_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_CACHE_TTL", "-1")
    with pytest.raises(ValidationError, match="LLM_CACHE_TTL"):
        AexySettings()


def test_provider_settings_never_read_bare_variable_names(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from aexy.providers.base import ProviderSettings
    from aexy.testing import FakeSettings

    monkeypatch.setenv("MODEL", "leaked")
    monkeypatch.setenv("TIMEOUT", "1")
    assert ProviderSettings().model == ""
    assert ProviderSettings().timeout == 60.0
    assert FakeSettings().model == "fake-model"
    monkeypatch.setenv("AEXY_FAKE_MODEL", "fake-xl")
    assert FakeSettings().model == "fake-xl"
