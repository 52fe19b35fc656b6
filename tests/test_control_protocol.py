"""The generic control protocol and LCP's extensions, driven packet by packet (pppd fsm.c/lcp.c).

Each test is a short playbook: events and packets in, the packets and This-Layer-* events that
must come out, on a hand-advanced clock. The expected behaviour is pppd's where pppd and the RFC
agree, and is called out where pyppp follows one of them on purpose.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address
from typing import Any, ClassVar

import pytest

from pyppp.control import (
    ControlProtocol,
    LayerDown,
    LayerEvent,
    LayerFinished,
    LayerStarted,
    LayerUp,
    PeerDead,
    ProtocolRejected,
)
from pyppp.fsm import TRANSITIONS, Action, Automaton, FsmConfig, FsmEvent, State
from pyppp.ipcp.negotiator import IpcpConfig, IpcpNegotiator
from pyppp.lcp.negotiator import LcpConfig, LcpNegotiator
from pyppp.lcp.options import Accm, MagicNumber, Mru
from pyppp.lcp.protocol import LcpControlProtocol
from pyppp.options import Option, Review, UnknownOption, encode_options
from pyppp.packet import Code, ControlPacket, PPPProtocol
from pyppp.util import seeded_rng


class K:
    """The four This-Layer events, by the RFC's names."""

    UP = LayerUp
    DOWN = LayerDown
    STARTED = LayerStarted
    FINISHED = LayerFinished


PEER_MAGIC = 0x5BB51EB9


# -- helpers -----------------------------------------------------------------------------------
class FakeNegotiator:
    """A negotiator whose verdicts the test sets, recording every call the automaton makes."""

    protocol: ClassVar[int] = PPPProtocol.LCP
    name: ClassVar[str] = "LCP"
    codecs: ClassVar[Mapping[int, type[Option]]] = {}

    def __init__(self) -> None:
        self.verdict = Code.CONF_ACK
        self.answer: tuple[Option, ...] = (UnknownOption(1, b"\x05\xdc"),)
        self.options: list[Option] = [UnknownOption(5, b"\x01\x02\x03\x04")]
        self.ack_ok = True
        self.nak_ok = True
        self.calls: list[str] = []
        self.reviews: list[bool] = []
        self.naks: list[bool] = []

    def reset(self) -> None:
        self.calls.append("reset")

    def request(self) -> list[Option]:
        return list(self.options)

    def on_ack(self, options: Sequence[Option]) -> bool:
        self.calls.append("ack")
        return self.ack_ok

    def on_nak(self, options: Sequence[Option], *, rejected: bool) -> bool:
        self.naks.append(rejected)
        return self.nak_ok

    def review(self, options: Sequence[Option], *, reject_if_disagree: bool) -> Review:
        self.reviews.append(reject_if_disagree)
        if self.verdict is Code.CONF_ACK:
            return Review(Code.CONF_ACK, tuple(options))
        return Review(self.verdict, self.answer)

    def up(self) -> None:
        self.calls.append("up")

    def down(self) -> None:
        self.calls.append("down")


class FakeIpcpNegotiator(FakeNegotiator):
    protocol: ClassVar[int] = PPPProtocol.IPCP
    name: ClassVar[str] = "IPCP"


def make_lcp(seed: int = 1, config: LcpConfig | None = None, **fsm: object) -> LcpControlProtocol:
    negotiator = LcpNegotiator(config or LcpConfig(), seeded_rng(seed))
    return LcpControlProtocol(negotiator, FsmConfig(**fsm))  # type: ignore[arg-type]


def start(cp: ControlProtocol[Any], now: float = 0.0) -> list[ControlPacket]:
    cp.open(now)
    cp.up(now)
    return cp.packets_to_send()


def recv(
    cp: ControlProtocol[Any], code: int, ident: int, data: bytes = b"", now: float = 0.0
) -> None:
    cp.receive(ControlPacket(code, ident, data).encode(), now)


def drain(cp: ControlProtocol[Any]) -> list[LayerEvent]:
    out = []
    while (event := cp.next_event()) is not None:
        out.append(event)
    return out


def kinds(cp: ControlProtocol[Any]) -> list[type]:
    return [type(event) for event in drain(cp)]


def peer_request(magic: int = PEER_MAGIC) -> bytes:
    """pppd's usual first request: <asyncmap 0x0> <magic ...> <pcomp> <accomp>."""
    return bytes.fromhex(f"0206000000000506{magic:08x}07020802")


