"""What the core sends a provider, and what a provider sends back: plain frozen records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from aexy.contract.analysis import AnalysisRequest

__all__ = ["Completion", "CompletionRequest", "FinishReason", "Message", "Usage"]


class FinishReason(StrEnum):
    """Why the model stopped, normalised across providers."""

    STOP = "stop"
    LENGTH = "length"  # truncated: max tokens or context window reached
    CONTENT_FILTER = "content_filter"  # refusal or moderation
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Message:
    """One conversation turn. The system prompt is never a message (see ``.system``)."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as reported by the provider.

    ``input_tokens`` is every input token, prompt-cache reads and writes included;
    ``cache_read_tokens`` and ``cache_write_tokens`` say how many of them were read from or
    written to the provider's prompt cache, so that each is priced at its own rate (Claude's
    ``cache_read_input_tokens`` and ``cache_creation_input_tokens``, OpenAI's
    ``prompt_tokens_details.cached_tokens``).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


# Built on every call: a hand-written __init__ stores the fields in one write, where the
# generated one of a frozen dataclass makes one object.__setattr__ call per field (ten here).
@dataclass(frozen=True, init=False)
class CompletionRequest:
    """A provider-neutral chat request.

    :param system: the system prompt; providers send it the way their API expects
        (Claude's top-level ``system``, a system message for OpenAI and Ollama).
    :param messages: user/assistant turns; a repair request appends to the first answer.
    :param json_schema: JSON Schema the answer must satisfy; providers that can enforce a
        schema do so, the core validates the answer either way.
    :param schema_name: a short identifier for the schema (``[a-zA-Z0-9_-]``).
    :param model: overrides the provider's configured model for this call.
    :param timeout: seconds this call may take at most, set by the gateway when the rest of
        the caller's deadline is shorter than the provider's own timeout; ``None``: the
        provider's own timeout applies.
    :param analysis: the validated analysis this call serves (type, content, context), set by
        the gateway. Model providers send the rendered prompt and ignore it; a provider that
        computes its answer instead of generating it (the built-in ``offline`` one) reads the
        content and context from here, never by parsing the prompt.
    """

    system: str
    messages: tuple[Message, ...]
    json_schema: Mapping[str, Any] | None = None
    schema_name: str = "result"
    model: str | None = None
    max_tokens: int = 4096
    temperature: float = 0.0
    timeout: float | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    analysis: AnalysisRequest | None = None

    def __init__(self, system: str, messages: tuple[Message, ...],
                 json_schema: Mapping[str, Any] | None = None, schema_name: str = "result",
                 model: str | None = None, max_tokens: int = 4096, temperature: float = 0.0,
                 timeout: float | None = None, metadata: Mapping[str, str] | None = None,
                 analysis: AnalysisRequest | None = None) -> None:
        object.__setattr__(self, "__dict__", {
            "system": system, "messages": messages, "json_schema": json_schema,
            "schema_name": schema_name, "model": model, "max_tokens": max_tokens,
            "temperature": temperature, "timeout": timeout,
            "metadata": {} if metadata is None else metadata, "analysis": analysis,
        })

    @classmethod
    def simple(
        cls, system: str, user: str, json_schema: Mapping[str, Any] | None = None, **kw: Any
    ) -> CompletionRequest:
        return cls(system=system, messages=(Message("user", user),), json_schema=json_schema, **kw)

    def with_timeout(self, seconds: float) -> CompletionRequest:
        """This request with ``timeout`` set (cheaper than ``dataclasses.replace``)."""
        copy = object.__new__(CompletionRequest)
        object.__setattr__(copy, "__dict__", {**self.__dict__, "timeout": seconds})
        return copy

    @property
    def prompt_chars(self) -> int:
        return len(self.system) + sum(len(m.content) for m in self.messages)


@dataclass(frozen=True, slots=True)
class Completion:
    """A provider's answer: the text, the model that actually answered, usage and finish reason."""

    text: str
    model: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: FinishReason = FinishReason.STOP
    raw_finish_reason: str | None = None
    request_id: str | None = None
