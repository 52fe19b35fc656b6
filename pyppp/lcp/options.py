"""LCP Configuration Options (RFC 1661 §6, RFC 1570, RFC 1990) as typed values.

One frozen dataclass per option, each with ``TYPE``, ``payload()``, ``decode()`` and ``trace()``.
``decode()`` accepts exactly the lengths the RFCs define and raises :class:`MalformedPacket`
otherwise, so :func:`pyppp.options.decode_options` turns a malformed option into an
:class:`~pyppp.options.UnknownOption` that the negotiator Configure-Rejects, as pppd does.

``trace()`` reproduces pppd's ``lcp_printpkt`` text inside ``<...>`` (``mru 1500``,
``asyncmap 0x0``, ``auth chap MD5``, ``magic 0x5bb51eb9``); like pppd, data octets it does not
interpret are appended as `` %.2x`` each (``quality lqr 00 00 00 64``).

Options pyppp only recognises in order to trace and reject them: Quality-Protocol (4),
Callback (13), MRRU (17), Short-Sequence-Number-Header-Format (18).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import ClassVar, Final, Self

from pyppp.errors import MalformedPacket
from pyppp.options import Option, ProtocolOption
from pyppp.packet import PPPProtocol

__all__ = [
    "CHAP_MD5",
    "CODECS",
    "MAX_MRU",
    "MIN_MRU",
    "PAP",
    "PPP_MRU",
    "Accm",
    "Acfc",
    "AuthProtocol",
    "Callback",
    "ChapAlgorithm",
    "EndpointDiscriminator",
    "LcpOptionType",
    "MagicNumber",
    "Mrru",
    "Mru",
    "Pfc",
    "QualityProtocol",
    "ShortSequence",
]

_U16: Final = struct.Struct("!H")
_U32: Final = struct.Struct("!I")

PPP_MRU: Final = 1500
"""RFC 1661 §6.1: the default MRU, assumed when the option is not negotiated."""
MIN_MRU: Final = 128
"""pppd's ``MINMRU``: the smallest MRU it lets a peer ask for (it Naks smaller ones)."""
MAX_MRU: Final = 16384
"""pppd's ``MAXMRU``: the upper limit of the ``mru``/``mtu`` options."""

# pppd's epdisc_to_str truncates the address to MAX_ENDP_LEN octets.
_MAX_ENDPOINT_LEN: Final = 20


class LcpOptionType(IntEnum):
    """LCP Configuration Option Types (IANA "PPP LCP Configuration Option Types")."""

    MRU = 1
    ACCM = 2
    AUTH_PROTOCOL = 3
    QUALITY_PROTOCOL = 4
    MAGIC_NUMBER = 5
    PFC = 7
    ACFC = 8
    CALLBACK = 13
    MRRU = 17
    SHORT_SEQUENCE = 18
    ENDPOINT_DISCRIMINATOR = 19


class ChapAlgorithm(IntEnum):
    """CHAP Algorithm octet of the Authentication-Protocol option (RFC 1994, RFC 2433/2759)."""

    MD5 = 5
    MS = 0x80
    MS_V2 = 0x81


_CHAP_NAMES: Final[Mapping[int, str]] = {
    ChapAlgorithm.MD5: "MD5",
    ChapAlgorithm.MS: "MS",
    ChapAlgorithm.MS_V2: "MS-v2",
}


def _hex_tail(data: bytes) -> str:
    """Render octets the way pppd prints what it did not interpret: `` %.2x`` each."""
    return "".join(f" {b:02x}" for b in data)


def _expect_length(payload: bytes, length: int, name: str) -> None:
    if len(payload) != length:
        raise MalformedPacket(f"{name} option with {len(payload)} data octets, want {length}")


@dataclass(frozen=True, slots=True)
class _EmptyOption(Option):
    """Common shape of the options whose Data field is empty (RFC 1661 §6.5, §6.6)."""

    _NAME: ClassVar[str] = ""
    _LABEL: ClassVar[str] = ""  # pppd's trace word

    def payload(self) -> bytes:
        """Return the empty Data field."""
        return b""

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Parse the Data field (must be empty)."""
        _expect_length(payload, 0, cls._NAME)
        return cls()

    def trace(self) -> str:
        """Return pppd's word for the option."""
        return self._LABEL


