"""The library API: `import pyppp` gives a PPP peer over any asyncio stream, no root needed."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

import pyppp
from pyppp.errors import ExitStatus, LocalProtocolError
from pyppp.events import AuthFailed, LinkTerminated
from pyppp.util import seeded_rng

T = TypeVar("T")


def icmp_echo(src: str, dst: str, payload: bytes = b"pyppp") -> bytes:
    """A minimal IPv4 ICMP echo request (checksums left zero: the peer here is us)."""
    body = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + payload
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0, 64, 1, 0,
        bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))),
    )  # fmt: skip
    return header + body


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_readme_example_pap() -> None:
    async def main() -> tuple[str, str, bytes, bytes]:
        server = pyppp.simple_config(
            local="10.99.0.1", remote="10.99.0.2", require_pap={"zaphod": "gargleBlaster"}
        )
        client = pyppp.simple_config(user="zaphod", password="gargleBlaster")
        async with pyppp.linked_pair(server, client) as (a, b):
            up = await b.wait_network_up(5)
            await a.wait_network_up(5)
            packet = icmp_echo("10.99.0.2", "10.99.0.1")
            assert b.send(packet)
            received = await asyncio.wait_for(a.receive(), 5)
            reply = icmp_echo("10.99.0.1", "10.99.0.2", b"back" * 300)
            assert a.send(reply)
            back = await asyncio.wait_for(b.receive(), 5)
            return str(up.local), str(up.remote), received, back

    local, remote, received, back = run(main())
    assert (local, remote) == ("10.99.0.2", "10.99.0.1")
    assert received == icmp_echo("10.99.0.2", "10.99.0.1")
    assert back == icmp_echo("10.99.0.1", "10.99.0.2", b"back" * 300)


def test_chap_and_close_statuses() -> None:
    async def main() -> tuple[int, int]:
        server = pyppp.simple_config(
            local="10.99.0.1", remote="10.99.0.2", require_chap={"arthur": "dent"},
            rng=seeded_rng(7),
        )  # fmt: skip
        client = pyppp.simple_config(user="arthur", password="dent")
        async with pyppp.linked_pair(server, client, rng=seeded_rng(1)) as (a, b):
            await asyncio.gather(a.wait_network_up(5), b.wait_network_up(5))
            closing = await b.close()
            closed = await asyncio.wait_for(a.wait_closed(), 10)
            return closing, closed

    closing, closed = run(main())
    assert closing == 5  # pppd: terminated on request
    # The peer's TermReq, then its end of the socket closes while we wait out the restart
    # period: pppd counts that as a modem hang-up (16), not as a plain end (0).
    assert closed == 16


def test_wrong_password_fails_with_pppd_statuses() -> None:
    async def main() -> tuple[list[object], list[object]]:
        server = pyppp.simple_config(
            local="10.99.0.1", remote="10.99.0.2", require_pap={"zaphod": "gargleBlaster"}
        )
        client = pyppp.simple_config(user="zaphod", password="towel")
        async with pyppp.linked_pair(server, client) as (a, b):
            with pytest.raises(ConnectionError, match="status 19"):
                await b.wait_network_up(10)
            with pytest.raises(ConnectionError, match="status 11"):
                await a.wait_network_up(10)
            return [e for e in _drain(a.events)], [e for e in _drain(b.events)]

    a_events, b_events = run(main())
    assert any(isinstance(e, AuthFailed) and e.exit_status == 11 for e in a_events)
    assert any(isinstance(e, AuthFailed) and e.exit_status == 19 for e in b_events)
    assert any(isinstance(e, LinkTerminated) and e.exit_status == 19 for e in b_events)


def _drain(queue: asyncio.Queue[pyppp.Event]) -> list[pyppp.Event]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


def test_over_stream_on_tcp_loopback() -> None:
    async def main() -> bytes:
        config_server = pyppp.simple_config(local="10.99.0.1", remote="10.99.0.2")
        config_client = pyppp.simple_config()
        accepted: asyncio.Future[pyppp.PppConnection] = asyncio.get_running_loop().create_future()

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            connection = pyppp.PppConnection.over_stream(reader, writer, config_server)
            connection.start()
            accepted.set_result(connection)

        server = await asyncio.start_server(on_client, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        async with pyppp.PppConnection.over_stream(reader, writer, config_client) as client:
            peer = await accepted
            await client.wait_network_up(5)
            await peer.wait_network_up(5)
            client.send(icmp_echo("10.99.0.2", "10.99.0.1"))
            data = await asyncio.wait_for(peer.receive(), 5)
            await peer.close()
        server.close()
        await server.wait_closed()
        return data

    assert run(main()) == icmp_echo("10.99.0.2", "10.99.0.1")


def test_wait_closed_before_start_is_an_api_error() -> None:
    """It asserted (and under ``python -O`` failed with a TypeError from asyncio.shield)."""

    async def main() -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            reader, writer = await asyncio.open_connection(sock=ours)
            connection = pyppp.PppConnection.over_stream(reader, writer, pyppp.simple_config())
            with pytest.raises(LocalProtocolError, match="never started"):
                await connection.wait_closed()
            assert await connection.close() == ExitStatus.USER_REQUEST  # closes the line

    run(main())


def test_send_before_network_up_is_refused() -> None:
    async def main() -> bool:
        async with pyppp.linked_pair(pyppp.simple_config(), pyppp.simple_config()) as (a, _):
            return a.send(icmp_echo("10.0.0.1", "10.0.0.2"))

    assert run(main()) is False


def test_chap_authenticator_requires_a_random_source() -> None:
    with pytest.raises(pyppp.ConfigError, match="rng"):
        pyppp.simple_config(require_chap={"arthur": "dent"})


def test_ipv6_datagrams_through_the_library_api() -> None:
    """PppConnection carries IPv6 as it carries IPv4 (``simple_config(ipv6=True)``)."""
    ipv6 = bytes.fromhex("6000000000083a40") + bytes(32) + bytes.fromhex("8000000000010001")

    async def main() -> tuple[pyppp.Ipv6Up, pyppp.Ipv6Up, bytes, bytes]:
        server = pyppp.simple_config(local="10.99.0.1", remote="10.99.0.2", ipv6=True)
        client = pyppp.simple_config(ipv6=True)
        async with pyppp.linked_pair(server, client) as (a, b):
            up_a, up_b = await asyncio.gather(a.wait_ipv6_up(5), b.wait_ipv6_up(5))
            await asyncio.gather(a.wait_network_up(5), b.wait_network_up(5))
            assert b.send(ipv6)
            assert b.send(icmp_echo("10.99.0.2", "10.99.0.1"))
            first = await asyncio.wait_for(a.receive(), 5)
            second = await asyncio.wait_for(a.receive(), 5)
            return up_a, up_b, first, second

    up_a, up_b, first, second = run(main())
    assert (up_a.local, up_a.remote) == (up_b.remote, up_b.local)
    assert up_a.local.is_link_local
    assert up_a.local != up_a.remote
    assert first == ipv6
    assert second == icmp_echo("10.99.0.2", "10.99.0.1")


def test_wait_ipv6_up_fails_when_ipv6cp_is_not_run() -> None:
    async def main() -> None:
        server = pyppp.simple_config(local="10.99.0.1", remote="10.99.0.2", ipv6=True)
        client = pyppp.simple_config()  # no IPv6CP: it Protocol-Rejects the server's
        async with pyppp.linked_pair(server, client) as (a, b):
            await asyncio.gather(a.wait_network_up(5), b.wait_network_up(5))
            with pytest.raises(TimeoutError):
                await a.wait_ipv6_up(0.5)
            assert not a.send(bytes.fromhex("60") + bytes(39))
        with pytest.raises(ConnectionError):
            await b.wait_ipv6_up(1)

    run(main())
