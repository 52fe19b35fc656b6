"""Van Jacobson TCP/IP header compression (RFC 1144), sans-IO, as Linux's ``slhc.c`` does it.

Theory of operation
-------------------
A TCP/IP header is 40 octets and most of it does not change between two segments of one
connection. Both ends keep a table of *slots* (RFC 1144 §3.2: "connection state"), one per
recent connection, holding the last header sent or received; the compressor sends only what
changed, as small deltas behind a one-octet *change mask* (§3.2.2)::

    C I P S A W U  -- change mask (0x40 connection id present, 0x20 IP ID, 0x10 TCP PUSH,
                      0x08 sequence, 0x04 ack, 0x02 window, 0x01 urgent)
    [slot id]      -- only with C: otherwise the last slot used (slot-id omission, §3.2.3)
    TCP checksum   -- two octets, always sent as is: the receiver's TCP checks the result
    deltas         -- urgent, window, ack, sequence, IP ID in that order; each one octet
                      (1..255) or 0x00 and two octets (0 and 256..65535)

PPP carries the three kinds of datagram as three protocols (RFC 1332 §4): plain IP (0x0021)
for what cannot be compressed (not TCP, fragments, SYN/FIN/RST or no ACK), Uncompressed-TCP
(0x002f, the whole datagram with the slot id in the IP protocol octet) to (re)load a slot, and
Compressed-TCP (0x002d). Two change masks are special (§3.2.3): ``S W U`` (SPECIAL_I, echoed
terminal traffic: sequence and ack both advance by the previous segment's data length) and
``S A W U`` (SPECIAL_D, unidirectional data: sequence advances by it); real changes that
happen to equal those masks are sent uncompressed.

The decompressor cannot tell that a frame was lost: after any error (a bad FCS on the line,
a malformed or out-of-range packet) it sets TOSS and drops every compressed packet that has
no explicit slot id until one that has one, or an Uncompressed-TCP packet, arrives (§4.2,
``slhc_toss``). The sender's TCP retransmits what was dropped, and a retransmission is never
compressed (its sequence number goes back), which reloads the slot.

Where this follows Linux rather than the RFC's sample code, or neither, and why:

* The slot table is searched and reused most-recently-used first, as ``slhc_compress`` does,
  so a capture of Linux's compressor is reproduced byte for byte. Slot ids on the wire are
  ``0..max_slot_id``.
* After TOSS every slot is *suspect* until an Uncompressed-TCP packet reloads it: a packet
  rebuilt from a suspect slot is checked against its TCP checksum before it is handed on
  (Linux leaves that to its TCP), because the lost frame may have changed that slot (a packet
  that names its slot is taken even while tossing). A wrong rebuild is counted, dropped and
  sets TOSS again. Without a loss a rebuild is exact by construction and goes unchecked: the
  check costs about 2 us per 1500 octets, the receiving TCP checks anyway.
* Segments with TCP options (Linux's timestamps, on by default) are compressed as Linux does
  it: Uncompressed-TCP when the options differ from the slot's, compressed when they are the
  same (RFC 1144 §3.2.2: the options are part of what must not change). A timestamp changes
  at most once a millisecond and its echo once an acknowledgement, so the segments a sender
  sends together (two for each ACK, a burst after a pause) share them: on a 115200-baud line
  measured as about one bulk segment in six (a pacing sender, BBR) to three in five (cubic)
  compressed. On a line that loses frames each loss makes the peer toss what follows until an
  Uncompressed-TCP reloads the slot, and a compressed segment saves little there: while the
  line is lossy the link sends timestamped segments as plain IP, untouched by the slot table
  (:attr:`VjCompressor.timestamps_as_ip`, set by
  :meth:`pyppp.datapath.DataPath.adapt_size`). ``net.ipv4.tcp_timestamps=0`` lets VJ
  compress every segment.
* The compressor also sends uncompressed when TCP flags other than PSH/URG (ECE, CWR, NS and
  the reserved bits) or the IP flags word change, and plain IP when the IP total length is not
  the datagram's length: Linux's compressor does not look, and its peer would rebuild the old
  values. When the previous segment had URG set it avoids SPECIAL_I/SPECIAL_D, which leave URG
  as it was in the RFC's decompressor and Linux's; ours clears URG on them.
* The decompressor commits a slot's new state only once the packet parsed whole; Linux updates
  the slot field by field and may leave it half-changed on a truncated packet.

What no VJ decompressor can promise: after a lost frame, a packet that names its slot is
rebuilt from whatever that slot last held. The TCP checksum catches a wrong rebuild unless the
errors cancel in the one's complement sum, or lie in the IP header fields it does not cover
(TOS, ID, flags, TTL), which RFC 1144 §4 accepts too; and damage the FCS did not see (one
frame in 65536 of those the line garbles) is the receiving TCP's to find, as with plain IP.

Everything is bounded: at most 256 slots of at most 120 octets of header each, whatever the
line sends. Bad input never raises: :meth:`VjDecompressor.decompress` and
:meth:`VjDecompressor.uncompressed` return ``None`` and count why.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from pyppp.packet import PPPProtocol

__all__ = [
    "MAX_SLOTS",
    "NEW_A",
    "NEW_C",
    "NEW_I",
    "NEW_S",
    "NEW_U",
    "NEW_W",
    "RECEIVE_SLOTS",
    "SPECIALS_MASK",
    "SPECIAL_D",
    "SPECIAL_I",
    "TCP_PUSH",
    "VjCompressor",
    "VjDecompressor",
    "VjStats",
]

MAX_SLOTS: Final = 256
"""Slot ids are one octet: at most 256 slots (RFC 1144 §3.2.3; RFC 1332 Max-Slot-Id)."""

RECEIVE_SLOTS: Final = 16
"""Linux's decompressor always keeps 16 slots (``PPPIOCSMAXCID`` without a receive count)."""

