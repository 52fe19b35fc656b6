"""VJ compression on the link: IPCP agrees it, TCP goes as 0x002d/0x002f both ways, TOSS on loss.

Two links back to back on a simulated clock (tests/linkpair.py): what one side's TUN gives
is what the other side's TUN gets, byte for byte, while the wire carries compressed headers.
"""

from __future__ import annotations

import logging
from ipaddress import IPv4Address

import pytest

from pyppp import hdlc
from pyppp.events import IpReceived
from pyppp.ipcp.negotiator import IpcpConfig
from pyppp.ipcp.vjpolicy import VjParameters
from pyppp.link import Link
from pyppp.linkconfig import LinkConfig
from pyppp.packet import PPPProtocol
from pyppp.util import seeded_rng
from tests.linkpair import LinkPair
from tests.tcpip import ACK, PSH, Segment
from tests.test_link import A_ADDR, B_ADDR, both_up

COMP, UNCOMP, IP = PPPProtocol.VJ_COMP, PPPProtocol.VJ_UNCOMP, PPPProtocol.IP


def vj_link(name: str, **ipcp: object) -> Link:
    addresses = {"local": A_ADDR, "remote": B_ADDR} if name == "a" else {}
    config = IpcpConfig(vj=True, **addresses, **ipcp)  # type: ignore[arg-type]
    return Link(
        LinkConfig(ipcp=config),
        rng=seeded_rng(ord(name)),
        logger=logging.getLogger(f"pyppp.test.{name}"),
    )


def vj_pair(a: Link | None = None, b: Link | None = None) -> LinkPair:
    pair = LinkPair(a or vj_link("a"), b or vj_link("b"))
    pair.a.open(0.0)  # type: ignore[attr-defined]
    pair.b.open(0.0)  # type: ignore[attr-defined]
    pair.run(10, stop=both_up)
    assert both_up(pair)
    return pair


def segments(n: int, *, src: str = str(A_ADDR), dst: str = str(B_ADDR)) -> list[bytes]:
    """A one-way transfer: n data segments of 100 octets on one connection."""
    first = Segment(src=src, dst=dst, seq=1000, flags=ACK | PSH)
    return [
        bytes(first.but(seq=1000 + 100 * i, ip_id=i, data=bytes([i % 256]) * 100)) for i in range(n)
    ]


def data_frames(pair: LinkPair, wire: str) -> list[hdlc.Frame]:
    frames = (pair.a_to_b if wire == "a" else pair.b_to_a).frames()
    return [f for _, f in frames if f.protocol in (IP, COMP, UNCOMP)]


def received(pair: LinkPair, side: str) -> list[bytes]:
    link = pair.a if side == "a" else pair.b
    while (event := link.next_event()) is not None:  # what the pair has not collected yet
        pair.events[side].append(event)
    return [e.packet for e in pair.of_type(side, IpReceived)]


