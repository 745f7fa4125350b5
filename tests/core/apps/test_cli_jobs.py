"""``--max-cost`` and ``--dry-run`` on the CLI jobs (analyze, batch, profile, match, predict),
and the footer that says what each job cost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from priced_fakes import MODEL, PricedFake

from aexy.cli import AexyGroup, make_cli
from aexy.plugins import PluginHost, reset_plugin_host
from aexy.testing import install_fake_provider

from .repos import ALICE, BOB, BOB_GITHUB
from .test_apps_matching import TS_TASK
from .test_apps_predictive import overworked

LINE = "    total = compute(price, quantity) * rate  # a line of the order service\n"


@pytest.fixture
def priced_cli(host: PluginHost, monkeypatch: pytest.MonkeyPatch) -> Iterator[AexyGroup]:
    """The CLI with ``pricedfake`` installed (priced like Claude Sonnet 4.5), and the embedded
    default cache (a file of this test's), so that one command's results are the next one's
    cache hits."""
    monkeypatch.setenv("AEXY_CACHE_BACKEND", "sqlite")
    install_fake_provider(host, PricedFake)
    reset_plugin_host(host)
    PricedFake.sent = []
    yield make_cli()
    PricedFake.sent = []


def source_tree(root: Path, files: int = 40) -> Path:
    src = root / "src"
    src.mkdir()
    for i in range(files):
        (src / f"mod_{i:02d}.py").write_text(f"def f_{i}(price, quantity, rate):\n"
                                             + LINE * (20 + 7 * i))
    return src


def test_batch_stops_mid_way_at_max_cost_with_nothing_over_spent(
        priced_cli: AexyGroup, runner: CliRunner, tmp_path: Path) -> None:
    src = source_tree(tmp_path)
    out = tmp_path / "skills.jsonl"
    result = runner.invoke(priced_cli, ["batch", "skill_extraction", str(src), "-p",
                                        "pricedfake", "-o", str(out), "-j", "4",
                                        "--max-cost", "0.12"])
    assert result.exit_code == 1, result.output  # the refused files failed
    records = [json.loads(line) for line in out.read_text().splitlines()]
    done = [r for r in records if "result" in r]
    refused = [r for r in records if "error" in r]
    assert done and refused and len(records) == 40  # stopped mid-way, every file has a line
    assert {r["error"]["code"] for r in refused} == {"budget_exceeded"}
    assert "--max-cost" in refused[0]["error"]["message"]
    assert len(PricedFake.sent) == len(done)  # a refused file was never sent
    paid = sum(Decimal(str(r["provenance"]["cost"]["total_usd"])) for r in done)
    assert paid <= Decimal("0.12")
    footer = result.stderr.strip().splitlines()[-1]
    assert footer.startswith("cost $") and "budget $0.12 (--max-cost)" in footer
    assert f"{len(refused)} calls refused" in footer


def test_batch_dry_run_sends_and_writes_nothing(priced_cli: AexyGroup, runner: CliRunner,
                                                tmp_path: Path) -> None:
    src = source_tree(tmp_path, files=6)
    out = tmp_path / "skills.jsonl"
    first = runner.invoke(priced_cli, ["batch", "skill_extraction", str(src / "mod_00.py"),
                                       "-p", "pricedfake"])  # one file, for real
    assert first.exit_code == 0, first.output
    PricedFake.sent = []
    args = ["batch", "skill_extraction", str(src), "-p", "pricedfake", "-o", str(out)]
    plan = runner.invoke(priced_cli, [*args, "--dry-run", "--json"])
    assert plan.exit_code == 0, plan.output
    assert PricedFake.sent == [] and not out.exists()
    data = json.loads(plan.stdout)
    assert data["dry_run"] is True
    assert (data["analyses"], data["cached"], data["to_send"]) == (6, 1, 5)
    assert data["by_model"] == {f"pricedfake/{MODEL}": 5}
    assert 0 < data["cost_low_usd"] < data["cost_high_usd"]
    table = runner.invoke(priced_cli, [*args, "--dry-run"])
    assert "dry run: nothing was sent" in table.stdout and "in the cache" in table.stdout
    assert "estimated" in table.stdout


def test_analyze_shows_the_cost_and_refuses_an_unpriced_model_under_a_budget(
        priced_cli: AexyGroup, runner: CliRunner, tmp_path: Path) -> None:
    code = tmp_path / "app.py"
    code.write_text("import fastapi\n\napp = fastapi.FastAPI()\n")
    panel = runner.invoke(priced_cli, ["analyze", "skill_extraction", str(code), "-p",
                                       "pricedfake"])
    assert panel.exit_code == 0, panel.output
    data = json.loads(runner.invoke(priced_cli, ["analyze", "skill_extraction", str(code),
                                                 "-p", "pricedfake", "--json"]).stdout)
    cost = data["provenance"]["cost"]
    assert cost["saved"] is True and cost["status"] == "priced"  # the second run: a cache hit
    assert f"${cost['total_usd']:.4g}"[:5] in panel.stdout.replace("\n", "")
    refused = runner.invoke(priced_cli, ["analyze", "skill_extraction", str(code), "-p", "fake",
                                         "--no-cache", "--max-cost", "1"])
    assert refused.exit_code == 1
    assert "AEXY_BUDGET_ALLOW_UNPRICED" in refused.stderr and "Traceback" not in refused.output


def test_profile_dry_run_plans_the_samples_and_the_profile_and_writes_nothing(
        priced_cli: AexyGroup, runner: CliRunner, team_repo: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "profiles"
    result = runner.invoke(priced_cli, ["profile", str(team_repo), "--all", "--alias",
                                        f"{BOB_GITHUB}={BOB}", "-p", "pricedfake", "--dry-run",
                                        "--json", "-o", str(out_dir)])
    assert result.exit_code == 0, result.output
    assert PricedFake.sent == [] and not out_dir.exists()
    data = json.loads(result.stdout)
    # Alice: 2 samples and her profile; Bob: 3 samples and his (the profile depends on the
    # samples' answers: the offline heuristics stand in for them).
    assert data["to_send"] == data["analyses"] == 7 and data["stand_ins_refused"] == 0
    assert data["by_model"] == {f"pricedfake/{MODEL}": 7}


def test_match_and_predict_dry_runs(priced_cli: AexyGroup, runner: CliRunner, team_repo: Path,
                                    tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    made = runner.invoke(priced_cli, ["profile", str(team_repo), "--all", "--alias",
                                      f"{BOB_GITHUB}={BOB}", "-o", str(profiles), "--json"])
    assert made.exit_code == 0, made.output
    task = tmp_path / "task.md"
    task.write_text(TS_TASK + "\n")
    match = runner.invoke(priced_cli, ["match", str(task), "--profiles", str(profiles), "-p",
                                       "pricedfake", "--dry-run", "--json"])
    assert match.exit_code == 0, match.output
    planned = json.loads(match.stdout)
    assert planned["to_send"] == 3  # task_signals, then one task_matching per developer
    activity = tmp_path / "activity.json"
    activity.write_text(overworked().model_dump_json())
    predict = runner.invoke(priced_cli, ["predict", str(activity), "-p", "pricedfake",
                                         "--dry-run"])
    assert predict.exit_code == 0, predict.output
    assert "to send" in predict.stdout and "3 (pricedfake/claude-sonnet-4-5 3)" in predict.stdout
    assert PricedFake.sent == []


def test_every_job_prints_what_it_cost(priced_cli: AexyGroup, runner: CliRunner,
                                       team_repo: Path) -> None:
    result = runner.invoke(priced_cli, ["profile", str(team_repo), "-a", ALICE])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().splitlines()[-1] == "cost $0"  # offline: local
    priced = runner.invoke(priced_cli, ["profile", str(team_repo), "-a", ALICE, "-p",
                                        "pricedfake", "--max-cost", "5"])
    assert priced.exit_code == 0, priced.output
    footer = priced.stderr.strip().splitlines()[-1]
    assert footer.startswith("cost $") and "budget $5.00 (--max-cost): $" in footer
    assert "left" in footer and len(PricedFake.sent) == 3