@dataclass(frozen=True, slots=True)
class _NumberOption(Option):
    """Common shape of the options whose Data field is one number (16 or 32 bits).

    A subclass declares the one field and sets ``_CODEC`` (the struct), ``_NAME`` (for the
    length error) and ``_TRACE`` (pppd's ``printf`` text as a `str.format` template).
    """

    _CODEC: ClassVar[struct.Struct] = _U16
    _NAME: ClassVar[str] = ""
    _TRACE: ClassVar[str] = ""

    @property
    def _number(self) -> int:
        number: int = getattr(self, fields(self)[0].name)
        return number

    def payload(self) -> bytes:
        """Return the number in network order."""
        return self._CODEC.pack(self._number)

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Parse the Data field (exactly the number's size)."""
        _expect_length(payload, cls._CODEC.size, cls._NAME)
        return cls(*cls._CODEC.unpack(payload))

    def trace(self) -> str:
        """Return pppd's text for the option."""
        return self._TRACE.format(self._number)


@dataclass(frozen=True, slots=True)
class Mru(_NumberOption):
    """Maximum-Receive-Unit (RFC 1661 §6.1).

    Attributes:
        mru: the largest Information field the sender of the option can receive.
    """

    TYPE: ClassVar[int] = LcpOptionType.MRU
    _NAME: ClassVar[str] = "MRU"
    _TRACE: ClassVar[str] = "mru {}"
    mru: int


@dataclass(frozen=True, slots=True)
class Accm(_NumberOption):
    """Async-Control-Character-Map (RFC 1662 §7.1); pppd prints ``asyncmap 0x%x``.

    Attributes:
        asyncmap: bit *n* set means control character *n* must be escaped when sent to the
            option's sender.
    """

    TYPE: ClassVar[int] = LcpOptionType.ACCM
    _CODEC: ClassVar[struct.Struct] = _U32
    _NAME: ClassVar[str] = "ACCM"
    _TRACE: ClassVar[str] = "asyncmap {:#x}"
    asyncmap: int


@dataclass(frozen=True, slots=True)
class AuthProtocol(ProtocolOption):
    """Authentication-Protocol (RFC 1661 §6.2): the sender wants the peer to authenticate.

    Attributes:
        protocol: the PPP protocol number (``PPPProtocol.PAP``, ``PPPProtocol.CHAP``, ...).
        data: protocol-specific data; for CHAP the single Algorithm octet (RFC 1994 §3).
    """

    TYPE: ClassVar[int] = LcpOptionType.AUTH_PROTOCOL
    _NAME: ClassVar[str] = "Authentication-Protocol"

    @property
    def algorithm(self) -> int | None:
        """The CHAP Algorithm octet, or ``None`` if this is not a well-formed CHAP option."""
        if self.protocol == PPPProtocol.CHAP and len(self.data) == 1:
            return self.data[0]
        return None

    def trace(self) -> str:
        """Return pppd's ``auth pap`` / ``auth chap MD5`` / ``auth eap`` / ``auth 0x%x``."""
        data = self.data
        if self.protocol == PPPProtocol.PAP:
            name = "pap"
        elif self.protocol == PPPProtocol.CHAP:
            name = "chap"
            if data and data[0] in _CHAP_NAMES:
                name += " " + _CHAP_NAMES[data[0]]
                data = data[1:]
        elif self.protocol == PPPProtocol.EAP:
            name = "eap"
        else:
            name = f"{self.protocol:#x}"
        return f"auth {name}{_hex_tail(data)}"


PAP: Final = AuthProtocol(PPPProtocol.PAP)
"""The Authentication-Protocol option asking for PAP (RFC 1334)."""
CHAP_MD5: Final = AuthProtocol(PPPProtocol.CHAP, bytes((ChapAlgorithm.MD5,)))
"""The Authentication-Protocol option asking for CHAP with MD5 (RFC 1994)."""


@dataclass(frozen=True, slots=True)
class QualityProtocol(ProtocolOption):
    """Quality-Protocol (RFC 1661 §6.3); pyppp recognises it only to trace and reject it.

    Attributes:
        protocol: the quality protocol (``PPPProtocol.LQR`` for RFC 1989 Link Quality Reports).
        data: protocol-specific data (LQR: the 4-octet Reporting-Period).
    """

    TYPE: ClassVar[int] = LcpOptionType.QUALITY_PROTOCOL
    _NAME: ClassVar[str] = "Quality-Protocol"

    def trace(self) -> str:
        """Return pppd's ``quality lqr`` (or ``quality 0x%x``) plus the data in hex."""
        name = "lqr" if self.protocol == PPPProtocol.LQR else f"{self.protocol:#x}"
        return f"quality {name}{_hex_tail(self.data)}"


@dataclass(frozen=True, slots=True)
class MagicNumber(_NumberOption):
    """Magic-Number (RFC 1661 §6.4), used to detect looped-back links; pppd: ``magic 0x%x``.

    Attributes:
        magic_number: the sender's 32-bit magic number.
    """

    TYPE: ClassVar[int] = LcpOptionType.MAGIC_NUMBER
    _CODEC: ClassVar[struct.Struct] = _U32
    _NAME: ClassVar[str] = "Magic-Number"
    _TRACE: ClassVar[str] = "magic {:#x}"
    magic_number: int


@dataclass(frozen=True, slots=True)
class Pfc(_EmptyOption):
    """Protocol-Field-Compression (RFC 1661 §6.5): the sender can receive 1-octet Protocols."""

    TYPE: ClassVar[int] = LcpOptionType.PFC
    _NAME: ClassVar[str] = "Protocol-Field-Compression"
    _LABEL: ClassVar[str] = "pcomp"


@dataclass(frozen=True, slots=True)
class Acfc(_EmptyOption):
    """Address-and-Control-Field-Compression (RFC 1661 §6.6); pppd prints ``accomp``."""

    TYPE: ClassVar[int] = LcpOptionType.ACFC
    _NAME: ClassVar[str] = "Address-and-Control-Field-Compression"
    _LABEL: ClassVar[str] = "accomp"


@dataclass(frozen=True, slots=True)
class _OctetOption(Option):
    """Common shape of the options whose Data field is one octet and then data (RFC 1570)."""

    _NAME: ClassVar[str] = ""

    def _parts(self) -> tuple[int, bytes]:
        first, rest = fields(self)[:2]
        octet: int = getattr(self, first.name)
        data: bytes = getattr(self, rest.name)
        return octet, data

    def payload(self) -> bytes:
        """Return the octet followed by the data."""
        octet, data = self._parts()
        return bytes((octet,)) + data

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Parse the Data field (at least the first octet)."""
        if not payload:
            raise MalformedPacket(f"{cls._NAME} option without its first octet")
        return cls(payload[0], bytes(payload[1:]))  # type: ignore[call-arg]


@dataclass(frozen=True, slots=True)
class Callback(_OctetOption):
    """Callback (RFC 1570 §2.3); recognised to trace and reject it.

    Attributes:
        operation: the Operation octet (6 = Microsoft CBCP).
        message: the operation-specific message.
    """

    TYPE: ClassVar[int] = LcpOptionType.CALLBACK
    CBCP: ClassVar[int] = 6
    _NAME: ClassVar[str] = "Callback"
    operation: int
    message: bytes = b""

    def trace(self) -> str:
        """Return pppd's ``callback CBCP`` / ``callback 0x%x`` plus the message in hex."""
        name = "CBCP" if self.operation == self.CBCP else f"{self.operation:#x}"
        return f"callback {name}{_hex_tail(self.message)}"


@dataclass(frozen=True, slots=True)
class Mrru(_NumberOption):
    """Multilink Maximum-Received-Reconstructed-Unit (RFC 1990 §5.1.1); traced and rejected.

    Attributes:
        mrru: the MRRU.
    """

    TYPE: ClassVar[int] = LcpOptionType.MRRU
    _NAME: ClassVar[str] = "MRRU"
    _TRACE: ClassVar[str] = "mrru {}"
    mrru: int


@dataclass(frozen=True, slots=True)
class ShortSequence(_EmptyOption):
    """Multilink Short-Sequence-Number-Header-Format (RFC 1990 §5.1.2); traced and rejected."""

    TYPE: ClassVar[int] = LcpOptionType.SHORT_SEQUENCE
    _NAME: ClassVar[str] = "Short-Sequence-Number-Header-Format"
    _LABEL: ClassVar[str] = "ssnhf"


_ENDPOINT_CLASSES: Final = ("null", "local", "IP", "MAC", "magic", "phone")


@dataclass(frozen=True, slots=True)
class EndpointDiscriminator(_OctetOption):
    """Endpoint-Discriminator (RFC 1990 §5.1.3); pppd accepts it from the peer by default.

    Attributes:
        klass: the Class octet (0 null, 1 locally assigned, 2 IP, 3 MAC, 4 magic, 5 phone).
        address: the discriminator value.
    """

    TYPE: ClassVar[int] = LcpOptionType.ENDPOINT_DISCRIMINATOR
    _NAME: ClassVar[str] = "Endpoint-Discriminator"
    klass: int
    address: bytes = b""

    def trace(self) -> str:
        """Return pppd's ``endpoint [...]`` as its ``epdisc_to_str`` renders the value."""
        shown = self.address[:_MAX_ENDPOINT_LEN]
        tail = _hex_tail(self.address[_MAX_ENDPOINT_LEN:])
        if self.klass == 0 and not shown:
            text = "null"
        elif self.klass == 2 and len(shown) == 4:
            text = "IP:" + ".".join(str(b) for b in shown)
        else:
            # epdisc_to_str: ':' before the first group, then '.' (':' for a MAC address);
            # a magic-number class prints 4-octet groups.
            separator = ":" if self.klass == 3 and len(shown) == 6 else "."
            group = 4 if self.klass == 4 and len(shown) % 4 == 0 else 1
            name = _ENDPOINT_CLASSES[self.klass] if self.klass < 6 else str(self.klass)
            chunks = [shown[i : i + group].hex() for i in range(0, len(shown), group)]
            text = name + (":" + separator.join(chunks) if chunks else "")
        return f"endpoint [{text}]{tail}"


CODECS: Final[Mapping[int, type[Option]]] = {
    codec.TYPE: codec
    for codec in (
        Mru,
        Accm,
        AuthProtocol,
        QualityProtocol,
        MagicNumber,
        Pfc,
        Acfc,
        Callback,
        Mrru,
        ShortSequence,
        EndpointDiscriminator,
    )
}
"""The LCP option registry: Type -> option class."""
