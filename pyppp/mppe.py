r"""MPPE: Microsoft Point-to-Point Encryption (RFC 3078), session keys per RFC 3079. Sans-IO.

MPPE is a CCP "compression" method (CCP option 18) that encrypts instead of compressing. Its
start keys come out of the MS-CHAP exchange (:class:`pyppp.auth.base.MppeKeys`, derived in
:mod:`pyppp.auth.mschap`); this module turns them into RC4 session keys, encrypts and decrypts
packets, and holds the option-18 codec and pppd's policy for it (``ccp.c``). RC4 comes from
pycryptodome and SHA-1 from hashlib: nothing here is a hand-written cipher.

Theory of operation
-------------------
*Keys* (RFC 3078 §7, RFC 3079 §3.4). A direction has a fixed start key (the MS-CHAP send or
receive key, cut to 8 octets for 40- and 56-bit, 16 for 128-bit) and a changing session key::

    GetNewKeyFromSHA(start, session) = SHA1(start | 40 x 00 | session | 40 x F2)[:length]
    initial session key = reduce(GetNewKeyFromSHA(start, start))
    next session key    = reduce(RC4(interim).encrypt(interim)),
                          interim = GetNewKeyFromSHA(start, current session key)

where ``reduce`` salts a 40-bit key as ``D1 26 9E`` + 5 key octets and a 56-bit one as ``D1``
+ 7 (RFC 3078 §7.1). The RC4 state is re-initialised from the session key at every key
change; between changes (stateful mode) its keystream runs on across packets.

*Packets* (RFC 3078 §3). An encrypted packet is PPP protocol 0x00FD with two header octets,
``A B C D`` flags and a 12-bit coherency count, then the RC4 ciphertext of the original
protocol field and information::

     0                   1
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |A|B|C|D|    Coherency Count    |  then the encrypted protocol field and data
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

``A`` ("flushed") says the key changed before this packet, ``D`` that it is encrypted; ``B``
and ``C`` are MPPC's. The count goes up by one per packet, modulo 4096; the first packet
carries 0.

*When the key changes*, the way Linux's ``ppp_mppe.c`` does it (the peer this must match:
pppd and every Linux PPTP server use it):

* stateless (RFC 3078 §8.1, the ``H`` bit): before every packet; the receiver rekeys once per
  count step, so a lost packet costs nothing but itself;
* stateful: on each "flag" packet (count's low octet 0xFF) and on the first packet after we
  answered a CCP Reset-Request (RFC 3078 §8.2). A receiver that sees a count jump has lost
  RC4 sync: it drops packets and asks for a Reset-Request until a flushed packet arrives,
  then rekeys once per flag packet it missed.

Hostile input never raises: every refused packet is a :class:`Dropped` with its reason,
counted in :class:`MppeStats`; like Linux (``SANITY_MAX``) a run of packets with impossible
flags becomes :attr:`Dropped.fatal`, on which pppd closes the link ("Too many MPPE errors,
closing LCP"). Two deliberate differences from Linux, both on the receiving side and neither
visible to a well-behaved sender: a packet whose count is behind the expected one (late or
duplicate, up to half the count space) is dropped without touching the key schedule, where
old Linux rekeyed 4095 times (stateless) or took it for a loss (stateful); and in stateful
mode a flushed packet that reveals a loss resynchronises at once instead of being dropped.
In stateless mode a packet moves the key schedule only if it decrypts to an encrypted
protocol, and a count jump a forged packet made is undone by the sender's next packets
(:meth:`MppeDecryptor.decrypt`; found by the fuzz campaign's ``link.attacked``).

What no receiver can repair: in stateful mode the sender also changes its key on a packet
flushed for a Reset-Request, which the count does not reveal, so losing that one packet
desynchronises the direction silently until CCP is renegotiated. pppd refuses stateful mode
unless ``mppe-stateful`` is given ("stateful mode is bad over the Internet").
"""

from __future__ import annotations

import hashlib
import struct
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum, IntEnum, IntFlag
from typing import TYPE_CHECKING, ClassVar, Final, Protocol, Self

from pyppp.errors import MalformedPacket
from pyppp.options import Option
from pyppp.packet import Code

