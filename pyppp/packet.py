"""PPP protocol numbers and the control-packet codec (RFC 1661 §5).

Every control protocol (LCP, IPCP, CCP, IPV6CP, and PAP/CHAP) uses the same header::

     0                   1                   2                   3
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     Code      |  Identifier   |            Length             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |    Data ...
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Self

from pyppp.errors import MalformedPacket

__all__ = [
    "HEADER",
    "Code",
    "ControlPacket",
    "PPPProtocol",
    "protocol_long_name",
    "protocol_name",
]

HEADER: Final = struct.Struct("!BBH")


class PPPProtocol(IntEnum):
    """PPP protocol field values (RFC 1661 §2, IANA "PPP DLL Protocol Numbers")."""

    IP = 0x0021
    VJ_COMP = 0x002D
    VJ_UNCOMP = 0x002F
    IPV6 = 0x0057
    COMP = 0x00FD
    IPCP = 0x8021
    IPV6CP = 0x8057
    CCP = 0x80FD
    LCP = 0xC021
    PAP = 0xC023
    LQR = 0xC025
    CHAP = 0xC223
    EAP = 0xC227
    CBCP = 0xC029


_NAMES: Final[dict[int, str]] = {
    PPPProtocol.LCP: "LCP",
    PPPProtocol.PAP: "PAP",
    PPPProtocol.CHAP: "CHAP",
    PPPProtocol.IPCP: "IPCP",
    PPPProtocol.IPV6CP: "IPV6CP",
    PPPProtocol.CCP: "CCP",
    PPPProtocol.EAP: "EAP",
    PPPProtocol.CBCP: "CBCP",
    PPPProtocol.IP: "IP",
    PPPProtocol.IPV6: "IPV6",
    PPPProtocol.VJ_COMP: "VJC_COMP",
    PPPProtocol.VJ_UNCOMP: "VJC_UNCOMP",
    PPPProtocol.COMP: "COMP",
    PPPProtocol.LQR: "LQR",
}


def protocol_name(protocol: int) -> str | None:
    """Return pppd's short name for a protocol number (``"LCP"``), or ``None`` if unknown."""
    return _NAMES.get(protocol)


# pppd main.c protocol_list: the names its log lines use ("Protocol-Reject for '%s' ...").
_LONG_NAMES: Final[dict[int, str]] = {
    PPPProtocol.IP: "Internet Protocol",
    PPPProtocol.VJ_COMP: "Van Jacobson Compressed TCP/IP",
    PPPProtocol.VJ_UNCOMP: "Van Jacobson Uncompressed TCP/IP",
    PPPProtocol.IPV6: "Internet Protocol V6",
    PPPProtocol.COMP: "1st choice compression",
    PPPProtocol.IPCP: "Internet Protocol Control Protocol",
    PPPProtocol.IPV6CP: "IPv6 Control Protocol",
    PPPProtocol.CCP: "Compression Control Protocol",
    PPPProtocol.LCP: "Link Control Protocol",
    PPPProtocol.PAP: "Password Authentication Protocol",
    PPPProtocol.LQR: "Link Quality Report",
    PPPProtocol.CHAP: "Challenge Handshake Authentication Protocol",
    PPPProtocol.EAP: "Extensible Authentication Protocol",
    PPPProtocol.CBCP: "Callback Control Protocol",
}


def protocol_long_name(protocol: int) -> str:
    """Return pppd's long name for a protocol number, or ``"0x...."`` if it has none."""
    return _LONG_NAMES.get(protocol) or f"0x{protocol:04x}"


class Code(IntEnum):
    """Control-packet codes (RFC 1661 §5; 12 and 13 from RFC 1570)."""

    CONF_REQ = 1
    CONF_ACK = 2
    CONF_NAK = 3
    CONF_REJ = 4
    TERM_REQ = 5
    TERM_ACK = 6
    CODE_REJ = 7
    PROT_REJ = 8
    ECHO_REQ = 9
    ECHO_REP = 10
    DISC_REQ = 11
    IDENTIFICATION = 12
    TIME_REMAINING = 13


@dataclass(frozen=True, slots=True)
class ControlPacket:
    """One control packet: Code, Identifier and the Data after the 4-byte header."""

    code: int
    identifier: int
    data: bytes = b""

    def encode(self) -> bytes:
        """Return the packet as it goes in a PPP frame's Information field."""
        return HEADER.pack(self.code, self.identifier, HEADER.size + len(self.data)) + self.data

    @classmethod
    def decode(cls, buffer: bytes | bytearray | memoryview) -> Self:
        """Parse a control packet.

        RFC 1661 §5: "Octets outside the range of the Length field are treated as padding and
        are ignored on reception"; a Length beyond the received octets means the packet is
        silently discarded.

        Raises:
            MalformedPacket: shorter than the header, or Length out of range.
        """
        view = memoryview(buffer)
        if len(view) < HEADER.size:
            raise MalformedPacket(f"control packet of {len(view)} bytes is shorter than its header")
        code, identifier, length = HEADER.unpack_from(view)
        if length < HEADER.size or length > len(view):
            raise MalformedPacket(f"Length field {length} does not fit the {len(view)}-byte packet")
        return cls(code, identifier, bytes(view[HEADER.size : length]))
