"""Prompt records, the built-in prompt source and the ``directory`` override source.

A :class:`PromptSource` maps an analysis type to a :class:`PromptTemplate` (or ``None`` to pass);
the gateway asks the sources in priority order and renders the first template it gets.

The ``directory`` source reads ``$AEXY_PROMPTS_DIR/<type>.md``::

    ## system
    You are a staff engineer reviewing code for a regulated bank. ...

    ## user
    Review `{file_path}` for compliance problems.

    {context}

    {content}

Only ``## system`` and ``## user`` lines (any case) start sections; anything before the first one
is a note for humans and is ignored. A missing section falls back to the built-in one. Placeholders
are ``{name}`` with ``name`` an identifier: ``{content}`` (the content, delimited as data),
``{context}`` (the whole context as delimited JSON), ``{shape}`` (the answer's JSON shape),
``{schema}`` (the raw JSON schema), or any context key (its value inline; "not given" when
absent). ``{{`` and ``}}`` give literal braces; other braces (JSON examples) are left alone.
When the user template has no ``{content}``, the delimited content is appended; when the system
template has neither ``{shape}`` nor ``{schema}``, the required shape is appended - the answer's
shape is the framework's contract, not the template's. The version is a hash of the file's bytes,
so editing an override changes the cache key.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from aexy.analysis import AnalysisSpec
from aexy.errors import ConfigurationError
from aexy.schema import sketch

if TYPE_CHECKING:
    from aexy.settings import AexySettings

__all__ = [
    "BuiltinPromptSource",
    "DirectoryPromptSource",
    "Prompt",
    "PromptSource",
    "PromptTemplate",
    "builtin_prompt_sources",
    "context_block",
    "context_value",
    "delimit",
    "find_template",
    "ordered_sources",
    "parse_prompt_file",
    "render_prompt",
    "render_template",
    "shape_of",
    "user_prompt",
]

PROMPTS_DIR_ENV = "AEXY_PROMPTS_DIR"


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
    """

    name: str
    get: Callable[..., PromptTemplate | None]
    priority: int = 100
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


_BUILTIN: dict[int, tuple[AnalysisSpec, PromptTemplate]] = {}


def _builtin(spec: AnalysisSpec) -> PromptTemplate:
    # Built once per spec (asked on every call). The fingerprint makes a prompt edit change the
    # cache key even without a version bump.
    known = _BUILTIN.get(id(spec))
    if known is not None and known[0] is spec:
        return known[1]
    template = PromptTemplate(spec.system_prompt, spec.build_user_prompt,
                              f"builtin-{spec.version}-{spec.prompt_fingerprint}")
    if len(_BUILTIN) >= 1024:
        _BUILTIN.clear()
    _BUILTIN[id(spec)] = (spec, template)
    return template


BuiltinPromptSource = PromptSource(name="builtin", get=_builtin, priority=1000)



def ordered_sources(sources: Iterable[PromptSource]) -> list[PromptSource]:
    """Prompt sources in the order they are asked: by priority, then name. A source that only
    has the record's fields (a duck-typed record) becomes a :class:`PromptSource`."""
    records = [s if isinstance(s, PromptSource) else PromptSource(s.name, s.get, s.priority)
               for s in sources]
    return sorted(records, key=lambda source: (source.priority, source.name))


def find_template(sources: Sequence[PromptSource], spec: AnalysisSpec,
                  settings: AexySettings) -> tuple[str, PromptTemplate]:
    """The effective template and the name of its source: the first source (in ``sources``
    order) that has one for ``spec``. Its version is known before anything is rendered."""
    for source in sources:
        template = source.template_for(spec, settings)
        if template is not None:
            return source.name, template
    raise ConfigurationError(f"no prompt source has a prompt for {spec.name!r}")


def render_prompt(sources: Sequence[PromptSource], spec: AnalysisSpec, content: str,
                  context: Mapping[str, Any], settings: AexySettings) -> Prompt:
    """The effective prompt, rendered from :func:`find_template`'s template."""
    source, template = find_template(sources, spec, settings)
    return template.render(content, context, source=source)


# -- rendering helpers, shared by the catalogue's prompts and the override templates ------------
_BLOCK_TAG = re.compile(r"<\s*/?\s*(?:content|context)\s*>", re.IGNORECASE)


def delimit(content: str, tag: str = "content") -> str:
    """Put untrusted text in the prompt as data: tagged, with any data-block tag inside it
    (``</content>``, ``<context>`` ..., in any case or spacing) neutralised so it can neither
    end this block early nor seem to open another."""
    # "<\/tag>" still reads as the same text to a model, and inside JSON strings "\/" is a
    # legal escape of "/", so JSON context stays valid JSON; an opening tag becomes "&lt;tag>".
    # Searched first: sub() copies the whole text even when nothing matches (about 2 ms a
    # megabyte, against 0.5 ms to search, and 0.02 ms to see that there is no "<" at all).
    safe = content if "<" not in content or _BLOCK_TAG.search(content) is None else (
        _BLOCK_TAG.sub(_neutral, content))
    if tag not in ("content", "context") and "<" in safe:  # another block name
        safe = re.sub(rf"<\s*/\s*{re.escape(tag)}\s*>", f"<\\\\/{tag}>", safe,
                      flags=re.IGNORECASE)
    return f"<{tag}>\n{safe}\n</{tag}>"


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
    parts = [task.strip()]
    block = context_block(context, keys)
    if block:
        parts.append(block)
    parts.append(delimit(content))
    return "\n\n".join(parts)


def shape_of(model: type[BaseModel]) -> str:
    """A compact, commented sketch of the JSON a model expects, generated from its schema, so
    providers that cannot enforce a schema still see the exact shape, bounds and enum values."""
    return sketch(model.model_json_schema())


