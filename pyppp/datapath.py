"""The link's data path: the framer both ways, the two output queues and IP-version routing.

A :class:`~pyppp.link.Link` decides *whether* something may be sent (phases, which NCP is
open); :class:`DataPath` decides *how*: which data protocol carries an IP datagram (0x0021
for IPv4 while IPCP is open, 0x0057 for IPv6 while IPv6CP is), the framing LCP negotiated
(ACCM, ACFC, PFC), and in which order frames leave. Control frames jump the queue of IP
frames, so a burst of bulk data can never delay an Echo-Reply or a Terminate-Ack by more
than what the shell has already written; the control queue is bounded
(:data:`CONTROL_QUEUE_LIMIT`), the data queue is bounded by the shell, which stops reading
its TUN while :attr:`DataPath.pending_bytes` is high.

The per-packet cost of the data path is the link's hot path: a burst from one TUN read is
framed in one :meth:`~pyppp.hdlc.FrameEncoder.encode_many` call.

Van Jacobson TCP/IP header compression (RFC 1144, negotiated by IPCP, RFC 1332 §4) is the
first step on the way out: while IPCP agreed it (:meth:`DataPath.attach_vj`) each IPv4
datagram leaves as plain IP (0x0021), Uncompressed-TCP (0x002f) or Compressed-TCP (0x002d),
in order (a burst is framed in runs of one protocol), before any CCP compression. On the way
in, 0x002d/0x002f get their own data handlers, which run after CCP's decompression; every
frame the deframer had to drop sets the VJ decompressor's TOSS before the frames of that read
are handled (:meth:`DataPath.deframe`), as Linux's ``ppp_receive_error`` calls ``slhc_toss``.

CCP compression comes after VJ on the way out: CCP's
compressor (:attr:`DataPath.compress`, set while CCP runs a transmit method) turns each frame
into a compressed datagram (0x00FD) or leaves it as it is. Frames then go out one by one in
order, since the compressor numbers every frame it sees. A CCP Reset-Ack is the one control
frame that queues behind the data: our compressor starts afresh as it goes out, and the peer
resets its decompressor when it arrives, so every datagram compressed before the reset must
reach the peer first (in Linux they share one transmit queue, compressed as they leave). An
Ack that overtook them made the peer fail on each ("bad sequence number") and ask again: on a
noisy line with a full queue every reset caused the next one and the transfer stalled.

Our CCP Configure-Ack also queues behind the datagrams already queued, and IP datagrams are
held from then until CCP opens (:meth:`DataPath.attach_ccp`: then they go through the
compressor) or gives up (:meth:`DataPath.ccp_finished`: then they go as they are). Linux
starts its decompressor the moment our Configure-Ack arrives, not when its CCP opens, and from
then on every uncompressed datagram it receives joins its history and takes a sequence number
(``z_incomp``): a datagram we sent plain between our Ack and our CCP opening (an IPv6 router
solicitation, a ping) put it one number ahead of our compressor, so the first compressed
datagram failed ("bad sequence number 0, expected 1"), was lost, and cost a Reset-Request.

Those CCP frames are outside :data:`CONTROL_QUEUE_LIMIT`, and a peer can make us send one
per Reset-Request or Configure-Request it sends, so a CCP frame of the same code queued with
no datagram after it gives way to the newer one (:meth:`DataPath.emit`). A Reset-Ack answers
the latest Reset-Request: the peer cannot have seen an Ack still queued here, so every request
after it asks for the reset that Ack announces, and with nothing compressed between the two
resets of our compressor one Ack (with the latest Identifier: pppd repeats a request with the
same one) is all the peer needs. pppd answers each request, but Linux keeps at most 32 unread
control frames for it (``PPP_MAX_RQLEN``) and drops the oldest. The peer takes only the
Configure-Ack of its latest Configure-Request (RFC 1661 §5.2: an Identifier that does not
match is silently discarded); one for an older request arriving after it would start the
peer's negotiation again. With datagrams between them every Ack keeps its place (the
datagrams after it were compressed from the history it starts), so the data queue holds at
most two CCP frames per datagram queued, and the shell bounds the datagrams.

A capture (``pcap FILE``, :mod:`pyppp.capture`) is an optional tap, :attr:`DataPath.tap`: told
of every control packet as it is queued or received, of every datagram as it is queued before
VJ and CCP, and of every one received after them (a VJ frame as the IPv4 datagram it rebuilds).
Without one, the cost is one ``is None`` test per frame (per burst on the plain send path).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, MutableMapping, Sequence
from typing import TYPE_CHECKING, Final

from pyppp import hdlc
from pyppp.ccp.protocol import RESET_ACK, CcpControlProtocol
from pyppp.control import PPP_MRU
from pyppp.events import MtuChanged
from pyppp.framesize import FrameSizer
from pyppp.ipcp.negotiator import IpcpResult
from pyppp.ipcp.vj import VjCompressor, VjDecompressor, VjStats
from pyppp.lcp.negotiator import LcpConfig, LcpResult
from pyppp.linkconfig import LinkStats
from pyppp.packet import Code, ControlPacket, PPPProtocol

if TYPE_CHECKING:
    from pyppp.capture import FrameTap

__all__ = ["CONTROL_QUEUE_LIMIT", "DATA_PROTOCOLS", "DataPath", "idle_receive_accm"]

# RFC 1661 §6.1: "an implementation MUST be able to receive the full 1500 octet Information
# field in case link synchronization is lost", whatever MRU was negotiated.
_MIN_RECEIVE: Final = PPP_MRU

_RESET_ACK_CODE: Final = bytes((RESET_ACK,))
_CONF_ACK_CODE: Final = bytes((Code.CONF_ACK,))
# IP octets held between our CCP Configure-Ack and CCP opening (more is dropped, counted):
# that is one round trip of CCP, normally; a peer that never answers is given up on by
# CCP's own restart counter.
_HOLD_LIMIT: Final = 65536
# DataPath.awaiting: the protocols whose frames begin with an IPv4 header and its Total Length.
_CARRIES_IPV4_LENGTH: Final = frozenset({PPPProtocol.IP, PPPProtocol.VJ_UNCOMP})

CONTROL_QUEUE_LIMIT: Final = 65536
"""Framed control octets the link holds for an owner that does not drain its output.

