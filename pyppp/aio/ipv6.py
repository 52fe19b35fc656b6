"""The IPv6 half of one connection in the shell: what pppd's ``ipv6cp_up``/``ipv6cp_down`` do.

At :class:`~pyppp.events.Ipv6Up`: bring the interface up for IPv6 with the negotiated
link-local pair (no DAD), add ``defaultroute6`` if asked (with ``defaultroute6-metric``), then
run ``ipv6-up`` (or pppd 2.5's ``ipv6-up-script``) with pppd's arguments ``interface tty speed
local-LL remote-LL ipparam`` and, on top of the ip-up
environment, ``LLLOCAL``/``LLREMOTE`` (pppd sets ``LLREMOTE`` only when the peer has an
identifier). The link-local addresses are written as pppd writes them
(``fe80::0000:0000:0000:0001``). At :class:`~pyppp.events.Ipv6Down`: remove the addresses and the
route, take the interface down unless IPv4 still uses it, then run ``ipv6-down`` (or
``ipv6-down-script``) with the same arguments. If the interface refuses the addresses, pppd
closes IPv6CP ("Interface configuration failed") and IPv4 carries on; :meth:`Ipv6Side.up` says
so to its caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from ipaddress import IPv6Address
from pathlib import Path

from pyppp.aio.scripts import ScriptRunner
from pyppp.aio.tun import Tun, TunError
from pyppp.events import Ipv6Up
from pyppp.ipv6cp.negotiator import ZERO_IDENTIFIER
from pyppp.ipv6cp.options import format_link_local

__all__ = ["Ipv6Side", "link_local_text"]


def link_local_text(address: IPv6Address | None) -> str:
    """Write a link-local address as pppd's ``llv6_ntoa`` (``None``: the zero identifier)."""
    return format_link_local(address.packed[8:] if address is not None else ZERO_IDENTIFIER)


@dataclass(eq=False)
class Ipv6Side:
    """IPv6 on one connection's interface (see the module docstring).

    Attributes:
        tun: the interface.
        scripts: runs the two scripts.
        up_script: the ``ipv6-up`` script (``<config-dir>/ipv6-up`` or ``ipv6-up-script``).
        down_script: the ``ipv6-down`` script (``<config-dir>/ipv6-down`` or
            ``ipv6-down-script``).
        defaultroute: pppd's ``defaultroute6``.
        metric: pppd's ``defaultroute6-metric`` (0: the kernel's default).
        up_event: the IPv6CP up being served (``None`` while IPv6 is down).
        tasks: the scripts started, for the connection to wait for at its end.
    """

    tun: Tun
    scripts: ScriptRunner
    _: KW_ONLY
    up_script: Path
    down_script: Path
    defaultroute: bool = False
    metric: int = 0
    up_event: Ipv6Up | None = field(default=None, init=False)
    tasks: list[asyncio.Future[int | None]] = field(default_factory=list, init=False)

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """The scripts' environment: ``base`` (as for ip-up) plus LLLOCAL/LLREMOTE."""
        env = dict(base)
        event = self.up_event
        if event is not None:
            env["LLLOCAL"] = link_local_text(event.local)
            if event.remote is not None:
                env["LLREMOTE"] = link_local_text(event.remote)
        return env

    def arguments(self, head: Sequence[str], ipparam: str) -> list[str]:
        """The scripts' arguments, as pppd's: ``head`` (interface, tty, speed), the LLs, ipparam."""
        event = self.up_event
        local = link_local_text(event.local if event is not None else None)
        remote = link_local_text(event.remote if event is not None else None)
        return [*head, local, remote, ipparam]

    def up(
        self, event: Ipv6Up, head: Sequence[str], ipparam: str, env: Mapping[str, str]
    ) -> TunError | None:
        """Configure the interface for IPv6 and start ``ipv6-up``.

        Returns:
            ``None``, or the error that makes pppd close IPv6CP (the caller does that).
        """
        try:
            self.tun.configure_ipv6(event.local, event.remote, event.mtu)
        except TunError as exc:
            return exc
        self.up_event = event
        if self.defaultroute:
            self.tun.add_ipv6_default_route(self.metric)
        self.tasks.append(
            asyncio.ensure_future(
                self.scripts.run(
                    self.up_script, self.arguments(head, ipparam), self.environment(env)
                )
            )
        )
        return None

    def down(self, head: Sequence[str], ipparam: str, env: Mapping[str, str]) -> None:
        """Take IPv6 off the interface and start ``ipv6-down`` (only after an ``up``)."""
        if self.up_event is None:
            return
        arguments, environment = self.arguments(head, ipparam), self.environment(env)
        self.up_event = None
        self.tun.down_ipv6()
        self.tasks.append(
            asyncio.ensure_future(
                self.scripts.run(self.down_script, arguments, environment, wait=5.0)
            )
        )
