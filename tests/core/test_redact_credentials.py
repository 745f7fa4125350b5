"""URL credentials moved out of the URL (for a client's ``auth``) and out of settings reprs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic_settings import BaseSettings

from aexy.redact import masked_repr_args, split_credentials


@pytest.mark.parametrize(
    ("url", "bare", "credentials"),
    [
        ("http://localhost:11434", "http://localhost:11434", None),
        ("https://user:pa55@proxy.example:8443/v1?x=1", "https://proxy.example:8443/v1?x=1",
         ("user", "pa55")),
        ("https://us%40er:p%3Ass@host/v1", "https://host/v1", ("us@er", "p:ss")),
        ("https://token@host/v1", "https://host/v1", ("token", "")),
        ("http://[::1", "http://[::1", None),  # invalid: left for the client to report
    ],
)
def test_split_credentials(url: str, bare: str, credentials: tuple[str, str] | None) -> None:
    assert split_credentials(url) == (bare, credentials)


class _Settings(BaseSettings):
    base_url: str = "https://user:hunter2@proxy.internal/v1"
    model: str = "m"

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        return masked_repr_args(super().__repr_args__())


def test_masked_repr_args_hide_url_credentials_in_repr_and_str() -> None:
    s = _Settings()
    for text in (repr(s), str(s)):
        assert "hunter2" not in text and "***@proxy.internal" in text and "'m'" in text
    assert s.base_url.startswith("https://user:hunter2@")  # the value itself is untouched
