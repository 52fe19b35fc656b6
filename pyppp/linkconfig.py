"""What a :class:`~pyppp.link.Link` is built from and what it counts.

:class:`LinkConfig` holds every option a link needs, already checked (``pyppp.pppd.session``
builds it from pppd's words; a library user builds it directly); :class:`AuthFactory` is how
the link obtains authentication engines once LCP has settled who authenticates how;
:class:`LinkStats` holds the counters pppd reports at the end of a call.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from pyppp.auth.base import AuthEngine
from pyppp.ccp.negotiator import CcpConfig
from pyppp.fsm import FsmConfig
from pyppp.ipcp.negotiator import IpcpConfig
from pyppp.ipv6cp.negotiator import Ipv6cpConfig
from pyppp.lcp.negotiator import LcpConfig

__all__ = ["AuthFactory", "LinkConfig", "LinkStats"]


class AuthFactory(Protocol):
    """Builds the authentication engines once LCP has settled who authenticates how.

    ``algorithm`` is the CHAP Algorithm octet LCP settled; the link passes it only when it is
    not MD5 (MS-CHAP 0x80, MS-CHAPv2 0x81), so a factory for PAP and CHAP-MD5 alone need not
    take it.
    """

    def authenticator(self, protocol: int, *, algorithm: int = ...) -> AuthEngine | None:
        """Return the engine that checks the peer with ``protocol``, or ``None`` if we can't."""
        ...

    def peer(self, protocol: int, *, algorithm: int = ...) -> AuthEngine | None:
        """Return the engine that authenticates us with ``protocol``, or ``None``."""
        ...


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """Everything a link needs, already checked (the CLI builds it from pppd's options).

    Attributes:
        lcp: LCP option policy. lcp_fsm: LCP counters/flags (``passive``, ``silent``).
        ipcp: IPCP policy, or ``None`` to run no network protocol.
        ipcp_fsm: IPCP counters.
        ipv6cp: IPv6CP policy, or ``None`` (the default) to Protocol-Reject IPv6CP and carry
            no IPv6; pppd's option words turn it on unless ``noipv6``.
        ipv6cp_fsm: IPv6CP counters.
        ccp: CCP's methods (RFC 1962), or ``None`` (the default) to Protocol-Reject CCP and
            compress nothing; pppd's option words turn it on (Deflate 15) unless ``noccp``.
        ccp_fsm: CCP counters (``ccp-max-configure`` ...).
        auth: builds PAP/CHAP engines; required when LCP may negotiate authentication.
        echo_interval, echo_failure: pppd's ``lcp-echo-interval`` / ``lcp-echo-failure``.
        escape: extra bytes to escape on transmit (pppd's ``escape``).
        idle: pppd's ``idle``: seconds without IP traffic before hanging up (0: never).
        max_connect: pppd's ``maxconnect``: seconds of Network phase allowed (0: no limit).
        show_password: print PAP passwords in the trace (pppd ``show-password``).
        trace_echo: also trace LCP Echo packets once the link is up (pppd ``debug debug``).
        defer_network_log: leave pppd's "local  IP address ..." (and "local  LL address
            ...") lines to whoever handles :class:`~pyppp.events.NetworkUp` (and
            :class:`~pyppp.events.Ipv6Up`), in ``messages``, so that a shell prints them
            once the interface is really configured, as pppd does.
        receive_all: pppd ``receive-all``: keep the control characters our ACCM asked the
            peer to escape, instead of discarding them (RFC 1662 §7.1), for buggy peers.
        echo_adaptive: pppd ``lcp-echo-adaptive``: skip a keepalive Echo-Request when frames
            arrived since the last one.
        require_network: close the link, as pppd does, when it reaches the Network phase
            with no network protocol to run (``noip``); a library user may want it open.
        adaptive_mtu: send smaller datagrams while the line damages frames, and larger
            again as it cleans up (:mod:`pyppp.framesize`, :class:`~pyppp.events.MtuChanged`;
            a pyppp extension, on by default for pppd's words, ``noadaptive-mtu``).
    """

    lcp: LcpConfig = field(default_factory=LcpConfig)
    lcp_fsm: FsmConfig = field(default_factory=FsmConfig)
    ipcp: IpcpConfig | None = field(default_factory=IpcpConfig)
    ipcp_fsm: FsmConfig = field(default_factory=FsmConfig)
    ipv6cp: Ipv6cpConfig | None = None
    ipv6cp_fsm: FsmConfig = field(default_factory=FsmConfig)
    ccp: CcpConfig | None = None
    ccp_fsm: FsmConfig = field(default_factory=FsmConfig)
    auth: AuthFactory | None = None
    echo_interval: float = 0.0
    echo_failure: int = 0
    escape: frozenset[int] = frozenset()
    idle: float = 0.0
    max_connect: float = 0.0
    show_password: bool = False
    trace_echo: bool = False
    defer_network_log: bool = False
    receive_all: bool = False
    echo_adaptive: bool = False
    require_network: bool = False
    adaptive_mtu: bool = False


@dataclass(slots=True)
class LinkStats:
    """Counters pppd reports at the end ("Sent N bytes, received M bytes.") and more."""

    bytes_sent: int = 0
    bytes_received: int = 0
    frames_sent: int = 0
    frames_received: int = 0
    discarded: Counter[str] = field(default_factory=Counter)
