"""``pyppp share``: one serial modem shared over TCP, one caller at a time.

* **Modes.** ``--raw`` (default): bytes go straight to the modem; telnet option negotiation
  from a telnet client is answered (every option refused) and never reaches the modem, and once
  the client has shown it speaks telnet, ``IAC IAC`` stands for one 0xFF byte both ways (see
  :class:`pyppp.share.telnet.TelnetFilter`). ``--transparent``: 8-bit clean, no telnet at all (for
  ``socket://host:2006`` pyserial clients and PPP). ``--rfc2217``: RFC 2217 (Telnet Com Port
  Control) through pyserial's own ``serial.rfc2217.PortManager``, so a
  ``rfc2217://host:2006`` client sets speed, framing and control lines and sees the status
  lines.
* **Access control**: loopback only by default; ``--allow``/``--deny`` networks; with
  ``--hosts-access`` the ``hosts.allow``/``hosts.deny`` rules for the service ``pyppp-share``.
* **One caller at a time**; a second caller reads a ``BUSY`` line. The UUCP lock is held only
  during a call.
* **Never stalls the modem.** What a slow client cannot take (beyond ``--max-backlog`` bytes
  queued) is dropped and counted, and a client that takes nothing for ``--stall-timeout``
  seconds is disconnected.
* ``--inetd``: the connection is on standard input (inetd ``nowait``, systemd ``Accept=yes``);
  one session, then exit. A listening socket passed by systemd (``LISTEN_FDS``) is used when
  present.

Log lines are plain, pppd-like sentences on standard error (and syslog with ``--syslog``, or
always under ``--inetd`` where standard error may be the caller's socket).

The server is :mod:`pyppp.aio.share_server`, the serial side :mod:`pyppp.aio.share_port`; the
decisions are sans-IO in :mod:`pyppp.share` (telnet, access, config, session).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import logging.handlers
import os
import signal
import socket
import sys

from pyppp.aio.share_server import ShareServer
from pyppp.errors import ConfigError
from pyppp.pppd.lock import DEFAULT_LOCK_DIR
from pyppp.share.access import SERVICE_NAME, IPNetwork
from pyppp.share.config import DEFAULT_PORT, ShareConfig, config_from_args, listen_text

__all__ = ["add_arguments", "run"]

_log = logging.getLogger("pyppp.share")


def _network(text: str) -> IPNetwork:
    try:
        return ipaddress.ip_network(text.strip("[]").replace("]", ""), strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an address or network: {text!r}") from None


def _tcp_port(text: str) -> int:
    if text.isdigit() and 0 < int(text) < 65536:
        return int(text)
    try:
        return socket.getservbyname(text, "tcp")  # the HOWTO's /etc/services "modem 2006/tcp"
    except OSError:
        raise argparse.ArgumentTypeError(f"unknown TCP port or service: {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``pyppp share``'s arguments to its sub-parser."""
    parser.add_argument("device", metavar="DEVICE", help="serial device path or pyserial URL")
    parser.add_argument("--port", type=_tcp_port, default=DEFAULT_PORT, help="TCP port (2006)")
    parser.add_argument(
        "--bind",
        action="append",
        default=[],
        metavar="ADDR",
        help="listen address (repeatable; default: loopback, or all with --allow/hosts files)",
    )
    parser.add_argument(
        "--allow",
        action="append",
        type=_network,
        default=[],
        metavar="NET",
        help="grant these addresses/networks (repeatable; default: loopback only)",
    )
    parser.add_argument(
        "--deny", action="append", type=_network, default=[], metavar="NET", help="refuse these"
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--raw",
        dest="mode",
        action="store_const",
        const="raw",
        help="bytes to the modem; telnet negotiation answered and filtered (default)",
    )
    modes.add_argument(
        "--transparent",
        dest="mode",
        action="store_const",
        const="transparent",
        help="8-bit clean, no telnet processing at all",
    )
    modes.add_argument(
        "--rfc2217",
        dest="mode",
        action="store_const",
        const="rfc2217",
        help="RFC 2217 Com Port Control (pyserial rfc2217:// clients)",
    )
    parser.set_defaults(mode="raw")
    parser.add_argument(
        "--inetd", action="store_true", help="serve the one connection on standard input, then exit"
    )
    parser.add_argument("--idle", type=float, metavar="SECONDS", help="hang up an idle caller")
    parser.add_argument("--banner", metavar="TEXT", help="line sent to each raw caller first")
    parser.add_argument("--speed", type=int, default=115200, help="serial speed (115200)")
    parser.add_argument("--crtscts", action="store_true", help="hardware flow control")
    parser.add_argument("--lock-dir", default=DEFAULT_LOCK_DIR, help="UUCP lock directory")
    parser.add_argument("--nolock", action="store_true", help="take no UUCP lock")
    parser.add_argument(
        "--hosts-access",
        action="store_true",
        help="also apply /etc/hosts.allow and /etc/hosts.deny for the service name",
    )
    parser.add_argument("--hosts-allow", metavar="PATH", help="hosts.allow file (implies access)")
    parser.add_argument("--hosts-deny", metavar="PATH", help="hosts.deny file (implies access)")
    parser.add_argument("--service", default=SERVICE_NAME, help="daemon name in hosts files")
    parser.add_argument(
        "--max-backlog",
        type=int,
        default=65536,
        metavar="BYTES",
        help="modem bytes queued for a slow caller before dropping (65536)",
    )
    parser.add_argument(
        "--stall-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="disconnect a caller that reads nothing for this long while data waits (30)",
    )
    parser.add_argument("--syslog", action="store_true", help="also log to syslog (daemon)")
    parser.add_argument("--debug", action="store_true", help="log debugging lines")


