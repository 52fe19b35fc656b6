"""CCP (RFC 1962): option codecs, pppd's trace, the negotiator and Reset-Request/Ack.

The option vectors are pppd's (ccp.c, ppp-comp.h): ``deflate 15`` is ``1a 04 78 00``, its
draft form ``18 04 78 00``, ``bsdcomp 15`` ``15 03 2f``; the negotiation cases follow
pppd's ``ccp_reqci``/``ccp_nakci``/``ccp_rejci`` with pppd's default offers.
"""

from __future__ import annotations

import logging
import random

import pytest

from pyppp.ccp.deflate import DeflateConfig, DeflatePolicy
from pyppp.ccp.negotiator import CcpConfig, CcpNegotiator, CcpResult, method_policies
from pyppp.ccp.options import CODECS, BsdCompress, Deflate, DeflateDraft, Predictor1
from pyppp.ccp.protocol import (
    MAX_RESET_REPEATS,
    RESET_ACK,
    RESET_ACK_TIMEOUT,
    RESET_REQ,
    CcpControlProtocol,
    build_ccp,
)
from pyppp.control import LayerUp
from pyppp.fsm import State
from pyppp.options import UnknownOption, decode_options, encode_options
from pyppp.packet import Code, ControlPacket, PPPProtocol
from pyppp.trace import format_packet
from pyppp.util import NOTICE

# pppd 2.4.9's default ConfReq: Deflate 15 both Types and BSD-Compress 15.
PPPD_DEFAULT = bytes.fromhex("1a047800 18047800 15032f".replace(" ", ""))


def negotiator(**deflate: object) -> CcpNegotiator:
    return CcpNegotiator([DeflatePolicy(DeflateConfig(**deflate))])  # type: ignore[arg-type]


def review(n: CcpNegotiator, data: bytes, *, dont_nak: bool = False) -> tuple[Code, bytes]:
    verdict = n.review(decode_options(data, CODECS), reject_if_disagree=dont_nak)
    return verdict.code, encode_options(verdict.options)


# -- options and trace -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("wire", "option", "text"),
    [
        ("1a047800", Deflate(15), "deflate 15"),
        ("18047800", DeflateDraft(15), "deflate(old#) 15"),
        ("1a044800", Deflate(12), "deflate 12"),
        ("1a047701", Deflate(15, method=7, check=1), "deflate 15 method 7 check 1"),
        ("15032f", BsdCompress(1, 15), "bsd v1 15"),
        ("0102", Predictor1(), "predictor 1"),
    ],
)
def test_option_codecs_round_trip_with_pppd_text(wire: str, option: object, text: str) -> None:
    (decoded,) = decode_options(bytes.fromhex(wire), CODECS)
    assert decoded == option
    assert decoded.encode().hex() == wire
    assert decoded.trace() == text


def test_a_deflate_option_of_the_wrong_length_is_unknown() -> None:
    (decoded,) = decode_options(bytes.fromhex("1a0378"), CODECS)
    assert decoded == UnknownOption(26, b"\x78")


def test_trace_reads_as_pppd_ccp_printpkt() -> None:
    request = ControlPacket(Code.CONF_REQ, 1, PPPD_DEFAULT).encode()
    assert format_packet(PPPProtocol.CCP, request) == (
        "[CCP ConfReq id=0x1 <deflate 15> <deflate(old#) 15> <bsd v1 15>]"
    )
    assert format_packet(PPPProtocol.CCP, ControlPacket(RESET_REQ, 2).encode()) == (
        "[CCP ResetReq id=0x2]"
    )
    assert format_packet(PPPProtocol.CCP, ControlPacket(RESET_ACK, 2).encode()) == (
        "[CCP ResetAck id=0x2]"
    )


# -- the negotiator ----------------------------------------------------------------------------
def test_our_request_is_pppds_deflate_pair_and_pppds_offer_is_acked() -> None:
    n = negotiator()
    assert encode_options(n.request()).hex() == "1a04780018047800"
    # pppd's default offer: BSD-Compress comes after Deflate, which is what we compress with,
    # so it is never used and acknowledging it spares a round trip.
    assert review(n, PPPD_DEFAULT) == (Code.CONF_ACK, PPPD_DEFAULT)
    result = n.up()
    assert result.transmit is not None
    assert result.transmit.option == Deflate(15)


