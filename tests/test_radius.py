"""RADIUS without a server: radiusclient.conf, pppd's attributes, the Accept policy, the engines.

The codec is pyrad's: these tests also encode each request with it (and decode a reply built
with it) so that a name our dictionary lacks, or a value of the wrong type, fails here.
"""

from __future__ import annotations

import hashlib
import logging
from ipaddress import IPv4Address

import pytest
from pyrad.dictionary import Dictionary
from pyrad.packet import AccessAccept, AccessRequest, AccountingRequest, AcctPacket, AuthPacket

from pyppp.aio.radius import DICTIONARY
from pyppp.auth.base import AuthSuccess, ExternalCheckNeeded, ExternalVerdict
from pyppp.auth.chap import (
    CHALLENGE,
    FAILURE,
    RESPONSE,
    SUCCESS,
    ChapAuthenticator,
    encode_value_name,
)
from pyppp.auth.pap import AUTH_ACK, AUTH_NAK, PapAuthenticator, encode_auth_request
from pyppp.errors import ConfigError
from pyppp.events import AuthMethod
from pyppp.pppd.radius import (
    NasInfo,
    access_request,
    accounting_request,
    interpret_accept,
    parse_avpair,
    parse_radiusclient_conf,
    parse_servers_file,
    terminate_cause,
)

NAS = NasInfo(
    "nas1", 3, IPv4Address("10.99.16.1"), calling_station="5551234", avpairs=(("Class", "x"),)
)


def _conf(text: str, servers: str = "radius1 s3cret\nradius2 other\n") -> object:
    return parse_radiusclient_conf(text, "rc.conf", read_file=lambda _p: servers)


def test_radiusclient_conf_servers_ports_secrets(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="pyppp.radius"):
        conf = parse_radiusclient_conf(
            "# radiusclient.conf\nauthserver radius1,radius2:1645\nacctserver radius1:1646:inline\n"
            "servers /etc/radiusclient/servers\nradius_timeout 2\nradius_retries 4\n"
            "dictionary /etc/radiusclient/dictionary\nnas_identifier pyppp1\n",
            "rc.conf",
            read_file=lambda _p: "radius1 s3cret\nradius2 other\n",
        )
    assert [(s.host, s.port, s.secret) for s in conf.auth_servers] == [
        ("radius1", 1812, "s3cret"),
        ("radius2", 1645, "other"),
    ]
    assert [(s.host, s.port, s.secret) for s in conf.acct_servers] == [("radius1", 1646, "inline")]
    assert (conf.timeout, conf.retries, conf.nas_identifier) == (2.0, 4, "pyppp1")
    assert "dictionary means nothing to pyppp" in caplog.text
    assert "s3cret" not in repr(conf)


