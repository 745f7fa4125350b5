from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
def oauth_py(tmp_path: Path) -> Path:
    target = tmp_path / "oauth.py"
    target.write_text((EXAMPLES / "oauth.py").read_text())
    return target
