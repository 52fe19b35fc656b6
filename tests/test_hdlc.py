"""RFC 1662 framer: vectors, edge cases, a reference decoder, property tests, both CRC backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pyppp import hdlc
from pyppp.errors import ConfigError, LocalProtocolError
from pyppp.hdlc import Deframer, Frame, FrameEncoder, encode_frame, fcs16
from tests.hdlc_reference import ref_decode, ref_fcs

BACKENDS = hdlc.available_crc_backends()


def octets(max_size: int) -> st.SearchStrategy[bytes]:
    # Not st.binary(): hypothesis's choice cache then holds b"" next to 0 (equal hashes), and
    # comparing them raises BytesWarning under `python -bb`.
    return st.lists(st.integers(0, 255), max_size=max_size).map(bytes)


# The real pppd's first LCP Configure-Request (captured on a serial line): asyncmap 0,
# magic 0x5bb51eb9, pcomp, accomp; sent with the default ACCM as RFC 1662 §7.1 requires.
PPPD_CONFREQ_WIRE = bytes.fromhex(
    "7e ff 7d 23 c0 21 7d 21 7d 21 7d 20 7d 34 7d 22 7d 26 7d 20 7d 20 7d 20 7d 20"
    " 7d 25 7d 26 5b b5 7d 3e b9 7d 27 7d 22 7d 28 7d 22 cc 5c 7e"
)
PPPD_CONFREQ_INFO = bytes.fromhex("01 01 00 14 02 06 00 00 00 00 05 06 5b b5 1e b9 07 02 08 02")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    previous = hdlc.crc_backend()
    hdlc.set_crc_backend(request.param)
    yield request.param
    hdlc.set_crc_backend(previous)


def feed_chunks(deframer: Deframer, stream: bytes, cuts: list[int]) -> list[Frame]:
    frames: list[Frame] = []
    start = 0
    for cut in [*sorted(cuts), len(stream)]:
        frames += deframer.feed(stream[start:cut])
        start = cut
    return frames


# --- FCS-16 (RFC 1662 §C.1) -----------------------------------------------------------------


def test_fcs16_check_value_and_residue(backend: str) -> None:
    assert fcs16(b"123456789") == 0x906E
    assert fcs16(b"") == 0x0000
    frame = b"\xff\x03\xc0\x21" + PPPD_CONFREQ_INFO
    fcs = fcs16(frame)
    with_fcs = frame + fcs.to_bytes(2, "little")
    assert ref_fcs(with_fcs) == hdlc.GOOD_FCS_RESIDUE
    assert fcs16(with_fcs) == hdlc.GOOD_FCS_RESIDUE ^ 0xFFFF
    assert hdlc.fcs16_ok(with_fcs)
    assert not hdlc.fcs16_ok(with_fcs[:-1] + bytes([with_fcs[-1] ^ 1]))


@given(octets(3000))
@settings(max_examples=200)
def test_every_backend_computes_the_same_fcs(data: bytes) -> None:
    previous = hdlc.crc_backend()
    try:
        values = set()
        for name in BACKENDS:
            hdlc.set_crc_backend(name)
            values.add(fcs16(data))
        assert values == {ref_fcs(data) ^ 0xFFFF}
    finally:
        hdlc.set_crc_backend(previous)


def test_backend_selection() -> None:
    assert BACKENDS[-1] == "stdlib"
    previous = hdlc.crc_backend()
    try:
        assert hdlc.set_crc_backend("stdlib") == "stdlib"
        assert hdlc.crc_backend() == "stdlib"
        assert hdlc.set_crc_backend("auto") == BACKENDS[0]
        with pytest.raises(LocalProtocolError, match="unknown CRC backend"):
            hdlc.set_crc_backend("crc-o-matic")
    finally:
        hdlc.set_crc_backend(previous)


# --- the pppd capture, both directions ------------------------------------------------------


def test_encode_pppd_configure_request(backend: str) -> None:
    # Whatever the link negotiated, a Configure-Request goes out with the default ACCM and
    # full headers (RFC 1662 §7.1): the encoder enforces it.
    for accm, acfc, pfc in [(0xFFFFFFFF, False, False), (0, True, True), (0xA0000, True, False)]:
        assert encode_frame(0xC021, PPPD_CONFREQ_INFO, accm=accm, acfc=acfc, pfc=pfc) == (
            PPPD_CONFREQ_WIRE
        )
    assert FrameEncoder(accm=0, acfc=True, pfc=True).encode(0xC021, PPPD_CONFREQ_INFO) == (
        PPPD_CONFREQ_WIRE
    )


def test_decode_pppd_configure_request_any_split(backend: str) -> None:
    expected = [Frame(0xC021, PPPD_CONFREQ_INFO)]
    info = expected[0].information
    assert (info[0], info[1]) == (1, 1)  # Configure-Request, id 1
    assert info[4:10] == bytes.fromhex("02 06 00 00 00 00")  # ACCM 0
    assert info[10:16] == bytes.fromhex("05 06 5b b5 1e b9")  # Magic-Number
    assert info[16:] == bytes.fromhex("07 02 08 02")  # PFC, ACFC
    wire = PPPD_CONFREQ_WIRE
    for accm in (0xFFFFFFFF, 0):
        assert Deframer(accm=accm).feed(wire) == expected
        deframer = Deframer(accm=accm)
        assert [f for octet in wire for f in deframer.feed(bytes([octet]))] == expected
        for cut in range(len(wire) + 1):
            deframer = Deframer(accm=accm)
            assert feed_chunks(deframer, wire, [cut]) == expected, cut
            assert not any(deframer.discarded.values())
            assert (deframer.frames, deframer.octets) == (1, len(PPPD_CONFREQ_INFO))


# --- transmit details -----------------------------------------------------------------------


def test_header_compression_rules(backend: str) -> None:
    ip = bytes(20)
    plain = Deframer(accm=0)
    # PFC only for protocols below 0x100; ACFC drops FF 03.
    assert encode_frame(0x21, ip, accm=0, pfc=True)[1:4] == b"\xff\x03\x21"
    assert encode_frame(0x21, ip, accm=0, acfc=True, pfc=True)[1:2] == b"\x21"
    assert encode_frame(0x8021, ip, accm=0, acfc=True, pfc=True)[1:3] == b"\x80\x21"
    # LCP Echo-Request (code 9) may use the negotiated compression; code 1..7 may not.
    echo = b"\x09\x01\x00\x08\x00\x00\x00\x00"
    assert encode_frame(0xC021, echo, accm=0, acfc=True)[1:3] == b"\xc0\x21"
    for code in range(1, 8):
        wire = encode_frame(0xC021, bytes([code]) + echo[1:], accm=0, acfc=True, pfc=True)
        assert wire[1:3] == b"\xff\x7d", code  # FF, then 03 escaped under the default ACCM
    for wire in (
        encode_frame(p, ip, accm=0, acfc=a, pfc=c)
        for p in (0x21, 0x8021)
        for a in (False, True)
        for c in (False, True)
    ):
        assert [f.information for f in plain.feed(wire)] == [ip]


def test_escaping_and_accm(backend: str) -> None:
    data = bytes(range(256))
    wire = encode_frame(0x21, data, accm=0)
    body = wire[1:-1]
    assert 0x7E not in body
    assert all(octet in body for octet in range(0x20))  # ACCM 0: control octets go raw
    wire = encode_frame(0x21, data, accm=0xFFFFFFFF)
    assert not any(octet in wire[1:-1] for octet in range(0x20))
    wire = encode_frame(0x21, data, accm=1 << 0x11 | 1 << 0x13)  # XON/XOFF only
    assert 0x11 not in wire
    assert 0x13 not in wire
    assert 0x12 in wire


def test_escape_option_like_pppd(backend: str) -> None:
    for bad in (0x20, 0x3F, 0x5E, 0x100, -1):
        with pytest.raises(ConfigError, match="can't escape character"):
            FrameEncoder(escape=[bad])
    with pytest.raises(ConfigError, match="asyncmap"):
        FrameEncoder(accm=1 << 32)
    data = bytes(range(256)) * 2
    encoder = FrameEncoder(accm=0, escape=[0xFF, 0x5D, 0x91, 0x00])
    wire = encoder.encode(0x21, data)
    assert 0xFF not in wire[1:-1]
    assert 0x91 not in wire
    assert b"\x7d\x7d" in wire
    assert Deframer(accm=0).feed(wire) == [Frame(0x21, data)]
    # The same on a long frame with few escapes (the sparse unescaping path).
    long = bytes(range(256)) * 8
    wire = FrameEncoder(accm=0, escape=[0x5D]).encode(0x21, long)
    assert wire.count(b"\x7d\x7d") == 8
    assert wire.count(b"\x7d\x5d") == 8
    assert Deframer(accm=0, mru=4096).feed(wire) == [Frame(0x21, long)]
    assert ref_decode(wire, 0, 4096) == [Frame(0x21, long)]
    # Settings are replaceable at run time.
    encoder.escape = ()
    encoder.accm = 0xFFFFFFFF
    encoder.acfc = encoder.pfc = True
    wire = encoder.encode(0x21, data)
    assert wire[1] == 0x21
    assert 0x91 in wire
    assert ref_decode(wire) == [Frame(0x21, data)]


def test_invalid_protocol_is_a_caller_error() -> None:
    for protocol in (0x20, 0x0121, 0x10001, -1):
        with pytest.raises(LocalProtocolError):
            encode_frame(protocol, b"")


# --- receive edge cases ---------------------------------------------------------------------


def good(
    protocol: int = 0x21, information: bytes = b"hello", *, acfc: bool = False, pfc: bool = False
) -> bytes:
    return encode_frame(protocol, information, accm=0, acfc=acfc, pfc=pfc)


def test_shared_and_repeated_flags(backend: str) -> None:
    one, two = good(information=b"one"), good(information=b"two")
    shared = one + two[1:]  # one Flag closes the first frame and opens the second
    for stream in (shared, b"\x7e" * 5 + one + b"\x7e" * 3 + two + b"\x7e\x7e"):
        deframer = Deframer(accm=0)
        assert [f.information for f in deframer.feed(stream)] == [b"one", b"two"]
        assert not any(deframer.discarded.values())


def test_discard_reasons_are_counted(backend: str) -> None:
    deframer = Deframer(accm=0, mru=100)
    frame = good(information=b"x" * 10)
    bad_fcs = frame[:-2] + bytes([frame[-2] ^ 0x01]) + b"\x7e"
    aborted = frame[:-4] + b"\x7d\x7e"
    too_long = good(information=b"y" * 101)
    bad_header = (
        b"\x7e"
        + hdlc._Escaper(frozenset({0x7D, 0x7E})).__call__(
            b"\xff\x05\x00\x21" + fcs16(b"\xff\x05\x00\x21").to_bytes(2, "little")
        )
        + b"\x7e"
    )
    stream = b"".join(
        (frame, b"\x41\x42\x7e", bad_fcs, aborted, frame, too_long, bad_header, frame)
    )
    assert [f.information for f in deframer.feed(stream)] == [b"x" * 10] * 3
    assert deframer.discarded == {
        "too_short": 1,
        "bad_fcs": 1,
        "too_long": 1,
        "aborted": 1,
        "bad_header": 1,
    }
    assert (deframer.frames, deframer.octets) == (3, 30)
    assert ref_decode(stream, 0, 100) == [Frame(0x21, b"x" * 10)] * 3


def test_mru_is_the_information_limit_and_settable() -> None:
    packet = b"z" * 1500
    assert Deframer(accm=0).feed(good(information=packet)) == [Frame(0x21, packet)]
    deframer = Deframer(accm=0, mru=1499)
    assert deframer.feed(good(information=packet)) == []
    assert deframer.discarded["too_long"] == 1
    deframer.mru = 1500
    compressed = good(information=packet, acfc=True, pfc=True)
    assert deframer.feed(compressed) == [Frame(0x21, packet)]


def test_memory_stays_bounded_without_flags() -> None:
    deframer = Deframer(accm=0, mru=1500)
    garbage = bytes(range(0x80, 0x100)) * 8  # no flag, no escape
    for _ in range(400):
        assert deframer.feed(garbage) == []
        assert deframer.buffered <= 1506 + len(garbage)
    assert deframer.discarded["too_long"] == 1  # counted once, as soon as it was certain
    # Escapes may double a frame's length on the line: that is not "too long" yet.
    escaped = Deframer(accm=0, mru=1500)
    wire = good(information=b"\x7e" * 1500)
    for octet in range(0, len(wire), 7):
        escaped.feed(wire[octet : octet + 7])
    assert escaped.frames == 1
    assert escaped.discarded["too_long"] == 0
    # The next flag ends the hunt; the following frame is received.
    assert deframer.feed(b"\x7e" + good(information=b"ok")) == [Frame(0x21, b"ok")]


def test_receive_accm_deletes_inserted_control_octets(backend: str) -> None:
    wire = encode_frame(0x21, b"\x7d\x7e data \x11\x13", accm=0xFFFFFFFF)
    # A modem inserts XON/XOFF anywhere, even between an escape and the octet it escapes.
    position = wire.index(b"\x7d") + 1
    noisy = wire[:position] + b"\x11" + wire[position:3] + b"\x13" + wire[3:]
    assert Deframer(accm=0x000A0000).feed(noisy) == [Frame(0x21, b"\x7d\x7e data \x11\x13")]
    deframer = Deframer(accm=0)
    assert deframer.feed(noisy) == []
    assert deframer.discarded["bad_fcs"] == 1
    deframer.accm = 0x000A0000
    assert deframer.feed(noisy) == [Frame(0x21, b"\x7d\x7e data \x11\x13")]
    with pytest.raises(LocalProtocolError):
        deframer.accm = 1 << 32


def test_escaped_escape_follows_the_rfc() -> None:
    # "7D 7D" is an escaped 0x5D; "7D 7D 7D 7E" ends in an abort.
    body = b"\x00\x21" + b"\x5d\x5d"
    fcs = fcs16(body).to_bytes(2, "little")
    assert b"\x7d" not in fcs
    assert b"\x7e" not in fcs
    wire = b"\x7e\x00\x21\x7d\x7d\x5d" + fcs + b"\x7e"
    assert Deframer(accm=0).feed(wire) == [Frame(0x21, b"\x5d\x5d")]
    deframer = Deframer(accm=0)
    assert deframer.feed(b"\x7e\x00\x21\x7d\x7d\x7d\x7e") == []
    assert deframer.discarded["aborted"] == 1


def test_accepts_any_buffer_type() -> None:
    wire = good()
    assert Deframer(accm=0).feed(bytearray(wire)) == [Frame(0x21, b"hello")]
    assert Deframer(accm=0).feed(memoryview(wire)) == [Frame(0x21, b"hello")]
    assert encode_frame(0x21, bytearray(b"hello"), accm=0) == wire
    assert encode_frame(0x21, memoryview(b"hello"), accm=0) == wire


# --- property tests -------------------------------------------------------------------------

protocols = st.sampled_from([0x21, 0x57, 0x2D, 0xFD, 0x8021, 0x8057, 0xC021, 0xC023, 0xC223])
accms = st.one_of(st.sampled_from([0, 0xFFFFFFFF, 0x000A0000]), st.integers(0, 0xFFFFFFFF))
escapes = st.sets(
    st.one_of(
        st.sampled_from([0x5D, 0x7D, 0x7E, 0x80, 0xA0, 0xFF, 0x00, 0x11]),
        st.integers(0, 255).filter(lambda o: o not in hdlc._FORBIDDEN_ESCAPES),
    ),
    max_size=6,
)
informations = st.one_of(
    octets(300),
    st.lists(
        st.sampled_from([0x7D, 0x7E, 0x00, 0x11, 0x13, 0x5D, 0x5E, 0x20, 0xFF, 0x03]), max_size=300
    ).map(bytes),
)


@given(
    packets=st.lists(st.tuples(protocols, informations), min_size=1, max_size=6),
    accm=accms,
    escape=escapes,
    acfc=st.booleans(),
    pfc=st.booleans(),
    cuts=st.lists(st.integers(0, 4000), max_size=8),
    backend=st.sampled_from(BACKENDS),
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip(
    packets: list[tuple[int, bytes]],
    accm: int,
    escape: set[int],
    acfc: bool,
    pfc: bool,
    cuts: list[int],
    backend: str,
) -> None:
    previous = hdlc.crc_backend()
    hdlc.set_crc_backend(backend)
    try:
        encoder = FrameEncoder(accm=accm, escape=escape, acfc=acfc, pfc=pfc)
        stream = b"".join(encoder.encode(p, i) for p, i in packets)
        # RFC 1662 §4.3: a 3-octet frame (ACFC, PFC, empty Information) is "too short".
        runts = [acfc and pfc and p < 0x100 and not i for p, i in packets]
        expected = [Frame(p, i) for (p, i), runt in zip(packets, runts, strict=True) if not runt]
        # The receiver's ACCM must be a subset of what the sender escaped.
        deframer = Deframer(accm=accm)
        assert feed_chunks(deframer, stream, [c for c in cuts if c <= len(stream)]) == expected
        assert deframer.discarded == dict.fromkeys(hdlc.DISCARD_REASONS, 0) | {
            "too_short": sum(runts)
        }
        assert ref_decode(stream, accm) == expected
    finally:
        hdlc.set_crc_backend(previous)


@given(
    data=st.one_of(
        octets(600),
        st.lists(
            st.sampled_from([0x7D, 0x7E, 0xFF, 0x03, 0x00, 0x21, 0x5D, 0x5E, 0x11]), max_size=600
        ).map(bytes),
    ),
    accm=st.sampled_from([0, 0xFFFFFFFF, 0x000A0000]),
    mru=st.sampled_from([0, 5, 1500]),
    cuts=st.lists(st.integers(0, 600), max_size=5),
)
@settings(max_examples=400)
def test_garbage_never_raises_and_matches_reference(
    data: bytes, accm: int, mru: int, cuts: list[int]
) -> None:
    deframer = Deframer(accm=accm, mru=mru)
    frames = feed_chunks(deframer, data, [c for c in cuts if c <= len(data)])
    assert frames == ref_decode(data, accm, mru)


@given(
    packets=st.lists(informations, min_size=1, max_size=4),
    mutations=st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4
    ),
    accm=st.sampled_from([0, 0xFFFFFFFF]),
    backend=st.sampled_from(BACKENDS),
)
@settings(max_examples=300)
def test_mutated_frames_never_yield_bad_fcs(
    packets: list[bytes], mutations: list[tuple[int, int]], accm: int, backend: str
) -> None:
    stream = bytearray(b"".join(encode_frame(0x21, p, accm=accm) for p in packets))
    for position, value in mutations:
        stream[position % len(stream)] = value
    assume(bytes(stream) != b"".join(encode_frame(0x21, p, accm=accm) for p in packets))
    previous = hdlc.crc_backend()
    hdlc.set_crc_backend(backend)
    try:
        deframer = Deframer(accm=accm)
        frames = deframer.feed(bytes(stream))
    finally:
        hdlc.set_crc_backend(previous)
    assert frames == ref_decode(bytes(stream), accm)  # the reference checks every FCS


def test_large_runs_take_the_dense_path_correctly(backend: str) -> None:
    # ACCM 0xFFFFFFFF with many small control-heavy packets: unescaped as whole runs.
    packets = [bytes((i * 7 + j) % 40 for j in range(64)) for i in range(200)]
    stream = b"".join(encode_frame(0x21, p) for p in packets)
    for size in (4096, 1000, 257):
        deframer = Deframer()
        got = feed_chunks(deframer, stream, list(range(size, len(stream), size)))
        assert [f.information for f in got] == packets
    # An abort or an escaped 0x7D inside a dense run falls back to the exact path.
    broken = stream[:3000] + b"\x7d\x7e" + stream[3000:]
    assert Deframer().feed(broken) == ref_decode(broken)
    doubled = b"\x7e" + b"\x7d\x7d" * 300 + stream
    assert Deframer().feed(doubled) == ref_decode(doubled)


def test_abort_inside_a_dense_read_is_discarded_whatever_the_chunking(backend: str) -> None:
    # Issue P.2: a frame closed by 7D 7E (RFC 1662 §4.2: the abort sequence) inside a read
    # of 256+ octets dense with escapes (ACCM 0xFFFFFFFF, before LCP sets ACCM 0) was
    # delivered, because the run unescaper tested "special before escape" instead of
    # "escape before special". Small reads take the per-frame path and discarded it.
    packets = [bytes((i * 7 + j) % 40 for j in range(64)) for i in range(20)]
    frames = [encode_frame(0x21, p) for p in packets]
    aborted = frames[2][:-1] + b"\x7d\x7e"  # its closing Flag turned into an abort
    stream = b"".join([*frames[:2], aborted, *frames[3:]])
    expected = [Frame(0x21, p) for i, p in enumerate(packets) if i != 2]
    assert ref_decode(stream) == expected
    for size in (len(stream), 4096, 1024, 256, 50, 1):
        deframer = Deframer()
        got = feed_chunks(deframer, stream, list(range(size, len(stream), size)))
        assert got == expected, size
        assert deframer.discarded["aborted"] == 1, size


def test_flagless_escapes_are_bounded_by_what_they_unescape_to() -> None:
    # Issue P.3: ``7D 7D`` unescapes to one 0x5D (RFC 1662 §4.2), so a flagless run of 0x7D
    # is a frame growing by one octet per two, and must end as "too long" like any other.
    # The old bound (octets minus escapes) saw 0 and held the stream forever.
    deframer = Deframer(accm=0, mru=1500)
    chunk = b"\x7d" * 4095  # odd: the pairing crosses every read boundary
    for _ in range(256):  # 1 MiB
        assert deframer.feed(chunk) == []
        assert deframer.buffered <= 2 * (1500 + 6) + 2
    assert deframer.discarded["too_long"] == 1
    assert deframer.feed(b"\x7e" + good(information=b"ok")) == [Frame(0x21, b"ok")]


@pytest.mark.parametrize("read", [1, 2, 3, 7, 4096])
def test_held_size_is_exact_across_reads(read: int) -> None:
    # The limit counts exactly what the frame unescapes to, across read boundaries: a frame of
    # exactly MRU octets, every one escaped (some as ``7D 7D``), is received; one more is not.
    for mru, expect in ((1500, 1), (1499, 0)):
        information = bytes([0x7D, 0x7E, 0x5D] * 500)
        wire = encode_frame(0x21, information, accm=0, escape=(0x5D,))
        assert wire.count(b"\x7d\x7d") >= 500
        deframer = Deframer(accm=0, mru=mru)
        cuts = list(range(read, len(wire), read)) * 2  # an empty read at every cut
        frames = feed_chunks(deframer, wire, cuts)
        assert len(frames) == expect
        assert deframer.discarded["too_long"] == 1 - expect
        assert deframer.buffered == 0


def test_a_link_fed_flagless_escapes_holds_a_bounded_partial_frame() -> None:
    from tests.test_link import make_link

    link = make_link("a")
    link.open(0.0)
    for _ in range(64):
        link.receive_data(b"\x7d" * 16384, 0.0)
    assert link.discards["too_long"] == 1
