"""IPv6CP negotiation policy (RFC 5072), plugged into the generic automaton as pppd's ipv6cp.c.

Theory of operation
-------------------
IPv6CP negotiates one thing: the Interface-Identifier (RFC 5072 §4.1) each end puts after
``fe80::`` to make its link-local address. The automaton in :mod:`pyppp.fsm` owns identifiers,
timers and counters; this module decides what to ask for and how to answer, in pppd's views:

* **want**: the configuration (``ipv6 <local>,<remote>``, or identifiers derived from the IPv4
  addresses or a MAC address by the CLI). An identifier that is configured is *fixed*; one that
  is not is made up: ours from the injected rng at every new negotiation (pppd's
  ``eui64_magic``: 64 random bits with the 0x02 bit of the first octet cleared, RFC 4291's
  "not globally unique"), the peer's from the peer itself. An unconfigured identifier is always
  open to the peer's suggestion (pppd sets ``accept_local``/``accept_remote`` for it); a
  configured one only with ``ipv6cp-accept-local``/``ipv6cp-accept-remote``.
* **got**: our Configure-Request (:class:`_Request`), and the identifier we last suggested to
  the peer in a Nak (pppd's ``go->hisid``).
* **his**: what the peer asked for in the request we last reviewed (:class:`_His`).

The peer's identifier. RFC 5072 §4.1: "If the two Interface-Identifiers are different but the
received Interface-Identifier is zero, a Configure-Nak is sent with a non-zero
Interface-Identifier value suggested for use by the remote peer", and if they are equal the
Nak carries a different one. pppd suggests the configured remote identifier if there is one,
else a random one that differs from ours; a peer that must use the configured identifier and
asks for another is Nak'd with it; a zero request when we have no identifier ourselves is
Rejected; a request without the option gets one Nak asking for it.

At This-Layer-Up pppd refuses a link whose identifiers are missing or equal ("local and remote
LL addresses are equal"), or whose peer never agreed to the identifier it was told to use;
:meth:`Ipv6cpNegotiator.up` reports that failure, which the link turns into an IPv6CP Close
with pppd's Terminate reason. IPv6-Compression-Protocol (RFC 5172) is always Rejected, as in
pppd built without ``IPV6CP_COMP`` (Debian's).

Nothing here raises on peer input: every path ends in a verdict.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from ipaddress import IPv6Address
from typing import ClassVar, Final

from pyppp.errors import ConfigError
from pyppp.ipv6cp.options import (
    CODECS,
    IDENTIFIER_LENGTH,
    InterfaceIdentifier,
    Ipv6CompressionProtocol,
    format_link_local,
    link_local,
)
from pyppp.options import EchoedRequest, Option, Review, UnknownOption, skip_repeats
from pyppp.packet import Code, PPPProtocol
from pyppp.util import NOTICE, Rng

__all__ = [
    "ZERO_IDENTIFIER",
    "Ipv6cpConfig",
    "Ipv6cpFailure",
    "Ipv6cpNegotiator",
    "Ipv6cpResult",
    "random_identifier",
]

ZERO_IDENTIFIER: Final = bytes(IDENTIFIER_LENGTH)
"""The identifier that means "none" (RFC 5072 §4.1: it MUST NOT be used on the link)."""

_ACK, _NAK, _REJ = Code.CONF_ACK, Code.CONF_NAK, Code.CONF_REJ
# pppd's seenci[]: duplicates of option types up to IPv6-Compression-Protocol are skipped.
_LAST_CHECKED_TYPE: Final = Ipv6CompressionProtocol.TYPE
_RANDOM_TRIES: Final = 16


def random_identifier(rng: Rng, avoid: bytes = ZERO_IDENTIFIER) -> bytes:
    """A random identifier as pppd's ``eui64_magic`` makes it, non-zero and unlike ``avoid``.

    RFC 4291 appendix A: bit 0x02 of the first octet (the "u" bit) clear says the identifier
    is not derived from a globally unique token.

    Args:
        rng: the injected random source.
        avoid: an identifier the result must differ from (the other end's).
    """
    candidate = ZERO_IDENTIFIER
    for _ in range(_RANDOM_TRIES):
        raw = bytearray(rng(IDENTIFIER_LENGTH))
        raw[0] &= ~0x02 & 0xFF
        candidate = bytes(raw)
        if candidate not in (ZERO_IDENTIFIER, avoid):
            return candidate
    # Only a broken rng gets here; a non-zero identifier unlike `avoid` must still come out.
    value = (int.from_bytes(candidate, "big") | 1) & ~(0x02 << 56)
    if value.to_bytes(IDENTIFIER_LENGTH, "big") == avoid:
        value ^= 0x04
    return value.to_bytes(IDENTIFIER_LENGTH, "big")


# --------------------------------------------------------------------------------------------
# Configuration and results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ipv6cpConfig:
    """The IPv6CP part of pppd's options.

    Attributes:
        local: our identifier, fixed (``ipv6 <local>,``; ``ipv6cp-use-ipaddr``,
            ``ipv6cp-use-persistent``), or ``None`` to make one up at random.
        remote: the identifier the peer must use (``ipv6 ,<remote>``), or ``None`` to take
            the peer's.
        accept_local: ``ipv6cp-accept-local``: take the peer's Nak of a fixed ``local``.
        accept_remote: ``ipv6cp-accept-remote``: let the peer keep its own identifier even
            though ``remote`` is fixed.
        send_identifier: ``False`` for ``ipv6cp-nosend``: do not send ours (nor ask for the
            peer's when it sends none).
        no_remote: ``ipv6cp-noremote``: a peer without an identifier is not a failure (the
            interface then gets our address without a peer address).

    Raises:
        ConfigError: an identifier is not 8 octets or is zero.
    """

    local: bytes | None = None
    remote: bytes | None = None
    accept_local: bool = False
    accept_remote: bool = False
    send_identifier: bool = True
    no_remote: bool = False

    def __post_init__(self) -> None:
        for name, identifier in (("local", self.local), ("remote", self.remote)):
            if identifier is None:
                continue
            if len(identifier) != IDENTIFIER_LENGTH or identifier == ZERO_IDENTIFIER:
                raise ConfigError(f"Illegal interface identifier ({name}): {identifier.hex()}")


@dataclass(frozen=True, slots=True)
class Ipv6cpFailure:
    """Why IPv6CP must close right after reaching Opened (pppd ``ipv6cp_up``).

    Attributes:
        message: pppd's error line, verbatim (``"local and remote LL addresses are equal"``).
        reason: the text of the Terminate-Request pppd then sends.
    """

    message: str
    reason: str


@dataclass(frozen=True, slots=True)
class Ipv6cpResult:
    """What IPv6CP settled at This-Layer-Up (reported in :class:`~pyppp.control.LayerUp`).

    Attributes:
        local: our interface identifier (``None`` when :attr:`failure` is set).
        remote: the peer's, or ``None`` (a failure, or ``ipv6cp-noremote`` without one).
        failure: why IPv6CP must close at once, or ``None`` on success.
        messages: pppd's ``(level, line)`` log lines ("local  LL address fe80::...").
    """

    local: bytes | None
    remote: bytes | None
    failure: Ipv6cpFailure | None
    messages: tuple[tuple[int, str], ...]

    @property
    def local_address(self) -> IPv6Address | None:
        """Our link-local address."""
        return link_local(self.local) if self.local is not None else None

    @property
    def remote_address(self) -> IPv6Address | None:
        """The peer's link-local address."""
        return link_local(self.remote) if self.remote is not None else None


# --------------------------------------------------------------------------------------------
# Negotiation state
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Request:
    """Our Configure-Request as it stands (pppd's ``gotoptions``)."""

    send: bool = True  # send Interface-Identifier
    local: bytes = ZERO_IDENTIFIER
    suggested: bytes = ZERO_IDENTIFIER  # what we last Nak'd the peer with (pppd go->hisid)

    def options(self) -> list[Option]:
        return [InterfaceIdentifier(self.local)] if self.send else []


@dataclass(frozen=True, slots=True)
class _His:
    """The peer's identifier as we answered it in the request we last reviewed."""

    negotiated: bool = False
    remote: bytes = ZERO_IDENTIFIER


class Ipv6cpNegotiator(EchoedRequest[_Request]):
    """The IPv6CP plug-in of the generic automaton (implements :class:`pyppp.options.Negotiator`).

    ``request``, ``on_ack`` and ``on_nak`` (pppd ``ipv6cp_addci``, ``ipv6cp_ackci``,
    ``ipv6cp_nakci``/``ipv6cp_rejci``) come from :class:`~pyppp.options.EchoedRequest`.

    Args:
        config: the IPv6CP options.
        rng: the injected random source (identifiers we make up).
        logger: where debug and warning lines go (``pyppp.ipv6cp`` by default).
    """

    protocol: ClassVar[int] = PPPProtocol.IPV6CP
    name: ClassVar[str] = "IPV6CP"
    codecs: ClassVar[Mapping[int, type[Option]]] = CODECS

    def __init__(
        self, config: Ipv6cpConfig, rng: Rng, logger: logging.Logger | None = None
    ) -> None:
        self.config = config
        self._rng = rng
        self._logger = logger or logging.getLogger("pyppp.ipv6cp")
        self._fixed_local = config.local is not None
        self._fixed_remote = config.remote is not None
        self._want_local = config.local or ZERO_IDENTIFIER
        self._want_remote = config.remote or ZERO_IDENTIFIER
        # pppd sets these for good once it finds an identifier unconfigured (ipv6cp_resetci).
        self._accept_local = config.accept_local or not self._fixed_local
        self._accept_remote = config.accept_remote or not self._fixed_remote
        self._ask_identifier = config.send_identifier
        self._got = _Request()
        self._his = _His()
        self._opened = False
        self.reset()

    # -- Negotiator protocol -----------------------------------------------------------------

    def reset(self) -> None:
        """Start a new negotiation (pppd ``ipv6cp_resetci``): a fresh random identifier."""
        self._ask_identifier = self.config.send_identifier
        if not self._fixed_local:
            self._want_local = random_identifier(self._rng)
        self._got = _Request(send=self.config.send_identifier, local=self._want_local)
        self._his = _His()

    def review(self, options: Sequence[Option], *, reject_if_disagree: bool) -> Review:
        """Judge the peer's Configure-Request (pppd ``ipv6cp_reqci``).

        Returns:
            A Configure-Reject of every rejected option if any; else a Configure-Nak of every
            Nak'd one (with our suggestion), plus an Interface-Identifier if the peer sent none
            and we have not asked yet; else a Configure-Ack.
        """
        self._his = _His()
        code = _ACK
        reply: list[Option] = []
        for option in skip_repeats(options, _LAST_CHECKED_TYPE, self._logger, "IPV6CP"):
            verdict, answer = self._judge(option)
            if verdict is _NAK and reject_if_disagree:
                verdict, answer = _REJ, option
            if verdict is _ACK:
                if code is _ACK:
                    reply.append(option)
                continue
            if verdict is _NAK:
                if code is _REJ:
                    continue
                if code is _ACK:
                    code, reply = _NAK, []
                reply.append(answer)
                continue
            if code is not _REJ:
                code, reply = _REJ, []
            reply.append(option)

        if (
            code is not _REJ
            and not self._his.negotiated
            and self._ask_identifier
            and not reject_if_disagree
        ):
            # The peer did not say which identifier it wants: ask, once, with our idea of it.
            if code is _ACK:
                code, reply = _NAK, []
                self._ask_identifier = False
            reply.append(InterfaceIdentifier(self._want_remote))
        self._logger.debug("IPV6CP: returning Configure-%s", code.name.split("_")[1].title())
        return Review(code, tuple(reply))

    def up(self) -> Ipv6cpResult:
        """This-Layer-Up: fix the result, or the reason IPv6CP must close (pppd ``ipv6cp_up``)."""
        self._opened = True
        log: list[tuple[int, str]] = []

        def fail(message: str, reason: str) -> Ipv6cpResult:
            log.append((logging.ERROR, message))
            return Ipv6cpResult(None, None, Ipv6cpFailure(message, reason), tuple(log))

        his, want_remote = self._his, self._want_remote
        if (
            want_remote != ZERO_IDENTIFIER
            and not self._accept_remote
            and (not his.negotiated or his.remote != want_remote)
        ):
            return fail(
                "Peer refused to agree to his interface identifier",
                "Refused his interface identifier",
            )
        remote = his.remote if his.negotiated else want_remote
        local = self._got.local
        # pppd uses the same text for the error line and the Terminate-Request here.
        if remote == ZERO_IDENTIFIER and not self.config.no_remote:
            return fail(*["Could not determine remote LL address"] * 2)
        if local == ZERO_IDENTIFIER:
            return fail(*["Could not determine local LL address"] * 2)
        if local == remote:
            return fail(*["local and remote LL addresses are equal"] * 2)
        # pppd ipv6cp.c ipv6cp_up (notice)
        log.append((NOTICE, f"local  LL address {format_link_local(local)}"))
        if remote != ZERO_IDENTIFIER:
            log.append((NOTICE, f"remote LL address {format_link_local(remote)}"))
        return Ipv6cpResult(local, remote if remote != ZERO_IDENTIFIER else None, None, tuple(log))

    def down(self) -> None:
        """This-Layer-Down."""
        self._opened = False

    # -- internals ---------------------------------------------------------------------------

    def _judge(self, option: Option) -> tuple[Code, Option]:
        """Verdict on one option of the peer's request and what to send back for it."""
        if not isinstance(option, InterfaceIdentifier):
            # IPv6-Compression-Protocol, unknown types, and a malformed Interface-Identifier.
            return _REJ, option
        identifier = option.identifier
        got = self._got
        if identifier == ZERO_IDENTIFIER and got.local == ZERO_IDENTIFIER:
            return _REJ, option
        verdict = _ACK
        want = self._want_remote
        if want != ZERO_IDENTIFIER and not self._accept_remote and identifier != want:
            verdict, identifier = _NAK, want
            self._got = replace(got, suggested=identifier)
        elif identifier in (ZERO_IDENTIFIER, got.local):
            # RFC 5072 §4.1: suggest one that is non-zero and not ours.
            verdict = _NAK
            if got.suggested == ZERO_IDENTIFIER:  # first time: try the configured one
                identifier = want
            if identifier == got.local:
                identifier = ZERO_IDENTIFIER
            if identifier == ZERO_IDENTIFIER:
                identifier = want if self._fixed_remote else random_identifier(self._rng, got.local)
            self._got = replace(got, suggested=identifier)
        self._his = _His(negotiated=True, remote=identifier)
        return verdict, InterfaceIdentifier(identifier)

    def _take_suggestion(self, attempt: _Request, identifier: bytes) -> _Request | None:
        """Our identifier after the peer Nak'd it with ``identifier``; ``None``: keep it as is."""
        if self._accept_local and identifier != ZERO_IDENTIFIER and identifier != attempt.suggested:
            return replace(attempt, local=identifier)
        if identifier == ZERO_IDENTIFIER and not self._fixed_local and self.config.send_identifier:
            # The peer asks us to choose: a new random one, unlike what we suggested to it.
            return replace(attempt, local=random_identifier(self._rng, attempt.suggested))
        return None

    def _naked(self, options: Sequence[Option]) -> _Request | None:
        """Apply a Configure-Nak; ``None`` if it is bogus (pppd ``ipv6cp_nakci``)."""
        got = self._got
        attempt = got
        rest = list(options)
        seen_identifier = seen_compression = False
        first = rest[0] if rest else None
        if got.send and isinstance(first, InterfaceIdentifier):
            seen_identifier = True
            rest.pop(0)
            attempt = self._take_suggestion(attempt, first.identifier) or attempt
        # Options we did not send: the peer would like us to ask for them (RFC 1661 §5.3).
        for option in rest:
            match option:
                case Ipv6CompressionProtocol(data=b"") if not seen_compression:
                    seen_compression = True  # we never ask for header compression
                case InterfaceIdentifier(identifier=identifier):
                    if got.send or seen_identifier:
                        return None
                    seen_identifier = True
                    taken = self._take_suggestion(replace(attempt, send=True), identifier)
                    attempt = taken if taken is not None else replace(attempt, send=False)
                case Ipv6CompressionProtocol() | UnknownOption(type=1 | 2):
                    return None  # a repeat, or a known option with the wrong length
                case _:
                    pass  # pppd ignores options it does not know in a Nak
        return attempt

    def _rejected(self, options: Sequence[Option]) -> _Request | None:
        """Apply a Configure-Reject; ``None`` unless it names exactly what we sent."""
        got = self._got
        if not options:
            return got
        if (
            got.send
            and len(options) == 1
            # RFC 1661 §5.4: rejected options MUST NOT be modified.
            and options[0].encode() == InterfaceIdentifier(got.local).encode()
        ):
            return replace(got, send=False)
        return None
