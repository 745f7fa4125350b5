"""The plugin host: built-in features and installed plugins behind one pluggy manager.

Entry points of group ``aexy`` are loaded one by one. Before a plugin is imported its
distribution's declared ``aexy-core`` range (``Requires-Dist``) is checked against the running
core: an incompatible plugin is not loaded and is reported, like one that fails to import, with
its distribution, version and the reason; everything else keeps working.

Records are checked when a registry is built (:mod:`aexy.plugin_checks`): one that lacks a
member is dropped and reported by ``aexy plugins`` with the plugin, distribution and what is
missing. Names are claimed per kind (provider, cache backend, ...); a name claimed by two
distributions is a :class:`~aexy.errors.PluginConflictError` naming both, raised when that name
is used.
"""

from __future__ import annotations

import difflib
import os
import re
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import Distribution, entry_points
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast

import pluggy

from aexy import hookspecs
from aexy._version import PLUGIN_API_VERSION, __version__
from aexy.errors import ConfigurationError, PluginConflictError

if TYPE_CHECKING:
    import click

    from aexy.contract.analysis import AnalysisSpec
    from aexy.contract.budget import BudgetLedgerSpec
    from aexy.contract.cache import CacheBackendSpec
    from aexy.contract.postprocess import PostProcessor
    from aexy.contract.prompts import PromptSource
    from aexy.contract.provider import ProviderSpec
    from aexy.contract.ratelimit import RateLimiterSpec
    from aexy.plugin_checks import RecordKind

__all__ = [
    "CORE_DISTRIBUTION",
    "HookError",
    "PluginHost",
    "PluginInfo",
    "Registry",
    "core_requirement",
    "get_plugin_host",
    "reset_plugin_host",
    "suggested_range",
]

