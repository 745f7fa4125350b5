"""The result cache: keys, the stored envelope, the memory tier and :class:`TieredCache`.

Keys are ``aexy:<type>:<sha256>``: the type stays readable (so ``aexy cache clear --type`` can
match a prefix) and everything else is hashed, so neither content nor any secret can be read
from a key. A stored value is an envelope: one line of JSON naming the envelope version, the
result's schema hash, the provider, the model and the token usage of the calls that produced
it (so that a hit can say what it saved), then the result's JSON. A value that does not
decode and validate against the reader's result model is a miss, and is deleted.

A cache never fails an analysis: a shared backend's error or timeout on ``get`` is a miss and on
``set`` is dropped, counted in ``stats()`` and OpenTelemetry, and logged once per outage.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from aexy.contract.cache import CacheBackend as CacheBackend
from aexy.contract.cache import CacheBackendSpec as CacheBackendSpec
from aexy.contract.completion import Usage
from aexy.errors import AexyError
from aexy.log import logger
from aexy.resilience.incident import IncidentLog

if TYPE_CHECKING:
    from aexy.contract.analysis import AnalysisResult, AnalysisSpec
    from aexy.telemetry import Recorder

__all__ = [
    "KEY_NAMESPACE",
    "CacheBackend",
    "CacheBackendError",
    "CacheBackendSpec",
    "CachedResult",
    "MemoryCache",
    "TieredCache",
    "cache_key",
    "type_prefix",
]

#: Bump to invalidate every cached value written by an older key or envelope scheme.
KEY_NAMESPACE = "aexy:v2"
#: Version of the stored envelope (its first line).
ENVELOPE_VERSION = 1
#: Seconds a shared backend's operations may take until it has answered once (opening a file,
#: connecting), whatever ``AEXY_CACHE_TIMEOUT`` says.
COLD_START = 2.0

T = TypeVar("T")


def cache_key(
    *,
    analysis_type: str,
    spec_version: str,
    prompt_version: str,
    schema_hash: str,
    provider: str,
    model: str,
    content: str,
    context_json: str,
    postprocessors: Sequence[str] = (),
) -> str:
    """Every input that can change the answer, and nothing secret: the type, its version, the
    prompt's version, the result schema, provider and model, the post-processors the reader
    applies, the context and the content. Each field is length-prefixed, and the content is
    hashed once as UTF-8 bytes (no JSON encoding of possibly megabytes of text)."""
    digest = hashlib.sha256(_fixed_material(analysis_type, spec_version, prompt_version,
                                            schema_hash, provider, model, tuple(postprocessors)))
    digest.update(_field(context_json).encode())
    digest.update(content.encode())  # last, so its length needs no prefix
    return f"aexy:{analysis_type}:{digest.hexdigest()}"


@functools.lru_cache(maxsize=1024)
def _fixed_material(analysis_type: str, spec_version: str, prompt_version: str, schema_hash: str,
                    provider: str, model: str, postprocessors: tuple[str, ...]) -> bytes:
    """The key material that is the same for every call of one type through one provider."""
    parts = (KEY_NAMESPACE, analysis_type, spec_version, prompt_version, schema_hash, provider,
             model, ",".join(postprocessors))
    return "".join([_field(p) for p in parts]).encode()


def _field(text: str) -> str:
    # "<length>:<text>" for each field, so no two requests give the same material.
    return f"{len(text)}:{text}"


def type_prefix(analysis_type: str | None) -> str:
    """The key prefix of one type's entries, or of every aexy entry."""
    return f"aexy:{analysis_type}:" if analysis_type else "aexy:"


class CacheBackendError(AexyError):
    """A shared cache backend failed an administrative operation (``aexy cache clear``).
    Analyses never see this: for them a backend error is a cache miss."""


