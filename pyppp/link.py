"""One PPP link: the RFC 1661 §3.2 phases over the framer, LCP, authentication and IPCP.

Theory of operation
-------------------
A :class:`Link` is pppd's main loop without the I/O. The owner (the asyncio shell, a test, or a
library user) feeds it the bytes read from the line and the IP packets to send, and gets back
the bytes to write, the events to act on and the next deadline::

    link.open(now)                      # the line is ready: start LCP
    link.receive_data(data, now)        # bytes read from the line (any chunking)
    link.send_ip(packet, now)           # an IP datagram to carry
    link.data_to_send() -> bytes        # bytes for the line, HDLC-framed
    link.next_event() -> Event | None   # NetworkUp, IpReceived, LinkTerminated ...
    link.get_timer() -> float | None    # when to call handle_timer(now)

The phases (RFC 1661 §3.2) decide which protocols may pass:

* Link Dead -> Link Establishment: only LCP. "Any non-LCP packets received during this phase
  MUST be silently discarded." (§3.3)
* Authentication: LCP and the authentication protocols; everything else is discarded (§3.5).
  Each direction runs its own engine (pppd: "server" and "client"); the Network phase starts
  only when every direction that was asked for has succeeded.
* Network-Layer Protocol: IPCP, IP; a protocol we do not run is answered with an LCP
  Protocol-Reject (§5.7), which is how pppd turns down CCP, IPv6CP and the like.
* Link Termination: LCP Terminate-Request/Ack, then Link Dead with pppd's exit status.

Peer faults never raise: they are counted and logged at debug level. The trace of control
packets is pppd's (``sent [LCP ConfReq id=0x1 <asyncmap 0x0> ...]``) on the
``pyppp.trace`` logger at DEBUG level.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from pyppp import hdlc
from pyppp.auth.base import AuthFailure, AuthProtocol, AuthSuccess, Role
from pyppp.auth.base import LoginCheckRequested as AuthLoginCheck
from pyppp.errors import ExitStatus, MalformedPacket
from pyppp.events import (
    AuthFailed,
    AuthSucceeded,
    Event,
    IpReceived,
    LinkDown,
    LinkTerminated,
    LinkUp,
    LoginCheckRequested,
    NetworkDown,
    NetworkUp,
    Phase,
    PhaseChanged,
)
from pyppp.fsm import ControlProtocol, FsmConfig, LayerEvent, LayerEventKind, State
from pyppp.ipcp.negotiator import IpcpConfig, IpcpNegotiator
from pyppp.lcp.negotiator import LcpConfig, LcpNegotiator
from pyppp.lcp.protocol import LcpControlProtocol
from pyppp.packet import Code, ControlPacket
from pyppp.packet import Protocol as PPPProtocol
from pyppp.trace import format_packet
from pyppp.util import NOTICE, Rng

__all__ = ["AuthFactory", "Link", "LinkConfig", "LinkStats"]

# pppd(8) EXIT STATUS values the core decides (the shell adds its own: 1, 2, 6, 7, 8, 16...).
EXIT_OK: Final = ExitStatus.OK
EXIT_USER_REQUEST: Final = ExitStatus.USER_REQUEST
EXIT_NEGOTIATION_FAILED: Final = ExitStatus.NEGOTIATION_FAILED
EXIT_PEER_AUTH_FAILED: Final = ExitStatus.PEER_AUTH_FAILED
EXIT_IDLE_TIMEOUT: Final = ExitStatus.IDLE_TIMEOUT
EXIT_CONNECT_TIME: Final = ExitStatus.CONNECT_TIME
EXIT_PEER_DEAD: Final = ExitStatus.PEER_DEAD
EXIT_HANGUP: Final = ExitStatus.HANGUP
EXIT_LOOPBACK: Final = ExitStatus.LOOPBACK

_AUTH_NAMES: Final[dict[int, str]] = {PPPProtocol.PAP: "PAP", PPPProtocol.CHAP: "CHAP"}
# RFC 1661 §6.1: "an implementation MUST be able to receive the full 1500 octet Information
# field in case link synchronization is lost", whatever MRU was negotiated.
_MIN_RECEIVE: Final = 1500


class AuthFactory(Protocol):
    """Builds the authentication engines once LCP has settled who authenticates how."""

    def authenticator(self, protocol: int) -> AuthProtocol | None:
        """Return the engine that checks the peer with ``protocol``, or ``None`` if we can't."""
        ...

    def peer(self, protocol: int) -> AuthProtocol | None:
        """Return the engine that authenticates us with ``protocol``, or ``None``."""
        ...


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """Everything a link needs, already checked (the CLI builds it from pppd's options).

    Attributes:
        lcp: LCP option policy. lcp_fsm: LCP counters/flags (``passive``, ``silent``).
        ipcp: IPCP policy, or ``None`` to run no network protocol.
        ipcp_fsm: IPCP counters.
        auth: builds PAP/CHAP engines; required when LCP may negotiate authentication.
        echo_interval, echo_failure: pppd's ``lcp-echo-interval`` / ``lcp-echo-failure``.
        escape: extra bytes to escape on transmit (pppd's ``escape``).
        idle: pppd's ``idle``: seconds without IP traffic before hanging up (0: never).
        max_connect: pppd's ``maxconnect``: seconds of Network phase allowed (0: no limit).
        show_password: print PAP passwords in the trace (pppd ``show-password``).
        trace_echo: also trace LCP Echo packets once the link is up (pppd ``debug debug``).
        defer_network_log: leave pppd's "local  IP address ..." lines to whoever handles
            :class:`~pyppp.events.NetworkUp` (in ``messages``), so that a shell prints them
            once the interface is really configured, as pppd does.
    """

    lcp: LcpConfig = field(default_factory=LcpConfig)
    lcp_fsm: FsmConfig = field(default_factory=FsmConfig)
    ipcp: IpcpConfig | None = field(default_factory=IpcpConfig)
    ipcp_fsm: FsmConfig = field(default_factory=FsmConfig)
    auth: AuthFactory | None = None
    echo_interval: float = 0.0
    echo_failure: int = 0
    escape: frozenset[int] = frozenset()
    idle: float = 0.0
    max_connect: float = 0.0
    show_password: bool = False
    trace_echo: bool = False
    defer_network_log: bool = False


