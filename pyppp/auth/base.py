"""What the authentication engines share with the link: roles, events, the engine protocol.

Theory of operation
-------------------
RFC 1661 §3.5: after LCP opens, each side that asked the other to authenticate (LCP
Authentication-Protocol option) runs the Authenticate phase. Each *direction* of each protocol
is one sans-IO engine:

* the **authenticator** (pppd's "server", `Role.AUTHENTICATOR`): we required the peer to
  authenticate itself (``auth``, ``require-pap``, ``require-chap``); failure ends the link with
  pppd exit status 11;
* the **peer** (pppd's "client", `Role.PEER`): the remote required us to authenticate; failure
  ends the link with exit status 19.

The link drives an engine like this::

    engine.start(now)                        # Authenticate phase begins
    engine.receive(packet, now)              # every PAP/CHAP packet of the engine's protocol
    engine.handle_timer(now)                 # when now >= engine.get_timer()
    for packet in engine.packets_to_send():  # frame (protocol = engine.protocol) and trace
        ...
    while (event := engine.next_event()) is not None:
        ...                                  # AuthSuccess / AuthFailure / LoginCheckNeeded
    engine.stop()                            # link going down

Both engines of one protocol see every packet of that protocol; each ignores the codes meant
for the other role (PAP Authenticate-Request goes to the authenticator, Ack/Nak to the peer;
CHAP Challenge/Success/Failure to the peer, Response to the authenticator).

`AuthenticatorEngine` and `PeerEngine` hold what the two roles share (names, the secrets
lookup, pppd's verdict events); the CHAP engines add the algorithm (`pyppp.auth.chap.ChapDigest`:
MD5, MS-CHAP, MS-CHAPv2).

System password checks (PAM) block, so the PAP authenticator never runs them itself: it emits
`LoginCheckNeeded` and the shell answers with ``engine.login_result(request_id, ok, now)``
after running `pyppp.aio.login.check_login` in a thread.

Passwords and secrets never appear in log lines, ``repr()`` or traces unless ``show_password``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Final

from pyppp.errors import ExitStatus
from pyppp.events import AuthMethod, Role
from pyppp.ipcp.negotiator import AddressPolicy
from pyppp.packet import ControlPacket, PPPProtocol
from pyppp.pppd.secrets import SecretEntry, SecretMatch, SecretsSource
from pyppp.util import print_string, visible  # the one %v / print_string, shared

if TYPE_CHECKING:
    from ipaddress import IPv4Address

__all__ = [
    "AUTH_FAILED",
    "FAILED_TO_PEER",
    "AuthEngine",
    "AuthEvent",
    "AuthFailure",
    "AuthMethod",
    "AuthSuccess",
    "AuthenticatorEngine",
    "ExternalCheckNeeded",
    "ExternalVerdict",
    "LoginCheckNeeded",
    "LoginThrottle",
    "MppeKeys",
    "PeerEngine",
    "Role",
    "decode_name",
    "encode_name",
    "print_string",
    "quoted",
    "trace_body",
    "visible",
]

AUTH_FAILED: Final = "Authentication failed"
"""pppd's LCP close reason when the peer fails to authenticate (``auth_peer_fail``)."""

FAILED_TO_PEER: Final = "Failed to authenticate ourselves to peer"
"""pppd's LCP close reason when we fail to authenticate (``auth_withpeer_fail``)."""

_LOG: Final = logging.getLogger("pyppp.auth")


@dataclass(frozen=True, slots=True)
class MppeKeys:
    """The MPPE start keys an MS-CHAP exchange derived (RFC 3079), from our point of view.

    MPPE (RFC 3078, negotiated in CCP after authentication) encrypts with ``send_key`` and
    decrypts with ``recv_key``; a 40- or 56-bit session uses their first 8 octets. When a
    RADIUS server judged the caller, the keys are its MS-MPPE-Send-Key and MS-MPPE-Recv-Key
    (RFC 2548 §2.4.2/2.4.3: the NAS's send and receive keys), and its
    MS-MPPE-Encryption-Types may forbid one strength.

    Attributes:
        send_key: the 16-octet start key for what we send.
        recv_key: the 16-octet start key for what we receive.
        allow_40: 40-bit MPPE may run with these keys (MS-CHAP itself allows it).
        allow_128: 128-bit MPPE may run with these keys.
    """

    send_key: bytes = field(repr=False)
    recv_key: bytes = field(repr=False)
    allow_40: bool = True
    allow_128: bool = True


