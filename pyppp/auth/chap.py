"""RFC 1994 CHAP, both roles, with pppd's timers and log lines (``chap.c``, formerly chap-new.c).

Packets (RFC 1994 §4.1, §4.2)::

    Challenge (1) / Response (2):  Value-Size, Value, Name
    Success (3) / Failure (4):     Message

The *algorithm* (the octet after c223 in LCP's Authentication-Protocol option) decides how a
Challenge is made, answered and checked; the exchange around it is the same for all. Each
algorithm is a `ChapDigest` (pppd's ``struct chap_digest_type``): MD5 (RFC 1994) here, whose
Response Value is ``MD5(Identifier || secret || Challenge Value)``; MS-CHAP (RFC 2433) and
MS-CHAPv2 (RFC 2759) in :mod:`pyppp.auth.mschap`, imported only when one of them runs (it needs
pycryptodome).

The authenticator sends a Challenge (MD5: 16 to 23 random octets, as pppd's chap-md5.c) with
our name, a random first Identifier and a new Identifier for each new challenge. It retransmits
the same Challenge every ``chap-restart`` seconds (3) and gives up after ``chap-max-challenge``
(10) transmissions. A Response is accepted only for the outstanding Identifier; the answer is
Success or Failure with the algorithm's message ("Access granted" / "Access denied" for MD5).
RFC 1994 §4.2: the authenticator must answer a repeated Response after it has decided, so a
duplicate gets the same verdict again. With ``chap-interval`` N the peer is challenged again N
seconds after each success; failing a re-challenge ends the link.

The peer answers every Challenge with the secret for (our name, the challenger's name) from
chap-secrets, or the ``password`` option. It accepts the first Success/Failure whose Identifier
matches the Response it sent (older ones are stale and ignored) and ignores later ones, as pppd
does after a re-challenge. It gives up if no verdict comes within ``chap-timeout`` seconds (60).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Address
from typing import ClassVar, Final

from pyppp.auth.base import (
    AuthenticatorEngine,
    AuthMethod,
    ExternalCheckNeeded,
    ExternalVerdict,
    MppeKeys,
    PeerEngine,
    encode_name,
    quoted,
    visible,
)
from pyppp.errors import LocalProtocolError
from pyppp.lcp.options import ChapAlgorithm
from pyppp.packet import ControlPacket, PPPProtocol
from pyppp.pppd.secrets import MAXSECRETLEN, SecretMatch, SecretsSource
from pyppp.util import NOTICE, Rng

__all__ = [
    "CHALLENGE",
    "FAILURE",
    "RESPONSE",
    "SUCCESS",
    "ChapAnswer",
    "ChapAuthenticator",
    "ChapClientState",
    "ChapDigest",
    "ChapPeer",
    "ChapServerState",
    "ChapVerdict",
    "Md5Digest",
    "chap_digest",
    "chap_md5",
    "decode_value_name",
    "encode_value_name",
    "mschap_available",
]

CHALLENGE, RESPONSE, SUCCESS, FAILURE = 1, 2, 3, 4
"""The CHAP Codes (RFC 1994 §4)."""

MD5: Final = ChapAlgorithm.MD5
"""The LCP Authentication-Protocol algorithm octet for CHAP with MD5 (RFC 1994 §3)."""

MD5_HASH_SIZE: Final = 16
MIN_CHALLENGE: Final = 16
MAX_CHALLENGE: Final = 24  # exclusive, as pppd: lengths 16..23

# pppd's defaults: chap-restart (seconds between retransmitted Challenges), chap-max-challenge
# (Challenge transmissions before giving up), chap-interval (seconds between re-challenges, 0:
# never) and chap-timeout (seconds the peer waits for a verdict, pppd 2.4.9+).
DEFAULT_RESTART, DEFAULT_MAX_CHALLENGE, DEFAULT_INTERVAL, DEFAULT_CLIENT_TIMEOUT = (
    3.0,
    10,
    0.0,
    60.0,
)

MSG_GRANTED, MSG_DENIED = "Access granted", "Access denied"


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


# ---------------------------------------------------------------------------------------------
# The algorithms


@dataclass(frozen=True, slots=True)
class ChapVerdict:
    """The authenticator's judgement of one Response.

    Attributes:
        ok: the peer knows the secret.
        message: the Message of the Success or Failure packet.
        mppe_keys: MS-CHAP: the MPPE keys the exchange derived (success only).
    """

    ok: bool
    message: bytes
    mppe_keys: MppeKeys | None = None


@dataclass(frozen=True, slots=True)
class ChapAnswer:
    """The peer's Response Value to one Challenge, and what it needs to judge the verdict.

    Attributes:
        value: the Response Value.
        authenticator_response: MS-CHAPv2: the ``S=`` string the Success must carry.
        mppe_keys: MS-CHAP: the MPPE keys, to report when the authenticator accepts us.
    """

    value: bytes = field(repr=False)
    authenticator_response: bytes | None = field(default=None, repr=False)
    mppe_keys: MppeKeys | None = None


class ChapDigest:
    """One CHAP algorithm (pppd's ``struct chap_digest_type``); this base is CHAP-MD5's shape.

    Args:
        logger: where the algorithm's log lines go (the engine's logger).
        malformed: called with a reason for every malformed packet the algorithm sees, so the
            engine counts it.
    """

    algorithm: ClassVar[int]
    method: ClassVar[AuthMethod]
    reuse_answers: ClassVar[bool] = False
    """Answer a retransmitted Challenge (same Identifier and Value) with the same Response."""

    def __init__(self, logger: logging.Logger, malformed: Callable[[str], None]) -> None:
        self.logger = logger
        self._malformed = malformed

    def challenge(self, rng: Rng) -> bytes:
        """Return a fresh Challenge Value (authenticator)."""
        raise NotImplementedError

    def verify(
        self, identifier: int, challenge: bytes, response: bytes, name: bytes, secret: bytes
    ) -> ChapVerdict:
        """Judge a Response Value against the secret (authenticator)."""
        raise NotImplementedError

    def denial(self, challenge: bytes) -> bytes:
        """The Failure message when no secret exists for the peer (authenticator)."""
        raise NotImplementedError

    def accepts_challenge(self, challenge: bytes) -> bool:
        """Whether a Challenge Value has a size this algorithm can answer (peer)."""
        return True

    def respond(
        self, identifier: int, challenge: bytes, user: bytes, secret: bytes, rng: Rng | None
    ) -> ChapAnswer:
        """Compute the Response Value (peer)."""
        raise NotImplementedError

    def check_success(self, answer: ChapAnswer | None, message: bytes) -> bool:
        """Judge a Success packet (peer); ``False`` turns it into an authentication failure."""
        if message:
            self.logger.info("CHAP authentication succeeded: %s", visible(message))
        else:
            self.logger.info("CHAP authentication succeeded")
        return True

    def handle_failure(self, message: bytes) -> None:
        """Log a Failure packet (peer)."""
        if message:
            self.logger.info("CHAP authentication failed: %s", visible(message))
        else:
            self.logger.info("CHAP authentication failed")


class Md5Digest(ChapDigest):
    """CHAP with MD5 (RFC 1994), as pppd's ``chap-md5.c``."""

    algorithm: ClassVar[int] = MD5
    method: ClassVar[AuthMethod] = AuthMethod.CHAP

    def challenge(self, rng: Rng) -> bytes:
        """16 to 23 random octets (pppd: ``16 + drand48() * 8``)."""
        length = MIN_CHALLENGE + rng(1)[0] % (MAX_CHALLENGE - MIN_CHALLENGE)
        return rng(length)

    def verify(
        self, identifier: int, challenge: bytes, response: bytes, name: bytes, secret: bytes
    ) -> ChapVerdict:
        """Compare the Response Value with MD5(Identifier || secret || Challenge)."""
        expected = chap_md5(identifier, secret, challenge)
        if len(response) == MD5_HASH_SIZE and hmac.compare_digest(expected, response):
            return ChapVerdict(True, MSG_GRANTED.encode())
        return ChapVerdict(False, MSG_DENIED.encode())

    def denial(self, challenge: bytes) -> bytes:
        """The Failure message: pppd's "Access denied"."""
        return MSG_DENIED.encode()

    def respond(
        self, identifier: int, challenge: bytes, user: bytes, secret: bytes, rng: Rng | None
    ) -> ChapAnswer:
        """MD5(Identifier || secret || Challenge)."""
        return ChapAnswer(chap_md5(identifier, secret, challenge))