# Change mask bits (RFC 1144 §3.2.2).
NEW_C: Final = 0x40
NEW_I: Final = 0x20
TCP_PUSH: Final = 0x10
NEW_S: Final = 0x08
NEW_A: Final = 0x04
NEW_W: Final = 0x02
NEW_U: Final = 0x01
SPECIALS_MASK: Final = NEW_S | NEW_A | NEW_W | NEW_U
SPECIAL_I: Final = NEW_S | NEW_W | NEW_U
SPECIAL_D: Final = NEW_S | NEW_A | NEW_W | NEW_U

# TCP flags (RFC 9293 §3.1).
_FIN: Final = 0x01
_SYN: Final = 0x02
_RST: Final = 0x04
_PSH: Final = 0x08
_ACK: Final = 0x10
_URG: Final = 0x20
_NOT_COMPRESSIBLE: Final = _FIN | _SYN | _RST
_CARRIED: Final = _PSH | _URG  # the flags the change mask carries; the rest must not change
_NOT_CARRIED: Final = 0xFF & ~_CARRIED

_TCP_PROTOCOL: Final = 6
_TIMESTAMPS: Final = b"\x01\x01\x08\x0a"  # NOP, NOP, Timestamps (RFC 7323 Appendix A)
_IP: Final = int(PPPProtocol.IP)
_COMP: Final = int(PPPProtocol.VJ_COMP)
_UNCOMP: Final = int(PPPProtocol.VJ_UNCOMP)

# IPv4: total length, identification, flags + fragment offset (RFC 791 §3.1).
_IP_LEN_ID_FRAG: Final = struct.Struct("!HHH")
# IPv4 up to the TTL: version/IHL, TOS, total length, identification, flags/fragment, TTL.
_IPV4: Final = struct.Struct("!BBHHHB")
# TCP after the ports: sequence, ack, offset octet, flags octet, window, checksum, urgent.
_TCP_FIELDS: Final = struct.Struct("!IIBBHHH")
_SHORT: Final = struct.Struct("!H")
# A rebuilt IPv4 header without its options: version/IHL + TOS, length, id, flags/fragment
# + TTL + protocol, checksum, addresses.
_IP_HEADER: Final = struct.Struct("!2sHH4sH8s")
_TCP_HEADER: Final = struct.Struct("!4sIIBBHHH")


