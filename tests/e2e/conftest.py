"""End-to-end fixtures: the real packaged GGUF model, and ``python -m llama_cpp.server`` serving it
on a free loopback port.

These tests need llama-cpp-python (a fifteen-minute source build) and a 253 MB model, so they
run in their own environment, ``tox -e e2e``, which sets ``AEXY_E2E=1``; elsewhere they are not
collected. There, anything missing is a failure, never a skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from e2e_support import N_CTX, Server, free_port

if os.environ.get("AEXY_E2E") != "1":
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(autouse=True)
def clean_llamacpp(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LLAMACPP_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the packaged model is assembled for this run (never the user's cache)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def gguf(model_cache: Path) -> Path:
    """The packaged Gemma 3 270M, assembled by the provider's own code path."""
    from aexy_llamacpp.model_file import resolve_model_path

    return resolve_model_path(None, model_cache)


@pytest.fixture(scope="session", autouse=True)
def _release_models() -> Iterator[None]:
    yield
    from aexy_llamacpp.runtime import release_models

    release_models()


@pytest.fixture(scope="session")
def llama_server(gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python -m llama_cpp.server`` on a free loopback port, stopped after the session."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "llama_server.log"
    alias = "gemma-3-270m"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf),
             "--model_alias", alias, "--host", "127.0.0.1", "--port", str(port),
             "--n_ctx", str(N_CTX), "--chat_format", "gemma", "--verbose", "False"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_serving(process, base_url, log)
        yield Server(base_url, alias, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _wait_until_serving(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    """Poll ``GET /models`` until the server answers (bounded: two minutes)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(base_url + "/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    tail = log.read_text(errors="replace")[-3000:]
    raise RuntimeError(f"llama_cpp.server did not start (exit code {process.poll()}):\n{tail}")
