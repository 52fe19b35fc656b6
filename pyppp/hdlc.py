"""RFC 1662 async HDLC-like framing: ``fcs16``, ``FrameEncoder``/``encode_frame``, ``Deframer``.

Theory of operation
===================

A PPP frame on an asynchronous line (RFC 1662 §3.1) is::

    7E | FF 03 | protocol (1 or 2) | information | FCS-16 (2, little-endian) | 7E
    flag  address/control                                                       flag

Transmit (``FrameEncoder.encode``):

* Address/Control ``FF 03`` is left out when Address-and-Control-Field-Compression (ACFC,
  RFC 1661 §6.6) is in force; the protocol field shrinks to one octet when
  Protocol-Field-Compression (PFC, RFC 1661 §6.5) is in force *and* the protocol's high octet
  is 0 (its low octet is odd by RFC 1661 §2, so the receiver can tell the two forms apart).
* The FCS (RFC 1662 §C.1, CRC-16/X-25) covers address through information; it is sent
  ones'-complemented, least significant octet first.
* Transparency (RFC 1662 §4.2): 0x7D (Control-Escape) and 0x7E (Flag) are always sent as
  ``7D, octet ^ 0x20``; so is every octet below 0x20 whose bit is set in the *peer's* ACCM
  (RFC 1662 §7.1) and every octet of the local ``escape`` set (pppd's ``escape xx,yy``).
* RFC 1662 §7.1 / RFC 1661 §6.6: LCP Configure-*, Terminate-* and Code-Reject packets
  (protocol 0xC021, codes 1..7) MUST be sent with the default ACCM and without ACFC/PFC, so
  that a link renegotiating after a peer reset still understands them. The encoder spots
  those packets itself, so no caller can get this wrong.

Receive (``Deframer.feed``), in the order RFC 1662 §4.2 gives:

1. octets below 0x20 flagged in the *receive* ACCM are deleted first: modems and other data
   communications equipment may have inserted them (XON/XOFF);
2. the stream is cut at every Flag; empty pieces are shared or repeated flags (time fill,
   RFC 1662 §4.4.2) and are skipped; the last piece waits for more input;
3. a piece ending in Control-Escape was ended by ``7D 7E``, the abort sequence: dropped;
4. Control-Escape is removed and the octet after it XOR-ed with 0x20, *even if that octet is
   0x7D itself* (so ``7D 7D`` is 0x5D, as the RFC's wording and Linux's ppp_async read it);
5. frames shorter than 4 octets (RFC 1662 §4.3), with a bad FCS (residue other than 0xF0B8),
   with an Address that is ``FF`` but a Control that is not ``03``, or with an Information
   field longer than the MRU are discarded and counted by reason; nothing raises.

Speed: this is the data path, and per-octet Python loops run at 5-12 MB/s. Every step here
works on whole buffers in C: ``bytes.split`` on flags, ``bytes.translate`` to delete ACCM
octets and to build escape tables, ``bytes.replace`` for the usual sparse escapes, an
interleave-and-delete for dense escaping, a shift-by-slicing mark buffer plus one big-integer
XOR for dense unescaping, and the FCS from ``binascii.crc_hqx`` fed bit-reversed octets
(``crc_hqx`` is the non-reflected CCITT CRC; X-25 is its bit-mirror), or from the optional
``fastcrc``/``anycrc`` packages when installed. ``set_crc_backend`` selects one explicitly.
"""

from __future__ import annotations

import binascii
import importlib
import logging
from collections.abc import Callable, Iterable
from typing import Final, NamedTuple

from pyppp.errors import ConfigError, LocalProtocolError

__all__ = [
    "DISCARD_REASONS",
    "GOOD_FCS_RESIDUE",
    "LINE_ERRORS",
    "Deframer",
    "Frame",
    "FrameEncoder",
    "available_crc_backends",
    "crc_backend",
    "encode_frame",
    "fcs16",
    "fcs16_ok",
    "set_crc_backend",
]

logger = logging.getLogger(__name__)

FLAG: Final = b"\x7e"
ESCAPE: Final = b"\x7d"
_ADDRESS_CONTROL: Final = b"\xff\x03"
DEFAULT_ACCM: Final = 0xFFFFFFFF
GOOD_FCS_RESIDUE: Final = 0xF0B8
"""RFC 1662 §C.1: the FCS-16 register after a good frame *including* its FCS ("good final
FCS value"); ``fcs16`` returns its ones' complement, 0x0F47, for such a frame."""

