"""MS-CHAP (RFC 2433) and MS-CHAPv2 (RFC 2759): the RFC vectors, both engines, pppd's lines."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyppp.auth.base import AuthFailure, AuthSuccess, Role, trace_body
from pyppp.auth.chap import (
    CHALLENGE,
    FAILURE,
    RESPONSE,
    SUCCESS,
    ChapAuthenticator,
    ChapPeer,
    decode_value_name,
    encode_value_name,
)
from pyppp.auth.mschap import (
    _des_key,
    authenticator_response,
    challenge_hash,
    failure_text,
    generate_nt_response,
    hash_nt_password_hash,
    master_key,
    mppe_keys_v1,
    mppe_keys_v2,
    nt_challenge_response,
    nt_password_hash,
    send_start_key,
)
from pyppp.errors import ConfigError, LocalProtocolError
from pyppp.events import AuthFailed, AuthMethod, AuthSucceeded, LinkTerminated, NetworkUp
from pyppp.lcp.negotiator import LcpConfig, LcpNegotiator
from pyppp.lcp.options import AuthProtocol, ChapAlgorithm
from pyppp.link import Link
from pyppp.options import Option, Review
from pyppp.packet import Code, ControlPacket, PPPProtocol
from pyppp.pppd.secrets import SecretsFile
from pyppp.simple import simple_config
from pyppp.util import seeded_rng
from tests.authpair import assert_never_logged, authenticator_failed, drain, peer_failed, pump
from tests.linkpair import LinkPair

V1, V2 = ChapAlgorithm.MS, ChapAlgorithm.MS_V2
SECRETS = SecretsFile.parse("zaphod server gargleBlaster 10.0.0.2\nUser server clientPass *\n")


@pytest.fixture(autouse=True)
def _no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield from assert_never_logged(caplog, ("gargleBlaster", "clientPass", "hunter2"))


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# --- RFC 2759 §9.2 / §9.3, RFC 2433 App. B, RFC 3079 §3.5.3 ----------------------------------

AUTH_CHALLENGE = h("5B5D7C7D7B3F2F3E3C2C602132262628")
PEER_CHALLENGE = h("21402324255E262A28295F2B3A337C7E")
NT_RESPONSE = h("82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF")


def test_rfc2759_section_9_2() -> None:
    assert challenge_hash(PEER_CHALLENGE, AUTH_CHALLENGE, b"User") == h("D02E4386BCE91226")
    assert nt_password_hash(b"clientPass") == h("44EBBA8D5312B8D611474411F56989AE")
    assert hash_nt_password_hash(nt_password_hash(b"clientPass")) == h(
        "41C00C584BD2D91C4017A2A12FA59F3F"
    )
    assert generate_nt_response(AUTH_CHALLENGE, PEER_CHALLENGE, b"User", b"clientPass") == (
        NT_RESPONSE
    )
    assert authenticator_response(
        b"clientPass", NT_RESPONSE, PEER_CHALLENGE, AUTH_CHALLENGE, b"User"
    ) == (b"S=407A5589115FD0D6209F510FE9C04566932CDA56")


def test_rfc2759_section_9_3_des_keys() -> None:
    password_hash = nt_password_hash(b"MyPw")
    assert _des_key(password_hash[:7]) == h("FD0B5B5E7F6E34D9")
    assert _des_key(password_hash[7:14]) == h("0E6E796737EA08FE")


def test_rfc2433_appendix_b() -> None:
    assert nt_password_hash(b"MyPw") == h("FC156AF7EDCD6C0EDDE3337D427F4EAC")
    assert nt_challenge_response(h("102DB5DF085D3041"), b"MyPw") == h(
        "4E9D3C8F9CFD385D5BF4D3246791956CA4C351AB409A3D61"
    )


def test_rfc3079_section_3_5_3_mppe_keys() -> None:
    password_hash_hash = hash_nt_password_hash(nt_password_hash(b"clientPass"))
    master = master_key(password_hash_hash, NT_RESPONSE)
    assert master == h("FDECE3717A8C838CB388E527AE3CDD31")
    assert send_start_key(master, is_server=True) == h("8B7CDC149B993A1BA118CB153F56DCCB")
    assert send_start_key(master, is_server=False) == h("D5F0E9521E3EA9589645E86051C82226")
    assert send_start_key(master, is_server=True, length=8) == h("8B7CDC149B993A1B")
    server = mppe_keys_v2(b"clientPass", NT_RESPONSE, is_server=True)
    client = mppe_keys_v2(b"clientPass", NT_RESPONSE, is_server=False)
    assert (server.send_key, server.recv_key) == (client.recv_key, client.send_key)
    assert "8b7c" not in repr(server).lower()  # keys never reach a log through repr


def test_domain_is_left_out_of_the_challenge_hash() -> None:
    plain = challenge_hash(PEER_CHALLENGE, AUTH_CHALLENGE, b"User")
    assert challenge_hash(PEER_CHALLENGE, AUTH_CHALLENGE, b"WORKGROUP\\User") == plain


def test_v1_key_is_pppds_start_key() -> None:
    keys = mppe_keys_v1(b"MyPw", h("102DB5DF085D3041"))
    assert keys.send_key == keys.recv_key
    assert len(keys.send_key) == 16


# --- both engines back to back ---------------------------------------------------------------


def engines(
    algorithm: int, password: str = "gargleBlaster", user: str = "zaphod", **server: object
) -> tuple[ChapPeer, ChapAuthenticator]:
    peer = ChapPeer(user, password, algorithm=algorithm, rng=seeded_rng(9))
    auth = ChapAuthenticator(
        "server",
        SECRETS,
        rng=seeded_rng(1),
        algorithm=algorithm,
        **server,  # type: ignore[arg-type]
    )
    peer.start(0.0)
    auth.start(0.0)
    return peer, auth


def test_v2_success_with_mutual_authentication(caplog: pytest.LogCaptureFixture) -> None:
    peer, auth = engines(V2)
    crossed = pump(peer, auth, 0.0)
    assert [p.code for p in crossed] == [CHALLENGE, RESPONSE, SUCCESS]
    challenge = decode_value_name(crossed[0].data)
    response = decode_value_name(crossed[1].data)
    assert challenge is not None
    assert response is not None
    assert len(challenge[0]) == 16  # RFC 2759 §4
    value, name = response
    assert (len(value), name) == (49, b"zaphod")
    assert value[16:24] == bytes(8)
    assert value[48] == 0
    assert value[24:48] == generate_nt_response(
        challenge[0], value[:16], b"zaphod", b"gargleBlaster"
    )
    expected_s = authenticator_response(
        b"gargleBlaster", value[24:48], value[:16], challenge[0], b"zaphod"
    )
    assert crossed[2].data == expected_s + b" M=Access granted"
    (ours,) = drain(peer)
    (theirs,) = drain(auth)
    assert isinstance(ours, AuthSuccess)
    assert isinstance(theirs, AuthSuccess)
    assert (ours.role, theirs.role, theirs.name) == (Role.PEER, Role.AUTHENTICATOR, "zaphod")
    assert theirs.address_words == ("10.0.0.2",)
    assert ours.mppe_keys is not None
    assert theirs.mppe_keys is not None
    assert ours.mppe_keys.send_key == theirs.mppe_keys.recv_key
    assert ours.mppe_keys.recv_key == theirs.mppe_keys.send_key
    assert peer.method is AuthMethod.MSCHAP_V2
    assert auth.method is AuthMethod.MSCHAP_V2
    # pppd's lines: MS-CHAPv2's success is checked, so no "succeeded: <message>" info line.
    assert "CHAP authentication succeeded" in caplog.messages
    assert "Peer zaphod authenticated with CHAP" in caplog.messages
    assert not any(m.startswith("CHAP authentication succeeded:") for m in caplog.messages)
    assert trace_body(PPPProtocol.CHAP, crossed[1]) == (
        f'Response id=0x{crossed[1].identifier:x} <{value.hex()}>, name = "zaphod"'
    )


def test_v1_success(caplog: pytest.LogCaptureFixture) -> None:
    peer, auth = engines(V1)
    crossed = pump(peer, auth, 0.0)
    challenge = decode_value_name(crossed[0].data)
    response = decode_value_name(crossed[1].data)
    assert challenge is not None
    assert response is not None
    assert len(challenge[0]) == 8  # RFC 2433 §3
    value = response[0]
    assert value[:24] == bytes(24)  # no LAN Manager response, as pppd without MSLANMAN
    assert value[24:48] == nt_challenge_response(challenge[0], b"gargleBlaster")
    assert value[48] == 1  # Use-NT
    assert crossed[2].data == b"Access granted"
    (ours,) = drain(peer)
    (theirs,) = drain(auth)
    assert isinstance(ours, AuthSuccess)
    assert isinstance(theirs, AuthSuccess)
    assert ours.mppe_keys == theirs.mppe_keys == mppe_keys_v1(b"gargleBlaster", challenge[0])
    assert "CHAP authentication succeeded: Access granted" in caplog.messages
    assert peer.method is AuthMethod.MSCHAP


@pytest.mark.parametrize("algorithm", [V1, V2])
def test_wrong_secret(algorithm: int, caplog: pytest.LogCaptureFixture) -> None:
    peer, auth = engines(algorithm, password="hunter2")
    crossed = pump(peer, auth, 0.0)
    challenge = decode_value_name(crossed[0].data)
    assert challenge is not None
    message = f"E=691 R=0 C={challenge[0].hex()} V=0"
    if algorithm == V2:
        message += " M=Access denied"
    assert crossed[-1] == ControlPacket(FAILURE, crossed[0].identifier, message.encode())
    assert drain(peer) == [peer_failed(PPPProtocol.CHAP)]
    assert drain(auth) == [authenticator_failed(PPPProtocol.CHAP)]
    assert "Peer zaphod failed CHAP authentication" in caplog.messages
    shown = "Access denied" if algorithm == V2 else "E=691 Authentication failure"
    assert f"MS-CHAP authentication failed: {shown}" in caplog.messages
    assert "CHAP authentication failed" in caplog.messages


def test_unknown_user_gets_the_ms_failure_message(caplog: pytest.LogCaptureFixture) -> None:
    peer, auth = engines(V2, user="mallory")
    crossed = pump(peer, auth, 0.0)
    assert crossed[-1].code == FAILURE
    assert crossed[-1].data.startswith(b"E=691 R=0 C=")
    assert "No CHAP secret found for authenticating mallory" in caplog.messages


def forge_success(text: bytes) -> Callable[[ControlPacket], ControlPacket]:
    def tamper(packet: ControlPacket) -> ControlPacket:
        if packet.code == SUCCESS:
            return ControlPacket(SUCCESS, packet.identifier, text)
        return packet

    return tamper


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (b"S=0000000000000000000000000000000000000000 M=ok", "mutual authentication failed."),
        (b"S=407A55", "Success packet is badly formed."),
        (b"", "Success packet is badly formed."),
        (b"Access granted", "Success packet is badly formed."),
    ],
)
def test_v2_peer_checks_the_authenticator_response(
    message: bytes, line: str, caplog: pytest.LogCaptureFixture
) -> None:
    peer, auth = engines(V2)
    pump(peer, auth, 0.0, tamper=forge_success(message))
    assert drain(peer) == [peer_failed(PPPProtocol.CHAP)]
    assert f"MS-CHAPv2 {line}" in caplog.messages
    assert "CHAP authentication failed" in caplog.messages


def test_v2_success_forms_pppd_accepts() -> None:
    for suffix in (b"", b" M=Access granted", b"M=Success. Logging you in"):

        def keep_s(packet: ControlPacket, suffix: bytes = suffix) -> ControlPacket:
            if packet.code == SUCCESS:
                return ControlPacket(SUCCESS, packet.identifier, packet.data[:42] + suffix)
            return packet

        peer, auth = engines(V2)
        pump(peer, auth, 0.0, tamper=keep_s)
        assert isinstance(drain(peer)[0], AuthSuccess), suffix
    # Trailing text that is not M=... is an error, even with the right S=.

    def junk(packet: ControlPacket) -> ControlPacket:
        if packet.code == SUCCESS:
            return ControlPacket(SUCCESS, packet.identifier, packet.data[:42] + b" X=1")
        return packet

    peer, auth = engines(V2)
    pump(peer, auth, 0.0, tamper=junk)
    assert isinstance(drain(peer)[0], AuthFailure)
    assert peer.malformed == 1


def test_v2_flags_set_gets_s_without_m() -> None:
    # pppd: Windows 98 sets Flags to 4 and takes M= for an error; answer S= alone.
    def flags(packet: ControlPacket) -> ControlPacket:
        if packet.code == RESPONSE:
            data = bytearray(packet.data)
            data[49] = 0x04  # Value-Size octet + 48
            return ControlPacket(RESPONSE, packet.identifier, bytes(data))
        return packet

    peer, auth = engines(V2)
    crossed = pump(peer, auth, 0.0, tamper=flags)
    assert crossed[-1].code == SUCCESS
    assert len(crossed[-1].data) == 42
    assert auth.malformed == 1
    assert isinstance(drain(peer)[0], AuthSuccess)


@pytest.mark.parametrize("algorithm", [V1, V2])
@pytest.mark.parametrize("size", [0, 1, 16, 24, 48, 50, 255])
def test_response_of_the_wrong_size_is_answered_with_failure(algorithm: int, size: int) -> None:
    _peer, auth = engines(algorithm)
    (challenge,) = auth.packets_to_send()
    auth.receive(encode_value_name(RESPONSE, challenge.identifier, b"\x01" * size, b"zaphod"), 0.0)
    (verdict,) = auth.packets_to_send()
    assert verdict.code == FAILURE
    assert verdict.data.startswith(b"E=691 R=0 C=")
    assert isinstance(drain(auth)[0], AuthFailure)
    assert auth.malformed == 1


def test_v1_lan_manager_only_response_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    _peer, auth = engines(V1)
    (challenge,) = auth.packets_to_send()
    auth.receive(encode_value_name(RESPONSE, challenge.identifier, bytes(49), b"zaphod"), 0.0)
    (verdict,) = auth.packets_to_send()
    assert verdict.code == FAILURE
    assert "Peer request for LANMAN auth not supported" in caplog.messages
    assert auth.malformed == 1


@pytest.mark.parametrize(("algorithm", "good"), [(V1, 8), (V2, 16)])
def test_peer_drops_a_challenge_of_the_wrong_size(algorithm: int, good: int) -> None:
    peer = ChapPeer("zaphod", "gargleBlaster", algorithm=algorithm, rng=seeded_rng(1))
    peer.start(0.0)
    for size in (0, 1, good - 1, good + 1, 64):
        peer.receive(encode_value_name(CHALLENGE, 1, b"c" * size, b"server"), 0.0)
    assert peer.packets_to_send() == []
    assert peer.malformed == 5
    peer.receive(encode_value_name(CHALLENGE, 2, b"c" * good, b"server"), 0.0)
    assert len(peer.packets_to_send()) == 1


def test_v2_retransmitted_challenge_gets_the_same_response() -> None:
    peer, auth = engines(V2)
    (challenge,) = auth.packets_to_send()
    peer.receive(challenge, 0.0)
    peer.receive(challenge, 3.0)  # pppd's cache: same Peer-Challenge, or S= would not match
    first, second = peer.packets_to_send()
    assert first == second
    auth.receive(second, 3.0)
    auth.receive(first, 3.0)
    for verdict in auth.packets_to_send():
        peer.receive(verdict, 3.0)
    assert isinstance(drain(peer)[0], AuthSuccess)


def test_v2_rechallenge_with_chap_interval() -> None:
    peer, auth = engines(V2, interval=30.0)
    pump(peer, auth, 0.0)
    assert len(drain(auth)) == 1
    auth.handle_timer(30.0)
    again = pump(peer, auth, 30.0)
    assert [p.code for p in again] == [CHALLENGE, RESPONSE, SUCCESS]
    assert again[2].data.startswith(b"S=")
    assert drain(auth) == []
    assert auth.get_timer() == 60.0
    peer._password = "hunter2"
    auth.handle_timer(60.0)
    pump(peer, auth, 60.0)
    assert isinstance(drain(auth)[0], AuthFailure)


def test_strip_domain_and_the_hash_user_name(caplog: pytest.LogCaptureFixture) -> None:
    # The peer sends WORKGROUP\zaphod; chapms-strip-domain looks "zaphod" up.
    peer, auth = engines(V2, user="WORKGROUP\\zaphod", strip_domain=True)
    pump(peer, auth, 0.0)
    (success,) = drain(auth)
    assert isinstance(success, AuthSuccess)
    assert success.name == "zaphod"
    peer, auth = engines(V2, user="WORKGROUP\\zaphod")
    pump(peer, auth, 0.0)
    assert isinstance(drain(auth)[0], AuthFailure)
    assert "No CHAP secret found for authenticating WORKGROUP\\\\zaphod" in caplog.messages


def test_an_ms_chap_v2_peer_needs_an_rng() -> None:
    with pytest.raises(LocalProtocolError, match="rng="):
        ChapPeer("zaphod", "x", algorithm=V2)
    with pytest.raises(LocalProtocolError, match="0x7"):
        ChapPeer("zaphod", "x", algorithm=7)


@pytest.mark.parametrize(
    ("message", "text", "known"),
    [
        (b"E=691 R=0 C=0011 V=0 M=Access denied", "Access denied", True),
        (b"E=691 R=1", "E=691 Authentication failure", True),
        (b"E=0000648", "E=648 Password expired", True),
        (b"E=649 R=0 V=3", "E=649 No dialin permission", True),
        (b"E=123", "E=123", False),
        (b"E=" + b"9" * 5000, "E=" + "9" * 5000, False),
        (b"Login incorrect", "Login incorrect", True),
        (b"E=691 M=first\0hidden", "first", True),
    ],
)
def test_failure_texts_as_pppd_logs_them(message: bytes, text: str, known: bool) -> None:
    assert failure_text(message) == (text, known)


# --- garbage ---------------------------------------------------------------------------------


@given(st.sampled_from([V1, V2]), st.integers(0, 255), st.binary(max_size=300))
@settings(max_examples=300)
def test_garbage_never_raises(algorithm: int, code: int, data: bytes) -> None:
    peer, auth = engines(algorithm)
    (challenge,) = auth.packets_to_send()
    for engine in (peer, auth):
        engine.receive(ControlPacket(code, challenge.identifier, data), 0.0)
        engine.packets_to_send()
        for event in drain(engine):
            assert isinstance(event, AuthFailure | AuthSuccess)
        engine.handle_timer(100.0)
    trace_body(PPPProtocol.CHAP, ControlPacket(code, 1, data))


# --- LCP: the algorithms, as pppd negotiates them --------------------------------------------

MD5 = ChapAlgorithm.MD5
CHAP_MD5_OPTION = AuthProtocol(PPPProtocol.CHAP, bytes((MD5,)))
CHAP_V1_OPTION = AuthProtocol(PPPProtocol.CHAP, bytes((V1,)))
CHAP_V2_OPTION = AuthProtocol(PPPProtocol.CHAP, bytes((V2,)))
ALL = (MD5, V2, V1)


def negotiator(**config: object) -> LcpNegotiator:
    return LcpNegotiator(LcpConfig(**config), seeded_rng(5))  # type: ignore[arg-type]


def auth_of(lcp: LcpNegotiator) -> AuthProtocol | None:
    return next((o for o in lcp.request() if isinstance(o, AuthProtocol)), None)


@pytest.mark.parametrize(
    ("allow", "refuse", "asked", "answer"),
    [
        (ALL, {}, CHAP_V2_OPTION, None),
        (ALL, {}, CHAP_V1_OPTION, None),
        (ALL, {"refuse_mschap_v2": True}, CHAP_V2_OPTION, CHAP_MD5_OPTION),
        (ALL, {"refuse_chap": True}, CHAP_MD5_OPTION, CHAP_V2_OPTION),
        (ALL, {"refuse_chap": True, "refuse_mschap_v2": True}, CHAP_V2_OPTION, CHAP_V1_OPTION),
        ((V2,), {}, AuthProtocol(PPPProtocol.CHAP, b"\x07"), CHAP_V2_OPTION),
        ((MD5,), {}, CHAP_V2_OPTION, CHAP_MD5_OPTION),  # pyppp's library default
    ],
)
def test_peer_side_accepts_or_naks_with_our_best_algorithm(
    allow: tuple[int, ...], refuse: dict[str, bool], asked: AuthProtocol, answer: Option | None
) -> None:
    lcp = negotiator(allow_chap_algorithms=allow, **refuse)
    review = lcp.review([asked], reject_if_disagree=False)
    if answer is None:
        assert review.code == Code.CONF_ACK
    else:
        assert review == Review(Code.CONF_NAK, (answer,))


def test_refusing_every_chap_algorithm_naks_with_pap() -> None:
    lcp = negotiator(
        allow_chap_algorithms=ALL, refuse_chap=True, refuse_mschap=True, refuse_mschap_v2=True
    )
    assert lcp.review([CHAP_V2_OPTION], reject_if_disagree=False) == Review(
        Code.CONF_NAK, (AuthProtocol(PPPProtocol.PAP),)
    )


def test_authenticator_asks_in_pppds_order_and_takes_a_suggestion() -> None:
    lcp = negotiator(require_auth=(PPPProtocol.CHAP, PPPProtocol.PAP), chap_algorithms=ALL)
    assert auth_of(lcp) == CHAP_MD5_OPTION
    # The peer suggests MS-CHAP: pppd takes a suggestion it accepts, and nothing else of CHAP.
    assert lcp.on_nak([CHAP_V1_OPTION], rejected=False)
    assert auth_of(lcp) == CHAP_V1_OPTION
    # Now only MS-CHAP is left of CHAP: another suggestion moves on to PAP (pppd).
    assert lcp.on_nak([CHAP_V2_OPTION], rejected=False)
    assert auth_of(lcp) == AuthProtocol(PPPProtocol.PAP)


def test_an_unacceptable_suggestion_moves_to_our_next_algorithm() -> None:
    lcp = negotiator(require_auth=(PPPProtocol.CHAP,), chap_algorithms=(MD5, V2))
    assert lcp.on_nak([AuthProtocol(PPPProtocol.CHAP, b"\x07")], rejected=False)
    assert auth_of(lcp) == CHAP_V2_OPTION
    assert not lcp.on_nak([CHAP_V2_OPTION], rejected=False)  # our own choice back: a bad Nak
    assert lcp.on_nak([AuthProtocol(PPPProtocol.PAP)], rejected=False)
    assert auth_of(lcp) is None  # PAP is not acceptable: the peer refused to authenticate


def test_unknown_chap_algorithms_in_the_config_are_refused() -> None:
    with pytest.raises(ConfigError, match="0x7"):
        LcpConfig(chap_algorithms=(7,))
    with pytest.raises(ConfigError, match="no CHAP algorithm"):
        LcpConfig(require_auth=(PPPProtocol.CHAP,), chap_algorithms=())


# --- two links back to back ------------------------------------------------------------------


def ms_pair(
    server_algorithms: tuple[int, ...], client_algorithms: tuple[int, ...], password: str
) -> LinkPair:
    server = Link(
        simple_config(
            local="10.99.7.1",
            remote="10.99.7.2",
            require_chap={"zaphod": "gargleBlaster"},
            chap_algorithms=server_algorithms,
            rng=seeded_rng(11),
        ),
        rng=seeded_rng(12),
        logger=logging.getLogger("pyppp.test.server"),
    )
    client = Link(
        simple_config(
            user="zaphod",
            password=password,
            chap_algorithms=client_algorithms,
            rng=seeded_rng(13),
        ),
        rng=seeded_rng(14),
        logger=logging.getLogger("pyppp.test.client"),
    )
    pair = LinkPair(server, client)
    server.open(0.0)
    client.open(0.0)
    return pair


def test_two_links_with_ms_chap_v2(caplog: pytest.LogCaptureFixture) -> None:
    pair = ms_pair((V2,), (MD5, V2), "gargleBlaster")
    pair.run(10, stop=lambda p: bool(p.of_type("a", NetworkUp) and p.of_type("b", NetworkUp)))
    assert pair.of_type("a", AuthSucceeded) == [
        AuthSucceeded(AuthMethod.MSCHAP_V2, Role.AUTHENTICATOR, "zaphod")
    ]
    assert pair.of_type("b", AuthSucceeded) == [
        AuthSucceeded(AuthMethod.MSCHAP_V2, Role.PEER, "zaphod")
    ]
    assert pair.of_type("b", NetworkUp)[0].local == IPv4Address("10.99.7.2")
    trace = [r.getMessage() for r in caplog.records if r.name == "pyppp.trace"]
    assert any(
        line.startswith("rcvd [LCP ConfAck") and "<auth chap MS-v2>" in line for line in trace
    )
    assert any(line.startswith("rcvd [CHAP Success id=0x") and ' "S=' in line for line in trace)


def test_two_links_settle_on_the_clients_algorithm_by_nak() -> None:
    # The server prefers MD5 but also takes MS-CHAP; the client only does MS-CHAP (v1).
    pair = ms_pair((MD5, V2, V1), (V1,), "gargleBlaster")
    pair.run(10, stop=lambda p: bool(p.of_type("b", NetworkUp)))
    assert [e.protocol for e in pair.of_type("a", AuthSucceeded)] == [AuthMethod.MSCHAP]


def test_two_links_with_a_wrong_ms_chap_v2_secret_end_11_and_19() -> None:
    pair = ms_pair((V2,), (V2,), "hunter2")
    pair.run(
        60, stop=lambda p: bool(p.of_type("a", LinkTerminated) and p.of_type("b", LinkTerminated))
    )
    assert [e.exit_status for e in pair.of_type("a", LinkTerminated)] == [11]
    assert [e.exit_status for e in pair.of_type("b", LinkTerminated)] == [19]
    assert [e.protocol for e in pair.of_type("b", AuthFailed)] == [AuthMethod.MSCHAP_V2]


# --- pycryptodome is needed only where MS-CHAP runs ------------------------------------------

_WITHOUT_CRYPTO = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "Crypto" or name.startswith("Crypto."):
            raise ImportError("no pycryptodome here")
sys.meta_path.insert(0, Block())
import pyppp, pyppp.link, pyppp.simple, pyppp.pppd.session, pyppp.aio.supervisor, pyppp.cli
from pyppp.auth.chap import ChapPeer, mschap_available
from pyppp.errors import LocalProtocolError
ChapPeer("zaphod", "x")  # CHAP-MD5 needs nothing more
try:
    ChapPeer("zaphod", "x", algorithm=0x81, rng=bytes)
except LocalProtocolError as exc:
    print("refused:", exc)
print("available:", mschap_available(), "loaded:", "Crypto" in sys.modules)
"""


def test_the_core_imports_without_pycryptodome() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _WITHOUT_CRYPTO],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],  # this checkout's pyppp, not an installed one
    ).stdout
    assert out.splitlines() == [
        "refused: MS-CHAP needs the pycryptodome package (MD4, DES)",
        "available: False loaded: False",
    ]