A peer can make us answer (Echo-Requests, Configure-Requests) as fast as it sends; past this
bound new control frames are dropped and counted, as pppd drops what the line cannot take.
"""

DATA_PROTOCOLS: Final = frozenset(
    {
        PPPProtocol.IP,
        PPPProtocol.IPV6,
        PPPProtocol.VJ_COMP,
        PPPProtocol.VJ_UNCOMP,
        PPPProtocol.COMP,
    }
)
"""Network-layer datagram protocols: queued behind control frames, and never traced."""


def idle_receive_accm(lcp: LcpConfig, *, receive_all: bool) -> int:
    """The receive ACCM before LCP opens: the one we ask the peer to use.

    RFC 1662 §7.1 defaults it to all ones, but the peer may switch to our ACCM the moment it
    receives our Configure-Ack, and its next frame (typically PAP's Authenticate-Request) often
    arrives in the same read as the Ack that opens LCP here: filtering that read with all ones
    would delete its unescaped control octets and cost a restart period. Dropping only what we
    asked to have escaped is safe before and after opening. ``receive-all`` keeps everything.
    """
    if receive_all:
        return 0
    return 0xFFFFFFFF if lcp.default_asyncmap else lcp.asyncmap


def _by_protocol(packets: list[bytes], routes: dict[int, int]) -> list[tuple[int, list[bytes]]]:
    """Split a burst of datagrams by the data protocol of their IP version (all in ``routes``)."""
    if len(routes) == 1:
        return [(next(iter(routes.values())), packets)]
    batches: dict[int, list[bytes]] = {}
    for packet in packets:
        batches.setdefault(routes[packet[0] >> 4], []).append(packet)
    return list(batches.items())


class DataPath:
    """Frames what the link sends and queues it for the line (see the module docstring).

    Args:
        stats: the link's counters; frames and octets sent and drops are counted there.
        escape: extra octets to escape on transmit (pppd's ``escape``).
        idle_accm: the receive ACCM while LCP is not Opened (:func:`idle_receive_accm`).
        receive_all: pppd ``receive-all``: keep the control characters our ACCM asked the
            peer to escape (RFC 1662 §7.1) instead of deleting them.
        adaptive_mtu: choose a smaller send size while the line damages frames
            (:mod:`pyppp.framesize`; :meth:`adapt_size`, :attr:`send_mtu`).
        logger: where the send size changes are logged.
    """

    def __init__(
        self,
        stats: LinkStats,
        *,
        escape: frozenset[int] = frozenset(),
        idle_accm: int = 0xFFFFFFFF,
        receive_all: bool = False,
        adaptive_mtu: bool = False,
        logger: logging.Logger | None = None,
    ) -> None:
        self.stats = stats
        self._escape = escape
        self._idle_accm = idle_accm
        self._receive_all = receive_all
        self.deframer = hdlc.Deframer(accm=idle_accm, mru=_MIN_RECEIVE)
        """The receive side: frames out of whatever the line delivered, counted discards."""
        self._encoder = hdlc.FrameEncoder(accm=0xFFFFFFFF, escape=escape)
        self._out_control: list[bytes] = []
        self._out_control_bytes = 0
        self._out_data: deque[bytes] = deque()
        self._out_data_bytes = 0
        # The codes of the CCP frames at the end of the data queue with no datagram after
        # them, oldest first: at most one of each (see emit).
        self._ccp_tail: list[int] = []
        # IP version -> the data protocol that carries it now (4: 0x0021 while IPCP is open).
        self._routes: dict[int, int] = {}
        self.mtu = PPP_MRU
        """The largest IP datagram we may send (the peer's MRU, capped by pppd's ``mtu``)."""
        self._sizer = FrameSizer(PPP_MRU, logger, enabled=adaptive_mtu)
        self._magic = bytes(4)  # our LCP Magic-Number, for the sizer's Echo-Request probes
        self._overhead = 0  # octets CCP adds to every datagram (MPPE's header, see reserve)
        self._probe_id = 0
        self._data_frames = 0  # datagrams framed so far: the sizer probes only while we send
        self.ip_received = 0
        """Datagrams received on a data protocol (the owner counts them; the sizer's probes
        go out only while IP flows one way or the other)."""
        self._vj: VjCompressor | None = None
        self._unvj: VjDecompressor | None = None
        self._lost = 0  # frames the deframer dropped, as last seen
        self.vj_stats: VjStats | None = None
        """What VJ compression did while IPCP had it on (kept after IPCP goes down)."""
        self.compress: Callable[[int, bytes], bytes | None] | None = None
        """CCP's compressor while it runs one: the Information of the 0x00FD datagram for a
        frame, or ``None`` to send the frame as it is."""
        self.expand: Callable[[int, bytes, float], tuple[int, bytes] | None] | None = None
        """CCP's receive stage while it runs a decompressor: every received frame goes
        through it first (a 0x00FD datagram comes out decompressed, ``None`` if dropped)."""
        self._ccp_expand: Callable[[int, bytes, float], tuple[int, bytes] | None] = (
            lambda protocol, information, now: (protocol, information)
        )
        self._held: list[bytes] | None = None  # datagrams held while CCP settles (see emit)
        self._ccp_attached = False
        self._held_bytes = 0
        self.must_compress = False
        """MPPE is required: no IP datagram leaves unless the compressor (encryptor) takes it
        (Linux's ``SC_MUST_COMP``: "compression required but down - pkt dropped")."""
        self.tap: FrameTap | None = None
        """A capture told of every frame the link carries (module docstring), or ``None``."""

    @property
    def send_mtu(self) -> int:
        """The send size now: :attr:`mtu`, or less while the line is noisy (adaptive_mtu)."""
        return self._sizer.current

    def adapt_size(self, now: float) -> list[MtuChanged]:
        """After each read: a new send size for the line's error rate, if it is time for one.

        Only while IP flows; :attr:`mtu` stays the limit of what may be sent, so datagrams
        already sized for the old MTU still go out. While IP flows, an LCP Echo-Request of
        the send size goes out now and then (:meth:`FrameSizer.probe`): the peer's Echo-Reply
        carries the same data back (RFC 1661 §5.8), so frames of that size reach us even
        when the peer only acknowledges, and the ones the line damaged are counted. While
        the line is lossy (:attr:`FrameSizer.lossy`), VJ sends TCP segments that carry
        timestamps as plain IP.
        """
        if not self._routes:
            return []
        self._probe(now)
        if not self._sizer.due(self.deframer):
            return []
        changes = self._sizer.poll(self.deframer)
        if self._vj is not None:
            # A lossy line: VJ's gain on timestamped segments is small and each loss makes the
            # peer toss what follows (pyppp.ipcp.vj): send them as plain IP meanwhile.
            self._vj.timestamps_as_ip = self._sizer.lossy
        return changes

    def _probe(self, now: float) -> None:
        """Send the LCP Echo-Request probe of the send size that :class:`FrameSizer` wants now."""
        size = self._sizer.probe(self._data_frames + self.ip_received, self.stats.bytes_sent, now)
        if size is not None:
            self._probe_id = (self._probe_id - 1) & 0xFF  # down from 255, keepalives count up
            # As large as a datagram of the send size is on the line (MPPE's 4 octets added).
            padding = bytes(max(size + self._overhead - 8, 0))
            echo = ControlPacket(Code.ECHO_REQ, self._probe_id, self._magic + padding)
            self.emit(PPPProtocol.LCP, echo.encode(), now)

    def reserve(self, octets: int) -> None:
        """Every datagram grows by ``octets`` from now on: :attr:`mtu` and :attr:`send_mtu` shrink.

        pppd's ``ccp_reqci`` lowers the MTU by MPPE's header and protocol (RFC 3078 §3), so
        that an encrypted datagram still fits the peer's MRU; the adaptive send size (whatever
        it chose for a noisy line) never exceeds the lowered MTU either. Until LCP goes down
        (:meth:`configure`).
        """
        self.mtu -= octets
        self._overhead += octets
        sizer = self._sizer
        sizer.ceiling = self.mtu
        sizer.current = min(sizer.current, self.mtu)

    def attach_ccp(self, ccp: CcpControlProtocol, now: float) -> None:
        """CCP opened: its engines join the path both ways; held datagrams go compressed."""
        self.compress = ccp.compress if ccp.compressor is not None else None
        self._ccp_expand = ccp.expand
        self.expand = self._expand if ccp.decompressor is not None else None
        self._ccp_attached = True
        self._release_held(now)

    def ccp_finished(self, now: float) -> None:
        """CCP gave up (or was closed) without opening: held datagrams go as they are."""
        self._ccp_attached = False
        self._release_held(now)

    def _release_held(self, now: float) -> None:
        held, self._held = self._held, None
        self._held_bytes = 0
        if held:
            self.send_ips(held, now)

    def _hold_for_ccp(self) -> bool:
        """Our CCP Configure-Ack goes out: hold datagrams; True if it must queue behind some.

        Only behind datagrams already queued (a renegotiation under load): otherwise it keeps
        its place among the control frames, ahead of the IPCP and IPv6CP answers framed after
        it. Linux drops every datagram it compresses between its own Configure-Ack and its
        CCP opening (``pad_compress_skb``), and the sequence number it took is then missing
        here (a Reset-Request): the sooner our Ack reaches it, the shorter that window (its
        IPv6 router solicitation goes out as its IPv6CP opens).
        """
        if self._ccp_attached:
            # The Ack that opened CCP (Ack-Received, then the peer's request): the
            # compressor already runs, nothing to wait for.
            return False
        if self._held is None:
            self._held = []
        return bool(self._out_data)

    def _hold(self, packets: Sequence[bytes]) -> int:
        """Keep datagrams until CCP settles (module docstring); returns how many were kept."""
        assert self._held is not None
        kept = 0
        for packet in packets:
            if self._held_bytes + len(packet) > _HOLD_LIMIT:
                self.stats.discarded["ip while CCP settles"] += 1
                continue
            self._held.append(packet)
            self._held_bytes += len(packet)
            kept += 1
        return kept

    def _expand(self, protocol: int, information: bytes, now: float) -> tuple[int, bytes] | None:
        unpacked = self._ccp_expand(protocol, information, now)
        if unpacked is None and self._unvj is not None:
            # Linux's ppp_receive_error: a datagram CCP could not decompress is a lost frame,
            # so VJ's TOSS is set (RFC 1144 §4.2) as for a bad FCS.
            self._unvj.toss()
        return unpacked

    def detach_ccp(self, reason: str) -> None:
        """CCP went down: nothing is compressed or decompressed any more."""
        self.compress = self.expand = None
        self._ccp_attached = False

    @property
    def has_output(self) -> bool:
        """True while :meth:`take` has frames to give (control or IP)."""
        return bool(self._out_control or self._out_data)

    @property
    def pending_bytes(self) -> int:
        """Framed IP octets queued and not yet taken by :meth:`take`."""
        return self._out_data_bytes

    @property
    def carrying(self) -> bool:
        """True while at least one IP version has a data protocol open."""
        return bool(self._routes)

    def configure(self, result: LcpResult | None) -> None:
        """Frame as LCP negotiated (``result``), or with RFC 1662's defaults (``None``).

        Args:
            result: what LCP settled while it is Opened, ``None`` once it is not.
        """
        self._overhead = 0
        self._held, self._held_bytes = None, 0  # LCP starts again: so does CCP
        self._ccp_attached = False
        if result is None:
            self._encoder = hdlc.FrameEncoder(accm=0xFFFFFFFF, escape=self._escape)
            self.deframer.accm = self._idle_accm
            self.deframer.mru = _MIN_RECEIVE
            return
        self._encoder = hdlc.FrameEncoder(
            accm=result.peer_accm,
            escape=self._escape,
            acfc=result.tx_acfc,
            pfc=result.tx_pfc,
        )
        self.deframer.accm = 0 if self._receive_all else result.our_accm
        self.deframer.mru = max(result.our_mru, _MIN_RECEIVE)
        self.mtu = result.mtu
        self._sizer.reset(result.mtu)
        self._magic = result.our_magic.to_bytes(4, "big")

    def attach_vj(
        self,
        agreed: IpcpResult,
        handlers: MutableMapping[int, Callable[[bytes, float], None]],
        deliver: Callable[[bytes, float], None],
    ) -> None:
        """IPCP opened: VJ as it agreed (RFC 1332 §4), compressing and decompressing.

        Args:
            agreed: IPCP's result: ``vj_send`` is the peer's Max-Slot-Id and Comp-Slot-Id
                (``None``: send plain IP), ``vj_receive`` ours as the peer Acked them
                (``None``: the peer sends no VJ).
            handlers: the link's data handlers, which get 0x002d and 0x002f.
            deliver: where rebuilt IPv4 datagrams go (the link's IP receive handler).
        """
        self.detach_vj(handlers)
        send, receive = agreed.vj_send, agreed.vj_receive
        if send is None and receive is None:
            return
        stats = self.vj_stats = VjStats()
        if send is not None:
            self._vj = VjCompressor(
                send.max_slot_id,
                compress_slot_id=send.compress_slot_id,
                timestamps_as_ip=self._sizer.lossy,
                stats=stats,
            )
        if receive is None:
            return
        decompressor = self._unvj = VjDecompressor(receive.max_slot_id, stats=stats)
        self._lost = sum(self.deframer.discarded.values())
        discarded = self.stats.discarded
        path = self

        def rebuilt(packet: bytes, now: float) -> None:
            # A capture sees the rebuilt datagram (the link does not tap VJ frames).
            if path.tap is not None:
                path.tap(False, PPPProtocol.IP, packet, now)
            deliver(packet, now)

        def compressed(information: bytes, now: float) -> None:
            packet = decompressor.decompress(information)
            if packet is None:
                discarded["VJ compressed TCP dropped"] += 1  # Linux: VJ decompression error
            else:
                rebuilt(packet, now)

        def uncompressed(information: bytes, now: float) -> None:
            packet = decompressor.uncompressed(information)
            if packet is None:
                discarded["VJ uncompressed TCP dropped"] += 1
            else:
                rebuilt(packet, now)

        handlers[PPPProtocol.VJ_COMP] = compressed
        handlers[PPPProtocol.VJ_UNCOMP] = uncompressed

    def detach_vj(self, handlers: MutableMapping[int, Callable[[bytes, float], None]]) -> None:
        """IPCP went down: no VJ either way (the next IPCP starts with empty slots)."""
        self._vj = self._unvj = None
        handlers.pop(PPPProtocol.VJ_COMP, None)
        handlers.pop(PPPProtocol.VJ_UNCOMP, None)

    def deframe(self, data: bytes | bytearray | memoryview) -> list[hdlc.Frame]:
        """The frames in ``data`` (see :meth:`hdlc.Deframer.feed`), TOSS set if one was lost.

        RFC 1144 §4.2: after a line error the VJ decompressor must drop compressed packets
        with an implicit slot id until one names its slot. The deframer does not say where in
        ``data`` the bad frame was, so TOSS is set before any frame of this read is handled
        and none of them may clear it (one before the damage could): at worst a few good
        packets of this read are dropped too, and TCP sends them again.
        """
        unvj = self._unvj
        if unvj is None:
            return self.deframer.feed(data)
        unvj.next_read()
        frames = self.deframer.feed(data)
        lost = sum(self.deframer.discarded.values())
        if lost != self._lost:
            self._lost = lost
            unvj.toss(somewhere_in_read=True)
        return frames

    def awaiting(self) -> int | None:
        """Line octets still to come to end the frame under way, if its header tells; else None.

        For a slow line's reader (:class:`pyppp.aio.line.FdLine`), which may then read the
        rest of a long frame at once instead of a FIFO's worth at a time. IPv4's Total Length
        (0x0021, and 0x002F: VJ's Uncompressed-TCP keeps it) and IPv6's Payload Length
        (0x0057) say how long a datagram is; a VJ Compressed-TCP one (0x002D) is taken to be
        as long as the last one on its connection that did not have PSH set
        (:meth:`~pyppp.ipcp.vj.VjDecompressor.expected_size`: a bulk sender's full-size
        segments), and one with PSH set (the end of a write) gives no estimate. Frames CCP
        compressed or MPPE encrypted (0x00FD) carry no length. An estimate only: nothing in
        the data path depends on it.
        """
        head = self.deframer.head()
        if len(head) < 8:
            return None
        start = 2 if head[0] == 0xFF else 0  # Address and Control, unless ACFC
        protocol = head[start]
        if protocol & 1:  # PFC
            start += 1
        else:
            protocol = protocol << 8 | head[start + 1]
            start += 2
        version = head[start] >> 4
        if protocol in _CARRIES_IPV4_LENGTH and version == 4:
            size = int.from_bytes(head[start + 2 : start + 4], "big")
        elif protocol == PPPProtocol.IPV6 and version == 6 and len(head) >= start + 6:
            size = 40 + int.from_bytes(head[start + 4 : start + 6], "big")
        elif protocol == PPPProtocol.VJ_COMP and self._unvj is not None:
            guess = self._unvj.expected_size(head[start:])
            if guess is None:
                return None
            size = guess
        else:
            return None
        return self.deframer.awaiting(start + size + 2)  # + FCS

    def open_route(self, version: int, protocol: int, now: float) -> None:
        """IP ``version`` datagrams go out as ``protocol`` from now on (its NCP is up).

        The first network protocol up sends the link's first size probe now
        (:data:`~pyppp.framesize.FIRST_PROBES`), while the line is still quiet: left to the
        next read, it would go out with the first datagram and cost the first transfer its
        line time (3 kB each way at 1500 octets).
        """
        first = not self._routes
        self._routes[version] = protocol
        if first:
            self._probe(now)

    def close_route(self, protocol: int) -> None:
        """No IP version goes out as ``protocol`` any more (its NCP went down)."""
        for version in [v for v, p in self._routes.items() if p == protocol]:
            del self._routes[version]

    def drop_queued_data(self) -> None:
        """Forget the IP frames not yet written (counted): their NCP is no longer open.

        A data protocol flows only while its NCP is open (RFC 1661 §3.2): frames still queued
        must not follow a Terminate-Ack. The queue holds both IP versions.
        """
        if self._out_data:
            self.stats.discarded["ip queued at network down"] += len(self._out_data)
            self._out_data.clear()
            self._out_data_bytes = 0
            self._ccp_tail.clear()

    def emit(self, protocol: int, information: bytes, now: float) -> None:
        """Frame one packet and queue it: datagrams behind control frames.

        Args:
            protocol: the PPP protocol number.
            information: the Information field.
            now: the link's clock (for a capture's time stamp).
        """
        frame = self._encoder.encode(protocol, information)
        if protocol in DATA_PROTOCOLS:
            self._out_data.append(frame)
            self._out_data_bytes += len(frame)
            self._data_frames += 1
            self._ccp_tail.clear()
        elif protocol == PPPProtocol.CCP and (
            information[:1] == _RESET_ACK_CODE
            or (information[:1] == _CONF_ACK_CODE and self._hold_for_ccp())
        ):
            # In order after the datagrams compressed with the old history, or queued plain
            # before the peer's decompressor starts (module docstring).
            self._supersede(information[0])
            self._out_data.append(frame)
            self._out_data_bytes += len(frame)
            self._ccp_tail.append(information[0])
        elif self._out_control_bytes + len(frame) > CONTROL_QUEUE_LIMIT:
            # The owner is not draining us: drop rather than grow without bound.
            self.stats.discarded["control queue full"] += 1
            return
        else:
            self._out_control.append(frame)
            self._out_control_bytes += len(frame)
        self.stats.frames_sent += 1
        self.stats.bytes_sent += len(information) + 2
        if self.tap is not None and protocol not in DATA_PROTOCOLS:
            self.tap(True, protocol, information, now)  # (send_ip taps its datagrams itself)

    def _supersede(self, code: int) -> None:
        """Forget a queued CCP frame of ``code`` with no datagram behind it (module docstring).

        A newer one of the same code takes its place at the end of the data queue, so the
        peer's Reset-Requests or Configure-Requests cannot grow the queue past the datagrams
        in it, however many arrive while the owner does not drain.
        """
        tail = self._ccp_tail
        if code not in tail:
            return
        index = tail.index(code)
        position = index - len(tail)  # the tail is the end of the data queue
        del tail[index]
        frame = self._out_data[position]
        del self._out_data[position]
        self._out_data_bytes -= len(frame)
        # Counted as sent when it was queued, like the datagrams drop_queued_data drops: the
        # counters only grow (they are exported as totals).
        self.stats.discarded["CCP answer superseded before it was sent"] += 1

    def send_ip(self, packet: bytes, now: float) -> bool:
        """Queue one IP datagram on its version's data protocol.

        Args:
            packet: the datagram, starting at the IP header.
            now: the link's clock (for a capture's time stamp).

        Returns:
            ``True`` if queued; ``False`` if dropped (counted in the stats): no IP version is
            open, it exceeds :attr:`mtu`, or its own version is not open.
        """
        routes = self._routes
        if not routes:
            self.stats.discarded["ip before network up"] += 1
            return False
        if self.must_compress and self.compress is None:
            self.stats.discarded["ip while encryption is not running"] += 1
            return False
        if len(packet) > self.mtu:
            self.stats.discarded["ip larger than mtu"] += 1
            return False
        protocol = routes.get(packet[0] >> 4) if packet else None
        if protocol is None:
            # Each IP version flows only while its NCP is open (the kernel routes both into
            # a TUN: IPv6 router solicitations while only IPCP is up, say).
            self.stats.discarded["ip version not open"] += 1
            return False
        if self._sizer.enabled:
            self._sizer.resends.look(packet)
        if self._held is not None:
            return self._hold((packet,)) == 1
        carried, datagram = protocol, packet  # what a capture sees: before VJ and CCP
        if self._vj is not None and protocol == PPPProtocol.IP:
            protocol, packet = self._vj.compress(packet)
        if self.compress is not None:
            if not self._emit_compressed(protocol, packet):
                return True
        else:
            self.emit(protocol, packet, now)
        if self.tap is not None:
            self.tap(True, carried, datagram, now)
        return True

    def _emit_compressed(self, protocol: int, packet: bytes) -> bool:
        """Queue one datagram through CCP's compressor, counted uncompressed (as Linux).

        Returns ``False`` when the encryptor refused it (dropped, counted).
        """
        assert self.compress is not None
        compressed = self.compress(protocol, packet)
        if compressed is None and self.must_compress:
            self.stats.discarded["ip the encryptor refused"] += 1
            return False
        frame = (
            self._encoder.encode(protocol, packet)
            if compressed is None
            else self._encoder.encode(PPPProtocol.COMP, compressed)
        )
        self._out_data.append(frame)
        self._out_data_bytes += len(frame)
        self._data_frames += 1
        self._ccp_tail.clear()
        self.stats.frames_sent += 1
        self.stats.bytes_sent += len(packet) + 2
        return True

    def _send_compressed(self, packets: list[bytes], routes: dict[int, int], now: float) -> int:
        """A burst through VJ then CCP's compressor, in order; runs of 0x00FD framed at once.

        CCP numbers every frame it takes (Deflate's and MPPE's sequence numbers), so each
        datagram goes through VJ and the compressor one at a time, in order; only the framing
        of consecutive compressed datagrams is batched.
        """
        compress = self.compress
        assert compress is not None
        vj = self._vj.compress if self._vj is not None else None
        tap = self.tap
        ip = PPPProtocol.IP
        stats = self.stats
        run: list[bytes] = []
        sent = 0
        for packet in packets:
            protocol = carried = routes[packet[0] >> 4]
            datagram = packet  # what a capture sees: before VJ and CCP
            if vj is not None and protocol == ip:
                protocol, packet = vj(packet)
            compressed = compress(protocol, packet)
            if compressed is not None:
                run.append(compressed)
            else:
                if run:
                    self._queue(((PPPProtocol.COMP, run),), count=False)
                    run = []
                if self.must_compress:
                    stats.discarded["ip the encryptor refused"] += 1
                    continue
                self._queue(((protocol, [packet]),), count=False)
            sent += 1
            stats.bytes_sent += len(packet) + 2  # counted uncompressed, as Linux
            if tap is not None:
                tap(True, carried, datagram, now)
        if run:
            self._queue(((PPPProtocol.COMP, run),), count=False)
        return sent

    def send_ips(self, packets: Sequence[bytes], now: float) -> int:
        """Queue a burst of IP datagrams, framed in one call per data protocol.

        Args:
            packets: the datagrams (what one read of the TUN device gave).
            now: the link's clock (for a capture's time stamp).

        Returns:
            How many were queued; the rest were dropped and counted (see :meth:`send_ip`).
        """
        routes = self._routes
        if not routes:
            self.stats.discarded["ip before network up"] += len(packets)
            return 0
        if self.must_compress and self.compress is None:
            self.stats.discarded["ip while encryption is not running"] += len(packets)
            return 0
        mtu = self.mtu
        # Each IP version flows only while its NCP is open (see send_ip).
        fitting = [p for p in packets if len(p) <= mtu and p and p[0] >> 4 in routes]
        if len(fitting) != len(packets):
            self.stats.discarded["ip not sent (size or version)"] += len(packets) - len(fitting)
        if not fitting:
            return 0
        if self._sizer.enabled:
            self._sizer.resends.look_many(fitting)
        if self._held is not None:
            return self._hold(fitting)
        if self.compress is not None:
            return self._send_compressed(fitting, routes, now)
        if self._vj is not None:
            self._send_vj(fitting, routes, now)
            return len(fitting)
        runs = _by_protocol(fitting, routes)
        self._queue(runs)
        if self.tap is not None:
            for protocol, batch in runs:
                for packet in batch:
                    self.tap(True, protocol, packet, now)
        return len(fitting)

    def _send_vj(self, packets: list[bytes], routes: dict[int, int], now: float) -> None:
        """Queue a burst through the VJ compressor, in order, framed in runs of one protocol."""
        assert self._vj is not None
        compress = self._vj.compress
        tap = self.tap
        ip = PPPProtocol.IP
        runs: list[tuple[int, list[bytes]]] = []
        for packet in packets:
            protocol = routes[packet[0] >> 4]
            if tap is not None:
                tap(True, protocol, packet, now)  # before VJ: the whole datagram
            if protocol == ip:
                protocol, packet = compress(packet)
            if runs and runs[-1][0] == protocol:
                runs[-1][1].append(packet)
            else:
                runs.append((protocol, [packet]))
        self._queue(runs)

    def _queue(self, runs: Sequence[tuple[int, list[bytes]]], *, count: bool = True) -> None:
        """Frame each run of datagrams of one protocol in one call and queue the frames.

        ``count``: add the datagrams' octets to ``bytes_sent`` (the compressed path counts
        them uncompressed itself).
        """
        stats = self.stats
        for protocol, batch in runs:
            frames = self._encoder.encode_many(protocol, batch)
            stats.frames_sent += len(frames)
            if count:
                stats.bytes_sent += sum(map(len, batch)) + 2 * len(batch)
            self._out_data.extend(frames)
            self._out_data_bytes += sum(map(len, frames))
            self._data_frames += len(frames)
        self._ccp_tail.clear()

    def take(self, limit: int | None = None) -> bytes:
        """Return (and forget) framed octets for the line: every control frame, then IP.

        Args:
            limit: stop adding IP frames once this many octets are collected (control frames
                are always all returned), so the shell can keep its write buffer short.

        Returns:
            The octets to write, possibly empty.
        """
        if not self._out_control and not self._out_data:
            return b""
        out = self._out_control
        size = self._out_control_bytes
        self._out_control = []
        self._out_control_bytes = 0
        data = self._out_data
        while data and (limit is None or size < limit):
            frame = data.popleft()
            self._out_data_bytes -= len(frame)
            out.append(frame)
            size += len(frame)
        tail = self._ccp_tail
        if len(tail) > len(data):  # some of the CCP frames at the end are on their way now
            del tail[: len(tail) - len(data)]
        if len(out) == 1:
            return out[0]
        # Every frame comes with both its Flags; back to back, one Flag ends a frame and opens
        # the next (RFC 1662 §3.1: "Only one Flag Sequence is required between two frames";
        # Linux's ppp_async sends no opening Flag within a second of the last frame).
        # An octet a frame: a quarter of a percent of compressed text, a tenth of a VJ
        # acknowledgement. Inside a frame 0x7E is always escaped, so only Flags pair up here.
        return b"".join(out).replace(b"\x7e\x7e", b"\x7e")
