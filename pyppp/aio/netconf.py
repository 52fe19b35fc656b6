"""pppd's ``defaultroute`` and ``proxyarp``, and IPv6's addresses, through netlink (pyroute2).

pppd adds a default route through the PPP interface when IPCP comes up, unless one exists
("not replacing existing default route via %I"), and removes it when the link goes down.
``proxyarp`` publishes the peer's address on the local Ethernet interface on the same subnet,
so hosts there can reach the peer; pppd removes the entry again at the end. At IPv6CP up the
interface gets the negotiated link-local pair (:class:`Ipv6Addresses`), and ``defaultroute6``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Interface, IPv6Address
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["Ipv6Addresses", "NetConfig", "first_ether_address", "remove_ipv4_addresses"]

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


# -- IPv6 on the link (pppd sys-linux.c sif6addr_rtnetlink, cif6addr, sif6defaultroute) -------

_AF_INET, _AF_INET6 = 2, 10
_IFA_F_NODAD, _IFA_F_PERMANENT = 0x02, 0x80
_RT_SCOPE_LINK = 253


class Ipv6Addresses:
    """The link-local address pair (and ``defaultroute6``) pppd gives its interface at IPv6CP up.

    pppd adds ``fe80::<ours>/128 peer fe80::<theirs>``, flags ``nodad`` and ``permanent``,
    scope link: no Duplicate Address Detection (the two ends negotiated distinct identifiers,
    and DAD's probes would only delay the link), and a /128 with a peer address as for IPv4 on a
    point-to-point link. With ``ipv6cp-noremote`` there is no peer address.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("pyppp")
        self._address: tuple[int, str, str] | None = None
        self._default_route: int | None = None

    def add(self, ifname: str, local: IPv6Address, remote: IPv6Address | None) -> None:
        """Put the address pair on ``ifname``.

        Raises:
            OSError: the kernel refused it (or pyroute2 is missing).
        """
        if IPRoute is None:
            raise OSError("IPv6 addresses need pyroute2 (pip install pyroute2)")
        _in_thread(lambda: self._add(ifname, local, remote))

    def _add(self, ifname: str, local: IPv6Address, remote: IPv6Address | None) -> None:
        with IPRoute() as ipr:
            index = _index(ipr, ifname)
            # As iproute2 and pppd: without a peer, the local address goes in both attributes.
            peer = str(remote if remote is not None else local)
            ipr.addr(
                "add",
                index=index,
                family=_AF_INET6,
                local=str(local),
                address=peer,
                prefixlen=128,
                flags=_IFA_F_NODAD | _IFA_F_PERMANENT,
                scope=_RT_SCOPE_LINK,
            )
            self._address = (index, str(local), peer)

    def add_default_route(self, ifname: str) -> bool:
        """Add pppd's ``defaultroute6``: ``::/0`` through ``ifname`` (other routes stay)."""
        if IPRoute is None:
            self.logger.error("defaultroute6 needs pyroute2 (pip install pyroute2)")
            return False
        return _in_thread(lambda: self._add_default_route(ifname))

    def _add_default_route(self, ifname: str) -> bool:
        with IPRoute() as ipr:
            index = _index(ipr, ifname)
            try:
                ipr.route("add", family=_AF_INET6, dst="::/0", oif=index)
            except Exception as exc:  # pyroute2's NetlinkError: EEXIST and the like
                self.logger.error("Couldn't add IPv6 default route through %s: %s", ifname, exc)
                return False
            self._default_route = index
        return True

    def remove_all(self) -> None:
        """Remove what :meth:`add` and :meth:`add_default_route` added (IPv6CP down, exit)."""
        if IPRoute is None or (self._address is None and self._default_route is None):
            return
        _in_thread(self._remove_all)

    def _remove_all(self) -> None:
        with IPRoute() as ipr:
            if self._default_route is not None:
                with contextlib.suppress(Exception):  # gone with the interface, perhaps
                    ipr.route("del", family=_AF_INET6, dst="::/0", oif=self._default_route)
                self._default_route = None
            if self._address is not None:
                index, local, peer = self._address
                with contextlib.suppress(Exception):
                    ipr.addr(
                        "del",
                        index=index,
                        family=_AF_INET6,
                        local=local,
                        address=peer,
                        prefixlen=128,
                    )
                self._address = None


def remove_ipv4_addresses(ifname: str) -> None:
    """Take IPv4 off ``ifname`` while IPv6 still uses it (pppd ``cifaddr`` without ``sifdown``).

    Raises:
        OSError: the kernel refused (or pyroute2 is missing).
    """
    if IPRoute is None:
        raise OSError("pyroute2 is needed to remove an address from a running interface")

    def remove() -> None:
        with IPRoute() as ipr:
            index = _index(ipr, ifname)
            for address in ipr.get_addr(index=index, family=_AF_INET):
                ipr.addr(
                    "del",
                    index=index,
                    family=_AF_INET,
                    local=address.get_attr("IFA_LOCAL"),
                    address=address.get_attr("IFA_ADDRESS"),
                    prefixlen=address["prefixlen"],
                )

    _in_thread(remove)


def first_ether_address(sys_class_net: Path = Path("/sys/class/net")) -> bytes | None:
    """The MAC address of the first Ethernet interface, for ``ipv6cp-use-persistent``.

    pppd's ``get_first_ether_hwaddr``: the interface with the lowest index whose type is
    Ethernet (ARPHRD_ETHER) and whose address is not zero; ``None`` if there is none.
    """
    found: list[tuple[int, bytes]] = []
    with contextlib.suppress(OSError):
        for entry in sys_class_net.iterdir():
            try:
                if (entry / "type").read_text().strip() != "1":
                    continue
                address = bytes.fromhex((entry / "address").read_text().strip().replace(":", ""))
                index = int((entry / "ifindex").read_text())
            except (OSError, ValueError):
                continue
            if len(address) == 6 and any(address):
                found.append((index, address))
    return min(found)[1] if found else None


def _index(ipr: Any, ifname: str) -> int:
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise OSError(f"no interface {ifname}")
    return int(found[0])
