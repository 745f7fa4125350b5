"""aexy-ollama against the plugin contract (aexy.testing.ProviderContract), with wire bodies
shaped as Ollama's /api/chat and /api/tags send them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
from ollama_wire import chat_body, tags_body

from aexy.testing import ProviderContract
from aexy_ollama.provider import OllamaProvider, OllamaSettings


class TestOllamaContract(ProviderContract):
    provider_class = OllamaProvider

    def make_settings(self) -> OllamaSettings:
        # Ollama takes no key; the credential is a proxy's, in the URL.
        return OllamaSettings(base_url=f"http://aexy:{self.secret}@ollama.contract.test:11434",
                              model="llama-contract")

    def answer(self, text: str, *, finish: str, input_tokens: int, output_tokens: int,
               model: str) -> httpx.Response | None:
        if finish == "refusal":
            return None  # Ollama has no refusal signal: a refusal is just text
        return httpx.Response(200, json=chat_body(text, model=model, done_reason=finish,
                                                  prompt_eval_count=input_tokens,
                                                  eval_count=output_tokens))

    def error(self, status: int, *, message: str, headers: Mapping[str, str]) -> httpx.Response:
        return httpx.Response(status, json={"error": message}, headers=dict(headers))

    def sent_schema(self, request: httpx.Request) -> Mapping[str, Any] | None:
        schema = json.loads(request.content).get("format")
        return schema if isinstance(schema, dict) else None

    def available(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/tags"
        return httpx.Response(200, json=tags_body("llama-contract:latest"))

    # Found by this suite; fixed by the credential hardening of the providers (branch harden).
    # strict: once fixed, this marker fails and must go.