def open_lcp(cp: LcpControlProtocol, now: float = 0.0) -> ControlPacket:
    """Bring ``cp`` to Opened against a well-behaved peer; return our acked request."""
    (request,) = start(cp, now)
    recv(cp, Code.CONF_ACK, request.identifier, request.data, now)
    recv(cp, Code.CONF_REQ, 0x01, peer_request(), now)
    assert state_of(cp) is State.OPENED
    cp.packets_to_send()
    kinds(cp)
    return request


def state_of(cp: ControlProtocol[Any]) -> State:
    """The state, read through a call so that mypy does not narrow it across events."""
    return cp.state


def watch(automaton: Automaton) -> list[tuple[State, FsmEvent, State]]:
    """Record every transition, checking each against the table (or a documented option)."""
    log: list[tuple[State, FsmEvent, State]] = []
    original = automaton.handle

    def handle(event: FsmEvent, now: float) -> list[Action]:
        before = automaton.state
        actions = original(event, now)
        after = automaton.state
        cell = TRANSITIONS.get((before, event))
        if cell is None:
            assert after is before, (before, event, after)
        else:
            allowed = {cell.next}
            if automaton.config.silent and (before, event) == (State.STARTING, FsmEvent.UP):
                allowed.add(State.STOPPED)
            if automaton.config.restart and cell.restart:
                allowed.add(State.REQ_SENT)
            assert after in allowed, (before, event, after)
        log.append((before, event, after))
        return actions

    automaton.handle = handle  # type: ignore[method-assign]
    return log


# -- Configure-Request, retransmission and give-up ---------------------------------------------
def test_open_up_sends_first_request_with_identifier_1() -> None:
    cp = make_lcp()
    assert kinds(cp) == []
    (request,) = start(cp, 100.0)
    assert request.code == Code.CONF_REQ
    assert request.identifier == 1
    magic = cp.negotiator.request()[1]
    assert isinstance(magic, MagicNumber)
    assert request.data == bytes.fromhex(f"0206000000000506{magic.magic_number:08x}07020802")
    assert state_of(cp) is State.REQ_SENT
    assert cp.get_timer() == 103.0
    assert kinds(cp) == [K.STARTED]


def test_timeout_retransmits_identical_request_with_same_identifier() -> None:
    cp = make_lcp()
    (first,) = start(cp)
    cp.handle_timer(2.999)  # not yet due: nothing
    assert cp.packets_to_send() == []
    cp.handle_timer(3.0)
    assert cp.packets_to_send() == [first]
    assert cp.get_timer() == 6.0


