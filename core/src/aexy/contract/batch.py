"""A provider's batch API, as records: what the core submits (:class:`BatchRequest`), what a
poll answers (:class:`BatchStatus` with its :class:`BatchCounts`), and what the results hold
(:class:`BatchEntry`, one per request, matched by ``custom_id``).

The methods that use them are optional members of
:class:`~aexy.contract.provider.BaseLLMProvider` (``supports_batch``, ``submit_batch``,
``poll_batch``, ``batch_results``, ``cancel_batch``); the job around them (what is submitted,
resuming, polling, validation) is the core's (:mod:`aexy.batching`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from aexy.contract.completion import Completion, CompletionRequest
    from aexy.errors import LLMError

__all__ = ["BatchCounts", "BatchEntry", "BatchLimits", "BatchRequest", "BatchState",
           "BatchStatus", "EntryOutcome"]

#: Where a batch is, across APIs: taking requests or working on them, being canceled, or done
#: (every request has an outcome; the results can be read).
BatchState = Literal["in_progress", "canceling", "ended"]
#: How one request of a batch ended (Anthropic's four result types; OpenAI's output and error
#: lines map onto them).
EntryOutcome = Literal["succeeded", "errored", "canceled", "expired"]


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """One request of a batch: ``custom_id`` (``[a-zA-Z0-9_-]{1,64}``, unique in its batch)
    names it in the results, which may come in any order."""

    custom_id: str
    request: CompletionRequest


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """The most one batch may hold: requests, and bytes of the whole submission. The core
    splits a larger job into several batches."""

    max_requests: int
    max_bytes: int


@dataclass(frozen=True, slots=True)
class BatchCounts:
    """Requests of a batch by where they are. An API that only tells finished from failed
    (OpenAI) reports those as ``succeeded`` and ``errored``."""

    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0

    @property
    def total(self) -> int:
        return self.processing + self.succeeded + self.errored + self.canceled + self.expired


@dataclass(frozen=True, slots=True)
class BatchStatus:
    """What ``submit_batch``, ``poll_batch`` and ``cancel_batch`` answer.

    :param batch_id: the API's id of the batch.
    :param state: normalised; results are read once it is ``ended``.
    :param counts: the requests by where they are.
    :param raw_status: the API's own word for it (OpenAI's ``finalizing``), for messages.
    :param error: why the batch as a whole failed (OpenAI's ``failed`` status: the input was
        refused); its requests then have no entry in the results.
    """

    batch_id: str
    state: BatchState
    counts: BatchCounts = field(default_factory=BatchCounts)
    raw_status: str = ""
    error: str | None = None

    @property
    def ended(self) -> bool:
        return self.state == "ended"


@dataclass(frozen=True, slots=True)
class BatchEntry:
    """One request's outcome in a batch's results: its ``completion`` when it ``succeeded``
    (mapped exactly as a live answer is), else its ``error`` (an ``LLMError`` with a core code;
    ``expired`` and ``canceled`` requests were never run and are not billed)."""

    custom_id: str
    outcome: EntryOutcome
    completion: Completion | None = None
    error: LLMError | None = None