__all__ = [
    "COHERENCY_SPACE",
    "MPPE_OVERHEAD",
    "MPPE_PAD",
    "OPTION_TYPE",
    "Decrypted",
    "DropReason",
    "Dropped",
    "KeyStrength",
    "MppeDecryptor",
    "MppeEncryptor",
    "MppeFlags",
    "MppeMode",
    "MppeOption",
    "MppeStats",
    "MppeVerdict",
    "available_rc4_backends",
    "encode_header",
    "get_new_key_from_sha",
    "initial_session_key",
    "method_name",
    "next_session_key",
    "on_nak",
    "parse_header",
    "rc4_backend",
    "reduce_key",
    "review",
    "set_rc4_backend",
]

OPTION_TYPE: Final = 18
"""CCP option 18: MPPE/MPPC supported bits (RFC 3078 §2, pppd ``CI_MPPE``)."""

COHERENCY_SPACE: Final = 0x1000
"""The coherency count is 12 bits (RFC 3078 §3)."""

MPPE_OVERHEAD: Final = 2
"""The MPPE header: flags and coherency count."""

MPPE_PAD: Final = 4
"""How much an encrypted packet grows: the header and the now-inner protocol field. pppd
lowers the interface MTU by this much once MPPE is acknowledged (``MPPE_PAD``)."""

BIT_FLUSHED: Final = 0x80
"""``A``: the sender changed its key (re-initialised RC4) before this packet."""
BIT_B: Final = 0x40
"""``B``: MPPC history reset to the start (RFC 2118), never set by MPPE alone."""
BIT_C: Final = 0x20
"""``C``: MPPC compressed, never set by MPPE alone."""
BIT_ENCRYPTED: Final = 0x10
"""``D``: the packet is encrypted."""

SANITY_MAX: Final = 1600
"""Linux's bogon budget: each packet with impossible flags costs 100, each good one halves
the total; reaching this many means the peer is broken or hostile and the link goes down."""
_SANITY_COST: Final = 100
_LATE_COST: Final = 1
_FALLBACK_AFTER: Final = 3
"""Stateless packets refused in a row before the count before the last jump is tried too."""

_HEADER: Final = struct.Struct("!H")
_SUPPORTED: Final = struct.Struct("!I")
_SHA_PAD1: Final = bytes(40)
_SHA_PAD2: Final = b"\xf2" * 40
_FLAG_MASK: Final = 0xFF
_HALF_SPACE: Final = COHERENCY_SPACE // 2

# RFC 3078 §7.1: "the first three octets of the key are set to 0xD1, 0x26 and 0x9E" (40-bit),
# "the first octet ... to 0xD1" (56-bit).
_SALT_40: Final = b"\xd1\x26\x9e"
_SALT_56: Final = b"\xd1"


if TYPE_CHECKING:
    from collections.abc import Callable


class _Rc4(Protocol):
    def encrypt(self, data: bytes, /) -> bytes: ...
    def decrypt(self, data: bytes, /) -> bytes: ...


# RC4 backends. pycryptodome (a dependency) always works; the optional ``arc4`` package (a
# small C extension, ``pip install pyppp[fast]``) sets a key up four times faster and
# encrypts three times faster, and stateless MPPE sets two keys up per packet each side.
# Both are imported only once MPPE runs: the core imports without either (as for MS-CHAP).
_RFC6229_KEY: Final = bytes.fromhex("0102030405")
_RFC6229_STREAM: Final = bytes.fromhex("b2396305f03dc027ccc3524a0a1118a8")  # RFC 6229 §2


def _load_arc4() -> Callable[[bytes], _Rc4] | None:
    try:
        from arc4 import ARC4  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    new: Callable[[bytes], _Rc4] = ARC4
    return new


def _load_pycryptodome() -> Callable[[bytes], _Rc4] | None:
    try:
        from Crypto.Cipher import ARC4
    except ImportError:
        return None
    new: Callable[[bytes], _Rc4] = ARC4.new
    return new


_RC4_LOADERS: Final = {"arc4": _load_arc4, "pycryptodome": _load_pycryptodome}
_rc4: dict[str, Callable[[bytes], _Rc4]] = {}


def _probe_rc4(name: str) -> Callable[[bytes], _Rc4] | None:
    new = _RC4_LOADERS[name]()
    # Trust no build blindly: RFC 6229's first vector, in one call and in two.
    try:
        if new is None or new(_RFC6229_KEY).encrypt(bytes(16)) != _RFC6229_STREAM:
            return None
        cipher = new(_RFC6229_KEY)
        if cipher.encrypt(bytes(5)) + cipher.encrypt(bytes(11)) != _RFC6229_STREAM:
            return None
    except Exception:
        return None
    return new


