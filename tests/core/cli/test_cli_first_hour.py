"""Issue 28: the errors a newcomer meets in the first hour, each with its exit status and message
(the table in docs/cli.md: 0 done, 1 a failed analysis or error, 2 a usage error, 130
interrupted), and what the CLI shows around them."""

from __future__ import annotations

import json
import os
import py_compile
import signal
from pathlib import Path

import pytest

from aexy.cli.render import fit_path
from aexy.testing import FakeProvider

SKILLS = json.dumps({"language": "Python", "frameworks": [], "patterns": [], "complexity": 2,
                     "quality_indicators": [], "domains": []})


def _interrupt(request: object) -> str:
    """Ctrl-C while a provider call is in flight: SIGINT to this process, as a terminal sends
    it (asyncio.run turns it into a cancellation of the main task, then KeyboardInterrupt)."""
    os.kill(os.getpid(), signal.SIGINT)
    return SKILLS


# -- exit statuses --------------------------------------------------------------------------------

def test_an_unknown_provider_is_a_usage_error_from_the_option_and_from_the_variable(
        cli, runner, oauth_py, monkeypatch):
    by_option = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py), "-p", "olama"])
    assert by_option.exit_code == 2
    assert by_option.stderr.startswith("Usage: root analyze [OPTIONS] TYPE [FILE|-]")  # prog: aexy
    assert by_option.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for '-p' / '--provider': provider 'olama' is not available; "
        "installed providers: fake, offline. Did you mean 'ollama'? To add it: "
        "pip install aexy-ollama")
    monkeypatch.setenv("LLM_PROVIDER", "ofline")
    by_variable = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py)])
    assert by_variable.exit_code == 2
    assert by_variable.stderr.strip() == (
        "Error: provider 'ofline' is not available; installed providers: fake, offline. Did you "
        "mean 'offline'? Set LLM_PROVIDER to an installed provider.")


def test_an_unknown_type_is_a_usage_error(cli, runner, oauth_py):
    result = runner.invoke(cli, ["analyze", "skill_extraktion", str(oauth_py)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for 'TYPE': unknown analysis type 'skill_extraktion'. Did you mean "
        "'skill_extraction'? Run `aexy types` for the list.")


def test_an_unknown_provider_in_batch_is_a_usage_error_too(cli, runner, oauth_py):
    result = runner.invoke(cli, ["batch", "skill_extraction", str(oauth_py), "-p", "nope"])
    assert result.exit_code == 2
    assert "Invalid value for '-p' / '--provider': provider 'nope' is not available" in (
        result.stderr)


def test_ctrl_c_exits_130_not_click_s_aborted_1(cli, runner, oauth_py):
    FakeProvider.script = [_interrupt]
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py), "-p", "fake"])
    assert result.exit_code == 130
    assert result.stderr.strip() == "Interrupted."
    assert "Aborted!" not in result.output


def test_ctrl_c_in_batch_keeps_what_finished_prints_the_summary_and_exits_130(
        cli, runner, tmp_path):
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text(f"def {name[0]}():\n    return 1\n")
    out = tmp_path / "out.jsonl"
    FakeProvider.script = [SKILLS, _interrupt]
    result = runner.invoke(cli, ["batch", "skill_extraction", str(tmp_path), "--glob", "*.py",
                                 "-j", "1", "-p", "fake", "-o", str(out)])
    assert result.exit_code == 130
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [Path(r["path"]).name for r in lines] == ["a.py"]  # finished, flushed, kept
    assert lines[0]["result"]["language"] == "Python"
    assert "batch summary" in result.stderr
    assert "interrupted after 1 of 3 files; rerun the same command to resume from" in (
        " ".join(result.stderr.split()))
    assert "Task exception was never retrieved" not in result.output
    assert result.stderr.strip().endswith("Interrupted.")
    # The same command resumes: the finished file is skipped, the others are analysed.
    FakeProvider.script = [SKILLS, SKILLS]
    again = runner.invoke(cli, ["batch", "skill_extraction", str(tmp_path), "--glob", "*.py",
                                "-j", "1", "-p", "fake", "-o", str(out)])
    assert again.exit_code == 0, again.output
    assert sorted(Path(json.loads(x)["path"]).name for x in out.read_text().splitlines()) == [
        "a.py", "b.py", "c.py"]


# -- input --------------------------------------------------------------------------------------

