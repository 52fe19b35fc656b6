"""Property tests: whatever the peer or the line does, the core never raises or goes astray.

* random control packets (well-formed headers with random codes, identifiers and options, and
  raw garbage) fed to a ControlProtocol in every state, mixed with timers and administrative
  events: every state change must be the table's ``next`` for the event that caused it;
* random frames and bytes into a Link in each phase: no exception, output frames always decode,
  and LCP is Opened whenever the link claims the Authenticate or Network phase;
* random impairment schedules between two Links: both reach Opened, or both end with the exit
  status the counters give.

Profiles: ``HYPOTHESIS_PROFILE=deep`` runs many more examples (the default stays fast).
"""

from __future__ import annotations

import os
from ipaddress import IPv4Address
from typing import Any, Protocol

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from pyppp import hdlc
from pyppp.control import ControlProtocol
from pyppp.events import LinkTerminated, LinkUp, NetworkUp
from pyppp.events import Phase as LinkPhase
from pyppp.fsm import TIMER_STATES, FsmConfig, State
from pyppp.ipcp.negotiator import IpcpConfig, IpcpNegotiator
from pyppp.lcp.negotiator import LcpConfig, LcpNegotiator
from pyppp.lcp.protocol import LcpControlProtocol
from pyppp.link import Link
from pyppp.packet import ControlPacket, PPPProtocol
from pyppp.trace import format_packet
from pyppp.util import seeded_rng
from tests.linkpair import Impairment, LinkPair, Wire
from tests.test_control_protocol import watch
from tests.test_link import both_up, make_link, terminated, up_pair

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"


def budget(examples: int, **kwargs: object) -> settings:
    """Per-test settings (this module must not change the global profile of other modules)."""
    return settings(
        max_examples=examples * 30 if DEEP else examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        **kwargs,  # type: ignore[arg-type]
    )


# -- strategies --------------------------------------------------------------------------------
option = st.tuples(st.integers(0, 255), st.binary(max_size=6)).map(
    lambda t: bytes((t[0], len(t[1]) + 2)) + t[1]
)
# Options the negotiators know, with plausible and implausible values.
known_option = st.sampled_from(
    [
        bytes.fromhex("010405dc"),
        bytes.fromhex("01040040"),
        bytes.fromhex("020600000000"),
        bytes.fromhex("0206ffffffff"),
        bytes.fromhex("0304c023"),
        bytes.fromhex("0305c22305"),
        bytes.fromhex("0305c22381"),
        bytes.fromhex("050600000000"),
        bytes.fromhex("05065bb51eb9"),
        bytes.fromhex("0702"),
        bytes.fromhex("0802"),
        bytes.fromhex("03060a630002"),
        bytes.fromhex("030600000000"),
        bytes.fromhex("8106 00000000"),
        bytes.fromhex("0206002d0f01"),
    ]
)
options = st.lists(st.one_of(option, known_option), max_size=5).map(b"".join)
identifier = st.one_of(st.integers(0, 4), st.integers(0, 255))
code = st.one_of(st.integers(1, 13), st.integers(0, 255))
packet = st.builds(
    lambda c, i, d, pad: ControlPacket(c, i, d).encode() + pad,
    code,
    identifier,
    st.one_of(options, st.binary(max_size=12)),
    st.binary(max_size=3),
)
garbage = st.binary(max_size=24)
cp_action = st.one_of(
    st.tuples(st.just("rx"), packet),
    st.tuples(st.just("rx"), garbage),
    st.tuples(st.sampled_from(["timer", "open", "close", "up", "down", "protrej"]), st.none()),
)


class Timed(Protocol):
    """What a fuzzed action list drives the clock of: a ControlProtocol or a Link."""

    def get_timer(self) -> float | None: ...
    def handle_timer(self, now: float) -> None: ...


def fire_timer(target: Timed, now: float) -> float:
    """The "timer" action: jump to ``target``'s deadline (a second on if none) and run it."""
    deadline = target.get_timer()
    now = deadline if deadline is not None else now + 1.0
    target.handle_timer(now)
    return now


def check_timer(cp: ControlProtocol[Any]) -> None:
    # RFC 1661 §4.6: the Restart timer runs only while a request is outstanding.
    if cp.state not in TIMER_STATES:
        assert cp.automaton.deadline is None


