"""Events a :class:`~pyppp.link.Link` reports to its owner (the shell, or a library user).

The owner drains them with ``link.next_event()`` after every call into the link, in the order
they happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, StrEnum
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyppp.auth.base import ExternalCheckNeeded

__all__ = [
    "AuthFailed",
    "AuthMethod",
    "AuthSucceeded",
    "Event",
    "ExternalCheckRequested",
    "IpReceived",
    "Ipv6Down",
    "Ipv6Up",
    "LinkDown",
    "LinkTerminated",
    "LinkUp",
    "LoginCheckRequested",
    "MtuChanged",
    "NetworkDown",
    "NetworkUp",
    "Phase",
    "PhaseChanged",
    "Role",
]


class Phase(Enum):
    """RFC 1661 §3.2 link phases."""

    DEAD = "Link Dead"
    ESTABLISH = "Link Establishment"
    AUTHENTICATE = "Authentication"
    NETWORK = "Network-Layer Protocol"
    TERMINATE = "Link Termination"


class Role(StrEnum):
    """Which side of an authentication exchange we play."""

    AUTHENTICATOR = "authenticator"
    """We require the peer to authenticate (pppd "server")."""
    PEER = "peer"
    """We authenticate ourselves to the remote (pppd "client")."""


class AuthMethod(StrEnum):
    """An authentication method, named as pppd names it in its log lines."""

    PAP = "PAP"
    CHAP = "CHAP"
    """CHAP with MD5 (RFC 1994)."""
    MSCHAP = "MS-CHAP"
    """CHAP with Microsoft's algorithm 0x80 (RFC 2433)."""
    MSCHAP_V2 = "MS-CHAPv2"
    """CHAP with Microsoft's algorithm 0x81 (RFC 2759)."""


@dataclass(frozen=True, slots=True)
class Event:
    """Base class of link events."""


@dataclass(frozen=True, slots=True)
class PhaseChanged(Event):
    """The link moved to another phase."""

    phase: Phase


@dataclass(frozen=True, slots=True)
class LinkUp(Event):
    """LCP reached Opened: the framer now uses the negotiated ACCM, ACFC, PFC and MRU.

    Attributes:
        mtu: the largest packet we may send (the peer's MRU, capped by ``mtu``).
        mru: the largest packet we accept.
    """

    mtu: int
    mru: int


@dataclass(frozen=True, slots=True)
class MtuChanged(Event):
    """The send size changed to suit the line's error rate (a pyppp extension).

    The link sends datagrams of at most ``mtu`` octets from now on; the shell sets the
    interface MTU to it, so the kernel's TCP segments for it. Never above the negotiated size
    (the peer's MRU): LCP is not renegotiated. See :mod:`pyppp.framesize`.

    Attributes:
        mtu: the new send size.
        damage: the estimated chance that one line octet is damaged.
    """

    mtu: int
    damage: float


@dataclass(frozen=True, slots=True)
class LinkDown(Event):
    """LCP left Opened (This-Layer-Down); the network layer is gone with it."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class AuthSucceeded(Event):
    """One direction of authentication succeeded.

    Attributes:
        protocol: the method (``AuthMethod.PAP`` ...).
        role: ``Role.AUTHENTICATOR`` (the peer proved itself to us) or ``Role.PEER`` (we
            proved ourselves to the remote).
        name: the peer's name (authenticator role) or ours (peer role).
    """

    protocol: AuthMethod
    role: Role
    name: str


@dataclass(frozen=True, slots=True)
class AuthFailed(Event):
    """Authentication failed in one direction; the link is being closed.

    Attributes:
        protocol: the method.
        role: who failed: ``Role.AUTHENTICATOR`` when the peer failed to authenticate to us.
        reason: pppd's Terminate-Request text.
        exit_status: pppd's status: 11 (peer failed to authenticate to us) or 19 (we failed).
    """

    protocol: AuthMethod
    role: Role
    reason: str
    exit_status: int


@dataclass(frozen=True, slots=True)
class ExternalCheckRequested(Event):
    """The authenticator leaves the verdict to an outside server (RADIUS).

    ``request`` is the engine's :class:`~pyppp.auth.base.ExternalCheckNeeded` (PAP's password
    or CHAP's challenge and response; hidden from ``repr()``). The shell asks the server
    without blocking and answers with ``link.external_result(request_id, verdict, now)``.
    """

    request: ExternalCheckNeeded


@dataclass(frozen=True, slots=True)
class LoginCheckRequested(Event):
    """The authenticator needs a system password check (pppd's ``login``).

    The check is blocking I/O (PAM), so the shell performs it and answers with
    ``link.login_result(request_id, ok, now)``. The password is not part of ``repr()``.
    """

    request_id: int
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class NetworkUp(Event):
    """IPCP reached Opened: IPv4 may flow (IPv6 has :class:`Ipv6Up`).

    Attributes:
        local: our address.
        remote: the peer's address (0.0.0.0 with ``noremoteip`` when it has none).
        dns: name servers the peer gave us (``usepeerdns``), possibly empty.
        mtu: the largest IP packet we may send.
        messages: pppd's ``(level, line)`` log lines for this moment ("local  IP address
            ..."), for a shell that prints them itself (``LinkConfig.defer_network_log``).
        wins: WINS servers the peer gave us (``usepeerwins``), possibly empty.
    """

    local: IPv4Address
    remote: IPv4Address
    dns: tuple[IPv4Address, ...] = ()
    mtu: int = 1500
    messages: tuple[tuple[int, str], ...] = ()
    wins: tuple[IPv4Address, ...] = ()


@dataclass(frozen=True, slots=True)
class NetworkDown(Event):
    """IPCP left Opened: stop sending IPv4."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class Ipv6Up(Event):
    """IPv6CP reached Opened: IPv6 may flow (pppd's ``ipv6-up`` moment).

    IPv4 and IPv6 come up and go down independently, each with its own control protocol,
    addresses and scripts, as in pppd; so each has its own pair of events (:class:`NetworkUp`
    and :class:`NetworkDown` are IPv4's), and a link may carry either or both.

    Attributes:
        local: our link-local address (``fe80::`` and our Interface-Identifier).
        remote: the peer's, or ``None`` when it has none (pppd's ``ipv6cp-noremote``).
        mtu: the largest IP packet we may send.
        messages: pppd's ``(level, line)`` log lines for this moment ("local  LL address
            ..."), for a shell that prints them itself (``LinkConfig.defer_network_log``).
    """

    local: IPv6Address
    remote: IPv6Address | None
    mtu: int = 1500
    messages: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Ipv6Down(Event):
    """IPv6CP left Opened: stop sending IPv6."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class IpReceived(Event):
    """An IP datagram (IPv4, or IPv6 while IPv6CP is up) arrived from the peer.

    Its version is in the first octet's high nibble, as a TUN device expects.
    """

    packet: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class LinkTerminated(Event):
    """The link is dead (RFC 1661 Link Dead phase), whether or not it ever came up.

    Attributes:
        exit_status: pppd's exit status for the way the link ended (pppd(8) EXIT STATUS).
        reason: a short human-readable cause.
    """

    exit_status: int
    reason: str