@pytest.mark.parametrize(
    ("text", "servers", "message"),
    [
        ("acctserver radius1\n", "radius1 x\n", "no authserver"),
        ("authserver radius9\nservers f\n", "radius1 x\n", "no secret for RADIUS server radius9"),
        ("authserver radius1:x\nservers f\n", "radius1 x\n", "bad port"),
        ("authserver radius1\nservers f\nradius_retries 0\n", "radius1 x\n", "positive"),
        ("authserver radius1\nservers f\n", "radius1\n", "without a secret"),
    ],
)
def test_radiusclient_conf_errors(text: str, servers: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_radiusclient_conf(text, "rc.conf", read_file=lambda _p: servers)


def test_servers_file_comments_and_first_wins() -> None:
    assert parse_servers_file("# c\nh1 a # note\nh1 b\n\nh2 c\n", "s") == {"h1": "a", "h2": "c"}


def test_avpair() -> None:
    assert parse_avpair("Called-Station-Id = 5550000") == ("Called-Station-Id", "5550000")
    with pytest.raises(ConfigError):
        parse_avpair("novalue")


def _encode(
    attributes: list[tuple[str, object]], cls: type = AuthPacket, code: int = AccessRequest
) -> bytes:
    packet = cls(code=code, secret=b"s3cret", dict=Dictionary(str(DICTIONARY)))
    for name, value in attributes:
        if name == "User-Password":
            packet[name] = packet.PwCrypt(str(value))
        else:
            packet.AddAttribute(name, value)
    return bytes(packet.RequestPacket())


def test_pap_request_attributes_as_pppd_sends_them() -> None:
    attributes = access_request(ExternalCheckNeeded(1, AuthMethod.PAP, "arthur", "pw"), NAS)
    names = [name for name, _ in attributes]
    assert names[:6] == [
        "User-Name",
        "NAS-Identifier",
        "NAS-Port",
        "NAS-Port-Type",
        "Service-Type",
        "Framed-Protocol",
    ]
    assert dict(attributes)["Calling-Station-Id"] == "5551234"
    assert ("User-Password", "pw") in attributes
    assert ("Class", "x") in attributes  # the avpair
    raw = _encode(attributes)
    assert b"pw" not in raw[20:]  # hidden with the shared secret (RFC 2865 §5.2)


def test_chap_and_mschapv2_request_attributes() -> None:
    response = hashlib.md5(b"\x07secret" + b"c" * 16).digest()
    chap = access_request(
        ExternalCheckNeeded(
            1, AuthMethod.CHAP, "ford", identifier=7, challenge=b"c" * 16, response=response
        ),
        NAS,
    )
    assert dict(chap)["CHAP-Password"] == b"\x07" + response
    assert dict(chap)["CHAP-Challenge"] == b"c" * 16
    _encode(chap)
    value = bytes(range(16)) + bytes(8) + bytes(range(100, 124)) + b"\x00"
    ms = access_request(
        ExternalCheckNeeded(
            1, AuthMethod.MSCHAP_V2, "ford", identifier=9, challenge=b"C" * 16, response=value
        ),
        NAS,
    )
    assert dict(ms)["MS-CHAP2-Response"] == b"\x09\x00" + value[:48]
    _encode(ms)
    with pytest.raises(ValueError, match="49"):
        access_request(ExternalCheckNeeded(1, AuthMethod.MSCHAP_V2, "f", response=b"x"), NAS)
    with pytest.raises(ValueError, match="cannot"):
        access_request(ExternalCheckNeeded(1, AuthMethod.MSCHAP, "f"), NAS)


def test_accept_policy_from_a_decoded_reply() -> None:
    request = AuthPacket(code=AccessRequest, secret=b"s3cret", dict=Dictionary(str(DICTIONARY)))
    request.RequestPacket()
    reply = request.CreateReply()
    reply.code = AccessAccept
    for name, value in (
        ("Framed-IP-Address", "10.99.16.77"),
        ("Framed-MTU", 1400),
        ("Session-Timeout", 3600),
        ("Idle-Timeout", 300),
        ("Acct-Interim-Interval", 60),
        ("Class", b"cls"),
        ("MS-CHAP2-Success", b"\x05S=" + b"A" * 40),
    ):
        reply.AddAttribute(name, value)
    raw = reply.ReplyPacket()
    decoded_packet = request.CreateReply(packet=raw)
    assert request.VerifyReply(decoded_packet, raw)
    decoded = {key: list(decoded_packet[key]) for key in decoded_packet.keys()}  # noqa: SIM118
    grant = interpret_accept(decoded)
    assert grant.framed_ip == IPv4Address("10.99.16.77")
    assert (grant.framed_mtu, grant.session_timeout, grant.idle_timeout) == (1400, 3600, 300)
    assert (grant.interim_interval, grant.class_) == (60, b"cls")
    assert grant.mschap2_success == b"S=" + b"A" * 40
    verdict = grant.verdict()
    assert verdict == ExternalVerdict(True, ("10.99.16.77",), b"S=" + b"A" * 40)


@pytest.mark.parametrize("special", ["255.255.255.254", "255.255.255.255", "junk"])
def test_accept_without_a_usable_address_leaves_it_to_us(special: str) -> None:
    grant = interpret_accept({"Framed-IP-Address": [special], "Framed-MTU": [10]})
    assert grant.framed_ip is None
    assert grant.framed_mtu is None  # below 64: ignored
    assert grant.verdict().addresses == ("*",)


def test_accounting_records() -> None:
    start = accounting_request(
        "Start", session_id="s1", user="arthur", nas=NAS, framed_ip=IPv4Address("10.99.16.77")
    )
    assert ("Acct-Status-Type", "Start") in start
    assert not any(name == "Acct-Input-Octets" for name, _ in start)
    stop = dict(
        accounting_request(
            "Stop",
            session_id="s1",
            user="arthur",
            nas=NAS,
            framed_ip=None,
            session_time=61,
            octets_in=(5 << 32) + 7,
            octets_out=9,
            cause=terminate_cause(16),
        )
    )
    assert (stop["Acct-Input-Octets"], stop["Acct-Input-Gigawords"]) == (7, 5)
    assert stop["Acct-Terminate-Cause"] == "Lost-Carrier"
    assert stop["Acct-Session-Time"] == 61
    _encode(list(stop.items()), AcctPacket, AccountingRequest)
    assert terminate_cause(None) == terminate_cause(2) == "NAS-Error"
    assert terminate_cause(5) == "User-Request"


# -- the engines leave the verdict to the server --------------------------------------------


def _events(engine: object) -> list[object]:
    out = []
    while (event := engine.next_event()) is not None:  # type: ignore[attr-defined]
        out.append(event)
    return out


@pytest.mark.parametrize("ok", [True, False])
def test_pap_authenticator_asks_outside(ok: bool) -> None:
    pap = PapAuthenticator("server", None)
    pap.external = True
    pap.start(0.0)
    pap.receive(encode_auth_request(4, b"arthur", b"dentPW42"), 0.1)
    (check,) = _events(pap)
    assert isinstance(check, ExternalCheckNeeded)
    assert (check.method, check.user, check.password) == (AuthMethod.PAP, "arthur", "dentPW42")
    assert "dentPW42" not in repr(check)
    assert pap.packets_to_send() == []
    pap.external_result(check.request_id + 1, ExternalVerdict(True), 0.2)  # stale: nothing
    assert pap.packets_to_send() == []
    pap.login_result(check.request_id, True, 0.2)  # not the system's question: nothing
    assert pap.packets_to_send() == []
    pap.external_result(check.request_id, ExternalVerdict(ok, ("10.99.16.77",)), 0.3)
    pap.handle_timer(10.0)  # (a refusal's delayed Nak)
    (answer,) = pap.packets_to_send()
    assert answer.code == (AUTH_ACK if ok else AUTH_NAK)
    events = _events(pap)
    if ok:
        (success,) = events
        assert isinstance(success, AuthSuccess)
        assert success.addresses is not None
        assert success.addresses.suggested == IPv4Address("10.99.16.77")


def test_chap_authenticator_asks_outside_and_sends_the_servers_answer() -> None:
    chap = ChapAuthenticator("server", None, rng=lambda n: bytes(range(n)), interval=0)
    chap.external = True
    chap.start(0.0)
    (challenge,) = chap.packets_to_send()
    assert challenge.code == CHALLENGE
    value = chap._challenge_value
    response = hashlib.md5(bytes([challenge.identifier]) + b"pw" + value).digest()
    packet = encode_value_name(RESPONSE, challenge.identifier, response, b"ford")
    chap.receive(packet, 0.1)
    chap.receive(packet, 0.2)  # a retransmission while the server thinks: no second question
    (check,) = _events(chap)
    assert isinstance(check, ExternalCheckNeeded)
    assert (check.identifier, check.challenge, check.response) == (
        challenge.identifier,
        value,
        response,
    )
    assert chap.packets_to_send() == []
    chap.external_result(check.request_id, ExternalVerdict(True), 0.3)
    (success,) = chap.packets_to_send()
    assert success.code == SUCCESS
    assert isinstance(_events(chap)[0], AuthSuccess)
    chap2 = ChapAuthenticator("server", None, rng=lambda n: bytes(n))
    chap2.external = True
    chap2.start(0.0)
    (challenge,) = chap2.packets_to_send()
    chap2.receive(encode_value_name(RESPONSE, challenge.identifier, b"x" * 16, b"ford"), 0.1)
    (check,) = _events(chap2)
    assert isinstance(check, ExternalCheckNeeded)
    chap2.external_result(check.request_id, ExternalVerdict(False), 0.2)
    (failure,) = chap2.packets_to_send()
    assert failure.code == FAILURE


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ("plugin rp-pppoe.so", "cannot load pppd's C plugins"),
        ("avpair Class=x", "need plugin radius.so"),
        ("radius-config-file /x", "need plugin radius.so"),
    ],
)
def test_plugin_words_checked(words: str, message: str) -> None:
    from pyppp.pppd.options import check_options, options_from_words
    from pyppp.pppd.words import parse_words

    with pytest.raises(ConfigError, match=message):
        check_options(options_from_words(parse_words(words, "cmd")))


def test_radius_plugin_words_accepted() -> None:
    from pyppp.pppd.options import check_options, options_from_words
    from pyppp.pppd.words import parse_words

    options = options_from_words(
        parse_words(
            "plugin /usr/lib/pppd/2.4.9/radius.so avpair A=1 avpair B=2 map-to-ttyname", "c"
        )
    )
    check_options(options)
    assert (options.plugin, options.avpair, options.map_to_ttyname) == (
        "/usr/lib/pppd/2.4.9/radius.so",
        ("A=1", "B=2"),
        True,
    )
