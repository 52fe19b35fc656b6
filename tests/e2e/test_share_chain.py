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
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

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

# pppd's exit statuses (pppd(8) EXIT STATUS).
EXIT_USER_REQUEST = 5
EXIT_OPEN_FAILED = 7
EXIT_CONNECT_FAILED = 8
EXIT_HANGUP = 16


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
    return "\n".join(
        f"--- {p.label} (status {p.proc.poll()}):\n{p.text}" for p in processes
    )


@contextlib.contextmanager
def chain(lab: Lab, mode: str, server_words: Sequence[str] = ()) -> Iterator[Chain]:
    """Build the chain with ``pyppp share --<mode>``; the dialer is started by the test."""
    lock_dir = lab.tmp / "lock"
    lock_dir.mkdir()
    with ModemSim() as modem:
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
        yield Chain(lab, modem, share, server, f"{scheme}://127.0.0.1:{SHARE_PORT}", lock_dir)
        # Stop the processes while the modem still exists (the Lab would do it after).
        for process in reversed(lab.processes):
            process.stop()


def _wait_up(made: Chain, client: LoggedProcess, timeout: float = 20.0) -> tuple[float, float]:
    """Wait for IPCP up on both ends; return (dialer start -> up, CONNECT -> up) seconds."""
    try:
        up_client, _ = client.wait_for(UP, timeout)
        up_server, _ = made.server.wait_for(UP, timeout)
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
        assert client.wait(15) == EXIT_USER_REQUEST, _logs(made.share, made.server, client)
        assert made.share.wait_for(r"^Disconnect 127\.0\.0\.1:\d+ \(client closed\)", 10)
        assert made.modem.wait_offline(5), "the modem kept the call after the share hung up"
        assert made.lock_files() == []
        assert "Traceback" not in _logs(made.share, made.server, client)