@functools.cache
def mschap_available() -> bool:
    """Whether MS-CHAP can run here (it needs pycryptodome's MD4 and DES)."""
    try:
        importlib.import_module("Crypto.Hash.MD4")
        importlib.import_module("Crypto.Cipher.DES")
    except ImportError:
        return False
    return True


def chap_digest(
    algorithm: int, logger: logging.Logger, malformed: Callable[[str], None]
) -> ChapDigest:
    """The `ChapDigest` for an LCP Algorithm octet.

    Raises:
        LocalProtocolError: an algorithm pyppp does not implement, or MS-CHAP without
            pycryptodome.
    """
    if algorithm == MD5:
        return Md5Digest(logger, malformed)
    if algorithm in (ChapAlgorithm.MS, ChapAlgorithm.MS_V2):
        if not mschap_available():
            raise LocalProtocolError("MS-CHAP needs the pycryptodome package (MD4, DES)")
        from pyppp.auth import mschap  # only where MS-CHAP runs: it imports pycryptodome

        digest: type[ChapDigest] = (
            mschap.MsChapDigest if algorithm == ChapAlgorithm.MS else mschap.MsChapV2Digest
        )
        return digest(logger, malformed)
    raise LocalProtocolError(f"CHAP algorithm {algorithm:#x} is not supported")


