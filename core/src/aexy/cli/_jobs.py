"""What every CLI job shares: ``--max-cost`` and ``--dry-run``, the gateway they build, the
footer that says what the job cost, and the plan a dry run prints.

A command takes the options with :func:`job_options` (they do not change its signature: the
values go to :class:`JobOptions` in click's context) and runs through a :class:`Job`::

    job = Job(provider, model)
    async with job.gateway() as gateway: ...
    if job.dry_run: job.print_plan(as_json); return
    ...
    job.print_footer()
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import click

from aexy.cli._util import (
    command_options,
    get_console,
    host,
    provider_option_errors,
    store_option,
)

if TYPE_CHECKING:
    from aexy.gateway import LLMGateway
    from aexy.plan import JobPlan

__all__ = ["Job", "JobOptions", "job_options"]

F = TypeVar("F", bound=Callable[..., Any])

_META = "aexy.job"
MAX_COST_HELP = ("Spend at most USD on this job (AEXY_BUDGET_USD for this command): each call's "
                 "worst case is reserved before it is sent, and a call that does not fit is "
                 "refused (budget_exceeded) without being sent.")
DRY_RUN_HELP = ("Send nothing: print how many analyses the job needs, how many the cache "
                "holds, and the tokens and cost of the rest.")


@dataclass(slots=True)
class JobOptions:
    """``--max-cost`` and ``--dry-run`` of the running command."""

    max_cost: Decimal | None = None
    dry_run: bool = False


def job_options(*, dry_run: bool = True) -> Callable[[F], F]:
    """``--max-cost USD`` (and ``--dry-run`` unless ``dry_run=False``) on a command, read with
    :class:`Job` rather than passed to the function."""
    def decorate(f: F) -> F:
        if dry_run:
            f = click.option("--dry-run", is_flag=True, default=None, expose_value=False,
                             callback=store_option(_META, JobOptions, "dry_run"),
                             help=DRY_RUN_HELP)(f)
        decorated: F = click.option(
            "--max-cost", type=click.FloatRange(min=0), metavar="USD", expose_value=False,
            callback=store_option(_META, JobOptions, "max_cost", lambda v: Decimal(str(v))),
            help=MAX_COST_HELP)(f)
        return decorated
    return decorate


class Job:
    """One command's gateway, built with the job's options, and what it found.

    :param options: by default those of the running click command.
    """

    def __init__(self, provider: str | None, model: str | None,
                 options: JobOptions | None = None) -> None:
        if options is None:
            options = command_options(click.get_current_context(silent=True), _META,
                                      JobOptions)
        self.provider, self.model = provider, model
        self.max_cost = options.max_cost
        self.dry_run = options.dry_run
        #: The dry run's plan, once the gateway is closed.
        self.plan: JobPlan | None = None
        #: What the job cost, and the budget, once the gateway is closed.
        self.spending: dict[str, Any] = {}
        self.footer = ""

    @contextlib.asynccontextmanager
    async def gateway(self) -> AsyncIterator[LLMGateway]:
        """The job's gateway; when it closes, the plan and the footer are kept."""
        from aexy.assembly import build_budget
        from aexy.gateway import LLMGateway
        from aexy.settings import AexySettings

        plugins = host()
        settings = AexySettings()
        setting = "AEXY_BUDGET_USD"
        if self.max_cost is not None:
            settings = settings.model_copy(update={"budget_usd": self.max_cost})
            setting = "--max-cost"
        budget = build_budget(settings, plugins, setting=setting)
        # An unknown -p name is a usage error of that option (exit 2), in every command.
        with provider_option_errors(self.provider):
            built = LLMGateway(self.provider, model=self.model, plugins=plugins,
                               settings=settings, budget=budget if budget is not None else False,
                               dry_run=self.dry_run)
        async with built as gateway:
            try:
                yield gateway
            finally:
                self.plan = gateway.plan
                self.spending, self.footer = await _spending(gateway)

    def print_plan(self, as_json: bool) -> None:
        """The dry run's plan on stdout (JSON with ``as_json``)."""
        plan = self.plan
        assert plan is not None, "print_plan() after a dry run's gateway closed"
        if as_json:
            click.echo(json.dumps({"dry_run": True, **plan.summary()}, indent=2))
            return
        from rich.table import Table

        table = Table(title="dry run: nothing was sent", title_justify="left",
                      show_header=False)
        table.add_column(style="cyan", no_wrap=True)
        table.add_column(overflow="fold")
        for label, value in plan.rows():
            table.add_row(label, value)
        get_console().print(table)

    def print_footer(self) -> None:
        """What the job cost (and the budget), one dim line on stderr."""
        if self.footer:
            get_console(stderr=True).print(self.footer, style="dim", soft_wrap=True)


async def _spending(gateway: LLMGateway) -> tuple[dict[str, Any], str]:
    from aexy.contract.cost import format_usd

    tally = gateway.cost_totals()
    spending: dict[str, Any] = {"cost": tally.snapshot()}
    line = tally.summary()
    budget = gateway.budget
    if budget is not None:
        spending["budget"] = await budget.snapshot()
        where = f"{budget.setting}" + (f", {budget.ledger.name} ledger"
                                       if budget.ledger.name != "local" else "")
        line += f" · budget ${format_usd(budget.limit_usd)} ({where})"
        try:
            spent, held = await budget.totals()
        except Exception as exc:  # a figure we cannot read is said so, not made up
            line += f": the ledger did not answer ({type(exc).__name__})"
        else:
            left = max(budget.limit_usd - spent - held, Decimal(0))
            line += f": ${format_usd(spent)} spent, ${format_usd(left)} left"
        if budget.refused:
            line += f", {budget.refused} call{'s' if budget.refused != 1 else ''} refused"
    return spending, line