LCP_PROTOCOL: Final = 0xC021
_LCP_DEFAULT_CODES: Final = frozenset(bytes([code]) for code in range(1, 8))
"""RFC 1662 §7.1: Configure-Request/-Ack/-Nak/-Reject, Terminate-Request/-Ack, Code-Reject."""

DISCARD_REASONS: Final = ("too_short", "bad_fcs", "too_long", "aborted", "bad_header")
"""Keys of ``Deframer.discarded``."""
LINE_ERRORS: Final = ("too_short", "bad_fcs", "too_long", "aborted")
"""The discard reasons a damaged line causes (a bad header comes with a good FCS: the peer)."""

# ---------------------------------------------------------------------------------------------
# FCS-16 (RFC 1662 §C.1) and its interchangeable backends
# ---------------------------------------------------------------------------------------------

_REVERSE_BITS: Final = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))
"""Octet -> octet with its bits mirrored: turns X-25's reflected CRC into crc_hqx's one."""
_REVERSE_BITS_INVERTED: Final = bytes(b ^ 0xFF for b in _REVERSE_BITS)
_STDLIB_RESIDUE: Final = 0x1D0F
"""0xF0B8 bit-mirrored: the good-frame residue as ``crc_hqx`` sees it."""
_FAST_RESIDUE: Final = GOOD_FCS_RESIDUE ^ 0xFFFF
"""0x0F47: the good-frame residue after the final complement that fastcrc/anycrc apply."""

_crc_hqx: Final = binascii.crc_hqx

FastCrc = Callable[[bytes, int], int]
"""``crc(data, previous)``: CRC-16/X-25 of ``previous``'s message followed by ``data``."""


def _mirror16(value: int) -> int:
    return (_REVERSE_BITS[value & 0xFF] << 8) | _REVERSE_BITS[value >> 8]


def _load_fastcrc() -> FastCrc | None:
    try:
        crc16 = importlib.import_module("fastcrc.crc16")
    except ImportError:
        return None
    # fastcrc >= 0.6 calls it x_25; earlier releases only by its other catalogue name.
    function: FastCrc | None = getattr(crc16, "x_25", None) or getattr(crc16, "ibm_sdlc", None)
    return function


def _load_anycrc() -> FastCrc | None:
    try:
        anycrc = importlib.import_module("anycrc")
        model = anycrc.Model("CRC16-X-25")
    except (ImportError, ValueError, AttributeError):
        return None
    function: FastCrc = model.calc
    return function


_LOADERS: Final[dict[str, Callable[[], FastCrc | None]]] = {
    "fastcrc": _load_fastcrc,
    "anycrc": _load_anycrc,
}


def _probe(name: str) -> FastCrc | None:
    function = _LOADERS[name]()
    # Trust no third-party build blindly: check value and chaining (RFC 1662 §C.1 vectors).
    try:
        if function is None or function(b"123456789", 0) != 0x906E:
            return None
        if function(b"56789", function(b"1234", 0)) != 0x906E:
            return None
    except Exception:
        return None
    return function


_fast: FastCrc | None = None
_backend = "stdlib"


def available_crc_backends() -> list[str]:
    """Return the FCS backends usable here, fastest first; ``"stdlib"`` is always last."""
    return [name for name in _LOADERS if _probe(name) is not None] + ["stdlib"]


def crc_backend() -> str:
    """Return the name of the FCS backend in use: ``"fastcrc"``, ``"anycrc"`` or ``"stdlib"``."""
    return _backend


def set_crc_backend(name: str = "auto") -> str:
    """Select the FCS-16 implementation used by every encoder and deframer.

    Args:
        name: ``"fastcrc"``, ``"anycrc"``, ``"stdlib"`` (``binascii.crc_hqx``, always present)
            or ``"auto"`` (the fastest one installed).

    Returns:
        The backend now in use.

    Raises:
        LocalProtocolError: the named backend is unknown or not installed.
    """
    global _fast, _backend
    if name == "auto":
        for candidate in _LOADERS:
            function = _probe(candidate)
            if function is not None:
                _fast, _backend = function, candidate
                return _backend
        name = "stdlib"
    if name == "stdlib":
        _fast, _backend = None, "stdlib"
        return _backend
    if name not in _LOADERS:
        raise LocalProtocolError(f"unknown CRC backend {name!r}")
    function = _probe(name)
    if function is None:
        raise LocalProtocolError(f"CRC backend {name!r} is not installed")
    _fast, _backend = function, name
    return _backend