class _ChapEngine:
    """The algorithm plumbing both CHAP engines share (mixed into the role bases)."""

    logger: logging.Logger
    discarded: int
    _discard: Callable[[str, ControlPacket], None]

    def _init_digest(self, algorithm: int) -> None:
        self.malformed = 0
        """Packets of the algorithm with a malformed content (debug-logged), however answered."""
        self.digest = chap_digest(algorithm, self.logger, self._count_malformed)

    @property
    def method(self) -> AuthMethod:
        """``CHAP`` (MD5), ``MS-CHAP`` or ``MS-CHAPv2``: the algorithm this engine runs."""
        return self.digest.method

    def _value_and_name(self, packet: ControlPacket, why: str) -> tuple[bytes, bytes] | None:
        fields = decode_value_name(packet.data)
        if fields is None:
            self._discard(why, packet)
        return fields

    def _count_malformed(self, why: str) -> None:
        self.malformed += 1
        self.logger.debug("CHAP: malformed %s packet: %s", self.digest.method, why)


# ---------------------------------------------------------------------------------------------
# The authenticator


class ChapServerState(Enum):
    """The authenticator's states (pppd's ``chap_server_state`` flags, as one state)."""

    INITIAL = "initial"  # not started (pppd: no AUTH_STARTED)
    CHALLENGED = "challenged"  # first Challenge outstanding (CHALLENGE_VALID)
    OPEN = "open"  # Success sent (AUTH_DONE); a re-challenge may follow
    RECHALLENGED = "rechallenged"  # re-challenge outstanding (AUTH_DONE | CHALLENGE_VALID)
    BADAUTH = "badauth"  # Failure sent, or no Response came (AUTH_DONE | AUTH_FAILED)
    CHECKING = "checking"  # an outside server (RADIUS) is judging the Response


