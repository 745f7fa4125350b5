"""The hooks a plugin can implement. Full documentation: ``docs/plugins.md``.

Every collector hook takes no argument and returns a list of small typed records, all importable
from :mod:`aexy.plugin_api`. The host checks each record when it builds the registry: a record
that lacks a member is dropped and reported by ``aexy plugins``. Implementations may accept
fewer arguments than the spec (that is how hooks grow without breaking plugins).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aexy.contract.hooks import PROJECT_NAME as PROJECT_NAME
from aexy.contract.hooks import hookimpl as hookimpl
from aexy.contract.hooks import hookspec

if TYPE_CHECKING:
    import click

    from aexy.contract.analysis import AnalysisSpec
    from aexy.contract.budget import BudgetLedgerSpec
    from aexy.contract.cache import CacheBackendSpec
    from aexy.contract.postprocess import PostProcessor
    from aexy.contract.prompts import PromptSource
    from aexy.contract.provider import ProviderSpec
    from aexy.contract.ratelimit import RateLimiterSpec


@hookspec
def register_providers() -> list[ProviderSpec]:  # type: ignore[empty-body]
    """Register LLM providers, selected by name with ``LLM_PROVIDER``.

    :returns: :class:`~aexy.plugin_api.ProviderSpec` records; classes only, nothing is
        constructed or contacted here. The class must implement ``complete``, and its
        ``settings_class`` must declare an ``env_prefix`` of its own.
    """


@hookspec
def register_cache_backends() -> list[CacheBackendSpec]:  # type: ignore[empty-body]
    """Register cache backends, selected by name with ``AEXY_CACHE_BACKEND``.

    :returns: :class:`~aexy.plugin_api.CacheBackendSpec` records; the backend (the factory's
        product) must have every member of :class:`~aexy.plugin_api.CacheBackend`.
    """


@hookspec
def register_prompt_sources() -> list[PromptSource]:  # type: ignore[empty-body]
    """Register prompt sources, asked in ascending priority for each analysis type's prompt.

    :returns: :class:`~aexy.plugin_api.PromptSource` records.
    """


@hookspec
def register_postprocessors() -> list[PostProcessor]:  # type: ignore[empty-body]
    """Register result post-processors, applied in the order of ``AEXY_POSTPROCESSORS``.

    :returns: :class:`~aexy.plugin_api.PostProcessor` records; ``process`` returns a result of
        the same model, with no added field.
    """


@hookspec
def register_analysis_types() -> list[AnalysisSpec]:  # type: ignore[empty-body]
    """Register analysis types (the 15 built-ins arrive through this hook too).

    :returns: :class:`~aexy.plugin_api.AnalysisSpec` records.
    """


@hookspec
def register_rate_limiters() -> list[RateLimiterSpec]:  # type: ignore[empty-body]
    """Register rate limiter implementations, selected with ``AEXY_RATE_LIMITER``.

    :returns: :class:`~aexy.plugin_api.RateLimiterSpec` records.
    """


@hookspec
def register_budget_ledgers() -> list[BudgetLedgerSpec]:  # type: ignore[empty-body]
    """Register budget ledgers (where ``AEXY_BUDGET_USD`` spending is kept), selected with
    ``AEXY_BUDGET_LEDGER``; ``local`` (one process) is built in.

    :returns: :class:`~aexy.plugin_api.BudgetLedgerSpec` records; the ledger (the factory's
        product) must have every member of :class:`~aexy.plugin_api.BudgetLedger`.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``aexy`` command line.

    :param cli: the root click group; call ``cli.command()`` or ``cli.add_command()``.
    """