def _same_file(fd_a: int, fd_b: int) -> bool:
    try:
        a, b = os.fstat(fd_a), os.fstat(fd_b)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _setup_logging(args: argparse.Namespace, *, stderr_ok: bool) -> list[logging.Handler]:
    logger = logging.getLogger("pyppp")
    logger.setLevel(logging.DEBUG if args.debug else logging.INFO)
    handlers: list[logging.Handler] = []
    if stderr_ok:
        handlers.append(logging.StreamHandler(sys.stderr))
        handlers[-1].setFormatter(logging.Formatter("%(message)s"))
    if args.syslog or not stderr_ok:
        with contextlib.suppress(OSError):
            syslog = logging.handlers.SysLogHandler(
                "/dev/log", facility=logging.handlers.SysLogHandler.LOG_DAEMON
            )
            syslog.setFormatter(logging.Formatter(f"{SERVICE_NAME}[%(process)d]: %(message)s"))
            handlers.append(syslog)
    for handler in handlers:
        logger.addHandler(handler)
    return handlers


def _systemd_socket() -> socket.socket | None:
    # sd_listen_fds(3): LISTEN_PID is us and LISTEN_FDS >= 1 -> fd 3 is the listening socket.
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return None
    count = os.environ.get("LISTEN_FDS", "0")
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        os.environ.pop(name, None)
    if not count.isdigit() or int(count) < 1:
        return None
    return socket.socket(fileno=3)


async def _main(config: ShareConfig, *, inetd_sock: socket.socket | None) -> int:
    server = ShareServer(config)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(signum: int) -> None:
        _log.info("Terminating on signal %d", signum)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, on_signal, signum)
    try:
        if inetd_sock is not None:
            served = asyncio.ensure_future(server.serve_connection(inetd_sock))
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({served, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            served.cancel()
            return 0
        try:
            bound = await server.start(_systemd_socket())
        except OSError as exc:
            _log.error("Can't listen on port %d: %s", config.port, exc.strerror or exc)
            return 1
        _log.info("Sharing %s on %s (%s)", config.device, listen_text(bound), config.mode)
        await stop.wait()
        return 0
    finally:
        await server.close()


def run(args: argparse.Namespace) -> int:
    """Run ``pyppp share``; return the exit status (0 after a signal or an inetd call).

    Args:
        args: the parsed arguments (see :func:`add_arguments`); ``args.extra`` holds words
            the parser did not know, which are an error here.
    """
    extra = list(getattr(args, "extra", None) or [])
    if extra:
        print(f"pyppp share: unrecognized arguments: {' '.join(extra)}", file=sys.stderr)
        return 2
    try:
        config = config_from_args(args)
    except ConfigError as exc:
        print(f"pyppp share: {exc}", file=sys.stderr)
        return exc.exit_status
    inetd_sock = None
    stderr_ok = True
    if args.inetd:
        fd0 = os.dup(0)
        try:
            inetd_sock = socket.socket(fileno=fd0)
        except OSError:
            os.close(fd0)
            print("pyppp share: --inetd needs a socket on standard input", file=sys.stderr)
            return 2
        # inetd gives the socket as fds 0, 1 and 2: log lines must not reach the caller, and
        # the connection must close when our copy does, so the inherited fds go to /dev/null.
        stderr_ok = not _same_file(0, 2)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1) if stderr_ok else (0, 1, 2):
            if _same_file(fd, inetd_sock.fileno()):
                os.dup2(devnull, fd)
        os.close(devnull)
    handlers = _setup_logging(args, stderr_ok=stderr_ok)
    try:
        return asyncio.run(_main(config, inetd_sock=inetd_sock))
    finally:
        for handler in handlers:
            logging.getLogger("pyppp").removeHandler(handler)
            handler.close()