@dataclass(frozen=True, slots=True)
class AuthSuccess:
    """One direction of authentication succeeded.

    Attributes:
        role: who we are in this exchange.
        protocol: ``0xC023`` (PAP) or ``0xC223`` (CHAP).
        name: for the authenticator the peer's authenticated name (pppd ``PEERNAME``); for
            the peer the name we authenticated as.
        addresses: authenticator only: the remote addresses the matched secrets line allows,
            for IPCP to enforce (``None`` when no secrets line was involved).
        address_words: the raw address words of that line.
        options: extra pppd option words from the line (after ``--``).
        login: the system password database was consulted (``login`` or ``@login``).
        mppe_keys: MS-CHAP only: the MPPE keys this exchange derived, for CCP to use.
    """

    role: Role
    protocol: int
    name: str
    addresses: AddressPolicy | None = None
    address_words: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    login: bool = False
    mppe_keys: MppeKeys | None = None


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """One direction of authentication failed: the link must close (pppd ``lcp_close``).

    Attributes:
        role: who we are in this exchange.
        protocol: ``0xC023`` (PAP) or ``0xC223`` (CHAP).
        reason: the reason for the LCP Terminate-Request / log (pppd's texts:
            "Authentication failed", "Failed to authenticate ourselves to peer", "login failed").
        exit_status: pppd's exit status: 11 (peer failed) or 19 (we failed).
    """

    role: Role
    protocol: int
    reason: str
    exit_status: int


@dataclass(frozen=True, slots=True)
class LoginCheckNeeded:
    """The PAP authenticator needs a system password check (``login`` / ``@login``).

    The shell runs the blocking check in a thread and answers with
    ``authenticator.login_result(request_id, ok, now)``.

    Attributes:
        request_id: echo this back in ``login_result``.
        user: the user name the peer sent.
        password: the password the peer sent (hidden from ``repr``).
    """

    request_id: int
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ExternalCheckNeeded:
    """The authenticator leaves the verdict to an outside server (RADIUS, pppd's radius.so).

    The shell asks the server without blocking and answers with
    ``link.external_result(request_id, verdict, now)`` (:class:`ExternalVerdict`).

    Attributes:
        request_id: echo this back.
        method: PAP, CHAP (MD5) or MS-CHAPv2.
        user: the name the peer gave.
        password: PAP's password (hidden from ``repr``).
        identifier: CHAP: the Challenge's Identifier.
        challenge: CHAP: the challenge value we sent.
        response: CHAP: the peer's Response value (MS-CHAPv2: the 49 bytes).
    """

    request_id: int
    method: AuthMethod
    user: str
    password: str = field(default="", repr=False)
    identifier: int = 0
    challenge: bytes = b""
    response: bytes = field(default=b"", repr=False)


@dataclass(frozen=True, slots=True)
class ExternalVerdict:
    """An outside server's answer to an :class:`ExternalCheckNeeded`.

    Attributes:
        ok: accepted.
        addresses: the peer's address words, as a secrets line's (``("10.0.0.5",)`` from
            Framed-IP-Address; ``("*",)``: any).
        message: CHAP: the Success/Failure message to send (MS-CHAPv2: the ``S=...``
            authenticator response); ``None``: the usual one.
        mppe_keys: MS-CHAPv2: the MPPE keys the server sent, if any.
    """

    ok: bool
    addresses: tuple[str, ...] = ("*",)
    message: bytes | None = None
    mppe_keys: MppeKeys | None = None


AuthEvent = AuthSuccess | AuthFailure | LoginCheckNeeded | ExternalCheckNeeded
"""Everything an authentication engine reports to the link."""


