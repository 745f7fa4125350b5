"""``aexy cache stats`` and ``aexy cache clear`` on the embedded default, the sqlite file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from aexy.cli import AexyGroup


def test_stats_show_the_file_its_size_and_entries_and_clear_empties_it(
        cli: AexyGroup, runner: CliRunner, oauth_py: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AEXY_CACHE_BACKEND")  # the embedded default
    path = Path(os.environ["AEXY_CACHE_PATH"])
    for kind in ("skill_extraction", "code_quality"):
        assert runner.invoke(cli, ["analyze", kind, str(oauth_py)]).exit_code == 0
    shown = runner.invoke(cli, ["cache", "stats"], terminal_width=88)
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    assert "sqlite tier" in out and "memory tier" in out
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip()
            for line in out.splitlines() if line.count("│") == 3}
    assert rows["entries"] == "2" and str(path) in out.replace("\n", "")
    assert rows["file_bytes"].startswith(f"{path.stat().st_size:,}")
    assert "KiB" in rows["file_bytes"]
    assert "backend sqlite: the embedded default" in out
    as_json = json.loads(runner.invoke(cli, ["cache", "stats", "--json"]).stdout)
    assert [t["backend"] for t in as_json] == ["memory", "sqlite"]
    cleared = runner.invoke(cli, ["cache", "clear", "--type", "code_quality"])
    assert cleared.stdout.strip() == "Deleted 1 code_quality results."
    after = json.loads(runner.invoke(cli, ["cache", "stats", "--json"]).stdout)
    assert after[1]["entries"] == 1