def test_ten_requests_three_seconds_apart_then_timeout_and_tlf(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cp = make_lcp()
    log = watch(cp.automaton)
    times = []
    now = 0.0
    for _packet in start(cp, now):
        times.append(now)
    while (deadline := cp.get_timer()) is not None:
        now = deadline
        with caplog.at_level(logging.WARNING):
            cp.handle_timer(now)
        times += [now for p in cp.packets_to_send() if p.code == Code.CONF_REQ]
    assert times == [3.0 * i for i in range(10)]
    assert now == 30.0
    assert "LCP: timeout sending Config-Requests" in caplog.messages
    assert state_of(cp) is State.STOPPED
    events = drain(cp)
    assert [type(e) for e in events] == [K.STARTED, K.FINISHED]
    assert isinstance(events[-1], LayerFinished)
    assert events[-1].timed_out
    assert log[-1] == (State.REQ_SENT, FsmEvent.TO_MINUS, State.STOPPED)


def test_passive_waits_in_stopped_and_answers_a_late_peer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cp = make_lcp(passive=True)
    start(cp)
    now = 0.0
    with caplog.at_level(logging.WARNING):
        while (deadline := cp.get_timer()) is not None:
            now = deadline
            cp.handle_timer(now)
    # pppd fsm_timeout: the warning is printed, but with OPT_PASSIVE `finished` is not called.
    assert "LCP: timeout sending Config-Requests" in caplog.messages
    assert state_of(cp) is State.STOPPED
    assert kinds(cp) == [K.STARTED]
    cp.packets_to_send()
    recv(cp, Code.CONF_REQ, 0x07, peer_request(), now=100.0)
    request, ack = cp.packets_to_send()
    assert (request.code, ack.code, ack.identifier) == (Code.CONF_REQ, Code.CONF_ACK, 0x07)
    assert state_of(cp) is State.ACK_SENT
    assert cp.get_timer() == 103.0


def test_silent_sends_nothing_until_the_peer_speaks() -> None:
    cp = make_lcp(silent=True)
    assert start(cp) == []
    assert state_of(cp) is State.STOPPED
    assert cp.get_timer() is None
    recv(cp, Code.CONF_REQ, 0x01, peer_request(), now=5.0)
    request, ack = cp.packets_to_send()
    # pppd fsm_rconfreq in STOPPED: "Negotiation started by our peer": our request goes first.
    assert request.code == Code.CONF_REQ
    assert request.identifier == 1
    assert ack == ControlPacket(Code.CONF_ACK, 0x01, peer_request())
    assert state_of(cp) is State.ACK_SENT
    recv(cp, Code.CONF_ACK, 1, request.data, now=5.1)
    assert cp.is_opened
    assert kinds(cp) == [K.STARTED, K.UP]


# -- replies to our request --------------------------------------------------------------------
def test_ack_with_stale_identifier_is_ignored() -> None:
    cp = make_lcp()
    (request,) = start(cp)
    recv(cp, Code.CONF_ACK, request.identifier + 1, request.data)
    assert state_of(cp) is State.REQ_SENT
    assert cp.discarded == 1
    recv(cp, Code.CONF_ACK, request.identifier, request.data)
    assert state_of(cp) is State.ACK_RCVD


def test_second_ack_to_the_same_request_is_ignored() -> None:
    cp = make_lcp()
    (request,) = start(cp)
    recv(cp, Code.CONF_ACK, request.identifier, request.data)
    assert state_of(cp) is State.ACK_RCVD
    # An RCA in Ack-Rcvd would be a crossed connection (scr/6); pppd's seen_ack drops it first.
    recv(cp, Code.CONF_ACK, request.identifier, request.data)
    assert state_of(cp) is State.ACK_RCVD
    assert cp.packets_to_send() == []
    assert cp.discarded == 1


def test_ack_that_does_not_echo_our_request_is_discarded() -> None:
    cp = make_lcp()
    (request,) = start(cp)
    recv(cp, Code.CONF_ACK, request.identifier, request.data[:-2])
    recv(cp, Code.CONF_ACK, request.identifier, b"\x02\x01")  # broken TLV framing
    assert state_of(cp) is State.REQ_SENT
    assert cp.discarded == 2
    # Still the current request: the good Ack is taken.
    recv(cp, Code.CONF_ACK, request.identifier, request.data)
    assert state_of(cp) is State.ACK_RCVD


def test_nak_makes_a_new_request_with_a_new_identifier() -> None:
    cp = make_lcp()
    (first,) = start(cp)
    recv(cp, Code.CONF_NAK, first.identifier, Accm(0x000A0000).encode(), now=1.0)
    (second,) = cp.packets_to_send()
    assert second.code == Code.CONF_REQ
    assert second.identifier == first.identifier + 1
    assert second.data.startswith(Accm(0x000A0000).encode())
    assert cp.get_timer() == 4.0  # irc,scr: a fresh timer and counter
    assert cp.automaton.restart_count == 9
    # A late Nak to the old request is stale now.
    recv(cp, Code.CONF_NAK, first.identifier, Accm(0xFFFFFFFF).encode(), now=1.5)
    assert cp.packets_to_send() == []


def test_bad_nak_is_discarded_without_a_new_request() -> None:
    cp = make_lcp()
    (first,) = start(cp)
    recv(cp, Code.CONF_NAK, first.identifier, b"\x01\x01")
    recv(cp, Code.CONF_REJ, first.identifier, Mru(1000).encode())  # we never asked for an MRU
    assert cp.packets_to_send() == []
    assert cp.discarded == 2
    assert state_of(cp) is State.REQ_SENT


def test_reject_removes_the_option() -> None:
    cp = make_lcp()
    (first,) = start(cp)
    recv(cp, Code.CONF_REJ, first.identifier, bytes.fromhex("07020802"))
    (second,) = cp.packets_to_send()
    assert second.identifier == 2
    assert second.data == first.data[:-4]


def test_max_failure_naks_from_the_peer_count_as_a_reject() -> None:
    negotiator = FakeNegotiator()
    cp = ControlProtocol(negotiator)
    for _ in range(6):
        (request,) = cp.packets_to_send() or start(cp)
        recv(cp, Code.CONF_NAK, request.identifier, b"\x05\x06\x00\x00\x00\x01")
    # pppd fsm_rconfnakrej: treat_as_reject once rnakloops reaches maxnakloops (5).
    assert negotiator.naks == [False, False, False, False, True, True]


def test_max_failure_naks_then_reject_if_disagree() -> None:
    cp = make_lcp()
    start(cp)
    replies = []
    for ident in range(1, 8):
        recv(cp, Code.CONF_REQ, ident, Mru(100).encode())
        replies += cp.packets_to_send()
    assert [(r.code, r.identifier) for r in replies] == [
        *((Code.CONF_NAK, i) for i in range(1, 6)),
        (Code.CONF_REJ, 6),
        (Code.CONF_REJ, 7),
    ]
    assert replies[0].data == Mru(128).encode()  # pppd suggests its minimum, not 1500
    assert replies[5].data == Mru(100).encode()


def test_fake_negotiator_sees_reject_if_disagree_after_max_failure() -> None:
    negotiator = FakeNegotiator()
    negotiator.verdict = Code.CONF_NAK
    cp = ControlProtocol(negotiator, FsmConfig(max_failure=3))
    start(cp)
    for ident in range(5):
        recv(cp, Code.CONF_REQ, ident, b"")
    assert negotiator.reviews == [False, False, False, True, True]
    # An acceptable request ends the loop and the count starts again.
    negotiator.verdict = Code.CONF_ACK
    recv(cp, Code.CONF_REQ, 9, b"")
    negotiator.verdict = Code.CONF_NAK
    recv(cp, Code.CONF_REQ, 10, b"")
    assert negotiator.reviews[-2:] == [True, False]


# -- Terminate ---------------------------------------------------------------------------------
def test_close_sends_max_terminate_requests_then_finishes() -> None:
    cp = make_lcp()
    open_lcp(cp)
    log = watch(cp.automaton)
    cp.close("User request", 10.0)
    assert kinds(cp) == [K.DOWN]
    sent = [(10.0, p) for p in cp.packets_to_send()]
    now = 10.0
    while (deadline := cp.get_timer()) is not None:
        now = deadline
        cp.handle_timer(now)
        sent += [(now, p) for p in cp.packets_to_send()]
    assert [(t, p.code, p.data) for t, p in sent] == [
        (10.0, Code.TERM_REQ, b"User request"),
        (13.0, Code.TERM_REQ, b"User request"),
    ]
    # pppd: each Terminate-Request takes a new identifier.
    assert sent[0][1].identifier != sent[1][1].identifier
    assert now == 16.0
    (finished,) = drain(cp)
    assert isinstance(finished, LayerFinished)
    assert state_of(cp) is State.CLOSED
    assert not finished.timed_out  # giving up on Terminate is not a negotiation failure
    assert [step[2] for step in log] == [State.CLOSING, State.CLOSING, State.CLOSED]


def test_terminate_ack_finishes_closing_at_once() -> None:
    cp = make_lcp()
    open_lcp(cp)
    cp.close("", 1.0)
    (term,) = cp.packets_to_send()
    recv(cp, Code.TERM_ACK, term.identifier, now=1.2)
    assert state_of(cp) is State.CLOSED
    assert kinds(cp) == [K.DOWN, K.FINISHED]
    assert cp.get_timer() is None


def test_terminate_request_in_opened_acks_waits_one_period_then_finishes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cp = make_lcp()
    open_lcp(cp)
    with caplog.at_level(logging.INFO):
        recv(cp, Code.TERM_REQ, 0x42, b"User request", now=20.0)
    assert "LCP terminated by peer (User request)" in caplog.messages
    assert cp.packets_to_send() == [ControlPacket(Code.TERM_ACK, 0x42)]
    assert state_of(cp) is State.STOPPING
    assert kinds(cp) == [K.DOWN]
    assert cp.get_timer() == 23.0
    cp.handle_timer(23.0)
    assert cp.packets_to_send() == []  # zrc: no Terminate-Request of our own
    assert state_of(cp) is State.STOPPED
    assert kinds(cp) == [K.FINISHED]


def test_terminate_request_without_reason(caplog: pytest.LogCaptureFixture) -> None:
    cp = make_lcp()
    open_lcp(cp)
    with caplog.at_level(logging.INFO):
        recv(cp, Code.TERM_REQ, 0x01)
    assert "LCP terminated by peer" in caplog.messages


def test_terminate_request_while_negotiating_is_acked_and_restarts() -> None:
    cp = make_lcp()
    (request,) = start(cp)
    recv(cp, Code.CONF_ACK, request.identifier, request.data)
    recv(cp, Code.TERM_REQ, 0x09)
    assert cp.packets_to_send() == [ControlPacket(Code.TERM_ACK, 0x09)]
    assert state_of(cp) is State.REQ_SENT  # sta/6 from Ack-Rcvd


def test_closed_answers_configure_request_with_terminate_ack() -> None:
    cp = make_lcp()
    open_lcp(cp)
    cp.close("", 0.0)
    (term,) = cp.packets_to_send()
    recv(cp, Code.TERM_ACK, term.identifier)
    assert state_of(cp) is State.CLOSED
    recv(cp, Code.CONF_REQ, 0x33, peer_request())
    recv(cp, Code.CONF_ACK, 0x34, b"")
    recv(cp, Code.CONF_REQ, 0x35, b"\x01")  # even a malformed one: no review in Closed
    assert cp.packets_to_send() == [
        ControlPacket(Code.TERM_ACK, 0x33),
        ControlPacket(Code.TERM_ACK, 0x35),
    ]


# -- Code-Reject -------------------------------------------------------------------------------
def test_unknown_lcp_code_is_code_rejected_with_the_packet() -> None:
    cp = make_lcp()
    (request,) = start(cp)
    raw = ControlPacket(0x0E, 0x77, b"hello").encode() + b"\x00\x00pad"
    cp.receive(raw, 0.0)
    (reject,) = cp.packets_to_send()
    assert reject.code == Code.CODE_REJ
    assert reject.identifier == request.identifier + 1
    assert reject.data == raw[:9]  # the padding past Length is not part of the packet
    assert state_of(cp) is State.REQ_SENT


def test_code_reject_is_truncated_to_the_peer_mru() -> None:
    cp = make_lcp()
    start(cp)
    cp.set_peer_mru(16)
    cp.receive(ControlPacket(0xFF, 1, bytes(100)).encode(), 0.0)
    (reject,) = cp.packets_to_send()
    assert len(reject.encode()) == 16


@pytest.mark.parametrize("code", [8, 9, 10, 11, 12, 13, 14, 255])
def test_ipcp_code_rejects_codes_8_and_up(code: int) -> None:
    cp = ControlProtocol(IpcpNegotiator(IpcpConfig(local=IPv4Address("10.99.0.1"))))
    start(cp)
    packet = ControlPacket(code, 0x10, b"\x00\x00\x00\x00")
    cp.receive(packet.encode(), 0.0)
    (reject,) = cp.packets_to_send()
    assert reject.code == Code.CODE_REJ
    assert reject.data == packet.encode()


@pytest.mark.parametrize("code", [Code.IDENTIFICATION, Code.TIME_REMAINING, Code.DISC_REQ])
def test_lcp_extension_codes_are_not_code_rejected(code: int) -> None:
    cp = make_lcp()
    open_lcp(cp)
    recv(cp, code, 1, b"\x00\x00\x00\x00some text")
    assert cp.packets_to_send() == []
    assert cp.is_opened


@pytest.mark.parametrize("rejected", range(1, 8))
def test_code_reject_of_an_essential_code_is_rxj_minus(rejected: int) -> None:
    cp = make_lcp()
    start(cp)
    recv(cp, Code.CODE_REJ, 0x01, bytes((rejected, 1, 0, 4)))
    assert state_of(cp) is State.STOPPED
    assert kinds(cp) == [K.STARTED, K.FINISHED]


def test_code_reject_of_an_essential_code_in_opened_terminates() -> None:
    cp = make_lcp()
    open_lcp(cp)
    recv(cp, Code.CODE_REJ, 0x01, bytes((Code.TERM_REQ, 1, 0, 4)))
    (term,) = cp.packets_to_send()
    assert term.code == Code.TERM_REQ
    assert state_of(cp) is State.STOPPING
    assert kinds(cp) == [K.DOWN]


@pytest.mark.parametrize("data", [bytes((9, 1, 0, 8, 0, 0, 0, 0)), b""])
def test_code_reject_of_an_extension_code_is_rxj_plus(data: bytes) -> None:
    cp = make_lcp()
    (request,) = start(cp)
    recv(cp, Code.CONF_ACK, request.identifier, request.data)
    recv(cp, Code.CODE_REJ, 0x01, data)
    assert state_of(cp) is State.REQ_SENT  # RXJ+ in Ack-Rcvd: back to Req-Sent, nothing sent
    assert cp.packets_to_send() == []


# -- Opened: renegotiation and restart ----------------------------------------------------------
def test_configure_request_in_opened_renegotiates() -> None:
    cp = make_lcp()
    old = open_lcp(cp)
    recv(cp, Code.CONF_REQ, 0x02, peer_request(0x01020304), now=50.0)
    request, ack = cp.packets_to_send()
    assert request.code == Code.CONF_REQ
    assert request.identifier == old.identifier + 1
    assert request.data != old.data  # pppd resetci: a fresh magic number
    assert ack.code == Code.CONF_ACK
    assert state_of(cp) is State.ACK_SENT
    assert kinds(cp) == [K.DOWN]


def test_restart_option_restarts_on_open_in_opened() -> None:
    cp = make_lcp(restart=True)
    open_lcp(cp)
    cp.open(1.0)
    (request,) = cp.packets_to_send()
    assert request.code == Code.CONF_REQ
    assert state_of(cp) is State.REQ_SENT
    assert kinds(cp) == [K.DOWN]


def test_open_in_opened_without_restart_does_nothing() -> None:
    cp = make_lcp()
    open_lcp(cp)
    cp.open(1.0)
    assert cp.packets_to_send() == []
    assert cp.is_opened


def test_down_in_opened_is_tld_and_starting() -> None:
    cp = make_lcp()
    open_lcp(cp)
    cp.down("lower layer down", 1.0)
    assert state_of(cp) is State.STARTING
    assert kinds(cp) == [K.DOWN]
    recv(cp, Code.CONF_REQ, 1, peer_request())  # nothing may arrive in Starting
    assert cp.packets_to_send() == []
    assert cp.discarded == 1


# -- malformed input ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [b"", b"\x01\x01\x00", b"\x01\x01\x00\x03", b"\x01\x01\x00\x09abc", b"\x01\x01\x00\x06\x01"],
)
def test_malformed_packets_are_discarded(raw: bytes) -> None:
    cp = make_lcp()
    start(cp)
    cp.receive(raw, 0.0)
    assert cp.packets_to_send() == []
    assert cp.discarded == 1
    assert state_of(cp) is State.REQ_SENT