def test_ipcp_agrees_vj_both_ways_and_says_so_in_the_trace(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="pyppp.trace")
    pair = vj_pair()
    sent = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sent [IPCP Conf")]
    assert any("<compress VJ 0f 01>" in line for line in sent), sent
    for link in (pair.a, pair.b):
        assert isinstance(link, Link)
        assert link._path.vj_stats is not None


def test_tcp_goes_compressed_both_ways_and_arrives_byte_identical() -> None:
    pair = vj_pair()
    forward = segments(6)
    backward = segments(6, src=str(B_ADDR), dst=str(A_ADDR))
    for packet in forward:
        assert pair.a.send_ip(packet, pair.now)  # type: ignore[attr-defined]
    assert pair.b.send_ips(backward, pair.now) == 6  # type: ignore[attr-defined]
    pair.run(pair.now + 1)
    assert received(pair, "b") == forward
    assert received(pair, "a") == backward
    for wire in ("a", "b"):
        kinds = [f.protocol for f in data_frames(pair, wire)]
        assert kinds == [UNCOMP] + [COMP] * 5, wire
        # SPECIAL_D: the 40-octet header went as change mask + checksum.
        assert all(len(f.information) == 103 for f in data_frames(pair, wire)[1:])


def test_what_vj_cannot_compress_still_goes_as_plain_ip() -> None:
    pair = vj_pair()
    udp = bytes(Segment(protocol=17, data=b"12345678"))
    icmp6 = b"\x60" + bytes(39)
    pair.a.send_ips([udp, *segments(2)], pair.now)  # type: ignore[attr-defined]
    pair.run(pair.now + 1)
    assert [f.protocol for f in data_frames(pair, "a")] == [IP, UNCOMP, COMP]
    assert received(pair, "b") == [udp, *segments(2)]
    assert not pair.a.send_ip(icmp6, pair.now)  # type: ignore[attr-defined]  # no IPv6CP


def test_vj_max_slots_4_limits_the_slots_used_towards_that_side() -> None:
    pair = vj_pair(b=vj_link("b", vj_max_slot_id=3))
    a, b = pair.a, pair.b
    assert isinstance(a, Link)
    assert isinstance(b, Link)
    # Six connections towards b: a's compressor has only 4 slots, the ids on the wire 0..3.
    packets = [
        bytes(Segment(src=str(A_ADDR), dst=str(B_ADDR), sport=port, data=b"x")) for port in range(6)
    ]
    a.send_ips(packets, pair.now)
    pair.run(pair.now + 1)
    slots = [f.information[9] for f in data_frames(pair, "a") if f.protocol == UNCOMP]
    assert slots == [0, 1, 2, 3, 0, 1]
    assert received(pair, "b") == packets


def test_novj_on_one_side_means_plain_ip() -> None:
    pair = vj_pair(b=Link(LinkConfig(ipcp=IpcpConfig()), rng=seeded_rng(2)))
    pair.a.send_ips(segments(3), pair.now)  # type: ignore[attr-defined]
    pair.b.send_ips(segments(3, src=str(B_ADDR), dst=str(A_ADDR)), pair.now)  # type: ignore[attr-defined]
    pair.run(pair.now + 1)
    assert {f.protocol for f in data_frames(pair, "a") + data_frames(pair, "b")} == {IP}
    assert received(pair, "b") == segments(3)


def test_a_bad_frame_sets_toss_and_the_next_uncompressed_packet_recovers() -> None:
    pair = vj_pair()
    a, b = pair.a, pair.b
    assert isinstance(a, Link)
    assert isinstance(b, Link)
    stream = segments(8)
    a.send_ips(stream[:2], pair.now)
    pair.run(pair.now + 1)
    assert received(pair, "b") == stream[:2]
    # The third segment is damaged on the line: its FCS fails, the deframer drops it.
    a.send_ip(stream[2], pair.now)
    frame = bytearray(a.data_to_send())
    frame[20] ^= 0x01
    b.receive_data(bytes(frame), pair.now)
    assert b._path.deframer.discarded["bad_fcs"] == 1
    # The next two are compressed with an implicit slot id: tossed, not rebuilt wrong.
    a.send_ips(stream[3:5], pair.now)
    b.receive_data(a.data_to_send(), pair.now)
    assert received(pair, "b") == stream[:2]
    stats = b._path.vj_stats
    assert stats is not None
    assert (stats.tosses, stats.tossed) == (1, 2)
    assert b.discards["VJ compressed TCP dropped"] == 2
    # TCP retransmits the lost segment: it goes uncompressed, and the slot is in step again.
    lost = Segment(src=str(A_ADDR), dst=str(B_ADDR), seq=1200, data=b"\x02" * 100)
    again = bytes(lost.but(ip_id=5, flags=ACK | PSH))
    a.send_ips([again, *stream[6:]], pair.now)
    chunk = a.data_to_send()
    kinds = [f.protocol for f in hdlc.Deframer(accm=0, mru=2000).feed(chunk)]
    assert kinds == [UNCOMP, COMP, COMP]
    b.receive_data(chunk, pair.now)
    assert received(pair, "b")[2:] == [again, *stream[6:]]


def test_ipcp_down_and_up_again_starts_with_fresh_slots() -> None:
    pair = vj_pair()
    a, b = pair.a, pair.b
    assert isinstance(a, Link)
    assert isinstance(b, Link)
    a.send_ips(segments(2), pair.now)
    pair.run(pair.now + 1)
    a.close_network_protocol(PPPProtocol.IPCP, "test", now=pair.now)
    pair.run(pair.now + 5)
    assert a._path._vj is None
    assert PPPProtocol.VJ_COMP not in a._data_handlers


def test_ipcp_results_carry_what_each_side_agreed() -> None:
    pair = vj_pair(b=vj_link("b", vj_max_slot_id=3, vj_compress_slot_id=False))
    a, b = pair.a, pair.b
    assert isinstance(a, Link)
    assert isinstance(b, Link)
    assert a._ipcp_negotiator is not None
    result = a._ipcp_negotiator.up()
    assert result.vj_send == VjParameters(3, False)
    assert result.vj_receive == VjParameters(3, False)
    assert isinstance(B_ADDR, IPv4Address)


def test_a_line_with_bit_errors_delivers_only_what_was_sent() -> None:
    # Bit errors (1 in 20,000 bits) on both wires; many frames die on their FCS. Every
    # datagram either side delivers is exactly one the other side sent (a damaged frame is
    # dropped by its FCS and TOSS keeps the decompressor from guessing past it), and the
    # stream keeps flowing: the link and VJ stay up.
    import random

    rng = random.Random(1144)

    def flip(data: bytes, now: float) -> list[tuple[float, bytes]]:
        damaged = bytearray(data)
        for _ in range(len(data) * 8 // 20000 + (rng.random() < 0.3)):
            bit = rng.randrange(len(damaged) * 8)
            damaged[bit // 8] ^= 1 << (bit % 8)
        return [(0.001, bytes(damaged))]

    pair = vj_pair()
    pair.a_to_b.impair = flip
    pair.b_to_a.impair = flip
    a, b = pair.a, pair.b
    assert isinstance(a, Link)
    assert isinstance(b, Link)
    # A retransmission (sequence number back) starts each burst, as TCP's timer would: it
    # goes uncompressed and puts the slot back in step.
    streams = {}
    for side, (src, dst) in (("a", (A_ADDR, B_ADDR)), ("b", (B_ADDR, A_ADDR))):
        stream = segments(300, src=str(src), dst=str(dst))
        bursts = []
        for i in range(0, 300, 10):
            again = Segment(src=str(src), dst=str(dst), seq=900, ip_id=5000 + i, data=b"r" * 100)
            bursts.append([bytes(again.but(flags=ACK | PSH)), *stream[i : i + 10]])
        streams[side] = bursts
    for burst_a, burst_b in zip(streams["a"], streams["b"], strict=True):
        a.send_ips(burst_a, pair.now)
        b.send_ips(burst_b, pair.now)
        pair.run(pair.now + 0.05)
    got_b, got_a = received(pair, "b"), received(pair, "a")
    assert set(got_b) <= {p for burst in streams["a"] for p in burst}
    assert set(got_a) <= {p for burst in streams["b"] for p in burst}
    assert 100 < len(got_b) < 330
    stats = b._path.vj_stats
    assert stats is not None
    assert stats.tosses > 0
    assert stats.tossed > 0
    assert b.network_up
    assert a.network_up


def test_timestamped_segments_compress_on_a_clean_line_and_go_as_ip_on_a_lossy_one() -> None:
    """As Linux on a clean line; while the line damages frames, plain IP (pyppp.ipcp.vj)."""

    def adaptive(name: str) -> Link:
        link = vj_link(name)
        return Link(
            LinkConfig(ipcp=link.config.ipcp, adaptive_mtu=True),
            rng=seeded_rng(ord(name)),
            logger=logging.getLogger(f"pyppp.test.{name}"),
        )

    pair = vj_pair(adaptive("a"), adaptive("b"))
    a = pair.a
    stamp = b"\x01\x01\x08\x0a" + (1000).to_bytes(4, "big") + (77).to_bytes(4, "big")
    first = Segment(src=str(A_ADDR), dst=str(B_ADDR), seq=1000, flags=ACK | PSH, tcp_options=stamp)
    burst = [bytes(first.but(seq=1000 + 100 * i, ip_id=i, data=b"x" * 100)) for i in range(4)]
    a.send_ips(burst, pair.now)  # type: ignore[attr-defined]
    pair.run(pair.now + 1)
    assert [f.protocol for f in data_frames(pair, "a")] == [UNCOMP, COMP, COMP, COMP]
    # The line damages what a receives: frames with a bad FCS, counted by its framer.
    damaged = bytearray(hdlc.encode_frame(PPPProtocol.IP, bytes(1400)))
    damaged[-3] ^= 0xFF
    for _ in range(4):
        a.receive_data(bytes(damaged), pair.now)
    later = [bytes(first.but(seq=2000 + 100 * i, ip_id=9 + i, data=b"y" * 100)) for i in range(4)]
    a.send_ips(later, pair.now)  # type: ignore[attr-defined]
    pair.run(pair.now + 1)
    assert [f.protocol for f in data_frames(pair, "a")][4:] == [IP] * 4
    assert received(pair, "b") == burst + later
