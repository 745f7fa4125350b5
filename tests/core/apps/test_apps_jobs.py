"""Jobs that survive: reports written as each finishes and reused when their inputs have not
changed, Ctrl-C (exit 130, finished work kept), the exit codes, the Markdown report, and
output a person reads in a pipe."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from aexy.apps import ReportStore, report_file_name
from aexy.cli import AexyGroup
from aexy.completion import Completion, CompletionRequest
from aexy.errors import ErrorCode, LLMError
from aexy.gateway import LLMGateway
from aexy.plugins import PluginHost
from aexy.providers.offline import OfflineProvider

from .population_repo import ANN, DAN, PIX
from .repos import ALICE, BOB, BOB_GITHUB

ALIAS = f"{BOB_GITHUB}={BOB}"


class _Scripted(OfflineProvider):
    """The offline provider, with one developer_profile call (the ``at``-th) replaced by
    ``fault``; ``None`` is Ctrl-C: a real SIGINT to this process, as a terminal sends it."""

    def __init__(self, fault: BaseException | None, at: int) -> None:
        super().__init__()
        self.fault, self.at, self.profiles = fault, at, 0

    async def complete(self, request: CompletionRequest) -> Completion:
        assert request.analysis is not None
        if request.analysis.analysis_type == "developer_profile":
            self.profiles += 1
            if self.profiles == self.at:
                if self.fault is not None:
                    raise self.fault
                signal.raise_signal(signal.SIGINT)
                await asyncio.sleep(0)  # where asyncio delivers it: the job is cancelled
        return await super().complete(request)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch, host: PluginHost):
    """Make the commands use a ``_Scripted`` provider."""
    def use(fault: BaseException | None, at: int) -> None:
        @contextlib.asynccontextmanager
        async def gateway(job: object) -> AsyncIterator[LLMGateway]:
            async with LLMGateway(_Scripted(fault, at), fallbacks=(), plugins=host,
                                  cache=False) as built:
                yield built

        monkeypatch.setattr("aexy.cli._jobs.Job.gateway", gateway)
    return use


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_a_rerun_reuses_unchanged_reports(cli: AexyGroup, runner: CliRunner, team_repo: Path,
                                          tmp_path: Path) -> None:
    out = tmp_path / "profiles"
    args = ["profile", str(team_repo), "--all", "--alias", ALIAS, "-o", str(out)]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert f"reports: {out}/ (2 written, 0 unchanged and reused)" in first.stdout
    assert _names(out) == sorted([report_file_name(ALICE), report_file_name(BOB)])
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = runner.invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert f"reports: {out}/ (0 written, 2 unchanged and reused)" in again.stdout
    assert "0 analyses" in again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps
    # Other settings are other inputs: the reports are made again.
    other = runner.invoke(cli, [*args, "--samples", "1"])
    assert "(2 written, 0 unchanged and reused)" in other.stdout
    # A damaged file is made again, not trusted.
    (out / report_file_name(ALICE)).write_text("{")
    fixed = runner.invoke(cli, [*args, "--samples", "1"])
    assert "(1 written, 1 unchanged and reused)" in fixed.stdout
    assert ReportStore(out).load(ALICE, "not the inputs") is None


def test_ctrl_c_exits_130_and_keeps_finished_reports(cli: AexyGroup, runner: CliRunner,
                                                     team_history_repo: Path, tmp_path: Path,
                                                     scripted) -> None:
    scripted(None, at=2)
    out = tmp_path / "profiles"
    result = runner.invoke(cli, ["profile", str(team_history_repo), "--all", "-o", str(out),
                                 "-j", "1"])
    assert result.exit_code == 130, result.output
    assert "Interrupted: 1 reports finished" in result.stderr
    assert "run the same command again" in result.stderr
    (saved,) = out.glob("*.json")  # whole, readable, and nothing half-written beside it
    report = json.loads(saved.read_text())
    assert report["developer_id"] in (ANN, DAN, PIX) and report["inputs"]
    assert not list(out.glob(".*"))


def test_a_failed_analysis_exits_1_and_the_others_are_kept(
        cli: AexyGroup, runner: CliRunner, team_history_repo: Path, tmp_path: Path,
        scripted) -> None:
    scripted(LLMError("upstream broke", code=ErrorCode.BAD_REQUEST, provider="offline"), at=1)
    out = tmp_path / "profiles"
    result = runner.invoke(cli, ["profile", str(team_history_repo), "--all", "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "failed " in result.stdout and "[bad_request]" in result.stdout
    assert "upstream broke" in result.stdout
    assert len(list(out.glob("*.json"))) == 3  # every report, the failed one with its failure


def test_a_refusal_is_a_skip_with_its_reason(cli: AexyGroup, runner: CliRunner,
                                            team_history_repo: Path) -> None:
    # Pix committed an image only: no profile can be computed offline; exit 0, reason listed.
    result = runner.invoke(cli, ["profile", str(team_history_repo), "-a", PIX])
    assert result.exit_code == 0, result.output
    assert "refused by offline/heuristic-v1" in result.stdout


def test_the_markdown_report(cli: AexyGroup, runner: CliRunner, team_history_repo: Path,
                             tmp_path: Path) -> None:
    document = tmp_path / "team.md"
    result = runner.invoke(cli, ["profile", str(team_history_repo), "--all", "--report",
                                 str(document)])
    assert result.exit_code == 0, result.output
    assert f"report: {document}" in result.stdout
    text = document.read_text()
    assert text.splitlines()[0] == f"# Team profile: {team_history_repo}".replace("_", "\\_")
    assert "| person | commits (180 d) | all commits | languages | areas | last commit |" in text
    assert f"| Ann Lead &lt;{ANN}&gt; | 4 | 16 | Python |" in text
    assert "### Bots, not profiled (1)" in text and "dependabot\\[bot\\]" in text
    assert "### Inactive, not profiled (3)" in text
    assert "## Ann Lead &lt;ann@corp.example&gt;" in text and "**Code areas**" in text
    assert "No profile (refused)" in text  # Pix


def test_the_match_table_keeps_every_column_in_a_pipe(cli: AexyGroup, runner: CliRunner,
                                                      team_history_repo: Path,
                                                      tmp_path: Path) -> None:
    out = tmp_path / "profiles"
    assert runner.invoke(cli, ["profile", str(team_history_repo), "--all", "-o", str(out),
                               "--active-days", "365"]).exit_code == 0
    task = tmp_path / "task.md"
    task.write_text("Make the transport retry a reset connection\n")
    result = runner.invoke(cli, ["match", str(task), "--profiles", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    # In a pipe a row is one line holding every column, the header's included.
    (header,) = [i for i, line in enumerate(lines)
                 if re.search(r"#\s+developer\s+score\s+fit\s+why\s+has / misses", line)]
    rows = [line for line in lines[header + 1:] if line.strip(" ─")]  # past the rule
    first, second = rows[0], rows[1]
    # Ann keeps changing the transport; Ben worked on it too, less and longer ago.
    assert re.match(rf"\s*1\s+{re.escape(ANN)}\s", first), first
    assert "owns 67% of api/transport.py" in first
    assert re.match(r"\s*2\s+ben@corp\.example\s", second), second
    assert "owns 33% of api/transport.py" in second


def test_series_on_request(cli: AexyGroup, runner: CliRunner, team_history_repo: Path) -> None:
    sparse = json.loads(runner.invoke(cli, ["profile", str(team_history_repo), "-a", DAN,
                                            "--json"]).stdout)
    assert sparse["series"] is None
    assert sparse["activity"]["quiet_periods"] == "omitted"
    assert [p["commits"] for p in sparse["activity"]["periods"]] == [1, 1, 1, 1, 1]
    full = json.loads(runner.invoke(cli, ["profile", str(team_history_repo), "-a", DAN,
                                          "--series", "--json"]).stdout)
    weeks = [p["commits"] for p in full["series"]["periods"]]
    assert sum(weeks) == 5 and len(weeks) == 14 and weeks.count(0) == 9
