"""The adaptive send size on noisy lines (pyppp.framesize): the model, the sizer, two Links."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyppp.events import MtuChanged, NetworkUp
from pyppp.framesize import (
    ACTIVE,
    FIRST_PROBES,
    MIN_LOST,
    PROBE_SHARE,
    RESEND_ALERT,
    SIZES,
    FrameSizer,
    TcpResends,
    goodput,
)
from pyppp.packet import Code, PPPProtocol
from tests.linkpair import LinkPair, Wire
from tests.tcpip import FIN, SYN, Segment
from tests.test_link import A_ADDR, B_ADDR, make_link


def damage_for(ber: float) -> float:
    """The chance that a line octet is damaged at a bit error rate (8 bits an octet)."""
    return 1.0 - (1.0 - ber) ** 8


def best_size(ber: float, ceiling: int = 1500) -> int:
    candidates = [ceiling, *(s for s in SIZES if s < ceiling)]
    return max(candidates, key=lambda size: goodput(size, damage_for(ber)))


def test_the_model_keeps_full_frames_on_clean_lines_and_shrinks_them_on_noisy_ones() -> None:
    assert best_size(0.0) == 1500
    assert best_size(1e-6) == 1500
    # The measurement: at 1e-4 a 1500-octet frame survives ~30 %, mtu 296 works.
    assert goodput(1500, damage_for(1e-4)) < 0.3
    assert best_size(1e-4) == 296
    assert best_size(1e-3) == 128
    assert best_size(1e-4, ceiling=200) == 200  # never above the peer's MRU


class Line:
    """Counters as a framer would see them on a line with ``ber``, frames of ``size`` octets."""

    def __init__(self, ber: float, size: int, seed: int = 1) -> None:
        self.ber, self.size = ber, size
        self.rng = random.Random(seed)
        self.octets = self.frames = self.lost = 0

    def run(self, sizer: FrameSizer, frames: int) -> list[int]:
        changes = []
        survive = (1.0 - damage_for(self.ber)) ** self.size
        for _ in range(frames):
            self.octets += self.size
            if self.rng.random() < survive:
                self.frames += 1
            else:
                self.lost += 1
            mtu = sizer.update(self.octets, self.frames, self.lost)
            if mtu is not None:
                changes.append(mtu)
        return changes


def test_the_sizer_goes_down_on_a_noisy_line_and_back_up_when_it_cleans() -> None:
    sizer = FrameSizer(1500)
    line = Line(1e-4, 60)  # small frames coming back (TCP ACKs), the usual case
    assert line.run(sizer, 3000) == [296]
    assert 6e-4 < sizer.damage < 1e-3
    line.ber = 0.0
    raised = line.run(sizer, 20000)  # step by step as the old errors fade from the window
    assert raised == sorted(raised)
    assert raised[-1] == 1500
    assert sizer.current == 1500


def test_the_sizer_needs_evidence_and_ignores_a_clean_or_slightly_noisy_line() -> None:
    sizer = FrameSizer(1500)
    assert sizer.update(1500, 0, 1) is None  # one damaged frame: maybe a glitch
    assert sizer.update(3000, 0, int(MIN_LOST) - 1) is None
    assert sizer.current == 1500
    for ber in (0.0, 1e-6):
        clean = FrameSizer(1500)
        assert Line(ber, 1500).run(clean, 20000) == []


def test_a_disabled_sizer_never_changes() -> None:
    sizer = FrameSizer(1500, enabled=False)
    assert sizer.current == 1500
    sizer.reset(1400)
    assert sizer.current == 1400


def bit_errors(ber: float, seed: int) -> Callable[[bytes, float], list[tuple[float, bytes]]]:
    """A ``Wire.impair`` flipping each bit with probability ``ber`` (an unpaced noisy line)."""
    rng = random.Random(seed)

    def impair(data: bytes, now: float) -> list[tuple[float, bytes]]:
        if ber <= 0:
            return [(0.001, data)]
        buffer = bytearray(data)
        position = int(rng.expovariate(ber))
        while position < len(buffer) * 8:
            buffer[position >> 3] ^= 1 << (position & 7)
            position += 1 + int(rng.expovariate(ber))
        return [(0.001, bytes(buffer))]

    return impair


def datagram(size: int, source: bytes, destination: bytes) -> bytes:
    header = bytes.fromhex("4500") + size.to_bytes(2, "big") + bytes.fromhex("000040004011")
    return header + b"\0\0" + source + destination + bytes(size - 20)


@pytest.mark.parametrize("adaptive", [True, False])
def test_links_on_a_noisy_line_lower_the_send_size_and_raise_it_when_it_cleans(
    adaptive: bool,
) -> None:
    noisy = [bit_errors(1e-4, 1), bit_errors(1e-4, 2)]
    a_to_b, b_to_a = Wire(impair=noisy[0]), Wire(impair=noisy[1])
    pair = LinkPair(
        make_link("a", adaptive_mtu=adaptive),
        make_link("b", adaptive_mtu=adaptive),
        a_to_b=a_to_b,
        b_to_a=b_to_a,
    )
    a, b = pair.a, pair.b
    a.open(0.0)  # type: ignore[attr-defined]
    b.open(0.0)  # type: ignore[attr-defined]
    pair.run(60.0, stop=lambda p: a.network_up and b.network_up)  # type: ignore[attr-defined]
    assert [e.mtu for e in pair.of_type("a", NetworkUp)] == [1500]
    big = datagram(1500, A_ADDR.packed, B_ADDR.packed)
    ack = datagram(40, B_ADDR.packed, A_ADDR.packed)

    def traffic(seconds: float) -> None:
        end = pair.now + seconds
        while pair.now < end:
            a.send_ips([big] * 4, pair.now)  # type: ignore[attr-defined]
            b.send_ip(ack, pair.now)  # type: ignore[attr-defined]
            pair.run(pair.now + 0.01)

    traffic(20.0)
    lowered = [e.mtu for e in pair.of_type("a", MtuChanged)]
    if not adaptive:
        assert lowered == []
        return
    assert lowered == [296]
    assert a.mtu == 1500  # type: ignore[attr-defined]  # the negotiated limit is unchanged
    assert a.network_up  # type: ignore[attr-defined]
    a_to_b.impair = b_to_a.impair = None  # the line cleans up
    traffic(30.0)
    raised = [e.mtu for e in pair.of_type("a", MtuChanged)][1:]
    assert raised == sorted(raised)
    assert raised[-1] == 1500


def test_the_first_probe_goes_when_the_network_comes_up_before_any_datagram() -> None:
    """The link's first look at the line is taken while it is quiet, not in its first transfer."""
    a_to_b = Wire()
    pair = LinkPair(
        make_link("a", adaptive_mtu=True), make_link("b", adaptive_mtu=True), a_to_b=a_to_b
    )
    a, b = pair.a, pair.b
    a.open(0.0)  # type: ignore[attr-defined]
    b.open(0.0)  # type: ignore[attr-defined]
    pair.run(60.0, stop=lambda p: a.network_up and b.network_up)  # type: ignore[attr-defined]
    pair.run(pair.now + 1.0)  # nothing else happens: no datagram yet
    probes = [
        (when, packet)
        for when, packet in a_to_b.packets(PPPProtocol.LCP)
        if packet.code == Code.ECHO_REQ and len(packet.data) > 1000
    ]
    assert len(probes) == FIRST_PROBES
    assert len(probes[0][1].data) == 1500 - 4  # as large as a 1500-octet datagram's frame
    assert pair.of_type("a", NetworkUp)
    assert not [f for _, f in a_to_b.frames() if f.protocol == PPPProtocol.IP]


