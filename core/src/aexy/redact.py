"""Keeping secrets out of messages, logs and reprs: one place for every provider to use."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import SecretStr

__all__ = ["masked_repr_args", "public_url", "scrub", "split_credentials"]

# Key shapes worth catching even when we do not hold the key (a server echoing someone's key).
_KEY_LIKE = re.compile(r"\b(sk-(?:ant-)?)[A-Za-z0-9_\-*]{4,}")


def public_url(url: str, mask: str = "***") -> str:
    """``url`` with any ``user:password@`` part replaced by ``mask`` (proxy and server URLs may
    embed credentials)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"{mask}@{host}", parts.path, parts.query, parts.fragment))


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its ``user:password@`` part, and that part (percent-decoded) or ``None``.

    Providers give their HTTP client the bare URL and the credentials as ``auth``, so neither
    the client's request logs nor any URL they print holds the password.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None  # the client reports the invalid URL; nothing to split
    if "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    bare = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return bare, (unquote(user), unquote(password))


def masked_repr_args(args: Iterable[tuple[str | None, Any]], *, suffix: str = "url"
                     ) -> Iterator[tuple[str | None, Any]]:
    """pydantic ``__repr_args__`` with every ``*url`` field passed through :func:`public_url`:
    settings reprs (and ``str()``) never show URL credentials."""
    for key, value in args:
        if key is not None and key.endswith(suffix) and isinstance(value, str):
            value = public_url(value)
        yield key, value


def scrub(text: str, *secrets: SecretStr | str | None) -> str:
    """``text`` with each given secret, and anything shaped like an API key, as ``***``."""
    for secret in secrets:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if value:
            text = text.replace(value, "***")
    return _KEY_LIKE.sub(r"\1***", text)
