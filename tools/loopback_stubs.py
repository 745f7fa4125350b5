"""Loopback stand-ins for model servers: an Ollama server (``/api/chat``, ``/api/tags``), the
Acme Models API of the example provider (``/v1/generate``, ``/v1/health``), and the Anthropic
and OpenAI APIs with their batch APIs (``tools/batch_stubs.py``).

Each answers a chat request with a schema-valid example built from the schema the request
carries (``aexy.schema.example_from_schema``), so an analysis through the real provider and
the real gateway completes. It listens on 127.0.0.1 only. Used by ``tools/check_packaging.py``
(as a process, with the fresh venv's Python) and by tests (in a thread)::

    python tools/loopback_stubs.py ollama --port-file PORT --log REQUESTS
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["StubServer", "main"]

Answer = tuple[int, dict[str, Any]]


def _example(schema: object) -> str:
    from aexy.schema import example_from_schema

    return json.dumps(example_from_schema(dict(schema) if isinstance(schema, dict) else {}))


def _ollama(method: str, path: str, body: dict[str, Any]) -> Answer:
    if method == "GET" and path == "/api/tags":
        model = {"name": "llama3.2:latest", "model": "llama3.2:latest", "size": 2019393189,
                 "modified_at": "2024-10-01T09:32:18.757212583-07:00",
                 "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
                 "details": {"format": "gguf", "family": "llama", "parameter_size": "3.2B",
                             "quantization_level": "Q4_K_M"}}
        return 200, {"models": [model]}
    if method == "POST" and path == "/api/chat":
        return 200, {
            "model": body.get("model", "llama3.2"),
            "created_at": "2024-12-06T00:46:58.265747Z",
            "message": {"role": "assistant", "content": _example(body.get("format"))},
            "done_reason": "stop", "done": True, "total_duration": 2254970291,
            "load_duration": 574751416, "prompt_eval_count": 412,
            "prompt_eval_duration": 1502000000, "eval_count": 96, "eval_duration": 175000000,
        }
    return 404, {"error": f"{method} {path}: not found"}


def _acme(method: str, path: str, body: dict[str, Any]) -> Answer:
    if method == "GET" and path == "/v1/health":
        return 200, {"status": "ok"}
    if method == "POST" and path == "/v1/generate":
        return 200, {"id": "gen_stub", "model": body.get("model", "acme-small"),
                     "output": _example(body.get("response_schema")), "stop_reason": "end",
                     "usage": {"input_tokens": 120, "output_tokens": 40}}
    return 404, {"error": {"code": "not_found", "message": f"{method} {path}"}}


APIS: dict[str, Callable[[str, str, dict[str, Any]], Answer]] = {"ollama": _ollama,
                                                                  "acme": _acme}


def _batch_api(name: str) -> Any:
    """The stateful stand-ins of ``tools/batch_stubs.py`` (with their batch APIs)."""
    try:
        from tools.batch_stubs import AnthropicStub, OpenAIStub
    except ImportError:  # run as a script: tools/ itself is on the path
        from batch_stubs import AnthropicStub, OpenAIStub  # type: ignore[no-redef]

    return AnthropicStub() if name == "anthropic" else OpenAIStub()


#: APIs whose stand-in keeps state (batches, files) and answers raw bodies.
STATEFUL = ("anthropic", "openai")


class StubServer:
    """One API on a free loopback port, served from a thread; ``requests`` lists
    ``"METHOD /path"`` in arrival order. ``anthropic`` and ``openai`` are the stand-ins of
    ``tools/batch_stubs.py`` (``stub`` is the object; pass one to set it up)."""

    def __init__(self, api: str, log: Path | None = None, *, stub: Any = None) -> None:
        self.stub = stub if stub is not None else _batch_api(api) if api in STATEFUL else None
        answer = APIS.get(api)
        stub = self.stub
        self.requests: list[str] = []
        requests, lock = self.requests, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                line = f"{self.command} {self.path}"
                with lock:
                    requests.append(line)
                    if log is not None:
                        with log.open("a") as f:
                            f.write(line + "\n")
                    if stub is not None:
                        headers = {k.lower(): v for k, v in self.headers.items()}
                        status, sent, data = stub.handle(self.command, self.path, headers, raw)
                    else:
                        assert answer is not None
                        try:
                            body = json.loads(raw) if raw else {}
                        except ValueError:
                            body = {}
                        status, payload = answer(self.command, self.path, body)
                        sent, data = {"content-type": "application/json"}, \
                            json.dumps(payload).encode()
                self.send_response(status)
                for name, value in sent.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return None  # quiet: the request log is ``requests``

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("api", choices=sorted([*APIS, *STATEFUL]))
    parser.add_argument("--port-file", type=Path, required=True,
                        help="written with the port once the server listens")
    parser.add_argument("--log", type=Path, help="one line per request")
    args = parser.parse_args()
    stub = StubServer(args.api, args.log)
    partial = args.port_file.with_suffix(".partial")
    partial.write_text(str(stub.port))
    partial.replace(args.port_file)  # whole or absent: the reader never sees half a number
    stub.httpd.serve_forever()  # until the parent terminates this process


if __name__ == "__main__":
    main()
