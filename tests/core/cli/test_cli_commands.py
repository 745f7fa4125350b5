"""plugins, providers, types, prompt, cache, config, --version and plugin commands."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, ClassVar

import click
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from aexy import ConfigurationError, ProviderSettings, ProviderSpec, __version__, hookimpl
from aexy.cache import CacheBackendSpec, MemoryCache
from aexy.testing import FakeProvider, install_fake_provider


def test_version(cli, runner):
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"aexy {__version__}"


def test_help_lists_every_command(cli, runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("analyze", "batch", "plugins", "providers", "types", "prompt", "cache",
                 "config"):
        assert f"  {name} " in result.stdout


def test_no_command_is_a_usage_error(cli, runner):
    assert runner.invoke(cli, ["frobnicate"]).exit_code == 2


# -- plugins ---------------------------------------------------------------------------------------

class _Typo:
    @hookimpl
    def register_provider(self) -> list[Any]:  # misspelled on purpose
        return []


class _Raises:
    @hookimpl
    def register_analysis_types(self) -> list[Any]:
        raise RuntimeError("catalogue exploded")


def test_plugins_json_shows_status_hooks_conflicts_and_hook_errors(cli, runner, host):
    host.register(_Typo(), name="typo", distribution="aexy-typo", version="0.1")
    host.register(_Raises(), name="raises", distribution="aexy-raises", version="0.2")

    class Dup(FakeProvider):
        name: ClassVar[str] = "fake"

    class _DupPlugin:
        @hookimpl
        def register_providers(self) -> list[Any]:
            return [ProviderSpec("fake", Dup, "duplicate")]

    host.register(_DupPlugin(), name="dup", distribution="aexy-dup", version="1.0")
    result = runner.invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_name = {p["name"]: p for p in data["plugins"]}
    assert by_name["aexy"]["builtin"] is True
    assert by_name["aexy"]["status"] == "active"
    assert "register_providers" in by_name["aexy"]["hooks"]
    assert by_name["typo"]["status"] == "failed"
    assert "did you mean 'register_providers'" in by_name["typo"]["error"]
    assert by_name["dup"]["version"] == "1.0"
    assert {"kind": "provider", "name": "fake",
            "distributions": ["aexy-core", "aexy-dup"]} in data["conflicts"]
    assert {"plugin": "raises", "distribution": "aexy-raises", "hook": "register_analysis_types",
            "record": None, "error": "RuntimeError: catalogue exploded"} in data["hook_errors"]

    table = runner.invoke(cli, ["plugins"])
    assert table.exit_code == 0
    assert "failed" in table.stdout and "aexy-typo" in table.stdout
    assert "conflict: provider 'fake' is claimed by aexy-core and aexy-dup" in table.stdout
    assert "hook error: raises.register_analysis_types" in table.stdout


# -- providers -------------------------------------------------------------------------------------

class _Down(FakeProvider):
    name: ClassVar[str] = "down"

    async def is_available(self) -> bool:
        return False


class _NeedsKey(FakeProvider):
    name: ClassVar[str] = "needskey"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ConfigurationError("no key for needskey", env_var="NEEDSKEY_API_KEY")


def test_providers_lists_models_limits_and_construction_errors(cli, runner, host):
    install_fake_provider(host, _NeedsKey)
    result = runner.invoke(cli, ["providers", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["offline"]["model"] == "heuristic-v1"
    assert rows["offline"]["default"] is True
    assert rows["offline"]["requests_per_minute"] is None
    assert rows["fake"]["model"] == "fake-model"
    assert rows["fake"]["distribution"] == "aexy-core"
    assert rows["needskey"]["error"] == "no key for needskey (set NEEDSKEY_API_KEY)"
    table = runner.invoke(cli, ["providers"])
    assert "offline *" in table.stdout and "unlimited" in table.stdout


def test_providers_check_probes_and_fails_when_the_default_is_down(cli, runner, host,
                                                                   monkeypatch):
    install_fake_provider(host, _Down)
    ok = runner.invoke(cli, ["providers", "--check", "--json"])
    assert ok.exit_code == 0
    rows = {r["name"]: r for r in json.loads(ok.stdout)}
    assert rows["offline"]["available"] is True
    assert rows["down"]["available"] is False
    monkeypatch.setenv("LLM_PROVIDER", "down")
    down = runner.invoke(cli, ["providers", "--check"])
    assert down.exit_code == 1
    assert "down *" in down.stdout


# -- types and prompt ------------------------------------------------------------------------------

def test_types_lists_the_catalogue(cli, runner, host):
    result = runner.invoke(cli, ["types", "--json"])
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == set(host.analysis_types().names())
    assert rows["skill_extraction"]["ttl"] == 604800
    assert "file_path" in rows["skill_extraction"]["context_keys"]
    table = runner.invoke(cli, ["types"])
    assert "skill_extraction" in table.stdout and "604800" in table.stdout


def test_prompt_shows_system_user_template_and_schema(cli, runner, host):
    spec = host.analysis_types().get("skill_extraction")
    result = runner.invoke(cli, ["prompt", "skill_extraction", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["system"] == spec.system_prompt
    assert "{content}" in data["user"] and "{file_path}" in data["user"]
    assert data["json_schema"] == spec.json_schema
    assert data["source"] == "builtin"
    text = runner.invoke(cli, ["prompt", "skill_extraction"])
    assert "system prompt" in text.stdout and "JSON schema" in text.stdout
    assert '"language"' in text.stdout


def test_prompt_renders_a_sample_file(cli, runner, oauth_py):
    result = runner.invoke(cli, ["prompt", "code_quality", "--sample", str(oauth_py), "--json"])
    assert result.exit_code == 0, result.output
    user = json.loads(result.stdout)["user"]
    assert "def create_access_token" in user and str(oauth_py) in user


def test_prompt_of_an_unknown_type_is_a_usage_error(cli, runner):
    result = runner.invoke(cli, ["prompt", "nope"])
    assert result.exit_code == 2
    assert "unknown analysis type 'nope'" in result.stderr


# -- cache -----------------------------------------------------------------------------------------

def test_cache_stats_and_clear(cli, runner):
    stats = runner.invoke(cli, ["cache", "stats", "--json"])
    assert stats.exit_code == 0
    assert json.loads(stats.stdout)[0]["backend"] == "memory"
    table = runner.invoke(cli, ["cache", "stats"])
    assert "memory" in table.stdout and "each aexy command starts empty" in table.stdout
    cleared = runner.invoke(cli, ["cache", "clear"])
    assert cleared.stdout.strip() == "Deleted 0 cached results."
    assert runner.invoke(cli, ["cache", "clear", "--type", "nope"]).exit_code == 2


def test_cache_commands_work_even_with_a_broken_provider_setting(cli, runner, monkeypatch):
    monkeypatch.setenv("LLM_PROVIDER", "not-installed")
    assert runner.invoke(cli, ["cache", "clear"]).exit_code == 0


def test_cache_disabled(cli, runner, monkeypatch):
    monkeypatch.setenv("LLM_CACHE_ENABLED", "false")
    result = runner.invoke(cli, ["cache", "stats"])
    assert result.stdout.strip() == "The cache is disabled (LLM_CACHE_ENABLED=false)."


# -- config ----------------------------------------------------------------------------------------

class _KeySettings(ProviderSettings):
    model_config = SettingsConfigDict(env_prefix="KEYED_")

    model: str = Field("k-1", validation_alias="KEYED_MODEL")
    api_key: SecretStr | None = Field(None, validation_alias="KEYED_API_KEY")
    base_url: str = Field("http://localhost:9", validation_alias="KEYED_BASE_URL")


class _Keyed(FakeProvider):
    name: ClassVar[str] = "keyed"
    settings_class: ClassVar[type[ProviderSettings]] = _KeySettings


def test_config_masks_secrets_and_shows_where_values_come_from(cli, runner, host, monkeypatch):
    import aexy_redis

    install_fake_provider(host, _Keyed)
    host.register(aexy_redis, name="redis", distribution="aexy-redis", version="test")
    monkeypatch.delenv("AEXY_CACHE_BACKEND")  # the suite's own choice; unset shows "default"
    monkeypatch.setenv("KEYED_API_KEY", "sk-very-secret-1234")
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2@cache:6379/0")
    monkeypatch.setenv("LLM_CACHE_TTL", "60")
    result = runner.invoke(cli, ["config", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["core"]["LLM_CACHE_TTL"] == 60
    assert data["cache:redis"]["REDIS_URL"] == "**********"  # the backend's own settings
    assert data["core"]["LLM_PROVIDER"] == "offline"
    assert data["keyed"]["KEYED_API_KEY"] == "**********"
    assert data["keyed"]["KEYED_BASE_URL"] == "http://localhost:9"
    assert data["offline"]["AEXY_OFFLINE_MODEL"] == "heuristic-v1"
    table = runner.invoke(cli, ["config"])
    for out in (result.output, table.output):
        assert "sk-very-secret" not in out and "hunter2" not in out
    rows = {line.split("│")[1].strip(): line for line in table.stdout.splitlines()
            if line.count("│") == 4}
    assert "environment" in rows["LLM_CACHE_TTL"]
    assert "default" in rows["AEXY_CACHE_BACKEND"]
    monkeypatch.delenv("KEYED_API_KEY")
    unset = json.loads(runner.invoke(cli, ["config", "--json"]).stdout)
    assert unset["keyed"]["KEYED_API_KEY"] == "not set"


def test_invalid_setting_is_one_line_naming_the_variable(cli, runner, monkeypatch):
    monkeypatch.setenv("LLM_CACHE_TTL", "soon")
    result = runner.invoke(cli, ["config"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid configuration: LLM_CACHE_TTL")
    assert len(result.stderr.strip().splitlines()) == 1


# -- plugin commands -------------------------------------------------------------------------------

class _CommandPlugin:
    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command()
        @click.argument("name")
        def hello(name: str) -> None:
            """Say hello (from a plugin)."""
            click.echo(f"hello {name}")

        @cli.command(name="analyze")
        def hijack() -> None:
            click.echo("hijacked")


def test_plugins_add_commands_but_cannot_replace_builtins(cli, runner, host, oauth_py):
    host.register(_CommandPlugin(), name="cmds", distribution="aexy-cmds", version="1")
    said = runner.invoke(cli, ["hello", "world"])
    assert said.exit_code == 0 and said.stdout == "hello world\n"
    analyzed = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py), "--json"])
    assert "hijacked" not in analyzed.stdout
    assert json.loads(analyzed.stdout)["result"]["language"] == "Python"
    assert any("'analyze' is built in" in e.error and e.plugin == "cmds"
               for e in host.hook_errors)


def test_help_lists_declared_plugin_commands_without_importing_any_plugin() -> None:
    code = ("import sys; from aexy.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "loaded = sorted(m for m in sys.modules if m.startswith(('aexy_', 'pydantic')))\n"
            "print('LOADED', loaded)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "echo-say" in out and "(from aexy-fixture-echo)" in out
    assert "LOADED []" in out
    # Run, the declared command imports its own plugin and works.
    said = subprocess.run([sys.executable, "-m", "aexy", "echo-say", "hi", "there"],
                          capture_output=True, text=True, check=True)
    assert said.stdout == "hi there\n"


def test_config_hides_url_credentials_and_names_the_env_file(cli, runner, host, monkeypatch,
                                                              tmp_path):
    install_fake_provider(host, _Keyed)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("KEYED_BASE_URL=https://bob:pa55word@llm.example/v1\n")
    data = json.loads(runner.invoke(cli, ["config", "--json"]).stdout)
    assert data["keyed"]["KEYED_BASE_URL"] == "https://**********@llm.example/v1"
    table = runner.invoke(cli, ["config"]).stdout
    assert "pa55word" not in table
    assert any("KEYED_BASE_URL" in line and ".env" in line for line in table.splitlines())


class _SharedBackend:
    @hookimpl
    def register_cache_backends(self) -> list[CacheBackendSpec]:
        return [CacheBackendSpec("shared", lambda settings: MemoryCache(5), "a shared cache")]


def test_plugins_and_cache_stats_say_which_backend_and_why(cli, runner, host, monkeypatch):
    monkeypatch.delenv("AEXY_CACHE_BACKEND")
    host.register(_SharedBackend(), name="backends", distribution="aexy-shared", version="1")
    plugins = json.loads(runner.invoke(cli, ["plugins", "--json"]).stdout)
    assert plugins["cache_backend"]["name"] == "shared"
    assert "aexy-shared" in plugins["cache_backend"]["reason"]
    stats = runner.invoke(cli, ["cache", "stats"])
    assert "backend shared: the only backend an installed plugin provides" in stats.stdout
