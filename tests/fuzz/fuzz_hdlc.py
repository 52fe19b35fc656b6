"""The async-HDLC framer (RFC 1662): the Deframer against the octet-at-a-time reference.

``hdlc.deframer``: arbitrary octets, cut into reads at arbitrary places, with a receive ACCM
and MRU the input chooses. Oracles: nothing raises; the frames delivered are exactly those of
:func:`tests.hdlc_reference.ref_decode` on the whole stream (so chunking never matters: the
dense run unescaper, the abort sequence, ``7D 7D``); ``frames``/``octets`` count what was
delivered; and the memory bound: after every read ``Deframer.buffered <= 2 * (mru + 7)``,
and what ``head()`` and ``awaiting()`` (a slow line's reader's questions) answer is bounded.

``hdlc.round_trip``: packets the input chooses, framed by ``FrameEncoder`` with the ACCM,
``escape`` set, ACFC and PFC it chooses, cut anywhere: the Deframer (with that ACCM) and the
reference give back every packet, and nothing is counted as discarded but RFC 1662 §4.3's
3-octet runts.
"""

from __future__ import annotations

from pyppp import hdlc
from pyppp.hdlc import Deframer, Frame, FrameEncoder
from tests.fuzz.harness import FuzzTarget, Input
from tests.hdlc_reference import ref_decode

_ACCMS = [0, 0xFFFFFFFF, 0x000A0000, 0xFFFFFFFF, 0]
_MRUS = [0, 5, 64, 296, 1500, 1500, 16384]
_PROTOCOLS = [0x21, 0x57, 0x2D, 0xFD, 0x8021, 0xC021, 0xC023, 0xC223, 0x0001, 0xFEFF]
_ALLOWED_ESCAPES = [o for o in range(256) if o not in hdlc._FORBIDDEN_ESCAPES]


def _accm(source: Input) -> int:
    choice = source.below(len(_ACCMS) + 1)
    return _ACCMS[choice] if choice < len(_ACCMS) else source.uint(4)


def _cuts(source: Input, length: int) -> list[int]:
    return sorted(source.uint(2) % (length + 1) for _ in range(source.below(24)))


def _feed(deframer: Deframer, stream: bytes, cuts: list[int], bound: int) -> list[Frame]:
    frames: list[Frame] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        frames += deframer.feed(stream[start:cut])
        start = cut
        assert deframer.buffered <= bound, f"{deframer.buffered} octets held (bound {bound})"
        # What a slow line's reader asks after each read (Deframer.head, .awaiting): bounded.
        head = deframer.head()
        assert len(head) <= 24, len(head)
        for size in (len(head) + 40, 1506):
            rest = deframer.awaiting(size)
            assert rest is None or 0 < rest <= 2 * size + 1, (size, rest)
    return frames


def deframer(data: bytes) -> None:
    source = Input(data)
    accm = _accm(source)
    mru = _MRUS[source.below(len(_MRUS))]
    raw = source.take(64)
    cut_source = Input(raw)
    stream = source.rest()
    if raw and raw[0] & 1:
        stream = stream * 2  # doubled: longer runs (the dense path wants 256+ octets)
    cuts = _cuts(cut_source, len(stream))
    machine = Deframer(accm=accm, mru=mru)
    frames = _feed(machine, stream, cuts, 2 * (mru + 7))
    assert frames == ref_decode(stream, accm, mru), "the Deframer and the reference disagree"
    assert machine.frames == len(frames)
    assert machine.octets == sum(len(frame.information) for frame in frames)


def round_trip(data: bytes) -> None:
    source = Input(data)
    accm = _accm(source)
    escape = {_ALLOWED_ESCAPES[source.below(len(_ALLOWED_ESCAPES))] for _ in range(source.below(4))}
    flags = source.uint()
    acfc, pfc = bool(flags & 1), bool(flags & 2)
    packets = []
    for _ in range(1 + source.below(6)):
        protocol = _PROTOCOLS[source.below(len(_PROTOCOLS))]
        packets.append((protocol, source.chunk(300)))
    encoder = FrameEncoder(accm=accm, escape=escape, acfc=acfc, pfc=pfc)
    stream = b"".join(encoder.encode(protocol, information) for protocol, information in packets)
    cuts = _cuts(source, len(stream))
    # RFC 1662 §4.3: ACFC + PFC + empty Information is a 3-octet frame, "too short".
    runts = [acfc and pfc and p < 0x100 and not i for p, i in packets]
    expected = [Frame(p, i) for (p, i), runt in zip(packets, runts, strict=True) if not runt]
    machine = Deframer(accm=accm)
    assert _feed(machine, stream, cuts, 2 * (1500 + 7)) == expected, "a packet did not survive"
    assert machine.discarded == dict.fromkeys(hdlc.DISCARD_REASONS, 0) | {"too_short": sum(runts)}
    assert ref_decode(stream, accm) == expected, "the reference disagrees with the encoder"


def _seed_stream() -> bytes:
    packets = [bytes((i * 7 + j) % 40 for j in range(64)) for i in range(6)]
    frames = [hdlc.encode_frame(0x21, p) for p in packets]
    frames[2] = frames[2][:-1] + b"\x7d\x7e"  # an abort inside a dense run
    return b"".join(frames)


TARGETS = [
    FuzzTarget(
        "hdlc.deframer",
        deframer,
        seeds=[
            # ACCM ffffffff, MRU 1500, no cuts (one read), a dense run with an abort
            bytes.fromhex("0001 0004") + bytes(64) + _seed_stream(),
            # ACCM 0, MRU 1500, reads of any size, pppd's Configure-Request then a 7D run
            bytes.fromhex("0000 0004")
            + bytes.fromhex("0010") * 32
            + hdlc.encode_frame(0xC021, bytes.fromhex("01010004"))
            + b"\x7d" * 300,
            bytes.fromhex("0002 0003") + bytes.fromhex("0105") * 32 + b"\x7e\xff\x7d\x23\x7e" * 9,
        ],
        max_len=4096,
    ),
    FuzzTarget(
        "hdlc.round_trip",
        round_trip,
        seeds=[
            bytes.fromhex("0001 0000 00 0003 0000 0010") + bytes(range(16)),
            bytes.fromhex("0000 0002 0001 0002 03 0004 0000 0020") + b"\x7d\x7e" * 16,
        ],
        max_len=2048,
    ),
]
