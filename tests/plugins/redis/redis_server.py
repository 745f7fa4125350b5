"""A real ``redis-server`` on a free loopback port, started and stopped by the tests.

No data is written to disk (``--save '' --appendonly no``). The server can be killed and
started again on the same port, or paused (SIGSTOP) to look like a Redis that stopped answering.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["RedisServer", "free_port", "redis_server_binary"]

_READY_TIMEOUT = 10.0


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


def free_port(*, cluster: bool = False) -> int:
    """A loopback port nobody listens on now (redis-server cannot pick one itself). A cluster
    node also needs its bus port, 10000 higher, so its own must be at most 55535."""
    if not cluster:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])
    for port in random.sample(range(20000, 55536), 200):
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


def command(address: tuple[str, int] | str, *args: str, password: str | None = None,
            timeout: float = 1.0) -> bytes:
    """Send one command in RESP and return the raw reply (no client library involved)."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(address)
        for cmd in ([("AUTH", password)] if password else []) + [args]:
            parts = [f"*{len(cmd)}\r\n".encode()]
            for a in cmd:
                data = a.encode()
                parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
            s.sendall(b"".join(parts))
            reply = s.recv(65536)
        return reply


class RedisServer:
    """One ``redis-server`` process.

    :param extra: more ``--option value`` arguments (``--requirepass``, ``--cluster-enabled``).
    :param config: a config file's text instead of arguments (Sentinel needs one).
    """

    def __init__(self, workdir: Path, *, port: int | None = None, extra: tuple[str, ...] = (),
                 config: str | None = None, sentinel: bool = False,
                 password: str | None = None, unixsocket: Path | None = None) -> None:
        binary = redis_server_binary()
        assert binary is not None
        self.binary = binary
        self.workdir = workdir
        self.port = port if port is not None else free_port()
        self.extra = extra
        self.config = config
        self.sentinel = sentinel
        self.password = password
        self.unixsocket = unixsocket
        self.proc: subprocess.Popen[bytes] | None = None
        self.paused = False
        self.log = workdir / f"redis-{self.port}.log"

    @property
    def url(self) -> str:
        if self.unixsocket is not None:
            return f"unix://{self.unixsocket}"
        creds = f":{self.password}@" if self.password else ""
        return f"redis://{creds}127.0.0.1:{self.port}/0"

    @property
    def address(self) -> tuple[str, int] | str:
        return str(self.unixsocket) if self.unixsocket is not None else ("127.0.0.1", self.port)

    def start(self) -> RedisServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.config is not None:
            conf = self.workdir / f"redis-{self.port}.conf"
            conf.write_text(self.config)
            args = [self.binary, str(conf)] + (["--sentinel"] if self.sentinel else [])
        else:
            args = [self.binary, "--bind", "127.0.0.1",
                    "--port", "0" if self.unixsocket is not None else str(self.port),
                    "--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
            if self.unixsocket is not None:
                args += ["--unixsocket", str(self.unixsocket), "--unixsocketperm", "700"]
            if self.password:
                args += ["--requirepass", self.password]
            args += list(self.extra)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.workdir)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        """Until PING answers PONG (or fail with the server's log)."""
        deadline = time.monotonic() + _READY_TIMEOUT
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log.read_text()[-2000:]}")
            try:
                if b"PONG" in command(self.address, "PING", password=self.password):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server not ready: {self.log.read_text()[-2000:]}")
            time.sleep(0.01)

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is flushed, no client is told."""
        if self.proc is not None and self.proc.poll() is None:
            if self.paused:
                self.resume()
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def pause(self) -> None:
        """The process stops answering; connections stay open (SIGSTOP)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.paused:
            self.resume()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
