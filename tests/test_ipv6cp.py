"""IPv6CP (RFC 5072): identifier codecs, pppd's negotiation rules, two negotiators talking.

The rules are pppd's ipv6cp.c (ppp-project/ppp): random identifiers with the "u" bit clear,
the configured identifiers of ``ipv6 A,B`` and the accept flags, a Nak with a suggestion for a
zero or colliding identifier, and the failures at This-Layer-Up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from ipaddress import IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyppp.errors import ConfigError
from pyppp.ipv6cp.negotiator import (
    ZERO_IDENTIFIER,
    Ipv6cpConfig,
    Ipv6cpFailure,
    Ipv6cpNegotiator,
    random_identifier,
)
from pyppp.ipv6cp.options import (
    CODECS,
    InterfaceIdentifier,
    Ipv6CompressionProtocol,
    format_link_local,
    link_local,
)
from pyppp.options import Negotiator, Option, UnknownOption, decode_options, encode_options
from pyppp.packet import PPPProtocol
from pyppp.trace import format_packet
from pyppp.util import NOTICE, seeded_rng
from tests.talk import ACK, NAK, REJ, Talk

pytestmark = pytest.mark.filterwarnings("ignore::BytesWarning:hypothesis.internal.cache")

ONE = bytes.fromhex("0000000000000001")
TWO = bytes.fromhex("0000000000000002")


def neg(seed: int = 1, **kwargs: object) -> Ipv6cpNegotiator:
    return Ipv6cpNegotiator(Ipv6cpConfig(**kwargs), seeded_rng(seed))  # type: ignore[arg-type]


def wire(options: Sequence[Option]) -> list[Option]:
    return decode_options(encode_options(options), CODECS)


def iid(identifier: bytes) -> list[Option]:
    return [InterfaceIdentifier(identifier)]


# -- codecs, pppd's address format --------------------------------------------------------------


def test_link_local_formats_as_pppd_llv6_ntoa() -> None:
    assert format_link_local(ONE) == "fe80::0000:0000:0000:0001"
    assert format_link_local(bytes.fromhex("5100 82ab af79 6c55")) == "fe80::5100:82ab:af79:6c55"
    assert link_local(ONE) == IPv6Address("fe80::1")


@pytest.mark.parametrize(
    ("packet", "expected"),
    [
        # ppp-project/ppp PR #282's trace: pppd writes every group out.
        (
            "0101000e010a0000000000000002",
            "[IPV6CP ConfReq id=0x1 <addr fe80::0000:0000:0000:0002>]",
        ),
        (
            "0302000e010a0000000000010001",
            "[IPV6CP ConfNak id=0x2 <addr fe80::0000:0000:0001:0001>]",
        ),
        # A wrong length prints as raw option bytes; compression with its trailing bytes.
        ("0403000b 0107 0102030405", "[IPV6CP ConfRej id=0x3 < 01 07 01 02 03 04 05>]"),
        ("04040008 0204 004f", "[IPV6CP ConfRej id=0x4 <compress 0x4f>]"),
        ("0405000a 0206 004f 0102", "[IPV6CP ConfRej id=0x5 <compress 0x4f 01 02>]"),
        ("0506000a 7573 6572 2072", '[IPV6CP TermReq id=0x6 "user r"]'),
    ],
)
def test_trace_is_pppd_ipv6cp_printpkt(packet: str, expected: str) -> None:
    assert format_packet(PPPProtocol.IPV6CP, bytes.fromhex(packet.replace(" ", ""))) == expected


def test_random_identifier_is_pppd_eui64_magic() -> None:
    rng = seeded_rng(7)
    for _ in range(200):
        identifier = random_identifier(rng, avoid=ONE)
        assert len(identifier) == 8
        assert identifier not in (ZERO_IDENTIFIER, ONE)
        assert not identifier[0] & 0x02  # RFC 4291 "u" bit: not globally unique


@pytest.mark.parametrize("stuck", [bytes(8), bytes.fromhex("0200000000000001")])
def test_random_identifier_survives_a_broken_rng(stuck: bytes) -> None:
    avoid = bytes.fromhex("0000000000000001")
    identifier = random_identifier(lambda n: stuck[:n], avoid=avoid)
    assert identifier not in (ZERO_IDENTIFIER, avoid)
    assert not identifier[0] & 0x02


@pytest.mark.parametrize(
    "config",
    [{"local": bytes(8)}, {"remote": b"\x01" * 7}, {"local": b"\x01" * 9}],
)
def test_config_refuses_bad_identifiers(config: dict[str, bytes]) -> None:
    with pytest.raises(ConfigError, match="Illegal interface identifier"):
        Ipv6cpConfig(**config)  # type: ignore[arg-type]


# -- two negotiators ----------------------------------------------------------------------------


def test_is_a_negotiator() -> None:
    n: Negotiator[object] = neg()
    assert (n.protocol, n.name, n.codecs) == (0x8057, "IPV6CP", CODECS)


def test_two_random_sides_converge_on_distinct_identifiers() -> None:
    a, b = neg(1), neg(2)
    talk = Talk(a, b, max_failure=10, up=False)
    assert talk.run(), talk.lines
    # No Nak needed: each side offers its own random identifier, the other Acks it.
    assert [line.split(" <")[0] for line in talk.lines] == [
        "a sent [IPV6CP ConfReq",
        "a rcvd [IPV6CP ConfAck",
        "b sent [IPV6CP ConfReq",
        "b rcvd [IPV6CP ConfAck",
    ]
    ra, rb = a.up(), b.up()
    assert ra.failure is None
    assert rb.failure is None
    assert ra.local == rb.remote
    assert ra.remote == rb.local
    assert ra.local != ra.remote
    assert ra.messages == (
        (NOTICE, f"local  LL address {format_link_local(ra.local or b'')}"),
        (NOTICE, f"remote LL address {format_link_local(ra.remote or b'')}"),
    )


def test_new_negotiation_picks_a_new_random_identifier() -> None:
    a = neg(3)
    first = a.request()
    a.reset()
    assert a.request() != first


def test_fixed_identifiers_win_over_a_random_peer() -> None:
    """pppd ``ipv6 ::1,::2`` against a peer with no idea: the peer is told to use ::2."""
    server, client = neg(1, local=ONE, remote=TWO), neg(2)
    talk = Talk(client, server, max_failure=10, up=False)
    assert talk.run(), talk.lines
    assert talk.lines[1] == "a rcvd [IPV6CP ConfNak <addr fe80::0000:0000:0000:0002>]"
    assert "a sent [IPV6CP ConfReq <addr fe80::0000:0000:0000:0002>]" in talk.lines[2:]
    result = client.up()
    assert (result.local, result.remote) == (TWO, ONE)
    result = server.up()
    assert (result.local, result.remote) == (ONE, TWO)


def test_fixed_local_is_kept_against_a_nak_without_accept_local() -> None:
    n = neg(local=ONE)
    assert n.on_nak(iid(TWO), rejected=False)
    assert n.request() == iid(ONE)
    accepting = neg(local=ONE, accept_local=True)
    assert accepting.on_nak(iid(TWO), rejected=False)
    assert accepting.request() == iid(TWO)


def test_fixed_remote_with_accept_remote_takes_the_peers() -> None:
    n = neg(remote=TWO, accept_remote=True)
    review = n.review(iid(ONE), reject_if_disagree=False)
    assert (review.code, review.options) == (ACK, tuple(iid(ONE)))
    assert n.up().remote == ONE


@pytest.mark.parametrize("fixed_remote", [None, TWO])
def test_zero_identifier_is_nakd_with_a_suggestion(fixed_remote: bytes | None) -> None:
    """RFC 5072 §4.1: a zero identifier gets a Nak with a non-zero one for the peer."""
    n = neg(5, remote=fixed_remote)
    ours = n.request()[0]
    assert isinstance(ours, InterfaceIdentifier)
    review = n.review(iid(ZERO_IDENTIFIER), reject_if_disagree=False)
    assert review.code is NAK
    (suggestion,) = review.options
    assert isinstance(suggestion, InterfaceIdentifier)
    assert suggestion.identifier not in (ZERO_IDENTIFIER, ours.identifier)
    if fixed_remote is not None:
        assert suggestion.identifier == fixed_remote


def test_colliding_identifier_is_nakd_with_a_different_one() -> None:
    n = neg(6)
    (ours,) = n.request()
    assert isinstance(ours, InterfaceIdentifier)
    review = n.review([ours], reject_if_disagree=False)
    assert review.code is NAK
    (suggestion,) = review.options
    assert isinstance(suggestion, InterfaceIdentifier)
    assert suggestion.identifier not in (ZERO_IDENTIFIER, ours.identifier)
    # The peer takes it: Acked now.
    assert n.review([suggestion], reject_if_disagree=False).code is ACK


def test_zero_request_when_we_have_none_is_rejected() -> None:
    n = neg(send_identifier=False, local=None)
    # Reach the state pppd's rule names: our own identifier is zero.
    n._got = type(n._got)(send=False, local=ZERO_IDENTIFIER)
    review = n.review(iid(ZERO_IDENTIFIER), reject_if_disagree=False)
    assert (review.code, review.options) == (REJ, tuple(iid(ZERO_IDENTIFIER)))


def test_request_without_identifier_is_nakd_once_asking_for_it() -> None:
    n = neg(remote=TWO)
    review = n.review([], reject_if_disagree=False)
    assert (review.code, review.options) == (NAK, tuple(iid(TWO)))
    assert n.review([], reject_if_disagree=False).code is ACK  # asked once only
    # ... and a peer that never gave one is refused at Up, as pppd does.
    result = n.up()
    assert result.failure == Ipv6cpFailure(
        "Peer refused to agree to his interface identifier", "Refused his interface identifier"
    )
    assert result.messages == (
        (logging.ERROR, "Peer refused to agree to his interface identifier"),
    )


def test_no_remote_identifier_fails_unless_noremote() -> None:
    n = neg()
    n.review([], reject_if_disagree=False)
    n.review([], reject_if_disagree=False)
    failure = n.up().failure
    assert failure is not None
    assert failure.message == "Could not determine remote LL address"
    lenient = neg(no_remote=True)
    lenient.review([], reject_if_disagree=False)
    lenient.review([], reject_if_disagree=False)
    result = lenient.up()
    assert result.failure is None
    assert result.remote is None
    assert [line for _, line in result.messages] == [
        f"local  LL address {format_link_local(result.local or b'')}"
    ]


def test_equal_link_locals_fail_at_up() -> None:
    """A peer that has us Acked its X and then Naks us with X: pppd refuses the link."""
    n = neg(9)
    peer_id = bytes.fromhex("1234567890abcdef")
    assert n.review(iid(peer_id), reject_if_disagree=False).code is ACK
    assert n.on_nak(iid(peer_id), rejected=False)  # random identifiers accept suggestions
    assert n.request() == iid(peer_id)
    assert n.on_ack(iid(peer_id))
    result = n.up()
    assert result.failure == Ipv6cpFailure(*["local and remote LL addresses are equal"] * 2)
    assert result.local is None


def test_zero_nak_means_choose_a_new_random_one() -> None:
    n = neg(10)
    (before,) = n.request()
    assert n.on_nak(iid(ZERO_IDENTIFIER), rejected=False)
    (after,) = n.request()
    assert isinstance(after, InterfaceIdentifier)
    assert after != before
    assert after.identifier != ZERO_IDENTIFIER


def test_reject_of_our_identifier_stops_sending_it() -> None:
    n = neg(11)
    sent = n.request()
    assert not n.on_nak([InterfaceIdentifier(ONE)], rejected=True)  # modified: bogus
    assert n.on_nak(sent, rejected=True)
    assert n.request() == []
    assert n.on_ack([])


@pytest.mark.parametrize(
    "nak",
    [
        [InterfaceIdentifier(ONE), InterfaceIdentifier(TWO)],  # a second one
        [UnknownOption(1, b"\x01\x02")],  # Interface-Identifier with a wrong length
        [Ipv6CompressionProtocol(0x4F, b"\x01")],  # compression with extra octets
        [Ipv6CompressionProtocol(0x4F), Ipv6CompressionProtocol(0x4F)],
    ],
)
def test_bogus_naks_are_discarded(nak: list[Option]) -> None:
    n = neg(12)
    before = n.request()
    assert not n.on_nak(nak, rejected=False)
    assert n.request() == before


def test_nak_with_options_we_did_not_send() -> None:
    # A compression hint is ignored (we never compress); unknown types are ignored as pppd does.
    n = neg(13)
    before = n.request()
    assert n.on_nak([*before, Ipv6CompressionProtocol(0x4F), UnknownOption(99)], rejected=False)
    # With ipv6cp-nosend, a Nak offering an identifier makes us send one, taking the offer.
    quiet = neg(14, send_identifier=False)
    assert quiet.request() == []
    assert quiet.on_nak(iid(TWO), rejected=False)
    assert quiet.request() == iid(TWO)


def test_nosend_neither_sends_nor_asks() -> None:
    n = neg(send_identifier=False)
    assert n.request() == []
    review = n.review(iid(TWO), reject_if_disagree=False)
    assert review.code is ACK
    assert n.review([], reject_if_disagree=False).code is ACK


def test_compression_and_unknown_options_are_rejected(caplog: pytest.LogCaptureFixture) -> None:
    n = neg(15)
    request = [InterfaceIdentifier(TWO), Ipv6CompressionProtocol(0x4F), UnknownOption(7, b"x")]
    review = n.review(request, reject_if_disagree=False)
    assert (review.code, review.options) == (REJ, tuple(request[1:]))
    with caplog.at_level(logging.WARNING):
        review = n.review([*iid(TWO), *iid(ONE)], reject_if_disagree=False)
    assert (review.code, review.options) == (ACK, tuple(iid(TWO)))
    assert "IPV6CP: ignoring duplicate configuration option(s)" in caplog.messages


def test_max_failure_turns_naks_into_rejects() -> None:
    n = neg(16, remote=TWO)
    review = n.review(iid(ONE), reject_if_disagree=True)
    assert (review.code, review.options) == (REJ, tuple(iid(ONE)))


def test_nak_in_opened_does_not_edit_the_request() -> None:
    a, b = neg(17), neg(18)
    assert Talk(a, b, max_failure=10, up=False).run()
    a.up()
    before = a.request()
    assert a.on_nak(iid(ZERO_IDENTIFIER), rejected=False)
    assert a.request() == before
    a.down()


# -- properties ---------------------------------------------------------------------------------

identifier = st.binary(min_size=8, max_size=8).filter(lambda b: b != ZERO_IDENTIFIER)
side = st.fixed_dictionaries(
    {},
    optional={
        "local": identifier,
        "remote": identifier,
        "accept_local": st.booleans(),
        "accept_remote": st.booleans(),
        "no_remote": st.booleans(),
    },
)


@given(a=side, b=side, seed=st.integers(0, 2**16))
def test_any_two_configurations_end_in_an_agreement_or_a_failure(
    a: dict[str, object], b: dict[str, object], seed: int
) -> None:
    left, right = neg(seed, **a), neg(seed + 1, **b)
    talk = Talk(left, right, max_rounds=30, max_failure=5, up=False)
    if not talk.run():
        return  # two stubborn configurations: the automaton's counters end this
    ra, rb = left.up(), right.up()
    for result in (ra, rb):
        if result.failure is None:
            assert result.local is not None
            assert result.local != ZERO_IDENTIFIER
            assert result.local != result.remote
        else:
            assert result.local is None
            assert result.messages[-1][0] == logging.ERROR
    if ra.failure is None and rb.failure is None and not {"local", "remote"} & {*a, *b}:
        # (Two sides configured alike can each settle on their own configuration, as pppd.)
        assert (ra.local, ra.remote) == (rb.remote, rb.local)


@given(data=st.binary(max_size=64), seed=st.integers(0, 255))
def test_hostile_options_never_raise(data: bytes, seed: int) -> None:
    n = neg(seed)
    try:
        options = decode_options(data, CODECS)
    except Exception:
        return
    n.review(options, reject_if_disagree=bool(seed & 1))
    n.on_nak(options, rejected=bool(seed & 2))
    n.on_ack(options)
    n.up()