@dataclass(slots=True)
class LinkStats:
    """Counters pppd reports at the end ("Sent N bytes, received M bytes.") and more."""

    bytes_sent: int = 0
    bytes_received: int = 0
    frames_sent: int = 0
    frames_received: int = 0
    discarded: Counter[str] = field(default_factory=Counter)


class Link:
    """A PPP link as a sans-IO state machine (see the module docstring).

    Args:
        config: the link's options.
        rng: random bytes (magic numbers, CHAP challenges).
        logger: where pppd's lines go (``pyppp`` by default).
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
        # Control frames jump the queue of IP frames, so a burst of bulk data can never delay
        # an Echo-Reply or a Terminate-Ack by more than what the shell has already written.
        self._out_control: list[bytes] = []
        self._out_data: deque[bytes] = deque()
        self._out_data_bytes = 0
        self._deframer = hdlc.Deframer(accm=self._initial_receive_accm(), mru=_MIN_RECEIVE)
        self._encoder = hdlc.FrameEncoder(accm=0xFFFFFFFF, escape=config.escape)
        self._lcp_negotiator = LcpNegotiator(config.lcp, rng, logger=self.logger)
        self.lcp = LcpControlProtocol(
            self._lcp_negotiator,
            config.lcp_fsm,
            echo_interval=config.echo_interval,
            echo_failure=config.echo_failure,
            logger=self.logger,
        )
        self._ipcp_negotiator: IpcpNegotiator | None = None
        self.ipcp: ControlProtocol | None = None
        if config.ipcp is not None:
            self._ipcp_negotiator = IpcpNegotiator(config.ipcp, logger=self.logger)
            self.ipcp = ControlProtocol(self._ipcp_negotiator, config.ipcp_fsm, logger=self.logger)
        self._auth: list[AuthProtocol] = []
        self._auth_pending: set[Role] = set()
        self._login_engines: dict[int, AuthProtocol] = {}
        self._rejected: set[int] = set()
        self._mtu = 1500
        self._network_up = False
        self._ever_up = False
        self._idle_deadline: float | None = None
        self._connect_deadline: float | None = None
        self._terminate_reason = ""
        self.peer_authenticated_as: str | None = None
        self._loopback_reported = False

    # -- properties ----------------------------------------------------------------------------
    @property
    def network_up(self) -> bool:
        """True while IPCP is Opened and IP may flow."""
        return self._network_up

    @property
    def mtu(self) -> int:
        """The largest IP packet we may send (the peer's MRU, capped by ``mtu``)."""
        return self._mtu

    # -- administrative ------------------------------------------------------------------------
    def open(self, now: float) -> None:
        """The line is ready: administrative Open and lower-layer Up for LCP (RFC 1661 §3.2)."""
        if self.phase is not Phase.DEAD:
            return
        self.exit_status = None
        self._ever_up = False
        self._rejected.clear()
        self._loopback_reported = False
        self.peer_authenticated_as = None
        self._set_phase(Phase.ESTABLISH)
        self.lcp.open(now)
        self.lcp.up(now)
        self._process(now)

    def close(
        self, now: float, reason: str = "User request", *, exit_status: int = EXIT_USER_REQUEST
    ) -> None:
        """Terminate the link gracefully (LCP Terminate-Request), as pppd on SIGTERM.

        Args:
            now: the caller's clock.
            reason: the text of the Terminate-Request (pppd: "User request").
            exit_status: pppd's exit status to report when the link is dead.
        """
        if self.exit_status is None:
            self.exit_status = exit_status
        self._terminate_reason = reason
        if self.phase is Phase.DEAD:
            return
        if self.lcp.state in (State.INITIAL, State.STARTING, State.CLOSED, State.STOPPED):
            self.lcp.close(now, reason)
            self._process(now)
            self._dead(now, reason)
            return
        self._set_phase(Phase.TERMINATE)
        self.lcp.close(now, reason)
        self._process(now)

    def lower_down(self, now: float, reason: str = "Modem hangup") -> None:
        """The line itself went away (hang-up, EOF): no more bytes can be exchanged."""
        if self.phase is Phase.DEAD:
            return
        if self.exit_status is None:
            self.exit_status = EXIT_HANGUP
        self._terminate_reason = reason
        self.lcp.down(now, reason)
        self.lcp.close(now, reason)
        self._process(now)
        self._dead(now, reason)

    def login_result(self, request_id: int, ok: bool, now: float) -> None:
        """Answer a :class:`~pyppp.events.LoginCheckRequested` (system password check)."""
        engine = self._login_engines.pop(request_id, None)
        if engine is not None:
            answer = getattr(engine, "login_result", None)
            if answer is not None:
                answer(request_id, ok, now)
        self._process(now)

    # -- data ----------------------------------------------------------------------------------
    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes read from the line, in any chunking. Never raises on garbage."""
        if self.phase is Phase.DEAD:
            # RFC 1661 §3.1 Link Dead: nothing is received until the link is opened again.
            self.stats.discarded["link dead"] += 1
            return
        frames = self._deframer.feed(data)
        if not frames:
            return
        stats = self.stats
        control = False
        for protocol, information in frames:
            stats.frames_received += 1
            stats.bytes_received += len(information) + 2
            self._receive_frame(protocol, information, now)
            if protocol != PPPProtocol.IP:
                # A control packet may change the phase (LCP opens, authentication ends), and
                # the next frame of the same read must be judged in the new phase.
                control = True
                self._process(now)
        if control:
            self._process(now)

    def send_ip(self, packet: bytes, now: float) -> bool:
        """Queue an IPv4 datagram; returns ``False`` (and drops it) if IP cannot flow now."""
        if not self._network_up or PPPProtocol.IP in self._rejected:
            self.stats.discarded["ip before network up"] += 1
            return False
        if len(packet) > self._mtu:
            self.stats.discarded["ip larger than mtu"] += 1
            return False
        if not packet or packet[0] >> 4 != 4:
            # Protocol 0x0021 carries IPv4 only (the kernel also routes IPv6 into a TUN).
            self.stats.discarded["not ipv4"] += 1
            return False
        self._touch_idle(now)
        self._emit(PPPProtocol.IP, packet)
        return True

    def send_ips(self, packets: Sequence[bytes], now: float) -> int:
        """Queue a burst of IPv4 datagrams (what one read of the TUN device gave).

        The same as :meth:`send_ip` for each packet, framed in one call so the per-packet cost
        stays low for small packets. Returns how many were queued (the rest were dropped).
        """
        if not self._network_up or PPPProtocol.IP in self._rejected:
            self.stats.discarded["ip before network up"] += len(packets)
            return 0
        mtu = self._mtu
        # Protocol 0x0021 carries IPv4 only: the kernel also routes IPv6 (router solicitations,
        # MLD) into a TUN interface, and IPv6CP is not running.
        fitting = [p for p in packets if len(p) <= mtu and p and p[0] >> 4 == 4]
        if len(fitting) != len(packets):
            self.stats.discarded["ip not sent (size or version)"] += len(packets) - len(fitting)
        if not fitting:
            return 0
        self._touch_idle(now)
        frames = self._encoder.encode_many(PPPProtocol.IP, fitting)
        self.stats.frames_sent += len(frames)
        self.stats.bytes_sent += sum(map(len, fitting)) + 2 * len(fitting)
        self._out_data.extend(frames)
        self._out_data_bytes += sum(map(len, frames))
        return len(frames)

    def data_to_send(self, limit: int | None = None) -> bytes:
        """Return (and forget) framed bytes for the line: control frames first, then IP.

        Args:
            limit: stop adding IP frames once this many bytes are collected (control frames
                are always all returned), so the shell can keep its write buffer short.
        """
        if not self._out_control and not self._out_data:
            return b""
        out = self._out_control
        self._out_control = []
        size = sum(map(len, out))
        while self._out_data and (limit is None or size < limit):
            frame = self._out_data.popleft()
            self._out_data_bytes -= len(frame)
            out.append(frame)
            size += len(frame)
        return b"".join(out)

    @property
    def pending_bytes(self) -> int:
        """Framed IP bytes queued and not yet taken by :meth:`data_to_send`."""
        return self._out_data_bytes

    def next_event(self) -> Event | None:
        """Return the next event, or ``None``."""
        return self._events.popleft() if self._events else None

    # -- time ----------------------------------------------------------------------------------
    def get_timer(self) -> float | None:
        """The earliest deadline of every protocol, or ``None``."""
        earliest = self.lcp.get_timer()
        candidates = [self._idle_deadline, self._connect_deadline]
        if self.ipcp is not None:
            candidates.append(self.ipcp.get_timer())
        for engine in self._auth:
            candidates.append(engine.get_timer())
        for deadline in candidates:
            if deadline is not None and (earliest is None or deadline < earliest):
                earliest = deadline
        return earliest

    def handle_timer(self, now: float) -> None:
        """Run every deadline that has passed."""
        self.lcp.handle_timer(now)
        if self.lcp.peer_dead:
            # pppd LcpLinkFailure: status EXIT_PEER_DEAD, lcp_close("Peer not responding").
            self.lcp.peer_dead = False
            self.close(now, "Peer not responding", exit_status=EXIT_PEER_DEAD)
        # LCP may have gone down just now: the other timers must see that first.
        self._process(now)
        if self.ipcp is not None:
            self.ipcp.handle_timer(now)
        for engine in list(self._auth):
            deadline = engine.get_timer()
            if deadline is not None and now >= deadline:
                engine.handle_timer(now)
        if self._idle_deadline is not None and now >= self._idle_deadline:
            self._idle_deadline = None
            # pppd auth.c check_idle
            self.logger.log(NOTICE, "Terminating connection due to lack of activity.")
            self.close(now, "Link inactive", exit_status=EXIT_IDLE_TIMEOUT)
        if self._connect_deadline is not None and now >= self._connect_deadline:
            self._connect_deadline = None
            self.logger.info("Connect time expired")
            self.close(now, "Connect time expired", exit_status=EXIT_CONNECT_TIME)
        self._process(now)

    # -- internals: receive --------------------------------------------------------------------
    def _receive_frame(self, protocol: int, information: bytes, now: float) -> None:
        if protocol == PPPProtocol.IP and self._network_up:
            # The data path: nothing else to decide for an IP packet once IPCP is up.
            if self._idle_deadline is not None:
                self._idle_deadline = now + self.config.idle
            self._events.append(IpReceived(information))
            return
        code = information[0] if information else 0
        if (
            protocol != PPPProtocol.IP
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
            engines = [e for e in self._auth if e.protocol == protocol]
            if not engines:
                self._reject_protocol(protocol, information)
                return
            try:
                packet = ControlPacket.decode(information)
            except MalformedPacket:
                self._drop("malformed authentication packet")
                return
            for engine in engines:
                engine.receive(packet, now)
            return
        if self.phase is Phase.AUTHENTICATE:
            # RFC 1661 §3.5: "All other packets received during this phase MUST be silently
            # discarded."
            self._drop(f"{protocol:#06x} during authentication")
            return
        if protocol == PPPProtocol.IPCP and self.ipcp is not None:
            self.ipcp.receive(information, now)
        elif protocol == PPPProtocol.IP and self.ipcp is not None:
            if self._network_up:
                self._touch_idle(now)
                self._events.append(IpReceived(information))
            else:
                self._drop("IP before IPCP opened")
        else:
            self._reject_protocol(protocol, information)

    def _reject_protocol(self, protocol: int, information: bytes) -> None:
        self.logger.debug("Unsupported protocol 0x%x received", protocol)
        self.stats.discarded["unsupported protocol"] += 1
        self.lcp.send_protocol_reject(protocol, information)

    def _drop(self, why: str) -> None:
        self.stats.discarded[why] += 1
        self.logger.debug("discarded: %s", why)

    # -- internals: the phase machine ----------------------------------------------------------
    def _process(self, now: float) -> None:
        """Drain every protocol's output and events until nothing changes."""
        for _ in range(64):  # each pass can open or close a layer; a handful always suffice
            progressed = False
            if self._lcp_negotiator.looped_back and not self._loopback_reported:
                # pppd lcp.c: the peer keeps Nak'ing our magic number with our own value.
                self._loopback_reported = True
                self.logger.log(NOTICE, "Serial line is looped back.")
                self.exit_status = EXIT_LOOPBACK
                self.close(now, "Loopback detected", exit_status=EXIT_LOOPBACK)
            while (layer_event := self.lcp.next_event()) is not None:
                progressed = True
                self._on_lcp(layer_event, now)
            while self.lcp.rejected_protocols:
                progressed = True
                self._on_protocol_rejected(self.lcp.rejected_protocols.popleft(), now)
            if self.ipcp is not None:
                while (layer_event := self.ipcp.next_event()) is not None:
                    progressed = True
                    self._on_ipcp(layer_event, now)
            for engine in list(self._auth):
                while (auth_event := engine.next_event()) is not None:
                    progressed = True
                    self._on_auth(engine, auth_event, now)
            self._flush()
            if not progressed:
                return

    def _flush(self) -> None:
        # Phase order: an Authenticate-Ack must leave before the IPCP request it unlocks, or
        # the peer (still authenticating) would discard that request.
        for packet in self.lcp.packets_to_send():
            self._emit_control(PPPProtocol.LCP, packet)
        for engine in self._auth:
            for packet in engine.packets_to_send():
                self._emit_control(engine.protocol, packet)
        if self.ipcp is not None:
            for packet in self.ipcp.packets_to_send():
                self._emit_control(PPPProtocol.IPCP, packet)

    def _emit_control(self, protocol: int, packet: ControlPacket) -> None:
        information = packet.encode()
        if self.trace_logger.isEnabledFor(logging.DEBUG) and self._trace_wanted(
            protocol, packet.code
        ):
            self.trace_logger.debug("sent %s", self._format(protocol, information))
        self._emit(protocol, information)

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

    def _emit(self, protocol: int, information: bytes) -> None:
        self.stats.frames_sent += 1
        self.stats.bytes_sent += len(information) + 2
        frame = self._encoder.encode(protocol, information)
        if protocol == PPPProtocol.IP:
            self._out_data.append(frame)
            self._out_data_bytes += len(frame)
        else:
            self._out_control.append(frame)

    def _set_phase(self, phase: Phase) -> None:
        if phase is not self.phase:
            self.phase = phase
            self._events.append(PhaseChanged(phase))

    def _on_lcp(self, event: LayerEvent, now: float) -> None:
        match event.kind:
            case LayerEventKind.UP:
                self._lcp_up(now)
            case LayerEventKind.DOWN:
                self.lcp.stop_keepalive()
                self._network_down(now, event.reason or "LCP down")
                self._stop_auth()
                self._events.append(LinkDown(event.reason))
                self._configure_framer(opened=False)
                if self.phase is not Phase.TERMINATE:
                    self._set_phase(Phase.ESTABLISH)
            case LayerEventKind.FINISHED:
                if self.lcp.timed_out and self.exit_status is None:
                    self.exit_status = EXIT_NEGOTIATION_FAILED
                self._dead(now, event.reason or self._terminate_reason)
            case LayerEventKind.STARTED:
                pass

    def _lcp_up(self, now: float) -> None:
        negotiator = self._lcp_negotiator
        result = negotiator.result
        if result is None:  # pragma: no cover - up() always sets it
            return
        self._configure_framer(opened=True)
        self._mtu = result.mtu
        self.lcp.peer_mru = result.peer_mru
        if self.ipcp is not None:
            self.ipcp.peer_mru = result.peer_mru
        self.lcp.start_keepalive(now)
        self._events.append(LinkUp(mtu=result.mtu, mru=result.our_mru))
        if result.auth_refused:
            # pppd auth.c link_established
            self.logger.warning("peer refused to authenticate: terminating link")
            self.close(now, "peer refused to authenticate", exit_status=EXIT_PEER_AUTH_FAILED)
            return
        self._start_auth(
            result.our_auth.protocol if result.our_auth is not None else None,
            result.peer_auth.protocol if result.peer_auth is not None else None,
            now,
        )

    def _configure_framer(self, *, opened: bool) -> None:
        result = self._lcp_negotiator.result if opened else None
        if result is None:
            self._encoder = hdlc.FrameEncoder(accm=0xFFFFFFFF, escape=self.config.escape)
            self._deframer.accm = self._initial_receive_accm()
            self._deframer.mru = _MIN_RECEIVE
            return
        self._encoder = hdlc.FrameEncoder(
            accm=result.peer_accm,
            escape=self.config.escape,
            acfc=result.tx_acfc,
            pfc=result.tx_pfc,
        )
        self._deframer.accm = result.our_accm
        self._deframer.mru = max(result.our_mru, _MIN_RECEIVE)

    def _initial_receive_accm(self) -> int:
        """The receive ACCM before LCP opens: the one we ask the peer to use.

        RFC 1662 §7.1 defaults it to all ones, but the peer may switch to our ACCM the moment
        it receives our Configure-Ack, and its next frame (typically PAP's Authenticate-Request)
        often arrives in the same read as the Ack that opens LCP here: filtering that read with
        all ones would delete its unescaped control octets and cost a restart period. Dropping
        only what we asked to have escaped is safe before and after opening.
        """
        lcp = self.config.lcp
        return 0xFFFFFFFF if lcp.default_asyncmap else lcp.asyncmap

    def _start_auth(self, ours: int | None, theirs: int | None, now: float) -> None:
        """Start the Authenticate phase for the directions LCP negotiated (pppd)."""
        self._auth = []
        self._auth_pending = set()
        factory = self.config.auth
        wanted: Sequence[tuple[Role, int | None, Callable[[int], AuthProtocol | None] | None]] = (
            (Role.AUTHENTICATOR, ours, factory.authenticator if factory else None),
            (Role.PEER, theirs, factory.peer if factory else None),
        )
        for role, protocol, make in wanted:
            if protocol is None:
                continue
            engine = make(protocol) if make is not None else None
            if engine is None:
                # Nothing can run this direction: pppd would not have agreed to it.
                reason = "no authentication engine for " + _AUTH_NAMES.get(protocol, hex(protocol))
                self._fail_auth(role, protocol, reason, now)
                return
            self._auth.append(engine)
            self._auth_pending.add(role)
        if not self._auth:
            self._enter_network(now)
            return
        self._set_phase(Phase.AUTHENTICATE)
        for engine in self._auth:
            engine.start(now)

    def _on_auth(self, engine: AuthProtocol, event: object, now: float) -> None:
        name = _AUTH_NAMES.get(engine.protocol, hex(engine.protocol))
        if isinstance(event, AuthSuccess):
            self._events.append(AuthSucceeded(name, event.role.value, event.name))
            if event.role is Role.AUTHENTICATOR:
                self.peer_authenticated_as = event.name
                if event.addresses is not None and self._ipcp_negotiator is not None:
                    self._ipcp_negotiator.set_allowed_remote(event.addresses)
            self._auth_pending.discard(event.role)
            if not self._auth_pending and self.phase is Phase.AUTHENTICATE:
                self._enter_network(now)
        elif isinstance(event, AuthFailure):
            self._events.append(AuthFailed(name, event.role.value, event.reason, event.exit_status))
            if self.exit_status is None:
                self.exit_status = event.exit_status
            self.close(now, event.reason, exit_status=event.exit_status)
        elif isinstance(event, AuthLoginCheck):
            self._login_engines[event.request_id] = engine
            self._events.append(LoginCheckRequested(event.request_id, event.user, event.password))

    def _fail_auth(self, role: Role, protocol: int, reason: str, now: float) -> None:
        status = (
            EXIT_PEER_AUTH_FAILED if role is Role.AUTHENTICATOR else ExitStatus.AUTH_TOPEER_FAILED
        )
        name = _AUTH_NAMES.get(protocol, hex(protocol))
        self.logger.error("%s", reason)
        self._events.append(AuthFailed(name, role.value, reason, status))
        self.close(now, "Authentication failed", exit_status=status)

    def _stop_auth(self) -> None:
        for engine in self._auth:
            # pppd sends the final AuthNak/Failure before lcp_close's Terminate-Request: flush
            # what the engine queued along with its failure before dropping it.
            for packet in engine.packets_to_send():
                self._emit_control(engine.protocol, packet)
            engine.stop()
        self._auth = []
        self._auth_pending = set()

    def _enter_network(self, now: float) -> None:
        self._set_phase(Phase.NETWORK)
        if self.config.max_connect > 0:
            self._connect_deadline = now + self.config.max_connect
        if self.ipcp is None:
            return
        self.ipcp.open(now)
        self.ipcp.up(now)

    def _on_protocol_rejected(self, protocol: int, now: float) -> None:
        # RFC 1661 §5.7: "Upon reception of a Protocol-Reject, the implementation MUST stop
        # sending packets of the indicated protocol at the earliest opportunity."
        self._rejected.add(protocol)
        if protocol == PPPProtocol.IPCP and self.ipcp is not None:
            # pppd lcp_rprotrej (debug level)
            self.logger.debug(
                "Protocol-Reject for 'Internet Protocol Control Protocol' (0x8021) received"
            )
            self.ipcp.protocol_rejected(now)
        for engine in self._auth:
            if engine.protocol == protocol:
                engine.protocol_rejected(now)

    def _on_ipcp(self, event: LayerEvent, now: float) -> None:
        negotiator = self._ipcp_negotiator
        assert negotiator is not None
        assert self.ipcp is not None
        match event.kind:
            case LayerEventKind.UP:
                lines = tuple(negotiator.log_lines())
                failure = negotiator.failure
                if failure is not None or negotiator.local is None or negotiator.remote is None:
                    for level, line in lines:
                        self.logger.log(level, "%s", line)
                    reason = failure.reason if failure is not None else "IPCP failed"
                    self.ipcp.close(now, reason)
                    return
                if not self.config.defer_network_log:
                    for level, line in lines:
                        self.logger.log(level, "%s", line)
                self._network_up = True
                self._ever_up = True
                if self.exit_status is None or self.exit_status == EXIT_NEGOTIATION_FAILED:
                    self.exit_status = None
                self._touch_idle(now)
                self._events.append(
                    NetworkUp(
                        negotiator.local,
                        negotiator.remote,
                        negotiator.dns,
                        mtu=self._mtu,
                        messages=lines,
                    )
                )
            case LayerEventKind.DOWN:
                # IPCP's own This-Layer-Down (renegotiation, Close, Protocol-Reject): IPCP goes
                # on by itself; only LCP going down takes IPCP's lower layer away.
                self._network_gone(event.reason or "IPCP down")
            case LayerEventKind.FINISHED:
                if self.phase is Phase.NETWORK:
                    # pppd auth.c np_finished: with no network protocol left, close the link.
                    self.close(
                        now,
                        "No network protocols running",
                        exit_status=EXIT_OK if self._ever_up else EXIT_NEGOTIATION_FAILED,
                    )
            case LayerEventKind.STARTED:
                pass

    def _network_down(self, now: float, reason: str) -> None:
        if self.ipcp is not None and self.ipcp.state not in (State.INITIAL, State.STARTING):
            self.ipcp.down(now)
        self._network_gone(reason)

    def _network_gone(self, reason: str) -> None:
        """IP can no longer flow: stop the idle/connect timers and report it (pppd np_down)."""
        self._idle_deadline = None
        self._connect_deadline = None
        if self._out_data:
            # IP flows only in the Network phase (RFC 1661 §3.2): frames still queued were
            # framed for a link that is gone and must not follow our Terminate-Ack.
            self.stats.discarded["ip queued at network down"] += len(self._out_data)
            self._out_data.clear()
            self._out_data_bytes = 0
        if self._network_up:
            self._network_up = False
            self._events.append(NetworkDown(reason))

    def _touch_idle(self, now: float) -> None:
        if self.config.idle > 0 and self._network_up:
            self._idle_deadline = now + self.config.idle

    def _dead(self, now: float, reason: str) -> None:
        if self.phase is Phase.DEAD:
            return
        self._network_down(now, reason)
        self._stop_auth()
        self.lcp.stop_keepalive()
        if self._lcp_negotiator.looped_back:
            self.exit_status = EXIT_LOOPBACK
        if self.exit_status is None:
            self.exit_status = EXIT_OK if self._ever_up else EXIT_NEGOTIATION_FAILED
        self._set_phase(Phase.DEAD)
        # LCP's lower layer goes with the link (Closed -> Initial, Stopped -> Starting), so a
        # later open() starts a fresh negotiation; the This-Layer-Started it may report is moot.
        self.lcp.down(now)
        while self.lcp.next_event() is not None:
            pass
        self._events.append(LinkTerminated(self.exit_status, reason))