def fcs16(data: bytes | bytearray | memoryview) -> int:
    """Return the FCS-16 of ``data`` as transmitted (RFC 1662 §C.1, CRC-16/X-25).

    The value is already ones'-complemented; it goes on the wire least significant octet
    first. ``fcs16(b"123456789") == 0x906E``. Over a whole frame *including* its FCS the
    result is ``GOOD_FCS_RESIDUE ^ 0xFFFF`` (0x0F47).
    """
    data = bytes(data)
    if _fast is not None:
        return _fast(data, 0)
    return _mirror16(_crc_hqx(data.translate(_REVERSE_BITS), 0xFFFF)) ^ 0xFFFF


def fcs16_ok(frame: bytes | bytearray | memoryview) -> bool:
    """Return whether ``frame`` (address through FCS, unescaped, no flags) has a good FCS."""
    return fcs16(frame) == _FAST_RESIDUE


# ---------------------------------------------------------------------------------------------
# Transmit
# ---------------------------------------------------------------------------------------------

_FORBIDDEN_ESCAPES: Final = frozenset(range(0x20, 0x40)) | {0x5E}
"""pppd(8) ``escape``: "The characters which may not be escaped are those with hex values
0x20 - 0x3f or 0x5e." (Escaping 0x5E would put a Flag on the line; the encoder's interleave
trick also relies on 0x5E never being escaped.)"""


def _escape_set(accm: int, escape: Iterable[int]) -> frozenset[int]:
    if not 0 <= accm <= 0xFFFFFFFF:
        raise ConfigError(f"asyncmap 0x{accm:x} does not fit in 32 bits")
    extra = set()
    for octet in escape:
        if not 0 <= octet <= 0xFF or octet in _FORBIDDEN_ESCAPES:
            raise ConfigError(f"can't escape character 0x{octet:x}")
        extra.add(octet)
    control = {octet for octet in range(32) if accm >> octet & 1}
    return frozenset(control | extra | {0x7D, 0x7E})


class _Escaper:
    """Precomputed tables that escape a buffer for one escape set, without an octet loop."""

    __slots__ = ("_keep", "_narrow", "_one", "_other", "_set", "minimal", "octet", "octets")

    def __init__(self, octets: frozenset[int]) -> None:
        self.octets = octets
        self.minimal = octets == {0x7D, 0x7E}
        self._set = bytes(sorted(octets))
        # Per-octet escaped form, used for the 2-octet FCS and the cached headers.
        self.octet: tuple[bytes, ...] = tuple(
            bytes((0x7D, i ^ 0x20)) if i in octets else bytes((i,)) for i in range(256)
        )
        # Few escapable octets (the ACCM-0 data path): one replace per octet, 0x7D first so
        # that the escapes just added are not escaped again.
        self._narrow: tuple[tuple[bytes, bytes], ...] = tuple(
            (bytes((i,)), bytes((0x7D, i ^ 0x20)))
            for i in sorted(octets, key=lambda i: (i != 0x7D, i))
        )
        # Many escapable octets: interleave two translations of the buffer, then delete the
        # filler. Even slots: 0x7D for an escaped octet, else the octet. Odd slots: octet ^ 0x20
        # for an escaped octet, else the filler 0x7E. 0x7E is a valid filler because it is
        # always escaped (so never left raw in an even slot) and 0x5E, the only octet whose
        # escape would yield 0x7E, may not be escaped.
        self._one = bytes(0x7D if i in octets else i for i in range(256))
        self._other = bytes(i ^ 0x20 if i in octets else 0x7E for i in range(256))
        # The replace chain is only right when no escaped octet is the escaped form (octet ^
        # 0x20) of another one, or a later replace would rewrite an earlier escape's second
        # octet (``escape 5d`` with 0x7D -> 7D 5D, say).
        self._keep = len(octets) <= 4 and not any(i ^ 0x20 in octets for i in octets)

    def __call__(self, data: bytes) -> bytes:
        if self._keep:
            for octet, escaped in self._narrow:
                if octet in data:
                    data = data.replace(octet, escaped)
            return data
        size = len(data)
        if size - len(data.translate(None, self._set)) == 0:
            return data
        buffer = bytearray(size * 2)
        buffer[0::2] = data.translate(self._one)
        buffer[1::2] = data.translate(self._other)
        return bytes(buffer.translate(None, FLAG))


class _Header(NamedTuple):
    wire: bytes  # opening flag + escaped address/control/protocol
    stdlib_state: int  # crc_hqx register after the header
    fast_state: int  # fastcrc/anycrc value after the header


