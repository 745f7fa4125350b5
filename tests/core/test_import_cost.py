"""``import aexy`` must stay light: no provider SDK, HTTP client, redis or rich on import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ["anthropic", "httpx", "httpx2", "redis", "rich", "opentelemetry", "openai",
         "aiolimiter", "click"]


def loaded_after(code: str) -> set[str]:
    probe = (
        f"{code}\nimport sys, json\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_aexy_is_light() -> None:
    assert loaded_after("import aexy") == set()


def test_public_names_resolve_without_heavy_imports() -> None:
    code = (
        "from aexy import LLMGateway, AnalysisType, AnalysisResult, BaseLLMProvider, "
        "CompletionRequest, Completion, hookimpl, LLMError, InvalidInputError, "
        "DeveloperActivity, TeamMetrics"
    )
    assert loaded_after(code) == set()


def test_loading_every_plugin_imports_no_provider_sdk() -> None:
    # Entry points of every installed plugin are loaded; their SDKs must wait until first use.
    loaded = loaded_after("from aexy.plugins import PluginHost; PluginHost().providers()")
    assert not loaded & {"anthropic", "httpx", "httpx2", "redis", "rich", "openai"}


def test_unknown_attribute_is_an_attribute_error() -> None:
    import aexy

    with pytest.raises(AttributeError, match="NoSuchThing"):
        aexy.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    assert "LLMGateway" in dir(aexy)
