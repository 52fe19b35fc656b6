"""RFC 1994 CHAP-MD5 engines, both roles, back to back on a manual clock; pppd's behaviour."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyppp.auth.base import AuthEngine, AuthFailure, AuthSuccess, Role, trace_body
from pyppp.auth.chap import (
    CHALLENGE,
    FAILURE,
    RESPONSE,
    SUCCESS,
    ChapAuthenticator,
    ChapPeer,
    chap_md5,
    decode_value_name,
    encode_value_name,
)
from pyppp.packet import ControlPacket, PPPProtocol
from pyppp.pppd.secrets import SecretsFile
from pyppp.util import seeded_rng
from tests.authpair import (
    assert_never_logged,
    authenticate,
    authenticator_failed,
    drain,
    feed_garbage,
    peer_failed,
    pump,
)

SERVER_SECRETS = SecretsFile.parse(
    "zaphod server gargleBlaster 10.0.0.2\n"
    "ford server towel 10.0.0.0/24 -- ms-dns 10.0.0.53\n"
    "* isp sharedSecret *\n"
)
CLIENT_SECRETS = SecretsFile.parse("zaphod server gargleBlaster\nzaphod * wrongSecret\n")
SECRETS_TEXT = ("gargleBlaster", "towel", "sharedSecret", "wrongSecret", "hunter2")


@pytest.fixture(autouse=True)
def _no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield from assert_never_logged(caplog, SECRETS_TEXT)


def pair(
    user: str = "zaphod", password: str | None = None, seed: int = 1, **server: object
) -> tuple[ChapPeer, ChapAuthenticator]:
    peer = ChapPeer(user, password, secrets=CLIENT_SECRETS)
    auth = ChapAuthenticator("server", SERVER_SECRETS, rng=seeded_rng(seed), **server)  # type: ignore[arg-type]
    return peer, auth


# --- RFC 1994 response value -----------------------------------------------------------------


def test_md5_known_answers_from_rfc1321() -> None:
    # Response = MD5(Identifier || secret || Challenge); with Identifier 0x61 ("a"), secret
    # "b" and challenge "c" the hashed string is "abc": RFC 1321 §A.5 test suite values.
    assert chap_md5(0x61, b"b", b"c").hex() == "900150983cd24fb0d6963f7d28e17f72"
    assert chap_md5(ord("m"), b"essage ", b"digest").hex() == "f96b697d7cb7938d525a2f31aaf161d0"
    assert chap_md5(0x161, b"b", b"c") == chap_md5(0x61, b"b", b"c")  # one octet of Identifier


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_md5_against_openssl() -> None:
    challenge = bytes(range(16))
    blob = b"\x01gargleBlaster" + challenge
    out = subprocess.run(
        ["openssl", "md5", "-binary"], input=blob, capture_output=True, check=True
    ).stdout
    assert chap_md5(1, b"gargleBlaster", challenge) == out


def test_codec_and_trace() -> None:
    packet = encode_value_name(CHALLENGE, 1, bytes.fromhex("a2c470e4d8dc7da7"), b"UMTS_CHAP_SRVR")
    assert decode_value_name(packet.data) == (bytes.fromhex("a2c470e4d8dc7da7"), b"UMTS_CHAP_SRVR")
    assert trace_body(PPPProtocol.CHAP, packet) == (
        'Challenge id=0x1 <a2c470e4d8dc7da7>, name = "UMTS_CHAP_SRVR"'
    )
    response = encode_value_name(RESPONSE, 1, bytes(16), b"sora")
    assert trace_body(PPPProtocol.CHAP, response) == (
        'Response id=0x1 <00000000000000000000000000000000>, name = "sora"'
    )
    assert trace_body(PPPProtocol.CHAP, ControlPacket(SUCCESS, 1, b"")) == 'Success id=0x1 ""'
    assert trace_body(PPPProtocol.CHAP, ControlPacket(FAILURE, 2, b"E=691 R=1")) == (
        'Failure id=0x2 "E=691 R=1"'
    )
    assert trace_body(PPPProtocol.CHAP, ControlPacket(9, 3, b"\xff")) == "code=0x9 id=0x3 ff"
    assert trace_body(PPPProtocol.CHAP, ControlPacket(CHALLENGE, 3, b"\x09a")) == "Challenge id=0x3"
    assert decode_value_name(b"\x09a") is None
    assert decode_value_name(b"\x00") is None


def test_challenges_look_like_pppd() -> None:
    lengths = set()
    first_ids = set()
    for seed in range(200):
        auth = ChapAuthenticator("server", SERVER_SECRETS, rng=seeded_rng(seed))
        auth.start(0.0)
        (packet,) = auth.packets_to_send()
        fields = decode_value_name(packet.data)
        assert fields is not None
        value, name = fields
        assert name == b"server"
        lengths.add(len(value))
        first_ids.add(packet.identifier)
    assert lengths == set(range(16, 24))  # pppd chap-md5.c: 16 + drand48() * 8
    assert len(first_ids) > 50  # the first Identifier is random


# --- both roles back to back -----------------------------------------------------------------


def test_success_back_to_back(caplog: pytest.LogCaptureFixture) -> None:
    peer, auth = pair()
    crossed = authenticate(peer, auth)
    assert [p.code for p in crossed] == [CHALLENGE, RESPONSE, SUCCESS]
    assert len({p.identifier for p in crossed}) == 1
    assert crossed[2].data == b"Access granted"
    challenge = decode_value_name(crossed[0].data)
    assert challenge is not None
    assert crossed[1].data[1:17] == chap_md5(crossed[0].identifier, b"gargleBlaster", challenge[0])
    assert crossed[1].data[17:] == b"zaphod"
    assert drain(peer) == [AuthSuccess(Role.PEER, PPPProtocol.CHAP, "zaphod")]
    (success,) = drain(auth)
    assert isinstance(success, AuthSuccess)
    assert (success.role, success.name, success.address_words) == (
        Role.AUTHENTICATOR,
        "zaphod",
        ("10.0.0.2",),
    )
    assert success.addresses is not None
    assert success.addresses.permits(IPv4Address("10.0.0.2"))
    assert auth.get_timer() is None  # chap-interval 0: no re-challenge
    assert peer.get_timer() is None
    assert caplog.messages.count("CHAP authentication succeeded") == 1
    assert "CHAP authentication succeeded: Access granted" in caplog.messages
    assert "Peer zaphod authenticated with CHAP" in caplog.messages


def test_wrong_secret(caplog: pytest.LogCaptureFixture) -> None:
    peer = ChapPeer("zaphod", "hunter2")
    auth = ChapAuthenticator("server", SERVER_SECRETS, rng=seeded_rng(2))
    crossed = authenticate(peer, auth)
    assert crossed[-1].code == FAILURE
    assert crossed[-1].data == b"Access denied"
    assert drain(peer) == [peer_failed(PPPProtocol.CHAP)]
    assert drain(auth) == [authenticator_failed(PPPProtocol.CHAP)]
    assert "Peer zaphod failed CHAP authentication" in caplog.messages
    assert "CHAP authentication failed: Access denied" in caplog.messages
    assert "CHAP authentication failed" in caplog.messages


def test_unknown_peer(caplog: pytest.LogCaptureFixture) -> None:
    peer = ChapPeer("mallory", "hunter2")
    auth = ChapAuthenticator("server", SERVER_SECRETS, rng=seeded_rng(3))
    authenticate(peer, auth)
    assert "No CHAP secret found for authenticating mallory" in caplog.messages
    assert "Peer mallory failed CHAP authentication" in caplog.messages
    assert isinstance(drain(auth)[0], AuthFailure)


def test_peer_without_secret_answers_with_empty_secret(caplog: pytest.LogCaptureFixture) -> None:
    peer = ChapPeer("arthur", None, secrets=CLIENT_SECRETS)
    peer.start(0.0)
    peer.receive(encode_value_name(CHALLENGE, 5, b"c" * 16, b"server"), 0.0)
    (response,) = peer.packets_to_send()
    assert response.data[1:17] == chap_md5(5, b"", b"c" * 16)
    assert "No CHAP secret found for authenticating us to server" in caplog.messages


def test_peer_picks_the_secret_by_challenger_name() -> None:
    peer = ChapPeer("zaphod", None, secrets=CLIENT_SECRETS)
    peer.start(0.0)
    peer.receive(encode_value_name(CHALLENGE, 1, b"x" * 16, b"elsewhere"), 0.0)
    (response,) = peer.packets_to_send()
    assert response.data[1:17] == chap_md5(1, b"wrongSecret", b"x" * 16)
    # remotename overrides the name in the challenge.
    peer = ChapPeer("zaphod", None, secrets=CLIENT_SECRETS, remote_name="server")
    peer.start(0.0)
    peer.receive(encode_value_name(CHALLENGE, 1, b"x" * 16, b"elsewhere"), 0.0)
    (response,) = peer.packets_to_send()
    assert response.data[1:17] == chap_md5(1, b"gargleBlaster", b"x" * 16)


def test_authenticator_remotename_and_wildcard_line() -> None:
    peer = ChapPeer("whatever", "sharedSecret")
    auth = ChapAuthenticator("isp", SERVER_SECRETS, rng=seeded_rng(4), remote_name="customer")
    authenticate(peer, auth)
    (success,) = drain(auth)
    assert isinstance(success, AuthSuccess)
    assert success.name == "customer"  # pppd uses remotename as the peer's name
    assert success.addresses is not None
    assert success.addresses.permits(IPv4Address("192.168.1.9"))
    assert not success.addresses.permits(IPv4Address("127.0.0.1"))


def test_long_secret_is_cut_like_pppd(caplog: pytest.LogCaptureFixture) -> None:
    peer = ChapPeer("zaphod", "x" * 300)
    peer.start(0.0)
    peer.receive(encode_value_name(CHALLENGE, 1, b"c" * 16, b"server"), 0.0)
    (response,) = peer.packets_to_send()
    assert response.data[1:17] == chap_md5(1, b"x" * 256, b"c" * 16)
    assert "Secret for zaphod on server is too long" in caplog.messages


# --- timers, limits, stale identifiers -------------------------------------------------------


def test_peer_that_never_answers() -> None:
    auth = ChapAuthenticator("server", SERVER_SECRETS, rng=seeded_rng(5))
    auth.start(50.0)
    sent = auth.packets_to_send()
    times = [50.0]
    while (deadline := auth.get_timer()) is not None:
        auth.handle_timer(deadline)
        new = auth.packets_to_send()
        if new:
            times.append(deadline)
        sent.extend(new)
    assert len(sent) == 10  # chap-max-challenge
    assert len(set(sent)) == 1  # the same Challenge, same Identifier, every time
    assert times == [50.0 + 3 * i for i in range(10)]  # chap-restart 3 s
    assert drain(auth) == [authenticator_failed(PPPProtocol.CHAP)]


def test_client_timeout(caplog: pytest.LogCaptureFixture) -> None:
    peer = ChapPeer("zaphod", "gargleBlaster")
    peer.start(0.0)
    assert peer.get_timer() == 60.0
    peer.receive(encode_value_name(CHALLENGE, 1, b"c" * 16, b"server"), 1.0)
    assert peer.get_timer() == 60.0  # answering does not restart the clock
    peer.handle_timer(60.0)
    assert drain(peer) == [peer_failed(PPPProtocol.CHAP)]
    assert "CHAP authentication timed out" in caplog.messages
    forever = ChapPeer("zaphod", "x", timeout=0)
    forever.start(0.0)
    assert forever.get_timer() is None


def test_stale_identifiers_are_ignored() -> None:
    peer, auth = pair()
    peer.start(0.0)
    auth.start(0.0)
    (challenge,) = auth.packets_to_send()
    # A Response to another Identifier is stale: no verdict, the challenge stays outstanding.
    auth.receive(encode_value_name(RESPONSE, challenge.identifier ^ 1, bytes(16), b"x"), 0.0)
    assert auth.packets_to_send() == []
    assert auth.discarded == 1
    peer.receive(challenge, 0.0)
    (response,) = peer.packets_to_send()
    # A verdict with an Identifier we never answered is stale for the peer.
    peer.receive(ControlPacket(SUCCESS, response.identifier ^ 1, b""), 0.0)
    assert drain(peer) == []
    auth.receive(response, 0.0)
    (verdict,) = auth.packets_to_send()
    peer.receive(verdict, 0.0)
    assert isinstance(drain(peer)[0], AuthSuccess)
    # Once decided, later verdicts are ignored (pppd's AUTH_DONE).
    peer.receive(ControlPacket(FAILURE, response.identifier, b""), 0.0)
    assert drain(peer) == []


def test_duplicate_response_gets_the_same_verdict() -> None:
    peer, auth = pair()
    crossed = authenticate(peer, auth)
    drain(auth)
    auth.receive(crossed[1], 1.0)  # RFC 1994 §4.2: repeated Response after the verdict
    assert auth.packets_to_send() == [crossed[2]]
    assert drain(auth) == []


def test_rechallenge_with_chap_interval() -> None:
    peer, auth = pair(interval=60.0)
    first = authenticate(peer, auth)
    assert len(drain(auth)) == 1
    assert len(drain(peer)) == 1
    assert auth.get_timer() == 60.0
    auth.handle_timer(60.0)
    second = pump(peer, auth, 60.0)
    assert [p.code for p in second] == [CHALLENGE, RESPONSE, SUCCESS]
    assert second[0].identifier == (first[0].identifier + 1) & 0xFF
    assert second[0].data != first[0].data  # a fresh challenge value
    assert drain(auth) == []  # already authenticated: no second success event
    assert drain(peer) == []  # pppd's peer ignores verdicts after the first
    assert auth.get_timer() == 120.0
    # The peer's secret changes: the next re-challenge fails and ends the link.
    peer._password = "hunter2"
    auth.handle_timer(120.0)
    third = pump(peer, auth, 120.0)
    assert third[-1].code == FAILURE
    assert drain(auth) == [authenticator_failed(PPPProtocol.CHAP)]
    assert auth.get_timer() is None


def test_protocol_reject_and_stop(caplog: pytest.LogCaptureFixture) -> None:
    peer, auth = pair()
    peer.start(0.0)
    auth.start(0.0)
    peer.protocol_rejected(0.0)
    auth.protocol_rejected(0.0)
    assert isinstance(drain(peer)[0], AuthFailure)
    assert isinstance(drain(auth)[0], AuthFailure)
    assert "CHAP authentication failed due to protocol-reject" in caplog.messages
    assert auth.get_timer() is None
    assert peer.get_timer() is None
    # Stopped engines ignore traffic.
    peer.receive(encode_value_name(CHALLENGE, 1, b"c" * 16, b"server"), 1.0)
    assert peer.packets_to_send() == []


# --- garbage from the line -------------------------------------------------------------------


@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=600))
@settings(max_examples=300)
def test_garbage_never_raises(code: int, identifier: int, data: bytes) -> None:
    packet = ControlPacket(code, identifier, data)
    peer, auth = pair()
    feed_garbage((peer, auth), packet, later=1000.0)
    trace_body(PPPProtocol.CHAP, packet)


@given(st.binary(min_size=2, max_size=300))
@settings(max_examples=200)
def test_garbage_response_to_a_live_challenge(data: bytes) -> None:
    _peer, auth = pair()
    auth.start(0.0)
    (challenge,) = auth.packets_to_send()
    auth.receive(ControlPacket(RESPONSE, challenge.identifier, data), 0.0)
    for event in drain(auth):
        assert isinstance(event, AuthFailure | AuthSuccess)


def test_packets_outside_the_exchange_are_ignored() -> None:
    peer, auth = pair()
    auth.receive(encode_value_name(RESPONSE, 1, bytes(16), b"zaphod"), 0.0)  # not started
    assert auth.packets_to_send() == []
    peer.receive(encode_value_name(CHALLENGE, 1, b"c" * 16, b"server"), 0.0)  # not started
    assert peer.packets_to_send() == []
    assert "gargleBlaster" not in repr(peer) + repr(auth)
    auth.start(0.0)
    (challenge,) = auth.packets_to_send()
    auth.start(0.0)  # a second start is ignored
    assert auth.packets_to_send() == []
    # A Response whose Value-Size runs past the end is dropped; the challenge stays live.
    auth.receive(ControlPacket(RESPONSE, challenge.identifier, b"\x20abc"), 0.0)
    assert auth.packets_to_send() == []
    assert auth.get_timer() == 3.0


def test_hostile_challenger_name_is_escaped(caplog: pytest.LogCaptureFixture) -> None:
    peer = ChapPeer("arthur", None, secrets=CLIENT_SECRETS)
    peer.start(0.0)
    peer.receive(encode_value_name(CHALLENGE, 1, b"c" * 16, b'ev"il\x1b'), 0.0)
    assert 'No CHAP secret found for authenticating us to ev\\"il^[' in caplog.messages


def test_mutual_chap_with_both_engines_seeing_every_packet() -> None:
    # Each side runs an authenticator and a peer; the link feeds every CHAP packet to both.
    secrets = SecretsFile.parse("alpha beta a-to-b *\nbeta alpha b-to-a *\n")
    sides: dict[str, list[AuthEngine]] = {
        "alpha": [
            ChapAuthenticator("alpha", secrets, rng=seeded_rng(7)),
            ChapPeer("alpha", None, secrets=secrets),
        ],
        "beta": [
            ChapAuthenticator("beta", secrets, rng=seeded_rng(8)),
            ChapPeer("beta", None, secrets=secrets),
        ],
    }
    for engines in sides.values():
        for engine in engines:
            engine.start(0.0)
    for _ in range(5):
        for src, dst in (("alpha", "beta"), ("beta", "alpha")):
            for engine in sides[src]:
                for packet in engine.packets_to_send():
                    for target in sides[dst]:
                        target.receive(packet, 0.0)
    for name, engines in sides.items():
        events = [e for engine in engines for e in drain(engine)]
        assert all(isinstance(e, AuthSuccess) for e in events)
        assert sorted(
            (type(e).__name__, e.role.value) for e in events if isinstance(e, AuthSuccess)
        ) == [
            ("AuthSuccess", "authenticator"),
            ("AuthSuccess", "peer"),
        ], name