def available_rc4_backends() -> list[str]:
    """The RC4 implementations usable here, fastest first (``arc4``, ``pycryptodome``)."""
    return [name for name in _RC4_LOADERS if _probe_rc4(name) is not None]


def rc4_backend() -> str | None:
    """The RC4 implementation MPPE uses (``None`` until MPPE first runs)."""
    return next(iter(_rc4), None)


def set_rc4_backend(name: str = "auto") -> str:
    """Select the RC4 implementation of the engines created from now on.

    Args:
        name: ``"arc4"``, ``"pycryptodome"`` or ``"auto"`` (the fastest one installed).

    Returns:
        The backend now in use.

    Raises:
        ValueError: that backend is not installed (or fails its check), or none is.
    """
    names = list(_RC4_LOADERS) if name == "auto" else [name]
    for candidate in names:
        if candidate not in _RC4_LOADERS:
            raise ValueError(f"unknown RC4 backend {candidate!r}")
        new = _probe_rc4(candidate)
        if new is not None:
            _rc4.clear()
            _rc4[candidate] = new
            return candidate
    raise ValueError(f"no usable RC4 backend ({name}): MPPE needs pycryptodome")


def _rc4_factory() -> Callable[[bytes], _Rc4]:
    if not _rc4:
        set_rc4_backend()
    return next(iter(_rc4.values()))


# ---------------------------------------------------------------------------------------------
# Keys: RFC 3078 §7, RFC 3079 §3.4


class KeyStrength(IntEnum):
    """The negotiated key length in bits; the value names it (``KeyStrength.BITS_128 == 128``)."""

    BITS_40 = 40
    BITS_56 = 56
    BITS_128 = 128

    @property
    def key_length(self) -> int:
        """Octets of start and session key: 8 for 40 and 56 bits (RFC 3079 §3.1), else 16."""
        return 16 if self is KeyStrength.BITS_128 else 8


def get_new_key_from_sha(start_key: bytes, session_key: bytes, length: int) -> bytes:
    """GetNewKeyFromSHA (RFC 3078 §7.3, RFC 3079 §3.4): SHA-1 over both keys and the pads.

    Args:
        start_key: the direction's start key ("MasterKey" in RFC 3078).
        session_key: the current session key (the start key itself for the first one).
        length: 8 or 16 octets; both keys are cut to it.
    """
    digest = hashlib.sha1(start_key[:length] + _SHA_PAD1 + session_key[:length] + _SHA_PAD2)
    return digest.digest()[:length]


def reduce_key(key: bytes, strength: KeyStrength) -> bytes:
    """Salt a session key down to its nominal strength (RFC 3078 §7.1); 128-bit keys stay."""
    if strength is KeyStrength.BITS_40:
        return _SALT_40 + key[3:8]
    if strength is KeyStrength.BITS_56:
        return _SALT_56 + key[1:8]
    return key


def initial_session_key(start_key: bytes, strength: KeyStrength) -> bytes:
    """The first session key of a direction (RFC 3078 §7.1; RFC 3079 §3.5 "SendSessionKey").

    Args:
        start_key: the MS-CHAP send or receive key (at least ``strength.key_length`` octets).
        strength: the negotiated key length.
    """
    length = strength.key_length
    return reduce_key(get_new_key_from_sha(start_key, start_key, length), strength)


def next_session_key(
    start_key: bytes,
    session_key: bytes,
    strength: KeyStrength,
    rc4: Callable[[bytes], _Rc4] | None = None,
) -> bytes:
    """The session key after a key change (RFC 3078 §7.3): SHA-1, then RC4 of itself.

    Args:
        start_key: the direction's start key.
        session_key: the current session key.
        strength: the negotiated key length.
        rc4: the RC4 constructor (the selected backend's, see :func:`set_rc4_backend`).
    """
    interim = get_new_key_from_sha(start_key, session_key, strength.key_length)
    new = rc4 or _rc4_factory()
    return reduce_key(new(interim).encrypt(interim), strength)


# ---------------------------------------------------------------------------------------------
# CCP option 18 (RFC 3078 §2) and pppd's policy for it (ccp.c)


class MppeFlags(IntFlag):
    """What an option-18 value asks for, in pppd's terms (``mppe.h`` ``MPPE_OPT_*``)."""

    NONE = 0
    BITS_40 = 0x01
    BITS_128 = 0x02
    STATEFUL = 0x04
    BITS_56 = 0x08
    MPPC = 0x10
    D = 0x20
    UNKNOWN = 0x40


