"""The acme provider against aexy's provider contract: the whole test suite a provider plugin
needs, given what the API's answers look like on the wire."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from aexy.testing import ProviderContract
from aexy_example_provider.provider import AcmeProvider, AcmeSettings

_STOP = {"stop": "end", "length": "max_tokens", "refusal": "refused"}


class TestAcmeContract(ProviderContract):
    provider_class = AcmeProvider

    def make_settings(self) -> AcmeSettings:
        return AcmeSettings(base_url="https://acme.contract.test", api_key=self.secret,
                            model="acme-contract")

    def answer(self, text: str, *, finish: str, input_tokens: int, output_tokens: int,
               model: str) -> httpx.Response:
        return httpx.Response(200, json={
            "id": "gen_01HZX3", "model": model, "output": text, "stop_reason": _STOP[finish],
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}})

    def error(self, status: int, *, message: str, headers: Mapping[str, str]) -> httpx.Response:
        code = {429: "rate_limited", 503: "overloaded"}.get(status, "error")
        return httpx.Response(status, json={"error": {"code": code, "message": message}},
                              headers=dict(headers))

    def sent_schema(self, request: httpx.Request) -> Mapping[str, Any] | None:
        schema = json.loads(request.content).get("response_schema")
        return schema if isinstance(schema, dict) else None

    def available(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/health"
        return httpx.Response(200, json={"status": "ok"})

    def context_length_error(self) -> httpx.Response:
        return httpx.Response(400, json={"error": {"code": "context_too_long",
                                                   "message": "12000 tokens > 8192"}})