def make_protocol(kind: str, fsm: FsmConfig) -> ControlProtocol[Any]:
    if kind == "lcp":
        lcp = LcpControlProtocol(
            LcpNegotiator(LcpConfig(), seeded_rng(7)), fsm, echo_interval=1.0, echo_failure=3
        )
        return lcp
    negotiator = IpcpNegotiator(IpcpConfig(local=IPv4Address("10.99.0.1")))
    return ControlProtocol(negotiator, fsm)


# -- ControlProtocol ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["lcp", "ipcp"])
@budget(150)
@given(
    actions=st.lists(cp_action, max_size=40),
    passive=st.booleans(),
    silent=st.booleans(),
    restart=st.booleans(),
)
def test_control_protocol_survives_anything(
    kind: str, actions: list[tuple[str, bytes | None]], passive: bool, silent: bool, restart: bool
) -> None:
    cp = make_protocol(kind, FsmConfig(passive=passive, silent=silent, restart=restart))
    log = watch(cp.automaton)  # asserts every transition against the table
    now = 0.0
    for name, data in actions:
        match name:
            case "rx":
                assert data is not None
                cp.receive(data, now)
            case "timer":
                now = fire_timer(cp, now)
            case "open":
                cp.open(now)
            case "close":
                cp.close("fuzz", now)
            case "up":
                cp.up(now)
            case "down":
                cp.down("fuzz", now)
            case "protrej":
                cp.protocol_rejected(now)
        if isinstance(cp, LcpControlProtocol) and cp.is_opened and name == "rx":
            cp.start_keepalive(now)
        for out in cp.packets_to_send():
            ControlPacket.decode(out.encode())
            format_packet(cp.protocol, out.encode())
        while cp.next_event() is not None:
            pass
        check_timer(cp)
    assert all(before in State and after in State for before, _, after in log)


@pytest.mark.parametrize("state", list(State))
@budget(30)
@given(data=st.one_of(packet, garbage))
def test_any_packet_in_any_state(state: State, data: bytes) -> None:
    for cp in (make_protocol("lcp", FsmConfig()), make_protocol("ipcp", FsmConfig())):
        cp.open(0.0)
        cp.up(0.0)
        cp.automaton.state = state  # placed directly: every state, whatever led to it
        if state in TIMER_STATES:
            cp.automaton.deadline = 3.0
        watch(cp.automaton)
        cp.receive(data, 1.0)
        cp.packets_to_send()
        cp.handle_timer(3.0)
        check_timer(cp)


# -- Link --------------------------------------------------------------------------------------
frame_protocol = st.one_of(
    st.sampled_from(
        [
            PPPProtocol.LCP,
            PPPProtocol.IPCP,
            PPPProtocol.PAP,
            PPPProtocol.CHAP,
            PPPProtocol.IP,
            PPPProtocol.CCP,
            PPPProtocol.IPV6CP,
        ]
    ),
    st.integers(0, 0x7FFF).map(lambda n: (n << 1 & 0xFE00) | (n & 0xFE) | 1),
)
line_input = st.one_of(
    st.builds(lambda p, d: hdlc.encode_frame(p, d), frame_protocol, st.one_of(packet, garbage)),
    garbage,
    st.binary(max_size=8).map(lambda b: b"\x7e" + b + b"\x7e"),
)
link_action = st.one_of(
    st.tuples(st.just("rx"), line_input),
    st.tuples(st.sampled_from(["timer", "ip", "close", "open", "hangup"]), st.none()),
)


def check_link(link: Link) -> None:
    if link.phase in (LinkPhase.AUTHENTICATE, LinkPhase.NETWORK):
        assert link.lcp.is_opened
    out = link.data_to_send()
    deframer = hdlc.Deframer(accm=0, mru=65535)
    frames = deframer.feed(out)
    assert not any(deframer.discarded.values())
    if out:
        assert frames