def test_probes_go_out_only_while_ip_flows_at_most_once_a_second() -> None:
    sizer = FrameSizer(1500)
    plenty = 10**9  # octets sent: the budget is never what holds a probe back here
    assert sizer.probe(0, plenty, 0.0) == 1500  # the first: once the network is up
    assert sizer.probe(0, plenty, 1.5) is None  # then none while no IP goes either way
    assert sizer.probe(10, 2 * plenty, 2.0) == 1500
    assert sizer.probe(20, 3 * plenty, 2.5) is None  # within the interval
    assert sizer.probe(20, 4 * plenty, 3.1) == 1500  # IP went 0.6 s ago: still flowing
    assert sizer.probe(20, 5 * plenty, 2.5 + ACTIVE) == 1500
    assert sizer.probe(20, 6 * plenty, 2.6 + ACTIVE) is None  # quiet for ACTIVE seconds
    assert sizer.probe(20, 7 * plenty, 30.0) is None  # an idle link sends none
    assert sizer.probe(21, 8 * plenty, 31.0) == 1500
    assert FrameSizer(1500, enabled=False).probe(30, plenty, 5.0) is None


def test_probes_on_a_clean_line_take_at_most_a_fifth_of_a_percent_of_what_is_sent() -> None:
    # At 115200 baud (11,520 octets/s) a 1500-octet probe a second would be 13 % of the line,
    # and its reply as much again: a clean line gets rare probes, none in a transfer's start.
    sizer = FrameSizer(1500)
    sent, probes = 0, 0
    first: int | None = None
    later: int | None = None
    for second in range(1, 601):
        sent += 11_520
        size = sizer.probe(second, sent, float(second))
        if size is not None:
            probes += 1
            first = first or second
            if probes == FIRST_PROBES + 1:
                later = second
            sent += size  # the probe itself goes out too
    assert first == 1  # the link's first probe looks whatever the budget
    assert 0 < (probes - FIRST_PROBES) * 1500 <= PROBE_SHARE * sent, (probes, sent)
    assert probes - FIRST_PROBES >= 8  # still a probe a minute or so: a sender that hears
    assert later is not None  # nothing back learns, but none in a transfer's first minute
    assert later >= 60  # 1500 / 0.2 % = 750 kB, 65 s of line
    # Once frames are damaged, the probes measure once a second whatever the budget.
    sizer.update(sent, 1000, 0)
    sizer.update(sent + 100_000, 1100, 5)
    assert sizer.probe(1000, sent + 1, 1000.0) == sizer.current
    assert sizer.probe(1001, sent + 2, 1001.0) == sizer.current