def _fold(total: int) -> int:
    """Return the one's-complement checksum field for a sum of 16-bit words (RFC 1071).

    ``total % 0xffff`` is the end-around-carry sum (2**16 is 1 modulo 0xffff); a sum that
    folds to 0 is 0xffff for any header that is not all zeros, whose checksum is 0.
    """
    folded = total % 0xFFFF
    return 0xFFFF - folded if folded else 0


def _words(data: bytes | memoryview) -> int:
    """Return the sum of ``data`` as 16-bit big-endian words, modulo 0xffff (odd: pad a zero)."""
    value = int.from_bytes(data, "big")
    return value << 8 if len(data) & 1 else value


def _encode(deltas: bytearray, value: int) -> None:
    """Append one delta: one octet for 1..255, else 0x00 and two octets (RFC 1144 §3.2.2)."""
    if 0 < value < 256:
        deltas.append(value)
    else:
        deltas += b"\x00" + _SHORT.pack(value)


@dataclass(slots=True)
class VjStats:
    """What one VJ compressor/decompressor pair has done (Linux's ``sls_*`` counters).

    Attributes:
        sent_ip: datagrams sent as plain IP (not TCP, a fragment, SYN/FIN/RST, no ACK...).
        sent_uncompressed: TCP datagrams sent as Uncompressed-TCP (a slot (re)loaded).
        sent_compressed: TCP datagrams sent as Compressed-TCP.
        header_octets_saved: header octets the compressed ones did not send.
        misses: sends that found no slot for their connection and took the oldest.
        received_uncompressed: Uncompressed-TCP packets accepted.
        received_compressed: Compressed-TCP packets rebuilt and delivered.
        tossed: compressed packets dropped because of an earlier error (TOSS).
        errors: packets dropped as malformed, out of range or for an unknown slot.
        bad_checksum: rebuilds from a suspect slot dropped because their TCP checksum failed.
        tosses: times the decompressor was told a frame was lost, or found one was.
    """

    sent_ip: int = 0
    sent_uncompressed: int = 0
    sent_compressed: int = 0
    header_octets_saved: int = 0
    misses: int = 0
    received_uncompressed: int = 0
    received_compressed: int = 0
    tossed: int = 0
    errors: int = 0
    bad_checksum: int = 0
    tosses: int = 0


class _SendSlot:
    """The compressor's copy of the last header it sent on one connection."""

    __slots__ = ("ack", "fixed", "ip_id", "key", "length", "seq", "urg", "urp", "window")

    def __init__(self) -> None:
        self.key: bytes | None = None
        # What must not change for a packet to be compressed: version/IHL, TOS, the IP flags
        # word, TTL, the IP options, the TCP offset octet, the flags we do not carry, the
        # TCP options.
        self.fixed: tuple[int, int, bytes, int, bytes] | None = None
        self.load(0, 0, 0, 0, 0, 0, False)

    def load(
        self, length: int, ip_id: int, seq: int, ack: int, window: int, urp: int, urg: bool
    ) -> None:
        """Remember the fields of the header just sent, compressed or not."""
        self.length = length
        self.ip_id = ip_id
        self.seq = seq
        self.ack = ack
        self.window = window
        self.urp = urp
        self.urg = urg