_UNSUPPORTED: Final = MppeFlags.BITS_56 | MppeFlags.MPPC | MppeFlags.D
"""What pppd (and Linux) never do: 56-bit keys, MPPC compression, the obsolete D bit."""
_STRENGTHS: Final = MppeFlags.BITS_40 | MppeFlags.BITS_128

# The 32-bit Supported Bits field (RFC 3078 §2): octet 0 bit 0 is H (stateless), octet 3 holds
# M (56-bit) S (128-bit) L (40-bit) D (obsolete) and C (MPPC).
_H: Final = 0x01000000
_M: Final = 0x80
_S: Final = 0x40
_L: Final = 0x20
_D: Final = 0x10
_C: Final = 0x01
_KNOWN: Final = _H | _M | _S | _L | _D | _C


@dataclass(frozen=True, slots=True)
class MppeOption(Option):
    """CCP option 18, MPPE/MPPC Supported Bits (RFC 3078 §2): four octets of flags.

    Attributes:
        supported: the 32-bit field as sent, bits pppd does not know included, so an option
            re-encodes to exactly the octets it came from.
    """

    TYPE: ClassVar[int] = OPTION_TYPE
    supported: int

    @classmethod
    def from_flags(cls, flags: MppeFlags) -> Self:
        """The option pppd sends for ``flags`` (``MPPE_OPTS_TO_CI``): only H, S and L."""
        supported = 0 if flags & MppeFlags.STATEFUL else _H
        if flags & MppeFlags.BITS_128:
            supported |= _S
        if flags & MppeFlags.BITS_40:
            supported |= _L
        return cls(supported)

    @property
    def flags(self) -> MppeFlags:
        """The value in pppd's terms (``MPPE_CI_TO_OPTS``), ``UNKNOWN`` for undefined bits."""
        bits = self.supported
        flags = MppeFlags.NONE
        if not bits & _H:
            flags |= MppeFlags.STATEFUL
        for bit, flag in (
            (_S, MppeFlags.BITS_128),
            (_L, MppeFlags.BITS_40),
            (_M, MppeFlags.BITS_56),
            (_D, MppeFlags.D),
            (_C, MppeFlags.MPPC),
        ):
            if bits & bit:
                flags |= flag
        if bits & ~_KNOWN:
            flags |= MppeFlags.UNKNOWN
        return flags

    def payload(self) -> bytes:
        """The four octets of Supported Bits."""
        return _SUPPORTED.pack(self.supported)

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Decode the Supported Bits.

        Raises:
            MalformedPacket: the value is not four octets (pppd rejects any other length).
        """
        if len(payload) != _SUPPORTED.size:
            raise MalformedPacket(f"MPPE option of {len(payload)} octets")
        return cls(_SUPPORTED.unpack(payload)[0])

    def trace(self) -> str:
        """As pppd's ``ccp_printpkt``: ``mppe +H -M +S -L -D -C``, `` +U (xx xx xx xx)`` if odd."""
        bits = self.supported
        text = "mppe " + " ".join(
            ("+" if bits & bit else "-") + name
            for bit, name in ((_H, "H"), (_M, "M"), (_S, "S"), (_L, "L"), (_D, "D"), (_C, "C"))
        )
        if bits & ~_KNOWN:
            text += " +U (" + " ".join(f"{b:02x}" for b in self.payload()) + ")"
        return text


def method_name(flags: MppeFlags) -> str:
    """The name pppd gives a negotiated MPPE direction (``ccp.c`` ``method_name``).

    ``"MPPE 128-bit stateless"``: pppd logs it as "MPPE 128-bit stateless compression enabled".
    """
    text = "MPPE "
    if flags & MppeFlags.BITS_128:
        text += "128-bit "
    if flags & MppeFlags.BITS_40:
        text += "40-bit "
    return text + ("stateful" if flags & MppeFlags.STATEFUL else "stateless")


@dataclass(frozen=True, slots=True)
class MppeVerdict:
    """How we answer the peer's option 18 (:func:`review`).

    Attributes:
        code: ``CONF_ACK``, ``CONF_NAK`` or ``CONF_REJ``.
        option: what to send back with that code (the peer's own option for an Ack or Reject,
            our counter-proposal for a Nak).
        refused_stateful: pppd logs "Refusing MPPE stateful mode offered by peer".
    """

    code: Code
    option: MppeOption
    refused_stateful: bool = False


