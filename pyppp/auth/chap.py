"""RFC 1994 CHAP with MD5, both roles, with pppd's timers and log lines (``chap-new.c``).

Packets (RFC 1994 §4.1, §4.2)::

    Challenge (1) / Response (2):  Value-Size, Value, Name
    Success (3) / Failure (4):     Message

The Response Value is ``MD5(Identifier || secret || Challenge Value)`` (RFC 1994 §4.1, with
the MD5 algorithm of RFC 1321).

The authenticator sends a Challenge of 16 to 23 random octets (pppd ``chap-md5.c``) with our
name, a random first Identifier and a new Identifier for each new challenge. It retransmits the
same Challenge every ``chap-restart`` seconds (3) and gives up after ``chap-max-challenge`` (10)
transmissions. A Response is accepted only for the outstanding Identifier; the answer is Success
"Access granted" or Failure "Access denied". RFC 1994 §4.2: the authenticator must answer a
repeated Response after it has decided, so a duplicate gets the same verdict again. With
``chap-interval`` N the peer is challenged again N seconds after each success; failing a
re-challenge ends the link.

The peer answers every Challenge with the secret for (our name, the challenger's name) from
chap-secrets, or the ``password`` option. It accepts the first Success/Failure whose Identifier
matches the Response it sent (older ones are stale and ignored) and ignores later ones, as pppd
does after a re-challenge. It gives up if no verdict comes within ``chap-timeout`` seconds (60).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import ClassVar, Final

from pyppp.auth.base import (
    EXIT_AUTH_TOPEER_FAILED,
    EXIT_PEER_AUTH_FAILED,
    AuthEngine,
    AuthFailure,
    AuthSuccess,
    Role,
    encode_name,
    quoted,
    visible,
)
from pyppp.ipcp.negotiator import AddressPolicy
from pyppp.packet import ControlPacket, PPPProtocol
from pyppp.pppd.secrets import MAXSECRETLEN, SecretMatch, SecretsSource
from pyppp.util import NOTICE, Rng

_AUTH_FAILED: Final = "Authentication failed"
"""pppd's LCP close reason when the peer fails (``auth_peer_fail``)."""

__all__ = [
    "CHALLENGE",
    "FAILURE",
    "RESPONSE",
    "SUCCESS",
    "ChapAuthenticator",
    "ChapPeer",
    "chap_md5",
    "decode_value_name",
    "encode_value_name",
]

CHALLENGE: Final = 1
RESPONSE: Final = 2
SUCCESS: Final = 3
FAILURE: Final = 4

MD5: Final = 5
"""The LCP Authentication-Protocol algorithm octet for CHAP with MD5 (RFC 1994 §3)."""

MD5_HASH_SIZE: Final = 16
MIN_CHALLENGE: Final = 16
MAX_CHALLENGE: Final = 24  # exclusive, as pppd: lengths 16..23

DEFAULT_RESTART: Final = 3.0
"""``chap-restart``: seconds between retransmitted Challenges."""
DEFAULT_MAX_CHALLENGE: Final = 10
"""``chap-max-challenge``: Challenge transmissions before giving up."""
DEFAULT_INTERVAL: Final = 0.0
"""``chap-interval``: seconds between re-challenges (0: never)."""
DEFAULT_CLIENT_TIMEOUT: Final = 60.0
"""``chap-timeout``: seconds the peer waits for a verdict (pppd 2.4.9+)."""

MSG_GRANTED: Final = "Access granted"
MSG_DENIED: Final = "Access denied"


def chap_md5(identifier: int, secret: bytes, challenge: bytes) -> bytes:
    """Return the CHAP-MD5 Response Value: MD5(Identifier || secret || Challenge) (RFC 1994)."""
    return hashlib.md5(bytes([identifier & 0xFF]) + secret + challenge).digest()


def encode_value_name(code: int, identifier: int, value: bytes, name: bytes) -> ControlPacket:
    """Build a Challenge or Response packet (Value cut to 255 octets)."""
    value = value[:255]
    return ControlPacket(code, identifier & 0xFF, bytes([len(value)]) + value + name)


