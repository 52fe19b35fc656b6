"""Interop matrix, scenario 10: IPv6CP (RFC 5072) against Debian's real pppd 2.4.9.

10a. pppd ``+ipv6 ipv6 ::1,::2`` answering, ``pyppp dial`` with random identifiers: pppd Naks
     pyppp's identifier with ``::2``; both print pppd's ``local  LL address fe80::...`` lines;
     the guest pings pyppp's link-local address over ppp0 and pyppp pings back; IPv4 pings too.
10b. pppd ``+ipv6`` calling ``pyppp serve`` (random identifiers on both sides): IPv6CP opens,
     the guest's ``ipv6-up`` hook sees pyppp's address as the remote one, pings both ways.
10c. pppd ``noipv6``: it Protocol-Rejects pyppp's IPV6CP; pyppp stops asking and the link is
     IPv4 only, as before.

Each row records itself in the results table like the other scenarios.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from ipaddress import IPv6Address

import pytest

from pyppp.errors import ExitStatus

from .harness import PppdGuest
from .pyppp_proc import PypppProcess
from .test_matrix_more import (
    in_order,
    ping_both_ways,
    pppd_link_up,
    pppd_terminates,
    scenario,
    start_on_line,
)

pytestmark = pytest.mark.interop

StartGuest = Callable[..., PppdGuest]
StartPyppp = Callable[..., PypppProcess]

_LL = r"fe80::[0-9a-f]{4}:[0-9a-f]{4}:[0-9a-f]{4}:[0-9a-f]{4}"


def short(pppd_ll: str) -> str:
    """``fe80::0000:0000:0000:0002`` -> ``fe80::2`` (what ping and ip(8) print)."""
    return str(IPv6Address(pppd_ll))


def link_locals(lines: list[str]) -> tuple[str, str]:
    """The ``local  LL address`` and ``remote LL address`` of a pppd-style log."""
    local = next(m[1] for x in lines if (m := re.match(rf"^local  LL address ({_LL})$", x)))
    remote = next(m[1] for x in lines if (m := re.match(rf"^remote LL address ({_LL})$", x)))
    return local, remote


def ping6_both_ways(guest: PppdGuest, peer: PypppProcess, guest_ll: str, pyppp_ll: str) -> None:
    """The guest pings pyppp's link-local over ppp0; pyppp's namespace pings the guest's."""
    r = guest.run(f"ping6 -c 3 -w 10 -I ppp0 {short(pyppp_ll)}", timeout=30)
    assert r.status == 0, r.output
    assert any("3 packets received" in line for line in r.output), r.output
    p = peer.netns_run(
        ["ping", "-6", "-c", "3", "-i", "0.3", "-W", "3", f"{short(guest_ll)}%ppp0"], timeout=30
    )
    out = p.stdout.decode(errors="replace")
    assert p.returncode == 0, out + p.stderr.decode(errors="replace")
    assert " 0% packet loss" in out, out


def test_10a_pppd_fixed_identifiers_pyppp_dials(
    pppd_guest: StartGuest, pyppp_process: StartPyppp
) -> None:
    with scenario("10a IPv6CP: pppd +ipv6 ipv6 ::1,::2, pyppp dial") as row:
        guest = pppd_guest(
            ["noauth", "local", "10.99.10.1:10.99.10.2", "debug", "+ipv6", "ipv6", "::1,::2"],
            timeout=120,
        )
        peer = start_on_line(pyppp_process, guest, "dial", ["noauth", "debug"])
        row.link_up = pppd_link_up(guest)
        up6 = guest.wait_event("IPV6-UP", 20)
        assert up6.fields["local"] == "fe80::0000:0000:0000:0001", up6.text
        assert up6.fields["remote"] == "fe80::0000:0000:0000:0002", up6.text
        peer.wait_log(r"^remote LL address fe80::0000:0000:0000:0001$", 10)
        assert link_locals(peer.log()) == (
            "fe80::0000:0000:0000:0002",
            "fe80::0000:0000:0000:0001",
        )
        # pppd told pyppp which identifier to use, and pyppp took it.
        in_order(
            peer.log(),
            r"^sent \[IPV6CP ConfReq id=0x1 <addr fe80::",
            r"^rcvd \[IPV6CP ConfNak id=0x1 <addr fe80::0000:0000:0000:0002>\]",
            r"^sent \[IPV6CP ConfReq id=0x2 <addr fe80::0000:0000:0000:0002>\]",
            r"^rcvd \[IPV6CP ConfAck id=0x2 <addr fe80::0000:0000:0000:0002>\]",
        )
        in_order(guest.pppd_log(), r"^local  LL address fe80::0000:0000:0000:0001")
        ping6_both_ways(guest, peer, "fe80::0000:0000:0000:0001", "fe80::0000:0000:0000:0002")
        ping_both_ways(guest, peer, "10.99.10.1", "10.99.10.2")

        peer.stop()
        assert peer.wait(15) == ExitStatus.USER_REQUEST
        guest.wait_event("IPV6-DOWN", 10)
        row.note("pppd Naks pyppp's random identifier with ::2; ping6 and ping both ways")


def test_10b_pppd_calls_pyppp_serve(pppd_guest: StartGuest, pyppp_process: StartPyppp) -> None:
    with scenario("10b IPv6CP: pppd +ipv6 (random identifiers) calls pyppp serve") as row:
        guest = pppd_guest(["noauth", "local", "noipdefault", "debug", "+ipv6"], timeout=120)
        peer = start_on_line(
            pyppp_process, guest, "serve", ["10.99.10.11:10.99.10.12", "debug"], auth="none"
        )
        row.link_up = pppd_link_up(guest)
        up6 = guest.wait_event("IPV6-UP", 20)
        peer.wait_log(r"^remote LL address ", 10)
        ours, theirs = link_locals(peer.log())
        assert (up6.fields["local"], up6.fields["remote"]) == (theirs, ours), up6.text
        assert link_locals(guest.pppd_log()) == (theirs, ours)
        ping6_both_ways(guest, peer, theirs, ours)
        ping_both_ways(guest, peer, "10.99.10.12", "10.99.10.11")

        pppd_terminates(guest, peer)
        row.note(f"pyppp {short(ours)}, pppd {short(theirs)}; ping6 and ping both ways")


def test_10c_pppd_noipv6_still_links(pppd_guest: StartGuest, pyppp_process: StartPyppp) -> None:
    with scenario("10c IPv6CP: pppd noipv6 Protocol-Rejects it, IPv4 links") as row:
        guest = pppd_guest(
            ["noauth", "local", "10.99.10.21:10.99.10.22", "debug", "noipv6"], timeout=120
        )
        peer = start_on_line(pyppp_process, guest, "dial", ["noauth", "debug"])
        row.link_up = pppd_link_up(guest)
        peer.wait_log(r"^remote IP address 10\.99\.10\.21$", 10)
        in_order(peer.log(), r"^sent \[IPV6CP ConfReq", r"^rcvd \[LCP ProtRej id=0x\w+ 80 57")
        in_order(guest.pppd_log(), r"^sent \[LCP ProtRej id=0x\w+ 80 57")
        ping_both_ways(guest, peer, "10.99.10.21", "10.99.10.22")
        assert not any("LL address" in line for line in peer.log() + guest.pppd_log())
        # Rejected means stopped: one request, never a retransmission.
        assert peer.count(r"^sent \[IPV6CP ConfReq") == 1, peer.log()
        peer.stop()
        assert peer.wait(15) == ExitStatus.USER_REQUEST
        row.note("pppd ProtRej 0x8057; pyppp stops IPv6CP; IPv4 ping both ways")
