"""The installed distribution: entry point, settings from the environment, light import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from aexy.plugins import PluginHost
from aexy_ollama import OllamaProvider, OllamaSettings


def test_entry_point_registers_the_ollama_provider() -> None:
    host = PluginHost()  # entry points on: the installed aexy-ollama distribution is found
    (info,) = [p for p in host.plugins() if p.distribution == "aexy-ollama"]
    assert (info.name, info.status, info.version) == ("ollama", "active", "0.1.0")
    assert "register_providers" in info.hooks
    registry = host.providers()
    assert registry.owners["ollama"] == "aexy-ollama"
    spec = registry.get("ollama")
    assert spec is not None
    assert spec.provider_class is OllamaProvider
    assert spec.settings_class is OllamaSettings


def test_the_plugin_can_be_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEXY_DISABLE_PLUGINS", "aexy-ollama")
    host = PluginHost()
    assert "ollama" not in host.providers().names()
    assert [p.status for p in host.plugins() if p.distribution == "aexy-ollama"] == ["disabled"]


def test_importing_the_plugin_does_not_import_httpx() -> None:
    code = (
        "import sys, aexy_ollama\n"
        "from aexy.plugins import PluginHost\n"
        "assert PluginHost().providers().get('ollama') is not None\n"
        "assert 'httpx' not in sys.modules, 'httpx imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_settings_come_from_ollama_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "OLLAMA_BASE_URL": "http://10.0.0.5:11434/", "OLLAMA_MODEL": "qwen2.5-coder:7b",
        "OLLAMA_NUM_CTX": "16384", "OLLAMA_KEEP_ALIVE": "30m", "OLLAMA_READ_TIMEOUT": "300",
        "OLLAMA_CONNECT_TIMEOUT": "1.5", "OLLAMA_REQUESTS_PER_MINUTE": "30",
    }.items():
        monkeypatch.setenv(name, value)
    s = OllamaSettings()
    assert s.base_url == "http://10.0.0.5:11434"
    assert s.model == "qwen2.5-coder:7b"
    assert (s.num_ctx, s.keep_alive) == (16384, "30m")
    assert (s.read_timeout, s.connect_timeout) == (300.0, 1.5)
    assert OllamaProvider(s).limits.requests_per_minute == 30.0


def test_defaults_and_keywords(monkeypatch: pytest.MonkeyPatch) -> None:
    # Bare names are someone else's variables and must not leak into these settings.
    monkeypatch.setenv("MODEL", "gpt-4o")
    monkeypatch.setenv("BASE_URL", "http://elsewhere")
    s = OllamaSettings()
    assert (s.base_url, s.model, s.num_ctx, s.keep_alive) == (
        "http://localhost:11434", "llama3.2", None, None)
    assert (s.read_timeout, s.connect_timeout) == (120.0, 5.0)
    kw = OllamaSettings(model="mistral", base_url="127.0.0.1:11434", keep_alive="")
    assert (kw.model, kw.base_url, kw.keep_alive) == ("mistral", "http://127.0.0.1:11434", None)
    assert OllamaProvider(kw, model="phi3").model == "phi3"


def test_the_core_timeout_is_the_read_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    assert OllamaSettings().timeout == 120.0
    assert OllamaSettings(read_timeout=30).timeout == 30.0
    monkeypatch.setenv("OLLAMA_TIMEOUT", "45")
    assert (OllamaSettings().read_timeout, OllamaSettings().timeout) == (45.0, 45.0)
    monkeypatch.setenv("OLLAMA_READ_TIMEOUT", "200")  # the specific name wins
    assert (OllamaSettings().read_timeout, OllamaSettings().timeout) == (200.0, 200.0)


@pytest.mark.parametrize(("name", "value"), [
    ("OLLAMA_NUM_CTX", "0"), ("OLLAMA_READ_TIMEOUT", "-1"), ("OLLAMA_MODEL", ""),
])
def test_bad_values_are_rejected(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("OLLAMA_").lower()):
        OllamaSettings()


def test_provider_rejects_foreign_settings() -> None:
    from aexy.providers.base import ProviderSettings

    with pytest.raises(TypeError, match="OllamaSettings"):
        OllamaProvider(ProviderSettings())  # type: ignore[arg-type]
