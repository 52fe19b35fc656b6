"""``pyppp share``'s configuration and the lines it says to callers, sans-IO.

:class:`ShareConfig` is everything the server needs, built from the command line by
:func:`config_from_args` (which rejects values out of range with one :class:`ConfigError`) or
by hand in tests; :meth:`ShareConfig.policy` turns it into an
:class:`~pyppp.share.access.AccessPolicy`, reading the hosts files each time (tcpd's way)
through the reader the shell passes in.

The functions at the end format what a caller reads on its connection when the modem is not
for it (busy, locked, unopenable) or the call ends for idleness. They are the interface of
chat scripts that dial through a shared modem: ``ABORT BUSY`` must keep working, so they live
here in one place, tested as text.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Final, Literal

from pyppp.errors import ConfigError
from pyppp.pppd.lock import DEFAULT_LOCK_DIR
from pyppp.share.access import (
    LOOPBACK,
    SERVICE_NAME,
    AccessPolicy,
    HostsRule,
    IPNetwork,
    ReadFile,
    load_hosts_file,
)

__all__ = [
    "DEFAULT_PORT",
    "IDLE_LINE",
    "Mode",
    "ShareConfig",
    "busy_message",
    "caller_line",
    "cant_open_message",
    "config_from_args",
    "held_by",
    "listen_text",
    "locked_message",
]

Mode = Literal["raw", "transparent", "rfc2217"]

DEFAULT_PORT: Final = 2006
"""The TCP port of the mini-HOWTO's ``modem 2006/tcp`` service line."""

# The shell's logger: hosts-file complaints read as the server's own lines.
_log = logging.getLogger("pyppp.share")


@dataclasses.dataclass(frozen=True)
class ShareConfig:
    """Everything ``pyppp share`` needs; built by :func:`config_from_args` or by hand in tests.

    Attributes:
        device: a serial device path or any pyserial URL.
        port: the TCP port to listen on.
        bind: addresses to listen on; empty: loopback when the policy is loopback-only, else
            every address.
        mode: ``"raw"``, ``"transparent"`` or ``"rfc2217"``.
        allow: ``--allow`` networks (default: loopback).
        deny: ``--deny`` networks.
        hosts_allow: a ``hosts.allow`` file to consult per connection, if any.
        hosts_deny: a ``hosts.deny`` file to consult per connection, if any.
        service: the daemon name for hosts files.
        idle: seconds without a byte either way before a call is hung up; ``None``: never.
        banner: a line sent to each raw/transparent caller first.
        speed: the serial speed the port is opened at (RFC 2217 clients may change it).
        crtscts: hardware flow control on the serial port.
        lock: take the UUCP lock for the length of a call.
        lock_dir: where lock files live.
        max_backlog: bytes that may wait for a slow client before modem data is dropped.
        stall_timeout: seconds a client may leave modem data unread before it is cut off.
        rfc2217_logging: let pyserial's PortManager log each change it makes.
    """

    device: str
    port: int = DEFAULT_PORT
    bind: tuple[str, ...] = ()
    mode: Mode = "raw"
    allow: tuple[IPNetwork, ...] = LOOPBACK
    deny: tuple[IPNetwork, ...] = ()
    hosts_allow: Path | None = None
    hosts_deny: Path | None = None
    service: str = SERVICE_NAME
    idle: float | None = None
    banner: str | None = None
    speed: int = 115200
    crtscts: bool = False
    lock: bool = True
    lock_dir: Path = Path(DEFAULT_LOCK_DIR)
    max_backlog: int = 65536
    stall_timeout: float = 30.0
    rfc2217_logging: bool = False

    @property
    def reads_files(self) -> bool:
        """Whether :meth:`policy` reads hosts files (the shell then calls it off the loop)."""
        return self.hosts_allow is not None or self.hosts_deny is not None

    def policy(self, read: ReadFile, logger: logging.Logger = _log) -> AccessPolicy:
        """Build the access policy, reading the hosts files now (tcpd reads them per call).

        Args:
            read: what reads a hosts file (``Path.read_bytes`` in the shell); not called when
                no hosts file is configured.
            logger: where unreadable files and unsupported patterns are reported.

        Returns:
            The policy for the next connection.
        """

        def load(path: Path | None) -> tuple[HostsRule, ...]:
            return () if path is None else load_hosts_file(path, read, logger=logger)

        return AccessPolicy(
            self.allow, self.deny, load(self.hosts_allow), load(self.hosts_deny), self.service
        )