class ChapAuthenticator(_ChapEngine, AuthenticatorEngine):
    r"""CHAP as the authenticator: challenge the peer (pppd ``chap_auth_peer``).

    Args:
        our_name: our name, sent in the Challenge and the server field of the secrets lookup.
        secrets: the chap-secrets file.
        rng: the injected random source (challenge values, first Identifier).
        algorithm: the CHAP algorithm LCP settled (MD5, MS-CHAP 0x80, MS-CHAPv2 0x81).
        interval: ``chap-interval`` seconds between re-challenges (0: never).
        restart: ``chap-restart`` seconds between retransmissions.
        max_challenge: ``chap-max-challenge`` transmissions of one Challenge.
        remote_name: the ``remotename`` option: look the secret up under this name instead
            of the name in the Response.
        strip_domain: ``chapms-strip-domain``: drop a ``DOMAIN\`` prefix from the name in the
            Response before the lookup.
        unit: the ppp unit number, for ``/n+`` address words.
        resolve_host: resolver for host names in address words (from the shell).
        logger: where pppd's log lines go.

    Raises:
        LocalProtocolError: an algorithm that cannot run here (see `chap_digest`).
    """

    protocol: ClassVar[int] = PPPProtocol.CHAP

    def __init__(
        self,
        our_name: str,
        secrets: SecretsSource | None,
        *,
        rng: Rng,
        algorithm: int = MD5,
        interval: float = DEFAULT_INTERVAL,
        restart: float = DEFAULT_RESTART,
        max_challenge: int = DEFAULT_MAX_CHALLENGE,
        remote_name: str | None = None,
        strip_domain: bool = False,
        unit: int = 0,
        resolve_host: Callable[[str], IPv4Address | None] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(our_name, secrets, unit=unit, resolve_host=resolve_host, logger=logger)
        self._init_digest(algorithm)
        self._rng = rng
        self.interval = interval
        self.restart = restart
        self.max_challenge = max_challenge
        self.remote_name = remote_name
        self.strip_domain = strip_domain
        self.state = ChapServerState.INITIAL
        self.identifier = 0
        self.transmits = 0
        self._challenge: ControlPacket | None = None
        self._challenge_value = b""
        self._message = b""
        self.peer_name: str | None = None
        # While RADIUS judges: (request id, Identifier, name, the state before, re-challenge).
        self._external: tuple[int, int, str, ChapServerState] | None = None

    def __repr__(self) -> str:
        return f"ChapAuthenticator(our_name={self.our_name!r}, state={self.state.value})"

    def start(self, now: float) -> None:
        """Send the first Challenge."""
        if self.state is not ChapServerState.INITIAL:
            return
        self.identifier = self._rng(1)[0]  # pppd starts from a random Identifier
        self._new_challenge(ChapServerState.CHALLENGED)
        self._transmit(now)

    def _new_challenge(self, state: ChapServerState) -> None:
        self._prefetch()  # the Response comes a round trip later: chap-secrets as it is then
        self.transmits = 0
        self._challenge_value = self.digest.challenge(self._rng)
        self.identifier = (self.identifier + 1) & 0xFF
        self._challenge = encode_value_name(
            CHALLENGE, self.identifier, self._challenge_value, encode_name(self.our_name)
        )
        self.state = state

    def _transmit(self, now: float) -> None:
        assert self._challenge is not None
        self._send(self._challenge)
        self.transmits += 1
        self._deadline = now + self.restart

    def handle_timer(self, now: float) -> None:
        """Retransmit the Challenge, give up, or start a re-challenge (pppd chap_timeout)."""
        if not self._timer_due(now):
            return
        if self.state is ChapServerState.OPEN:
            self._new_challenge(ChapServerState.RECHALLENGED)
        elif self.state not in (ChapServerState.CHALLENGED, ChapServerState.RECHALLENGED):
            return
        elif self.transmits >= self.max_challenge:
            self.state = ChapServerState.BADAUTH
            self.logger.debug("CHAP: no response to %d challenges", self.transmits)
            self._peer_failed()
            return
        self._transmit(now)

    def receive(self, packet: ControlPacket, now: float) -> None:
        """Handle a Response; other codes belong to the peer engine."""
        if packet.code != RESPONSE:
            return
        if self.state is ChapServerState.INITIAL or self._challenge is None:
            self._discard("Response before any Challenge", packet)
            return
        if packet.identifier != self._challenge.identifier or len(packet.data) < 2:
            self._discard("stale or short Response", packet)
            return
        if self.state is ChapServerState.CHECKING:
            return  # a retransmitted Response while the server thinks: the verdict will come
        if self.state in (ChapServerState.OPEN, ChapServerState.BADAUTH):
            # RFC 1994 §4.2: a repeated Response after the verdict gets the verdict again.
            code = SUCCESS if self.state is ChapServerState.OPEN else FAILURE
            self._send(ControlPacket(code, packet.identifier, self._message))
            return
        fields = self._value_and_name(packet, "Value-Size beyond the packet")
        if fields is None:
            return
        response, name_bytes = fields
        self._deadline = None
        name = self._peer_name(name_bytes)
        self.peer_name = name
        if self.external:
            # RADIUS (pppd radius.so's chap_verify_hook): the server judges the Response.
            request_id = self._new_external_id()
            self._external = (request_id, packet.identifier, name, self.state)
            self.state = ChapServerState.CHECKING
            self._ask_external(
                ExternalCheckNeeded(
                    request_id,
                    self.method,
                    visible(name_bytes),
                    identifier=packet.identifier,
                    challenge=self._challenge_value,
                    response=response,
                )
            )
            return
        match, verdict = self._verify(name, name_bytes, response)
        self._verdict(packet.identifier, name, match, verdict, now)

    def external_result(self, request_id: int, verdict: ExternalVerdict, now: float) -> None:
        """The outside server's answer to an `ExternalCheckNeeded` (stale ids are ignored)."""
        pending = self._external
        if (
            pending is None
            or pending[0] != request_id
            or self.state is not ChapServerState.CHECKING
        ):
            self.logger.debug("CHAP: ignoring stale external result %d", request_id)
            return
        _, identifier, name, before = pending
        self._external = None
        self.state = before
        if verdict.ok:
            message = verdict.message if verdict.message is not None else MSG_GRANTED.encode()
            if self.method is AuthMethod.MSCHAP_V2 and verdict.message is not None:
                message += b" M=Access granted"
            judged = ChapVerdict(True, message, verdict.mppe_keys)
        else:
            judged = ChapVerdict(False, self.digest.denial(self._challenge_value))
        self._verdict(identifier, name, self._external_match(name, verdict), judged, now)

    def _verdict(
        self,
        identifier: int,
        name: str,
        match: SecretMatch | None,
        verdict: ChapVerdict,
        now: float,
    ) -> None:
        self._message = verdict.message
        if not verdict.ok:
            self.logger.warning("Peer %s failed CHAP authentication", quoted(name))
        self._send(ControlPacket(SUCCESS if verdict.ok else FAILURE, identifier, verdict.message))
        if not verdict.ok:
            self.state = ChapServerState.BADAUTH
            self._peer_failed()
            return
        if self.state is ChapServerState.CHALLENGED:
            assert match is not None
            self.logger.log(NOTICE, "Peer %s authenticated with CHAP", quoted(name))
            self._peer_succeeded(name, match, mppe_keys=verdict.mppe_keys)
        self.state = ChapServerState.OPEN
        if self.interval > 0:
            self._deadline = now + self.interval

    def _peer_name(self, name_bytes: bytes) -> str:
        if self.remote_name:
            return self.remote_name
        name = visible(name_bytes)
        if self.strip_domain and "\\" in name:
            # pppd chapms-strip-domain: "DOMAIN\user" is looked up (and known) as "user".
            name = name.rsplit("\\", 1)[1]
        return name

    def _verify(
        self, name: str, name_bytes: bytes, response: bytes
    ) -> tuple[SecretMatch | None, ChapVerdict]:
        match = self._lookup(name)
        if match is None:
            self.logger.error("No CHAP secret found for authenticating %s", quoted(name))
            return None, ChapVerdict(False, self.digest.denial(self._challenge_value))
        assert self._challenge is not None
        secret = _secret_bytes(match.secret, name, self.our_name, self.logger)
        verdict = self.digest.verify(
            self._challenge.identifier, self._challenge_value, response, name_bytes, secret
        )
        return match, verdict

    def protocol_rejected(self, now: float) -> None:
        """The peer rejected CHAP: it cannot authenticate itself."""
        if self.state is not ChapServerState.INITIAL:
            self._peer_failed()
        self.stop()

    def stop(self) -> None:
        """Cancel timers; a later `start` begins afresh."""
        self._deadline = None
        self._external = None
        self.state = ChapServerState.INITIAL


# ---------------------------------------------------------------------------------------------
# The peer


class ChapClientState(Enum):
    """The peer's states (pppd's ``chap_client_state`` flags, as one state)."""

    INITIAL = "initial"  # not started
    STARTED = "started"  # answering Challenges, waiting for a verdict (AUTH_STARTED)
    OPEN = "open"  # Success accepted (AUTH_DONE)
    BADAUTH = "badauth"  # Failure, a bad Success or no verdict in time (AUTH_FAILED)


class ChapPeer(_ChapEngine, PeerEngine):
    """CHAP as the peer: answer the remote's challenges (pppd ``chap_auth_with_peer``).

    Args:
        user: the name we send in Responses (``user`` option, default our name).
        password: the ``password`` option; when empty, the secret comes from chap-secrets
            (client = ``user``, server = the challenger's name).
        secrets: the chap-secrets file.
        remote_name: the ``remotename`` option: use it instead of the challenger's name for
            the lookup (pppd also uses it when the Challenge carries no name).
        algorithm: the CHAP algorithm LCP settled (MD5, MS-CHAP 0x80, MS-CHAPv2 0x81).
        rng: random source; MS-CHAPv2 needs it for its Peer-Challenge.
        timeout: ``chap-timeout``: seconds to wait for a verdict (0: forever).
        logger: where pppd's log lines go.

    Raises:
        LocalProtocolError: an algorithm that cannot run here, or MS-CHAPv2 without ``rng``.
    """

    protocol: ClassVar[int] = PPPProtocol.CHAP

    def __init__(
        self,
        user: str,
        password: str | None = None,
        *,
        secrets: SecretsSource | None = None,
        remote_name: str | None = None,
        algorithm: int = MD5,
        rng: Rng | None = None,
        timeout: float = DEFAULT_CLIENT_TIMEOUT,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(user, password, secrets=secrets, remote_name=remote_name, logger=logger)
        self._init_digest(algorithm)
        if algorithm == ChapAlgorithm.MS_V2 and rng is None:
            raise LocalProtocolError("an MS-CHAPv2 peer needs rng= for its Peer-Challenge")
        self._rng = rng
        self.timeout = timeout
        self.state = ChapClientState.INITIAL
        self.last_response_id: int | None = None
        self._last: tuple[int, bytes, ControlPacket] | None = None  # Identifier, Value, Response
        self._answer: ChapAnswer | None = None

    def __repr__(self) -> str:
        return f"ChapPeer(user={self.user!r}, state={self.state.value})"

    def start(self, now: float) -> None:
        """Wait for a Challenge (and start the ``chap-timeout`` clock)."""
        if not self._password:
            self._prefetch()
        self.state = ChapClientState.STARTED
        self._deadline = now + self.timeout if self.timeout > 0 else None

    def handle_timer(self, now: float) -> None:
        """No verdict in time: we failed to authenticate."""
        if self._timer_due(now) and self.state is ChapClientState.STARTED:
            self.state = ChapClientState.BADAUTH
            self.logger.error("CHAP authentication timed out")
            self._failed()

    def receive(self, packet: ControlPacket, now: float) -> None:
        """Handle a Challenge, Success or Failure; Responses belong to the authenticator."""
        if packet.code == CHALLENGE:
            self._respond(packet)
        elif packet.code in (SUCCESS, FAILURE):
            self._status(packet)

    def _respond(self, packet: ControlPacket) -> None:
        if self.state is ChapClientState.INITIAL:
            self._discard("Challenge before the Authenticate phase", packet)
            return
        fields = self._value_and_name(packet, "short Challenge")
        if fields is None:
            return
        challenge, name_bytes = fields
        if not self.digest.accepts_challenge(challenge):
            self._count_malformed(f"Challenge Value of {len(challenge)} octets")
            self._discard("Challenge Value of the wrong size", packet)
            return
        rname = visible(name_bytes)
        if self.remote_name:
            rname = self.remote_name
        secret = self._secret_for(rname)
        last = self._last
        if (
            self.digest.reuse_answers
            and last is not None
            and last[:2]
            == (
                packet.identifier,
                challenge,
            )
        ):
            # A retransmitted Challenge: the same Response, or the authenticator's S= (made
            # for the Response it got first) would not match the one we expect.
            self._send(last[2])
            return
        answer = self.digest.respond(
            packet.identifier, challenge, encode_name(self.user), secret, self._rng
        )
        response = encode_value_name(
            RESPONSE, packet.identifier, answer.value, encode_name(self.user)
        )
        self._send(response)
        self.last_response_id = packet.identifier
        self._last = (packet.identifier, challenge, response)
        self._answer = answer

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
        if self.state is not ChapClientState.STARTED:
            self._discard("verdict after authentication finished", packet)
            return
        # RFC 1994 §4.2: the Identifier "MUST be copied from the Response"; an old one is a
        # late verdict on an earlier challenge.
        if packet.identifier != self.last_response_id:
            self._discard("stale Identifier", packet)
            return
        self._deadline = None
        if packet.code == SUCCESS:
            ok = self.digest.check_success(self._answer, packet.data)
        else:
            self.digest.handle_failure(packet.data)
            ok = False
        if ok:
            self.state = ChapClientState.OPEN
            self.logger.log(NOTICE, "CHAP authentication succeeded")
            self._succeeded(self._answer.mppe_keys if self._answer is not None else None)
        else:
            self.state = ChapClientState.BADAUTH
            self.logger.error("CHAP authentication failed")
            self._failed()

    def protocol_rejected(self, now: float) -> None:
        """The peer rejected CHAP."""
        if self.state is ChapClientState.STARTED:
            self.logger.error("CHAP authentication failed due to protocol-reject")
            self.state = ChapClientState.BADAUTH
            self._failed()
        self.stop()

    def stop(self) -> None:
        """Cancel the timeout."""
        self._deadline = None
        self.state = ChapClientState.INITIAL
