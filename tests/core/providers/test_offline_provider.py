"""The built-in offline provider: registration, how it reads a request, its answers through the
gateway (computed or refused, never a placeholder), provenance, and a visible fallback."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from aexy import AnalysisRequest, AnalysisType, CompletionRequest, LLMError, LLMGateway
from aexy.cli import make_cli
from aexy.errors import ErrorCode, LLMUnavailableError
from aexy.plugins import PluginHost, reset_plugin_host
from aexy.providers import builtin_providers
from aexy.providers.offline import MODEL_NAME, OfflineProvider
from aexy.providers.offline.provider import METHODS, REFUSED
from aexy.testing import FakeProvider

from .offline_inputs import (
    CALM,
    GROWTH,
    OVERWORKED,
    PROFILE,
    TEAM,
    activity_json,
    team_json,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
TASK = (EXAMPLES / "task.md").read_text()
OAUTH = (EXAMPLES / "oauth.py").read_text()

#: A typed input for every type the offline provider computes.
INPUTS: dict[str, tuple[str, dict[str, Any]]] = {
    "skill_extraction": (OAUTH, {"file_path": "oauth.py"}),
    "code_quality": (OAUTH, {"file_path": "oauth.py"}),
    "code_complexity": (OAUTH, {"file_path": "oauth.py"}),
    "developer_profile": (activity_json(GROWTH), {}),
    "growth_trajectory": (activity_json(GROWTH), {}),
    "performance_trajectory": (activity_json(GROWTH), {}),
    "burnout_risk": (activity_json(OVERWORKED), {}),
    "attrition_risk": (activity_json(OVERWORKED), {}),
    "team_health": (team_json(TEAM), {}),
    "task_signals": (TASK, {"labels": ["auth"]}),
    "task_matching": (TASK, {"developer_profile": PROFILE}),
}


def _host() -> PluginHost:
    return PluginHost(entry_points=False)


def _completion_request(analysis_type: str, content: str, context: dict[str, Any] | None = None,
                        **kw: Any) -> CompletionRequest:
    spec = _host().analysis_types().get(analysis_type)
    assert spec is not None
    analysis = AnalysisRequest.create(analysis_type, content, context or {},
                                      max_content_chars=1_000_000)
    return CompletionRequest.simple("system", "user", spec.json_schema, analysis=analysis, **kw)


def test_the_catalogue_is_covered_exactly_once():
    assert set(METHODS) | set(REFUSED) == {t.value for t in AnalysisType}
    assert not set(METHODS) & set(REFUSED)
    assert set(INPUTS) == set(METHODS)


def test_offline_is_a_builtin_provider_and_the_default():
    specs = builtin_providers()
    assert [s.name for s in specs] == ["offline"]
    assert specs[0].provider_class is OfflineProvider
    gateway = LLMGateway(plugins=_host())  # no LLM_PROVIDER set (conftest cleans the env)
    assert gateway.provider.name == "offline"
    assert gateway.provider.model == MODEL_NAME
    assert OfflineProvider.method == "heuristic" and OfflineProvider.estimates_usage
    assert FakeProvider.method == "model" and not FakeProvider.estimates_usage


async def test_available_and_described_without_network():
    provider = OfflineProvider()
    assert await provider.is_available() is True
    facts = provider.describe()
    assert facts["name"] == "offline" and facts["model"] == MODEL_NAME
    assert facts["network"] is False
    assert "burnout_risk" in facts["computes"] and "job_description" in facts["refuses"]


# -- reading the request ------------------------------------------------------------------------

async def test_a_request_without_an_analysis_is_a_typed_bad_request():
    spec = _host().analysis_types().get("skill_extraction")
    request = CompletionRequest.simple("s", "<content>\nx = 1\n</content>", spec.json_schema)
    with pytest.raises(LLMError) as info:
        await OfflineProvider().complete(request)
    assert info.value.code is ErrorCode.BAD_REQUEST
    assert not info.value.retryable
    assert "CompletionRequest.analysis" in str(info.value)


async def test_content_comes_from_the_analysis_not_the_prompt():
    # The prompt says JavaScript; the analysis holds Python: the analysis wins.
    request = _completion_request("skill_extraction", "def f(x):\n    return x\n",
                                  {"file_path": "a.py"})
    request = CompletionRequest.simple("s", "<content>const x = 1;</content>",
                                       request.json_schema, analysis=request.analysis)
    completion = await OfflineProvider().complete(request)
    assert json.loads(completion.text)["language"] == "Python"


async def test_another_model_is_refused():
    with pytest.raises(LLMError) as info:
        await OfflineProvider(model="gpt-4o").complete(_completion_request("code_quality", "x=1"))
    assert info.value.code is ErrorCode.NOT_FOUND
    assert MODEL_NAME in str(info.value)


class _Other(BaseModel):
    verdict: str


async def test_another_result_schema_is_refused_not_forced():
    request = _completion_request("code_quality", OAUTH)
    request = CompletionRequest.simple("s", "u", _Other.model_json_schema(),
                                       analysis=request.analysis)
    with pytest.raises(LLMError) as info:
        await OfflineProvider().complete(request)
    assert info.value.code is ErrorCode.UNSUPPORTED
    assert "CodeQuality" in str(info.value)


async def test_answers_are_deterministic_and_usage_is_an_estimate():
    request = _completion_request("burnout_risk", activity_json(OVERWORKED))
    provider = OfflineProvider()
    first, second = await provider.complete(request), await provider.complete(request)
    assert first.text == second.text
    assert first.model == MODEL_NAME
    assert first.usage.input_tokens == request.prompt_chars // 4
    assert first.usage.output_tokens == len(first.text) // 4


# -- every type: computed and valid, or refused ---------------------------------------------------

@pytest.mark.parametrize("analysis_type", sorted(METHODS))
async def test_each_computed_type_validates_first_time_without_network(analysis_type, monkeypatch):
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the offline provider opened a socket")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    host = _host()
    spec = host.analysis_types().get(analysis_type)
    content, context = INPUTS[analysis_type]
    async with LLMGateway("offline", plugins=host, cache=False) as gateway:
        result = await gateway.analyze(analysis_type, content, context=context)
    p = result.provenance
    assert (p.attempts, p.repaired, p.method, p.tokens_estimated) == (1, False, "heuristic", True)
    jsonschema.validate(result.model_dump(mode="json"), spec.json_schema)


@pytest.mark.parametrize("analysis_type", sorted(REFUSED))
async def test_each_writing_type_is_refused_with_the_providers_that_can(analysis_type):
    async with LLMGateway("offline", plugins=_host(), cache=False) as gateway:
        with pytest.raises(LLMError) as info:
            await gateway.analyze(analysis_type, "a senior backend engineer for payments",
                                  context={"level": "senior"})
    error = info.value
    assert error.code is ErrorCode.UNSUPPORTED and not error.retryable
    text = str(error)
    assert "takes a language model" in text
    assert all(name in text for name in ("ollama", "claude", "openai", "LLM_PROVIDER"))


@pytest.mark.parametrize("analysis_type", sorted(REFUSED))
def test_each_refused_type_exits_1_with_the_message(analysis_type, tmp_path, monkeypatch):
    import importlib.metadata

    real_version = importlib.metadata.version

    def version(name: str) -> str:  # this host as if aexy-ollama were not installed
        if name == "aexy-ollama":
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    reset_plugin_host(_host())
    source = tmp_path / "needs.txt"
    source.write_text("Own our payment integrations and help two engineers grow.\n")
    result = CliRunner().invoke(make_cli(), ["analyze", analysis_type, str(source),
                                             "-c", "level=senior"])
    assert result.exit_code == 1
    assert result.stdout == ""  # no panel, no placeholder
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: [unsupported] offline/{MODEL_NAME}: {analysis_type} "
                               "cannot be answered offline")
    # The hint fits the installation: install what is missing, configure what is installed.
    assert "ollama, a local Ollama server (pip install aexy-ollama)" in lines[0]
    assert "claude, Claude (installed; set ANTHROPIC_API_KEY)" in lines[0]
    assert "pip install aexy-claude" not in lines[0]


@pytest.mark.parametrize("analysis_type", ["burnout_risk", "attrition_risk", "team_health",
                                           "growth_trajectory", "performance_trajectory",
                                           "developer_profile"])
async def test_free_form_json_is_refused_offline_with_the_format_to_use(analysis_type):
    free_form = json.dumps({"weeks": 10, "avg_hours_per_week": 58, "days_off_last_6_months": 1})
    async with LLMGateway("offline", plugins=_host(), cache=False) as gateway:
        with pytest.raises(LLMError) as info:
            await gateway.analyze(analysis_type, free_form)
    assert info.value.code is ErrorCode.UNSUPPORTED
    assert "docs/activity-data.md" in str(info.value)
    assert "Extra inputs are not permitted" in str(info.value)  # the key it did not know


async def test_free_form_json_still_reaches_a_model_provider(host):
    free_form = json.dumps({"weeks": 10, "avg_hours_per_week": 58})
    async with LLMGateway("fake", plugins=host, cache=False) as gateway:
        result = await gateway.analyze("burnout_risk", free_form)
    assert result.provenance.method == "model" and not result.provenance.tokens_estimated
    assert free_form in gateway.provider.calls[0].messages[0].content  # type: ignore[attr-defined]


# -- a fallback to offline is visible ------------------------------------------------------------

def _failing_primary() -> None:
    FakeProvider.script = [LLMError("bad key", code=ErrorCode.AUTHENTICATION_ERROR,
                                    provider="fake", model="fake-model")]


async def test_a_fallback_to_offline_is_logged_as_a_warning(host, caplog):
    _failing_primary()
    caplog.set_level(logging.INFO, logger="aexy")
    async with LLMGateway("fake", fallbacks=["offline"], plugins=host, cache=False) as gateway:
        result = await gateway.analyze("burnout_risk", activity_json(OVERWORKED))
    p = result.provenance
    assert (p.provider, p.fallback, p.method) == ("offline", True, "heuristic")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "burnout_risk was answered by offline/heuristic-v1 with heuristic rules" in message
    assert "fake/fake-model: authentication_error" in message


async def test_a_model_answer_logs_no_warning(host, caplog):
    async with LLMGateway("fake", fallbacks=["offline"], plugins=host, cache=False) as gateway:
        result = await gateway.analyze("code_quality", OAUTH)
    assert result.provenance.method == "model"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_fallback_to_offline_prints_one_stderr_line_and_labels_the_panel(host, monkeypatch):
    reset_plugin_host(host)
    monkeypatch.setenv("LLM_FALLBACK_PROVIDERS", "offline")
    Path("a.json").write_text(activity_json(OVERWORKED))  # in the test's own working directory
    _failing_primary()
    result = CliRunner().invoke(make_cli(), ["analyze", "burnout_risk", "a.json", "-p", "fake"])
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Warning: burnout_risk was answered by offline/heuristic-v1")
    assert "heuristic result, no model" in result.stdout
    assert "fallback" in result.stdout and "tokens (est.)" in result.stdout


def test_json_output_carries_the_method_and_the_estimate_flag(tmp_path):
    reset_plugin_host(_host())
    source = tmp_path / "team.json"
    source.write_text(team_json(TEAM))
    result = CliRunner().invoke(make_cli(), ["analyze", "team_health", str(source), "--json"])
    assert result.exit_code == 0, result.stderr
    provenance = json.loads(result.stdout)["provenance"]
    assert provenance["method"] == "heuristic" and provenance["tokens_estimated"] is True
    assert result.stderr == ""  # the primary answered: no warning


async def test_a_refusal_in_a_chain_moves_on_and_is_listed(host):
    FakeProvider.script = [LLMError("down", code=ErrorCode.AUTHENTICATION_ERROR)]
    async with LLMGateway("fake", fallbacks=["offline"], plugins=host, cache=False) as gateway:
        with pytest.raises(LLMUnavailableError) as info:
            await gateway.analyze("job_description", "payments team needs", {"level": "senior"})
    assert [a.code for a in info.value.attempts] == ["authentication_error", "unsupported"]


async def test_a_cached_heuristic_result_still_says_how_it_was_made():
    async with LLMGateway("offline", plugins=_host()) as gateway:
        first = await gateway.analyze("burnout_risk", activity_json(CALM))
        again = await gateway.analyze("burnout_risk", activity_json(CALM))
    assert not first.provenance.cache_hit and again.provenance.cache_hit
    assert again.provenance.method == "heuristic"
    assert again.provenance.input_tokens == 0 and not again.provenance.tokens_estimated
    assert again.model_dump() == first.model_dump()


def test_batch_marks_estimated_tokens_in_its_summary(tmp_path):
    reset_plugin_host(_host())
    (tmp_path / "a.py").write_text(OAUTH)
    result = CliRunner().invoke(make_cli(), ["batch", "code_quality", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert "tokens in / out (est.)" in result.stderr
    record = json.loads(result.stdout.splitlines()[0])
    assert record["provenance"]["method"] == "heuristic"