def test_illegal_event_is_ignored() -> None:
    automaton = Automaton()
    assert automaton.handle(FsmEvent.RCA, 0.0) == []  # "-" in Initial
    assert automaton.state is State.INITIAL


def test_fake_negotiator_bad_nak_in_ack_sent() -> None:
    negotiator = FakeNegotiator()
    cp = ControlProtocol(negotiator)
    (request,) = start(cp)
    recv(cp, Code.CONF_REQ, 1, b"")
    assert state_of(cp) is State.ACK_SENT
    cp.packets_to_send()
    negotiator.nak_ok = False
    recv(cp, Code.CONF_NAK, request.identifier, b"")
    assert cp.packets_to_send() == []
    negotiator.nak_ok = True
    recv(cp, Code.CONF_NAK, request.identifier, b"")
    (again,) = cp.packets_to_send()
    assert again.identifier == request.identifier + 1
    assert state_of(cp) is State.ACK_SENT


def test_fake_negotiator_bad_ack_in_ack_sent() -> None:
    negotiator = FakeNegotiator()
    cp = ControlProtocol(negotiator)
    (request,) = start(cp)
    recv(cp, Code.CONF_REQ, 1, b"")
    negotiator.ack_ok = False
    recv(cp, Code.CONF_ACK, request.identifier, request.data)
    assert state_of(cp) is State.ACK_SENT
    negotiator.ack_ok = True
    recv(cp, Code.CONF_ACK, request.identifier, request.data)
    assert cp.is_opened
    assert negotiator.calls == ["reset", "ack", "ack", "up"]


