"""``--batch-api``, ``--retry-live`` and ``--cancel``: a CLI job through its provider's batch API
(:mod:`aexy.batching`), shared by ``aexy batch`` and ``aexy profile``.

Like :mod:`aexy.cli._jobs`, the options do not change a command's signature: their values go to
:class:`BatchOptions` in click's context, read with :meth:`BatchOptions.current`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from aexy.cli._util import command_options, get_console, store_option

if TYPE_CHECKING:
    from aexy.batching import BatchJob, BatchProgress
    from aexy.contract.batch import BatchStatus
    from aexy.gateway import LLMGateway

__all__ = ["BatchOptions", "batch_api_options", "job_name", "progress_text"]

F = TypeVar("F", bound=Callable[..., Any])

_META = "aexy.batch_api"
BATCH_API_HELP = ("Send what the cache does not hold through the provider's batch API "
                  "(Anthropic Message Batches, the OpenAI Batch API): half the price, answers "
                  "within 24 hours. Interrupted, the same command resumes the batches.")
RETRY_LIVE_HELP = ("With --batch-api: send a request the batch did not answer (errored, "
                   "canceled, expired) as a live call instead of failing it.")
CANCEL_HELP = ("With --batch-api: cancel the batches this same command submitted, and exit "
               "(what they finished is billed; the next run reads it).")


@dataclass(slots=True)
class BatchOptions:
    """``--batch-api``, ``--retry-live`` and ``--cancel`` of the running command."""

    batch_api: bool = False
    retry_live: bool = False
    cancel: bool = False

    @classmethod
    def current(cls) -> BatchOptions:
        """The running command's options (checked: the other two need ``--batch-api``)."""
        options = command_options(click.get_current_context(silent=True), _META, cls)
        if (options.retry_live or options.cancel) and not options.batch_api:
            raise click.UsageError("--retry-live and --cancel go with --batch-api")
        return options

    def job(self, gateway: LLMGateway, name: str,
            on_progress: Callable[[BatchProgress], None] | None = None) -> BatchJob:
        """The command's batch job on ``gateway`` (a provider without a batch API is a usage
        error naming those that have one)."""
        from aexy.batching import BatchJob
        from aexy.errors import BatchUnsupportedError

        try:
            return BatchJob(gateway, name, retry_live=self.retry_live, on_progress=on_progress)
        except BatchUnsupportedError as exc:
            raise click.UsageError(str(exc)) from None


def batch_api_options() -> Callable[[F], F]:
    """``--batch-api``, ``--retry-live`` and ``--cancel`` on a command."""
    def decorate(f: F) -> F:
        for name, flag, text in (("cancel", "--cancel", CANCEL_HELP),
                                 ("retry_live", "--retry-live", RETRY_LIVE_HELP),
                                 ("batch_api", "--batch-api", BATCH_API_HELP)):
            f = click.option(flag, is_flag=True, default=False, expose_value=False,
                             callback=store_option(_META, BatchOptions, name), help=text)(f)
        return f
    return decorate


def job_name(command: str, *parts: object) -> str:
    """The name a command's batches are recorded under: the same command (the same inputs,
    provider and model) gives the same name, so ``--cancel`` finds them."""
    digest = hashlib.sha256(json.dumps([command, *parts], default=str).encode()).hexdigest()
    return f"{command}-{digest[:12]}"


def progress_text(p: BatchProgress) -> str:
    """One line of where a batch job is."""
    sent = p.submitted + p.resumed
    parts = [f"submitted {sent}" + (f" ({p.resumed} resumed)" if p.resumed else ""),
             f"processing {p.processing}", f"succeeded {p.succeeded}", f"errored {p.errored}"]
    if p.cached:
        parts.insert(0, f"cached {p.cached}")
    return " · ".join(parts)


async def cancel(job: BatchJob) -> list[BatchStatus]:
    """``--cancel``: the job's recorded batches cancelled; what happened said on stderr."""
    statuses = await job.cancel()
    console = get_console(stderr=True)
    if not statuses:
        console.print(f"no batch of this job ({job.name}) is waiting for results at "
                      f"{job.provider.name}", soft_wrap=True)
    for status in statuses:
        done = status.counts.succeeded + status.counts.errored
        console.print(f"canceled batch {status.batch_id} ({status.raw_status or status.state}; "
                      f"{done} requests already answered are billed and read by the next run)",
                      soft_wrap=True)
    return statuses
