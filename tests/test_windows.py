"""Windows direct-cable handshake: both roles, the HOWTO's chat scripts, and a real pty pair."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import time
import tty
from pathlib import Path
from typing import Protocol

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyppp.aio.engines import FdPort, PrePppEngine, drive, read_file
from pyppp.pppd.chat.engine import ChatEngine
from pyppp.pppd.chat.script import ChatScript
from pyppp.pppd.windows import DccClient, DccServer

VECTORS = Path(__file__).parent / "vectors" / "chat"
LCP = b'~\xff}#\xc0!}!}!} }4}"}&} } } } }%}&\x12\x34\x56\x78}\'}"}(}"\x9b\x3f~'


class Engine(Protocol):
    exit_status: int | None

    @property
    def done(self) -> bool: ...
    @property
    def leftover(self) -> bytes: ...
    def receive_data(self, data: bytes, now: float) -> None: ...
    def data_to_send(self) -> bytes: ...
    def get_timer(self) -> float | None: ...
    def handle_timer(self, now: float) -> None: ...


def back_to_back(a: Engine, b: Engine, now: float = 0.0, limit: int = 100) -> float:
    """Wire two engines together; a side that is done starts 'PPP' (sends an LCP frame)."""
    ppp_sent = {id(a): False, id(b): False}
    for _ in range(limit):
        moved = False
        for src, dst in ((a, b), (b, a)):
            data = src.data_to_send()
            if src.done and src.exit_status == 0 and not ppp_sent[id(src)]:
                data += LCP
                ppp_sent[id(src)] = True
            if data:
                dst.receive_data(data, now)
                moved = True
        if a.done and b.done:
            return now
        if not moved:
            deadlines = [t for t in (a.get_timer(), b.get_timer()) if t is not None]
            if not deadlines:
                return now
            now = max(now, min(deadlines))
            a.handle_timer(now)
            b.handle_timer(now)
    raise AssertionError("no end")


# -- server ----------------------------------------------------------------------------------


def test_server_answers_client_and_hands_over_at_flag() -> None:
    server = DccServer(now=0.0)
    server.receive_data(b"CLIENT", 0.1)
    assert server.data_to_send() == b"CLIENTSERVER"
    assert not server.done
    server.receive_data(b"\r\n" + LCP[:5], 0.3)
    assert server.done
    assert server.exit_status == 0
    assert server.leftover == LCP[:5]
    server.receive_data(LCP[5:], 0.4)
    assert server.leftover == LCP
    assert server.windows_client


@pytest.mark.parametrize(
    "noise",
    [b"CLIENTCLIENT", b"\x00CLIENT", b"\r\nCLIENT\r\n", b"\xf3\x01garbageCLI\x00ENT", b"\xc3LIENT"],
)
def test_server_tolerates_repeats_nul_and_noise(noise: bytes) -> None:
    server = DccServer(now=0.0)
    server.receive_data(noise, 0.0)
    assert server.data_to_send() == b"CLIENTSERVER"


def test_server_answers_once_per_burst() -> None:
    server = DccServer(burst_gap=1.0, now=0.0)
    for t in (0.0, 0.2, 0.5):
        server.receive_data(b"CLIENT", t)
    assert server.data_to_send() == b"CLIENTSERVER"
    assert server.clients_seen == 3
    assert server.answers_sent == 1
    server.receive_data(b"CLIENT", 2.0)  # the client retried: our answer was lost
    assert server.data_to_send() == b"CLIENTSERVER"


@pytest.mark.parametrize("split", range(1, 6))
def test_server_finds_client_split_across_reads(split: int) -> None:
    server = DccServer(now=0.0)
    server.receive_data(b"xxCLIENT"[: 2 + split], 0)
    server.receive_data(b"xxCLIENT"[2 + split :], 0)
    assert server.data_to_send() == b"CLIENTSERVER"


def test_server_accepts_direct_ppp() -> None:
    server = DccServer(now=0.0)
    server.receive_data(b"\r\n" + LCP, 0.0)
    assert server.done
    assert server.exit_status == 0
    assert server.leftover == LCP
    assert server.data_to_send() == b""
    assert not server.windows_client


def test_server_does_not_answer_into_ppp() -> None:
    server = DccServer(now=0.0)
    server.receive_data(b"CLIENT" + LCP, 0.0)
    assert server.data_to_send() == b""
    assert server.done
    assert server.leftover == LCP


def test_server_timeout() -> None:
    server = DccServer(timeout=10, now=5.0)
    server.receive_data(b"noise", 6)
    assert server.get_timer() == 15.0
    server.handle_timer(14.9)
    assert not server.done
    server.handle_timer(15.0)
    assert server.exit_status == 3
    assert "no CLIENT or PPP frame" in (server.fail_reason or "")
    assert DccServer(timeout=None, now=0.0).get_timer() is None


def test_hangup_fails_with_2() -> None:
    server = DccServer(now=0.0)
    server.connection_lost(now=1.0)
    assert server.exit_status == 2


# -- client ----------------------------------------------------------------------------------


def test_client_sends_and_retries_then_fails() -> None:
    client = DccClient(attempts=3, interval=2.0, now=0.0)
    assert client.data_to_send() == b"CLIENT"
    sent = []
    for t in (2.0, 4.0, 6.0):
        client.handle_timer(t)
        sent.append(client.data_to_send())
    assert sent == [b"CLIENT", b"CLIENT", b""]
    assert client.exit_status == 3
    assert client.fail_reason is not None
    assert "after 3 tries" in client.fail_reason


@pytest.mark.parametrize(
    "reply", [b"CLIENTSERVER", b"SERVER", b"\x00\r\nCLIENTSERVER", b"\xd3ERVER"]
)
def test_client_accepts_server_anywhere(reply: bytes) -> None:
    client = DccClient(now=0.0)
    client.receive_data(reply + LCP, 0.5)
    assert client.done
    assert client.exit_status == 0
    assert client.leftover == LCP


@pytest.mark.parametrize("split", range(len(b"CLIENTSERVER~") + 1))
def test_client_split_at_every_offset(split: int) -> None:
    client = DccClient(now=0.0)
    data = b"CLIENTSERVER~\xff"
    client.receive_data(data[:split], 0)
    client.receive_data(data[split:], 0)
    assert client.exit_status == 0
    assert client.leftover == b"~\xff"


def test_client_accepts_plain_ppp_server_unless_told_not_to() -> None:
    client = DccClient(now=0.0)
    client.receive_data(LCP, 0)
    assert client.exit_status == 0
    assert client.leftover == LCP
    strict = DccClient(accept_ppp=False, now=0.0)
    strict.receive_data(LCP, 0)
    assert not strict.done


def test_client_bad_arguments() -> None:
    with pytest.raises(ValueError, match="attempts"):
        DccClient(attempts=0, now=0.0)


# -- interop: native engines and the HOWTO's chat scripts ------------------------------------


def chat(name: str, now: float = 0.0) -> ChatEngine:
    return ChatEngine(ChatScript.from_file(str(VECTORS / name), read_file=read_file), now=now)


def test_native_client_and_server() -> None:
    client, server = DccClient(now=0.0), DccServer(now=0.0)
    back_to_back(client, server)
    assert client.exit_status == server.exit_status == 0
    assert client.leftover == LCP
    assert server.leftover == LCP


def test_winserver_chat_against_native_server() -> None:
    client, server = chat("winserver.chat"), DccServer(now=0.0)
    back_to_back(client, server)
    assert client.exit_status == 0
    assert server.exit_status == 0
    assert server.windows_client
    assert server.leftover == LCP


def test_winclient_chat_against_native_client() -> None:
    server, client = chat("winclient.chat"), DccClient(now=0.0)
    back_to_back(client, server)
    assert client.exit_status == server.exit_status == 0
    assert client.leftover == LCP  # the chat side "starts PPP" after CLIENTSERVER


def test_winclient_chat_against_winserver_chat() -> None:
    server, client = chat("winclient.chat"), chat("winserver.chat")
    back_to_back(client, server)
    assert client.exit_status == server.exit_status == 0


def test_winclient_chat_gives_up_after_an_hour() -> None:
    server = chat("winclient.chat", 0.0)
    assert server.get_timer() == 3600.0


def test_native_server_against_a_slow_windows_client() -> None:
    """The client's first CLIENT is lost (e.g. the server started late): it retries."""
    client, server = DccClient(attempts=5, now=0.0), DccServer(now=0.0)
    client.data_to_send()  # lost on the wire
    now = back_to_back(client, server)
    assert client.exit_status == 0
    assert client.attempts_made == 2
    assert now == 2.0


