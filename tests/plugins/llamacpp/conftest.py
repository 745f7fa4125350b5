"""Fixtures of the llamacpp plugin tests: no LLAMACPP_* variable from the developer's shell, a GGUF
file on disk (the fake loader never reads it), and every loaded model released after each test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aexy_llamacpp.runtime import release_models


@pytest.fixture(autouse=True)
def clean_llamacpp(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("LLAMACPP_"):
            monkeypatch.delenv(name)
    yield
    release_models()


@pytest.fixture
def gguf(tmp_path: Path) -> Path:
    path = tmp_path / "qwen2.5-coder-7b-instruct-q4_k_m.gguf"
    path.write_bytes(b"GGUF\x03\x00\x00\x00")
    return path
