"""Interop matrix, scenario 11: CCP with Deflate (RFC 1962/1979) against Debian's pppd 2.4.9.

pppd's default offers (``deflate 15`` as RFC 1979's Type 26 and the draft 24, ``bsdcomp 15``)
meet pyppp's defaults; the guest's kernel compresses and decompresses with ``ppp_deflate``, so
these rows check pyppp's Deflate against Linux's, byte for byte, both ways:

11a. pppd answers, ``pyppp dial``: pyppp acknowledges pppd's offer (BSD-Compress after Deflate
     is never used), both logs say pppd's
     "Deflate (15) compression enabled"; 256 KiB of English text by TCP host -> guest and back,
     then 256 KiB of random data followed by text into the guest, SHA-256 checked.
11b. pppd calls ``pyppp serve``: the same from the other role.
11c. pppd ``deflate 12``: pppd Naks pyppp's window 15 with 12 and asks for 12 itself; both
     say "Deflate (12) compression enabled"; text both ways.

VJ (IPCP's option) is another row's business; these rows leave it as pppd offers it.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pyppp.errors import ExitStatus

from .harness import PppdGuest
from .pyppp_proc import PypppProcess
from .test_matrix_basic import tcp_guest_to_host, tcp_host_to_guest
from .test_matrix_more import in_order, pppd_link_up, scenario, start_on_line

pytestmark = pytest.mark.interop

StartGuest = Callable[..., PppdGuest]
StartPyppp = Callable[..., PypppProcess]

# English text: Python's own pydoc topics, the example (256 KiB of it).
_TOPICS = next(Path("/usr/lib").glob("python3*/pydoc_data/topics.py"), None)


def english_text(size: int = 256 * 1024) -> bytes:
    """256 KiB of English text (repeated if the source is shorter)."""
    if _TOPICS is None:
        pytest.skip("no pydoc_data/topics.py on this host")
    data = _TOPICS.read_bytes()
    return (data * (size // len(data) + 1))[:size]


def text_both_ways(guest: PppdGuest, peer: PypppProcess, guest_ip: str, pyppp_ip: str) -> int:
    """The text into the guest (pyppp compresses) and back out (the kernel compresses)."""
    text = english_text()
    tcp_host_to_guest(guest, peer, guest_ip, text, 7101)
    # The guest kept what it received in /tmp/rx.7101: send it back.
    crossed = tcp_guest_to_host(guest, peer, pyppp_ip, "/tmp/rx.7101", 7102)
    assert crossed == len(text)
    assert hashlib.sha256((peer.config_dir / "rx.7102").read_bytes()).digest() == (
        hashlib.sha256(text).digest()
    )
    return len(text)


def both_say(guest: PppdGuest, peer: PypppProcess, line: str) -> None:
    """pppd's log and pyppp's both have ``line``, exactly."""
    guest.wait_log(f"^{re.escape(line)}$", 20)
    peer.wait_log(f"^{re.escape(line)}$", 20)


def test_11a_pppd_default_offers_pyppp_dials(
    pppd_guest: StartGuest, pyppp_process: StartPyppp
) -> None:
    with scenario("11a CCP Deflate: pppd's default offers, pyppp dial") as row:
        guest = pppd_guest(["noauth", "local", "10.99.11.1:10.99.11.2", "debug"], timeout=180)
        peer = start_on_line(pyppp_process, guest, "dial", ["noauth", "debug"])
        row.link_up = pppd_link_up(guest)
        both_say(guest, peer, "Deflate (15) compression enabled")
        plog = guest.pppd_log()
        offer = r"<deflate 15> <deflate\(old#\) 15> <bsd v1 15>\]"
        in_order(plog, r"^sent \[CCP ConfReq id=0x\w+ " + offer)
        in_order(
            peer.log(),
            r"^rcvd \[CCP ConfReq id=0x\w+ <deflate 15> <deflate\(old#\) 15> <bsd v1 15>\]",
            # BSD-Compress comes after Deflate: acknowledged, never used (see CcpNegotiator).
            r"^sent \[CCP ConfAck id=0x\w+ " + offer,
        )
        in_order(peer.log(), r"^sent \[CCP ConfReq id=0x1 <deflate 15> <deflate\(old#\) 15>\]")
        size = text_both_ways(guest, peer, "10.99.11.1", "10.99.11.2")
        # Random data, then text again: pyppp stops running deflate over what does not shrink
        # and later primes a new stream with its window; the kernel must decompress it all.
        noise = random.Random(1979).randbytes(256 * 1024)
        tcp_host_to_guest(guest, peer, "10.99.11.1", noise + english_text(64 * 1024), 7103)
        # Compression stayed on: no reset, no "Lost compression sync" either side.
        for log in (guest.pppd_log(), peer.log()):
            assert not any("Lost compression sync" in x for x in log)
        peer.stop()
        assert peer.wait(30) == ExitStatus.USER_REQUEST
        row.note(f"pppd's offer acked; Deflate 15 both ways; {size} B text each way hashed")


def test_11b_pppd_calls_pyppp_serve(pppd_guest: StartGuest, pyppp_process: StartPyppp) -> None:
    with scenario("11b CCP Deflate: pppd's default offers, pppd calls pyppp serve") as row:
        guest = pppd_guest(["noauth", "local", "noipdefault", "debug"], timeout=180)
        peer = start_on_line(
            pyppp_process, guest, "serve", ["10.99.11.11:10.99.11.12", "debug"], auth="none"
        )
        row.link_up = pppd_link_up(guest)
        both_say(guest, peer, "Deflate (15) compression enabled")
        in_order(peer.log(), r"^sent \[CCP ConfAck id=0x1 <deflate 15> <deflate\(old#\) 15> <bsd")
        size = text_both_ways(guest, peer, "10.99.11.12", "10.99.11.11")
        guest.signal_pppd("TERM")
        assert guest.wait(30) == ExitStatus.USER_REQUEST
        peer.wait(30)
        row.note(f"Deflate 15 both ways; {size} B text each way hashed")


def test_11c_pppd_deflate_12(pppd_guest: StartGuest, pyppp_process: StartPyppp) -> None:
    with scenario("11c CCP Deflate: pppd deflate 12, pyppp dial") as row:
        guest = pppd_guest(
            ["noauth", "local", "10.99.11.21:10.99.11.22", "debug", "deflate", "12"], timeout=180
        )
        peer = start_on_line(pyppp_process, guest, "dial", ["noauth", "debug"])
        row.link_up = pppd_link_up(guest)
        both_say(guest, peer, "Deflate (12) compression enabled")
        in_order(
            peer.log(),
            r"^sent \[CCP ConfReq id=0x1 <deflate 15> <deflate\(old#\) 15>\]",
            r"^rcvd \[CCP ConfNak id=0x1 <deflate 12>",
            r"^sent \[CCP ConfReq id=0x2 <deflate 12> <deflate\(old#\) 12>\]",
        )
        size = text_both_ways(guest, peer, "10.99.11.21", "10.99.11.22")
        peer.stop()
        assert peer.wait(30) == ExitStatus.USER_REQUEST
        row.note(f"pppd Naks 15 -> 12; Deflate 12 both ways; {size} B text each way hashed")
