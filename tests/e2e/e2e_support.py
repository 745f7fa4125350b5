"""Helpers shared by the end-to-end tests and their fixtures."""

from __future__ import annotations

import socket
import subprocess
from dataclasses import dataclass

#: Small limits keep the run short: the 270M model makes ~5-15 tokens/s on two busy cores.
MAX_TOKENS = 256
MAX_ITEMS = 3
N_CTX = 4096


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    base_url: str
    model: str
    process: subprocess.Popen[bytes]
