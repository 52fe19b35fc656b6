"""One pppd process's life: lock, open, connect script, link, interface, scripts, persist.

pppd's main loop, in order: lock the device (``lock``), open it, run the ``connect`` script
(here: the built-in chat engine or the Windows handshake, or an external program with the line
on its stdin/stdout), create the interface, run the link until it dies, run ``disconnect``,
release everything; with ``persist``, wait ``holdoff`` seconds and start again, at most
``maxfail`` failed attempts in a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

from pyppp.aio.driver import LinkRunner
from pyppp.aio.ipv6 import Ipv6Side
from pyppp.aio.line import FdLine, LineOpenError, ThreadLine, open_line_async
from pyppp.aio.lockfile import UucpLock
from pyppp.aio.login import check_login, crypt_check, login_option_problem
from pyppp.aio.logs import setup_logging
from pyppp.aio.masquerade import Masquerade, MasqueradeError, load_nftables
from pyppp.aio.netconf import NetConfig, first_ether_address
from pyppp.aio.prelude import PreludeError, run_prelude
from pyppp.aio.scripts import ScriptRunner
from pyppp.aio.secrets import SecretsReader
from pyppp.aio.tun import Tun, TunError
from pyppp.errors import ConfigError, ExitStatus
from pyppp.events import (
    Event,
    Ipv6Down,
    Ipv6Up,
    LinkDown,
    LinkTerminated,
    NetworkDown,
    NetworkUp,
)
from pyppp.link import Link, LinkConfig
from pyppp.packet import PPPProtocol
from pyppp.pppd.dns import resolv_conf_text
from pyppp.pppd.lock import LockError
from pyppp.pppd.options import PppOptions
from pyppp.pppd.session import SessionAuth, build_link_config, chap_words
from pyppp.util import NOTICE

__all__ = ["Supervisor"]


class Supervisor:
    """Runs connections until done; :meth:`run` returns pppd's exit status."""

    def __init__(
        self, options: PppOptions, *, config_dir: Path, lock_dir: Path, serving: bool
    ) -> None:
        self.options = options
        self.config_dir = config_dir
        self.lock_dir = lock_dir
        self.serving = serving
        self.logger = setup_logging(debug=options.debug, logfile=options.logfile)
        self.scripts = ScriptRunner(config_dir, self.logger)
        self.secrets = SecretsReader(config_dir, self.logger)  # read off the loop, when pppd would
        self._runner: LinkRunner | None = None
        self._stop: asyncio.Event | None = None
        self._signalled: int | None = None

    # -- signals -------------------------------------------------------------------------------
    def signal(self, signum: int) -> None:
        """SIGTERM/SIGINT: terminate and exit 5; SIGHUP: terminate the link, exit 5 or redial.

        As pppd: SIGHUP closes the link like SIGTERM (Terminate-Request) but does not ask the
        loop to quit, so with ``persist`` the next call starts (at once if in holdoff).
        """
        if signum == signal.SIGHUP:
            self.logger.info("Hangup (SIGHUP)")
        else:
            # pppd main.c: "Terminating on signal %d"
            self.logger.info("Terminating on signal %d", signum)
        if signum != signal.SIGHUP or not self.options.persist:
            self._signalled = signum
        if self._stop is not None:
            self._stop.set()
        runner = self._runner
        if runner is None:
            return
        # pppd treats SIGHUP like SIGTERM on the link (kill_link: LCP Terminate-Request with
        # "User request", so the peer learns at once); only the loop differs (persist redials).
        runner.close("User request", ExitStatus.USER_REQUEST)

    # -- the loop ------------------------------------------------------------------------------
    async def run(self) -> int:
        """Connect, and with ``persist`` reconnect, until done."""
        self._stop = asyncio.Event()
        options = self.options
        chap = list(chap_words(options))  # require-chap, require-mschap-v2, require-mschap
        problem = login_option_problem(
            login=options.login,
            require_pap=options.require_pap,
            require_chap=bool(chap),
            chap_word=chap[0] if chap else "require-chap",
        )
        if problem is not None:
            self.logger.warning("%s", problem)
        if options.masquerade:
            try:
                load_nftables()
            except MasqueradeError as exc:
                self.logger.error("%s", exc)
                return exc.exit_status
        await self.secrets.refresh()
        try:
            config = build_link_config(
                options,
                secrets=self.secrets.secrets,
                rng=os.urandom,
                hostname=socket.gethostname(),
                crypt_check=crypt_check,
                logger=self.logger,
                hwaddr=first_ether_address() if options.ipv6cp_use_persistent else None,
            )
        except ConfigError as exc:
            for line in str(exc).split(". "):
                self.logger.error("%s", line)
            return exc.exit_status
        failures = 0
        while True:
            status, was_up = await self._connect_once(config)
            if self._signalled is not None:
                return ExitStatus.USER_REQUEST
            if not options.persist or status in (
                ExitStatus.LOCK_FAILED,
                ExitStatus.OPTION_ERROR,
                ExitStatus.NOT_ROOT,
            ):
                return status
            failures = 0 if was_up else failures + 1
            if options.maxfail and failures >= options.maxfail:
                # pppd main.c
                self.logger.info("Maximum connect attempts exceeded")
                return status
            holdoff = 0 if status == ExitStatus.IDLE_TIMEOUT else options.holdoff
            if holdoff:
                self._stop.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), holdoff)
                if self._signalled is not None:
                    return ExitStatus.USER_REQUEST

    async def _connect_once(self, config: LinkConfig) -> tuple[int, bool]:
        options = self.options
        device = options.device
        assert device is not None
        lock: UucpLock | None = None
        line: FdLine | ThreadLine | None = None
        tun: Tun | None = None
        netconf = NetConfig(self.logger)
        state = _Connection(self.logger)
        assert self._stop is not None
        # A SIGHUP (persist) of the last call may have left it set; a SIGTERM is remembered
        # in _signalled, so clearing here loses nothing.
        self._stop.clear()
        if self._signalled is not None:
            return ExitStatus.USER_REQUEST, False
        try:
            if options.lock and "://" not in device:
                lock = UucpLock(device, lock_dir=self.lock_dir, logger=self.logger)
                lock.acquire()
            line = await open_line_async(
                device,
                speed=options.speed,
                crtscts=bool(options.crtscts),
                xonxoff=options.xonxoff,
            )
            leftover = await self._prelude(line)
            if self._signalled is not None:
                return ExitStatus.USER_REQUEST, False
            await self.secrets.refresh()  # pppd's auth_reset: each call sees the files as they are
            tun = Tun(options.ifname, unit=options.unit)
            self.logger.info("Using interface %s", tun.name)
            state.ipv6 = Ipv6Side(
                tun, self.scripts, defaultroute=options.defaultroute6, logger=self.logger
            )
            if isinstance(config.auth, SessionAuth):
                config.auth.ifname = tun.name  # for pppd's "user %s logged in ... intf %s"
            self.logger.log(NOTICE, "Connect: %s <--> %s", tun.name, device)
            link = Link(config, rng=os.urandom, logger=self.logger)
            runner = LinkRunner(
                link,
                line,
                on_ip=tun.write,
                login_checker=check_login,
                initial_data=leftover,
                logger=self.logger,
                on_event=lambda event: self._on_event(event, state, tun, netconf, device),
                line_high_water=_line_high_water(device, options.speed),
                on_backpressure=lambda paused: tun.pause() if paused else tun.resume(),
            )
            self._runner = runner
            tun.start(runner.send_ips)
            # pppd's connect-delay applies after a connect script (or the handshake).
            delay = options.connect_delay / 1000 if (options.connect or options.windows) else 0
            status = await runner.run(open_delay=delay)
            await self._finish(state)
            return status, state.up_at is not None or state.ipv6_since is not None
        except (LockError, LineOpenError, PreludeError, TunError) as exc:
            # Each carries pppd's status: 6 lock, 7 open, 8/18 connect/init script, 1/3 TUN.
            self.logger.error("%s", exc)
            return exc.exit_status, False
        except OSError as exc:
            # Anything else the system refuses: pppd's fatal error, after cleaning up.
            self.logger.error("%s", exc)
            return ExitStatus.FATAL_ERROR, False
        finally:
            self._runner = None
            self.secrets.stop()
            # Each step on its own: a failure in one must not leave the lock or the TUN behind.
            self._quietly("removing routes", netconf.remove_all)
            self._quietly("removing the masquerade", state.masquerade.stop)
            if tun is not None:
                self._quietly("removing the interface", tun.close)
            if line is not None:
                # Give the last frames (the Terminate-Ack) a moment to leave.
                await _drain(line)
                self._quietly("closing the line", line.close)
            if lock is not None:
                self._quietly("releasing the lock", lock.release)

    def _quietly(self, what: str, step: Callable[[], object]) -> None:
        try:
            step()
        except Exception as exc:  # cleanup goes on whatever one step does
            self.logger.error("error %s: %s", what, exc)

    async def _prelude(self, line: FdLine | ThreadLine) -> bytes:
        """Run the connect script/handshake, unless a signal comes first (pppd kills it)."""
        assert self._stop is not None
        prelude = asyncio.ensure_future(
            run_prelude(self.options, line, serving=self.serving, logger=self.logger)
        )
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({prelude, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not prelude.done():
                # A `serve --windows` waits for a caller for ever and chat scripts may wait an
                # hour: SIGTERM/SIGHUP must not wait for them.
                prelude.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await prelude
        if prelude.cancelled():
            if self._signalled is not None:
                return b""  # the caller sees _signalled and exits 5
            raise PreludeError("Connect script failed (interrupted by SIGHUP)")
        return prelude.result()

    # -- events --------------------------------------------------------------------------------
    def _on_event(
        self, event: Event, state: _Connection, tun: Tun, netconf: NetConfig, device: str
    ) -> None:
        options = self.options
        self.secrets.on_event(event)
        if isinstance(event, NetworkUp):
            try:
                tun.configure(event.local, event.remote, event.mtu)
            except TunError as exc:
                # pppd ipcp_up: "Interface configuration failed"; the link cannot be used.
                self.logger.error("%s", exc)
                if self._runner is not None:
                    self._runner.close("Interface configuration failed", exc.exit_status)
                return
            state.down_done = False
            state.connect_time = None
            state.up_at = time.monotonic()
            state.local, state.remote = str(event.local), str(event.remote)
            env = self._script_env(tun.name, device, state)
            if event.dns:
                env.update(
                    {"USEPEERDNS": "1", **{f"DNS{i}": str(a) for i, a in enumerate(event.dns, 1)}}
                )
                if options.usepeerdns:
                    self._write_resolv_conf(resolv_conf_text(event.dns))
            try:
                if options.defaultroute:
                    netconf.add_default_route(tun.name)
                if options.proxyarp:
                    netconf.add_proxy_arp(event.remote)
            except Exception as exc:  # netlink refusing must not take the link down
                self.logger.error("Couldn't set up routing for %s: %s", tun.name, exc)
            if options.masquerade:
                remote = event.remote
                self._quietly("masquerading", lambda: state.masquerade.start(tun.name, remote))
            state.tasks.append(
                asyncio.ensure_future(
                    self.scripts.run("ip-up", self._script_args(tun.name, device, state), env)
                )
            )
        elif isinstance(event, Ipv6Up) and state.ipv6 is not None:
            self._ipv6_up(event, state.ipv6, state, tun, device)
        elif isinstance(event, Ipv6Down) and state.ipv6 is not None:
            head = self._script_args(tun.name, device, state)[:3]
            state.ipv6.down(head, *self._ipv6_env(tun.name, device, state))
        elif isinstance(event, NetworkDown | LinkDown) and state.up_at is not None:
            if not state.down_done:
                state.down_done = True
                # pppd prints the link statistics when the network goes down, before
                # "Connection terminated." (which comes when LCP has finished).
                state.connect_time = self._print_stats(state.up_at)
                netconf.remove_all()
                state.masquerade.stop()
                env = self._script_env(tun.name, device, state)
                env["CONNECT_TIME"] = str(int(state.connect_time))
                runner = self._runner
                if runner is not None:
                    env["BYTES_SENT"] = str(runner.link.stats.bytes_sent)
                    env["BYTES_RCVD"] = str(runner.link.stats.bytes_received)
                state.tasks.append(
                    asyncio.ensure_future(
                        self.scripts.run(
                            "ip-down", self._script_args(tun.name, device, state), env, wait=5.0
                        )
                    )
                )
                tun.down()
        elif isinstance(event, LinkTerminated):
            self.logger.log(NOTICE, "Connection terminated.")
            if state.up_at is None and state.ipv6_since is not None:
                # pppd: with IPCP never up, link_terminated prints them, after that line.
                self._print_stats(state.ipv6_since)
                state.ipv6_since = None

    def _print_stats(self, since: float) -> float:
        """Print the link statistics as pppd's print_link_stats; return the connect time (s)."""
        connect_time = time.monotonic() - since
        tenths = int(connect_time + 5) // 6  # pppd: (seconds + 5) / 6
        self.logger.info("Connect time %d.%d minutes.", tenths // 10, tenths % 10)
        if self._runner is not None:
            stats = self._runner.link.stats
            self.logger.info(
                "Sent %d bytes, received %d bytes.", stats.bytes_sent, stats.bytes_received
            )
        return connect_time

    def _ipv6_env(self, ifname: str, device: str, state: _Connection) -> tuple[str, dict[str, str]]:
        """Return ipparam and the ipv6 scripts' environment (IPLOCAL/IPREMOTE only if set)."""
        env = {k: v for k, v in self._script_env(ifname, device, state).items() if v}
        return self.options.ipparam or "", env

    def _ipv6_up(
        self, event: Ipv6Up, ipv6: Ipv6Side, state: _Connection, tun: Tun, device: str
    ) -> None:
        head = self._script_args(tun.name, device, state)[:3]
        error = ipv6.up(event, head, *self._ipv6_env(tun.name, device, state))
        if error is not None:
            # pppd ipv6cp_up: "Interface configuration failed" closes IPv6CP; IPv4 goes on.
            self.logger.error("%s", error)
            if self._runner is not None:
                self._runner.close_network_protocol(
                    PPPProtocol.IPV6CP, "Interface configuration failed"
                )
            return
        if state.ipv6_since is None:
            state.ipv6_since = time.monotonic()

    def _script_args(self, ifname: str, device: str, state: _Connection) -> list[str]:
        speed = str(self.options.speed or 115200)
        return [ifname, device, speed, state.local, state.remote, self.options.ipparam or ""]

    def _script_env(self, ifname: str, device: str, state: _Connection) -> dict[str, str]:
        runner = self._runner
        peer = runner.link.peer_authenticated_as if runner is not None else None
        env = {
            "IFNAME": ifname,
            "DEVICE": device,
            "SPEED": str(self.options.speed or 115200),
            "IPLOCAL": state.local,
            "IPREMOTE": state.remote,
            "PPPD_PID": str(os.getpid()),
            "PPPLOGNAME": os.environ.get("USER", "root"),
            "ORIG_UID": str(os.getuid()),
        }
        if peer:
            env["PEERNAME"] = peer
        if self.options.ipparam:
            env["IPPARAM"] = self.options.ipparam
        if self.options.linkname:
            env["LINKNAME"] = self.options.linkname
        return env

    def _write_resolv_conf(self, text: str) -> None:
        path = self.config_dir / "resolv.conf"
        try:
            path.write_text(text)
            path.chmod(0o644)
        except OSError as exc:
            self.logger.warning("Couldn't write %s: %s", path, exc)

    async def _finish(self, state: _Connection) -> None:
        tasks = [*state.tasks, *(state.ipv6.tasks if state.ipv6 is not None else [])]
        if tasks:
            await asyncio.wait(tasks, timeout=6.0)
        await self.scripts.drain(timeout=1.0)


class _Connection:
    """What one connection attempt learned, for scripts and the closing lines."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.up_at: float | None = None
        self.connect_time: float | None = None
        self.down_done = False
        self.local = ""
        self.remote = ""
        self.tasks: list[asyncio.Future[int | None]] = []
        self.ipv6: Ipv6Side | None = None  # once the interface exists
        self.ipv6_since: float | None = None  # IPv6CP's first up (connect time, IPv6 only)
        self.masquerade = Masquerade(logger)


def _line_high_water(device: str, speed: int | None) -> int:
    """Bytes the shell may queue for the line: about 0.1 s on a real serial port.

    A pty or a network URL takes data as fast as we give it, so a larger queue (a pty's
    worth, as much as one write can take) costs nothing there and saves loop turns.
    """
    if "://" in device or os.path.realpath(device).startswith("/dev/pts/"):
        return 65536
    return max(1024, (speed or 115200) // 100)


async def _drain(line: FdLine | ThreadLine, timeout: float = 0.5) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while line.write_buffer_size and loop.time() < deadline:
        await asyncio.sleep(0.01)