# -- the directory source ----------------------------------------------------------------------
_SECTION = re.compile(r"^##[ \t]+(system|user)[ \t]*$", re.IGNORECASE | re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def parse_prompt_file(text: str) -> dict[str, str]:
    """The ``system`` and ``user`` sections of an override file (either may be missing)."""
    sections: dict[str, str] = {}
    matches = list(_SECTION.finditer(text))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        name = m.group(1).lower()
        if name in sections:
            raise ValueError(f"section '## {name}' appears twice")
        sections[name] = text[m.end():end].strip()
    return sections


def render_template(template: str, values: Callable[[str], str | None]) -> str:
    """Replace ``{name}`` placeholders in one pass (so substituted text is never re-scanned);
    ``values(name)`` returning ``None`` leaves the placeholder as written."""

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        value = values(m.group(1))
        return token if value is None else value

    return _PLACEHOLDER.sub(sub, template)


def _uses(template: str, *names: str) -> bool:
    return any(m.group(1) in names for m in _PLACEHOLDER.finditer(template))


def _system_from(template: str, spec: AnalysisSpec) -> str:
    shape = shape_of(spec.result_model)

    def value(name: str) -> str | None:
        if name == "shape":
            return shape
        if name == "schema":
            return json.dumps(spec.json_schema, indent=2)
        return None

    rendered = render_template(template, value)
    if not _uses(template, "shape", "schema"):
        rendered += ("\n\nReply with exactly one JSON object of this shape and nothing else:\n"
                     + shape)
    return rendered


def _user_from(template: str) -> Callable[[str, Mapping[str, Any]], str]:
    has_content = _uses(template, "content")

    def build(content: str, context: Mapping[str, Any]) -> str:
        def value(name: str) -> str | None:
            if name == "content":
                return delimit(content)
            if name == "context":
                return context_block(context)
            return context_value(context, name)

        rendered = render_template(template, value)
        if not has_content:
            rendered += "\n\n" + delimit(content)
        return rendered

    return build


class DirectoryPromptSource:
    """Override prompts from ``<directory>/<type>.md``; see the module docs for the format.

    :param directory: fixed directory; ``None`` reads ``AEXY_PROMPTS_DIR`` at call time (so a
        process can change it without rebuilding gateways), and otherwise the asking gateway's
        settings, which read ``.env`` once; asked without settings, the source reads ``.env``
        itself, again only when the file changed.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.directory = directory
        # (type, content hash, spec identity) -> parsed template: parsed once per edit.
        self._parsed: dict[tuple[str, ...], PromptTemplate] = {}
        self._dotenv: tuple[tuple[str, int, int], str | None] | None = None

    def _directory(self, settings: AexySettings | None) -> Path | None:
        if self.directory is not None:
            return Path(self.directory)
        raw = os.environ.get(PROMPTS_DIR_ENV)
        if raw is None:
            raw = settings.prompts_dir if settings is not None else self._from_dotenv()
        return Path(raw).expanduser() if raw else None

    def _from_dotenv(self) -> str | None:
        # Building AexySettings costs ~1 ms, too much for every (cached) call: only do it when
        # the working directory's .env changed since last time.
        try:
            st = os.stat(".env")
        except OSError:
            return None
        stamp = (os.getcwd(), st.st_mtime_ns, st.st_size)
        if self._dotenv is None or self._dotenv[0] != stamp:
            from aexy.settings import AexySettings

            self._dotenv = (stamp, AexySettings().prompts_dir)
        return self._dotenv[1]

    def get(self, spec: AnalysisSpec, settings: AexySettings | None = None
            ) -> PromptTemplate | None:
        directory = self._directory(settings)
        if directory is None:
            return None
        if not directory.is_dir():
            raise ConfigurationError(
                f"AEXY_PROMPTS_DIR is {str(directory)!r}, which is not a directory",
                env_var=PROMPTS_DIR_ENV,
            )
        path = directory / f"{spec.name}.md"
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return None
        # Keyed by content hash: an edit is seen at once, whatever the clock's resolution.
        digest = hashlib.sha256(raw).hexdigest()[:12]
        key = (spec.name, digest, spec.schema_hash, spec.version, spec.prompt_fingerprint)
        template = self._parsed.get(key)
        if template is None:
            template = self._load(path, raw, digest, spec)
            if len(self._parsed) > 256:
                self._parsed.clear()
            self._parsed[key] = template
        return template

    def _load(self, path: Path, raw: bytes, digest: str, spec: AnalysisSpec) -> PromptTemplate:
        try:
            sections = parse_prompt_file(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ConfigurationError(f"prompt override {path} is invalid: {exc}",
                                     env_var=PROMPTS_DIR_ENV) from None
        if not sections:
            raise ConfigurationError(
                f"prompt override {path} has no '## system' or '## user' section",
                env_var=PROMPTS_DIR_ENV,
            )
        system = (_system_from(sections["system"], spec) if "system" in sections
                  else spec.system_prompt)
        user = _user_from(sections["user"]) if "user" in sections else spec.build_user_prompt
        # A partial override still depends on the built-in half it keeps.
        version = f"dir-{digest}" if len(sections) == 2 else (
            f"dir-{digest}-{spec.version}-{spec.prompt_fingerprint}")
        return PromptTemplate(system, user, version)

    def __repr__(self) -> str:
        return f"DirectoryPromptSource(directory={self.directory!r})"


def builtin_prompt_sources() -> list[PromptSource]:
    """The sources the core registers through its own plugin: ``directory`` first (priority
    10, and it passes unless ``AEXY_PROMPTS_DIR`` holds a file for the type), ``builtin`` last."""
    directory = DirectoryPromptSource()
    return [PromptSource(name="directory", get=directory.get, priority=10), BuiltinPromptSource]
