"""``aexy batch``: JSONL per file, failures recorded and survived, resume, summary, exit code."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, ClassVar

from aexy import LLMError
from aexy.cli.batch import collect_files, finished_paths
from aexy.completion import Completion, CompletionRequest
from aexy.testing import FakeProvider, install_fake_provider


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _tree(root: Path) -> Path:
    src = root / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "app.py").write_text("import fastapi\n\ndef ok() -> int:\n    return 1\n")
    (src / "pkg" / "util.js").write_text("const express = require('express');\n")
    (src / "pkg" / "empty.py").write_text("\n")
    (src / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    (src / ".hidden").mkdir()
    (src / ".hidden" / "secret.py").write_text("x = 1\n")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\x00")
    return src


def test_collect_files_skips_hidden_and_cache_dirs_and_dedupes(tmp_path):
    src = _tree(tmp_path)
    everything = collect_files([str(src)], [])
    assert everything == sorted(everything, key=lambda p: sorted(everything).index(p))
    assert {Path(p).name for p in everything} == {"app.py", "util.js", "empty.py", "logo.png"}
    only_py = collect_files([str(src), str(src / "app.py")], ["*.py"])
    assert [Path(p).name for p in only_py] == ["app.py", "empty.py"]
    excluded = collect_files([str(src)], ["*.py"], exclude=src / "app.py")
    assert [Path(p).name for p in excluded] == ["empty.py"]


def test_empty_files_are_skipped_and_listed_failures_recorded_then_resumed(cli, runner,
                                                                          tmp_path):
    src = _tree(tmp_path)
    (src / "pkg" / "py.typed").write_text("")
    out = tmp_path / "results.jsonl"
    first = runner.invoke(cli, ["batch", "skill_extraction", str(src), "-o", str(out)])
    # Empty files (an __init__.py, a py.typed marker) have nothing to analyse: skipped and
    # listed, not failed, so the run succeeds.
    assert first.exit_code == 0, first.output
    records = {Path(r["path"]).name: r for r in _lines(out)}
    # logo.png is not text: skipped and counted, never sent to a provider.
    assert set(records) == {"app.py", "util.js"}
    assert records["app.py"]["result"]["language"] == "Python"
    assert records["app.py"]["provenance"]["provider"] == "offline"
    assert records["util.js"]["result"]["frameworks"] == ["Express"]
    summary = first.stderr
    assert "batch summary" in summary
    assert _summary_count(summary, "skipped (not text)") == 1
    assert _summary_count(summary, "skipped (empty)") == 2
    assert _summary_count(summary, "failed") == 0
    assert _summary_count(summary, "files") == 5
    listed = " ".join(summary.split())  # the list may wrap at the console's width
    assert "skipped, empty:" in listed
    assert str(src / "pkg" / "empty.py") in listed.replace(" ", "")

    # Re-run: the two finished files are skipped; the empty one, now filled, is analysed.
    (src / "pkg" / "empty.py").write_text("def now_filled():\n    return 2\n")
    second = runner.invoke(cli, ["batch", "skill_extraction", str(src), "-o", str(out)])
    assert second.exit_code == 0, second.output
    new = _lines(out)[2:]
    assert [Path(r["path"]).name for r in new] == ["empty.py"]
    assert _summary_count(second.stderr, "skipped (already in output)") == 2
    assert finished_paths(out) == {str(src / "app.py"), str(src / "pkg" / "util.js"),
                                   str(src / "pkg" / "empty.py")}

    # A file named directly is the caller's choice: taken, and refused as binary (no
    # --encoding hint: no encoding makes an image text); the failure is recorded, exit 1.
    third = runner.invoke(cli, ["batch", "skill_extraction", str(src / "logo.png"),
                                str(src / "app.py"), "-o", str(out), "--no-cache"])
    assert third.exit_code == 1
    (last,) = _lines(out)[3:]
    assert last["error"]["code"] == "invalid_input"
    assert last["error"]["message"] == (
        f"{src / 'logo.png'} is a binary file, not text (a NUL byte at offset 10); aexy "
        "analyses source code and other text")
    assert "--encoding" not in last["error"]["message"]
    assert _summary_count(third.stderr, "failed") == 1


def _summary_count(stderr: str, label: str) -> int:
    """The number on the summary table's row ``label``."""
    for line in stderr.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == 2 and cells[0] == label:
            return int(cells[1])
    raise AssertionError(f"no {label!r} row in:\n{stderr}")


