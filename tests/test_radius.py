"""RADIUS without a server: radiusclient.conf, pppd's attributes, the Accept policy, the engines.

The codec is pyrad's: these tests also encode each request with it (and decode a reply built
with it) so that a name our dictionary lacks, or a value of the wrong type, fails here.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv4Address

import pyrad.packet
import pytest
from pyrad.dictionary import Dictionary
from pyrad.packet import AccessAccept, AccessRequest, AccountingRequest, AcctPacket, AuthPacket

from pyppp.aio.radius import DICTIONARY, decode_reply, unhide
from pyppp.auth.base import (
    AuthEngine,
    AuthenticatorEngine,
    AuthSuccess,
    ExternalCheckNeeded,
    ExternalVerdict,
    MppeKeys,
)
from pyppp.auth.chap import (
    CHALLENGE,
    FAILURE,
    RESPONSE,
    SUCCESS,
    ChapAuthenticator,
    encode_value_name,
)
from pyppp.auth.mschap import (
    authenticator_response,
    hash_nt_password_hash,
    mppe_keys_v1,
    mppe_keys_v2,
    nt_password_hash,
)
from pyppp.auth.pap import AUTH_ACK, AUTH_NAK, PapAuthenticator, encode_auth_request
from pyppp.ccp.mppe import MppeConfig, MppePolicy
from pyppp.ccp.negotiator import CcpConfig
from pyppp.errors import ConfigError
from pyppp.events import AuthMethod, ExternalCheckRequested, IpReceived, NetworkUp, Role
from pyppp.lcp.options import ChapAlgorithm
from pyppp.link import Link
from pyppp.linkconfig import AuthFactory
from pyppp.mppe import MppeFlags, MppeOption
from pyppp.pppd.radius import (
    AccessAcceptError,
    NasInfo,
    RadiusGrant,
    access_request,
    accounting_request,
    interpret_accept,
    parse_avpair,
    parse_radiusclient_conf,
    parse_servers_file,
    terminate_cause,
)
from pyppp.simple import simple_config
from pyppp.util import seeded_rng
from tests.linkpair import LinkPair

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


def test_chap_and_ms_chap_request_attributes() -> None:
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
    # MS-CHAP (v1), RFC 2548 §2.1.3: Ident, Flags (Use-NT), LM-Response, NT-Response.
    value = bytes(range(24)) + bytes(range(100, 124)) + b"\x01"
    v1 = access_request(
        ExternalCheckNeeded(
            1, AuthMethod.MSCHAP, "ford", identifier=3, challenge=b"c" * 8, response=value
        ),
        NAS,
    )
    assert dict(v1)["MS-CHAP-Challenge"] == b"c" * 8
    assert dict(v1)["MS-CHAP-Response"] == b"\x03\x01" + value[:48]
    _encode(v1)
    with pytest.raises(ValueError, match="49"):
        access_request(ExternalCheckNeeded(1, AuthMethod.MSCHAP, "f", response=b"x"), NAS)


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


# -- MPPE keys from the Access-Accept (RFC 2548 §2.4.2-2.4.5, pppd radius_setmppekeys2) ------

SEND_KEY = bytes(range(0x10, 0x20))
RECV_KEY = bytes(range(0xA0, 0xB0))


@pytest.fixture
def salt_rng(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyrad draws its salts from a system generator: a seeded one makes the vectors fixed."""
    monkeypatch.setattr(pyrad.packet, "random_generator", random.Random(2548))


def _request(secret: bytes = b"s3cret", authenticator: bytes = b"R" * 16) -> AuthPacket:
    request = AuthPacket(
        code=AccessRequest,
        secret=secret,
        dict=Dictionary(str(DICTIONARY)),
        id=7,
        authenticator=authenticator,
    )
    request.AddAttribute("User-Name", "ford")
    request.RequestPacket()
    return request


def _accept(request: AuthPacket, attributes: list[tuple[str, object]]) -> bytes:
    """An Access-Accept as a server builds it: pyrad salt-encrypts the keys (encrypt=2)."""
    reply = request.CreateReply()
    reply.code = AccessAccept
    for name, value in attributes:
        if isinstance(value, tuple):  # a raw value (a hostile server's)
            (raw,) = value
            reply[_wire_key(reply, name)] = [raw]
        else:
            reply.AddAttribute(name, value)
    return bytes(reply.ReplyPacket())


