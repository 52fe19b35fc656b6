"""Observability on hostile input: the control socket's parsers and the capture writers.

Targets:

* ``observe.request``: any line into the control socket's request parser. Oracle: a
  :class:`~pyppp.status.Request` or :class:`~pyppp.status.BadRequest`, nothing else; an
  accepted request encodes back to a line that parses to the same request.
* ``observe.answer``: any line into ``pyppp status``'s answer reader. Oracle: a response or
  :class:`~pyppp.status.BadStatus`; an accepted answer re-encodes to one that reads the same.
* ``observe.line_masker``: line bytes (real frames, PAP requests, garbage) in random chunks
  through the ``record`` masker. Oracle: the output deframes to exactly the input's frames
  with every PAP password replaced (nothing dropped, nothing invented, no password left),
  whatever the chunking; what it holds stays bounded.
* ``observe.pcap``: frames as a link tells them (the protocols of the line's pieces, PAP
  above all, any protocol number, information from real pieces, their fragments and raw
  fuzz bytes) through the pcap recorder, taken in random batches. Oracle: one well-formed
  record per frame, in order, each with its direction octet, its time stamp, the frame as
  ``FF 03``/protocol/information, passwords masked; no PAP request keeps its password.
"""

from __future__ import annotations

import itertools
import struct
import sys
from collections.abc import Sequence

from pyppp import hdlc
from pyppp.capture import _HELD_LIMIT, LineMasker, PcapRecorder, mask_pap_request
from pyppp.packet import PPPProtocol
from pyppp.status import (
    BadRequest,
    BadStatus,
    CompressionStatus,
    Counters,
    EchoStatus,
    LinkStatus,
    Request,
    decode_response,
    encode_request,
    encode_response,
    parse_request,
)
from tests.fuzz.harness import FuzzTarget, Input
from tests.hdlc_reference import ref_decode

_SECRET = b"gargleBlaster"


def _request(data: bytes) -> None:
    try:
        request = parse_request(data)
    except BadRequest:
        return
    assert isinstance(request, Request)
    assert parse_request(encode_request(request)) == request


def _answer(data: bytes) -> None:
    try:
        response = decode_response(data)
    except BadStatus:
        return
    again = decode_response(
        encode_response(response.links, pid=response.pid, version=response.version)
    )
    assert again == response, (again, response)


def _pap(user: bytes, password: bytes) -> bytes:
    body = bytes([len(user)]) + user + bytes([len(password)]) + password
    return bytes([1, 1]) + (4 + len(body)).to_bytes(2, "big") + body


_PIECES: Sequence[bytes] = (
    hdlc.encode_frame(PPPProtocol.PAP, _pap(b"zaphod", _SECRET)),
    hdlc.encode_frame(PPPProtocol.PAP, _pap(b"z", _SECRET), acfc=True),
    hdlc.encode_frame(PPPProtocol.PAP, _pap(b"\x7e\x7d", b"\x00\x7e" + _SECRET), accm=0),
    hdlc.encode_frame(PPPProtocol.PAP, b"\x02\x01\x00\x05\x00"),
    hdlc.encode_frame(PPPProtocol.LCP, b"\x09\x01\x00\x08\x00\x00\x00\x00"),
    hdlc.encode_frame(PPPProtocol.IP, b"\x45" + bytes(40), accm=0, acfc=True, pfc=True),
    b"~",
    b"}",
    b"}~",
    b"\xff\x03\xc0\x23\x01",
    b"\xc0\x23\x01\x01\x00\x14",
    b"CONNECT 115200\r\n",
    b"\x00" * 30,
)


def _stream(source: Input) -> tuple[bytes, list[int]]:
    """Line bytes built from real pieces, their fragments and raw fuzz bytes; and cut points."""
    out = bytearray()
    for _ in range(source.below(24)):
        choice = source.uint()
        if choice < 150:
            piece = _PIECES[choice % len(_PIECES)]
            if choice & 1 and len(piece) > 2:
                start = source.below(len(piece))
                piece = piece[start : start + 1 + source.below(len(piece))]
            out += piece
        elif choice < 200:
            frame = bytearray(_PIECES[choice % 4])
            frame[source.below(len(frame))] ^= 1 << source.below(8)  # a line error
            out += frame
        else:
            out += source.chunk(64)
    cuts = sorted(source.below(len(out) + 1) for _ in range(source.below(12)))
    return bytes(out), cuts


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def _frames(data: bytes) -> list[tuple[int, bytes]]:
    """The good frames of ``data`` by the tests' octet-at-a-time reference deframer (RFC 1662
    §4), independent of the one under test: every octet is data (no ACCM) and any length is
    kept (the capture has no MRU); the last piece, unclosed, is not a frame."""
    return [(f.protocol, f.information) for f in ref_decode(data, accm=0, mru=sys.maxsize)]