def test_methods_we_do_not_run_are_rejected_when_they_would_be_used() -> None:
    n = negotiator()
    bsd_first = bytes.fromhex("15032f 1a047800".replace(" ", ""))
    assert review(n, bsd_first) == (Code.CONF_REJ, bytes.fromhex("15032f"))
    assert review(n, bytes.fromhex("0102"))[0] is Code.CONF_REJ
    # With nodeflate nothing we run comes first: everything is rejected.
    assert review(negotiator(allow_size=0), PPPD_DEFAULT) == (Code.CONF_REJ, PPPD_DEFAULT)


def test_after_deflate_predictor_is_acked_but_unknown_types_are_not() -> None:
    n = negotiator()
    assert review(n, bytes.fromhex("1a047800 0102".replace(" ", "")))[0] is Code.CONF_ACK
    assert review(n, bytes.fromhex("1a047800 6303ff".replace(" ", ""))) == (
        Code.CONF_REJ,
        bytes.fromhex("6303ff"),
    )


def test_predictor_and_unknown_methods_are_rejected() -> None:
    n = negotiator()
    assert review(n, bytes.fromhex("0102 0202 120600000040".replace(" ", "")))[0] is Code.CONF_REJ


@pytest.mark.parametrize(
    ("offered", "nak"),
    [
        ("1a048800", "1a047800"),  # window 16 > 15: our largest
        ("1a040800", "1a041800"),  # window 8: zlib cannot, the nearest that works is 9
        ("1a047700", "1a047800"),  # method 7
        ("1a047801", "1a047800"),  # another check method
        ("18040800", "18041800"),  # the same for the draft Type
    ],
)
def test_windows_and_methods_we_cannot_do_are_nakd(offered: str, nak: str) -> None:
    assert review(negotiator(), bytes.fromhex(offered)) == (Code.CONF_NAK, bytes.fromhex(nak))


def test_after_max_failure_a_nak_becomes_a_reject() -> None:
    offered = bytes.fromhex("1a040800")
    assert review(negotiator(), offered, dont_nak=True) == (Code.CONF_REJ, offered)


def test_allow_size_caps_what_the_peer_may_ask_for() -> None:
    n = negotiator(allow_size=12)
    assert review(n, bytes.fromhex("1a047800")) == (Code.CONF_NAK, bytes.fromhex("1a044800"))
    assert review(n, bytes.fromhex("1a044800"))[0] is Code.CONF_ACK


def test_nodeflatedraft_rejects_the_draft_and_does_not_ask_for_it() -> None:
    n = negotiator(draft=False)
    assert encode_options(n.request()).hex() == "1a047800"
    assert review(n, PPPD_DEFAULT[:8]) == (Code.CONF_REJ, bytes.fromhex("18047800"))


def test_a_nak_of_our_window_is_taken_when_smaller() -> None:
    n = negotiator()
    assert n.on_nak(decode_options(bytes.fromhex("1a044800"), CODECS), rejected=False)
    assert encode_options(n.request()).hex() == "1a04480018044800"
    # A bigger one is ignored; a method we do not know stops us asking for Deflate.
    assert n.on_nak(decode_options(bytes.fromhex("1a047800"), CODECS), rejected=False)
    assert encode_options(n.request()).hex() == "1a04480018044800"
    assert n.on_nak(decode_options(bytes.fromhex("1a044700"), CODECS), rejected=False)
    assert n.request() == []
    n.reset()
    assert encode_options(n.request()).hex() == "1a04780018047800"


def test_rejects_drop_types_and_must_echo_what_we_sent() -> None:
    n = negotiator()
    assert not n.on_nak(decode_options(bytes.fromhex("1a044800"), CODECS), rejected=True)
    assert n.on_nak(decode_options(bytes.fromhex("1a047800"), CODECS), rejected=True)
    assert encode_options(n.request()).hex() == "18047800"
    assert n.on_nak(decode_options(bytes.fromhex("18047800"), CODECS), rejected=True)
    assert n.request() == []
    assert not n.wants_compression


def test_acks_must_echo_our_request_or_its_first_option() -> None:
    n = negotiator()
    assert n.on_ack(n.request())
    assert n.on_ack(n.request()[:1])  # pppd's "first/fast ack"
    assert not n.on_ack(n.request()[1:])
    assert not n.on_ack([Deflate(12)])


def up_after(n: CcpNegotiator, his: str) -> CcpResult:
    review(n, bytes.fromhex(his))
    return n.up()


