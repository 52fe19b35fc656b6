"""RFC 1334 PAP engines, both roles, back to back on a manual clock; pppd's checks and logs."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyppp.auth.base import (
    AuthFailure,
    AuthSuccess,
    LoginCheckNeeded,
    LoginThrottle,
    Role,
    print_string,
    quoted,
    trace_body,
    visible,
)
from pyppp.auth.pap import (
    AUTH_ACK,
    AUTH_NAK,
    AUTH_REQ,
    PapAuthenticator,
    PapPeer,
    decode_auth_request,
    encode_auth_request,
    encode_response,
)
from pyppp.packet import ControlPacket, PPPProtocol
from pyppp.pppd.secrets import SecretsFile
from tests.authpair import (
    assert_never_logged,
    authenticate,
    authenticator_failed,
    drain,
    feed_garbage,
    peer_failed,
)

SECRETS = SecretsFile.parse(
    "zaphod server gargleBlaster 10.0.0.2\n"
    "ford server @login *\n"
    "marvin server '' !10.0.0.7 10.0.0.0/24 -- ms-dns 10.0.0.53\n"
    "trillian server $1$salt$hash *\n"
)
PASSWORDS = ("gargleBlaster", "wrongPassword", "sekrit-login", "hunter2")


@pytest.fixture(autouse=True)
def _no_password_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield from assert_never_logged(caplog, PASSWORDS)


def pair(
    password: str | None = "gargleBlaster", user: str = "zaphod", **server: object
) -> tuple[PapPeer, PapAuthenticator]:
    peer = PapPeer(user, password)
    auth = PapAuthenticator("server", SECRETS, device="/dev/ttyS1", ifname="ppp0", **server)  # type: ignore[arg-type]
    return peer, auth


# --- codec -----------------------------------------------------------------------------------


def test_codec_round_trip() -> None:
    packet = encode_auth_request(1, b"zaphod", b"gargleBlaster")
    assert packet.encode() == bytes.fromhex("01010019") + b"\x06zaphod\x0dgargleBlaster"
    assert decode_auth_request(packet.data) == (b"zaphod", b"gargleBlaster")
    assert decode_auth_request(b"") is None
    assert decode_auth_request(b"\x05abc") is None
    assert decode_auth_request(b"\x01a\x05abc") is None
    assert decode_auth_request(b"\x00\x00") == (b"", b"")
    assert encode_response(AUTH_ACK, 7, b"Login ok").encode() == b"\x02\x07\x00\x0d\x08Login ok"


def test_trace_body_pppd_grammar() -> None:
    req = encode_auth_request(1, b"zaphod", b"gargleBlaster")
    assert trace_body(PPPProtocol.PAP, req) == 'AuthReq id=0x1 user="zaphod" password=<hidden>'
    assert trace_body(PPPProtocol.PAP, req, show_password=True) == (
        'AuthReq id=0x1 user="zaphod" password="gargleBlaster"'
    )
    ack = encode_response(AUTH_ACK, 1, b"Login ok")
    assert trace_body(PPPProtocol.PAP, ack) == 'AuthAck id=0x1 "Login ok"'
    nak = encode_response(AUTH_NAK, 0x2A, b'say "no"\n')
    assert trace_body(PPPProtocol.PAP, nak) == 'AuthNak id=0x2a "say \\"no\\"\\n"'
    assert trace_body(PPPProtocol.PAP, ControlPacket(9, 3, b"\x01\x02")) == "code=0x9 id=0x3 01 02"
    # pppd prints a malformed request's bytes, which may hold the password: we never do,
    # unless show-password asks for it.
    assert trace_body(PPPProtocol.PAP, ControlPacket(AUTH_REQ, 1, b"\x05ab")) == (
        "AuthReq id=0x1 <3 octets, malformed, hidden>"
    )
    assert trace_body(
        PPPProtocol.PAP, ControlPacket(AUTH_REQ, 1, b"\x05ab"), show_password=True
    ) == ("AuthReq id=0x1 05 61 62")
    assert trace_body(PPPProtocol.PAP, ControlPacket(AUTH_ACK, 1, b"")) == "AuthAck id=0x1"


# --- both roles back to back -----------------------------------------------------------------


def test_success_back_to_back(caplog: pytest.LogCaptureFixture) -> None:
    peer, auth = pair()
    crossed = authenticate(peer, auth)
    assert [p.code for p in crossed] == [AUTH_REQ, AUTH_ACK]
    assert crossed[0].identifier == 1
    assert crossed[1] == encode_response(AUTH_ACK, 1, b"Login ok")
    (ok,) = drain(peer)
    assert ok == AuthSuccess(Role.PEER, PPPProtocol.PAP, "zaphod")
    (success,) = drain(auth)
    assert isinstance(success, AuthSuccess)
    assert success.role is Role.AUTHENTICATOR
    assert success.name == "zaphod"
    assert success.address_words == ("10.0.0.2",)
    assert success.addresses is not None
    assert success.addresses.permits(IPv4Address("10.0.0.2"))
    assert not success.addresses.permits(IPv4Address("10.0.0.3"))
    assert not success.login
    assert peer.get_timer() is None
    assert auth.get_timer() is None
    messages = caplog.messages
    assert "Remote message: Login ok" in messages
    assert "PAP authentication succeeded" in messages
    assert "PAP peer authentication succeeded for zaphod" in messages
    assert "Peer zaphod authenticated with PAP" in messages


def test_wrong_password(caplog: pytest.LogCaptureFixture) -> None:
    peer, auth = pair(password="wrongPassword")
    crossed = authenticate(peer, auth)
    assert crossed[1] == encode_response(AUTH_NAK, 1, b"Login incorrect")
    assert drain(peer) == [peer_failed(PPPProtocol.PAP)]
    assert drain(auth) == [authenticator_failed(PPPProtocol.PAP)]
    assert "PAP peer authentication failed for zaphod" in caplog.messages
    assert "PAP authentication failed" in caplog.messages
    assert "Remote message: Login incorrect" in caplog.messages


def test_unknown_user(caplog: pytest.LogCaptureFixture) -> None:
    peer, auth = pair(user="arthur")
    authenticate(peer, auth)
    assert "no PAP secret found for arthur" in caplog.messages
    assert isinstance(drain(auth)[0], AuthFailure)


def test_no_secrets_file_at_all() -> None:
    peer = PapPeer("zaphod", "gargleBlaster")
    auth = PapAuthenticator("server", None)
    authenticate(peer, auth)
    assert isinstance(drain(auth)[0], AuthFailure)


def test_empty_secret_accepts_any_password_without_login() -> None:
    peer, auth = pair(password="hunter2", user="marvin")
    authenticate(peer, auth)
    (success,) = drain(auth)
    assert isinstance(success, AuthSuccess)
    assert success.options == ("ms-dns", "10.0.0.53")
    assert success.addresses is not None
    assert success.addresses.permits(IPv4Address("10.0.0.8"))
    assert not success.addresses.permits(IPv4Address("10.0.0.7"))


def test_peer_reads_password_from_pap_secrets(caplog: pytest.LogCaptureFixture) -> None:
    client_secrets = SecretsFile.parse("zaphod * gargleBlaster\n")
    peer = PapPeer("zaphod", None, secrets=client_secrets)
    auth = PapAuthenticator("server", SECRETS)
    authenticate(peer, auth)
    assert isinstance(drain(peer)[0], AuthSuccess)
    # No secret at all: pppd logs it and sends an empty password.
    peer = PapPeer("nobody", None, secrets=client_secrets)
    peer.start(0.0)
    (packet,) = peer.packets_to_send()
    assert decode_auth_request(packet.data) == (b"nobody", b"")
    assert "No secret found for PAP login" in caplog.messages


def test_explicit_empty_password_is_not_looked_up() -> None:
    peer = PapPeer("zaphod", "", secrets=SecretsFile.parse("zaphod * gargleBlaster\n"))
    peer.start(0.0)
    (packet,) = peer.packets_to_send()
    assert decode_auth_request(packet.data) == (b"zaphod", b"")


# --- timers and limits -----------------------------------------------------------------------


def test_peer_that_never_answers(caplog: pytest.LogCaptureFixture) -> None:
    peer = PapPeer("zaphod", "gargleBlaster")
    peer.start(100.0)
    ids = [p.identifier for p in peer.packets_to_send()]
    times = [100.0]
    while (deadline := peer.get_timer()) is not None:
        peer.handle_timer(deadline)
        sent = peer.packets_to_send()
        if sent:
            times.append(deadline)
            ids.extend(p.identifier for p in sent)
    assert ids == list(range(1, 11))  # pap-max-authreq 10, a new id each time
    assert times == [100.0 + 3 * i for i in range(10)]  # pap-restart 3 s
    assert drain(peer) == [
        AuthFailure(Role.PEER, PPPProtocol.PAP, "No response to PAP authenticate-requests", 19)
    ]
    assert "No response to PAP authenticate-requests" in caplog.messages


def test_early_timer_call_is_harmless() -> None:
    peer = PapPeer("zaphod", "x", restart=5.0, max_authreq=2)
    peer.start(0.0)
    peer.packets_to_send()
    peer.handle_timer(1.0)
    assert peer.packets_to_send() == []
    assert peer.get_timer() == 5.0


def test_authenticator_pap_timeout() -> None:
    auth = PapAuthenticator("server", SECRETS)
    auth.start(10.0)
    assert auth.get_timer() == 40.0  # pppd UPAP_DEFREQTIME 30 s
    auth.handle_timer(39.9)
    assert drain(auth) == []
    auth.handle_timer(40.0)
    assert drain(auth) == [authenticator_failed(PPPProtocol.PAP)]
    forever = PapAuthenticator("server", SECRETS, timeout=0)
    forever.start(0.0)
    assert forever.get_timer() is None


def test_late_ack_for_an_earlier_id_is_accepted() -> None:
    peer = PapPeer("zaphod", "gargleBlaster")
    peer.start(0.0)
    peer.handle_timer(3.0)
    assert [p.identifier for p in peer.packets_to_send()] == [1, 2]
    peer.receive(encode_response(AUTH_ACK, 1, b""), 3.5)
    assert isinstance(drain(peer)[0], AuthSuccess)
    # Further verdicts are ignored once decided.
    peer.receive(encode_response(AUTH_NAK, 2, b""), 3.6)
    assert drain(peer) == []
    assert peer.discarded == 1


def test_duplicate_requests_get_the_same_verdict() -> None:
    peer, auth = pair()
    authenticate(peer, auth)
    drain(auth)
    # The peer lost our Ack and retransmits with a new id: Ack again, empty message.
    auth.receive(encode_auth_request(2, b"zaphod", b"gargleBlaster"), 3.0)
    assert auth.packets_to_send() == [encode_response(AUTH_ACK, 2, b"")]
    assert drain(auth) == []
    peer, auth = pair(password="wrongPassword")
    authenticate(peer, auth)
    auth.receive(encode_auth_request(2, b"zaphod", b"gargleBlaster"), 3.0)
    assert auth.packets_to_send() == [encode_response(AUTH_NAK, 2, b"")]


def test_protocol_reject(caplog: pytest.LogCaptureFixture) -> None:
    peer = PapPeer("zaphod", "x")
    peer.start(0.0)
    peer.protocol_rejected(1.0)
    assert drain(peer)[0] == peer_failed(PPPProtocol.PAP)
    assert peer.get_timer() is None
    auth = PapAuthenticator("server", SECRETS)
    auth.start(0.0)
    auth.protocol_rejected(1.0)
    assert isinstance(drain(auth)[0], AuthFailure)
    assert "PAP authentication failed due to protocol-reject" in caplog.messages
    assert "PAP authentication of peer failed (protocol-reject)" in caplog.messages


# --- system login ----------------------------------------------------------------------------


def test_login_check_is_requested_and_answered(caplog: pytest.LogCaptureFixture) -> None:
    peer, auth = pair(password="sekrit-login", user="ford")
    authenticate(peer, auth)
    (request,) = drain(auth)
    assert isinstance(request, LoginCheckNeeded)
    assert (request.user, request.password) == ("ford", "sekrit-login")
    assert "sekrit-login" not in repr(request)
    assert auth.get_timer() is None  # waiting for the shell, not the clock
    auth.login_result(request.request_id + 1, True, 0.5)  # stale id: ignored
    assert auth.packets_to_send() == []
    auth.login_result(request.request_id, True, 0.5)
    # pppd's message after a PAM login is PAM's "Success" (the HOWTO client prints it).
    assert auth.packets_to_send() == [encode_response(AUTH_ACK, 1, b"Success")]
    (success,) = drain(auth)
    assert isinstance(success, AuthSuccess)
    assert success.login
    assert "user ford logged in on tty ttyS1 intf ppp0" in caplog.messages
    auth.login_result(request.request_id, False, 0.6)  # a second answer changes nothing
    assert auth.packets_to_send() == []


def test_login_refused() -> None:
    peer, auth = pair(password="wrongPassword", user="ford")
    authenticate(peer, auth)
    (request,) = drain(auth)
    assert isinstance(request, LoginCheckNeeded)
    auth.login_result(request.request_id, False, 1.0)
    assert auth.packets_to_send() == [encode_response(AUTH_NAK, 1, b"Login incorrect")]
    assert isinstance(drain(auth)[0], AuthFailure)


def test_login_option_with_catch_all_line_means_system_passwords_only() -> None:
    catch_all = SecretsFile.parse('* * "" *\n')
    auth = PapAuthenticator("server", catch_all, login=True)
    auth.start(0.0)
    auth.receive(encode_auth_request(1, b"anyone", b"hunter2"), 0.0)
    (request,) = drain(auth)
    assert isinstance(request, LoginCheckNeeded)
    assert auth.packets_to_send() == []
    # With login a secret in the file must match first: no PAM call for a wrong one.
    auth = PapAuthenticator("server", SECRETS, login=True)
    auth.start(0.0)
    auth.receive(encode_auth_request(1, b"zaphod", b"wrongPassword"), 0.0)
    assert isinstance(drain(auth)[0], AuthFailure)


def test_stop_forgets_a_pending_login_check() -> None:
    auth = PapAuthenticator("server", SECRETS)
    auth.start(0.0)
    auth.receive(encode_auth_request(1, b"ford", b"x"), 0.0)
    (request,) = drain(auth)
    assert isinstance(request, LoginCheckNeeded)
    auth.stop()
    auth.login_result(request.request_id, True, 1.0)
    assert auth.packets_to_send() == []
    assert drain(auth) == []


def test_duplicate_during_login_check_is_ignored() -> None:
    auth = PapAuthenticator("server", SECRETS)
    auth.start(0.0)
    auth.receive(encode_auth_request(1, b"ford", b"x"), 0.0)
    auth.receive(encode_auth_request(2, b"ford", b"x"), 3.0)
    assert len(drain(auth)) == 1
    assert auth.packets_to_send() == []


# --- crypt(3) secrets ------------------------------------------------------------------------


def test_crypt_hashes_in_pap_secrets() -> None:
    calls: list[tuple[str, str]] = []

    def fake_crypt(password: str, hashed: str) -> bool:
        calls.append((password, hashed))
        return password == "hunter2" and hashed == "$1$salt$hash"

    auth = PapAuthenticator("server", SECRETS, crypt_check=fake_crypt)
    auth.start(0.0)
    auth.receive(encode_auth_request(1, b"trillian", b"hunter2"), 0.0)
    assert isinstance(drain(auth)[0], AuthSuccess)
    assert calls == [("hunter2", "$1$salt$hash")]
    # papcrypt: the plain comparison is skipped, so a plain secret no longer matches.
    auth = PapAuthenticator("server", SECRETS, papcrypt=True, crypt_check=fake_crypt)
    auth.start(0.0)
    auth.receive(encode_auth_request(1, b"zaphod", b"gargleBlaster"), 0.0)
    assert isinstance(drain(auth)[0], AuthFailure)
    # A crypt function that raises is a non-match, not a crash.
    auth = PapAuthenticator("server", SECRETS, crypt_check=lambda p, h: 1 / 0 > 0)
    auth.start(0.0)
    auth.receive(encode_auth_request(1, b"trillian", b"hunter2"), 0.0)
    assert isinstance(drain(auth)[0], AuthFailure)


# --- brute-force throttle --------------------------------------------------------------------


def attempt(throttle: LoginThrottle, password: bytes, now: float) -> PapAuthenticator:
    auth = PapAuthenticator("server", SECRETS, throttle=throttle, device="/dev/ttyS1")
    auth.start(now)
    auth.receive(encode_auth_request(1, b"zaphod", password), now)
    return auth


def test_throttle_delays_naks_then_gives_up(caplog: pytest.LogCaptureFixture) -> None:
    throttle = LoginThrottle()
    delays = []
    for n in range(1, 12):
        auth = attempt(throttle, b"wrongPassword", 0.0)
        sent = auth.packets_to_send()
        if sent:
            delays.append(0.0)
            events = drain(auth)
        else:
            assert drain(auth) == []  # the verdict is held back with the Nak
            deadline = auth.get_timer()
            assert deadline is not None
            auth.handle_timer(deadline - 0.001)
            assert auth.packets_to_send() == []
            auth.handle_timer(deadline)
            assert auth.packets_to_send() == [encode_response(AUTH_NAK, 1, b"Login incorrect")]
            delays.append(deadline)
            events = drain(auth)
        (failure,) = events
        assert isinstance(failure, AuthFailure)
        assert failure.reason == ("login failed" if n == 11 else "Authentication failed")
    # pppd: attempts > 3 -> sleep((attempts - 3) * 5)
    assert delays == [0, 0, 0, 5, 10, 15, 20, 25, 30, 35, 40]
    assert "11 LOGIN FAILURES ON /dev/ttyS1, zaphod" in caplog.messages
    assert not any("10 LOGIN FAILURES" in m for m in caplog.messages)
    # A success resets the count.
    auth = attempt(throttle, b"gargleBlaster", 0.0)
    assert isinstance(drain(auth)[0], AuthSuccess)
    assert throttle.attempts == 0


# --- garbage from the line -------------------------------------------------------------------


@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=600))
@settings(max_examples=300)
def test_garbage_never_raises(code: int, identifier: int, data: bytes) -> None:
    packet = ControlPacket(code, identifier, data)
    peer = PapPeer("zaphod", "gargleBlaster")
    auth = PapAuthenticator("server", SECRETS)
    feed_garbage((peer, auth), packet, later=100.0)
    trace_body(PPPProtocol.PAP, packet)
    trace_body(PPPProtocol.PAP, packet, show_password=True)


# --- pppd's string formats and odd but legal packets ------------------------------------------


def test_pppd_string_formats() -> None:
    assert visible(b"a\x01\tb\x7f\xe9") == "a^A\tb^?M-i"
    assert quoted(b'a"b\\c\n\x01\x85\xe9') == 'a\\"b\\\\c\\n\\x01\\x85\\xe9'
    assert print_string(b'a"\\\n\r\t\x01\xff') == '"a\\"\\\\\\n\\r\\t\\001\\377"'


def test_hostile_peer_name_is_escaped_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    auth = PapAuthenticator("server", SECRETS)
    auth.start(0.0)
    auth.receive(encode_auth_request(1, b'za"p\x01', b"x"), 0.0)
    assert 'no PAP secret found for za"p^A' in caplog.messages
    assert 'PAP peer authentication failed for za\\"p^A' in caplog.messages


def test_verdict_message_variants(caplog: pytest.LogCaptureFixture) -> None:
    for data, accepted in ((b"", True), (b"\x00", True), (b"\x05ab", False), (b"\x02ok!", True)):
        peer = PapPeer("zaphod", "x")
        peer.start(0.0)
        peer.receive(ControlPacket(AUTH_ACK, 1, data), 0.0)
        assert bool(drain(peer)) is accepted, data
    assert caplog.messages.count("Remote message: ok") == 1


def test_packets_outside_the_exchange_are_ignored() -> None:
    peer = PapPeer("zaphod", "gargleBlaster")
    peer.receive(encode_response(AUTH_ACK, 1, b""), 0.0)  # before start
    assert drain(peer) == []
    assert "gargleBlaster" not in repr(peer)
    auth = PapAuthenticator("server", SECRETS)
    auth.receive(encode_auth_request(1, b"zaphod", b"gargleBlaster"), 0.0)  # before start
    assert auth.packets_to_send() == []
    assert repr(auth) == "PapAuthenticator(our_name='server', state=initial)"
    auth.start(0.0)
    auth.receive(ControlPacket(AUTH_REQ, 2, b"\x09zap"), 0.0)  # short: dropped, still listening
    assert auth.packets_to_send() == []
    assert auth.discarded == 2
    assert auth.get_timer() == 30.0
