"""The fallback chain: construction, availability, skipping, LLMUnavailableError, cache keys."""

from __future__ import annotations

import pytest

from aexy.errors import ErrorCode, LLMError, LLMUnavailableError, ProviderNotFoundError
from aexy.gateway import LLMGateway
from aexy.plugins import PluginHost
from aexy.resilience import VirtualClock
from aexy.settings import AexySettings
from aexy.testing import FakeProvider, FakeSettings

from .conftest import CODE, BackupProvider, GatewayFactory, ThirdProvider, err


async def test_fallbacks_by_name(make_gateway: GatewayFactory) -> None:
    gw = make_gateway("fake", fallbacks=("backup", "third"))
    assert [p.name for p in gw.providers] == ["fake", "backup", "third"]
    assert gw.stats()["providers"] == ["fake/fake-model", "backup/fake-model",
                                       "third/fake-model"]


async def test_fallbacks_from_the_environment(rhost: PluginHost,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_PROVIDER", "fake")
    monkeypatch.setenv("LLM_FALLBACK_PROVIDERS", " Backup , third")
    async with LLMGateway(plugins=rhost, cache=False) as gw:
        assert [p.name for p in gw.providers] == ["fake", "backup", "third"]


async def test_explicit_empty_fallbacks_override_the_environment(
        rhost: PluginHost, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_FALLBACK_PROVIDERS", "backup")
    async with LLMGateway(provider="fake", fallbacks=(), plugins=rhost, cache=False) as gw:
        assert [p.name for p in gw.providers] == ["fake"]


async def test_duplicate_of_the_primary_is_dropped(make_gateway: GatewayFactory) -> None:
    gw = make_gateway("fake", fallbacks=("fake", "backup", "backup"))
    assert [p.name for p in gw.providers] == ["fake", "backup"]


async def test_unknown_fallback_names_its_variable(rhost: PluginHost) -> None:
    with pytest.raises(ProviderNotFoundError) as info:
        LLMGateway(provider="fake", fallbacks=("nope",), plugins=rhost)
    assert info.value.env_var == "LLM_FALLBACK_PROVIDERS"
    assert "Set LLM_FALLBACK_PROVIDERS" in str(info.value)
    assert "pip install" not in str(info.value)  # no package made up from a typed name


async def test_all_fail_raises_unavailable_with_every_attempt(
        make_gateway: GatewayFactory) -> None:
    primary = FakeProvider(replies=[err(ErrorCode.OVERLOADED, message="busy")] * 3)
    backup = BackupProvider(model="b-1", replies=[
        LLMError("bad key", code=ErrorCode.AUTHENTICATION_ERROR, provider="backup")])
    third = ThirdProvider(replies=["junk", "junk"])
    gw = make_gateway(primary, fallbacks=(backup, third))
    with pytest.raises(LLMUnavailableError) as info:
        await gw.analyze("code_quality", CODE)
    attempts = info.value.attempts
    assert [(a.provider, a.model, a.code) for a in attempts] == [
        ("fake", "fake-model", "overloaded")] * 3 + [
        ("backup", "b-1", "authentication_error"),
        ("third", "fake-model", "invalid_output")]
    assert attempts[0].message == "busy" and attempts[3].message == "bad key"
    assert info.value.last_code == "invalid_output"
    assert isinstance(info.value.__cause__, LLMError)
    text = str(info.value)
    assert "fake/fake-model: [overloaded] busy" in text and "backup/b-1" in text
    assert gw.stats()["unavailable"] == 1


async def test_analyze_with_fallback_is_the_same_walk(make_gateway: GatewayFactory) -> None:
    primary = FakeProvider(replies=[err(ErrorCode.NOT_FOUND)])
    backup = BackupProvider(replies=[])
    result = await make_gateway(primary, fallbacks=(backup,)).analyze_with_fallback(
        "code_quality", CODE)
    assert result.provenance.provider == "backup" and result.provenance.fallback


@pytest.mark.parametrize("code", [ErrorCode.OUTPUT_TRUNCATED, ErrorCode.CONTENT_FILTERED])
async def test_truncation_and_refusal_move_on_too(make_gateway: GatewayFactory,
                                                  code: ErrorCode) -> None:
    from aexy.completion import Completion, FinishReason

    reason = FinishReason.LENGTH if code is ErrorCode.OUTPUT_TRUNCATED else (
        FinishReason.CONTENT_FILTER)
    primary = FakeProvider(replies=[Completion("{", "fake-model", finish_reason=reason)])
    backup = BackupProvider(replies=[])
    result = await make_gateway(primary, fallbacks=(backup,)).analyze("code_quality", CODE)
    assert result.provenance.failures == (f"fake/fake-model: {code.value}",)
    assert len(primary.calls) == 1


# -- availability ---------------------------------------------------------------------------------


async def test_unavailable_provider_is_skipped_and_the_answer_cached(
        make_gateway: GatewayFactory, vclock: VirtualClock) -> None:
    probes = 0

    class Probed(FakeProvider):
        async def is_available(self) -> bool:
            nonlocal probes
            probes += 1
            return False

    primary = Probed(replies=[])
    backup = BackupProvider(replies=[])
    gw = make_gateway(primary, fallbacks=(backup,), availability_ttl=10)
    for _ in range(5):
        result = await gw.analyze("code_quality", CODE)
        assert result.provenance.failures == ("fake/fake-model: unavailable",)
    assert probes == 1 and primary.calls == []
    assert gw.stats()["availability"]["fake/fake-model"]["available"] is False
    assert gw.stats()["skipped"] == {"fake/fake-model:unavailable": 5}
    vclock.advance(10.5)  # the answer expired: asked again, once
    await gw.analyze("code_quality", CODE)
    assert probes == 2


async def test_success_counts_as_available_so_a_healthy_primary_is_not_probed(
        make_gateway: GatewayFactory) -> None:
    primary = FakeProvider(replies=[], available=True)
    probes = 0
    original = primary.is_available

    async def counting() -> bool:
        nonlocal probes
        probes += 1
        return await original()

    primary.is_available = counting  # type: ignore[method-assign]
    gw = make_gateway(primary, fallbacks=("backup",))
    for _ in range(20):
        await gw.analyze("code_quality", CODE)
    assert probes == 1  # the first call only; every success refreshed the answer


async def test_probe_that_raises_counts_as_unavailable(make_gateway: GatewayFactory) -> None:
    class Broken(FakeProvider):
        async def is_available(self) -> bool:
            raise OSError("no route to host")

    backup = BackupProvider(replies=[])
    result = await make_gateway(Broken(replies=[]), fallbacks=(backup,)).analyze(
        "code_quality", CODE)
    assert result.provenance.provider == "backup"


async def test_single_provider_is_never_probed(make_gateway: GatewayFactory) -> None:
    primary = FakeProvider(replies=[], available=False)
    result = await make_gateway(primary).analyze("code_quality", CODE)
    assert result.provenance.provider == "fake"


async def test_availability_ttl_zero_disables_probing(make_gateway: GatewayFactory) -> None:
    primary = FakeProvider(replies=[], available=False)
    gw = make_gateway(primary, fallbacks=("backup",), availability_ttl=0)
    assert (await gw.analyze("code_quality", CODE)).provenance.provider == "fake"


# -- cache keys under fallback ---------------------------------------------------------------------


async def test_fallback_answer_is_stored_under_its_own_key(make_gateway: GatewayFactory) -> None:
    primary = FakeProvider(replies=[err(ErrorCode.AUTHENTICATION_ERROR)] * 2)
    backup = BackupProvider(replies=[])
    gw = make_gateway(primary, fallbacks=(backup,), cache=None)
    first = await gw.analyze("code_quality", CODE)
    assert first.provenance.provider == "backup" and not first.provenance.cache_hit
    # Next time the primary is asked first (it is preferred), fails, and the backup's cached
    # answer is served without calling the backup again.
    second = await gw.analyze("code_quality", CODE)
    p = second.provenance
    assert (p.provider, p.cache_hit, p.fallback) == ("backup", True, True)
    assert (len(primary.calls), len(backup.calls)) == (2, 1)
    # The primary's own key holds nothing: a healthy primary answers for itself.
    third = await gw.analyze("code_quality", CODE)
    assert third.provenance.provider == "fake" and not third.provenance.cache_hit
    fourth = await gw.analyze("code_quality", CODE)
    assert fourth.provenance.cache_hit and fourth.provenance.provider == "fake"


async def test_single_provider_keeps_its_own_error_type(make_gateway: GatewayFactory) -> None:
    with pytest.raises(LLMError) as info:
        await make_gateway(FakeProvider(replies=[err(ErrorCode.BAD_REQUEST)])).analyze(
            "code_quality", CODE)
    assert type(info.value) is LLMError and info.value.code is ErrorCode.BAD_REQUEST


async def test_no_secret_in_unavailable_error(rhost: PluginHost) -> None:
    secret = "sk-test-SECRET-42"
    settings = FakeSettings(api_key=secret)
    primary = FakeProvider(settings, replies=[err(ErrorCode.AUTHENTICATION_ERROR)])
    backup = BackupProvider(FakeSettings(api_key=secret), replies=[err(ErrorCode.TIMEOUT)] * 3)
    gw = LLMGateway(provider=primary, fallbacks=(backup,), plugins=rhost, cache=False,
                    settings=AexySettings(backoff_base=0))
    with pytest.raises(LLMUnavailableError) as info:
        await gw.analyze("code_quality", CODE)
    for text in (str(info.value), repr(info.value.attempts), repr(gw), str(gw.stats())):
        assert secret not in text
