"""Links back to back on a simulated clock: phases, exit statuses, pppd's lines and bytes.

Everything runs on :class:`tests.linkpair.LinkPair` (simulated time, seeded impairments), so a
30-second LCP give-up costs milliseconds. Expected behaviour is pppd's (pppd-reference.md):
its log lines verbatim, its exit statuses, its wire bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from pyppp import hdlc
from pyppp.auth.base import AuthEngine
from pyppp.auth.pap import PapAuthenticator, PapPeer
from pyppp.control import ControlProtocol
from pyppp.datapath import CONTROL_QUEUE_LIMIT
from pyppp.events import (
    AuthFailed,
    AuthMethod,
    AuthSucceeded,
    IpReceived,
    LinkDown,
    LinkTerminated,
    LinkUp,
    LoginCheckRequested,
    NetworkDown,
    NetworkUp,
    Phase,
    PhaseChanged,
    Role,
)
from pyppp.fsm import FsmConfig, State
from pyppp.ipcp.negotiator import IpcpConfig
from pyppp.lcp.negotiator import LcpConfig
from pyppp.link import Link
from pyppp.linkconfig import LinkConfig
from pyppp.options import UnknownOption
from pyppp.packet import Code, ControlPacket, PPPProtocol
from pyppp.pppd.secrets import SecretsFile
from pyppp.trace import format_packet
from pyppp.util import seeded_rng
from tests.linkpair import Impairment, LinkPair, ScriptedPeer, Wire
from tests.test_control_protocol import FakeNegotiator

VECTORS = Path(__file__).parent / "vectors"
A_ADDR, B_ADDR = IPv4Address("10.99.0.1"), IPv4Address("10.99.0.2")


DEFAULT = IpcpConfig(unit=-1)  # a marker: "the side's usual IPCP configuration"

# Bugs in pyppp/link.py these tests found (the report to the lead has the proposed diffs).
IPCP_DOWN_BUG = (
    "link.py _on_ipcp(DOWN) calls _network_down(), which sends IPCP a lower-layer Down: an "
    "IPCP renegotiation or Protocol-Reject leaves IPCP stuck in Starting"
)
AUTH_NAK_BUG = (
    "link.py _stop_auth() drops the engines' queued packets: the final PAP AuthNak never goes "
    "out, so the peer exits 10 instead of 19"
)
RCVD_ECHO_TRACE_BUG = (
    "link.py traces every received packet: pppd's dump_packet hides rcvd Echo-Request/Reply "
    "too once the link is up (debug level 1)"
)


def make_link(
    name: str,
    *,
    seed: int | None = None,
    ipcp: IpcpConfig | None = DEFAULT,
    **config: object,
) -> Link:
    if ipcp is DEFAULT:
        ipcp = IpcpConfig(local=A_ADDR, remote=B_ADDR) if name == "a" else IpcpConfig()
    return Link(
        LinkConfig(ipcp=ipcp, **config),  # type: ignore[arg-type]
        rng=seeded_rng(seed if seed is not None else ord(name)),
        logger=logging.getLogger(f"pyppp.test.{name}"),
    )


def make_pair(
    a: Link | None = None,
    b: Link | None = None,
    *,
    a_to_b: Wire | None = None,
    b_to_a: Wire | None = None,
    open_at: float | None = 0.0,
) -> LinkPair:
    pair = LinkPair(a or make_link("a"), b or make_link("b"), a_to_b=a_to_b, b_to_a=b_to_a)
    if open_at is not None:
        pair.a.open(open_at)  # type: ignore[attr-defined]
        pair.b.open(open_at)  # type: ignore[attr-defined]
    return pair


def both_up(pair: LinkPair) -> bool:
    return bool(pair.of_type("a", NetworkUp) and pair.of_type("b", NetworkUp))


def terminated(*sides: str) -> Callable[[LinkPair], bool]:
    return lambda pair: all(pair.of_type(side, LinkTerminated) for side in sides)


def lines(caplog: pytest.LogCaptureFixture, side: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == f"pyppp.test.{side}"]


def up_pair(**kwargs: object) -> LinkPair:
    pair = make_pair(**kwargs)  # type: ignore[arg-type]
    pair.run(10, stop=both_up)
    assert both_up(pair)
    return pair


# -- establishment -----------------------------------------------------------------------------
def test_two_links_reach_network_up_with_the_configured_addresses() -> None:
    pair = up_pair()
    (a_up,) = pair.of_type("a", NetworkUp)
    (b_up,) = pair.of_type("b", NetworkUp)
    assert (a_up.local, a_up.remote) == (A_ADDR, B_ADDR)
    assert (b_up.local, b_up.remote) == (B_ADDR, A_ADDR)
    assert [e.phase for e in pair.of_type("a", PhaseChanged)] == [Phase.ESTABLISH, Phase.NETWORK]
    assert pair.of_type("a", LinkUp) == [LinkUp(mtu=1500, mru=1500)]
    assert pair.now < 0.05
    assert pair.a.lcp.state is State.OPENED  # type: ignore[attr-defined]


def test_crossed_requests_with_long_delay_still_open() -> None:
    pair = up_pair(a_to_b=Wire(delay=1.0), b_to_a=Wire(delay=1.0))
    assert pair.now <= 6.5  # 2 s for LCP, 4 s for IPCP with its one Nak round
    # Both requests crossed on the wire: each side saw the other's request before any reply.
    for wire in (pair.a_to_b, pair.b_to_a):
        (first_when, first), *_ = wire.packets(PPPProtocol.LCP)
        assert (first_when, first.code) == (0.0, Code.CONF_REQ)


def test_late_opener_is_caught_by_a_retransmission() -> None:
    pair = make_pair(open_at=None)
    pair.a.open(0.0)  # type: ignore[attr-defined]
    pair.run(4.0)
    # b is in Link Dead: nothing it receives reaches LCP (RFC 1661 §3.1)
    assert pair.b.stats.discarded["link dead"] == 2  # type: ignore[attr-defined]
    pair.b.open(pair.now)  # type: ignore[attr-defined]
    pair.run(20, stop=both_up)
    assert both_up(pair)


def test_total_loss_one_way_gives_up_after_ten_requests_with_status_10(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pair = make_pair(a_to_b=Wire(impair=lambda data, now: []))
    with caplog.at_level(logging.INFO):
        pair.run(100, stop=terminated("a", "b"))
    b_requests = [
        (t, p) for t, p in pair.b_to_a.packets(PPPProtocol.LCP) if p.code == Code.CONF_REQ
    ]
    assert [t for t, _ in b_requests] == [pytest.approx(3.0 * i) for i in range(10)]
    assert {p.identifier for _, p in b_requests} == {1}  # pppd keeps the id of a retransmit
    assert pair.of_type("b", LinkTerminated) == [LinkTerminated(10, "timeout")]
    assert [e.exit_status for e in pair.of_type("a", LinkTerminated)] == [10]
    assert "LCP: timeout sending Config-Requests" in lines(caplog, "b")
    assert pair.now == pytest.approx(30.0)


def test_silent_side_never_speaks_first_and_gives_up_on_nobody() -> None:
    a = make_link("a", lcp_fsm=FsmConfig(silent=True))
    b = make_link("b", lcp_fsm=FsmConfig(silent=True))
    pair = make_pair(a, b)
    pair.run(100)
    assert pair.a_to_b.sent == []
    assert pair.b_to_a.sent == []
    assert pair.events["a"] == [PhaseChanged(Phase.ESTABLISH)]
    # A silent side opens as soon as the other one speaks.
    pair2 = make_pair(make_link("a", lcp_fsm=FsmConfig(silent=True)), make_link("b"))
    pair2.run(10, stop=both_up)
    assert both_up(pair2)


def test_passive_side_survives_the_other_giving_up_and_opens_later() -> None:
    a = make_link("a", lcp_fsm=FsmConfig(passive=True))
    pair = make_pair(a, make_link("b"), open_at=None)
    a.open(0.0)
    pair.run(60)
    assert pair.of_type("a", LinkTerminated) == []
    assert a.lcp.state is State.STOPPED
    pair.b.open(pair.now)  # type: ignore[attr-defined]
    pair.run(pair.now + 10, stop=both_up)
    assert both_up(pair)


def stubborn_peer(
    options: list[UnknownOption], *, nak: bool = False
) -> tuple[ScriptedPeer, FakeNegotiator]:
    negotiator = FakeNegotiator()
    negotiator.options = list(options)
    if nak:
        negotiator.verdict = Code.CONF_NAK
        negotiator.answer = (UnknownOption(2, b"\xff\xff\xff\xff"),)  # "escape everything"
    return ScriptedPeer(ControlProtocol(negotiator)), negotiator


def test_nak_loop_ends_in_configure_reject_after_max_failure() -> None:
    # The peer insists on an MRU of 100; pppd (and we) Nak with the minimum 128, five times
    # (Max-Failure), then Configure-Reject the option; the peer drops it and LCP opens.
    peer, negotiator = stubborn_peer([UnknownOption(1, b"\x00\x64")])
    # The peer's own treat-as-reject must not end the loop before ours does.
    peer.cp.automaton.config = FsmConfig(max_failure=100)

    def on_nak(options: object, *, rejected: bool) -> bool:
        if rejected:
            negotiator.options = []
        return True

    negotiator.on_nak = on_nak  # type: ignore[method-assign]
    a = make_link("a")
    pair = make_pair(a, peer, open_at=None)  # type: ignore[arg-type]
    a.open(0.0)
    peer.open(0.0)
    pair.run(60, stop=lambda p: bool(p.of_type("a", LinkUp)))
    replies = [p for _, p in pair.a_to_b.packets(PPPProtocol.LCP) if p.code != Code.CONF_REQ]
    codes = [p.code for p in replies]
    assert codes[:6] == [Code.CONF_NAK] * 5 + [Code.CONF_REJ]
    assert replies[0].data == b"\x01\x04\x00\x80"
    assert replies[5].data == b"\x01\x04\x00\x64"
    assert codes[6] == Code.CONF_ACK
    assert a.lcp.state is State.OPENED


def test_peer_naking_for_ever_is_treated_as_reject_after_max_failure() -> None:
    peer, _ = stubborn_peer([], nak=True)
    a = make_link("a")
    pair = make_pair(a, peer, open_at=None)  # type: ignore[arg-type]
    a.open(0.0)
    peer.open(0.0)
    # The peer Naks for ever (it even Naks options we no longer send: no RFC limit applies to
    # that, as in pppd), so look at the first half second only.
    pair.run(0.5)
    requests = [p for _, p in pair.a_to_b.packets(PPPProtocol.LCP) if p.code == Code.CONF_REQ]
    # Each Nak asks for an ACCM of all ones, which we take (it only widens our map) until the
    # fifth, treated as a Reject: the ACCM option leaves our request.
    assert [p.data[:6] for p in requests[1:5]] == [b"\x02\x06\xff\xff\xff\xff"] * 4
    assert not requests[-1].data.startswith(b"\x02\x06")


# -- termination -------------------------------------------------------------------------------
@pytest.mark.parametrize("closer", ["a", "b"])
def test_close_from_either_side(caplog: pytest.LogCaptureFixture, closer: str) -> None:
    pair = up_pair()
    other = "b" if closer == "a" else "a"
    link = pair.a if closer == "a" else pair.b
    start = pair.now
    with caplog.at_level(logging.INFO):
        link.close(now=pair.now)  # type: ignore[attr-defined]
        pair.run(start + 20, stop=terminated("a", "b"))
    assert [e.exit_status for e in pair.of_type(closer, LinkTerminated)] == [5]
    assert pair.of_type(other, LinkTerminated) == [LinkTerminated(0, "terminated by peer")]
    assert pair.of_type(closer, LinkTerminated) == [LinkTerminated(5, "User request")]
    assert "LCP terminated by peer (User request)" in lines(caplog, other)
    for side in ("a", "b"):
        assert pair.of_type(side, NetworkDown)
        assert pair.of_type(side, LinkDown)
        assert pair.events[side][-1] == pair.of_type(side, LinkTerminated)[0]
        assert pair.of_type(side, PhaseChanged)[-1] == PhaseChanged(Phase.DEAD)
    # The closer's Terminate-Request is acked at once; the other side waits one Restart
    # period in Stopping (pppd: zrc) before its link is dead.
    wire = pair.a_to_b if closer == "a" else pair.b_to_a
    assert [p.code for _, p in wire.packets(PPPProtocol.LCP)][-1] == Code.TERM_REQ
    assert pair.now == pytest.approx(start + 3.0, abs=0.01)


def test_close_with_the_peer_gone_sends_two_terminate_requests() -> None:
    pair = up_pair()
    pair.a_to_b.cut()
    pair.b_to_a.cut()
    start = pair.now
    pair.a.close(now=start)  # type: ignore[attr-defined]
    pair.run(start + 20, stop=terminated("a"))
    terms = [t for t, p in pair.a_to_b.packets(PPPProtocol.LCP) if p.code == Code.TERM_REQ]
    assert terms == [pytest.approx(start), pytest.approx(start + 3)]
    assert pair.of_type("a", LinkTerminated)[0].exit_status == 5
    assert pair.now == pytest.approx(start + 6)


def test_close_before_lcp_opens_is_immediate() -> None:
    a = make_link("a")
    a.close(now=0.0)  # Dead: nothing to do but remember the status
    assert a.next_event() is None
    # Closing in Req-Sent still tells the peer (RFC 1661: irc,str/4) and waits for its Ack.
    pair = make_pair(a_to_b=Wire(impair=lambda data, now: []))
    pair.a.close(now=pair.now)  # type: ignore[attr-defined]
    pair.a.close(now=pair.now)  # type: ignore[attr-defined]  # a second close changes nothing
    pair.run(30, stop=terminated("a"))
    terms = [t for t, p in pair.a_to_b.packets(PPPProtocol.LCP) if p.code == Code.TERM_REQ]
    assert len(terms) == 2
    assert terms[1] - terms[0] == pytest.approx(3.0)
    assert [e.exit_status for e in pair.of_type("a", LinkTerminated)] == [5]
    # In Stopped (a passive side that gave up) there is nobody to tell: dead at once.
    a = make_link("a", lcp_fsm=FsmConfig(passive=True))
    a.open(0.0)
    now = 0.0
    while (deadline := a.get_timer()) is not None:
        now = deadline
        a.handle_timer(now)
    assert a.lcp.state is State.STOPPED
    a.data_to_send()
    a.close(now=now)
    assert a.data_to_send() == b""
    events = []
    while (event := a.next_event()) is not None:
        events.append(event)
    assert events[-1] == LinkTerminated(5, "User request")


def test_lower_down_is_modem_hangup_status_16() -> None:
    pair = up_pair()
    pair.a.lower_down(now=pair.now)  # type: ignore[attr-defined]
    pair.a.lower_down(now=pair.now)  # type: ignore[attr-defined]
    pair.run(pair.now + 1)
    assert [e.exit_status for e in pair.of_type("a", LinkTerminated)] == [16]


def test_keepalive_detects_a_dead_peer_with_status_15(caplog: pytest.LogCaptureFixture) -> None:
    a = make_link("a", echo_interval=1.0, echo_failure=4)
    pair = up_pair(a=a)
    pair.run(pair.now + 5)  # echoes answered: nothing happens
    assert not pair.of_type("a", LinkTerminated)
    assert a.lcp.echos_pending <= 1
    pair.a_to_b.cut()
    pair.b_to_a.cut()
    cut = pair.now
    with caplog.at_level(logging.INFO):
        pair.run(cut + 30, stop=terminated("a"))
    a_lines = lines(caplog, "a")
    assert "No response to 4 echo-requests" in a_lines
    assert "Serial link appears to be disconnected." in a_lines
    (dead,) = pair.of_type("a", LinkTerminated)
    assert dead.exit_status == 15
    # 4 unanswered echoes (the last sent at most 1 s after the cut), failure at the next tick,
    # then two Terminate-Requests 3 s apart and one more period: about 10-11 s after the cut.
    assert cut + 9.0 <= pair.now <= cut + 11.0


def test_looped_back_line_is_detected_with_status_17(caplog: pytest.LogCaptureFixture) -> None:
    link = make_link("a")
    now = 0.0
    with caplog.at_level(logging.INFO):
        link.open(now)
        for _ in range(200):
            data = link.data_to_send()
            if data:
                now += 0.01
                link.receive_data(data, now)
                continue
            deadline = link.get_timer()
            if deadline is None:
                break
            now = deadline
            link.handle_timer(now)
    events = []
    while (event := link.next_event()) is not None:
        events.append(event)
    assert "Serial line is looped back." in lines(caplog, "a")
    assert isinstance(events[-1], LinkTerminated)
    assert events[-1].exit_status == 17
    assert link.lcp.negotiator.stats.magic_naks >= 10


def test_idle_timeout_status_12(caplog: pytest.LogCaptureFixture) -> None:
    pair = up_pair(a=make_link("a", idle=5.0))
    start = pair.now
    pair.a.send_ip(bytes(20), start)  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO):
        pair.run(start + 30, stop=terminated("a"))
    assert "Terminating connection due to lack of activity." in lines(caplog, "a")
    assert pair.of_type("a", LinkTerminated)[0].exit_status == 12


def test_connect_time_limit_status_13(caplog: pytest.LogCaptureFixture) -> None:
    pair = up_pair(a=make_link("a", max_connect=10.0))
    with caplog.at_level(logging.INFO):
        pair.run(40, stop=terminated("a"))
    assert "Connect time expired" in lines(caplog, "a")
    assert pair.of_type("a", LinkTerminated)[0].exit_status == 13


# -- the Network phase -------------------------------------------------------------------------
def test_ip_both_ways_is_byte_identical() -> None:
    pair = up_pair()
    # An IPv4 version nibble first, then every octet value (flags and escapes included).
    payload_a = b"\x45" + bytes(range(256)) * 4
    payload_b = b"\x45" + bytes(99)
    assert pair.a.send_ip(payload_a, pair.now)  # type: ignore[attr-defined]
    assert pair.b.send_ip(payload_b, pair.now)  # type: ignore[attr-defined]
    pair.run(pair.now + 1)
    assert pair.of_type("b", IpReceived) == [IpReceived(payload_a)]
    assert pair.of_type("a", IpReceived) == [IpReceived(payload_b)]


def test_negotiated_accm_acfc_pfc_are_in_force_on_the_wire() -> None:
    pair = up_pair()
    pair.a.send_ip(b"\x45\x01\x02\x7e\x7d\x11", pair.now)  # type: ignore[attr-defined]
    pair.run(pair.now + 1)
    _when, chunk = pair.a_to_b.sent[-1]
    # ACFC: no FF 03; PFC: one-octet protocol 0x21; ACCM 0: 0x01, 0x02, 0x11 go raw; only the
    # flag and escape octets are escaped.
    assert chunk.startswith(b"\x7e\x21\x45\x01\x02\x7d\x5e\x7d\x5d\x11")
    assert chunk == hdlc.encode_frame(
        PPPProtocol.IP, b"\x45\x01\x02\x7e\x7d\x11", accm=0, acfc=True, pfc=True
    )


def test_without_compression_frames_keep_address_control_and_protocol() -> None:
    config = LcpConfig(pcomp=False, accomp=False, asyncmap=0x000A0000)
    pair = up_pair(a=make_link("a", lcp=config), b=make_link("b", lcp=config))
    pair.a.send_ip(b"\x45\x11\x13\x01", pair.now)  # type: ignore[attr-defined]
    pair.run(pair.now + 1)
    _, chunk = pair.a_to_b.sent[-1]
    # b asked a to escape 0x11 and 0x13 (XON/XOFF) only.
    assert chunk == b"\x7e\xff\x03\x00\x21\x45\x7d\x31\x7d\x33\x01" + chunk[11:]
    assert chunk == hdlc.encode_frame(PPPProtocol.IP, b"\x45\x11\x13\x01", accm=0x000A0000)
    assert pair.of_type("b", IpReceived) == [IpReceived(b"\x45\x11\x13\x01")]


def test_ip_cannot_be_sent_before_network_up_or_above_mtu() -> None:
    a = make_link("a")
    assert not a.send_ip(bytes(20), 0.0)
    pair = up_pair()
    assert not pair.a.send_ip(bytes(1501), pair.now)  # type: ignore[attr-defined]


@pytest.mark.parametrize("protocol", [PPPProtocol.CCP, PPPProtocol.IPV6CP, 0x0057, 0x8207])
def test_unknown_protocol_in_network_phase_is_protocol_rejected(protocol: int) -> None:
    pair = up_pair()
    a: Link = pair.a  # type: ignore[assignment]
    information = bytes.fromhex("0101000e010a5100 82abaf796c55")
    a.receive_data(hdlc.encode_frame(protocol, information), pair.now)
    out = a.data_to_send()
    (frame,) = hdlc.Deframer(accm=0).feed(out)
    assert frame.protocol == PPPProtocol.LCP
    reject = ControlPacket.decode(frame.information)
    assert reject.code == Code.PROT_REJ
    assert reject.data == protocol.to_bytes(2, "big") + information
    # Protocol-Reject is not a Configure/Terminate/Code-Reject: the negotiated framing applies.
    assert out == hdlc.encode_frame(PPPProtocol.LCP, frame.information, accm=0, acfc=True)
    assert a.stats.discarded["unsupported protocol"] == 1


def test_protocol_reject_of_ipcp_by_the_peer_ends_the_network_phase(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pair = up_pair()
    b: Link = pair.b  # type: ignore[assignment]
    with caplog.at_level(logging.DEBUG):
        b.lcp.send_protocol_reject(PPPProtocol.IPCP, b"\x01\x01\x00\x04")
        b._process(pair.now)  # flush it the way the link does after any input
        pair.run(pair.now + 20, stop=terminated("a", "b"))
    assert any(
        line.startswith("Protocol-Reject for 'Internet Protocol Control Protocol' (0x8021)")
        for line in lines(caplog, "a")
    )
    # pppd np_finished: no network protocol left, so the link closes; IPCP had been up.
    assert pair.of_type("a", LinkTerminated)[0].exit_status == 0


def test_ipcp_renegotiation_after_network_up_reopens_ipcp() -> None:
    pair = up_pair()
    a: Link = pair.a  # type: ignore[assignment]
    # A late duplicate of b's last IPCP Configure-Request: RCR+ in Opened (tld,scr,sca/8).
    (_, request), *_ = [
        (t, p)
        for t, p in reversed(pair.b_to_a.packets(PPPProtocol.IPCP))
        if p.code == Code.CONF_REQ
    ]
    a.receive_data(hdlc.encode_frame(PPPProtocol.IPCP, request.encode()), pair.now)
    pair.run(pair.now + 10, stop=lambda p: len(p.of_type("a", NetworkUp)) == 2)
    assert len(pair.of_type("a", NetworkDown)) == 1
    assert len(pair.of_type("a", NetworkUp)) == 2
    assert a.ipcp is not None
    assert a.ipcp.state is State.OPENED


def test_non_lcp_packets_are_discarded_before_lcp_opens() -> None:
    a = make_link("a")
    a.open(0.0)
    a.data_to_send()
    for protocol, data in (
        (PPPProtocol.IPCP, b"\x01\x01\x00\x0a\x03\x06\x0a\x63\x00\x02"),
        (PPPProtocol.IP, b"\x45" + bytes(19)),
        (PPPProtocol.CCP, b"\x01\x01\x00\x04"),
        (PPPProtocol.PAP, b"\x01\x01\x00\x04"),
    ):
        a.receive_data(hdlc.encode_frame(protocol, data), 0.1)
    assert a.data_to_send() == b""
    assert sum(a.stats.discarded.values()) == 4
    assert a.ipcp is not None
    assert a.ipcp.state is State.INITIAL


def test_ip_before_ipcp_opens_is_dropped() -> None:
    pair = make_pair()
    pair.run(10, stop=lambda p: bool(p.of_type("a", LinkUp)))
    a: Link = pair.a  # type: ignore[assignment]
    assert not pair.of_type("a", NetworkUp)  # IPCP needs another round trip
    a.receive_data(hdlc.encode_frame(PPPProtocol.IP, b"\x45" + bytes(19)), pair.now)
    assert a.stats.discarded["IP before IPCP opened"] == 1
    assert a.next_event() is None


def test_link_without_ipcp_stays_in_network_phase() -> None:
    pair = make_pair(make_link("a", ipcp=None), make_link("b", ipcp=None))
    pair.run(10)
    assert pair.a.phase is Phase.NETWORK  # type: ignore[attr-defined]
    assert not pair.of_type("a", NetworkUp)


def test_require_network_closes_a_link_with_no_network_protocol() -> None:
    # pppd continue_networks with `noip` and nothing else: "No network protocols running".
    pair = make_pair(make_link("a", ipcp=None, require_network=True), make_link("b", ipcp=None))
    pair.run(10)
    ended = pair.of_type("a", LinkTerminated)
    assert ended
    assert ended[0].reason == "No network protocols running"
    assert ended[0].exit_status == 10


def test_receive_all_keeps_control_characters(caplog: pytest.LogCaptureFixture) -> None:
    # pppd receive-all: the ACCM asked of the peer is not enforced on what it sends.
    link = make_link("a", receive_all=True, lcp=LcpConfig(asyncmap=0xA0000))
    assert link._path.deframer.accm == 0
    pair = make_pair(link)
    pair.run(10, stop=lambda p: bool(p.of_type("a", NetworkUp)))
    assert link._path.deframer.accm == 0
    other = make_link("a", lcp=LcpConfig(asyncmap=0xA0000))
    assert other._path.deframer.accm == 0xA0000


def test_lcp_echo_adaptive_skips_echoes_while_frames_arrive(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="pyppp.trace")
    a = make_link("a", echo_interval=1.0, echo_adaptive=True, trace_echo=True)
    pair = make_pair(a, make_link("b"))
    pair.run(10, stop=lambda p: bool(p.of_type("a", NetworkUp)) and bool(p.of_type("b", NetworkUp)))
    b: Link = pair.b  # type: ignore[assignment]
    start = pair.now
    caplog.clear()
    # b keeps sending IP for 5 s: a sends no Echo-Request meanwhile.
    while pair.now < start + 5:
        b.send_ip(b"\x45" + bytes(19), pair.now)
        pair.run(pair.now + 0.3)
    busy = [m for m in caplog.messages if "EchoReq" in m and m.startswith("sent")]
    caplog.clear()
    pair.run(pair.now + 5)  # quiet: the keepalive comes back
    quiet = [m for m in caplog.messages if "EchoReq" in m and m.startswith("sent")]
    assert len(busy) <= 1, busy  # one may have gone just as the traffic started
    assert len(quiet) >= 3, quiet


# -- authentication (the phase composition; PAP itself is tested elsewhere) ----------------------
class PapFactory:
    def __init__(self, password: str = "secret") -> None:
        self.password = password

    def authenticator(self, protocol: int) -> AuthEngine | None:
        if protocol != PPPProtocol.PAP:
            return None
        return PapAuthenticator("server", SecretsFile.parse("zaphod * secret *\n"))

    def peer(self, protocol: int) -> AuthEngine | None:
        return PapPeer("zaphod", self.password) if protocol == PPPProtocol.PAP else None


def test_pap_authentication_phase_then_network() -> None:
    a = make_link("a", lcp=LcpConfig(require_auth=(PPPProtocol.PAP,)), auth=PapFactory())
    b = make_link("b", auth=PapFactory())
    pair = up_pair(a=a, b=b)
    assert [e.phase for e in pair.of_type("a", PhaseChanged)] == [
        Phase.ESTABLISH,
        Phase.AUTHENTICATE,
        Phase.NETWORK,
    ]
    assert pair.of_type("a", AuthSucceeded) == [
        AuthSucceeded(AuthMethod.PAP, Role.AUTHENTICATOR, "zaphod")
    ]
    assert pair.of_type("b", AuthSucceeded)[0].role == "peer"


def test_pap_failure_gives_11_and_19() -> None:
    a = make_link("a", lcp=LcpConfig(require_auth=(PPPProtocol.PAP,)), auth=PapFactory())
    b = make_link("b", auth=PapFactory(password="wrong"))
    pair = make_pair(a, b)
    pair.run(60, stop=terminated("a", "b"))
    assert [e.exit_status for e in pair.of_type("a", AuthFailed)] == [11]
    assert [e.exit_status for e in pair.of_type("a", LinkTerminated)] == [11]
    assert [e.exit_status for e in pair.of_type("b", LinkTerminated)] == [19]
    assert not pair.of_type("a", NetworkUp)


def test_peer_refusing_to_authenticate_gives_11(caplog: pytest.LogCaptureFixture) -> None:
    a = make_link("a", lcp=LcpConfig(require_auth=(PPPProtocol.PAP,)), auth=PapFactory())
    b = make_link("b", lcp=LcpConfig(allow_auth=()))
    pair = make_pair(a, b)
    with caplog.at_level(logging.WARNING):
        pair.run(60, stop=terminated("a"))
    assert "peer refused to authenticate: terminating link" in lines(caplog, "a")
    assert pair.of_type("a", LinkTerminated)[0].exit_status == 11


def test_no_engine_for_a_negotiated_protocol_fails_authentication() -> None:
    a = make_link("a", lcp=LcpConfig(require_auth=(PPPProtocol.PAP,)), auth=PapFactory())
    b = make_link("b")  # agrees to PAP but has no factory to run it
    pair = make_pair(a, b)
    pair.run(60, stop=terminated("b"))
    assert [e.exit_status for e in pair.of_type("b", AuthFailed)] == [19]


# -- byte vectors from the real pppd -----------------------------------------------------------
def read_vector(name: str) -> dict[str, str]:
    fields = {}
    for line in (VECTORS / name).read_text().splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        fields[key.strip()] = value.strip()
    return fields


PPPD_CONFREQ = read_vector("pppd_lcp_confreq.txt")


def feed(link: Link, data: bytes, how: str, now: float) -> None:
    if how == "whole":
        link.receive_data(data, now)
    elif how == "bytewise":
        for i in range(len(data)):
            link.receive_data(data[i : i + 1], now)
    else:
        cut = int(how)
        link.receive_data(data[:cut], now)
        link.receive_data(data[cut:], now)


FRAME = bytes.fromhex(PPPD_CONFREQ["frame"])


@pytest.mark.parametrize("how", ["whole", "bytewise", *map(str, range(1, len(FRAME)))])
def test_pppd_first_request_is_acked_verbatim(how: str, caplog: pytest.LogCaptureFixture) -> None:
    information = bytes.fromhex(PPPD_CONFREQ["information"])
    link = make_link("a")
    with caplog.at_level(logging.DEBUG, logger="pyppp.trace"):
        link.open(0.0)
        ours = link.data_to_send()
        feed(link, FRAME, how, 0.5)
    out = hdlc.Deframer(accm=0).feed(link.data_to_send())
    ack_information = b"\x02" + information[1:]
    assert [(f.protocol, f.information) for f in out] == [(PPPProtocol.LCP, ack_information)]
    assert link.data_to_send() == b""
    # Configure-Ack goes out with the default ACCM and Address/Control (RFC 1662 §7.1).
    trace = [r.getMessage() for r in caplog.records if r.name == "pyppp.trace"]
    assert PPPD_CONFREQ["trace"] in trace
    assert "sent [LCP ConfAck id=0x1 <asyncmap 0x0> <magic 0x5bb51eb9> <pcomp> <accomp>]" in trace
    (our_request,) = hdlc.Deframer(accm=0).feed(ours)
    assert trace[0] == "sent " + format_packet(PPPProtocol.LCP, our_request.information)
    assert trace[0].startswith("sent [LCP ConfReq id=0x1 <asyncmap 0x0> <magic 0x")


def test_pppd_request_ack_frame_bytes() -> None:
    link = make_link("a")
    link.open(0.0)
    link.data_to_send()
    link.receive_data(FRAME, 0.5)
    # The same frame with Code 2 and a new FCS: every octet below 0x20 escaped, as pppd sends.
    expected = bytes.fromhex(
        "7e ff 7d 23 c0 21 7d 22 7d 21 7d 20 7d 34 7d 22 7d 26 7d 20 7d 20 7d 20 7d 20"
        " 7d 25 7d 26 5b b5 7d 3e b9 7d 27 7d 22 7d 28 7d 22"
    )
    out = link.data_to_send()
    assert out.startswith(expected)
    information = bytes.fromhex(PPPD_CONFREQ["information"])
    assert out == hdlc.encode_frame(PPPProtocol.LCP, b"\x02" + information[1:])


def trace_vectors() -> list[object]:
    params: list[object] = []
    for line in (VECTORS / "pppd_traces.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        xfail = line.startswith("xfail:")
        protocol, packet, trace = (part.strip() for part in line.removeprefix("xfail:").split("|"))
        marks = (
            [
                pytest.mark.xfail(
                    strict=True, reason="pyppp.trace has no IPV6CP option printer (<addr fe80::>)"
                )
            ]
            if xfail
            else []
        )
        params.append(
            pytest.param(int(protocol, 16), bytes.fromhex(packet), trace, marks=marks, id=trace)
        )
    return params


@pytest.mark.parametrize(("protocol", "packet", "expected"), trace_vectors())
def test_real_pppd_trace_lines(protocol: int, packet: bytes, expected: str) -> None:
    assert format_packet(protocol, packet) == expected


# -- trace formatting of every code ------------------------------------------------------------
@pytest.mark.parametrize(
    ("protocol", "packet", "expected"),
    [
        (PPPProtocol.LCP, "0503000c50656572206e6f74", '[LCP TermReq id=0x3 "Peer not"]'),
        (PPPProtocol.LCP, "050300060150", "[LCP TermReq id=0x3 01 50]"),
        (PPPProtocol.LCP, "0903000812345678", "[LCP EchoReq id=0x3 magic=0x12345678]"),
        (PPPProtocol.LCP, "0a03000a1234567801ff", "[LCP EchoRep id=0x3 magic=0x12345678 01 ff]"),
        (PPPProtocol.LCP, "08040008 80fd 0101", "[LCP ProtRej id=0x4 80 fd 01 01]"),
        (PPPProtocol.LCP, "07050008 0e770004", "[LCP CodeRej id=0x5 0e 77 00 04]"),
        (PPPProtocol.LCP, "0e7700054a", "[LCP code=0xe id=0x77 4a]"),
        (PPPProtocol.LCP, "0c01000b0000000168656c", '[LCP Ident id=0x1 magic=0x1 "hel"]'),
        (PPPProtocol.LCP, "0d01000c000000010000003c", "[LCP TimeRem id=0x1 magic=0x1 seconds=60]"),
        (PPPProtocol.LCP, "01010008 0104 05dc", "[LCP ConfReq id=0x1 <mru 1500>]"),
        (PPPProtocol.LCP, "01010007 63 03 01", "[LCP ConfReq id=0x1 < 63 03 01>]"),
        (PPPProtocol.LCP, "01010008 0304c023", "[LCP ConfReq id=0x1 <auth pap>]"),
        (PPPProtocol.IPCP, "0201000a 03060a630001", "[IPCP ConfAck id=0x1 <addr 10.99.0.1>]"),
        (PPPProtocol.IPCP, "05010004", "[IPCP TermReq id=0x1]"),
        (PPPProtocol.IPCP, "09010004", "[IPCP code=0x9 id=0x1]"),
        (PPPProtocol.CHAP, "04010004", '[CHAP Failure id=0x1 ""]'),
        (PPPProtocol.IP, "4500001400000000", "[IP data] 45 00 00 14 00 00 00 00"),
        (0x1235, "0102", "[proto=0x1235] 01 02"),
    ],
)
def test_format_packet(protocol: int, packet: str, expected: str) -> None:
    assert format_packet(protocol, bytes.fromhex(packet)) == expected


def test_format_malformed_packet_like_pppd() -> None:
    assert format_packet(PPPProtocol.LCP, bytes.fromhex("0503000f50")) == "[LCP] 05 03 00 0f 50"


def test_format_packet_never_raises_on_short_input() -> None:
    for protocol in (
        PPPProtocol.LCP,
        PPPProtocol.IPCP,
        PPPProtocol.PAP,
        PPPProtocol.CHAP,
        0x80FD,
        0x1,
    ):
        for length in range(12):
            format_packet(protocol, bytes(range(1, length + 1)))


def test_format_pap_password_hidden_unless_asked() -> None:
    packet = bytes.fromhex("0101 0012 067a6170686f64 06736563726574")
    assert "password=<hidden>" in format_packet(PPPProtocol.PAP, packet)
    shown = format_packet(PPPProtocol.PAP, packet, show_password=True)
    assert shown == '[PAP AuthReq id=0x1 user="zaphod" password="secret"]'


def test_echo_traffic_is_hidden_from_the_trace_once_up(caplog: pytest.LogCaptureFixture) -> None:
    a = make_link("a", echo_interval=1.0)
    with caplog.at_level(logging.DEBUG, logger="pyppp.trace"):
        pair = up_pair(a=a)
        caplog.clear()
        pair.run(pair.now + 3)
    assert not [r for r in caplog.records if "Echo" in r.getMessage()]
    assert any(p.code == Code.ECHO_REQ for _, p in pair.a_to_b.packets(PPPProtocol.LCP))


# -- impaired lines ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "seed",
    [seed for seed in range(12)],
)
def test_impaired_line_opens_or_gives_up_as_the_counters_say(seed: int) -> None:
    impair_ab = Impairment(seed, loss=0.3, duplicate=0.2, reorder=0.2, jitter=0.3)
    impair_ba = Impairment(seed + 100, loss=0.3, duplicate=0.2, reorder=0.2, jitter=0.3)
    pair = make_pair(a_to_b=Wire(impair=impair_ab), b_to_a=Wire(impair=impair_ba))
    pair.run(300, stop=lambda p: both_up(p) or terminated("a", "b")(p))
    if both_up(pair):
        return
    # Nobody may be left stuck: both sides end, each with the status the counters give.
    assert terminated("a", "b")(pair), pair.events
    # Giving up is legitimate under 30% loss (10 requests lost, or 5 Naks lost and the Reject
    # that follows them). The status must say how far the side got.
    for side in ("a", "b"):
        for dead in pair.of_type(side, LinkTerminated):
            assert dead.exit_status == (0 if pair.of_type(side, NetworkUp) else 10)


# -- more of the phase machine -----------------------------------------------------------------
def test_properties_and_data_to_send_limit() -> None:
    pair = up_pair()
    a: Link = pair.a  # type: ignore[assignment]
    assert a.network_up
    assert a.mtu == 1500
    for _ in range(3):
        assert a.send_ip(b"\x45" + bytes(99), pair.now)
    assert a.pending_bytes > 200
    first = a.data_to_send(limit=1)
    assert len(hdlc.Deframer(accm=0).feed(first)) == 1
    rest = a.data_to_send()
    assert len(hdlc.Deframer(accm=0).feed(rest)) == 2
    assert a.pending_bytes == 0


def test_authentication_packets_without_an_engine_are_protocol_rejected() -> None:
    pair = up_pair()
    a: Link = pair.a  # type: ignore[assignment]
    a.receive_data(hdlc.encode_frame(PPPProtocol.PAP, b"\x01\x01\x00\x04"), pair.now)
    (frame,) = hdlc.Deframer(accm=0).feed(a.data_to_send())
    assert frame.information[0] == 8
    assert frame.information[4:6] == b"\xc0\x23"


def auth_pair(**b_config: object) -> LinkPair:
    a = make_link("a", lcp=LcpConfig(require_auth=(PPPProtocol.PAP,)), auth=PapFactory())
    b = make_link("b", **({"auth": PapFactory()} | b_config))  # type: ignore[arg-type]
    return make_pair(a, b)


def test_authenticate_phase_discards_other_protocols_and_bad_auth_packets() -> None:
    pair = auth_pair()
    a: Link = pair.a  # type: ignore[assignment]
    pair.run(1, stop=lambda p: a.phase is Phase.AUTHENTICATE)
    a.receive_data(hdlc.encode_frame(PPPProtocol.PAP, b"\x01"), pair.now)
    a.receive_data(hdlc.encode_frame(PPPProtocol.IPCP, b"\x01\x01\x00\x04"), pair.now)
    assert a.stats.discarded["malformed authentication packet"] == 1
    assert a.stats.discarded["0x8021 during authentication"] == 1
    pair.run(10, stop=both_up)
    assert both_up(pair)


def test_lost_authenticate_request_is_retransmitted() -> None:
    dropped: list[bytes] = []

    def drop_first_pap(data: bytes, now: float) -> list[tuple[float, bytes]]:
        if data.startswith((b"\x7e\xc0\x23", b"\x7e\xff\x03\xc0\x23")) and not dropped:
            dropped.append(data)
            return []
        return [(0.001, data)]

    pair = auth_pair()
    pair.b_to_a.impair = drop_first_pap
    pair.run(30, stop=both_up)
    assert dropped
    assert both_up(pair)
    assert pair.now >= 3.0  # pap-restart


def test_protocol_reject_of_pap_during_authentication() -> None:
    pair = auth_pair()
    a: Link = pair.a  # type: ignore[assignment]
    b: Link = pair.b  # type: ignore[assignment]
    pair.run(1, stop=lambda p: b.phase is Phase.AUTHENTICATE)
    a.lcp.send_protocol_reject(PPPProtocol.PAP, b"\x01\x01\x00\x04")
    a._process(pair.now)
    pair.run(30, stop=terminated("b"))
    assert pair.of_type("b", LinkTerminated)


def test_login_check_goes_through_the_owner() -> None:
    class LoginFactory(PapFactory):
        def authenticator(self, protocol: int) -> AuthEngine | None:
            return PapAuthenticator("server", SecretsFile.parse("zaphod * secret *\n"), login=True)

    a = make_link("a", lcp=LcpConfig(require_auth=(PPPProtocol.PAP,)), auth=LoginFactory())
    pair = make_pair(a, make_link("b", auth=PapFactory()))
    pair.run(5, stop=lambda p: bool(p.of_type("a", LoginCheckRequested)))
    (check,) = pair.of_type("a", LoginCheckRequested)
    assert (check.user, check.password) == ("zaphod", "secret")
    a.login_result(12345, True, pair.now)  # unknown id: ignored
    a.login_result(check.request_id, True, pair.now)
    pair.run(10, stop=both_up)
    assert both_up(pair)


def test_nobody_knows_an_address_ipcp_fails_and_the_link_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pair = make_pair(make_link("a", ipcp=IpcpConfig()), make_link("b", ipcp=IpcpConfig()))
    with caplog.at_level(logging.INFO):
        pair.run(120, stop=terminated("a", "b"))
    assert terminated("a", "b")(pair)
    assert [e.exit_status for e in pair.of_type("a", LinkTerminated)] == [10]
    assert not pair.of_type("a", NetworkUp)
    assert "Could not determine local IP address" in lines(caplog, "a")


# -- a silent server learns what the caller asked for ---------------------------------------------
def test_silent_server_keeps_the_callers_request() -> None:
    """Regression: in Stopped, the reset that starts negotiation ran *after* the review of the
    caller's Configure-Request and wiped it (pppd resets first): the server ignored the caller's
    MRU, magic number and authentication request. `pyppp serve` is always silent."""
    from pyppp.simple import StaticAuth

    server = make_link(
        "a",
        lcp_fsm=FsmConfig(silent=True),
        lcp=LcpConfig(allow_auth=(PPPProtocol.PAP,)),
        auth=StaticAuth(user="griis", password="pw", rng=seeded_rng(3)),
    )
    client = make_link(
        "b",
        lcp=LcpConfig(mru=600, require_auth=(PPPProtocol.PAP,)),
        auth=StaticAuth(users={"griis": "pw"}, rng=seeded_rng(4)),
    )
    pair = up_pair(a=server, b=client)
    result = server.lcp_result
    assert result is not None
    assert (result.peer_mru, result.mtu) == (600, 600)
    assert result.peer_magic != 0
    assert result.tx_pfc
    assert result.tx_acfc
    assert result.peer_auth is not None
    assert [e.name for e in pair.of_type("b", AuthSucceeded)] == ["griis"]


def test_a_dead_link_can_be_opened_again() -> None:
    """After giving up (status 10) open() starts a fresh negotiation, as pppd's persist does."""
    pair = make_pair(a_to_b=Wire(impair=lambda data, now: []), open_at=None)
    pair.a.open(0.0)  # type: ignore[attr-defined]
    pair.run(100, stop=terminated("a"))
    (end,) = pair.of_type("a", LinkTerminated)
    assert end.exit_status == 10
    pair.a.open(pair.now)  # type: ignore[attr-defined]
    assert pair.a.phase is Phase.ESTABLISH  # type: ignore[attr-defined]
    assert pair.a.get_timer() is not None
    sent = pair.a.data_to_send()
    frames = hdlc.Deframer().feed(sent)
    assert [f.information[0] for f in frames if f.protocol == PPPProtocol.LCP] == [Code.CONF_REQ]


