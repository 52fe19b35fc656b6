"""IPv6CP inside the Link: registration, the 0x0057 data path, IPv6-only links, failures.

Two links back to back on the simulated clock (tests/linkpair.py), as in test_link.py.
"""

from __future__ import annotations

import logging
from ipaddress import IPv6Address
from typing import Any

import pytest

from pyppp import hdlc
from pyppp.events import (
    IpReceived,
    Ipv6Down,
    Ipv6Up,
    LinkTerminated,
    NetworkDown,
    NetworkUp,
    Phase,
)
from pyppp.fsm import State
from pyppp.ipv6cp.negotiator import Ipv6cpConfig
from pyppp.link import Link
from pyppp.packet import Code, ControlPacket, PPPProtocol
from tests.linkpair import LinkPair
from tests.test_link import both_up, lines, make_link, make_pair, terminated

ONE = bytes.fromhex("0000000000000001")
TWO = bytes.fromhex("0000000000000002")
# A minimal IPv6 header (version 6, payload length 0, next header 59 "no next header").
IPV6 = bytes.fromhex("60000000 0000 3b40".replace(" ", "")) + bytes(32)
IPV4 = b"\x45" + bytes(19)


def v6_link(name: str, **kwargs: Any) -> Link:
    ipv6cp = kwargs.pop("ipv6cp", Ipv6cpConfig())
    return make_link(name, ipv6cp=ipv6cp, **kwargs)


def v6_up(pair: LinkPair) -> bool:
    return bool(pair.of_type("a", Ipv6Up) and pair.of_type("b", Ipv6Up))


def run_up(pair: LinkPair, *, ipv4: bool = True) -> None:
    pair.run(20, stop=lambda p: v6_up(p) and (both_up(p) or not ipv4))
    assert v6_up(pair), pair.events
    if ipv4:
        assert both_up(pair), pair.events


