"""A loopback model server that misbehaves on request: it answers like OpenAI's chat API
(``POST /v1/chat/completions``, ``GET /v1/models``), Anthropic's Messages API
(``POST /v1/messages``) and Ollama's (``POST /api/chat``, ``GET /api/tags``), and can answer
late, stall, or inject faults, for the transport benchmark and the pool regression tests.

Behaviour is one :class:`Mode`, set in process (``server.mode = Mode(...)``) or over HTTP
(``POST /__mode`` with the fields as JSON); ``GET /__stats`` reports what it saw. Faults, each
with the body and headers the real APIs send:

* ``500`` (``server_error``), ``503`` (overloaded), ``429`` (rate limited, ``retry-after: 0``);
* ``reset``: the connection is closed without an answer;
* ``truncate``: the answer cut off in its body, then the connection is closed;
* ``slow``: the answer comes ``slow_delay`` seconds late.

It is an :class:`asyncio.Protocol` rather than a stream server: per request it parses the head,
skips the body and writes a prebuilt answer, so at loopback speed the clients' costs, not the
server's, decide the figures. As a process (the benchmark runs it so, on its own core)::

    python tools/fault_server.py --port-file PORT
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["ANSWER", "ANTHROPIC_BODY", "OLLAMA_BODY", "OPENAI_BODY", "FaultServer", "Mode", "main"]

ANSWER = json.dumps({"score": 7, "strengths": ["clear names"], "issues": [],
                     "suggestions": ["add tests"], "summary": "Readable, small, untested."})
OPENAI_BODY = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1751990000,
    "model": "gpt-4.1-mini-2025-04-14",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER,
                                         "refusal": None, "annotations": []},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 420, "completion_tokens": 60, "total_tokens": 480},
}).encode()
OLLAMA_BODY = json.dumps({
    "model": "llama3.2", "created_at": "2025-07-01T10:00:00.000000Z",
    "message": {"role": "assistant", "content": ANSWER}, "done_reason": "stop", "done": True,
    "total_duration": 1000000, "load_duration": 100000, "prompt_eval_count": 420,
    "prompt_eval_duration": 500000, "eval_count": 60, "eval_duration": 400000,
}).encode()
ANTHROPIC_BODY = json.dumps({
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
    "model": "claude-sonnet-4-5-20250929", "content": [{"type": "text", "text": ANSWER}],
    "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 420, "output_tokens": 60, "cache_creation_input_tokens": 0,
              "cache_read_input_tokens": 0, "service_tier": "standard"},
}).encode()
_MODELS = json.dumps({"object": "list", "data": [
    {"id": "gpt-4.1-mini", "object": "model", "created": 1744316542, "owned_by": "system"}],
}).encode()
_TAGS = json.dumps({"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest"}]}).encode()


def _error(message: str, kind: str, code: str | None) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "param": None,
                                 "code": code}}).encode()


# status, body, extra headers
_FAULTS: dict[str, tuple[int, bytes, bytes]] = {
    "500": (500, _error("The server had an error while processing your request.",
                        "server_error", None), b""),
    "503": (503, _error("The engine is currently overloaded, please try again later.",
                        "server_error", None), b""),
    "429": (429, _error("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
            b"retry-after: 0\r\nx-ratelimit-remaining-requests: 0\r\n"),
}
_REASONS = {200: b"OK", 404: b"Not Found", 429: b"Too Many Requests",
            500: b"Internal Server Error", 503: b"Service Unavailable"}


def _response(status: int, body: bytes, extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n"
            % (status, _REASONS[status], len(body), extra)) + body


_OK = {b"/api/chat": _response(200, OLLAMA_BODY), b"/v1/messages": _response(
    200, ANTHROPIC_BODY, b"request-id: req_011CSHoEeqs5C35K2UUqR7Fy\r\n")}
_OK_OPENAI = _response(200, OPENAI_BODY)


@dataclass
class Mode:
    """How the server answers. ``delay``: seconds before every answer (a stalled or slow
    model); ``fault_rate``: share of requests answered with a fault drawn from ``faults``;
    ``slow_delay``: how late a ``slow`` fault answers."""

    delay: float = 0.0
    fault_rate: float = 0.0
    faults: list[str] = field(default_factory=lambda: ["500", "503", "429", "reset", "slow"])
    slow_delay: float = 2.0
    seed: int = 1


@dataclass
class Stats:
    connections: int = 0
    requests: int = 0
    answered: int = 0
    in_progress: int = 0
    faults: dict[str, int] = field(default_factory=dict)


class _Connection(asyncio.Protocol):
    def __init__(self, server: FaultServer) -> None:
        self.server = server
        self.buffer = b""
        self.skip = 0  # body bytes of the current request still to come
        self.head: tuple[bytes, bytes] = (b"", b"")  # its method and path
        self.transport: asyncio.Transport | None = None
        self.pending: list[asyncio.TimerHandle] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.stats.connections += 1
        self.server.open.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        for handle in self.pending:
            if not handle.cancelled():
                handle.cancel()
                self.server.stats.in_progress -= 1
        self.pending.clear()
        self.transport = None
        self.server.open.discard(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.skip:
                taken = min(self.skip, len(self.buffer))
                self.buffer = self.buffer[taken:]
                self.skip -= taken
                if self.skip:
                    return
                self._answer(*self.head)
                continue
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buffer = self.buffer[:end], self.buffer[end + 4:]
            line, _, rest = head.partition(b"\r\n")
            method, path = line.split(b" ", 2)[:2]
            length = 0
            for header in rest.split(b"\r\n"):
                name, _, value = header.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            self.head = (method, path)
            if path == b"/__mode":  # needs its body
                if len(self.buffer) < length:
                    self.buffer = head + b"\r\n\r\n" + self.buffer
                    return
                body, self.buffer = self.buffer[:length], self.buffer[length:]
                self.server.mode = Mode(**json.loads(body))
                self.server.rng = random.Random(self.server.mode.seed)
                self._write(_response(200, b"{}"))
                continue
            self.skip = length
            if not self.skip:
                self._answer(method, path)

    def _answer(self, method: bytes, path: bytes) -> None:
        server = self.server
        if path == b"/__stats":
            self._write(_response(200, json.dumps(asdict(server.stats)).encode()))
            return
        if method == b"GET":
            self._write(_response(200, _TAGS if path == b"/api/tags" else _MODELS))
            return
        server.stats.requests += 1
        mode, rng = server.mode, server.rng
        ok = _OK.get(path, _OK_OPENAI)
        delay, answer = mode.delay, ok
        if mode.fault_rate and rng.random() < mode.fault_rate:
            fault = rng.choice(mode.faults)
            server.stats.faults[fault] = server.stats.faults.get(fault, 0) + 1
            if fault == "reset":
                assert self.transport is not None
                self.transport.abort()
                return
            if fault == "slow":
                delay += mode.slow_delay
            elif fault == "truncate":
                assert self.transport is not None
                self.transport.write(ok[:len(ok) - len(ok) // 4])  # the body's last quarter
                self.transport.close()
                return
            else:
                answer = _response(*_FAULTS[fault])
        if delay <= 0:
            self._write(answer)
            server.stats.answered += 1
            return
        server.stats.in_progress += 1
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle | None = None

        def later() -> None:
            server.stats.in_progress -= 1
            if handle in self.pending:
                self.pending.remove(handle)
            self._write(answer)
            server.stats.answered += 1

        handle = loop.call_later(delay, later)
        self.pending.append(handle)

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


class FaultServer:
    """The server on a free loopback port: ``async with FaultServer() as server:``, then
    ``server.url`` (``http://127.0.0.1:PORT``) and ``server.mode = Mode(delay=5)``."""

    def __init__(self, mode: Mode | None = None) -> None:
        self.mode = mode if mode is not None else Mode()
        self.rng = random.Random(self.mode.seed)
        self.stats = Stats()
        self.open: set[_Connection] = set()
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FaultServer:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), "127.0.0.1", 0,
                                                backlog=2048)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            for connection in list(self.open):
                if connection.transport is not None:
                    connection.transport.abort()
            await self._server.wait_closed()

    async def __aenter__(self) -> FaultServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def mode_body(**changes: Any) -> bytes:
    """The JSON ``POST /__mode`` takes: the defaults with ``changes``."""
    known = {f.name for f in fields(Mode)}
    unknown = set(changes) - known
    if unknown:
        raise TypeError(f"unknown mode fields: {sorted(unknown)}")
    return json.dumps(asdict(Mode(**changes))).encode()


async def _serve(port_file: Path) -> None:
    server = await FaultServer().start()
    partial = port_file.with_suffix(".partial")
    partial.write_text(str(server.port))
    partial.replace(port_file)  # whole or absent: the reader never sees half a number
    await asyncio.Event().wait()  # until the parent terminates this process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port-file", type=Path, required=True,
                        help="written with the port once the server listens")
    asyncio.run(_serve(parser.parse_args().port_file))


if __name__ == "__main__":
    main()
