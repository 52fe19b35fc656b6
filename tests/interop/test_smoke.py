"""Smoke tests of the interop harness itself: the real pppd boots, talks, reaches IP-UP.

They use only the stdlib peer in ``minippp.py``, so they prove the harness before (and
independently of) pyppp's own link.
"""

from __future__ import annotations

import re
import struct
import time
from collections.abc import Callable

import pytest

from .harness import PppdGuest
from .minippp import IPCP, LCP, Deframer, Responder, options

pytestmark = pytest.mark.interop

Start = Callable[..., PppdGuest]


def read_frames(
    guest: PppdGuest, want: int, timeout: float
) -> tuple[list[tuple[int, bytes]], bytes]:
    """Read raw bytes from the line until ``want`` frames decoded; return (frames, raw bytes)."""
    deframer = Deframer()
    frames: list[tuple[int, bytes]] = []
    raw = b""
    deadline = time.monotonic() + timeout
    with guest.open_line() as line:
        while len(frames) < want and time.monotonic() < deadline:
            chunk = line.read(0.2)
            raw += chunk
            frames += deframer.feed(chunk)
    return frames, raw


def test_first_lcp_configure_request(pppd_guest: Start) -> None:
    secrets = "pyppp * s3cret *\n"
    guest = pppd_guest(
        ["115200", "noauth", "local", "passive", "debug"],
        files={"/etc/ppp/pap-secrets": secrets, "/etc/chatscripts/dial": "'' AT\nOK ATDT1\n"},
        timeout=90,
    )
    assert guest.device.startswith("/dev/pts/")
    frames, raw = read_frames(guest, 1, timeout=30)
    assert frames, f"no frame from pppd; raw bytes {raw.hex(' ')}"
    protocol, info = frames[0]
    assert protocol == LCP
    code, ident, length = struct.unpack(">BBH", info[:4])
    assert (code, ident) == (1, 1)  # Configure-Request, pppd's first id
    opts = dict(options(info[4:length]))
    assert opts[2] == b"\0\0\0\0"  # ACCM
    assert set(opts) == {2, 5, 7, 8}  # ACCM, Magic-Number, PFC, ACFC (no MRU: 1500 is default)
    magic = opts[5].hex()

    # pppd's own trace of the same frame.
    m = guest.wait_log(r"sent \[LCP ConfReq id=0x1 <asyncmap 0x0> <magic 0x([0-9a-f]+)>", 10)
    assert int(m[1], 16) == int(magic, 16)
    assert guest.pppd_log()[0].startswith("pppd 2.4.9 started")

    # pyppp's own deframer reads pppd's bytes the same way (when it exists).
    try:
        from pyppp.hdlc import Deframer as PypppDeframer
    except ImportError:
        pass
    else:
        mine = PypppDeframer().feed(raw)
        assert (mine[0].protocol, bytes(mine[0].information)) == (LCP, info)

    # Per-run files, the control channel, and the tools the scenarios use for hash-checked
    # transfers (over the guest's loopback here): httpd + wget, nc (TCP), nc.openbsd (UDP).
    r = guest.run(
        "stat -c '%a %n' /etc/ppp/pap-secrets /etc/chatscripts/dial; cat /etc/ppp/pap-secrets\n"
        "which pppd chat ping md5sum >/dev/null || echo missing tools\n"
        "mkdir /tmp/www; head -c 100000 /dev/urandom >/tmp/www/f; sha256sum </tmp/www/f\n"
        "httpd -p 127.0.0.1:8080 -h /tmp/www; wget -q -O - http://127.0.0.1:8080/f | sha256sum\n"
        "nc -l -p 5001 >/tmp/t & sleep 0.3; nc.openbsd -N 127.0.0.1 5001 </tmp/www/f; wait\n"
        "sha256sum </tmp/t\n"
        "nc.openbsd -u -l 127.0.0.1 5002 >/tmp/u & sleep 0.3\n"
        "echo udp-ok | nc.openbsd -u -w1 -q0 127.0.0.1 5002; sleep 0.3; cat /tmp/u"
    )
    assert r.status == 0, r.output
    assert r.output[:3] == [
        "600 /etc/ppp/pap-secrets",
        "644 /etc/chatscripts/dial",
        secrets.strip(),
    ]
    digests = r.output[3:6]
    assert len(set(digests)) == 1, r.output
    assert re.fullmatch(r"[0-9a-f]{64}  -", digests[0]), r.output
    assert r.output[6:] == ["udp-ok"]

    # SIGKILL: pppd vanishes without a Terminate-Request (a dead peer); the shell reports 128+9.
    guest.signal_pppd("KILL")
    assert guest.wait(15) == 137
    assert not any("TermReq" in line for line in guest.pppd_log())
    print(guest.summary())


@pytest.mark.parametrize("endpoint", ["pty", "unix"])
def test_responder_reaches_ip_up(pppd_guest: Start, endpoint: str) -> None:
    guest = pppd_guest(
        ["115200", "noauth", "local", "10.99.1.1:10.99.1.2", "debug", "nodefaultroute"],
        endpoint=endpoint,
        cmd="ip -4 addr show ppp0",
        after_cmd="wait",
        timeout=90,
    )
    with guest.open_line() as line:
        peer = Responder(line)
        peer.pump(lambda: guest.link_up_seconds is not None, timeout=60)
        up = guest.wait_event("IP-UP", 5)
        assert (up.fields["local"], up.fields["remote"], up.fields["iface"]) == (
            "10.99.1.1",
            "10.99.1.2",
            "ppp0",
        )
        peer.pump(lambda: guest.cmd_status is not None, timeout=30)
        assert guest.cmd_status == 0
        assert any(
            re.search(r"inet 10\.99\.1\.1 peer 10\.99\.1\.2/32", x) for x in guest.cmd_output
        )
        assert any(p == IPCP for p, _ in peer.received)

        # SIGTERM: pppd sends LCP Terminate-Request, the responder acks, pppd exits 5.
        guest.signal_pppd("TERM")
        peer.pump(lambda: guest.pppd_exit is not None, timeout=30)
    assert guest.pppd_exit == 5
    guest.wait_event("IP-DOWN", 5)
    log = "\n".join(guest.pppd_log())
    assert "rcvd [LCP TermAck" in log
    assert "local  IP address 10.99.1.1" in log
    guest.wait_poweroff(15)
    print(endpoint, guest.summary())


def test_two_guests_back_to_back(pppd_guest: Start) -> None:
    """Two real pppds on one line (``connect=``): the reference behaviour pyppp must match."""
    a = pppd_guest(
        ["noauth", "local", "10.99.2.1:10.99.2.2", "debug"],
        endpoint="unix",
        cmd="sleep 30",
        cmd_after="start",
        timeout=90,
    )
    b = pppd_guest(
        ["noauth", "local", "10.99.2.2:10.99.2.1", "debug"],
        connect=a.device,
        cmd="ping -c 2 -w 10 10.99.2.1",
        timeout=90,
    )
    assert b.wait(60) == 5  # the ping finished, then init SIGTERMed pppd
    assert b.cmd_status == 0, b.cmd_output
    assert "2 packets transmitted, 2 packets received, 0% packet loss" in b.cmd_output
    assert a.wait_event("IP-UP", 5).fields["remote"] == "10.99.2.2"
    a.wait_log(r"rcvd \[LCP TermReq", 10)
    print("A", a.summary())
    print("B", b.summary())