class VjCompressor:
    """The sending half: IPv4 datagrams in, (PPP protocol, information field) out.

    Args:
        max_slot_id: the highest slot id the peer's decompressor takes (its Max-Slot-Id).
        compress_slot_id: whether the peer accepts an omitted slot id (its Comp-Slot-Id).
        timestamps_as_ip: send segments that carry a TCP timestamp (``NOP NOP TS`` first,
            the layout Linux and the BSDs use) as plain IP without touching their slot.
            ``False`` (the default) compresses them as Linux does: Uncompressed-TCP when the
            option changed since the slot's last segment, compressed when it did not.
        stats: counters to update (shared with a decompressor), or a new :class:`VjStats`.

    Raises:
        ValueError: ``max_slot_id`` outside 0..255.
    """

    __slots__ = (
        "_by_key",
        "_compress_slot_id",
        "_current",
        "_order",
        "_slots",
        "stats",
        "timestamps_as_ip",
    )

    def __init__(
        self,
        max_slot_id: int = 15,
        *,
        compress_slot_id: bool = True,
        timestamps_as_ip: bool = False,
        stats: VjStats | None = None,
    ) -> None:
        if not 0 <= max_slot_id < MAX_SLOTS:
            raise ValueError(f"max_slot_id must be 0..255, not {max_slot_id}")
        self._slots = [_SendSlot() for _ in range(max_slot_id + 1)]
        # Most recently used first. Linux's list starts as max..0 and takes the last (least
        # recently used) on a miss, so connections get slots 0, 1, 2... in that order.
        self._order = list(range(max_slot_id, -1, -1))
        self._by_key: dict[bytes, int] = {}
        self._compress_slot_id = compress_slot_id
        self.timestamps_as_ip = timestamps_as_ip
        """Send timestamped segments as plain IP (settable: the link turns it on while the
        line loses frames, see :meth:`pyppp.datapath.DataPath.adapt_size`)."""
        self._current = -1  # the slot id the peer's decompressor last saw (Linux: 255)
        self.stats = stats if stats is not None else VjStats()

    def compress(self, packet: bytes | bytearray | memoryview) -> tuple[int, bytes]:
        """Compress one IPv4 datagram.

        Args:
            packet: the whole datagram, as read from the network interface (any buffer).

        Returns:
            The PPP protocol to send it as (0x0021 IP, 0x002d Compressed-TCP or 0x002f
            Uncompressed-TCP) and the information field (``packet`` itself for plain IP).
        """
        if type(packet) is not bytes:  # a bytearray key would not hash
            packet = bytes(packet)
        size = len(packet)
        if size < 40 or packet[9] != _TCP_PROTOCOL:
            self.stats.sent_ip += 1
            return _IP, packet
        vhl, tos, length, ip_id, frag, ttl = _IPV4.unpack_from(packet)
        ihl = (vhl & 0x0F) * 4
        # Fragments (MF or an offset) carry no TCP header to compress; a datagram whose total
        # length is not its size would be rebuilt with a different one.
        if vhl >> 4 != 4 or ihl < 20 or frag & 0x3FFF or length != size or size < ihl + 20:
            self.stats.sent_ip += 1
            return _IP, packet
        seq, ack, offset, flags, window, _, urp = _TCP_FIELDS.unpack_from(packet, ihl + 4)
        hlen = ihl + (offset >> 4) * 4
        if offset < 0x50 or hlen > size or flags & _NOT_COMPRESSIBLE or not flags & _ACK:
            # RFC 1144 §3.2.3: connection set-up and tear-down go as plain IP.
            self.stats.sent_ip += 1
            return _IP, packet
        if self.timestamps_as_ip and packet[ihl + 20 : ihl + 24] == _TIMESTAMPS:
            # A timestamp option changes with every segment on a line slow enough for VJ to
            # matter: Uncompressed-TCP every time, as large as plain IP and dearer both ways.
            self.stats.sent_ip += 1
            return _IP, packet
        # Addresses and ports: contiguous when there are no IP options.
        key = packet[12:24] if ihl == 20 else packet[12:20] + packet[ihl : ihl + 4]
        fixed = (
            vhl << 8 | tos,
            frag << 8 | ttl,
            packet[20:ihl] if ihl > 20 else b"",
            offset << 8 | (flags & _NOT_CARRIED),
            packet[ihl + 20 : hlen] if hlen > ihl + 20 else b"",
        )
        order = self._order
        number = self._by_key.get(key)
        if number is None:
            self.stats.misses += 1
            number = order.pop()
            order.insert(0, number)
            slot = self._slots[number]
            if slot.key is not None:
                del self._by_key[slot.key]
            slot.key = key
            self._by_key[key] = number
            return self._uncompressed(packet, slot, number, fixed)
        if order[0] != number:
            order.remove(number)
            order.insert(0, number)
        slot = self._slots[number]
        if fixed != slot.fixed:
            return self._uncompressed(packet, slot, number, fixed)

        deltas = bytearray()
        changes = 0
        urg = bool(flags & _URG)
        if urg:
            _encode(deltas, urp)
            changes |= NEW_U
        elif urp != slot.urp:
            # URG clear but the pointer changed: nothing in the change mask says so.
            return self._uncompressed(packet, slot, number, fixed)
        delta_ack = (ack - slot.ack) & 0xFFFFFFFF
        delta_seq = (seq - slot.seq) & 0xFFFFFFFF
        if delta_ack > 0xFFFF or delta_seq > 0xFFFF:
            # A change field carries 16 bits at most (RFC 1144 §3.2.2).
            return self._uncompressed(packet, slot, number, fixed)
        # The fields follow the change mask's order: window, ack, sequence.
        for delta, change in (
            ((window - slot.window) & 0xFFFF, NEW_W),
            (delta_ack, NEW_A),
            (delta_seq, NEW_S),
        ):
            if delta:
                _encode(deltas, delta)
                changes |= change

        last_data = slot.length - hlen
        if changes == 0:
            # Nothing changed. Data after a pure ack is the next segment of an interactive
            # exchange; anything else is a retransmission or a window probe, sent whole in
            # case the peer lost the compressed original (RFC 1144 §3.2.3).
            if length == slot.length or last_data != 0:
                return self._uncompressed(packet, slot, number, fixed)
        elif changes in (SPECIAL_I, SPECIAL_D):
            return self._uncompressed(packet, slot, number, fixed)
        elif not slot.urg:
            if changes == NEW_S | NEW_A and delta_seq == delta_ack == last_data:
                changes = SPECIAL_I
                deltas.clear()
            elif changes == NEW_S and delta_seq == last_data:
                changes = SPECIAL_D
                deltas.clear()
        delta = (ip_id - slot.ip_id) & 0xFFFF
        if delta != 1:
            _encode(deltas, delta)
            changes |= NEW_I
        if flags & _PSH:
            changes |= TCP_PUSH

        slot.load(length, ip_id, seq, ack, window, urp, urg)
        checksum = packet[ihl + 16 : ihl + 18]
        if self._compress_slot_id and self._current == number:
            head = bytes((changes,))
        else:
            head = bytes((changes | NEW_C, number))
            self._current = number
        self.stats.sent_compressed += 1
        header = head + checksum + deltas
        self.stats.header_octets_saved += hlen - len(header)
        return _COMP, b"".join((header, memoryview(packet)[hlen:]))

    def _uncompressed(
        self,
        packet: bytes,
        slot: _SendSlot,
        number: int,
        fixed: tuple[int, int, bytes, int, bytes],
    ) -> tuple[int, bytes]:
        """Load ``slot`` with this header and send the datagram as Uncompressed-TCP."""
        ihl = (packet[0] & 0x0F) * 4
        length, ip_id, _ = _IP_LEN_ID_FRAG.unpack_from(packet, 2)
        seq, ack, _, flags, window, _, urp = _TCP_FIELDS.unpack_from(packet, ihl + 4)
        slot.fixed = fixed
        slot.load(length, ip_id, seq, ack, window, urp, bool(flags & _URG))
        self._current = number
        self.stats.sent_uncompressed += 1
        # RFC 1144 §3.2.3 (PPP form, RFC 1332 §4): the slot id replaces the IP protocol.
        return _UNCOMP, b"".join((packet[:9], bytes((number,)), packet[10:]))