def config_from_args(args: argparse.Namespace) -> ShareConfig:
    """Build a :class:`ShareConfig` from parsed arguments.

    Args:
        args: ``pyppp share``'s parsed command line (see :func:`pyppp.cli.share.add_arguments`).

    Returns:
        The configuration.

    Raises:
        ConfigError: a value is out of range.
    """
    if args.idle is not None and args.idle <= 0:
        raise ConfigError("--idle must be a positive number of seconds")
    if args.max_backlog < 1024:
        raise ConfigError("--max-backlog must be at least 1024 bytes")
    if args.stall_timeout <= 0:
        raise ConfigError("--stall-timeout must be positive")
    if args.speed <= 0:
        raise ConfigError("--speed must be positive")
    hosts_allow = args.hosts_allow or ("/etc/hosts.allow" if args.hosts_access else None)
    hosts_deny = args.hosts_deny or ("/etc/hosts.deny" if args.hosts_access else None)
    return ShareConfig(
        device=args.device,
        port=args.port,
        bind=tuple(args.bind),
        mode=args.mode,
        allow=tuple(args.allow) or LOOPBACK,
        deny=tuple(args.deny),
        hosts_allow=Path(hosts_allow) if hosts_allow else None,
        hosts_deny=Path(hosts_deny) if hosts_deny else None,
        service=args.service,
        idle=args.idle,
        banner=args.banner,
        speed=args.speed,
        crtscts=args.crtscts,
        lock=not args.nolock,
        lock_dir=Path(args.lock_dir),
        max_backlog=args.max_backlog,
        stall_timeout=args.stall_timeout,
        rfc2217_logging=args.debug,
    )


# == What callers read =========================================================================

IDLE_LINE: Final = b"\r\npyppp-share: idle timeout\r\n"
"""Sent to a raw/transparent caller before an idle call is hung up."""


def caller_line(message: str) -> bytes:
    """Return ``message`` as the one line a refused caller reads before the connection closes.

    Args:
        message: the text, e.g. from :func:`busy_message`.

    Returns:
        ``pyppp-share: <message>`` and CR LF, encoded.
    """
    return f"pyppp-share: {message}\r\n".encode()


def held_by(peer: str, since: str) -> str:
    """Return who holds the modem, for the busy line and the log.

    Args:
        peer: the caller holding it, ``addr:port``.
        since: when its call began, ``HH:MM:SS``.
    """
    return f"in use by {peer} since {since}"


def busy_message(device: str, held: str) -> str:
    """Return what a second caller is told while a call is up.

    Upper-case ``BUSY``, as a modem says it: a stock ``ABORT BUSY`` chat script stops on it.

    Args:
        device: the shared device.
        held: :func:`held_by`'s text.
    """
    return f"modem {device} BUSY: {held}"


def locked_message(device: str, pid: int | None, error: str) -> str:
    """Return what a caller is told when a local program holds the UUCP lock.

    Args:
        device: the shared device.
        pid: the lock holder's pid, if the lock file names one.
        error: the lock error's text, said when no pid is known.
    """
    detail = f"BUSY (locked by pid {pid})" if pid else f"unavailable ({error})"
    return f"modem {device} {detail}"


def cant_open_message(device: str) -> str:
    """Return what a caller is told when the device would not open (details go to the log)."""
    return f"can't open modem {device}"


def listen_text(bound: Iterable[tuple[str, int]]) -> str:
    """Return the listening addresses for the ``Sharing ...`` log line.

    Args:
        bound: ``(host, port)`` pairs; IPv6 hosts are bracketed.

    Returns:
        e.g. ``127.0.0.1:2006, [::1]:2006``.
    """
    return ", ".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in bound)
