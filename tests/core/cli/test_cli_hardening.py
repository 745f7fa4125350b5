"""Issue 12 on the command line: --encoding, binary files in batch, honest --check reasons,
and did-you-mean for a misspelt provider without a made-up package name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest

from aexy import Availability
from aexy.testing import FakeProvider, install_fake_provider

LATIN1 = "# Größe der Äpfel\ndef groesse(n):\n    return n * 2\n".encode("latin-1")


def test_analyze_a_latin1_file_needs_and_accepts_encoding(cli, runner, tmp_path):
    source = tmp_path / "legacy.py"
    source.write_bytes(LATIN1)
    refused = runner.invoke(cli, ["analyze", "code_quality", str(source), "--json"])
    assert refused.exit_code == 1
    assert "not UTF-8 text (byte 4)" in refused.stderr
    assert "--encoding latin-1" in refused.stderr  # the error names the way round it
    done = runner.invoke(cli, ["analyze", "code_quality", str(source), "--encoding", "latin-1",
                               "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["provenance"]["provider"] == "offline"


@pytest.mark.parametrize("name", ["no-such-codec", "base64"])
def test_an_unknown_encoding_is_a_usage_error(cli, runner, tmp_path, name):
    source = tmp_path / "a.py"
    source.write_text("x = 1\n")
    result = runner.invoke(cli, ["analyze", "code_quality", str(source), "--encoding", name])
    assert result.exit_code == 2
    assert "not a text encoding" in result.stderr


def _mixed_tree(root: Path) -> Path:
    src = root / "src"
    src.mkdir()
    (src / "app.py").write_text("def ok():\n    return 1\n")
    (src / "legacy.py").write_bytes(LATIN1)
    (src / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (src / "model.bin").write_bytes(bytes(range(256)) * 8)
    return src


def test_batch_without_glob_skips_files_that_are_not_text_and_counts_them(cli, runner,
                                                                           tmp_path):
    src = _mixed_tree(tmp_path)
    FakeProvider.script = [json.dumps({"language": "Python", "frameworks": [], "patterns": [],
                                       "complexity": 1, "quality_indicators": [],
                                       "domains": []})]
    result = runner.invoke(cli, ["batch", "skill_extraction", str(src), "-p", "fake"])
    assert result.exit_code == 0, result.output
    paths = {Path(json.loads(line)["path"]).name for line in result.stdout.splitlines()}
    assert paths == {"app.py"}  # neither binary nor Latin-1 bytes went to the provider
    assert FakeProvider.script == []  # exactly one call
    assert "skipped (not text)" in result.stderr
    row = [line for line in result.stderr.splitlines() if "skipped (not text)" in line]
    assert row and row[0].rstrip(" │").endswith("3")


def test_batch_encoding_takes_latin1_files_and_still_skips_binaries(cli, runner, tmp_path):
    src = _mixed_tree(tmp_path)
    (src / "logo.png").unlink()  # latin-1 decodes any byte; NUL bytes still mark binaries
    result = runner.invoke(cli, ["batch", "skill_extraction", str(src), "--encoding", "latin-1"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {Path(r["path"]).name for r in records} == {"app.py", "legacy.py"}
    assert all("result" in r for r in records)


def test_batch_of_only_binary_files_says_why_nothing_matched(cli, runner, tmp_path):
    src = tmp_path / "bin"
    src.mkdir()
    (src / "a.bin").write_bytes(b"\x00\x01\x02")
    result = runner.invoke(cli, ["batch", "skill_extraction", str(src)])
    assert result.exit_code == 2
    assert "1 skipped as not UTF-8 text" in result.stderr or "1 skipped as not utf-8" in \
        result.stderr


# -- providers --check -----------------------------------------------------------------------------
class _NotPulled(FakeProvider):
    name: ClassVar[str] = "notpulled"

    async def check(self) -> Availability:
        return Availability(False, "model 'llama3.2' is not pulled; run `ollama pull llama3.2`")


class _Down(FakeProvider):
    name: ClassVar[str] = "down"

    async def is_available(self) -> bool:
        return False


def test_providers_check_says_why_in_text_and_json(cli, runner, host):
    install_fake_provider(host, _NotPulled)
    install_fake_provider(host, _Down)
    as_json = runner.invoke(cli, ["providers", "--check", "--json"])
    assert as_json.exit_code == 0, as_json.output
    rows = {r["name"]: r for r in json.loads(as_json.stdout)}
    assert rows["notpulled"]["available"] is False
    assert rows["notpulled"]["reason"] == "model 'llama3.2' is not pulled; run `ollama pull " \
                                          "llama3.2`"
    assert rows["down"]["reason"] == "is_available() answered no"  # the default check()
    assert rows["offline"]["available"] is True and rows["offline"]["reason"]
    text = runner.invoke(cli, ["providers", "--check"], env={"COLUMNS": "250"})
    (line,) = [row for row in text.stdout.splitlines() if row.startswith("│ notpulled")]
    assert " no " in line and "is not pulled; run `ollama pull llama3.2`" in line


# -- a misspelt provider ---------------------------------------------------------------------------
def test_a_misspelt_installed_provider_gets_did_you_mean_and_no_pip_command(
        cli, runner, monkeypatch, oauth_py):
    monkeypatch.setenv("LLM_PROVIDER", "ofline")
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py)])
    assert result.exit_code == 2  # an unknown provider is a usage error, wherever it is named
    assert "Did you mean 'offline'?" in result.stderr
    assert "pip install" not in result.stderr
    assert "LLM_PROVIDER" in result.stderr


def test_a_misspelt_published_provider_names_the_real_package(cli, runner, monkeypatch,
                                                              oauth_py):
    monkeypatch.setenv("LLM_PROVIDER", "olama")  # aexy-ollama is not installed on this host
    result = runner.invoke(cli, ["analyze", "skill_extraction", str(oauth_py)])
    assert result.exit_code == 2
    assert "Did you mean 'ollama'?" in result.stderr
    assert "pip install aexy-ollama" in result.stderr
    assert "aexy-olama" not in result.stderr
