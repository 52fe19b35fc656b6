"""RADIUS: a server's reply as it arrives from the network, and radiusclient.conf.

The reply target decodes arbitrary bytes as the answer to a real Access-Request (pyrad's
codec, as pyppp.aio.radius uses it) and, when they verify, reads them with pyppp's Accept
policy. Oracles: the only exceptions are pyrad's refusals (caught by the client); a reply
that does not carry the request's Identifier never verifies; whatever the policy reads is
within its types (an address, positive counts, MTU at least 64). A seed is a valid Accept
with every attribute pyppp honours, so mutations reach the policy. The configuration target
parses arbitrary text and checks that a parse either raises ConfigError or names servers
that all have secrets.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from pyrad.dictionary import Dictionary
from pyrad.packet import AccessAccept, AccessRequest, AuthPacket

from pyppp.aio.radius import DICTIONARY
from pyppp.errors import ConfigError
from pyppp.pppd.radius import interpret_accept, parse_radiusclient_conf
from tests.fuzz.harness import FuzzTarget

_DICT = Dictionary(str(DICTIONARY))


def _request() -> AuthPacket:
    packet = AuthPacket(
        code=AccessRequest, secret=b"s3cret", dict=_DICT, id=42, authenticator=b"A" * 16
    )
    packet.AddAttribute("User-Name", "arthur")
    packet.RequestPacket()
    return packet


def _accept() -> bytes:
    reply = _request().CreateReply()
    reply.code = AccessAccept
    for name, value in (
        ("Framed-IP-Address", "10.99.16.77"),
        ("Framed-MTU", 1400),
        ("Session-Timeout", 60),
        ("Idle-Timeout", 30),
        ("Acct-Interim-Interval", 10),
        ("Class", b"c"),
        ("MS-CHAP2-Success", b"\x01S=" + b"0" * 40),
    ):
        reply.AddAttribute(name, value)
    return bytes(reply.ReplyPacket())


def _reply(data: bytes) -> None:
    request = _request()
    try:
        reply = request.CreateReply(packet=data)
        valid = request.VerifyReply(reply, data)
    except Exception:  # pyrad's refusal of garbage: the client drops it (tested there)
        return
    if len(data) >= 2 and data[1] != 42:
        assert not valid
    if not valid:
        return
    try:
        decoded = {str(key): list(reply[key]) for key in reply.keys()}  # noqa: SIM118
    except Exception:
        return  # an attribute pyrad cannot decode: the client refuses the reply
    grant = interpret_accept(decoded)
    assert grant.framed_ip is None or isinstance(grant.framed_ip, IPv4Address)
    assert grant.framed_mtu is None or grant.framed_mtu >= 64
    for value in (grant.session_timeout, grant.idle_timeout, grant.interim_interval):
        assert value is None or value > 0
    grant.verdict()


def _conf(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    try:
        conf = parse_radiusclient_conf(text, "rc", read_file=lambda _p: "h1 s1\nh2 s2\n")
    except ConfigError:
        return
    assert conf.auth_servers
    assert all(server.secret for server in conf.auth_servers + conf.acct_servers)
    assert conf.timeout > 0
    assert conf.retries >= 1


TARGETS = [
    FuzzTarget("radius.reply", _reply, seeds=[_accept(), b"\x02\x2a\x00\x14" + b"\x00" * 16]),
    FuzzTarget(
        "radius.config",
        _conf,
        seeds=[
            b"authserver h1,h2:1645\nacctserver h1:1813:x\nservers /s\nradius_timeout 2\n",
            b"authserver h9\n",
        ],
        max_len=1024,
    ),
]
