"""Events a :class:`~pyppp.link.Link` reports to its owner (the shell, or a library user).

The owner drains them with ``link.next_event()`` after every call into the link, in the order
they happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Address

__all__ = [
    "AuthFailed",
    "AuthSucceeded",
    "Event",
    "IpReceived",
    "LinkDown",
    "LinkTerminated",
    "LinkUp",
    "LoginCheckRequested",
    "NetworkDown",
    "NetworkUp",
    "Phase",
    "PhaseChanged",
]


class Phase(Enum):
    """RFC 1661 §3.2 link phases."""

    DEAD = "Link Dead"
    ESTABLISH = "Link Establishment"
    AUTHENTICATE = "Authentication"
    NETWORK = "Network-Layer Protocol"
    TERMINATE = "Link Termination"


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
class LinkDown(Event):
    """LCP left Opened (This-Layer-Down); the network layer is gone with it."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class AuthSucceeded(Event):
    """One direction of authentication succeeded.

    Attributes:
        protocol: ``"PAP"`` or ``"CHAP"``.
        role: ``"authenticator"`` (the peer proved itself to us) or ``"peer"`` (we proved
            ourselves to the remote).
        name: the peer's name (authenticator role) or ours (peer role).
    """

    protocol: str
    role: str
    name: str


@dataclass(frozen=True, slots=True)
class AuthFailed(Event):
    """Authentication failed in one direction; the link is being closed.

    Attributes:
        exit_status: pppd's status: 11 (peer failed to authenticate to us) or 19 (we failed).
    """

    protocol: str
    role: str
    reason: str
    exit_status: int


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
    """IPCP reached Opened: IP may flow.

    Attributes:
        local: our address.
        remote: the peer's address.
        dns: name servers the peer gave us (``usepeerdns``), possibly empty.
        mtu: the largest IP packet we may send.
        messages: pppd's ``(level, line)`` log lines for this moment ("local  IP address
            ..."), for a shell that prints them itself (``LinkConfig.defer_network_log``).
    """

    local: IPv4Address
    remote: IPv4Address
    dns: tuple[IPv4Address, ...] = ()
    mtu: int = 1500
    messages: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class NetworkDown(Event):
    """IPCP left Opened: stop sending IP."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class IpReceived(Event):
    """An IPv4 datagram arrived from the peer."""

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
