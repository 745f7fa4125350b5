"""aexy-openai against the plugin contract (aexy.testing.ProviderContract), with wire bodies
shaped as OpenAI's chat-completions API sends them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
from openai_wire import OPENAI_HEADERS, openai_completion, openai_error

from aexy.testing import ProviderContract
from aexy_openai.provider import OpenAIProvider, OpenAISettings

_FINISH = {"stop": "stop", "length": "length", "refusal": "stop"}


class TestOpenAIContract(ProviderContract):
    provider_class = OpenAIProvider
    # OpenAI-compatible servers put a proxy's 504 and a 408 in the retryable family too.

    def make_settings(self) -> OpenAISettings:
        return OpenAISettings(api_key=self.secret, base_url="https://llm.contract.test/v1",
                              model="gpt-contract")

    def answer(self, text: str, *, finish: str, input_tokens: int, output_tokens: int,
               model: str) -> httpx.Response:
        refusal = text if finish == "refusal" else None
        body = openai_completion(None if refusal else text, finish_reason=_FINISH[finish],
                                 refusal=refusal, model=model, prompt_tokens=input_tokens,
                                 completion_tokens=output_tokens)
        return httpx.Response(200, json=body, headers=OPENAI_HEADERS)

    def error(self, status: int, *, message: str, headers: Mapping[str, str]) -> httpx.Response:
        return httpx.Response(status, json=openai_error(message, type_="invalid_request_error"),
                              headers={**OPENAI_HEADERS, **headers})

    def sent_schema(self, request: httpx.Request) -> Mapping[str, Any] | None:
        fmt = json.loads(request.content).get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema")
        return schema if isinstance(schema, dict) else None

    def available(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/models"
        return httpx.Response(200, json={"object": "list", "data": [
            {"id": "gpt-contract", "object": "model", "created": 1751990000,
             "owned_by": "system"}]})

    def context_length_error(self) -> httpx.Response:
        return httpx.Response(400, json=openai_error(
            "This model's maximum context length is 128000 tokens. However, your messages "
            "resulted in 130512 tokens.", code="context_length_exceeded", param="messages"))

    # Found by this suite; fixed by the credential hardening of the providers (branch harden).
    # strict: once fixed, this marker fails and must go.
