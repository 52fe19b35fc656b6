"""LCP negotiation policy: requests, reviews, Nak/Reject/Ack handling, results (pppd lcp.c)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyppp.errors import ConfigError, MalformedPacket
from pyppp.lcp.negotiator import LcpConfig, LcpNegotiator, LcpResult
from pyppp.lcp.options import (
    CHAP_MD5,
    CODECS,
    PAP,
    Accm,
    Acfc,
    AuthProtocol,
    Callback,
    ChapAlgorithm,
    EndpointDiscriminator,
    MagicNumber,
    Mrru,
    Mru,
    Pfc,
    QualityProtocol,
    ShortSequence,
)
from pyppp.options import Negotiator, Option, Review, UnknownOption, decode_options, encode_options
from pyppp.packet import Code, ControlPacket, PPPProtocol
from pyppp.util import Rng, seeded_rng
from tests.oracles import check_reject

OUR_MAGIC = 0x5BB51EB9
CHAP_MSV2 = AuthProtocol(PPPProtocol.CHAP, bytes((ChapAlgorithm.MS_V2,)))
EAP = AuthProtocol(PPPProtocol.EAP)


def magic_rng(*values: int) -> Rng:
    """An rng whose successive 4-byte draws are ``values`` (then 0x11111111, 0x22222222...)."""
    queue: Iterator[int] = iter(values)
    counter = 0

    def rng(n: int) -> bytes:
        nonlocal counter
        assert n == 4
        value = next(queue, None)
        if value is None:
            counter += 1
            value = 0x11111111 * (counter % 15 + 1)
        return value.to_bytes(4, "big")

    return rng


def make(config: LcpConfig | None = None, *magics: int) -> LcpNegotiator:
    return LcpNegotiator(config or LcpConfig(), magic_rng(*(magics or (OUR_MAGIC,))))


def ack_all(lcp: LcpNegotiator, peer: Sequence[Option] = ()) -> LcpResult:
    """Finish a negotiation: the peer acks our request and we ack ``peer``."""
    assert lcp.on_ack(lcp.request())
    assert lcp.review(list(peer), reject_if_disagree=False).code == Code.CONF_ACK
    lcp.up()
    assert lcp.result is not None
    return lcp.result


# -- request() ------------------------------------------------------------------------------


def test_satisfies_negotiator_protocol() -> None:
    negotiator: Negotiator[Any] = make()
    assert negotiator.protocol == PPPProtocol.LCP
    assert negotiator.name == "LCP"
    assert negotiator.codecs is CODECS


def test_first_confreq_is_pppds_byte_for_byte() -> None:
    lcp = make()
    packet = ControlPacket(Code.CONF_REQ, 1, encode_options(lcp.request())).encode()
    assert packet == bytes.fromhex("01010014 020600000000 05065bb51eb9 0702 0802")
    # A retransmission (no Nak in between) is identical.
    assert lcp.request() == lcp.request()


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (LcpConfig(mru=296), [Mru(296), Accm(0), MagicNumber(OUR_MAGIC), Pfc(), Acfc()]),
        (LcpConfig(mru=None, default_asyncmap=True), [MagicNumber(OUR_MAGIC), Pfc(), Acfc()]),
        (LcpConfig(asyncmap=0xA0000, pcomp=False, accomp=False, magic=False), [Accm(0xA0000)]),
        (
            LcpConfig(require_auth=(PPPProtocol.CHAP, PPPProtocol.PAP)),
            [Accm(0), CHAP_MD5, MagicNumber(OUR_MAGIC), Pfc(), Acfc()],
        ),
        (
            LcpConfig(require_auth=(PPPProtocol.PAP,), magic=False),
            [Accm(0), PAP, Pfc(), Acfc()],
        ),
    ],
)
def test_request_follows_config(config: LcpConfig, expected: list[Option]) -> None:
    assert make(config).request() == expected


def test_magic_is_never_zero() -> None:
    lcp = make(LcpConfig(), 0)
    assert MagicNumber(0) not in lcp.request()


def test_reset_draws_a_new_magic_and_forgets_naks() -> None:
    lcp = make(LcpConfig(), 1, 2, 3)
    assert lcp.on_nak([Accm(0x000A0000), MagicNumber(1)], rejected=False)
    assert lcp.loops == 1
    assert lcp.request() == [Accm(0xA0000), MagicNumber(2), Pfc(), Acfc()]
    lcp.reset()
    assert lcp.loops == 0
    assert lcp.request() == [Accm(0), MagicNumber(3), Pfc(), Acfc()]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mru": 127},
        {"mru": 16385},
        {"mtu": 100},
        {"asyncmap": 1 << 32},
        {"require_auth": (PPPProtocol.EAP,)},
        {"allow_auth": (0x1234,)},
        {"loopback_fail": 0},
    ],
)
def test_config_mistakes_are_config_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        LcpConfig(**kwargs)  # type: ignore[arg-type]


# -- review() -------------------------------------------------------------------------------

# ppp-project/ppp #82: a 3G modem's request, which pppd Acked.
MODEM_REQUEST = bytes.fromhex("020600000000 0305c22305 0506135d42d1 0702 0802")


def test_acceptable_request_is_acked_byte_exact() -> None:
    lcp = make()
    review = lcp.review(decode_options(MODEM_REQUEST, CODECS), reject_if_disagree=False)
    assert review.code == Code.CONF_ACK
    assert encode_options(review.options) == MODEM_REQUEST
    assert lcp.on_ack(lcp.request())
    lcp.up()
    assert lcp.result == LcpResult(
        peer_mru=1500,
        mtu=1500,
        our_mru=1500,
        peer_accm=0,
        our_accm=0,
        tx_pfc=True,
        tx_acfc=True,
        rx_pfc=True,
        rx_acfc=True,
        our_auth=None,
        peer_auth=CHAP_MD5,
        auth_refused=False,
        our_magic=OUR_MAGIC,
        peer_magic=0x135D42D1,
    )


def test_empty_request_is_acked_and_defaults_apply() -> None:
    lcp = make()
    result = ack_all(lcp, [])
    assert (result.peer_mru, result.mtu, result.peer_accm) == (1500, 1500, 0xFFFFFFFF)
    assert not (result.tx_pfc)
    assert not (result.tx_acfc)
    assert result.peer_auth is None
    assert result.peer_magic == 0


def test_mru_below_minimum_is_naked_with_128() -> None:
    review = make().review([Mru(100), MagicNumber(7)], reject_if_disagree=False)
    assert review == Review(Code.CONF_NAK, (Mru(128),))


def test_peer_mru_and_mtu_cap() -> None:
    lcp = make(LcpConfig(mtu=1000))
    assert ack_all(lcp, [Mru(1400)]).mtu == 1000
    lcp = make()
    result = ack_all(lcp, [Mru(296)])
    assert (result.peer_mru, result.mtu) == (296, 296)
    lcp = make()
    assert ack_all(lcp, [Mru(65535)]).mtu == 16384  # pppd's MAXMRU caps the send side


def test_unknown_and_unsupported_options_are_rejected_alone() -> None:
    unknown = UnknownOption(42, b"\x01\x02")
    malformed = UnknownOption(1, b"\x05")  # an MRU of the wrong length
    lqr = QualityProtocol(PPPProtocol.LQR, b"\x00\x00\x00\x64")
    request: list[Option] = [
        Mru(100),  # would be Nak'd, but a Reject takes precedence (RFC 1661 §5.3)
        unknown,
        Accm(0),
        lqr,
        Callback(6),
        malformed,
        Mrru(1500),
        ShortSequence(),
        MagicNumber(9),
    ]
    lcp = make()
    review = lcp.review(request, reject_if_disagree=False)
    assert review == Review(
        Code.CONF_REJ, (unknown, lqr, Callback(6), malformed, Mrru(1500), ShortSequence())
    )
    assert lcp.stats.unknown_options == 1
    assert lcp.stats.malformed_options == 1


def test_options_we_do_not_allow_are_rejected() -> None:
    lcp = make(LcpConfig(mru=None, default_asyncmap=True, pcomp=False, accomp=False, magic=False))
    request: list[Option] = [Mru(1500), Accm(0), MagicNumber(5), Pfc(), Acfc()]
    assert lcp.review(request, reject_if_disagree=False) == Review(Code.CONF_REJ, tuple(request))


def test_endpoint_discriminator_is_accepted_as_pppd_does() -> None:
    endpoint = EndpointDiscriminator(3, bytes.fromhex("001122334455"))
    lcp = make()
    assert ack_all(lcp, [endpoint]).peer_endpoint == endpoint
    too_long = EndpointDiscriminator(1, bytes(21))
    assert make().review([too_long], reject_if_disagree=False).code == Code.CONF_REJ


@pytest.mark.parametrize(
    ("config", "asked", "nak"),
    [
        (LcpConfig(), CHAP_MSV2, CHAP_MD5),
        (LcpConfig(), AuthProtocol(PPPProtocol.CHAP, bytes((ChapAlgorithm.MS,))), CHAP_MD5),
        (LcpConfig(refuse_chap=True), CHAP_MSV2, PAP),
        (LcpConfig(refuse_chap=True), CHAP_MD5, PAP),
        (LcpConfig(allow_auth=(PPPProtocol.PAP,)), CHAP_MD5, PAP),
        (LcpConfig(refuse_pap=True), PAP, CHAP_MD5),
        (LcpConfig(), EAP, CHAP_MD5),
        (LcpConfig(refuse_chap=True), EAP, PAP),
        (LcpConfig(), AuthProtocol(0xC025), CHAP_MD5),
    ],
)
def test_auth_we_cannot_do_is_naked_with_one_we_can(
    config: LcpConfig, asked: AuthProtocol, nak: AuthProtocol
) -> None:
    review = make(config).review([Accm(0), asked, Pfc()], reject_if_disagree=False)
    assert review == Review(Code.CONF_NAK, (nak,))


@pytest.mark.parametrize("asked", [PAP, CHAP_MD5, CHAP_MSV2, EAP])
def test_auth_is_rejected_when_we_can_do_none(asked: AuthProtocol) -> None:
    lcp = make(
        LcpConfig(allow_auth=(PPPProtocol.CHAP, PPPProtocol.PAP), refuse_pap=True, refuse_chap=True)
    )
    assert lcp.review([asked], reject_if_disagree=False) == Review(Code.CONF_REJ, (asked,))
    assert make(LcpConfig(allow_auth=())).review([asked], reject_if_disagree=False).code == (
        Code.CONF_REJ
    )


def test_malformed_auth_and_second_auth_protocol_are_rejected() -> None:
    pap_with_data = AuthProtocol(PPPProtocol.PAP, b"\x00")
    chap_without_algorithm = AuthProtocol(PPPProtocol.CHAP)
    lcp = make()
    assert lcp.review([pap_with_data, chap_without_algorithm], reject_if_disagree=False) == (
        Review(Code.CONF_REJ, (pap_with_data, chap_without_algorithm))
    )
    # pppd: once one protocol is accepted, a different second one is rejected.
    assert lcp.review([PAP, CHAP_MD5], reject_if_disagree=False) == Review(
        Code.CONF_REJ, (CHAP_MD5,)
    )
    assert lcp.review([CHAP_MD5, PAP], reject_if_disagree=False) == Review(Code.CONF_REJ, (PAP,))


def test_peer_asking_pap_is_acked_when_we_can() -> None:
    lcp = make(LcpConfig(allow_auth=(PPPProtocol.PAP,)))
    assert ack_all(lcp, [PAP]).peer_auth == PAP


def test_our_own_magic_is_naked_with_a_new_one() -> None:
    lcp = make(LcpConfig(), OUR_MAGIC, 0x885728B4)
    review = lcp.review([Accm(0), MagicNumber(OUR_MAGIC), Pfc()], reject_if_disagree=False)
    assert review == Review(Code.CONF_NAK, (MagicNumber(0x885728B4),))
    assert lcp.stats.magic_collisions == 1
    # We keep our own number; the peer is the one told to change.
    assert MagicNumber(OUR_MAGIC) in lcp.request()


def test_zero_magic_is_naked() -> None:
    lcp = make(LcpConfig(), OUR_MAGIC, 0x1234)
    assert lcp.review([MagicNumber(0)], reject_if_disagree=False) == Review(
        Code.CONF_NAK, (MagicNumber(0x1234),)
    )


def test_reject_if_disagree_turns_naks_into_rejects_except_magic() -> None:
    lcp = make(LcpConfig(refuse_pap=True), OUR_MAGIC, 0x1234)
    request: list[Option] = [Mru(100), PAP, Pfc()]
    assert lcp.review(request, reject_if_disagree=True) == Review(Code.CONF_REJ, (Mru(100), PAP))
    # pppd keeps Nak'ing a colliding magic number: rejecting it would hide a loop.
    assert lcp.review([MagicNumber(OUR_MAGIC)], reject_if_disagree=True) == Review(
        Code.CONF_NAK, (MagicNumber(0x1234),)
    )


def test_his_options_come_from_the_acked_request_only() -> None:
    lcp = make()
    assert lcp.review([Mru(1000), Pfc(), Mru(50)], reject_if_disagree=False).code == Code.CONF_NAK
    assert lcp.review([Acfc()], reject_if_disagree=False).code == Code.CONF_ACK
    assert lcp.on_ack(lcp.request())
    lcp.up()
    assert lcp.result is not None
    assert (lcp.result.peer_mru, lcp.result.tx_pfc, lcp.result.tx_acfc) == (1500, False, True)


# -- on_ack() -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ack",
    [
        [Accm(0), MagicNumber(OUR_MAGIC + 1), Pfc(), Acfc()],  # value changed
        [MagicNumber(OUR_MAGIC), Accm(0), Pfc(), Acfc()],  # reordered
        [Accm(0), MagicNumber(OUR_MAGIC), Pfc()],  # one missing
        [Accm(0), MagicNumber(OUR_MAGIC), Pfc(), Acfc(), Mru(1500)],  # one extra
        [Accm(0), UnknownOption(5, b"\x5b\xb5\x1e"), Pfc(), Acfc()],  # malformed
        [],
    ],
)
def test_ack_that_differs_from_our_request_is_bad(ack: list[Option]) -> None:
    lcp = make()
    before = lcp.request()
    assert not lcp.on_ack(ack)
    assert lcp.stats.bad_acks == 1
    assert lcp.request() == before


# -- on_nak() -------------------------------------------------------------------------------


def test_nak_accm_bits_are_ored_in() -> None:
    lcp = make(LcpConfig(asyncmap=0x1))
    assert lcp.on_nak([Accm(0x000A0000)], rejected=False)
    assert Accm(0x000A0001) in lcp.request()
    result = ack_all(lcp)
    assert result.our_accm == 0x000A0001


def test_nak_of_magic_picks_a_new_one_and_counts_loops() -> None:
    lcp = make(LcpConfig(), OUR_MAGIC, 0x2, 0x3)
    assert lcp.on_nak([MagicNumber(OUR_MAGIC)], rejected=False)
    assert MagicNumber(0x2) in lcp.request()
    assert (lcp.loops, lcp.stats.magic_naks) == (1, 1)
    assert lcp.on_nak([MagicNumber(0x12345678)], rejected=False)
    assert lcp.loops == 2
    # A Nak without the magic number breaks the run (pppd resets numloops).
    assert lcp.on_nak([Accm(1)], rejected=False)
    assert lcp.loops == 0
    assert not lcp.looped_back


def test_looped_back_after_loopback_fail_naks() -> None:
    lcp = make(LcpConfig(loopback_fail=3))
    for _ in range(2):
        assert lcp.on_nak([MagicNumber(1)], rejected=False)
        assert not lcp.looped_back
    assert lcp.on_nak([MagicNumber(1)], rejected=False)
    assert lcp.looped_back


def test_talking_to_ourselves_is_detected_as_loopback() -> None:
    """A looped-back line: our request comes back to us, and so does our Nak (pppd #14)."""
    lcp = LcpNegotiator(LcpConfig(), seeded_rng(14))
    for _ in range(10):
        assert not lcp.looped_back
        review = lcp.review(lcp.request(), reject_if_disagree=False)
        assert review.code == Code.CONF_NAK
        assert lcp.on_nak(list(review.options), rejected=False)
    assert lcp.looped_back


@pytest.mark.parametrize(
    ("wanted", "naked", "requested", "our_mru"),
    [
        (1000, 800, 800, 1000),  # smaller: accepted, but we still receive up to 1000
        (1000, 1200, 1200, 1200),  # larger, up to the default 1500: accepted
        (1000, 1600, 1000, 1000),  # larger than both: ignored
        (2000, 1800, 1800, 2000),
    ],
)
def test_nak_mru(wanted: int, naked: int, requested: int, our_mru: int) -> None:
    lcp = make(LcpConfig(mru=wanted))
    assert lcp.on_nak([Mru(naked)], rejected=False)
    assert lcp.request()[0] == Mru(requested)
    assert ack_all(lcp).our_mru == our_mru


def test_nak_suggesting_a_smaller_mru_we_did_not_send_adds_it() -> None:
    lcp = make()
    assert lcp.on_nak([Mru(1006)], rejected=False)
    assert lcp.request()[0] == Mru(1006)
    lcp = make()
    assert lcp.on_nak([Mru(4000)], rejected=False)
    assert not any(isinstance(o, Mru) for o in lcp.request())


def test_nak_of_pfc_or_acfc_is_treated_as_reject() -> None:
    lcp = make()
    assert lcp.on_nak([Pfc(), Acfc()], rejected=False)
    assert lcp.request() == [Accm(0), MagicNumber(OUR_MAGIC)]
    result = ack_all(lcp)
    assert not (result.rx_pfc)
    assert not (result.rx_acfc)


def test_nak_hints_we_do_not_take_are_ignored() -> None:
    lcp = make(LcpConfig(magic=False, default_asyncmap=True))
    hints: list[Option] = [
        PAP,
        MagicNumber(5),
        Accm(0),
        QualityProtocol(PPPProtocol.LQR),
        UnknownOption(99),
    ]
    assert lcp.on_nak(hints, rejected=False)
    assert lcp.request() == [Pfc(), Acfc()]


@pytest.mark.parametrize(
    "nak",
    [
        [MagicNumber(1), Accm(0)],  # out of our order
        [Accm(1), Accm(2)],  # twice
        [UnknownOption(2, b"\x00")],  # a known option of the wrong length
        [CHAP_MD5],  # Nak'd our CHAP-MD5 and suggested it back
    ],
)
def test_bad_nak_changes_nothing(nak: list[Option]) -> None:
    lcp = make(LcpConfig(require_auth=(PPPProtocol.CHAP,)))
    before = lcp.request()
    assert not lcp.on_nak(nak, rejected=False)
    assert lcp.stats.bad_naks == 1
    assert lcp.request() == before


def test_nak_of_chap_with_pap_switches_when_pap_is_acceptable() -> None:
    lcp = make(LcpConfig(require_auth=(PPPProtocol.CHAP, PPPProtocol.PAP)))
    assert lcp.on_nak([PAP], rejected=False)
    assert PAP in lcp.request()
    assert CHAP_MD5 not in lcp.request()
    result = ack_all(lcp)
    assert result.our_auth == PAP
    assert not result.auth_refused


def test_nak_suggestion_is_taken_out_of_preference_order() -> None:
    lcp = make(LcpConfig(require_auth=(PPPProtocol.PAP, PPPProtocol.CHAP)))
    assert lcp.request()[1] == PAP
    assert lcp.on_nak([CHAP_MD5], rejected=False)
    assert lcp.request()[1] == CHAP_MD5


def test_nak_of_chap_with_pap_when_only_chap_is_acceptable_refuses_auth() -> None:
    lcp = make(LcpConfig(require_auth=(PPPProtocol.CHAP,)))
    assert lcp.on_nak([PAP], rejected=False)
    assert not any(isinstance(o, AuthProtocol) for o in lcp.request())
    result = ack_all(lcp)
    assert result.our_auth is None
    assert result.auth_refused


def test_nak_of_chap_with_something_unknown_moves_to_the_next_protocol() -> None:
    lcp = make(LcpConfig(require_auth=(PPPProtocol.CHAP, PPPProtocol.PAP)))
    assert lcp.on_nak([CHAP_MSV2], rejected=False)
    assert lcp.request()[1] == PAP


# -- on_nak(rejected=True) --------------------------------------------------------------------


def test_reject_removes_options() -> None:
    lcp = make(LcpConfig(mru=1000))
    assert lcp.on_nak([Mru(1000), MagicNumber(OUR_MAGIC), Acfc()], rejected=True)
    assert lcp.request() == [Accm(0), Pfc()]
    result = ack_all(lcp)
    assert (result.our_mru, result.our_magic, result.rx_pfc, result.rx_acfc) == (
        1500,
        0,
        True,
        False,
    )


def test_reject_of_required_auth_means_peer_refused_to_authenticate() -> None:
    lcp = make(LcpConfig(require_auth=(PPPProtocol.CHAP, PPPProtocol.PAP)))
    assert lcp.on_nak([CHAP_MD5], rejected=True)
    # pppd stops asking for any protocol once one is rejected.
    assert not any(isinstance(o, AuthProtocol) for o in lcp.request())
    assert ack_all(lcp).auth_refused


@pytest.mark.parametrize(
    "rej",
    [
        [Accm(1)],  # a value we did not send
        [Mru(1500)],  # an option we did not send
        [MagicNumber(OUR_MAGIC), Accm(0)],  # out of order
        [Pfc(), Pfc()],  # twice
        [UnknownOption(7, b"\x00")],
    ],
)
def test_bad_reject_changes_nothing(rej: list[Option]) -> None:
    lcp = make()
    before = lcp.request()
    assert not lcp.on_nak(rej, rejected=True)
    assert lcp.stats.bad_rejects == 1
    assert lcp.request() == before


# -- results ----------------------------------------------------------------------------------


def test_down_and_reset_clear_the_result() -> None:
    lcp = make()
    ack_all(lcp)
    lcp.down()
    assert lcp.result is None
    ack_all(lcp)
    lcp.reset()
    assert lcp.result is None


# -- two negotiators back to back (no automaton: each answers the other's request) -----------


def negotiate(a: LcpNegotiator, b: LcpNegotiator, rounds: int = 20) -> None:
    """Alternate requests until each side has had its request acked."""
    acked = {id(a): False, id(b): False}
    for _ in range(rounds):
        for us, peer in ((a, b), (b, a)):
            if acked[id(us)]:
                continue
            request = us.request()
            review = peer.review(request, reject_if_disagree=False)
            if review.code == Code.CONF_ACK:
                assert us.on_ack(list(review.options))
                acked[id(us)] = True
            else:
                assert us.on_nak(list(review.options), rejected=review.code == Code.CONF_REJ)
        if all(acked.values()):
            a.up()
            b.up()
            return
    raise AssertionError("negotiation did not converge")


def test_server_requiring_chap_and_client_with_pap_only() -> None:
    server = LcpNegotiator(
        LcpConfig(require_auth=(PPPProtocol.CHAP, PPPProtocol.PAP), mru=1400), seeded_rng(1)
    )
    client = LcpNegotiator(LcpConfig(allow_auth=(PPPProtocol.PAP,), mtu=1200), seeded_rng(2))
    negotiate(server, client)
    assert server.result is not None
    assert client.result is not None
    assert server.result.our_auth == PAP == client.result.peer_auth
    assert client.result.mtu == 1200
    assert server.result.our_mru == 1400
    assert server.result.our_magic == client.result.peer_magic != 0
    assert server.result.peer_accm == client.result.our_accm == 0


def test_client_that_cannot_authenticate_rejects_and_server_sees_refusal() -> None:
    server = LcpNegotiator(LcpConfig(require_auth=(PPPProtocol.CHAP,)), seeded_rng(3))
    client = LcpNegotiator(LcpConfig(allow_auth=()), seeded_rng(4))
    negotiate(server, client)
    assert server.result is not None
    assert server.result.auth_refused


# -- hypothesis: peer input never raises, and the verdict is consistent -----------------------

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
tail = st.binary(max_size=6)
options_strategy: st.SearchStrategy[Option] = st.one_of(
    st.builds(Mru, u16),
    st.builds(Accm, u32),
    st.builds(AuthProtocol, st.sampled_from([0xC023, 0xC223, 0xC227, 0x1234]), tail),
    st.sampled_from([PAP, CHAP_MD5, CHAP_MSV2]),
    st.builds(QualityProtocol, u16, tail),
    st.builds(MagicNumber, st.one_of(u32, st.just(OUR_MAGIC), st.just(0))),
    st.builds(Pfc),
    st.builds(Acfc),
    st.builds(Callback, st.integers(0, 255), tail),
    st.builds(Mrru, u16),
    st.builds(EndpointDiscriminator, st.integers(0, 255), st.binary(max_size=24)),
    st.builds(UnknownOption, st.integers(0, 255), tail),
)
configs = st.builds(
    LcpConfig,
    mru=st.sampled_from([None, 296, 1500, 4000]),
    default_asyncmap=st.booleans(),
    pcomp=st.booleans(),
    accomp=st.booleans(),
    magic=st.booleans(),
    require_auth=st.sampled_from([(), (PPPProtocol.CHAP,), (PPPProtocol.PAP, PPPProtocol.CHAP)]),
    allow_auth=st.sampled_from([(), (PPPProtocol.PAP,), (PPPProtocol.CHAP, PPPProtocol.PAP)]),
    refuse_pap=st.booleans(),
)


@given(configs, st.lists(options_strategy, max_size=10), st.booleans())
def test_review_is_total_and_consistent(
    config: LcpConfig, request: list[Option], reject_if_disagree: bool
) -> None:
    lcp = make(config)
    review = lcp.review(request, reject_if_disagree=reject_if_disagree)
    if review.code == Code.CONF_ACK:
        assert list(review.options) == request
    elif review.code == Code.CONF_REJ:
        check_reject(request, review.options)
    else:
        assert review.code == Code.CONF_NAK
        assert review.options
        requested_types = {option.option_type for option in request}
        assert all(option.option_type in requested_types for option in review.options)
        assert all(not isinstance(option, UnknownOption) for option in review.options)
        if reject_if_disagree:
            assert all(isinstance(option, MagicNumber) for option in review.options)
    # Whatever we answer must itself be encodable.
    encode_options(review.options)


@given(configs, st.lists(options_strategy, max_size=8), st.booleans())
def test_nak_reject_ack_are_total(config: LcpConfig, options: list[Option], rejected: bool) -> None:
    lcp = make(config)
    before = lcp.request()
    if not lcp.on_nak(options, rejected=rejected):
        assert lcp.request() == before
    encode_options(lcp.request())
    assert lcp.on_ack(lcp.request())
    assert lcp.on_ack(options) == (options == lcp.request())
    lcp.up()
    assert lcp.result is not None


@given(st.binary(max_size=40), st.booleans())
def test_garbage_from_the_wire_never_raises(data: bytes, reject_if_disagree: bool) -> None:
    try:
        options = decode_options(data, CODECS)
    except MalformedPacket:
        return  # the automaton discards the packet
    lcp = make()
    lcp.review(options, reject_if_disagree=reject_if_disagree)
    lcp.on_nak(options, rejected=False)
    lcp.on_nak(options, rejected=True)
    lcp.on_ack(options)
