"""Stand-ins for the two batch APIs aexy speaks, shaped field for field like the real ones:
Anthropic's Messages API with Message Batches, and OpenAI's chat completions with the Files and
Batch APIs. Each is a plain object answering ``handle(method, path, headers, body)`` with
``(status, headers, body)``, so the same fake serves tests through a mock transport
(:func:`handler`) and the manual's examples on a loopback port (``tools/loopback_stubs.py``).

Shapes were checked against the official SDKs: anthropic 2.17.0 (``MessageBatch``,
``MessageBatchRequestCounts``, ``MessageBatchIndividualResponse`` and its ``succeeded`` /
``errored`` / ``canceled`` / ``expired`` results, ``ErrorResponse``) and openai 3.63.0
(``Batch``, ``BatchRequestCounts``, ``BatchError``, ``FileObject``), and the OpenAI batch
guide's input and output lines (``{"custom_id", "method", "url", "body"}``;
``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}``, with
``batch_expired`` and ``batch_cancelled`` errors).

What a request gets is up to its last user message:

- ``aexy-test: error`` -> an error result (Anthropic ``errored``, an OpenAI 400 line);
- ``aexy-test: expire`` / ``aexy-test: cancel`` -> never run (``expired`` / ``canceled``);
- ``aexy-test: invalid`` -> the batch answers text that is not JSON (a live call answers well);
- anything else -> the smallest answer its JSON schema allows (or what ``answer`` makes of the
  request).

A batch ends after ``polls`` polls, and its results come in the reverse of the submitted order
(they may come in any order: a client must match them by ``custom_id``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AnthropicStub", "OpenAIStub", "handler"]

Reply = tuple[int, dict[str, str], bytes]
CREATED = "2026-05-04T09:30:00.000000+00:00"
EXPIRES = "2026-05-05T09:30:00.000000+00:00"
ENDED = "2026-05-04T09:41:07.000000+00:00"


def _json(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
    return status, {"content-type": "application/json", **(headers or {})}, \
        json.dumps(payload).encode()


def _marker(text: str) -> str:
    found = re.search(r"aexy-test: (\w+)", text)
    return found.group(1) if found else ""


def _example(schema: Any, *, at_least_one: bool) -> str:
    from aexy.schema import example_from_schema

    value = example_from_schema(dict(schema) if isinstance(schema, dict) else {})
    if at_least_one:  # Anthropic's schema keeps bounds in descriptions: a model reads them
        value = _bump(value)
    return json.dumps(value)


def _bump(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value == 0:
        return 1
    if isinstance(value, dict):
        return {k: _bump(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_bump(v) for v in value]
    return value


@dataclass
class _Batch:
    id: str
    requests: list[dict[str, Any]]
    polls: int = 0
    canceled: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class AnthropicStub:
    """``/v1/models``, ``/v1/messages`` (and ``count_tokens``) and ``/v1/messages/batches``.

    :param polls: polls of a batch before it has ended.
    """

    def __init__(self, *, polls: int = 2, model: str = "claude-sonnet-4-5",
                 answer: Callable[[Mapping[str, Any]], str] | None = None) -> None:
        self.polls = polls
        self.answer = answer
        self.model = model
        self.batches: dict[str, _Batch] = {}
        self.log: list[str] = []
        self.base = "https://api.anthropic.com"

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        path = path.split("?")[0]
        self.log.append(f"{method} {path}")
        data: Any = json.loads(body) if body else {}
        if method == "GET" and path == "/v1/models":
            return _json(200, {"data": [{"type": "model", "id": self.model,
                                         "display_name": "Claude", "created_at": CREATED}],
                               "has_more": False, "first_id": self.model,
                               "last_id": self.model})
        if method == "POST" and path == "/v1/messages":
            return _json(200, self._message(data, live=True), {"request-id": "req_live_01"})
        if method == "POST" and path == "/v1/messages/count_tokens":
            return _json(200, {"input_tokens": max(len(body) // 4, 1)})
        host = headers.get("host", "api.anthropic.com")
        # The results are where the API says: its own host (here, wherever this stub runs).
        self.base = (f"http://{host}" if host.startswith(("127.0.0.1", "localhost"))
                     else f"https://{host}")
        if method == "POST" and path == "/v1/messages/batches":
            batch = _Batch(f"msgbatch_{len(self.batches) + 1:02d}stub",
                           list(data.get("requests") or []))
            self.batches[batch.id] = batch
            return _json(200, self._batch(batch))
        found = re.fullmatch(r"/v1/messages/batches/([\w-]+)(/cancel|/results)?", path)
        if found is None or found.group(1) not in self.batches:
            return _json(404, {"type": "error", "error": {"type": "not_found_error",
                                                          "message": f"{method} {path}"},
                               "request_id": "req_404"})
        batch, tail = self.batches[found.group(1)], found.group(2)
        if method == "POST" and tail == "/cancel":
            if not self._ended(batch):
                batch.canceled = True
                batch.extra["canceled_at"] = batch.polls
            return _json(200, self._batch(batch))
        if method == "GET" and tail is None:
            batch.polls += 1
            return _json(200, self._batch(batch))
        if method == "GET" and tail == "/results" and self._ended(batch):
            lines = [json.dumps({"custom_id": r["custom_id"], "result": self._result(batch, r)})
                     for r in reversed(batch.requests)]
            return 200, {"content-type": "application/binary"}, \
                ("\n".join(lines) + "\n").encode()
        return _json(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                      "message": "batch not ended"}})

    def _ended(self, batch: _Batch) -> bool:
        # A canceled batch is "canceling" until the next poll, then ended.
        return batch.polls >= self.polls or (batch.canceled
                                             and batch.polls > batch.extra["canceled_at"])

    def _outcome(self, batch: _Batch, request: Mapping[str, Any]) -> str:
        marker = _marker(json.dumps(request["params"]["messages"][-1]))
        if marker in ("error", "expire", "cancel"):
            return {"error": "errored", "expire": "expired", "cancel": "canceled"}[marker]
        return "canceled" if batch.canceled else "succeeded"

    def _batch(self, batch: _Batch) -> dict[str, Any]:
        ended = self._ended(batch)
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        for request in batch.requests:
            counts[self._outcome(batch, request) if ended else "processing"] += 1
        status = "ended" if ended else "canceling" if batch.canceled else "in_progress"
        return {"id": batch.id, "type": "message_batch", "processing_status": status,
                "request_counts": counts, "created_at": CREATED, "expires_at": EXPIRES,
                "ended_at": ENDED if ended else None, "archived_at": None,
                "cancel_initiated_at": CREATED if batch.canceled else None,
                "results_url": (f"{self.base}/v1/messages/batches/{batch.id}/results"
                                if ended else None)}

    def _result(self, batch: _Batch, request: Mapping[str, Any]) -> dict[str, Any]:
        outcome = self._outcome(batch, request)
        if outcome == "succeeded":
            return {"type": "succeeded", "message": self._message(request["params"],
                                                                  live=False)}
        if outcome == "errored":
            return {"type": "errored", "error": {
                "type": "error", "request_id": "req_011CbatchErr",
                "error": {"type": "invalid_request_error",
                          "message": "messages.0.content: the test asked for an error"}}}
        return {"type": outcome}

    def _message(self, params: Mapping[str, Any], *, live: bool) -> dict[str, Any]:
        schema = ((params.get("output_config") or {}).get("format") or {}).get("schema")
        last = json.dumps(params.get("messages", [{}])[-1])
        text = ("this is not JSON" if _marker(last) == "invalid" and not live
                else self.answer(params) if self.answer is not None
                else _example(schema, at_least_one=True))
        return {"id": "msg_01Stub", "type": "message", "role": "assistant",
                "model": params.get("model", self.model),
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": max(len(json.dumps(params)) // 4, 1),
                          "output_tokens": max(len(text) // 4, 1),
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                          "cache_creation": {"ephemeral_5m_input_tokens": 0,
                                             "ephemeral_1h_input_tokens": 0},
                          "service_tier": "batch" if not live else "standard"}}


class OpenAIStub:
    """``/v1/models``, ``/v1/chat/completions``, ``/v1/files`` and ``/v1/batches``, as OpenAI and
    compatible servers answer them.

    :param polls: polls of a batch before it has ended (``validating``, then ``in_progress``,
        then ``finalizing``, then ``completed``).
    :param end: how a batch ends: ``completed``, ``expired`` (what did not run gets
        ``batch_expired`` lines) or ``failed`` (the input is refused: no files).
    """

    def __init__(self, *, polls: int = 3, end: str = "completed",
                 model: str = "gpt-4.1-mini-2025-04-14",
                 answer: Callable[[Mapping[str, Any]], str] | None = None) -> None:
        self.polls = polls
        self.answer = answer
        self.end = end
        self.model = model
        self.files: dict[str, tuple[str, bytes]] = {}
        self.batches: dict[str, _Batch] = {}
        self.log: list[str] = []

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        path = path.split("?")[0]
        self.log.append(f"{method} {path}")
        if method == "GET" and path == "/v1/models":
            return _json(200, {"object": "list", "data": [{"id": self.model, "object": "model",
                                                           "created": 1744316542,
                                                           "owned_by": "system"}]})
        if method == "POST" and path == "/v1/chat/completions":
            return _json(200, self._completion(json.loads(body), live=True),
                         {"x-request-id": "req_live_01"})
        if method == "POST" and path == "/v1/files":
            return self._upload(headers, body)
        found = re.fullmatch(r"/v1/files/([\w-]+)/content", path)
        if method == "GET" and found and found.group(1) in self.files:
            return 200, {"content-type": "application/octet-stream"}, \
                self.files[found.group(1)][1]
        if method == "POST" and path == "/v1/batches":
            data = json.loads(body)
            batch = _Batch(f"batch_{len(self.batches) + 1:02d}stub", [],
                           extra={"input_file_id": data.get("input_file_id"),
                                  "endpoint": data.get("endpoint"),
                                  "completion_window": data.get("completion_window")})
            source = self.files.get(str(data.get("input_file_id")))
            if source is None:
                return self._error(400, "invalid_request_error", "No such File object",
                                   "input_file_id")
            batch.requests = [json.loads(line) for line in source[1].decode().splitlines()
                              if line.strip()]
            self.batches[batch.id] = batch
            return _json(200, self._batch(batch))
        found = re.fullmatch(r"/v1/batches/([\w-]+)(/cancel)?", path)
        if found is None or found.group(1) not in self.batches:
            return self._error(404, "invalid_request_error", f"{method} {path}: not found")
        batch = self.batches[found.group(1)]
        if method == "POST" and found.group(2):
            batch.canceled = True
            return _json(200, self._batch(batch))
        if method == "GET" and not found.group(2):
            batch.polls += 1
            return _json(200, self._batch(batch))
        return self._error(405, "invalid_request_error", f"{method} {path}")

    def _error(self, status: int, kind: str, message: str, param: str | None = None) -> Reply:
        return _json(status, {"error": {"message": message, "type": kind, "param": param,
                                        "code": None}})

    def _upload(self, headers: Mapping[str, str], body: bytes) -> Reply:
        boundary = re.search(r"boundary=([^;]+)", headers.get("content-type", ""))
        if boundary is None:
            return self._error(400, "invalid_request_error", "expected multipart/form-data")
        fields: dict[str, tuple[str, bytes]] = {}
        for part in body.split(b"--" + boundary.group(1).encode()):
            head, _, content = part.partition(b"\r\n\r\n")
            name = re.search(rb'name="([^"]+)"', head)
            if name is None:
                continue
            filename = re.search(rb'filename="([^"]+)"', head)
            fields[name.group(1).decode()] = (filename.group(1).decode() if filename else "",
                                              content.removesuffix(b"\r\n"))
        if fields.get("purpose", ("", b""))[1] != b"batch" or "file" not in fields:
            return self._error(400, "invalid_request_error", "purpose must be batch")
        file_id = f"file-{len(self.files) + 1:02d}stub"
        self.files[file_id] = fields["file"]
        return _json(200, self._file(file_id, "batch"))

    def _file(self, file_id: str, purpose: str) -> dict[str, Any]:
        name, content = self.files[file_id]
        return {"id": file_id, "object": "file", "bytes": len(content),
                "created_at": 1746351000, "expires_at": None, "filename": name,
                "purpose": purpose, "status": "processed", "status_details": None}

    def _status(self, batch: _Batch) -> str:
        if batch.canceled:
            return "cancelled" if batch.polls >= 1 else "cancelling"
        steps = ["validating", "in_progress", "finalizing"]
        if batch.polls >= self.polls:
            return self.end
        return steps[min(batch.polls, len(steps) - 1)]

    def _invalid_lines(self, batch: _Batch) -> list[dict[str, Any]]:
        seen: set[str] = set()
        errors = []
        for number, line in enumerate(batch.requests, 1):
            if line.get("method") != "POST" or line.get("url") != "/v1/chat/completions":
                errors.append({"code": "invalid_url", "line": number, "param": "url",
                               "message": "the url must be /v1/chat/completions"})
            if line.get("custom_id") in seen:
                errors.append({"code": "duplicate_custom_id", "line": number,
                               "param": "custom_id", "message": "custom_id is not unique"})
            seen.add(str(line.get("custom_id")))
        return errors

    def _batch(self, batch: _Batch) -> dict[str, Any]:
        status = self._status(batch)
        invalid = self._invalid_lines(batch)
        if invalid or status == "failed":
            status = "failed"
        ended = status in ("completed", "expired", "cancelled", "failed")
        total = len(batch.requests) if status != "failed" else 0
        ran = [r for r in batch.requests if self._outcome(batch, r, status) == "ran"]
        failed = [r for r in ran if _marker(json.dumps(r["body"]["messages"][-1])) == "error"]
        if ended and status != "failed" and "output_file_id" not in batch.extra:
            self._write_files(batch, status)
        return {
            "id": batch.id, "object": "batch", "endpoint": batch.extra["endpoint"],
            "errors": {"object": "list", "data": invalid or [
                {"code": "failed", "line": None, "param": None,
                 "message": "the input file was refused"}]} if status == "failed" else None,
            "input_file_id": batch.extra["input_file_id"], "completion_window": "24h",
            "status": status, "output_file_id": batch.extra.get("output_file_id"),
            "error_file_id": batch.extra.get("error_file_id"), "created_at": 1746351000,
            "in_progress_at": 1746351005 if batch.polls else None, "expires_at": 1746437400,
            "finalizing_at": 1746351600 if ended else None,
            "completed_at": 1746351660 if status == "completed" else None,
            "failed_at": 1746351010 if status == "failed" else None,
            "expired_at": 1746437400 if status == "expired" else None,
            "cancelling_at": 1746351100 if batch.canceled else None,
            "cancelled_at": 1746351200 if status == "cancelled" else None,
            "request_counts": {"total": total,
                               "completed": len(ran) - len(failed) if ended else 0,
                               "failed": len(failed) if ended else 0},
            "metadata": None, "model": self.model,
            "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0,
                      "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}} if ended else None,
        }

    def _outcome(self, batch: _Batch, line: Mapping[str, Any], status: str) -> str:
        marker = _marker(json.dumps(line["body"]["messages"][-1]))
        if marker == "expire" or (status == "expired" and marker != ""):
            return "batch_expired"
        if marker == "cancel" or status == "cancelled":
            return "batch_cancelled"
        return "ran"

    def _write_files(self, batch: _Batch, status: str) -> None:
        output, errors = [], []
        for number, line in enumerate(reversed(batch.requests), 1):
            outcome = self._outcome(batch, line, status)
            entry: dict[str, Any] = {"id": f"batch_req_{number:04d}", "custom_id":
                                     line["custom_id"], "response": None, "error": None}
            if outcome != "ran":
                entry["error"] = {
                    "code": outcome, "message": (
                        "This request could not be executed before the completion window "
                        "expired." if outcome == "batch_expired" else
                        "This request was not executed because the batch was cancelled.")}
                errors.append(entry)
            elif _marker(json.dumps(line["body"]["messages"][-1])) == "error":
                entry["response"] = {"status_code": 400, "request_id": f"req_err{number}",
                                     "body": {"error": {
                                         "message": "the test asked for an error",
                                         "type": "invalid_request_error", "param": "messages",
                                         "code": None}}}
                errors.append(entry)
            else:
                entry["response"] = {"status_code": 200, "request_id": f"req_ok{number}",
                                     "body": self._completion(line["body"], live=False)}
                output.append(entry)
        for kind, lines in (("output_file_id", output), ("error_file_id", errors)):
            if lines:
                file_id = f"file-{len(self.files) + 1:02d}stub"
                self.files[file_id] = (f"{batch.id}_{kind.split('_')[0]}.jsonl", (
                    "\n".join(json.dumps(e) for e in lines) + "\n").encode())
                batch.extra[kind] = file_id

    def _completion(self, body: Mapping[str, Any], *, live: bool) -> dict[str, Any]:
        fmt = body.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("schema") or fmt.get("schema")
        last = json.dumps(body.get("messages", [{}])[-1])
        text = ("this is not JSON" if _marker(last) == "invalid" and not live
                else self.answer(body) if self.answer is not None
                else _example(schema, at_least_one=False))
        prompt = max(len(json.dumps(body.get("messages"))) // 4, 1)
        return {"id": "chatcmpl-Stub", "object": "chat.completion", "created": 1746351300,
                "model": self.model, "choices": [{
                    "index": 0, "message": {"role": "assistant", "content": text,
                                            "refusal": None, "annotations": []},
                    "logprobs": None, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": max(len(text) // 4, 1),
                          "total_tokens": prompt + max(len(text) // 4, 1),
                          "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                          "completion_tokens_details": {
                              "reasoning_tokens": 0, "audio_tokens": 0,
                              "accepted_prediction_tokens": 0,
                              "rejected_prediction_tokens": 0}},
                "service_tier": "default", "system_fingerprint": "fp_stub"}


def handler(stub: AnthropicStub | OpenAIStub, library: str = "httpx"
            ) -> Callable[[Any], Any]:
    """``stub`` as a scripted server's reply (``ScriptedServer(default=handler(stub))``): a
    function of an ``httpx`` (or ``httpx2``) request returning that library's response."""
    import importlib

    lib = importlib.import_module(library)

    def answer(request: Any) -> Any:
        status, headers, body = stub.handle(request.method, request.url.path,
                                            dict(request.headers), request.content)
        return lib.Response(status, headers=headers, content=body)

    return answer
