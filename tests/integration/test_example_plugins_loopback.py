"""The example plugins, installed, over a real socket: the acme provider talks HTTP to the
loopback stub of tools/loopback_stubs.py through the gateway, with the example-sqlite cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from tools.loopback_stubs import StubServer

from aexy import LLMGateway
from aexy.plugins import PluginHost
from aexy.settings import AexySettings


async def test_acme_and_example_sqlite_through_the_gateway(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    with StubServer("acme") as stub:
        monkeypatch.setenv("ACME_BASE_URL", stub.url)
        monkeypatch.setenv("ACME_API_KEY", "sk-loopback-test")
        monkeypatch.setenv("EXAMPLE_SQLITE_PATH", str(tmp_path / "cache.db"))
        settings = AexySettings(llm_provider="acme", cache_backend="example-sqlite")
        host = PluginHost()
        results = []
        for _ in range(2):  # two gateways: the second starts with an empty memory tier
            async with LLMGateway(plugins=host, settings=settings) as gateway:
                assert await gateway.provider.is_available()
                results.append(await gateway.analyze("skill_extraction", "import pandas\n"))
    first, second = results
    assert first.provenance.provider == "acme"
    assert first.provenance.model == "acme-small"
    assert (first.provenance.cache_hit, second.provenance.cache_hit) == (False, True)
    assert second.provenance.cache_tier == "example-sqlite"
    assert first.model_dump() == second.model_dump()
    assert stub.requests.count("POST /v1/generate") == 1
    assert stub.requests.count("GET /v1/health") == 2


async def test_the_acme_provider_is_unavailable_when_nothing_listens() -> None:
    with StubServer("acme") as stub:
        url = stub.url  # the port is closed once the stub stops
    from aexy_example_provider import AcmeProvider, AcmeSettings

    provider = AcmeProvider(AcmeSettings(base_url=url))
    try:
        assert await provider.is_available() is False
    finally:
        await provider.aclose()
