"""One warning per outage: an incident starts at a failure and ends only once the dependency has
answered ``quiet`` seconds after its last failure, so a flapping dependency is one incident."""

from __future__ import annotations

import logging

import pytest

from aexy.cache import TieredCache
from aexy.resilience import VirtualClock
from aexy.resilience.incident import IncidentLog
from aexy.telemetry import Recorder


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "aexy"]


def test_a_flapping_dependency_is_one_incident(vclock: VirtualClock,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="aexy")
    log = IncidentLog("thing", quiet=30, clock=vclock)
    for _ in range(5):  # fails, answers, fails again within seconds
        assert log.failed("is down (%s)", "boom") is (log.incidents == 1 and _ == 0)
        vclock.advance(2)
        log.succeeded()
        vclock.advance(2)
    assert lines(caplog) == [("WARNING", "thing is down (boom)")]
    vclock.advance(25)  # 27 s since the last failure: not yet over
    log.succeeded()
    assert log.active
    vclock.advance(3)
    log.succeeded()
    assert not log.active and lines(caplog)[-1] == (
        "INFO", "thing answers again (no failure for 30s)")
    log.failed("is down (%s)", "again")  # a new incident: a new warning
    assert log.incidents == 2 and lines(caplog)[-1] == ("WARNING", "thing is down (again)")


def test_a_failure_long_after_the_last_one_without_an_answer_is_the_same_incident(
        vclock: VirtualClock, caplog: pytest.LogCaptureFixture) -> None:
    log = IncidentLog("thing", quiet=30, clock=vclock)
    log.failed("is down")
    vclock.advance(600)  # no answer in between: nothing says it ever came back
    log.failed("is down")
    assert log.incidents == 1 and len(lines(caplog)) == 1


class Flapping:
    """A shared cache tier whose every other operation fails."""

    name = "flapping"

    def __init__(self) -> None:
        self.n = 0

    async def get(self, key: str) -> str | None:
        self.n += 1
        if self.n % 2:
            raise ConnectionError("reset by peer")
        return None


async def test_the_cache_tier_warns_once_while_its_backend_flaps(
        vclock: VirtualClock, caplog: pytest.LogCaptureFixture) -> None:
    cache = TieredCache(Flapping(), recorder=Recorder(), timer=vclock)  # type: ignore[arg-type]
    for _ in range(20):
        assert await cache._guarded("get", cache.backend.get("k")) is None  # type: ignore[union-attr]
        vclock.advance(1)
    warnings = [m for level, m in lines(caplog) if level == "WARNING"]
    assert warnings == ["cache backend flapping is unavailable (ConnectionError); serving "
                        "without it until it answers"]
