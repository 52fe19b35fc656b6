"""Captures of a link, as bytes for files: a pcap for Wireshark, and PAP passwords masked.

Theory of operation
-------------------
``pcap FILE`` (a pyppp extension) keeps every frame the link carries in a classic pcap file
with link type 204, ``LINKTYPE_PPP_WITH_DIR``: each packet is one direction octet (0
received, 1 sent) followed by the frame, written here as ``FF 03``, the 2-octet protocol and
the Information field, whatever ACFC and PFC did on the wire. Wireshark and tshark map 204 to
"PPP with direction": they show each frame's direction (``frame.p2p_dir``) and decode LCP,
PAP, CHAP, IPCP, IPv6CP, CCP and the IP inside (link types 9 and 50 carry no direction; 166,
pppd's own, is not decoded by Wireshark).

The frames are what PPP carries, not what crossed the line: the link itself tells the
capture (:data:`FrameTap`, set as :attr:`pyppp.link.Link.tap`) of every control packet as
it is sent or received (LCP, PAP, CHAP, IPCP, IPv6CP, CCP with its Reset-Request/Ack), of
every IP and IPv6 datagram it sends *before* VJ, Deflate or MPPE touch it, and of every one it
receives *after* they are undone. That is what ``tcpdump -i ppp0`` shows on a pppd link (the
kernel taps the interface, above compression), plus the control protocols: a link with
Deflate (on by default with pppd's words) or MPPE shows its IP, not opaque 0x00FD frames.
VJ: a datagram sent or received as Compressed-TCP (0x002d) or Uncompressed-TCP (0x002f) is
recorded as the whole IPv4 datagram it is (0x0021): Wireshark decodes VJ frames only with the
state of the connection, and rebuilt IP is what tcpdump shows. What the link drops (bad FCS,
too long, a datagram it cannot decompress or decrypt) is not recorded; the raw line, damage
included, is ``record FILE``'s (:mod:`pyppp.pppd.record`).

:class:`PcapRecorder` is the tap: it keeps each frame as the link reports it, with the link's
clock, and :meth:`PcapRecorder.take` turns them into records with wall-clock time stamps;
the shell writes them to the file after each batch of line input or output. With no tap set,
the link does nothing for a capture but test for ``None`` once per frame.

Passwords: a PAP Authenticate-Request carries the password in clear (RFC 1334 §2.2.1). Every
capture file gets it replaced with ``<hidden>`` (pppd's ``hide-password`` wording in its log):
:func:`mask_pap_request` for the pcap's frames, :class:`LineMasker` for the raw line bytes of
a ``record`` file (there the frame is rebuilt, FCS and escapes included, so pppdump still
decodes it). CHAP and MS-CHAP carry hashes only and are kept as they are.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final, TypeAlias

from pyppp import hdlc
from pyppp.packet import PPPProtocol

__all__ = [
    "LINKTYPE_PPP_WITH_DIR",
    "MASK",
    "FrameTap",
    "LineMasker",
    "PcapRecorder",
    "mask_pap_request",
    "pcap_header",
    "pcap_header_problem",
    "pcap_record",
]

LINKTYPE_PPP_WITH_DIR: Final = 204
"""tcpdump.org's LINKTYPE_PPP_WITH_DIR: a direction octet (0 received), then the PPP frame."""

MASK: Final = b"<hidden>"
"""What a PAP password becomes in a capture (pppd prints ``password=<hidden>``)."""

_MAGIC: Final = 0xA1B2C3D4  # microsecond time stamps
_SNAPLEN: Final = 65535
_GLOBAL: Final = struct.Struct("<IHHiIII")
_RECORD: Final = struct.Struct("<IIII")
_PAP_REQUEST: Final = 1  # RFC 1334 §2.2.1 Authenticate-Request
_PAP_HEADER: Final = b"\xc0\x23"
_CAPTURE_MRU: Final = 65535  # the largest frame LineMasker rebuilds (any MRU LCP may agree)
_HELD_LIMIT: Final = 4 * _CAPTURE_MRU

FrameTap: TypeAlias = Callable[[bool, int, bytes, float], None]
"""What a link tells a capture of each frame it carries: ``(sent, protocol, information,
now)``, ``now`` on the link's clock (see the module docstring)."""


def pcap_header() -> bytes:
    """The pcap global header: version 2.4, microseconds, link type 204."""
    return _GLOBAL.pack(_MAGIC, 2, 4, 0, 0, _SNAPLEN, LINKTYPE_PPP_WITH_DIR)