def review(option: MppeOption, allowed: MppeFlags, *, allow_stateful: bool) -> MppeVerdict:
    """Judge the peer's MPPE request as pppd's ``ccp_reqci`` does (its ``CI_MPPE`` case).

    Args:
        option: the peer's option 18.
        allowed: the strengths we accept (``BITS_40``/``BITS_128``; empty: MPPE not wanted,
            the option is rejected).
        allow_stateful: ``mppe-stateful`` was given (else a stateful request is rejected).

    Returns:
        The verdict. An Ack carries a single strength; a Nak names the strongest one we
        allow (or all we allow, when the peer set neither S nor L) and never 56-bit, MPPC or
        unknown bits.
    """
    allowed &= _STRENGTHS
    if not allowed:
        return MppeVerdict(Code.CONF_REJ, option)
    wanted = option.flags
    code = Code.CONF_ACK
    if wanted & (_UNSUPPORTED | MppeFlags.UNKNOWN):
        code = Code.CONF_NAK
        wanted &= ~(_UNSUPPORTED | MppeFlags.UNKNOWN)
    if wanted & MppeFlags.STATEFUL and not allow_stateful:
        # pppd: "stateful mode is bad over the Internet -- which is where we expect MPPE".
        return MppeVerdict(Code.CONF_REJ, option, refused_stateful=True)
    strengths = wanted & _STRENGTHS
    if strengths == _STRENGTHS:
        # Both offered: settle on the strongest we allow.
        code = Code.CONF_NAK
        wanted &= ~(MppeFlags.BITS_40 if allowed & MppeFlags.BITS_128 else MppeFlags.BITS_128)
    elif strengths:
        if not strengths & allowed:
            return MppeVerdict(Code.CONF_REJ, option)
    else:
        # Neither: we cannot accept that; offer what we can do and let the peer choose.
        code = Code.CONF_NAK
        wanted = allowed
    if code is Code.CONF_ACK:
        return MppeVerdict(code, option)
    return MppeVerdict(code, MppeOption.from_flags(wanted))


def on_nak(sent: MppeFlags, option: MppeOption, *, allow_stateful: bool) -> MppeFlags | None:
    """What to request after the peer Nak'd our option 18 (pppd ``ccp_nakci``).

    Returns:
        The flags of our next request, or ``None`` when the peer's suggestion is not
        acceptable: pppd then closes the link ("MPPE required but peer negotiation failed").
    """
    suggested = option.flags
    if suggested & MppeFlags.STATEFUL and not allow_stateful:
        return None
    if (sent | MppeFlags.STATEFUL) & suggested != suggested or not suggested & _STRENGTHS:
        return None
    return suggested


# ---------------------------------------------------------------------------------------------
# Packets: RFC 3078 §3


def encode_header(flags: int, count: int) -> bytes:
    """The two MPPE header octets: flags (``BIT_*``, high nibble) and the 12-bit count."""
    return _HEADER.pack((flags & 0xF0) << 8 | count & 0x0FFF)


def parse_header(data: bytes) -> tuple[int, int]:
    """``(flags, coherency count)`` of an MPPE packet (the data after protocol 0x00FD).

    Raises:
        MalformedPacket: fewer than two octets.
    """
    if len(data) < MPPE_OVERHEAD:
        raise MalformedPacket("MPPE packet without its header")
    word = _HEADER.unpack_from(data)[0]
    return word >> 8 & 0xF0, word & 0x0FFF


@dataclass(frozen=True, slots=True)
class MppeMode:
    """One direction's negotiated MPPE: key strength and statefulness.

    Attributes:
        strength: 40, 56 or 128 bits.
        stateful: rekey every 256 packets (and on reset) instead of every packet.
    """

    strength: KeyStrength
    stateful: bool = False

    @classmethod
    def from_flags(cls, flags: MppeFlags) -> Self:
        """The mode of an acknowledged option (the strongest strength if several are set).

        Raises:
            ValueError: no strength at all (an option that can never be acknowledged).
        """
        for flag, strength in (
            (MppeFlags.BITS_128, KeyStrength.BITS_128),
            (MppeFlags.BITS_56, KeyStrength.BITS_56),
            (MppeFlags.BITS_40, KeyStrength.BITS_40),
        ):
            if flags & flag:
                return cls(strength, bool(flags & MppeFlags.STATEFUL))
        raise ValueError("an MPPE option without a key strength")


