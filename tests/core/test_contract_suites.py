"""The conformance suites catch what they claim to: each check fails for a provider or cache
backend with exactly that defect (and passes for the sound one, in the plugins' own tests)."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from aexy.cache import MemoryCache
from aexy.completion import Completion, CompletionRequest, Usage
from aexy.errors import ErrorCode, LLMError
from aexy.testing import CacheBackendContract, find_secret
from aexy_example_provider.provider import AcmeProvider

ROOT = Path(__file__).resolve().parents[2]


def _load_acme_contract() -> Any:
    # The example plugin's own test module, as its author wrote it (not collected here).
    path = ROOT / "examples/plugins/aexy-example-provider/tests/test_acme_contract.py"
    spec = importlib.util.spec_from_file_location("acme_contract_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TestAcmeContract


AcmeContract = _load_acme_contract()


def contract_for(provider_class: type[AcmeProvider]) -> Any:
    return type("Contract", (AcmeContract,), {"provider_class": provider_class})()


# -- providers with one defect each ---------------------------------------------------------------

class MapsRateLimitsToServerErrors(AcmeProvider):
    def map_error(self, response: httpx.Response, model: str) -> LLMError:
        error = super().map_error(response, model)
        if response.status_code == 429:
            error.code = ErrorCode.SERVER_ERROR
        return error


class IgnoresRetryAfter(AcmeProvider):
    def map_error(self, response: httpx.Response, model: str) -> LLMError:
        error = super().map_error(response, model)
        error.retry_after = None
        return error


class TurnsCancellationIntoAnError(AcmeProvider):
    async def complete(self, request: CompletionRequest) -> Completion:
        try:
            return await super().complete(request)
        except asyncio.CancelledError:
            raise LLMError("cancelled", code=ErrorCode.TIMEOUT) from None


class NeverCloses(AcmeProvider):
    async def aclose(self) -> None:
        return None


class EchoesTheKey(AcmeProvider):
    def map_error(self, response: httpx.Response, model: str) -> LLMError:
        error = super().map_error(response, model)
        key = self.settings.api_key.get_secret_value() if self.settings.api_key else ""
        return LLMError(f"{error.message} (sent {key})", code=error.code,
                        status_code=error.status_code, provider=self.name)


class DropsTheSchema(AcmeProvider):
    async def complete(self, request: CompletionRequest) -> Completion:
        return await super().complete(
            CompletionRequest(system=request.system, messages=request.messages,
                              model=request.model, timeout=request.timeout))


class ForgetsUsage(AcmeProvider):
    async def complete(self, request: CompletionRequest) -> Completion:
        done = await super().complete(request)
        return Completion(done.text, done.model, Usage(), done.finish_reason)


class IgnoresTheDeadline(AcmeProvider):
    async def complete(self, request: CompletionRequest) -> Completion:
        return await super().complete(
            CompletionRequest(system=request.system, messages=request.messages,
                              json_schema=request.json_schema, model=request.model))


class RaisesWhenDown(AcmeProvider):
    async def is_available(self) -> bool:
        response = await self._http().get("/v1/health")  # a connection error escapes
        return response.status_code == 200


class CallsEveryStopAStop(AcmeProvider):
    async def complete(self, request: CompletionRequest) -> Completion:
        done = await super().complete(request)
        return Completion(done.text, done.model, done.usage)


@pytest.mark.parametrize(
    ("provider_class", "check", "message"),
    [
        (MapsRateLimitsToServerErrors, "test_every_http_status_maps_to_its_error_code",
         "HTTP 429: got"),
        (IgnoresRetryAfter, "test_retry_after_is_honoured", "Retry-After: 7 became None"),
        (TurnsCancellationIntoAnError,
         "test_a_cancelled_call_stays_cancelled_and_the_provider_stays_usable",
         "instead of staying cancelled"),
        (NeverCloses, "test_closing_releases_the_transport_and_may_be_repeated",
         "did not close the client's transport"),
        (EchoesTheKey, "test_no_secret_reaches_an_error_a_repr_or_a_description",
         "authentication_error: the secret is readable at error.args\\[0\\]"),
        (DropsTheSchema, "test_the_schema_goes_on_the_wire_when_the_provider_enforces_it",
         "no schema was sent"),
        (ForgetsUsage, "test_usage_is_reported", "the provider says Usage"),
        (IgnoresTheDeadline, "test_the_request_deadline_bounds_every_timeout",
         "the request allowed 2.5s"),
        (RaisesWhenDown, "test_availability_is_a_yes_or_no_that_never_raises",
         "is_available\\(\\) or check\\(\\) raised"),
        (CallsEveryStopAStop, "test_truncation_is_reported_as_length",
         "a truncated answer came back as"),
        (CallsEveryStopAStop, "test_a_refusal_is_reported_as_content_filter",
         "a refusal came back as"),
    ],
)
def test_the_provider_contract_fails_a_provider_with_that_defect(
        provider_class: type[AcmeProvider], check: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        getattr(contract_for(provider_class), check)()


def test_the_sound_provider_passes_the_same_checks() -> None:
    contract = contract_for(AcmeProvider)
    for name in ("test_every_http_status_maps_to_its_error_code",
                 "test_no_secret_reaches_an_error_a_repr_or_a_description",
                 "test_a_cancelled_call_stays_cancelled_and_the_provider_stays_usable"):
        getattr(contract, name)()


# -- cache backends with one defect each ----------------------------------------------------------

class ClearsEverything(MemoryCache):
    async def clear(self, prefix: str = "aexy:") -> int:
        return await super().clear("")


class NeverExpires(MemoryCache):
    async def set(self, key: str, value: str, ttl: float) -> None:
        await super().set(key, value, 10**9)


class AsciiOnly(MemoryCache):
    async def set(self, key: str, value: str, ttl: float) -> None:
        await super().set(key, value.encode("ascii", "ignore").decode(), ttl)


class KeepsZeroTtl(MemoryCache):
    async def set(self, key: str, value: str, ttl: float) -> None:
        await super().set(key, value, ttl if ttl > 0 else 60)


class Nameless(MemoryCache):
    name = ""


class Down:
    """A backend whose store is unreachable and which says so loudly, password included."""

    name = "down"

    def __init__(self, password: str) -> None:
        self.url = f"redis://:{password}@127.0.0.1:1/0"

    async def get(self, key: str) -> str | None:
        raise ConnectionError(f"cannot reach {self.url}")

    async def set(self, key: str, value: str, ttl: float) -> None:
        raise ConnectionError(f"cannot reach {self.url}")

    async def clear(self, prefix: str = "aexy:") -> int:
        raise ConnectionError(f"cannot reach {self.url}")

    async def stats(self) -> dict[str, Any]:
        return {"backend": self.name, "url": self.url}

    async def aclose(self) -> None:
        return None


def cache_contract_for(backend_class: type[Any]) -> CacheBackendContract:
    class Contract(CacheBackendContract):
        def make_backend(self) -> Any:
            self.now = 0.0
            return backend_class(100, timer=lambda: self.now)

        def advance_time(self, backend: object, seconds: float) -> bool:
            self.now += seconds
            return True

        def make_unreachable_backend(self) -> Any:
            return Down(self.secret)

    return Contract()


@pytest.mark.parametrize(
    ("backend_class", "check", "message"),
    [
        (ClearsEverything, "test_clear_deletes_by_prefix_and_counts",
         "clear\\(prefix\\) deletes exactly that prefix"),
        (NeverExpires, "test_entries_expire_after_their_ttl", "before expiry, after expiry"),
        (AsciiOnly, "test_values_round_trip_unchanged", "values changed on the way: \\['unicode'"),
        (KeepsZeroTtl, "test_a_ttl_of_zero_or_less_stores_nothing", None),
        (Nameless, "test_it_has_every_member_of_the_protocol", None),
    ],
)
def test_the_cache_contract_fails_a_backend_with_that_defect(
        backend_class: type[Any], check: str, message: str | None) -> None:
    with pytest.raises(AssertionError, match=message):
        getattr(cache_contract_for(backend_class), check)()


def test_the_cache_contract_fails_a_backend_that_raises_and_leaks_when_its_store_is_down(
        ) -> None:
    contract = cache_contract_for(MemoryCache)
    with pytest.raises(AssertionError, match=r"ConnectionError.* while the store is down"):
        contract.test_an_unreachable_store_is_a_miss_and_a_dropped_write()
    with pytest.raises(AssertionError, match="the store's secret leaks through stats\\(\\)"):
        contract.test_an_unreachable_store_leaks_no_secret()


# -- the kit's own parts --------------------------------------------------------------------------

def test_find_secret_follows_causes_contexts_attributes_and_mappings() -> None:
    secret = "s3cr3t-value"

    class Holder:
        def __init__(self) -> None:
            self.headers = {"authorization": f"Bearer {secret}"}

    try:
        try:
            raise OSError("inner")
        except OSError as inner:
            inner.request = Holder()  # type: ignore[attr-defined]
            raise LLMError("outer", code=ErrorCode.CONNECTION_ERROR) from None
    except LLMError as exc:
        error = exc
    assert find_secret(error, secret) == "obj.__context__.request.headers['authorization']"
    assert find_secret(LLMError("clean", code=ErrorCode.TIMEOUT), secret) is None


def test_the_testing_kit_imports_without_pytest() -> None:
    code = ("import sys; sys.modules['pytest'] = None\n"
            "from aexy.testing import CacheBackendContract, FakeProvider, ProviderContract\n"
            "import aexy.testing.provider_contract, aexy.testing.cache_contract\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