def test_configure_reject_reply_uses_the_negotiators_options() -> None:
    negotiator = FakeIpcpNegotiator()
    negotiator.verdict = Code.CONF_REJ
    cp = ControlProtocol(negotiator)
    start(cp)
    recv(cp, Code.CONF_REQ, 0x44, b"\x01\x04\x05\xdc")
    (reply,) = cp.packets_to_send()
    assert reply == ControlPacket(Code.CONF_REJ, 0x44, encode_options(negotiator.answer))
    assert negotiator.reviews == [False]  # a Reject is not a Nak: the loop count is unchanged


# -- LCP extensions: Echo, Discard, Protocol-Reject, keepalive ---------------------------------
def test_echo_request_in_opened_gets_a_reply_with_our_magic() -> None:
    cp = make_lcp()
    request = open_lcp(cp)
    ours = cp.negotiator.result
    assert ours is not None
    recv(cp, Code.ECHO_REQ, 0x03, PEER_MAGIC.to_bytes(4, "big") + b"hi")
    (reply,) = cp.packets_to_send()
    assert reply == ControlPacket(Code.ECHO_REP, 0x03, ours.our_magic.to_bytes(4, "big") + b"hi")
    assert request.identifier == 1


def test_echo_request_outside_opened_or_short_gets_no_reply() -> None:
    cp = make_lcp()
    start(cp)
    recv(cp, Code.ECHO_REQ, 0x03, b"\x00\x00\x00\x00")
    assert cp.packets_to_send() == []
    cp2 = make_lcp()
    open_lcp(cp2)
    recv(cp2, Code.ECHO_REQ, 0x03, b"\x00\x00")
    assert cp2.packets_to_send() == []
    assert cp2.discarded == 1


