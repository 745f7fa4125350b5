"""pytest plugin: every code block of README.md and docs/**/*.md runs as a reader would run it.

    pytest -p tests.docs_examples README.md docs        # tox -e examples

Built on Sybil (a well-kept runner of documentation examples): one pytest item per block, with
its file and line. Per document, one :class:`tools.docs_session.Session` (a fresh directory with
a copy of ``examples/``, a clean environment, a home of its own) holds the working directory and
the variables that carry from block to block, as in a shell:

- ``python`` blocks run in the document's namespace (a later block sees what an earlier one
  defined), as a script: top-level ``await`` is the SyntaxError it would be for a reader;
- ``bash`` blocks run with ``bash -euo pipefail``; ``cd`` and ``export`` carry over;
- ``json`` and ``toml`` blocks must parse;
- ``console`` blocks are transcripts: ``python tools/docgen.py --transcripts check``
  regenerates them from the real CLI (see there); ``text`` and ``markdown`` are not code.

Ollama examples run against the loopback Ollama stand-in of ``tools/loopback_stubs.py``
(``OLLAMA_BASE_URL`` points at it); python examples cannot reach the internet. A block that
needs what CI does not have (a paid API's key, another server, a GGUF model) carries the
marker ``<!-- skip: next "needs ..." -->``, and hidden set-up a reader need not see goes in
``<!-- invisible-code-block: python ... -->``: both are Sybil's own directives;
docs/development.md says how to use them.
"""

from __future__ import annotations

import json
import os
import tomllib
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sybil import Example, Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser
from tools.docs_session import ANTHROPIC_STUB, PATTERNS, ROOT, Session
from tools.loopback_stubs import StubServer

_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
_NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens there



def _sync(session: Session) -> None:
    """The process's environment and directory become the session's, for python blocks; and
    no python example reaches the internet, whatever a page exports: HTTP clients that honour
    the proxy variables (httpx, the SDKs) are sent to a closed loopback port. (Bash blocks keep
    the package index: the README's quick start installs ./core as a reader would.)"""
    os.environ.clear()
    os.environ.update(session.env)
    os.environ.update({name: _NOWHERE for name in _PROXIES})
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    os.chdir(session.cwd)


class ShellBlocks(CodeBlockParser):
    """``bash`` blocks: one script each, in the document's session."""

    language = "bash"

    def evaluate(self, example: Example) -> str | None:
        session: Session = example.namespace["__session__"]
        proc = session.run_script(str(example.parsed))
        _sync(session)
        if proc.returncode != 0:
            raise AssertionError(f"the block exited {proc.returncode}\n--- stdout\n{proc.stdout}"
                                 f"--- stderr\n{proc.stderr}")
        return None


def _parses(loader: Any) -> Any:
    def evaluate(example: Example) -> None:
        loader(str(example.parsed))

    return evaluate


def _setup(namespace: dict[str, Any]) -> None:
    stack = ExitStack()
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    stack.callback(os.chdir, saved_cwd)
    stack.callback(lambda: (os.environ.clear(), os.environ.update(saved_env)))
    session = stack.enter_context(Session.create())
    ollama = stack.enter_context(StubServer("ollama"))
    session.env["OLLAMA_BASE_URL"] = ollama.url
    # The Anthropic API's stand-in (with Message Batches), for the pages that say they use it.
    session.env[ANTHROPIC_STUB] = stack.enter_context(StubServer("anthropic")).url
    _sync(session)
    _fresh_plugin_host()
    stack.callback(_fresh_plugin_host)
    namespace["__session__"] = session
    namespace["__exit_stack__"] = stack


def _teardown(namespace: dict[str, Any]) -> None:
    namespace["__exit_stack__"].close()


def _fresh_plugin_host() -> None:
    from aexy.plugins import reset_plugin_host

    reset_plugin_host(None)  # the next use loads the plugins this environment allows


sybil = Sybil(
    parsers=[
        PythonCodeBlockParser(),
        ShellBlocks(),
        CodeBlockParser("json", _parses(json.loads)),
        CodeBlockParser("toml", _parses(tomllib.loads)),
        SkipParser(),
    ],
    path=str(ROOT),
    patterns=list(PATTERNS),
    setup=_setup,
    teardown=_teardown,
)

pytest_collect_file = sybil.pytest()
