"""What the plugin host checks about each record when it builds a registry.

One check per kind of record, each returning the problems as sentences that name the member at
fault and the fix (empty when the record is sound). The host drops a record with problems and
reports them through ``aexy plugins``, so a plugin that lacks a member fails when it is loaded,
not at the first cache hit or call. A kind may also name deprecations: what a record does that
works today and a later plugin API major will refuse; the host warns and the record is used
(the compatibility policy in ``docs/plugins.md``). Nothing here constructs a provider, calls a
factory or reads the environment.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aexy.contract.analysis import AnalysisSpec
from aexy.contract.budget import BudgetLedgerSpec
from aexy.contract.cache import OPTIONAL_BACKEND_MEMBERS, CacheBackendSpec, backend_methods
from aexy.contract.postprocess import PostProcessor
from aexy.contract.prompts import PromptSource
from aexy.contract.provider import BaseLLMProvider, ProviderSettings, ProviderSpec, RateLimits
from aexy.contract.ratelimit import RateLimiterSpec
from aexy.settings import PluginSettings, env_prefix_problem

__all__ = [
    "ANALYSIS_TYPES",
    "BUDGET_LEDGERS",
    "CACHE_BACKENDS",
    "POSTPROCESSORS",
    "PROMPT_SOURCES",
    "PROVIDERS",
    "RATE_LIMITERS",
    "RecordKind",
    "backend_class_of",
    "cache_backend_problems",
    "provider_class_problems",
    "provider_deprecations",
]

T = TypeVar("T")

@dataclass(frozen=True, slots=True)
class RecordKind(Generic[T]):
    """One kind of record: the hook that returns it, its label in messages, its class and
    its check."""

    hook: str
    label: str
    record_type: type[T]
    check: Callable[[Any], list[str]]
    #: What a sound record does that a later plugin API major refuses (the host warns).
    deprecated: Callable[[Any], list[str]] = lambda record: []


def _fields_missing(record: object, record_type: type[Any]) -> list[str]:
    """A record need not be an instance of the record class, but it needs the fields that have
    no default (a field added later always has one, so older duck-typed records still pass)."""
    if isinstance(record, record_type):
        return []
    fields = [f for f in dataclasses.fields(record_type) if f.init]  # not derived fields
    names = [f.name for f in fields]
    missing = [f.name for f in fields if not hasattr(record, f.name)
               and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        return [f"{type(record).__name__} is not a {record_type.__name__} and has no "
                f"{', '.join(missing)} (a {record_type.__name__} has {', '.join(names)}); "
                f"return aexy.plugin_api.{record_type.__name__}(...) records"]
    return []


def _name_problems(record: object) -> list[str]:
    name = getattr(record, "name", None)
    if not isinstance(name, str) or not name.strip():
        return [f"name must be a non-empty string, not {name!r}"]
    return []


def _call_problem(func: object, what: str, args: tuple[object, ...],
                  kwargs: dict[str, object] | None = None) -> str | None:
    """Whether ``func`` can be called with these arguments (by signature; it is not called)."""
    if not callable(func):
        return f"{what} is not callable ({type(func).__name__})"
    try:
        inspect.signature(func).bind(*args, **(kwargs or {}))
    except TypeError as exc:
        return f"{what} cannot be called as the core calls it: {exc}"
    except ValueError:  # a builtin without a signature: trust it
        return None
    return None


# -- providers -----------------------------------------------------------------------------------
def provider_class_problems(cls: object, registered_as: str | None = None) -> list[str]:
    """What keeps ``cls`` from being built and called by the gateway."""
    if not (inspect.isclass(cls) and issubclass(cls, BaseLLMProvider)):
        return [f"provider_class {cls!r} is not a subclass of aexy.plugin_api.BaseLLMProvider"]
    problems: list[str] = []
    abstract = sorted(getattr(cls, "__abstractmethods__", ()))
    if abstract:
        missing = ", ".join(f"{a}()" for a in abstract)
        problems.append(f"{cls.__name__} does not implement {missing}")
    for method in ("complete", "is_available", "aclose", "count_tokens"):
        if not inspect.iscoroutinefunction(getattr(cls, method, None)):
            problems.append(f"{cls.__name__}.{method}() must be a coroutine (async def)")
    if registered_as is not None and cls.name != registered_as:
        problems.append(f"{cls.__name__}.name is {cls.name!r} but it is registered as "
                        f"{registered_as!r}; set name: ClassVar[str] = {registered_as!r}")
    settings: object = cls.settings_class  # a plugin may set anything here
    if not (inspect.isclass(settings) and issubclass(settings, ProviderSettings)):
        problems.append(f"{cls.__name__}.settings_class must be a subclass of "
                        "aexy.plugin_api.ProviderSettings")
    problem = _call_problem(cls, f"{cls.__name__}(model=...)", (), {"model": None})
    if problem:
        problems.append(problem + "; the gateway builds providers as Provider(model=...), so "
                        "give every other parameter a default")
    return problems


def provider_deprecations(cls: object) -> list[str]:
    """What a sound provider class does that plugin API 2.0 will refuse."""
    settings = getattr(cls, "settings_class", None)
    if not (inspect.isclass(settings) and issubclass(settings, ProviderSettings)):
        return []
    prefix = env_prefix_problem(settings)
    if prefix is None:
        return []
    # Required by the plugin API 1.0 docs' checks without notice, while the 0.1.0 docs showed
    # settings naming each variable with validation_alias: announced now, refused from 2.0.
    return [f"{prefix} (deprecated in plugin API 1.1; refused from 2.0)"]


def _provider_deprecations(record: Any) -> list[str]:
    return provider_deprecations(record.provider_class)


def _provider(record: Any) -> list[str]:
    problems = _fields_missing(record, ProviderSpec) or _name_problems(record)
    if problems:
        return problems
    if record.name != record.name.lower():
        problems.append(f"name {record.name!r} must be lower case (LLM_PROVIDER is read in "
                        "lower case)")
    return problems + provider_class_problems(record.provider_class, record.name)


# -- cache backends --------------------------------------------------------------------------------
def backend_class_of(factory: object) -> type[Any] | None:
    """The class a cache backend factory builds, when it can be known without calling it: the
    factory itself when it is a class, else its return annotation when that is a class."""
    if inspect.isclass(factory):
        return factory
    try:
        hints = typing.get_type_hints(factory)
    except Exception:  # unresolvable annotations: the instance is checked when built
        return None
    ret = hints.get("return")
    return ret if inspect.isclass(ret) and ret.__module__ != "typing" else None


def cache_backend_problems(target: object) -> list[str]:
    """The members of :class:`~aexy.contract.cache.CacheBackend` that ``target`` (a class or
    an instance) lacks or gets wrong. Members in
    :data:`~aexy.contract.cache.OPTIONAL_BACKEND_MEMBERS` may be absent (the core supplies a
    default) but must be right when present."""
    is_class = inspect.isclass(target)
    label = target.__name__ if is_class else type(target).__name__  # type: ignore[attr-defined]
    problems: list[str] = []
    name = getattr(target, "name", None)
    if name is not None and not is_class and (not isinstance(name, str) or not name):
        problems.append(f"{label}.name must be a non-empty string, not {name!r}")
    for method, signature in backend_methods().items():
        member = getattr(target, method, None)
        if member is None:
            if method not in OPTIONAL_BACKEND_MEMBERS:
                params = "".join(f", {p}" for p in signature.parameters)
                problems.append(f"{label} has no {method}() method (required since plugin API "
                                f"1.0); add async def {method}(self{params})")
            continue
        if not inspect.iscoroutinefunction(member):
            problems.append(f"{label}.{method}() must be a coroutine (async def)")
            continue
        # Called as the core calls it: every parameter of the protocol, positionally.
        args = tuple(None for _ in signature.parameters)
        problem = _call_problem(member, f"{label}.{method}()", (None, *args) if is_class
                                else args)
        if problem:
            problems.append(problem)
    return problems


def _cache_backend(record: Any) -> list[str]:
    problems = _fields_missing(record, CacheBackendSpec) or _name_problems(record)
    if problems:
        return problems
    factory = record.factory
    if not callable(factory):
        return [f"factory is not callable ({type(factory).__name__})"]
    problem = _call_problem(factory, "factory(settings)", (None,))
    if problem:
        problems.append(problem)
    problems += _settings_problems(record)
    backend = backend_class_of(factory)
    if backend is not None:
        problems += cache_backend_problems(backend)
    return problems


def _settings_problems(record: Any) -> list[str]:
    """A record's own ``settings_class``, when it has one: a PluginSettings with a prefix."""
    settings = getattr(record, "settings_class", None)
    if settings is None:
        return []
    if not (inspect.isclass(settings) and issubclass(settings, PluginSettings)):
        return ["settings_class must be a subclass of aexy.plugin_api.PluginSettings"]
    prefix = env_prefix_problem(settings)
    return [prefix] if prefix else []


