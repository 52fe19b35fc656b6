"""IPv6CP options (RFC 5072 §4) and the interface identifiers they carry.

An Interface-Identifier is the low 64 bits of the link-local address ``fe80::/64`` each end
uses on the link. pppd prints it, in its trace, its log lines and its scripts' arguments, as
``fe80::`` followed by the four 16-bit groups written out in full (``fe80::0000:0000:0000:0001``
for the identifier ``::1``), never in the compressed form: :func:`format_link_local` does the
same, so tools that parse pppd's lines read ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar, Final, Self

from pyppp.errors import MalformedPacket
from pyppp.options import Option, ProtocolOption

__all__ = [
    "CODECS",
    "IDENTIFIER_LENGTH",
    "InterfaceIdentifier",
    "Ipv6CompressionProtocol",
    "format_link_local",
    "link_local",
]

IDENTIFIER_LENGTH: Final = 8
"""RFC 5072 §4.1: the Interface-Identifier field is 64 bits."""

_LINK_LOCAL_PREFIX: Final = bytes.fromhex("fe80000000000000")


def link_local(identifier: bytes) -> IPv6Address:
    """The link-local address ``fe80::/64`` plus ``identifier`` (RFC 5072 §5)."""
    return IPv6Address(_LINK_LOCAL_PREFIX + identifier)


def format_link_local(identifier: bytes) -> str:
    """Render a link-local address as pppd's ``llv6_ntoa``: four full groups after ``fe80::``."""
    hexed = identifier.hex()
    return "fe80::" + ":".join(hexed[i : i + 4] for i in range(0, 16, 4))


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
        if len(payload) != IDENTIFIER_LENGTH:
            raise MalformedPacket(f"Interface-Identifier of {len(payload)} octets")
        return cls(bytes(payload))

    def trace(self) -> str:
        """pppd: ``addr fe80::xxxx:xxxx:xxxx:xxxx`` (the link-local address, groups in full)."""
        return f"addr {format_link_local(self.identifier)}"


@dataclass(frozen=True, slots=True)
class Ipv6CompressionProtocol(ProtocolOption):
    """IPv6-Compression-Protocol (2): pyppp compresses no IPv6 headers and rejects it."""

    TYPE: ClassVar[int] = 2
    _NAME: ClassVar[str] = "IPv6-Compression-Protocol"

    def trace(self) -> str:
        """pppd: ``compress 0x%x``, then any further octets in hex."""
        return f"compress 0x{self.protocol:x}" + "".join(f" {b:02x}" for b in self.data)


CODECS: Final[Mapping[int, type[Option]]] = {
    InterfaceIdentifier.TYPE: InterfaceIdentifier,
    Ipv6CompressionProtocol.TYPE: Ipv6CompressionProtocol,
}
