"""Build IPv4/TCP datagrams for the VJ tests, with their checksums, the slow obvious way.

The checksum here is RFC 1071's loop over 16-bit words, deliberately not the codec's modulo
trick, so the two check each other; scapy checks both in ``test_vj.py``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from ipaddress import IPv4Address

__all__ = ["ACK", "FIN", "PSH", "RST", "SYN", "URG", "Segment", "internet_checksum", "tcp_ok"]

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80


def internet_checksum(data: bytes) -> int:
    """RFC 1071: the one's complement of the one's complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for (word,) in struct.iter_unpack("!H", data):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass(frozen=True)
class Segment:
    """One TCP segment in one IPv4 datagram; ``bytes(segment)`` is the datagram."""

    src: str = "10.99.13.1"
    dst: str = "10.99.13.2"
    sport: int = 1024
    dport: int = 23
    seq: int = 1
    ack: int = 1
    flags: int = ACK
    window: int = 4096
    urp: int = 0
    ip_id: int = 0x100
    ttl: int = 64
    tos: int = 0
    frag: int = 0x4000  # DF
    data: bytes = b""
    ip_options: bytes = b""
    tcp_options: bytes = b""
    protocol: int = 6
    reserved: int = 0  # the low nibble of the TCP offset octet (NS and reserved bits)

    def but(self, **changes: object) -> Segment:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def __bytes__(self) -> bytes:
        ihl = 20 + len(self.ip_options)
        doff = 20 + len(self.tcp_options)
        length = ihl + doff + len(self.data)
        src = IPv4Address(self.src).packed
        dst = IPv4Address(self.dst).packed
        tcp = struct.pack(
            "!HHIIBBHHH",
            self.sport,
            self.dport,
            self.seq & 0xFFFFFFFF,
            self.ack & 0xFFFFFFFF,
            (doff // 4) << 4 | self.reserved,
            self.flags,
            self.window,
            0,
            self.urp,
        )
        segment = tcp + self.tcp_options + self.data
        pseudo = src + dst + struct.pack("!BBH", 0, self.protocol, len(segment))
        checksum = internet_checksum(pseudo + segment)
        segment = segment[:16] + struct.pack("!H", checksum) + segment[18:]
        header = struct.pack(
            "!BBHHHBBH4s4s",
            0x40 | ihl // 4,
            self.tos,
            length,
            self.ip_id & 0xFFFF,
            self.frag,
            self.ttl,
            self.protocol,
            0,
            src,
            dst,
        )
        header += self.ip_options
        header = header[:10] + struct.pack("!H", internet_checksum(header)) + header[12:]
        return header + segment


def tcp_ok(packet: bytes) -> bool:
    """Whether an IPv4/TCP datagram's IP header and TCP checksums both verify."""
    ihl = (packet[0] & 0x0F) * 4
    if internet_checksum(packet[:ihl]) != 0:
        return False
    segment = packet[ihl:]
    pseudo = packet[12:20] + struct.pack("!BBH", 0, 6, len(segment))
    return internet_checksum(pseudo + segment) == 0