# -- the other kinds -------------------------------------------------------------------------------
def _prompt_source(record: Any) -> list[str]:
    problems = _fields_missing(record, PromptSource) or _name_problems(record)
    if problems:
        return problems
    # get(spec), or get(spec, settings) where the gateway passes its settings too.
    problem = _call_problem(record.get, "get(spec)", (None,))
    if problem and _call_problem(record.get, "get(spec, settings)", (None, None)) is None:
        problem = None
    if problem:
        problems.append(problem)
    priority = getattr(record, "priority", 100)  # a duck-typed record may leave it out
    if not isinstance(priority, int) or isinstance(priority, bool):
        problems.append(f"priority must be an int, not {priority!r}")
    return problems + _settings_problems(record)


def _postprocessor(record: Any) -> list[str]:
    problems = _fields_missing(record, PostProcessor) or _name_problems(record)
    if problems:
        return problems
    problem = _call_problem(record.process, "process(result, request)", (None, None))
    return ([problem] if problem else []) + _settings_problems(record)


def _rate_limiter(record: Any) -> list[str]:
    problems = _fields_missing(record, RateLimiterSpec) or _name_problems(record)
    if problems:
        return problems
    problem = _call_problem(record.factory, "factory(name, limits, clock=..., sleep=...)",
                            ("provider/model", RateLimits()), {"clock": None, "sleep": None})
    return [problem] if problem else []