def _wire_key(packet: AuthPacket, name: str) -> tuple[int, int]:
    attribute = packet.dict.attributes[name]
    return (packet.dict.vendors.GetForward(attribute.vendor), attribute.code)


def _received(request: AuthPacket, raw: bytes, *, secret: bytes | None = None) -> AuthPacket:
    """The client's side: decode, verify, and remember the request's authenticator."""
    reply = request.CreateReply(packet=raw)
    assert request.VerifyReply(reply, raw)
    reply.request_authenticator = request.authenticator
    if secret is not None:
        reply.secret = secret
    return reply


def _grant(reply: AuthPacket) -> RadiusGrant:
    decoded, decrypt, hidden = decode_reply(reply)
    return interpret_accept(decoded, salt_decrypt=decrypt, unhide=hidden)


def _keys(policy: int = 1, types: int | None = 6) -> list[tuple[str, object]]:
    attributes: list[tuple[str, object]] = [
        ("MS-MPPE-Send-Key", SEND_KEY),
        ("MS-MPPE-Recv-Key", RECV_KEY),
        ("MS-MPPE-Encryption-Policy", policy),
    ]
    if types is not None:
        attributes.append(("MS-MPPE-Encryption-Types", types))
    return attributes


def _rfc2548_decrypt(secret: bytes, authenticator: bytes, value: bytes) -> bytes:
    """An independent oracle for RFC 2548 §2.4.2: b(1) = MD5(S + R + A), b(i) = MD5(S + c(i-1))."""
    salt, cipher = value[:2], value[2:]
    plain, last = b"", authenticator + salt
    for offset in range(0, len(cipher), 16):
        block = cipher[offset : offset + 16]
        mask = hashlib.md5(secret + last).digest()
        plain += bytes(a ^ b for a, b in zip(block, mask, strict=True))
        last = block
    return plain[1 : 1 + plain[0]]


@pytest.mark.usefixtures("salt_rng")
def test_mppe_keys_from_the_accept_are_the_nas_send_and_receive_keys() -> None:
    request = _request()
    raw = _accept(request, [("MS-CHAP2-Success", b"\x05S=" + b"A" * 40), *_keys()])
    reply = _received(request, raw)
    for name, key in (("MS-MPPE-Send-Key", SEND_KEY), ("MS-MPPE-Recv-Key", RECV_KEY)):
        (wire,) = reply[_wire_key(reply, name)]
        assert len(wire) == 34  # the salt, then 32 octets
        assert wire[0] & 0x80  # the salt's high bit
        assert _rfc2548_decrypt(b"s3cret", b"R" * 16, wire) == key  # the 2nd block too
    grant = _grant(reply)
    assert grant.mppe_keys == MppeKeys(SEND_KEY, RECV_KEY)
    assert "MppeKeys" not in repr(grant)  # no key material in a log line
    assert grant.verdict().mppe_keys == MppeKeys(SEND_KEY, RECV_KEY)


@pytest.mark.usefixtures("salt_rng")
@pytest.mark.parametrize(
    ("policy", "types", "allow_40", "allow_128"),
    [
        (1, 6, True, True),
        (2, 6, True, True),
        (2, 4, False, True),  # 128-bit only
        (1, 2, True, False),  # 40-bit only
        (2, None, True, True),
        (2, 0, True, True),
        (3, 2, True, True),  # an unknown policy: pppd's mppe_set_enc_types leaves the types
        (2, 8, True, True),  # not one pppd knows: nothing taken away
    ],
)
def test_encryption_policy_and_types_as_pppd_reads_them(
    policy: int, types: int | None, allow_40: bool, allow_128: bool
) -> None:
    request = _request()
    grant = _grant(_received(request, _accept(request, _keys(policy, types))))
    assert grant.mppe_keys == MppeKeys(SEND_KEY, RECV_KEY, allow_40, allow_128)


@pytest.mark.usefixtures("salt_rng")
def test_keys_without_a_policy_or_with_policy_0_are_not_used(
    caplog: pytest.LogCaptureFixture,
) -> None:
    request = _request()
    assert _grant(_received(request, _accept(request, _keys()[:2]))).mppe_keys is None
    assert _grant(_received(request, _accept(request, _keys(0)))).mppe_keys is None
    with caplog.at_level(logging.WARNING, logger="pyppp.radius"):
        alone = [_keys()[0], _keys()[2]]
        assert _grant(_received(request, _accept(request, alone))).mppe_keys is None
    assert "MS-MPPE-Send-Key came alone" in caplog.text
    assert _grant(_received(request, _accept(request, []))).mppe_keys is None


