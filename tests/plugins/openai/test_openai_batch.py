"""aexy-openai on the OpenAI Batch API (and compatible servers), through
:class:`aexy.batching.BatchJob`, against the wire-shaped stand-in of ``tools/batch_stubs.py``
(checked against openai 3.63.0's ``Batch``, ``BatchRequestCounts``, ``FileObject`` and the
batch guide's input and output lines)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from tools.batch_stubs import OpenAIStub, handler

from aexy import CompletionRequest, ErrorCode, LLMGateway, Message
from aexy.batch_store import JobStore
from aexy.batching import BatchJob
from aexy.cache import MemoryCache
from aexy.completion import Usage
from aexy.cost import price
from aexy.plugins import PluginHost
from aexy.testing import ScriptedServer
from aexy_openai import OpenAIProvider, OpenAISettings
from aexy_openai.provider import _Batches

OPENAI = "https://api.openai.com/v1"


def skills(body: dict[str, Any]) -> str:
    found = re.search(r"lang=(\w+)", json.dumps(body["messages"]))
    return json.dumps({"language": found.group(1) if found else "Python", "frameworks": [],
                       "patterns": [], "complexity": 3, "quality_indicators": [],
                       "domains": []})


class Fixture:
    def __init__(self, tmp_path: Path, base_url: str = OPENAI, **stub: Any) -> None:
        self.stub = OpenAIStub(answer=skills, **stub)
        self.server = ScriptedServer(default=handler(self.stub))
        self.store = JobStore(tmp_path / "batches.sqlite3")
        self.base_url = base_url
        self.slept: list[float] = []

    def gateway(self, **kw: Any) -> LLMGateway:
        provider = OpenAIProvider(OpenAISettings(api_key="sk-test-batch", base_url=self.base_url),
                                  transport=self.server.transport)
        return LLMGateway(provider, plugins=PluginHost(), cache=kw.pop("cache", MemoryCache()),
                          **kw)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def job(self, gateway: LLMGateway, **kw: Any) -> BatchJob:
        return BatchJob(gateway, "test-job", store=self.store, sleep=self.sleep, **kw)


def code(lang: str, marker: str = "") -> str:
    return f"main = pure () -- lang={lang}" + (f" aexy-test: {marker}" if marker else "")


async def test_the_input_file_holds_live_bodies_and_the_batch_names_the_endpoint(
        tmp_path: Path) -> None:
    fx = Fixture(tmp_path)
    async with fx.gateway(cache=False) as gw:
        await gw.analyze("skill_extraction", code("Elixir"), {"file_path": "a.ex"})
        job = fx.job(gw)
        job.add("skill_extraction", code("Elixir"), {"file_path": "a.ex"})
        await job.run()
    live = fx.server.body(0)
    upload = next(r for r in fx.server.requests if r.url.path == "/v1/files")
    assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert upload.headers["authorization"] == "Bearer sk-test-batch"
    assert b'name="purpose"\r\n\r\nbatch\r\n' in upload.content
    (batch,) = fx.stub.batches.values()
    (line,) = batch.requests
    assert set(line) == {"custom_id", "method", "url", "body"}
    assert (line["method"], line["url"]) == ("POST", "/v1/chat/completions")
    assert line["body"] == live  # what a live call sends: prompt, strict schema, parameters
    assert line["body"]["response_format"]["type"] == "json_schema"
    created = next(json.loads(r.content) for r in fx.server.requests
                   if r.url.path == "/v1/batches")
    assert created == {"input_file_id": batch.extra["input_file_id"],
                       "endpoint": "/v1/chat/completions", "completion_window": "24h"}


async def test_output_and_error_lines_in_another_order_are_matched_by_custom_id(
        tmp_path: Path) -> None:
    fx = Fixture(tmp_path)
    async with fx.gateway() as gw:
        job = fx.job(gw)
        ok = [job.add("skill_extraction", code(lang)) for lang in ("Rust", "Go", "Zig")]
        errored = job.add("skill_extraction", code("C", "error"))
        expired = job.add("skill_extraction", code("D", "expire"))
        await job.run()
    assert [i.unwrap().language for i in ok] == ["Rust", "Go", "Zig"]
    assert errored.error is not None and errored.error.code is ErrorCode.BAD_REQUEST  # type: ignore[attr-defined]
    assert "the test asked for an error" in str(errored.error)
    assert expired.error is not None and expired.error.code is ErrorCode.EXPIRED  # type: ignore[attr-defined]
    (batch,) = fx.stub.batches.values()
    reads = [r for r in fx.stub.log if r.endswith("/content")]
    assert reads == [f"GET /v1/files/{batch.extra['output_file_id']}/content",
                     f"GET /v1/files/{batch.extra['error_file_id']}/content"]


async def test_the_statuses_until_completed_are_polled_through(tmp_path: Path) -> None:
    fx = Fixture(tmp_path, polls=4)
    seen: list[str] = []
    async with fx.gateway() as gw:
        job = fx.job(gw, on_progress=lambda p: seen.append(p.phase))
        item = job.add("skill_extraction", code("Nim"))
        await job.run()
    assert item.unwrap().language == "Nim"
    polls = [line for line in fx.stub.log if re.fullmatch(r"GET /v1/batches/\w+", line)]
    assert len(polls) == 4 + 1  # validating, in_progress, finalizing, completed; the results
    assert fx.slept == [5.0, 7.5, 11.25]


@pytest.mark.parametrize(("raw", "state"), [
    ("validating", "in_progress"), ("in_progress", "in_progress"),
    ("finalizing", "in_progress"), ("cancelling", "canceling"), ("completed", "ended"),
    ("failed", "ended"), ("expired", "ended"), ("cancelled", "ended"),
])
def test_every_batch_status_maps_to_a_state(raw: str, state: str) -> None:
    status = _Batches.status({"id": "batch_1", "status": raw,
                              "request_counts": {"total": 5, "completed": 2, "failed": 1}})
    assert status.state == state and status.raw_status == raw
    assert status.counts.succeeded == 2 and status.counts.errored == 1
    assert status.counts.processing == (2 if state != "ended" else 0)
    assert status.counts.expired == (2 if raw == "expired" else 0)


async def test_a_refused_input_fails_every_request_with_the_reason(tmp_path: Path) -> None:
    fx = Fixture(tmp_path, polls=1, end="failed")
    async with fx.gateway() as gw:
        job = fx.job(gw)
        items = [job.add("skill_extraction", code(lang)) for lang in ("Ada", "Lua")]
        await job.run()
    for item in items:
        assert item.error is not None and item.error.code is ErrorCode.SERVER_ERROR  # type: ignore[attr-defined]
        assert "ended (failed) without a result" in str(item.error)
        assert "the input file was refused" in str(item.error)


async def test_an_expired_batch_gives_what_ran_and_the_rest_can_go_live(
        tmp_path: Path) -> None:
    fx = Fixture(tmp_path, polls=2, end="expired")
    async with fx.gateway() as gw:
        job = fx.job(gw, retry_live=True)
        ran = job.add("skill_extraction", code("Ruby"))
        late = job.add("skill_extraction", code("Perl", "slow"))
        await job.run()
    assert ran.unwrap().provenance.batch_id is not None
    assert late.unwrap().language == "Perl" and late.unwrap().provenance.batch_id is None
    assert fx.stub.log.count("POST /v1/chat/completions") == 1


async def test_answers_are_priced_at_openais_batch_rate(tmp_path: Path) -> None:
    fx = Fixture(tmp_path)
    async with fx.gateway() as gw:
        job = fx.job(gw)
        item = job.add("skill_extraction", code("Kotlin"))
        await job.run()
    p = item.unwrap().provenance
    assert p.cost is not None and p.cost.batch and p.cost.status == "priced"
    assert p.cost == price("openai", "gpt-4.1-mini-2025-04-14",
                           Usage(p.input_tokens, p.output_tokens),
                           ref=gw.providers[0].price_ref(), batch=True)


async def test_a_compatible_server_with_the_endpoints_works_unpriced(tmp_path: Path) -> None:
    fx = Fixture(tmp_path, base_url="http://127.0.0.1:8000/v1")
    async with fx.gateway() as gw:
        job = fx.job(gw)
        item = job.add("skill_extraction", code("Crystal"))
        await job.run()
    p = item.unwrap().provenance
    assert p.batch_id is not None
    assert p.cost is not None and p.cost.status == "unpriced"  # never $0


async def test_results_are_read_against_the_strict_request() -> None:
    # A strict schema makes optional fields nullable; a null in a batch answer means absent,
    # as in a live one.
    schema = {"type": "object", "properties": {"a": {"type": "string"},
                                               "tags": {"type": "array",
                                                        "items": {"type": "string"}}},
              "required": ["a"]}
    request = CompletionRequest("s", (Message("user", "u"),), json_schema=schema)
    provider = OpenAIProvider(OpenAISettings(api_key="k"))
    body = {"choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": json.dumps({"a": "x", "tags": None})}}],
        "model": "gpt-4.1-mini", "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
    line = json.dumps({"id": "batch_req_1", "custom_id": "c1", "error": None,
                       "response": {"status_code": 200, "request_id": "req_1", "body": body}})
    entry = provider._entry(line, {"c1": request})
    assert entry.outcome == "succeeded" and entry.completion is not None
    assert json.loads(entry.completion.text) == {"a": "x"}
    assert entry.completion.usage == Usage(3, 2)
    await provider.aclose()
