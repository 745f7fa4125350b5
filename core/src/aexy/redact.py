"""Keeping secrets out of messages, logs and reprs: one place for every provider to use."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

__all__ = ["public_url", "scrub"]

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


def scrub(text: str, *secrets: SecretStr | str | None) -> str:
    """``text`` with each given secret, and anything shaped like an API key, as ``***``."""
    for secret in secrets:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if value:
            text = text.replace(value, "***")
    return _KEY_LIKE.sub(r"\1***", text)
