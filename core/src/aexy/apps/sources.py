"""What a file in a repository is: its language, and whether it is someone's own code.

Languages come from the file extension, with the same table the ``skill_extraction`` heuristics
use, so that the languages of activity data and of analysed samples have one spelling.
Vendored and generated files (dependencies checked in, lock files, minified or compiled
output, protocol-buffer stubs) are not the author's own work: they are left out of the lines by
language and never picked as code samples.
"""

from __future__ import annotations

import re

# One table of extensions in aexy: the offline provider's detect_language reads the same one,
# so "Python" in lines_by_language and in a sample's skills is the same name.
from aexy.providers.offline.lexicon import EXTENSIONS

__all__ = [
    "DATA_LANGUAGES",
    "is_generated_text",
    "is_vendored_or_generated",
    "language_of",
    "looks_binary",
]

#: Languages that are data or prose, not code: counted in activity, never sampled for skills.
DATA_LANGUAGES = frozenset({"JSON", "YAML", "TOML", "Markdown"})

#: Directories whose files are dependencies or build output, at any depth.
_VENDOR_DIRS = frozenset({
    "vendor", "vendors", "node_modules", "bower_components", "third_party", "third-party",
    "thirdparty", "site-packages", ".venv", "venv", "__pycache__", "dist", "build", "Pods",
    "Carthage", "Godeps", ".yarn", "generated", "__generated__",
})
#: Lock files and other files written by tools.
_TOOL_FILES = frozenset({
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "poetry.lock",
    "Pipfile.lock", "uv.lock", "pdm.lock", "Cargo.lock", "Gemfile.lock", "composer.lock",
    "go.sum", "mix.lock", "pubspec.lock", "Podfile.lock", "packages.lock.json",
})
_GENERATED_NAME = re.compile(
    r"(\.min\.(js|css)|\.map|_pb2(_grpc)?\.pyi?|\.pb\.(go|cc|h)|\.pb\.gw\.go|_grpc\.pb\.go"
    r"|\.g\.dart|\.freezed\.dart|\.designer\.cs|[._-]generated\.\w+|\.gen\.go)$",
    re.IGNORECASE)
#: Markers tools write at the top of generated files (Go's convention, @generated, ...).
_GENERATED_MARK = re.compile(
    r"(?i)@generated|\bcode generated\b.*\bdo not edit\b|\bdo not edit\b|auto-?generated")


# Plain string operations, not pathlib: these run for every file of every commit read.
def language_of(path: str) -> str | None:
    """The language of a ``/``-separated ``path`` from its extension (``Dockerfile`` by name);
    ``None`` when the extension is not a known language."""
    name = path.rpartition("/")[2]
    if name == "Dockerfile" or name.startswith("Dockerfile."):
        return "Dockerfile"
    dot = name.rfind(".")
    return EXTENSIONS.get(name[dot:].lower()) if dot > 0 else None


def is_vendored_or_generated(path: str) -> bool:
    """Whether a ``/``-separated ``path`` names vendored or generated code (by directory or
    file name)."""
    folders, _, name = path.rpartition("/")
    if name in _TOOL_FILES or _GENERATED_NAME.search(name):
        return True
    return bool(folders) and not _VENDOR_DIRS.isdisjoint(folders.split("/"))


def is_generated_text(text: str, lines: int = 5) -> bool:
    """Whether the first ``lines`` lines carry a generated-file marker."""
    head = "\n".join(text.splitlines()[:lines])
    return bool(_GENERATED_MARK.search(head))


def looks_binary(data: bytes) -> bool:
    """A NUL byte in the first 8 KiB: what git itself uses to call a file binary."""
    return b"\x00" in data[:8192]
