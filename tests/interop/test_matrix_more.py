"""Interop matrix, scenarios 6-9: pyppp against Debian's real pppd 2.4.9 in a QEMU guest.

6. The Windows direct-cable handshake, both ways: pppd running the Serial-Laplink-HOWTO's chat
   scripts (``winclient.chat`` as the host waiting for ``CLIENT``, ``winserver.chat`` as the
   client sending it) against pyppp's native ``--windows`` engines.
7. LCP echo keepalive: both sides echo every second for 30 s; then pppd is SIGKILLed and pyppp
   finds out through its own echoes (exit 15), or with ``persist`` redials a new pppd.
8. Terminate from either side: SIGTERM to pppd, then SIGTERM to pyppp; both logs, both exit
   statuses, and the TUN interface gone.
9. What pppd offers and pyppp does not run (CCP with pyppp's `noccp`, VJ compression): LCP
   Protocol-Reject and IPCP Configure-Reject, seen in both traces; IP still flows. IPv6CP,
   which pppd offers too, opens (scenario 10 tests it).

Every scenario checks both sides' logs and real traffic (ping both ways), and records its row
in the results table (``results.record``). pyppp is started first and has the line open before
the guest runs pppd (see :func:`start_on_line`); the link-up figure is pppd's start to its
IP-UP (guest clock), not the guest's boot. 6a is the exception: the Windows client calls a
host that is already waiting, so pyppp starts once chat waits for ``CLIENT`` and the figure is
pyppp's start to its "remote IP address" line. Whole file: about 2 minutes on 2 cores, one
guest at a time.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pyppp.errors import ExitStatus

from .harness import PppdGuest
from .pyppp_proc import PypppProcess
from .results import record

pytestmark = pytest.mark.interop

StartGuest = Callable[..., PppdGuest]
StartPyppp = Callable[..., PypppProcess]

# ExitStatus.HANGUP is pppd(8)'s "the link was terminated by the modem hanging up"; the real
# pppd 2.4.9 also exits so when the peer terminates the link (LCP Terminate-Request): measured
# in 8b.

# The Serial-Laplink-HOWTO's two chat scripts, verbatim.
WINCLIENT_CHAT = "TIMEOUT 3600\nCLIENT CLIENTSERVER\\c\n"
WINSERVER_CHAT = "TIMEOUT 10\n'' CLIENT\\c\n"
# ... and how the HOWTO has pppd run them (the host's options.ttyS1, the client's options).
WINCLIENT_CONNECT = ["connect", "chat -v -f /etc/ppp/scripts/winclient.chat"]
WINSERVER_CONNECT = ["connect", "chat -v -f /etc/ppp/scripts/winserver.chat"]
# What pppd offers by default anyway, spelled out: Deflate and BSD-Compress, VJ with 16 slots.
COMPRESSION_WORDS = ["deflate", "15", "bsdcomp", "15", "vj-max-slots", "16"]

_UP = r"^remote IP address "


class Row:
    """What a scenario puts in the results table besides pass/fail."""

    def __init__(self) -> None:
        self.link_up: float | None = None
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        """Add a note to the row (kept short: it is a table cell)."""
        self.notes.append(text)


@contextlib.contextmanager
def scenario(name: str) -> Iterator[Row]:
    """Record the scenario's row whatever happens: pass if the block ends without an error."""
    row = Row()
    try:
        yield row
    except BaseException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        row.note(f"failed: {first[:160]}")
        record(name, ok=False, link_up_seconds=row.link_up, notes="; ".join(row.notes))
        raise
    record(name, ok=True, link_up_seconds=row.link_up, notes="; ".join(row.notes))


def link_up_time(peer: PypppProcess, timeout: float = 30) -> float:
    """Wait for pyppp's "remote IP address" line; return seconds from pyppp's start to it."""
    peer.wait_log(_UP, timeout)
    seconds = peer.log_time(_UP)
    assert seconds is not None
    return seconds


def ping_both_ways(guest: PppdGuest, peer: PypppProcess, guest_ip: str, pyppp_ip: str) -> None:
    """Real traffic over the link: the guest pings pyppp's address, pyppp's netns pings back."""
    r = guest.run(f"ping -c 3 -w 10 {pyppp_ip}", timeout=30)
    assert r.status == 0, r.output
    assert any("3 packets received" in line for line in r.output), r.output
    p = peer.netns_run(["ping", "-c", "3", "-i", "0.3", "-W", "3", guest_ip], timeout=30)
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out + p.stderr.decode(errors="replace")
    assert " 0% packet loss" in out, out


