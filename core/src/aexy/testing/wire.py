"""What the contract suites are built on: a scripted stand-in for a provider's server, a search
for a secret in everything reachable from an object, and pytest's skip, imported lazily."""

from __future__ import annotations

import base64
import inspect
import json
from collections.abc import Mapping
from typing import Any, NoReturn

__all__ = ["Reply", "ScriptedServer", "carries_secret", "find_secret", "skip"]

#: A scripted answer: a response object of the transport's HTTP library, an exception to raise
#: as the transport would (``httpx.ConnectError``...), or a function of the request returning
#: either (it may be ``async``, to hold the request open).
Reply = Any


class ScriptedServer:
    """A provider's server, scripted: the handler behind a mock transport. Every plugin's tests
    use this one, so they all follow one rule.

    The rule: each request is answered by the next scripted reply, in order; once the script is
    used up, by ``default`` when one is given (a reply, or a function of the request, answering
    every later request); otherwise a further request fails the test, naming it. Every request
    is recorded.

    :param replies: responses of the transport's HTTP library, exceptions to raise as the
        transport would (``httpx.ConnectError``...), or functions of the request returning
        either (they may be ``async``, to hold the request open).
    :param default: what answers once ``replies`` are used up.
    :param library: the HTTP library whose mock transport :attr:`transport` builds: ``httpx``,
        or ``httpx2`` (the Anthropic SDK's).
    """

    def __init__(self, *replies: Reply, default: Reply | None = None,
                 library: str = "httpx") -> None:
        self.replies: list[Reply] = list(replies)
        self.default = default
        self.library = library
        self.requests: list[Any] = []

    def push(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def __call__(self, request: Any) -> Any:
        self.requests.append(request)
        if self.replies:
            reply = self.replies.pop(0)
        elif self.default is not None:
            reply = self.default
        else:
            raise AssertionError(
                f"unexpected request {request.method} {request.url}: nothing is scripted for it"
            )
        if isinstance(reply, BaseException):
            raise reply
        if callable(reply) and not hasattr(reply, "status_code"):
            reply = reply(request)
            if inspect.isawaitable(reply):
                reply = await reply
            if isinstance(reply, BaseException):
                raise reply
        return reply

    @property
    def transport(self) -> Any:
        """A mock transport of :attr:`library` answering through this server."""
        import importlib

        return importlib.import_module(self.library).MockTransport(self)

    def client(self) -> Any:
        """An ``AsyncClient`` of :attr:`library` on :attr:`transport`."""
        import importlib

        return importlib.import_module(self.library).AsyncClient(transport=self.transport)

    @property
    def bodies(self) -> list[Any]:
        """The JSON body of each request that had one, in order."""
        return [json.loads(r.content) for r in self.requests if r.content]

    def body(self, index: int = -1) -> Any:
        """The JSON body of one request (the last by default)."""
        return json.loads(self.requests[index].content)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, bytes | bytearray):
        return [bytes(value).decode("utf-8", "replace")]
    return []


def find_secret(root: object, secret: str, *, max_depth: int = 8) -> str | None:
    """Where ``secret`` can be read from ``root``, as the most specific path
    (``"obj.__context__.request.headers['x-api-key']"``), or ``None``.

    Walks what a caller could reach: exception arguments, causes and contexts, attributes
    (``__dict__`` and ``__slots__``), mappings and sequences, and ``str``/``repr`` of each
    object. Tracebacks and frames are not walked: their locals are the program's own
    variables, not something an error hands to whoever catches it.
    """
    seen: set[int] = set()

    def walk(obj: object, path: str, depth: int) -> str | None:
        if obj is None or isinstance(obj, int | float | bool) or id(obj) in seen:
            return None
        seen.add(id(obj))
        texts = _strings(obj)
        if texts:
            return path if any(secret in t for t in texts) else None
        if depth < max_depth and not (inspect.isframe(obj) or inspect.istraceback(obj)
                                      or inspect.ismodule(obj) or inspect.isclass(obj)
                                      or inspect.isroutine(obj)):
            for child, step in _children(obj):
                found = walk(child, path + step, depth + 1)
                if found:
                    return found
        for render in (str, repr):
            try:
                if secret in render(obj):
                    return f"{render.__name__}({path})"
            except Exception:  # a broken __repr__ is no leak
                continue
        return None

    return walk(root, "obj", 0)


def _children(obj: object) -> list[tuple[object, str]]:
    children: list[tuple[object, str]] = []
    if isinstance(obj, BaseException):
        children += [(obj.__cause__, ".__cause__"), (obj.__context__, ".__context__")]
        children += [(a, f".args[{i}]") for i, a in enumerate(obj.args)]
    if isinstance(obj, Mapping) or (hasattr(obj, "items") and hasattr(obj, "keys")):
        try:
            items = list(obj.items())
        except Exception:
            items = []
        children += [(k, f"[{k!r}] key") for k, _ in items]
        children += [(v, f"[{k!r}]") for k, v in items]
    elif isinstance(obj, list | tuple | set | frozenset):
        children += [(v, f"[{i}]") for i, v in enumerate(obj)]
    attrs = getattr(obj, "__dict__", None)
    if isinstance(attrs, dict):
        children += [(v, f".{k}") for k, v in attrs.items()]
    for cls in type(obj).__mro__:
        for slot in getattr(cls, "__slots__", ()) or ():
            if isinstance(slot, str) and hasattr(obj, slot):
                children.append((getattr(obj, slot), f".{slot}"))
    # Last, every other reference the object holds (what C types keep out of __dict__).
    import gc

    named = {id(child) for child, _ in children}
    children += [(ref, f" -> {type(ref).__name__}") for ref in gc.get_referents(obj)
                 if id(ref) not in named and not isinstance(ref, type)]
    return children


def carries_secret(request: Any, secret: str) -> bool:
    """Whether an HTTP request sends ``secret``: in a header (also inside HTTP Basic
    credentials), in the URL, or in the body."""
    for name, value in request.headers.items():
        if secret in value:
            return True
        if name.lower() == "authorization" and value.lower().startswith("basic "):
            try:
                if secret in base64.b64decode(value[6:]).decode("utf-8", "replace"):
                    return True
            except ValueError:
                pass
    return secret in str(request.url) or secret.encode() in (request.content or b"")


def skip(reason: str) -> NoReturn:
    """``pytest.skip``; pytest is imported only when a suite runs, never with aexy."""
    import pytest

    pytest.skip(reason)

