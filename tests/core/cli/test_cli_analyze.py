"""``aexy analyze``: output forms, input forms, context, cache, and every error path."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from aexy import ConfigurationError, LLMError
from aexy.cache import CacheBackendSpec, MemoryCache
from aexy.hookspecs import hookimpl
from aexy.testing import FakeProvider


def _recording(seen: list[Any], reply: dict[str, Any] | None = None):
    """A fake reply that records the request and answers a valid example."""
    from aexy.schema import example_from_schema

    def answer(request):
        seen.append(request)
        return json.dumps(reply or example_from_schema(dict(request.json_schema)))

    return answer


def test_default_is_a_readable_panel_from_the_offline_provider(cli, runner, oauth_py):
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "skill_extraction" in out
    assert "Python" in out and "FastAPI" in out
    assert "offline/heuristic-v1" in out
    assert "complexity" in out and "/ 10" in out
    assert result.stderr == ""


def test_json_has_result_and_provenance(cli, runner, oauth_py, host):
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) == {"result", "provenance"}
    spec = host.analysis_types().get("skill_extraction")
    jsonschema.validate(payload["result"], spec.json_schema)
    assert payload["result"]["language"] == "Python"
    assert payload["provenance"]["provider"] == "offline"
    assert payload["provenance"]["model"] == "heuristic-v1"
    assert payload["provenance"]["cache_hit"] is False


def test_file_path_context_defaults_to_the_file(cli, runner, oauth_py):
    seen: list[Any] = []
    FakeProvider.script = [_recording(seen)]
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py), "-p", "fake"])
    assert result.exit_code == 0, result.output
    assert str(oauth_py) in seen[0].messages[0].content


def test_stdin_with_dash_and_without_file(cli, runner):
    code = "import jwt\n\ndef sign(x: str) -> str:\n    return jwt.encode({'s': x}, 'k')\n"
    for args in (["analyze", "skill_extraction", "-", "--json"],
                 ["analyze", "skill_extraction", "--json"]):
        result = runner.invoke(cli, args, input=code)
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        assert payload["result"]["language"] == "Python"
        assert "PyJWT" in payload["result"]["frameworks"]


def test_context_pairs_json_values_and_context_file(cli, runner, oauth_py, tmp_path):
    seen: list[Any] = []
    FakeProvider.script = [_recording(seen)]
    ctx_file = tmp_path / "ctx.json"
    ctx_file.write_text(json.dumps({"labels": ["from-file"], "project": "p1"}))
    result = runner.invoke(cli, [
        "analyze", "task_signals", str(oauth_py), "-p", "fake", "--context-json", str(ctx_file),
        "-c", "project=web", "-c", 'labels:=["auth", "backend"]', "-c", "file_path=x/y.md",
    ])
    assert result.exit_code == 0, result.output
    prompt = seen[0].messages[0].content
    assert '"web"' in prompt and '"p1"' not in prompt  # --context wins over the file
    assert '"auth"' in prompt and "from-file" not in prompt
    assert "x/y.md" in prompt and str(oauth_py) not in prompt  # an explicit file_path wins


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["-c", "novalue"], "key=value"),
        (["-c", "n:=not json"], "not JSON"),
    ],
)
def test_bad_context_is_a_usage_error(cli, runner, oauth_py, args, fragment):
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py), *args])
    assert result.exit_code == 2
    assert fragment in result.stderr


def test_context_json_must_be_an_object(cli, runner, oauth_py, tmp_path):
    bad = tmp_path / "ctx.json"
    bad.write_text("[1, 2]")
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py),
                                 "--context-json", str(bad)])
    assert result.exit_code == 2
    assert "JSON object" in result.stderr


def test_unknown_type_is_a_usage_error_with_a_suggestion(cli, runner, oauth_py):
    result = runner.invoke(cli, ["analyze", "skill_extraktion", str(oauth_py)])
    assert result.exit_code == 2
    assert "unknown analysis type 'skill_extraktion'" in result.stderr
    assert "Did you mean 'skill_extraction'?" in result.stderr


def test_missing_file_is_a_usage_error(cli, runner):
    result = runner.invoke(cli, ["analyze", "skill_extraction", "nope.py"])
    assert result.exit_code == 2
    assert "nope.py" in result.stderr


def test_unknown_provider_is_a_usage_error_that_names_the_pip_command(cli, runner, oauth_py):
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py), "-p", "claude"])
    assert result.exit_code == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: Invalid value for '-p' / '--provider': provider 'claude' is "
                           "not available")
    assert "pip install aexy-claude" in last
    assert "LLM_PROVIDER" not in last  # the name came from -p, not from the variable
    assert "Traceback" not in result.output


def test_provider_error_is_one_line_with_the_url_and_a_traceback_only_with_debug(
        cli, runner, oauth_py):
    error = LLMError("cannot connect to http://localhost:11434 (is `ollama serve` running?)",
                     code="authentication_error", provider="fake", model="fake-model")
    FakeProvider.script = [error]
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py), "-p", "fake"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: [authentication_error] fake/fake-model: cannot connect to "
        "http://localhost:11434 (is `ollama serve` running?)"
    ]
    FakeProvider.script = [error]
    debug = runner.invoke(cli, ["--debug", "analyze", "skill_extraction", str(oauth_py),
                                "-p", "fake"])
    assert debug.exit_code == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.strip().endswith("running?)")


def test_configuration_error_names_the_variable(cli, runner, oauth_py):
    FakeProvider.script = [ConfigurationError("no API key configured", env_var="FAKE_API_KEY")]
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py), "-p", "fake"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: no API key configured (set FAKE_API_KEY)"


def test_invalid_output_after_repair_fails_with_exit_1(cli, runner, oauth_py):
    FakeProvider.script = ["not json", '{"language": 3}']
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py), "-p", "fake"])
    assert result.exit_code == 1
    assert "[invalid_output]" in result.stderr
    assert "did not validate" in result.stderr


def test_offline_refuses_another_model(cli, runner, oauth_py):
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py), "-m", "gpt-4o"])
    assert result.exit_code == 1
    assert "[not_found]" in result.stderr and "heuristic-v1" in result.stderr


def test_empty_and_binary_input_fail_before_any_provider(cli, runner, tmp_path):
    FakeProvider.script = [AssertionError("the provider must not be called")]
    empty = tmp_path / "empty.py"
    empty.write_text("  \n")
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(empty), "-p", "fake"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {empty} is empty (or only whitespace): nothing to analyse")
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(binary), "-p", "fake"])
    assert result.exit_code == 1
    assert "is not UTF-8 text" in result.stderr
    assert len(FakeProvider.script) == 1  # never consumed


class _SharedCache:
    """A cache backend shared by every gateway of the test, as Redis would be."""

    def __init__(self) -> None:
        self.cache = MemoryCache(100)

    @hookimpl
    def register_cache_backends(self):
        return [CacheBackendSpec("shared", lambda settings: self.cache, "test")]


def test_results_are_cached_and_no_cache_bypasses(cli, runner, oauth_py, host, monkeypatch):
    host.register(_SharedCache(), name="shared-cache", distribution="tests", version="0")
    monkeypatch.setenv("AEXY_CACHE_BACKEND", "shared")
    args = ["analyze", "skill_extraction", str(oauth_py), "--json"]
    first = json.loads(runner.invoke(cli, args).stdout)
    second = json.loads(runner.invoke(cli, args).stdout)
    bypass = json.loads(runner.invoke(cli, [*args, "--no-cache"]).stdout)
    assert first["provenance"]["cache_hit"] is False
    assert second["provenance"]["cache_hit"] is True
    assert second["result"] == first["result"]
    assert bypass["provenance"]["cache_hit"] is False
    stats = json.loads(runner.invoke(cli, ["cache", "stats", "--json"]).stdout)
    assert any(t.get("entries") == 1 for t in stats)
    cleared = runner.invoke(cli, ["cache", "clear", "--type", "skill_extraction"])
    assert cleared.exit_code == 0
    assert cleared.stdout.strip() == "Deleted 1 skill_extraction results."
    again = json.loads(runner.invoke(cli, args).stdout)
    assert again["provenance"]["cache_hit"] is False
