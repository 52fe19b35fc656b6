"""One call, as pppd's ``start_link`` .. ``link_terminated``: line, interface, link, scripts.

In pppd's order: lock the device, open it (or start the ``pty`` command, use standard input
and output with ``notty``, connect the ``socket``), run ``init``, ``connect`` and ``welcome``,
create the interface ("Using interface ppp0", the pid files), "Connect: ppp0 <--> /dev/ttyS1",
run the link; when IPCP comes up set the addresses, run ``ip-pre-up`` and wait for it, bring
the interface up, add the routes, run ``ip-up``; when the peer has authenticated run
``auth-up``; on the way down the statistics, ``ip-down``, ``auth-down``, "Connection
terminated.", the ``disconnect`` script on the line (unless the modem hung up), then release
everything, each step on its own so that no failure leaves the lock, the interface, a route or
a pid file behind. With ``demand`` the interface belongs to the whole process instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from pyppp.aio.capture import PcapTap
from pyppp.aio.demand import DemandInterface
from pyppp.aio.driver import LinkRunner
from pyppp.aio.ipv6 import Ipv6Side
from pyppp.aio.line import (
    FdLine,
    LineOpenError,
    PtyCommandError,
    RecordTap,
    StdioLine,
    ThreadLine,
    open_line_async,
    open_pty_command,
    open_socket_line,
)
from pyppp.aio.lockfile import UucpLock
from pyppp.aio.login import check_login
from pyppp.aio.masquerade import Masquerade
from pyppp.aio.netconf import NetConfig
from pyppp.aio.prelude import PreludeError, run_disconnect, run_prelude
from pyppp.aio.radius import RadiusSession
from pyppp.aio.tun import Tun, TunError
from pyppp.auth.base import ExternalCheckNeeded, ExternalVerdict
from pyppp.errors import ExitStatus
from pyppp.events import (
    AuthSucceeded,
    Event,
    Ipv6Down,
    Ipv6Up,
    LinkDown,
    LinkTerminated,
    MtuChanged,
    NetworkDown,
    NetworkUp,
    Phase,
    PhaseChanged,
    Role,
)
from pyppp.ipcp.negotiator import AddressPolicy, IpcpNegotiator
from pyppp.link import Link
from pyppp.linkconfig import LinkConfig
from pyppp.packet import PPPProtocol
from pyppp.pppd.dns import resolv_conf_text
from pyppp.pppd.lock import LockError
from pyppp.pppd.session import SessionAuth
from pyppp.util import NOTICE

if TYPE_CHECKING:
    from pyppp.aio.supervisor import Supervisor

__all__ = ["Connection"]

_OPEN_ERRORS = (LockError, LineOpenError, PtyCommandError, PreludeError, TunError)


class Connection:
    """One connection attempt of a :class:`~pyppp.aio.supervisor.Supervisor`.

    Args:
        supervisor: the process it belongs to (options, logger, scripts, pid files...).
        config: the link configuration for this call.
        demand: the demand-dialled interface, if ``demand``.
    """

    def __init__(
        self, supervisor: Supervisor, config: LinkConfig, demand: DemandInterface | None
    ) -> None:
        self.sup = supervisor
        self.options = supervisor.options
        self.logger = supervisor.logger
        self.config = config
        self.demand = demand
        self.netconf = supervisor.netconf if demand is not None else NetConfig(self.logger)
        self.lock: UucpLock | None = None
        self.line: FdLine | ThreadLine | None = None
        self.pty_process: asyncio.subprocess.Process | None = None
        self.tun: Tun | None = demand.tun if demand is not None else None
        self.runner: LinkRunner | None = None
        self.device = ""  # pppd's devnam (empty for pty/notty/socket, as in pppd)
        self.shown = ""  # pppd's ppp_devnam: what "Connect: ppp0 <--> X" names
        self.up_at: float | None = None
        self.down_done = True
        self.was_up = False
        self.authenticated = False
        self.local = ""
        self.remote = ""
        self.status: int = ExitStatus.FATAL_ERROR
        self.need_holdoff = True
        self._octets_task: asyncio.Task[None] | None = None
        self.ipv6: Ipv6Side | None = None  # once the interface exists
        self.ipv6_since: float | None = None  # IPv6CP's first up (connect time, IPv6 only)
        self.masquerade = Masquerade(self.logger)
        self.pcap: PcapTap | None = None
        self.pool_address: IPv4Address | None = None  # ip-pool's, held for this call
        self.radius: RadiusSession | None = None  # plugin radius.so

    # -- the call ------------------------------------------------------------------------------
    async def run(self) -> int:
        """Make the call and run it to the end, then release everything it took.

        The lock, the line, a pty command, the interface (unless ``demand`` owns it), routes,
        the masquerade, the pid files and the pcap file are released on every way out, each
        step on its own; what the system refuses on the way in is logged as pppd logs it and
        becomes pppd's exit status.

        Returns:
            pppd's exit status (:class:`~pyppp.errors.ExitStatus`): 0 after a normal end, 5
            on a signal, 6 lock, 7 open, 8 connect script, 9 pty command, 16 modem hang-up,
            and so on.

        Raises:
            Exception: only what is neither a refusal from the system (``OSError``) nor one of
                pppd's failures: a bug, after the cleanup has run.
        """
        self.sup.observed.shell_phase = "connecting"
        try:
            status = await self._run()
        except _OPEN_ERRORS as exc:
            # Each carries pppd's status: 6 lock, 7 open, 8/18 connect/init, 9 pty, 1/3 TUN.
            self.logger.error("%s", exc)
            status = exc.exit_status
        except OSError as exc:
            # Anything else the system refuses: pppd's fatal error, after cleaning up.
            self.logger.error("%s", exc)
            status = ExitStatus.FATAL_ERROR
        finally:
            await self._release()
        self.status = status
        return status

    async def _run(self) -> int:
        options = self.options
        await self._open_line()
        assert self.line is not None
        self.sup.device_open()
        if self.sup.signalled:
            return ExitStatus.USER_REQUEST  # it came while the line was being opened
        leftover = await self.sup.interruptible(
            run_prelude(options, self.line, serving=self.sup.serving, logger=self.logger)
        )
        if leftover is None or self.sup.signalled:
            return ExitStatus.USER_REQUEST
        await self.sup.secrets.refresh()  # pppd's auth_reset: each call sees the files as they are
        # (From here to the runner there is no await: a signal finds the runner in place.)
        if self.sup.signalled:
            return ExitStatus.USER_REQUEST
        self._script_env()
        if self.tun is None:
            self.tun = Tun(options.ifname, unit=options.unit)
            self.logger.info("Using interface %s", self.tun.name)
            self.sup.interface_created(self.tun.name)
        self.ipv6 = Ipv6Side(
            self.tun,
            self.sup.scripts,
            up_script=self.sup.script("ipv6-up"),
            down_script=self.sup.script("ipv6-down"),
            defaultroute=options.defaultroute6,
            metric=options.defaultroute6_metric,
        )
        if isinstance(self.config.auth, SessionAuth):
            self.config.auth.ifname = self.tun.name  # for "user %s logged in ... intf %s"
        self.logger.log(NOTICE, "Connect: %s <--> %s", self.tun.name, self.shown)
        link = Link(self.config, rng=os.urandom, logger=self.logger)
        if self.sup.trace_logger is not None:
            link.trace_logger = self.sup.trace_logger  # (one line of a multi-line server)
        self._observe(link)
        tun = self.tun
        if self.sup.radius is not None:
            self.radius = RadiusSession(
                self.sup.radius,
                self.sup.radius_nas(_unit(tun.name)),
                f"{os.getpid():x}{int(time.time() * 1000) & 0xFFFFFFFF:08X}",
                self.logger,
            )
        runner = LinkRunner(
            link,
            self.line,
            on_ip=tun.write,
            login_checker=check_login,
            external_checker=self._radius_check if self.radius is not None else None,
            initial_data=leftover,
            logger=self.logger,
            on_event=self._on_event,
            line_high_water=_line_high_water(self.shown, options.speed),
            on_backpressure=lambda paused: tun.pause() if paused else tun.resume(),
            capture=self.pcap,
            timers=self.sup.timers,
        )
        self.runner = runner
        self.sup.runner = runner
        if isinstance(self.line, FdLine):
            # A slow line reads a long frame's rest when it is due (FdLine._coalesce).
            self.line.awaiting = link.awaiting
        if self.demand is not None:
            self.demand.connecting()
        else:
            tun.start(runner.send_ips)
        # pppd's connect-delay applies after a connect script, a pty command or a socket.
        delayed = options.connect or options.windows or options.pty or options.socket
        delay = options.connect_delay / 1000 if delayed else 0
        return await runner.run(open_delay=delay)

    async def _open_line(self) -> None:
        options = self.options
        if options.pty:
            line, self.pty_process = await open_pty_command(
                options.pty, stderr=self.sup.child_stderr()
            )
            self.line, self.shown = line, line.name
        elif options.notty:
            self.line = StdioLine()
            self.shown = "notty"
        elif options.socket:
            self.line = await open_socket_line(options.socket)
            self.shown = options.socket
        else:
            device = options.device
            assert device is not None
            self.device = self.shown = device
            if options.lock and "://" not in device:
                self.lock = UucpLock(device, lock_dir=self.sup.lock_dir, logger=self.logger)
                self.lock.acquire()
            self.line = await open_line_async(
                device,
                speed=options.speed,
                crtscts=bool(options.crtscts),
                xonxoff=options.xonxoff,
                stop_bits=options.stop_bits,
            )
        if isinstance(self.line, FdLine):
            # Coalesce a slow line's small reads (FdLine.start): a character is 10 bits.
            self.line.char_time = 10.0 / (options.speed or 115200)
            self.line.timers = self.sup.timers  # the process's one timer for every line
            if options.record:
                try:
                    self.line.tap = RecordTap(options.record, time.time, self.logger)
                except OSError as exc:
                    # pppd: "Couldn't create record file %s: %m", and it carries on.
                    self.logger.error(
                        "Couldn't create record file %s: %s", options.record, exc.strerror
                    )
            if options.datarate and (options.pty or options.notty or options.record):
                self.line.max_rate = options.datarate
        elif options.record:
            self.logger.error("record needs a line with a descriptor, not %s", self.shown)

    async def _radius_check(self, request: ExternalCheckNeeded) -> ExternalVerdict:
        """Ask RADIUS; an Accept's Session-Timeout and Idle-Timeout apply to this call.

        They become pppd's ``maxconnect`` and ``idle``, as pppd's radius plugin sets them.
        """
        assert self.radius is not None
        verdict = await self.radius.check(request)
        grant = self.radius.grant
        if verdict.ok and grant is not None and self.runner is not None:
            link = self.runner.link
            if grant.session_timeout:
                link.config = replace(link.config, max_connect=float(grant.session_timeout))
            if grant.idle_timeout:
                link.config = replace(link.config, idle=float(grant.idle_timeout))
        return verdict

    def _assign_pool_address(self) -> None:
        """``ip-pool``, as the network phase begins: the caller's address, unless it has one.

        Taken only now, when a caller has authenticated, so that lines waiting for a call
        hold no address; and only when nothing else gives one (a ``local:remote`` option,
        the caller's secrets line or RADIUS's Framed-IP-Address). The peer's first IPCP
        Configure-Request is still a round trip away, so IPCP asks for this address.
        """
        pool = self.sup.pool
        runner = self.runner
        ipcp = self.config.ipcp
        if pool is None or runner is None or ipcp is None or runner.link.ipcp is None:
            return
        if ipcp.remote is not None or ipcp.noremoteip:
            return
        negotiator = runner.link.ipcp.negotiator
        if not isinstance(negotiator, IpcpNegotiator) or negotiator.allowed_remote.suggested:
            return  # the secrets line (or RADIUS) names its address: no pool address needed
        address = pool.take(self.shown)
        if address is None:
            self.logger.error(
                "ip-pool %s exhausted (all %d addresses in use): refusing the call on %s",
                pool,
                pool.size,
                self.shown,
            )
            runner.close("No IP address available", ExitStatus.NEGOTIATION_FAILED)
            return
        if not negotiator.allowed_remote.permits(address):
            pool.release(address)
            self.logger.warning("ip-pool address %s is not one this caller may use", address)
            return
        self.pool_address = address
        negotiator.set_allowed_remote(AddressPolicy.from_words([str(address)]))

    def _release_pool_address(self) -> None:
        if self.pool_address is not None and self.sup.pool is not None:
            self.sup.pool.release(self.pool_address)
        self.pool_address = None

    def _observe(self, link: Link) -> None:
        """This call's link is the one ``pyppp status`` shows; ``pcap FILE`` taps its frames."""
        self.sup.observed.link = link
        self.sup.observed.shell_phase = "dead"
        path = self.options.pcap
        if path:
            try:
                self.pcap = PcapTap(path, logger=self.logger)
            except OSError as exc:
                self.logger.error("Couldn't create pcap file %s", exc.strerror)

    def _script_env(self) -> None:
        env = self.sup.env
        speed = str(self.options.speed or 115200)
        env["SPEED"] = speed
        if self.device:
            env["DEVICE"] = self.device
        for name in ("CONNECT_TIME", "BYTES_SENT", "BYTES_RCVD"):
            env.pop(name, None)

    # -- events --------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        self.sup.secrets.on_event(event)
        self.sup.observatory.observe(self.sup.observed, event)
        if isinstance(event, NetworkUp):
            self._network_up(event)
        elif isinstance(event, NetworkDown | LinkDown):
            if isinstance(event, LinkDown):
                self._auth_down()
            self._network_down()
        elif isinstance(event, Ipv6Up) and self.ipv6 is not None:
            self._ipv6_up(event, self.ipv6)
        elif isinstance(event, MtuChanged) and self.tun is not None:
            self.tun.set_send_mtu(event.mtu)  # a noisy line (pyppp.framesize)
        elif isinstance(event, Ipv6Down) and self.ipv6 is not None:
            self.ipv6.down(self._args()[:3], *self._ipv6_env())
        elif isinstance(event, AuthSucceeded) and event.role is Role.AUTHENTICATOR:
            self._auth_up(event.name)
        elif isinstance(event, PhaseChanged) and event.phase is Phase.NETWORK:
            self._assign_pool_address()
            if self.options.remotenumber:
                # pppd auth.c network_phase
                self.logger.log(
                    NOTICE, "peer from calling number %s authorized", self.options.remotenumber
                )
        elif isinstance(event, LinkTerminated):
            self.logger.log(NOTICE, "Connection terminated.")
            if self.up_at is None and self.ipv6_since is not None:
                # pppd: with IPCP never up, link_terminated prints them, after that line.
                self._print_stats(self.ipv6_since)
                self.ipv6_since = None
            if event.exit_status in (ExitStatus.IDLE_TIMEOUT, ExitStatus.TRAFFIC_LIMIT):
                self.need_holdoff = False

    def _args(self) -> list[str]:
        assert self.tun is not None
        speed = str(self.options.speed or 115200)
        return [
            self.tun.name,
            self.device,
            speed,
            self.local,
            self.remote,
            self.options.ipparam or "",
        ]

    def _network_up(self, event: NetworkUp) -> None:
        options = self.options
        tun = self.tun
        assert tun is not None
        env = self.sup.env
        self.local, self.remote = str(event.local), str(event.remote)
        if self.pool_address is not None and event.remote != self.pool_address:
            self._release_pool_address()  # the secrets line (or RADIUS) gave another one
        env["IPLOCAL"], env["IPREMOTE"] = self.local, self.remote
        for index in (1, 2):
            env.pop(f"DNS{index}", None)
        for index, address in enumerate(event.dns, 1):
            env[f"DNS{index}"] = str(address)
        if options.usepeerdns and event.dns:
            env["USEPEERDNS"] = "1"
            if not options.noresolvconf:
                self.sup.write_resolv_conf(resolv_conf_text(event.dns))
        for index in (1, 2):
            env.pop(f"WINS{index}", None)
        for index, address in enumerate(event.wins, 1):
            env[f"WINS{index}"] = str(address)  # pppd 2.5
        if options.usepeerwins and event.wins:
            env["USEPEERWINS"] = "1"
        if event.remote == IPv4Address(0):  # noremoteip: the peer has no address
            env.pop("IPREMOTE", None)
            self.remote = ""
        mtu = event.mtu
        grant = self.radius.grant if self.radius is not None else None
        if grant is not None and grant.framed_mtu:
            mtu = min(mtu, grant.framed_mtu)  # RADIUS's Framed-MTU
        try:
            if self.demand is not None:
                self.demand.readdress(event.local, event.remote, mtu)
            else:
                tun.configure(event.local, event.remote, mtu, up=False)
                # pppd ipcp_up: "run the pre-up script, if any, and wait for it to finish"
                self.sup.scripts.run_and_wait(self.sup.script("ip-pre-up"), self._args(), env)
                tun.bring_up()
        except TunError as exc:
            # pppd ipcp_up: "Interface configuration failed"; the link cannot be used.
            self.logger.error("%s", exc)
            if self.runner is not None:
                self.runner.close("Interface configuration failed", exc.exit_status)
            return
        self.down_done = False
        self.was_up = True
        self.up_at = time.monotonic()
        if self.demand is None:
            self.sup.add_routes(self.netconf, tun.name, event.remote)
        if options.masquerade:
            # While IPCP is up, with or without demand: the demand interface's made-up peer
            # address before a call is nobody's, and IPCP may settle another one.
            remote = event.remote
            self._quietly("masquerading", lambda: self.masquerade.start(tun.name, remote))
        if self.demand is not None:
            runner = self.runner
            assert runner is not None
            self.demand.passing(runner.send_ips)
        self.sup.network_came_up()
        if self.radius is not None and self.runner is not None:
            self.radius.started(event.remote, self.runner.link.stats)
        if options.maxoctets > 0:
            self._octets_task = asyncio.ensure_future(self._watch_octets())
        self.sup.ip_scripts.up(self._args(), env)

    def _ipv6_env(self) -> tuple[str, dict[str, str]]:
        """Return ipparam and the ipv6 scripts' environment (IPLOCAL/IPREMOTE only if set)."""
        env = {k: v for k, v in self.sup.env.items() if v}
        return self.options.ipparam or "", env

    def _ipv6_up(self, event: Ipv6Up, ipv6: Ipv6Side) -> None:
        error = ipv6.up(event, self._args()[:3], *self._ipv6_env())
        if error is not None:
            # pppd ipv6cp_up: "Interface configuration failed" closes IPv6CP; IPv4 goes on.
            self.logger.error("%s", error)
            if self.runner is not None:
                self.runner.close_network_protocol(
                    PPPProtocol.IPV6CP, "Interface configuration failed"
                )
            return
        self.was_up = True
        if self.ipv6_since is None:
            self.ipv6_since = time.monotonic()
        self.sup.network_came_up()

    def _print_stats(self, since: float) -> float:
        """Print the link statistics as pppd's print_link_stats; return the connect time (s)."""
        connect_time = time.monotonic() - since
        tenths = int(connect_time + 5) // 6  # pppd: (seconds + 5) / 6
        self.logger.info("Connect time %d.%d minutes.", tenths // 10, tenths % 10)
        if self.runner is not None:
            stats = self.runner.link.stats
            self.logger.info(
                "Sent %d bytes, received %d bytes.", stats.bytes_sent, stats.bytes_received
            )
        return connect_time

    def _network_down(self) -> None:
        if self.down_done or self.up_at is None:
            return
        self.down_done = True
        if self._octets_task is not None:
            self._octets_task.cancel()
            self._octets_task = None
        # pppd prints the link statistics when the network goes down, before "Connection
        # terminated." (which comes when LCP has finished).
        connect_time = self._print_stats(self.up_at)
        self.masquerade.stop()
        env = self.sup.env
        env["CONNECT_TIME"] = str(int(connect_time))
        if self.runner is not None:
            stats = self.runner.link.stats
            env["BYTES_SENT"] = str(stats.bytes_sent)
            env["BYTES_RCVD"] = str(stats.bytes_received)
        if self.demand is not None:
            self.demand.blocked()
        else:
            self.netconf.remove_all()
            if self.tun is not None:
                self.tun.down()
        self.sup.ip_scripts.down(self._args(), env)

    def _auth_up(self, peer: str) -> None:
        assert self.tun is not None
        self.authenticated = True
        self.sup.env["PEERNAME"] = peer
        self.sup.auth_scripts.up(self._auth_args(peer), self.sup.env)

    def _auth_down(self) -> None:
        if self.authenticated:
            self.authenticated = False
            peer = self.sup.env.get("PEERNAME", "")
            self.sup.auth_scripts.down(self._auth_args(peer), self.sup.env)

    def _auth_args(self, peer: str) -> list[str]:
        # pppd auth_script: interface-name peer-name user-name tty-device speed
        assert self.tun is not None
        return [
            self.tun.name,
            peer,
            self.sup.user_name,
            self.device,
            str(self.options.speed or 115200),
        ]

    async def _watch_octets(self) -> None:
        """End the call once the traffic limit is passed (pppd ``check_maxoctets``)."""
        options = self.options
        while self.runner is not None:
            await asyncio.sleep(options.mo_timeout)
            stats = self.runner.link.stats
            used = {
                "in": stats.bytes_received,
                "out": stats.bytes_sent,
                "max": max(stats.bytes_received, stats.bytes_sent),
            }.get(options.mo_direction, stats.bytes_received + stats.bytes_sent)
            if used > options.maxoctets:
                self.logger.log(
                    NOTICE, "Traffic limit reached. Limit: %u Used: %u", options.maxoctets, used
                )
                self.need_holdoff = False
                self.runner.close("Traffic limit", ExitStatus.TRAFFIC_LIMIT)
                return

    # -- the end -------------------------------------------------------------------------------
    async def _release(self) -> None:
        self.sup.runner = None
        self.sup.observed.shell_phase = "dead"
        if self.pcap is not None:
            self._quietly("closing the pcap file", self.pcap.close)
        if self._octets_task is not None:
            self._octets_task.cancel()
        self._network_down()
        self._auth_down()
        if self.demand is None:
            self.sup.pid_files.remove()  # pppd link_terminated: before the interface goes
        line = self.line
        hung_up = self.status == ExitStatus.HANGUP or (
            self.runner is not None and self.runner.link.exit_status == ExitStatus.HANGUP
        )
        if (
            line is not None
            and self.options.disconnect
            and not hung_up
            and not self.sup.fatal
            and self.runner is not None
        ):
            # pppd disconnect_tty: "The disconnect script is not run if the modem has
            # already hung up."
            await _drain(line)
            with contextlib.suppress(PreludeError):  # a SIGHUP during it: it just ends
                await self.sup.interruptible(
                    run_disconnect(self.options.disconnect, line, self.logger), fresh=True
                )
        if self.radius is not None:
            exit_status = self.runner.link.exit_status if self.runner is not None else None
            await self.radius.stopped(exit_status)  # Accounting Stop, counts final
        await self.sup.wait_scripts()
        if self.ipv6 is not None and self.ipv6.tasks:
            await asyncio.wait(self.ipv6.tasks, timeout=6.0)
        self._quietly("removing the masquerade", self.masquerade.stop)
        self._quietly("removing routes", self.netconf.remove_all if self.demand is None else None)
        if self.tun is not None and self.demand is None:
            self._quietly("removing the interface", self.tun.close)
        if line is not None:
            # Give the last frames (the Terminate-Ack) a moment to leave.
            await _drain(line)
            self._quietly("closing the line", line.close)
        await self._end_pty_command()
        if self.lock is not None:
            self._quietly("releasing the lock", self.lock.release)
        self._release_pool_address()

    async def _end_pty_command(self) -> None:
        process = self.pty_process
        if process is None or process.returncode is not None:
            return
        # The pty is closed: the command sees a hang-up. Give it a moment, then end it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 2.0)
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, 15)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 3.0)

    def _quietly(self, what: str, step: Callable[[], object] | None) -> None:
        if step is None:
            return
        try:
            step()
        except Exception as exc:  # cleanup goes on whatever one step does
            self.logger.error("error %s: %s", what, exc)


def _unit(ifname: str) -> int:
    """The unit number of ``pppN`` (0 for another name)."""
    digits = ifname.removeprefix("ppp")
    return int(digits) if digits.isdigit() else 0


def _line_high_water(device: str, speed: int | None) -> int:
    """Bytes the shell may queue for the line: about 0.1 s on a real serial port.

    A pty, a socket or a network URL takes data as fast as we give it, so a larger queue (a
    pty's worth, as much as one write can take) costs nothing there and saves loop turns.
    """
    if not device.startswith("/") or os.path.realpath(device).startswith("/dev/pts/"):
        return 65536
    return max(1024, (speed or 115200) // 100)


async def _drain(line: FdLine | ThreadLine, timeout: float = 0.5) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while line.write_buffer_size and loop.time() < deadline:
        await asyncio.sleep(0.01)
