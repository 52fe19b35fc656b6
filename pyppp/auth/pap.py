"""RFC 1334 PAP, both roles, with pppd's timers, limits, checks and log lines (``upap.c``).

Packets (RFC 1334 §2.2)::

    Authenticate-Request (1):  Peer-ID Length, Peer-ID, Passwd-Length, Password
    Authenticate-Ack (2) / Authenticate-Nak (3):  Msg-Length, Message

States follow pppd's ``upap.h``. The peer (client) sends an Authenticate-Request every
``pap-restart`` seconds (3), a new Identifier each time, until an Ack or Nak arrives or
``pap-max-authreq`` (10) requests went unanswered. The authenticator (server) waits up to
``pap-timeout`` seconds (30; 0 = forever) for the first request, checks it against pap-secrets
(and the system password database with ``login`` or a ``@login`` secret), answers Ack "Login ok"
or Nak "Login incorrect", and answers any later duplicate request with the same verdict and an
empty message (RFC 1334 §2.2.1: the authenticator "MUST" repeat its result, and the peer may
retransmit after the Ack was lost).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from enum import Enum
from ipaddress import IPv4Address
from typing import ClassVar

from pyppp.auth.base import (
    AUTH_FAILED,
    FAILED_TO_PEER,
    AuthenticatorEngine,
    AuthMethod,
    ExternalCheckNeeded,
    ExternalVerdict,
    LoginCheckNeeded,
    LoginThrottle,
    PeerEngine,
    decode_name,
    encode_name,
    quoted,
    visible,
)
from pyppp.packet import ControlPacket, PPPProtocol
from pyppp.pppd.secrets import SecretMatch, SecretsSource, get_pap_password
from pyppp.util import NOTICE

__all__ = [
    "AUTH_ACK",
    "AUTH_NAK",
    "AUTH_REQ",
    "PapAuthenticator",
    "PapClientState",
    "PapPeer",
    "PapServerState",
    "decode_auth_request",
    "encode_auth_request",
    "encode_response",
]

AUTH_REQ, AUTH_ACK, AUTH_NAK = 1, 2, 3
"""The PAP Codes (RFC 1334 §2.2)."""

# pppd's defaults: pap-restart (seconds between Authenticate-Requests), pap-max-authreq
# (requests sent before giving up), pap-timeout (seconds the authenticator waits for a
# request, pppd's UPAP_DEFREQTIME).
DEFAULT_RESTART, DEFAULT_MAX_AUTHREQ, DEFAULT_TIMEOUT = 3.0, 10, 30.0

MSG_OK, MSG_INCORRECT = "Login ok", "Login incorrect"
MSG_LOGIN_OK = "Success"
"""The Ack message after a system (PAM) login check: pppd sends PAM's text for PAM_SUCCESS."""


def encode_auth_request(identifier: int, user: bytes, password: bytes) -> ControlPacket:
    """Build an Authenticate-Request (RFC 1334 §2.2.1); fields are cut to 255 bytes."""
    user, password = user[:255], password[:255]
    data = bytes([len(user)]) + user + bytes([len(password)]) + password
    return ControlPacket(AUTH_REQ, identifier & 0xFF, data)


def decode_auth_request(data: bytes) -> tuple[bytes, bytes] | None:
    """Parse an Authenticate-Request body into ``(peer_id, password)``; ``None`` if too short."""
    if len(data) < 1:
        return None
    ulen = data[0]
    if len(data) < ulen + 2:
        return None
    plen = data[ulen + 1]
    if len(data) < ulen + 2 + plen:
        return None
    return data[1 : 1 + ulen], data[ulen + 2 : ulen + 2 + plen]


def encode_response(code: int, identifier: int, message: bytes) -> ControlPacket:
    """Build an Authenticate-Ack or -Nak (RFC 1334 §2.2.2) with its message cut to 255 bytes."""
    message = message[:255]
    return ControlPacket(code, identifier & 0xFF, bytes([len(message)]) + message)


def _decode_message(data: bytes) -> bytes | None:
    # pppd 2.4+: a missing Msg-Length is tolerated; a Msg-Length beyond the data is not.
    if not data:
        return b""
    mlen = data[0]
    if mlen and len(data) - 1 < mlen:
        return None
    return data[1 : 1 + mlen]


class PapClientState(Enum):
    """The peer's states (pppd ``upap.h`` ``UPAPCS_*``)."""

    INITIAL = "initial"
    AUTHREQ = "authreq"  # we've sent an Authenticate-Request
    OPEN = "open"  # we've received an Ack
    BADAUTH = "badauth"  # we've received a Nak or gave up