class FrameEncoder:
    """Reusable transmit side of the framer with precomputed tables (the data path).

    Settings may be changed at any time (the link does so when LCP opens); each change
    rebuilds the small tables once.

    Args:
        accm: the *peer's* receive ACCM: octets below 0x20 whose bit is set are escaped.
        escape: extra octets to escape (pppd's ``escape``); 0x20-0x3F and 0x5E are refused.
        acfc: leave out Address/Control (peer agreed to ACFC).
        pfc: send one-octet protocol fields where possible (peer agreed to PFC).

    Raises:
        ConfigError: an octet that may not be escaped, or an ACCM wider than 32 bits.
    """

    def __init__(
        self,
        *,
        accm: int = DEFAULT_ACCM,
        escape: Iterable[int] = (),
        acfc: bool = False,
        pfc: bool = False,
    ) -> None:
        self._accm = accm
        self._escape = frozenset(escape)
        self._acfc = acfc
        self._pfc = pfc
        self._headers: dict[int, _Header] = {}
        self._escaper = _Escaper(_escape_set(accm, self._escape))
        # RFC 1662 §7.1: the LCP packets that must use the default ACCM, with the local
        # escape set kept (like Linux's ppp_async, which only widens the control-octet map).
        self._lcp_escaper = _Escaper(_escape_set(DEFAULT_ACCM, self._escape))

    @property
    def accm(self) -> int:
        """The peer's receive ACCM applied to everything but LCP negotiation packets."""
        return self._accm

    @accm.setter
    def accm(self, value: int) -> None:
        self._escaper = _Escaper(_escape_set(value, self._escape))
        self._accm = value
        self._headers.clear()

    @property
    def escape(self) -> frozenset[int]:
        """Extra octets escaped on transmit (pppd's ``escape`` option)."""
        return self._escape

    @escape.setter
    def escape(self, value: Iterable[int]) -> None:
        octets = frozenset(value)
        self._escaper = _Escaper(_escape_set(self._accm, octets))
        self._lcp_escaper = _Escaper(_escape_set(DEFAULT_ACCM, octets))
        self._escape = octets
        self._headers.clear()

    @property
    def acfc(self) -> bool:
        """Whether Address/Control are left out (ACFC in force)."""
        return self._acfc

    @acfc.setter
    def acfc(self, value: bool) -> None:
        self._acfc = bool(value)
        self._headers.clear()

    @property
    def pfc(self) -> bool:
        """Whether one-octet protocol fields are sent where possible (PFC in force)."""
        return self._pfc

    @pfc.setter
    def pfc(self, value: bool) -> None:
        self._pfc = bool(value)
        self._headers.clear()

    def _header(self, protocol: int, *, negotiation: bool) -> _Header:
        # RFC 1661 §2: "the least significant bit of the least significant octet MUST equal
        # 1 ... the least significant bit of the most significant octet equals 0".
        if not 0 <= protocol <= 0xFFFF or protocol & 0x0101 != 0x0001:
            raise LocalProtocolError(f"0x{protocol:04x} is not a valid PPP protocol number")
        acfc = self._acfc and not negotiation
        pfc = self._pfc and not negotiation and protocol < 0x100
        raw = (b"" if acfc else _ADDRESS_CONTROL) + protocol.to_bytes(1 if pfc else 2, "big")
        escaper = self._lcp_escaper if negotiation else self._escaper
        wire = FLAG + b"".join(escaper.octet[octet] for octet in raw)
        stdlib_state = _crc_hqx(raw.translate(_REVERSE_BITS), 0xFFFF)
        fast_state = _mirror16(stdlib_state) ^ 0xFFFF
        header = _Header(wire, stdlib_state, fast_state)
        if not negotiation:
            self._headers[protocol] = header
        return header

    def encode(self, protocol: int, information: bytes | bytearray | memoryview) -> bytes:
        """Return one complete frame, opening and closing Flag included.

        Args:
            protocol: the PPP protocol number (odd low octet, even high octet).
            information: the Information field (the packet).

        Raises:
            LocalProtocolError: ``protocol`` is not a valid PPP protocol number.
        """
        if type(information) is not bytes:
            information = bytes(information)
        if protocol == 0xC021 and information[:1] in _LCP_DEFAULT_CODES:
            header = self._header(protocol, negotiation=True)
            escaper = self._lcp_escaper
        else:
            header = self._headers.get(protocol) or self._header(protocol, negotiation=False)
            escaper = self._escaper
        # Everything below is inlined: this runs once per packet on the data path.
        wire, stdlib_state, fast_state = header
        # The FCS continues from the cached header state: the information is not copied.
        fast = _fast
        if fast is not None:
            fcs = fast(information, fast_state)
            first, second = fcs & 0xFF, fcs >> 8
        else:
            register = _crc_hqx(information.translate(_REVERSE_BITS), stdlib_state)
            first = _REVERSE_BITS_INVERTED[register >> 8]
            second = _REVERSE_BITS_INVERTED[register & 0xFF]
        if escaper.minimal:  # ACCM 0: memchr-speed checks, usually nothing to replace
            if b"\x7d" in information:
                information = information.replace(b"\x7d", b"\x7d\x5d")
            if b"\x7e" in information:
                information = information.replace(b"\x7e", b"\x7d\x5e")
        else:
            information = escaper(information)
        octet = escaper.octet
        return b"".join((wire, information, octet[first], octet[second], FLAG))

    def encode_many(
        self, protocol: int, packets: Iterable[bytes | bytearray | memoryview]
    ) -> list[bytes]:
        """Frame a batch of packets of one protocol (the data path's burst form).

        Identical output to calling :meth:`encode` on each packet; the per-call overhead
        (header lookup, attribute access) is paid once per batch, which matters for small
        packets where it dominates.
        """
        if protocol == 0xC021:
            return [self.encode(protocol, packet) for packet in packets]
        wire, stdlib_state, fast_state = self._headers.get(protocol) or self._header(
            protocol, negotiation=False
        )
        escaper = self._escaper
        octet = escaper.octet
        minimal = escaper.minimal
        fast = _fast
        frames: list[bytes] = []
        append = frames.append
        for information in packets:
            if type(information) is not bytes:
                information = bytes(information)
            if fast is not None:
                fcs = fast(information, fast_state)
                first, second = fcs & 0xFF, fcs >> 8
            else:
                register = _crc_hqx(information.translate(_REVERSE_BITS), stdlib_state)
                first = _REVERSE_BITS_INVERTED[register >> 8]
                second = _REVERSE_BITS_INVERTED[register & 0xFF]
            if minimal:
                if b"\x7d" in information:
                    information = information.replace(b"\x7d", b"\x7d\x5d")
                if b"\x7e" in information:
                    information = information.replace(b"\x7e", b"\x7d\x5e")
            else:
                information = escaper(information)
            append(b"".join((wire, information, octet[first], octet[second], FLAG)))
        return frames


