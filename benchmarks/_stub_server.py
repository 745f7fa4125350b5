"""A minimal HTTP/1.1 keep-alive server on loopback that answers like OpenAI's and Ollama's chat
APIs, for benchmarks. It does as little as possible per request (so the clients' costs show),
and counts the TCP connections it accepts (``GET /__stats``).

    python benchmarks/_stub_server.py PORT
"""

from __future__ import annotations

import asyncio
import json
import sys

ANSWER = json.dumps({"score": 7, "strengths": ["clear names"], "issues": [],
                     "suggestions": ["add tests"], "summary": "Readable, small, untested."})
OPENAI = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1751990000,
    "model": "gpt-4.1-mini-2025-04-14",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER,
                                         "refusal": None, "annotations": []},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 420, "completion_tokens": 60, "total_tokens": 480},
}).encode()
OLLAMA = json.dumps({
    "model": "llama3.2", "created_at": "2025-07-01T10:00:00.000000Z",
    "message": {"role": "assistant", "content": ANSWER}, "done_reason": "stop", "done": True,
    "total_duration": 1000000, "load_duration": 100000, "prompt_eval_count": 420,
    "prompt_eval_duration": 500000, "eval_count": 60, "eval_duration": 400000,
}).encode()

connections = 0


def _response(body: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    global connections
    connections += 1
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, _, rest = head.partition(b"\r\n")
            length = 0
            for line in rest.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            path = request_line.split(b" ")[1]
            if path.endswith(b"/chat/completions"):
                writer.write(_response(OPENAI))
            elif path == b"/api/chat":
                writer.write(_response(OLLAMA))
            elif path == b"/__stats":
                writer.write(_response(json.dumps({"connections": connections}).encode()))
            else:
                writer.write(_response(b'{"models": [], "data": []}'))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
