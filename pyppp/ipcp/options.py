"""IPCP configuration options (RFC 1332 §3, RFC 1172 §5.1, RFC 1877 §1).

One frozen dataclass per option, each able to re-encode exactly the bytes it was decoded from,
so a Configure-Ack can echo the peer's request byte for byte (RFC 1661 §5.2: "the Configuration
Options ... MUST be exactly those ... of the last Configure-Request"). A value that would not
re-encode identically (a wrong Length) raises :class:`MalformedPacket` in ``decode``, and
:func:`pyppp.options.decode_options` turns it into an :class:`UnknownOption`, which is rejected.

``trace()`` renders each option the way pppd's ``ipcp_printpkt`` does (``addr 10.0.0.1``,
``compress VJ 0f 01``, ``ms-dns1 10.0.0.53``); a malformed option prints as raw hex bytes, as
pppd prints any option whose length it does not expect.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import ClassVar, Final, Self

from pyppp.errors import MalformedPacket
from pyppp.options import Option, ProtocolOption

__all__ = [
    "CODECS",
    "UNSPECIFIED",
    "VJ_COMP",
    "VJ_COMP_OLD",
    "IpAddress",
    "IpAddresses",
    "IpCompressionProtocol",
    "PrimaryDns",
    "PrimaryNbns",
    "SecondaryDns",
    "SecondaryNbns",
]

UNSPECIFIED: Final = IPv4Address(0)
"""0.0.0.0: "I do not know this address, please tell me" (RFC 1332 §3.3, RFC 1877 §1)."""

VJ_COMP: Final = 0x002D
"""Van Jacobson Compressed TCP/IP (RFC 1332 §4)."""

VJ_COMP_OLD: Final = 0x0037
"""The value some pre-RFC 1332 implementations used for VJ (pppd prints it ``old-VJ``)."""

_ADDR: Final = struct.Struct("!4s")
_ADDRS: Final = struct.Struct("!4s4s")


def _hex_tail(data: bytes) -> str:
    """Render trailing bytes the way pppd does after a known option: `` 0f 01``."""
    return "".join(f" {b:02x}" for b in data)


@dataclass(frozen=True, slots=True)
class IpAddresses(Option):
    """IP-Addresses (type 1), deprecated by RFC 1332 but still understood (RFC 1172 §5.1).

    Attributes:
        source: the sender's own address.
        destination: the address the sender believes its peer has.
    """

    TYPE: ClassVar[int] = 1
    source: IPv4Address
    destination: IPv4Address

    def payload(self) -> bytes:
        """Return the two addresses, source first."""
        return self.source.packed + self.destination.packed

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Decode eight octets of addresses.

        Raises:
            MalformedPacket: the Data field is not exactly 8 octets.
        """
        if len(payload) != _ADDRS.size:
            raise MalformedPacket(f"IP-Addresses needs 8 octets, got {len(payload)}")
        source, destination = _ADDRS.unpack(payload)
        return cls(IPv4Address(source), IPv4Address(destination))

    def trace(self) -> str:
        """Return ``addrs A B`` as pppd prints it."""
        return f"addrs {self.source} {self.destination}"