@pytest.mark.parametrize("start", ["dead", "establish", "network"])
@budget(60)
@given(actions=st.lists(link_action, max_size=25))
def test_link_survives_anything_from_the_line(
    start: str, actions: list[tuple[str, bytes | None]]
) -> None:
    if start == "network":
        pair = up_pair()
        link: Link = pair.a  # type: ignore[assignment]
        now = pair.now
    else:
        link = make_link("a", echo_interval=2.0, echo_failure=2, idle=30.0)
        now = 0.0
        if start == "establish":
            link.open(now)
    watch(link.lcp.automaton)
    assert link.ipcp is not None
    watch(link.ipcp.automaton)
    for name, data in actions:
        match name:
            case "rx":
                assert data is not None
                link.receive_data(data, now)
            case "timer":
                now = fire_timer(link, now)
            case "ip":
                link.send_ip(b"\x45" + bytes(19), now)
            case "close":
                link.close(now=now)
            case "open":
                link.open(now)
            case "hangup":
                link.lower_down(now=now)
        while (event := link.next_event()) is not None:
            if isinstance(event, LinkTerminated):
                assert event.exit_status in (0, 5, 10, 11, 12, 15, 16, 17, 19)
        check_link(link)


# -- impaired lines ----------------------------------------------------------------------------
impairment: st.SearchStrategy[Impairment] = st.builds(
    Impairment,
    seed=st.integers(0, 2**32 - 1),
    loss=st.floats(0.0, 0.5),
    duplicate=st.floats(0.0, 0.5),
    reorder=st.floats(0.0, 0.5),
    jitter=st.floats(0.0, 2.0),
    delay=st.floats(0.0005, 1.5),
)


# A round trip longer than the 3 s Restart timer makes every retransmission arrive as a
# duplicate after Opened, and RFC 1661 renegotiates on each (tld,scr,sca/8): two PPP peers then
# renegotiate for ever (pppd too; the timer must exceed the round trip). Keep it below that.
line_impairment: st.SearchStrategy[Impairment] = st.builds(
    Impairment,
    seed=st.integers(0, 2**32 - 1),
    loss=st.floats(0.0, 0.5),
    duplicate=st.floats(0.0, 0.5),
    reorder=st.floats(0.0, 0.5),
    jitter=st.floats(0.0, 0.4),
    delay=st.floats(0.0005, 0.4),
)


def run_impaired(a: Link, b: Link, ab: Impairment, ba: Impairment) -> LinkPair:
    pair = LinkPair(a, b, a_to_b=Wire(impair=ab), b_to_a=Wire(impair=ba))
    a.open(0.0)
    b.open(0.0)
    return pair


@budget(40)
@given(ab=impairment, ba=impairment)
def test_impaired_lcp_opens_or_both_give_up(ab: Impairment, ba: Impairment) -> None:
    # LCP only, with keepalive: a side left Opened after its peer gave up mid-renegotiation
    # must find out (it would otherwise wait for ever, as pppd would without echoes).
    a = make_link("a", ipcp=None, echo_interval=3.0, echo_failure=3)
    b = make_link("b", ipcp=None, echo_interval=3.0, echo_failure=3)
    pair = run_impaired(a, b, ab, ba)
    watch(a.lcp.automaton)
    watch(b.lcp.automaton)

    def opened(pair: LinkPair) -> bool:
        return a.lcp.is_opened and b.lcp.is_opened

    pair.run(600, stop=lambda p: opened(p) or terminated("a", "b")(p))
    if opened(pair):
        return
    assert terminated("a", "b")(pair), pair.events
    for side in ("a", "b"):
        (dead,) = pair.of_type(side, LinkTerminated)
        # Never NetworkUp (there is no network protocol): 10, or 15 from the keepalive.
        assert dead.exit_status in ((10, 15) if pair.of_type(side, LinkUp) else (10,))


@budget(40, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate])
@given(ab=line_impairment, ba=line_impairment)
@example(  # a duplicated IPCP Configure-Request after IPCP opened (see IPCP_DOWN_BUG)
    ab=Impairment(9, loss=0.3, duplicate=0.2, reorder=0.2, jitter=0.3),
    ba=Impairment(109, loss=0.3, duplicate=0.2, reorder=0.2, jitter=0.3),
)
def test_impaired_link_reaches_network_or_both_end(ab: Impairment, ba: Impairment) -> None:
    a, b = make_link("a"), make_link("b")
    pair = run_impaired(a, b, ab, ba)
    pair.run(400, stop=lambda p: both_up(p) or terminated("a", "b")(p))
    if both_up(pair):
        return
    assert terminated("a", "b")(pair), pair.events
    for side in ("a", "b"):
        (dead,) = pair.of_type(side, LinkTerminated)
        assert dead.exit_status == (0 if pair.of_type(side, NetworkUp) else 10)
