"""Request shape, structured-output modes and the auto downgrade, answer parsing, availability."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest
from openai_wire import (
    LLAMACPP_NO_JSON_SCHEMA,
    OPENAI_HEADERS,
    ScriptedServer,
    fail,
    llamacpp_completion,
    ok,
    openai_completion,
    openai_error,
    vllm_completion,
    vllm_nested_error,
)
from pydantic import BaseModel, Field

from aexy.completion import CompletionRequest, FinishReason, Message
from aexy.errors import ErrorCode, LLMError
from aexy.schema import strict_schema
from aexy_openai import OpenAIProvider, OpenAISettings


class Finding(BaseModel):
    severity: str
    line: int | None = None


class Review(BaseModel):
    score: int = Field(ge=1, le=10)
    summary: str = Field(description="one paragraph")
    findings: list[Finding] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


SCHEMA = Review.model_json_schema()
ANSWER = json.dumps({"score": 7, "summary": "fine", "findings": [], "tags": ["ok"]})
LOCAL = "http://127.0.0.1:8080/v1"
VLLM = "http://gpu-box:8000/v1"


def req(schema: dict[str, Any] | None = SCHEMA, **kw: Any) -> CompletionRequest:
    return CompletionRequest.simple("You review code.", "Review this: print(1)", schema,
                                    schema_name="code review!", **kw)


def provider(server: ScriptedServer, **settings: Any) -> OpenAIProvider:
    return OpenAIProvider(OpenAISettings(**settings), transport=server.transport)


# -- request shape ------------------------------------------------------------------------------
async def test_openai_request_shape_with_strict_schema() -> None:
    server = ScriptedServer(ok(openai_completion(ANSWER), OPENAI_HEADERS))
    p = provider(server, api_key="sk-test-shape-0123456789", org_id="org-9",
                 project_id="proj_1")
    completion = await p.complete(req(max_tokens=900, temperature=0.2))
    (request,) = server.requests
    assert request.method == "POST"
    assert str(request.url) == "https://api.openai.com/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-shape-0123456789"
    assert request.headers["openai-organization"] == "org-9"
    assert request.headers["openai-project"] == "proj_1"
    assert request.headers["content-type"] == "application/json"
    body = server.body()
    assert body["model"] == "gpt-4.1-mini"
    assert body["messages"] == [
        {"role": "system", "content": "You review code."},  # OpenAI shows the model the schema
        {"role": "user", "content": "Review this: print(1)"},
    ]
    assert body["temperature"] == 0.2
    assert body["max_completion_tokens"] == 900 and "max_tokens" not in body
    assert body["stream"] is False
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "code_review_"  # [a-zA-Z0-9_-] only
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == strict_schema(SCHEMA)
    assert completion.text == ANSWER
    assert completion.request_id == OPENAI_HEADERS["x-request-id"]


def _walk_objects(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            found.append(node)
        for value in node.values():
            found += _walk_objects(value)
    elif isinstance(node, list):
        for value in node:
            found += _walk_objects(value)
    return found


async def test_the_sent_schema_is_strict_compatible() -> None:
    server = ScriptedServer(ok(openai_completion(ANSWER)))
    await provider(server).complete(req())
    sent = server.body()["response_format"]["json_schema"]["schema"]
    objects = _walk_objects(sent)
    assert len(objects) >= 2  # Review and Finding
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    jsonschema.Draft202012Validator.check_schema(sent)
    # An answer that says "absent" with null is valid on the wire.
    jsonschema.validate({"score": 3, "summary": "s", "findings": None, "tags": None}, sent)


async def test_without_a_key_no_authorization_header_is_sent() -> None:
    server = ScriptedServer(ok(llamacpp_completion(ANSWER)))
    await provider(server, base_url=LOCAL).complete(req())
    assert "authorization" not in server.requests[0].headers
    assert str(server.requests[0].url) == LOCAL + "/chat/completions"


async def test_compatible_servers_get_max_tokens_and_the_schema_in_the_prompt() -> None:
    server = ScriptedServer(ok(vllm_completion(ANSWER)))
    await provider(server, base_url=VLLM).complete(req(max_tokens=512))
    body = server.body()
    assert body["max_tokens"] == 512 and "max_completion_tokens" not in body
    assert body["response_format"]["type"] == "json_schema"
    # vLLM only constrains decoding: the model is shown the schema (with its descriptions).
    system = body["messages"][0]["content"]
    assert system.startswith("You review code.\n\n")
    assert json.loads(system.split("JSON schema:\n", 1)[1]) == SCHEMA


async def test_max_tokens_param_and_schema_in_prompt_can_be_forced() -> None:
    server = ScriptedServer(ok(openai_completion(ANSWER)))
    await provider(server, base_url=VLLM, max_tokens_param="max_completion_tokens",
                   schema_in_prompt=False).complete(req(max_tokens=64))
    body = server.body()
    assert body["max_completion_tokens"] == 64 and "max_tokens" not in body
    assert body["messages"][0]["content"] == "You review code."


async def test_request_model_and_history_are_sent() -> None:
    server = ScriptedServer(ok(openai_completion(ANSWER)))
    request = CompletionRequest(
        system="sys", json_schema=SCHEMA, model="gpt-4o-mini",
        messages=(Message("user", "u1"), Message("assistant", "a1"), Message("user", "fix")),
    )
    await provider(server).complete(request)
    body = server.body()
    assert body["model"] == "gpt-4o-mini"
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["messages"][2]["content"] == "a1"


async def test_free_text_requests_carry_no_response_format() -> None:
    server = ScriptedServer(ok(openai_completion("hello")))
    completion = await provider(server).complete(req(schema=None))
    body = server.body()
    assert "response_format" not in body
    assert body["messages"][0]["content"] == "You review code."
    assert completion.text == "hello"


# -- structured-output modes ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "expected_format", "schema_in_system"),
    [
        ("json_object_schema", {"type": "json_object", "schema": SCHEMA}, True),
        ("json_object", {"type": "json_object"}, True),
        ("none", None, True),
    ],
)
async def test_configured_modes(mode: str, expected_format: dict[str, Any] | None,
                                schema_in_system: bool) -> None:
    server = ScriptedServer(ok(llamacpp_completion(ANSWER)))
    await provider(server, base_url=LOCAL, structured_output=mode).complete(req())
    body = server.body()
    assert body.get("response_format") == expected_format
    system = body["messages"][0]["content"]
    # OpenAI's json_object mode also demands the word JSON somewhere in the messages.
    assert ("JSON" in system and json.dumps(SCHEMA, separators=(",", ":")) in system) \
        is schema_in_system


async def test_auto_downgrades_llamacpp_once_and_remembers() -> None:
    server = ScriptedServer(fail(500, LLAMACPP_NO_JSON_SCHEMA),
                            default=ok(llamacpp_completion(ANSWER)))
    p = provider(server, base_url=LOCAL)
    assert p.structured_mode() == "json_schema"
    completion = await p.complete(req())
    assert completion.text == ANSWER
    assert [server.body(i)["response_format"]["type"] for i in range(2)] == [
        "json_schema", "json_object"]
    assert server.body(1)["response_format"]["schema"] == SCHEMA
    assert p.structured_mode() == "json_object_schema"
    # A second call - even from a new instance - goes straight to the working mode.
    again = provider(server, base_url=LOCAL)
    await again.complete(req())
    assert len(server.requests) == 3
    assert server.body()["response_format"] == {"type": "json_object", "schema": SCHEMA}
    # Another server (or another model) still starts at the top.
    assert provider(server, base_url=VLLM).structured_mode() == "json_schema"
    assert p.structured_mode("other-model") == "json_schema"


async def test_auto_steps_down_one_mode_at_a_time() -> None:
    rejection = fail(400, openai_error(
        "Invalid parameter: 'response_format' of type 'json_schema' is not supported with "
        "this model.", param="response_format"))
    unknown_key = fail(400, vllm_nested_error(
        "1 validation error for ChatCompletionRequest\nresponse_format.schema\n  Extra inputs "
        "are not permitted"))
    server = ScriptedServer(rejection, unknown_key, ok(openai_completion(ANSWER)))
    p = provider(server, base_url=VLLM)
    await p.complete(req())
    formats = [server.body(i).get("response_format") for i in range(3)]
    assert [f["type"] for f in formats if f] == ["json_schema", "json_object", "json_object"]
    assert "schema" in formats[1] and formats[2] == {"type": "json_object"}
    assert p.structured_mode() == "json_object"


async def test_auto_ends_at_no_response_format() -> None:
    rejection = fail(400, openai_error("response_format is not supported by this server"))
    server = ScriptedServer(rejection, rejection, rejection, ok(openai_completion(ANSWER)))
    p = provider(server, base_url=VLLM)
    await p.complete(req())
    assert len(server.requests) == 4
    assert "response_format" not in server.body()
    assert p.structured_mode() == "none"


async def test_a_rejection_is_remembered_even_if_the_next_step_fails_otherwise() -> None:
    server = ScriptedServer(fail(500, LLAMACPP_NO_JSON_SCHEMA),
                        fail(503, {"error": {"code": 503, "message": "Loading model",
                                             "type": "unavailable_error"}}))
    p = provider(server, base_url=LOCAL)
    with pytest.raises(LLMError) as info:
        await p.complete(req())
    assert info.value.code is ErrorCode.OVERLOADED
    assert p.structured_mode() == "json_object_schema"


async def test_a_configured_mode_is_never_downgraded() -> None:
    server = ScriptedServer(fail(500, LLAMACPP_NO_JSON_SCHEMA))
    p = provider(server, base_url=LOCAL, structured_output="json_schema")
    with pytest.raises(LLMError) as info:
        await p.complete(req())
    assert info.value.code is ErrorCode.SERVER_ERROR
    assert len(server.requests) == 1


async def test_other_errors_do_not_downgrade() -> None:
    server = ScriptedServer(fail(400, openai_error("Invalid 'messages[1].content': string too "
                                               "long.", param="messages[1].content")))
    p = provider(server)
    with pytest.raises(LLMError) as info:
        await p.complete(req())
    assert info.value.code is ErrorCode.BAD_REQUEST
    assert len(server.requests) == 1
    assert p.structured_mode() == "json_schema"


async def test_a_rejected_temperature_is_dropped_and_remembered() -> None:
    server = ScriptedServer(
        fail(400, openai_error("Unsupported value: 'temperature' does not support 0.0 with "
                               "this model. Only the default (1) value is supported.",
                               code="unsupported_value", param="temperature")),
        default=ok(openai_completion(ANSWER, model="o4-mini-2025-04-16")),
    )
    p = provider(server, model="o4-mini")
    await p.complete(req())
    assert "temperature" in server.body(0) and "temperature" not in server.body(1)
    await p.complete(req())
    assert len(server.requests) == 3 and "temperature" not in server.body()


# -- answers -----------------------------------------------------------------------------------
async def test_usage_model_and_finish_reason() -> None:
    server = ScriptedServer(ok(openai_completion(ANSWER, prompt_tokens=1234,
                                             completion_tokens=56), OPENAI_HEADERS))
    c = await provider(server).complete(req())
    assert (c.usage.input_tokens, c.usage.output_tokens) == (1234, 56)
    assert c.model == "gpt-4.1-mini-2025-04-14"  # the model that answered, not the alias
    assert (c.finish_reason, c.raw_finish_reason) == (FinishReason.STOP, "stop")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (openai_completion('{"score": 7, "summ', finish_reason="length"), FinishReason.LENGTH),
        (llamacpp_completion('{"score": 7', finish_reason="length"), FinishReason.LENGTH),
        (vllm_completion("", finish_reason="length"), FinishReason.LENGTH),
        (openai_completion(None, finish_reason="content_filter"), FinishReason.CONTENT_FILTER),
        (openai_completion(ANSWER, finish_reason="tool_calls"), FinishReason.OTHER),
    ],
)
async def test_truncation_and_filtering(body: dict[str, Any], expected: FinishReason) -> None:
    server = ScriptedServer(ok(body))
    c = await provider(server).complete(req())
    assert c.finish_reason is expected
    assert c.raw_finish_reason == body["choices"][0]["finish_reason"]


async def test_a_refusal_is_content_filtered() -> None:
    body = openai_completion(None, refusal="I'm sorry, I cannot assist with that request.")
    server = ScriptedServer(ok(body))
    c = await provider(server).complete(req())
    assert c.finish_reason is FinishReason.CONTENT_FILTER
    assert c.text == "I'm sorry, I cannot assist with that request."
    assert c.raw_finish_reason == "stop"


async def test_missing_usage_counts_zero() -> None:
    body = llamacpp_completion(ANSWER)
    del body["usage"]
    c = await provider(ScriptedServer(ok(body)), base_url=LOCAL).complete(req())
    assert (c.usage.input_tokens, c.usage.output_tokens) == (0, 0)
    assert c.model == "qwen2.5-7b-instruct-q4_k_m.gguf"


async def test_strict_nulls_for_optional_fields_become_absent() -> None:
    # In strict mode every property is required, so an optional list was made nullable on
    # the wire; its null must not fail the result model's validation.
    wire = {"score": 7, "summary": "ok", "findings": [{"severity": "low", "line": None}],
            "tags": None}
    server = ScriptedServer(ok(openai_completion(json.dumps(wire))))
    c = await provider(server).complete(req())
    data = json.loads(c.text)
    assert "tags" not in data
    assert data["findings"] == [{"severity": "low", "line": None}]  # null is valid there
    assert Review.model_validate(data).tags == []


async def test_nulls_are_left_alone_outside_strict_mode() -> None:
    wire = json.dumps({"score": 7, "summary": "ok", "tags": None})
    server = ScriptedServer(ok(llamacpp_completion(wire)))
    c = await provider(server, base_url=LOCAL, structured_output="json_object").complete(req())
    assert c.text == wire


async def test_a_200_without_choices_is_a_server_error() -> None:
    server = ScriptedServer(httpx.Response(200, text="<html>bad gateway</html>"))
    with pytest.raises(LLMError) as info:
        await provider(server).complete(req())
    assert info.value.code is ErrorCode.SERVER_ERROR and info.value.retryable


async def test_an_error_inside_a_200_is_mapped() -> None:
    server = ScriptedServer(ok({"error": {"message": "Provider returned error", "code": 502}}))
    with pytest.raises(LLMError) as info:
        await provider(server).complete(req())
    assert "Provider returned error" in str(info.value)


# -- availability and lifecycle --------------------------------------------------------------
async def test_is_available_asks_models_with_a_short_timeout() -> None:
    models = {"object": "list", "data": [{"id": "gpt-4.1-mini", "object": "model",
                                          "created": 1744316542, "owned_by": "system"}]}
    server = ScriptedServer(ok(models))
    p = provider(server, api_key="sk-test-avail-0123456789")
    assert await p.is_available() is True
    (request,) = server.requests
    assert request.method == "GET"
    assert str(request.url) == "https://api.openai.com/v1/models"
    assert request.headers["authorization"] == "Bearer sk-test-avail-0123456789"
    assert request.extensions["timeout"]["read"] == 5.0


@pytest.mark.parametrize(
    "reply",
    [
        fail(401, openai_error("You didn't provide an API key.", code=None)),
        fail(503, "upstream connect error"),
        httpx.ConnectError("All connection attempts failed"),
        httpx.ReadTimeout("timed out"),
        RuntimeError("anything at all"),
    ],
)
async def test_is_available_never_raises(reply: Any) -> None:
    assert await provider(ScriptedServer(reply)).is_available() is False


async def test_one_client_is_reused_and_closed() -> None:
    server = ScriptedServer(default=ok(openai_completion(ANSWER)))
    p = provider(server)
    assert p._client is None  # nothing is opened before the first call
    await p.complete(req())
    client = p._client
    await p.complete(req())
    assert p._client is client and client is not None
    await p.aclose()
    assert client.is_closed and p._client is None
    await p.aclose()  # idempotent


async def test_the_request_timeout_reaches_httpx() -> None:
    server = ScriptedServer(default=ok(openai_completion(ANSWER)))
    await provider(server, timeout=30).complete(req(timeout=2.5))
    assert server.requests[0].extensions["timeout"]["read"] == pytest.approx(2.5, abs=0.1)
    await provider(server, timeout=30).complete(req())
    assert server.requests[1].extensions["timeout"]["read"] == pytest.approx(30, abs=0.1)


async def test_a_schema_specific_rejection_is_not_remembered() -> None:
    invalid = fail(400, openai_error(
        "Invalid schema for response_format 'code_review_': In context=('properties', 'x'), "
        "'patternProperties' is not permitted.", param="response_format",
        code="invalid_json_schema"))
    server = ScriptedServer(invalid, ok(openai_completion(ANSWER)))
    p = provider(server)
    await p.complete(req())
    assert server.body(1)["response_format"]["type"] == "json_object"
    assert p.structured_mode() == "json_schema"  # other schemas still go strict


async def test_an_error_inside_a_200_keeps_its_status() -> None:
    server = ScriptedServer(ok({"error": {"message": "Rate limit exceeded: free-models-per-min.",
                                      "code": 429}}))
    with pytest.raises(LLMError) as info:
        await provider(server, base_url="https://openrouter.ai/api/v1").complete(req())
    assert info.value.code is ErrorCode.RATE_LIMIT_EXCEEDED and info.value.retryable
