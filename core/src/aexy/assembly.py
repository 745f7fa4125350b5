"""Assembly: the gateway's parts, built from settings and the plugin host.

One home for every choice the configuration makes: which cache backend (and why), the provider
chain, the rate limiter of each provider, the post-processors. The gateway and the CLI both build
through here, so ``aexy plugins`` and ``aexy cache stats`` report exactly what a gateway uses.
Records come from the host already checked; what a factory builds is checked here before use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aexy.budget import Budget
from aexy.cache import TieredCache
from aexy.contract.cache import CacheBackend, CacheBackendSpec, with_defaults
from aexy.contract.provider import BaseLLMProvider
from aexy.errors import ConfigurationError, ProviderNotFoundError
from aexy.plugin_checks import cache_backend_problems

if TYPE_CHECKING:
    from aexy.contract.budget import BudgetLedgerSpec
    from aexy.contract.postprocess import PostProcessor
    from aexy.contract.ratelimit import RateLimiter
    from aexy.plugins import PluginHost, Registry
    from aexy.resilience.clock import Clock, Sleep
    from aexy.settings import AexySettings
    from aexy.telemetry import Recorder

__all__ = [
    "EMBEDDED_BACKENDS",
    "EMBEDDED_LEDGERS",
    "BackendChoice",
    "Choice",
    "build_budget",
    "build_cache",
    "build_cache_backend",
    "build_limiter",
    "build_provider",
    "check_backend",
    "resolve_postprocessors",
    "select_backend",
    "select_ledger",
]

#: The core's own backends, in order of preference when no plugin backend is installed and
#: ``AEXY_CACHE_BACKEND`` is unset: the first one the core registers is the embedded default.
EMBEDDED_BACKENDS = ("sqlite", "memory")
#: The core's own budget ledger.
EMBEDDED_LEDGERS = ("local",)

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class Choice(Generic[S]):
    """The record a gateway uses for one configurable part (the cache backend, the budget
    ledger), and why: what ``aexy plugins`` and ``aexy cache stats`` print."""

    spec: S
    reason: str
    #: The distribution that registered it.
    owner: str


#: The cache backend's choice (the name earlier releases had).
BackendChoice = Choice


def _choose(registry: Registry[S], chosen: str | None, *, env_var: str, what: str, noun: str,
            embedded: Sequence[str], plugins: PluginHost) -> Choice[S]:
    """``chosen`` (from ``env_var``) when set; otherwise the one record an installed plugin
    registers; otherwise the first of the core's ``embedded`` ones. Several plugin records and
    no choice is an error naming them."""
    if chosen:
        spec = registry.get(chosen)  # raises for a rejected or doubly claimed name
        if spec is None:
            raise ConfigurationError(
                f"unknown {what} {chosen!r}; available: {', '.join(registry.names())}",
                env_var=env_var)
        return Choice(spec, f"{env_var}={chosen}", registry.owners[chosen])
    core = plugins.core_distribution
    installed = [n for n in registry.names() if registry.owners.get(n) != core]
    if len(installed) > 1:
        owners = ", ".join(f"{n} ({registry.owners[n]})" for n in installed)
        raise ConfigurationError(
            f"several {what}s are installed: {owners}; choose one with {env_var} (or "
            f"{embedded[-1]!r})", env_var=env_var)
    if installed:
        name = installed[0]
        spec = registry.get(name)
        assert spec is not None
        return Choice(spec, f"the only {noun} an installed plugin provides (from "
                      f"{registry.owners[name]}); {env_var} unset", registry.owners[name])
    for name in embedded:
        spec = registry.get(name)
        if spec is not None:
            return Choice(spec, f"the embedded default; no plugin {noun} is installed",
                          registry.owners[name])
    raise ConfigurationError(f"no {what} is registered (not even {embedded[-1]!r})",
                             env_var=env_var)


# -- the cache -------------------------------------------------------------------------------------
def select_backend(settings: AexySettings, plugins: PluginHost) -> Choice[CacheBackendSpec]:
    """``AEXY_CACHE_BACKEND`` when set; otherwise the one backend an installed plugin registers
    (installing ``aexy-redis`` swaps the cache); otherwise the core's embedded default
    (:data:`EMBEDDED_BACKENDS`). Several plugin backends and no choice is an error naming them.

    :raises ConfigurationError: an unknown or rejected name, or several plugin backends.
    """
    return _choose(plugins.cache_backends(), settings.cache_backend, env_var="AEXY_CACHE_BACKEND",
                   what="cache backend", noun="backend", embedded=EMBEDDED_BACKENDS,
                   plugins=plugins)


def check_backend(backend: object, name: str, owner: str) -> CacheBackend:
    """``backend`` checked against :class:`~aexy.contract.cache.CacheBackend` and given the
    optional members it lacks.

    :raises ConfigurationError: a required member is missing or wrong (naming what to fix).
    """
    problems = cache_backend_problems(backend)
    if problems:
        raise ConfigurationError(
            f"cache backend {name!r} from {owner} is unusable: {'; '.join(problems)}. "
            f"Upgrade or uninstall {owner}, or choose another with AEXY_CACHE_BACKEND",
            env_var="AEXY_CACHE_BACKEND")
    return with_defaults(backend, name)


def build_cache_backend(backend: str | CacheBackendSpec, settings: AexySettings,
                        plugins: PluginHost) -> CacheBackend:
    """Build a registered cache backend: its own settings (``settings_class``, read from the
    environment and ``.env``) or else the core ``settings`` go to its factory, and what it
    builds is checked (:func:`check_backend`).

    :raises ConfigurationError: unknown or rejected name, or an unusable backend.
    """
    registry = plugins.cache_backends()
    if isinstance(backend, str):
        found = registry.get(backend)
        if found is None:
            raise ConfigurationError(
                f"unknown cache backend {backend!r}; available: {', '.join(registry.names())}",
                env_var="AEXY_CACHE_BACKEND")
        backend = found
    owner = registry.owners.get(backend.name, "an unregistered plugin")
    backend_settings: object = settings
    if backend.settings_class is not None:
        backend_settings = backend.settings_class()
    return check_backend(backend.factory(backend_settings), backend.name, owner)


def build_cache(settings: AexySettings, plugins: PluginHost, *, recorder: Recorder,
                backend: CacheBackend | None = None) -> TieredCache:
    """The memory tier in front of ``backend`` (checked like an installed one), or of the
    configured backend (:func:`select_backend`), both sized and bounded by ``settings``."""
    if backend is None:
        built = build_cache_backend(select_backend(settings, plugins).spec, settings, plugins)
    else:
        name = getattr(backend, "name", None)
        built = check_backend(backend, name if isinstance(name, str) and name else
                              type(backend).__name__, "the caller (LLMGateway(cache=...))")
    return TieredCache(built, recorder=recorder, memory_entries=settings.cache_max_entries,
                       memory_max_age=settings.cache_memory_ttl, timeout=settings.cache_timeout)


# -- the budget ------------------------------------------------------------------------------------
def select_ledger(settings: AexySettings, plugins: PluginHost) -> Choice[BudgetLedgerSpec]:
    """``AEXY_BUDGET_LEDGER`` when set; otherwise the one ledger an installed plugin registers
    (installing ``aexy-redis`` shares the budget between processes); otherwise ``local``.

    :raises ConfigurationError: an unknown or rejected name, or several plugin ledgers.
    """
    return _choose(plugins.budget_ledgers(), settings.budget_ledger, env_var="AEXY_BUDGET_LEDGER",
                   what="budget ledger", noun="ledger", embedded=EMBEDDED_LEDGERS,
                   plugins=plugins)


def build_budget(settings: AexySettings, plugins: PluginHost, *,
                 setting: str = "AEXY_BUDGET_USD") -> Budget | None:
    """The budget ``AEXY_BUDGET_USD`` sets (``None`` when it is unset), on the ledger
    :func:`select_ledger` chooses, named ``AEXY_BUDGET_NAME``.

    :param setting: what set the limit, named in refusals (``--max-cost`` for a CLI job).
    :raises ConfigurationError: no usable ledger, or one whose product lacks a member.
    """
    if settings.budget_usd is None:
        return None
    choice = select_ledger(settings, plugins)
    spec = choice.spec
    ledger_settings: Any = spec.settings_class() if spec.settings_class is not None else settings
    ledger = spec.factory(settings.budget_name, ledger_settings)
    missing = [m for m in ("reserve", "settle", "totals", "aclose")
               if not callable(getattr(ledger, m, None))]
    if missing:
        raise ConfigurationError(
            f"budget ledger {spec.name!r} from {choice.owner} has no {', '.join(missing)}; "
            f"upgrade {choice.owner}, or choose another with AEXY_BUDGET_LEDGER",
            env_var="AEXY_BUDGET_LEDGER")
    if not getattr(ledger, "name", None):
        ledger.name = spec.name
    return Budget(settings.budget_usd, ledger=ledger,
                  allow_unpriced=settings.budget_allow_unpriced, setting=setting)


# -- providers, limiters, post-processors ----------------------------------------------------------
def build_provider(provider: str, model: str | None, plugins: PluginHost, *,
                   env_var: str = "LLM_PROVIDER") -> BaseLLMProvider:
    """The registered provider called ``provider``, built from its settings.

    :raises ProviderNotFoundError: no such provider (listing the installed ones, and why a
        plugin that would have provided it is not running).
    """
    name = provider.strip().lower()
    registry = plugins.providers()
    spec = registry.get(name)  # raises PluginConflictError for a doubly claimed name
    if spec is None:
        failed = plugins.failed_plugin_for(name)
        reason = f"plugin {failed.distribution} is {failed.status}: {failed.error}" if (
            failed and failed.error) else None
        error = ProviderNotFoundError(name, registry.names(), reason=reason)
        error.env_var = env_var
        raise error
    built: BaseLLMProvider = spec.provider_class(model=model)
    return built


def build_limiter(provider: BaseLLMProvider, label: str, settings: AexySettings,
                  plugins: PluginHost, *, clock: Clock, sleep: Sleep) -> RateLimiter | None:
    """The configured limiter (``AEXY_RATE_LIMITER``) for one provider and model, or ``None``
    when the provider has no limits."""
    limits = provider.limits
    if not (limits.requests_per_minute or limits.tokens_per_minute):
        return None
    registry = plugins.rate_limiters()
    spec = registry.get(settings.rate_limiter)
    if spec is None:
        raise ConfigurationError(
            f"unknown rate limiter {settings.rate_limiter!r}; available: "
            f"{', '.join(registry.names()) or 'none'}", env_var="AEXY_RATE_LIMITER")
    limiter: RateLimiter = spec.factory(label, limits, clock=clock, sleep=sleep)
    return limiter


def resolve_postprocessors(names: Sequence[str], plugins: PluginHost) -> list[PostProcessor]:
    """The post-processors ``AEXY_POSTPROCESSORS`` lists, in its order."""
    registry = plugins.postprocessors()
    chosen = []
    for name in names:
        found = registry.get(name)
        if found is None:
            raise ConfigurationError(
                f"unknown post-processor {name!r} in AEXY_POSTPROCESSORS; available: "
                f"{', '.join(registry.names()) or 'none'}", env_var="AEXY_POSTPROCESSORS")
        chosen.append(found)
    return chosen
