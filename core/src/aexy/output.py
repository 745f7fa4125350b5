"""From a model's text to a validated result: find the JSON, validate it, describe what is wrong.

Models wrap JSON in code fences or prose; this module finds the first JSON object that parses,
whatever surrounds it. Validation errors are rendered compactly so a repair request can quote them.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["OutputParseError", "extract_json", "parse_result", "repair_instructions"]

M = TypeVar("M", bound=BaseModel)

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_decoder = json.JSONDecoder()


class OutputParseError(ValueError):
    """The text holds no valid result; ``errors`` are short, quotable descriptions."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


def extract_json(text: str) -> Any:
    """Return the first JSON object in ``text`` (plain, fenced, or wrapped in prose)."""
    stripped = text.strip()
    if not stripped:
        raise OutputParseError(["the answer is empty"])
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    for block in _FENCE.findall(stripped):
        try:
            return json.loads(block.strip())
        except json.JSONDecodeError:
            continue
    # Prose around an object: try each "{" in turn; raw_decode stops at the object's end.
    start = stripped.find("{")
    while start != -1:
        try:
            value, _end = _decoder.raw_decode(stripped, start)
        except json.JSONDecodeError:
            start = stripped.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = stripped.find("{", start + 1)
    raise OutputParseError(["the answer contains no JSON object"])


def _describe(err: ValidationError) -> list[str]:
    out = []
    for e in err.errors(include_url=False):
        loc = ".".join(str(p) for p in e["loc"]) or "(root)"
        out.append(f"{loc}: {e['msg']}")
    return out


def parse_result(text: str, model: type[M]) -> M:
    """Extract and validate; raises :class:`OutputParseError` with every problem found."""
    data = extract_json(text)
    if not isinstance(data, dict):
        raise OutputParseError([f"expected a JSON object, got {type(data).__name__}"])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise OutputParseError(_describe(exc)) from None


def repair_instructions(errors: list[str], schema: dict[str, Any]) -> str:
    """The follow-up message asking the same model to fix its answer."""
    listed = "\n".join(f"- {e}" for e in errors[:20])
    return (
        "Your previous answer did not match the required JSON schema. Problems:\n"
        f"{listed}\n\n"
        "Reply again with only one JSON object that satisfies this schema, with no prose and "
        "no code fences:\n"
        f"{json.dumps(schema, separators=(',', ':'))}"
    )
