"""One PPP link: the RFC 1661 §3.2 phases over the framer, LCP, authentication and the NCPs.

Theory of operation
-------------------
A :class:`Link` is pppd's main loop without the I/O. The owner (the asyncio shell, a test, or a
library user) feeds it the bytes read from the line and the IP packets to send, and gets back
the bytes to write, the events to act on and the next deadline::

    link.open(now)                      # the line is ready: start LCP
    link.receive_data(data, now)        # bytes read from the line (any chunking)
    link.send_ip(packet, now)           # an IPv4 or IPv6 datagram to carry
    link.data_to_send() -> bytes        # bytes for the line, HDLC-framed
    link.next_event() -> Event | None   # NetworkUp, IpReceived, LinkTerminated ...
    link.get_timer() -> float | None    # when to call handle_timer(now)
    link.tap = recorder.frame           # optional: told of every frame (pyppp.capture)

The phases (RFC 1661 §3.2) decide which protocols may pass:

* Link Dead -> Link Establishment: only LCP. "Any non-LCP packets received during this phase
  MUST be silently discarded." (§3.3)
* Authentication: LCP and the authentication protocols; everything else is discarded (§3.5).
  Each direction runs its own engine (pppd: "server" and "client"); the Network phase starts
  only when every direction that was asked for has succeeded.
* Network-Layer Protocol: the network control protocols (IPCP, IPv6CP, and any other
  registered) and the data protocols they open; a protocol we do not run is answered with an
  LCP Protocol-Reject (§5.7), which is how pppd turns down what it does not speak. A datagram
  to send goes out as the data protocol of its IP version (0x0021 for IPv4, 0x0057 for IPv6)
  while that protocol's NCP is open, and is dropped (counted) otherwise.
* Link Termination: LCP Terminate-Request/Ack, then Link Dead with pppd's exit status.

One event channel. Every layer below the link (LCP, each NCP, each authentication engine)
reports into one inbox the moment something happens: This-Layer-Up with the negotiated
result, This-Layer-Down, -Started, -Finished (with whether it timed out), LCP's
Protocol-Rejected, Peer-Dead and Looped-Back, and the engines' success, failure and login
requests. After every input the link drains that inbox until it is empty; each handler may
call into a layer, whose new events join the same inbox in order. The link reads no child's
flags and writes no child's fields.

Adding a network protocol is one module (its negotiator and option codecs) and one
:meth:`Link._register_ncp` call: the link then routes its packets, runs its timers, flushes
its output in phase order, opens it with the Network phase, takes it down with LCP, and calls
its Up/Down handlers, which open or close the data protocols it carries.

The link's parts live beside it: :mod:`pyppp.linkconfig` (what a link is built from and
counts), :mod:`pyppp.datapath` (the framer both ways, the output queues, which data protocol
carries each IP version: where the compressors plug in), :mod:`pyppp.auth.phase` (the
authentication engines of the Authenticate phase) and :mod:`pyppp.netphase` (the Network
phase: starting the NCPs, CCP before IP, their Up/Down handlers, Protocol-Reject).

A capture (``pcap FILE``) is an optional tap on the data path, :attr:`Link.tap`: told of every
frame the link carries, control packets as they are and datagrams before compression on the
way out, after decompression on the way in (:mod:`pyppp.capture`). Without one, each frame
costs one ``is None`` test.

Peer faults never raise: they are counted and logged at debug level. The trace of control
packets is pppd's (``sent [LCP ConfReq id=0x1 <asyncmap 0x0> ...]``) on the
``pyppp.trace`` logger at DEBUG level.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pyppp.auth.base import AuthEngine, AuthEvent, AuthFailure, AuthSuccess, ExternalVerdict
from pyppp.auth.phase import AuthPhase, EngineFactory, FromEngine
from pyppp.ccp.mppe import MppeGate, MppePolicy
from pyppp.ccp.protocol import CcpControlProtocol, build_ccp
from pyppp.control import (
    ControlProtocol,
    LayerDown,
    LayerEvent,
    LayerFinished,
    LayerStarted,
    LayerUp,
    LoopedBack,
    PeerDead,
    ProtocolRejected,
)
from pyppp.datapath import DATA_PROTOCOLS, DataPath, idle_receive_accm
from pyppp.errors import ExitStatus, MalformedPacket
from pyppp.events import (
    AuthFailed,
    AuthMethod,
    AuthSucceeded,
    Event,
    IpReceived,
    LinkDown,
    LinkTerminated,
    LinkUp,
    Phase,
    PhaseChanged,
    Role,
)
from pyppp.fsm import State
from pyppp.ipcp.negotiator import IpcpNegotiator, IpcpResult
from pyppp.ipv6cp.negotiator import Ipv6cpNegotiator, Ipv6cpResult
from pyppp.lcp.negotiator import LcpNegotiator, LcpResult
from pyppp.lcp.options import AuthProtocol
from pyppp.lcp.protocol import LcpControlProtocol
from pyppp.linkconfig import LinkConfig, LinkStats
from pyppp.netphase import Ncp, NetworkPhase
from pyppp.packet import Code, ControlPacket, PPPProtocol, protocol_name
from pyppp.trace import format_packet
from pyppp.util import NOTICE, Rng, earliest

if TYPE_CHECKING:
    from pyppp.capture import FrameTap
    from pyppp.status import CompressionStatus

__all__ = ["Link"]


_Inbound = LayerEvent | FromEngine
# The VJ frames a running decompressor rebuilds: a capture is told of the IPv4 datagram instead.
_VJ = frozenset({PPPProtocol.VJ_COMP, PPPProtocol.VJ_UNCOMP})


class Link(NetworkPhase):
    """A PPP link as a sans-IO state machine (see the module docstring).

    No method raises on what the peer sends; none reads a clock or does I/O.

    Args:
        config: the link's options.
        rng: random bytes (magic numbers, CHAP challenges).
        logger: where pppd's lines go (``pyppp`` by default).

    Attributes:
        config: the link's options.
        phase: the RFC 1661 §3.2 phase now (each change is also a ``PhaseChanged`` event).
        exit_status: pppd's exit status once it is decided (:class:`~pyppp.errors.ExitStatus`
            values), ``None`` before; :meth:`open` clears it.
        stats: octets and frames both ways, and what was dropped by reason.
        lcp: the LCP control protocol.
        ipcp, ipv6cp, ccp: the network control protocols and CCP, ``None`` when not
            configured (to read: state, counters, negotiated results).
        peer_authenticated_as: the name the peer authenticated with, once it has.
    """

    def __init__(
        self, config: LinkConfig, *, rng: Rng, logger: logging.Logger | None = None
    ) -> None:
        self.config = config
        self.logger = logger or logging.getLogger("pyppp")
        self.trace_logger = logging.getLogger("pyppp.trace")
        self.phase = Phase.DEAD
        self.exit_status: int | None = None
        self.stats = LinkStats()
        self._events: deque[Event] = deque()
        # The one channel every layer below reports into (see the module docstring).
        self._inbox: deque[_Inbound] = deque()
        # The framer both ways, the output queues and IP-version routing.
        self._path = DataPath(
            self.stats,
            escape=config.escape,
            idle_accm=idle_receive_accm(config.lcp, receive_all=config.receive_all),
            receive_all=config.receive_all,
            adaptive_mtu=config.adaptive_mtu,
            logger=self.logger,
        )
        self.lcp = LcpControlProtocol(
            LcpNegotiator(config.lcp, rng, logger=self.logger),
            config.lcp_fsm,
            echo_interval=config.echo_interval,
            echo_failure=config.echo_failure,
            traffic=(lambda: self.stats.frames_received) if config.echo_adaptive else None,
            report=self._inbox.append,
            logger=self.logger,
        )
        self._lcp_result: LcpResult | None = None
        # Network control protocols by protocol number, in the order their output is flushed.
        self._ncps: dict[int, Ncp] = {}
        # Receive handlers of the data protocols whose NCP is open (0x0021 while IPCP is).
        self._data_handlers: dict[int, Callable[[bytes, float], None]] = {}
        self._ipcp_negotiator: IpcpNegotiator | None = None
        self.ipcp: ControlProtocol[IpcpResult] | None = None
        if config.ipcp is not None:
            self._ipcp_negotiator = IpcpNegotiator(config.ipcp, logger=self.logger)
            self.ipcp = ControlProtocol(
                self._ipcp_negotiator,
                config.ipcp_fsm,
                report=self._inbox.append,
                logger=self.logger,
            )
            self._register_ncp(
                self.ipcp,
                on_up=self._ipcp_up,
                on_down=self._ipcp_down,
                data=(PPPProtocol.IP,),
            )
        self.ipv6cp: ControlProtocol[Ipv6cpResult] | None = None
        if config.ipv6cp is not None:
            self.ipv6cp = ControlProtocol(
                Ipv6cpNegotiator(config.ipv6cp, rng, logger=self.logger),
                config.ipv6cp_fsm,
                report=self._inbox.append,
                logger=self.logger,
            )
            self._register_ncp(
                self.ipv6cp,
                on_up=self._ipv6cp_up,
                on_down=self._ipv6cp_down,
                data=(PPPProtocol.IPV6,),
            )
        self.ccp: CcpControlProtocol | None = None
        # MPPE required (pyppp.ccp.mppe): IP waits for it, and the link ends without it.
        self._mppe: MppeGate | None = None
        if config.ccp is not None:
            ccp = self.ccp = build_ccp(
                config.ccp, config.ccp_fsm, report=self._inbox.append, logger=self.logger
            )
            mppe = ccp.policy(MppePolicy)
            if mppe is not None:
                self._mppe = MppeGate(mppe)
                self._path.must_compress = True
            # Not a network protocol: its end does not end the link (pppd), unless MPPE is
            # required (pppd ccp_down / ccp_protrej / ccp_input: then the link closes).
            self._register_ncp(
                ccp,
                on_up=self._ccp_up,
                on_down=self._path.detach_ccp,
                data=(PPPProtocol.COMP,),
                network=False,
                required=self._mppe.down if self._mppe is not None else None,
            )
        self._auth = AuthPhase(self._inbox.append)
        self._network_up = False
        self._ever_up = False
        self._looped_back = False
        self._idle_deadline: float | None = None
        self._connect_deadline: float | None = None
        self._terminate_reason = ""
        self.peer_authenticated_as: str | None = None

    # -- properties ----------------------------------------------------------------------------
    @property
    def network_up(self) -> bool:
        """True while IPCP is Opened and IPv4 may flow."""
        return self._network_up

    @property
    def ipv6_up(self) -> bool:
        """True while IPv6CP is Opened and IPv6 may flow."""
        return PPPProtocol.IPV6 in self._data_handlers

    @property
    def mtu(self) -> int:
        """The largest IP packet we may send (the peer's MRU, capped by ``mtu``)."""
        return self._path.mtu

    @property
    def tap(self) -> FrameTap | None:
        """The capture told of every frame the link carries, or ``None`` (the owner sets it).

        Called as ``tap(sent, protocol, information, now)`` for each control packet sent or
        received, each IP or IPv6 datagram sent (before VJ and CCP compress or encrypt it) and
        each one received (after they are undone; a VJ frame as the IPv4 datagram it rebuilds);
        what the link drops is not told. ``now`` is the clock value of the call that carried
        it. May be set or cleared at any time.
        """
        return self._path.tap

    @tap.setter
    def tap(self, tap: FrameTap | None) -> None:
        self._path.tap = tap

    @property
    def lcp_result(self) -> LcpResult | None:
        """What LCP negotiated, while it is Opened."""
        return self._lcp_result

    @property
    def pending_bytes(self) -> int:
        """Framed IP bytes queued and not yet taken by :meth:`data_to_send`."""
        return self._path.pending_bytes

    @property
    def discards(self) -> Counter[str]:
        """Everything dropped so far, by reason: the framer's (bad FCS, too long...) and ours.

        For status displays; the data path only increments counters, this adds them up.
        """
        counts = Counter({why: n for why, n in self._path.deframer.discarded.items() if n})
        counts.update(self.stats.discarded)
        controls = [self.lcp, *(ncp.control for ncp in self._ncps.values())]
        for control in controls:
            malformed = getattr(control, "discarded", 0)
            if malformed:
                counts[f"{control.name}: malformed or unexpected"] += malformed
        return counts

    @property
    def compression_stats(self) -> CompressionStatus | None:
        """What CCP's compression does (RFC 1962), or ``None`` while no method runs."""
        return self.ccp.status() if self.ccp is not None else None

    # -- administrative ------------------------------------------------------------------------
    def renegotiate_ccp(self, now: float) -> None:
        """SIGUSR2 (pppd ``open_ccp``): reopen a closed CCP ("Lost compression sync").

        Only in the Network phase and with CCP configured; an Opened CCP is left as it is.

        Args:
            now: the caller's clock.
        """
        if self.ccp is not None and self.phase is Phase.NETWORK:
            self.ccp.reopen(now)
            self._process(now)

    def open(self, now: float) -> None:
        """Start the link: administrative Open and lower-layer Up for LCP (RFC 1661 §3.2).

        A link that is not Dead ignores it; a dead link starts afresh, so one :class:`Link`
        serves call after call (``persist``).

        Args:
            now: the caller's clock.
        """
        if self.phase is not Phase.DEAD:
            return
        self.exit_status = None
        self._ever_up = False
        self._looped_back = False
        self._terminate_reason = ""
        self.peer_authenticated_as = None
        self._set_phase(Phase.ESTABLISH)
        self.lcp.open(now)
        self.lcp.up(now)
        self._process(now)

    def close(
        self,
        reason: str = "User request",
        *,
        exit_status: int = ExitStatus.USER_REQUEST,
        now: float,
    ) -> None:
        """Terminate the link gracefully (LCP Terminate-Request), as pppd on SIGTERM.

        Args:
            reason: the text of the Terminate-Request (pppd: "User request").
            exit_status: pppd's exit status to report when the link is dead, unless one was
                already decided.
            now: the caller's clock.
        """
        if self.exit_status is None:
            self.exit_status = exit_status
        self._terminate_reason = reason
        if self.phase is Phase.DEAD:
            return
        if self.lcp.state in (State.INITIAL, State.STARTING, State.CLOSED, State.STOPPED):
            self.lcp.close(reason, now)
            self._process(now)
            self._dead(reason, now)
            return
        self._set_phase(Phase.TERMINATE)
        self.lcp.close(reason, now)
        self._process(now)

    def lower_down(self, reason: str = "Modem hangup", *, now: float) -> None:
        """The line itself went away (hang-up, EOF): no more bytes can be exchanged.

        The link goes Dead at once with pppd's status 16 (unless one was already decided).

        Args:
            reason: why, for the :class:`~pyppp.events.LinkTerminated` event.
            now: the caller's clock.
        """
        if self.phase is Phase.DEAD:
            return
        if self.exit_status is None:
            self.exit_status = ExitStatus.HANGUP
        self._terminate_reason = reason
        self.lcp.down(reason, now)
        self.lcp.close(reason, now)
        self._process(now)
        self._dead(reason, now)

    def close_network_protocol(self, protocol: int, reason: str, *, now: float) -> None:
        """Close one network control protocol, as pppd's ``ipcp_close``/``ipv6cp_close``.

        The shell calls it when the interface refuses what the protocol negotiated ("Interface
        configuration failed"); the link itself closes only once no network protocol is left
        running ("No network protocols running").

        Args:
            protocol: the control protocol's number (0x8021 IPCP, 0x8057 IPv6CP).
            reason: the text of its Terminate-Request.
            now: the caller's clock.
        """
        ncp = self._ncps.get(protocol)
        if ncp is not None:
            ncp.control.close(reason, now)
            self._process(now)

    def login_result(self, request_id: int, ok: bool, now: float) -> None:
        """Answer a :class:`~pyppp.events.LoginCheckRequested` (system password check).

        Args:
            request_id: the event's ``request_id``.
            ok: whether the system accepted the user name and password.
            now: the caller's clock.
        """
        self._auth.login_result(request_id, ok, now)
        self._process(now)

    def external_result(self, request_id: int, verdict: ExternalVerdict, now: float) -> None:
        """Answer an :class:`~pyppp.events.ExternalCheckRequested` (RADIUS's verdict).

        An answer for an engine that has stopped meanwhile (the link went down) is ignored.

        Args:
            request_id: the event's ``request_id``.
            verdict: the outside server's answer (accepted or not; the addresses, message and
                MPPE keys it gave).
            now: the caller's clock.
        """
        self._auth.external_result(request_id, verdict, now)
        self._process(now)

    # -- data ----------------------------------------------------------------------------------
    def awaiting(self) -> int | None:
        """Octets the line must still carry to end the frame under way, if its header says.

        An estimate (:meth:`pyppp.datapath.DataPath.awaiting`) for a slow line's reader, which
        may then read the rest of a long frame at once instead of piece by piece; ``None``
        when unknown.
        """
        return self._path.awaiting()

    def receive_data(self, data: bytes, now: float) -> bool:
        """Take bytes read from the line, in any chunking.

        Never raises on garbage: bad frames are counted in :attr:`stats` and dropped.

        Args:
            data: the bytes as read.
            now: the caller's clock.

        Returns:
            ``False`` when nothing changed: the bytes completed no frame, and there is no
            event, nothing to send and no new deadline (a slow line's piece of a frame), so
            the owner may skip its look at :meth:`data_to_send`, :meth:`next_event` and
            :meth:`get_timer`; ``True`` otherwise.
        """
        if self.phase is Phase.DEAD:
            # RFC 1661 §3.1 Link Dead: nothing is received until the link is opened again.
            self.stats.discarded["link dead"] += 1
            return False
        frames = self._path.deframe(data)
        events = self._path.adapt_size(now)  # noisy lines: pyppp.framesize
        if events:
            self._events.extend(events)
        if not frames:
            return bool(self._events) or self._path.has_output
        stats = self.stats
        handlers = self._data_handlers
        path = self._path
        expand = path.expand
        tap = path.tap
        for protocol, information in frames:
            stats.frames_received += 1
            if expand is not None:
                # Decompression first: the octets received are counted as they expand (pppd).
                unpacked = expand(protocol, information, now)
                if unpacked is None:
                    self._process(now)  # dropped; a Reset-Request may be waiting
                    continue
                protocol, information = unpacked
            stats.bytes_received += len(information) + 2
            if tap is not None and (protocol not in _VJ or protocol not in handlers):
                tap(False, protocol, information, now)  # (VJ's decompressor taps what it rebuilds)
            handler = handlers.get(protocol)
            if handler is not None:
                # The data path: an open NCP's data protocol needs nothing else decided.
                handler(information, now)
                path.ip_received += 1
                continue
            self._receive_frame(protocol, information, now)
            # A control packet may change the phase (LCP opens, authentication ends), and the
            # next frame of the same read must be judged in the new phase.
            self._process(now)
            # CCP may have opened or closed: Linux compresses right after its Configure-Ack,
            # so the datagram behind it in this read is already compressed.
            expand = self._path.expand
        return True

    def send_ip(self, packet: bytes, now: float) -> bool:
        """Queue an IPv4 or IPv6 datagram for the peer.

        Args:
            packet: the datagram, starting at the IP header.
            now: the caller's clock.

        Returns:
            ``True`` if it was queued; ``False`` if it was dropped (no network protocol is
            open, it is larger than :attr:`mtu`, or its IP version's NCP is not open),
            counted in :attr:`stats`.
        """
        if self.ccp is not None and self.ccp.compressor is not None:
            self.ccp.before_send(now)
        if not self._path.send_ip(packet, now):
            return False
        self._touch_idle(now)
        return True

    def send_ips(self, packets: Sequence[bytes], now: float) -> int:
        """Queue a burst of IP datagrams (what one read of the TUN device gave).

        The same as :meth:`send_ip` for each packet, framed in one call so the per-packet cost
        stays low for small packets.

        Args:
            packets: the datagrams.
            now: the caller's clock.

        Returns:
            How many were queued (the rest were dropped and counted).
        """
        if self.ccp is not None and self.ccp.compressor is not None:
            self.ccp.before_send(now)
        sent = self._path.send_ips(packets, now)
        if sent:
            self._touch_idle(now)
        return sent

    def data_to_send(self, limit: int | None = None) -> bytes:
        """Return (and forget) framed bytes for the line: control frames first, then IP.

        Args:
            limit: stop adding IP frames once this many bytes are collected (control frames
                are always all returned), so the shell can keep its write buffer short.

        Returns:
            The bytes to write, possibly empty.
        """
        return self._path.take(limit)

    def next_event(self) -> Event | None:
        """Return the next event for the owner, in the order they happened.

        Returns:
            The event, or ``None`` when there is none.
        """
        return self._events.popleft() if self._events else None

    # -- time ----------------------------------------------------------------------------------
    def get_timer(self) -> float | None:
        """Return the earliest deadline of every protocol and timer the link runs.

        The owner calls :meth:`handle_timer` at (or after) that time on its clock.

        Returns:
            The deadline on the caller's clock, or ``None`` when nothing is pending.
        """
        candidates = [self.lcp.get_timer(), self._idle_deadline, self._connect_deadline]
        candidates.extend(ncp.control.get_timer() for ncp in self._ncps.values())
        candidates.extend(self._auth.timers())
        return earliest(candidates)

    def handle_timer(self, now: float) -> None:
        """Run every deadline that has passed by ``now`` (harmless when called early).

        Args:
            now: the caller's clock.
        """
        self.lcp.handle_timer(now)
        # LCP may have gone down just now: the other timers must see that first.
        self._process(now)
        for ncp in list(self._ncps.values()):
            ncp.control.handle_timer(now)
        self._auth.handle_timer(now)
        if self._idle_deadline is not None and now >= self._idle_deadline:
            self._idle_deadline = None
            # pppd auth.c check_idle
            self.logger.log(NOTICE, "Terminating connection due to lack of activity.")
            self.close("Link inactive", exit_status=ExitStatus.IDLE_TIMEOUT, now=now)
        if self._connect_deadline is not None and now >= self._connect_deadline:
            self._connect_deadline = None
            self.logger.info("Connect time expired")
            self.close("Connect time expired", exit_status=ExitStatus.CONNECT_TIME, now=now)
        self._process(now)

    # -- internals: receive --------------------------------------------------------------------
    def _receive_frame(self, protocol: int, information: bytes, now: float) -> None:
        code = information[0] if information else 0
        if (
            protocol not in DATA_PROTOCOLS
            and self.trace_logger.isEnabledFor(logging.DEBUG)
            and self._trace_wanted(protocol, code)
        ):
            self.trace_logger.debug("rcvd %s", self._format(protocol, information))
        if protocol == PPPProtocol.LCP:
            self.lcp.receive(information, now)
            return
        if self.phase in (Phase.DEAD, Phase.ESTABLISH, Phase.TERMINATE):
            # RFC 1661 §3.3 / §3.7: only LCP packets until LCP is Opened.
            self._drop(f"{protocol:#06x} before LCP opened")
            return
        if protocol in (PPPProtocol.PAP, PPPProtocol.CHAP):
            if not self._auth.for_protocol(protocol):
                self._reject_protocol(protocol, information)
                return
            try:
                packet = ControlPacket.decode(information)
            except MalformedPacket:
                self._drop("malformed authentication packet")
                return
            self._auth.receive(protocol, packet, now)
            return
        if self.phase is Phase.AUTHENTICATE:
            # RFC 1661 §3.5: "All other packets received during this phase MUST be silently
            # discarded."
            self._drop(f"{protocol:#06x} during authentication")
            return
        ncp = self._ncps.get(protocol)
        if ncp is not None:
            ncp.control.receive(information, now)
            return
        carrier = self._carrier_of(protocol)
        if carrier is not None:
            # A data protocol whose NCP is not open (yet, or any more): not ours to reject.
            self._drop(f"{protocol_name(protocol)} before {carrier.control.name} opened")
            return
        self._reject_protocol(protocol, information)

    def _reject_protocol(self, protocol: int, information: bytes) -> None:
        self.logger.debug("Unsupported protocol 0x%x received", protocol)
        self.stats.discarded["unsupported protocol"] += 1
        self.lcp.send_protocol_reject(protocol, information)

    def _receive_ip(self, information: bytes, now: float) -> None:
        if self._idle_deadline is not None:
            self._idle_deadline = now + self.config.idle
        self._events.append(IpReceived(information))

    def _receive_ipv6(self, information: bytes, now: float) -> None:
        if not information or information[0] >> 4 != 6:
            # The kernel takes a TUN packet's version from its first octet: an IPv4 packet
            # on 0x0057 must not slip in while IPCP is closed.
            self._drop("not IPv6 on protocol 0x0057")
            return
        self._receive_ip(information, now)

    def _drop(self, why: str) -> None:
        self.stats.discarded[why] += 1
        self.logger.debug("discarded: %s", why)

    # -- internals: the one event channel ------------------------------------------------------
    def _process(self, now: float) -> None:
        """Handle every event the layers reported, in order, until none is left; then flush."""
        inbox = self._inbox
        while inbox:
            self._handle(inbox.popleft(), now)
        self._flush(now)

    def _handle(self, event: _Inbound, now: float) -> None:
        match event:
            case LayerUp(protocol=PPPProtocol.LCP, result=LcpResult() as result):
                self._lcp_up(result, now)
            case LayerDown(protocol=PPPProtocol.LCP, reason=reason):
                self._lcp_down(reason or "LCP down", now)
            case LayerFinished(protocol=PPPProtocol.LCP, reason=reason, timed_out=timed_out):
                if timed_out and self.exit_status is None:
                    self.exit_status = ExitStatus.NEGOTIATION_FAILED
                self._dead(reason or self._terminate_reason, now)
            case LayerStarted():
                pass
            case ProtocolRejected(rejected=rejected):
                self._on_protocol_rejected(rejected, now)
            case PeerDead():
                # pppd LcpLinkFailure: status EXIT_PEER_DEAD, lcp_close("Peer not responding").
                self.close("Peer not responding", exit_status=ExitStatus.PEER_DEAD, now=now)
            case LoopedBack():
                self._looped_back = True
                self.logger.log(NOTICE, "Serial line is looped back.")
                self.exit_status = ExitStatus.LOOPBACK
                self.close("Loopback detected", exit_status=ExitStatus.LOOPBACK, now=now)
            case LayerUp(protocol=protocol, result=result) if protocol in self._ncps:
                self._ncps[protocol].on_up(result, now)
            case LayerDown(protocol=protocol, reason=reason) if protocol in self._ncps:
                self._ncp_down(self._ncps[protocol], reason, now)
            case LayerFinished(protocol=protocol, reason=reason) if protocol in self._ncps:
                self._ncp_finished(self._ncps[protocol], reason, now)
            case FromEngine(engine=engine, event=auth_event):
                if self._auth.owns(engine):  # a stopped engine's last words are moot
                    self._on_auth(engine, auth_event, now)
            case _:  # pragma: no cover - every layer's events are handled above
                self.logger.debug("unhandled layer event %r", event)

    def _flush(self, now: float) -> None:
        # Phase order: an Authenticate-Ack must leave before the IPCP request it unlocks, or
        # the peer (still authenticating) would discard that request.
        for packet in self.lcp.packets_to_send():
            self._emit_control(PPPProtocol.LCP, packet, now)
        for protocol, packet in self._auth.packets():
            self._emit_control(protocol, packet, now)
        for protocol, ncp in self._ncps.items():
            for packet in ncp.control.packets_to_send():
                self._emit_control(protocol, packet, now)

    def _emit_control(self, protocol: int, packet: ControlPacket, now: float) -> None:
        information = packet.encode()
        if self.trace_logger.isEnabledFor(logging.DEBUG) and self._trace_wanted(
            protocol, packet.code
        ):
            self.trace_logger.debug("sent %s", self._format(protocol, information))
        self._path.emit(protocol, information, now)

    def _trace_wanted(self, protocol: int, code: int) -> bool:
        # pppd hides LCP Echo traffic at debug level 1 once the link has come up.
        return (
            self.config.trace_echo
            or not self._ever_up
            or protocol != PPPProtocol.LCP
            or code not in (Code.ECHO_REQ, Code.ECHO_REP)
        )

    def _format(self, protocol: int, information: bytes) -> str:
        return format_packet(protocol, information, show_password=self.config.show_password)

    def _set_phase(self, phase: Phase) -> None:
        if phase is not self.phase:
            self.phase = phase
            self._events.append(PhaseChanged(phase))

    # -- internals: LCP ------------------------------------------------------------------------
    def _lcp_up(self, result: LcpResult, now: float) -> None:
        self._lcp_result = result
        self._configure_framer(result)
        for ncp in self._ncps.values():
            ncp.control.set_peer_mru(result.peer_mru)
        if self.ccp is not None:
            self.ccp.set_our_mru(result.our_mru)
        self._events.append(LinkUp(mtu=result.mtu, mru=result.our_mru))
        if result.auth_refused:
            # pppd auth.c link_established
            self.logger.warning("peer refused to authenticate: terminating link")
            self.close(
                "peer refused to authenticate",
                exit_status=ExitStatus.PEER_AUTH_FAILED,
                now=now,
            )
            return
        self._start_auth(result.our_auth, result.peer_auth, now)

    def _lcp_down(self, reason: str, now: float) -> None:
        self._lcp_result = None
        if self._mppe is not None:
            self._mppe.forget()
        self._network_down(reason, now)
        self._stop_auth(now)
        self._events.append(LinkDown(reason))
        self._configure_framer(None)
        if self.phase is not Phase.TERMINATE:
            self._set_phase(Phase.ESTABLISH)

    def _configure_framer(self, result: LcpResult | None) -> None:
        self._path.configure(result)

    # -- internals: authentication -------------------------------------------------------------
    def _start_auth(
        self, ours: AuthProtocol | None, theirs: AuthProtocol | None, now: float
    ) -> None:
        """Start the Authenticate phase for the directions LCP negotiated (pppd)."""
        factory = self.config.auth
        wanted: Sequence[tuple[Role, AuthProtocol | None, EngineFactory | None]] = (
            (Role.AUTHENTICATOR, ours, factory.authenticator if factory else None),
            (Role.PEER, theirs, factory.peer if factory else None),
        )
        missing = self._auth.start(wanted)
        if missing is not None:
            reason = f"no authentication engine for {missing.method}"
            self._fail_auth(missing.role, missing.method, reason, now)
        elif self._auth.running:
            self._set_phase(Phase.AUTHENTICATE)
            self._auth.begin(now)
        else:
            self._enter_network(now)

    def _on_auth(self, engine: AuthEngine, event: AuthEvent, now: float) -> None:
        match event:
            case AuthSuccess():
                self._events.append(AuthSucceeded(engine.method, event.role, event.name))
                if self._mppe is not None:
                    self._mppe.authenticated(event.role, engine.method, event.mppe_keys)
                if event.role is Role.AUTHENTICATOR:
                    self.peer_authenticated_as = event.name
                    if event.addresses is not None and self._ipcp_negotiator is not None:
                        self._ipcp_negotiator.set_allowed_remote(event.addresses)
                if self._auth.settle(event.role) and self.phase is Phase.AUTHENTICATE:
                    self._enter_network(now)
            case AuthFailure():
                self._events.append(
                    AuthFailed(engine.method, event.role, event.reason, event.exit_status)
                )
                if self.exit_status is None:
                    self.exit_status = event.exit_status
                self.close(event.reason, exit_status=event.exit_status, now=now)
            case _:  # LoginCheckNeeded, ExternalCheckNeeded: the shell answers
                self._events.append(self._auth.expect(event, engine))

    def _fail_auth(self, role: Role, method: AuthMethod, reason: str, now: float) -> None:
        status = (
            ExitStatus.PEER_AUTH_FAILED
            if role is Role.AUTHENTICATOR
            else ExitStatus.AUTH_TOPEER_FAILED
        )
        self.logger.error("%s", reason)
        self._events.append(AuthFailed(method, role, reason, status))
        self.close("Authentication failed", exit_status=status, now=now)

    def _stop_auth(self, now: float) -> None:
        self._auth.stop(flush=lambda protocol, packet: self._emit_control(protocol, packet, now))

    # -- internals: the network phase ----------------------------------------------------------
    def _dead(self, reason: str, now: float) -> None:
        if self.phase is Phase.DEAD:
            return
        self._network_down(reason, now)
        self._stop_auth(now)
        if self._looped_back:
            self.exit_status = ExitStatus.LOOPBACK
        if self.exit_status is None:
            self.exit_status = ExitStatus.OK if self._ever_up else ExitStatus.NEGOTIATION_FAILED
        self._set_phase(Phase.DEAD)
        # LCP's lower layer goes with the link (Closed -> Initial, Stopped -> Starting), so a
        # later open() starts a fresh negotiation; what it reports now is moot.
        self.lcp.down(reason, now)
        self._inbox.clear()
        self._events.append(LinkTerminated(self.exit_status, reason))