def _masked(frames: Sequence[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    return [(p, mask_pap_request(i) if p == PPPProtocol.PAP else i) for p, i in frames]


def _line_masker(data: bytes) -> None:
    stream, cuts = _stream(Input(data))
    masker = LineMasker()
    out = bytearray()
    for chunk in _chunks(stream, cuts):
        out += masker.feed(chunk)
        assert masker.held <= _HELD_LIMIT + len(chunk)
    out += masker.flush()
    # A frame still open at the end is no frame: close both with a Flag before comparing.
    got = _frames(bytes(out) + b"~")
    assert got == _masked(_frames(stream + b"~")), (stream, cuts)
    for protocol, information in got:
        if protocol == PPPProtocol.PAP and information[:1] == b"\x01":
            assert _SECRET not in information


_PROTOCOLS: Sequence[int] = (
    PPPProtocol.PAP,
    PPPProtocol.LCP,
    PPPProtocol.IP,
    PPPProtocol.CCP,
    PPPProtocol.CHAP,
)


def _pcap(data: bytes) -> None:
    source = Input(data)
    recorder = PcapRecorder()
    told: list[tuple[bool, int, bytes, float]] = []
    records = bytearray()
    for _ in range(source.below(24)):
        choice = source.uint()
        protocol = (
            _PROTOCOLS[choice % len(_PROTOCOLS)] if choice < 200 else source.uint(2) or 0xC023
        )
        if choice & 1:
            information = _frames(_PIECES[source.below(4)])[0][1]  # a real PAP packet
            information = information[: source.below(len(information) + 1)]
        else:
            information = source.chunk(64)
        frame = (bool(choice & 2), protocol, information, source.uint(2) / 8)
        recorder.frame(*frame)
        told.append(frame)
        if source.uint() < 64:
            records += recorder.take(1000.0)
    records += recorder.take(1000.0)
    assert recorder.pending == 0
    assert recorder.frames == len(told)
    seen = []
    position = 0
    while position < len(records):
        seconds, micros, included, original = struct.unpack_from("<IIII", records, position)
        assert included == original
        packet = bytes(records[position + 16 : position + 16 + included])
        assert len(packet) == included
        assert packet[1:3] == b"\xff\x03"
        protocol = int.from_bytes(packet[3:5], "big")
        seen.append((packet[0] == 1, protocol, packet[5:], seconds + micros / 1e6))
        if protocol == PPPProtocol.PAP and packet[5:6] == b"\x01":
            assert _SECRET not in packet, packet
        position += 16 + included
    expected = [
        (sent, p, mask_pap_request(i) if p == PPPProtocol.PAP else i, 1000.0 + now)
        for sent, p, i, now in told
    ]
    assert seen == expected


_ANSWER_SEED = encode_response(
    [
        LinkStatus(
            "ppp0",
            interface="ppp0",
            device="/dev/ttyS0",
            pid=4,
            phase="network",
            peer="zaphod",
            ipv4_local="10.0.0.1",
            sent=Counters(1, 2),
            discarded={"bad_fcs": 1},
            echo=EchoStatus(30.0, 1, 2, 0.01, None),
            compression=CompressionStatus("Deflate 15", None, 9, 3, 0, 0),
        ),
        LinkStatus("idle"),
    ],
    pid=4,
    version="0.1.0",
)

TARGETS = [
    FuzzTarget(
        "observe.request",
        _request,
        seeds=[
            b'{"request": "status"}\n',
            b'{"request":"status","link":"ppp0"}',
            b'{"request":"stop"}',
            b"[[[[[[[[[[1]]]]]]]]]]",
            b'{"request":"status","link":"\\ud800"}',
        ],
        max_len=5000,
    ),
    FuzzTarget("observe.answer", _answer, seeds=[_ANSWER_SEED, b'{"ok":false}'], max_len=4096),
    FuzzTarget(
        "observe.line_masker",
        _line_masker,
        seeds=[bytes(range(40)), b"\x00\x01" * 30, b"\xff" * 64],
        max_len=2048,
    ),
    FuzzTarget(
        "observe.pcap", _pcap, seeds=[bytes(range(40)), b"\x07" * 50, b"\x01" * 80], max_len=2048
    ),
]