class _ReceiveSlot:
    """The decompressor's copy of the last header it delivered on one connection."""

    __slots__ = (
        "ack",
        "addresses",
        "flags",
        "full",
        "header",
        "hlen",
        "ihl",
        "ip_fixed_sum",
        "ip_id",
        "ip_options",
        "length",
        "middle",
        "offset",
        "parsed",
        "ports",
        "pseudo_sum",
        "seq",
        "suspect",
        "tcp_fixed_sum",
        "tcp_options",
        "top",
        "urp",
        "window",
    )

    def __init__(self, header: bytes, ihl: int, hlen: int) -> None:
        # Only kept here: Linux's TCP timestamps make many segments Uncompressed-TCP ones,
        # and most slots are reloaded before a compressed packet ever needs them parsed.
        self.header = header
        self.ihl = ihl
        self.hlen = hlen
        self.suspect = False  # a frame was lost since this slot was loaded
        self.parsed = False
        #: The length of the last datagram on this connection without PSH, 0 if none yet
        #: (:meth:`VjDecompressor.expected_size`).
        self.full = 0

    def parse(self) -> None:
        """Take the header apart for rebuilding (once, before the first compressed packet)."""
        header, ihl, hlen = self.header, self.ihl, self.hlen
        self.top = header[0:2]  # version/IHL, TOS
        self.middle = header[6:10]  # flags/fragment, TTL, protocol (6)
        self.addresses = header[12:20]
        self.ip_options = header[20:ihl]
        self.ports = header[ihl : ihl + 4]
        self.tcp_options = header[ihl + 20 : hlen]
        length, ip_id, _ = _IP_LEN_ID_FRAG.unpack_from(header, 2)
        seq, ack, offset, flags, window, _, urp = _TCP_FIELDS.unpack_from(header, ihl + 4)
        self.length: int = length
        self.ip_id: int = ip_id
        self.seq: int = seq
        self.ack: int = ack
        self.offset: int = offset
        self.flags: int = flags
        self.window: int = window
        self.urp: int = urp
        # The parts of both checksums that never change on this slot, summed once.
        self.ip_fixed_sum = _words(self.top + self.middle + self.addresses + self.ip_options)
        self.pseudo_sum = _words(self.addresses) + _TCP_PROTOCOL
        self.tcp_fixed_sum = _words(self.ports + self.tcp_options) + (self.offset << 8)
        self.parsed = True