@dataclass(slots=True)
class MppeStats:
    """One direction's counters.

    Attributes:
        packets: packets encrypted or decrypted.
        octets: their plaintext octets (protocol field included).
        rekeys: session key changes.
        dropped: packets refused, by reason (only the decryptor drops).
        jumps_undone: stateless count jumps taken back (a forged packet's, see
            :meth:`MppeDecryptor.decrypt`).
    """

    packets: int = 0
    octets: int = 0
    rekeys: int = 0
    jumps_undone: int = 0
    dropped: Counter[DropReason] = field(default_factory=Counter)


class _Direction:
    """The key schedule both ends of a direction run in step."""

    __slots__ = ("_new_rc4", "_session_key", "_start_key", "count", "mode", "rc4", "stats")

    def __init__(self, start_key: bytes, mode: MppeMode) -> None:
        length = mode.strength.key_length
        if len(start_key) < length:
            raise ValueError(f"an MPPE {int(mode.strength)}-bit start key needs {length} octets")
        self.mode = mode
        self._start_key = bytes(start_key[:length])
        self._session_key = initial_session_key(self._start_key, mode.strength)
        self._new_rc4 = _rc4_factory()
        self.rc4 = self._new_rc4(self._session_key)
        # Linux starts at the top so that the first packet is count 0 ("determined through
        # experiment"; RFC 3078 leaves the initial value unspecified).
        self.count = COHERENCY_SPACE - 1
        self.stats = MppeStats()

    @property
    def session_key(self) -> bytes:
        """The session key now (RFC 3079 §3.3)."""
        return self._session_key

    @session_key.setter
    def session_key(self, key: bytes) -> None:
        self._session_key = key

    def next_key(self, key: bytes) -> bytes:
        """The session key after ``key`` (RFC 3079 §3.3), ours left as it is."""
        return next_session_key(self._start_key, key, self.mode.strength, self._new_rc4)

    def cipher(self, key: bytes) -> _Rc4:
        """A fresh RC4 on ``key``."""
        return self._new_rc4(key)

    def rekey(self) -> None:
        self._session_key = next_session_key(
            self._start_key, self._session_key, self.mode.strength, self._new_rc4
        )
        self.rc4 = self._new_rc4(self._session_key)
        self.stats.rekeys += 1


class MppeEncryptor:
    """The sending half (Linux ``mppe_compress``): plaintext packets in, MPPE packets out.

    Args:
        start_key: our MS-CHAP send key (:attr:`~pyppp.auth.base.MppeKeys.send_key`).
        mode: what the peer's acknowledged request asked for (the peer decrypts).

    Raises:
        ValueError: the start key is shorter than the strength needs.
    """

    __slots__ = ("_direction", "_flush")

    ENCRYPTED_PROTOCOLS: ClassVar[range] = range(0x0021, 0x00FB)
    """What Linux encrypts: network-layer protocols 0x0021..0x00FA; the rest goes in clear."""

    def __init__(self, start_key: bytes, mode: MppeMode) -> None:
        self._direction = _Direction(start_key, mode)
        self._flush = False

    @property
    def stats(self) -> MppeStats:
        """The counters."""
        return self._direction.stats

    def reset(self) -> None:
        """We answer a CCP Reset-Request with a Reset-Ack: rekey before the next packet.

        RFC 3078 §8.2 / Linux ``mppe_comp_reset``: the key changes once, on the next packet
        sent (flagged flushed), however many Reset-Requests arrived meanwhile, so both ends
        count the same number of key changes.
        """
        self._flush = True

    def encrypt(self, protocol: int, information: bytes) -> bytes:
        """Encrypt one packet.

        Args:
            protocol: its PPP protocol (0x0021..0x00FA; see :attr:`ENCRYPTED_PROTOCOLS`).
            information: its Information field.

        Returns:
            The MPPE packet to send as protocol 0x00FD: header, then the RC4 ciphertext of
            the two-octet protocol field and the information.
        """
        direction = self._direction
        count = direction.count = (direction.count + 1) % COHERENCY_SPACE
        flags = BIT_ENCRYPTED
        if not direction.mode.stateful or count & _FLAG_MASK == _FLAG_MASK or self._flush:
            direction.rekey()
            flags |= BIT_FLUSHED
            self._flush = False
        stats = direction.stats
        stats.packets += 1
        stats.octets += 2 + len(information)
        return encode_header(flags, count) + direction.rc4.encrypt(
            _HEADER.pack(protocol) + information
        )


