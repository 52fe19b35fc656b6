"""The generic control protocol: the RFC 1661 automaton driven by packets, with a negotiator.

Theory of operation
-------------------
:class:`ControlProtocol` is pppd's ``fsm.c`` around the table of :mod:`pyppp.fsm`: it turns
received packets into automaton events, performs the actions the automaton returns (building
Configure/Terminate/Code-Reject packets, asking the protocol's
:class:`~pyppp.options.Negotiator` what to request and how to answer) and reports to the layer
above through **one typed event channel**: every control protocol is given a ``report``
callable and calls it with a :data:`LayerEvent` the moment something happens.

* :class:`LayerUp` (This-Layer-Up) carries the negotiated result (``LcpResult``, ``IpcpResult``
  ...), so the owner never reads a negotiator's internals;
* :class:`LayerDown` (This-Layer-Down) and :class:`LayerStarted` (This-Layer-Started);
* :class:`LayerFinished` (This-Layer-Finished) says why, and whether Configure-Requests timed
  out (pppd's ``EXIT_NEGOTIATION_FAILED``);
* LCP adds :class:`ProtocolRejected`, :class:`PeerDead` and :class:`LoopedBack`.

The owner (a :class:`~pyppp.link.Link`) gives every protocol the same ``report`` (its inbox's
``append``) and drains the inbox until it is empty after each input: no flags to poll. A
protocol built without ``report`` queues its events for :meth:`ControlProtocol.next_event`, which
is what unit tests use. Adding a protocol is one negotiator (and its option codecs) plus one
registration in the link.

Nothing here does I/O or reads a clock: packets go out through
:meth:`ControlProtocol.packets_to_send`, time comes in as ``now`` arguments, and
:meth:`ControlProtocol.get_timer` says when to call :meth:`ControlProtocol.handle_timer` next.

pppd details kept on purpose (they are visible on the wire and users' traces rely on them):
a retransmitted, unchanged Configure-Request keeps its Identifier; a reply whose Identifier is
not that of our outstanding request, or a second reply to it, is ignored; ``passive`` suppresses
This-Layer-Finished when Configure-Requests time out (the RFC's ``p`` mark); ``silent`` waits
for the peer's first packet instead of sending a Configure-Request on Up.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, Protocol, TypeVar

from pyppp.errors import MalformedPacket
from pyppp.fsm import NEGOTIATING, Action, Automaton, FsmConfig, FsmEvent, State
from pyppp.options import Negotiator, Option, decode_options, encode_options
from pyppp.packet import Code, ControlPacket
from pyppp.util import visible

__all__ = [
    "PPP_MRU",
    "ControlLayer",
    "ControlProtocol",
    "LayerDown",
    "LayerEvent",
    "LayerFinished",
    "LayerStarted",
    "LayerUp",
    "LoopedBack",
    "PeerDead",
    "ProtocolRejected",
    "Report",
]

PPP_MRU: Final = 1500
"""RFC 1661 §6.1: the default Maximum-Receive-Unit, before (or without) negotiation."""

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


@dataclass(frozen=True, slots=True)
class LayerUp(Generic[R_co]):
    """This-Layer-Up (RFC 1661 §4.4 tlu): the protocol reached Opened.

    Attributes:
        protocol: the control protocol's number (0xC021 for LCP, 0x8021 for IPCP ...).
        result: what was negotiated, as the protocol's negotiator computed it.
    """

    protocol: int
    result: R_co


@dataclass(frozen=True, slots=True)
class LayerDown:
    """This-Layer-Down (tld): the protocol left Opened.

    Attributes:
        protocol: the control protocol's number.
        reason: why, e.g. ``"terminated by peer"``, ``"lower layer down"``.
    """

    protocol: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LayerStarted:
    """This-Layer-Started (tls): the protocol needs its lower layer."""

    protocol: int


@dataclass(frozen=True, slots=True)
class LayerFinished:
    """This-Layer-Finished (tlf): the protocol no longer needs its lower layer.

    Attributes:
        protocol: the control protocol's number.
        reason: why, e.g. ``"timeout"``, ``"terminated by peer"``.
        timed_out: Max-Configure Configure-Requests went unanswered (pppd's "timeout sending
            Config-Requests", exit status 10 for LCP).
    """

    protocol: int
    reason: str = ""
    timed_out: bool = False


@dataclass(frozen=True, slots=True)
class ProtocolRejected:
    """LCP received a Protocol-Reject naming ``rejected`` (RFC 1661 §5.7)."""

    rejected: int


@dataclass(frozen=True, slots=True)
class PeerDead:
    """LCP's keepalive gave up: ``unanswered`` Echo-Requests in a row (pppd LcpLinkFailure)."""

    unanswered: int


@dataclass(frozen=True, slots=True)
class LoopedBack:
    """LCP saw its own magic number come back too often: the line is looped back."""


LayerEvent = (
    LayerUp[object]
    | LayerDown
    | LayerStarted
    | LayerFinished
    | ProtocolRejected
    | PeerDead
    | LoopedBack
)
"""Everything a control protocol reports to the layer above."""

Report = Callable[[LayerEvent], None]
"""Where a control protocol reports its events (the owner's inbox)."""


# Codes below 8 are the ones every control protocol needs (RFC 1661 §5): a Code-Reject of one of
# them is catastrophic (RXJ-); a Code-Reject of an extension code is permitted (RXJ+).
_ESSENTIAL_CODES: Final = frozenset(range(1, 8))


class ControlProtocol(Generic[R]):
    """One control protocol (LCP, IPCP, ...): the automaton plus a negotiator plug-in.

    Args:
        negotiator: the protocol's option policy; its ``up()`` gives :class:`LayerUp`'s result.
        config: counters, timer and passive/silent flags.
        report: where events go (the owner's inbox); without one they queue for
            :meth:`next_event`.
        logger: where protocol-level messages go (pppd's wording).
    """

    def __init__(
        self,
        negotiator: Negotiator[R],
        config: FsmConfig | None = None,
        *,
        report: Report | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.negotiator = negotiator
        self.protocol = negotiator.protocol
        self.name = negotiator.name
        self.automaton = Automaton(config, name=negotiator.name)
        self.logger = logger or logging.getLogger(f"pyppp.{negotiator.name.lower()}")
        self._peer_mru = PPP_MRU
        self._identifier = 0
        self._request_id: int | None = None
        self._reply_seen = False
        self._nak_loops = 0
        self._received_nak_loops = 0
        self._term_reason = b""
        self._negotiation_fresh = False
        # Why we entered Closing/Stopping: the reason of the This-Layer-Finished that follows
        # when the Restart timer runs out there (a peer's Terminate-Request is not a timeout).
        self._finish_reason = ""
        self._outbox: list[ControlPacket] = []
        self._events: deque[LayerEvent] = deque()
        self._report: Report = report if report is not None else self._events.append
        self.discarded = 0

    # -- state ---------------------------------------------------------------------------------
    @property
    def state(self) -> State:
        """The automaton's current state."""
        return self.automaton.state

    @property
    def is_opened(self) -> bool:
        """True in the Opened state."""
        return self.automaton.state is State.OPENED

    # -- administrative and lower-layer events -------------------------------------------------
    def up(self, now: float) -> None:
        """The lower layer is ready to carry packets (RFC 1661 §4.3 Up)."""
        self._dispatch(FsmEvent.UP, now=now)

    def down(self, reason: str, now: float) -> None:
        """The lower layer is no longer usable (Down); ``reason`` goes into :class:`LayerDown`."""
        self._dispatch(FsmEvent.DOWN, reason=reason, now=now)

    def open(self, now: float) -> None:
        """Administrative Open: the link may be used."""
        self._dispatch(FsmEvent.OPEN, now=now)

    def close(self, reason: str, now: float) -> None:
        """Administrative Close; ``reason`` goes into the Terminate-Request."""
        self._term_reason = reason.encode("utf-8", "replace")
        self._dispatch(FsmEvent.CLOSE, reason=reason, now=now)

    def set_peer_mru(self, mru: int) -> None:
        """The peer's MRU as LCP settled it: Code-Rejects are truncated to fit (RFC 1661 §5.6)."""
        self._peer_mru = mru

    def protocol_rejected(self, now: float) -> None:
        """The peer sent a Protocol-Reject for this protocol (RXJ-, RFC 1661 §5.7)."""
        self._dispatch(FsmEvent.RXJ_MINUS, reason="protocol rejected", now=now)

    # -- timer ---------------------------------------------------------------------------------
    def get_timer(self) -> float | None:
        """The absolute time at which :meth:`handle_timer` must be called, if any."""
        return self.automaton.deadline

    def handle_timer(self, now: float) -> None:
        """Run the Restart timer if it has expired."""
        event = self.automaton.timeout_event(now)
        if event is None:
            return
        timed_out = event is FsmEvent.TO_MINUS and self.state in NEGOTIATING
        if timed_out:
            # pppd fsm.c: "%s: timeout sending Config-Requests"
            self.logger.warning("%s: timeout sending Config-Requests", self.name)
        reason = "timeout" if self.state in NEGOTIATING else self._finish_reason
        self._dispatch(
            event, reason=reason, retransmit=event is FsmEvent.TO_PLUS, timed_out=timed_out, now=now
        )

    # -- output --------------------------------------------------------------------------------
    def packets_to_send(self) -> list[ControlPacket]:
        """Return and forget the packets produced since the last call."""
        out, self._outbox = self._outbox, []
        return out

    def send(self, packet: ControlPacket) -> None:
        """Queue a packet of this protocol (used by extensions such as LCP's Echo)."""
        self._outbox.append(packet)

    def next_event(self) -> LayerEvent | None:
        """Return the next queued event, or ``None`` (only without a ``report`` callable)."""
        return self._events.popleft() if self._events else None

    def next_identifier(self) -> int:
        """Allocate the Identifier of a new request."""
        self._identifier = (self._identifier + 1) & 0xFF
        return self._identifier

    # -- input ---------------------------------------------------------------------------------
    def receive(self, information: bytes, now: float) -> None:
        """Handle one packet of this protocol (the frame's Information field).

        Malformed packets are silently discarded (RFC 1661 §5); they never raise.
        """
        try:
            packet = ControlPacket.decode(information)
        except MalformedPacket as exc:
            self._discard(f"malformed packet: {exc}")
            return
        if self.state in (State.INITIAL, State.STARTING):
            # The lower layer is not up for this protocol: nothing may arrive (RFC 1661 §4.1).
            self._discard(f"packet in state {self.state.name}")
            return
        match packet.code:
            case Code.CONF_REQ:
                self._receive_configure_request(packet, now)
            case Code.CONF_ACK:
                self._receive_configure_ack(packet, now)
            case Code.CONF_NAK | Code.CONF_REJ:
                self._receive_configure_nak(packet, now)
            case Code.TERM_REQ:
                if self.state is State.OPENED:
                    # pppd fsm.c: "%s terminated by peer (%0.*v)"
                    if packet.data:
                        # %0.*v in pppd: the peer's text never reaches a log line raw.
                        reason = visible(packet.data)
                        self.logger.info("%s terminated by peer (%s)", self.name, reason)
                    else:
                        self.logger.info("%s terminated by peer", self.name)
                self._dispatch(FsmEvent.RTR, packet, reason="terminated by peer", now=now)
            case Code.TERM_ACK:
                self._dispatch(FsmEvent.RTA, packet, now=now)
            case Code.CODE_REJ:
                rejected = packet.data[0] if packet.data else 0
                self.logger.debug(
                    "%s: Rcvd Code-Reject for code %d, id %d",
                    self.name,
                    rejected,
                    packet.identifier,
                )
                event = FsmEvent.RXJ_MINUS if rejected in _ESSENTIAL_CODES else FsmEvent.RXJ_PLUS
                self._dispatch(event, packet, reason="code rejected", now=now)
            case _:
                extended = self.receive_extended(packet, now)
                self._dispatch(extended or FsmEvent.RUC, packet, now=now)

    def receive_extended(self, packet: ControlPacket, now: float) -> FsmEvent | None:
        """Handle a code beyond Code-Reject; return the automaton event, or ``None`` for RUC.

        The base protocol knows none (IPCP answers them with Code-Reject); LCP overrides this
        for Protocol-Reject, Echo and Discard.
        """
        return None

    def send_echo_reply(self, request: ControlPacket, now: float) -> None:
        """Perform the ``ser`` action; only LCP has Echo, so the base class has nothing to do."""

    def this_layer_up(self, result: R, now: float) -> None:
        """A hook run at This-Layer-Up, before the event is reported (LCP starts keepalive)."""

    def this_layer_down(self, now: float) -> None:
        """A hook run at This-Layer-Down, before the event is reported."""

    def report(self, event: LayerEvent) -> None:
        """Report an event of this protocol to the owner (for subclasses' own events)."""
        self._report(event)

    def _receive_configure_request(self, packet: ControlPacket, now: float) -> None:
        state = self.state
        if state in (State.CLOSED, State.CLOSING, State.STOPPING):
            # Closed answers with a Terminate-Ack; Closing/Stopping ignore it (no review needed).
            self._dispatch(FsmEvent.RCR_PLUS, packet, now=now)
            return
        try:
            options = decode_options(packet.data, self.negotiator.codecs)
        except MalformedPacket as exc:
            self._discard(f"bad Configure-Request: {exc}")
            return
        if state in (State.STOPPED, State.OPENED):
            # The cell's scr starts a new negotiation; pppd (fsm_rconfreq) resets the options
            # *before* judging the request, so what review() records of it (the peer's MRU,
            # magic number, authentication...) survives. Resetting in scr would wipe it.
            self._start_negotiation()
            self._negotiation_fresh = True
        # RFC 1661 §4.6 Max-Failure: after that many Naks, Reject what we would Nak.
        review = self.negotiator.review(
            options, reject_if_disagree=self._nak_loops >= self.automaton.config.max_failure
        )
        if review.code is Code.CONF_ACK:
            self._nak_loops = 0
            # §5.2: "the Options field is filled with ... exactly those Options that were sent
            # in the Configure-Request": echo the bytes, not a re-encoding.
            reply = ControlPacket(Code.CONF_ACK, packet.identifier, packet.data)
            self._dispatch(FsmEvent.RCR_PLUS, packet, reply=reply, now=now)
        else:
            if review.code is Code.CONF_NAK:
                self._nak_loops += 1
            reply = ControlPacket(review.code, packet.identifier, encode_options(review.options))
            self._dispatch(FsmEvent.RCR_MINUS, packet, reply=reply, now=now)

    def _is_reply_to_current_request(self, packet: ControlPacket) -> bool:
        # RFC 1661 §5.2: the Identifier "MUST match the Identifier field of the last
        # transmitted Configure-Request"; pppd also ignores a second reply to the same one.
        if packet.identifier != self._request_id or self._reply_seen:
            self._discard(f"stale reply id=0x{packet.identifier:x}")
            return False
        return True

    def _receive_configure_ack(self, packet: ControlPacket, now: float) -> None:
        if not self._is_reply_to_current_request(packet):
            return
        if self.state in (State.REQ_SENT, State.ACK_SENT):
            try:
                options = decode_options(packet.data, self.negotiator.codecs)
            except MalformedPacket as exc:
                self._discard(f"bad Configure-Ack: {exc}")
                return
            if not self.negotiator.on_ack(options):
                self.logger.debug("%s: received bad configure-ack", self.name)
                self._discard("Configure-Ack differs from our request")
                return
        self._reply_seen = True
        self._received_nak_loops = 0
        self._dispatch(FsmEvent.RCA, packet, now=now)

    def _receive_configure_nak(self, packet: ControlPacket, now: float) -> None:
        if not self._is_reply_to_current_request(packet):
            return
        if self.state in NEGOTIATING:
            try:
                options = decode_options(packet.data, self.negotiator.codecs)
            except MalformedPacket as exc:
                self._discard(f"bad Configure-Nak/Reject: {exc}")
                return
            if packet.code == Code.CONF_REJ:
                accepted = self.negotiator.on_nak(options, rejected=True)
            else:
                # pppd: too many Naks in a row from the peer are treated as a Reject, so two
                # stubborn peers cannot loop for ever.
                self._received_nak_loops += 1
                if self._received_nak_loops >= self.automaton.config.max_failure:
                    accepted = self._nak_as_reject(options)
                else:
                    accepted = self.negotiator.on_nak(options, rejected=False)
            if not accepted:
                self.logger.debug("%s: received bad configure-nak/rej", self.name)
                self._discard("Configure-Nak/Reject names options we did not send")
                return
        self._reply_seen = True
        self._dispatch(FsmEvent.RCN, packet, now=now)

    def nak_is_never_reject(self, option: Option) -> bool:
        """Whether a Nak of ``option`` must stay a Nak even after Max-Failure Naks in a row.

        The base protocol has none; LCP keeps its Magic-Number (see its override).
        """
        return False

    def _nak_as_reject(self, options: Sequence[Option]) -> bool:
        """Apply a Nak as pppd does once ``treat_as_reject`` is set: drop what was Nak'd.

        A Nak carries the *peer's* values, and a Configure-Reject must carry ours (RFC 1661
        §5.4), so the negotiator is shown a Reject of our own options of the Nak'd types
        (pppd's nakci with ``treat_as_reject`` clears ``neg_*`` for them). Options of types
        we did not send are hints and are ignored; options the protocol keeps negotiating
        (:meth:`nak_is_never_reject`) are applied as a plain Nak.
        """
        kept = [option for option in options if self.nak_is_never_reject(option)]
        nak_types = {o.option_type for o in options if not self.nak_is_never_reject(o)}
        dropped = [o for o in self.negotiator.request() if o.option_type in nak_types]
        if not dropped:
            return self.negotiator.on_nak(options, rejected=False)
        if not self.negotiator.on_nak(dropped, rejected=True):
            return False
        return not kept or self.negotiator.on_nak(kept, rejected=False)

    # -- actions -------------------------------------------------------------------------------
    def _dispatch(
        self,
        event: FsmEvent,
        packet: ControlPacket | None = None,
        *,
        reply: ControlPacket | None = None,
        reason: str = "",
        retransmit: bool = False,
        timed_out: bool = False,
        now: float,
    ) -> None:
        previous = self.state
        actions = self.automaton.handle(event, now)
        if self.state in (State.CLOSING, State.STOPPING) and previous not in (
            State.CLOSING,
            State.STOPPING,
        ):
            self._finish_reason = reason
        for action in actions:
            match action:
                case Action.TLU:
                    result = self.negotiator.up()
                    self.this_layer_up(result, now)
                    self._report(LayerUp(self.protocol, result))
                case Action.TLD:
                    self.negotiator.down()
                    self.this_layer_down(now)
                    self._report(LayerDown(self.protocol, reason))
                case Action.TLS:
                    self._report(LayerStarted(self.protocol))
                case Action.TLF:
                    self._report(LayerFinished(self.protocol, reason, timed_out))
                case Action.SCR:
                    self._send_configure_request(previous, retransmit=retransmit)
                case Action.SCA | Action.SCN:
                    if reply is not None:
                        self._outbox.append(reply)
                case Action.STR:
                    self._outbox.append(
                        ControlPacket(Code.TERM_REQ, self.next_identifier(), self._term_reason)
                    )
                case Action.STA:
                    identifier = packet.identifier if packet is not None else 0
                    self._outbox.append(ControlPacket(Code.TERM_ACK, identifier))
                case Action.SCJ:
                    if packet is not None:
                        self._send_code_reject(packet)
                case Action.SER:
                    if packet is not None:
                        self.send_echo_reply(packet, now)
                case Action.IRC | Action.ZRC:
                    pass  # counters and timer: the automaton keeps them

    def _start_negotiation(self) -> None:
        # pppd fsm_sconfreq: "Not currently negotiating - reset options".
        self.negotiator.reset()
        self._nak_loops = 0
        self._received_nak_loops = 0

    def _send_configure_request(self, previous: State, *, retransmit: bool) -> None:
        if previous not in NEGOTIATING and not self._negotiation_fresh:
            self._start_negotiation()
        self._negotiation_fresh = False
        if not retransmit or self._request_id is None:
            # pppd keeps the Identifier of an unchanged, retransmitted request.
            self._request_id = self.next_identifier()
        self._reply_seen = False
        options: Sequence[Option] = self.negotiator.request()
        self._outbox.append(ControlPacket(Code.CONF_REQ, self._request_id, encode_options(options)))

    def _send_code_reject(self, packet: ControlPacket) -> None:
        # RFC 1661 §5.6: the Rejected-Packet "SHOULD be truncated to comply with the peer's
        # established MRU".
        rejected = packet.encode()[: max(0, self._peer_mru - 4)]
        self.logger.debug("%s: Code-Reject for unknown code %d", self.name, packet.code)
        self._outbox.append(ControlPacket(Code.CODE_REJ, self.next_identifier(), rejected))

    def _discard(self, why: str) -> None:
        self.discarded += 1
        self.logger.debug("%s: discarded %s", self.name, why)


class ControlLayer(Protocol):
    """What an owner needs of a control protocol, whatever its result type.

    :class:`ControlProtocol` of any result type satisfies it, so a link can hold its network
    control protocols (IPCP, IPv6CP, CCP) in one table.
    """

    @property
    def protocol(self) -> int:
        """The control protocol's number."""
        ...

    @property
    def name(self) -> str:
        """Pppd's name for it (``"IPCP"``)."""
        ...

    @property
    def state(self) -> State:
        """The automaton's state."""
        ...

    def up(self, now: float) -> None:
        """Lower layer Up."""
        ...

    def down(self, reason: str, now: float) -> None:
        """Lower layer Down."""
        ...

    def open(self, now: float) -> None:
        """Administrative Open."""
        ...

    def close(self, reason: str, now: float) -> None:
        """Administrative Close."""
        ...

    def protocol_rejected(self, now: float) -> None:
        """The peer Protocol-Rejected this protocol."""
        ...

    def set_peer_mru(self, mru: int) -> None:
        """The peer's MRU."""
        ...

    def receive(self, information: bytes, now: float) -> None:
        """One packet of this protocol."""
        ...

    def packets_to_send(self) -> list[ControlPacket]:
        """Drain the output."""
        ...

    def get_timer(self) -> float | None:
        """The next deadline."""
        ...

    def handle_timer(self, now: float) -> None:
        """Run an expired deadline."""
        ...
