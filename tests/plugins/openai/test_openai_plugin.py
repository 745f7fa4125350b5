"""The installed distribution: entry point, settings from the environment, light import, and
one analysis end to end through the gateway."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from openai_wire import OPENAI_HEADERS, ScriptedServer, fail, ok, openai_completion, openai_error
from pydantic import ValidationError

from aexy import LLMGateway
from aexy.analysis import AnalysisType
from aexy.catalogue.code import SkillExtraction
from aexy.plugins import PluginHost
from aexy.schema import strict_schema
from aexy_openai import OpenAIProvider, OpenAISettings
from aexy_openai.provider import DEFAULT_BASE_URL, DEFAULT_MODEL, OPENAI_TIER1_LIMITS


def test_entry_point_registers_the_openai_provider() -> None:
    host = PluginHost()  # entry points on: the installed aexy-openai distribution is found
    (info,) = [p for p in host.plugins() if p.distribution == "aexy-openai"]
    assert (info.name, info.status, info.version) == ("openai", "active", "0.1.0")
    assert "register_providers" in info.hooks
    registry = host.providers()
    assert registry.owners["openai"] == "aexy-openai"
    spec = registry.get("openai")
    assert spec is not None
    assert spec.provider_class is OpenAIProvider
    assert spec.settings_class is OpenAISettings
    assert "compatible" in spec.description


def test_the_plugin_can_be_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEXY_DISABLE_PLUGINS", "aexy-openai")
    host = PluginHost()
    assert "openai" not in host.providers().names()
    assert [p.status for p in host.plugins() if p.distribution == "aexy-openai"] == ["disabled"]


def test_importing_the_plugin_does_not_import_httpx() -> None:
    code = (
        "import sys, aexy_openai\n"
        "assert 'aexy_openai.provider' not in sys.modules, 'provider module imported'\n"
        "from aexy.plugins import PluginHost\n"
        "spec = PluginHost().providers().get('openai')\n"
        "assert spec is not None\n"
        "p = spec.provider_class()\n"  # building a provider opens no client either
        "assert 'httpx' not in sys.modules, 'httpx imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_settings_come_from_openai_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "OPENAI_API_KEY": "sk-test-abcdef0123456789", "OPENAI_BASE_URL": "http://gpu:8000/v1/",
        "OPENAI_MODEL": "Qwen/Qwen2.5-7B-Instruct", "OPENAI_STRUCTURED_OUTPUT": "JSON_OBJECT",
        "OPENAI_REQUESTS_PER_MINUTE": "30", "OPENAI_TOKENS_PER_MINUTE": "90000",
        "OPENAI_TIMEOUT": "12.5", "OPENAI_ORG_ID": "org-1", "OPENAI_PROJECT_ID": "proj_2",
        "OPENAI_MAX_TOKENS_PARAM": "max_completion_tokens", "OPENAI_SCHEMA_IN_PROMPT": "false",
    }.items():
        monkeypatch.setenv(name, value)
    s = OpenAISettings()
    assert s.api_key is not None and s.api_key.get_secret_value() == "sk-test-abcdef0123456789"
    assert s.base_url == "http://gpu:8000/v1"
    assert s.model == "Qwen/Qwen2.5-7B-Instruct"
    assert s.structured_output == "json_object"
    assert (s.requests_per_minute, s.tokens_per_minute, s.timeout) == (30.0, 90000, 12.5)
    assert (s.org_id, s.project_id) == ("org-1", "proj_2")
    assert (s.max_tokens_param, s.schema_in_prompt) == ("max_completion_tokens", False)
    limits = OpenAIProvider(s).limits
    assert (limits.requests_per_minute, limits.tokens_per_minute) == (30.0, 90000)


def test_defaults_and_limits_per_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    for bare in ("MODEL", "API_KEY", "BASE_URL", "TIMEOUT", "STRUCTURED_OUTPUT"):
        monkeypatch.setenv(bare, "not-mine")  # bare names are someone else's variables
    monkeypatch.setenv("OPENAI_API_KEY", "  ")  # an empty key means "no key" (local servers)
    s = OpenAISettings()
    assert (s.base_url, s.model, s.api_key, s.structured_output) == (
        DEFAULT_BASE_URL, DEFAULT_MODEL, None, "auto")
    assert OpenAIProvider(s).limits == OPENAI_TIER1_LIMITS
    local = OpenAIProvider(OpenAISettings(base_url="http://localhost:8080/v1"))
    assert (local.limits.requests_per_minute, local.limits.tokens_per_minute) == (None, None)
    assert OpenAIProvider(s, model="gpt-4o-mini").model == "gpt-4o-mini"


def test_an_unknown_structured_output_mode_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_STRUCTURED_OUTPUT", "grammar")
    with pytest.raises(ValidationError, match="structured_output"):
        OpenAISettings()


async def test_analysis_through_the_gateway_to_a_typed_result(host: PluginHost) -> None:
    answer = {"language": "Python", "frameworks": ["FastAPI"], "patterns": [],
              "libraries": [{"name": "fastapi", "evidence": "from fastapi import FastAPI"}],
              "complexity": 4, "quality_indicators": ["type hints"], "domains": ["web"]}
    server = ScriptedServer(ok(openai_completion(json.dumps(answer), prompt_tokens=321,
                                             completion_tokens=45), OPENAI_HEADERS))
    settings = OpenAISettings(api_key="sk-test-gateway-0123456789")
    provider = OpenAIProvider(settings, transport=server.transport)
    async with LLMGateway(provider=provider, plugins=host, cache=False) as gateway:
        result = await gateway.analyze(AnalysisType.SKILL_EXTRACTION,
                                       "from fastapi import FastAPI\napp = FastAPI()\n",
                                       context={"file_path": "app.py"})
    assert isinstance(result, SkillExtraction)
    assert result.language == "Python"
    assert result.patterns == []
    assert result.skills == ["Python", "FastAPI", "web"]
    p = result.provenance
    assert (p.provider, p.model, p.attempts) == ("openai", "gpt-4.1-mini-2025-04-14", 1)
    assert (p.input_tokens, p.output_tokens) == (321, 45)
    assert len(server.requests) == 1
    body = server.body()
    spec = host.analysis_types().get("skill_extraction")
    assert spec is not None
    assert body["response_format"]["json_schema"]["schema"] == strict_schema(spec.json_schema)
    assert body["response_format"]["json_schema"]["name"] == "skill_extraction"
    assert "from fastapi import FastAPI" in body["messages"][1]["content"]
    assert provider._client is None  # the gateway closed it


async def test_a_429_is_retried_by_the_gateway_after_retry_after(host: PluginHost) -> None:
    answer = {"language": "Go", "frameworks": [], "patterns": [], "complexity": 2,
              "quality_indicators": [], "domains": []}
    limited = fail(429, openai_error("Rate limit reached for gpt-4.1-mini on tokens per min "
                                     "(TPM). Please try again in 3s.", type_="tokens",
                                     code="rate_limit_exceeded"),
                   {**OPENAI_HEADERS, "retry-after": "3", "x-ratelimit-remaining-tokens": "0",
                    "x-ratelimit-reset-tokens": "3s"})
    server = ScriptedServer(limited, ok(openai_completion(json.dumps(answer))))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    provider = OpenAIProvider(OpenAISettings(api_key="sk-test-retry-0123456789"),
                              transport=server.transport)
    async with LLMGateway(provider=provider, plugins=host, cache=False,
                          sleep=sleep) as gateway:
        result = await gateway.analyze(AnalysisType.SKILL_EXTRACTION, "package main\n")
    assert result.language == "Go"  # type: ignore[attr-defined]
    assert len(server.requests) == 2
    assert len(slept) == 1 and slept[0] >= 3.0  # the server's retry-after, plus jitter