def pcap_header_problem(existing: bytes) -> str | None:
    """Why records cannot be appended to a file that starts with ``existing`` (``None``: they can).

    A capture is appended to, as pppd appends to its ``record`` file; that is only right when
    the file is a pcap written the way we write (same byte order, microseconds, link type 204).
    An empty file gets a header first.
    """
    if not existing:
        return None
    if len(existing) < _GLOBAL.size:
        return "it is not a pcap file"
    magic, _major, _minor, _zone, _sigfigs, _snaplen, linktype = _GLOBAL.unpack_from(existing)
    if magic != _MAGIC:
        return "it is not a little-endian, microsecond pcap file"
    if linktype != LINKTYPE_PPP_WITH_DIR:
        return f"its link type is {linktype}, not {LINKTYPE_PPP_WITH_DIR} (PPP_WITH_DIR)"
    return None


def pcap_record(sent: bool, frame: bytes, timestamp: float) -> bytes:
    """One pcap packet record: the direction octet and ``frame`` (``FF 03``, protocol, data).

    Args:
        sent: we sent it (else: received).
        frame: the PPP frame without Flags, escapes or FCS.
        timestamp: wall-clock seconds since the epoch.
    """
    data = (b"\x01" if sent else b"\x00") + frame
    micros = round(timestamp * 1_000_000)
    seconds, micros = divmod(max(micros, 0), 1_000_000)
    kept = data[:_SNAPLEN]  # a frame longer than the snapshot length is cut, as libpcap does
    return _RECORD.pack(seconds & 0xFFFFFFFF, micros, len(kept), len(data)) + kept


def mask_pap_request(information: bytes) -> bytes:
    """A PAP packet with the password of an Authenticate-Request replaced by :data:`MASK`.

    RFC 1334 §2.2.1: Code, Identifier, Length, Peer-ID Length, Peer-ID, Passwd-Length,
    Password. Other PAP codes are returned as they are; a request whose lengths do not add up
    keeps only its Peer-ID (or nothing), so no part of a password can slip through.
    """
    if len(information) < 4 or information[0] != _PAP_REQUEST:
        return information
    head = information[:2]
    body = information[4:]
    kept = b""
    if body:
        peer_id = body[1 : 1 + body[0]]
        if len(peer_id) == body[0]:
            kept = bytes([len(peer_id)]) + peer_id
    masked = kept + bytes([len(MASK)]) + MASK if kept else b""
    return head + (4 + len(masked)).to_bytes(2, "big") + masked


class PcapRecorder:
    """The frames a link carries in, pcap records out: the link's :data:`FrameTap`.

    Set :meth:`frame` as the link's tap (``link.tap = recorder.frame``); after each batch of
    input or output, :meth:`take` gives the records of the frames told since the last one.
    PAP passwords are masked (:func:`mask_pap_request`) as the records are made.

    Attributes:
        frames: the frames recorded so far (taken or not).
    """

    def __init__(self) -> None:
        self._pending: list[tuple[bool, int, bytes, float]] = []
        self.frames = 0

    @staticmethod
    def header() -> bytes:
        """The file's pcap header (for a new or empty file)."""
        return pcap_header()

    @property
    def pending(self) -> int:
        """Frames told and not yet taken."""
        return len(self._pending)

    def frame(self, sent: bool, protocol: int, information: bytes, now: float) -> None:
        """The link sent (``sent``) or received one frame: keep it for :meth:`take`.

        Args:
            sent: the link sent it (else: received it).
            protocol: its PPP protocol number.
            information: its Information field (a datagram before compression when sent,
                after decompression when received).
            now: the link's clock.
        """
        self._pending.append((sent, protocol, information, now))
        self.frames += 1

    def take(self, wall_offset: float = 0.0) -> bytes:
        """The records of every frame told since the last call (and forget them).

        Args:
            wall_offset: added to the link's clock to give wall-clock seconds since the epoch
                (the shell's ``time.time() - loop.time()``).
        """
        pending, self._pending = self._pending, []
        records = []
        for sent, protocol, information, now in pending:
            if protocol == PPPProtocol.PAP:
                information = mask_pap_request(information)
            frame = b"\xff\x03" + protocol.to_bytes(2, "big") + information
            records.append(pcap_record(sent, frame, now + wall_offset))
        return b"".join(records)


