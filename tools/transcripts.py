"""The manual's CLI transcripts, regenerated from the real CLI (``docgen.py --transcripts``).

A transcript is a ``console`` block of ``$ command`` lines, each followed by what the command
printed (standard output and error, as a terminal shows them) and ``[exit N]``. Each page runs in
one :class:`~tools.docs_session.Session`, in page order, as a reader would go through it:

- ``bash`` blocks run first where they stand, visible or hidden in
  ``<!-- invisible-code-block: bash ... -->`` (Sybil's directive): they prepare files, a git
  repository, variables; ``cd`` and ``export`` carry over;
- a block right after ``<!-- transcript: file NAME -->`` is saved as ``NAME`` (``$ python
  team.py`` runs the python block above it);
- a block after ``<!-- skip: next "..." -->`` is neither run nor regenerated.

An output the author cut ends with a line ``...``: the regenerated output keeps as many lines.
Figures that differ from run to run (milliseconds, seconds, rates, a clock) and the width of
frames do not count as drift: a block is rewritten only when something else changed, so a
rerun leaves the pages alone.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tools.docs_session import ANTHROPIC_STUB, COLUMNS, ROOT, Session, pages

__all__ = ["Block", "check_installation", "main", "normalise", "parse", "regenerate"]

#: What the transcripts' pages say is installed ("a machine with aexy-core, aexy-claude,
#: aexy-ollama and aexy-openai installed"): ``tox -e examples`` installs exactly these.
INSTALLED = frozenset({"aexy-core", "aexy-claude", "aexy-ollama", "aexy-openai"})

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")
_DIRECTIVE = re.compile(r"^<!--\s*(?P<name>[\w-]+):\s*(?P<args>.*?)\s*(?:-->)?$")
_VOLATILE = [re.compile(p) for p in (
    r"\d+(?:\.\d+)?(?:e-?\d+)? ?ms\b",          # latencies
    r"\d+\.\d+ s\b",                             # elapsed seconds
    r"\d+(?:\.\d+)? files/s",                    # rates
    r"\d+:\d\d:\d\d",                            # a progress bar's clock
    r'"(?:latency_ms|rate_limit_wait_ms)": [\d.e-]+',
    r"/tmp/aexy-docs-[\w]+/",                    # the session's own temporary folder
    r"(?:(?<=\bbatch-)|(?<=\bprofile-))[0-9a-f]{12}\b",  # a job name's hash of absolute paths
)]
_LAYOUT = re.compile(r"[\s─━]+")
_PROGRESS = re.compile(r"━+.* \d+/\d+ ")


@dataclass
class Block:
    """A fenced block of a page: where it is, what it holds, and the directives before it."""

    start: int  # index of the opening fence line
    end: int  # index of the closing fence line
    info: str
    body: list[str]
    directives: list[tuple[str, str]] = field(default_factory=list)
    hidden: bool = False  # an invisible-code-block

    @property
    def language(self) -> str:
        return self.info.split()[0] if self.info.split() else ""

    @property
    def skipped(self) -> bool:
        return any(name == "skip" for name, _ in self.directives)

    @property
    def saved_as(self) -> str | None:
        for name, args in self.directives:
            if name == "transcript" and args.startswith("file "):
                return args.removeprefix("file ").strip()
        return None


def parse(lines: Sequence[str]) -> Iterator[Block]:
    """The fenced blocks of a page (and its hidden bash blocks), in order."""
    pending: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = _DIRECTIVE.match(line.strip())
        if directive and directive["name"] == "invisible-code-block":
            body, j = [], i + 1
            while j < len(lines) and lines[j].strip() != "-->":
                body.append(lines[j])
                j += 1
            yield Block(i, j, directive["args"], body, pending, hidden=True)
            pending, i = [], j + 1
            continue
        if directive:
            pending.append((directive["name"], directive["args"]))
            i += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            j = i + 1
            closing = re.compile(rf"^{re.escape(fence['indent'])}{fence['fence'][0]}"
                                 rf"{{{len(fence['fence'])},}}\s*$")
            while j < len(lines) and not closing.match(lines[j]):
                j += 1
            yield Block(i, j, fence["info"].strip(), list(lines[i + 1:j]), pending)
            pending, i = [], j + 1
            continue
        if line.strip():
            pending = []  # a directive applies to the block right after it
        i += 1


def _commands(body: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``(command, output lines as shown)`` for each ``$`` line of a transcript."""
    found: list[tuple[str, list[str]]] = []
    for line in body:
        if line.startswith("$ "):
            found.append((line[2:], []))
        elif found:
            found[-1][1].append(line)
    return found


