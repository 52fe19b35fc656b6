"""The link's Network-Layer Protocol phase (RFC 1661 §3.4): its NCPs, CCP first, then IP.

:class:`NetworkPhase` is the part of :class:`~pyppp.link.Link` that starts the network control
protocols when authentication is done (pppd's ``start_networks`` and ``continue_networks``:
CCP first and, while MPPE is required, IPCP and IPv6CP only once CCP is up with it), opens
and closes the data protocols they carry at their Up and Down (pppd's ``np_up``/``np_down``),
answers an LCP Protocol-Reject of one of them (RFC 1661 §5.7), and closes the link when none
is left ("No network protocols running", pppd ``np_finished``).

It is a mixin: the state it works on (the NCPs, the data path, the event queue, the exit
status, the idle and connect deadlines) is the link's, declared below for type checking, and
it keeps the link's single event channel (every handler here runs from ``Link._handle``).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyppp.ccp.negotiator import CcpResult
from pyppp.control import ControlLayer
from pyppp.errors import ExitStatus
from pyppp.events import Event, Ipv6Down, Ipv6Up, NetworkDown, NetworkUp, Phase
from pyppp.fsm import State
from pyppp.ipcp.negotiator import IpcpResult
from pyppp.ipv6cp.negotiator import Ipv6cpResult
from pyppp.mppe import MPPE_PAD
from pyppp.packet import PPPProtocol, protocol_long_name

if TYPE_CHECKING:
    from pyppp.auth.phase import AuthPhase
    from pyppp.ccp.mppe import MppeGate
    from pyppp.ccp.protocol import CcpControlProtocol
    from pyppp.control import ControlProtocol
    from pyppp.datapath import DataPath
    from pyppp.linkconfig import LinkConfig

__all__ = ["Ncp", "NetworkPhase"]


@dataclass(slots=True)
class Ncp:
    """One registered network control protocol and what the link does at its Up and Down.

    Attributes:
        control: the control protocol.
        on_up: called with the negotiated result at This-Layer-Up.
        on_down: called with the reason at This-Layer-Down (and when the link takes it down).
        data: the data protocols it carries (IP for IPCP); they pass only while it is open.
        network: it counts as a network protocol (pppd ``num_np_open``): when every one of
            them has finished, the link closes ("No network protocols running"). CCP does not.
        required: set when the link cannot run without it (CCP while MPPE is required): its
            Down or Finished in the Network phase closes the link, with the reason this
            returns for the layer's own (pppd's MPPE rules, :class:`~pyppp.ccp.mppe.MppeGate`).
    """

    control: ControlLayer
    on_up: Callable[[object, float], None]
    on_down: Callable[[str], None]
    data: frozenset[int]
    network: bool = True
    required: Callable[[str | None], str] | None = None
    running: bool = False


class NetworkPhase:
    """The Network phase of a :class:`~pyppp.link.Link` (see the module docstring)."""

    if TYPE_CHECKING:
        # The link's state this phase works on (set in Link.__init__).
        config: LinkConfig
        logger: logging.Logger
        phase: Phase
        exit_status: int | None
        ipcp: ControlProtocol[IpcpResult] | None
        ipv6cp: ControlProtocol[Ipv6cpResult] | None
        ccp: CcpControlProtocol | None
        _auth: AuthPhase
        _events: deque[Event]
        _path: DataPath
        _ncps: dict[int, Ncp]
        _data_handlers: dict[int, Callable[[bytes, float], None]]
        _mppe: MppeGate | None
        _network_up: bool
        _ever_up: bool
        _idle_deadline: float | None
        _connect_deadline: float | None

        def close(self, reason: str = ..., *, exit_status: int = ..., now: float) -> None:
            """Link.close: terminate the link (LCP Terminate-Request)."""

        def _set_phase(self, phase: Phase) -> None: ...
        def _receive_ip(self, information: bytes, now: float) -> None: ...
        def _receive_ipv6(self, information: bytes, now: float) -> None: ...

    def _register_ncp(
        self,
        control: ControlLayer,
        *,
        on_up: Callable[[object, float], None],
        on_down: Callable[[str], None],
        data: Sequence[int] = (),
        network: bool = True,
        required: Callable[[str | None], str] | None = None,
    ) -> None:
        """Make ``control`` one of the link's network control protocols (see :class:`Ncp`)."""
        self._ncps[control.protocol] = Ncp(
            control, on_up, on_down, frozenset(data), network, required
        )

    def _carrier_of(self, protocol: int) -> Ncp | None:
        """The NCP that carries data ``protocol`` (IPCP for IP), if one is registered."""
        return next((ncp for ncp in self._ncps.values() if protocol in ncp.data), None)

    def _on_protocol_rejected(self, protocol: int, now: float) -> None:
        # RFC 1661 §5.7: "Upon reception of a Protocol-Reject, the implementation MUST stop
        # sending packets of the indicated protocol at the earliest opportunity."
        name = protocol_long_name(protocol)
        ncp = self._ncps.get(protocol)
        if ncp is not None:
            # pppd lcp_rprotrej (debug level)
            self.logger.debug("Protocol-Reject for '%s' (0x%x) received", name, protocol)
            ncp.control.protocol_rejected(now)
            return
        carrier = self._carrier_of(protocol)
        if carrier is not None:
            # A data protocol (IP) rejected while its NCP is open: we may not send it, and
            # saying the network is up would be a lie. Take the NCP down and let it
            # renegotiate from scratch (Down, then Up): if the peer really will not take
            # it, the new negotiation is where that shows.
            self.logger.warning(
                "Protocol-Reject for '%s' (0x%x) received: renegotiating %s",
                name,
                protocol,
                carrier.control.name,
            )
            if carrier.control.state is State.OPENED:
                carrier.control.down(f"Protocol-Reject for {name}", now)
                carrier.control.up(now)
            return
        engines = self._auth.for_protocol(protocol)
        for engine in engines:
            engine.protocol_rejected(now)
        if not engines:
            # pppd lcp_rprotrej
            self.logger.warning("Protocol-Reject for unsupported protocol 0x%x", protocol)

    def _enter_network(self, now: float) -> None:
        self._set_phase(Phase.NETWORK)
        if self.config.max_connect > 0:
            self._connect_deadline = now + self.config.max_connect
        if self._mppe is not None and (reason := self._mppe.start()) is not None:
            self.close(reason, exit_status=ExitStatus.NEGOTIATION_FAILED, now=now)
            return
        # pppd start_networks: CCP first; with MPPE required, IP only once it is up.
        self._open_ncps(network=False, now=now)
        if self._mppe is None:
            self._continue_networks(now)

    def _open_ncps(self, *, network: bool, now: float) -> None:
        """Open the network protocols (``network``), or the others (CCP)."""
        for ncp in self._ncps.values():
            if ncp.network is network:
                ncp.running = True
                ncp.control.open(now)
                ncp.control.up(now)

    def _continue_networks(self, now: float) -> None:
        """Start the network protocols (pppd ``continue_networks``; with MPPE: after CCP)."""
        self._open_ncps(network=True, now=now)
        if self.config.require_network and not any(n.network for n in self._ncps.values()):
            # pppd continue_networks: nothing to run (noip, and no other network protocol).
            self.close(
                "No network protocols running", exit_status=ExitStatus.NEGOTIATION_FAILED, now=now
            )

    def _ccp_up(self, result: object, now: float) -> None:
        assert isinstance(result, CcpResult)
        assert self.ccp is not None
        self._path.attach_ccp(self.ccp, now)
        if self._mppe is None:
            return
        if (reason := self._mppe.up(result.receive, result.transmit)) is not None:
            self.close(reason, exit_status=ExitStatus.NEGOTIATION_FAILED, now=now)
            return
        # pppd ccp_reqci lowers the MTU: every packet grows by the MPPE header and protocol.
        self._path.reserve(MPPE_PAD)
        self._continue_networks(now)

    def _ncp_down(self, ncp: Ncp, reason: str | None, now: float) -> None:
        """The NCP reported This-Layer-Down: what it carried stops (or the link closes)."""
        if not self._lost_required(ncp, reason, now):
            ncp.on_down(reason or f"{ncp.control.name} down")

    def _lost_required(self, ncp: Ncp, reason: str | None, now: float) -> bool:
        """A protocol the link needs went down or gave up in the Network phase: close the link."""
        if ncp.required is None or self.phase is not Phase.NETWORK:
            return False
        ncp.on_down(f"{ncp.control.name} down")
        self.close(ncp.required(reason), exit_status=ExitStatus.NEGOTIATION_FAILED, now=now)
        return True

    def _ncp_finished(self, ncp: Ncp, reason: str | None, now: float) -> None:
        """The NCP reported This-Layer-Finished; the link closes when no network is left."""
        if self._lost_required(ncp, reason, now):
            return
        ncp.running = False
        if ncp.control is self.ccp:
            self._path.ccp_finished(now)  # datagrams held for it go uncompressed
        if not ncp.network or self.phase is not Phase.NETWORK:
            return
        if not any(n.running for n in self._ncps.values() if n.network):
            # pppd auth.c np_finished: with no network protocol left, close the link.
            self.close(
                "No network protocols running",
                exit_status=ExitStatus.OK if self._ever_up else ExitStatus.NEGOTIATION_FAILED,
                now=now,
            )

    def _ipcp_up(self, result: object, now: float) -> None:
        assert isinstance(result, IpcpResult)
        assert self.ipcp is not None
        if result.failure is not None or result.local is None or result.remote is None:
            reason = result.failure.reason if result.failure is not None else "IPCP failed"
            self._ncp_failed(self.ipcp, reason, result.messages, now)
            return
        if not self.config.defer_network_log:
            for level, line in result.messages:
                self.logger.log(level, "%s", line)
        self._network_up = True
        self._open_data(PPPProtocol.IP, 4, self._receive_ip, now)
        self._path.attach_vj(result, self._data_handlers, self._receive_ip)
        self._events.append(
            NetworkUp(
                result.local,
                result.remote,
                result.dns,
                mtu=self._path.send_mtu,
                messages=result.messages,
                wins=result.wins,
            )
        )

    def _ipcp_down(self, reason: str) -> None:
        """IPv4 can no longer flow: report it (pppd ipcp_down)."""
        self._close_data(PPPProtocol.IP)
        self._path.detach_vj(self._data_handlers)
        if self._network_up:
            self._network_up = False
            self._events.append(NetworkDown(reason))

    def _ipv6cp_up(self, result: object, now: float) -> None:
        assert isinstance(result, Ipv6cpResult)
        assert self.ipv6cp is not None
        local = result.local_address
        if result.failure is not None or local is None:
            reason = result.failure.reason if result.failure is not None else "IPV6CP failed"
            self._ncp_failed(self.ipv6cp, reason, result.messages, now)
            return
        if not self.config.defer_network_log:
            for level, line in result.messages:
                self.logger.log(level, "%s", line)
        self._open_data(PPPProtocol.IPV6, 6, self._receive_ipv6, now)
        self._events.append(
            Ipv6Up(local, result.remote_address, mtu=self._path.mtu, messages=result.messages)
        )

    def _ipv6cp_down(self, reason: str) -> None:
        """IPv6 can no longer flow: report it (pppd ipv6cp_down)."""
        if self._close_data(PPPProtocol.IPV6):
            self._events.append(Ipv6Down(reason))

    def _ncp_failed(
        self,
        control: ControlLayer,
        reason: str,
        messages: Sequence[tuple[int, str]],
        now: float,
    ) -> None:
        """An NCP opened with a result pppd refuses (ipcp_up/ipv6cp_up): log it and close it."""
        for level, line in messages:
            self.logger.log(level, "%s", line)
        control.close(reason, now)

    def _open_data(
        self, protocol: int, version: int, handler: Callable[[bytes, float], None], now: float
    ) -> None:
        """An NCP is up: ``protocol`` carries IP ``version`` both ways now (pppd np_up)."""
        self._data_handlers[protocol] = handler
        self._path.open_route(version, protocol, now)
        self._ever_up = True
        if self.exit_status == ExitStatus.NEGOTIATION_FAILED:
            self.exit_status = None
        self._touch_idle(now)

    def _close_data(self, protocol: int) -> bool:
        """``protocol`` may no longer flow (pppd np_down); returns whether it was open."""
        was_open = self._data_handlers.pop(protocol, None) is not None
        self._path.close_route(protocol)
        if not self._path.carrying:
            self._idle_deadline = None
            self._connect_deadline = None
        if was_open:
            self._path.drop_queued_data()
        return was_open

    def _network_down(self, reason: str, now: float) -> None:
        """LCP is gone: every NCP loses its lower layer (its Down handler runs as it reports)."""
        for ncp in self._ncps.values():
            ncp.running = False
            if ncp.control.state not in (State.INITIAL, State.STARTING):
                ncp.control.down(reason, now)
            ncp.on_down(reason)

    def _touch_idle(self, now: float) -> None:
        if self.config.idle > 0 and self._path.carrying:
            self._idle_deadline = now + self.config.idle
