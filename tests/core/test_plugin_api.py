"""aexy.plugin_api: every name a plugin needs, from one place, documented field by field."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from aexy import hookspecs, plugin_api

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_exported_name_resolves() -> None:
    for name in plugin_api.__all__:
        assert getattr(plugin_api, name) is not None, name
    with pytest.raises(AttributeError, match="NoSuchThing"):
        plugin_api.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_every_record_a_hook_returns_is_exported() -> None:
    returned = set()
    for name in dir(hookspecs):
        if name.startswith("register_"):
            annotation = inspect.signature(getattr(hookspecs, name)).return_annotation
            returned.update(re.findall(r"list\[(\w+)\]", str(annotation)))
    assert returned == {"ProviderSpec", "CacheBackendSpec", "PromptSource", "PostProcessor",
                        "AnalysisSpec", "RateLimiterSpec", "BudgetLedgerSpec"}
    assert returned <= set(plugin_api.__all__)


def test_importing_the_contract_is_free() -> None:
    code = ("import sys, json; import aexy.plugin_api; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('aexy.', 'httpx', "
            "'pydantic')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # Nothing but the contract's face, the facades' lazy-name machinery and two leaves.
    assert json.loads(out.stdout) == ["aexy._lazy", "aexy._seed", "aexy._version",
                                      "aexy.plugin_api"]


RECORDS = ["ProviderSpec", "RateLimits", "CompletionRequest", "Message", "Completion", "Usage",
           "CacheBackendSpec", "PromptSource", "PromptTemplate", "Prompt", "PostProcessor",
           "AnalysisSpec", "RateLimiterSpec", "BatchRequest", "BatchStatus", "BatchCounts",
           "BatchEntry", "BatchLimits"]


@pytest.mark.parametrize("record", RECORDS)
def test_the_reference_documents_every_field(record: str) -> None:
    page = (DOCS / "plugins.md").read_text()
    cls = getattr(plugin_api, record)
    missing = [f.name for f in dataclasses.fields(cls)
               if f.init and f"`{f.name}`" not in page]  # derived fields are not given
    assert not missing, f"docs/plugins.md does not document {record}.{missing}"


def test_the_reference_documents_every_member_of_the_bases_and_protocols() -> None:
    page = (DOCS / "plugins.md").read_text()
    members = {
        "BaseLLMProvider": ["name", "settings_class", "default_limits", "enforces_schema",
                            "method", "estimates_usage", "complete", "is_available", "check",
                            "aclose", "describe", "model", "limits", "supports_batch",
                            "batch_limits", "submit_batch", "poll_batch", "batch_results",
                            "cancel_batch"],
        "ProviderSettings": list(plugin_api.ProviderSettings.model_fields),
        "CacheBackend": ["name", "get", "set", "delete", "clear", "stats", "aclose"],
        "RateLimiter": ["acquire", "reconcile"],
        "LLMError": ["code", "provider", "model", "retryable", "retry_after", "status_code",
                     "request_id"],
    }
    missing = [f"{owner}.{m}" for owner, names in members.items() for m in names
               if not re.search(rf"`(async )?{m}\b", page)]
    assert not missing, missing
    for owner, names in members.items():
        if owner in ("ProviderSettings", "LLMError"):
            continue
        cls = getattr(plugin_api, owner)
        assert all(hasattr(cls, m) or m in getattr(cls, "__annotations__", {}) for m in names)


def test_the_docs_skeleton_declares_an_env_prefix() -> None:
    # The old skeleton had none: its variables silently fell back to AEXY_PROVIDER_*.
    for page in ("plugins.md", "writing-plugins.md"):
        text = (DOCS / page).read_text()
        for block in re.findall(r"```python\n(.*?)```", text, re.S):
            if "(ProviderSettings)" in block or "(PluginSettings)" in block:
                assert "env_prefix=" in block, (page, block)


def test_the_reference_lists_every_name_once() -> None:
    page = (DOCS / "plugins.md").read_text()
    table = page[page.index("Every name, once:"):page.index("## What the host does")]
    rows = re.findall(r"^\| `(\w+)` \|", table, re.M)
    assert sorted(rows) == sorted(plugin_api.__all__), (
        set(rows) ^ set(plugin_api.__all__))
    assert len(rows) == len(set(rows))


def test_the_docs_name_no_internal_module_a_plugin_should_import() -> None:
    # A plugin imports aexy.plugin_api; the guides must not send it elsewhere.
    for page in ("plugins.md", "writing-plugins.md"):
        text = (DOCS / page).read_text()
        assert not re.search(r"aexy\.(errors|schema|cache|resilience|completion|providers)\.",
                             text), page
