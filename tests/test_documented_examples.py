"""The documented-example machinery: every block of the manual is one the runners know, every skip
says why, and the transcript generator finds drift, rewrites it, and leaves run-to-run figures
alone. The examples themselves run in ``tox -e examples`` (tests/docs_examples.py, Sybil)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tools.docs_session import COLUMNS, PATTERNS, ROOT, Session, pages
from tools.transcripts import normalise, parse, regenerate

#: Languages run by the Sybil runner, checked as transcripts, or not code at all.
RUN = {"python", "bash", "json", "toml"}
TRANSCRIPT = {"console"}
NOT_CODE = {"text", "markdown", "http"}


def _blocks() -> list[tuple[str, object]]:
    found = []
    for page in pages():
        for block in parse(page.read_text(encoding="utf-8").split("\n")):
            found.append((f"{page.relative_to(ROOT)}:{block.start + 1}", block))
    return found


def test_the_runners_see_every_page_of_the_manual():
    every = {ROOT / "README.md", *(ROOT / "docs").rglob("*.md")}
    assert set(pages()) == every, "a page the patterns miss: " + ", ".join(
        str(p) for p in every - set(pages()))
    assert "README.md" in PATTERNS


def test_every_block_has_a_language_the_runners_know():
    unknown = [f"{where} ({block.language or 'no language'})" for where, block in _blocks()
               if block.language not in RUN | TRANSCRIPT | NOT_CODE]
    assert not unknown, "blocks neither run nor declared as not code: " + ", ".join(unknown)


def test_every_skip_says_why_and_an_excerpt_names_a_file_that_exists():
    skips = [(where, args) for where, block in _blocks()
             for name, args in block.directives if name == "skip"]
    assert skips  # the pages do use the marker
    for where, args in skips:
        reason = re.fullmatch(r'next "(.+)"', args)
        assert reason, f'{where}: write <!-- skip: next "needs ..." --> (got {args!r})'
        text = reason.group(1)
        assert text.startswith(("needs ", "excerpt of ", "machine-dependent")), (
            f"{where}: say what CI lacks (needs ...) or where the excerpt is tested: {text!r}")
        if text.startswith("excerpt of "):
            path = text.removeprefix("excerpt of ").split(",")[0]
            assert (ROOT / path).exists(), f"{where}: {path} does not exist"


def test_top_level_await_is_not_in_any_python_example():
    # A reader's `python snippet.py` fails on it; the runner would too, this says where.
    offenders = [where for where, block in _blocks() if block.language == "python"
                 and not any(name == "skip" for name, _ in block.directives)
                 and any(re.match(r"(async with|await |async for)", line)
                         for line in block.body)]
    assert not offenders, offenders


# -- the session --------------------------------------------------------------------------------

def test_a_session_carries_directory_and_exports_and_isolates_the_machine(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-the-machine")
    monkeypatch.setenv("LLM_PROVIDER", "claude")
    with Session.create() as session:
        assert "ANTHROPIC_API_KEY" not in session.env and "LLM_PROVIDER" not in session.env
        assert (session.cwd / "examples" / "oauth.py").exists()
        assert session.run_script("mkdir -p deep/er && cd deep && export WHO=reader"
                                  ).returncode == 0
        assert session.cwd == session.root / "deep"
        assert session.env["WHO"] == "reader"
        failed = session.run_script("cd er && false")
        assert failed.returncode == 1 and session.cwd == session.root / "deep"  # unchanged
        run = session.run_in_terminal(
            'python -c "import shutil, sys; print(sys.stdout.isatty(), '
            'shutil.get_terminal_size().columns)"; echo "$WHO"; exit 3')
        assert run.output.split() == ["True", str(COLUMNS), "reader"]
        assert run.status == 3
    assert not session.root.exists()


# -- transcripts --------------------------------------------------------------------------------

PAGE = """# A page

<!-- invisible-code-block: bash
printf 'hello\\n' > greeting.txt
export NAME=world
-->
```console
$ cat greeting.txt
stale
[exit 0]
$ echo "took 12 ms for $NAME"
took 99 ms for world
[exit 0]
```

<!-- transcript: file data.txt -->
```text
a
b
```

```console
$ cat data.txt
```

<!-- skip: next "needs a server" -->
```console
$ false
never run
```

```console
$ seq 1 10
1
2
...
```
"""


def test_transcripts_drift_is_found_written_and_then_gone(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    drifts = regenerate(page, write=False)
    # The stale output and the block without output drifted; a different number of
    # milliseconds, a cut output and a skipped block did not.
    assert [(d.command, d.actual) for d in drifts] == [
        ("cat greeting.txt", ["$ cat greeting.txt", "hello", "[exit 0]"]),
        ("cat data.txt", ["$ cat data.txt", "a", "b", "[exit 0]"]),
    ]
    assert page.read_text() == PAGE  # check mode writes nothing
    regenerate(page, write=True)
    text = page.read_text()
    assert "$ cat greeting.txt\nhello\n[exit 0]\n" in text
    assert "took 99 ms for world" in text  # kept: not drift
    assert "$ false\nnever run\n" in text and "$ seq 1 10\n1\n2\n...\n" in text
    assert regenerate(page, write=False) == []


def test_normalise_ignores_figures_and_frame_width_but_not_words():
    a = ["╰── offline · 12 ms ─╯", "│ elapsed │ 0.16 s │", "rate 25.0 files/s 0:00:01"]
    b = ["╰──── offline · 103 ms ─╯", "│ elapsed │  10.02 s │", "rate 3.1 files/s 0:00:09"]
    assert normalise(a) == normalise(b)
    assert normalise(["cache miss"]) != normalise(["cache hit"])


def test_normalise_ignores_a_jobs_name_which_hashes_the_sessions_paths():
    # Each session runs in a new temporary folder, so a job's name differs in every run.
    line = "no batch of this job ({}) is waiting for results at claude"
    assert normalise([line.format("batch-acc16059637c")]) == normalise(
        [line.format("batch-8a69c161cff7")])
    assert normalise([line.format("batch-acc16059637c")]) != normalise(
        [line.format("profile-acc16059637c")])


def test_the_installation_check_names_what_differs():
    from tools.transcripts import check_installation

    problem = check_installation()  # this suite's environment has every package installed
    if problem is None:
        pytest.skip("running in the examples environment")
    assert "aexy-redis" in problem and "tox -e examples" in problem


def test_docgen_checks_analysis_types_and_rejects_pages_without_transcripts(tmp_path, capsys):
    from tools import docgen

    with pytest.raises(SystemExit):
        docgen.main(["--check", str(tmp_path / "x.md"), "README.md"])
    assert "PAGEs go with --transcripts" in capsys.readouterr().err


def test_a_failing_bash_block_stops_the_transcripts_with_its_place(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```bash\nexit 4\n```\n\n```console\n$ echo hi\n```\n")
    with pytest.raises(RuntimeError, match=r"page.md:1: the bash block exited 4"):
        regenerate(page, write=False)


def test_every_page_with_transcripts_is_in_the_manual_or_the_readme():
    with_transcripts = [p for p in pages() if "```console" in p.read_text(encoding="utf-8")]
    assert ROOT / "docs" / "cli.md" in with_transcripts
    assert all(isinstance(p, Path) for p in with_transcripts)


def test_no_page_shows_a_traceback() -> None:
    # A transcript is regenerated from whatever the command printed: a crash would be
    # recorded as the page's example. None may be.
    from tools.docs_session import pages

    shown = [str(page) for page in pages() if "Traceback (most recent call last)" in
             page.read_text(encoding="utf-8")]
    assert shown == []