def test_queued_ip_does_not_follow_the_terminate_ack() -> None:
    pair = up_pair()
    packet = bytes.fromhex("45000014000000004001000a0a630001") + bytes(4)
    assert pair.a.send_ips([packet] * 50, pair.now) == 50  # type: ignore[attr-defined]
    pair.b.close(now=pair.now)  # type: ignore[attr-defined]
    pair.b_to_a.send(pair.b.data_to_send(), pair.now)
    for chunk in pair.b_to_a.pop_due(pair.now + 1):
        pair.a.receive_data(chunk, pair.now + 1)
    frames = hdlc.Deframer().feed(pair.a.data_to_send())
    assert [f.protocol for f in frames] == [PPPProtocol.LCP]  # the Terminate-Ack alone
    assert pair.a.stats.discarded["ip queued at network down"] == 50  # type: ignore[attr-defined]


def test_a_link_reopened_after_an_lcp_timeout_ends_normally_with_status_0() -> None:
    """Issue I: a timed-out negotiation must not taint the next call on the same Link."""
    deaf = True
    pair = make_pair(
        a_to_b=Wire(impair=lambda data, now: [] if deaf else [(0.001, data)]), open_at=None
    )
    pair.a.open(0.0)  # type: ignore[attr-defined]
    pair.run(100, stop=terminated("a"))
    assert [e.exit_status for e in pair.of_type("a", LinkTerminated)] == [10]
    deaf = False
    pair.events["a"].clear()
    pair.a.open(pair.now)  # type: ignore[attr-defined]
    pair.b.open(pair.now)  # type: ignore[attr-defined]
    pair.run(pair.now + 10, stop=both_up)
    assert both_up(pair)
    pair.b.close(now=pair.now)  # type: ignore[attr-defined]
    pair.run(pair.now + 20, stop=terminated("a", "b"))
    # The same as a fresh link whose peer terminates (test_close_from_either_side): 0.
    assert [e.exit_status for e in pair.of_type("a", LinkTerminated)] == [0]


