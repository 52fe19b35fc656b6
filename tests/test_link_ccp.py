"""CCP inside the Link: registration beside the NCPs, the data path both ways, resets, SIGUSR2.

Two links back to back on the simulated clock (tests/linkpair.py), as in test_link.py.
"""

from __future__ import annotations

import logging
import random

import pytest

from pyppp import hdlc
from pyppp.ccp.deflate import DeflateCompressor, DeflateConfig, DeflateDecompressor
from pyppp.ccp.negotiator import CcpConfig
from pyppp.ccp.protocol import RESET_ACK, RESET_REQ
from pyppp.events import IpReceived
from pyppp.fsm import State
from pyppp.ipcp.negotiator import IpcpConfig
from pyppp.link import Link
from pyppp.packet import ControlPacket, PPPProtocol
from pyppp.status import LinkObserver
from tests.linkpair import Impairment, LinkPair, LoseNext, Wire
from tests.test_link import A_ADDR, B_ADDR, both_up, lines, make_link, make_pair

TEXT = (
    b"Call me Ishmael. Some years ago - never mind how long precisely - having little or no "
    b"money in my purse, and nothing particular to interest me on shore, I thought I would "
    b"sail about a little and see the watery part of the world. "
) * 12
HEADER = b"\x45" + bytes(19)


def ccp_link(name: str, ccp: CcpConfig | None = None) -> Link:
    return make_link(name, ccp=ccp or CcpConfig())


def links(pair: LinkPair) -> tuple[Link, Link]:
    """The pair's two ends, typed as the Links they are."""
    a, b = pair.a, pair.b
    assert isinstance(a, Link)
    assert isinstance(b, Link)
    return a, b


def ccp_up(pair: LinkPair) -> bool:
    a, b = links(pair)
    return both_up(pair) and a.ccp is not None and a.ccp.is_opened and b.ccp.is_opened  # type: ignore[union-attr]


def up(a: Link, b: Link, **wires: Wire) -> LinkPair:
    pair = make_pair(a, b, **wires)  # type: ignore[arg-type]
    pair.run(20, stop=ccp_up)
    assert ccp_up(pair), pair.events
    return pair


def packet(i: int) -> bytes:
    start = (i * 37) % 400
    return HEADER + i.to_bytes(4, "big") + TEXT[start : start + 1000]


def received(pair: LinkPair, side: str) -> list[bytes]:
    return [e.packet for e in pair.of_type(side, IpReceived)]


