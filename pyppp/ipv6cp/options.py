"""IPv6CP options (RFC 5072 §4), for pppd's trace of a peer that offers IPv6.

pyppp does not run IPv6CP yet (it answers with a Protocol-Reject), but the trace prints what the
peer offered in pppd's words: ``<addr fe80::5100:82ab:af79:6c55>``, ``<compress 0x2f>``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar, Final, Self

from pyppp.errors import MalformedPacket
from pyppp.options import Option

__all__ = ["CODECS", "InterfaceIdentifier", "Ipv6CompressionProtocol"]

_U16: Final = struct.Struct("!H")
_LINK_LOCAL_PREFIX: Final = bytes.fromhex("fe80000000000000")


@dataclass(frozen=True, slots=True)
class InterfaceIdentifier(Option):
    """Interface-Identifier (1): the low 64 bits of the link-local address."""

    TYPE: ClassVar[int] = 1
    identifier: bytes

    def payload(self) -> bytes:
        """The 8-octet identifier."""
        return self.identifier

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Parse the 8-octet identifier."""
        if len(payload) != 8:
            raise MalformedPacket(f"Interface-Identifier of {len(payload)} octets")
        return cls(bytes(payload))

    def trace(self) -> str:
        """pppd: ``addr fe80::...`` (the link-local address built from the identifier)."""
        address = IPv6Address(_LINK_LOCAL_PREFIX + self.identifier)
        return f"addr {address}"


@dataclass(frozen=True, slots=True)
class Ipv6CompressionProtocol(Option):
    """IPv6-Compression-Protocol (2)."""

    TYPE: ClassVar[int] = 2
    protocol: int
    data: bytes = b""

    def payload(self) -> bytes:
        """Protocol number and data."""
        return _U16.pack(self.protocol) + self.data

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Parse protocol number and data."""
        if len(payload) < 2:
            raise MalformedPacket("short IPv6-Compression-Protocol")
        return cls(_U16.unpack_from(payload)[0], bytes(payload[2:]))

    def trace(self) -> str:
        """pppd: ``compress 0x%x``."""
        return f"compress 0x{self.protocol:x}"


CODECS: Final[Mapping[int, type[Option]]] = {
    InterfaceIdentifier.TYPE: InterfaceIdentifier,
    Ipv6CompressionProtocol.TYPE: Ipv6CompressionProtocol,
}
