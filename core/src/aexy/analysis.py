"""Analysis records: the type enum, the spec a type is registered with, the request, the result."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, PrivateAttr
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import CoreSchema

from aexy.errors import InvalidInputError

if TYPE_CHECKING:
    from aexy.prompts import Prompt

__all__ = [
    "MAX_CONTEXT_DEPTH",
    "AnalysisRequest",
    "AnalysisResult",
    "AnalysisSpec",
    "AnalysisType",
    "Provenance",
    "ProviderJsonSchema",
    "canonical_json",
    "check_prompt_size",
    "provider_json_schema",
]


class AnalysisType(StrEnum):
    """The built-in analysis types. Plugins add more by name via ``register_analysis_types``."""

    # code
    CODE_QUALITY = "code_quality"
    CODE_COMPLEXITY = "code_complexity"
    SKILL_EXTRACTION = "skill_extraction"
    # developer
    DEVELOPER_PROFILE = "developer_profile"
    SOFT_SKILLS = "soft_skills"
    GROWTH_TRAJECTORY = "growth_trajectory"
    # task
    TASK_SIGNALS = "task_signals"
    TASK_MATCHING = "task_matching"
    # predictive
    ATTRITION_RISK = "attrition_risk"
    BURNOUT_RISK = "burnout_risk"
    PERFORMANCE_TRAJECTORY = "performance_trajectory"
    TEAM_HEALTH = "team_health"
    # career
    LEARNING_PATH = "learning_path"
    JOB_DESCRIPTION = "job_description"
    INTERVIEW_RUBRIC = "interview_rubric"


class Provenance(BaseModel):
    """Where a result came from. Not part of the result's schema or its cached value."""

    model_config = ConfigDict(frozen=True)

    analysis_type: str
    provider: str
    model: str
    cache_hit: bool = False
    cache_tier: str | None = None
    coalesced: bool = False
    attempts: int = 1
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    spec_version: str = ""
    prompt_version: str = ""
    repaired: bool = False
    #: Answered by a provider after the primary in the fallback chain.
    fallback: bool = False
    #: Provider calls repeated after a retryable failure (all providers together).
    retries: int = 0
    #: Every failed or skipped step before the answer, as ``"provider/model: code"``.
    failures: tuple[str, ...] = ()
    #: Time spent waiting for the rate limiter.
    rate_limit_wait_ms: float = 0.0


class AnalysisResult(BaseModel):
    """Base of every typed result. ``provenance`` is attached by the gateway."""

    model_config = ConfigDict(extra="forbid")

    _provenance: Provenance | None = PrivateAttr(default=None)

    @property
    def provenance(self) -> Provenance:
        if self._provenance is None:
            raise AttributeError("this result was not produced by a gateway and has no provenance")
        return self._provenance


#: Builds the user prompt from the content and the context.
UserPromptBuilder = Callable[[str, Mapping[str, Any]], str]


@dataclass(frozen=True)  # no slots: the schema and its hash are cached on the instance
class AnalysisSpec:
    """Everything the core needs to run one analysis type; what ``register_analysis_types``
    returns.

    :param name: the type's name, e.g. ``"skill_extraction"``.
    :param result_model: pydantic model of the result; its JSON schema is sent to providers.
    :param system_prompt: the built-in system prompt.
    :param build_user_prompt: ``(content, context) -> str``; content must go in as delimited data.
    :param version: bump when the prompt or schema changes (it is part of the cache key).
    :param ttl: cache TTL in seconds; ``None`` uses ``LLM_CACHE_TTL``.
    :param context_keys: documented context keys and what they mean.
    """

    name: str
    result_model: type[AnalysisResult]
    system_prompt: str
    build_user_prompt: UserPromptBuilder
    version: str = "1"
    ttl: int | None = None
    description: str = ""
    input_description: str = ""
    context_keys: Mapping[str, str] = field(default_factory=dict)
    max_tokens: int = 4096

    @cached_property
    def json_schema(self) -> dict[str, Any]:
        return provider_json_schema(self.result_model)

    @cached_property
    def schema_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.json_schema).encode()).hexdigest()[:16]

    @cached_property
    def prompt_fingerprint(self) -> str:
        """A hash of the built-in prompt: the system prompt and the user prompt rendered for a
        fixed sample (with every documented context key set). It goes into the built-in prompt
        version, so editing a prompt changes the cache key even if ``version`` is not bumped."""
        sample_context = {key: f"<{key}>" for key in sorted(self.context_keys)}
        try:
            sample = self.build_user_prompt("<sample content>", sample_context)
        except Exception:  # a builder that needs real context values: hash the system prompt
            sample = ""
        material = canonical_json([self.system_prompt, sample])
        return hashlib.sha256(material.encode()).hexdigest()[:12]