def start_on_line(
    pyppp_process: StartPyppp, guest: PppdGuest, mode: str, words: list[str], **kwargs: object
) -> PypppProcess:
    """Start pyppp on the guest's line and wait until it has the line open.

    Done before the guest runs pppd: pyserial, like pppd itself (``TCSAFLUSH``), discards
    what waits in the tty's input queue when it opens the line, so a peer started later would
    lose pppd's first frame (3 s of restart timer) or chat's single ``CLIENT``. pyppp opens
    the pty within about 0.5 s; the guest needs 1.5 s or more to start pppd.
    """
    peer = pyppp_process(mode, guest.device, words, **kwargs)
    wait_line_open(peer, guest.device)
    return peer


def pppd_link_up(guest: PppdGuest, timeout: float = 60) -> float:
    """Wait for pppd's IP-UP; return seconds from pppd's start to it (guest events' clock)."""
    up = guest.wait_event("IP-UP", timeout)
    start = guest.wait_event("PPPD-START", 1)
    return up.t - start.t


def pppd_terminates(guest: PppdGuest, peer: PypppProcess, timeout: float = 15) -> int:
    """SIGTERM pppd, which must exit 5 (user request); return pyppp's exit status."""
    guest.signal_pppd("TERM")
    assert guest.wait(timeout) == ExitStatus.USER_REQUEST
    return peer.wait(timeout)


def wait_line_open(peer: PypppProcess, device: str, timeout: float = 10) -> None:
    """Wait until pyppp has ``device`` open (a link in ``/proc/PID/fd``)."""
    deadline = time.monotonic() + timeout
    fds = Path(f"/proc/{peer.pid}/fd")
    while True:
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == device for fd in fds.iterdir()):
                return
        assert peer.returncode is None, peer.log()
        assert time.monotonic() < deadline, f"pyppp did not open {device}: {peer.log()}"
        time.sleep(0.02)


def pyppp_links(peer: PypppProcess) -> str:
    """``ip -n NS link`` in pyppp's namespace (``lo`` only once the TUN is gone)."""
    return peer.netns_run(["ip", "-o", "link"]).stdout.decode(errors="replace")


def assert_no_tun(peer: PypppProcess) -> None:
    """pyppp's TUN interface is gone from its namespace."""
    links = pyppp_links(peer)
    assert not re.search(r"^\d+: ppp\d+", links, re.MULTILINE), links


def in_order(lines: list[str], *patterns: str) -> None:
    """Assert that lines matching ``patterns`` (regexes) appear in this order."""
    pos = 0
    for pattern in patterns:
        regex = re.compile(pattern)
        for i in range(pos, len(lines)):
            if regex.search(lines[i]):
                pos = i + 1
                break
        else:
            tail = "\n".join(lines[pos : pos + 40])
            raise AssertionError(f"no line matching {pattern!r} after line {pos}:\n{tail}")


# ---------------------------------------------------------------------------------- scenario 6


def test_6a_windows_host_pppd_winclient_chat(
    pppd_guest: StartGuest, pyppp_process: StartPyppp
) -> None:
    """pppd as the Windows *host* (``CLIENT CLIENTSERVER\\c``), ``pyppp dial --windows``."""
    with scenario("6a Windows handshake: pppd winclient.chat host, pyppp dial --windows") as row:
        guest = pppd_guest(
            ["115200", "noauth", "local", "10.99.6.1:10.99.6.2", "debug", *WINCLIENT_CONNECT],
            files={"/etc/ppp/scripts/winclient.chat": WINCLIENT_CHAT},
            timeout=120,
        )
        # chat has the line and waits for CLIENT: what a Windows client calls into.
        guest.wait_log(r"^expect \(CLIENT\)", 60, program="chat")
        peer = pyppp_process("dial", guest.device, ["noauth", "debug"], extra_args=["--windows"])
        row.link_up = link_up_time(peer)
        up = guest.wait_event("IP-UP", 15)
        assert (up.fields["local"], up.fields["remote"]) == ("10.99.6.1", "10.99.6.2")

        chat = [msg for _prog, _level, msg in guest.syslog("chat")]
        in_order(chat, r"^expect \(CLIENT\)", r"^ -- got it", r"^send \(CLIENTSERVER\)")
        in_order(
            guest.pppd_log(),
            r"^Serial connection established\.",
            r"^Connect: ppp0 <--> /dev/ttyS1",
            r"^rcvd \[LCP ConfReq",
            r"^local  IP address 10\.99\.6\.1",
        )
        in_order(
            peer.log(),
            r"^dcc client: sent CLIENT \(try 1 of",
            r"^dcc client: got SERVER; PPP starts",
            r"^Connect: ppp\d+ <--> ",
            r"^local  IP address 10\.99\.6\.2",
            r"^remote IP address 10\.99\.6\.1",
        )
        ping_both_ways(guest, peer, "10.99.6.1", "10.99.6.2")

        peer.stop()
        assert peer.wait(15) == ExitStatus.USER_REQUEST
        guest.wait_log(r"^LCP terminated by peer \(User request\)", 10)
        tries = peer.count(r"^dcc client: sent CLIENT")
        row.note(
            f"link-up from pyppp's start; chat got CLIENT after {tries} try(s); ping both ways"
        )


