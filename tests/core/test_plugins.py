"""The plugin host, exercised through real installed entry points (tests/fixtures/plugins/*,
installed into the test environment by tools/install_workspace.py --tests)."""

from __future__ import annotations

import importlib.metadata

import pluggy
import pytest

from aexy import LLMGateway, hookimpl
from aexy.errors import PluginConflictError, ProviderNotFoundError
from aexy.plugins import HookError, PluginHost, get_plugin_host, reset_plugin_host

FIXTURES = {"aexy-fixture-echo", "aexy-fixture-broken", "aexy-fixture-dup", "aexy-fixture-typo"}


@pytest.fixture(scope="module", autouse=True)
def _fixtures_installed() -> None:
    installed = {d.metadata["Name"] for d in importlib.metadata.distributions()}
    missing = FIXTURES - installed
    assert not missing, f"run `python tools/install_workspace.py --tests` first: {missing}"


def by_name(host: PluginHost) -> dict[str, object]:
    return {p.name: p for p in host.plugins()}


def test_installed_plugin_is_discovered_through_its_entry_point() -> None:
    host = PluginHost()
    echo = by_name(host)["echo"]
    assert echo.status == "active"  # type: ignore[attr-defined]
    assert echo.distribution == "aexy-fixture-echo"  # type: ignore[attr-defined]
    assert echo.version == "0.0.1"  # type: ignore[attr-defined]
    assert "register_providers" in echo.hooks  # type: ignore[attr-defined]
    assert "echo-cache" in host.cache_backends().names()


def test_broken_plugin_is_reported_and_others_keep_working() -> None:
    host = PluginHost()
    broken = by_name(host)["broken"]
    assert broken.status == "failed"  # type: ignore[attr-defined]
    assert broken.distribution == "aexy-fixture-broken"  # type: ignore[attr-defined]
    assert broken.version == "0.0.1"  # type: ignore[attr-defined]
    assert "some_missing_sdk" in broken.error  # type: ignore[attr-defined]
    # The working plugin and the built-ins are unaffected.
    assert "skill_extraction" in host.analysis_types().names()
    assert by_name(host)["echo"].status == "active"  # type: ignore[attr-defined]


def test_duplicate_provider_name_is_an_error_naming_both_distributions() -> None:
    host = PluginHost()
    assert host.providers().conflicts["echo"] == ["aexy-fixture-echo", "aexy-fixture-dup"] or (
        sorted(host.providers().conflicts["echo"]) == ["aexy-fixture-dup", "aexy-fixture-echo"])
    with pytest.raises(PluginConflictError) as info:
        LLMGateway(provider="echo", plugins=host)
    msg = str(info.value)
    assert "aexy-fixture-echo" in msg and "aexy-fixture-dup" in msg
    assert info.value.env_var == "AEXY_DISABLE_PLUGINS"


async def test_disabling_one_side_of_a_conflict_resolves_it() -> None:
    host = PluginHost(environ={"AEXY_DISABLE_PLUGINS": "aexy-fixture-dup"})
    assert by_name(host)["dup"].status == "disabled"  # type: ignore[attr-defined]
    async with LLMGateway(provider="echo", plugins=host, cache=False) as gw:
        result = await gw.analyze("skill_extraction", "print('hi')")
    assert result.provenance.provider == "echo"
    assert result.language == "echo"  # type: ignore[attr-defined]


def test_misspelled_hook_is_caught_with_a_suggestion() -> None:
    typo = by_name(PluginHost())["typo"]
    assert typo.status == "failed"  # type: ignore[attr-defined]
    assert "register_provider" in typo.error  # type: ignore[attr-defined]
    assert "did you mean 'register_providers'" in typo.error  # type: ignore[attr-defined]


def test_check_pending_raises_for_unknown_hooks_registered_directly() -> None:
    host = PluginHost(entry_points=False)
    # Bypass the host's own check to show that pluggy's is wired in too.
    class Sloppy:
        @hookimpl
        def register_cache_backend(self) -> list[object]:
            return []

    host.pm.register(Sloppy())
    with pytest.raises(pluggy.PluginValidationError):
        host.check_pending()