@pytest.mark.parametrize(
    ("config", "his", "line"),
    [
        ({}, "1a04780018047800", "Deflate (15) compression enabled"),
        ({}, "1a044800", "Deflate (15/12) compression enabled"),
        ({}, "18047800", "Deflate (15) / Deflate(old#) (15) compression enabled"),
        ({}, "", "Deflate (15) receive compression enabled"),
        ({"want_size": 0}, "1a047800", "Deflate (15) transmit compression enabled"),
        ({"rfc": False}, "18044800", "Deflate(old#) (15/12) compression enabled"),
    ],
)
def test_pppd_log_line_at_up(config: dict[str, object], his: str, line: str) -> None:
    result = up_after(negotiator(**config), his)
    assert result.messages == ((NOTICE, line),)


def test_each_direction_gets_its_own_window() -> None:
    result = up_after(negotiator(), "1a044800")
    assert result.receive is not None
    assert result.transmit is not None
    assert result.receive.option == Deflate(15)
    assert result.transmit.option == Deflate(12)


def test_no_method_either_way_prints_nothing_and_opens_silently() -> None:
    n = negotiator(want_size=0)
    assert n.up().messages == ()
    ccp = build_ccp(CcpConfig(deflate=DeflateConfig(want_size=0)))
    assert ccp.automaton.config.silent
    assert not build_ccp(CcpConfig()).automaton.config.silent
    assert method_policies(CcpConfig(deflate=None)) == []


def test_duplicate_options_are_skipped_with_pppds_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        code, _ = review(negotiator(), bytes.fromhex("1a0478001a044800"))
    assert code is Code.CONF_ACK
    assert "CCP: ignoring duplicate configuration option(s)" in caplog.messages


# -- the protocol: Reset-Request/Ack -----------------------------------------------------------
def opened() -> CcpControlProtocol:
    """A CCP brought to Opened by hand: our request acked, the peer's acked."""
    ccp = build_ccp(CcpConfig())
    ccp.up(0.0)
    ccp.open(0.0)
    (request,) = ccp.packets_to_send()
    ccp.receive(ControlPacket(Code.CONF_REQ, 7, bytes.fromhex("1a047800")).encode(), 0.0)
    ccp.receive(ControlPacket(Code.CONF_ACK, request.identifier, request.data).encode(), 0.0)
    assert ccp.state is State.OPENED
    assert isinstance(ccp.next_event(), LayerUp)
    ccp.packets_to_send()
    return ccp


def test_opened_ccp_runs_both_engines_and_counts_octets() -> None:
    a, b = opened(), opened()
    payload = b"hello, hello, hello, hello, hello, hello " * 20
    info = a.compress(0x21, payload)
    assert info is not None
    assert len(info) < len(payload)
    assert b.expand(PPPProtocol.COMP, info, 0.0) == (0x21, payload)
    assert a.sent_uncompressed == len(payload) + 2
    assert a.sent_compressed == len(info) + 2
    assert b.received_compressed == len(info) + 2
    assert b.received_uncompressed == len(payload) + 2
    status = b.status()
    assert status is not None
    assert status.received_ratio == pytest.approx((len(payload) + 2) / (len(info) + 2))
    assert status.transmit == status.receive == "Deflate (15)"


def test_a_lost_datagram_sends_one_reset_request_and_the_ack_resyncs() -> None:
    a, b = opened(), opened()
    first = a.compress(0x21, b"A" * 200)
    second = a.compress(0x21, b"B" * 200)
    assert first
    assert second
    # `first` is lost: `second` is out of sequence.
    assert b.expand(PPPProtocol.COMP, second, 1.0) is None
    (reset,) = b.packets_to_send()
    assert (reset.code, reset.data) == (RESET_REQ, b"")
    # More compressed datagrams are dropped and do not send another request at once.
    assert b.expand(PPPProtocol.COMP, a.compress(0x21, b"C" * 200) or b"", 1.1) is None
    assert b.packets_to_send() == []
    # The peer answers: its compressor starts afresh as the Ack leaves.
    a.receive(reset.encode(), 1.2)
    (ack,) = a.packets_to_send()
    assert (ack.code, ack.identifier) == (RESET_ACK, reset.identifier)
    b.receive(ack.encode(), 1.3)
    assert b.get_timer() is None
    again = a.compress(0x21, b"D" * 200)
    assert again
    assert again[:2] == b"\x00\x00"
    assert b.expand(PPPProtocol.COMP, again, 1.4) == (0x21, b"D" * 200)
    assert (b.errors, b.resets_sent, a.resets_received) == (1, 1, 1)