class LineMasker:
    """One direction of line bytes in, the same bytes out with PAP passwords masked.

    For pppd's ``record`` file, which keeps the raw line. Bytes pass through at once, except
    the first octets of each frame: they are held until they show whether the frame is a PAP
    Authenticate-Request, which is then held whole and rebuilt with its password masked (and
    a new FCS, or a wrong one if its own was wrong; an aborted one stays aborted). Memory is
    bounded: a frame that would have to be held beyond :data:`_HELD_LIMIT` octets is dropped.
    """

    _PASS: Final = 0  # in a frame that is not PAP
    _HEAD: Final = 1  # after a Flag (or at the start: a frame needs no opening Flag): unknown
    _HOLD: Final = 2  # in a PAP Authenticate-Request: held until its closing Flag
    _DROP: Final = 3  # in an over-long PAP frame: dropped until the next Flag

    def __init__(self) -> None:
        self._state = self._HEAD
        self._held = bytearray()

    @property
    def held(self) -> int:
        """Octets held back, waiting for the rest of their frame."""
        return len(self._held)

    def feed(self, data: bytes) -> bytes:
        """Take bytes of one direction; return the bytes safe to record now."""
        out = bytearray()
        position = 0
        size = len(data)
        while position < size:
            flag = data.find(0x7E, position)
            end = size if flag < 0 else flag
            if self._state == self._PASS:
                out += data[position:end]
            elif self._state == self._DROP:
                pass
            else:
                self._held += data[position:end]
                if self._state == self._HEAD:
                    decided = _pap_request_start(self._held)
                    if decided is False:
                        out += self._held
                        self._held.clear()
                        self._state = self._PASS
                    elif decided is True:
                        self._state = self._HOLD
                if len(self._held) > _HELD_LIMIT:
                    self._held.clear()
                    self._state = self._DROP
            if flag < 0:
                break
            if self._state == self._HOLD:
                out += _masked_frame(bytes(self._held))
            elif self._state == self._HEAD:
                out += self._held  # ended before its code: no room for a password
            self._held.clear()
            out.append(0x7E)
            self._state = self._HEAD
            position = flag + 1
        return bytes(out)

    def flush(self) -> bytes:
        """Give up waiting (the line closed): what is held, masked if it may be PAP."""
        held = bytes(self._held)
        self._held.clear()
        state, self._state = self._state, self._HEAD
        if state == self._HOLD:
            return _masked_frame(held)
        return b"" if state == self._DROP else held


def _unescape(raw: bytes) -> bytes:
    """RFC 1662 §4.2 transparency removed (a trailing Control-Escape is dropped)."""
    if 0x7D not in raw:
        return raw
    out = bytearray()
    escaped = False
    for octet in raw:
        if escaped:
            out.append(octet ^ 0x20)
            escaped = False
        elif octet == 0x7D:
            escaped = True
        else:
            out.append(octet)
    return bytes(out)


def _pap_request_start(raw: bytearray | bytes) -> bool | None:
    """Whether a frame's first raw octets are a PAP Authenticate-Request (``None``: too few)."""
    plain = _unescape(bytes(raw[:16]))
    start = 0
    if plain[:1] == b"\xff":
        if len(plain) < 2:
            return None
        if plain[1] != 0x03:
            return False
        start = 2
    if len(plain) <= start:
        return None
    if plain[start] & 1:
        return False  # a compressed (1-octet) protocol field: not 0xC023
    if len(plain) < start + 3:
        return None
    return plain[start : start + 2] == _PAP_HEADER and plain[start + 2] == _PAP_REQUEST


def _masked_frame(raw: bytes) -> bytes:
    """A held PAP Authenticate-Request, rebuilt with :data:`MASK` (without its Flags)."""
    aborted = raw.endswith(b"\x7d")  # RFC 1662 §4.3 abort sequence (7D 7E): keep it aborted
    frame = _unescape(raw)
    good = 4 <= len(frame) <= _CAPTURE_MRU + 6 and hdlc.fcs16_ok(frame)
    body = frame[:-2] if len(frame) >= 4 else frame
    acfc = not body.startswith(b"\xff\x03")
    start = 0 if acfc else 2
    information = mask_pap_request(body[start + 2 :])
    rebuilt = hdlc.encode_frame(PPPProtocol.PAP, information, acfc=acfc)[1:-1]
    if aborted:
        return rebuilt + b"\x7d"
    if good:
        return rebuilt
    # Keep a bad frame bad: flip the FCS's last octet (escaped or not, it stays wrong).
    unescaped = bytearray(_unescape(rebuilt))
    unescaped[-1] ^= 0xFF
    return _escape_all(bytes(unescaped))


def _escape_all(frame: bytes) -> bytes:
    out = bytearray()
    for octet in frame:
        if octet < 0x20 or octet in (0x7D, 0x7E):
            out += bytes((0x7D, octet ^ 0x20))
        else:
            out.append(octet)
    return bytes(out)