@pytest.mark.parametrize(
    ("environ", "active", "disabled"),
    [
        ({"AEXY_LOAD_PLUGINS": "echo"}, {"echo"}, {"broken", "dup", "typo"}),
        ({"AEXY_LOAD_PLUGINS": "aexy-fixture-echo,dup"}, {"echo", "dup"}, {"broken", "typo"}),
        ({"AEXY_LOAD_PLUGINS": ""}, set(), {"echo", "broken", "dup", "typo"}),
        ({"AEXY_DISABLE_PLUGINS": "broken, typo"}, {"echo", "dup"}, {"broken", "typo"}),
        ({"AEXY_LOAD_PLUGINS": "echo,dup", "AEXY_DISABLE_PLUGINS": "dup"}, {"echo"}, {"dup"}),
    ],
)
def test_allow_and_deny_lists(environ: dict[str, str], active: set[str], disabled: set[str]
                              ) -> None:
    host = PluginHost(environ=environ)
    status = {p.name: p.status for p in host.plugins() if p.distribution in FIXTURES}
    assert {n for n, s in status.items() if s == "active"} == active
    assert {n for n, s in status.items() if s == "disabled"} >= disabled
    # Built-ins are never subject to the lists.
    assert "skill_extraction" in host.analysis_types().names()


def test_allow_and_deny_lists_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setenv("AEXY_LOAD_PLUGINS", "")
    reset_plugin_host(None)
    host = get_plugin_host()
    assert all(p.status == "disabled" for p in host.plugins() if p.distribution in FIXTURES)
    assert get_plugin_host() is host  # built once per process


def test_unknown_provider_lists_installed_ones_and_no_made_up_package() -> None:
    host = PluginHost(environ={"AEXY_DISABLE_PLUGINS": "dup"})
    with pytest.raises(ProviderNotFoundError) as info:
        LLMGateway(provider="mistral", plugins=host)
    msg = str(info.value)
    assert "pip install" not in msg  # aexy-mistral is no package of this repository
    assert "echo" in msg
    assert info.value.installed == tuple(sorted(host.providers().names()))


def test_provider_whose_plugin_failed_says_why() -> None:
    host = PluginHost()
    with pytest.raises(ProviderNotFoundError, match="some_missing_sdk"):
        LLMGateway(provider="broken", plugins=host)


def test_hook_impl_may_take_fewer_arguments_than_the_spec() -> None:
    import click

    host = PluginHost(entry_points=False)
    seen: list[str] = []

    class NoArgs:
        @hookimpl
        def register_commands(self) -> None:  # the spec passes ``cli``; this impl ignores it
            seen.append("called")

    class WithCli:
        @hookimpl
        def register_commands(self, cli: click.Group) -> None:
            @cli.command()
            def hello() -> None:
                """Say hello."""

    host.register(NoArgs(), name="noargs")
    host.register(WithCli(), name="withcli")
    group = click.Group("aexy")
    host.add_commands(group)
    assert seen == ["called"]
    assert "hello" in group.commands


def test_a_hook_that_raises_is_recorded_and_skipped() -> None:
    host = PluginHost(entry_points=False)

    class Exploding:
        @hookimpl
        def register_analysis_types(self) -> list[object]:
            raise RuntimeError("boom")

    host.register(Exploding(), name="exploding", distribution="aexy-exploding", version="1.0")
    assert "skill_extraction" in host.analysis_types().names()
    assert host.hook_errors == [HookError("exploding", "aexy-exploding", "register_analysis_types",
                                          "RuntimeError: boom")]


def test_builtins_register_through_the_same_plugin_manager() -> None:
    host = PluginHost(entry_points=False)
    core = by_name(host)["aexy"]
    assert core.builtin and core.distribution == "aexy-core"  # type: ignore[attr-defined]
    assert host.pm.get_plugin("aexy") is not None
    assert "memory" in host.cache_backends().names()
    assert "local" in host.rate_limiters().names()
    assert host.cache_backends().owners["memory"] == "aexy-core"


def test_fake_provider_is_not_discoverable_in_a_user_install() -> None:
    host = PluginHost()
    assert "fake" not in host.providers().items
