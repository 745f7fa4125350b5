"""A minimal HTTP/1.1 keep-alive server on loopback that answers like OpenAI's and Ollama's chat
APIs, for benchmarks. It does as little as possible per request (so the clients' costs show),
and counts the TCP connections it accepts (``GET /__stats``).

    python benchmarks/_stub_server.py PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

# The bodies the fault server answers with (tools/fault_server.py): one copy of each.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.fault_server import OLLAMA_BODY as OLLAMA
from tools.fault_server import OPENAI_BODY as OPENAI

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
