"""How much of the frame under way is still to come (``Link.awaiting``), for a slow line's reader.

The estimate lets :class:`pyppp.aio.line.FdLine` read a long frame's rest at once when its
last octet is due. It comes from the datagram's own header (IPv4's Total Length in 0x0021 and
0x002F, IPv6's Payload Length in 0x0057) or, for VJ Compressed-TCP (0x002D), from the last
segment on the connection without PSH. Checked here against the real remainder of frames
framed by the real encoder and cut anywhere.
"""

from __future__ import annotations

import logging
import struct
from ipaddress import IPv4Address

from hypothesis import given, settings
from hypothesis import strategies as st

from pyppp import hdlc
from pyppp.events import Phase
from pyppp.hdlc import Deframer, FrameEncoder
from pyppp.ipcp.vj import VjCompressor, VjDecompressor
from pyppp.link import Link
from pyppp.linkconfig import LinkConfig
from pyppp.packet import PPPProtocol
from pyppp.util import seeded_rng
from tests.linkpair import LinkPair
from tests.tcpip import ACK, PSH, Segment
from tests.test_link_vj import vj_pair

COMP, UNCOMP, IP, IPV6 = (
    PPPProtocol.VJ_COMP,
    PPPProtocol.VJ_UNCOMP,
    PPPProtocol.IP,
    PPPProtocol.IPV6,
)
PAYLOAD = bytes(range(256)) * 6  # 0x7D and 0x7E once in each 256: ACCM 0 escapes them


def ipv4(size: int, fill: bytes = PAYLOAD) -> bytes:
    """An IPv4 datagram of ``size`` octets (UDP, checksums left zero: only lengths matter)."""
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, size, 1, 0, 64, 17, 0, bytes(4), bytes(4))
    return header + fill[: size - 20]


def ipv6(size: int, fill: bytes = PAYLOAD) -> bytes:
    """An IPv6 datagram of ``size`` octets."""
    header = struct.pack("!IHBB16s16s", 6 << 28, size - 40, 17, 64, bytes(16), bytes(16))
    return header + fill[: size - 40]


def fresh_link() -> Link:
    return Link(LinkConfig(), rng=seeded_rng(1), logger=logging.getLogger("pyppp.test.awaiting"))


def remainder_at(link: Link, frame: bytes, cut: int) -> tuple[int | None, int]:
    """Feed ``frame`` (one encoded frame, Flags included) up to ``cut``: estimate and truth."""
    deframer = link._path.deframer
    if link.phase is Phase.DEAD:  # (a dead link reads nothing: its framer is fed directly)
        assert deframer.feed(frame[:cut]) == []
        estimate = link.awaiting()
        assert deframer.feed(frame[cut:]) != [], "the frame did not complete"
    else:
        frames = deframer.frames
        link.receive_data(frame[:cut], 0.0)
        estimate = link.awaiting()
        link.receive_data(frame[cut:], 0.0)
        assert deframer.frames == frames + 1, "the frame did not complete"
    return estimate, len(frame) - cut


def test_an_ipv4_frame_without_escapes_is_known_to_the_octet() -> None:
    link = fresh_link()
    datagram = ipv4(1500, bytes(range(0x20, 0x7D)) * 17)  # nothing ACCM 0 escapes
    frame = FrameEncoder(accm=0).encode(IP, datagram)
    assert hdlc.ESCAPE not in frame
    for cut in (11, 40, 300, 1000, len(frame) - 2):
        estimate, truth = remainder_at(link, frame, cut)
        # (before 256 octets are held, random data's 1 escape in 128 is allowed for)
        assert estimate is not None, cut
        assert truth <= estimate <= truth + truth // 128, (cut, estimate)
        if cut >= 256:
            assert estimate == truth, cut


@settings(max_examples=150, deadline=None)
@given(
    version=st.sampled_from([4, 6]),
    size=st.integers(60, 1500),
    accm=st.sampled_from([0, 0xFFFFFFFF]),
    acfc=st.booleans(),
    pfc=st.booleans(),
    fill=st.binary(min_size=1500, max_size=1500),
    where=st.floats(0.0, 1.0),
)
def test_a_datagram_header_gives_its_frame_length_within_the_escaping(
    version: int, size: int, accm: int, acfc: bool, pfc: bool, fill: bytes, where: float
) -> None:
    datagram = ipv4(size, fill) if version == 4 else ipv6(size, fill)
    frame = FrameEncoder(accm=accm, acfc=acfc, pfc=pfc).encode(
        IP if version == 4 else IPV6, datagram
    )
    cut = 21 + int(where * (len(frame) - 24))  # past any header's escapes, before the FCS
    estimate, truth = remainder_at(fresh_link(), frame, cut)
    assert estimate is not None
    # What is left unescaped, up to twice that escaped: the estimate stays in between.
    assert truth / 2 <= estimate <= 2 * truth + 1, (cut, estimate, truth)