@dataclass(frozen=True, slots=True)
class IpCompressionProtocol(ProtocolOption):
    """IP-Compression-Protocol (type 2, RFC 1332 §3.2).

    The Data field is a 16-bit protocol number followed by protocol-specific bytes; for Van
    Jacobson compression (0x002d) those are Max-Slot-Id and Comp-Slot-Id. They are kept as raw
    bytes so that any form, including the 2-octet pre-RFC one, round-trips exactly.

    Attributes:
        protocol: the compression protocol number (``VJ_COMP`` or ``VJ_COMP_OLD`` usually).
        data: the octets after the protocol number.
    """

    TYPE: ClassVar[int] = 2
    _NAME: ClassVar[str] = "IP-Compression-Protocol"

    @classmethod
    def vj(cls, max_slot_id: int = 15, comp_slot_id: int = 1) -> Self:
        """Build the RFC 1332 VJ form (pppd's default is slots 0..15 with slot-id compression)."""
        return cls(VJ_COMP, bytes((max_slot_id, comp_slot_id)))

    @property
    def max_slot_id(self) -> int | None:
        """Max-Slot-Id of the RFC 1332 VJ form, or ``None`` for any other form."""
        return self.data[0] if self.protocol == VJ_COMP and len(self.data) == 2 else None

    @property
    def comp_slot_id(self) -> int | None:
        """Comp-Slot-Id of the RFC 1332 VJ form, or ``None`` for any other form."""
        return self.data[1] if self.protocol == VJ_COMP and len(self.data) == 2 else None

    def trace(self) -> str:
        """Return ``compress VJ 0f 01``, ``compress old-VJ`` or ``compress 0x...`` as pppd does."""
        match self.protocol:
            case 0x002D:
                name = "VJ"
            case 0x0037:
                name = "old-VJ"
            case _:
                name = f"0x{self.protocol:x}"
        return f"compress {name}{_hex_tail(self.data)}"


@dataclass(frozen=True, slots=True)
class _AddressOption(Option):
    """Common shape of the options whose Data field is one IPv4 address."""

    address: IPv4Address
    _LABEL: ClassVar[str] = ""

    def payload(self) -> bytes:
        """Return the four octets of the address."""
        return self.address.packed

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Decode a four-octet address.

        Raises:
            MalformedPacket: the Data field is not exactly 4 octets.
        """
        if len(payload) != _ADDR.size:
            raise MalformedPacket(f"option {cls.TYPE} needs 4 octets, got {len(payload)}")
        return cls(IPv4Address(bytes(payload)))

    def trace(self) -> str:
        """Return pppd's label and the dotted address."""
        return f"{self._LABEL} {self.address}"


@dataclass(frozen=True, slots=True)
class IpAddress(_AddressOption):
    """IP-Address (type 3, RFC 1332 §3.3): the sender's own address, 0.0.0.0 if unknown."""

    TYPE: ClassVar[int] = 3
    _LABEL: ClassVar[str] = "addr"


@dataclass(frozen=True, slots=True)
class PrimaryDns(_AddressOption):
    """Primary-DNS-Server-Address (type 129, RFC 1877 §1.1); pppd prints ``ms-dns1``."""

    TYPE: ClassVar[int] = 129
    _LABEL: ClassVar[str] = "ms-dns1"


@dataclass(frozen=True, slots=True)
class PrimaryNbns(_AddressOption):
    """Primary-NBNS-Server-Address (type 130, RFC 1877 §1.2); pppd prints ``ms-wins``."""

    TYPE: ClassVar[int] = 130
    _LABEL: ClassVar[str] = "ms-wins"


@dataclass(frozen=True, slots=True)
class SecondaryDns(_AddressOption):
    """Secondary-DNS-Server-Address (type 131, RFC 1877 §1.3); pppd prints ``ms-dns2``."""

    TYPE: ClassVar[int] = 131
    _LABEL: ClassVar[str] = "ms-dns2"


@dataclass(frozen=True, slots=True)
class SecondaryNbns(_AddressOption):
    """Secondary-NBNS-Server-Address (type 132, RFC 1877 §1.4); pppd prints ``ms-wins`` too."""

    TYPE: ClassVar[int] = 132
    _LABEL: ClassVar[str] = "ms-wins"


CODECS: Final[dict[int, type[Option]]] = {
    codec.TYPE: codec
    for codec in (
        IpAddresses,
        IpCompressionProtocol,
        IpAddress,
        PrimaryDns,
        PrimaryNbns,
        SecondaryDns,
        SecondaryNbns,
    )
}
"""IPCP's registry, Type -> option class, for :func:`pyppp.options.decode_options`."""