def test_protocol_reject_of_ip_takes_ipcp_down_and_renegotiates(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue P.1: a Protocol-Reject of 0x0021 must not silently blackhole IP."""
    pair = up_pair()
    a: Link = pair.a  # type: ignore[assignment]
    b: Link = pair.b  # type: ignore[assignment]
    packet = bytes.fromhex("45000014000000004001000a0a630001") + bytes(4)
    with caplog.at_level(logging.DEBUG):
        b.lcp.send_protocol_reject(PPPProtocol.IP, packet)
        b._process(pair.now)  # flush it the way the link does after any input
        pair.run(pair.now + 1, stop=lambda p: bool(p.of_type("a", NetworkDown)))
    (down,) = pair.of_type("a", NetworkDown)
    assert down.reason == "Protocol-Reject for Internet Protocol"
    assert not a.network_up
    assert not a.send_ip(packet, pair.now)  # nothing is sent while IPCP renegotiates
    assert any(
        line.startswith("Protocol-Reject for 'Internet Protocol' (0x21) received")
        for line in lines(caplog, "a")
    )
    pair.run(pair.now + 10, stop=lambda p: len(p.of_type("a", NetworkUp)) == 2)
    assert a.network_up
    assert a.send_ip(packet, pair.now)
    pair.run(pair.now + 1, stop=lambda p: bool(p.of_type("b", IpReceived)))
    assert [e.packet for e in pair.of_type("b", IpReceived)] == [packet]


def test_an_owner_that_never_drains_cannot_grow_the_control_queue() -> None:
    """Issue P: a storm of Echo-Requests queues at most CONTROL_QUEUE_LIMIT octets of replies."""
    pair = up_pair()
    a: Link = pair.a  # type: ignore[assignment]
    a.data_to_send()
    echo = hdlc.encode_frame(
        PPPProtocol.LCP, ControlPacket(Code.ECHO_REQ, 1, bytes(4) + bytes(200)).encode(), accm=0
    )
    for _ in range(2000):
        a.receive_data(echo, pair.now)
    assert len(a.data_to_send()) <= CONTROL_QUEUE_LIMIT
    assert a.stats.discarded["control queue full"] > 0
