"""The RFC 1661 option negotiation automaton, as one table.

Theory of operation
-------------------
RFC 1661 §4 describes every control protocol (LCP, and each NCP such as IPCP) with one finite
state automaton: 10 states, 16 events and 13 actions. pppd implements it once (``fsm.c``) and
plugs each protocol in through callbacks; pyppp does the same in two layers:

* :class:`Automaton` (this module) is the table and nothing else. ``TRANSITIONS`` is one dict
  literal that mirrors RFC 1661 §4.1 cell by cell (a test reads the RFC's own table and compares
  all 160 cells). ``Automaton.handle(event, now)`` looks the cell up, moves to the next state,
  keeps the Restart counter and timer (§4.6) and *returns* the actions; it performs none of them.
* :class:`~pyppp.control.ControlProtocol` turns packets into events, feeds them to the automaton
  and performs the returned actions with the help of the protocol's negotiator.

Nothing here does I/O or reads a clock: time comes in as ``now`` arguments.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final

__all__ = [
    "NEGOTIATING",
    "TIMER_STATES",
    "TRANSITIONS",
    "Action",
    "Automaton",
    "FsmConfig",
    "FsmEvent",
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


class FsmEvent(Enum):
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
E = FsmEvent
TLU, TLD, TLS, TLF = Action.TLU, Action.TLD, Action.TLS, Action.TLF
IRC, ZRC, SCR, SCA, SCN = Action.IRC, Action.ZRC, Action.SCR, Action.SCA, Action.SCN
STR, STA, SCJ, SER = Action.STR, Action.STA, Action.SCJ, Action.SER


def _t(*actions: Action, next: State, r: bool = False, p: bool = False) -> Transition:
    return Transition(actions, next, restart=r, passive=p)


# RFC 1661 §4.1 "State Transition Table". An absent key is the RFC's "-": the event cannot
# happen in that state (illegal event), which is logged and ignored. The `x` cells (crossed
# connection: a reply to an older request arrived after we sent a new one) need no flag.
TRANSITIONS: Final[Mapping[tuple[State, FsmEvent], Transition]] = {
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

    def handle(self, event: FsmEvent, now: float) -> list[Action]:
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
        if event is FsmEvent.UP and self.state is State.STARTING and self.config.silent:
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

    def timeout_event(self, now: float) -> FsmEvent | None:
        """Return TO+ or TO- if the Restart timer has expired at ``now``, else ``None``."""
        if self.deadline is None or now < self.deadline:
            return None
        self.deadline = None
        return FsmEvent.TO_PLUS if self.restart_count > 0 else FsmEvent.TO_MINUS