_ENCODERS: dict[tuple[int, frozenset[int], bool, bool], FrameEncoder] = {}


def encode_frame(
    protocol: int,
    information: bytes | bytearray | memoryview,
    *,
    accm: int = DEFAULT_ACCM,
    acfc: bool = False,
    pfc: bool = False,
    escape: Iterable[int] = (),
) -> bytes:
    """Return one complete async-HDLC frame (both Flags included) for a PPP packet.

    LCP Configure/Terminate/Code-Reject packets always go out with the default ACCM and no
    ACFC/PFC (RFC 1662 §7.1), whatever the arguments say. A long-lived link should keep a
    ``FrameEncoder`` instead; this function caches a few of them.

    Args:
        protocol: the PPP protocol number.
        information: the Information field.
        accm: the peer's receive ACCM.
        acfc: leave out Address/Control.
        pfc: compress the protocol field where possible.
        escape: extra octets to escape (pppd's ``escape``).

    Raises:
        LocalProtocolError: ``protocol`` is not a valid PPP protocol number.
        ConfigError: ``escape`` names an octet that may not be escaped.
    """
    key = (accm, frozenset(escape), acfc, pfc)
    encoder = _ENCODERS.get(key)
    if encoder is None:
        encoder = FrameEncoder(accm=accm, escape=key[1], acfc=acfc, pfc=pfc)
        if len(_ENCODERS) >= 32:
            _ENCODERS.clear()
        _ENCODERS[key] = encoder
    return encoder.encode(protocol, information)


# ---------------------------------------------------------------------------------------------
# Receive
# ---------------------------------------------------------------------------------------------


class Frame(NamedTuple):
    """One good frame: the protocol number and the Information field (padding included)."""

    protocol: int
    information: bytes


_new_frame: Final = tuple.__new__  # skips NamedTuple's Python-level __new__ on the hot path

_MARK_ESCAPES: Final = bytes(0x01 if i == 0x7D else 0 for i in range(256))
_MARK_SPECIALS: Final = bytes(0x01 if i in (0x7D, 0x7E) else 0 for i in range(256))
_DENSE: Final = 40
"""An escaped piece with more than one Control-Escape per this many octets is unescaped with
the big-integer method (cost linear in its length) rather than per escape."""