class PapPeer(PeerEngine):
    """PAP as the peer: authenticate ourselves to the remote (pppd ``upap`` client).

    Args:
        user: the name we authenticate as (``user`` option, default our name).
        password: the ``password`` option; ``None`` means "not given": look it up in
            pap-secrets (client = ``user``, server = ``remote_name`` or any).
        secrets: the pap-secrets file (used only when ``password`` is ``None``).
        remote_name: the ``remotename`` option, for the secrets lookup.
        restart: ``pap-restart`` seconds.
        max_authreq: ``pap-max-authreq``.
        logger: where pppd's log lines go.
    """

    protocol: ClassVar[int] = PPPProtocol.PAP

    def __init__(
        self,
        user: str,
        password: str | None = None,
        *,
        secrets: SecretsSource | None = None,
        remote_name: str | None = None,
        restart: float = DEFAULT_RESTART,
        max_authreq: int = DEFAULT_MAX_AUTHREQ,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(user, password, secrets=secrets, remote_name=remote_name, logger=logger)
        self.restart = restart
        self.max_authreq = max_authreq
        self.state = PapClientState.INITIAL
        self.identifier = 0
        self.transmits = 0

    def __repr__(self) -> str:
        return f"PapPeer(user={self.user!r}, state={self.state.value})"

    def start(self, now: float) -> None:
        """Send the first Authenticate-Request."""
        if self._password is None:
            found = get_pap_password(self._secrets, self.user, self.remote_name)
            if found is None:
                self.logger.error("No secret found for PAP login")
                found = ""
            self._password = found
        self.transmits = 0
        self._send_request(now)

    def _send_request(self, now: float) -> None:
        # pppd increments the Identifier for every transmission, retransmissions included.
        self.identifier = (self.identifier + 1) & 0xFF
        self._send(
            encode_auth_request(
                self.identifier, encode_name(self.user), encode_name(self._password or "")
            )
        )
        self.transmits += 1
        self._deadline = now + self.restart
        self.state = PapClientState.AUTHREQ

    def handle_timer(self, now: float) -> None:
        """Retransmit, or give up after ``pap-max-authreq`` requests."""
        if not self._timer_due(now) or self.state is not PapClientState.AUTHREQ:
            return
        if self.transmits >= self.max_authreq:
            self.logger.error("No response to PAP authenticate-requests")
            self._fail("No response to PAP authenticate-requests")
            return
        self._send_request(now)

    def receive(self, packet: ControlPacket, now: float) -> None:
        """Handle an Authenticate-Ack or -Nak; other codes belong to the authenticator."""
        if packet.code not in (AUTH_ACK, AUTH_NAK):
            return
        if self.state is not PapClientState.AUTHREQ:
            self._discard("not waiting for a PAP response", packet)
            return
        # pppd accepts the verdict whatever its Identifier: every request we sent carried the
        # same credentials, so an answer to an earlier retransmission is just as valid.
        message = _decode_message(packet.data)
        if message is None:
            self._discard("Msg-Length beyond the packet", packet)
            return
        if message:
            self.logger.info("Remote message: %s", visible(message))
        self._deadline = None
        if packet.code == AUTH_ACK:
            self.state = PapClientState.OPEN
            self.logger.log(NOTICE, "PAP authentication succeeded")
            self._succeeded()
        else:
            self.logger.error("PAP authentication failed")
            self._fail()

    def _fail(self, reason: str = FAILED_TO_PEER) -> None:
        self.state = PapClientState.BADAUTH
        self._deadline = None
        self._failed(reason)

    def protocol_rejected(self, now: float) -> None:
        """The peer rejected PAP: authentication cannot succeed."""
        if self.state is PapClientState.AUTHREQ:
            self.logger.error("PAP authentication failed due to protocol-reject")
            self._fail()
        self.stop()

    def stop(self) -> None:
        """Cancel the retransmission timer."""
        self._deadline = None
        if self.state is PapClientState.AUTHREQ:
            self.state = PapClientState.INITIAL


class PapServerState(Enum):
    """The authenticator's states (pppd ``upap.h`` ``UPAPSS_*``, plus pyppp's two waits)."""

    INITIAL = "initial"
    LISTEN = "listen"  # waiting for an Authenticate-Request
    CHECKING = "checking"  # waiting for the shell's system password check
    DELAYING = "delaying"  # holding a Nak back (brute-force throttle)
    OPEN = "open"  # we've sent an Ack
    BADAUTH = "badauth"  # we've sent a Nak


CryptCheck = Callable[[str, str], bool]
"""``crypt_check(password, hashed) -> bool``: a crypt(3) comparison supplied by the shell."""


class PapAuthenticator(AuthenticatorEngine):
    """PAP as the authenticator: check the peer's name and password (pppd ``upap`` server).

    pppd ``check_passwd`` semantics:

    * no pap-secrets line for (client = the peer's name, server = ``our_name``):
      "no PAP secret found for %s", Nak;
    * a non-empty secret must equal the password; if it does not (or always, with
      ``papcrypt``), the password is checked as a crypt(3) hash against the secret through
      ``crypt_check``, when the shell supplies one;
    * with ``login``, or when the secret is ``@login``, the system password database must
      accept the name and password too (`LoginCheckNeeded`);
    * an empty secret without ``login`` accepts any password.

    Args:
        our_name: our name (``name`` option; the server field of the secrets lookup).
        secrets: the pap-secrets file.
        login: the ``login`` option.
        papcrypt: the ``papcrypt`` option (never compare the secret as plain text).
        crypt_check: crypt(3) comparison, from the shell; without it hashes never match.
        timeout: ``pap-timeout`` seconds to wait for a request (0: wait forever).
        throttle: the process-wide failure counter (see `LoginThrottle`).
        device: the device (pppd ``devnam``, e.g. ``/dev/ttyS1``) for
            "%d LOGIN FAILURES ON %s, %s" and, without ``/dev/``, the login line.
        ifname: the interface name for "user %s logged in on tty %s intf %s".
        unit: the ppp unit number, for ``/n+`` address words.
        resolve_host: resolver for host names in address words (from the shell).
        logger: where pppd's log lines go.
    """

    protocol: ClassVar[int] = PPPProtocol.PAP

    def __init__(
        self,
        our_name: str,
        secrets: SecretsSource | None,
        *,
        login: bool = False,
        papcrypt: bool = False,
        crypt_check: CryptCheck | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        throttle: LoginThrottle | None = None,
        device: str = "",
        ifname: str = "",
        unit: int = 0,
        resolve_host: Callable[[str], IPv4Address | None] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(our_name, secrets, unit=unit, resolve_host=resolve_host, logger=logger)
        self.login = login
        self.papcrypt = papcrypt
        self._crypt_check = crypt_check
        self.timeout = timeout
        self.throttle = throttle if throttle is not None else LoginThrottle()
        self.device = device
        self.ifname = ifname
        self.state = PapServerState.INITIAL
        self._next_request_id = 1
        # The request being decided: (request id, Identifier, user, matched line).
        # (None for the line while an outside server decides.)
        self._pending: tuple[int, int, str, SecretMatch | None] | None = None
        self._pending_nak: tuple[int, str, bool] | None = None  # (Identifier, user, too_many)
        self._used_login = False

    def __repr__(self) -> str:
        return f"PapAuthenticator(our_name={self.our_name!r}, state={self.state.value})"

    def start(self, now: float) -> None:
        """Start listening for an Authenticate-Request (and the ``pap-timeout`` clock)."""
        self._prefetch()
        self.state = PapServerState.LISTEN
        self._deadline = now + self.timeout if self.timeout > 0 else None

    def handle_timer(self, now: float) -> None:
        """``pap-timeout`` expiry, or the end of a throttled Nak's delay."""
        if not self._timer_due(now):
            return
        if self.state is PapServerState.LISTEN:
            # pppd upap_reqtimeout(): fails silently; say why at debug level.
            self.logger.debug("PAP: no Authenticate-Request within %g seconds", self.timeout)
            self.state = PapServerState.BADAUTH
            self._peer_failed()
        elif self.state is PapServerState.DELAYING and self._pending_nak is not None:
            identifier, user, too_many = self._pending_nak
            self._pending_nak = None
            self._send_nak(identifier, user, too_many)

    def receive(self, packet: ControlPacket, now: float) -> None:
        """Handle an Authenticate-Request; other codes belong to the peer engine."""
        if packet.code != AUTH_REQ:
            return
        match self.state:
            case PapServerState.OPEN:
                self._send(encode_response(AUTH_ACK, packet.identifier, b""))
                return
            case PapServerState.BADAUTH:
                self._send(encode_response(AUTH_NAK, packet.identifier, b""))
                return
            case PapServerState.LISTEN:
                pass
            case _:
                # INITIAL: not started; CHECKING/DELAYING: the verdict is on its way and the
                # peer will retransmit, so a duplicate needs no answer of its own.
                self._discard(f"Authenticate-Request in state {self.state.value}", packet)
                return
        fields = decode_auth_request(packet.data)
        if fields is None:
            self._discard("short Authenticate-Request", packet)
            return
        self._deadline = None  # pppd cancels pap-timeout once a request is checked
        # pppd checks the name in its %v (visible) form; passwords are compared raw.
        user = visible(fields[0])
        password = decode_name(fields[1])
        self._check(packet.identifier, user, password, now)

    def _check(self, identifier: int, user: str, password: str, now: float) -> None:
        if self.external:
            # RADIUS (pppd radius.so's pap_auth_hook): the server decides, not pap-secrets.
            request_id = self._new_external_id()
            self._pending = (request_id, identifier, user, None)
            self.state = PapServerState.CHECKING
            self._ask_external(ExternalCheckNeeded(request_id, AuthMethod.PAP, user, password))
            return
        match = self._lookup(user)
        if match is None:
            self.logger.warning("no PAP secret found for %s", user)
            self._reject(identifier, user, now)
            return
        login_secret = match.secret == "@login"
        if match.secret and not login_secret and not self._secret_matches(password, match.secret):
            self._reject(identifier, user, now)
            return
        if self.login or login_secret:
            request_id = self._next_request_id
            self._next_request_id += 1
            self._pending = (request_id, identifier, user, match)
            self.state = PapServerState.CHECKING
            self._emit(LoginCheckNeeded(request_id, user, password))
            return
        self._accept(identifier, user, match)

    def _secret_matches(self, password: str, secret: str) -> bool:
        if not self.papcrypt and hmac.compare_digest(encode_name(password), encode_name(secret)):
            return True
        if self._crypt_check is None:
            return False
        try:
            return bool(self._crypt_check(password, secret))
        except Exception:  # a broken hash in the file is a non-match, never a crash
            return False

    def external_result(self, request_id: int, verdict: ExternalVerdict, now: float) -> None:
        """The outside server's answer to an `ExternalCheckNeeded` (stale ids are ignored)."""
        pending = self._pending
        if pending is None or pending[0] != request_id or pending[3] is not None:
            self.logger.debug("PAP: ignoring stale external result %d", request_id)
            return
        if self.state is not PapServerState.CHECKING:
            return
        _, identifier, user, _ = pending
        self._pending = None
        if not verdict.ok:
            self._reject(identifier, user, now)
            return
        self._accept(identifier, user, self._external_match(user, verdict))

    def login_result(self, request_id: int, ok: bool, now: float) -> None:
        """The shell's answer to a `LoginCheckNeeded`.

        Args:
            request_id: the id from the request; stale ids are ignored.
            ok: the system accepted the name and password.
            now: the caller's clock.
        """
        if self._pending is None or self._pending[0] != request_id:
            self.logger.debug("PAP: ignoring stale login result %d", request_id)
            return
        if self.state is not PapServerState.CHECKING:
            return
        _, identifier, user, match = self._pending
        if match is None:  # (an outside server's request: not the system's to answer)
            return
        self._pending = None
        if not ok:
            self._reject(identifier, user, now)
            return
        self._used_login = True
        tty = self.device.removeprefix("/dev/")  # pppd session.c logs the tty without /dev/
        self.logger.info("user %s logged in on tty %s intf %s", user, tty, self.ifname)
        self._accept(identifier, user, match)

    def _accept(self, identifier: int, user: str, match: SecretMatch) -> None:
        self.throttle.record_success()
        # pppd session.c: a `login` check leaves pam_strerror(PAM_SUCCESS) as the message, so
        # the HOWTO's client prints "Remote message: Success".
        message = MSG_LOGIN_OK if self._used_login else MSG_OK
        self._send(encode_response(AUTH_ACK, identifier, message.encode()))
        self.state = PapServerState.OPEN
        self.logger.log(NOTICE, "PAP peer authentication succeeded for %s", quoted(user))
        self.logger.log(NOTICE, "Peer %s authenticated with PAP", quoted(user))
        self._peer_succeeded(user, match, login=self._used_login)

    def _reject(self, identifier: int, user: str, now: float) -> None:
        attempts, delay, too_many = self.throttle.record_failure()
        if too_many:
            self.logger.warning("%d LOGIN FAILURES ON %s, %s", attempts, self.device, user)
        if delay > 0:
            # pppd sleep()s here, blocking everything; we hold the Nak (and the verdict)
            # back on the timer so a password guesser learns nothing sooner.
            self.state = PapServerState.DELAYING
            self._pending_nak = (identifier, user, too_many)
            self._deadline = now + delay
            return
        self._send_nak(identifier, user, too_many)

    def _send_nak(self, identifier: int, user: str, too_many: bool) -> None:
        self._send(encode_response(AUTH_NAK, identifier, MSG_INCORRECT.encode()))
        self.state = PapServerState.BADAUTH
        self.logger.warning("PAP peer authentication failed for %s", quoted(user))
        self._peer_failed("login failed" if too_many else AUTH_FAILED)

    def protocol_rejected(self, now: float) -> None:
        """The peer rejected PAP: it cannot authenticate itself."""
        if self.state is PapServerState.LISTEN:
            self.logger.error("PAP authentication of peer failed (protocol-reject)")
            self._peer_failed()
        self.stop()

    def stop(self) -> None:
        """Cancel timers and forget a pending check or delayed Nak."""
        self._deadline = None
        self._pending = None
        self._pending_nak = None
        self.state = PapServerState.INITIAL