def test_jsonl_goes_to_stdout_without_output_and_provider_errors_keep_going(
        cli, runner, tmp_path):
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text(f"# {name}\nx = 1\n")

    def reply(request: CompletionRequest) -> str:
        if "b.py" in request.messages[0].content:
            raise LLMError("the model refused", code="bad_request", provider="fake")
        from aexy.schema import example_from_schema

        return json.dumps(example_from_schema(dict(request.json_schema)))

    FakeProvider.script = [reply] * 3
    result = runner.invoke(cli, ["batch", "skill_extraction", str(tmp_path), "-p", "fake",
                                 "-j", "1"])
    assert result.exit_code == 1
    records = {Path(r["path"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(records) == {"a.py", "b.py", "c.py"}
    assert records["b.py"]["error"]["code"] == "bad_request"
    assert "the model refused" in records["b.py"]["error"]["message"]
    assert "result" in records["a.py"] and "result" in records["c.py"]


def test_failed_files_table_shows_paths_and_messages_verbatim(cli, runner, tmp_path):
    # Square brackets in a path or an error message are data, not rich markup: neither the
    # "[bold]" in the path nor the "[budget_exceeded]" in the message may vanish.
    (tmp_path / "[bold]x.py").write_text("x = 1\n")

    def reply(request: CompletionRequest) -> str:
        raise LLMError("[budget_exceeded] spent [red]$2[/red]", code="bad_request",
                       provider="fake")

    FakeProvider.script = [reply]
    result = runner.invoke(cli, ["batch", "skill_extraction", str(tmp_path), "-p", "fake",
                                 "-j", "1", "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 1
    table = result.stderr[result.stderr.index("failed files"):]
    flat = " ".join(line.strip().strip("│").strip() for line in table.splitlines())
    assert "[bold]x.py" in flat
    assert "[budget_exceeded] spent [red]$2[/red]" in flat


class _Counting(FakeProvider):
    """Holds each call until ``limit`` calls were in flight together (or every call started),
    and records the largest number in flight: deterministic, with no timing involved."""

    name: ClassVar[str] = "counting"
    limit: ClassVar[int] = 3
    total: ClassVar[int] = 0
    started: ClassVar[int] = 0
    in_flight: ClassVar[int] = 0
    peak: ClassVar[int] = 0
    cond: ClassVar[asyncio.Condition | None] = None

    async def complete(self, request: CompletionRequest) -> Completion:
        cls = type(self)
        if cls.cond is None:
            cls.cond = asyncio.Condition()
        async with cls.cond:
            cls.started += 1
            cls.in_flight += 1
            cls.peak = max(cls.peak, cls.in_flight)
            cls.cond.notify_all()
            await cls.cond.wait_for(lambda: cls.peak >= cls.limit or cls.started == cls.total)
        cls.in_flight -= 1
        return await super().complete(request)


def test_concurrency_is_bounded(cli, runner, tmp_path, host):
    install_fake_provider(host, _Counting)
    _Counting.total = 8
    for i in range(8):
        (tmp_path / f"f{i}.py").write_text(f"x = {i}\n")
    result = runner.invoke(cli, ["batch", "skill_extraction", str(tmp_path), "-p", "counting",
                                 "-j", "3", "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    assert _Counting.peak == 3  # reached, never exceeded
    assert len(_lines(tmp_path / "out.jsonl")) == 8


def test_the_output_file_is_never_analysed_and_a_cut_line_is_ignored(cli, runner, tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    out = tmp_path / "out.jsonl"
    out.write_text('{"path": "' + str(tmp_path / "a.py") + '", "resu')  # interrupted write
    result = runner.invoke(cli, ["batch", "skill_extraction", str(tmp_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "a.py" in finished_paths(out).pop()
    assert all(Path(r["path"]).name == "a.py" for r in _lines_tolerant(out))


def _lines_tolerant(path: Path) -> list[dict[str, Any]]:
    found = []
    for line in path.read_text().splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def test_unknown_type_and_no_match_are_usage_errors(cli, runner, tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    assert runner.invoke(cli, ["batch", "nope", str(tmp_path)]).exit_code == 2
    nothing = runner.invoke(cli, ["batch", "skill_extraction", str(tmp_path), "-g", "*.rs"])
    assert nothing.exit_code == 2
    assert "no files matched" in nothing.stderr
