from __future__ import annotations

import pytest
from pydantic import SecretStr

from aexy.redact import public_url, scrub


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://localhost:11434", "http://localhost:11434"),
        ("https://user:pa55@proxy.example:8443/v1?x=1", "https://***@proxy.example:8443/v1?x=1"),
        ("https://token@host/v1", "https://***@host/v1"),
        ("http://[::1", "<invalid url>"),
    ],
)
def test_public_url(url: str, expected: str) -> None:
    assert public_url(url) == expected


def test_scrub_removes_given_secrets_and_key_shapes() -> None:
    text = "bad key hunter2-long; Incorrect API key provided: sk-proj-abcdef123; sk-ant-api03-zz99"
    out = scrub(text, SecretStr("hunter2-long"), None, "")
    assert "hunter2-long" not in out
    assert "abcdef123" not in out and "api03-zz99" not in out
    assert out.startswith("bad key ***;")
    assert "sk-***" in out and "sk-ant-***" in out


def test_scrub_leaves_ordinary_text_alone() -> None:
    assert scrub("model llama3.2 not found; task-123 risky", "") == (
        "model llama3.2 not found; task-123 risky")


def test_public_url_mask_is_configurable() -> None:
    assert public_url("https://bob:pw@host/v1", "[hidden]") == "https://[hidden]@host/v1"