def test_keepalive_sends_first_echo_at_once_and_fails_after_four(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cp = make_lcp()
    cp.echo_interval, cp.echo_failure = 1.0, 4
    open_lcp(cp)
    result = cp.negotiator.result
    assert result is not None
    cp.start_keepalive(10.0)
    echoes = [(10.0, p) for p in cp.packets_to_send()]
    now = 10.0
    events: list[LayerEvent] = []
    with caplog.at_level(logging.INFO):
        while not events:
            deadline = cp.get_timer()
            assert deadline is not None
            now = deadline
            cp.handle_timer(now)
            echoes += [(now, p) for p in cp.packets_to_send() if p.code == Code.ECHO_REQ]
            events += drain(cp)
    # pppd lcp_echo_lowerup -> LcpEchoCheck sends the first Echo-Request immediately, then one
    # per interval; the check before the fifth finds 4 pending.
    assert [(t, p.identifier) for t, p in echoes] == [(10.0, 0), (11.0, 1), (12.0, 2), (13.0, 3)]
    assert all(p.data == result.our_magic.to_bytes(4, "big") for _, p in echoes)
    assert now == 14.0
    assert "No response to 4 echo-requests" in caplog.messages
    assert "Serial link appears to be disconnected." in caplog.messages
    # The link closes LCP on PeerDead (so phase, status 15 and reason are in one place).
    assert state_of(cp) is State.OPENED
    assert events == [PeerDead(4)]


def test_echo_reply_resets_the_pending_count_but_not_our_own() -> None:
    cp = make_lcp()
    cp.echo_interval, cp.echo_failure = 1.0, 2
    open_lcp(cp)
    result = cp.negotiator.result
    assert result is not None
    cp.start_keepalive(0.0)
    cp.handle_timer(1.0)
    assert cp.echos_pending == 2
    recv(cp, Code.ECHO_REP, 0, result.our_magic.to_bytes(4, "big"))  # looped back: not counted
    assert cp.echos_pending == 2
    recv(cp, Code.ECHO_REP, 0, b"\x00\x00")  # short
    assert cp.echos_pending == 2
    recv(cp, Code.ECHO_REP, 1, PEER_MAGIC.to_bytes(4, "big"))
    assert cp.echos_pending == 0
    cp.handle_timer(2.0)
    assert not any(isinstance(e, PeerDead) for e in drain(cp))


def test_keepalive_stops_when_lcp_leaves_opened() -> None:
    cp = make_lcp()
    cp.echo_interval = 1.0
    open_lcp(cp)
    cp.start_keepalive(0.0)
    cp.packets_to_send()
    cp.stop_keepalive()
    assert cp.get_timer() is None
    cp.start_keepalive(0.0)
    cp.packets_to_send()
    cp.down("lower layer down", 0.5)
    cp.handle_timer(1.0)  # the echo tick finds LCP not open: it stops itself
    assert cp.packets_to_send() == []
    assert cp.get_timer() is None


def test_protocol_reject_in_opened_is_queued_for_the_link() -> None:
    cp = make_lcp()
    open_lcp(cp)
    recv(cp, Code.PROT_REJ, 1, b"\x80\x21\x01\x01\x00\x04")
    assert drain(cp) == [ProtocolRejected(0x8021)]
    assert cp.is_opened


def test_protocol_reject_of_lcp_is_rxj_minus(caplog: pytest.LogCaptureFixture) -> None:
    cp = make_lcp()
    open_lcp(cp)
    with caplog.at_level(logging.WARNING):
        recv(cp, Code.PROT_REJ, 1, b"\xc0\x21")
    assert state_of(cp) is State.STOPPING
    assert [p.code for p in cp.packets_to_send()] == [Code.TERM_REQ]


@pytest.mark.parametrize("data", [b"\x80", b"\x80\x21"])
def test_protocol_reject_outside_opened_or_short_is_discarded(data: bytes) -> None:
    cp = make_lcp()
    start(cp)
    recv(cp, Code.PROT_REJ, 1, data)
    assert not any(isinstance(e, ProtocolRejected) for e in drain(cp))

    assert cp.discarded == 1
    assert state_of(cp) is State.REQ_SENT


def test_send_protocol_reject_only_in_opened_and_truncated_to_peer_mru() -> None:
    cp = make_lcp()
    start(cp)
    cp.send_protocol_reject(0x80FD, b"ccp")
    assert cp.packets_to_send() == []
    open_lcp(cp2 := make_lcp())
    cp2.set_peer_mru(10)
    cp2.send_protocol_reject(0x80FD, bytes(range(20)))
    (reject,) = cp2.packets_to_send()
    assert reject.code == Code.PROT_REJ
    assert reject.data == b"\x80\xfd" + bytes(range(4))
    assert len(reject.encode()) == 10


# -- late replies and the treat-as-reject details ----------------------------------------------
@pytest.mark.parametrize("code", [Code.CONF_ACK, Code.CONF_NAK, Code.CONF_REJ])
def test_late_reply_in_stopped_is_answered_with_terminate_ack(code: int) -> None:
    cp = make_lcp(passive=True)
    (request,) = start(cp)
    now = 0.0
    while (deadline := cp.get_timer()) is not None:
        now = deadline
        cp.handle_timer(now)
    cp.packets_to_send()
    assert state_of(cp) is State.STOPPED
    recv(cp, code, request.identifier, request.data, now=now + 1)
    # RFC 1661 sta/3 for RCA and RCN in Stopped (pppd: "fsm_sdata(f, TERMACK, id, NULL, 0)").
    assert cp.packets_to_send() == [ControlPacket(Code.TERM_ACK, request.identifier)]


def test_nak_as_reject_rejects_our_values_not_the_peers() -> None:
    negotiator = FakeNegotiator()
    seen: list[tuple[list[Option], bool]] = []

    def on_nak(options: Sequence[Option], *, rejected: bool) -> bool:
        seen.append((list(options), rejected))
        return not rejected

    negotiator.on_nak = on_nak  # type: ignore[method-assign]
    cp = ControlProtocol(negotiator)
    for _ in range(5):
        (request,) = cp.packets_to_send() or start(cp)
        recv(cp, Code.CONF_NAK, request.identifier, b"\x05\x06\x00\x00\x00\x01")
    # The fifth is applied as a Reject of *our* option (pppd clears neg_* for it); here the
    # negotiator calls that Reject bad, so the packet is discarded and nothing is re-sent.
    assert seen[-1] == ([UnknownOption(5, b"\x01\x02\x03\x04")], True)
    assert cp.packets_to_send() == []


def test_lcp_keeps_nakking_magic_after_max_failure_but_drops_the_rest() -> None:
    cp = make_lcp()
    (request,) = start(cp)
    for _ in range(4):
        recv(cp, Code.CONF_NAK, request.identifier, Accm(0x000A0000).encode())
        (request,) = cp.packets_to_send()
    assert request.data.startswith(Accm(0x000A0000).encode())
    old_magic = cp.negotiator.request()[1]
    nak = Accm(0xFFFFFFFF).encode() + MagicNumber(0x01020304).encode()
    recv(cp, Code.CONF_NAK, request.identifier, nak)
    (request,) = cp.packets_to_send()
    assert not request.data.startswith(b"\x02\x06")  # ACCM dropped (treated as a Reject)
    magic = cp.negotiator.request()[0]
    assert isinstance(magic, MagicNumber)
    assert magic != old_magic  # the magic Nak was applied as a Nak: a fresh number
    # Only hints (options we no longer send): still a plain Nak, nothing dropped.
    recv(cp, Code.CONF_NAK, request.identifier, Mru(1000).encode())
    (request,) = cp.packets_to_send()
    assert request.data.startswith(Mru(1000).encode())