def test_6b_windows_client_pppd_winserver_chat(
    pppd_guest: StartGuest, pyppp_process: StartPyppp
) -> None:
    """pppd as the Windows *client* (``'' CLIENT\\c``), ``pyppp serve --windows``."""
    with scenario("6b Windows handshake: pppd winserver.chat client, pyppp serve --windows") as row:
        guest = pppd_guest(
            ["115200", "noauth", "local", "noipdefault", "debug", *WINSERVER_CONNECT],
            files={"/etc/ppp/scripts/winserver.chat": WINSERVER_CHAT},
            timeout=120,
        )
        # The server listens before the client sends its single CLIENT.
        peer = start_on_line(
            pyppp_process, guest, "serve", ["10.99.6.11:10.99.6.12", "debug"], auth="none",
            extra_args=["--windows"],
        )  # fmt: skip
        row.link_up = pppd_link_up(guest)
        up = guest.wait_event("IP-UP", 1)
        assert (up.fields["local"], up.fields["remote"]) == ("10.99.6.12", "10.99.6.11")

        chat = [msg for _prog, _level, msg in guest.syslog("chat")]
        in_order(chat, r"^send \(CLIENT\)")
        in_order(guest.pppd_log(), r"^Serial connection established\.", r"^rcvd \[LCP ConfReq")
        in_order(
            peer.log(),
            r"^dcc server: got CLIENT, sent CLIENTSERVER",
            r"^Connect: ppp\d+ <--> ",
            r"^local  IP address 10\.99\.6\.11",
            r"^remote IP address 10\.99\.6\.12",
        )
        ping_both_ways(guest, peer, "10.99.6.12", "10.99.6.11")

        status = pppd_terminates(guest, peer)
        assert status == ExitStatus.HANGUP
        row.note(f"ping both ways; SIGTERM to pppd: pppd 5, pyppp serve {status}")


# ---------------------------------------------------------------------------------- scenario 7

ECHO_WORDS = ["lcp-echo-interval", "1", "lcp-echo-failure", "3"]
KEEPALIVE_SECONDS = 30


