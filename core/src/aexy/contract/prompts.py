"""Prompt records and the helpers prompt builders share.

A :class:`PromptSource` maps an analysis type to a :class:`PromptTemplate` (or ``None`` to pass);
the gateway asks the sources in priority order and renders the first template it gets into a
:class:`Prompt`. Content and context go into prompts as delimited data (:func:`delimit`,
:func:`context_block`, :func:`context_value`), so instructions inside them cannot change what is
asked.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from aexy.schema import sketch

if TYPE_CHECKING:
    from aexy.contract.analysis import AnalysisSpec
    from aexy.settings import AexySettings, PluginSettings

__all__ = [
    "Prompt",
    "PromptSource",
    "PromptTemplate",
    "context_block",
    "context_value",
    "delimit",
    "shape_of",
    "user_prompt",
]


@dataclass(frozen=True, slots=True)
class Prompt:
    """A rendered prompt: what the provider will see."""

    system: str
    user: str
    version: str
    source: str


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """A system prompt and a user prompt builder, with the version that goes into the cache key."""

    system: str
    user: Callable[[str, Mapping[str, Any]], str]
    version: str

    def render(self, content: str, context: Mapping[str, Any], *, source: str) -> Prompt:
        return Prompt(self.system, self.user(content, context), self.version, source)


@dataclass(frozen=True, slots=True)
class PromptSource:
    """What ``register_prompt_sources`` returns.

    :param name: the source's name, shown by ``aexy plugins`` and by ``aexy prompt`` as the
        prompt's source.
    :param get: ``get(spec, settings) -> PromptTemplate | None``; ``None`` lets the next source
        answer. ``settings`` is the asking gateway's :class:`~aexy.settings.AexySettings`; a
        ``get(spec)`` that takes the spec alone is called that way (sources may take fewer
        arguments, which is how this contract grows without breaking them).
    :param priority: sources are asked in ascending priority (ties by name): the ``directory``
        source (``AEXY_PROMPTS_DIR``) is 10, a plugin's default 100, the built-in source 1000
        (asked last). There is no setting that reorders them.
    :param settings_class: the source's own settings (a
        :class:`~aexy.settings.PluginSettings` subclass with its own ``env_prefix``), shown by
        ``aexy config``; the source reads them itself. Added in plugin API 1.1.
    """

    name: str
    get: Callable[..., PromptTemplate | None]
    priority: int = 100
    settings_class: type[PluginSettings] | None = None
    takes_settings: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            params = inspect.signature(self.get).parameters.values()
        except (TypeError, ValueError):  # a builtin without a signature: the spec alone
            params = ()  # type: ignore[assignment]
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY,
                                                      p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
        object.__setattr__(self, "takes_settings", len(positional) >= 2 or any(
            p.kind is p.VAR_POSITIONAL for p in positional))

    def template_for(self, spec: AnalysisSpec, settings: AexySettings) -> PromptTemplate | None:
        """This source's template for ``spec``, or ``None``."""
        if self.takes_settings:
            return self.get(spec, settings)
        return self.get(spec)


# -- helpers for prompt builders: the catalogue's, a plugin's, the override templates' -----------
_BLOCK_TAG = re.compile(r"<\s*/?\s*(?:content|context)\s*>", re.IGNORECASE)


def delimit(content: str, tag: str = "content") -> str:
    """Put untrusted text in the prompt as data: tagged, with any data-block tag inside it
    (``</content>``, ``<context>`` ..., in any case or spacing) neutralised so it can neither
    end this block early nor seem to open another."""
    return "".join(_delimited(content, tag))


def _delimited(content: str, tag: str) -> tuple[str, str, str]:
    """:func:`delimit` in three pieces, for a caller that joins them with more text at once
    (content may be megabytes: each copy of it costs about as much as a hash of it)."""
    # "<\/tag>" still reads as the same text to a model, and inside JSON strings "\/" is a
    # legal escape of "/", so JSON context stays valid JSON; an opening tag becomes "&lt;tag>".
    # Searched first: sub() copies the whole text even when nothing matches (about 2 ms a
    # megabyte, against 0.5 ms to search, and 0.02 ms to see that there is no "<" at all).
    safe = content if "<" not in content or _BLOCK_TAG.search(content) is None else (
        _BLOCK_TAG.sub(_neutral, content))
    if tag not in ("content", "context") and "<" in safe:  # another block name
        safe = re.sub(rf"<\s*/\s*{re.escape(tag)}\s*>", f"<\\\\/{tag}>", safe,
                      flags=re.IGNORECASE)
    return f"<{tag}>\n", safe, f"\n</{tag}>"


def _neutral(m: re.Match[str]) -> str:
    tag = m.group(0)
    name = "content" if "content" in tag.lower() else "context"
    return f"<\\/{name}>" if "/" in tag else f"&lt;{name}>"


def context_value(context: Mapping[str, Any], key: str, default: str = "not given") -> str:
    """One context value (or ``default``) for inline use in a sentence: strings as they are,
    the rest as JSON. Newlines are folded so a value cannot start a new instruction line, and
    a tag that would open or close a data block is neutralised. Every value a prompt builder
    puts outside the data blocks, from the context or read from the content, goes through
    here."""
    value = context.get(key)
    if value is None or value == "" or value == [] or value == {}:
        value = default  # a default may come from the content too: it is escaped the same way
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    # Inline values sit outside the data blocks: they may not open or close one.
    text = _BLOCK_TAG.sub(lambda m: m.group(0).replace("<", "&lt;"), text)
    return " ".join(text.split())


def context_block(context: Mapping[str, Any], keys: tuple[str, ...] = ()) -> str:
    """The whole context as delimited JSON data, ``keys`` first; empty string for no context."""
    if not context:
        return ""
    ordered = {k: context[k] for k in keys if k in context}
    ordered.update({k: v for k, v in context.items() if k not in ordered})
    return delimit(json.dumps(ordered, indent=2, ensure_ascii=False), "context")


def user_prompt(task: str, content: str, context: Mapping[str, Any],
                keys: tuple[str, ...] = ()) -> str:
    """The layout every built-in user prompt shares: the task, then context, then content."""
    parts = [task.strip(), "\n\n"]
    block = context_block(context, keys)
    if block:
        parts += (block, "\n\n")
    parts += _delimited(content, "content")
    return "".join(parts)  # one copy of the content


def shape_of(model: type[BaseModel]) -> str:
    """A compact, commented sketch of the JSON a model expects, generated from its schema, so
    providers that cannot enforce a schema still see the exact shape, bounds and enum values."""
    return sketch(model.model_json_schema())
