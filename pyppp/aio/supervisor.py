"""One pppd process's life: signals, pid files, detaching, demand, the calls, persist, exit.

pppd's main loop, in order: read the options (done by the CLI), detach (:mod:`pyppp.aio.daemon`;
pyppp once the device is open, or with ``updetach`` once IP is up), write the linkname pid file,
with ``demand`` configure the interface and wait for a packet, make the call
(:class:`~pyppp.aio.connection.Connection`), and with ``persist`` (implied by ``demand``) wait
``holdoff`` seconds and call again, at most ``maxfail`` failed attempts in a row; then wait up
to ``child-timeout`` seconds for scripts still running, remove the pid files and exit with
pppd's status. Signals are handled as pppd(8) NOTES says (:mod:`pyppp.aio.signals`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pwd
import signal
import socket
from collections.abc import Awaitable
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from pyppp import __version__
from pyppp.aio.connection import Connection
from pyppp.aio.daemon import Detacher, PidFiles, sd_notify
from pyppp.aio.demand import DemandInterface, made_up_addresses
from pyppp.aio.driver import LinkRunner
from pyppp.aio.files import read_limited
from pyppp.aio.login import crypt_check, login_option_problem
from pyppp.aio.logs import DEFAULT_IDENT, LogSetup
from pyppp.aio.masquerade import MasqueradeError, load_nftables
from pyppp.aio.netconf import NetConfig, first_ether_address
from pyppp.aio.observe import Observatory
from pyppp.aio.prelude import PreludeError
from pyppp.aio.radius import RadiusClient
from pyppp.aio.scripts import ScriptPair, ScriptRunner
from pyppp.aio.secrets import SecretsReader
from pyppp.aio.signals import HANGUP, RENEGOTIATE_CCP, TERMINATE, TOGGLE_DEBUG
from pyppp.aio.timers import TimerService
from pyppp.aio.tun import Tun, TunError
from pyppp.errors import ConfigError, ExitStatus
from pyppp.linkconfig import LinkConfig
from pyppp.pppd.options import PppOptions
from pyppp.pppd.pool import AddressPool
from pyppp.pppd.radius import DEFAULT_CONFIG as DEFAULT_RADIUS_CONFIG
from pyppp.pppd.radius import NasInfo, parse_avpair, parse_radiusclient_conf
from pyppp.pppd.session import build_link_config, chap_words
from pyppp.pppd.values import parse_listen_address
from pyppp.util import NOTICE

if TYPE_CHECKING:
    from pyppp.aio.multiline import LineGate, SharedProcess

__all__ = ["FATAL_SIGNAL_STATUS", "SignalTarget", "Supervisor"]

FATAL_SIGNAL_STATUS = 127
"""pppd's ``bad_signal``: ``die(127)``."""

_T = TypeVar("_T")
_GIVE_UP = frozenset({ExitStatus.LOCK_FAILED, ExitStatus.OPTION_ERROR, ExitStatus.NOT_ROOT})