class LoginThrottle:
    """pppd's brute-force brake on PAP password checks (``check_passwd``'s ``attempts``).

    pppd keeps one failure counter for the whole process, so it survives across connections
    (``persist``, or a dial-in server answering call after call). Give every new PAP
    authenticator of one server process the same throttle.

    After the 4th consecutive failure each further Authenticate-Nak is delayed by
    ``(failures - 3) * 5`` seconds; when the count was already 10 or more, pppd logs
    ``"%d LOGIN FAILURES ON %s, %s"`` and closes the link. A success resets the count.
    """

    def __init__(self) -> None:
        self.attempts = 0

    def record_failure(self) -> tuple[int, float, bool]:
        """Count a failure.

        Returns:
            ``(attempts, delay, too_many)``: the new count, the seconds to hold the Nak back,
            and whether this is past the 10-failure limit.
        """
        too_many = self.attempts >= 10
        self.attempts += 1
        delay = float((self.attempts - 3) * 5) if self.attempts > 3 else 0.0
        return self.attempts, delay, too_many

    def record_success(self) -> None:
        """Reset the count after a successful login."""
        self.attempts = 0


class AuthEngine:
    """One direction of one authentication protocol, driven by the link.

    The shared mechanics live here (output queue, event reporting, one deadline, logger); each
    engine implements :meth:`start`, :meth:`receive`, :meth:`handle_timer`,
    :meth:`protocol_rejected` and :meth:`stop`.

    Events go to the callable given to :meth:`bind` (the link's inbox, the one channel every
    layer reports through); an unbound engine queues them for :meth:`next_event`.
    """

    protocol: ClassVar[int]
    role: ClassVar[Role]

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or _LOG
        self._outgoing: list[ControlPacket] = []
        self._events: deque[AuthEvent] = deque()
        self._report: Callable[[AuthEvent], None] = self._events.append
        self._deadline: float | None = None
        self._secrets: SecretsSource | None = None  # set by the role bases below
        self.discarded = 0
        """Packets dropped as malformed, unexpected or stale (debug-logged)."""

    @property
    def method(self) -> AuthMethod:
        """The authentication method this engine runs (``PAP``, ``CHAP`` ...)."""
        return AuthMethod.PAP if self.protocol == PPPProtocol.PAP else AuthMethod.CHAP

    def bind(self, report: Callable[[AuthEvent], None]) -> None:
        """Report events to ``report`` from now on instead of queueing them."""
        self._report = report

    def start(self, now: float) -> None:
        """The Authenticate phase begins (LCP is open)."""
        raise NotImplementedError

    def receive(self, packet: ControlPacket, now: float) -> None:
        """Handle one packet of this protocol (never raises on peer garbage)."""
        raise NotImplementedError

    def handle_timer(self, now: float) -> None:
        """Handle the deadline returned by `get_timer` (harmless if called early)."""
        raise NotImplementedError

    def protocol_rejected(self, now: float) -> None:
        """The peer sent an LCP Protocol-Reject for this protocol."""
        raise NotImplementedError

    def stop(self) -> None:
        """The link is going down: cancel timers, forget pending work."""
        raise NotImplementedError

    def login_result(self, request_id: int, ok: bool, now: float) -> None:
        """Answer a :class:`LoginCheckNeeded` (only engines that ask for one override this)."""

    def external_result(self, request_id: int, verdict: ExternalVerdict, now: float) -> None:
        """Answer an :class:`ExternalCheckNeeded` (only engines that ask override this)."""

    def get_timer(self) -> float | None:
        """Return the next deadline on the caller's clock, or ``None``."""
        return self._deadline

    def packets_to_send(self) -> list[ControlPacket]:
        """Drain the packets to send (the link frames and traces them)."""
        out, self._outgoing = self._outgoing, []
        return out

    def next_event(self) -> AuthEvent | None:
        """Pop the next queued event, or ``None`` (only for an unbound engine)."""
        return self._events.popleft() if self._events else None

    def _emit(self, event: AuthEvent) -> None:
        self._report(event)

    def _send(self, packet: ControlPacket) -> None:
        self._outgoing.append(packet)

    def _discard(self, why: str, packet: ControlPacket) -> None:
        self.discarded += 1
        name = "PAP" if self.protocol == PPPProtocol.PAP else "CHAP"
        self.logger.debug(
            "%s: discarded code %d id 0x%x: %s", name, packet.code, packet.identifier, why
        )

    def _prefetch(self) -> None:
        """A lookup will follow the next packet's round trip: let the file be re-read now."""
        if self._secrets is not None:
            self._secrets.prefetch()

    def _timer_due(self, now: float) -> bool:
        """Whether the deadline has come; if so it is cleared (every `handle_timer` starts so)."""
        if self._deadline is None or now < self._deadline:
            return False
        self._deadline = None
        return True


