"""Deflate over PPP (RFC 1979) exactly as Linux's ``ppp_deflate.c`` does it, and its policy.

Theory of operation
-------------------
Every datagram is compressed on its own but with one running history per direction: the
compressor is ``deflateInit2(level 6, -w)`` (raw deflate, window ``2**w``) and each frame is
fed to it *from the protocol field* (one octet when the protocol's high octet is zero, as
Protocol-Field-Compression would send it; two otherwise) followed by a ``Z_SYNC_FLUSH``. The
flush ends with an empty stored block, ``00 00 ff ff``, that Linux strips before sending (its
inflate refuses a packet that still carries it), so pyppp strips it too and the receiver puts
it back before inflating. The compressed datagram's Information field is::

    +--------+--------+---------------------------------------+
    |   sequence (2)  |   deflate data, sync flush stripped   |
    +--------+--------+---------------------------------------+

Only protocols below 0x4000 are compressed, never 0x00FD/0x00FB themselves (nor LCP or CCP,
which are above). A frame whose compressed form would not be shorter than its payload goes
out as it is, *but it still counts*: the sequence number advanced and its octets are in the
compressor's history. The receiver therefore hands every uncompressed frame below 0x4000 to
:meth:`DeflateDecompressor.incompressible`, which advances the sequence number and adds the
octets to the inflate window (Linux's ``inflateIncomp``). Python's zlib has no such call; it
is done here by inflating a *stored block* made of those octets: a packet ends on a block
boundary (the restored sync flush), so a stored block is exactly "these octets, literally"
to inflate, and its window ends up as the sender's. Measured on 1500-octet frames
(``bench/bench_ccp.py``) this costs a couple of microseconds, against rebuilding a
decompressor with the last ``2**w`` octets as ``zdict`` (also correct, twice the cost, and it
needs the window kept on the side for every frame).

The sender departs from Linux in ways the peer cannot see, each one sending some datagrams as
they are (they still count): a run of datagrams that do not shrink stops it running deflate
over each (see :class:`DeflateCompressor`), since compressing random data costs as much as
text and the link would be slower with compression than without; a storm of Reset-Requests
(:meth:`DeflateCompressor.reset`) and a quiet spell (:meth:`DeflateCompressor.after_quiet`)
on a line that has lost frames do too. Whenever the deflate stream did not see some
datagrams, the next one it compresses comes from a stream primed with the window
(``zdict``), which the peer's decompressor has too.

Errors, as Linux reports them to pppd: a short datagram, a wrong sequence number, or one that
does not start with a protocol field is DECOMP_ERROR (a Reset-Request resets the peer's
compressor; until its Reset-Ack, compressed frames are dropped); an inflate that fails or that
would overrun the MRU is a corrupted datagram, also answered with a Reset-Request here (FCS-16
lets one corrupted frame in 65536 through on a noisy line, and that must not switch
compression off), unless it overruns the MRU, which no line error explains: that is fatal
(pppd: "Lost compression sync: disabling compression"). Inflate output is bounded by
``max_length``: hostile input cannot grow memory.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from pyppp.ccp.method import Compressor, DecompressError, Decompressor, Verdict
from pyppp.ccp.options import (
    DEFLATE,
    DEFLATE_CHK_SEQUENCE,
    DEFLATE_DRAFT,
    DEFLATE_METHOD,
    Deflate,
    DeflateDraft,
)
from pyppp.options import Option
from pyppp.packet import Code

__all__ = [
    "AFTER_QUIET",
    "CALM_FIRST",
    "CALM_MAX",
    "DEFLATE_MAX_SIZE",
    "DEFLATE_MIN_SIZE",
    "DEFLATE_MIN_WORKS",
    "LOSSY_MEMORY",
    "NOISY_RESETS",
    "NOISY_SPAN",
    "PROBE_EVERY",
    "PROBE_MAX",
    "SKIP_AFTER",
    "DeflateCompressor",
    "DeflateConfig",
    "DeflateDecompressor",
    "DeflatePolicy",
]

DEFLATE_MIN_SIZE: Final = 8
"""The smallest window the option can say (pppd accepts it in ``deflate N`` and raises it)."""
DEFLATE_MIN_WORKS: Final = 9
"""zlib cannot deflate with a 256-octet window (``wbits=-8`` is refused): pppd raises 8 to 9."""
DEFLATE_MAX_SIZE: Final = 15

_SYNC_TAIL: Final = b"\x00\x00\xff\xff"
_COMP_PROTOCOLS_BELOW: Final = 0x4000
_NEVER: Final = frozenset({0x00FD, 0x00FB})
_MEM_LEVEL: Final = 8
SKIP_AFTER: Final = 4
"""Datagrams in a row that would not shrink before the compressor stops trying each one."""
PROBE_EVERY: Final = 8
"""While it does not try, it tries again after this many datagrams ..."""
PROBE_MAX: Final = 64
"""... twice as many after each try that fails, up to this many."""
NOISY_RESETS: Final = 3
"""Reset-Requests from the peer ..."""
NOISY_SPAN: Final = 64
"""... within this many datagrams mean the line loses frames faster than history survives."""
CALM_FIRST: Final = 256
"""Datagrams then sent as they are (still counted) before compressing again ..."""
CALM_MAX: Final = 4096
"""... twice as many each time the resets come back, up to this many."""
AFTER_QUIET: Final = 4
"""Datagrams sent as they are after a quiet spell (:meth:`DeflateCompressor.after_quiet`) ..."""
LOSSY_MEMORY: Final = 4096
"""... on a line whose peer asked for a reset within this many datagrams (a lossy line)."""


def _protocol_field(protocol: int) -> bytes:
    # Linux starts at the protocol's second octet when its first is zero (off = 3).
    return bytes((protocol,)) if protocol <= 0xFF else protocol.to_bytes(2, "big")


def compressible(protocol: int) -> bool:
    """Whether Deflate compresses (and counts) frames of ``protocol``."""
    return protocol < _COMP_PROTOCOLS_BELOW and protocol not in _NEVER


class DeflateCompressor:
    """Our side of one direction: compresses what we send (Linux ``z_compress``).

    One difference from Linux, invisible on the wire: after :data:`SKIP_AFTER` datagrams in a
    row that would not shrink (random or already compressed data), the compressor stops
    running deflate over each one, which costs as much as compressing text and buys nothing.
    It sends them as they are (they still count, as Linux's do) and only keeps the last
    ``2**size`` octets it was given; after :data:`PROBE_EVERY` datagrams it tries again with a
    deflate stream primed with those octets as ``zdict`` (and waits twice as long after each
    try that fails, up to :data:`PROBE_MAX`). The peer's decompressor holds the same
    octets in its window (it adds every uncompressed frame to it), so whatever the primed
    stream refers back to is there: the datagram decompresses exactly as Linux's would.

    Args:
        size: the window as a power of two (9..15), as the peer asked for it.
        level: zlib's level (Linux: ``Z_DEFAULT_COMPRESSION``).
    """

    def __init__(self, size: int, level: int = zlib.Z_DEFAULT_COMPRESSION) -> None:
        self.size = size
        self.level = level
        self._window_size = 1 << size
        self._datagrams = 0  # compress() calls over the compressor's life, resets included
        self._resets: deque[int] = deque(maxlen=NOISY_RESETS)  # when the last resets came
        self._last_reset: int | None = None  # when the peer last asked for one
        self._plain_until = 0
        self._calm = CALM_FIRST
        self._quiet = 0  # datagrams still to send as they are after a quiet spell
        self.plain = 0
        """Datagrams sent as they were because the line was losing frames (see :meth:`reset`
        and :meth:`after_quiet`)."""
        self._restart()

    def _new(self, history: bytes = b"") -> zlib._Compress:
        wbits = -self.size
        if history:
            return zlib.compressobj(self.level, zlib.DEFLATED, wbits, _MEM_LEVEL, zdict=history)
        return zlib.compressobj(self.level, zlib.DEFLATED, wbits, _MEM_LEVEL)

    def reset(self) -> None:
        """Sequence 0, empty history (``deflateReset``): the peer's Reset-Request.

        Beyond Linux, invisible on the wire: on a line that damages frames faster than a
        compressed history survives (:data:`NOISY_RESETS` within :data:`NOISY_SPAN`
        datagrams), every compressed datagram after a loss is dropped by the peer until the
        Reset-Ack, which costs more than compression gains. The compressor then sends
        datagrams as they are for a while (:data:`CALM_FIRST`, doubling up to
        :data:`CALM_MAX` while the resets keep coming); they still count, as uncompressed
        datagrams always do, and the peer's first Reset-Request after compression resumes
        puts both ends back in step.
        """
        resets = self._resets
        resets.append(self._datagrams)
        self._last_reset = self._datagrams
        if len(resets) == NOISY_RESETS and resets[-1] - resets[0] <= NOISY_SPAN:
            if self._datagrams - self._plain_until > 4 * CALM_MAX:
                self._calm = CALM_FIRST  # the last noisy spell is long past
            self._plain_until = self._datagrams + self._calm
            self._calm = min(2 * self._calm, CALM_MAX)
            resets.clear()
        self._restart()

    def after_quiet(self) -> None:
        """Nothing was sent for a while: the next :data:`AFTER_QUIET` datagrams go as they are.

        Beyond Linux, invisible on the wire (they still count). After a quiet spell on a
        noisy line the next datagram is typically a TCP retransmission or the acknowledgement
        of one, and a frame lost before it (unnoticed until then: only compressed datagrams
        carry the sequence number) makes the peer's decompressor drop it and ask for a reset;
        TCP then waits a doubled retransmission timeout, again and again. A datagram sent as
        it is always gets through, and the peer's history still follows ours.

        Only on a line known to lose frames: the peer asked for a reset within the last
        :data:`LOSSY_MEMORY` datagrams. On a clean line a quiet spell is the start of
        something new (a transfer, a page), and its first datagrams sent as they are would
        cost it a few per cent of its time on the line for nothing; the price is that the
        first loss of a link's life, if it comes right before a pause, costs TCP one
        retransmission timeout.
        """
        last = self._last_reset
        if last is not None and self._datagrams - last <= LOSSY_MEMORY:
            self._quiet = AFTER_QUIET

    def _restart(self) -> None:
        self.sequence = 0
        self._z = self._new()
        self._window = bytearray()  # the last 2**size octets given to the compressor
        self._stale = False  # datagrams in the window that the deflate stream did not see
        self._refused = 0  # datagrams in a row that did not shrink
        self._skipping = False
        self._skipped = 0
        self._interval = PROBE_EVERY
        self.skipped = 0
        """Datagrams sent as they were without running deflate (for the benchmark)."""

    def _send_as_is(self, data: bytes) -> None:
        """A datagram goes out uncompressed: the peer's window takes it, our stream does not."""
        window = self._window
        window += data
        del window[: -self._window_size]
        self._stale = True

    def compress(self, protocol: int, payload: bytes) -> bytes | None:
        """The compressed datagram's Information, or ``None`` to send the frame unchanged."""
        if not compressible(protocol):
            return None
        sequence = self.sequence
        self.sequence = (sequence + 1) & 0xFFFF
        data = _protocol_field(protocol) + payload
        window = self._window
        self._datagrams += 1
        if self._quiet:
            self._quiet -= 1
            self.plain += 1
            self._send_as_is(data)
            return None
        if self._datagrams <= self._plain_until:
            self.plain += 1
            self._send_as_is(data)
            return None
        if self._skipping:
            self._skipped += 1
            if self._skipped < self._interval:
                self.skipped += 1
                self._send_as_is(data)
                return None
            self._skipped = 0  # a probe
        if self._stale:
            # Datagrams went out as they were without passing through the deflate stream: a
            # new stream that knows exactly the window the peer's decompressor has (its
            # back-references would otherwise skip those octets and inflate to garbage).
            self._z = self._new(bytes(window))
            self._stale = False
        window += data
        del window[: -self._window_size]
        z = self._z
        out = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
        # A sync flush always ends with the empty stored block; Linux's peer wants it gone.
        if out.endswith(_SYNC_TAIL):
            out = out[:-4]
        if 2 + len(out) >= len(payload):
            # Linux: not shorter than the uncompressed frame; history and sequence moved on.
            self._refused += 1
            if self._skipping:
                self._interval = min(2 * self._interval, PROBE_MAX)
            elif self._refused >= SKIP_AFTER:
                self._skipping = True
            return None
        self._refused = 0
        self._skipping = False
        self._interval = PROBE_EVERY
        return sequence.to_bytes(2, "big") + out


class DeflateDecompressor:
    """The peer's direction: decompresses what it sends (Linux ``z_decompress``/``z_incomp``).

    Args:
        size: the window as a power of two, as we asked for it.
        mru: our MRU: a datagram inflating to more is fatal.
    """

    def __init__(self, size: int, mru: int) -> None:
        self.size = size
        self.mru = mru
        self.sequence = 0
        self._z = zlib.decompressobj(-size)
        self._broken = False

    def reset(self) -> None:
        """Sequence 0, empty history (``inflateReset``)."""
        self.sequence = 0
        self._z = zlib.decompressobj(-self.size)
        self._broken = False

    def decompress(self, information: bytes) -> tuple[int, bytes]:
        """The protocol and payload of one compressed datagram.

        Raises:
            DecompressError: short, out of sequence, corrupt (Reset-Request), or overrunning
                the MRU (``fatal``).
        """
        if len(information) <= 2:
            raise DecompressError("short compressed datagram")
        if self._broken:
            raise DecompressError("history lost: waiting for the Reset-Ack")
        sequence = int.from_bytes(information[:2], "big")
        if sequence != self.sequence:
            raise DecompressError(f"bad sequence number {sequence}, expected {self.sequence}")
        self.sequence = (sequence + 1) & 0xFFFF
        # The protocol field (at most 2) plus the MRU; one more octet says "too long".
        limit = self.mru + 3
        z = self._z
        try:
            out = z.decompress(information[2:] + _SYNC_TAIL, limit)
        except zlib.error as exc:
            raise DecompressError(f"inflate failed: {exc}") from None
        if z.unconsumed_tail or len(out) >= limit:
            raise DecompressError("decompressed datagram longer than the MRU", fatal=True)
        if z.eof:
            # A final block: the peer's stream ended, which Deflate over PPP never does.
            raise DecompressError("compressed stream ended")
        if not out:
            raise DecompressError("no protocol field")
        if out[0] & 1:
            protocol, start = out[0], 1
        elif len(out) >= 2 and out[1] & 1:
            protocol, start = (out[0] << 8) | out[1], 2
        else:
            raise DecompressError("no protocol field")
        return protocol, out[start:]

    def incompressible(self, protocol: int, payload: bytes) -> None:
        """An uncompressed frame: sequence and history advance (``inflateIncomp``)."""
        if not compressible(protocol):
            return
        self.sequence = (self.sequence + 1) & 0xFFFF
        data = _protocol_field(protocol) + payload
        z = self._z
        # One stored block per 65535 octets: BFINAL=0, BTYPE=00, padded, LEN, NLEN, octets.
        try:
            for start in range(0, len(data), 0xFFFF):
                chunk = data[start : start + 0xFFFF]
                n = len(chunk)
                z.decompress(
                    b"\x00" + n.to_bytes(2, "little") + (n ^ 0xFFFF).to_bytes(2, "little") + chunk
                )
        except zlib.error:
            # Only an inflate state already garbled by an earlier datagram gets here: the
            # history is lost, and the next compressed datagram asks for the reset.
            self._broken = True


@dataclass(frozen=True, slots=True)
class DeflateConfig:
    """pppd's ``deflate`` words (ccp.c ``setdeflate``, ``nodeflate``, ``nodeflatedraft``).

    Attributes:
        want_size: the window we ask the peer to compress with (``deflate N``), 0: do not ask.
        allow_size: the largest window we let the peer ask for (``deflate N,M``), 0: refuse.
        rfc: use RFC 1979's Type 26.
        draft: also the draft Type 24 (``nodeflatedraft`` turns it off).
    """

    want_size: int = DEFLATE_MAX_SIZE
    allow_size: int = DEFLATE_MAX_SIZE
    rfc: bool = True
    draft: bool = True


class DeflatePolicy:
    """Deflate's share of pppd's CCP negotiation (``ccp_addci``/``nakci``/``rejci``/``reqci``).

    Args:
        config: the ``deflate`` words.
    """

    types: frozenset[int] = frozenset({DEFLATE, DEFLATE_DRAFT})

    def __init__(self, config: DeflateConfig | None = None) -> None:
        self.config = config or DeflateConfig()
        self.reset()

    def reset(self) -> None:
        """Back to what the configuration wants."""
        config = self.config
        self._size = config.want_size
        self._rfc = config.rfc
        self._draft = config.draft
        self._asking = config.want_size > 0 and (config.rfc or config.draft)

    def request(self) -> Sequence[Option]:
        """``<deflate 15> <deflate(old#) 15>`` (pppd sends both unless ``nodeflatedraft``)."""
        if not self._asking or self._size < DEFLATE_MIN_WORKS:
            return ()
        options: list[Option] = []
        if self._rfc:
            options.append(Deflate(self._size))
        if self._draft:
            options.append(DeflateDraft(self._size))
        return options

    def on_nak(self, option: Option) -> None:
        """Take a smaller window; stop asking for a method or check we do not know."""
        if not isinstance(option, Deflate):
            return
        # pppd heeds only the Nak of our first Deflate option (26, or 24 without 26).
        if option.option_type != (DEFLATE if self._rfc else DEFLATE_DRAFT):
            return
        if (
            option.method != DEFLATE_METHOD
            or option.size < DEFLATE_MIN_WORKS
            or option.check != DEFLATE_CHK_SEQUENCE
        ):
            self._asking = False
        elif option.size < self._size:
            self._size = option.size

    def on_reject(self, option: Option) -> None:
        """Drop the rejected Type; with neither left, stop asking."""
        if option.option_type == DEFLATE:
            self._rfc = False
        elif option.option_type == DEFLATE_DRAFT:
            self._draft = False
        if not self._rfc and not self._draft:
            self._asking = False

    def review(self, option: Option, *, first: bool, reject_if_disagree: bool) -> Verdict:
        """Ack a window we allow; Nak others with our largest; Reject what we refuse."""
        config = self.config
        if (
            not isinstance(option, Deflate)
            or config.allow_size <= 0
            or (not option.draft and not config.rfc)
            or (option.draft and not config.draft)
        ):
            return Verdict(Code.CONF_REJ, option)
        if (
            option.method != DEFLATE_METHOD
            or option.check != DEFLATE_CHK_SEQUENCE
            or option.size > config.allow_size
            or option.size < DEFLATE_MIN_WORKS
        ):
            if reject_if_disagree:
                return Verdict(Code.CONF_REJ, option)
            # A window too small for zlib (8) gets the nearest that works (9), as pppd raises
            # its own 8 to 9; anything else our largest (pppd ccp_reqci).
            size = config.allow_size
            if option.method == DEFLATE_METHOD and option.check == DEFLATE_CHK_SEQUENCE:
                size = max(DEFLATE_MIN_WORKS, min(option.size, size))
            return Verdict(Code.CONF_NAK, type(option)(size))
        return Verdict(Code.CONF_ACK, option)

    def describe(self, ours: Option, other: Option | None) -> str:
        """pppd: ``Deflate (15)``, ``Deflate (15/9)``, ``Deflate(old#) (15)``."""
        assert isinstance(ours, Deflate)
        old = "(old#)" if ours.draft else ""
        if isinstance(other, Deflate) and other.size != ours.size:
            return f"Deflate{old} ({ours.size}/{other.size})"
        return f"Deflate{old} ({ours.size})"

    def compressor(self, option: Option) -> Compressor:
        """Compress with the window the peer asked for."""
        assert isinstance(option, Deflate)
        return DeflateCompressor(option.size)

    def decompressor(self, option: Option, mru: int) -> Decompressor:
        """Decompress with the window we asked for."""
        assert isinstance(option, Deflate)
        return DeflateDecompressor(option.size, mru)