class MemoryCache:
    """Bounded in-process cache with a TTL per entry: the memory tier, and the ``memory`` backend
    when no shared one is installed. Least recently used entries go first when it is full; an
    expired entry is dropped when it is read or reaches the end of the line. A plain ordered
    dict: a hit is one lookup and a move, which matters on the path of every cached call."""

    name = "memory"

    def __init__(self, maxsize: int = 1000, *, timer: Callable[[], float] = time.monotonic) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, got {maxsize}")
        self.maxsize = maxsize
        self._timer = timer
        # key -> (value, expires at), least recently used first.
        self._data: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def get(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is not None:
            if item[1] > self._timer():
                self._data.move_to_end(key)
                self.hits += 1
                return item[0]
            del self._data[key]
        self.misses += 1
        return None

    async def set(self, key: str, value: str, ttl: float) -> None:
        if ttl <= 0:
            return
        data = self._data
        data[key] = (value, self._timer() + ttl)
        data.move_to_end(key)
        if len(data) > self.maxsize:
            data.popitem(last=False)

    async def delete(self, key: str) -> bool:
        return self._data.pop(key, None) is not None

    async def clear(self, prefix: str = "aexy:") -> int:
        self._expire()
        doomed = [k for k in self._data if k.startswith(prefix)]
        for k in doomed:
            del self._data[k]
        return len(doomed)

    async def stats(self) -> dict[str, Any]:
        self._expire()
        return {
            "backend": self.name,
            "entries": len(self._data),
            "maxsize": self.maxsize,
            "hits": self.hits,
            "misses": self.misses,
        }

    def _expire(self) -> None:
        now = self._timer()
        for key in [k for k, (_, at) in self._data.items() if at <= now]:
            del self._data[key]

    async def aclose(self) -> None:
        return None


# -- the envelope --------------------------------------------------------------------------------
def encode_entry(result: AnalysisResult, spec: AnalysisSpec, provider: str, model: str,
                 usage: Usage | None = None) -> str:
    fields: dict[str, Any] = {"v": ENVELOPE_VERSION, "schema": spec.schema_hash,
                              "provider": provider, "model": model}
    if usage is not None:  # an optional key: readers of earlier releases ignore it
        fields["usage"] = [usage.input_tokens, usage.output_tokens, usage.cache_read_tokens,
                           usage.cache_write_tokens]
    return f"{json.dumps(fields, separators=(',', ':'))}\n{result.model_dump_json()}"


def decode_entry(raw: str, spec: AnalysisSpec) -> tuple[AnalysisResult, str, str, Usage | None]:
    """``(result, provider, model, usage)``; ``ValueError`` for anything stale, foreign or
    corrupt. ``usage`` is ``None`` for an entry written before it was recorded."""
    head, _, body = raw.partition("\n")
    # Headers repeat (the same entry read again and again): parsed once, unless oddly long.
    header = _known_header(head) if len(head) <= 1024 else _header(head)
    if header is None or header[0] != spec.schema_hash:
        raise ValueError("stale, foreign or corrupt cache entry")
    try:
        result = spec.result_model.model_validate_json(body)
    except ValidationError as exc:
        raise ValueError(f"invalid cache entry: {type(exc).__name__}") from None
    return result, header[1], header[2], header[3]


def _header(head: str) -> tuple[str, str, str, Usage | None] | None:
    """``(schema hash, provider, model, usage)`` of a current envelope header, else
    ``None``."""
    try:
        header = json.loads(head)
        if not isinstance(header, dict) or header.get("v") != ENVELOPE_VERSION:
            return None
        return (str(header["schema"]), str(header["provider"]), str(header["model"]),
                _usage(header.get("usage")))
    except (ValueError, KeyError, TypeError):
        return None


def _usage(value: object) -> Usage | None:
    """The recorded usage; ``None`` when absent or not four non-negative counts."""
    if (isinstance(value, list) and len(value) == 4
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value)):
        return Usage(*value)
    return None


_known_header = functools.lru_cache(maxsize=256)(_header)


@dataclass(frozen=True, slots=True)
class CachedResult:
    """A validated hit: the result, the tier that had it, who produced it, and the usage of
    the calls that did (``None`` for an entry written before it was recorded)."""

    result: AnalysisResult
    tier: str
    provider: str
    model: str
    usage: Usage | None = None


