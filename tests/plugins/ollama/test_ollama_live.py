"""Against a real Ollama server; runs only with ``AEXY_LIVE_OLLAMA=1``.

The test environment drops ``OLLAMA_*`` variables, so the server and model are read from
``AEXY_LIVE_OLLAMA_BASE_URL`` (default ``http://localhost:11434``) and
``AEXY_LIVE_OLLAMA_MODEL`` (default ``llama3.2``). The model must be pulled.
"""

from __future__ import annotations

import os

import pytest

from aexy import AnalysisType, LLMGateway
from aexy.plugins import PluginHost
from aexy_ollama import OllamaProvider, OllamaSettings

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(os.environ.get("AEXY_LIVE_OLLAMA") != "1",
                       reason="set AEXY_LIVE_OLLAMA=1 to run against a real Ollama server"),
]

CODE = '''\
import httpx
from fastapi import FastAPI

app = FastAPI()

@app.get("/rates/{currency}")
async def rate(currency: str) -> dict[str, float]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"https://rates.example/{currency}")
    return {"rate": response.json()["rate"]}
'''


def live_provider() -> OllamaProvider:
    return OllamaProvider(OllamaSettings(
        base_url=os.environ.get("AEXY_LIVE_OLLAMA_BASE_URL", "http://localhost:11434"),
        model=os.environ.get("AEXY_LIVE_OLLAMA_MODEL", "llama3.2"),
        keep_alive="5m",
    ))


async def test_live_skill_extraction() -> None:
    provider = live_provider()
    assert await provider.is_available(), (
        f"{provider.model} is not pulled on {provider.base_url}: ollama pull {provider.model}")
    async with LLMGateway(provider=provider, plugins=PluginHost(entry_points=False),
                          cache=False) as gateway:
        result = await gateway.analyze(AnalysisType.SKILL_EXTRACTION, CODE,
                                       context={"file_path": "service/rates.py"})
    assert result.language.lower() == "python"  # type: ignore[attr-defined]
    assert 1 <= result.complexity <= 10  # type: ignore[attr-defined]
    assert result.provenance.provider == "ollama"
    assert result.provenance.input_tokens > 0 and result.provenance.output_tokens > 0
    assert provider._client is None  # closed with the gateway