def test_7a_keepalive_then_dead_peer(pppd_guest: StartGuest, pyppp_process: StartPyppp) -> None:
    """Echo both ways for 30 s; SIGKILL pppd; pyppp gives up after 3 echoes: status 15."""
    with scenario("7a LCP echo keepalive 30 s, pppd SIGKILLed -> pyppp exit 15") as row:
        guest = pppd_guest(
            ["noauth", "local", "10.99.7.1:10.99.7.2", "debug", "debug", *ECHO_WORDS],
            linger=True,  # after SIGKILL the line stays open and silent: a dead peer
            timeout=150,
        )
        peer = start_on_line(
            pyppp_process, guest, "dial", ["noauth", "debug", "debug", *ECHO_WORDS]
        )
        row.link_up = pppd_link_up(guest)

        # 30 s of keepalive: neither side may drop the link.
        start = time.monotonic()
        while time.monotonic() - start < KEEPALIVE_SECONDS:
            assert peer.returncode is None, peer.log()[-20:]
            assert guest.pppd_exit is None
            time.sleep(0.5)
        ping_both_ways(guest, peer, "10.99.7.1", "10.99.7.2")
        log = guest.pppd_log()
        pppd_sent = sum(1 for x in log if x.startswith("sent [LCP EchoReq"))
        pppd_answered = sum(1 for x in log if x.startswith("rcvd [LCP EchoRep"))
        pyppp_sent = peer.count(r"^sent \[LCP EchoReq")
        pyppp_answered = peer.count(r"^rcvd \[LCP EchoRep")
        assert pppd_sent >= KEEPALIVE_SECONDS - 3, log[-20:]
        assert pyppp_sent >= KEEPALIVE_SECONDS - 3
        # Every request but the last in flight was answered, both ways.
        assert pppd_answered >= pppd_sent - 1
        assert pyppp_answered >= pyppp_sent - 1
        assert peer.count(r"^rcvd \[LCP EchoReq") >= pppd_sent - 1
        assert not any("No response to" in x for x in log)

        guest.signal_pppd("KILL")
        killed = time.monotonic()
        assert guest.wait(10) == 137
        assert peer.wait(20) == ExitStatus.PEER_DEAD
        gone = time.monotonic() - killed
        assert peer.started_at is not None
        noticed = peer.log_time(r"^No response to 3 echo-requests")
        assert noticed is not None
        detect = noticed - (killed - peer.started_at)
        # Three unanswered requests one second apart: about 3-4 s, never much more.
        assert 2 < detect < 1 * (3 + 1) + 2.5, detect
        # Then, as pppd: lcp_close("Peer not responding"), Terminate-Request twice, 3 s apart
        # (lcp-max-terminate 2, restart 3 s), unanswered; the link is dead after ~6 s more.
        assert gone < detect + 2 * 3 + 2.5, gone
        assert peer.count(r'^sent \[LCP TermReq id=0x\w+ "Peer not responding"\]') == 2
        in_order(
            peer.log(),
            r"^No response to 3 echo-requests",
            r"^Serial link appears to be disconnected\.",
            r"^Connection terminated\.",
        )
        assert_no_tun(peer)
        row.note(
            f"{KEEPALIVE_SECONDS} s: pppd sent {pppd_sent} EchoReq/got {pppd_answered} EchoRep, "
            f"pyppp sent {pyppp_sent}/got {pyppp_answered}; dead peer noticed in {detect:.1f} s, "
            f"exit 15 after {gone:.1f} s (2 TermReqs)"
        )


def test_7b_dead_peer_with_persist_redials(
    pppd_guest: StartGuest, pyppp_process: StartPyppp
) -> None:
    """With ``persist holdoff 1`` pyppp redials after the dead peer; a new pppd answers."""
    with scenario("7b dead peer with persist holdoff 1 -> pyppp redials a new pppd") as row:
        pppd_words = ["noauth", "local", "10.99.7.11:10.99.7.12", "debug", *ECHO_WORDS]
        guest = pppd_guest(pppd_words, linger=True, timeout=150)
        peer = start_on_line(
            pyppp_process,
            guest,
            "dial",
            ["noauth", "debug", *ECHO_WORDS, "persist", "holdoff", "1"],
        )
        row.link_up = pppd_link_up(guest)

        guest.signal_pppd("KILL")
        assert guest.wait(10) == 137
        peer.wait_log(r"^Serial link appears to be disconnected\.", 10)
        # holdoff 1: the second call starts about a second later, on the same line.
        peer.wait_log(r"^Connection terminated\.", 12)
        ended = time.monotonic()
        assert peer.count(r"^Connect: ppp\d+ <--> ") == 1
        while peer.count(r"^Connect: ppp\d+ <--> ") < 2:
            assert time.monotonic() < ended + 10, peer.log()[-20:]
            assert peer.returncode is None, peer.log()[-20:]
            time.sleep(0.05)
        holdoff = time.monotonic() - ended
        assert 0.5 < holdoff < 3.5, holdoff

        # A new pppd on the guest's line (what a Windows host or getty would restart).
        cid = guest.spawn("pppd /dev/ttyS1 nodetach " + " ".join(pppd_words) + " >/dev/null")
        # (wait_event refuses hook events once the first pppd has exited: poll instead)
        deadline = time.monotonic() + 40
        while peer.count(_UP) < 2 or len([e for e in guest.events if e.name == "IP-UP"]) < 2:
            assert time.monotonic() < deadline, peer.log()[-20:]
            assert peer.returncode is None, peer.log()[-20:]
            time.sleep(0.1)
        ping_both_ways(guest, peer, "10.99.7.11", "10.99.7.12")

        peer.stop()
        assert peer.wait(15) == ExitStatus.USER_REQUEST
        second = guest.result(cid, 15)
        row.note(
            f"redial {holdoff:.1f} s after the end (holdoff 1), IP-UP with a new pppd; "
            "ping both ways; "
            f"that pppd exited {second.status} on pyppp's SIGTERM"
        )


