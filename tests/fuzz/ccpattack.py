"""CCP in ``link.attacked``: Deflate and MPPE configurations and what a hostile line sends them.

* :func:`ccp_choice` turns one input octet into each side's CCP policy: Deflate (RFC 1979,
  with its window sizes and the draft Type 24) or MPPE (RFC 3078, 40/128-bit, stateless or
  stateful, which needs MS-CHAP: the CHAP algorithm follows), on one side or both.
* :func:`hostile_ccp` forges CCP packets: every code (Reset-Request 14 and Reset-Ack 15
  included) with the victim's identifiers, options of every method pppd knows (Deflate and
  its draft with any window, method and check octet; MPPE's Supported Bits in every mix; BSD-
  Compress, Predictor, unknown types, bad lengths) and the victim's own last
  Configure-Request with its options changed.
* :func:`hostile_comp` forges compressed datagrams (0x00FD): garbage behind the sequence
  number or coherency count the victim expects next (and its neighbours, and far jumps), the
  peer's real ones replayed and damaged, and real deflate streams: a protocol field of any
  value, a fresh history, and one that inflates far past the MRU; MPPE headers with every
  flag combination.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Sequence

from pyppp.ccp.deflate import DeflateConfig
from pyppp.ccp.mppe import MppeConfig
from pyppp.ccp.negotiator import CcpConfig
from pyppp.lcp.options import ChapAlgorithm
from pyppp.linkconfig import LinkConfig
from pyppp.mppe import COHERENCY_SPACE
from pyppp.packet import ControlPacket
from tests.fuzz.harness import Input, split_options

__all__ = ["CcpChoice", "ccp_choice", "ccp_configs", "hostile_ccp", "hostile_comp"]

_SIZES = ((15, 15), (9, 9), (12, 15), (0, 15))  # Deflate (want, allow); 0: we do not ask
_CCP_CODES = [1, 1, 2, 2, 3, 4, 4, 5, 6, 7, 14, 14, 15, 15, 8, 9]
_CCP_OPTIONS = [
    bytes.fromhex("1a047800"),  # Deflate 15
    bytes.fromhex("1a041800"),  # Deflate 9
    bytes.fromhex("1a040800"),  # Deflate 8 (pppd raises it to 9)
    bytes.fromhex("1a04f800"),  # window 23
    bytes.fromhex("1a047900"),  # method 9
    bytes.fromhex("1a047801"),  # check method 1
    bytes.fromhex("1a0378"),  # short
    bytes.fromhex("1a05780000"),  # long
    bytes.fromhex("18047800"),  # draft Deflate 15
    bytes.fromhex("18044800"),
    bytes.fromhex("15032f"),  # BSD-Compress 15
    bytes.fromhex("0102"),  # Predictor-1
    bytes.fromhex("0202"),  # Predictor-2
    bytes.fromhex("120601000040"),  # MPPE stateless 128
    bytes.fromhex("120601000020"),  # MPPE stateless 40
    bytes.fromhex("120600000040"),  # MPPE stateful 128
    bytes.fromhex("120601000060"),  # both strengths: must be Nak'd to one
    bytes.fromhex("1206010000e1"),  # 56-bit and MPPC
    bytes.fromhex("120601000010"),  # the obsolete D bit
    bytes.fromhex("120600000000"),  # nothing
    bytes.fromhex("1206ffffffff"),
    bytes.fromhex("12040100"),  # short
    bytes.fromhex("7f02"),  # unknown
    bytes.fromhex("1102ff"),  # length shorter than the data
]
_OFFSETS = (0, 0, 1, -1, 256, COHERENCY_SPACE // 2 - 1, COHERENCY_SPACE // 2)
# MPPE's A (flushed), B, C and D (encrypted) bits: A+D as sent, D alone, neither, all ...
_MPPE_FLAGS = (0x90, 0x10, 0x80, 0x00, 0xF0, 0x30, 0x50)
# Protocol fields a forged compressed datagram may carry inside.
_INNER = [0x21, 0x21, 0x57, 0x2D, 0x2F, 0xFD, 0xC021, 0x80FD, 0x8021, 0x3FFF, 0x0100]


@dataclasses.dataclass(frozen=True)
class CcpChoice:
    """The CCP part of one configuration.

    Attributes:
        a, b: each side's CCP policy (``None``: no CCP, Protocol-Reject).
        algorithms: the CHAP algorithms both sides use (MS-CHAP for MPPE's keys).
    """

    a: CcpConfig | None
    b: CcpConfig | None
    algorithms: tuple[int, ...] = (ChapAlgorithm.MD5,)

    @property
    def mppe(self) -> bool:
        """Whether a side requires MPPE."""
        return any(c is not None and c.mppe is not None for c in (self.a, self.b))


def ccp_choice(octet: int) -> CcpChoice:
    """Each side's CCP policy from one input octet.

    Bits 0-1: CCP at ``a`` alone (0), at ``b`` alone (1), at both (2, 3). Bit 5 chooses MPPE
    over Deflate. Deflate: bits 2-3 pick the windows (want, allow) of ``a``, ``b`` keeping
    15; bit 4 turns the draft Type 24 off at ``a``; bit 7 makes ``b`` offer only the draft.
    MPPE: bits 2-3 the strengths (both, 128-bit, 40-bit, 128-bit at ``a`` and 40-bit at ``b``:
    no common one); bit 4 allows stateful mode (``a`` asks for it); bit 7 MS-CHAP instead of
    MS-CHAPv2.
    """
    sizes = octet >> 2 & 3
    if octet & 0x20:
        strengths = ((True, True), (False, True), (True, False), (False, True))[sizes]
        stateful = bool(octet & 0x10)
        mppe_a = MppeConfig(*strengths, stateful=stateful, prefer_stateful=stateful)
        if sizes == 3:
            strengths = (True, False)
        mppe_b = MppeConfig(*strengths, stateful=stateful)
        a = CcpConfig(deflate=None, mppe=mppe_a)
        b = CcpConfig(deflate=None, mppe=mppe_b)
        algorithm = ChapAlgorithm.MS if octet & 0x80 else ChapAlgorithm.MS_V2
        algorithms: tuple[int, ...] = (algorithm,)
    else:
        want, allow = _SIZES[sizes]
        a = CcpConfig(deflate=DeflateConfig(want, allow, draft=not octet & 0x10))
        b = CcpConfig(deflate=DeflateConfig(rfc=not octet & 0x80))
        algorithms = (ChapAlgorithm.MD5,)
    who = octet & 3
    return CcpChoice(a if who != 1 else None, b if who != 0 else None, algorithms)


def ccp_configs(a: LinkConfig, b: LinkConfig, choice: CcpChoice) -> tuple[LinkConfig, LinkConfig]:
    """``a`` and ``b`` with the CCP policies of ``choice``."""
    return dataclasses.replace(a, ccp=choice.a), dataclasses.replace(b, ccp=choice.b)


def hostile_ccp(source: Input, last_id: int | None, last_request: bytes | None) -> bytes:
    """A forged CCP packet (its information field).

    Args:
        source: the fuzz input.
        last_id: the identifier of the victim's last CCP packet (a Configure-Request or a
            Reset-Request), which forged answers use.
        last_request: the options of the victim's last CCP Configure-Request.
    """
    code = source.pick(_CCP_CODES)
    assert isinstance(code, int)
    flags = source.uint()
    identifier = last_id if flags & 1 and last_id is not None else source.uint()
    if code in (14, 15) and not flags & 2:
        data = b""  # Reset-Request/Ack carry no data, mostly
    elif flags & 4 and last_request is not None:
        options = split_options(last_request)
        if options and flags & 8:
            del options[source.below(len(options))]
        options.insert(source.below(len(options) + 1), source.pick(_CCP_OPTIONS))  # type: ignore[arg-type]
        data = b"".join(options)
    else:
        data = b"".join(source.pick(_CCP_OPTIONS) for _ in range(source.below(4)))  # type: ignore[misc]
    return ControlPacket(code, identifier, data).encode()


def _next_count(replay: Sequence[bytes], mppe: bool) -> int:
    """The sequence number (Deflate) or coherency count (MPPE) the victim expects next."""
    if not replay or len(replay[-1]) < 2:
        return 0
    last = int.from_bytes(replay[-1][:2], "big")
    if mppe:
        return (last + 1) % COHERENCY_SPACE
    return (last + 1) & 0xFFFF


def _deflate(payload: bytes, wbits: int) -> bytes:
    """Raw deflate of ``payload`` ending in a sync flush, its 00 00 ff ff stripped (RFC 1979)."""
    z = zlib.compressobj(6, zlib.DEFLATED, -wbits)
    data = z.compress(payload) + z.flush(zlib.Z_SYNC_FLUSH)
    return data[:-4] if data.endswith(b"\x00\x00\xff\xff") else data


def hostile_comp(
    source: Input, replay: Sequence[bytes], mppe: bool, expected: int | None = None
) -> bytes:
    """A forged compressed datagram's information field (protocol 0x00FD).

    Args:
        source: the fuzz input.
        replay: the information fields of the peer's last compressed datagrams to the victim.
        mppe: whether MPPE runs (a coherency count and flags) rather than Deflate.
        expected: the sequence number the victim's decompressor expects, if known (after a
            reset it starts again at 0, which the peer's last datagram does not tell).
    """
    kind = source.below(6)
    if kind <= 1 and replay:
        damaged = bytearray(replay[source.below(len(replay))])
        how = source.uint()
        if how & 1 and damaged:
            damaged[source.below(len(damaged))] ^= 1 << source.below(8)
        if how & 2:
            del damaged[source.below(len(damaged) + 1) :]
        if how & 4 and len(damaged) >= 2:
            damaged[0:2] = source.take(2).ljust(2, b"\0")  # another count and flags
        return bytes(damaged)
    if expected is None:
        expected = _next_count(replay, mppe)
    step = source.uint()
    # The count expected, a neighbour, half the space away, or anything.
    offset = _OFFSETS[step & 7] if step & 7 != 7 else source.uint(2)
    count = expected + offset
    if mppe:
        flags = _MPPE_FLAGS[step >> 3 & 7] if step >> 3 & 7 != 7 else source.uint() & 0xF0
        header = (flags << 8 | count % COHERENCY_SPACE).to_bytes(2, "big")
    else:
        header = (count & 0xFFFF).to_bytes(2, "big")
    if kind == 2:
        return header + source.chunk(48)  # garbage
    inner = source.pick(_INNER)
    assert isinstance(inner, int)
    field = bytes((inner,)) if inner <= 0xFF and inner & 1 else inner.to_bytes(2, "big")
    if kind == 3:
        # A real deflate stream from a fresh history: the victim's history differs.
        body = field + source.chunk(64)
    elif kind == 4:
        # Inflates past any MRU: zeros compress about a thousand to one.
        body = field + bytes(2000 + source.uint(2) * 4)
    else:
        body = field + source.chunk(32) * (1 + source.below(64))
    return header + _deflate(body, 9 + source.below(7))
