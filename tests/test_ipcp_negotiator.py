"""IPCP policy: review/Nak/Reject rules, two negotiators talking, address policy, DNS helpers."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyppp.errors import ConfigError, MalformedPacket
from pyppp.ipcp.negotiator import (
    AddressPolicy,
    AddressRule,
    IpcpConfig,
    IpcpFailure,
    IpcpNegotiator,
)
from pyppp.ipcp.options import (
    CODECS,
    IpAddress,
    IpAddresses,
    IpCompressionProtocol,
    PrimaryDns,
    PrimaryNbns,
    SecondaryDns,
    SecondaryNbns,
)
from pyppp.options import Negotiator, Option, Review, UnknownOption, decode_options, encode_options
from pyppp.pppd.dns import RESOLV_CONF_PATH, ip_script_env, resolv_conf_text
from pyppp.util import NOTICE
from tests.oracles import check_reject
from tests.strategies import ipcp_options
from tests.talk import ACK, NAK, REJ, Talk, trace

# Hypothesis's own choice cache can compare bytes with int keys on a hash collision, which
# `python -bb` turns into an error inside hypothesis; our code is not involved.
pytestmark = pytest.mark.filterwarnings("ignore::BytesWarning:hypothesis.internal.cache")

A = IPv4Address
ZERO = A("0.0.0.0")


def neg(**kwargs: object) -> IpcpNegotiator:
    return IpcpNegotiator(IpcpConfig(**kwargs))  # type: ignore[arg-type]


def wire(options: Sequence[Option]) -> list[Option]:
    """What the peer decodes: every exchange goes through the byte codec."""
    return decode_options(encode_options(options), CODECS)


SERVER = {"local": A("10.99.0.1"), "remote": A("10.99.0.2")}


def test_is_a_negotiator() -> None:
    n: Negotiator[Any] = neg()
    assert (n.protocol, n.name, n.codecs) == (0x8021, "IPCP", CODECS)


def test_server_and_noipdefault_client_converge() -> None:
    server = neg(**SERVER)
    client = neg()
    talk = Talk(client, server)
    assert talk.run(), talk.lines
    assert talk.lines[0] == "a sent [IPCP ConfReq <addr 0.0.0.0>]"
    assert talk.lines[1] == "a rcvd [IPCP ConfNak <addr 10.99.0.2>]"
    assert (client.local, client.remote) == (A("10.99.0.2"), A("10.99.0.1"))
    assert (server.local, server.remote) == (A("10.99.0.1"), A("10.99.0.2"))
    assert client.failure is None
    assert server.failure is None
    assert client.log_lines() == [
        (NOTICE, "local  IP address 10.99.0.2"),
        (NOTICE, "remote IP address 10.99.0.1"),
    ]
    assert client.dns == ()


def test_usepeerdns_gets_ms_dns() -> None:
    server = neg(**SERVER, ms_dns=(A("10.99.0.53"), A("10.99.0.54")))
    client = neg(usepeerdns=True)
    talk = Talk(client, server)
    assert talk.run(), talk.lines
    assert (
        talk.lines[0] == "a sent [IPCP ConfReq <addr 0.0.0.0> <ms-dns1 0.0.0.0> <ms-dns2 0.0.0.0>]"
    )
    assert talk.lines[1] == (
        "a rcvd [IPCP ConfNak <addr 10.99.0.2> <ms-dns1 10.99.0.53> <ms-dns2 10.99.0.54>]"
    )
    assert client.dns == (A("10.99.0.53"), A("10.99.0.54"))
    assert (client.dns1, client.dns2) == (A("10.99.0.53"), A("10.99.0.54"))
    assert client.log_lines() == [
        (NOTICE, "local  IP address 10.99.0.2"),
        (NOTICE, "remote IP address 10.99.0.1"),
        (NOTICE, "primary   DNS address 10.99.0.53"),
        (NOTICE, "secondary DNS address 10.99.0.54"),
    ]


def test_single_ms_dns_serves_both_and_last_two_count() -> None:
    server = neg(**SERVER, ms_dns=(A("10.99.0.53"),))
    client = neg(usepeerdns=True)
    assert Talk(client, server).run()
    assert client.dns == (A("10.99.0.53"), A("10.99.0.53"))
    many = neg(**SERVER, ms_dns=(A("10.99.0.1"), A("10.99.0.2"), A("10.99.0.3")))
    review = many.review(
        [IpAddress(A("10.99.0.2")), PrimaryDns(ZERO), SecondaryDns(ZERO)], reject_if_disagree=False
    )
    assert review == Review(NAK, (PrimaryDns(A("10.99.0.2")), SecondaryDns(A("10.99.0.3"))))


def test_usepeerdns_against_server_without_dns_stops_asking() -> None:
    server = neg(**SERVER)
    client = neg(usepeerdns=True)
    talk = Talk(client, server)
    assert talk.run(), talk.lines
    assert "a rcvd [IPCP ConfRej <ms-dns1 0.0.0.0> <ms-dns2 0.0.0.0>]" in talk.lines
    assert client.dns == ()
    assert client.local == A("10.99.0.2")


class VjPeer:
    """A pppd-like peer that offers VJ compression first and drops it when rejected."""

    protocol: ClassVar[int] = 0x8021
    name: ClassVar[str] = "IPCP"
    codecs: ClassVar[Mapping[int, type[Option]]] = CODECS

    def __init__(self, inner: IpcpNegotiator) -> None:
        self.inner = inner
        self.vj = True

    def reset(self) -> None:
        self.vj = True
        self.inner.reset()

    def request(self) -> list[Option]:
        return ([IpCompressionProtocol.vj()] if self.vj else []) + self.inner.request()

    def on_ack(self, options: Sequence[Option]) -> bool:
        return self.inner.on_ack([o for o in options if not isinstance(o, IpCompressionProtocol)])

    def on_nak(self, options: Sequence[Option], *, rejected: bool) -> bool:
        rest = [o for o in options if not isinstance(o, IpCompressionProtocol)]
        if rejected and len(rest) != len(options):
            self.vj = False
        return self.inner.on_nak(rest, rejected=rejected) if rest else True

    def review(self, options: Sequence[Option], *, reject_if_disagree: bool) -> Review:
        return self.inner.review(options, reject_if_disagree=reject_if_disagree)

    def up(self) -> None:
        self.inner.up()

    def down(self) -> None:
        self.inner.down()


def test_vj_offered_is_rejected_and_the_loop_converges() -> None:
    pppd = VjPeer(neg(**SERVER, ms_dns=(A("10.99.0.53"),)))
    client = neg(usepeerdns=True)
    talk = Talk(pppd, client)
    assert talk.run(), talk.lines
    assert talk.lines[:2] == [
        "a sent [IPCP ConfReq <compress VJ 0f 01> <addr 10.99.0.1>]",
        "a rcvd [IPCP ConfRej <compress VJ 0f 01>]",
    ]
    assert client.local == A("10.99.0.2")
    assert client.dns == (A("10.99.0.53"), A("10.99.0.53"))
    assert pppd.inner.remote == A("10.99.0.2")
    assert not any("compress" in line for line in talk.lines if line.startswith("b "))


def test_policy_denies_without_alternative_fails_like_pppd() -> None:
    server = neg(local=A("10.99.0.1"))
    server.set_allowed_remote(AddressPolicy.from_words(["!10.99.0.66", "10.99.0.0/24"]))
    client = neg(local=A("10.99.0.66"))
    assert Talk(client, server).run()
    assert server.failure == IpcpFailure(
        "Peer is not authorized to use remote address 10.99.0.66", "Unauthorized remote IP address"
    )
    assert server.log_lines() == [
        (logging.ERROR, "Peer is not authorized to use remote address 10.99.0.66")
    ]
    assert server.local is None
    assert server.remote is None


def test_policy_none_fails_every_address() -> None:
    server = neg(**SERVER, allowed_remote=AddressPolicy.none())
    client = neg()
    assert Talk(client, server).run()
    assert server.failure is not None
    assert server.failure.message == "Peer is not authorized to use remote address 10.99.0.2"


def test_unauthorised_request_is_naked_with_an_authorised_address() -> None:
    server = neg(**SERVER, accept_remote=True)
    server.set_allowed_remote(AddressPolicy.from_words(["10.99.0.2"]))
    client = neg(local=A("10.99.0.66"), accept_local=True)
    talk = Talk(client, server)
    assert talk.run(), talk.lines
    assert talk.lines[1] == "a rcvd [IPCP ConfNak <addr 10.99.0.2>]"
    assert server.failure is None
    assert server.remote == A("10.99.0.2")
    assert client.local == A("10.99.0.2")


def test_single_host_in_secrets_becomes_the_remote_address() -> None:
    server = neg(local=A("10.99.0.1"))
    server.set_allowed_remote(AddressPolicy.from_words(["10.99.0.7"]))
    review = server.review([IpAddress(ZERO)], reject_if_disagree=False)
    assert review == Review(NAK, (IpAddress(A("10.99.0.7")),))
    assert not server.accept_remote
    # More entries than the suggested host: the peer may propose another permitted one.
    server.set_allowed_remote(AddressPolicy.from_words(["10.99.0.7", "10.99.1.0/24"]))
    assert server.accept_remote
    assert server.review([IpAddress(A("10.99.1.9"))], reject_if_disagree=False).code is ACK


# -- review --------------------------------------------------------------------------------------


def test_zero_address_without_a_remote_is_rejected_and_not_asked_again() -> None:
    n = neg(local=A("10.99.0.1"))
    assert n.review([IpAddress(ZERO)], reject_if_disagree=False) == Review(REJ, (IpAddress(ZERO),))
    assert n.review([], reject_if_disagree=False) == Review(ACK, ())


def test_missing_address_is_asked_for_once() -> None:
    n = neg(**SERVER)
    assert n.review([], reject_if_disagree=False) == Review(NAK, (IpAddress(A("10.99.0.2")),))
    assert n.review([], reject_if_disagree=False) == Review(ACK, ())
    n.reset()
    dns = neg(**SERVER, ms_dns=(A("10.99.0.53"),))
    assert dns.review([PrimaryDns(A("10.99.0.53"))], reject_if_disagree=False) == Review(
        NAK, (IpAddress(A("10.99.0.2")),)
    )


def test_other_address_naked_unless_accept_remote() -> None:
    request = [IpAddress(A("10.99.0.9"))]
    strict = neg(**SERVER)
    assert strict.review(request, reject_if_disagree=False) == Review(
        NAK, (IpAddress(A("10.99.0.2")),)
    )
    lenient = neg(**SERVER, accept_remote=True)
    assert lenient.review(request, reject_if_disagree=False) == Review(ACK, tuple(request))
    unknown = neg(local=A("10.99.0.1"))
    assert unknown.review(request, reject_if_disagree=False).code is ACK
    unknown.up()
    assert unknown.remote == A("10.99.0.9")


def test_reject_if_disagree_turns_naks_into_rejects() -> None:
    n = neg(**SERVER)
    request = [IpAddress(A("10.99.0.9")), PrimaryDns(ZERO)]
    assert n.review(request, reject_if_disagree=True) == Review(REJ, tuple(request))
    assert n.review([], reject_if_disagree=True) == Review(ACK, ())


def test_reply_composition_reject_wins_then_nak() -> None:
    n = neg(**SERVER, ms_dns=(A("10.99.0.53"),))
    vj = IpCompressionProtocol.vj()
    unknown = UnknownOption(200, b"\x01")
    request = [IpAddress(ZERO), vj, PrimaryDns(ZERO), unknown, PrimaryNbns(ZERO)]
    assert n.review(request, reject_if_disagree=False) == Review(
        REJ, (vj, unknown, PrimaryNbns(ZERO))
    )
    request = [PrimaryDns(A("10.99.0.53")), IpAddress(ZERO), SecondaryDns(ZERO)]
    assert n.review(request, reject_if_disagree=False) == Review(
        NAK, (IpAddress(A("10.99.0.2")), SecondaryDns(A("10.99.0.53")))
    )
    request = [IpAddress(A("10.99.0.2")), PrimaryDns(A("10.99.0.53"))]
    review = n.review(wire(request), reject_if_disagree=False)
    assert review.code is ACK
    assert encode_options(review.options) == encode_options(request)


def test_wins_served_or_rejected() -> None:
    n = neg(**SERVER, ms_wins=(A("10.99.0.3"), A("10.99.0.4")))
    request = [IpAddress(A("10.99.0.2")), PrimaryNbns(ZERO), SecondaryNbns(A("10.99.0.4"))]
    assert n.review(request, reject_if_disagree=False) == Review(
        NAK, (PrimaryNbns(A("10.99.0.3")),)
    )
    bare = neg(**SERVER)
    assert bare.review(request, reject_if_disagree=False) == Review(
        REJ, (PrimaryNbns(ZERO), SecondaryNbns(A("10.99.0.4")))
    )


def test_old_ip_addresses_from_peer() -> None:
    n = neg(**SERVER)
    ok = IpAddresses(A("10.99.0.2"), A("10.99.0.1"))
    assert n.review([ok], reject_if_disagree=False) == Review(ACK, (ok,))
    assert n.review([IpAddresses(ZERO, ZERO)], reject_if_disagree=False) == Review(NAK, (ok,))
    both = [IpAddress(A("10.99.0.2")), ok]
    assert n.review(both, reject_if_disagree=False) == Review(REJ, (ok,))
    n.up()
    assert n.remote == A("10.99.0.2")


# -- our request ---------------------------------------------------------------------------------


def test_initial_request_and_ack_checks() -> None:
    n = neg(local=A("10.99.0.1"), usepeerdns=True)
    request = n.request()
    assert trace(request) == "<addr 10.99.0.1> <ms-dns1 0.0.0.0> <ms-dns2 0.0.0.0>"
    assert n.on_ack(wire(request))
    assert not n.on_ack(list(reversed(request)))
    assert not n.on_ack(request[:1])
    assert not n.on_ack([IpAddress(A("10.99.0.9")), *request[1:]])


def test_reject_of_ip_address_falls_back_to_ip_addresses_then_nothing() -> None:
    n = neg(**SERVER)
    assert n.on_nak([IpAddress(A("10.99.0.1"))], rejected=True)
    assert n.request() == [IpAddresses(A("10.99.0.1"), A("10.99.0.2"))]
    assert n.on_nak([IpAddresses(A("10.99.0.1"), A("10.99.0.2"))], rejected=True)
    assert n.request() == []
    n.review([IpAddress(A("10.99.0.2"))], reject_if_disagree=False)
    n.up()
    assert n.failure == IpcpFailure(
        "Peer refused to agree to our IP address", "Refused our IP address"
    )


def test_bogus_rejects_and_naks_are_refused_without_change() -> None:
    n = neg(local=A("10.99.0.1"), usepeerdns=True)
    before = n.request()
    assert not n.on_nak([IpAddress(A("10.99.0.5"))], rejected=True)  # modified value
    assert not n.on_nak([PrimaryNbns(ZERO)], rejected=True)  # never sent
    assert not n.on_nak([SecondaryDns(ZERO), PrimaryDns(ZERO)], rejected=True)  # order
    assert not n.on_nak([UnknownOption(3, b"\x01")], rejected=False)  # broken known option
    assert not n.on_nak([IpAddress(A("10.0.0.1")), IpAddress(A("10.0.0.2"))], rejected=False)
    assert n.request() == before
    assert n.on_nak([UnknownOption(99, b"")], rejected=False)  # unknown: ignored
    assert n.request() == before


def test_nak_of_our_address_needs_accept_local() -> None:
    strict = neg(local=A("10.99.0.1"))
    assert strict.on_nak([IpAddress(A("10.99.0.5"))], rejected=False)
    assert strict.request() == [IpAddress(A("10.99.0.1"))]
    lenient = neg(local=A("10.99.0.1"), accept_local=True)
    assert lenient.on_nak([IpAddress(A("10.99.0.5"))], rejected=False)
    assert lenient.request() == [IpAddress(A("10.99.0.5"))]
    assert lenient.on_nak([IpAddress(ZERO)], rejected=False)  # 0.0.0.0 is no suggestion
    assert lenient.request() == [IpAddress(A("10.99.0.5"))]
    lenient.reset()
    assert lenient.request() == [IpAddress(A("10.99.0.1"))]


def test_unsolicited_naks() -> None:
    n = neg(local=A("10.99.0.1"))
    assert n.on_nak(
        [PrimaryDns(A("10.99.0.53")), PrimaryNbns(A("10.99.0.3")), IpCompressionProtocol.vj()],
        rejected=False,
    )
    assert n.request() == [
        IpAddress(A("10.99.0.1")),
        PrimaryDns(A("10.99.0.53")),
        PrimaryNbns(A("10.99.0.3")),
    ]
    # Out of order: PrimaryDns is requested now, so it may not come after PrimaryNbns.
    assert not n.on_nak([PrimaryNbns(A("10.99.0.3")), PrimaryDns(A("10.99.0.5"))], rejected=False)
    assert n.on_nak([IpAddress(A("10.99.0.1")), PrimaryDns(A("10.99.0.5"))], rejected=False)
    assert n.request()[1] == PrimaryDns(A("10.99.0.5"))


def test_nak_while_opened_does_not_change_request() -> None:
    n = neg()
    n.up()
    assert n.on_nak([IpAddress(A("10.99.0.5"))], rejected=False)
    assert n.request() == [IpAddress(ZERO)]
    n.down()
    assert n.on_nak([IpAddress(A("10.99.0.5"))], rejected=False)
    assert n.request() == [IpAddress(A("10.99.0.5"))]


def test_up_without_any_remote_defaults_like_pppd() -> None:
    n = IpcpNegotiator(IpcpConfig(local=A("10.99.0.1"), unit=3))
    n.review([], reject_if_disagree=False)
    n.up()
    assert n.remote == A("10.64.64.67")
    assert n.log_lines()[0] == (
        logging.WARNING,
        "Could not determine remote IP address: defaulting to 10.64.64.67",
    )


def test_up_without_local_fails() -> None:
    n = neg(remote=A("10.99.0.2"))
    n.up()
    assert n.failure == IpcpFailure(
        "Could not determine local IP address", "Could not determine local IP address"
    )


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="Max-Slot-Id 256"):
        IpcpConfig(vj=True, vj_max_slot_id=256)
    with pytest.raises(ConfigError, match=r"bad remote IP address 127\.0\.0\.1"):
        IpcpConfig(remote=A("127.0.0.1"))
    assert neg(local=ZERO).request() == [IpAddress(ZERO)]


# -- address policy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "allowed", "denied"),
    [
        ([], [], ["10.0.0.1"]),
        (["-"], [], ["10.0.0.1"]),
        (["-", "10.0.0.1"], [], ["10.0.0.1"]),
        (["*"], ["10.0.0.1", "192.0.2.200"], ["127.0.0.1", "224.0.0.1", "255.255.255.255"]),
        (["10.0.0.2"], ["10.0.0.2"], ["10.0.0.3"]),
        (["10.0.0.0/24", "!10.0.0.5"], ["10.0.0.4", "10.0.0.5"], ["10.0.1.1"]),
        (["!10.0.0.5", "10.0.0.0/24"], ["10.0.0.4"], ["10.0.0.5"]),
        (["!10.0.0.5", "*"], ["172.16.0.1"], ["10.0.0.5"]),
        (["10.0.0.0/24+"], ["10.0.0.1"], ["10.0.0.2"]),
        (["10.0.0.9/30"], ["10.0.0.8", "10.0.0.11"], ["10.0.0.12"]),
    ],
)
def test_address_words(words: list[str], allowed: list[str], denied: list[str]) -> None:
    policy = AddressPolicy.from_words(words)
    for address in allowed:
        assert policy.permits(A(address)), address
    for address in denied:
        assert not policy.permits(A(address)), address


def test_address_words_warnings_and_resolver(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pyppp.auth"):
        policy = AddressPolicy.from_words(
            ["10.0.0.0/33", "10.0.0.0/2x", "gateway", "10.0.0.0/30+", "10.0.0.7"], unit=2
        )
    assert [r.getMessage() for r in caplog.records] == [
        "invalid address length 33 in auth. address list",
        "invalid address length syntax: 2x",
        "unknown host gateway in auth. address list",
        "interface unit 2 too large for subnet 10.0.0.0",
    ]
    assert policy.rules == (AddressRule(IPv4Network("10.0.0.7/32")),)
    resolved = AddressPolicy.from_words(["gateway"], resolve={"gateway": A("10.9.9.9")}.get)
    assert resolved.permits(A("10.9.9.9"))
    assert resolved.suggested == A("10.9.9.9")


def test_suggested_skips_forbidden_hosts() -> None:
    assert AddressPolicy.from_words(["!10.0.0.5", "10.0.0.6"]).suggested == A("10.0.0.6")
    assert AddressPolicy.from_words(["10.0.0.0/24"]).suggested is None
    assert AddressPolicy.any().suggested is None
    assert AddressPolicy.none().suggested is None


# -- DNS helpers ---------------------------------------------------------------------------------


def test_resolv_conf_and_script_env() -> None:
    assert RESOLV_CONF_PATH == "/etc/ppp/resolv.conf"
    assert resolv_conf_text([A("10.99.0.53"), A("10.99.0.54")]) == (
        "nameserver 10.99.0.53\nnameserver 10.99.0.54\n"
    )
    assert resolv_conf_text([None, ZERO]) == ""
    assert ip_script_env(A("10.99.0.2"), A("10.99.0.1"), dns1=A("10.99.0.53"), usepeerdns=True) == {
        "IPLOCAL": "10.99.0.2",
        "IPREMOTE": "10.99.0.1",
        "DNS1": "10.99.0.53",
        "USEPEERDNS": "1",
    }
    assert ip_script_env(A("10.99.0.2"), None, dns2=A("10.99.0.54")) == {
        "IPLOCAL": "10.99.0.2",
        "DNS2": "10.99.0.54",
    }


# -- property tests ------------------------------------------------------------------------------

addresses = st.sampled_from(
    [ZERO, A("10.99.0.1"), A("10.99.0.2"), A("10.99.0.53"), A("127.0.0.1")]
) | st.builds(IPv4Address, st.integers(0, 2**32 - 1))
options = ipcp_options(addresses, data_size=4) | st.builds(
    UnknownOption, st.integers(0, 255), st.binary(max_size=6)
)
configs = st.builds(
    IpcpConfig,
    local=st.none() | st.just(A("10.99.0.1")),
    remote=st.none() | st.just(A("10.99.0.2")),
    accept_local=st.booleans(),
    accept_remote=st.booleans(),
    ms_dns=st.lists(addresses.filter(lambda a: a != ZERO), max_size=3).map(tuple),
    ms_wins=st.lists(addresses.filter(lambda a: a != ZERO), max_size=2).map(tuple),
    usepeerdns=st.booleans(),
    allowed_remote=st.sampled_from(
        [AddressPolicy.any(), AddressPolicy.none(), AddressPolicy.from_words(["10.99.0.0/24"])]
    ),
)


@settings(max_examples=300)
@given(configs, st.lists(options, max_size=8), st.booleans())
def test_review_never_raises_and_code_matches_contents(
    config: IpcpConfig, request: list[Option], reject_if_disagree: bool
) -> None:
    n = IpcpNegotiator(config)
    review = n.review(request, reject_if_disagree=reject_if_disagree)
    if review.code is ACK:
        assert encode_options(review.options) == encode_options(request)
    elif review.code is REJ:
        check_reject(request, review.options)
    else:
        assert review.code is NAK
        assert not reject_if_disagree
        assert review.options
        assert not any(isinstance(o, UnknownOption | IpCompressionProtocol) for o in review.options)
        types = [o.option_type for o in request] + [IpAddress.TYPE]
        assert all(o.option_type in types for o in review.options)


@settings(max_examples=300)
@given(configs, st.lists(options, max_size=6), st.booleans(), st.binary(max_size=40))
def test_peer_input_never_raises(
    config: IpcpConfig, reply: list[Option], rejected: bool, garbage: bytes
) -> None:
    n = IpcpNegotiator(config)
    before = n.request()
    n.on_ack(reply)
    if not n.on_nak(reply, rejected=rejected):
        assert n.request() == before
    try:
        decoded = decode_options(garbage, CODECS)
    except MalformedPacket:
        decoded = []
    n.review(decoded, reject_if_disagree=False)
    n.on_nak(decoded, rejected=True)
    n.up()
    assert (n.failure is None) == (n.local is not None and n.remote is not None)


@settings(max_examples=150)
@given(configs, configs)
def test_two_random_negotiators_never_raise(a: IpcpConfig, b: IpcpConfig) -> None:
    left, right = IpcpNegotiator(a), IpcpNegotiator(b)
    talk = Talk(left, right, max_rounds=10)
    if talk.run():
        for n in (left, right):
            assert (n.failure is None) == (n.local is not None)


def test_learnt_address_is_requested_after_renegotiation() -> None:
    server = neg(**SERVER)
    client = neg()
    assert Talk(client, server).run()
    client.down()
    client.reset()
    assert client.request() == [IpAddress(A("10.99.0.2"))]
    assert client.accept_local  # still takes whatever the server says next time
    assert client.on_nak([IpAddress(A("10.99.0.9"))], rejected=False)
    assert client.request() == [IpAddress(A("10.99.0.9"))]


def test_rejects_of_nbns_and_unsolicited_secondary_dns() -> None:
    n = neg(local=A("10.99.0.1"))
    assert n.on_nak([SecondaryNbns(A("10.99.0.4")), SecondaryDns(A("10.99.0.54"))], rejected=False)
    assert n.request() == [
        IpAddress(A("10.99.0.1")),
        SecondaryDns(A("10.99.0.54")),
        SecondaryNbns(A("10.99.0.4")),
    ]
    assert n.on_nak([SecondaryNbns(A("10.99.0.4"))], rejected=True)
    assert n.on_nak([SecondaryDns(A("10.99.0.54"))], rejected=True)
    assert n.request() == [IpAddress(A("10.99.0.1"))]
    assert n.on_nak([PrimaryNbns(A("10.99.0.3"))], rejected=False)
    assert n.on_nak([PrimaryNbns(A("10.99.0.3"))], rejected=True)
    assert n.request() == [IpAddress(A("10.99.0.1"))]
    assert not n.on_nak([SecondaryDns(ZERO), SecondaryDns(ZERO)], rejected=False)


def test_policy_edges() -> None:
    def broken(name: str) -> IPv4Address | None:
        raise OSError(name)

    assert AddressPolicy.from_words(["somewhere"], resolve=broken) == AddressPolicy.none()
    assert AddressPolicy.from_words(["127.0.0.1", "10.0.0.1"]).suggested == A("10.0.0.1")
    policy = AddressPolicy.from_words(["10.99.0.0/24"])
    n = neg(allowed_remote=policy)
    assert n.allowed_remote is policy


def test_old_peer_tells_us_our_address_in_ip_addresses() -> None:
    client = neg(remote=A("10.99.0.1"))
    request = [IpAddresses(A("10.99.0.1"), A("10.99.0.2"))]
    assert client.review(request, reject_if_disagree=False) == Review(ACK, tuple(request))
    assert client.on_ack(client.request())
    client.up()
    assert (client.local, client.remote) == (A("10.99.0.2"), A("10.99.0.1"))


def test_unsolicited_address_naks_switch_the_form() -> None:
    n = neg(local=A("10.99.0.1"), accept_local=True)
    assert n.on_nak([IpAddresses(A("10.99.0.5"), A("10.99.0.6"))], rejected=False)
    assert n.request() == [IpAddresses(A("10.99.0.5"), A("10.99.0.6"))]
    assert n.on_nak([IpAddress(A("10.99.0.7"))], rejected=False)
    assert n.request() == [IpAddress(A("10.99.0.7"))]
    assert not n.on_nak(
        [PrimaryDns(ZERO), IpAddresses(ZERO, ZERO), IpAddresses(ZERO, ZERO)], rejected=False
    )
    assert not n.on_nak([IpCompressionProtocol.vj(), IpCompressionProtocol.vj()], rejected=False)


# -- pppd's IPCP address words: usepeerwins, nosendip, ipcp-no-address(es), noremoteip ----------


def test_usepeerwins_gets_ms_wins() -> None:
    server = neg(**SERVER, ms_wins=(A("10.99.0.60"), A("10.99.0.61")))
    client = neg(usepeerwins=True)
    talk = Talk(client, server)
    assert talk.run(), talk.lines
    assert (
        talk.lines[0] == "a sent [IPCP ConfReq <addr 0.0.0.0> <ms-wins 0.0.0.0> <ms-wins 0.0.0.0>]"
    )
    assert client.up().wins == (A("10.99.0.60"), A("10.99.0.61"))


def test_usepeerwins_against_a_server_without_wins_stops_asking() -> None:
    client = neg(usepeerwins=True)
    talk = Talk(client, neg(**SERVER))
    assert talk.run(), talk.lines
    assert "ConfRej <ms-wins 0.0.0.0> <ms-wins 0.0.0.0>" in talk.lines[1]
    assert client.up().wins == ()


def test_nosendip_sends_no_address() -> None:
    # pppd nosendip: our address is not in our request (the peer must not need it).
    client = neg(local=A("10.99.0.2"), remote=A("10.99.0.1"), send_address=False)
    server = neg(**SERVER)
    talk = Talk(client, server)
    assert talk.run(), talk.lines
    assert talk.lines[0] == "a sent [IPCP ConfReq ]"
    assert client.failure is None
    assert (client.local, client.remote) == (A("10.99.0.2"), A("10.99.0.1"))


def test_ipcp_no_address_rejects_the_peers_ip_address_option() -> None:
    server = neg(**SERVER, allow_address=False, send_address=False)
    review = server.review(wire([IpAddress(A("10.99.0.2"))]), reject_if_disagree=False)
    assert review.code is REJ
    no_old = neg(**SERVER, old_addresses=False)
    review = no_old.review(
        wire([IpAddresses(A("10.99.0.2"), A("10.99.0.1"))]), reject_if_disagree=False
    )
    assert review.code is REJ
    no_old.reset()
    assert trace(wire(no_old.request())) == "<addr 10.99.0.1>"


def test_noremoteip_makes_up_no_address() -> None:
    # The peer sends no address of its own; pppd would make one up (10.64.64.64+unit) or,
    # with noremoteip, leave the interface without a peer address.
    server = neg(local=A("10.99.0.1"), noremoteip=True)
    review = server.review([], reject_if_disagree=False)
    assert review.code is ACK  # not Nak'd for an address it need not have
    result = server.up()
    assert result.failure is None
    assert result.remote == A("0.0.0.0")
    assert server.log_lines() == [(NOTICE, "local  IP address 10.99.0.1")]
