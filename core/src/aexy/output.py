"""From a model's text to a validated result: find the JSON, validate it, describe what is wrong.

Models wrap JSON in code fences or prose, prefix it with reasoning (``<think>...</think>``), or
nest the object under one wrapper key. :func:`parse_result` tries every JSON object it can find
(the whole text, fenced blocks, then each top-level object in the prose) and returns the first that
validates; when none does, the errors of the most plausible candidate are reported, compactly, so
a repair request can quote them. Validation is always against the result model: no amount of
extraction leniency lets a wrong-shaped answer through.

The plain JSON answer that structured output gives is validated first, in one pass by
pydantic-core; the search above runs only when that fails. JSON nested deeper than
:data:`MAX_ANSWER_DEPTH` levels is never a candidate: such an answer is invalid (and is asked to
be repaired), it never reaches recursive code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = [
    "MAX_ANSWER_DEPTH",
    "OutputParseError",
    "extract_json",
    "iter_json_objects",
    "parse_result",
    "repair_instructions",
    "search_result",
]

M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n?(.*?)```", re.DOTALL)
# Reasoning models may open with a thinking block (which can hold braces); only a leading one.
_THINK = re.compile(r"^\s*<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
# strict=False: a raw newline or tab inside a string (llama.cpp's JSON grammar lets models emit
# them) is still the JSON the model meant.
_decoder = json.JSONDecoder(strict=False)
_MAX_CANDIDATES = 50
# Where a JSON object may start: a brace followed by a key or by the closing brace. Braces of
# code or prose in between ("function() {", "{x}") are not even tried.
_OBJECT_START = re.compile(r'\{\s*["}]')
_MAX_FAILED_STARTS = 1000
#: Deepest JSON nesting a candidate answer may have. Result models are a few levels deep.
MAX_ANSWER_DEPTH: Final = 64
_TOO_DEEP = f"the answer nests JSON more than {MAX_ANSWER_DEPTH} levels deep"


class OutputParseError(ValueError):
    """The text holds no valid result; ``errors`` are short, quotable descriptions."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


class _Notes:
    """What the candidate search met on the way that is worth reporting."""

    __slots__ = ("too_deep",)

    def __init__(self) -> None:
        self.too_deep = False


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists and objects more than ``limit`` levels (no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


_NOT_JSON: Final = object()


def _loads(text: str, notes: _Notes) -> Any:
    """``json.loads``, or :data:`_NOT_JSON` for text that is not JSON or nests too deeply."""
    try:
        value = _decoder.decode(text)
    except json.JSONDecodeError:
        return _NOT_JSON
    except RecursionError:  # the json module's own guard: a hostile nesting depth
        notes.too_deep = True
        return _NOT_JSON
    if _deeper_than(value, MAX_ANSWER_DEPTH):
        notes.too_deep = True
        return _NOT_JSON
    return value


def _objects_in(text: str, notes: _Notes) -> Iterator[Any]:
    """Each top-level JSON object embedded in ``text``, left to right; an object's insides are
    skipped once it decodes, so nested objects are not offered on their own."""
    failures = 0
    match = _OBJECT_START.search(text)
    while match is not None:
        start = match.start()
        try:
            value, end = _decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            # Each failure costs up to the text's length (the error counts lines): bounded, so
            # a hostile answer of unclosed braces stays linear-ish, not quadratic.
            failures += 1
            if failures > _MAX_FAILED_STARTS:
                return
            match = _OBJECT_START.search(text, start + 1)
            continue
        except RecursionError:
            # Every brace inside is as deep: stop here instead of retrying each one.
            notes.too_deep = True
            return
        if _deeper_than(value, MAX_ANSWER_DEPTH):
            notes.too_deep = True
        else:
            yield value
        match = _OBJECT_START.search(text, end)


def iter_json_objects(text: str) -> Iterator[Any]:
    """Candidate JSON values in ``text``, most likely first: the whole text, fenced blocks, then
    objects embedded in prose. Duplicates are not repeated; values nested more than
    :data:`MAX_ANSWER_DEPTH` levels are left out."""
    return _candidates(text, _Notes())


def _candidates(text: str, notes: _Notes) -> Iterator[Any]:
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

    whole = _loads(text, notes)
    if whole is not _NOT_JSON and fresh(whole):
        yield whole
    for _lang, block in _FENCE.findall(text):
        block = block.strip()
        deep_before = notes.too_deep
        value = _loads(block, notes)
        if value is _NOT_JSON:
            if notes.too_deep and not deep_before:
                continue  # scanning its insides would meet the same nesting
            for value in _objects_in(block, notes):
                if count < _MAX_CANDIDATES and fresh(value):
                    yield value
            continue
        if fresh(value):
            yield value
    for value in _objects_in(text, notes):
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
    try:
        # The common case, a plain JSON answer, in one pass (pydantic-core bounds the nesting
        # itself and reports it as invalid JSON, never as a RecursionError).
        return model.model_validate_json(text)
    except ValidationError:
        pass
    return search_result(text, model)


def search_result(text: str, model: type[M]) -> M:
    """:func:`parse_result` without the fast path: try every candidate JSON value in ``text``."""
    best: tuple[int, list[str]] | None = None
    notes = _Notes()
    for value in _candidates(text, notes):
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
    if notes.too_deep:
        raise OutputParseError([_TOO_DEEP])
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