# ---------------------------------------------------------------------------------- scenario 8

# Exit statuses measured in 8a, compared in 8b with pppd's in the mirrored situation.
_statuses: dict[str, int] = {}


def test_8a_sigterm_to_pppd(pppd_guest: StartGuest, pyppp_process: StartPyppp) -> None:
    """SIGTERM to pppd: TermReq, pyppp TermAcks, "LCP terminated by peer", TUN removed."""
    with scenario("8a SIGTERM to pppd -> pyppp terminated by peer") as row:
        guest = pppd_guest(["noauth", "local", "10.99.8.1:10.99.8.2", "debug"], timeout=120)
        peer = start_on_line(pyppp_process, guest, "dial", ["noauth", "debug"])
        row.link_up = pppd_link_up(guest)
        assert re.search(r"^\d+: ppp\d+", pyppp_links(peer), re.MULTILINE)
        ping_both_ways(guest, peer, "10.99.8.1", "10.99.8.2")

        status = pppd_terminates(guest, peer)
        assert status == ExitStatus.HANGUP
        in_order(
            guest.pppd_log(),
            r"^Terminating on signal 15",
            r'^sent \[LCP TermReq id=0x\w+ "User request"\]',
            r"^rcvd \[LCP TermAck",
        )
        in_order(
            peer.log(),
            r'^rcvd \[LCP TermReq id=0x\w+ "User request"\]',
            r"^LCP terminated by peer \(User request\)",
            r"^sent \[LCP TermAck",
            r"^Connection terminated\.",
        )
        assert_no_tun(peer)
        row.note(f"pppd exit 5, pyppp exit {status}")
        # pppd's own status for the same situation is measured in 8b.
        _statuses["pyppp terminated by peer"] = status


def test_8b_sigterm_to_pyppp(pppd_guest: StartGuest, pyppp_process: StartPyppp) -> None:
    """SIGTERM to pyppp: TermReq, pppd logs "LCP terminated by peer (User request)" and exits."""
    with scenario("8b SIGTERM to pyppp -> pppd terminated by peer") as row:
        guest = pppd_guest(["noauth", "local", "10.99.8.11:10.99.8.12", "debug"], timeout=120)
        peer = start_on_line(pyppp_process, guest, "dial", ["noauth", "debug"])
        row.link_up = pppd_link_up(guest)
        ping_both_ways(guest, peer, "10.99.8.11", "10.99.8.12")

        peer.stop()
        assert peer.wait(15) == ExitStatus.USER_REQUEST
        pppd_status = guest.wait(15)
        in_order(
            peer.log(),
            r"^Terminating on signal 15",
            r'^sent \[LCP TermReq id=0x\w+ "User request"\]',
            r"^rcvd \[LCP TermAck",
            r"^Connection terminated\.",
        )
        in_order(
            guest.pppd_log(),
            r'^rcvd \[LCP TermReq id=0x\w+ "User request"\]',
            r"^LCP terminated by peer \(User request\)",
            r"^sent \[LCP TermAck",
            r"^Connection terminated\.",
        )
        guest.wait_event("IP-DOWN", 5)
        assert_no_tun(peer)
        row.note(f"pyppp exit 5, pppd exit {pppd_status}")
        mirrored = _statuses.get("pyppp terminated by peer")
        if mirrored is not None:
            row.note(f"pyppp in the mirrored case (8a): {mirrored}")
            # We want pyppp to exit as pppd does when the peer terminates the link.
            assert mirrored == pppd_status, (
                f"terminated by peer: pppd exits {pppd_status}, pyppp exits {mirrored}"
            )


# ---------------------------------------------------------------------------------- scenario 9