def test_both_ends_log_pppds_line_and_compress_ip(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        pair = up(ccp_link("a"), ccp_link("b"))
    assert "Deflate (15) compression enabled" in lines(caplog, "a")
    assert "Deflate (15) compression enabled" in lines(caplog, "b")
    a, b = links(pair)
    sent = [packet(i) for i in range(30)]
    for p in sent:
        a.send_ip(p, pair.now)
    pair.run(pair.now + 5)
    assert received(pair, "b") == sent
    frames = [f for _, f in pair.a_to_b.frames() if f.protocol in (0x21, PPPProtocol.COMP)]
    assert {f.protocol for f in frames} == {PPPProtocol.COMP}
    on_the_wire = sum(len(f.information) + 2 for f in frames)
    raw = sum(len(p) + 2 for p in sent)
    assert on_the_wire * 3 < raw
    status = a.compression_stats
    assert status is not None
    assert (status.transmit, status.receive) == ("Deflate (15)", "Deflate (15)")
    assert (status.sent_uncompressed, status.sent_compressed) == (raw, on_the_wire)
    other = b.compression_stats
    assert other is not None
    assert (other.received_compressed, other.received_uncompressed) == (on_the_wire, raw)
    # pppd's "received N bytes" counts what the datagrams decompressed to.
    assert b.stats.bytes_received >= raw


def test_windows_differ_per_direction() -> None:
    config = CcpConfig(deflate=DeflateConfig(want_size=12, allow_size=15))
    pair = up(ccp_link("a", config), ccp_link("b"))
    a = pair.a
    assert isinstance(a, Link)
    status = a.compression_stats
    assert status is not None
    # a asks the peer to compress with 12; b asks a for 15.
    assert (status.receive, status.transmit) == ("Deflate (12)", "Deflate (15)")


def test_a_peer_without_ccp_protocol_rejects_it_and_ip_flows_uncompressed() -> None:
    pair = make_pair(ccp_link("a"), make_link("b"))
    pair.run(20, stop=both_up)
    assert both_up(pair)
    a = pair.a
    assert isinstance(a, Link)
    pair.run(pair.now + 5)
    assert a.ccp is not None
    assert a.ccp.state in (State.CLOSED, State.STOPPED)
    assert a.phase.name == "NETWORK"  # CCP is not a network protocol: the link stays
    assert a.compression_stats is None
    a.send_ip(packet(1), pair.now)
    pair.run(pair.now + 1)
    assert received(pair, "b") == [packet(1)]


def test_lost_frames_are_resynchronised_by_reset_request_and_ack() -> None:
    """A lossy line (FCS errors drop whole frames): every datagram that arrives is intact."""
    lossy = Wire(impair=Impairment(seed=5, loss=0.05))
    pair = up(ccp_link("a"), ccp_link("b"), a_to_b=lossy)
    a, b = links(pair)
    sent = [packet(i) for i in range(300)]
    for i, p in enumerate(sent):
        a.send_ip(p, pair.now)
        if i % 5 == 0:
            pair.run(pair.now + 0.05)
    pair.run(pair.now + 10)
    got = received(pair, "b")
    assert got, "nothing arrived"
    assert all(g in sent for g in got)
    assert got == sorted(got, key=sent.index)  # in order, nothing made up
    assert b.ccp is not None
    assert a.ccp is not None
    assert b.ccp.resets_sent >= 1
    assert a.ccp.resets_received >= 1
    assert b.ccp.is_opened  # compression stays on
    codes = [p.code for _, p in pair.b_to_a.packets(PPPProtocol.CCP)]
    assert RESET_REQ in codes
    assert RESET_ACK in [p.code for _, p in pair.a_to_b.packets(PPPProtocol.CCP)]
    assert len(got) > 200


def test_lost_sync_disables_compression_and_sigusr2_brings_it_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pair = up(ccp_link("a"), ccp_link("b"))
    a, b = links(pair)
    assert b.ccp is not None
    assert isinstance(b.ccp.decompressor, DeflateDecompressor)
    b.ccp.decompressor.mru = 50  # a datagram inflating past the MRU: fatal
    with caplog.at_level(logging.INFO):
        a.send_ip(packet(1), pair.now)
        pair.run(pair.now + 5)
    assert "Lost compression sync: disabling compression" in lines(caplog, "b")
    assert "Compression disabled by peer." in lines(caplog, "a")
    assert b.compression_stats is None
    # Without compression IP still flows.
    a.send_ip(packet(2), pair.now)
    pair.run(pair.now + 1)
    assert received(pair, "b")[-1] == packet(2)
    b.renegotiate_ccp(pair.now)
    pair.run(pair.now + 5, stop=ccp_up)
    assert ccp_up(pair)
    a.send_ip(packet(3), pair.now)
    pair.run(pair.now + 1)
    assert received(pair, "b")[-1] == packet(3)


def test_renegotiate_leaves_an_opened_ccp_alone() -> None:
    pair = up(ccp_link("a"), ccp_link("b"))
    a = pair.a
    assert isinstance(a, Link)
    before = len(pair.a_to_b.packets(PPPProtocol.CCP))
    a.renegotiate_ccp(pair.now)
    pair.run(pair.now + 2)
    assert len(pair.a_to_b.packets(PPPProtocol.CCP)) == before


def test_incompressible_packets_go_out_as_they_are() -> None:
    pair = up(ccp_link("a"), ccp_link("b"))
    a = pair.a
    assert isinstance(a, Link)
    noise = [HEADER + random.Random(i).randbytes(1200) for i in range(5)]
    mixed = [noise[0], packet(1), noise[1], packet(2), noise[2], packet(3)]
    assert a.send_ips(mixed, pair.now) == len(mixed)
    pair.run(pair.now + 2)
    assert received(pair, "b") == mixed
    protocols = [f.protocol for _, f in pair.a_to_b.frames() if f.protocol < 0x4000]
    assert protocols == [0x21, 0xFD, 0x21, 0xFD, 0x21, 0xFD]


def test_the_status_record_shows_what_deflate_does() -> None:
    pair = up(ccp_link("a"), ccp_link("b"))
    a = pair.a
    assert isinstance(a, Link)
    for i in range(10):
        a.send_ip(packet(i), pair.now)
    pair.run(pair.now + 2)
    observer = LinkObserver("a")
    observer.link = a
    compression = observer.status(pair.now).compression
    assert compression is not None
    assert compression.transmit == "Deflate (15)"
    assert compression.sent_ratio is not None
    assert compression.sent_ratio > 3


def test_a_datagram_ccp_cannot_decompress_sets_vjs_toss() -> None:
    """Linux's ppp_receive_error: a lost compressed datagram is a lost frame to VJ too."""
    vj = {"a": IpcpConfig(local=A_ADDR, remote=B_ADDR, vj=True), "b": IpcpConfig(vj=True)}
    pair = up(*(make_link(side, ccp=CcpConfig(), ipcp=vj[side]) for side in "ab"))
    b = pair.b
    assert isinstance(b, Link)
    unvj = b._path._unvj
    assert unvj is not None
    before = unvj.stats.tosses
    b.receive_data(hdlc.encode_frame(PPPProtocol.COMP, b"\x00\x07garbage"), pair.now)
    assert unvj.stats.tosses == before + 1


def test_the_reset_ack_follows_the_datagrams_compressed_before_the_reset() -> None:
    """The Reset-Ack must not overtake datagrams queued with the old history (Linux: FIFO).

    The peer resets its decompressor at the Ack; a datagram compressed before our reset that
    reaches it after the Ack fails ("bad sequence number N, expected M") and costs another
    Reset-Request. On a noisy line with a full send queue, every reset then made the next one
    and the transfer stalled.
    """
    pair = up(ccp_link("a"), ccp_link("b"))
    a, b = links(pair)
    before = [packet(i) for i in range(10)]
    for p in before:  # the history and the sequence number move on from the start
        a.send_ip(p, pair.now)
    pair.run(pair.now + 1)
    sent = [packet(i) for i in range(10, 50)]
    for p in sent:
        a.send_ip(p, pair.now)  # queued, compressed, not yet on the line
    request = ControlPacket(RESET_REQ, 77).encode()
    a.receive_data(hdlc.FrameEncoder(accm=0xFFFFFFFF).encode(PPPProtocol.CCP, request), pair.now)
    pair.run(pair.now + 5)
    assert a.ccp is not None
    assert b.ccp is not None
    assert a.ccp.resets_received == 1
    order = [
        (f.protocol, f.information[:1])
        for _, f in pair.a_to_b.frames()
        if f.protocol in (PPPProtocol.COMP, PPPProtocol.CCP)
    ]
    ack = order.index((PPPProtocol.CCP, bytes((RESET_ACK,))))
    assert [p for p, _ in order[:ack]].count(PPPProtocol.COMP) == len(before) + len(sent)
    assert b.ccp.errors == 0
    assert b.ccp.resets_sent == 0
    assert received(pair, "b") == before + sent


def test_a_lost_reset_ack_does_not_cost_the_next_datagram() -> None:
    """The decompressor asks again while it waits, not only when the next datagram fails.

    pppd repeats an unanswered Reset-Request only if another compressed datagram failed in
    the meantime. On a noisy line the Ack is lost as easily as data, and a TCP sender that
    got no acknowledgement is by then waiting for its retransmission timer: that
    retransmission was the next datagram, dropped to ask again, and the timer doubled (a
    stall of many seconds in the e2e test at a bit error rate of 1e-4).
    """
    lost: list[bytes] = []

    def lose_the_first_reset_ack(data: bytes, now: float) -> list[tuple[float, bytes]]:
        frames = hdlc.Deframer(accm=0, mru=65535).feed(data)
        ack = any(f.protocol == PPPProtocol.CCP and f.information[:1] == b"\x0f" for f in frames)
        if ack and not lost:
            lost.append(data)
            return []
        return [(0.001, data)]

    pair = up(ccp_link("a"), ccp_link("b"), a_to_b=Wire(impair=lose_the_first_reset_ack))
    a, b = links(pair)
    for i in range(3):
        a.send_ip(packet(i), pair.now)
    pair.run(pair.now + 1)
    # One compressed datagram out of sequence: b asks for a reset, and its Ack is lost.
    b.receive_data(hdlc.encode_frame(PPPProtocol.COMP, b"\x00\x07garbage"), pair.now)
    pair.run(pair.now + 5)  # nothing else is sent meanwhile (TCP waits for its timer)
    assert lost
    a.send_ip(packet(3), pair.now)
    pair.run(pair.now + 1)
    assert received(pair, "b") == [packet(i) for i in range(4)]
    assert b.ccp is not None
    assert b.ccp.is_opened
    assert b.ccp.get_timer() is None  # the repeat was answered: nothing outstanding


def test_after_a_quiet_spell_the_next_datagram_gets_through_a_loss_before_it() -> None:
    """On a line that loses frames, a loss just before a pause costs the next datagram nothing.

    On a noisy line TCP pauses for its retransmission timer; the retransmission, or its
    acknowledgement, is then the next datagram. Compressed, it would reveal the loss (a gap in
    the sequence numbers) and be dropped, and TCP would wait twice as long.
    """
    lose_when_told = LoseNext()
    pair = up(ccp_link("a"), ccp_link("b"), a_to_b=Wire(impair=lose_when_told))
    a, b = links(pair)
    a.send_ip(packet(0), pair.now)
    pair.run(pair.now + 0.1)
    lose_when_told.armed = True
    a.send_ip(packet(1), pair.now)  # lost, and the next one shows it: a reset
    pair.run(pair.now + 0.1)
    a.send_ip(packet(2), pair.now)
    pair.run(pair.now + 0.5)
    assert b.ccp is not None
    assert b.ccp.resets_sent == 1
    a.send_ip(packet(3), pair.now)
    pair.run(pair.now + 0.1)
    lose_when_told.armed = True
    a.send_ip(packet(4), pair.now + 0.1)  # lost right before a pause
    pair.run(pair.now + 0.2)
    pair.now += 2  # quiet
    a.send_ip(packet(5), pair.now)
    pair.run(pair.now + 0.5)
    assert received(pair, "b") == [packet(0), packet(3), packet(5)]
    assert b.ccp.resets_sent == 1


def test_on_a_clean_line_the_datagrams_after_a_quiet_spell_go_compressed() -> None:
    """No loss so far: a pause is the start of something new, compressed as Linux does."""
    pair = up(ccp_link("a"), ccp_link("b"))
    a, _ = links(pair)
    a.send_ip(packet(0), pair.now)
    pair.run(pair.now + 0.1)
    pair.now += 2  # quiet
    for i in range(1, 5):
        a.send_ip(packet(i), pair.now)
    pair.run(pair.now + 0.5)
    assert received(pair, "b") == [packet(i) for i in range(5)]
    assert a.ccp is not None
    assert isinstance(a.ccp.compressor, DeflateCompressor)
    assert a.ccp.compressor.plain == 0  # every one of them went compressed


class _DelayFirstCcpAck:
    """An ``impair`` for b -> a: b's first CCP Configure-Ack takes half a second.

    a has then sent its own Configure-Ack but its CCP opens only half a second later (before
    its restart timer, so nothing is negotiated again): IPCP is up in between.
    """

    def __init__(self) -> None:
        self.deframer = hdlc.Deframer(accm=0, mru=65535)
        self.delayed = False

    def __call__(self, data: bytes, now: float) -> list[tuple[float, bytes]]:
        encoder = hdlc.FrameEncoder(accm=0xFFFFFFFF)
        out = []
        for frame in self.deframer.feed(data):
            is_ack = frame.protocol == PPPProtocol.CCP and frame.information[:1] == b"\x02"
            delay = 0.5 if is_ack and not self.delayed else 0.001
            self.delayed |= is_ack
            out.append((delay, encoder.encode(frame.protocol, frame.information)))
        return out


def _linux_decompressor_errors(wire: Wire) -> list[str]:
    """What a Linux receiver makes of a's frames: ppp_generic's CCP peek, ppp_deflate.

    Linux starts its decompressor when the sender's CCP Configure-Ack arrives (not when its
    own CCP opens) and from then on every uncompressed datagram joins the history and takes a
    sequence number (``z_incomp``), every 0x00FD datagram must decompress (``z_decompress``).
    """
    decompressor: DeflateDecompressor | None = None
    errors = []
    for _, frame in wire.frames():
        if frame.protocol == PPPProtocol.CCP and frame.information[:1] == b"\x02":
            decompressor = DeflateDecompressor(15, 1500)
        elif decompressor is None:
            continue
        elif frame.protocol == PPPProtocol.COMP:
            try:
                decompressor.decompress(frame.information)
            except Exception as exc:
                errors.append(str(exc))
        elif frame.protocol < 0x4000:
            decompressor.incompressible(frame.protocol, frame.information)
    return errors


def test_datagrams_between_our_ccp_ack_and_ccp_opening_wait_for_the_compressor() -> None:
    """Interop s1 with read coalescing: the first ping after the link came up was lost.

    Our Configure-Ack starts Linux's decompressor; a datagram we sent plain before our own
    CCP opened put it one sequence number ahead of our compressor, so the first compressed
    datagram failed ("bad sequence number 0, expected 1") and cost a Reset-Request.
    """
    pair = make_pair(ccp_link("a"), ccp_link("b"), b_to_a=Wire(impair=_DelayFirstCcpAck()))
    a, b = links(pair)

    def in_the_window(pair: LinkPair) -> bool:
        return both_up(pair) and a.ccp is not None and a.ccp.state is State.ACK_SENT

    pair.run(20, stop=in_the_window)
    assert in_the_window(pair)
    early = [packet(i) for i in range(3)]
    for p in early:
        assert a.send_ip(p, pair.now)
    pair.run(pair.now + 1, stop=ccp_up)
    assert ccp_up(pair)
    later = [packet(i) for i in range(3, 6)]
    assert a.send_ips(later, pair.now) == len(later)
    pair.run(pair.now + 2)
    assert _linux_decompressor_errors(pair.a_to_b) == []
    assert received(pair, "b") == early + later
    assert b.ccp is not None
    assert b.ccp.errors == 0


class _AckWithFirstCompressed:
    """An ``impair`` for b -> a: b's first CCP Configure-Ack arrives in one read together
    with b's first compressed datagram (Linux compresses right after its Ack; a coalesced
    read of a slow line takes both)."""

    def __init__(self) -> None:
        self.deframer = hdlc.Deframer(accm=0, mru=65535)
        self.held: bytes | None = None
        self.done = False

    def __call__(self, data: bytes, now: float) -> list[tuple[float, bytes]]:
        encoder = hdlc.FrameEncoder(accm=0xFFFFFFFF)
        out = b""
        for frame in self.deframer.feed(data):
            encoded = encoder.encode(frame.protocol, frame.information)
            if self.done:
                out += encoded
            elif frame.protocol == PPPProtocol.CCP and frame.information[:1] == b"\x02":
                self.held = encoded
            elif frame.protocol == PPPProtocol.COMP and self.held is not None:
                out += self.held + encoded
                self.done = True
            else:
                out += encoded
        return [(0.001, out)] if out else []


def test_a_compressed_datagram_in_the_read_that_opens_ccp_is_decompressed() -> None:
    """The receive loop looks at CCP's decompressor again after each control frame."""
    pair = make_pair(ccp_link("a"), ccp_link("b"), b_to_a=Wire(impair=_AckWithFirstCompressed()))
    a, b = links(pair)

    def b_compresses(pair: LinkPair) -> bool:
        return both_up(pair) and b.ccp is not None and b.ccp.is_opened

    pair.run(20, stop=b_compresses)
    assert b_compresses(pair)
    assert a.ccp is not None
    assert not a.ccp.is_opened  # its Configure-Ack is held back with the datagram
    assert b.send_ip(packet(1), pair.now)
    pair.run(pair.now + 1)
    assert a.ccp.is_opened
    assert received(pair, "a") == [packet(1)]
    assert a.ccp.errors == 0


def _ccp_frames(data: bytes) -> list[tuple[int, int]]:
    """(code, identifier) of every CCP packet in ``data``."""
    frames = hdlc.Deframer(accm=0, mru=65535).feed(data)
    return [(f.information[0], f.information[1]) for f in frames if f.protocol == PPPProtocol.CCP]


def test_reset_requests_for_an_owner_that_never_drains_queue_one_reset_ack() -> None:
    """Review of issue P: Reset-Acks queue behind the data, outside the control-queue bound.

    Each Reset-Request queued one more Ack (100,000 of them grew ``pending_bytes`` to 1 MB);
    an Ack still queued answers every request after it, so the newest replaces it.
    """
    pair = up(ccp_link("a"), ccp_link("b"))
    a, _ = links(pair)
    assert a.ccp is not None
    a.data_to_send()
    encoder = hdlc.FrameEncoder(accm=0xFFFFFFFF)
    requests = [ControlPacket(RESET_REQ, n & 0xFF).encode() for n in range(1, 3001)]
    a.receive_data(b"".join(encoder.encode(PPPProtocol.CCP, r) for r in requests), pair.now)
    assert a.ccp.resets_received == 3000
    assert a.lcp_result is not None
    framing = hdlc.FrameEncoder(accm=a.lcp_result.peer_accm)
    one_ack = framing.encode(PPPProtocol.CCP, ControlPacket(RESET_ACK, 3000 & 0xFF).encode())
    assert a.pending_bytes <= len(one_ack)
    assert _ccp_frames(a.data_to_send()) == [(RESET_ACK, 3000 & 0xFF)]


def test_reset_acks_with_datagrams_between_them_all_go_in_order() -> None:
    """Only an Ack with nothing behind it gives way: the datagrams after an Ack were
    compressed from the history it starts, so it must reach the peer before them."""
    pair = up(ccp_link("a"), ccp_link("b"))
    a, _ = links(pair)
    encoder = hdlc.FrameEncoder(accm=0xFFFFFFFF)

    def reset_request(identifier: int) -> None:
        request = ControlPacket(RESET_REQ, identifier).encode()
        a.receive_data(encoder.encode(PPPProtocol.CCP, request), pair.now)

    sent = [packet(i) for i in range(4)]
    a.send_ip(sent[0], pair.now)
    reset_request(1)
    a.send_ip(sent[1], pair.now)
    a.send_ip(sent[2], pair.now)
    reset_request(2)
    reset_request(3)  # replaces the Ack to 2: no datagram between them
    a.send_ip(sent[3], pair.now)
    order = [
        ("ack", f.information[1]) if f.protocol == PPPProtocol.CCP else ("ip", 0)
        for f in hdlc.Deframer(accm=0, mru=65535).feed(a.data_to_send())
    ]
    assert order == [("ip", 0), ("ack", 1), ("ip", 0), ("ip", 0), ("ack", 3), ("ip", 0)]
    assert a.stats.discarded["CCP answer superseded before it was sent"] == 1


def test_configure_requests_for_an_owner_that_never_drains_queue_one_configure_ack() -> None:
    """Our CCP Configure-Ack queues behind queued datagrams (module datapath): a storm of
    Configure-Requests queued one Ack each, outside the control-queue bound."""
    pair = up(ccp_link("a"), ccp_link("b"))
    a, _ = links(pair)
    request = next(p for _, p in reversed(pair.b_to_a.packets(PPPProtocol.CCP)) if p.code == 1)
    a.send_ip(packet(0), pair.now)  # queued, not drained
    before = a.pending_bytes
    encoder = hdlc.FrameEncoder(accm=0xFFFFFFFF)
    storm = [
        ControlPacket(1, n & 0xFF, request.data).encode() for n in range(request.identifier, 2000)
    ]
    a.receive_data(b"".join(encoder.encode(PPPProtocol.CCP, r) for r in storm), pair.now)
    assert a.pending_bytes - before <= 64
    acks = [(c, i) for c, i in _ccp_frames(a.data_to_send()) if c == 2]
    assert acks == [(2, (2000 - 1) & 0xFF)]