def test_bytecode_is_refused_as_binary_whatever_the_encoding(cli, runner, tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("def f():\n    return 1\n")
    compiled = tmp_path / "mod.pyc"
    py_compile.compile(str(source), cfile=str(compiled))
    FakeProvider.script = [AssertionError("no provider may be asked about bytecode")]
    expected = (f"Error: {compiled} is a binary file, not text (a NUL byte at offset 4); aexy "
                "analyses source code and other text")
    for extra in ([], ["--encoding", "latin-1"]):
        result = runner.invoke(cli, ["analyze", "code_complexity", str(compiled), "-p", "fake",
                                     *extra])
        assert result.exit_code == 1
        assert result.stderr.strip() == expected  # no --encoding advice: it cannot help
    assert len(FakeProvider.script) == 1


def test_text_in_another_encoding_gets_the_encoding_advice_and_utf16_its_own(cli, runner,
                                                                               tmp_path):
    latin = tmp_path / "latin.py"
    latin.write_bytes("x = 'é'\n".encode("latin-1"))
    result = runner.invoke(cli, ["analyze", "code_quality", str(latin)])
    assert result.exit_code == 1
    assert "say which with --encoding (e.g. --encoding latin-1)" in result.stderr
    wide = tmp_path / "wide.py"
    wide.write_bytes("x = 1\n".encode("utf-16"))  # with a byte-order mark
    result = runner.invoke(cli, ["analyze", "code_quality", str(wide)])
    assert result.exit_code == 1
    assert "byte-order mark: try --encoding utf-16" in result.stderr
    done = runner.invoke(cli, ["analyze", "code_quality", str(wide), "--encoding", "utf-16",
                               "--json"])
    assert done.exit_code == 0, done.output


def test_a_binary_task_file_is_refused_by_prompt_sample_too(cli, runner, tmp_path):
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01\x02binary")
    result = runner.invoke(cli, ["prompt", "task_signals", "--sample", str(blob)])
    assert result.exit_code == 1
    assert "is a binary file, not text (a NUL byte at offset 0)" in result.stderr


def test_an_empty_file_is_nothing_to_analyse(cli, runner, tmp_path):
    empty = tmp_path / "__init__.py"
    empty.write_text("\n\n")
    result = runner.invoke(cli, ["analyze", "code_quality", str(empty)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: {empty} is empty (or only whitespace): nothing to analyse")


# -- display ------------------------------------------------------------------------------------

def test_a_long_path_keeps_its_file_name_in_the_panel_title(cli, runner, tmp_path):
    deep = tmp_path.joinpath(*(f"folder_number_{i}" for i in range(8)))
    deep.mkdir(parents=True)
    source = deep / "the_file_that_matters.py"
    source.write_text("def f():\n    return 1\n")
    result = runner.invoke(cli, ["analyze", "code_complexity", str(source)])
    assert result.exit_code == 0, result.output
    title = result.stdout.splitlines()[0]
    assert "the_file_that_matters.py" in title
    assert "…/" in title and len(title) <= 80


@pytest.mark.parametrize(("path", "room", "expected"), [
    ("src/app.py", 20, "src/app.py"),
    ("a/very/long/path/to/the/module.py", 20, "…/to/the/module.py"),
    ("a/very/long/path/to/the/module.py", 12, "…/module.py"),
    ("a_file_name_longer_than_the_room.py", 12, "a_fil…oom.py"),
])
def test_fit_path_shortens_the_middle(path, room, expected):
    assert fit_path(path, room) == expected
    assert len(fit_path(path, room)) <= room


def test_tables_keep_every_column_in_a_pipe(cli, runner):
    # CliRunner's output is not a terminal, like `aexy plugins | cat`.
    result = runner.invoke(cli, ["plugins"])
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if "aexy (built in)" in line)
    # One line per row, the last column whole: nothing cropped, nothing folded.
    assert row.rstrip().endswith("analysis_types, budget_ledgers, cache_backends, "
                                 "postprocessors, prompt_sources, providers, rate_limiters │")


def test_absent_values_never_print_none():
    from rich.console import Console

    from aexy.cli.render import cell, result_panel

    assert cell(None).plain == ""
    assert cell("[red]x[/]").plain == "[red]x[/]"  # data, not markup
    panel = result_panel("t", {"items": [{"name": "x", "note": None}], "extra": {"k": None}},
                         {}, None)
    console = Console(width=80, record=True)
    console.print(panel)
    text = console.export_text()
    assert "None" not in text and "k: none" in text


# -- hints --------------------------------------------------------------------------------------

def test_cache_stats_advises_selecting_an_installed_backend_rather_than_installing(
        cli, runner, host):
    from aexy.plugin_api import CacheBackendSpec, hookimpl

    class SharedCache:
        @hookimpl
        def register_cache_backends(self) -> list[CacheBackendSpec]:
            return [CacheBackendSpec("shared", lambda settings: None, "a shared one")]

    host.register(SharedCache(), name="shared", distribution="aexy-shared", version="1")
    result = runner.invoke(cli, ["cache", "stats"])  # AEXY_CACHE_BACKEND=memory (conftest)
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "Set AEXY_CACHE_BACKEND=shared to share a cache between machines." in text
    assert "pip install" not in text
