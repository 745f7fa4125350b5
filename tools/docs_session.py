"""A shell session for the manual's examples: what a reader's terminal would be, made repeatable.

Used by the documented-example runner (``tests/docs_examples.py``, Sybil) and by the transcript
generator (``tools/docgen.py --transcripts``). Each document gets one session: a fresh directory
holding a copy of the folders the pages name (:data:`_COPIED`), a clean environment (no
``LLM_*``, ``AEXY_*`` or provider variables of the machine, a home of its own so the user cache
starts empty), and state that carries from one block to the next as in a shell: the working
directory and exported variables.

Commands shown as transcripts run in a pseudo-terminal of :data:`COLUMNS` columns, so their output
is what a terminal shows (rich and click measure the terminal); colours and cursor movement are
removed, and progress bars draw once, finished (``TTY_INTERACTIVE=0``).
"""

from __future__ import annotations

import errno
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ANTHROPIC_STUB", "COLUMNS", "PATTERNS", "ROOT", "Session", "TerminalRun",
           "clean_environment", "pages"]

ROOT = Path(__file__).resolve().parent.parent
#: The pages whose examples run and whose transcripts are checked: the README and the whole
#: manual, new pages included.
PATTERNS = ("README.md", "docs/*.md", "docs/*/*.md")
#: Folders of the repository copied into each session (README's quick start installs
#: ./core; docs/cli.md installs the test suite's fixture plugins).
_COPIED = ("examples", "core", "requirements", "tests/fixtures/plugins")
#: The width transcripts are captured at.
COLUMNS = 88
#: The variable holding the URL of the loopback stand-in of the Anthropic API (with Message
#: Batches, ``tools/batch_stubs.py``) that runs beside each page's session: docs/batch.md points
#: ``ANTHROPIC_BASE_URL`` at it, and says so.
ANTHROPIC_STUB = "DOCS_ANTHROPIC_STUB"
#: Variables of the machine that never reach a session (a developer's keys and settings).
_DROPPED = ("LLM_", "AEXY_", "OLLAMA_", "OPENAI_", "ANTHROPIC_", "CLAUDE_", "REDIS_",
            "LLAMACPP_", "EXAMPLE_", "ACME_", "COLUMNS", "LINES", "FORCE_COLOR", "NO_COLOR",
            "TTY_", "VIRTUAL_ENV", "PYTHON", "XDG_", "HOME")
#: CSI and OSC escape sequences (colours, cursor movement, hyperlinks).
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[=>]")


def pages() -> list[Path]:
    """Every page :data:`PATTERNS` names, in order."""
    return [page for pattern in PATTERNS for page in sorted(ROOT.glob(pattern))]


def clean_environment(home: Path) -> dict[str, str]:
    """The machine's environment without aexy's, the providers' and terminal settings, with
    the running interpreter's ``bin`` first on ``PATH`` (its ``aexy`` and ``python``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}
    bin_dir = str(Path(sys.executable).parent)
    env.update({
        "PATH": os.pathsep.join([bin_dir, env.get("PATH", os.defpath)]),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TERM": "xterm-256color",
        "NO_COLOR": "1",
        "TTY_INTERACTIVE": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    return env


@dataclass
class TerminalRun:
    """One command run in the session's terminal."""

    command: str
    output: str
    status: int


@dataclass
class Session:
    """A directory, an environment and a working directory, carried from block to block."""

    root: Path
    env: dict[str, str]
    cwd: Path
    _owned: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    @classmethod
    def create(cls, base: Path | None = None) -> Session:
        owned = None
        if base is None:
            owned = tempfile.TemporaryDirectory(prefix="aexy-docs-")
            base = Path(owned.name)
        root = base / "work"
        home = base / "home"
        home.mkdir(parents=True, exist_ok=True)
        for name in _COPIED:  # what the pages name relative to a checkout
            shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns(
                "__pycache__", "*.egg-info", ".*", "build", "dist"))
        return cls(root=root, env=clean_environment(home), cwd=root, _owned=owned)

    def close(self) -> None:
        if self._owned is not None:
            self._owned.cleanup()
            self._owned = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, name: str, text: str) -> Path:
        """A file in the working directory (``transcript: file NAME``)."""
        path = self.cwd / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def run_script(self, script: str, *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run ``script`` with ``bash -euo pipefail``; on success the directory it ended in and
        the variables it exported carry over to what runs next."""
        state = Path(tempfile.mkdtemp(prefix="aexy-docs-state-"))
        try:
            wrapped = (f"{script}\n"
                       f'pwd > {_quote(state / "cwd")}\n'
                       f'env -0 > {_quote(state / "env")}\n')
            proc = subprocess.run(["bash", "-euo", "pipefail", "-c", wrapped], cwd=self.cwd,
                                  env=self.env, capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=timeout, check=False)
            if proc.returncode == 0:
                self.cwd = Path((state / "cwd").read_text().strip())
                pairs = (item.partition("=") for item in
                         (state / "env").read_text().split("\0") if item)
                self.env = {k: v for k, _, v in pairs if k not in ("PWD", "OLDPWD", "SHLVL", "_")}
            return proc
        finally:
            shutil.rmtree(state, ignore_errors=True)

    def run_in_terminal(self, command: str, *, columns: int = COLUMNS,
                        timeout: float = 300) -> TerminalRun:
        """Run ``command`` (a shell line) with a pseudo-terminal of ``columns`` columns as its
        standard input, output and error; the output as a reader would see it."""
        import fcntl
        import pty
        import struct
        import termios

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
        env = {**self.env, "COLUMNS": str(columns)}
        proc = subprocess.Popen(["bash", "-o", "pipefail", "-c", command], cwd=self.cwd,
                                env=env, stdin=slave, stdout=slave, stderr=slave,
                                start_new_session=True)
        os.close(slave)
        chunks: list[bytes] = []
        try:
            while True:
                ready, _, _ = select.select([master], [], [], timeout)
                if not ready:
                    proc.kill()
                    raise TimeoutError(f"{command!r} gave no output for {timeout:g}s")
                try:
                    chunk = os.read(master, 65536)
                except OSError as exc:  # EIO: every process holding the terminal has ended
                    if exc.errno != errno.EIO:
                        raise
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            status = proc.wait(timeout=timeout)
        finally:
            os.close(master)
        text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
        text = _ESCAPES.sub("", text).replace("\r", "")
        return TerminalRun(command, text, status)


def _quote(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))
