from __future__ import annotations

import pytest
from pydantic import SecretStr

from aexy.redact import public_url, scrub, split_credentials, url_secrets


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


# -- every URL form (issue 23) -----------------------------------------------------------------
# Each password needs escaping somewhere; "written raw" means the user did not escape it.
@pytest.mark.parametrize(
    ("url", "shown", "secret"),
    [
        # userinfo, escaped as a URL requires
        ("redis://:p%2Fw%23d@h:6379/0", "redis://***@h:6379/0", "p/w#d"),
        # userinfo written raw: "/", "#", "?" and "@" end the authority for a standard parser
        ("redis://:pa/ss@h:6379/0", "redis://***@h:6379/0", "pa/ss"),
        ("redis://:pa#ss@h:6379/0", "redis://***@h:6379/0", "pa#ss"),
        ("redis://:pa?ss@h:6379/0", "redis://***@h:6379/0", "pa?ss"),
        ("redis://user:p@ss@h:6379/0", "redis://***@h:6379/0", "p@ss"),
        ("https://u:pa/ss@h/v1?x=a@b", "https://***@h/v1?x=a@b", "pa/ss"),
        # a token as the whole userinfo
        ("https://tok3n@h/v1", "https://***@h/v1", "tok3n"),
        # query parameters
        ("redis://h:6379/0?password=pw%2F1&db=2", "redis://h:6379/0?password=***&db=2", "pw/1"),
        ("https://h/v1?api-key=k1&api-version=2", "https://h/v1?api-key=***&api-version=2", "k1"),
        ("redis+sentinel://h1,h2/m?sentinel_password=s1", "redis+sentinel://h1,h2/m?"
         "sentinel_password=***", "s1"),
        ("https://h/v1?access_token=t%2B1#frag", "https://h/v1?access_token=***#frag", "t+1"),
    ],
)
def test_public_url_masks_every_form_and_url_secrets_names_them(url: str, shown: str,
                                                                 secret: str) -> None:
    assert public_url(url) == shown
    assert secret in url_secrets(url)
    assert secret not in scrub(f"failed: {url} ({secret})", *url_secrets(url))


def test_a_query_value_holding_an_at_sign_is_not_taken_for_credentials() -> None:
    url = "redis://cache:6379/0?client_name=svc@prod"
    assert public_url(url) == url and url_secrets(url) == []
    assert split_credentials(url) == (url, None)


def test_split_credentials_finds_a_password_written_raw() -> None:
    assert split_credentials("http://bob:pa/ss#1@proxy:8080/v1") == (
        "http://proxy:8080/v1", ("bob", "pa/ss#1"))


def test_scrub_masks_a_secret_in_its_percent_encoded_forms() -> None:
    text = "auth pa%2Fss%20x failed; quoted pa/ss%20x; plus pa%2Fss+x; plain pa/ss x"
    assert scrub(text, "pa/ss x") == "auth *** failed; quoted ***; plus ***; plain ***"