class Supervisor:
    """Runs connections until done; :meth:`run` returns pppd's exit status.

    Args:
        options: the options, checked.
        config_dir: pppd's ``/etc/ppp`` (scripts, secrets, resolv.conf).
        lock_dir: where UUCP locks go.
        run_dir: where the pid files go (pppd on Debian: /run).
        serving: ``pyppp serve`` (the Windows handshake's server side).
        detacher: the child's end of the detach pipe, when pppd would detach.
        syslog_ident: the syslog ident (``pppd`` by default).
        shared: given when this is one line of a multi-line ``pyppp serve``
            (:mod:`pyppp.aio.multiline`): the process's logging, observatory and address
            pool, and this line's loggers. The owner then starts and ends the process-wide
            parts (metrics, the "started by"/"Exit." lines); this object only its line.
    """

    def __init__(
        self,
        options: PppOptions,
        *,
        config_dir: Path,
        lock_dir: Path,
        run_dir: Path = Path("/run"),
        serving: bool,
        detacher: Detacher | LineGate | None = None,
        syslog_ident: str = DEFAULT_IDENT,
        shared: SharedProcess | None = None,
    ) -> None:
        self.options = options
        self.config_dir = config_dir
        self.lock_dir = lock_dir
        self.serving = serving
        self.detacher = detacher
        self.shared = shared
        self.pool = (
            shared.pool
            if shared is not None
            else AddressPool.from_text(options.ip_pool)
            if options.ip_pool
            else None
        )
        self.trace_logger: logging.Logger | None = None
        if shared is not None:
            self.logs = shared.logs
            self.logger = shared.logger
            self.trace_logger = shared.trace_logger
        else:
            # pppd logs to standard output until it detaches, unless that is the line (notty).
            self.logs = LogSetup(
                debug=options.debug,
                logfile=options.logfile,
                logfd=options.logfd,
                foreground=not options.notty,
                ident=syslog_ident,
            )
            self.logger = self.logs.root
        # One timer for every link of the process (the multi-line server's, or our own).
        self.timers = shared.timers if shared is not None else TimerService(logger=self.logger)
        self.scripts = ScriptRunner(self.logger, options.script_env)
        self.ip_scripts = ScriptPair(self.scripts, self.script("ip-up"), self.script("ip-down"))
        self.auth_scripts = ScriptPair(
            self.scripts, self.script("auth-up"), self.script("auth-down")
        )
        # read off the loop, when pppd would (pap-secrets/chap-secrets: pppd 2.5's own paths)
        self.secrets = SecretsReader(
            config_dir, self.logger, pap=options.pap_secrets, chap=options.chap_secrets
        )
        self.pid_files = PidFiles(run_dir, options.linkname, self.logger)
        self.netconf = NetConfig(self.logger)  # demand mode's routes (for the whole process)
        self.env: dict[str, str] = {}
        self.runner: LinkRunner | None = None
        self.fatal: int | None = None
        self.user_name = _user_name()
        self._config: LinkConfig | None = None
        self._stop: asyncio.Event | None = None
        self._signalled: int | None = None
        self._notified = False
        self._demand: DemandInterface | None = None
        self.radius: RadiusClient | None = None  # plugin radius.so
        # pyppp status, metrics (docs/observability.md): this process's one link, or one of
        # the lines of a multi-line server (whose observatory answers for all of them).
        self.observatory = (
            shared.observatory
            if shared is not None
            else Observatory(
                control=options.control,
                metrics=parse_listen_address(options.metrics, "metrics", "")
                if options.metrics
                else None,
                logger=self.logger,
            )
        )
        self.observed = self.observatory.add(
            options.linkname or options.ifname or Path(options.device or "pyppp").name,
            device=options.device,
        )

    @property
    def signalled(self) -> bool:
        """Whether a signal has asked us to end (SIGTERM, SIGINT, a fatal one; SIGHUP alone)."""
        return self._signalled is not None

    # -- paths and small services for the connection ---------------------------------------------
    def script(self, name: str) -> Path:
        """Where a hook script is (``ip-up-script`` and friends, or the config dir)."""
        given = {
            "ip-up": self.options.ip_up_script,
            "ip-down": self.options.ip_down_script,
            "ip-pre-up": self.options.ip_pre_up_script,
            "auth-up": self.options.auth_up_script,
            "auth-down": self.options.auth_down_script,
            "ipv6-up": self.options.ipv6_up_script,
            "ipv6-down": self.options.ipv6_down_script,
        }.get(name)
        return Path(given) if given else self.config_dir / name

    def child_stderr(self) -> int | None:
        """Where a pty command's errors go: our standard error while not detached."""
        return 2 if self.detacher is None or self.detacher.pending else None

    def device_open(self) -> None:
        """The device is open: pppd (without ``updetach``) has detached by now."""
        if not self.options.updetach:
            self._detach()

    def network_came_up(self) -> None:
        """IP is up: ``updetach`` detaches now, ``up_sdnotify`` tells systemd."""
        if self.options.updetach:
            # After this turn of the loop, so that pppd's "local  IP address" lines (printed
            # when the event has been handled) still reach the caller, as with pppd.
            asyncio.get_running_loop().call_soon(self._detach)
        if self.options.up_sdnotify and not self._notified:
            self._notified = True
            asyncio.get_running_loop().call_soon(self._notify_ready)

    def _notify_ready(self) -> None:
        self.logger.debug("up_sdnotify is set. Now notifying systemd: READY=1")
        sd_notify("READY=1", self.logger)

    def _detach(self) -> None:
        detacher = self.detacher
        if detacher is not None and detacher.pending:
            if self.shared is None:
                self.logs.detached()  # (a multi-line gate does it once, for every line)
            detacher.detach()

    def interface_created(self, ifname: str) -> None:
        """Set the scripts' IFNAME and UNIT and write the pid files (pppd ``set_ifunit``)."""
        self.env["IFNAME"] = ifname
        if ifname.startswith("ppp") and ifname[3:].isdigit():
            self.env["UNIT"] = ifname[3:]
        self.pid_files.interface_up(ifname)
        # The interface names the link (unless linkname did) and its control socket.
        self.observed.interface = ifname
        if not self.options.linkname:
            self.observed.name = ifname
        self.observatory.name_soon(self.observed.name)

    def add_routes(self, netconf: NetConfig, ifname: str, remote: IPv4Address) -> None:
        """``defaultroute`` and ``proxyarp`` once IPCP is up."""
        options = self.options
        try:
            if options.defaultroute:
                netconf.add_default_route(
                    ifname,
                    replace=options.replacedefaultroute,
                    metric=options.defaultroute_metric,
                )
            if options.proxyarp:
                netconf.add_proxy_arp(remote, ktune=options.ktune)
        except Exception as exc:  # netlink refusing must not take the link down
            self.logger.error("Couldn't set up routing for %s: %s", ifname, exc)

    def write_resolv_conf(self, text: str) -> None:
        """Write the peer's DNS servers to ``<config-dir>/resolv.conf`` (pppd ``create_resolv``)."""
        path = self.config_dir / "resolv.conf"
        try:
            path.write_text(text)
            path.chmod(0o644)
        except OSError as exc:
            self.logger.error("Failed to create %s: %s", path, exc.strerror or exc)

    async def interruptible(self, work: Awaitable[_T], *, fresh: bool = False) -> _T | None:
        """Run a script on the line unless a signal comes first (pppd kills its group).

        Args:
            work: the script.
            fresh: only a signal from now on counts (the disconnect script runs after the
                SIGTERM that ended the link, as in pppd; a second one stops it).

        Returns:
            Its result, or None when SIGTERM/SIGINT (or a fatal signal) stopped it.

        Raises:
            PreludeError: SIGHUP stopped it (pppd: the connect script fails).
        """
        assert self._stop is not None
        if fresh:
            self._stop.clear()
        task = asyncio.ensure_future(work)
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not task.done():
                # A `serve --windows` waits for a caller for ever and chat scripts may wait an
                # hour: a signal must not wait for them.
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.cancelled():
            if self._signalled is not None:
                return None
            raise PreludeError("Connect script failed (interrupted by SIGHUP)")
        return task.result()

    async def wait_scripts(self) -> None:
        """Before the interface goes: let ip-down/auth-down run (at most ``child-timeout``)."""
        if self.fatal is not None:
            return
        timeout = float(self.options.child_timeout) or None
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self.ip_scripts.busy or self.auth_scripts.busy:
            if deadline is not None and loop.time() >= deadline:
                return
            await asyncio.sleep(0.05)

    # -- signals -------------------------------------------------------------------------------
    def signal(self, signum: int) -> None:
        """React to a signal as pppd does (see :mod:`pyppp.aio.signals`)."""
        if signum == TOGGLE_DEBUG:
            self._toggle_debug()
            return
        if signum == RENEGOTIATE_CCP:
            self.renegotiate_ccp()
            return
        if signum == HANGUP:
            self.logger.info("Hangup (SIGHUP)")
            if not (self.options.persist or self.options.demand):
                self._signalled = signum
        elif signum in TERMINATE:
            # pppd main.c: "Terminating on signal %d"
            self.logger.info("Terminating on signal %d", signum)
            self._signalled = signum
        else:
            # pppd bad_signal: "Fatal signal %d", clean up, die(127).
            self.logger.error("Fatal signal %d", signum)
            self._signalled = signum
            self.fatal = signum
        if self._stop is not None:
            self._stop.set()
        runner = self.runner
        if runner is None:
            return
        if self.fatal is not None:
            runner.hangup("Fatal signal")
        else:
            # pppd kill_link: LCP Terminate-Request with "User request", for SIGHUP too.
            runner.close("User request", ExitStatus.USER_REQUEST)

    def _toggle_debug(self) -> None:
        """SIGUSR1: pppd's ``debug = !debug``; the packet trace starts or stops at once."""
        on = self.logs.toggle_debug()
        self.debug_toggled()
        self.logger.debug("debug %s (SIGUSR1)", "on" if on else "off")

    def debug_toggled(self) -> None:
        """The process's debug level changed (SIGUSR1): echoes stay out of the trace."""
        # The level is now 0 or 1: LCP echoes are hidden again once the link is up.
        if self._config is not None:
            self._config = replace(self._config, trace_echo=False)
        runner = self.runner
        if runner is not None:
            runner.link.config = replace(runner.link.config, trace_echo=False)

    def renegotiate_ccp(self) -> None:
        """SIGUSR2: make CCP renegotiate (pppd ``open_ccp``), while the network is up.

        The link provides ``renegotiate_ccp(now)`` once CCP exists (issue L); until then
        there is nothing to renegotiate and the signal changes nothing.
        """
        runner = self.runner
        if runner is None or not runner.link.network_up:
            return
        renegotiate = getattr(runner.link, "renegotiate_ccp", None)
        if renegotiate is None:
            self.logger.debug("SIGUSR2: no compression to renegotiate")
            return
        runner.act(renegotiate)

    # -- the loop ------------------------------------------------------------------------------
    async def run(self) -> int:
        """Connect, and with ``persist`` reconnect, until done; return pppd's exit status."""
        self._stop = asyncio.Event()
        if self.shared is None:
            self.logs.to_syslog_only(
                NOTICE, "pyppp %s started by %s, uid %d", __version__, self.user_name, os.getuid()
            )
        status: int = ExitStatus.FATAL_ERROR
        try:
            status = (None if self.shared else await self._observe_start()) or await self._run()
        finally:
            await self._shutdown()
        if self.fatal is not None:
            status = FATAL_SIGNAL_STATUS
        return status

    async def _run(self) -> int:
        options = self.options
        chap = list(chap_words(options))  # require-chap, require-mschap-v2, require-mschap
        problem = login_option_problem(
            login=options.login,
            require_pap=options.require_pap,
            require_chap=bool(chap),
            chap_word=chap[0] if chap else "require-chap",
        )
        if problem is not None and options.require_pap:
            # (require-chap alone is refused below, with the same explanation, once.)
            self.logger.warning("%s", problem)
        if options.masquerade:
            try:
                load_nftables()
            except MasqueradeError as exc:
                self.logger.error("%s", exc)
                return exc.exit_status
        # `set`/`unset` reach the programs run on the line too (pppd update_system_environment).
        for name, value in options.script_env:
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        await self.secrets.refresh()
        try:
            self._config = build_link_config(
                options,
                secrets=self.secrets.secrets,
                rng=os.urandom,
                hostname=socket.gethostname(),
                read_file=read_limited,
                hwaddr=first_ether_address() if options.ipv6cp_use_persistent else None,
                crypt_check=crypt_check,
                logger=self.logger,
            )
        except ConfigError as exc:
            for line in str(exc).split(". "):
                self.logger.error("%s", line)
            return exc.exit_status
        if options.plugin is not None:
            try:
                self.radius = self._radius_client()
            except ConfigError as exc:
                self.logger.error("%s", exc)
                return exc.exit_status
        self._base_env()
        self.pid_files.link_started()
        if options.demand:
            try:
                self._demand = self._demand_interface(self._config)
            except TunError as exc:
                self.logger.error("%s", exc)
                return exc.exit_status
            self.device_open()  # nothing to wait for before the background
        return await self._calls()

    def _radius_client(self) -> RadiusClient:
        """``plugin radius.so``: read radiusclient.conf (and its servers file) now, once."""
        path = Path(self.options.radius_config_file or DEFAULT_RADIUS_CONFIG)
        try:
            text = read_limited(path, 1 << 20).decode()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"radius: can't read {path}: {exc}") from exc
        config = parse_radiusclient_conf(
            text,
            str(path),
            read_file=lambda name: read_limited(name, 1 << 20).decode(),
            logger=self.logger,
        )
        return RadiusClient(config, self.logger)

    def radius_nas(self, unit: int) -> NasInfo:
        """What this line's RADIUS requests say about it (pppd radius.c's attributes)."""
        options = self.options
        assert self.radius is not None
        port = unit
        if options.map_to_ttyname and options.device:
            digits = "".join(c for c in Path(options.device).name if c.isdigit())
            port = int(digits) if digits else unit
        return NasInfo(
            identifier=self.radius.config.nas_identifier or socket.gethostname(),
            port=port,
            ip=self.radius.config.nas_ip,
            calling_station=options.remotenumber,
            avpairs=tuple(parse_avpair(word) for word in options.avpair),
        )

    async def _calls(self) -> int:
        assert self._stop is not None
        assert self._config is not None
        options = self.options
        failures = 0
        demand = self._demand
        while True:
            self._stop.clear()
            if self._signalled is not None:
                return ExitStatus.USER_REQUEST
            if demand is not None:
                demand.dormant()
                await self._wait_for(demand.triggered)
                if self._signalled is not None:
                    return ExitStatus.USER_REQUEST
                if not demand.triggered.is_set():
                    continue  # SIGHUP while dormant: nothing to hang up
                self.logger.info("Starting link")
            connection = Connection(self, self._config, demand)
            status = await connection.run()
            if self._signalled is not None:
                return ExitStatus.USER_REQUEST
            if not options.persist or status in _GIVE_UP:
                return status
            failures = 0 if connection.was_up else failures + 1
            if options.maxfail and failures >= options.maxfail:
                # pppd main.c
                self.logger.info("Maximum connect attempts exceeded")
                return status
            if demand is not None:
                demand.discarding()
            holdoff = self._holdoff() if connection.need_holdoff else 0
            if holdoff:
                self.observed.shell_phase = "holdoff"
                self._stop.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), holdoff)
                if self._signalled is not None:
                    return ExitStatus.USER_REQUEST

    async def _observe_start(self) -> int | None:
        """Metrics from the start; the control socket too if ``linkname``/``ifname`` name it."""
        try:
            await self.observatory.start()
        except OSError as exc:
            host, port = self.observatory.metrics_address or ("", 0)
            self.logger.error("Couldn't serve metrics on %s:%d: %s", host, port, exc.strerror)
            return ExitStatus.FATAL_ERROR
        if self.options.linkname or self.options.ifname:
            self.observatory.name_soon(self.observed.name)
        return None

    async def _wait_for(self, event: asyncio.Event) -> None:
        assert self._stop is not None
        waits = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(self._stop.wait())}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    def _holdoff(self) -> int:
        # pppd tty_check_options: "default holdoff to 0 if no connect script has been given"
        options = self.options
        if "holdoff" not in options.sources and not options.connect:
            return 0
        return options.holdoff

    def _base_env(self) -> None:
        options = self.options
        env = self.env
        env["PPPLOGNAME"] = self.user_name
        env["PPPD_PID"] = str(os.getpid())
        env["ORIG_UID"] = str(os.getuid())
        if options.device:
            env["DEVICE"] = options.device
        if options.linkname:
            env["LINKNAME"] = options.linkname
        if options.ipparam:
            env["IPPARAM"] = options.ipparam

    def _demand_interface(self, config: LinkConfig) -> DemandInterface:
        """Configure the interface before any call (pppd ``demand_conf``/``ip_demand_conf``)."""
        options = self.options
        unit = options.unit or 0
        wanted = config.ipcp
        local, remote = made_up_addresses(
            wanted.local if wanted is not None else None,
            wanted.remote if wanted is not None else None,
            unit,
        )
        tun = Tun(options.ifname, unit=options.unit)
        self.logger.info("Using interface %s", tun.name)
        self.interface_created(tun.name)
        demand = DemandInterface(tun, local, remote, self.logger)
        mtu = min(options.mru or 1500, 1500)
        tun.configure(local, remote, mtu, up=False)
        args = [tun.name, options.device or "", str(options.speed or 115200)]
        args += [str(local), str(remote), options.ipparam or ""]
        self.env["IPLOCAL"], self.env["IPREMOTE"] = str(local), str(remote)
        self.scripts.run_and_wait(self.script("ip-pre-up"), args, self.env)
        tun.bring_up()
        self.add_routes(self.netconf, tun.name, remote)
        self.logger.log(NOTICE, "local  IP address %s", local)
        self.logger.log(NOTICE, "remote IP address %s", remote)
        demand.start()
        return demand

    async def _shutdown(self) -> None:
        self.secrets.stop()
        demand = self._demand
        if demand is not None:
            with contextlib.suppress(Exception):
                self.netconf.remove_all()
            with contextlib.suppress(Exception):
                demand.tun.close()
        # pppd: child-timeout 0 waits for ever; a fatal signal (die(127)) waits for nothing.
        timeout = float(self.options.child_timeout) or None
        await self.scripts.finish(0.0 if self.fatal is not None else timeout)
        self.pid_files.remove()
        if self.shared is None:
            self.timers.close()
            await self.observatory.close()
            self.logs.to_syslog_only(logging.INFO, "Exit.")


def _user_name() -> str:
    """Return pppd's PPPLOGNAME: getlogin(), else the real uid's name, else "(unknown)"."""
    with contextlib.suppress(OSError):
        name = os.getlogin()
        if name:
            return name
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return "(unknown)"


class SignalTarget(Protocol):
    """What signals go to: a :class:`Supervisor`, or a multi-line server's lines."""

    def signal(self, signum: int) -> None:
        """React to one signal."""


def install_signal_handlers(loop: asyncio.AbstractEventLoop, supervisor: SignalTarget) -> None:
    """Every signal that would end the process goes to ``supervisor.signal``."""
    from pyppp.aio.signals import handled_signals

    for signum in handled_signals():
        with contextlib.suppress(ValueError, RuntimeError, OSError):
            loop.add_signal_handler(signum, supervisor.signal, signum)
    # SIGPIPE stays ignored (Python's default, and pppd's).
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
