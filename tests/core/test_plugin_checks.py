"""Records are checked when a registry is built: a record lacking a member is dropped and
reported (plugin, distribution, what is missing), never found at the first call or cache hit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic_settings import SettingsConfigDict

from aexy import LLMGateway
from aexy.assembly import build_cache_backend
from aexy.cache import MemoryCache
from aexy.errors import ConfigurationError
from aexy.plugin_api import (
    BaseLLMProvider,
    BudgetLedgerSpec,
    CacheBackendSpec,
    Completion,
    CompletionRequest,
    PluginSettings,
    PostProcessor,
    PromptSource,
    ProviderSettings,
    ProviderSpec,
    RateLimiterSpec,
    hookimpl,
)
from aexy.plugin_checks import (
    cache_backend_problems,
    provider_class_problems,
    provider_deprecations,
)
from aexy.plugins import PluginHost
from aexy.prompts import ordered_sources
from aexy.settings import AexySettings
from aexy.testing import FakeProvider, install_fake_provider


class GoodSettings(ProviderSettings):
    model_config = SettingsConfigDict(env_prefix="GOOD_")


class Good(BaseLLMProvider):
    name: ClassVar[str] = "good"
    settings_class: ClassVar[type[ProviderSettings]] = GoodSettings

    async def complete(self, request: CompletionRequest) -> Completion:
        return Completion(text="{}", model="good-1")


def plugin_returning(hook: str, *records: Any) -> object:
    class Plugin:
        pass

    def impl() -> list[Any]:
        return list(records)

    impl.__name__ = hook
    setattr(Plugin, hook, staticmethod(hookimpl(impl)))
    return Plugin()


def host_with(hook: str, *records: Any, dist: str = "aexy-under-test") -> PluginHost:
    host = PluginHost(entry_points=False)
    host.register(plugin_returning(hook, *records), name="under-test", distribution=dist,
                  version="1.0")
    host.registries()  # registries are built (and checked) when first asked for
    return host


# -- the installed fixture written from the old docs ----------------------------------------------

def test_an_installed_plugin_from_the_old_docs_loads_with_defaults_and_a_deprecation() -> None:
    # What the 1.0 checks rejected without notice: a member added later gets a default, and a
    # requirement added later is a deprecation until the next plugin API major.
    host = PluginHost()
    with pytest.warns(DeprecationWarning, match="LackingSettings sets no env_prefix"):
        host.registries()
    assert host.rejected_records("lacking") == []
    assert "lacking" in host.providers().names()
    (notice,) = [d for d in host.deprecations if d.plugin == "lacking"]
    assert notice.distribution == "aexy-fixture-lacking" and notice.record == "lacking"
    assert "refused from 2.0" in notice.error
    assert "lacking-cache" in host.cache_backends().names()  # named after its spec
    homemade = next(s for s in ordered_sources(host.prompt_sources().items.values())
                    if s.name == "homemade")
    assert homemade.priority == 100  # PromptSource's default
    assert "lacking-identity" in host.postprocessors().names()


def test_the_gateway_refuses_a_rejected_backend_before_any_call() -> None:
    host = host_with("register_cache_backends", CacheBackendSpec("syncget", SyncGet))
    install_fake_provider(host)
    with pytest.raises(ConfigurationError, match="rejected when its plugin loaded"):
        LLMGateway("fake", plugins=host, settings=AexySettings(cache_backend="syncget"))


# -- providers ------------------------------------------------------------------------------------

class NoPrefix(ProviderSettings):
    pass


class NoUnderscore(ProviderSettings):
    model_config = SettingsConfigDict(env_prefix="NOUNDERSCORE")


class Abstract(BaseLLMProvider):
    name: ClassVar[str] = "abstract"
    settings_class: ClassVar[type[ProviderSettings]] = GoodSettings


class SyncComplete(Good):
    name: ClassVar[str] = "sync"

    def complete(self, request: CompletionRequest) -> Completion:  # type: ignore[override]
        return Completion(text="{}", model="m")


class NeedsArgument(Good):
    name: ClassVar[str] = "needy"

    def __init__(self, endpoint: str, settings: ProviderSettings | None = None, *,
                 model: str | None = None) -> None:
        super().__init__(settings, model=model)


@pytest.mark.parametrize(
    ("cls", "registered_as", "fragment"),
    [
        (Abstract, "abstract", "does not implement complete()"),
        (SyncComplete, "sync", "SyncComplete.complete() must be a coroutine"),
        (Good, "other", "Good.name is 'good' but it is registered as 'other'"),
        (type("Foreign", (Good,), {"settings_class": AexySettings}), "good",
         "settings_class must be a subclass of aexy.plugin_api.ProviderSettings"),
        (NeedsArgument, "needy", "the gateway builds providers as Provider(model=...)"),
        (MemoryCache, "memory", "is not a subclass of aexy.plugin_api.BaseLLMProvider"),
    ],
)
def test_provider_class_problems(cls: Any, registered_as: str, fragment: str) -> None:
    problems = provider_class_problems(cls, registered_as)
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [(NoPrefix, "NoPrefix sets no env_prefix of its own and reads the shared AEXY_PROVIDER_*"),
     (NoUnderscore, "does not end in '_'")],
)
def test_settings_without_a_prefix_of_their_own_are_a_deprecation(settings: Any,
                                                                  fragment: str) -> None:
    cls = type("Bare", (Good,), {"settings_class": settings})
    assert provider_class_problems(cls, "good") == []
    (notice,) = provider_deprecations(cls)
    assert fragment in notice and "refused from 2.0" in notice


def test_a_sound_provider_has_no_problem_and_is_registered() -> None:
    assert provider_class_problems(Good, "good") == []
    host = host_with("register_providers", ProviderSpec("good", Good))
    assert host.providers().get("good") is not None
    assert host.hook_errors == []


def test_an_upper_case_provider_name_could_never_be_selected() -> None:
    host = host_with("register_providers", ProviderSpec("Good", Good))
    assert "must be lower case" in host.hook_errors[0].error


def test_two_providers_sharing_an_env_prefix_are_an_error_naming_the_first() -> None:
    class Twin(GoodSettings):  # inherits GOOD_: would read the other provider's variables
        pass

    class Copy(Good):
        name: ClassVar[str] = "copy"
        settings_class: ClassVar[type[ProviderSettings]] = Twin

    host = host_with("register_providers", ProviderSpec("good", Good), ProviderSpec("copy", Copy))
    assert "good" in host.providers().items
    assert "copy" not in host.providers().items
    (error,) = host.hook_errors
    assert error.record == "copy"
    assert "env_prefix 'GOOD_', already used by provider 'good' from aexy-under-test" in error.error


def test_a_record_that_is_not_a_record_says_what_to_return() -> None:
    host = host_with("register_providers", {"name": "dict", "provider_class": Good})
    (error,) = host.hook_errors
    assert error.record == "dict"
    assert "dict is not a ProviderSpec" in error.error
    assert "return aexy.plugin_api.ProviderSpec(...) records" in error.error


# -- cache backends -------------------------------------------------------------------------------

class SyncGet:
    name = "syncget"

    def get(self, key: str) -> str | None:
        return None

    async def set(self, key: str, value: str) -> None:  # no ttl
        return None

    async def stats(self) -> dict[str, Any]:
        return {}

    async def aclose(self) -> None:
        return None


def test_cache_backend_members_are_checked_on_the_class() -> None:
    problems = cache_backend_problems(SyncGet)
    assert "SyncGet.get() must be a coroutine (async def)" in problems
    assert any(p.startswith("SyncGet has no clear() method (required since plugin API 1.0); "
                            "add async def clear(self, prefix)") for p in problems)
    assert any(p.startswith("SyncGet.set() cannot be called as the core calls it")
               for p in problems)
    assert cache_backend_problems(MemoryCache) == []


def test_a_backend_class_given_as_factory_is_checked_at_load() -> None:
    host = host_with("register_cache_backends", CacheBackendSpec("syncget", SyncGet))
    assert "syncget" not in host.cache_backends().names()
    assert "SyncGet has no clear() method" in host.hook_errors[0].error
    # Optional members (name, delete) may be missing; a wrong one is still a problem.
    assert not any("delete" in p or "name" in p for p in cache_backend_problems(SyncGet))


def test_a_backend_built_without_a_member_is_refused_when_built() -> None:
    # A lambda hides the class from the load-time check: the host checks the instance.
    host = host_with("register_cache_backends",
                     CacheBackendSpec("opaque", lambda settings: SyncGet()), dist="aexy-opaque")
    assert "opaque" in host.cache_backends().names()
    with pytest.raises(ConfigurationError) as info:
        build_cache_backend("opaque", AexySettings(), host)
    assert "cache backend 'opaque' from aexy-opaque is unusable" in str(info.value)
    assert "SyncGet has no clear() method" in str(info.value)
    assert info.value.env_var == "AEXY_CACHE_BACKEND"


class SharedSettings(PluginSettings):
    model_config = SettingsConfigDict(env_prefix="SHARED_CACHE_")

    size: int = 10


def test_a_backend_gets_its_own_settings_from_the_environment_and_dotenv(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[Any] = []

    def factory(settings: SharedSettings) -> MemoryCache:
        seen.append(settings)
        return MemoryCache(settings.size)

    host = host_with("register_cache_backends",
                     CacheBackendSpec("shared", factory, settings_class=SharedSettings))
    monkeypatch.setenv("SHARED_CACHE_SIZE", "7")
    assert build_cache_backend("shared", AexySettings(), host).maxsize == 7  # type: ignore[attr-defined]
    # Once selected, by its record (what the backend selection hands over).
    spec = host.cache_backends().get("shared")
    assert spec is not None
    assert build_cache_backend(spec, AexySettings(), host).maxsize == 7  # type: ignore[attr-defined]
    monkeypatch.delenv("SHARED_CACHE_SIZE")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SHARED_CACHE_SIZE=3\n")
    assert build_cache_backend("shared", AexySettings(), host).maxsize == 3  # type: ignore[attr-defined]
    assert all(isinstance(s, SharedSettings) for s in seen)


def test_backend_settings_need_a_prefix_of_their_own() -> None:
    class Bare(PluginSettings):
        size: int = 1

    host = host_with("register_cache_backends",
                     CacheBackendSpec("bare", MemoryCache, settings_class=Bare))
    assert "Bare sets no env_prefix of its own" in host.hook_errors[0].error


async def test_an_installed_backend_with_settings_serves_a_second_gateway(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EXAMPLE_SQLITE_PATH", str(tmp_path / "shared.db"))
    host = PluginHost()
    install_fake_provider(host)
    settings = AexySettings(cache_backend="example-sqlite")
    async with LLMGateway("fake", plugins=host, settings=settings) as first:
        await first.analyze("skill_extraction", "import numpy as np\n")
    assert (tmp_path / "shared.db").exists()
    # A new gateway (empty memory tier) with a provider that must not be asked.
    provider = FakeProvider(replies=[RuntimeError("the cache should have answered")])
    async with LLMGateway(provider, plugins=host, settings=settings) as second:
        result = await second.analyze("skill_extraction", "import numpy as np\n")
    assert result.provenance.cache_hit
    assert result.provenance.cache_tier == "example-sqlite"
    assert provider.calls == []


# -- prompt sources, post-processors, rate limiters -----------------------------------------------

class DuckSource:
    name = "duck"
    priority = 50

    def get(self, spec: Any) -> None:
        return None


def test_a_duck_typed_prompt_source_with_every_member_is_accepted() -> None:
    host = host_with("register_prompt_sources", DuckSource())
    assert "duck" in host.prompt_sources().names()
    assert host.hook_errors == []


class SyncLedger:
    """A ledger whose reserve() is not a coroutine (the core awaits it)."""

    name = "sync"

    def __init__(self, name: str, settings: object) -> None: ...
    def reserve(self, amount: int, limit: int) -> None: ...
    async def settle(self, reserved: int, actual: int) -> None: ...
    async def totals(self) -> None: ...
    async def aclose(self) -> None: ...


@pytest.mark.parametrize(
    ("hook", "record", "fragment"),
    [
        ("register_prompt_sources", PromptSource("p", lambda: None),  # type: ignore[arg-type,return-value]
         "get(spec) cannot be called as the core calls it"),
        ("register_prompt_sources", PromptSource("p", lambda s: None, priority="high"),  # type: ignore[arg-type]
         "priority must be an int"),
        ("register_postprocessors", PostProcessor("pp", lambda result: result),  # type: ignore[arg-type,return-value]
         "process(result, request) cannot be called"),
        ("register_postprocessors", PostProcessor("", lambda r, q: r), "name must be a non-empty"),
        ("register_rate_limiters", RateLimiterSpec("rl", lambda name, limits: None),  # type: ignore[arg-type,return-value]
         "factory(name, limits, clock=..., sleep=...) cannot be called"),
        ("register_analysis_types", object(), "object is not an aexy.plugin_api.AnalysisSpec"),
        ("register_budget_ledgers", BudgetLedgerSpec("l", lambda name: None),  # type: ignore[arg-type,return-value]
         "factory(name, settings) cannot be called"),
        ("register_budget_ledgers", BudgetLedgerSpec("l", SyncLedger),  # type: ignore[arg-type]
         "SyncLedger.reserve() must be a coroutine"),
    ],
)
def test_other_records_are_checked_too(hook: str, record: Any, fragment: str) -> None:
    host = host_with(hook, record)
    host.registries()
    assert any(fragment in e.error for e in host.hook_errors), host.hook_errors


# -- settings of prompt sources and post-processors ------------------------------------------------

class HouseStyleSettings(PluginSettings):
    model_config = SettingsConfigDict(env_prefix="HOUSE_STYLE_")

    guide_url: str = "https://style.example/guide"


def test_prompt_sources_and_post_processors_declare_settings_that_aexy_config_shows(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from aexy.cli import make_cli
    from aexy.plugins import reset_plugin_host

    source = PromptSource("house", lambda spec: None, 50, settings_class=HouseStyleSettings)
    post = PostProcessor("tidy", lambda result, request: result, "tidies",
                         settings_class=HouseStyleSettings)
    host = host_with("register_prompt_sources", source)
    host.register(plugin_returning("register_postprocessors", post), name="post",
                  distribution="aexy-post", version="1")
    assert host.hook_errors == []
    monkeypatch.setenv("HOUSE_STYLE_GUIDE_URL", "https://style.internal/v2")
    reset_plugin_host(host)
    data = json.loads(CliRunner().invoke(make_cli(), ["config", "--json"]).stdout)
    assert data["prompts:house"]["HOUSE_STYLE_GUIDE_URL"] == "https://style.internal/v2"
    assert data["postprocess:tidy"]["HOUSE_STYLE_GUIDE_URL"] == "https://style.internal/v2"


def test_their_settings_need_a_prefix_of_their_own() -> None:
    class Bare(PluginSettings):
        size: int = 1

    host = host_with("register_prompt_sources",
                     PromptSource("bare", lambda spec: None, settings_class=Bare))
    assert "Bare sets no env_prefix of its own" in host.hook_errors[0].error
