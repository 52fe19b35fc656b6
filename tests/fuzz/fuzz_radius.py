"""RADIUS: a server's reply as it arrives from the network, and radiusclient.conf.

The reply target decodes arbitrary bytes as the answer to a real Access-Request (pyrad's
codec, as pyppp.aio.radius uses it) and, when they verify, reads them with pyppp's Accept
policy. Oracles: the only exceptions are pyrad's refusals (caught by the client) and
AccessAcceptError (the client refuses the call); a reply that does not carry the request's
Identifier never verifies; whatever the policy reads is within its types (an address,
positive counts, MTU at least 64, MPPE keys of 16 octets). A seed is a valid Accept with every
attribute pyppp honours, MS-MPPE keys included, so mutations reach the policy. A mutated
reply seldom verifies (its Response Authenticator covers every octet), so the attributes
target takes arbitrary bytes as the attributes of an Accept, unverified, and reads them the
same way, as for an MS-CHAPv2 and an MS-CHAP (v1) caller: MS-MPPE-Send/Recv-Key of every
length and salt reach the checks and pyrad's salt decryption, MS-CHAP-MPPE-Keys (a v1 seed)
its checks and the unhiding. The configuration target parses arbitrary text and checks that
a parse either raises ConfigError or names servers that all have secrets.
"""

from __future__ import annotations

import random
import struct
from ipaddress import IPv4Address
from typing import Any

import pyrad.packet
from pyrad.dictionary import Dictionary
from pyrad.packet import AccessAccept, AccessRequest, AuthPacket

from pyppp.aio.radius import DICTIONARY, decode_reply
from pyppp.errors import ConfigError
from pyppp.pppd.radius import (
    MPPE_KEY_SIZE,
    AccessAcceptError,
    RadiusGrant,
    interpret_accept,
    parse_radiusclient_conf,
)
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
    salts = pyrad.packet.random_generator
    pyrad.packet.random_generator = random.Random(2548)  # fixed seeds: fixed salts
    try:
        for name, value in (
            ("Framed-IP-Address", "10.99.16.77"),
            ("Framed-MTU", 1400),
            ("Session-Timeout", 60),
            ("Idle-Timeout", 30),
            ("Acct-Interim-Interval", 10),
            ("Class", b"c"),
            ("MS-CHAP2-Success", b"\x01S=" + b"0" * 40),
            ("MS-MPPE-Send-Key", bytes(range(16))),
            ("MS-MPPE-Recv-Key", bytes(range(16, 32))),
            ("MS-MPPE-Encryption-Policy", 2),
            ("MS-MPPE-Encryption-Types", 6),
        ):
            reply.AddAttribute(name, value)
    finally:
        pyrad.packet.random_generator = salts
    return bytes(reply.ReplyPacket())


def _accept_v1() -> bytes:
    """An Accept for an MS-CHAP (v1) caller: MS-CHAP-MPPE-Keys, hidden as FreeRADIUS does."""
    request = _request()
    reply = request.CreateReply()
    reply.code = AccessAccept
    reply[(311, 12)] = [request.PwCrypt(bytes(8) + bytes(range(16)))]
    reply.AddAttribute("MS-MPPE-Encryption-Policy", 1)
    reply.AddAttribute("MS-MPPE-Encryption-Types", 4)
    return bytes(reply.ReplyPacket())


def _read(request: AuthPacket, reply: Any) -> None:
    """What the client does with a reply it accepted, as for MS-CHAPv2 and MS-CHAP (v1)."""
    reply.request_authenticator = request.authenticator
    for challenge in (None, b"\x10" * 8):
        try:
            decoded, decrypt, hidden = decode_reply(reply)
            grant = interpret_accept(
                decoded, salt_decrypt=decrypt, unhide=hidden, mschap_challenge=challenge
            )
        except AccessAcceptError:
            continue  # the client refuses the call, with this line
        _check(grant)


def _check(grant: RadiusGrant) -> None:
    assert grant.framed_ip is None or isinstance(grant.framed_ip, IPv4Address)
    assert grant.framed_mtu is None or grant.framed_mtu >= 64
    for value in (grant.session_timeout, grant.idle_timeout, grant.interim_interval):
        assert value is None or value > 0
    keys = grant.mppe_keys
    if keys is not None:
        assert len(keys.send_key) == len(keys.recv_key) == MPPE_KEY_SIZE
        assert keys.allow_40 or keys.allow_128
    assert grant.verdict().mppe_keys == keys


def _reply(data: bytes) -> None:
    request = _request()
    try:
        reply = request.CreateReply(packet=data)
        valid = request.VerifyReply(reply, data)
    except Exception:  # pyrad's refusal of garbage: the client drops it (tested there)
        return
    if len(data) >= 2 and data[1] != 42:
        assert not valid
    if valid:
        _read(request, reply)


_HEADER = struct.Struct("!BBH16s")


def _attributes(data: bytes) -> None:
    request = _request()
    packet = _HEADER.pack(AccessAccept, 42, _HEADER.size + len(data), b"\0" * 16) + data
    try:
        reply = request.CreateReply(packet=packet)
    except Exception:  # pyrad's refusal of garbage (tested by the reply target's client)
        return
    _read(request, reply)


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
    FuzzTarget(
        "radius.reply", _reply, seeds=[_accept(), _accept_v1(), b"\x02\x2a\x00\x14" + b"\x00" * 16]
    ),
    FuzzTarget(
        "radius.attributes",
        _attributes,
        seeds=[_accept()[_HEADER.size :], _accept_v1()[_HEADER.size :], b""],
    ),
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
