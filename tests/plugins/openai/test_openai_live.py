"""Against a real OpenAI-compatible server; runs only with ``AEXY_LIVE_OPENAI=1``.

The test environment drops ``OPENAI_*`` variables, so the server is read from
``AEXY_LIVE_OPENAI_BASE_URL`` (default ``http://localhost:8080/v1``, a local llama-server),
``AEXY_LIVE_OPENAI_MODEL`` (default ``local``) and ``AEXY_LIVE_OPENAI_API_KEY`` (optional).
Point it at a local server: against api.openai.com the call is billed.
"""

from __future__ import annotations

import os

import pytest

from aexy import AnalysisType, LLMGateway
from aexy.plugins import PluginHost
from aexy_openai import OpenAIProvider, OpenAISettings

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(os.environ.get("AEXY_LIVE_OPENAI") != "1",
                       reason="set AEXY_LIVE_OPENAI=1 to run against a real compatible server"),
]

CODE = '''\
from fastapi import FastAPI

app = FastAPI()

@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
'''


async def test_live_skill_extraction() -> None:
    provider = OpenAIProvider(OpenAISettings(
        base_url=os.environ.get("AEXY_LIVE_OPENAI_BASE_URL", "http://localhost:8080/v1"),
        model=os.environ.get("AEXY_LIVE_OPENAI_MODEL", "local"),
        api_key=os.environ.get("AEXY_LIVE_OPENAI_API_KEY") or None,
    ))
    assert await provider.is_available(), f"GET {provider.base_url}/models failed"
    async with LLMGateway(provider=provider, plugins=PluginHost(entry_points=False),
                          cache=False) as gateway:
        result = await gateway.analyze(AnalysisType.SKILL_EXTRACTION, CODE,
                                       context={"file_path": "app/main.py"})
    assert result.language.lower() == "python"  # type: ignore[attr-defined]
    assert result.provenance.provider == "openai"
    assert result.provenance.input_tokens > 0 and result.provenance.output_tokens > 0
    assert provider._client is None  # closed with the gateway
