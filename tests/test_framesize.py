"""The adaptive send size on noisy lines (pyppp.framesize): the model, the sizer, two Links."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from pyppp.events import MtuChanged, NetworkUp
from pyppp.framesize import FIRST_PROBES, MIN_LOST, SIZES, FrameSizer, goodput
from tests.linkpair import LinkPair, Wire
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


def test_probes_go_out_only_while_sending_at_most_once_a_second() -> None:
    sizer = FrameSizer(1500)
    plenty = 10**9  # octets sent: the 1 % budget is never what holds a probe back here
    assert sizer.probe(0.0, 0, plenty) is None  # nothing sent yet
    assert sizer.probe(0.5, 10, plenty) == 1500
    assert sizer.probe(1.0, 20, 2 * plenty) is None  # within the interval
    assert sizer.probe(1.6, 10, 2 * plenty) is None  # no datagram sent since
    assert sizer.probe(1.7, 30, 2 * plenty) == 1500
    assert FrameSizer(1500, enabled=False).probe(5.0, 30, plenty) is None


def test_probes_take_at_most_one_percent_of_what_is_sent() -> None:
    # At 115200 baud (11,520 octets/s) a 1500-octet probe a second would be 13 % of the line.
    sizer = FrameSizer(1500)
    sent, probes = 0, 0
    for second in range(1, 601):
        sent += 11_520
        size = sizer.probe(float(second), second, sent)
        if size is not None:
            probes += 1
            sent += size  # the probe itself goes out too
    assert 0 < (probes - FIRST_PROBES) * 1500 <= 0.01 * sent, (probes, sent)
    assert probes >= 40  # still a probe every 13 s or so: errors are still seen
    # Once frames are damaged, the probes measure once a second whatever the budget.
    sizer.update(sent, 1000, 0)
    sizer.update(sent + 100_000, 1100, 5)
    assert sizer.probe(1000.0, 1000, sent + 1) == sizer.current