# -- over a real pty pair through the shell runner -------------------------------------------


async def _run(engine: PrePppEngine, fd: int) -> int:
    status, _ = await drive(engine, FdPort(fd))
    return status


async def _handshake(server: Engine, master: int, client: Engine, slave: int) -> tuple[int, int]:
    server_task = asyncio.create_task(_run(server, master))  # type: ignore[arg-type]
    client_status = await asyncio.wait_for(_run(client, slave), 10)  # type: ignore[arg-type]
    os.write(slave, LCP)  # the client's PPP starts
    server_status = await asyncio.wait_for(server_task, 10)
    return server_status, client_status


@pytest.mark.parametrize(
    ("client_kind", "server_kind"),
    [("chat", "chat"), ("chat", "native"), ("native", "chat"), ("native", "native")],
)
def test_pty_pair(client_kind: str, server_kind: str) -> None:
    master, slave = pty.openpty()
    tty.setraw(slave)
    try:
        now = time.monotonic()
        server: Engine = (
            chat("winclient.chat", now) if server_kind == "chat" else DccServer(now=now)
        )
        client: Engine = (
            chat("winserver.chat", now)
            if client_kind == "chat"
            else DccClient(interval=0.5, now=now)
        )
        assert asyncio.run(_handshake(server, master, client, slave)) == (0, 0)
        # PPP's first bytes are not lost: the engine passed on what it read past the handshake,
        # and the rest is still in the tty.
        rest = os.read(master, 100) if select.select([master], [], [], 0.2)[0] else b""
        assert server.leftover + rest == LCP
    finally:
        os.close(master)
        os.close(slave)