def test_ipv6cp_opens_next_to_ipcp_with_pppd_lines(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        pair = make_pair(v6_link("a", ipv6cp=Ipv6cpConfig(local=ONE, remote=TWO)), v6_link("b"))
        run_up(pair)
    (up_a,) = pair.of_type("a", Ipv6Up)
    (up_b,) = pair.of_type("b", Ipv6Up)
    assert (up_a.local, up_a.remote) == (IPv6Address("fe80::1"), IPv6Address("fe80::2"))
    assert (up_b.local, up_b.remote) == (up_a.remote, up_a.local)
    assert "local  LL address fe80::0000:0000:0000:0001" in lines(caplog, "a")
    assert "remote LL address fe80::0000:0000:0000:0002" in lines(caplog, "a")
    assert "local  LL address fe80::0000:0000:0000:0002" in lines(caplog, "b")
    traced = [r.getMessage() for r in caplog.records if r.name == "pyppp.trace"]
    assert "sent [IPV6CP ConfReq id=0x1 <addr fe80::0000:0000:0000:0001>]" in traced
    assert "sent [IPV6CP ConfNak id=0x1 <addr fe80::0000:0000:0000:0002>]" in traced
    a: Link = pair.a  # type: ignore[assignment]
    assert a.ipv6_up
    assert a.network_up


def test_ipv6_and_ipv4_datagrams_both_ways() -> None:
    pair = make_pair(v6_link("a"), v6_link("b"))
    run_up(pair)
    a: Link = pair.a  # type: ignore[assignment]
    b: Link = pair.b  # type: ignore[assignment]
    assert a.send_ip(IPV6, pair.now)
    assert b.send_ips([IPV4, IPV6, IPV6 + b"x", IPV4 + b"y"], pair.now) == 4
    pair.run(pair.now + 1)
    assert pair.of_type("b", IpReceived) == [IpReceived(IPV6)]
    assert sorted(e.packet for e in pair.of_type("a", IpReceived)) == sorted(
        [IPV4, IPV6, IPV6 + b"x", IPV4 + b"y"]
    )
    # On the wire: IPv6 travels as protocol 0x0057, IPv4 as 0x0021.
    protocols = [f.protocol for _, f in pair.b_to_a.frames() if f.protocol < 0x4000]
    assert sorted(protocols) == [0x0021, 0x0021, 0x0057, 0x0057]


def test_ipv6_is_dropped_while_only_ipcp_is_open() -> None:
    pair = make_pair()
    pair.run(10, stop=both_up)
    a: Link = pair.a  # type: ignore[assignment]
    assert not a.send_ip(IPV6, pair.now)
    assert a.send_ips([IPV6, IPV4], pair.now) == 1
    assert a.stats.discarded["ip version not open"] == 1
    assert a.stats.discarded["ip not sent (size or version)"] == 1


def test_ipv4_on_protocol_0x0057_is_dropped() -> None:
    pair = make_pair(v6_link("a"), v6_link("b"))
    run_up(pair)
    a: Link = pair.a  # type: ignore[assignment]
    a.receive_data(hdlc.encode_frame(PPPProtocol.IPV6, IPV4), pair.now)
    a.receive_data(hdlc.encode_frame(PPPProtocol.IPV6, b""), pair.now)
    assert a.stats.discarded["not IPv6 on protocol 0x0057"] == 2
    assert not [e for e in pair.events["a"] if isinstance(e, IpReceived)]
    assert a.next_event() is None


def test_a_peer_without_ipv6cp_protocol_rejects_it_and_ipv4_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        pair = make_pair(v6_link("a"), make_link("b"))
        pair.run(20, stop=both_up)
        pair.run(pair.now + 10)
    a: Link = pair.a  # type: ignore[assignment]
    assert both_up(pair)
    assert not pair.of_type("a", Ipv6Up)
    assert a.ipv6cp is not None
    assert a.ipv6cp.state is State.STOPPED  # pppd ipv6cp_protrej: as if the lower layer left
    assert a.phase is Phase.NETWORK
    assert "Protocol-Reject for 'IPv6 Control Protocol' (0x8057) received" in lines(caplog, "a")


@pytest.mark.parametrize("refused", ["noip", "protocol-reject"])
def test_ipv6_only_link_stays_up_without_ipcp(refused: str) -> None:
    """pppd counts IPv6CP as a network protocol: no "No network protocols running" while it runs."""
    b_ipcp = None if refused == "noip" else make_link("b").config.ipcp
    pair = make_pair(
        v6_link("a", ipcp=None, idle=45.0),
        v6_link("b", ipcp=b_ipcp),
    )
    run_up(pair, ipv4=False)
    a: Link = pair.a  # type: ignore[assignment]
    b: Link = pair.b  # type: ignore[assignment]
    if b.ipcp is not None:  # the Protocol-Reject has finished b's IPCP
        assert b.ipcp.state is State.STOPPED
    assert not pair.of_type("a", LinkTerminated)
    assert not pair.of_type("b", LinkTerminated)
    assert not (pair.of_type("a", NetworkUp))
    assert not (pair.of_type("b", NetworkUp))
    assert b.phase is Phase.NETWORK
    assert a.send_ip(IPV6, pair.now)
    assert not a.send_ip(IPV4, pair.now)
    pair.run(pair.now + 1)
    assert pair.of_type("b", IpReceived) == [IpReceived(IPV6)]
    # pppd's idle timer counts IPv6 too: silence for `idle` seconds ends the link (status 12).
    pair.run(pair.now + 60, stop=terminated("a"))
    (end,) = pair.of_type("a", LinkTerminated)
    assert end.exit_status == 12


def test_closing_ipv6cp_leaves_ipv4_and_the_link_up() -> None:
    pair = make_pair(v6_link("a"), v6_link("b"))
    run_up(pair)
    a: Link = pair.a  # type: ignore[assignment]
    a.close_network_protocol(PPPProtocol.IPV6CP, "Interface configuration failed", now=pair.now)
    pair.run(pair.now + 10)
    assert pair.of_type("a", Ipv6Down) == [Ipv6Down("Interface configuration failed")]
    assert len(pair.of_type("b", Ipv6Down)) == 1
    assert not pair.of_type("a", NetworkDown)
    assert a.network_up
    assert not a.ipv6_up
    assert a.phase is Phase.NETWORK
    assert not a.send_ip(IPV6, pair.now)
    assert a.send_ip(IPV4, pair.now)


def test_closing_the_last_network_protocol_ends_the_link() -> None:
    pair = make_pair(v6_link("a", ipcp=None), v6_link("b", ipcp=None))
    run_up(pair, ipv4=False)
    a: Link = pair.a  # type: ignore[assignment]
    a.close_network_protocol(PPPProtocol.IPV6CP, "Interface configuration failed", now=pair.now)
    pair.run(pair.now + 20, stop=terminated("a", "b"))
    (end,) = pair.of_type("a", LinkTerminated)
    assert (end.exit_status, end.reason) == (0, "No network protocols running")


@pytest.mark.parametrize("noremote", [False, True])
def test_a_peer_without_identifier_closes_ipv6cp_unless_noremote(
    caplog: pytest.LogCaptureFixture, noremote: bool
) -> None:
    """pppd's ``ipv6cp-nosend`` peer: "Could not determine remote LL address" (IPv6CP closes,
    IPCP stays) unless ``ipv6cp-noremote``."""
    with caplog.at_level(logging.DEBUG):
        pair = make_pair(
            v6_link("a", ipv6cp=Ipv6cpConfig(no_remote=noremote)),
            v6_link("b", ipv6cp=Ipv6cpConfig(send_identifier=False)),
        )
        pair.run(60, stop=both_up)
        pair.run(pair.now + 30)
    assert both_up(pair)
    a: Link = pair.a  # type: ignore[assignment]
    assert a.phase is Phase.NETWORK  # IPCP still runs
    if noremote:
        (up,) = pair.of_type("a", Ipv6Up)
        assert up.remote is None
        return
    assert not pair.of_type("a", Ipv6Up)
    assert "Could not determine remote LL address" in lines(caplog, "a")
    traced = [r.getMessage() for r in caplog.records if r.name == "pyppp.trace"]
    assert any(
        t.startswith("sent [IPV6CP TermReq id=") and "Could not determine remote LL" in t
        for t in traced
    ), traced


def test_ipv6_queued_at_lcp_down_is_dropped() -> None:
    pair = make_pair(v6_link("a"), v6_link("b"))
    run_up(pair)
    a: Link = pair.a  # type: ignore[assignment]
    assert a.send_ip(IPV6, pair.now)
    a.close("User request", now=pair.now)
    wire = a.data_to_send()
    frames = hdlc.Deframer(accm=0).feed(wire)
    assert [f.protocol for f in frames if f.protocol == PPPProtocol.IPV6] == []
    assert a.stats.discarded["ip queued at network down"] == 1
    terminate = [f for f in frames if f.protocol == PPPProtocol.LCP]
    assert ControlPacket.decode(terminate[-1].information).code == Code.TERM_REQ
