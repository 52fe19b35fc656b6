"""The RFC 1661 option negotiation automaton, and the generic control protocol built on it.

Theory of operation
-------------------
RFC 1661 §4 describes every control protocol (LCP, and each NCP such as IPCP) with one finite
state automaton: 10 states, 16 events and 13 actions. pppd implements it once (``fsm.c``) and
plugs each protocol in through callbacks; pyppp does the same in two layers:

* :class:`Automaton` is the table and nothing else. ``TRANSITIONS`` is one dict literal that
  mirrors RFC 1661 §4.1 cell by cell (a test reads the RFC's own table and compares all 160
  cells). ``Automaton.handle(event, now)`` looks the cell up, moves to the next state, keeps the
  Restart counter and timer (§4.6) and *returns* the actions; it performs none of them.
* :class:`ControlProtocol` turns received packets into events, feeds them to the automaton and
  performs the returned actions: it builds Configure/Terminate/Code-Reject packets, asks the
  protocol's :class:`~pyppp.options.Negotiator` what to request and how to answer, and reports
  This-Layer-Up/Down/Started/Finished as :class:`LayerEvent` values for the link to act on.

Nothing here does I/O or reads a clock: packets go out through :meth:`ControlProtocol.
packets_to_send`, and time comes in as ``now`` arguments, with :meth:`get_timer` telling the
caller when to call :meth:`handle_timer` next.

pppd details kept on purpose (they are visible on the wire and users' traces rely on them):
a retransmitted, unchanged Configure-Request keeps its Identifier; a reply whose Identifier is
not that of our outstanding request, or a second reply to it, is ignored; ``passive`` suppresses
This-Layer-Finished when Configure-Requests time out (the RFC's ``p`` mark); ``silent`` waits
for the peer's first packet instead of sending a Configure-Request on Up.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

from pyppp.errors import MalformedPacket
from pyppp.options import Negotiator, Option, decode_options, encode_options
from pyppp.packet import Code, ControlPacket
from pyppp.util import visible

__all__ = [
    "TRANSITIONS",
    "Action",
    "Automaton",
    "ControlProtocol",
    "Event",
    "FsmConfig",
    "LayerEvent",
    "LayerEventKind",
    "State",
    "Transition",
]


class State(Enum):
    """RFC 1661 §4.2 states (the number is the RFC's column)."""

    INITIAL = 0
    STARTING = 1
    CLOSED = 2
    STOPPED = 3
    CLOSING = 4
    STOPPING = 5
    REQ_SENT = 6
    ACK_RCVD = 7
    ACK_SENT = 8
    OPENED = 9


class Event(Enum):
    """RFC 1661 §4.3 events, named as the RFC writes them."""

    UP = "Up"
    DOWN = "Down"
    OPEN = "Open"
    CLOSE = "Close"
    TO_PLUS = "TO+"
    TO_MINUS = "TO-"
    RCR_PLUS = "RCR+"
    RCR_MINUS = "RCR-"
    RCA = "RCA"
    RCN = "RCN"
    RTR = "RTR"
    RTA = "RTA"
    RUC = "RUC"
    RXJ_PLUS = "RXJ+"
    RXJ_MINUS = "RXJ-"
    RXR = "RXR"


class Action(Enum):
    """RFC 1661 §4.4 actions."""

    TLU = "tlu"  # This-Layer-Up
    TLD = "tld"  # This-Layer-Down
    TLS = "tls"  # This-Layer-Started
    TLF = "tlf"  # This-Layer-Finished
    IRC = "irc"  # Initialize-Restart-Count
    ZRC = "zrc"  # Zero-Restart-Count
    SCR = "scr"  # Send-Configure-Request
    SCA = "sca"  # Send-Configure-Ack
    SCN = "scn"  # Send-Configure-Nak/Rej
    STR = "str"  # Send-Terminate-Request
    STA = "sta"  # Send-Terminate-Ack
    SCJ = "scj"  # Send-Code-Reject
    SER = "ser"  # Send-Echo-Reply


@dataclass(frozen=True, slots=True)
class Transition:
    """One cell of the RFC 1661 §4.1 table.

    Attributes:
        actions: the actions, in the RFC's order.
        next: the state the automaton moves to.
        restart: the RFC's ``r`` mark (Restart option: an Open here may restart the link).
        passive: the RFC's ``p`` mark (Passive option: wait in Stopped instead of finishing).
    """

    actions: tuple[Action, ...]
    next: State
    restart: bool = False
    passive: bool = False


# Short aliases keep the rows below close to the RFC's own notation.
S = State
E = Event
TLU, TLD, TLS, TLF = Action.TLU, Action.TLD, Action.TLS, Action.TLF
IRC, ZRC, SCR, SCA, SCN = Action.IRC, Action.ZRC, Action.SCR, Action.SCA, Action.SCN
STR, STA, SCJ, SER = Action.STR, Action.STA, Action.SCJ, Action.SER


def _t(*actions: Action, next: State, r: bool = False, p: bool = False) -> Transition:
    return Transition(actions, next, restart=r, passive=p)


# RFC 1661 §4.1 "State Transition Table". An absent key is the RFC's "-": the event cannot
# happen in that state (illegal event), which is logged and ignored. The `x` cells (crossed
# connection: a reply to an older request arrived after we sent a new one) need no flag.
TRANSITIONS: Final[Mapping[tuple[State, Event], Transition]] = {
    # Up
    (S.INITIAL, E.UP): _t(next=S.CLOSED),
    (S.STARTING, E.UP): _t(IRC, SCR, next=S.REQ_SENT),
    # Down
    (S.CLOSED, E.DOWN): _t(next=S.INITIAL),
    (S.STOPPED, E.DOWN): _t(TLS, next=S.STARTING),
    (S.CLOSING, E.DOWN): _t(next=S.INITIAL),
    (S.STOPPING, E.DOWN): _t(next=S.STARTING),
    (S.REQ_SENT, E.DOWN): _t(next=S.STARTING),
    (S.ACK_RCVD, E.DOWN): _t(next=S.STARTING),
    (S.ACK_SENT, E.DOWN): _t(next=S.STARTING),
    (S.OPENED, E.DOWN): _t(TLD, next=S.STARTING),
    # Open
    (S.INITIAL, E.OPEN): _t(TLS, next=S.STARTING),
    (S.STARTING, E.OPEN): _t(next=S.STARTING),
    (S.CLOSED, E.OPEN): _t(IRC, SCR, next=S.REQ_SENT),
    (S.STOPPED, E.OPEN): _t(next=S.STOPPED, r=True),
    (S.CLOSING, E.OPEN): _t(next=S.STOPPING, r=True),
    (S.STOPPING, E.OPEN): _t(next=S.STOPPING, r=True),
    (S.REQ_SENT, E.OPEN): _t(next=S.REQ_SENT),
    (S.ACK_RCVD, E.OPEN): _t(next=S.ACK_RCVD),
    (S.ACK_SENT, E.OPEN): _t(next=S.ACK_SENT),
    (S.OPENED, E.OPEN): _t(next=S.OPENED, r=True),
    # Close
    (S.INITIAL, E.CLOSE): _t(next=S.INITIAL),
    (S.STARTING, E.CLOSE): _t(TLF, next=S.INITIAL),
    (S.CLOSED, E.CLOSE): _t(next=S.CLOSED),
    (S.STOPPED, E.CLOSE): _t(next=S.CLOSED),
    (S.CLOSING, E.CLOSE): _t(next=S.CLOSING),
    (S.STOPPING, E.CLOSE): _t(next=S.CLOSING),
    (S.REQ_SENT, E.CLOSE): _t(IRC, STR, next=S.CLOSING),
    (S.ACK_RCVD, E.CLOSE): _t(IRC, STR, next=S.CLOSING),
    (S.ACK_SENT, E.CLOSE): _t(IRC, STR, next=S.CLOSING),
    (S.OPENED, E.CLOSE): _t(TLD, IRC, STR, next=S.CLOSING),
    # TO+
    (S.CLOSING, E.TO_PLUS): _t(STR, next=S.CLOSING),
    (S.STOPPING, E.TO_PLUS): _t(STR, next=S.STOPPING),
    (S.REQ_SENT, E.TO_PLUS): _t(SCR, next=S.REQ_SENT),
    (S.ACK_RCVD, E.TO_PLUS): _t(SCR, next=S.REQ_SENT),
    (S.ACK_SENT, E.TO_PLUS): _t(SCR, next=S.ACK_SENT),
    # TO-
    (S.CLOSING, E.TO_MINUS): _t(TLF, next=S.CLOSED),
    (S.STOPPING, E.TO_MINUS): _t(TLF, next=S.STOPPED),
    (S.REQ_SENT, E.TO_MINUS): _t(TLF, next=S.STOPPED, p=True),
    (S.ACK_RCVD, E.TO_MINUS): _t(TLF, next=S.STOPPED, p=True),
    (S.ACK_SENT, E.TO_MINUS): _t(TLF, next=S.STOPPED, p=True),
    # RCR+
    (S.CLOSED, E.RCR_PLUS): _t(STA, next=S.CLOSED),
    (S.STOPPED, E.RCR_PLUS): _t(IRC, SCR, SCA, next=S.ACK_SENT),
    (S.CLOSING, E.RCR_PLUS): _t(next=S.CLOSING),
    (S.STOPPING, E.RCR_PLUS): _t(next=S.STOPPING),
    (S.REQ_SENT, E.RCR_PLUS): _t(SCA, next=S.ACK_SENT),
    (S.ACK_RCVD, E.RCR_PLUS): _t(SCA, TLU, next=S.OPENED),
    (S.ACK_SENT, E.RCR_PLUS): _t(SCA, next=S.ACK_SENT),
    (S.OPENED, E.RCR_PLUS): _t(TLD, SCR, SCA, next=S.ACK_SENT),
    # RCR-
    (S.CLOSED, E.RCR_MINUS): _t(STA, next=S.CLOSED),
    (S.STOPPED, E.RCR_MINUS): _t(IRC, SCR, SCN, next=S.REQ_SENT),
    (S.CLOSING, E.RCR_MINUS): _t(next=S.CLOSING),
    (S.STOPPING, E.RCR_MINUS): _t(next=S.STOPPING),
    (S.REQ_SENT, E.RCR_MINUS): _t(SCN, next=S.REQ_SENT),
    (S.ACK_RCVD, E.RCR_MINUS): _t(SCN, next=S.ACK_RCVD),
    (S.ACK_SENT, E.RCR_MINUS): _t(SCN, next=S.REQ_SENT),
    (S.OPENED, E.RCR_MINUS): _t(TLD, SCR, SCN, next=S.REQ_SENT),
    # RCA
    (S.CLOSED, E.RCA): _t(STA, next=S.CLOSED),
    (S.STOPPED, E.RCA): _t(STA, next=S.STOPPED),
    (S.CLOSING, E.RCA): _t(next=S.CLOSING),
    (S.STOPPING, E.RCA): _t(next=S.STOPPING),
    (S.REQ_SENT, E.RCA): _t(IRC, next=S.ACK_RCVD),
    (S.ACK_RCVD, E.RCA): _t(SCR, next=S.REQ_SENT),  # x
    (S.ACK_SENT, E.RCA): _t(IRC, TLU, next=S.OPENED),
    (S.OPENED, E.RCA): _t(TLD, SCR, next=S.REQ_SENT),  # x
    # RCN
    (S.CLOSED, E.RCN): _t(STA, next=S.CLOSED),
    (S.STOPPED, E.RCN): _t(STA, next=S.STOPPED),
    (S.CLOSING, E.RCN): _t(next=S.CLOSING),
    (S.STOPPING, E.RCN): _t(next=S.STOPPING),
    (S.REQ_SENT, E.RCN): _t(IRC, SCR, next=S.REQ_SENT),
    (S.ACK_RCVD, E.RCN): _t(SCR, next=S.REQ_SENT),  # x
    (S.ACK_SENT, E.RCN): _t(IRC, SCR, next=S.ACK_SENT),
    (S.OPENED, E.RCN): _t(TLD, SCR, next=S.REQ_SENT),  # x
    # RTR
    (S.CLOSED, E.RTR): _t(STA, next=S.CLOSED),
    (S.STOPPED, E.RTR): _t(STA, next=S.STOPPED),
    (S.CLOSING, E.RTR): _t(STA, next=S.CLOSING),
    (S.STOPPING, E.RTR): _t(STA, next=S.STOPPING),
    (S.REQ_SENT, E.RTR): _t(STA, next=S.REQ_SENT),
    (S.ACK_RCVD, E.RTR): _t(STA, next=S.REQ_SENT),
    (S.ACK_SENT, E.RTR): _t(STA, next=S.REQ_SENT),
    (S.OPENED, E.RTR): _t(TLD, ZRC, STA, next=S.STOPPING),
    # RTA
    (S.CLOSED, E.RTA): _t(next=S.CLOSED),
    (S.STOPPED, E.RTA): _t(next=S.STOPPED),
    (S.CLOSING, E.RTA): _t(TLF, next=S.CLOSED),
    (S.STOPPING, E.RTA): _t(TLF, next=S.STOPPED),
    (S.REQ_SENT, E.RTA): _t(next=S.REQ_SENT),
    (S.ACK_RCVD, E.RTA): _t(next=S.REQ_SENT),
    (S.ACK_SENT, E.RTA): _t(next=S.ACK_SENT),
    (S.OPENED, E.RTA): _t(TLD, SCR, next=S.REQ_SENT),
    # RUC
    (S.CLOSED, E.RUC): _t(SCJ, next=S.CLOSED),
    (S.STOPPED, E.RUC): _t(SCJ, next=S.STOPPED),
    (S.CLOSING, E.RUC): _t(SCJ, next=S.CLOSING),
    (S.STOPPING, E.RUC): _t(SCJ, next=S.STOPPING),
    (S.REQ_SENT, E.RUC): _t(SCJ, next=S.REQ_SENT),
    (S.ACK_RCVD, E.RUC): _t(SCJ, next=S.ACK_RCVD),
    (S.ACK_SENT, E.RUC): _t(SCJ, next=S.ACK_SENT),
    (S.OPENED, E.RUC): _t(SCJ, next=S.OPENED),
    # RXJ+
    (S.CLOSED, E.RXJ_PLUS): _t(next=S.CLOSED),
    (S.STOPPED, E.RXJ_PLUS): _t(next=S.STOPPED),
    (S.CLOSING, E.RXJ_PLUS): _t(next=S.CLOSING),
    (S.STOPPING, E.RXJ_PLUS): _t(next=S.STOPPING),
    (S.REQ_SENT, E.RXJ_PLUS): _t(next=S.REQ_SENT),
    (S.ACK_RCVD, E.RXJ_PLUS): _t(next=S.REQ_SENT),
    (S.ACK_SENT, E.RXJ_PLUS): _t(next=S.ACK_SENT),
    (S.OPENED, E.RXJ_PLUS): _t(next=S.OPENED),
    # RXJ-
    (S.CLOSED, E.RXJ_MINUS): _t(TLF, next=S.CLOSED),
    (S.STOPPED, E.RXJ_MINUS): _t(TLF, next=S.STOPPED),
    (S.CLOSING, E.RXJ_MINUS): _t(TLF, next=S.CLOSED),
    (S.STOPPING, E.RXJ_MINUS): _t(TLF, next=S.STOPPED),
    (S.REQ_SENT, E.RXJ_MINUS): _t(TLF, next=S.STOPPED),
    (S.ACK_RCVD, E.RXJ_MINUS): _t(TLF, next=S.STOPPED),
    (S.ACK_SENT, E.RXJ_MINUS): _t(TLF, next=S.STOPPED),
    (S.OPENED, E.RXJ_MINUS): _t(TLD, IRC, STR, next=S.STOPPING),
    # RXR
    (S.CLOSED, E.RXR): _t(next=S.CLOSED),
    (S.STOPPED, E.RXR): _t(next=S.STOPPED),
    (S.CLOSING, E.RXR): _t(next=S.CLOSING),
    (S.STOPPING, E.RXR): _t(next=S.STOPPING),
    (S.REQ_SENT, E.RXR): _t(next=S.REQ_SENT),
    (S.ACK_RCVD, E.RXR): _t(next=S.ACK_RCVD),
    (S.ACK_SENT, E.RXR): _t(next=S.ACK_SENT),
    (S.OPENED, E.RXR): _t(SER, next=S.OPENED),
}

# RFC 1661 §4.6: "the Restart timer ... is used to time transmissions of Configure-Request and
# Terminate-Request packets"; it runs only while one of those is outstanding.
TIMER_STATES: Final = frozenset({S.CLOSING, S.STOPPING, S.REQ_SENT, S.ACK_RCVD, S.ACK_SENT})
NEGOTIATING: Final = frozenset({S.REQ_SENT, S.ACK_RCVD, S.ACK_SENT})


@dataclass(frozen=True, slots=True)
class FsmConfig:
    """Counters, timer and options of one automaton (RFC 1661 §4.6; pppd's defaults).

    Attributes:
        restart_interval: seconds between retransmissions (pppd ``lcp-restart``, 3).
        max_configure: Configure-Requests sent without an answer before giving up (10).
        max_terminate: Terminate-Requests sent without an Ack before giving up (2).
        max_failure: Configure-Naks sent before Rejecting instead (5).
        passive: pppd's ``passive``: when Configure-Requests time out, wait in Stopped for the
            peer instead of finishing (the RFC's ``p`` option).
        silent: pppd's ``silent``: on Up, send nothing until the peer's first packet.
        restart: the RFC's ``r`` option: an Open in Stopped/Closing/Stopping/Opened restarts
            the link (Down then Up) instead of doing nothing.
    """

    restart_interval: float = 3.0
    max_configure: int = 10
    max_terminate: int = 2
    max_failure: int = 5
    passive: bool = False
    silent: bool = False
    restart: bool = False


class Automaton:
    """The RFC 1661 state machine: the table, the Restart counter and the Restart timer.

    It returns actions rather than performing them, so it can be tested cell by cell.
    """

    def __init__(self, config: FsmConfig | None = None, *, name: str = "FSM") -> None:
        self.config = config or FsmConfig()
        self.name = name
        self.state = State.INITIAL
        self.restart_count = 0
        self.deadline: float | None = None
        self._logger = logging.getLogger("pyppp.fsm")

    def handle(self, event: Event, now: float) -> list[Action]:
        """Apply ``event``; return the actions the owner must perform, in order."""
        transition = TRANSITIONS.get((self.state, event))
        if transition is None:
            # The RFC's "-": cannot happen in this state. Never raise on it (a peer or a race
            # in the caller may produce it); log for whoever debugs it.
            self._logger.debug(
                "%s: illegal event %s in state %s", self.name, event.value, self.state.name
            )
            return []
        actions = list(transition.actions)
        next_state = transition.next
        if event is Event.UP and self.state is State.STARTING and self.config.silent:
            # pppd's `silent`: do not initiate; wait in Stopped for the peer's Configure-Request.
            actions, next_state = [], State.STOPPED
        if transition.passive and self.config.passive:
            actions.remove(Action.TLF)
        if transition.restart and self.config.restart:
            # Restart option: behave as Down followed by Up (RFC 1661 §4.3 "Open"; pppd
            # fsm_open): the Down cell of the current state, then Starting's Up cell.
            down = {State.OPENED: [Action.TLD], State.STOPPED: [Action.TLS]}
            actions = [*down.get(self.state, []), Action.IRC, Action.SCR]
            next_state = State.REQ_SENT
        for action in actions:
            if action is Action.IRC:
                # "set to Max-Terminate or Max-Configure, as appropriate" (§4.4)
                terminating = Action.STR in actions
                self.restart_count = (
                    self.config.max_terminate if terminating else self.config.max_configure
                )
            elif action is Action.ZRC:
                # Zero the counter but run the timer once: the "wait" of §4.4 zrc.
                self.restart_count = 0
                self.deadline = now + self.config.restart_interval
            elif action in (Action.SCR, Action.STR):
                self.restart_count -= 1
                self.deadline = now + self.config.restart_interval
        self.state = next_state
        if next_state not in TIMER_STATES:
            self.deadline = None
        return actions

    def timeout_event(self, now: float) -> Event | None:
        """Return TO+ or TO- if the Restart timer has expired at ``now``, else ``None``."""
        if self.deadline is None or now < self.deadline:
            return None
        self.deadline = None
        return Event.TO_PLUS if self.restart_count > 0 else Event.TO_MINUS


class LayerEventKind(Enum):
    """What a control protocol tells the layer above (RFC 1661 §4.4 tlu/tld/tls/tlf)."""

    UP = "tlu"
    DOWN = "tld"
    STARTED = "tls"
    FINISHED = "tlf"


@dataclass(frozen=True, slots=True)
class LayerEvent:
    """This-Layer-Up/Down/Started/Finished of one control protocol.

    Attributes:
        protocol: the PPP protocol number (0xC021 for LCP, 0x8021 for IPCP ...).
        kind: which of the four.
        reason: why, for Finished/Down: e.g. ``"timeout"``, ``"terminated by peer"``.
    """

    protocol: int
    kind: LayerEventKind
    reason: str = ""


# Codes below 8 are the ones every control protocol needs (RFC 1661 §5): a Code-Reject of one of
# them is catastrophic (RXJ-); a Code-Reject of an extension code is permitted (RXJ+).
_ESSENTIAL_CODES: Final = frozenset(range(1, 8))


class ControlProtocol:
    """One control protocol (LCP, IPCP, ...): the automaton plus a negotiator plug-in.

    Args:
        negotiator: the protocol's option policy.
        config: counters, timer and passive/silent flags.
        logger: where protocol-level messages go (pppd's wording).
    """

    def __init__(
        self,
        negotiator: Negotiator,
        config: FsmConfig | None = None,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        self.negotiator = negotiator
        self.protocol = negotiator.protocol
        self.name = negotiator.name
        self.automaton = Automaton(config, name=negotiator.name)
        self.logger = logger or logging.getLogger(f"pyppp.{negotiator.name.lower()}")
        self.peer_mru = 1500
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
        self.discarded = 0
        self.timed_out = False

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
        self._dispatch(Event.UP, now)

    def down(self, now: float, reason: str = "lower layer down") -> None:
        """The lower layer is no longer usable (Down)."""
        self._dispatch(Event.DOWN, now, reason=reason)

    def open(self, now: float) -> None:
        """Administrative Open: the link may be used."""
        self._dispatch(Event.OPEN, now)

    def close(self, now: float, reason: str = "") -> None:
        """Administrative Close; ``reason`` goes into the Terminate-Request."""
        self._term_reason = reason.encode("utf-8", "replace")
        self._dispatch(Event.CLOSE, now, reason=reason)

    def protocol_rejected(self, now: float) -> None:
        """The peer sent a Protocol-Reject for this protocol (RXJ-, RFC 1661 §5.7)."""
        self._dispatch(Event.RXJ_MINUS, now, reason="protocol rejected")

    # -- timer ---------------------------------------------------------------------------------
    def get_timer(self) -> float | None:
        """The absolute time at which :meth:`handle_timer` must be called, if any."""
        return self.automaton.deadline

    def handle_timer(self, now: float) -> None:
        """Run the Restart timer if it has expired."""
        event = self.automaton.timeout_event(now)
        if event is None:
            return
        if event is Event.TO_MINUS and self.state in NEGOTIATING:
            # pppd fsm.c: "%s: timeout sending Config-Requests"
            self.logger.warning("%s: timeout sending Config-Requests", self.name)
            self.timed_out = True
        reason = "timeout" if self.state in NEGOTIATING else self._finish_reason
        self._dispatch(event, now, reason=reason, retransmit=event is Event.TO_PLUS)

    # -- output --------------------------------------------------------------------------------
    def packets_to_send(self) -> list[ControlPacket]:
        """Return and forget the packets produced since the last call."""
        out, self._outbox = self._outbox, []
        return out

    def send(self, packet: ControlPacket) -> None:
        """Queue a packet of this protocol (used by extensions such as LCP's Echo)."""
        self._outbox.append(packet)

    def next_event(self) -> LayerEvent | None:
        """Return the next This-Layer-* event, or ``None``."""
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
                self._dispatch(Event.RTR, now, packet, reason="terminated by peer")
            case Code.TERM_ACK:
                self._dispatch(Event.RTA, now, packet)
            case Code.CODE_REJ:
                rejected = packet.data[0] if packet.data else 0
                self.logger.debug(
                    "%s: Rcvd Code-Reject for code %d, id %d",
                    self.name,
                    rejected,
                    packet.identifier,
                )
                event = Event.RXJ_MINUS if rejected in _ESSENTIAL_CODES else Event.RXJ_PLUS
                self._dispatch(event, now, packet, reason="code rejected")
            case _:
                extended = self.receive_extended(packet, now)
                self._dispatch(extended or Event.RUC, now, packet)

    def receive_extended(self, packet: ControlPacket, now: float) -> Event | None:
        """Handle a code beyond Code-Reject; return the automaton event, or ``None`` for RUC.

        The base protocol knows none (IPCP answers them with Code-Reject); LCP overrides this
        for Protocol-Reject, Echo and Discard.
        """
        return None

    def send_echo_reply(self, request: ControlPacket, now: float) -> None:
        """Perform the ``ser`` action; only LCP has Echo, so the base class has nothing to do."""

    def _receive_configure_request(self, packet: ControlPacket, now: float) -> None:
        state = self.state
        if state in (State.CLOSED, State.CLOSING, State.STOPPING):
            # Closed answers with a Terminate-Ack; Closing/Stopping ignore it (no review needed).
            self._dispatch(Event.RCR_PLUS, now, packet)
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
            self._dispatch(Event.RCR_PLUS, now, packet, reply=reply)
        else:
            if review.code is Code.CONF_NAK:
                self._nak_loops += 1
            reply = ControlPacket(review.code, packet.identifier, encode_options(review.options))
            self._dispatch(Event.RCR_MINUS, now, packet, reply=reply)

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
        self._dispatch(Event.RCA, now, packet)

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
        self._dispatch(Event.RCN, now, packet)

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
        event: Event,
        now: float,
        packet: ControlPacket | None = None,
        *,
        reply: ControlPacket | None = None,
        reason: str = "",
        retransmit: bool = False,
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
                    self.negotiator.up()
                    self._events.append(LayerEvent(self.protocol, LayerEventKind.UP))
                case Action.TLD:
                    self.negotiator.down()
                    self._events.append(LayerEvent(self.protocol, LayerEventKind.DOWN, reason))
                case Action.TLS:
                    self._events.append(LayerEvent(self.protocol, LayerEventKind.STARTED))
                case Action.TLF:
                    self._events.append(LayerEvent(self.protocol, LayerEventKind.FINISHED, reason))
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
        rejected = packet.encode()[: max(0, self.peer_mru - 4)]
        self.logger.debug("%s: Code-Reject for unknown code %d", self.name, packet.code)
        self._outbox.append(ControlPacket(Code.CODE_REJ, self.next_identifier(), rejected))

    def _discard(self, why: str) -> None:
        self.discarded += 1
        self.logger.debug("%s: discarded %s", self.name, why)