class AuthenticatorEngine(AuthEngine):
    """What both authenticators share (pppd's "server" side): the secrets lookup and verdicts.

    Args:
        our_name: our name (``name`` option): the server field of the secrets lookup.
        secrets: where the peers' secrets are (pap-secrets or chap-secrets).
        unit: the ppp unit number, for ``/n+`` address words.
        resolve_host: resolver for host names in address words (from the shell).
        logger: where pppd's log lines go.
    """

    role: ClassVar[Role] = Role.AUTHENTICATOR

    def __init__(
        self,
        our_name: str,
        secrets: SecretsSource | None,
        *,
        unit: int = 0,
        resolve_host: Callable[[str], IPv4Address | None] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(logger)
        self.our_name = our_name
        self._secrets = secrets
        self.unit = unit
        self._resolve_host = resolve_host
        #: Leave every verdict to an outside server (RADIUS): no secrets lookup at all.
        self.external = False
        self._next_external = 1

    def _ask_external(self, check: ExternalCheckNeeded) -> None:
        self._emit(check)

    def _new_external_id(self) -> int:
        request_id = self._next_external
        self._next_external += 1
        return request_id

    @staticmethod
    def _external_match(name: str, verdict: ExternalVerdict) -> SecretMatch:
        """What a secrets line would say for the server's verdict (its address words)."""
        entry = SecretEntry(name, "*", "", verdict.addresses, (), "RADIUS")
        return SecretMatch(entry, "", 2)

    def _lookup(self, client: str) -> SecretMatch | None:
        """The best secrets line for the peer ``client`` on our name (pppd ``get_secret``)."""
        return None if self._secrets is None else self._secrets.find(client, self.our_name)

    def _peer_failed(self, reason: str = AUTH_FAILED) -> None:
        """Report that the peer failed: the link closes with exit status 11."""
        self._emit(AuthFailure(self.role, self.protocol, reason, ExitStatus.PEER_AUTH_FAILED))

    def _peer_succeeded(
        self,
        name: str,
        match: SecretMatch,
        *,
        login: bool = False,
        mppe_keys: MppeKeys | None = None,
    ) -> None:
        """Report the peer authenticated as ``name``, with the addresses its line allows."""
        policy = AddressPolicy.from_words(
            match.entry.addresses, unit=self.unit, resolve=self._resolve_host, logger=self.logger
        )
        self._emit(
            AuthSuccess(
                self.role,
                self.protocol,
                name,
                addresses=policy,
                address_words=match.entry.addresses,
                options=match.entry.options,
                login=login,
                mppe_keys=mppe_keys,
            )
        )


class PeerEngine(AuthEngine):
    """What both peers share (pppd's "client" side): who we are and our verdicts.

    Args:
        user: the name we authenticate as (``user`` option, default our name).
        password: the ``password`` option (hidden from ``repr``).
        secrets: where our secret is looked up when no ``password`` is given.
        remote_name: the ``remotename`` option, for that lookup.
        logger: where pppd's log lines go.
    """

    role: ClassVar[Role] = Role.PEER

    def __init__(
        self,
        user: str,
        password: str | None = None,
        *,
        secrets: SecretsSource | None = None,
        remote_name: str | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(logger)
        self.user = user
        self._password = password
        self._secrets = secrets
        self.remote_name = remote_name

    def _failed(self, reason: str = FAILED_TO_PEER) -> None:
        """Report that we failed: the link closes with exit status 19."""
        self._emit(AuthFailure(self.role, self.protocol, reason, ExitStatus.AUTH_TOPEER_FAILED))

    def _succeeded(self, mppe_keys: MppeKeys | None = None) -> None:
        """Report that the peer accepted us."""
        self._emit(AuthSuccess(self.role, self.protocol, self.user, mppe_keys=mppe_keys))


# ---------------------------------------------------------------------------------------------
# Text: names on the wire are bytes; pppd prints them with %q / %v and print_string().

_ENCODING: Final = "utf-8"
_ERRORS: Final = "surrogateescape"


def decode_name(data: bytes) -> str:
    """Wire bytes to ``str`` losslessly (``surrogateescape``), for comparison with files."""
    return data.decode(_ENCODING, _ERRORS)


def encode_name(text: str) -> bytes:
    """``str`` (from options, secrets files or `decode_name`) back to the exact bytes."""
    return text.encode(_ENCODING, _ERRORS)


def _as_bytes(data: bytes | str) -> bytes:
    return encode_name(data) if isinstance(data, str) else data


def quoted(data: bytes | str) -> str:
    r"""Format as pppd's ``%q``: control bytes as ``\t \n \b \f \xNN``; ``"``, ``\`` escaped.

    No surrounding quotes are added (pppd's log lines show ``Peer zaphod failed ...``).
    """
    out = bytearray()
    for c in _as_bytes(data):
        if c in (0x22, 0x5C):
            out += b"\\"
        if c < 0x20 or 0x7F <= c < 0xA0:
            out += {0x09: b"\\t", 0x0A: b"\\n", 0x08: b"\\b", 0x0C: b"\\f"}.get(c, b"\\x%02x" % c)
        else:
            out.append(c)
    return out.decode(_ENCODING, "backslashreplace")


_PAP_NAMES: Final = ("AuthReq", "AuthAck", "AuthNak")
_CHAP_NAMES: Final = ("Challenge", "Response", "Success", "Failure")


def trace_body(protocol: int, packet: ControlPacket, *, show_password: bool = False) -> str:
    """Format a PAP or CHAP packet in pppd's trace grammar, without the protocol name.

    The caller prints ``sent [PAP `` + this + ``]``. Examples::

        AuthReq id=0x1 user="zaphod" password=<hidden>
        AuthAck id=0x1 "Login ok"
        Challenge id=0x1 <a2c470e4...>, name = "server"
        Success id=0x1 "Access granted"

    Args:
        protocol: ``0xC023`` or ``0xC223``.
        packet: the decoded packet.
        show_password: print the PAP password (pppd ``show-password``); hidden by default.
    """
    data = packet.data
    code = packet.code
    names = _PAP_NAMES if protocol == PPPProtocol.PAP else _CHAP_NAMES
    head = names[code - 1] if 1 <= code <= len(names) else f"code=0x{code:x}"
    parts = [f"{head} id=0x{packet.identifier:x}"]
    if protocol == PPPProtocol.PAP:
        rest = data
        if code == 1 and data:
            ulen = data[0]
            if len(data) >= ulen + 2:
                wlen = data[ulen + 1]
                if len(data) >= ulen + wlen + 2:
                    user = data[1 : 1 + ulen]
                    password = data[ulen + 2 : ulen + 2 + wlen]
                    shown = print_string(password) if show_password else "<hidden>"
                    parts.append(f" user={print_string(user)} password={shown}")
                    rest = data[ulen + wlen + 2 :]
        elif code in (2, 3) and data and len(data) >= data[0] + 1:
            parts.append(" " + print_string(data[1 : 1 + data[0]]))
            rest = data[1 + data[0] :]
        if code == 1 and rest is data and data and not show_password:
            # A malformed Authenticate-Request would print its password in hex: pppd does,
            # but a password never reaches our logs.
            parts.append(f" <{len(data)} octets, malformed, hidden>")
        else:
            parts.extend(f" {b:02x}" for b in rest)
    elif code in (1, 2):
        if data and len(data) >= data[0] + 1:
            clen = data[0]
            name = data[1 + clen :]
            parts.append(f" <{data[1 : 1 + clen].hex()}>, name = {print_string(name)}")
    elif code in (3, 4):
        parts.append(" " + print_string(data))
    else:
        parts.extend(f" {b:02x}" for b in data)
    return "".join(parts)
