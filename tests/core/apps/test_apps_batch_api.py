"""``--batch-api`` on ``aexy batch`` and ``aexy profile``, end to end: the installed aexy-claude
against the Anthropic stand-in of ``tools/batch_stubs.py`` on a loopback port. Batch results at
batch prices in the footer, a rerun served by the cache, a real Ctrl-C between submission and
results followed by ``--cancel`` and a resume, successive batches for a profile's dependent
steps, a dry run at batch prices, and a provider without a batch API refused."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tools.batch_stubs import AnthropicStub
from tools.loopback_stubs import StubServer

from aexy.cli import make_cli
from aexy.plugins import reset_plugin_host

from .repos import ALICE, BOB


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[AnthropicStub]:
    fake = AnthropicStub(polls=2)
    with StubServer("anthropic", stub=fake) as server:
        for name, value in {
            "ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test-batch-cli",
            "CLAUDE_MODEL": "claude-sonnet-4-5", "AEXY_LOAD_PLUGINS": "aexy-claude",
            "AEXY_BATCH_STORE": str(tmp_path / "batches.sqlite3"),
            "AEXY_BATCH_POLL_SECONDS": "0.01", "AEXY_CACHE_BACKEND": "sqlite",
        }.items():
            monkeypatch.setenv(name, value)
        reset_plugin_host(None)
        yield fake


@pytest.fixture
def src(tmp_path: Path) -> Path:
    root = tmp_path / "src"
    root.mkdir()
    (root / "a.py").write_text("def total(xs):\n    return sum(xs)\n")
    (root / "b.py").write_text("import os\nprint(os.getcwd())\n")
    return root


def aexy(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(make_cli(), list(args))
    return result.exit_code, result.stdout, result.stderr


def batches(fake: AnthropicStub) -> int:
    return fake.log.count("POST /v1/messages/batches")


def test_batch_api_writes_every_file_and_prices_the_footer_at_batch_rates(
        stub: AnthropicStub, src: Path, tmp_path: Path) -> None:
    (src / "c.py").write_text("x = 1  # aexy-test: expire\n")
    out = tmp_path / "out.jsonl"
    code, _, err = aexy("batch", "skill_extraction", str(src), "-p", "claude", "--batch-api",
                        "-o", str(out))
    assert code == 1, err  # one file expired in the batch
    records = {Path(r["path"]).name: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(records) == {"a.py", "b.py", "c.py"}
    assert records["c.py"]["error"]["code"] == "expired"
    provenance = records["a.py"]["provenance"]
    assert provenance["batch_id"] == "msgbatch_01stub" and provenance["cost"]["batch"]
    assert re.search(r"cost \$[\d.]+ at batch rates", err)
    assert batches(stub) == 1


def test_a_rerun_is_served_by_the_cache(stub: AnthropicStub, src: Path) -> None:
    assert aexy("batch", "skill_extraction", str(src), "-p", "claude", "--batch-api")[0] == 0
    seen = list(stub.log)
    code, out, err = aexy("batch", "skill_extraction", str(src), "-p", "claude", "--batch-api")
    assert code == 0, err
    assert stub.log == seen  # not one request
    assert all(json.loads(line)["provenance"]["cache_hit"] for line in out.splitlines())


def test_a_dry_run_plans_at_batch_rates(stub: AnthropicStub, src: Path) -> None:
    code, out, err = aexy("batch", "skill_extraction", str(src), "-p", "claude", "--batch-api",
                          "--dry-run", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["to_send"] == 2 and plan["batch_calls"] == 2
    assert set(stub.log) == {"POST /v1/messages/count_tokens"}


def test_a_provider_without_a_batch_api_is_a_usage_error(stub: AnthropicStub,
                                                         src: Path) -> None:
    code, _, err = aexy("batch", "skill_extraction", str(src), "-p", "offline", "--batch-api")
    assert code == 2
    assert "provider 'offline' has no batch API; providers with one: claude" in err
    code, _, err = aexy("batch", "skill_extraction", str(src), "--retry-live")
    assert code == 2 and "--retry-live and --cancel go with --batch-api" in err


def test_profile_all_runs_its_dependent_steps_as_successive_batches(
        stub: AnthropicStub, team_repo: Path) -> None:
    code, out, err = aexy("profile", str(team_repo), "--all", "-p", "claude", "--batch-api",
                          "--json")
    assert code == 0, err
    team = json.loads(out)
    assert {r["developer_id"] for r in team["reports"]} >= {ALICE, BOB}
    assert batches(stub) == 2  # the samples' skill_extraction, then developer_profile
    first, second = stub.batches.values()
    assert len(first.requests) == sum(len(r["samples"]) for r in team["reports"])
    assert len(second.requests) == len(team["reports"])
    for report in team["reports"]:
        assert report["profile"]["provenance"]["batch_id"] == second.id
        assert all(s["skill_extraction"] is not None for s in report["samples"])
    again = aexy("profile", str(team_repo), "--all", "-p", "claude", "--batch-api", "--json")
    assert again[0] == 0 and batches(stub) == 2  # the rerun pays for nothing


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_between_submission_and_results_then_cancel_and_resume(
        tmp_path: Path, src: Path) -> None:
    fake = AnthropicStub(polls=10**9)  # never ends by itself
    with StubServer("anthropic", stub=fake) as server:
        env = {**os.environ, "ANTHROPIC_BASE_URL": server.url,
               "ANTHROPIC_API_KEY": "sk-ant-test-batch-cli", "CLAUDE_MODEL": "claude-sonnet-4-5",
               "AEXY_LOAD_PLUGINS": "aexy-claude", "AEXY_CACHE_BACKEND": "sqlite",
               "AEXY_BATCH_STORE": str(tmp_path / "batches.sqlite3"),
               "AEXY_BATCH_POLL_SECONDS": "0.05", "AEXY_BATCH_POLL_MAX_SECONDS": "0.05"}
        command = [sys.executable, "-m", "aexy", "batch", "skill_extraction", str(src), "-p",
                   "claude", "--batch-api"]
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while fake.log.count("GET /v1/messages/batches/msgbatch_01stub") < 2:
            assert child.poll() is None and time.monotonic() < deadline, child.communicate()
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
        assert child.returncode == 130, err
        assert "rerun the same command to read their results" in err

        cancel = subprocess.run([*command, "--cancel"], env=env, capture_output=True,
                                text=True, timeout=60)
        assert cancel.returncode == 0, cancel.stderr
        assert "canceled batch msgbatch_01stub" in cancel.stderr
        assert fake.log.count("POST /v1/messages/batches/msgbatch_01stub/cancel") == 1

        resumed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert fake.log.count("POST /v1/messages/batches") == 1  # never submitted twice
    assert resumed.returncode == 1  # what the cancel stopped is a failure of its files
    codes = {json.loads(line)["error"]["code"] for line in resumed.stdout.splitlines()}
    assert codes == {"canceled"}
