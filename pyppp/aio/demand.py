"""pppd's dial-on-demand (``demand``): the interface is there before any call.

pppd configures the interface with its addresses at start-up (the ones given, or made-up ones:
10.64.64.64+unit for us and 10.112.112.112+unit for the peer) and brings it up with IP packets
queued; the first outbound packet starts the call ("Starting link"); the packets that arrive
meanwhile wait and are sent once IPCP is up (pppd ``demand_rexmit``). When the link goes down
(``idle``, a hang-up) the interface stays; packets that arrive during the holdoff period are
discarded (``demand_discard``), and after it the next packet dials again.

Only IPv4 packets start a call (pppd's IP ``demand_conf``); the queue is bounded (pppd's is
not), the rest is dropped and counted.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from enum import Enum
from ipaddress import IPv4Address
from typing import Final

from pyppp.aio.tun import Tun

__all__ = ["DemandInterface", "DemandMode", "made_up_addresses"]

QUEUE_PACKETS: Final = 256
QUEUE_BYTES: Final = 1 << 20


def made_up_addresses(
    local: IPv4Address | None, remote: IPv4Address | None, unit: int
) -> tuple[IPv4Address, IPv4Address]:
    """The addresses the interface gets when none were given (pppd ``ip_demand_conf``)."""
    return (
        local if local is not None else IPv4Address(0x0A404040 + unit),
        remote if remote is not None else IPv4Address(0x0A707070 + unit),
    )


class DemandMode(Enum):
    """What the interface does with the packets the kernel routes into it."""

    DORMANT = "dormant"  # no call: queue the packet and start one
    CONNECTING = "connecting"  # a call is starting: queue
    PASSING = "passing"  # IPCP is up: hand them to the link
    DISCARDING = "discarding"  # between calls (holdoff): drop


class DemandInterface:
    """The demand-dialled interface: one TUN for the life of the process.

    Args:
        tun: the interface (already configured and up).
        local, remote: the addresses it has now.
        logger: where pppd's lines go.
    """

    def __init__(
        self,
        tun: Tun,
        local: IPv4Address,
        remote: IPv4Address,
        logger: logging.Logger | None = None,
    ) -> None:
        self.tun = tun
        self.local = local
        self.remote = remote
        self.logger = logger or logging.getLogger("pyppp")
        self.mode = DemandMode.DORMANT
        self.triggered = asyncio.Event()
        self.dropped = 0
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._forward: Callable[[list[bytes]], int] | None = None

    def start(self) -> None:
        """Start reading the interface."""
        self.tun.start(self.on_packets)

    def on_packets(self, packets: list[bytes]) -> None:
        """Packets the kernel routed into the interface."""
        if self.mode is DemandMode.PASSING and self._forward is not None:
            self._forward(packets)
            return
        if self.mode is DemandMode.DISCARDING:
            self.dropped += len(packets)
            return
        for packet in packets:
            if not packet or packet[0] >> 4 != 4:
                self.dropped += 1  # only IP is demand-dialled (and carried) here
                continue
            if len(self._queue) >= QUEUE_PACKETS or self._queued_bytes + len(packet) > QUEUE_BYTES:
                self.dropped += 1
                continue
            self._queue.append(packet)
            self._queued_bytes += len(packet)
        if self._queue and self.mode is DemandMode.DORMANT:
            self.triggered.set()

    def dormant(self) -> None:
        """Wait for the next packet (pppd ``demand_unblock``)."""
        self.mode = DemandMode.DORMANT
        self._forward = None
        self.triggered.clear()
        if self._queue:
            self.triggered.set()

    def connecting(self) -> None:
        """A call is being made: keep queueing (pppd ``demand_block``)."""
        self.mode = DemandMode.CONNECTING

    def passing(self, forward: Callable[[list[bytes]], int]) -> None:
        """IPCP is up: send what waited, then pass packets through (pppd ``demand_rexmit``)."""
        self._forward = forward
        self.mode = DemandMode.PASSING
        if self._queue:
            packets = list(self._queue)
            self._queue.clear()
            self._queued_bytes = 0
            forward(packets)

    def blocked(self) -> None:
        """IPCP went down but the call goes on: queue again (pppd NPMODE_QUEUE)."""
        self._forward = None
        self.mode = DemandMode.CONNECTING

    def discarding(self) -> None:
        """The call is over: drop what waits and what comes (pppd ``demand_discard``)."""
        self._forward = None
        self.mode = DemandMode.DISCARDING
        self.dropped += len(self._queue)
        self._queue.clear()
        self._queued_bytes = 0
        self.triggered.clear()

    def readdress(self, local: IPv4Address, remote: IPv4Address, mtu: int) -> None:
        """IPCP settled other addresses than the interface has (pppd ipcp_up, demand branch)."""
        if (local, remote) == (self.local, self.remote):
            return
        if local != self.local:
            self.logger.warning("Local IP address changed to %s", local)
        if remote != self.remote:
            self.logger.warning("Remote IP address changed to %s", remote)
        self.tun.configure(local, remote, mtu)
        self.local, self.remote = local, remote