def normalise(lines: Sequence[str]) -> str:
    """What counts when comparing outputs: the text without run-to-run figures or layout."""
    text = "\n".join(lines)
    for pattern in _VOLATILE:
        text = pattern.sub("#", text)
    return _LAYOUT.sub("", text)


def _render(command: str, output: str, status: int, shown: list[str]) -> list[str]:
    lines = [line.rstrip() for line in output.rstrip("\n").split("\n")] if output.strip() else []
    # A progress bar that rich draws once, finished (not interactive), is followed by a blank
    # line that an interactive terminal does not show (there the bar is redrawn in place, or
    # erased when transient): drop it.
    while lines and not lines[0]:
        lines.pop(0)
    lines = [line for i, line in enumerate(lines)
             if line or not (i and _PROGRESS.search(lines[i - 1]))]
    if shown and shown[-1].strip() == "...":  # the author cut the output here
        keep = len(shown) - 1
        lines = [*lines[:keep], "..."] if len(lines) > keep else lines
        return [f"$ {command}", *lines]
    return [f"$ {command}", *lines, f"[exit {status}]"]


@dataclass
class Drift:
    page: Path
    line: int
    command: str
    expected: list[str]
    actual: list[str]


def regenerate(page: Path, *, write: bool) -> list[Drift]:
    """Run ``page``'s session; return the transcripts that drifted (rewritten if ``write``)."""
    lines = page.read_text(encoding="utf-8").split("\n")
    drifts: list[Drift] = []
    replacements: list[tuple[int, int, list[str]]] = []
    blocks = list(parse(lines))
    if not any(b.language == "console" and not b.skipped for b in blocks):
        return drifts
    from tools.loopback_stubs import StubServer

    with Session.create() as session, StubServer("anthropic") as anthropic:
        session.env[ANTHROPIC_STUB] = anthropic.url
        for block in blocks:
            if block.skipped:
                continue
            if block.saved_as:
                session.write(block.saved_as, "\n".join(block.body) + "\n")
            if block.language == "bash":
                proc = session.run_script("\n".join(block.body))
                if proc.returncode != 0:
                    raise RuntimeError(f"{page}:{block.start + 1}: the bash block exited "
                                       f"{proc.returncode}: {proc.stderr.strip()}")
            if block.language != "console" or block.hidden:
                continue
            new: list[str] = []
            changed = False
            for command, shown in _commands(block.body):
                run = session.run_in_terminal(command, columns=COLUMNS)
                fresh = _render(command, run.output, run.status, shown)
                old = [f"$ {command}", *shown]
                if normalise(fresh) != normalise(old):
                    changed = True
                    drifts.append(Drift(page, block.start + 1, command, old, fresh))
                    new += fresh
                else:
                    new += old  # the same but for run-to-run figures: keep the page as it is
            if changed:
                replacements.append((block.start + 1, block.end, new))
    if write and replacements:
        for start, end, new in reversed(replacements):
            lines[start:end] = new
        page.write_text("\n".join(lines), encoding="utf-8")
    return drifts


def check_installation() -> str | None:
    """Why this interpreter cannot produce the transcripts the pages describe, or ``None``."""
    from importlib.metadata import distributions

    found = {d.metadata["Name"].lower() for d in distributions()
             if (d.metadata["Name"] or "").lower().startswith("aexy-")}
    if found != INSTALLED:
        return (f"the pages' transcripts are captured with {', '.join(sorted(INSTALLED))} "
                f"installed and nothing else; here: {', '.join(sorted(found)) or 'none'}. "
                "Run: tox -e examples -- (or tox exec -e examples -- python tools/docgen.py "
                "--transcripts write)")
    return None


def main(mode: str, chosen: Sequence[Path] = ()) -> int:
    problem = check_installation()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    drifted = 0
    for page in chosen or pages():
        for drift in regenerate(page.resolve(), write=mode == "write"):
            drifted += 1
            where = drift.page.relative_to(ROOT) if drift.page.is_relative_to(ROOT) else drift.page
            print(f"{where}:{drift.line}: $ {drift.command}", file=sys.stderr)
            if mode == "check":
                import difflib

                sys.stderr.writelines(difflib.unified_diff(
                    [f"{x}\n" for x in drift.expected], [f"{x}\n" for x in drift.actual],
                    "in the page", "from the CLI", n=1))
    if drifted and mode == "check":
        print(f"{drifted} transcript(s) differ from the real CLI; run: tox exec -e examples -- "
              "python tools/docgen.py --transcripts write", file=sys.stderr)
        return 1
    if drifted:
        print(f"rewrote {drifted} transcript(s)", file=sys.stderr)
    return 0