def _budget_ledger(record: Any) -> list[str]:
    problems = _fields_missing(record, BudgetLedgerSpec) or _name_problems(record)
    if problems:
        return problems
    problem = _call_problem(record.factory, "factory(name, settings)", ("default", None))
    if problem:
        problems.append(problem)
    settings = getattr(record, "settings_class", None)
    if settings is not None and not (inspect.isclass(settings)
                                     and issubclass(settings, PluginSettings)):
        problems.append("settings_class must be a subclass of aexy.plugin_api.PluginSettings")
    ledger = backend_class_of(record.factory)
    if ledger is not None:
        for method in ("reserve", "settle", "totals", "aclose"):
            if not inspect.iscoroutinefunction(getattr(ledger, method, None)):
                problems.append(f"{ledger.__name__}.{method}() must be a coroutine (async def)")
    return problems


def _analysis_type(record: Any) -> list[str]:
    if not isinstance(record, AnalysisSpec):
        return [f"{type(record).__name__} is not an aexy.plugin_api.AnalysisSpec"]
    return _name_problems(record)


PROVIDERS = RecordKind("register_providers", "provider", ProviderSpec, _provider,
                       _provider_deprecations)
CACHE_BACKENDS = RecordKind("register_cache_backends", "cache backend", CacheBackendSpec,
                            _cache_backend)
PROMPT_SOURCES = RecordKind("register_prompt_sources", "prompt source", PromptSource,
                            _prompt_source)
POSTPROCESSORS = RecordKind("register_postprocessors", "post-processor", PostProcessor,
                            _postprocessor)
ANALYSIS_TYPES = RecordKind("register_analysis_types", "analysis type", AnalysisSpec,
                            _analysis_type)
RATE_LIMITERS = RecordKind("register_rate_limiters", "rate limiter", RateLimiterSpec,
                           _rate_limiter)
BUDGET_LEDGERS = RecordKind("register_budget_ledgers", "budget ledger", BudgetLedgerSpec,
                            _budget_ledger)
