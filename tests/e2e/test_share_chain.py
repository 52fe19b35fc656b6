"""The whole modem-sharing chain, as real processes: dial -> TCP -> share -> modem -> serve.

::

    netns b                                         (ptys: no namespace)      netns a
    pyppp dial rfc2217://127.0.0.1:2006 --TCP--> pyppp share --rfc2217 DEV -> ModemSim -> LINE
      connect 'chat ... ATDT5551234 CONNECT'        (DEV = modem.device)      pyppp serve LINE

The dialer reaches ``pyppp share`` over loopback TCP, so both live in namespace b (a process in
b cannot reach the root namespace's 127.0.0.1). The modem emulator is a thread of this test
process: its ptys are files, not network objects, so ``pyppp share`` in b and ``pyppp serve``
in a open them alike. Each side's TUN device then sits in its own namespace (10.99.1.1 in a,
10.99.1.2 in b) and the root namespace is never touched.

What a user of the Modem-sharing mini-HOWTO would check: the call comes up through the shared
modem with the stock chat script, IP flows both ways (ping, a sha256-checked TCP transfer), a
second caller finds the modem busy, and a caller that dies mid-call frees the modem (port, UUCP
lock, the call itself: the answering side sees the hang-up) so that the next call works.

Modes: ``--rfc2217`` with an ``rfc2217://`` dialer, ``--transparent`` with ``socket://``, and
``--raw`` with ``socket://`` plus pppd's ``escape ff`` on the dialer. Raw mode answers telnet
negotiation: a client byte 0xFF followed by 0xF0-0xFE turns it into a telnet client for good
(0xFF doubled towards the caller), and async HDLC does not escape 0xFF, so plain PPP through
``--raw`` comes up and then dies on the first such pair in the data. ``escape ff`` keeps every
0xFF off the wire from the caller's side (the share's documentation sends PPP users to
``--transparent``; this checks that raw mode is usable too, the pppd way).

A caller that vanishes mid-call: the share closes the modem's pty, the emulated modem (with
``AT&D2`` behaviour) hangs the call up, and the answering side learns it one of two ways,
both checked: by a tty hang-up (``TIOCVHANGUP``, what a DCD drop does to a tty without
``CLOCAL``): ``Modem hangup`` within milliseconds; or, if the far end only hears silence, by
its LCP echo requests going unanswered (``lcp-echo-interval 1 lcp-echo-failure 3``: ~4 s).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from pyppp.errors import ExitStatus
from tests.modemsim import ModemSim

from .netns import (
    CLIENT_IP,
    PASSWORD,
    SERVER_IP,
    USER,
    Lab,
    LoggedProcess,
    ping,
    tcp_transfer,
)

SHARE_PORT = 2006
NUMBER = "5551234"
CHAT = f'chat -v ABORT BUSY ABORT "NO CARRIER" "" ATZ OK ATDT{NUMBER} CONNECT'
TRANSFER_BYTES = 2 * 1024 * 1024
UP = r"^remote IP address "


@dataclass
class Chain:
    """The fixed part of the chain: the modem, ``pyppp share`` and ``pyppp serve``.

    Attributes:
        lab: the two namespaces.
        modem: the emulated modem (``device`` shared, ``line_device`` answered).
        share: the ``pyppp share`` process (namespace b).
        server: the ``pyppp serve`` process (namespace a).
        url: what the dialer opens.
        lock_dir: the share's UUCP lock directory.
    """

    lab: Lab
    modem: ModemSim
    share: LoggedProcess
    server: LoggedProcess
    url: str
    lock_dir: Path

    def dial(self, label: str = "client", *words: str) -> LoggedProcess:
        """Start ``pyppp dial URL ... connect 'chat ...'`` in namespace b."""
        client_dir = self.lab.config_dir("client", pap_secrets=f"{USER} * {PASSWORD}\n")
        return self.lab.pyppp(
            label,
            self.lab.b,
            "dial",
            self.url,
            "--user",
            USER,
            "--config-dir",
            str(client_dir),
            "--lock-dir",
            str(self.lock_dir),
            "noauth",
            "connect",
            CHAT,
            "debug",
            *words,
        )

    def lock_files(self) -> list[str]:
        """The UUCP lock files present now."""
        return sorted(p.name for p in self.lock_dir.iterdir())


def _logs(*processes: LoggedProcess) -> str:
    return "\n".join(f"--- {p.label} (status {p.proc.poll()}):\n{p.text}" for p in processes)


@contextlib.contextmanager
def chain(
    lab: Lab, mode: str, server_words: Sequence[str] = (), *, hangup_far_end: bool = True
) -> Iterator[Chain]:
    """Build the chain with ``pyppp share --<mode>``; the dialer is started by the test."""
    lock_dir = lab.tmp / "lock"
    lock_dir.mkdir()
    with ModemSim(hangup_on_dtr=True, hangup_far_end=hangup_far_end) as modem:
        share = lab.start(
            "share",
            lab.b,
            [
                sys.executable,
                "-m",
                "pyppp",
                "share",
                modem.device,
                "--port",
                str(SHARE_PORT),
                f"--{mode}",
                "--lock-dir",
                str(lock_dir),
            ],
        )
        share.wait_for(r"^Sharing ", 10)
        server_dir = lab.config_dir(
            "server", pap_secrets=f"# client server secret addresses\n{USER} * {PASSWORD} *\n"
        )
        server = lab.pyppp(
            "server",
            lab.a,
            "serve",
            modem.line_device,
            "--auth",
            "pap",
            "--config-dir",
            str(server_dir),
            "--lock-dir",
            str(lock_dir),
            f"{SERVER_IP}:{CLIENT_IP}",
            "debug",
            *server_words,
        )
        server.wait_for(r"^Connect: ppp\d+ <--> ", 15)
        scheme = "rfc2217" if mode == "rfc2217" else "socket"
        try:
            yield Chain(lab, modem, share, server, f"{scheme}://127.0.0.1:{SHARE_PORT}", lock_dir)
        finally:
            # Stop the processes while the modem still exists (the Lab would do it after).
            for process in reversed(lab.processes):
                process.stop()


def _wait_nth(process: LoggedProcess, pattern: str, nth: int, timeout: float) -> float:
    """Wait for the ``nth`` (1-based) line matching ``pattern``; return its arrival time."""
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        stamps = [stamp for stamp, line in list(process.lines) if regex.search(line)]
        if len(stamps) >= nth:
            return stamps[nth - 1]
        if time.monotonic() > deadline or process.proc.poll() is not None:
            raise AssertionError(f"{process.label}: no line {nth} matching /{pattern}/")
        time.sleep(0.02)


def _wait_up(
    made: Chain, client: LoggedProcess, timeout: float = 20.0, *, call: int = 1
) -> tuple[float, float]:
    """Wait for IPCP up on both ends; return (dialer start -> up, CONNECT -> up) seconds.

    ``call`` counts the server's calls (it answers several with ``persist``).
    """
    try:
        up_client, _ = client.wait_for(UP, timeout)
        up_server = _wait_nth(made.server, UP, call, timeout)
        made.lab.a.wait_address(SERVER_IP)
        made.lab.b.wait_address(CLIENT_IP)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_logs(made.share, made.server, client)}") from None
    done = max(up_client, up_server)
    connected = client.find(r"^Serial connection established\.$")
    assert connected is not None, client.text
    return done - client.started_at, done - connected[0]


@pytest.mark.parametrize(
    ("mode", "words"),
    [("rfc2217", ()), ("transparent", ()), ("raw", ("escape", "ff"))],
    ids=["rfc2217", "transparent", "raw-escape-ff"],
)
def test_call_through_shared_modem(
    lab: Lab, mode: str, words: tuple[str, ...], report_figure: Callable[[str, str], None]
) -> None:
    with chain(lab, mode) as made:
        client = made.dial("client", *words)
        wall, after_connect = _wait_up(made, client)
        logs = _logs(made.share, made.server, client)
        # The stock chat script talked to the modem through the share ...
        assert made.modem.commands[:2] == ["ATZ", f"ATDT{NUMBER}"], made.modem.commands
        assert made.modem.dialled == [NUMBER]
        assert made.share.find(rf"^Connect from 127\.0\.0\.1:\d+ to .* \({mode}\)$"), logs
        # ... and PPP ran over the call, PAP included.
        assert made.server.find(r"^PAP peer authentication succeeded for zaphod$"), logs
        assert client.find(rf"^local  IP address {CLIENT_IP}$"), logs
        ping(lab.b, SERVER_IP)
        ping(lab.a, CLIENT_IP)
        rates = []
        for sink_ns, sink_ip, source_ns, port in (
            (lab.a, SERVER_IP, lab.b, 5001),  # dialer -> server
            (lab.b, CLIENT_IP, lab.a, 5002),  # server -> dialer
        ):
            seconds, sent_hash, got_hash = tcp_transfer(
                lab, sink_ns, sink_ip, source_ns, size=TRANSFER_BYTES, port=port
            )
            assert sent_hash == got_hash
            rates.append(TRANSFER_BYTES / seconds / 1e6)
        # The lock is the share's for the length of the call.
        assert made.lock_files() == [f"LCK..{Path(made.modem.device).name}"]
        report_figure(
            f"share chain ({mode}): dialer started -> IPCP up on both",
            f"{wall * 1000:.0f} ms (from CONNECT: {after_connect * 1000:.0f} ms)",
        )
        report_figure(
            f"share chain ({mode}): TCP {TRANSFER_BYTES} bytes each way, sha256 equal",
            f"dial -> serve {rates[0]:.2f} MB/s, serve -> dial {rates[1]:.2f} MB/s",
        )
        client.signal(signal.SIGTERM)
        assert client.wait(15) == ExitStatus.USER_REQUEST, _logs(made.share, made.server, client)
        assert made.share.wait_for(r"^Disconnect 127\.0\.0\.1:\d+ \(client closed\)", 10)
        assert made.modem.wait_offline(5), "the modem kept the call after the share hung up"
        assert made.lock_files() == []
        assert "Traceback" not in _logs(made.share, made.server, client)


@pytest.mark.parametrize("mode", ["transparent", "rfc2217"])
def test_second_caller_finds_the_modem_busy(lab: Lab, mode: str) -> None:
    with chain(lab, mode) as made:
        first = made.dial("first")
        _wait_up(made, first)
        second = made.dial("second")
        status = second.wait(20)
        logs = _logs(made.share, made.server, first, second)
        assert made.share.find(r"^Modem busy: refused 127\.0\.0\.1:\d+ \(in use by "), logs
        if mode == "rfc2217":
            # The share refuses before any telnet negotiation, so pyserial's rfc2217 client
            # cannot open the port: pppd's "can't open the device", not a chat failure.
            assert status == ExitStatus.OPEN_FAILED, logs
            assert second.find(r"^Failed to open rfc2217://"), logs
        else:
            # The caller's chat reads the share's busy line and stops on its `ABORT BUSY`, as
            # it would on a modem's BUSY.
            assert status == ExitStatus.CONNECT_FAILED, logs
            assert second.find(r"pyppp-share: modem \S+ BUSY"), logs
            assert second.find(r"^Failed \(BUSY\)"), logs
            assert second.find(r"^Connect script failed"), logs
        assert not second.find(UP), logs
        assert made.modem.dialled == [NUMBER], "the second caller reached the modem"
        # The first call is undisturbed.
        ping(lab.b, SERVER_IP, count=2)
        assert "Traceback" not in logs, logs


@pytest.mark.parametrize(
    "far_end", ["hangup", "silence"], ids=["far-end-hung-up", "far-end-echo-failure"]
)
def test_caller_killed_mid_call_frees_the_modem(
    lab: Lab, far_end: str, report_figure: Callable[[str, str], None]
) -> None:
    # The server answers call after call (persist, no holdoff), as a dial-in server does; with
    # a silent far end only its LCP echoes can tell that the caller is gone.
    words = ["persist", "holdoff", "0"]
    if far_end == "silence":
        words += ["lcp-echo-interval", "1", "lcp-echo-failure", "3"]
    with chain(lab, "transparent", words, hangup_far_end=far_end == "hangup") as made:
        first = made.dial("first")
        _wait_up(made, first)
        ping(lab.b, SERVER_IP, count=1)
        assert made.lock_files(), "the share holds no lock during the call"
        killed_at = time.monotonic()
        first.signal(signal.SIGKILL)
        first.wait(10)
        # The share sees the TCP connection go, drops the modem and its lock ...
        made.share.wait_for(r"^Disconnect 127\.0\.0\.1:\d+ \(client", 10)
        assert made.modem.wait_offline(5), "the modem did not notice its DTE closing"
        assert made.modem.dte_hangups == 1
        assert made.lock_files() == []
        # ... and the answering side learns that the call is over.
        if far_end == "hangup":
            assert made.modem.far_hangups == 1
            gone = _wait_nth(made.server, r"^Modem hangup$", 1, 10)
        else:
            assert made.modem.far_hangups == 0
            _wait_nth(made.server, r"^No response to 3 echo-requests$", 1, 15)
            gone = _wait_nth(made.server, r"^Serial link appears to be disconnected\.$", 1, 5)
        # (After an echo failure the Terminate-Request still runs its restart timer.)
        _wait_nth(made.server, r"^Connection terminated\.$", 1, 15)
        report_figure(
            f"share chain: caller SIGKILLed -> serve notices ({far_end})",
            f"{(gone - killed_at) * 1000:.0f} ms",
        )
        # The server answers again, and a new caller gets the modem and a working link.
        _wait_nth(made.server, r"^Connect: ppp\d+ <--> ", 2, 10)
        second = made.dial("second")
        _wait_up(made, second, call=2)
        ping(lab.b, SERVER_IP, count=2)
        ping(lab.a, CLIENT_IP, count=2)
        assert made.modem.dialled == [NUMBER, NUMBER]
        assert "Traceback" not in _logs(made.share, made.server, second)


def test_socket_url_line_keeps_early_bytes_and_reads_in_bulk() -> None:
    """``socket://`` as the chain's dialer opens it (no namespace needed).

    Three bugs the chain showed, each checked here directly: pyserial's open() discarded what
    the server had sent already (the share's busy line), its reads came one byte per loop
    callback (50 kB/s), and without TCP_NODELAY back-to-back frames waited 40 ms for an ACK.
    """
    import asyncio
    import fcntl
    import socket as socketlib
    import struct
    import termios

    from pyppp.aio.line import FdLine, open_line

    payload = bytes(range(256)) * 4096  # 1 MiB

    async def main() -> tuple[bytes, list[int], int]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"pyppp-share: modem busy\r\n" + payload)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        got = bytearray()
        chunks: list[int] = []
        done = asyncio.Event()

        def on_data(data: bytes) -> None:
            got.extend(data)
            chunks.append(len(data))

        line = open_line(f"socket://127.0.0.1:{port}")
        assert isinstance(line, FdLine)
        # The server's first bytes wait in our socket before we start reading (FIONREAD).
        greeting = len(b"pyppp-share: modem busy\r\n")
        for _ in range(500):
            waiting = fcntl.ioctl(line.fd, termios.FIONREAD, struct.pack("i", 0))
            if struct.unpack("i", waiting)[0] >= greeting:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the server's greeting never arrived")
        line.start(on_data, lambda why: done.set())
        await asyncio.wait_for(done.wait(), 10)
        nodelay = socketlib.socket(fileno=os.dup(line.fd))
        try:
            flag = nodelay.getsockopt(socketlib.IPPROTO_TCP, socketlib.TCP_NODELAY)
        finally:
            nodelay.close()
        line.close()
        server.close()
        await server.wait_closed()
        return bytes(got), chunks, flag

    got, chunks, nodelay = asyncio.run(main())
    assert got == b"pyppp-share: modem busy\r\n" + payload
    assert len(chunks) < len(got) // 1024, "read byte by byte"
    assert nodelay