def waiting_for_reset_ack() -> tuple[CcpControlProtocol, bytes, ControlPacket]:
    """A decompressor that lost a datagram at 1.0: it, the datagram after, its Reset-Request."""
    a, b = opened(), opened()
    a.compress(0x21, b"A" * 200)
    late = a.compress(0x21, b"B" * 200) or b""
    b.expand(PPPProtocol.COMP, late, 1.0)
    (reset,) = b.packets_to_send()
    return b, late, reset


def test_an_unanswered_reset_request_is_repeated_while_the_decompressor_waits() -> None:
    b, late, reset = waiting_for_reset_ack()
    b.expand(PPPProtocol.COMP, late, 1.5)  # another failure while waiting: noted
    b.handle_timer(2.0)
    (repeat,) = b.packets_to_send()
    assert (repeat.code, repeat.identifier) == (RESET_REQ, reset.identifier)
    # No more failures (the Ack was lost, and the peer waits for ours), but the decompressor
    # still waits: unlike pppd it asks again every second, a bounded number of times.
    now = 2.0
    for _ in range(MAX_RESET_REPEATS - 1):
        now += RESET_ACK_TIMEOUT
        assert b.get_timer() == now
        b.handle_timer(now)
        (again,) = b.packets_to_send()
        assert (again.code, again.identifier) == (RESET_REQ, reset.identifier)
    b.handle_timer(now + RESET_ACK_TIMEOUT)  # the budget is spent: the wait ends quietly
    assert b.packets_to_send() == []
    assert b.get_timer() is None
    assert b.resets_sent == 1 + MAX_RESET_REPEATS
    # The next failure asks afresh, with a new Identifier.
    b.expand(PPPProtocol.COMP, late, 20.0)
    (fresh,) = b.packets_to_send()
    assert fresh.code == RESET_REQ
    assert fresh.identifier != reset.identifier


def test_a_reset_ack_ends_the_repeats() -> None:
    b, _, reset = waiting_for_reset_ack()
    b.handle_timer(2.0)
    (repeat,) = b.packets_to_send()
    assert repeat.identifier == reset.identifier
    b.receive(ControlPacket(RESET_ACK, reset.identifier).encode(), 2.5)
    assert b.get_timer() is None
    b.handle_timer(3.0)
    assert b.packets_to_send() == []


def test_reset_codes_outside_opened_change_nothing() -> None:
    ccp = build_ccp(CcpConfig())
    ccp.up(0.0)
    ccp.open(0.0)
    ccp.packets_to_send()
    ccp.receive(ControlPacket(RESET_REQ, 3).encode(), 0.0)
    assert ccp.packets_to_send() == []
    assert ccp.state is State.REQ_SENT


def test_an_unknown_code_is_code_rejected() -> None:
    ccp = opened()
    ccp.receive(ControlPacket(16, 3).encode(), 0.0)
    (reject,) = ccp.packets_to_send()
    assert reject.code is Code.CODE_REJ


def test_an_overrun_is_fatal_and_closes_ccp_with_pppds_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = opened(), opened()
    b.mru = 100
    b.this_layer_up(b.negotiator.up(), 0.0)  # rebuild with the small MRU
    big = a.compress(0x21, b"x" * 1000)
    assert big is not None
    with caplog.at_level(logging.ERROR):
        assert b.expand(PPPProtocol.COMP, big, 1.0) is None
    assert "Lost compression sync: disabling compression" in caplog.messages
    assert b.state is State.CLOSING
    (terminate,) = b.packets_to_send()
    assert terminate.code is Code.TERM_REQ
    assert terminate.data == b"Lost compression sync"


def test_uncompressed_frames_still_advance_the_history() -> None:
    a, b = opened(), opened()
    noise = random.Random(7).randbytes(500)
    assert a.compress(0x21, noise) is None  # incompressible: sent as it is
    assert b.expand(0x21, noise, 0.0) == (0x21, noise)
    info = a.compress(0x21, noise)  # now it matches the history
    assert info is not None
    assert len(info) < 40
    assert b.expand(PPPProtocol.COMP, info, 0.0) == (0x21, noise)
    # LCP and CCP are never compressed, and do not count.
    assert a.compress(PPPProtocol.LCP, noise) is None
