"""Keeping secrets out of messages, logs and reprs: one place for every provider to use.

A URL carries credentials in two places: the userinfo (``scheme://user:password@host``) and
query parameters (``?password=...``, ``?api_key=...``). Users also write passwords that need
escaping without escaping them (``redis://:pa/ss#word@host``), which a standard URL parser
splits in the wrong place, leaving the password in the "path" or "fragment". Every function
here finds the userinfo the way a reader would (below) rather than as ``urllib`` does, so no
such form reaches a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

from pydantic import SecretStr

__all__ = ["masked_repr_args", "public_url", "scrub", "split_credentials", "url_secrets"]

# Key shapes worth catching even when we do not hold the key (a server echoing someone's key).
_KEY_LIKE = re.compile(r"\b(sk-(?:ant-)?)[A-Za-z0-9_\-*]{4,}")

#: Query parameter names whose values are secrets (``password``, ``sentinel_password``,
#: ``api_key``, ``api-key``, ``access_token``, ``client_secret``, ``sig``...).
_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|key|auth|credential|sig", re.IGNORECASE)

#: One node of an authority a parser would take at face value: ``host``, ``host:port``,
#: ``[v6]:port``; an authority is a comma-separated list of them (Sentinel, Cluster) or empty
#: (``unix:///path``).
_NODE = r"(?:\[[0-9A-Fa-f:.]+\]|[^\s:/?#\[\]@,]+)(?::\d*)?"
_PLAIN_AUTHORITY = re.compile(rf"(?:{_NODE}(?:,{_NODE})*)?")


def _userinfo_end(rest: str) -> int:
    """The index in ``rest`` (a URL after ``scheme://``) of the ``@`` that ends the userinfo,
    or ``-1`` when there is none.

    A standard parser ends the authority at the first ``/``, ``?`` or ``#``, so a password
    written without escaping leaves its tail, and the ``@``, in the path, query or fragment.
    Server URLs hold no ``@`` there, so here the last ``@`` ends the userinfo (a password may
    hold ``@`` too), except one that is a query parameter's value (``?client_name=a@b``): in
    the query of a plausible authority, after an ``=``. Truly ambiguous text
    (``redis://u:12?w=x@h``) is read as that query value, as a standard parser reads it.
    """
    at = rest.rfind("@")
    while at >= 0:
        earlier = rest.rfind("@", 0, at)
        tail = rest[earlier + 1:at]  # if this "@" is a query value: authority, path, query
        q = tail.find("?")
        authority = tail[:min((i for i in (tail.find(c) for c in "/?#") if i >= 0),
                              default=len(tail))]
        if (q < 0 or "#" in tail or "=" not in tail[q:].rpartition("&")[2]
                or not _PLAIN_AUTHORITY.fullmatch(authority)):
            return at
        at = earlier  # a query value; an earlier "@" may still end a userinfo
    return -1


def _split(url: str) -> tuple[str, str, str, str]:
    """``(scheme://, userinfo, @, rest)``; empty strings where the URL has none."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", "", "", url
    end = _userinfo_end(rest)
    if end < 0:
        return scheme + sep, "", "", rest
    return scheme + sep, rest[:end], "@", rest[end + 1:]


def _mask_query(rest: str, mask: str) -> str:
    """``rest`` (authority, path, query, fragment) with secret query values masked."""
    head, q, query = rest.partition("?")
    if not q:
        return rest
    query, hash_, fragment = query.partition("#")
    parts = []
    for part in query.split("&"):
        key, eq, value = part.partition("=")
        if eq and value and _SECRET_PARAM.search(unquote_plus(key)):
            part = f"{key}={mask}"
        parts.append(part)
    return f"{head}?{'&'.join(parts)}{hash_}{fragment}"


def public_url(url: str, mask: str = "***") -> str:
    """``url`` with its credentials replaced by ``mask``: the ``user:password@`` part, however
    it is written (escaped or not), and the values of secret query parameters
    (``?password=``, ``?api_key=``...). A URL that cannot be shown safely is
    ``<invalid url>``."""
    prefix, _userinfo, at, rest = _split(url)
    try:
        urlsplit(prefix + rest)
    except ValueError:
        return "<invalid url>"
    return prefix + (mask + at if at else "") + _mask_query(rest, mask)


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``url`` without its ``user:password@`` part, and that part (percent-decoded) or ``None``.

    Providers give their HTTP client the bare URL and the credentials as ``auth``, so neither
    the client's request logs nor any URL they print holds the password. A password written
    without escaping (``http://u:pa/ss@host``) is found as :func:`public_url` finds it.
    """
    prefix, userinfo, at, rest = _split(url)
    if not at:
        return url, None
    bare = prefix + rest
    try:
        urlsplit(bare)
    except ValueError:
        return url, None  # the client reports the invalid URL; nothing to split
    user, _, password = userinfo.partition(":")
    return bare, (unquote(user), unquote(password))


def url_secrets(url: str) -> list[str]:
    """Every secret ``url`` holds, as written and decoded: the userinfo (a lone user name
    is often a token), its password, and the values of secret query parameters. For
    :func:`scrub`."""
    _prefix, userinfo, _at, rest = _split(url)
    found: list[str] = []
    if userinfo:
        user, colon, password = userinfo.partition(":")
        found += [userinfo, password, unquote(password)] if colon else [user, unquote(user)]
    query = rest.partition("?")[2].partition("#")[0]
    for part in query.split("&"):
        key, eq, value = part.partition("=")
        if eq and value and _SECRET_PARAM.search(unquote_plus(key)):
            found += [value, unquote_plus(value)]
    return [s for s in dict.fromkeys(found) if s]


def masked_repr_args(args: Iterable[tuple[str | None, Any]], *, suffix: str = "url"
                     ) -> Iterator[tuple[str | None, Any]]:
    """pydantic ``__repr_args__`` with every ``*url`` field passed through :func:`public_url`:
    settings reprs (and ``str()``) never show URL credentials."""
    for key, value in args:
        if key is not None and key.endswith(suffix) and isinstance(value, str):
            value = public_url(value)
        yield key, value


def scrub(text: str, *secrets: SecretStr | str | None) -> str:
    """``text`` with each given secret, written plainly or percent-encoded (as a URL or a
    library's message would hold it), and anything shaped like an API key, as ``***``."""
    forms: set[str] = set()
    for secret in secrets:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if value:
            forms.update((value, quote(value, safe=""), quote(value), quote_plus(value)))
    for form in sorted(forms, key=len, reverse=True):  # longest first: no half-masked forms
        text = text.replace(form, "***")
    return _KEY_LIKE.sub(r"\1***", text)