def decode_value_name(data: bytes) -> tuple[bytes, bytes] | None:
    """Parse a Challenge/Response body into ``(value, name)``; ``None`` if malformed."""
    if len(data) < 2 or len(data) < data[0] + 1:
        return None
    return data[1 : 1 + data[0]], data[1 + data[0] :]


def _secret_bytes(secret: str, client: str, server: str, logger: logging.Logger) -> bytes:
    raw = encode_name(secret)
    if len(raw) > MAXSECRETLEN:
        logger.error("Secret for %s on %s is too long", client, server)
        raw = raw[:MAXSECRETLEN]
    return raw


class ChapAuthenticator(AuthEngine):
    """CHAP-MD5 as the authenticator: challenge the peer (pppd ``chap_auth_peer``).

    Args:
        our_name: our name, sent in the Challenge and the server field of the secrets lookup.
        secrets: the chap-secrets file.
        rng: the injected random source (challenge values, first Identifier).
        interval: ``chap-interval`` seconds between re-challenges (0: never).
        restart: ``chap-restart`` seconds between retransmissions.
        max_challenge: ``chap-max-challenge`` transmissions of one Challenge.
        remote_name: the ``remotename`` option: look the secret up under this name instead
            of the name in the Response.
        unit: the ppp unit number, for ``/n+`` address words.
        resolve_host: resolver for host names in address words (from the shell).
        logger: where pppd's log lines go.
    """

    protocol: ClassVar[int] = PPPProtocol.CHAP
    role: ClassVar[Role] = Role.AUTHENTICATOR

    def __init__(
        self,
        our_name: str,
        secrets: SecretsSource | None,
        *,
        rng: Rng,
        interval: float = DEFAULT_INTERVAL,
        restart: float = DEFAULT_RESTART,
        max_challenge: int = DEFAULT_MAX_CHALLENGE,
        remote_name: str | None = None,
        unit: int = 0,
        resolve_host: Callable[[str], IPv4Address | None] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(logger)
        self.our_name = our_name
        self._secrets = secrets
        self._rng = rng
        self.interval = interval
        self.restart = restart
        self.max_challenge = max_challenge
        self.remote_name = remote_name
        self.unit = unit
        self._resolve_host = resolve_host
        self.started = False
        self.challenge_valid = False
        self.auth_done = False
        self.auth_failed = False
        self.identifier = 0
        self.transmits = 0
        self._challenge: ControlPacket | None = None
        self._message = b""
        self.peer_name: str | None = None

    def __repr__(self) -> str:
        return (
            f"ChapAuthenticator(our_name={self.our_name!r}, done={self.auth_done}, "
            f"failed={self.auth_failed})"
        )

    def start(self, now: float) -> None:
        """Send the first Challenge."""
        if self.started:
            return
        self.started = True
        self.identifier = self._rng(1)[0]  # pppd starts from a random Identifier
        self._challenge_timer(now)

    def _challenge_timer(self, now: float) -> None:
        # pppd chap_timeout(): a retransmission, or a new challenge (first or re-challenge).
        if not self.challenge_valid:
            self.transmits = 0
            self._generate_challenge()
            self.challenge_valid = True
        elif self.transmits >= self.max_challenge:
            self.challenge_valid = False
            self.auth_done = self.auth_failed = True
            self._deadline = None
            self.logger.debug("CHAP: no response to %d challenges", self.transmits)
            self._emit(
                AuthFailure(
                    Role.AUTHENTICATOR,
                    self.protocol,
                    "Authentication failed",
                    EXIT_PEER_AUTH_FAILED,
                )
            )
            return
        assert self._challenge is not None
        self._send(self._challenge)
        self.transmits += 1
        self._deadline = now + self.restart

    def _generate_challenge(self) -> None:
        length = MIN_CHALLENGE + self._rng(1)[0] % (MAX_CHALLENGE - MIN_CHALLENGE)
        value = self._rng(length)
        self.identifier = (self.identifier + 1) & 0xFF
        self._challenge = encode_value_name(
            CHALLENGE, self.identifier, value, encode_name(self.our_name)
        )

    def handle_timer(self, now: float) -> None:
        """Retransmit the Challenge, give up, or start a re-challenge."""
        if self._deadline is None or now < self._deadline:
            return
        self._deadline = None
        if self.started:
            self._challenge_timer(now)

    def receive(self, packet: ControlPacket, now: float) -> None:
        """Handle a Response; other codes belong to the peer engine."""
        if packet.code != RESPONSE:
            return
        if not self.started or self._challenge is None:
            self._discard("Response before any Challenge", packet)
            return
        if packet.identifier != self._challenge.identifier or len(packet.data) < 2:
            self._discard("stale or short Response", packet)
            return
        if self.challenge_valid:
            fields = decode_value_name(packet.data)
            if fields is None:
                self._discard("Value-Size beyond the packet", packet)
                return
            response, name_bytes = fields
            self._deadline = None
            name = self.remote_name if self.remote_name else visible(name_bytes)
            self.peer_name = name
            match, ok = self._verify(name, response)
            if not ok:
                self.auth_failed = True
                self.logger.warning("Peer %s failed CHAP authentication", quoted(name))
        elif not self.auth_done:
            self._discard("no challenge outstanding", packet)
            return
        else:
            match = None
        code = FAILURE if self.auth_failed else SUCCESS
        self._send(ControlPacket(code, packet.identifier, self._message))
        if not self.challenge_valid:
            return  # a repeated Response: the verdict is sent again, nothing else changes
        self.challenge_valid = False
        if self.auth_failed:
            self._emit(
                AuthFailure(
                    Role.AUTHENTICATOR,
                    self.protocol,
                    "Authentication failed",
                    EXIT_PEER_AUTH_FAILED,
                )
            )
        else:
            if not self.auth_done:
                assert match is not None
                assert self.peer_name is not None
                self.logger.log(NOTICE, "Peer %s authenticated with CHAP", quoted(self.peer_name))
                self._emit(self._success(self.peer_name, match))
            if self.interval > 0:
                self._deadline = now + self.interval
        self.auth_done = True

    def _verify(self, name: str, response: bytes) -> tuple[SecretMatch | None, bool]:
        assert self._challenge is not None
        self._message = MSG_DENIED.encode()
        match = None if self._secrets is None else self._secrets.find(name, self.our_name)
        if match is None:
            self.logger.error("No CHAP secret found for authenticating %s", quoted(name))
            return None, False
        secret = _secret_bytes(match.secret, name, self.our_name, self.logger)
        challenge = decode_value_name(self._challenge.data)
        assert challenge is not None
        expected = chap_md5(self._challenge.identifier, secret, challenge[0])
        if len(response) == MD5_HASH_SIZE and hmac.compare_digest(expected, response):
            self._message = MSG_GRANTED.encode()
            return match, True
        return match, False

    def _success(self, name: str, match: SecretMatch) -> AuthSuccess:
        policy = AddressPolicy.from_words(
            match.entry.addresses, unit=self.unit, resolve=self._resolve_host, logger=self.logger
        )
        return AuthSuccess(
            Role.AUTHENTICATOR,
            self.protocol,
            name,
            addresses=policy,
            address_words=match.entry.addresses,
            options=match.entry.options,
        )

    def protocol_rejected(self, now: float) -> None:
        """The peer rejected CHAP: it cannot authenticate itself."""
        if self.started:
            self._emit(
                AuthFailure(
                    Role.AUTHENTICATOR,
                    self.protocol,
                    "Authentication failed",
                    EXIT_PEER_AUTH_FAILED,
                )
            )
        self.stop()

    def stop(self) -> None:
        """Cancel timers; a later `start` begins afresh."""
        self._deadline = None
        self.started = self.challenge_valid = self.auth_done = self.auth_failed = False


class ChapPeer(AuthEngine):
    """CHAP-MD5 as the peer: answer the remote's challenges (pppd ``chap_auth_with_peer``).

    Args:
        user: the name we send in Responses (``user`` option, default our name).
        password: the ``password`` option; when empty, the secret comes from chap-secrets
            (client = ``user``, server = the challenger's name).
        secrets: the chap-secrets file.
        remote_name: the ``remotename`` option: use it instead of the challenger's name for
            the lookup (pppd also uses it when the Challenge carries no name).
        timeout: ``chap-timeout``: seconds to wait for a verdict (0: forever).
        logger: where pppd's log lines go.
    """

    protocol: ClassVar[int] = PPPProtocol.CHAP
    role: ClassVar[Role] = Role.PEER

    def __init__(
        self,
        user: str,
        password: str | None = None,
        *,
        secrets: SecretsSource | None = None,
        remote_name: str | None = None,
        timeout: float = DEFAULT_CLIENT_TIMEOUT,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(logger)
        self.user = user
        self._password = password
        self._secrets = secrets
        self.remote_name = remote_name
        self.timeout = timeout
        self.started = False
        self.auth_done = False
        self.auth_failed = False
        self.last_response_id: int | None = None

    def __repr__(self) -> str:
        return f"ChapPeer(user={self.user!r}, done={self.auth_done}, failed={self.auth_failed})"

    def start(self, now: float) -> None:
        """Wait for a Challenge (and start the ``chap-timeout`` clock)."""
        self.started = True
        self._deadline = now + self.timeout if self.timeout > 0 else None

    def handle_timer(self, now: float) -> None:
        """No verdict in time: we failed to authenticate."""
        if self._deadline is None or now < self._deadline:
            return
        self._deadline = None
        if self.started and not self.auth_done:
            self.auth_done = self.auth_failed = True
            self.logger.error("CHAP authentication timed out")
            self._fail()

    def receive(self, packet: ControlPacket, now: float) -> None:
        """Handle a Challenge, Success or Failure; Responses belong to the authenticator."""
        if packet.code == CHALLENGE:
            self._respond(packet)
        elif packet.code in (SUCCESS, FAILURE):
            self._status(packet)

    def _respond(self, packet: ControlPacket) -> None:
        if not self.started:
            self._discard("Challenge before the Authenticate phase", packet)
            return
        fields = decode_value_name(packet.data)
        if fields is None:
            self._discard("short Challenge", packet)
            return
        challenge, name_bytes = fields
        rname = visible(name_bytes)
        if self.remote_name:
            rname = self.remote_name
        secret = self._secret_for(rname)
        value = chap_md5(packet.identifier, secret, challenge)
        self._send(encode_value_name(RESPONSE, packet.identifier, value, encode_name(self.user)))
        self.last_response_id = packet.identifier

    def _secret_for(self, rname: str) -> bytes:
        if self._password:
            return _secret_bytes(self._password, self.user, rname, self.logger)
        match = None if self._secrets is None else self._secrets.find(self.user, rname)
        if match is None:
            # pppd answers anyway, with an empty secret: the authenticator will say Failure.
            self.logger.warning("No CHAP secret found for authenticating us to %s", quoted(rname))
            return b""
        return _secret_bytes(match.secret, self.user, rname, self.logger)

    def _status(self, packet: ControlPacket) -> None:
        if not self.started or self.auth_done:
            self._discard("verdict after authentication finished", packet)
            return
        # RFC 1994 §4.2: the Identifier "MUST be copied from the Response"; an old one is a
        # late verdict on an earlier challenge.
        if packet.identifier != self.last_response_id:
            self._discard("stale Identifier", packet)
            return
        self.auth_done = True
        self._deadline = None
        text = (
            "CHAP authentication succeeded"
            if packet.code == SUCCESS
            else ("CHAP authentication failed")
        )
        if packet.data:
            self.logger.info("%s: %s", text, visible(packet.data))
        else:
            self.logger.info("%s", text)
        if packet.code == SUCCESS:
            self.logger.log(NOTICE, "CHAP authentication succeeded")
            self._emit(AuthSuccess(Role.PEER, self.protocol, self.user))
        else:
            self.auth_failed = True
            self.logger.error("CHAP authentication failed")
            self._fail()

    def _fail(self) -> None:
        self._emit(
            AuthFailure(
                Role.PEER,
                self.protocol,
                "Failed to authenticate ourselves to peer",
                EXIT_AUTH_TOPEER_FAILED,
            )
        )

    def protocol_rejected(self, now: float) -> None:
        """The peer rejected CHAP."""
        if self.started and not self.auth_done:
            self.logger.error("CHAP authentication failed due to protocol-reject")
            self.auth_done = self.auth_failed = True
            self._fail()
        self.stop()

    def stop(self) -> None:
        """Cancel the timeout."""
        self._deadline = None
        self.started = False
