"""The labelled evaluation set shipped with aexy-core, built by ``tools/build_eval_set.py``.

``code_cases.json``: real source files from public packages under permissive licences, each
with its origin (registry, package, version, path), the package's licence (texts in
``licences.json``) and labels derived mechanically: language, external imports, tests,
evaluation of strings as code, hard-coded credentials, type hints (Python). ``kind`` is
``code`` for the files as published, ``injection`` for a file with comment-only text that
imitates imports, tests, a credential and instructions (its labels are the original's), and
``planted`` for a file with a credential and an evaluation added as code.
``other_cases.json``: task texts with the skills they require (``task``) and developer activity
made to a burnout band (``activity``). Splits are by package: nothing of a ``test`` package is
in ``dev``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

__all__ = ["SPLITS", "Case", "load_cases", "load_licences"]

SPLITS = ("dev", "test")
Split = Literal["dev", "test", "all"]


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    split: str
    kind: str  # code | injection | planted | task | activity
    content: str
    labels: dict[str, Any]
    origin: dict[str, str]
    licence: str
    path: str = ""
    language: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def original_id(self) -> str:
        """The id of the file an injection or planted case was made from."""
        return self.id.split("-", 1)[0]


@cache
def _read(name: str) -> tuple[Case, ...]:
    raw = resources.files("aexy.eval").joinpath("data", name).read_text(encoding="utf-8")
    out = []
    for item in json.loads(raw):
        out.append(Case(id=item["id"], split=item["split"], kind=item.get("kind", "code"),
                        content=item["content"], labels=item["labels"],
                        origin=item["origin"], licence=item["licence"],
                        path=item.get("path", ""), language=item.get("language", "")))
    return tuple(out)


def load_cases(split: Split = "dev", kinds: tuple[str, ...] | None = None) -> list[Case]:
    """The cases of ``split`` (``all`` for both), optionally of some kinds only."""
    cases = [*_read("code_cases.json"), *_read("other_cases.json")]
    return [c for c in cases if (split == "all" or c.split == split)
            and (kinds is None or c.kind in kinds)]


def load_licences() -> dict[str, dict[str, str]]:
    """Package -> {licence, version, text}: the licences of the shipped files."""
    raw = resources.files("aexy.eval").joinpath("data", "licences.json").read_text(
        encoding="utf-8")
    data: dict[str, dict[str, str]] = json.loads(raw)
    return data
