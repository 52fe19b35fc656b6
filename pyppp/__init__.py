"""pyppp: PPP in userspace, a pure-Python replacement for pppd.

The sans-IO core (:class:`Link` and friends) takes bytes, events and a clock value and gives
back bytes, events and deadlines; :class:`PppConnection` runs it over any asyncio byte stream and
hands IP packets to the caller, so a test suite can have a PPP peer with no root and no hardware::

    import pyppp

    server = pyppp.simple_config(local="10.99.0.1", remote="10.99.0.2",
                                 require_pap={"zaphod": "gargleBlaster"})
    client = pyppp.simple_config(user="zaphod", password="gargleBlaster")
    async with pyppp.linked_pair(server, client) as (a, b):
        await b.wait_network_up()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyppp.errors import ConfigError, LocalProtocolError, MalformedPacket, PyPPPError
from pyppp.events import (
    AuthFailed,
    AuthSucceeded,
    Event,
    IpReceived,
    Ipv6Down,
    Ipv6Up,
    LinkDown,
    LinkTerminated,
    LinkUp,
    LoginCheckRequested,
    NetworkDown,
    NetworkUp,
    Phase,
    PhaseChanged,
)
from pyppp.hdlc import Deframer, Frame, FrameEncoder, encode_frame, fcs16
from pyppp.link import Link
from pyppp.linkconfig import LinkConfig
from pyppp.simple import simple_config

if TYPE_CHECKING:
    from pyppp.aio.api import PppConnection, linked_pair

__all__ = [
    "AuthFailed",
    "AuthSucceeded",
    "ConfigError",
    "Deframer",
    "Event",
    "Frame",
    "FrameEncoder",
    "IpReceived",
    "Ipv6Down",
    "Ipv6Up",
    "Link",
    "LinkConfig",
    "LinkDown",
    "LinkTerminated",
    "LinkUp",
    "LocalProtocolError",
    "LoginCheckRequested",
    "MalformedPacket",
    "NetworkDown",
    "NetworkUp",
    "Phase",
    "PhaseChanged",
    "PppConnection",
    "PyPPPError",
    "__version__",
    "encode_frame",
    "fcs16",
    "linked_pair",
    "simple_config",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The asyncio shell (and pyserial behind it) loads only when the library API is used.
    if name in ("PppConnection", "linked_pair"):
        from pyppp.aio import api

        return getattr(api, name)
    raise AttributeError(f"module 'pyppp' has no attribute {name!r}")