def test_no_estimate_without_a_length_or_before_the_header() -> None:
    link = fresh_link()
    for protocol, information in [
        (PPPProtocol.COMP, bytes(600)),  # CCP/MPPE: no length outside
        (PPPProtocol.LCP, bytes(600)),
        (IP, b"\x60" + bytes(599)),  # says IPv6 in IPv4's protocol
    ]:
        frame = FrameEncoder(accm=0).encode(protocol, information)
        assert remainder_at(link, frame, 100)[0] is None, hex(protocol)
    frame = FrameEncoder(accm=0).encode(IP, ipv4(1500))
    assert remainder_at(link, frame, 6)[0] is None  # the Total Length is not here yet
    # A Total Length shorter than what arrived, or longer than any frame may be: no guess.
    short = FrameEncoder(accm=0).encode(IP, ipv4(1500)[:2] + struct.pack("!H", 40) + bytes(900))
    assert remainder_at(link, short, 200)[0] is None
    deframer = Deframer(mru=1500)
    deframer.feed(b"\x7e\xff\x03\x00\x21" + bytes(30))
    assert deframer.awaiting(1500 + 6) is not None
    assert deframer.awaiting(1500 + 7) is None


def test_the_head_is_unescaped() -> None:
    deframer = Deframer(accm=0xFFFFFFFF)
    frame = FrameEncoder(accm=0xFFFFFFFF).encode(IP, ipv4(1000))
    deframer.feed(frame[:30])
    head = deframer.head()
    assert head == (b"\xff\x03\x00\x21" + ipv4(1000))[: len(head)]
    assert 12 <= len(head) <= 24


def bulk(count: int, *, every_push: int = 3, size: int = 1400) -> list[bytes]:
    """A one-way bulk transfer: full-size segments, PSH at the end of each write."""
    first = Segment(src="10.99.13.1", dst="10.99.13.2", seq=1000, flags=ACK)
    return [
        bytes(
            first.but(
                seq=1000 + size * i,
                ip_id=i,
                flags=ACK | (PSH if i % every_push == every_push - 1 else 0),
                data=PAYLOAD[i % 7 : i % 7 + size],
            )
        )
        for i in range(count)
    ]


def wire_frames(pair: LinkPair, packets: list[bytes]) -> list[tuple[int, bytes]]:
    """What a's line carries for ``packets``: (protocol, encoded frame), in order."""
    a = pair.a
    assert isinstance(a, Link)
    a.send_ips(packets, pair.now)
    stream = a.data_to_send()
    pieces = [p for p in stream.split(b"\x7e") if p]
    frames = [b"\x7e" + p + b"\x7e" for p in pieces]
    decoded = [Deframer(accm=0).feed(f)[0].protocol for f in frames]
    return list(zip(decoded, frames, strict=True))


def test_vj_compressed_full_segments_are_expected_as_long_as_the_last_one() -> None:
    pair = vj_pair()
    b = pair.b
    assert isinstance(b, Link)
    seen: dict[tuple[int, bool], int] = {}
    for index, (protocol, frame) in enumerate(wire_frames(pair, bulk(12))):
        push = index % 3 == 2
        estimate, truth = remainder_at(b, frame, 24)
        seen[protocol, push] = seen.get((protocol, push), 0) + 1
        if protocol == COMP and not push and index > 0:
            # As long as the last full one: right within the escapes' allowance.
            assert estimate is not None, index
            assert abs(estimate - truth) <= truth // 64 + 2, index
        elif protocol == COMP:
            assert estimate is None, index  # PSH: the end of a write, of any length
        else:
            assert protocol in (UNCOMP, IP)
            assert estimate is not None
            assert abs(estimate - truth) <= truth // 64 + 2
    assert seen.get((COMP, False), 0) >= 6, seen  # (the test saw what it is about)


def test_vj_expected_size_reads_the_deltas_and_forgets_other_connections() -> None:
    compressor, decompressor = VjCompressor(), VjDecompressor()
    packets = bulk(6, every_push=100)
    for packet in packets[:2]:
        protocol, information = compressor.compress(packet)
        if protocol == COMP:
            decompressor.decompress(information)
        else:
            decompressor.uncompressed(information)
    for packet in packets[2:]:
        protocol, information = compressor.compress(packet)
        assert protocol == COMP
        assert decompressor.expected_size(information[:12]) == len(information)
        decompressor.decompress(information)
    # Another connection loaded into the same slot starts with nothing known.
    other = Segment(src=str(IPv4Address("10.99.13.9")), dst="10.99.13.2", flags=ACK | PSH)
    fresh = VjDecompressor(0)
    fresh.uncompressed(VjCompressor(0).compress(packets[0])[1])
    fresh.uncompressed(VjCompressor(0).compress(bytes(other.but(data=b"x" * 10)))[1])
    assert fresh._slots[0] is not None
    assert fresh._slots[0].full == 0
    # The same connection's write ends (PSH, sent uncompressed) keep what a full one said.
    kept = VjDecompressor(0)
    kept.uncompressed(VjCompressor(0).compress(packets[0])[1])
    pushed = Segment(src="10.99.13.1", dst="10.99.13.2", flags=ACK | PSH)
    kept.uncompressed(VjCompressor(0).compress(bytes(pushed))[1])
    assert kept._slots[0] is not None
    assert kept._slots[0].full == len(packets[0])
    assert VjDecompressor().expected_size(b"") is None


def test_runs_of_escapes_never_make_the_estimate_blow_up() -> None:
    # (found by the fuzzer: 7D 7D is one octet, and a run of them once divided by zero)
    for run in (1, 2, 3, 299, 300):
        deframer = Deframer(accm=0)
        deframer.feed(b"\x7e\xff\x7d\x23\xc0\x21" + b"\x7d" * run)
        for size in (40, 1506):
            rest = deframer.awaiting(size)
            assert rest is None or 0 < rest <= 2 * size + 1, (run, size, rest)
