"""CCP configuration options (RFC 1962 §4; pppd's ``ccp.c`` and ``ppp-comp.h``).

Each CCP option names one compression method the sender of the Configure-Request is able to
*receive*. pyppp implements Deflate (RFC 1979, Type 26, and the draft Type 24 older pppd
used); the other options pppd knows are decoded so the trace reads as pppd's
(``<bsd v1 15>``, ``<predictor 1>``), and are Configure-Rejected by the negotiator.

Deflate's Data is two octets: the window size and method packed as ``((w - 8) << 4) | 8``
(method 8 is deflate) and the check method, 0 for the 2-octet sequence number
(``CHK_SEQUENCE``): ``deflate 15`` is ``1a 04 78 00``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Final, Self

from pyppp.errors import MalformedPacket
from pyppp.mppe import MppeOption
from pyppp.options import Option

__all__ = [
    "BSD_COMPRESS",
    "CODECS",
    "DEFLATE",
    "DEFLATE_CHK_SEQUENCE",
    "DEFLATE_DRAFT",
    "DEFLATE_METHOD",
    "PREDICTOR_1",
    "PREDICTOR_2",
    "BsdCompress",
    "Deflate",
    "DeflateDraft",
    "Predictor1",
    "Predictor2",
]

DEFLATE: Final = 26
"""RFC 1979's Type (pppd ``CI_DEFLATE``)."""
DEFLATE_DRAFT: Final = 24
"""The Type of the draft pppd used before RFC 1979 (``CI_DEFLATE_DRAFT``), same format."""
BSD_COMPRESS: Final = 21
"""RFC 1977 (``CI_BSD_COMPRESS``)."""
PREDICTOR_1: Final = 1
PREDICTOR_2: Final = 2
DEFLATE_METHOD: Final = 8
"""The low nibble of Deflate's first octet: the deflate method (``DEFLATE_METHOD_VAL``)."""
DEFLATE_CHK_SEQUENCE: Final = 0
"""Deflate's check method: a 2-octet sequence number (``DEFLATE_CHK_SEQUENCE``)."""


@dataclass(frozen=True, slots=True)
class Deflate(Option):
    """Deflate (26, or the draft 24): "I can receive Deflate with this window".

    Attributes:
        size: the window's size as a power of two (``w``; 8..23 fit in the nibble).
        method: the compression method nibble (8 for deflate; anything else is Nak'd).
        check: the check method (0, the sequence number; anything else is Nak'd).
    """

    TYPE: ClassVar[int] = DEFLATE
    size: int
    method: int = DEFLATE_METHOD
    check: int = DEFLATE_CHK_SEQUENCE

    @property
    def draft(self) -> bool:
        """Whether this is the draft Type 24."""
        return self.TYPE == DEFLATE_DRAFT

    def payload(self) -> bytes:
        """The window/method octet and the check octet."""
        return bytes((((self.size - 8) & 0x0F) << 4 | (self.method & 0x0F), self.check))

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Parse the two octets (RFC 1979 §2.1: Length is 4)."""
        if len(payload) != 2:
            raise MalformedPacket(f"Deflate option of {len(payload)} data octets")
        return cls(size=(payload[0] >> 4) + 8, method=payload[0] & 0x0F, check=payload[1])

    def trace(self) -> str:
        """pppd: ``deflate 15``, ``deflate(old#) 15``, plus `` method N`` / `` check N``."""
        text = f"deflate{'(old#)' if self.draft else ''} {self.size}"
        if self.method != DEFLATE_METHOD:
            text += f" method {self.method}"
        if self.check != DEFLATE_CHK_SEQUENCE:
            text += f" check {self.check}"
        return text


@dataclass(frozen=True, slots=True)
class DeflateDraft(Deflate):
    """The draft Deflate option (24), the same format under the older Type."""

    TYPE: ClassVar[int] = DEFLATE_DRAFT


@dataclass(frozen=True, slots=True)
class BsdCompress(Option):
    """BSD-Compress (21, RFC 1977): version in the top 3 bits, code size in the low 5."""

    TYPE: ClassVar[int] = BSD_COMPRESS
    version: int
    bits: int

    def payload(self) -> bytes:
        """The version/bits octet."""
        return bytes(((self.version & 0x07) << 5 | (self.bits & 0x1F),))

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Parse the one octet."""
        if len(payload) != 1:
            raise MalformedPacket(f"BSD-Compress option of {len(payload)} data octets")
        return cls(payload[0] >> 5, payload[0] & 0x1F)

    def trace(self) -> str:
        """pppd: ``bsd v1 15``."""
        return f"bsd v{self.version} {self.bits}"


@dataclass(frozen=True, slots=True)
class Predictor1(Option):
    """Predictor type 1 (1, RFC 1978): no data."""

    TYPE: ClassVar[int] = PREDICTOR_1

    def payload(self) -> bytes:
        """Nothing."""
        return b""

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """No data allowed."""
        if payload:
            raise MalformedPacket("Predictor option with data")
        return cls()

    def trace(self) -> str:
        """pppd: ``predictor 1``."""
        return f"predictor {self.TYPE}"


@dataclass(frozen=True, slots=True)
class Predictor2(Predictor1):
    """Predictor type 2 (2): no data."""

    TYPE: ClassVar[int] = PREDICTOR_2


CODECS: Final[Mapping[int, type[Option]]] = {
    Predictor1.TYPE: Predictor1,
    Predictor2.TYPE: Predictor2,
    BsdCompress.TYPE: BsdCompress,
    DeflateDraft.TYPE: DeflateDraft,
    Deflate.TYPE: Deflate,
    MppeOption.TYPE: MppeOption,
}
"""CCP's registry, Type -> codec; a method module (MPPE) adds its option here."""