class DropReason(Enum):
    """Why the decryptor refused a packet."""

    SHORT = "shorter than header, protocol and one octet"
    NOT_ENCRYPTED = "D (encrypted) bit not set"
    NOT_FLUSHED = "A (flushed) bit not set in stateless mode"
    FLAG_NOT_FLUSHED = "A (flushed) bit not set on a flag packet"
    LATE = "coherency count not ahead (late or duplicate packet)"
    LOST = "coherency count jumped: packets lost, key sync lost"
    DISCARDING = "waiting for a flushed packet after a loss"
    BAD_PROTOCOL = "decrypted protocol field is not an encrypted protocol"


@dataclass(frozen=True, slots=True)
class Decrypted:
    """A packet decrypted.

    Attributes:
        protocol: its PPP protocol (the inner protocol field, one or two octets on the wire).
        information: its Information field.
    """

    protocol: int
    information: bytes


@dataclass(frozen=True, slots=True)
class Dropped:
    """A packet refused (and counted in :attr:`MppeStats.dropped`).

    Attributes:
        reason: why.
        reset: ask the peer to rekey: send a CCP Reset-Request (RFC 3078 §8.2; stateful mode
            only). pppd sends one per failed packet unless one is already outstanding.
        fatal: the peer keeps sending impossible packets: close CCP and LCP as pppd does
            ("Lost compression sync", "Too many MPPE errors, closing LCP").
    """

    reason: DropReason
    reset: bool = False
    fatal: bool = False


def _opened(plain: bytes) -> tuple[int, bytes] | DropReason:
    """The protocol and information of a decrypted packet, or why it is not one."""
    if plain[:1] and plain[0] & 1:  # protocol field compressed to one octet (RFC 1661 §6.5)
        protocol, information = plain[0], plain[1:]
    elif len(plain) >= 2:
        protocol, information = plain[0] << 8 | plain[1], plain[2:]
    else:
        return DropReason.SHORT
    if protocol not in MppeEncryptor.ENCRYPTED_PROTOCOLS:
        # Garbage from a wrong key, or a peer encrypting what it must not (LCP, say).
        return DropReason.BAD_PROTOCOL
    return protocol, information


