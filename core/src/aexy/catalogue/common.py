"""Pieces shared by the catalogue: bounded score types, shared enums, and content delimiting."""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field

Score10 = Annotated[int, Field(ge=1, le=10, description="1 (lowest) to 10 (highest)")]
Unit = Annotated[float, Field(ge=0.0, le=1.0, description="0.0 to 1.0")]


class Level(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    CRITICAL = "critical"


def delimit(content: str, tag: str = "content") -> str:
    """Put untrusted content in the prompt as data: tagged, with any closing tag neutralised."""
    safe = content.replace(f"</{tag}>", f"<\\/{tag}>")
    return f"<{tag}>\n{safe}\n</{tag}>"


def context_block(context: Mapping[str, Any], keys: tuple[str, ...] = ()) -> str:
    """Context as JSON data; ``keys`` first when given."""
    if not context:
        return ""
    ordered = {k: context[k] for k in keys if k in context}
    ordered.update({k: v for k, v in context.items() if k not in ordered})
    return delimit(json.dumps(ordered, indent=2, sort_keys=False), "context")
