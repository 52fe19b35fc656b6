"""The network side: a Linux TUN interface named like pppd's (``ppp0``, the next free ``pppN``).

pppd gets a ``pppN`` interface from the kernel's PPP driver; pyppp makes a TUN device with the
same kind of name, point-to-point addresses and the negotiated MTU, and moves IP packets (IPv4
and IPv6: without packet-information headers the kernel reads each packet's version from its
first octet) between it and the link. A TUN interface exists only while its file descriptor is
open, so closing it (on every exit path) removes the interface.

The kernel never gives a PPP unit an IPv6 address of its own, but it does auto-configure a TUN
device (a random link-local address as soon as it is up). pyppp turns that off when it creates
the device (``addr_gen_mode`` 1, "none"), so that the interface carries only the link-local pair
IPv6CP negotiated, as pppd's does. The interface stays up while either IP version is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytun

from pyppp.aio.netconf import Ipv6Addresses, remove_ipv4_addresses, set_ipv4_route_mtu
from pyppp.errors import ExitStatus, PyPPPError

__all__ = ["Tun", "TunError"]

_READ_SIZE = 65536
_IPV6_CONF = Path("/proc/sys/net/ipv6/conf")
_ADDR_GEN_MODE_NONE = "1"
# Linux disables IPv6 on an interface whose MTU is below IPv6's minimum (RFC 8200 §5).
_IPV6_MIN_MTU = 1280


class TunError(PyPPPError):
    """The interface could not be created or configured (pppd: 1 fatal, 3 not root)."""

    def __init__(self, message: str, exit_status: int = ExitStatus.FATAL_ERROR) -> None:
        super().__init__(message)
        self.exit_status = exit_status


class Tun:
    """A point-to-point TUN interface without packet information headers.

    Args:
        name: ``ifname`` if given, else ``ppp<unit>``, else the kernel picks the next free
            ``ppp%d``.
    """

    def __init__(self, name: str | None = None, *, unit: int | None = None) -> None:
        pattern = name or (f"ppp{unit}" if unit is not None else "ppp%d")
        try:
            self.device = pytun.TunTapDevice(name=pattern, flags=pytun.IFF_TUN | pytun.IFF_NO_PI)
        except pytun.Error as exc:
            status = 3 if "Operation not permitted" in str(exc) else 1
            raise TunError(f"Couldn't create interface {pattern}: {exc}", status) from exc
        self.name: str = self.device.name
        self.fd = self.device.fileno()
        os.set_blocking(self.fd, False)
        self._no_autoconf()
        self._families: set[int] = set()  # IP versions configured and up
        self._send_mtu: int | None = None  # the link's adaptive send size (MtuChanged)
        self._route_mtu = False  # IPv4 routes carry an MTU of their own (below IPv6's floor)
        self._ipv6 = Ipv6Addresses()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reading = False
        self.dropped = 0
        """Packets the kernel would not take (its queue full, or the interface down)."""
        self._on_packets: Callable[[list[bytes]], object] | None = None

    def _no_autoconf(self) -> None:
        """Keep the kernel from making up an IPv6 address for the device (before it is up)."""
        with contextlib.suppress(OSError):  # no such file: IPv6 is disabled on this host
            (_IPV6_CONF / self.name / "addr_gen_mode").write_text(_ADDR_GEN_MODE_NONE)

    def configure(
        self, local: IPv4Address, remote: IPv4Address, mtu: int, *, up: bool = True
    ) -> None:
        """Set the point-to-point addresses and MTU, and bring the interface up (unless not).

        pppd sets 255.255.255.255 as the netmask on Linux whatever ``netmask`` says.
        """
        try:
            self.device.addr = str(local)
            if remote != IPv4Address(0):  # pppd noremoteip: no peer address on the interface
                self.device.dstaddr = str(remote)
            self.device.netmask = "255.255.255.255"
            self._send_mtu = mtu
            if 6 not in self._families or mtu >= _IPV6_MIN_MTU:
                self.device.mtu = mtu
            if up:
                self.device.up()
        except pytun.Error as exc:
            raise TunError(f"Couldn't configure {self.name}: {exc}") from exc
        self._families.add(4)
        if 6 in self._families and mtu < _IPV6_MIN_MTU:
            self.set_send_mtu(mtu)  # IPv6 holds the interface at 1280: the routes get it

    def set_send_mtu(self, mtu: int) -> None:
        """The link sends datagrams of at most ``mtu`` octets now (:class:`MtuChanged`).

        The interface MTU follows, so the kernel's TCP segments for it. While IPv6 runs the
        interface stays at 1280 or more (Linux takes IPv6 off an interface below RFC 8200's
        minimum) and a smaller size goes on the IPv4 routes instead. Failures are logged:
        the link works on, only less well on a noisy line.
        """
        self._send_mtu = mtu
        floor = _IPV6_MIN_MTU if 6 in self._families else 0
        try:
            self.device.mtu = max(mtu, floor)
            if 4 in self._families and (mtu < floor or self._route_mtu):
                self._route_mtu = mtu < floor
                set_ipv4_route_mtu(self.name, mtu if self._route_mtu else None)
        except (pytun.Error, OSError) as exc:
            logging.getLogger("pyppp").warning("%s: couldn't set MTU %d: %s", self.name, mtu, exc)

    def configure_ipv6(self, local: IPv6Address, remote: IPv6Address | None, mtu: int) -> None:
        """Bring the interface up for IPv6 with the link-local pair (pppd sif6up, sif6addr)."""
        try:
            if 4 not in self._families:
                self.device.mtu = mtu
            elif self._send_mtu is not None and self._send_mtu < _IPV6_MIN_MTU:
                # The adaptive send size took the interface below IPv6's minimum: lift it
                # first, and keep the small size for IPv4 on its routes.
                self._families.add(6)
                self.set_send_mtu(self._send_mtu)
            self.device.up()
            self._ipv6.add(self.name, local, remote)
        except (pytun.Error, OSError) as exc:
            hint = f" (IPv6 needs an MTU of {_IPV6_MIN_MTU} or more)" if mtu < _IPV6_MIN_MTU else ""
            raise TunError(f"Couldn't configure {self.name} for IPv6: {exc}{hint}") from exc
        self._families.add(6)

    def add_ipv6_default_route(self, metric: int = 0) -> bool:
        """Add ``defaultroute6`` with ``defaultroute6-metric``; it goes with the addresses."""
        return self._ipv6.add_default_route(self.name, metric)

    def bring_up(self) -> None:
        """Bring a configured interface up (after pppd's ip-pre-up script)."""
        try:
            self.device.up()
        except pytun.Error as exc:
            raise TunError(f"Couldn't bring {self.name} up: {exc}") from exc

    def down(self) -> None:
        """IPCP closed: take the interface down, or only its IPv4 address while IPv6 runs."""
        self._families.discard(4)
        if self._families:
            try:
                remove_ipv4_addresses(self.name)
            except Exception as exc:  # netlink refusing must not take IPv6 down
                logging.getLogger("pyppp").debug("%s: IPv4 address stays: %s", self.name, exc)
            return
        with contextlib.suppress(pytun.Error):
            self.device.down()

    def down_ipv6(self) -> None:
        """IPv6CP closed: remove the link-local pair (pppd cif6addr), and go down if alone."""
        self._families.discard(6)
        self._ipv6.remove_all()
        if not self._families:
            with contextlib.suppress(pytun.Error):
                self.device.down()

    def start(self, on_packets: Callable[[list[bytes]], object]) -> None:
        """Deliver the packets the kernel routes into the interface, a burst at a time."""
        self._loop = asyncio.get_running_loop()
        self._on_packets = on_packets
        self.resume()

    def pause(self) -> None:
        """Stop reading (the line is backed up); the kernel queues or drops meanwhile."""
        if self._reading and self._loop is not None:
            self._loop.remove_reader(self.fd)
            self._reading = False

    def resume(self) -> None:
        """Read again."""
        if not self._reading and self._loop is not None and self._on_packets is not None:
            self._loop.add_reader(self.fd, self._readable)
            self._reading = True

    def _readable(self) -> None:
        # Drain a burst per wake-up and hand it over in one call: under bulk traffic that is
        # one pass through the link (and one framing call) for up to 32 packets.
        assert self._on_packets is not None
        burst: list[bytes] = []
        read = os.read
        for _ in range(32):
            try:
                burst.append(read(self.fd, _READ_SIZE))
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                # The interface went away under us (deleted by hand?): stop reading it.
                logging.getLogger("pyppp").error("%s: read error: %s", self.name, exc)
                self.pause()
                break
        if burst:
            self._on_packets(burst)

    def write(self, packet: bytes) -> None:
        """Hand a received IP packet to the kernel (dropped if its queue is full)."""
        try:  # not contextlib.suppress: this runs once per packet
            os.write(self.fd, packet)
        except OSError:
            self.dropped += 1

    def close(self) -> None:
        """Remove the interface (its addresses and routes go with it)."""
        self.pause()
        with contextlib.suppress(Exception):
            self._ipv6.remove_all()  # a defaultroute6 would go too; say so explicitly
        with contextlib.suppress(pytun.Error, OSError):
            self.device.close()