class MppeDecryptor:
    """The receiving half (Linux ``mppe_decompress``): MPPE packets in, plaintext out.

    Args:
        start_key: our MS-CHAP receive key (:attr:`~pyppp.auth.base.MppeKeys.recv_key`).
        mode: what the peer acknowledged of our request (the peer encrypts).

    Raises:
        ValueError: the start key is shorter than the strength needs.
    """

    __slots__ = ("_direction", "_discarding", "_fallback", "_refused", "_sanity")

    def __init__(self, start_key: bytes, mode: MppeMode) -> None:
        self._direction = _Direction(start_key, mode)
        self._discarding = False
        self._sanity = 0
        # Stateless: the count and session key before the last jump over lost packets, in
        # case the jump was a forged packet's (see decrypt).
        self._fallback: tuple[int, bytes] | None = None
        self._refused = 0  # stateless: packets refused in a row

    @property
    def stats(self) -> MppeStats:
        """The counters."""
        return self._direction.stats

    @property
    def discarding(self) -> bool:
        """Stateful mode lost sync and waits for a flushed packet (RFC 3078 §8.2)."""
        return self._discarding

    def reset(self) -> None:
        """A CCP Reset-Ack arrived: nothing to do, the flushed packet resynchronises us."""

    def decrypt(self, data: bytes) -> Decrypted | Dropped:
        """Decrypt one MPPE packet (the data after protocol 0x00FD); never raises.

        Returns:
            The plaintext packet, or why it was dropped (and whether to send a Reset-Request
            or close the link).
        """
        direction = self._direction
        stateful = direction.mode.stateful
        if len(data) <= MPPE_OVERHEAD:
            return self._drop(DropReason.SHORT)
        word = _HEADER.unpack_from(data)[0]
        flushed = word & (BIT_FLUSHED << 8)
        count = word & 0x0FFF
        # Sanity checks (Linux: "terminate with extreme prejudice").
        if not word & (BIT_ENCRYPTED << 8):
            return self._insane(DropReason.NOT_ENCRYPTED, _SANITY_COST)
        if not stateful and not flushed:
            return self._insane(DropReason.NOT_FLUSHED, _SANITY_COST)
        if stateful and count & _FLAG_MASK == _FLAG_MASK and not flushed:
            return self._insane(DropReason.FLAG_NOT_FLUSHED, _SANITY_COST)
        if not stateful:
            return self._stateless(count, data)
        # RFC 3078 §8.2. ``base`` is the count we expect (after a loss: the one we
        # expected when the loss showed).
        base = direction.count
        if not self._discarding:
            base = (base + 1) % COHERENCY_SPACE
        ahead = (count - base) % COHERENCY_SPACE
        if ahead > _HALF_SPACE:
            # Late or duplicate: Linux would take it for a loss and lose sync over it;
            # nothing of ours has moved, so dropping it keeps us in step.
            return self._insane(DropReason.LATE, _LATE_COST)
        if ahead or self._discarding:
            if not flushed:
                reason = DropReason.DISCARDING if self._discarding else DropReason.LOST
                self._discarding = True
                direction.count = base
                return self._drop(reason, reset=True)
            # A flushed packet ends the loss: one key change for every flag packet
            # missed since the last good one (at most 15), then its own below. Linux
            # drops a flushed packet that reveals a loss; but the sender changed its key
            # for it, so taking it is the only way to stay in step if it was flushed for
            # an earlier Reset-Request.
            direction.count = base
            while count & ~_FLAG_MASK != direction.count & ~_FLAG_MASK:
                direction.rekey()
                direction.count = (direction.count + 0x100) % COHERENCY_SPACE
            self._discarding = False
        if flushed:
            direction.rekey()
        direction.count = count
        # Decrypt it all before judging it: in stateful mode the keystream must advance by the
        # packet's whole length, as the sender's did.
        plain = direction.rc4.decrypt(data[MPPE_OVERHEAD:])
        opened = _opened(plain)
        if isinstance(opened, DropReason):
            return self._drop(opened, reset=opened is DropReason.BAD_PROTOCOL)
        return self._accept(opened, len(plain))

    def _stateless(self, count: int, data: bytes) -> Decrypted | Dropped:
        """RFC 3078 §8.1: one key change per count step since the last packet we took.

        Nothing moves unless the packet decrypts to an encrypted protocol: a packet with the
        wrong key (forged, garbled) costs only itself. RFC 3078 has no integrity check, though,
        and 43 % of random octets pass for a protocol field, so a forged packet with a count
        far ahead may be taken: that leaves us up to 2047 keys ahead of the sender and every
        genuine packet "late" until its count caught up (Linux, rekeying 4095 times on a late
        one, loses the direction for good). So the count and key before the first jump over
        lost packets are kept, and after :data:`_FALLBACK_AFTER` packets refused in a row the
        next one is tried from there too: the sender's packets follow that line.
        """
        direction = self._direction
        payload = data[MPPE_OVERHEAD:]
        lines = [(direction.count, direction.session_key)]
        if self._fallback is not None and self._refused >= _FALLBACK_AFTER:
            lines.append(self._fallback)
        refusal = DropReason.LATE
        for line, (base, key) in enumerate(lines):
            steps = (count - base) % COHERENCY_SPACE
            if steps == 0 or steps > _HALF_SPACE:
                continue  # late or duplicate on this line
            for _ in range(steps):
                key = direction.next_key(key)
            rc4 = direction.cipher(key)
            plain = rc4.decrypt(payload)
            opened = _opened(plain)
            if isinstance(opened, DropReason):
                refusal = opened
                continue
            if line:
                direction.stats.jumps_undone += 1
                self._fallback = None
            elif steps > 1 and self._fallback is None:
                self._fallback = (base, direction.session_key)
            elif (
                self._fallback is not None
                and (count - self._fallback[0]) % COHERENCY_SPACE > _HALF_SPACE
            ):
                self._fallback = None  # out of reach now: nothing to go back to
            direction.stats.rekeys += steps
            direction.count, direction.session_key, direction.rc4 = count, key, rc4
            self._refused = 0
            return self._accept(opened, len(plain))
        self._refused += 1
        if refusal is DropReason.LATE:
            return self._insane(DropReason.LATE, _LATE_COST)
        return self._drop(refusal)

    def _accept(self, opened: tuple[int, bytes], octets: int) -> Decrypted:
        self._sanity >>= 1
        stats = self._direction.stats
        stats.packets += 1
        stats.octets += octets
        return Decrypted(*opened)

    def _drop(self, reason: DropReason, *, reset: bool = False) -> Dropped:
        self._direction.stats.dropped[reason] += 1
        return Dropped(reason, reset=reset)

    def _insane(self, reason: DropReason, cost: int) -> Dropped:
        self._direction.stats.dropped[reason] += 1
        self._sanity += cost
        return Dropped(
            reason, reset=self._direction.mode.stateful, fatal=self._sanity >= SANITY_MAX
        )
