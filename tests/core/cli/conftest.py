from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from aexy.cli import AexyGroup, make_cli
from aexy.plugins import PluginHost, reset_plugin_host

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
def cli(host: PluginHost) -> AexyGroup:
    """A fresh root command whose process-wide plugin host is the test ``host``."""
    reset_plugin_host(host)
    return make_cli()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def oauth_py(tmp_path: Path) -> Path:
    target = tmp_path / "oauth.py"
    target.write_text((EXAMPLES / "oauth.py").read_text())
    return target