def _unescape_dense(raw: bytes, kept: bytes) -> bytes | None:
    """Unescape ``raw`` (``kept`` is ``raw`` without 0x7D); ``None`` if it holds ``7D 7D``.

    ``marks`` has a 1 bit in the low bit of every escape's octet (big-endian integer).
    ``marks >> 3`` moves each one to bit 5 of the *next* octet: exactly the 0x20 to XOR into
    the escaped octet. Deleting the escapes' octets (value 0x01) from ``marks | marks >> 3``
    leaves that XOR mask aligned with ``kept``.
    """
    size = len(raw)
    marks = int.from_bytes(raw.translate(_MARK_ESCAPES), "big")
    if marks & (marks >> 8):
        return None  # an escape escaping 0x7D: rare, the exact path handles it
    mask = (marks | marks >> 3).to_bytes(size, "big").translate(None, b"\x01")
    return (int.from_bytes(kept, "big") ^ int.from_bytes(mask, "big")).to_bytes(len(kept), "big")


def _unescape_exact(raw: bytes) -> bytes | None:
    """Unescape one piece whatever it holds; ``None`` if it ends in the abort sequence."""
    if b"\x7d\x7d" in raw:
        # "Each Control Escape octet is also removed, and the following octet is exclusive-
        # or'd with 0x20" -- even when it is 0x7D (pppd can be told to `escape 5d`). A run of
        # 0x7D always starts with an escape, so left-to-right pairing is the RFC's reading.
        raw = raw.replace(b"\x7d\x7d", b"\x5d")
    if raw[-1:] == ESCAPE:
        return None  # 7D 7E: the abort sequence (RFC 1662 §4.2)
    if ESCAPE not in raw:
        return raw
    return _unescape(raw)


# Deframer.head: how many octets of the frame under way it shows (enough for Address,
# Control, Protocol and a datagram's length, escapes included).
_HEAD: Final = 24
# Deframer.awaiting: octets held before their escaping is taken as the rest's.
_ESCAPE_SAMPLE: Final = 256


def _unescape(raw: bytes) -> bytes | None:
    """Undo RFC 1662 §4.2 transparency on one flag-delimited piece; ``None`` if aborted."""
    kept = raw.translate(None, ESCAPE)
    if (len(raw) - len(kept)) * _DENSE > len(raw):
        if raw[-1] != 0x7D:
            unescaped = _unescape_dense(raw, kept)
            if unescaped is not None:
                return unescaped
        return _unescape_exact(raw)
    # Sparse: flip bit 5 of the octet after each escape, found from the split's lengths.
    pieces = raw.split(ESCAPE)
    buffer = bytearray(kept)
    position = len(pieces[0])
    for piece in pieces[1:]:
        if not piece:
            return _unescape_exact(raw)  # 7D 7D or a trailing 7D
        buffer[position] ^= 0x20
        position += len(piece)
    return bytes(buffer)


def _unescape_run(body: bytes) -> list[bytes] | None:
    """Split and unescape a run of frames at once; ``None`` if it holds an abort or ``7D 7D``.

    Same method as ``_unescape_dense``. Flags are found in ``kept`` (escaped 0x7E octets are
    still 0x5E there), and their positions carry over to the unescaped run unchanged.
    """
    size = len(body)
    marks = int.from_bytes(body.translate(_MARK_ESCAPES), "big")
    specials = int.from_bytes(body.translate(_MARK_SPECIALS), "big")
    # ``marks >> 8`` moves each escape's mark onto the octet after it (big-endian: one octet
    # to the right); a special there is 7D 7E (the abort) or 7D 7D.
    if (marks >> 8) & specials or body[-1] == 0x7D:
        return None  # an escape before a Flag (abort) or before 0x7D: the exact path
    kept = body.translate(None, ESCAPE)
    mask = (marks | marks >> 3).to_bytes(size, "big").translate(None, b"\x01")
    plain = (int.from_bytes(kept, "big") ^ int.from_bytes(mask, "big")).to_bytes(len(kept), "big")
    frames = []
    start = 0
    for length in map(len, kept.split(FLAG)):
        end = start + length
        frames.append(plain[start:end])
        start = end + 1
    return frames


def _unescaped_size(raw: bytes, size: int, *, pending: bool) -> tuple[int, bool]:
    """Add to ``size`` what ``raw`` unescapes to; also return whether it ends in an escape.

    RFC 1662 §4.2 read left to right: an escape takes the next octet whatever it is, so in a
    run of k escapes k // 2 pairs unescape to one 0x5D each, and an odd last one escapes the
    octet after the run. Counting ``7D 7D`` (non-overlapping, left to right, as
    ``bytes.count`` does) gives exactly the pairs. ``pending``: the octets before ``raw``
    ended in an escape, so ``raw[0]`` is the octet it escapes.
    """
    if pending:
        size += 1
        raw = raw[1:]
    escapes = raw.count(0x7D)
    if not escapes:
        return size + len(raw), False
    size += len(raw) - escapes + raw.count(b"\x7d\x7d")
    return size, (len(raw) - len(raw.rstrip(ESCAPE))) & 1 == 1


