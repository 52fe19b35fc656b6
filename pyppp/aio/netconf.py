"""pppd's ``defaultroute`` and ``proxyarp``, through netlink (pyroute2).

pppd adds a default route through the PPP interface when IPCP comes up, unless one exists
("not replacing existing default route via %I"), and removes it when the link goes down.
``proxyarp`` publishes the peer's address on the local Ethernet interface on the same subnet,
so hosts there can reach the peer; pppd removes the entry again at the end.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Interface
from typing import TypeVar

__all__ = ["NetConfig"]

try:
    from pyroute2 import IPRoute
except ImportError:  # pragma: no cover - pyroute2 is an optional extra
    IPRoute = None

_NTF_PROXY = 0x08
_IFF_UP, _IFF_LOOPBACK, _IFF_POINTOPOINT, _IFF_NOARP = 0x1, 0x8, 0x10, 0x80
_T = TypeVar("_T")


def _in_thread(function: Callable[[], _T]) -> _T:
    """Run a short netlink job in a thread of its own.

    pyroute2's synchronous API drives an asyncio loop of its own, which cannot run inside the
    daemon's loop thread; the jobs take milliseconds, so the loop simply waits for them.
    """
    result: list[_T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(function())
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="netlink")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


class NetConfig:
    """Adds and later removes the routes and proxy-ARP entries pppd would."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("pyppp")
        self._default_route: int | None = None
        self._proxy: tuple[int, str] | None = None

    def add_default_route(self, ifname: str) -> bool:
        """Route 0.0.0.0/0 through ``ifname`` unless a default route already exists."""
        if IPRoute is None:
            self.logger.error("defaultroute needs pyroute2 (pip install pyppp[netlink])")
            return False
        return _in_thread(lambda: self._add_default_route(ifname))

    def _add_default_route(self, ifname: str) -> bool:
        with IPRoute() as ipr:
            for route in ipr.get_default_routes(family=2):
                via = route.get_attr("RTA_GATEWAY") or "an interface"
                # pppd sys-linux.c sifdefaultroute
                self.logger.error("not replacing existing default route via %s", via)
                return False
            index = ipr.link_lookup(ifname=ifname)
            if not index:
                return False
            ipr.route("add", dst="0.0.0.0/0", oif=index[0], scope=253)
            self._default_route = index[0]
        return True

    def add_proxy_arp(self, remote: IPv4Address) -> bool:
        """Publish ``remote`` on the Ethernet interface whose subnet holds it."""
        if IPRoute is None:
            self.logger.error("proxyarp needs pyroute2 (pip install pyppp[netlink])")
            return False
        return _in_thread(lambda: self._add_proxy_arp(remote))

    def _add_proxy_arp(self, remote: IPv4Address) -> bool:
        with IPRoute() as ipr:
            # pppd get_ether_addr: only an interface that is up and does ARP (not loopback,
            # not another point-to-point link) can answer for the peer.
            usable = {
                link["index"]
                for link in ipr.get_links()
                if link["flags"] & _IFF_UP
                and not link["flags"] & (_IFF_LOOPBACK | _IFF_POINTOPOINT | _IFF_NOARP)
            }
            for address in ipr.get_addr(family=2):
                interface = IPv4Interface(
                    f"{address.get_attr('IFA_ADDRESS')}/{address['prefixlen']}"
                )
                if (
                    address["index"] in usable
                    and remote in interface.network
                    and address["prefixlen"] < 32
                ):
                    index = address["index"]
                    ipr.neigh("add", dst=str(remote), ifindex=index, flags=_NTF_PROXY)
                    self._proxy = (index, str(remote))
                    return True
        # pppd: "Cannot determine ethernet address for proxy ARP"
        self.logger.warning("Cannot determine ethernet address for proxy ARP")
        return False

    def remove_all(self) -> None:
        """Undo everything added (at link down and on every exit path)."""
        if IPRoute is None or (self._default_route is None and self._proxy is None):
            return
        _in_thread(self._remove_all)

    def _remove_all(self) -> None:
        with IPRoute() as ipr:
            if self._default_route is not None:
                with contextlib.suppress(Exception):
                    ipr.route("del", dst="0.0.0.0/0", oif=self._default_route)
                self._default_route = None
            if self._proxy is not None:
                index, remote = self._proxy
                with contextlib.suppress(Exception):
                    ipr.neigh("del", dst=remote, ifindex=index, flags=_NTF_PROXY)
                self._proxy = None
