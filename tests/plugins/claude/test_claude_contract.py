"""aexy-claude against the plugin contract (aexy.testing.ProviderContract), with wire bodies
shaped as Anthropic's Messages API sends them (through the SDK's httpx2 client)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx2
from claude_wire import REQUEST_ID, message_body

from aexy.testing import ProviderContract
from aexy_claude.provider import ClaudeProvider, ClaudeSettings

_STOP = {"stop": "end_turn", "length": "max_tokens", "refusal": "refusal"}
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                403: "permission_error", 404: "not_found_error", 429: "rate_limit_error",
                500: "api_error", 502: "api_error", 529: "overloaded_error"}

class TestClaudeContract(ProviderContract):
    provider_class = ClaudeProvider
    http_library = "httpx2"
    overloaded_status = 529  # Anthropic's "overloaded"

    def make_settings(self) -> ClaudeSettings:
        return ClaudeSettings(api_key=self.secret, base_url="https://anthropic.contract.test",
                              model="claude-contract")

    def make_unavailable_provider(self, transport: Any) -> ClaudeProvider:
        # Without a key the provider answers "key missing" at once, with no request.
        settings = ClaudeSettings(api_key=None, base_url="https://anthropic.contract.test")
        return ClaudeProvider(settings, transport=transport)

    def answer(self, text: str, *, finish: str, input_tokens: int, output_tokens: int,
               model: str) -> httpx2.Response:
        body = message_body(text, model=model, stop_reason=_STOP[finish],
                            input_tokens=input_tokens, output_tokens=output_tokens)
        return httpx2.Response(200, json=body, headers={"request-id": REQUEST_ID})

    def error(self, status: int, *, message: str, headers: Mapping[str, str]
              ) -> httpx2.Response:
        body = {"type": "error", "error": {"type": _ERROR_TYPES.get(status, "api_error"),
                                           "message": message}, "request_id": REQUEST_ID}
        return httpx2.Response(status, json=body, headers={"request-id": REQUEST_ID, **headers})

    def sent_schema(self, request: httpx2.Request) -> Mapping[str, Any] | None:
        fmt = (json.loads(request.content).get("output_config") or {}).get("format") or {}
        schema = fmt.get("schema")
        return schema if isinstance(schema, dict) else None

    def context_length_error(self) -> httpx2.Response:
        return self.error(400, message="prompt is too long: 210000 tokens > 200000 maximum",
                          headers={})

    # Found by this suite; fixed by the credential hardening of the providers (branch harden).
    # strict: once fixed, this marker fails and must go.