class ProviderJsonSchema(GenerateJsonSchema):
    """Pydantic's JSON schema, reshaped to the subset every structured-output API accepts.

    - every object lists all its properties in ``required`` (OpenAI strict mode demands it;
      pydantic still fills defaults when a model omits a defaulted field);
    - no ``default`` and no per-property ``title`` (noise, and not accepted everywhere);
    - enums are inlined, and a ``$ref`` to an object carries no sibling keyword (OpenAI rejects
      ``{"$ref": ..., "description": ...}``).
    """

    def generate(self, schema: CoreSchema, mode: JsonSchemaMode = "validation"
                 ) -> JsonSchemaValue:
        result = super().generate(schema, mode)
        defs: dict[str, Any] = result.get("$defs", {})
        inlinable = {name for name, d in defs.items() if "enum" in d}
        out: dict[str, Any] = _reshape(result, defs, inlinable, top=True)
        if "$defs" in out:
            out["$defs"] = {k: v for k, v in out["$defs"].items() if k not in inlinable}
            if not out["$defs"]:
                del out["$defs"]
        return out


def _reshape(node: Any, defs: Mapping[str, Any], inlinable: set[str], *, top: bool = False
             ) -> Any:
    if isinstance(node, list):
        return [_reshape(v, defs, inlinable) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if name in inlinable:
            merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
            merged.pop("title", None)
            return _reshape(merged, defs, inlinable)
        return {"$ref": ref}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "default" or (key == "title" and not top):
            continue
        if key in ("properties", "$defs"):
            out[key] = {k: _reshape(v, defs, inlinable, top=key == "$defs")
                        for k, v in value.items()}
        else:
            out[key] = _reshape(value, defs, inlinable)
    if out.get("type") == "object" and "properties" in out:
        out["required"] = list(out["properties"])
    return out


def provider_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The schema sent to providers for ``model`` (see :class:`ProviderJsonSchema`)."""
    return model.model_json_schema(schema_generator=ProviderJsonSchema)


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no whitespace); raises ``TypeError`` on non-JSON data."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


#: How deeply a context may nest: the context mapping itself is level 1, a list or mapping
#: inside it level 2, and so on. Real contexts are a few levels deep; the bound keeps hostile
#: input (or a cycle) from reaching anything recursive (the JSON encoder, the prompt).
MAX_CONTEXT_DEPTH: Final = 64

# A path into the context built only when an error needs it: (key or index, parent trail).
_Trail = tuple["str | int", "_Trail"] | None


def _path(trail: _Trail) -> str:
    parts: list[str] = []
    while trail is not None:
        key, trail = trail
        parts.append(f"[{key!r}]")
    return "".join(reversed(parts))


def _surrogate_at(text: str) -> int | None:
    """Index of the first lone surrogate in ``text`` (which no UTF-8 encoder accepts), or None."""
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def _check_text(text: str, what: str) -> None:
    at = _surrogate_at(text)
    if at is not None:  # raised here, outside the except: no UnicodeEncodeError attached
        raise InvalidInputError(
            f"{what} holds a lone surrogate (U+{ord(text[at]):04X}) at index {at}, which is not "
            "valid Unicode text; decode the input with errors='replace' or fix its encoding"
        )


def _check_json(value: Any) -> None:
    """Strict JSON, walked without recursion: json.dumps would accept tuples and coerce int
    keys silently, so the cache key and the prompt see exactly what the caller passed."""
    stack: list[tuple[Any, int, _Trail]] = [(value, 1, None)]
    while stack:
        node, depth, trail = stack.pop()
        if node is None or isinstance(node, bool | int):
            continue
        if isinstance(node, str):
            _check_text(node, f"context{_path(trail)}")
            continue
        if isinstance(node, float):
            if not math.isfinite(node):
                raise InvalidInputError(
                    f"context{_path(trail)} is {node!r}, which JSON cannot represent")
            continue
        if not isinstance(node, Mapping | list | tuple):
            raise InvalidInputError(
                f"context{_path(trail)} is a {type(node).__name__}, which is not "
                "JSON-serialisable"
            )
        if depth > MAX_CONTEXT_DEPTH:
            raise InvalidInputError(
                f"context{_path(trail)} is nested more than {MAX_CONTEXT_DEPTH} levels deep "
                "(or refers to itself); flatten it"
            )
        children: list[tuple[Any, int, _Trail]] = []
        if isinstance(node, Mapping):
            for k, v in node.items():
                if not isinstance(k, str):
                    raise InvalidInputError(f"context{_path(trail)} has a non-string key {k!r}")
                _check_text(k, f"a key of context{_path(trail)}")
                children.append((v, depth + 1, (k, trail)))
        else:
            children = [(v, depth + 1, (i, trail)) for i, v in enumerate(node)]
        stack.extend(reversed(children))  # report problems left to right


def check_prompt_size(prompt: Prompt, max_prompt_chars: int) -> None:
    """Refuse a rendered prompt (system and user text together) above ``max_prompt_chars``
    (``AEXY_MAX_PROMPT_CHARS``) before any provider sees it: content has its own limit, but a
    large context (or a prompt override) makes the prompt itself large."""
    size = len(prompt.system) + len(prompt.user)
    if size > max_prompt_chars:
        raise InvalidInputError(
            f"the prompt is {size:,} characters (instructions, context and content together), "
            f"above the limit of {max_prompt_chars:,}; shorten the content or the context, or "
            "set AEXY_MAX_PROMPT_CHARS to change it"
        )


@dataclass(frozen=True, slots=True)
class AnalysisRequest:
    """A validated request. Build with :meth:`create`, which raises
    :class:`~aexy.errors.InvalidInputError` for bad input before any provider is involved."""

    analysis_type: str
    content: str
    context: Mapping[str, Any]
    context_json: str

    @classmethod
    def create(
        cls,
        analysis_type: str,
        content: object,
        context: object,
        *,
        max_content_chars: int,
        max_prompt_chars: int | None = None,
    ) -> AnalysisRequest:
        """Validate and freeze one request.

        :param max_content_chars: the content's limit (``AEXY_MAX_CONTENT_CHARS``).
        :param max_prompt_chars: when given, content and context together may not exceed it
            (``AEXY_MAX_PROMPT_CHARS``), so a huge context is refused before a prompt is
            rendered from it; :func:`check_prompt_size` checks the rendered prompt itself.
        :raises InvalidInputError: for anything a provider should not be sent.
        """
        if not isinstance(content, str):
            raise InvalidInputError(
                f"content must be a str, got {type(content).__name__}"
            )
        if not content or content.isspace():  # no copy of possibly megabytes
            raise InvalidInputError("content is empty")
        if len(content) > max_content_chars:
            raise InvalidInputError(
                f"content is {len(content):,} characters, above the limit of "
                f"{max_content_chars:,} (set AEXY_MAX_CONTENT_CHARS to change it)"
            )
        _check_text(content, "content")
        if context is None or (isinstance(context, Mapping) and not context):
            context = {}  # the common case: nothing to check, encode or copy
            if max_prompt_chars is None or len(content) + 2 <= max_prompt_chars:
                return cls(analysis_type, content, context, "{}")
        if not isinstance(context, Mapping):
            raise InvalidInputError(f"context must be a mapping, got {type(context).__name__}")
        _check_json(context)
        ctx_json = _encode_context(context)
        if max_prompt_chars is not None and len(content) + len(ctx_json) > max_prompt_chars:
            raise InvalidInputError(
                f"content and context are {len(content) + len(ctx_json):,} characters together, "
                f"above the prompt limit of {max_prompt_chars:,}; shorten the context or set "
                "AEXY_MAX_PROMPT_CHARS to change it"
            )
        # A round trip gives the request its own immutable-by-convention copy.
        return cls(analysis_type, content, json.loads(ctx_json), ctx_json)


def _encode_context(context: Mapping[str, Any]) -> str:
    try:
        return canonical_json(context)
    except (TypeError, ValueError) as exc:
        # e.g. an int beyond Python's digit limit for str(), or a Mapping json cannot walk.
        problem = f"{type(exc).__name__}: {str(exc)[:200]}"
    raise InvalidInputError(f"context cannot be encoded as JSON ({problem})")
