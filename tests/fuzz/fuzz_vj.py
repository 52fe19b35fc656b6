"""Van Jacobson compression (RFC 1144) fed hostile datagrams and hostile compressed packets.

``vj.decompressor``: Compressed-TCP and Uncompressed-TCP information fields, tosses, in any
order, after a slot or two was loaded. Oracles: nothing raises; whatever is delivered is an
IPv4/TCP datagram with a good IP header checksum, its total length its size, at most 120
octets longer than what came in (its TCP checksum is only checked after a toss: damage the FCS
missed is the receiving TCP's to find); the slot table never grows; the size guessed for a
field before it is decoded (``expected_size``, a slow line's reader's question) is bounded.

``vj.roundtrip``: datagrams (mutated from TCP segments, their checksums then made right, as a
sending host's are) through a compressor and a decompressor joined by a perfect line. Oracle:
every datagram comes out exactly as it went in, whatever the compressor chose to send it as.
"""

from __future__ import annotations

import struct

from pyppp.ipcp.vj import VjCompressor, VjDecompressor
from tests.fuzz.harness import FuzzTarget, Input
from tests.tcpip import ACK, PSH, Segment, internet_checksum

_COMP, _UNCOMP = 0x002D, 0x002F
_SEGMENTS = [
    Segment(data=b"hello"),
    Segment(sport=7, seq=99, ack=5, data=b"x" * 40, flags=ACK | PSH),
    Segment(sport=8, tcp_options=b"\x01\x01\x05\x0a" + bytes(8), data=b"sack"),
    Segment(sport=9, tcp_options=b"\x01\x01\x08\x0a" + bytes(8), data=b"ts"),
]
_BASE = [bytes(segment) for segment in _SEGMENTS]


def _fix_checksums(packet: bytearray) -> None:
    """Make the IP header and TCP checksums right, where the datagram has room for them."""
    if len(packet) < 20:
        return
    ihl = (packet[0] & 0x0F) * 4
    if ihl < 20 or len(packet) < ihl:
        return
    packet[10:12] = b"\x00\x00"
    packet[10:12] = struct.pack("!H", internet_checksum(bytes(packet[:ihl])))
    if packet[9] != 6 or len(packet) < ihl + 20:
        return
    segment = packet[ihl:]
    segment[16:18] = b"\x00\x00"
    pseudo = bytes(packet[12:20]) + struct.pack("!BBH", 0, 6, len(segment))
    packet[ihl + 16 : ihl + 18] = struct.pack("!H", internet_checksum(pseudo + bytes(segment)))


def _datagram(source: Input, conns: list[Segment]) -> bytes:
    """The next datagram of one of three connections: fields advanced, sometimes damaged.

    Input per datagram: connection (2 octets), a step octet (how sequence, ack, IP ID and
    window move), an extra octet (flags, damage, a dishonest length), the values those ask
    for, a data length (2 octets) and the data.
    """
    index = source.below(len(conns))
    last = conns[index]
    step, extra = source.uint(), source.uint()
    seq, ack, ip_id, window, urp = last.seq, last.ack, last.ip_id + 1, last.window, last.urp
    match step & 3:
        case 1:
            seq += len(last.data)
        case 2:
            seq += source.uint(2)
        case 3:
            seq -= source.uint()
    match step >> 2 & 3:
        case 2:
            ack += source.uint()
        case 3:
            ack += 70000
    match step >> 4 & 3:
        case 2:
            ip_id -= 1
        case 3:
            ip_id += source.uint(2)
    if step & 0x40:
        window += source.uint(2)
    flags = (ACK, ACK | PSH, ACK | 0x20, 0)[extra & 3]
    if extra & 3 == 2:
        urp = source.uint(2)
    elif extra & 3 == 3:
        flags = source.uint()
    segment = last.but(
        seq=seq % 2**32,
        ack=ack % 2**32,
        ip_id=ip_id % 65536,
        window=window % 65536,
        flags=flags,
        urp=urp,
        data=source.take(source.below(60)),
    )
    conns[index] = segment
    packet = bytearray(bytes(segment))
    if extra & 4:
        where = source.below(len(packet) + 1)
        packet[where : where + 1] = source.take(source.below(3))
        if not extra & 8:  # keep the total length honest, mostly
            packet[2:4] = struct.pack("!H", len(packet) & 0xFFFF)
    _fix_checksums(packet)
    return bytes(packet)


