"""``PoolTransport``: httpx on httpcore2's pool. Against ``tools/fault_server.py`` on loopback:
a stall cut by cancellation loses no pool slot (httpx's own pool does, encode/httpcore#1093: see
``benchmarks/transport.py``), errors arrive as httpx's, and a pool that lost connections anyway
is replaced, with one warning."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tools.fault_server import FaultServer, Mode

from aexy.plugin_api import PoolTransport, pooled_client
from aexy.resilience import VirtualClock

CHAT = "/v1/chat/completions"
BODY = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
async def server() -> AsyncIterator[FaultServer]:
    async with FaultServer() as s:
        yield s


async def stall_then_recover(server: FaultServer, client: httpx.AsyncClient, *,
                             callers: int) -> int:
    """The server answers 5 s late; every caller gives up after 0.3 s by cancellation (as the
    gateway's attempt cutoff does). Then it is healthy: how many of 64 calls succeed."""
    server.mode = Mode(delay=5.0)

    async def cut() -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await client.post(server.url + CHAT, json=BODY)

    await asyncio.gather(*(cut() for _ in range(callers)))
    server.mode = Mode()

    async def later() -> bool:
        try:
            async with asyncio.timeout(3.0):
                return (await client.post(server.url + CHAT, json=BODY)).status_code == 200
        except TimeoutError:
            return False

    return sum(await asyncio.gather(*(later() for _ in range(64))))


async def test_a_stall_cut_by_cancellation_loses_no_pool_slot(server: FaultServer) -> None:
    transport = PoolTransport(max_connections=16)
    async with httpx.AsyncClient(transport=transport, timeout=60) as client:
        assert await stall_then_recover(server, client, callers=64) == 64
        assert transport.snapshot() | {"connections": 0} == {
            "connections": 0, "busy": 0, "lost": 0, "under_way": 0, "max_connections": 16,
            "rebuilt": 0}


# -- httpx's interface ---------------------------------------------------------------------------


async def test_answers_and_errors_arrive_as_httpx_s(server: FaultServer) -> None:
    async with pooled_client(timeout=5.0, max_connections=4, base_url=server.url,
                             headers={"authorization": "Bearer sk-test"}) as client:
        response = await client.post(CHAT, json=BODY)
        assert response.status_code == 200 and response.json()["object"] == "chat.completion"
        server.mode = Mode(delay=1.0)
        with pytest.raises(httpx.ReadTimeout):
            await client.post(CHAT, json=BODY, timeout=0.2)
        for fault, error in (("reset", httpx.RemoteProtocolError),
                             ("truncate", httpx.RemoteProtocolError)):
            server.mode = Mode(fault_rate=1.0, faults=[fault])
            with pytest.raises(error):
                await client.post(CHAT, json=BODY)
        server.mode = Mode(fault_rate=1.0, faults=["429"])
        limited = await client.post(CHAT, json=BODY)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "0"
    with pytest.raises(httpx.ConnectError):
        async with pooled_client(timeout=1.0) as closed:
            await closed.get("http://127.0.0.1:9/")  # the discard port: nobody listens


def test_pooled_client_settings() -> None:
    client = pooled_client(timeout=7.5, max_connections=32, base_url="http://h/v1",
                           headers={"x-a": "1"}, auth=httpx.BasicAuth("u", "p"), name="openai")
    transport: Any = client._transport
    assert isinstance(transport, PoolTransport) and transport.max_connections == 32
    assert client.timeout == httpx.Timeout(7.5) and client.follow_redirects is False
    assert client.base_url == "http://h/v1/" and client.headers["x-a"] == "1"
    mock = httpx.MockTransport(lambda r: httpx.Response(204))
    assert pooled_client(timeout=1, transport=mock)._transport is mock


# -- the watch -----------------------------------------------------------------------------------


class _LostConnection:
    """A connection as a pool bug leaves it: busy, open, held by no request."""

    def is_idle(self) -> bool:
        return False

    def is_closed(self) -> bool:
        return False

    def is_connected(self) -> bool:
        return True

    def is_available(self) -> bool:
        return False

    def has_expired(self) -> bool:
        return False

    def can_handle_request(self, origin: object) -> bool:
        return False

    def can_multiplex(self) -> bool:
        return False

    async def aclose(self) -> None:
        return None


async def lose(transport: PoolTransport, n: int) -> None:
    """``n`` slots of the pool lost; its idle connections closed, so that the lost ones and
    those in use are all it has."""
    pool = transport._pool
    busy = [c for c in pool.connections if not c.is_idle()]
    for connection in pool.connections:
        if connection.is_idle():
            await connection.aclose()
    pool._connections = busy + [_LostConnection() for _ in range(n)]  # type: ignore[misc]


async def test_a_pool_that_lost_its_connections_is_replaced_with_one_warning(
        server: FaultServer, caplog: pytest.LogCaptureFixture) -> None:
    clock = VirtualClock()
    transport = PoolTransport(max_connections=2, clock=clock, name="openai pool")
    async with httpx.AsyncClient(transport=transport, timeout=0.2) as client:
        assert (await client.post(server.url + CHAT, json=BODY)).status_code == 200
        await lose(transport, 2)  # every slot lost: the pool stops making progress
        assert transport.lost_connections() == 2
        with pytest.raises(httpx.PoolTimeout):
            await client.post(server.url + CHAT, json=BODY)
        clock.advance(1.0)  # the next look: lost since the last one? not seen before
        with pytest.raises(httpx.PoolTimeout):
            await client.post(server.url + CHAT, json=BODY)
        clock.advance(1.0)  # lost at two looks in a row: replaced before this call
        assert (await client.post(server.url + CHAT, json=BODY)).status_code == 200
        assert transport.snapshot()["rebuilt"] == 1 and transport.lost_connections() == 0
        await lose(transport, 2)  # again, within the same incident: replaced, not warned again
        for _ in range(2):
            clock.advance(1.0)
            await asyncio.gather(client.post(server.url + CHAT, json=BODY),
                                 return_exceptions=True)
        clock.advance(1.0)
        assert (await client.post(server.url + CHAT, json=BODY)).status_code == 200
        assert transport.snapshot()["rebuilt"] == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["openai pool lost 2 of 2 connections (busy with no request); it was "
                        "replaced by a new pool"]


async def test_requests_under_way_finish_on_the_replaced_pool(server: FaultServer) -> None:
    clock = VirtualClock()
    transport = PoolTransport(max_connections=4, clock=clock)
    async with httpx.AsyncClient(transport=transport, timeout=5) as client:
        server.mode = Mode(delay=0.3)
        slow = asyncio.ensure_future(client.post(server.url + CHAT, json=BODY))
        await asyncio.sleep(0.05)  # on its way, on the first pool
        old = transport._pool
        await lose(transport, 1)
        for _ in range(2):
            clock.advance(1.0)
            transport._check()
        assert transport._pool is not old and old in transport._retired
        assert (await slow).status_code == 200  # finished where it started
        assert old not in transport._retired  # and the old pool was closed after it