ENTRY_POINT_GROUP = "aexy"
CORE_DISTRIBUTION = "aexy-core"
Status = Literal["active", "disabled", "failed", "incompatible"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """One plugin as ``aexy plugins`` shows it.

    :param requires_core: the ``aexy-core`` range its distribution declares (``None``: none).
    :param warnings: advice that does not stop the plugin (e.g. no declared ``aexy-core``
        range).
    """

    name: str
    distribution: str
    version: str
    status: Status
    hooks: tuple[str, ...] = ()
    error: str | None = None
    builtin: bool = False
    requires_core: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HookError:
    """A hook that raised, or a record it returned that was dropped (``record`` names it)."""

    plugin: str
    distribution: str
    hook: str
    error: str
    record: str | None = None

    def __str__(self) -> str:
        what = f"{self.hook} record {self.record!r}" if self.record else self.hook
        return f"{self.plugin} ({self.distribution}) {what}: {self.error}"


@dataclass(slots=True)
class Registry(Generic[T]):
    """The records of one kind, by name, with the distribution of each, any conflicts and the
    records dropped at load (by name: the reason)."""

    kind: str
    items: dict[str, T] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    conflicts: dict[str, list[str]] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> T | None:
        """The record called ``name``; ``None`` when there is none.

        :raises PluginConflictError: two distributions claim ``name``.
        :raises ConfigurationError: the record was dropped at load (the message says why).
        """
        if name in self.conflicts:
            raise PluginConflictError(self.kind, name, self.conflicts[name])
        if name in self.rejected and name not in self.items:
            raise ConfigurationError(
                f"{self.kind} {name!r} was rejected when its plugin loaded: "
                f"{self.rejected[name]} (see `aexy plugins`)"
            )
        return self.items.get(name)

    def names(self) -> list[str]:
        return sorted(self.items)


def _parse_list(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {part.strip() for part in value.replace(";", ",").split(",") if part.strip()}


def _spec_names() -> set[str]:
    return {n for n in dir(hookspecs) if n.startswith("register_")}


# A Requires-Dist line: name, [extras], version specifiers (optionally in parentheses), ; marker.
_REQUIRES = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*\(?([^;()]*)\)?"
                       r"\s*(?:;(.*))?$")


def core_requirement(dist: Distribution) -> str | None:
    """The ``aexy-core`` version range a distribution declares (``">=0.1,<0.2"``); ``""``
    when it requires aexy-core without a range, ``None`` when it does not require it.

    Read straight from ``Requires-Dist`` (``packaging.requirements`` would cost more to import
    than every other part of loading plugins); a requirement under an extra is no statement
    about the plugin itself, other markers are taken to apply.
    """
    for line in dist.requires or []:
        match = _REQUIRES.match(line)
        if match is None or re.sub(r"[-_.]+", "-", match[1]).lower() != CORE_DISTRIBUTION:
            continue
        if match[3] and "extra" in match[3]:
            continue
        parts = [p.strip() for p in match[2].split(",") if p.strip()]
        # Lower bounds first (">=0.1,<0.2"), as people write them.
        return ",".join(sorted(parts, key=lambda p: p.startswith("<")))
    return None


_CLAUSE = re.compile(r"(~=|==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+)*)")
_COMPARE = {">=": tuple.__ge__, ">": tuple.__gt__, "<=": tuple.__le__, "<": tuple.__lt__,
            "==": tuple.__eq__, "!=": tuple.__ne__}


def simple_admits(spec: str, version: str) -> bool | None:
    """Whether ``version`` satisfies ``spec`` when both use plain release numbers
    (``">=0.1,<0.2"``, ``"~=0.1.0"`` against ``"0.1.3"``), by PEP 440's rules for those;
    ``None`` for anything else (pre-releases, wildcards...), which ``packaging`` decides.

    Every plugin is checked whenever plugins load, on every ``aexy`` command; importing
    ``packaging.specifiers`` for the common case would cost more than the rest of loading.
    """
    if not re.fullmatch(r"\d+(?:\.\d+)*", version):
        return None
    have = tuple(int(p) for p in version.split("."))
    for clause in spec.split(","):
        match = _CLAUSE.fullmatch(clause.strip())
        if match is None:
            return None
        op, want = match[1], tuple(int(p) for p in match[2].split("."))
        size = max(len(have), len(want))
        a, b = have + (0,) * (size - len(have)), want + (0,) * (size - len(want))
        if op == "~=":  # ~=X.Y.Z: >=X.Y.Z and the same X.Y
            if len(want) < 2:
                return None
            ok = a >= b and a[: len(want) - 1] == b[: len(want) - 1]
        else:
            ok = _COMPARE[op](a, b)
        if not ok:
            return False
    return True


def incompatibility(dist_name: str, dist_version: str, spec: str,
                    core_version: str = __version__) -> str | None:
    """Why a plugin declaring ``aexy-core<spec>`` cannot run on ``core_version``, or ``None``."""
    admitted = simple_admits(spec, core_version)
    if admitted is None:  # beyond plain release numbers: the full PEP 440 rules
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            admitted = SpecifierSet(spec).contains(core_version, prereleases=True)
        except InvalidSpecifier:
            return f"{dist_name} {dist_version} declares an unreadable aexy-core range {spec!r}"
    if admitted:
        return None
    return (f"{dist_name} {dist_version} supports aexy-core{spec}, but aexy-core "
            f"{core_version} is installed (plugin API {PLUGIN_API_VERSION}): install a "
            f"release of {dist_name} made for aexy-core {core_version} "
            f"(pip install --upgrade {dist_name}), or pip install 'aexy-core{spec}'")


class PluginHost:
    """Owns the pluggy manager and the per-kind registries built from it."""

    def __init__(
        self,
        *,
        builtins: bool = True,
        entry_points: bool = True,
        environ: Mapping[str, str] | None = None,
        core_version: str = __version__,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.core_version = core_version
        self._infos: dict[str, PluginInfo] = {}
        self._registries: dict[str, Registry[Any]] = {}
        self.hook_errors: list[HookError] = []
        #: Records that work and rely on something a later plugin API major refuses (each
        #: also raised once as a ``DeprecationWarning``).
        self.deprecations: list[HookError] = []
        #: Built-in records an installed plugin's record of the same name replaces:
        #: ``(kind label, name, distribution)``.
        self.overrides: list[tuple[str, str, str]] = []
        #: The plugin whose ``register_commands`` is running (the CLI names it in problems).
        self.adding_commands_for: str | None = None
        self._lock = threading.Lock()
        if builtins:
            from aexy import builtin_plugin

            self.register(builtin_plugin, name="aexy", distribution=CORE_DISTRIBUTION,
                          builtin=True)
        if entry_points:
            self.load_entry_points(os.environ if environ is None else environ)

    # -- loading -------------------------------------------------------------------------------
    def load_entry_points(self, environ: Mapping[str, str]) -> None:
        """Load every ``aexy`` entry point, honouring the allow- and deny-lists.

        ``AEXY_LOAD_PLUGINS`` and ``AEXY_DISABLE_PLUGINS`` take comma-separated entry-point or
        distribution names; an empty ``AEXY_LOAD_PLUGINS`` loads no plugin at all. A plugin
        whose declared ``aexy-core`` range excludes the running core is not imported.
        """
        allow = _parse_list(environ.get("AEXY_LOAD_PLUGINS"))
        deny = _parse_list(environ.get("AEXY_DISABLE_PLUGINS")) or set()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else "unknown"
            version = ep.dist.version if ep.dist is not None else "?"
            requires = core_requirement(ep.dist) if ep.dist is not None else None
            ids = {ep.name, dist}
            if (allow is not None and not ids & allow) or ids & deny:
                self._record(PluginInfo(ep.name, dist, version, "disabled",
                                        requires_core=requires))
                continue
            why = incompatibility(dist, version, requires, self.core_version) if requires else None
            if why is not None:
                self._record(PluginInfo(ep.name, dist, version, "incompatible", error=why,
                                        requires_core=requires))
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must not take the others down
                self._record(PluginInfo(ep.name, dist, version, "failed", error=_describe(exc),
                                        requires_core=requires))
                continue
            warnings: tuple[str, ...] = ()
            if requires is None and ep.dist is not None:
                warnings = (f"{dist} declares no aexy-core requirement; add \"aexy-core"
                            f"{suggested_range(self.core_version)}\" to its dependencies",)
            elif requires is not None and not _has_upper_bound(requires):
                warnings = (f"{dist} declares aexy-core{requires or ''} with no upper bound, so "
                            "it would also load on a release that changes the plugin API "
                            f"incompatibly; declare \"aexy-core"
                            f"{suggested_range(self.core_version)}\"",)
            self.register(plugin, name=ep.name, distribution=dist, version=version,
                          requires_core=requires, warnings=warnings)

    def register(
        self,
        plugin: object,
        *,
        name: str | None = None,
        distribution: str | None = None,
        version: str | None = None,
        builtin: bool = False,
        requires_core: str | None = None,
        warnings: tuple[str, ...] = (),
    ) -> PluginInfo:
        """Register a module or object holding ``@hookimpl`` functions (what tests use too)."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        if distribution is None or version is None:
            from importlib.metadata import version as dist_version

            distribution = distribution or name
            try:
                version = version or dist_version(distribution)
            except Exception:
                version = version or "?"
        facts: dict[str, Any] = {"requires_core": requires_core, "warnings": warnings}
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            return self._record(PluginInfo(name, distribution, version, "failed",
                                           error=_describe(exc), **facts))
        unknown = self._unknown_hooks(plugin)
        if unknown:
            self.pm.unregister(plugin)
            return self._record(PluginInfo(name, distribution, version, "failed",
                                           error="; ".join(unknown), **facts))
        hooks = tuple(sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or []))
        return self._record(PluginInfo(name, distribution, version, "active", hooks=hooks,
                                       builtin=builtin, **facts))

    def unregister(self, name: str) -> None:
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        with self._lock:
            self._infos.pop(name, None)
            self._registries.clear()

    def check_pending(self) -> None:
        """Raise ``pluggy.PluginValidationError`` for any hook implementation without a spec."""
        self.pm.check_pending()

    def _unknown_hooks(self, plugin: object) -> list[str]:
        known = _spec_names()
        problems = []
        for caller in self.pm.get_hookcallers(plugin) or []:
            if caller.name in known:
                continue
            close = difflib.get_close_matches(caller.name, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown hook {caller.name!r}{hint}")
        return problems

    def _record(self, info: PluginInfo) -> PluginInfo:
        with self._lock:
            self._infos[info.name] = info
            self._registries.clear()
        return info

    # -- queries -------------------------------------------------------------------------------
    @property
    def core_distribution(self) -> str:
        """The distribution the core's own (built-in) records are registered under."""
        return CORE_DISTRIBUTION

    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen: built-in, active, disabled, incompatible and failed."""
        return sorted(self._infos.values(), key=lambda i: (not i.builtin, i.name))

    def failed(self) -> list[PluginInfo]:
        """Plugins that are not running through a fault of theirs (failed or incompatible)."""
        return [i for i in self._infos.values() if i.status in ("failed", "incompatible")]

    def distribution_of(self, plugin_name: str) -> str:
        info = self._infos.get(plugin_name)
        return info.distribution if info is not None else plugin_name

    def collect(self, kind: RecordKind[T]) -> Registry[T]:
        """Call one collector hook plugin by plugin, check each record and index the sound ones
        by ``.name``. A record with problems is dropped and reported in :attr:`hook_errors`."""
        with self._lock:
            cached = self._registries.get(kind.hook)
        if cached is not None:
            return cached
        registry: Registry[T] = Registry(kind.label)
        exclusive: dict[str, tuple[str, object]] = {}  # env prefix -> (provider, settings)
        builtin: set[str] = set()  # names the core's own plugin registered
        caller = getattr(self.pm.hook, kind.hook)
        # Registration order (pluggy keeps impls oldest first): built-ins, then entry points.
        for impl in caller.get_hookimpls():
            plugin_name = impl.plugin_name
            dist = self.distribution_of(plugin_name)
            try:
                # Collector hooks take no arguments today; an impl is called with none.
                records = list(impl.function() or [])
            except Exception as exc:
                self.report(plugin_name, kind.hook, _describe(exc))
                continue
            for record in records:
                rname = getattr(record, "name", None)
                label = rname if isinstance(rname, str) and rname else type(record).__name__
                problems = kind.check(record)
                if not problems and kind.hook == "register_providers":
                    # Checked above: a provider record with every member.
                    problems = _prefix_clash(cast("ProviderSpec", record), exclusive,
                                             registry.owners)
                if problems:
                    self.report(plugin_name, kind.hook, "; ".join(problems), label)
                    registry.rejected.setdefault(label, "; ".join(problems))
                    continue
                for notice in kind.deprecated(record):
                    self._deprecated(plugin_name, kind.hook, notice, label)
                owner = registry.owners.get(label)
                if label in builtin and dist != CORE_DISTRIBUTION:
                    # A name the core took up later never breaks a plugin that had it first:
                    # the installed plugin's record wins, and `aexy plugins` says so.
                    self.overrides.append((kind.label, label, dist))
                    builtin.discard(label)
                elif owner is not None and owner != dist:
                    registry.conflicts.setdefault(label, [owner]).append(dist)
                    continue
                elif self._is_builtin(plugin_name):
                    builtin.add(label)
                registry.items[label] = record
                registry.owners[label] = dist
        with self._lock:
            self._registries[kind.hook] = registry
        return registry

    # The checks import every record module: a host never asked for a registry (``import
    # aexy``, ``aexy --help``) does not pay for them.
    def providers(self) -> Registry[ProviderSpec]:
        from aexy.plugin_checks import PROVIDERS

        return self.collect(PROVIDERS)

    def cache_backends(self) -> Registry[CacheBackendSpec]:
        from aexy.plugin_checks import CACHE_BACKENDS

        return self.collect(CACHE_BACKENDS)

    def prompt_sources(self) -> Registry[PromptSource]:
        from aexy.plugin_checks import PROMPT_SOURCES

        return self.collect(PROMPT_SOURCES)

    def postprocessors(self) -> Registry[PostProcessor]:
        from aexy.plugin_checks import POSTPROCESSORS

        return self.collect(POSTPROCESSORS)

    def analysis_types(self) -> Registry[AnalysisSpec]:
        from aexy.plugin_checks import ANALYSIS_TYPES

        return self.collect(ANALYSIS_TYPES)

    def rate_limiters(self) -> Registry[RateLimiterSpec]:
        from aexy.plugin_checks import RATE_LIMITERS

        return self.collect(RATE_LIMITERS)

    def budget_ledgers(self) -> Registry[BudgetLedgerSpec]:
        from aexy.plugin_checks import BUDGET_LEDGERS

        return self.collect(BUDGET_LEDGERS)

    def registries(self) -> list[Registry[Any]]:
        """Every kind's registry, built (and so checked) now: what ``aexy plugins`` shows."""
        return [self.providers(), self.cache_backends(), self.prompt_sources(),
                self.postprocessors(), self.analysis_types(), self.rate_limiters(),
                self.budget_ledgers()]

    def add_commands(self, cli: click.Group) -> None:
        for impl in self.pm.hook.register_commands.get_hookimpls():
            self.adding_commands_for = impl.plugin_name
            try:
                impl.function(*({"cli": cli}[a] for a in impl.argnames))
            except Exception as exc:
                self.report(impl.plugin_name, "register_commands", _describe(exc))
            finally:
                self.adding_commands_for = None

    def report(self, plugin: str, hook: str, error: str, record: str | None = None) -> None:
        """Record a problem of ``plugin`` for ``aexy plugins``."""
        self.hook_errors.append(HookError(plugin, self.distribution_of(plugin), hook, error,
                                          record))

    def _deprecated(self, plugin: str, hook: str, notice: str, record: str) -> None:
        found = HookError(plugin, self.distribution_of(plugin), hook, notice, record)
        if found in self.deprecations:
            return
        self.deprecations.append(found)
        warnings.warn(f"{found}; the record still works until then", DeprecationWarning,
                      stacklevel=2)

    def _is_builtin(self, plugin: str) -> bool:
        info = self._infos.get(plugin)
        return info is not None and info.builtin

    def rejected_records(self, plugin: str) -> list[HookError]:
        """The records of ``plugin`` that were dropped at load."""
        return [e for e in self.hook_errors if e.plugin == plugin and e.record is not None]

    def failed_plugin_for(self, name: str) -> PluginInfo | None:
        """A plugin that is not active and whose name suggests it would have provided
        ``name``."""
        for info in self._infos.values():
            if info.status != "active" and (name == info.name or name in info.distribution):
                return info
        return None


def _prefix_clash(spec: ProviderSpec, taken: dict[str, tuple[str, object]],
                  owners: Mapping[str, str]) -> list[str]:
    """Two providers reading the same variables would configure each other."""
    settings = spec.provider_class.settings_class
    prefix = str(settings.model_config.get("env_prefix") or "").upper()
    from aexy.settings import PluginSettings  # settings cost ~80 ms: only when records are checked

    if prefix in PluginSettings.BASE_PREFIXES:
        return []  # no prefix of its own: a deprecation (plugin_checks), not a clash
    other = taken.get(prefix)
    if other is not None and other[1] is not settings:
        where = f" from {owners[other[0]]}" if other[0] in owners else ""
        return [f"settings class {settings.__name__} uses env_prefix {prefix!r}, already used "
                f"by provider {other[0]!r}{where}; give it a prefix of its own"]
    taken.setdefault(prefix, (spec.name, settings))
    return []


def _has_upper_bound(spec: str) -> bool:
    return any(c.strip().startswith(("<", "==", "~=")) for c in spec.split(","))


def suggested_range(core_version: str = __version__) -> str:
    """The ``aexy-core`` range a plugin made today should declare: this release up to the next
    one that may change the plugin API (the next minor while aexy-core is 0.x, else the next
    major)."""
    from packaging.version import Version

    v = Version(core_version)
    upper = f"0.{v.minor + 1}" if v.major == 0 else f"{v.major + 1}"
    return f">={v.major}.{v.minor},<{upper}"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


_host: PluginHost | None = None
_host_lock = threading.Lock()


def get_plugin_host() -> PluginHost:
    """The process-wide host, built (and entry points loaded) on first use."""
    global _host
    with _host_lock:
        if _host is None:
            _host = PluginHost()
        return _host


def reset_plugin_host(host: PluginHost | None = None) -> None:
    """Replace (or drop, to rebuild lazily) the process-wide host. Meant for tests."""
    global _host
    with _host_lock:
        _host = host