def test_9_unsupported_protocols_rejected(
    pppd_guest: StartGuest, pyppp_process: StartPyppp
) -> None:
    """pppd offers CCP (Deflate, BSD-Compress), VJ and IPv6CP; pyppp with ``noccp`` and
    ``novj`` (scenarios 11 and 12 negotiate them) Protocol-Rejects CCP and Configure-Rejects VJ,
    IPv6CP opens, IP flows."""
    with scenario("9 CCP Protocol-Reject, VJ ConfRej, IPv6CP up (pppd client, pyppp serve)") as row:
        guest = pppd_guest(
            ["noauth", "local", "noipdefault", "debug", "+ipv6", *COMPRESSION_WORDS],
            timeout=120,
        )
        peer = start_on_line(
            pyppp_process,
            guest,
            "serve",
            ["10.99.9.1:10.99.9.2", "debug", "novj", "noccp"],
            auth="none",
        )
        row.link_up = pppd_link_up(guest)
        up = guest.wait_event("IP-UP", 1)
        assert (up.fields["local"], up.fields["remote"]) == ("10.99.9.2", "10.99.9.1")
        ping_both_ways(guest, peer, "10.99.9.2", "10.99.9.1")

        plog = guest.pppd_log()
        # What pppd offered: the three compressors, IPv6CP, VJ with 16 slots (max-slot-id 0f).
        in_order(plog, r"^sent \[CCP ConfReq id=0x\w+ .*<deflate 15>.*<bsd v1 15>")
        in_order(plog, r"^sent \[IPV6CP ConfReq")
        in_order(plog, r"^sent \[IPCP ConfReq id=0x\w+ <compress VJ 0f 01>")
        # What pyppp answered, in its own trace...
        in_order(peer.log(), r"^rcvd \[CCP ConfReq", r"^sent \[LCP ProtRej id=0x\w+ 80 fd 01")
        # IPv6CP is pyppp's default too now (as pppd >= 2.4.9): it opens, no Protocol-Reject.
        in_order(peer.log(), r"^rcvd \[IPV6CP ConfReq", r"^sent \[IPV6CP ConfAck")
        assert not any(re.match(r"^sent \[LCP ProtRej id=0x\w+ 80 57", x) for x in peer.log())
        in_order(peer.log(), r"^sent \[IPCP ConfRej id=0x\w+ <compress VJ 0f 01>\]")
        # ...and as pppd read it.
        in_order(plog, r"^Protocol-Reject for 'Compression Control Protocol' \(0x80fd\) received")
        in_order(
            plog,
            r"^rcvd \[IPCP ConfRej id=0x\w+ <compress VJ 0f 01>\]",
            r"^sent \[IPCP ConfReq id=0x\w+ <addr",
        )
        assert not any("compression enabled" in x for x in plog)
        assert not any("Protocol-Reject for 'IPv6 Control Protocol'" in x for x in plog)
        in_order(plog, r"^local  LL address fe80::")

        pppd_terminates(guest, peer)
        row.note("ProtRej CCP 0x80fd, ConfRej VJ, IPv6CP opened; ping both ways")


# ------------------------------------------------------------- the handover bug 6b found


def test_prelude_handover_keeps_the_first_frame() -> None:
    """Bytes that arrive between the handshake's end and the link's start reach the link.

    Found by scenario 6b (about one run in three): the caller's first LCP frame arrived in two
    reads, ``~`` and then the rest; the rest landed in the finished handshake's callback while
    the supervisor was still one loop turn away from starting the link, and was dropped
    (pppd's retransmission 3 s later saved the link). No guest needed: a pty, the Windows
    server engine, and the same task hop as ``Supervisor._prelude``.
    """
    import asyncio
    import tty

    from pyppp.aio.engines import drive
    from pyppp.aio.line import open_line
    from pyppp.aio.prelude import LinePort
    from pyppp.hdlc import encode_frame
    from pyppp.pppd.windows import DccServer

    frame = encode_frame(0xC021, bytes.fromhex("0101000a0506cafe0001"))
    master, slave = os.openpty()
    tty.setraw(master)

    class Server(DccServer):
        def receive_data(self, data: bytes, now: float) -> None:
            was_done = self.done
            super().receive_data(data, now)
            if self.done and not was_done:
                os.write(master, frame[1:])  # the rest of the frame, right after the flag

    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        line = open_line(os.ttyname(slave))
        try:
            os.write(master, b"CLIENT" + frame[:1])
            task = asyncio.ensure_future(drive(Server(timeout=5, now=loop.time()), LinePort(line)))
            await asyncio.wait({task})  # the supervisor's hop: one more loop turn
            status, leftover = task.result()
            assert status == 0
            got = bytearray(leftover)
            line.start(got.extend, lambda why: None)
            await asyncio.sleep(0.2)
            return bytes(got)
        finally:
            line.close()

    try:
        assert asyncio.run(main()) == frame
    finally:
        os.close(master)
        os.close(slave)
