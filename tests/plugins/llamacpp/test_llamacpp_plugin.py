"""The installed distribution: entry point, settings from the environment, light import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from aexy.plugins import PluginHost
from aexy.providers.base import ProviderSettings
from aexy_llamacpp import LlamaCppProvider, LlamaCppSettings


def test_entry_point_registers_the_llamacpp_provider() -> None:
    host = PluginHost()  # entry points on: the installed aexy-llamacpp distribution is found
    (info,) = [p for p in host.plugins() if p.distribution == "aexy-llamacpp"]
    assert (info.name, info.status, info.version) == ("llamacpp", "active", "0.1.0")
    spec = host.providers().get("llamacpp")
    assert spec is not None
    assert spec.provider_class is LlamaCppProvider
    assert spec.settings_class is LlamaCppSettings


def test_importing_the_plugin_imports_no_llama_cpp() -> None:
    code = (
        "import sys, aexy_llamacpp\n"
        "from aexy.plugins import PluginHost\n"
        "from aexy_llamacpp import LlamaCppProvider\n"
        "assert PluginHost().providers().get('llamacpp') is not None\n"
        "LlamaCppProvider().describe()\n"
        "assert 'llama_cpp' not in sys.modules, 'llama_cpp imported'\n"
        "assert 'numpy' not in sys.modules, 'numpy imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_settings_come_from_llamacpp_variables(monkeypatch: pytest.MonkeyPatch,
                                               gguf: Path) -> None:
    for name, value in {
        "LLAMACPP_MODEL_PATH": str(gguf), "LLAMACPP_CHAT_FORMAT": "chatml",
        "LLAMACPP_N_CTX": "4096", "LLAMACPP_N_THREADS": "2", "LLAMACPP_N_GPU_LAYERS": "-1",
        "LLAMACPP_MAX_TOKENS": "256", "LLAMACPP_MAX_ITEMS": "4", "LLAMACPP_TIMEOUT": "90",
        "LLAMACPP_CACHE_DIR": "/var/cache/models",
    }.items():
        monkeypatch.setenv(name, value)
    s = LlamaCppSettings()
    assert (s.model_path, s.chat_format, s.n_ctx, s.n_threads, s.n_gpu_layers) == (
        gguf, "chatml", 4096, 2, -1)
    assert (s.max_tokens, s.max_items, s.timeout, s.cache_dir) == (
        256, 4, 90.0, Path("/var/cache/models"))
    provider = LlamaCppProvider()
    assert provider.model == "qwen2.5-coder-7b-instruct-q4_k_m"
    assert provider.describe()["model_path"] == str(gguf)


def test_defaults_ignore_bare_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_PATH", "/elsewhere.gguf")
    monkeypatch.setenv("N_CTX", "1")
    monkeypatch.setenv("LLAMACPP_MODEL_PATH", "")  # empty is unset
    s = LlamaCppSettings()
    assert (s.model_path, s.n_ctx, s.n_threads, s.max_tokens, s.max_items) == (
        None, 8192, None, 1024, 8)
    assert LlamaCppProvider(s, model="my-name").model == "my-name"


@pytest.mark.parametrize(("name", "value"), [
    ("LLAMACPP_N_CTX", "0"), ("LLAMACPP_MAX_TOKENS", "0"), ("LLAMACPP_MAX_ITEMS", "-1"),
    ("LLAMACPP_N_THREADS", "0"), ("LLAMACPP_TIMEOUT", "-5"),
])
def test_bad_values_are_rejected(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("LLAMACPP_").lower()):
        LlamaCppSettings()


def test_provider_rejects_foreign_settings() -> None:
    with pytest.raises(TypeError, match="LlamaCppSettings"):
        LlamaCppProvider(ProviderSettings())  # type: ignore[arg-type]
