"""Text from a repository shown to a person: names, addresses and paths are data that anyone
with commit access wrote, so control characters and terminal escape sequences in them are
shown, never obeyed."""

from __future__ import annotations

import re

__all__ = ["printable"]

# C0 and C1 control characters (ESC starts ANSI and OSC sequences), DEL, and the Unicode
# format characters that reorder or hide text (bidirectional overrides and isolates).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control or reordering character written as an escape
    (``\\x1b``, ``\\u202e``): safe on a terminal and in a pipe, and still readable."""
    return _UNSAFE.sub(_escape, text)