def run_roundtrip(data: bytes) -> None:
    source = Input(data)
    slots = 1 + source.below(16)
    flags = source.uint()
    compressor = VjCompressor(
        slots - 1, compress_slot_id=bool(flags & 1), timestamps_as_ip=bool(flags & 2)
    )
    decompressor = VjDecompressor(slots - 1)
    conns = [Segment(sport=n, seq=n * 1000) for n in range(3)]
    while source.remaining:
        packet = _datagram(source, conns)
        protocol, sent = compressor.compress(packet)
        if protocol == _COMP:
            assert decompressor.decompress(sent) == packet, "rebuilt a different datagram"
        elif protocol == _UNCOMP:
            assert decompressor.uncompressed(sent) == packet, "lost an uncompressed datagram"
        else:
            assert sent is packet


def run_decompressor(data: bytes) -> None:
    source = Input(data)
    decompressor = VjDecompressor(source.below(20))
    slots = len(decompressor._slots)
    compressor = VjCompressor()
    for packet in _BASE[: source.below(5)]:
        decompressor.uncompressed(compressor.compress(packet)[1])
    while source.remaining:
        kind = source.below(4)
        chunk = source.chunk(200)
        guess = decompressor.expected_size(chunk[:20])  # a slow line's reader asks this
        assert guess is None or 3 <= guess <= 0xFFFF + 20, guess
        if kind == 0:
            out = decompressor.decompress(chunk)
        elif kind == 1:
            out = decompressor.uncompressed(chunk)
        elif kind == 2:
            out = decompressor.decompress(memoryview(chunk))
        else:
            decompressor.toss()
            continue
        if out is not None:
            assert len(out) <= len(chunk) + 120
            assert out[0] >> 4 == 4
            assert out[9] == 6
            ihl = (out[0] & 0x0F) * 4
            assert internet_checksum(out[:ihl]) == 0, "delivered a bad IP header"
            assert struct.unpack_from("!H", out, 2)[0] == len(out)
        assert len(decompressor._slots) == slots


def _chunk(kind: int, data: bytes) -> bytes:
    return struct.pack("!HH", kind, len(data)) + data


def _compressed_seed() -> bytes:
    """Slots 0-2 loaded, then what the compressor really sends next on each connection."""
    compressor = VjCompressor()
    for packet in _BASE:
        compressor.compress(packet)
    out = bytearray(b"\x00\x05\x00\x03")
    for base in _SEGMENTS[:3]:
        segment = base.but(seq=base.seq + len(base.data), ip_id=0x101, data=b"more")
        protocol, data = compressor.compress(bytes(segment))
        assert protocol == _COMP
        out += _chunk(0, data)
    return bytes(out)


TARGETS = [
    FuzzTarget(
        "vj.roundtrip",
        run_roundtrip,
        seeds=[
            # 16 slots, slot-id compression; data on connection 0, acks, an echo, a switch.
            bytes.fromhex("000f 01")
            + bytes.fromhex("0000 01 01 0005") * 8
            + b"hello" * 8
            + bytes.fromhex("0001 05 00 0000 ") * 3
            + bytes.fromhex("0000 45 01 0001 09 0001")
            + b"x",
            bytes.fromhex("0003 00") + (bytes.fromhex("0002 01 00 0003") + b"abc") * 12,
            bytes.fromhex("0001 01") + (bytes.fromhex("0000 01 02 0003 0004") + b"urgd") * 6,
        ],
        max_len=600,
    ),
    FuzzTarget(
        "vj.decompressor",
        run_decompressor,
        seeds=[
            _compressed_seed(),
            b"\x00\x10\x00\x02" + _chunk(0, b"\x4f\x00\x12\x34\x00\x01\x00hi"),
            b"\x00\x00\x00\x00" + _chunk(1, _BASE[0][:9] + b"\x00" + _BASE[0][10:]),
        ],
        max_len=600,
    ),
]
