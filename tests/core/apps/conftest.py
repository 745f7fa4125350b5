from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from aexy.completion import Completion, CompletionRequest
from aexy.gateway import LLMGateway
from aexy.plugins import PluginHost
from aexy.providers.offline import OfflineProvider

from .repos import GIT_ENV, MAILMAP, build, crunch_commits, team_commits


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """git reads no global or system configuration in these tests."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def team_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("team") / "shop", team_commits(), mailmap=MAILMAP)


@pytest.fixture(scope="session")
def crunch_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("crunch") / "svc", crunch_commits())


class CountingOffline(OfflineProvider):
    """The offline provider, counting its calls and the most in flight at once (each call
    yields to the event loop a few times, so concurrent calls overlap)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.in_flight = 0
        self.peak = 0

    async def complete(self, request: CompletionRequest) -> Completion:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            return await super().complete(request)
        finally:
            self.in_flight -= 1


@pytest.fixture
def provider() -> CountingOffline:
    return CountingOffline()


@pytest.fixture
async def gateway(provider: CountingOffline, host: PluginHost):
    async with LLMGateway(provider, fallbacks=(), plugins=host) as gw:
        yield gw


@pytest.fixture(scope="session")
def team_history_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository of ``population_repo``: a team's history with its real shapes."""
    from .population_repo import population_commits

    return build(tmp_path_factory.mktemp("population") / "svc", population_commits())