def test_tcp_resending_makes_the_probes_measure_once_a_second() -> None:
    sizer = FrameSizer(1500)
    sent = 0
    segment = Segment(data=bytes(1000), seq=1000)

    def second(now: float) -> int | None:
        nonlocal sent
        sent += 11_520
        return sizer.probe(int(now * 10), sent, now)

    assert second(0.1) == 1500  # the link's first probe
    sizer.resends.look(bytes(segment))
    sizer.resends.look(bytes(segment.but(seq=2000)))
    assert second(2.5) is None  # new data: no trouble
    sizer.resends.look(bytes(segment))  # one resend alone (Linux's tail-loss probe) is none
    assert second(2.0) is None
    assert second(3.0) is None
    sizer.resends.look(bytes(segment.but(seq=2000)))  # a second within RESEND_ALERT seconds
    assert second(4.0) == 1500
    assert second(4.5) is None  # still once a second at most
    assert second(5.0) == 1500
    quiet = 4.0 + RESEND_ALERT
    assert second(quiet - 0.5) == 1500
    assert second(quiet + 1.0) is None  # ten seconds without a resend: the budget again
    # Two resends far apart are not a run.
    sizer.resends.look(bytes(segment))
    assert second(quiet + 2.0) is None
    sizer.resends.look(bytes(segment))
    assert second(quiet + 3.0 + RESEND_ALERT) is None


def test_tcp_resends_are_told_by_sequence_numbers_per_connection() -> None:
    resends = TcpResends()
    data = Segment(data=bytes(100), seq=0xFFFFFFC0)  # the next one wraps past 2**32
    resends.look(bytes(data))
    resends.look(bytes(data.but(seq=0x24)))  # ends at 0x88: past the wrap, new data
    assert resends.count == 0
    resends.look(bytes(data))  # the first again
    resends.look(bytes(data.but(seq=0x24, data=bytes(50))))  # part of the second again
    assert resends.count == 2
    # Other connections, and segments without data, are not resends of these.
    resends.look(bytes(data.but(sport=1025)))
    resends.look(bytes(data.but(dst="10.99.13.3")))
    resends.look(bytes(data.but(data=b"")))
    resends.look(bytes(data.but(data=b"", flags=SYN)))
    resends.look(bytes(data.but(data=b"", flags=FIN)))
    assert resends.count == 2
    # Not TCP, or a fragment, or too short: passed over.
    resends.look(bytes(data.but(protocol=17)))
    resends.look(bytes(data.but(frag=0x2000)))
    resends.look(bytes(data.but(frag=0x0010)))
    resends.look(bytes(data)[:39])
    resends.look(b"")
    assert resends.count == 2


def test_tcp_resends_over_ipv6_and_many_connections() -> None:
    scapy = pytest.importorskip("scapy.all")
    resends = TcpResends()
    first = bytes(scapy.IPv6(src="fe80::1", dst="fe80::2") / scapy.TCP(seq=5) / bytes(1000))
    resends.look(first)
    resends.look(first)
    assert resends.count == 1
    # Memory stays bounded: a thousand connections later the first is forgotten.
    for port in range(1000, 2000):
        resends.look(bytes(Segment(sport=port, data=b"x")))
    assert resends.count == 1
    assert len(resends._flows) <= 64
    resends.look(first)
    assert resends.count == 1  # forgotten: taken as new


@given(st.lists(st.binary(max_size=80), max_size=200))
def test_tcp_resends_take_any_octets(datagrams: list[bytes]) -> None:
    resends = TcpResends()
    resends.look_many(datagrams)
    assert 0 <= resends.count <= len(datagrams)
    assert len(resends._flows) <= 64