class TieredCache:
    """A memory tier in front of an optional shared backend.

    A hit in the backend fills the memory tier. While a backend is behind it, the memory tier
    keeps an entry at most ``memory_max_age`` seconds (or the type's TTL when shorter), so a
    clear or an expiry in the shared backend reaches every process within that bound. Backend
    operations are bounded by ``timeout`` and never raise.

    :param backend: the shared backend; a :class:`MemoryCache` is used as the only tier.
    :param recorder: where lookups and backend errors are counted.
    """

    def __init__(self, backend: CacheBackend, *, recorder: Recorder, memory_entries: int = 1000,
                 memory_max_age: float = 300.0, timeout: float = 0.1,
                 timer: Callable[[], float] = time.monotonic) -> None:
        if isinstance(backend, MemoryCache):
            self.memory, self.backend = backend, None
        else:
            self.memory, self.backend = MemoryCache(memory_entries, timer=timer), backend
        self.memory_max_age = memory_max_age
        self.timeout = timeout
        # Operations started before the backend's first one ends may take COLD_START seconds:
        # the first opens the file or the connection, which is no slow read (on a loaded
        # machine the first lookups of every run were misses, paid again).
        self._cold = True
        self._recorder = recorder
        self._incident = IncidentLog(
            f"cache backend {getattr(self.backend, 'name', type(self.backend).__name__)}",
            clock=timer)

    @property
    def tiers(self) -> list[CacheBackend]:
        return [self.memory] if self.backend is None else [self.memory, self.backend]

    async def get(self, key: str, spec: AnalysisSpec, ttl: float) -> CachedResult | None:
        """A validated hit, or ``None``; ``ttl`` is the type's, for filling the memory tier."""
        raw = await self.memory.get(key)
        if raw is not None:
            try:
                result, provider, model, usage = decode_entry(raw, spec)
            except ValueError:
                await self._discard(self.memory, key)
            else:
                self._recorder.cache_lookup(True, self.memory.name)
                return CachedResult(result, self.memory.name, provider, model, usage)
        backend = self.backend
        if backend is not None:
            raw = await self._guarded("get", backend.get(key))
            if raw is not None:
                try:
                    result, provider, model, usage = decode_entry(raw, spec)
                except ValueError:
                    await self._discard(backend, key)
                else:
                    await self.memory.set(key, raw, self._memory_ttl(ttl))
                    self._recorder.cache_lookup(True, backend.name)
                    return CachedResult(result, backend.name, provider, model, usage)
        self._recorder.cache_lookup(False)
        return None

    async def set(self, key: str, spec: AnalysisSpec, result: AnalysisResult, provider: str,
                  model: str, ttl: float, usage: Usage | None = None) -> None:
        """Store a validated result; ``usage`` is what producing it took (a hit reports what
        it saved from it)."""
        if ttl <= 0:
            return
        raw = encode_entry(result, spec, provider, model, usage)
        if self.backend is None:
            await self.memory.set(key, raw, ttl)
            return
        await self.memory.set(key, raw, self._memory_ttl(ttl))
        await self._guarded("set", self.backend.set(key, raw, ttl))

    def _memory_ttl(self, ttl: float) -> float:
        return min(ttl, self.memory_max_age) if ttl > 0 else self.memory_max_age

    async def _discard(self, tier: CacheBackend, key: str) -> None:
        logger.warning("discarding invalid cache entry", extra={"tier": tier.name})
        if tier is self.memory:
            await tier.delete(key)
        else:
            await self._guarded("delete", tier.delete(key))

    async def clear(self, analysis_type: str | None = None) -> int:
        """Delete every entry, or one type's; returns how many the shared tier (or the memory
        tier alone) deleted."""
        prefix = type_prefix(analysis_type)
        in_memory = await self.memory.clear(prefix)
        if self.backend is None:
            return in_memory
        try:
            return await self.backend.clear(prefix)
        except Exception as exc:
            raise CacheBackendError(
                f"the {self.backend.name} cache backend failed to clear {prefix}* "
                f"({type(exc).__name__}); check that it runs and REDIS_URL or its settings"
            ) from None

    async def stats(self) -> list[dict[str, Any]]:
        out = [await self.memory.stats()]
        if self.backend is not None:
            shared = await self._guarded("stats", self.backend.stats(), bounded=False)
            out.append(shared if shared is not None else
                       {"backend": self.backend.name, "error": "unavailable"})
        return out

    async def aclose(self) -> None:
        for tier in self.tiers:
            await tier.aclose()

    async def _guarded(self, operation: str, call: Awaitable[T], *,
                       bounded: bool = True) -> T | None:
        """Run a backend operation (within the cache timeout when ``bounded``); an error is
        logged once per outage (:class:`~aexy.resilience.incident.IncidentLog`), counted, and
        becomes ``None``."""
        assert self.backend is not None
        limit = None if not bounded else (max(self.timeout, COLD_START) if self._cold
                                          else self.timeout)
        try:
            async with asyncio.timeout(limit):
                value = await call
        except Exception as exc:  # a cache never fails an analysis
            self._recorder.cache_error(self.backend.name, operation)
            self._incident.failed("is unavailable (%s); serving without it until it answers",
                                  type(exc).__name__)
            return None
        finally:
            self._cold = False
        self._incident.succeeded()
        return value

    def __repr__(self) -> str:
        return f"TieredCache(tiers={[t.name for t in self.tiers]})"