def _salted(key: bytes, *, salt_bit: bool = True, pad: int = 0) -> bytes:
    request = _request()
    packet = request.CreateReply()
    value = bytes(packet.SaltCrypt(key)) + bytes(pad)
    return value if salt_bit else bytes([value[0] & 0x7F]) + value[1:]


@pytest.mark.usefixtures("salt_rng")
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: _salted(SEND_KEY[:15]), "Incorrect attribute length (18)"),
        (lambda: _salted(SEND_KEY + b"\x01"), "Incorrect key length (17)"),
        (lambda: _salted(SEND_KEY * 2), "Incorrect attribute length (50)"),
        (lambda: _salted(SEND_KEY, salt_bit=False), "Illegal salt value"),
        (lambda: _salted(SEND_KEY)[:18], "Incorrect attribute length (18)"),
        (lambda: _salted(SEND_KEY)[:33], "Incorrect attribute length (33)"),
        (lambda: _salted(SEND_KEY, pad=16), "Incorrect attribute length (50)"),
        (lambda: b"", "Incorrect attribute length (0)"),
    ],
)
def test_a_hostile_key_refuses_the_call(
    make: Callable[[], bytes], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    request = _request()
    raw = _accept(request, [("MS-MPPE-Send-Key", (make(),)), *_keys()[1:]])
    with (
        caplog.at_level(logging.DEBUG, logger="pyppp.radius"),
        pytest.raises(AccessAcceptError, match=r"^RADIUS: bad MS-MPPE-Send-Key attribute$"),
    ):
        _grant(_received(request, raw))
    assert reason in caplog.text


@pytest.mark.usefixtures("salt_rng")
@pytest.mark.parametrize("which", ["authenticator", "secret"])
def test_keys_hidden_with_another_request_or_secret_do_not_decrypt(which: str) -> None:
    request = _request()
    raw = _accept(request, _keys())
    reply = _received(request, raw, secret=b"other" if which == "secret" else None)
    if which == "authenticator":
        reply.request_authenticator = b"X" * 16  # the reply's own, or another request's
    with pytest.raises(AccessAcceptError, match="bad MS-MPPE-"):
        _grant(reply)


def test_keys_without_a_decryption_are_refused() -> None:
    with pytest.raises(AccessAcceptError, match="bad MS-MPPE-Recv-Key"):
        interpret_accept({"MS-MPPE-Recv-Key": [b"\x80" + bytes(33)]})


def test_an_attribute_pyrad_cannot_decode_refuses_the_call() -> None:
    request = _request()
    reply = request.CreateReply()
    reply.code = AccessAccept
    reply[12] = [b"\x00\x05\xdc"]  # Framed-MTU in 3 octets
    raw = bytes(reply.ReplyPacket())
    with pytest.raises(AccessAcceptError, match=r"^RADIUS: bad Framed-MTU attribute$"):
        decode_reply(_received(request, raw))


def test_unhide_undoes_pyrads_user_password_hiding() -> None:
    request = _request()
    for plain in (b"dentPW42", bytes(range(24)), bytes(range(200, 248))):
        hidden = request.PwCrypt(plain)
        clear = unhide(hidden, secret=b"s3cret", authenticator=request.authenticator)
        assert clear == plain + bytes(-len(plain) % 16)  # RFC 2865 §5.2 pads with zeros
    assert request.PwDecrypt(request.PwCrypt(b"dentPW42")) == "dentPW42"
    for bad in (b"", bytes(17)):
        with pytest.raises(ValueError, match="16-octet"):
            unhide(bad, secret=b"s", authenticator=bytes(16))


def _v1_accept(request: AuthPacket, hidden: bytes, policy: int = 1) -> AuthPacket:
    raw = _accept(
        request, [("MS-CHAP-MPPE-Keys", (hidden,)), ("MS-MPPE-Encryption-Policy", policy)]
    )
    return _received(request, raw)


def test_ms_chap_mppe_keys_make_the_v1_start_key_as_pppd_does() -> None:
    request = _request()
    hashed = hash_nt_password_hash(nt_password_hash(b"MyPw"))
    challenge = bytes.fromhex("102DB5DF085D3041")  # RFC 2433 Appendix B
    reply = _v1_accept(request, request.PwCrypt(b"L" * 8 + hashed))
    decoded, decrypt, hidden = decode_reply(reply)
    grant = interpret_accept(
        decoded, salt_decrypt=decrypt, unhide=hidden, mschap_challenge=challenge
    )
    assert grant.mppe_keys == mppe_keys_v1(b"MyPw", challenge)
    # Not an MS-CHAP (v1) caller: the attribute fits nothing, and is left alone.
    assert interpret_accept(decoded, salt_decrypt=decrypt, unhide=hidden).mppe_keys is None
    policy_0 = _v1_accept(request, request.PwCrypt(b"L" * 8 + hashed), policy=0)
    decoded, decrypt, hidden = decode_reply(policy_0)
    grant = interpret_accept(decoded, unhide=hidden, mschap_challenge=challenge)
    assert grant.mppe_keys is None


@pytest.mark.parametrize("size", [0, 16, 31, 48])
def test_ms_chap_mppe_keys_of_the_wrong_size_refuse_the_call(
    size: int, caplog: pytest.LogCaptureFixture
) -> None:
    request = _request()
    decoded, _, hidden = decode_reply(_v1_accept(request, bytes(range(size))))
    with (
        caplog.at_level(logging.DEBUG, logger="pyppp.radius"),
        pytest.raises(AccessAcceptError, match=r"^RADIUS: bad MS-CHAP-MPPE-Keys attribute$"),
    ):
        interpret_accept(decoded, unhide=hidden, mschap_challenge=bytes(8))
    assert f"Incorrect attribute length ({size}) for MS-CHAP-MPPE-Keys" in caplog.text


# -- the server's keys reach MPPE: two links, the NAS's engine asking "RADIUS" -------------


class _Radius:
    """The NAS's engines as ``plugin radius.so`` makes them: every verdict asked outside."""

    def __init__(self, inner: AuthFactory) -> None:
        self.inner = inner

    def authenticator(self, protocol: int, *, algorithm: int = ChapAlgorithm.MD5) -> AuthEngine:
        engine = self.inner.authenticator(protocol, algorithm=algorithm)
        assert isinstance(engine, AuthenticatorEngine)
        engine.external = True
        return engine

    def peer(self, protocol: int, *, algorithm: int = ChapAlgorithm.MD5) -> AuthEngine | None:
        return self.inner.peer(protocol, algorithm=algorithm)


def _freeradius_answer(
    check: ExternalCheckNeeded, password: bytes, types: int
) -> tuple[bytes, AuthPacket]:
    """What FreeRADIUS's mschap module answers a good MS-CHAP Response, built with pyrad."""
    request = AuthPacket(
        code=AccessRequest, secret=b"s3cret", dict=Dictionary(str(DICTIONARY)), id=9
    )
    for name, value in access_request(check, NAS):
        request.AddAttribute(name, value)
    request.RequestPacket()
    attributes: list[tuple[str, object]] = [
        ("MS-MPPE-Encryption-Policy", 2),
        ("MS-MPPE-Encryption-Types", types),
    ]
    if check.method is AuthMethod.MSCHAP:
        # RFC 2548 §2.4.1, hidden as User-Password is (pyrad's PwCrypt on the request's
        # authenticator): the LM key (none here), the NT password hash's hash.
        hashed = hash_nt_password_hash(nt_password_hash(password))
        attributes.append(("MS-CHAP-MPPE-Keys", (request.PwCrypt(bytes(8) + hashed),)))
    else:
        peer_challenge, nt_response = check.response[:16], check.response[24:48]
        user = check.user.encode()
        success = authenticator_response(
            password, nt_response, peer_challenge, check.challenge, user
        )
        keys = mppe_keys_v2(password, nt_response, is_server=True)
        attributes += [
            ("MS-CHAP2-Success", bytes([check.identifier]) + success),
            ("MS-MPPE-Send-Key", keys.send_key),
            ("MS-MPPE-Recv-Key", keys.recv_key),
        ]
    return _accept(request, attributes), request


def _both_up(linked: LinkPair) -> bool:
    return bool(linked.of_type("a", NetworkUp) and linked.of_type("b", NetworkUp))


@pytest.mark.parametrize(
    ("algorithm", "types", "strength"),
    [
        (ChapAlgorithm.MS_V2, 6, "MPPE 128-bit stateless"),
        (ChapAlgorithm.MS_V2, 2, "MPPE 40-bit stateless"),
        (ChapAlgorithm.MS, 6, "MPPE 128-bit stateless"),  # v1: pppd drops 40-bit itself
    ],
)
def test_the_servers_keys_run_mppe_with_a_caller_the_nas_has_no_secret_for(
    algorithm: int, types: int, strength: str
) -> None:
    mppe = CcpConfig(deflate=None, mppe=MppeConfig())
    server_config = simple_config(
        local="10.99.7.1",
        remote="10.99.7.2",
        require_chap={"someone-else": "x"},  # ford is RADIUS's alone
        chap_algorithms=(algorithm,),
        rng=seeded_rng(11),
    )
    assert server_config.auth is not None
    server_config = replace(server_config, ccp=mppe, auth=_Radius(server_config.auth))
    client_config = simple_config(
        user="ford",
        password="prefectPW42",
        chap_algorithms=(algorithm,),
        rng=seeded_rng(13),
    )
    server = Link(server_config, rng=seeded_rng(12), logger=logging.getLogger("t.server"))
    client = Link(replace(client_config, ccp=mppe), rng=seeded_rng(14))
    linked = LinkPair(server, client)
    server.open(0.0)
    client.open(0.0)
    linked.run(20, stop=lambda p: bool(p.of_type("a", ExternalCheckRequested)))
    (asked,) = linked.of_type("a", ExternalCheckRequested)
    v1 = algorithm == ChapAlgorithm.MS
    assert asked.request.method is (AuthMethod.MSCHAP if v1 else AuthMethod.MSCHAP_V2)
    raw, request = _freeradius_answer(asked.request, b"prefectPW42", types)
    reply = _received(request, raw)
    decoded, decrypt, hidden = decode_reply(reply)
    challenge = asked.request.challenge if v1 else None
    grant = interpret_accept(
        decoded, salt_decrypt=decrypt, unhide=hidden, mschap_challenge=challenge
    )
    assert grant.mppe_keys is not None
    if v1:
        assert grant.mppe_keys == mppe_keys_v1(b"prefectPW42", asked.request.challenge)
    verdict = grant.verdict()
    server.external_result(asked.request.request_id, verdict, linked.now)
    linked.run(linked.now + 20, stop=_both_up)
    assert _both_up(linked), linked.events
    assert server.compression_stats is not None
    assert server.compression_stats.transmit == server.compression_stats.receive == strength
    datagrams = [bytes([0x45]) + bytes(19) + bytes([n]) * (20 + n) for n in range(20)]
    for datagram in datagrams:
        server.send_ip(datagram, linked.now)
        client.send_ip(datagram, linked.now)
    linked.run(linked.now + 5)
    assert [e.packet for e in linked.of_type("b", IpReceived)] == datagrams
    assert [e.packet for e in linked.of_type("a", IpReceived)] == datagrams


@pytest.mark.parametrize(
    ("config", "keys", "outcome"),
    [
        (MppeConfig(bits_40=False), MppeKeys(SEND_KEY, RECV_KEY, allow_128=False), None),
        (MppeConfig(), MppeKeys(SEND_KEY, RECV_KEY, allow_128=False), MppeFlags.BITS_40),
        (MppeConfig(), MppeKeys(SEND_KEY, RECV_KEY, allow_40=False), MppeFlags.BITS_128),
        (MppeConfig(), MppeKeys(SEND_KEY, RECV_KEY), MppeFlags.BITS_40 | MppeFlags.BITS_128),
    ],
)
def test_encryption_types_only_take_strengths_away(
    config: MppeConfig,
    keys: MppeKeys,
    outcome: MppeFlags | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    policy = MppePolicy(config, logging.getLogger("t.mppe"))
    policy.authenticated(Role.AUTHENTICATOR, AuthMethod.MSCHAP_V2, keys)
    with caplog.at_level(logging.DEBUG, logger="t.mppe"):
        reason = policy.check()
    if outcome is None:
        assert reason == "MPPE required but not available"
        assert "MPPE required, but both 40-bit and 128-bit disabled." in caplog.text
        return
    assert reason is None
    (option,) = policy.request()
    assert isinstance(option, MppeOption)
    assert option.flags & (MppeFlags.BITS_40 | MppeFlags.BITS_128) == outcome