class VjDecompressor:
    """The receiving half: Compressed- and Uncompressed-TCP information fields in, IPv4 out.

    Args:
        max_slot_id: the highest slot id we asked the peer to use (our Max-Slot-Id). Like
            Linux, at least 16 slots are kept whatever we asked, in case the peer uses more.
        stats: counters to update (shared with a compressor), or a new :class:`VjStats`.

    Raises:
        ValueError: ``max_slot_id`` outside 0..255.
    """

    __slots__ = ("_current", "_held", "_slots", "_toss", "stats")

    def __init__(self, max_slot_id: int = 15, *, stats: VjStats | None = None) -> None:
        if not 0 <= max_slot_id < MAX_SLOTS:
            raise ValueError(f"max_slot_id must be 0..255, not {max_slot_id}")
        self._slots: list[_ReceiveSlot | None] = [None] * max(max_slot_id + 1, RECEIVE_SLOTS)
        self._current = -1
        # Nothing with an implicit slot id may be taken before one with an explicit one.
        self._toss = True
        self._held = False
        self.stats = stats if stats is not None else VjStats()

    @property
    def tossing(self) -> bool:
        """Whether compressed packets without a slot id are being dropped (TOSS is set)."""
        return self._toss

    def toss(self, *, somewhere_in_read: bool = False) -> None:
        """Note that a frame was lost (a bad FCS, an aborted or oversized frame): set TOSS.

        Args:
            somewhere_in_read: the frame was lost somewhere among those about to be handled
                (the deframer counts losses per read, not where they were): until
                :meth:`next_read`, no packet of this read clears TOSS or a slot's suspicion,
                since it may come before the loss. Dropping a few good implicit packets is
                the price of never rebuilding past a loss.
        """
        self.stats.tosses += 1
        self._toss = True
        self._held = somewhere_in_read
        for slot in self._slots:
            if slot is not None:
                slot.suspect = True

    def next_read(self) -> None:
        """The frames of the last read are handled: TOSS clears as usual again."""
        self._held = False

    def _error(self) -> None:
        self.stats.errors += 1
        self.toss()

    def uncompressed(self, data: bytes) -> bytes | None:
        """Accept an Uncompressed-TCP (0x002f) information field.

        Args:
            data: the datagram with its slot id in the IP protocol octet.

        Returns:
            The datagram with the protocol octet set back to TCP, or ``None`` if it was
            malformed (counted in ``errors``; TOSS set, as ``slhc_remember`` does).
        """
        size = len(data)
        if size < 40 or data[0] >> 4 != 4:
            self._error()
            return None
        ihl = (data[0] & 0x0F) * 4
        number = data[9]
        if ihl < 20 or size < ihl + 20 or number >= len(self._slots):
            self._error()
            return None
        hlen = ihl + (data[ihl + 12] >> 4) * 4
        (length,) = _SHORT.unpack_from(data, 2)
        if hlen < ihl + 20 or hlen > size or length != size:
            self._error()
            return None
        packet = b"".join((data[:9], b"\x06", data[10:]))
        if _words(packet[:ihl]) % 0xFFFF:
            # A bad IP header checksum: this is not the datagram the peer sent.
            self._error()
            return None
        old = self._slots[number]
        slot = self._slots[number] = _ReceiveSlot(packet[:hlen], ihl, hlen)
        if not data[ihl + 13] & _PSH:
            slot.full = length
        elif old is not None and old.header[12 : old.ihl + 4] == packet[12 : ihl + 4]:
            slot.full = old.full  # the same connection (addresses, options, ports): kept
        self._current = number
        if self._held:
            slot.suspect = True  # a frame after this one may have been lost
        else:
            self._toss = False
        self.stats.received_uncompressed += 1
        return packet

    def decompress(self, data: bytes | memoryview) -> bytes | None:
        """Rebuild the datagram of a Compressed-TCP (0x002d) information field.

        Args:
            data: the change mask, optional slot id, TCP checksum, deltas and TCP data.

        Returns:
            The whole IPv4 datagram, or ``None`` when it was dropped: TOSS in force
            (``tossed``), malformed or for an unknown slot (``errors``), or rebuilt with a
            suspect slot's TCP checksum that fails (``bad_checksum``); the last two set TOSS.
        """
        size = len(data)
        if size < 3:
            self._error()
            return None
        changes = data[0]
        position = 1
        if changes & NEW_C:
            number = data[1]
            position = 2
            slot = self._slots[number] if number < len(self._slots) else None
            if slot is None:
                self._error()
                return None
            if not self._held:
                self._toss = False
            self._current = number
        elif self._toss:
            self.stats.tossed += 1
            return None
        else:
            number = self._current
            slot = self._slots[number]
            if slot is None:  # pragma: no cover - TOSS is set until a slot is loaded
                self._error()
                return None
        if size < position + 2:
            self._error()
            return None
        if not slot.parsed:
            slot.parse()
        (checksum,) = _SHORT.unpack_from(data, position)
        position += 2

        hlen = slot.hlen
        seq = slot.seq
        ack = slot.ack
        window = slot.window
        urp = slot.urp
        flags = slot.flags & ~_CARRIED & 0xFF
        try:
            special = changes & SPECIALS_MASK
            if special == SPECIAL_I:
                data_length = slot.length - hlen
                seq = (seq + data_length) & 0xFFFFFFFF
                ack = (ack + data_length) & 0xFFFFFFFF
            elif special == SPECIAL_D:
                seq = (seq + slot.length - hlen) & 0xFFFFFFFF
            else:
                if changes & NEW_U:
                    flags |= _URG
                    urp, position = _decode(data, position)
                if changes & NEW_W:
                    delta, position = _decode(data, position)
                    window = (window + delta) & 0xFFFF
                if changes & NEW_A:
                    delta, position = _decode(data, position)
                    ack = (ack + delta) & 0xFFFFFFFF
                if changes & NEW_S:
                    delta, position = _decode(data, position)
                    seq = (seq + delta) & 0xFFFFFFFF
            if changes & NEW_I:
                delta, position = _decode(data, position)
                ip_id = (slot.ip_id + delta) & 0xFFFF
            else:
                ip_id = (slot.ip_id + 1) & 0xFFFF
        except IndexError:
            self._error()
            return None
        if position > size:
            self._error()
            return None
        if changes & TCP_PUSH:
            flags |= _PSH
        payload = data[position:]
        length = hlen + size - position
        if length > 0xFFFF:
            self._error()
            return None

        slot.length = length
        if not changes & TCP_PUSH:
            slot.full = length
        slot.ip_id = ip_id
        slot.seq = seq
        slot.ack = ack
        slot.window = window
        slot.urp = urp
        slot.flags = flags

        if slot.suspect and not self._checks(
            slot, length, seq, ack, flags, window, checksum, urp, payload
        ):
            # Not the segment the peer sent: the slot missed a change with a lost frame.
            self.stats.bad_checksum += 1
            self.toss()
            return None
        ip_checksum = _fold(slot.ip_fixed_sum + length + ip_id)
        self.stats.received_compressed += 1
        return b"".join(
            (
                _IP_HEADER.pack(slot.top, length, ip_id, slot.middle, ip_checksum, slot.addresses),
                slot.ip_options,
                _TCP_HEADER.pack(slot.ports, seq, ack, slot.offset, flags, window, checksum, urp),
                slot.tcp_options,
                payload,
            )
        )

    def expected_size(self, head: bytes) -> int | None:
        """How long a Compressed-TCP information field beginning with ``head`` will be.

        A guess for a slow line's reader (:meth:`pyppp.datapath.DataPath.awaiting`), never
        used to decode: a segment without PSH is taken to carry as much data as the last one
        on its connection that had no PSH either (a bulk sender's full-size segments; the end
        of each write, usually shorter, has PSH set), behind a compressed header whose deltas
        are read from ``head`` as far as it goes. ``None`` for a segment with PSH, an unknown
        connection or while TOSS is set.
        """
        if not head:
            return None
        changes = head[0]
        if changes & TCP_PUSH:
            return None
        position = 1
        if changes & NEW_C:
            if len(head) < 2:
                return None
            number = head[1]
            position = 2
        elif self._toss:
            return None
        else:
            number = self._current
        slot = self._slots[number] if 0 <= number < len(self._slots) else None
        if slot is None or not slot.full:
            return None
        position += 2  # the TCP checksum
        special = changes & SPECIALS_MASK
        deltas = 0 if special in (SPECIAL_I, SPECIAL_D) else special.bit_count()
        deltas += 1 if changes & NEW_I else 0
        for _ in range(deltas):
            # RFC 1144 §3.2.2: a delta is one octet, or zero and then two octets.
            position += 3 if position < len(head) and head[position] == 0 else 1
        return position + slot.full - slot.hlen

    @staticmethod
    def _checks(
        slot: _ReceiveSlot,
        length: int,
        seq: int,
        ack: int,
        flags: int,
        window: int,
        checksum: int,
        urp: int,
        payload: bytes | memoryview,
    ) -> bool:
        """Whether the rebuilt segment's TCP checksum verifies (RFC 9293 §3.1, RFC 1071)."""
        total: int = (
            slot.pseudo_sum
            + length
            - slot.ihl
            + slot.tcp_fixed_sum
            + (seq >> 16)
            + (seq & 0xFFFF)
            + (ack >> 16)
            + (ack & 0xFFFF)
            + flags
            + window
            + checksum
            + urp
            + _words(payload)
        )
        return total % 0xFFFF == 0


def _decode(data: bytes | memoryview, position: int) -> tuple[int, int]:
    """Read one delta at ``position``; return it and the position after it.

    Raises:
        IndexError: the packet ends inside the delta.
    """
    value = data[position]
    if value:
        return value, position + 1
    return data[position + 1] << 8 | data[position + 2], position + 3
