"""pppd's ``defaultroute`` and ``proxyarp``, and IPv6's addresses, through netlink (pyroute2).

pppd adds a default route through the PPP interface when IPCP comes up and removes it when the
link goes down. If a default route exists already it says "not replacing default route to %s
[%I]" and adds none, unless ``replacedefaultroute`` is given: then "replacing old default route
to %s [%I]", and at the end "restoring old default route to %s [%I]". ``defaultroute-metric``
sets the metric of the route and makes only a default route with that same metric count as
existing (pppd(8); pppd 2.4.9's Linux code compares no metric, pppd 2.5 does as documented).
``proxyarp`` publishes the peer's address on the local Ethernet interface on the same subnet,
so hosts there can reach the peer (with ``ktune`` IP forwarding is switched on too, as pppd
does); pppd removes the entry again at the end. At IPv6CP up the interface gets the negotiated
link-local pair (:class:`Ipv6Addresses`), and ``defaultroute6``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Interface, IPv6Address
from pathlib import Path
from typing import Any, TypeVar

from pyppp.util import NOTICE

__all__ = [
    "Ipv6Addresses",
    "NetConfig",
    "first_ether_address",
    "remove_ipv4_addresses",
    "set_ipv4_route_mtu",
]

from pyroute2 import IPRoute

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
        self._default_route: tuple[int, int] | None = None  # (interface index, metric)
        self._replaced: dict[str, object] | None = None  # the default route we took away
        self._proxy: tuple[int, str] | None = None

    # -- the default route (defaultroute, replacedefaultroute, defaultroute-metric) -----------

    def add_default_route(self, ifname: str, *, replace: bool = False, metric: int = -1) -> bool:
        """Route 0.0.0.0/0 through ``ifname``, as pppd's ``sifdefaultroute`` (see the docstring).

        Args:
            ifname: the PPP interface.
            replace: ``replacedefaultroute``: take the place of an existing default route.
            metric: ``defaultroute-metric`` (-1: pppd's default, metric 0 and any existing
                default route counts).
        """
        return _in_thread(lambda: self._add_default_route(ifname, replace, metric))

    def _add_default_route(self, ifname: str, replace: bool, metric: int) -> bool:
        priority = max(metric, 0)  # pppd: rt_metric = metric + 1, which the kernel stores - 1
        with IPRoute() as ipr:
            index = ipr.link_lookup(ifname=ifname)
            if not index:
                return False
            old = None
            for route in ipr.get_default_routes(family=2):
                if route.get_attr("RTA_OIF") == index[0]:
                    continue
                if metric >= 0 and (route.get_attr("RTA_PRIORITY") or 0) != priority:
                    continue
                old = route
                break
            if old is not None:
                device = _link_name(ipr, old.get_attr("RTA_OIF"))
                gateway = old.get_attr("RTA_GATEWAY") or "0.0.0.0"
                if not replace:
                    # pppd sys-linux.c sifdefaultroute
                    self.logger.error("not replacing default route to %s [%s]", device, gateway)
                    return False
                self.logger.log(NOTICE, "replacing old default route to %s [%s]", device, gateway)
            # "replace": a default route with the same metric is swapped for ours in one step
            # (no moment without a default route); one with another metric is deleted after.
            command = "replace" if old is not None else "add"
            ipr.route(command, dst="0.0.0.0/0", oif=index[0], scope=253, priority=priority)
            self._default_route = (index[0], priority)
            if old is not None:
                saved = _route_spec(old)
                self._replaced = {**saved, "_device": device, "_gateway": gateway}
                if (old.get_attr("RTA_PRIORITY") or 0) != priority:
                    try:
                        ipr.route("del", **saved)
                    except Exception as exc:  # ours is there; the old one could not go
                        self.logger.error("del old default route: %s", exc)
        return True

    def add_proxy_arp(self, remote: IPv4Address, *, ktune: bool = False) -> bool:
        """Publish ``remote`` on the Ethernet interface whose subnet holds it.

        Args:
            remote: the peer's address.
            ktune: pppd's ``ktune``: also turn IP forwarding on (pppd never turns it off).
        """
        return _in_thread(lambda: self._add_proxy_arp(remote, ktune))

    def _add_proxy_arp(self, remote: IPv4Address, ktune: bool) -> bool:
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
                    if ktune:
                        _enable_ip_forwarding(self.logger)
                    return True
        # pppd: "Cannot determine ethernet address for proxy ARP"
        self.logger.warning("Cannot determine ethernet address for proxy ARP")
        return False

    def remove_all(self) -> None:
        """Undo everything added (at link down and on every exit path)."""
        if self._default_route is None and self._proxy is None and self._replaced is None:
            return
        _in_thread(self._remove_all)

    def _remove_all(self) -> None:
        with IPRoute() as ipr:
            if self._default_route is not None:
                index, priority = self._default_route
                with contextlib.suppress(Exception):
                    ipr.route("del", dst="0.0.0.0/0", oif=index, priority=priority)
                self._default_route = None
            if self._replaced is not None:
                saved = dict(self._replaced)
                device, gateway = saved.pop("_device"), saved.pop("_gateway")
                # pppd sys-linux.c cifdefaultroute
                self.logger.log(NOTICE, "restoring old default route to %s [%s]", device, gateway)
                try:
                    # "replace": if ours is still there (same metric), it gives way in one step.
                    ipr.route("replace", **saved)
                except Exception as exc:
                    self.logger.error("restore default route: %s", exc)
                self._replaced = None
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
        self._default_route: tuple[int, int] | None = None  # (interface index, priority)

    def add(self, ifname: str, local: IPv6Address, remote: IPv6Address | None) -> None:
        """Put the address pair on ``ifname``.

        Raises:
            OSError: the kernel refused it.
        """
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

    def add_default_route(self, ifname: str, metric: int = 0) -> bool:
        """Add pppd's ``defaultroute6``: ``::/0`` through ``ifname`` (other routes stay).

        Args:
            ifname: the PPP interface.
            metric: ``defaultroute6-metric``, which pppd 2.5.3 gives the kernel as the route's
                priority, an unsigned number (so -1 is the largest); 0 lets the kernel choose
                (1024 for IPv6).

        Returns:
            Whether the route is in place.
        """
        priority = metric & 0xFFFFFFFF  # pppd: unsigned dfl_route6_metric
        return _in_thread(lambda: self._add_default_route(ifname, priority))

    def _add_default_route(self, ifname: str, priority: int) -> bool:
        with IPRoute() as ipr:
            index = _index(ipr, ifname)
            try:
                ipr.route("add", family=_AF_INET6, dst="::/0", oif=index, priority=priority)
            except Exception as exc:  # pyroute2's NetlinkError: EEXIST and the like
                self.logger.error("Couldn't add IPv6 default route through %s: %s", ifname, exc)
                return False
            self._default_route = (index, priority)
        return True

    def remove_all(self) -> None:
        """Remove what :meth:`add` and :meth:`add_default_route` added (IPv6CP down, exit)."""
        if self._address is None and self._default_route is None:
            return
        _in_thread(self._remove_all)

    def _remove_all(self) -> None:
        with IPRoute() as ipr:
            if self._default_route is not None:
                with contextlib.suppress(Exception):  # gone with the interface, perhaps
                    index, priority = self._default_route
                    ipr.route("del", family=_AF_INET6, dst="::/0", oif=index, priority=priority)
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


def set_ipv4_route_mtu(ifname: str, mtu: int | None) -> int:
    """Give every IPv4 route through ``ifname`` the MTU ``mtu`` (``None``: take it off again).

    The adaptive send size (pyppp.framesize) lowers the interface MTU; while IPv6 runs on the
    interface it cannot go below 1280 (Linux takes IPv6 off an interface below RFC 8200's
    minimum), so a smaller IPv4 size is set on the routes instead: the kernel's TCP segments
    for a route's MTU as it does for the interface's.

    Returns:
        How many routes were changed.

    Raises:
        OSError: the kernel refused.
    """

    def change() -> int:
        changed = 0
        with IPRoute() as ipr:
            index = _index(ipr, ifname)
            for route in ipr.get_routes(family=_AF_INET, oif=index, table=254):
                spec: dict[str, Any] = {"dst_len": route["dst_len"], "table": 254}
                for key in ("proto", "scope", "type", "tos"):
                    spec[key] = route[key]
                for key, attr in (
                    ("dst", "RTA_DST"),
                    ("oif", "RTA_OIF"),
                    ("gateway", "RTA_GATEWAY"),
                    ("prefsrc", "RTA_PREFSRC"),
                    ("priority", "RTA_PRIORITY"),
                ):
                    value = route.get_attr(attr)
                    if value is not None:
                        spec[key] = value
                spec.setdefault("dst", "0.0.0.0")
                if mtu is not None:
                    spec["metrics"] = {"mtu": mtu}
                ipr.route("replace", **spec)
                changed += 1
        return changed

    return _in_thread(change)


def remove_ipv4_addresses(ifname: str) -> None:
    """Take IPv4 off ``ifname`` while IPv6 still uses it (pppd ``cifaddr`` without ``sifdown``).

    Raises:
        OSError: the kernel refused.
    """

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


def _link_name(ipr: IPRoute, index: int | None) -> str:
    if index is None:
        return "?"
    links = ipr.get_links(index)
    return str(links[0].get_attr("IFLA_IFNAME")) if links else str(index)


def _route_spec(route: object) -> dict[str, object]:
    """What re-creates (or deletes) a route read from the kernel."""
    get = route.get_attr  # type: ignore[attr-defined]
    spec: dict[str, object] = {"dst": "0.0.0.0/0"}
    for key, attr in (("gateway", "RTA_GATEWAY"), ("oif", "RTA_OIF"), ("priority", "RTA_PRIORITY")):
        value = get(attr)
        if value is not None:
            spec[key] = value
    table = get("RTA_TABLE")
    if table is not None:
        spec["table"] = table
    for key in ("proto", "scope", "type"):  # so the restored route is the same one
        with contextlib.suppress(KeyError, TypeError):
            spec[key] = route[key]  # type: ignore[index]
    return spec


def _enable_ip_forwarding(logger: logging.Logger) -> None:
    # pppd sys-linux.c sifproxyarp with tune_kernel
    path = Path("/proc/sys/net/ipv4/ip_forward")
    try:
        path.write_text("1")
    except OSError as exc:
        logger.warning("Couldn't enable IP forwarding: %s", exc.strerror or exc)
