"""The installed ``aexy`` console script, run for real in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

_PREFIXES = ("LLM_", "AEXY_", "OLLAMA_", "OPENAI_", "ANTHROPIC_", "CLAUDE_", "REDIS_")


def _env() -> dict[str, str]:
    """The environment of a fresh machine: no aexy settings, no keys; and, as there, one cache
    backend (this environment has aexy-redis and a fixture backend installed as well)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}
    env["AEXY_CACHE_BACKEND"] = "memory"
    return env


def _script() -> str:
    here = Path(sys.executable).parent / "aexy"
    found = str(here) if here.exists() else shutil.which("aexy")
    if found is None:
        pytest.fail("the aexy console script is not installed (pip install -e core)")
    return found


def test_readme_command_works_with_no_keys_and_no_servers(tmp_path):
    proc = subprocess.run(
        [_script(), "analyze", "skill_extraction", str(EXAMPLES / "oauth.py"), "--json"],
        capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["result"]["language"] == "Python"
    assert "FastAPI" in payload["result"]["frameworks"]
    assert "authentication" in payload["result"]["domains"]
    assert payload["provenance"]["provider"] == "offline"
    assert payload["provenance"]["model"] == "heuristic-v1"


def test_errors_exit_codes_from_the_real_script(tmp_path):
    usage = subprocess.run([_script(), "analyze"], capture_output=True, text=True, env=_env(),
                           cwd=tmp_path, stdin=subprocess.DEVNULL, timeout=120, check=False)
    assert usage.returncode == 2
    missing = subprocess.run(
        [_script(), "analyze", "skill_extraction", str(EXAMPLES / "oauth.py"), "-p", "nope"],
        capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=120, check=False)
    assert missing.returncode == 2  # an unknown provider is a usage error
    assert missing.stderr.splitlines()[-1].startswith(
        "Error: Invalid value for '-p' / '--provider': provider 'nope' is not available")
    assert "pip install" not in missing.stderr  # no package is made up from what was typed
    env = {**_env(), "LLM_PROVIDER": "nope"}
    from_env = subprocess.run(
        [_script(), "analyze", "skill_extraction", str(EXAMPLES / "oauth.py")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert from_env.returncode == 2
    assert from_env.stderr.count("\n") == 1 and "Set LLM_PROVIDER" in from_env.stderr


def test_help_imports_no_sdk_no_httpx_and_no_rich(tmp_path):
    probe = (
        "import sys\n"
        "from aexy.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('httpx', 'anthropic', 'openai', 'redis', 'rich', 'aexy.gateway')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy),"
        " file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=_env(), cwd=tmp_path, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Commands:" in proc.stdout
    assert proc.stderr.strip() == "[]"


def test_python_dash_m(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "aexy.cli", "--version"], capture_output=True,
                          text=True, env=_env(), cwd=tmp_path, timeout=120, check=False)
    assert proc.returncode == 0
    assert proc.stdout.startswith("aexy ")
