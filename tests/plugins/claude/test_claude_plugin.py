"""aexy-claude as an installed plugin: discovered by entry point, light to load."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import distribution, entry_points

from aexy.plugins import PluginHost
from aexy_claude import ClaudeProvider, ClaudeSettings


def loaded_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport sys, json\n"
        "print(json.dumps([m for m in ('anthropic', 'httpx2') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True)
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def test_entry_point_is_declared_by_the_distribution() -> None:
    (ep,) = [e for e in entry_points(group="aexy") if e.name == "claude"]
    assert ep.value == "aexy_claude"
    assert ep.dist is not None and ep.dist.name == "aexy-claude"
    requires = distribution("aexy-claude").requires or []
    assert any(r.startswith("anthropic") for r in requires)
    assert any(r.startswith("aexy-core") for r in requires)


def test_plugin_host_discovers_claude() -> None:
    host = PluginHost()
    spec = host.providers().get("claude")
    assert spec is not None
    assert spec.provider_class is ClaudeProvider
    assert spec.settings_class is ClaudeSettings
    assert "ANTHROPIC_API_KEY" in spec.description
    (info,) = [i for i in host.plugins() if i.name == "claude"]
    assert info.distribution == "aexy-claude"
    assert info.status == "active"
    assert "register_providers" in info.hooks


def test_plugin_can_be_disabled() -> None:
    host = PluginHost(environ={"AEXY_DISABLE_PLUGINS": "aexy-claude"})
    assert host.providers().get("claude") is None


def test_importing_and_registering_does_not_import_the_sdk() -> None:
    assert loaded_after("import aexy") == []
    assert loaded_after("import aexy_claude") == []
    assert loaded_after(
        "from aexy.plugins import PluginHost; PluginHost().providers().get('claude')"
    ) == []


def test_constructing_a_provider_and_a_keyless_check_do_not_import_the_sdk() -> None:
    # With a key, check() asks GET /v1/models and so needs the SDK; without one it answers
    # "key missing" at once.
    code = (
        "import asyncio\n"
        "from aexy_claude import ClaudeProvider, ClaudeSettings\n"
        "p = ClaudeProvider(ClaudeSettings(api_key='k'))\n"
        "p.describe(); repr(p); p.limits\n"
        "a = asyncio.run(ClaudeProvider(ClaudeSettings()).check())\n"
        "assert not a.ok and 'ANTHROPIC_API_KEY' in a.reason, a\n"
    )
    assert loaded_after(code) == []
