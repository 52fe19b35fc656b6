"""Deflate's decompressor and CCP's negotiation fed hostile bytes.

``deflate.decompressor``: a mix of real compressed datagrams (from a compressor fed parts
of the input) and raw fuzz bytes, as compressed datagrams, uncompressed frames and resets.
Oracles: nothing but :class:`DecompressError` comes out of the decompressor; whatever it
returns has a valid protocol field and at most the MRU of payload; the inflate object's
buffers stay bounded (``max_length``), whatever the input.

``ccp.automaton``: CCP brought up and fed arbitrary packets (Configure-*, Reset codes, junk)
and its own compressor's output; it never raises and every packet it sends decodes.
"""

from __future__ import annotations

import logging

from pyppp.ccp.deflate import DeflateCompressor, DeflateDecompressor
from pyppp.ccp.method import DecompressError
from pyppp.ccp.negotiator import CcpConfig
from pyppp.ccp.options import CODECS
from pyppp.ccp.protocol import build_ccp
from pyppp.options import decode_options
from pyppp.packet import Code, ControlPacket, PPPProtocol
from tests.fuzz.harness import FuzzTarget, Input

_MRU = 1500
_QUIET = logging.getLogger("pyppp.fuzz.ccp")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


def run_decompressor(data: bytes) -> None:
    source = Input(data)
    size = 9 + source.below(7)
    compressor = DeflateCompressor(size)
    decompressor = DeflateDecompressor(size, _MRU)
    while source.remaining:
        action = source.below(5)
        chunk = source.chunk(1600)
        if action == 0:
            info = compressor.compress(0x21, chunk)
            if info is None:
                decompressor.incompressible(0x21, chunk)
                continue
        elif action == 1:
            info = chunk  # raw hostile bytes as a compressed datagram
        elif action == 2:
            decompressor.incompressible(0x21 + 2 * source.below(8), chunk)
            continue
        elif action == 3:
            compressor.reset()
            decompressor.reset()
            continue
        else:
            # A real datagram with some octets flipped.
            real = compressor.compress(0x57, chunk + chunk)
            if real is None:
                continue
            flipped = bytearray(real)
            for _ in range(1 + source.below(3)):
                if flipped:
                    flipped[source.below(len(flipped))] ^= 1 + source.below(255)
            info = bytes(flipped)
        try:
            protocol, payload = decompressor.decompress(info)
        except DecompressError:
            decompressor.reset()
            compressor.reset()
            continue
        assert protocol & 1, f"bad protocol {protocol:#x}"
        assert not (protocol >> 8) & 1, f"bad protocol {protocol:#x}"
        assert len(payload) <= _MRU + 1, f"{len(payload)} octets past the MRU"
        z = decompressor._z
        assert len(z.unconsumed_tail) <= 2000
        assert len(z.unused_data) <= 2000


def run_automaton(data: bytes) -> None:
    source = Input(data)
    ccp = build_ccp(CcpConfig(), logger=_QUIET)
    now = 0.0
    ccp.up(now)
    ccp.open(now)
    while source.remaining:
        now += source.below(4) * 0.5
        kind = source.below(6)
        if kind == 0:
            ccp.handle_timer(now)
        elif kind == 1:
            ccp.receive(source.chunk(64), now)
        elif kind == 2:
            ccp.expand(PPPProtocol.COMP, source.chunk(200), now)
        elif kind == 3:
            ccp.expand(0x21, source.chunk(200), now)
            ccp.compress(0x21, source.chunk(200))
        else:
            code = source.pick([1, 2, 3, 4, 5, 6, 7, 14, 15, 9])
            assert isinstance(code, int)
            packet = ControlPacket(code, source.uint(), source.chunk(24))
            ccp.receive(packet.encode(), now)
        for sent in ccp.packets_to_send():
            if sent.code in (Code.CONF_REQ, Code.CONF_ACK, Code.CONF_NAK, Code.CONF_REJ):
                decode_options(sent.data, CODECS)
        while ccp.next_event() is not None:
            pass


TARGETS = [
    FuzzTarget(
        "deflate.decompressor",
        run_decompressor,
        seeds=[
            b"\x06" + b"\x00\x40" + b"hello hello hello hello " * 3 + b"\x01\x10" + bytes(16),
            b"\x00\x01\x80" + bytes(range(128)) + b"\x04\x20" + b"abc" * 10,
        ],
        max_len=4000,
    ),
    FuzzTarget(
        "ccp.automaton",
        run_automaton,
        seeds=[
            bytes.fromhex("0004 0100 010c 1a047800 18047800"),
            bytes.fromhex("0005 0201 0008 1a047800 0002 0010 0000 41414141"),
        ],
        max_len=600,
    ),
]
