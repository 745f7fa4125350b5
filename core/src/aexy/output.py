"""From a model's text to a validated result: find the JSON, validate it, describe what is wrong.

Models wrap JSON in code fences or prose, prefix it with reasoning (``<think>...</think>``), or
nest the object under one wrapper key. :func:`parse_result` tries every JSON object it can find
(the whole text, fenced blocks, then each top-level object in the prose) and returns the first that
validates; when none does, the errors of the most plausible candidate are reported, compactly, so
a repair request can quote them. Validation is always against the result model: no amount of
extraction leniency lets a wrong-shaped answer through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = [
    "OutputParseError",
    "extract_json",
    "iter_json_objects",
    "parse_result",
    "repair_instructions",
]

M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n?(.*?)```", re.DOTALL)
# Reasoning models may open with a thinking block (which can hold braces); only a leading one.
_THINK = re.compile(r"^\s*<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_decoder = json.JSONDecoder()
_MAX_CANDIDATES = 50


class OutputParseError(ValueError):
    """The text holds no valid result; ``errors`` are short, quotable descriptions."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


def _objects_in(text: str) -> Iterator[Any]:
    """Each top-level JSON object embedded in ``text``, left to right; an object's insides are
    skipped once it decodes, so nested objects are not offered on their own."""
    start = text.find("{")
    while start != -1:
        try:
            value, end = _decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        yield value
        start = text.find("{", end)


def iter_json_objects(text: str) -> Iterator[Any]:
    """Candidate JSON values in ``text``, most likely first: the whole text, fenced blocks, then
    objects embedded in prose. Duplicates are not repeated."""
    text = _THINK.sub("", text.lstrip("\ufeff"), count=1).strip()
    seen: set[str] = set()
    count = 0

    def fresh(value: Any) -> bool:
        nonlocal count
        marker = json.dumps(value, sort_keys=True, default=str)
        if marker in seen:
            return False
        seen.add(marker)
        count += 1
        return True

    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        pass
    else:
        if fresh(whole):
            yield whole
    for _lang, block in _FENCE.findall(text):
        block = block.strip()
        try:
            value = json.loads(block)
        except json.JSONDecodeError:
            for value in _objects_in(block):
                if count < _MAX_CANDIDATES and fresh(value):
                    yield value
            continue
        if fresh(value):
            yield value
    for value in _objects_in(text):
        if count >= _MAX_CANDIDATES:
            return
        if fresh(value):
            yield value


def extract_json(text: str) -> Any:
    """Return the first JSON object in ``text`` (plain, fenced, or wrapped in prose)."""
    if not text.strip():
        raise OutputParseError(["the answer is empty"])
    for value in iter_json_objects(text):
        if isinstance(value, dict):
            return value
    raise OutputParseError(["the answer contains no JSON object"])


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(err: ValidationError) -> list[str]:
    out = []
    for e in err.errors(include_url=False):
        loc = ".".join(str(p) for p in e["loc"]) or "(root)"
        if e["type"] == "missing":
            out.append(f"{loc}: required field is missing")
        elif e["type"] == "extra_forbidden":
            out.append(f"{loc}: unknown field, remove it")
        else:
            out.append(f"{loc}: {e['msg']} (got {_short(e.get('input'))})")
    return out


def _unwrapped(value: dict[str, Any]) -> dict[str, Any] | None:
    """``{"result": {...}}`` and similar one-key wrappers: the inner object."""
    if len(value) == 1:
        inner = next(iter(value.values()))
        if isinstance(inner, dict):
            return inner
    return None


def parse_result(text: str, model: type[M]) -> M:
    """Extract and validate; raises :class:`OutputParseError` with every problem found."""
    try:  # the common case, a plain JSON answer: one pass in pydantic-core, no search
        return model.model_validate_json(text)
    except ValidationError:
        pass
    if not text.strip():
        raise OutputParseError(["the answer is empty"])
    best: tuple[int, list[str]] | None = None
    for value in iter_json_objects(text):
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            value = value[0]  # a lone object wrapped in an array
        if not isinstance(value, dict):
            continue
        attempts = [value]
        inner = _unwrapped(value)
        if inner is not None:
            attempts.append(inner)
        for data in attempts:
            try:
                return model.model_validate(data)
            except ValidationError as exc:
                errors = _describe(exc)
            # The candidate with the most matching top-level keys is what the model meant.
            score = len(set(data) & set(model.model_fields))
            if best is None or score > best[0]:
                best = (score, errors)
    if best is not None:
        raise OutputParseError(best[1])
    raise OutputParseError(["the answer contains no JSON object"])


def repair_instructions(errors: list[str], schema: dict[str, Any]) -> str:
    """The follow-up message asking the same model to fix its answer."""
    listed = "\n".join(f"- {e}" for e in errors[:20])
    more = f"\n- ... and {len(errors) - 20} more" if len(errors) > 20 else ""
    return (
        "Your previous answer did not match the required JSON schema. Problems:\n"
        f"{listed}{more}\n\n"
        "Reply again with only one JSON object that satisfies this schema, with no prose and "
        "no code fences:\n"
        f"{json.dumps(schema, separators=(',', ':'))}"
    )