class Deframer:
    """Receive side of the framer: bytes from the line in, good frames out. Never raises.

    Args:
        accm: the *receive* ACCM (the one we asked the peer to honour): octets below 0x20
            whose bit is set are deleted on arrival, as inserted by the line equipment.
        mru: the largest Information field accepted, in octets. RFC 1661 §6.1: an
            implementation MUST still receive a full 1500-octet Information field whatever
            was negotiated, so the link passes ``max(negotiated, 1500)``.

    Attributes:
        discarded: frames dropped, by reason (``DISCARD_REASONS``).
        frames: good frames delivered.
        octets: Information octets delivered.
        received: line octets taken, good frames or not (the error rate's denominator).
    """

    def __init__(self, *, accm: int = DEFAULT_ACCM, mru: int = 1500) -> None:
        self._partial = bytearray()
        # What ``_partial`` unescapes to, counted only once it is longer than the limit (-1
        # until then), and whether it ends in an escape that takes the next octet.
        self._held = -1
        self._pending = False
        self._hunting = False  # dropping an oversized frame until the next Flag
        self.discarded: dict[str, int] = dict.fromkeys(DISCARD_REASONS, 0)
        self.frames = 0
        self.octets = 0
        self.received = 0
        self._delete = b""
        self._accm = 0
        self._mru = 0
        self._limit = 0
        self.accm = accm
        self.mru = mru

    @property
    def accm(self) -> int:
        """The receive ACCM; may be changed at any time (LCP Opened)."""
        return self._accm

    @accm.setter
    def accm(self, value: int) -> None:
        if not 0 <= value <= 0xFFFFFFFF:
            raise LocalProtocolError(f"ACCM 0x{value:x} does not fit in 32 bits")
        self._accm = value
        self._delete = bytes(octet for octet in range(32) if value >> octet & 1)

    @property
    def mru(self) -> int:
        """The largest Information field accepted; may be changed at any time."""
        return self._mru

    @mru.setter
    def mru(self, value: int) -> None:
        if value < 0:
            raise LocalProtocolError(f"MRU {value} is negative")
        self._mru = value
        self._limit = value + 6  # + address/control, 2-octet protocol, FCS

    @property
    def buffered(self) -> int:
        """Octets held while waiting for the closing Flag (at most 2 x (MRU + 7))."""
        return len(self._partial)

    def head(self) -> bytes:
        """The first octets of the frame under way, unescaped (from up to 24 on the line).

        With :meth:`awaiting`, for a slow line's reader (:meth:`pyppp.datapath.DataPath.awaiting`):
        nothing in the framing depends on it.
        """
        head = bytes(self._partial[:_HEAD])
        if ESCAPE in head:
            head = _unescape(head.rstrip(ESCAPE)) or b""  # (no 7D 7E here: Flags end frames)
        return head

    def awaiting(self, size: int) -> int | None:
        """Line octets still to come to end the frame under way, if it is ``size`` long.

        Args:
            size: the frame's whole unescaped length, Address to FCS, as its header says.

        Returns:
            The estimate, the closing Flag included, with the rest escaped at the rate seen so
            far in this frame; ``None`` if that much has arrived already, or is more than a
            frame may hold (not a length to wait for).
        """
        partial = self._partial
        held = len(partial)
        # What has arrived, unescaped (as _unescaped_size counts it: 7D 7D is one octet).
        octets = held - partial.count(0x7D) + partial.count(b"\x7d\x7d")
        rest = size - octets
        if rest <= 0 or size > self._limit or octets <= 0:
            return None
        if held >= _ESCAPE_SAMPLE:
            # Escaped as the frame has been so far (never more than every octet), + the Flag.
            return min(rest * held // octets, 2 * rest) + 1
        # Too little to judge by (a header's zeros are escaped under a full ACCM where the
        # data's octets may not be): random octets' two escapes in 256, about, + the Flag.
        return rest + rest // 128 + 1

    def _discard(self, reason: str, size: int) -> None:
        self.discarded[reason] += 1
        logger.debug("HDLC: discarded %d-octet frame: %s", size, reason)

    def _hold(self, tail: bytes) -> None:
        # Keep the unfinished frame unless what it unescapes to is already too long, so no
        # flagless garbage grows memory (at most 2 x (limit + 1) octets are held). While the
        # held octets number no more than the limit, so does what they unescape to, and
        # nothing is counted (the usual case: this runs once per read on the hot path). Past
        # that, the unescaped size is counted once for what is held, then from each ``tail``
        # alone: a read costs time in proportion to its own length, never to the frame's.
        if not tail:
            return  # nothing read (or all of it deleted by the ACCM): the state is unchanged
        held = self._held
        if held < 0:
            if len(self._partial) + len(tail) <= self._limit:
                self._partial += tail
                return
            held, self._pending = _unescaped_size(bytes(self._partial) + tail, 0, pending=False)
        else:
            held, self._pending = _unescaped_size(tail, held, pending=self._pending)
        if held > self._limit:
            self._discard("too_long", len(self._partial) + len(tail))
            self._partial.clear()
            self._held = -1
            self._hunting = True
            return
        self._held = held
        self._partial += tail

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Take received octets, in chunks of any size; return the frames they completed.

        Peer or line garbage never raises: bad frames are counted in ``discarded`` (and
        logged at debug level) and dropped.
        """
        if type(data) is not bytes:
            data = bytes(data)
        self.received += len(data)
        if self._delete:
            # RFC 1662 §7.1: flagged control octets are removed before anything else, even
            # between a Control-Escape and the octet it escapes.
            data = data.translate(None, self._delete)
        last = data.rfind(FLAG)
        if last < 0:
            if not self._hunting:
                self._hold(data)
            return []
        if self._hunting:
            body = data[data.find(FLAG) + 1 : last]
            self._hunting = False
        elif self._partial:
            body = bytes(self._partial) + data[:last]
            self._partial.clear()
            self._held = -1
        else:
            body = data[:last]
        frames = self._deframe(body) if body else []
        if last + 1 < len(data):
            self._hold(data[last + 1 :])
        return frames

    def _deframe(self, body: bytes) -> list[Frame]:
        # ``body`` runs from the start of a frame to just before a Flag.
        if ESCAPE not in body:
            return self._frames(body.split(FLAG), escaped=False)
        # Dense escaping (ACCM 0xFFFFFFFF, small packets): unescape the whole run of frames in
        # a few linear passes instead of frame by frame. A sample decides.
        sample = min(len(body), 1024)
        if body.count(ESCAPE, 0, sample) * _DENSE > sample and len(body) >= 256:
            plain = _unescape_run(body)
            if plain is not None:
                return self._frames(plain, escaped=False)
        return self._frames(body.split(FLAG), escaped=True)

    def _frames(self, pieces: list[bytes], *, escaped: bool) -> list[Frame]:
        frames: list[Frame] = []
        append = frames.append
        limit = self._limit
        mru = self._mru
        fast = _fast
        octets = 0
        for raw in pieces:
            if not raw:
                continue  # shared or repeated Flags (time fill, RFC 1662 §4.4.2)
            if escaped and ESCAPE in raw:
                frame = _unescape(raw)
                if frame is None:
                    self._discard("aborted", len(raw))
                    continue
            else:
                frame = raw
            size = len(frame)
            if size < 4:
                # RFC 1662 §4.3: "Frames which are too short (less than 4 octets when using
                # the 16-bit FCS) ... are silently discarded."
                self._discard("too_short", size)
                continue
            if size > limit:
                self._discard("too_long", size)
                continue
            if fast is not None:
                if fast(frame, 0) != _FAST_RESIDUE:
                    self._discard("bad_fcs", size)
                    continue
            elif _crc_hqx(frame.translate(_REVERSE_BITS), 0xFFFF) != _STDLIB_RESIDUE:
                self._discard("bad_fcs", size)
                continue
            # Address/Control may be absent (ACFC); an All-Stations address with another
            # Control value is not PPP (Linux ppp_async drops it too).
            start = 0
            if frame[0] == 0xFF:
                if frame[1] != 0x03:
                    self._discard("bad_header", size)
                    continue
                start = 2
            protocol = frame[start]
            if protocol & 1:  # PFC: one-octet protocol field (RFC 1661 §6.5)
                start += 1
            else:
                start += 2
                if start > size - 2:
                    self._discard("bad_header", size)
                    continue
                protocol = protocol << 8 | frame[start - 1]
            if start > size - 2:
                self._discard("bad_header", size)
                continue
            information = frame[start:-2]
            if len(information) > mru:
                self._discard("too_long", size)
                continue
            octets += len(information)
            append(_new_frame(Frame, (protocol, information)))
        self.frames += len(frames)
        self.octets += octets
        return frames


set_crc_backend("auto")