# -- property tests --------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(chunks=st.lists(st.binary(max_size=40), max_size=12), step=st.floats(0, 5))
def test_random_bytes_never_raise(chunks: list[bytes], step: float) -> None:
    server, client = DccServer(timeout=20, now=0.0), DccClient(now=0.0)
    now = 0.0
    for chunk in chunks:
        for engine in (server, client):
            engine.receive_data(chunk, now)
            engine.handle_timer(now)
            engine.data_to_send()
        now += step
    for engine in (server, client):
        assert engine.exit_status in (None, 0, 3)
        if engine.exit_status == 0:
            assert len(engine.leftover) <= sum(map(len, chunks))


# -- issue P: the result does not depend on chunking (regression tests) ----------------------


@pytest.mark.parametrize("accept_ppp", [False, True])
@pytest.mark.parametrize("data", [b"~SERVER~\xff", b"x~yCLIENTSERVER", b"\xfeSERVER"])
def test_client_result_is_the_same_however_the_reads_are_split(
    accept_ppp: bool, data: bytes
) -> None:
    """P.6: without the PPP fallback, SERVER after a stray 0x7E in the same read was ignored."""
    outcomes = set()
    for split in range(len(data) + 1):
        client = DccClient(accept_ppp=accept_ppp, now=0.0)
        client.receive_data(data[:split], 0)
        client.receive_data(data[split:], 0)
        outcomes.add((client.exit_status, client.leftover))
    whole = DccClient(accept_ppp=accept_ppp, now=0.0)
    whole.receive_data(data, 0)
    assert outcomes == {(whole.exit_status, whole.leftover)}
    assert whole.exit_status == 0


def test_strict_client_ignores_a_stray_flag_before_server() -> None:
    client = DccClient(accept_ppp=False, now=0.0)
    client.receive_data(b"~SERVER" + LCP, 0)
    assert client.exit_status == 0
    assert client.leftover == LCP
