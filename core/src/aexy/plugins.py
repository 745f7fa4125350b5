"""The plugin host: built-in features and installed plugins behind one pluggy manager.

Entry points of group ``aexy`` are loaded one by one; a plugin that fails is recorded with its
distribution, version and error, and everything else keeps working. Names are claimed per kind
(provider, cache backend, ...); a name claimed by two distributions is a
:class:`~aexy.errors.PluginConflictError` naming both, raised when that name is used.
"""

from __future__ import annotations

import difflib
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Generic, Literal, TypeVar

import pluggy

from aexy import hookspecs
from aexy.errors import PluginConflictError

__all__ = ["PluginHost", "PluginInfo", "get_plugin_host", "reset_plugin_host"]

ENTRY_POINT_GROUP = "aexy"
Status = Literal["active", "disabled", "failed"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """One plugin as ``aexy plugins`` shows it."""

    name: str
    distribution: str
    version: str
    status: Status
    hooks: tuple[str, ...] = ()
    error: str | None = None
    builtin: bool = False


@dataclass(slots=True)
class Registry(Generic[T]):
    """The records of one kind, by name, with the distribution of each and any conflicts."""

    kind: str
    items: dict[str, T] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    conflicts: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> T | None:
        if name in self.conflicts:
            raise PluginConflictError(self.kind, name, self.conflicts[name])
        return self.items.get(name)

    def names(self) -> list[str]:
        return sorted(self.items)


def _parse_list(value: str | None) -> set[str] | None:
    if value is None:
        return None
    return {part.strip() for part in value.replace(";", ",").split(",") if part.strip()}


def _spec_names() -> set[str]:
    return {n for n in dir(hookspecs) if n.startswith("register_")}


class PluginHost:
    """Owns the pluggy manager and the per-kind registries built from it."""

    def __init__(
        self,
        *,
        builtins: bool = True,
        entry_points: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self._infos: dict[str, PluginInfo] = {}
        self._registries: dict[str, Registry[Any]] = {}
        self.hook_errors: list[tuple[str, str, str]] = []  # (plugin, hook, error)
        self._lock = threading.Lock()
        if builtins:
            from aexy import builtin_plugin

            self.register(builtin_plugin, name="aexy", distribution="aexy-core", builtin=True)
        if entry_points:
            self.load_entry_points(os.environ if environ is None else environ)

    # -- loading -------------------------------------------------------------------------------
    def load_entry_points(self, environ: Mapping[str, str]) -> None:
        """Load every ``aexy`` entry point, honouring the allow- and deny-lists.

        ``AEXY_LOAD_PLUGINS`` and ``AEXY_DISABLE_PLUGINS`` take comma-separated entry-point or
        distribution names; an empty
        ``AEXY_LOAD_PLUGINS`` loads no plugin at all.
        """
        allow = _parse_list(environ.get("AEXY_LOAD_PLUGINS"))
        deny = _parse_list(environ.get("AEXY_DISABLE_PLUGINS")) or set()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else "unknown"
            version = ep.dist.version if ep.dist is not None else "?"
            ids = {ep.name, dist}
            if (allow is not None and not ids & allow) or ids & deny:
                self._record(PluginInfo(ep.name, dist, version, "disabled"))
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plugin must not take the others down
                self._record(PluginInfo(ep.name, dist, version, "failed", error=_describe(exc)))
                continue
            self.register(plugin, name=ep.name, distribution=dist, version=version)

    def register(
        self,
        plugin: object,
        *,
        name: str | None = None,
        distribution: str | None = None,
        version: str | None = None,
        builtin: bool = False,
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
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            info = PluginInfo(name, distribution, version, "failed", error=_describe(exc))
            return self._record(info)
        unknown = self._unknown_hooks(plugin)
        if unknown:
            self.pm.unregister(plugin)
            return self._record(
                PluginInfo(name, distribution, version, "failed", error="; ".join(unknown))
            )
        hooks = tuple(
            sorted(
                caller.name
                for caller in self.pm.get_hookcallers(plugin) or []
            )
        )
        return self._record(
            PluginInfo(name, distribution, version, "active", hooks=hooks, builtin=builtin)
        )

    def unregister(self, name: str) -> None:
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
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
    def plugins(self) -> list[PluginInfo]:
        """Every plugin seen: built-in, active, disabled and failed."""
        return sorted(self._infos.values(), key=lambda i: (not i.builtin, i.name))

    def failed(self) -> list[PluginInfo]:
        return [i for i in self._infos.values() if i.status == "failed"]

    def collect(self, hook_name: str, kind: str, **kwargs: Any) -> Registry[Any]:
        """Call one collector hook plugin by plugin and index the records by ``.name``."""
        with self._lock:
            cached = self._registries.get(hook_name)
        if cached is not None:
            return cached
        registry: Registry[Any] = Registry(kind)
        caller = getattr(self.pm.hook, hook_name)
        # Registration order (pluggy keeps impls oldest first): built-ins, then entry points.
        for impl in caller.get_hookimpls():
            plugin_name = impl.plugin_name
            dist = self._infos[plugin_name].distribution if plugin_name in self._infos else (
                plugin_name)
            try:
                # Impls may take fewer arguments than the spec: pass only what they name.
                records = impl.function(*(kwargs[a] for a in impl.argnames)) or []
            except Exception as exc:
                self.hook_errors.append((plugin_name, hook_name, _describe(exc)))
                continue
            for record in records:
                rname = record.name
                if rname in registry.items and registry.owners[rname] != dist:
                    registry.conflicts.setdefault(rname, [registry.owners[rname]]).append(dist)
                    continue
                registry.items[rname] = record
                registry.owners[rname] = dist
        with self._lock:
            self._registries[hook_name] = registry
        return registry

    def providers(self) -> Registry[Any]:
        return self.collect("register_providers", "provider")

    def cache_backends(self) -> Registry[Any]:
        return self.collect("register_cache_backends", "cache backend")

    def prompt_sources(self) -> Registry[Any]:
        return self.collect("register_prompt_sources", "prompt source")

    def postprocessors(self) -> Registry[Any]:
        return self.collect("register_postprocessors", "post-processor")

    def analysis_types(self) -> Registry[Any]:
        return self.collect("register_analysis_types", "analysis type")

    def rate_limiters(self) -> Registry[Any]:
        return self.collect("register_rate_limiters", "rate limiter")

    def add_commands(self, cli: Any) -> None:
        for impl in self.pm.hook.register_commands.get_hookimpls():
            try:
                impl.function(*({"cli": cli}[a] for a in impl.argnames))
            except Exception as exc:
                self.hook_errors.append((impl.plugin_name, "register_commands", _describe(exc)))

    def failed_plugin_for(self, name: str) -> PluginInfo | None:
        """A failed or disabled plugin whose name suggests it would have provided ``name``."""
        for info in self._infos.values():
            if info.status != "active" and (name == info.name or name in info.distribution):
                return info
        return None


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

