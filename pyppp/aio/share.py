"""``pyppp share``: one serial modem shared over TCP, one caller at a time.

The Linux Modem-sharing mini-HOWTO runs a "modem daemon" from inetd that joins a TCP
connection to ``cu -l /dev/ttyS1``, so ``telnet host modem`` reaches the modem's AT prompt; its
security section warns that anybody who can connect can dial long distance. This module is
that daemon done properly:

* **Modes.** ``--raw`` (default): bytes go straight to the modem; telnet option negotiation
  from a telnet client is answered (every option refused) and never reaches the modem, and once
  the client has shown it speaks telnet, ``IAC IAC`` stands for one 0xFF byte both ways (see
  :class:`pyppp.share.telnet.TelnetFilter`). ``--transparent``: 8-bit clean, no telnet at all (for
  ``socket://host:2006`` pyserial clients and PPP). ``--rfc2217``: RFC 2217 (Telnet Com Port
  Control) through pyserial's own ``serial.rfc2217.PortManager``, so a
  ``rfc2217://host:2006`` client sets speed, framing and control lines and sees the status
  lines.
* **Access control**, tcp-wrappers style (:class:`pyppp.share.access.AccessPolicy`): only loopback
  by default; ``--allow``/``--deny`` networks; optionally the ``hosts.allow``/``hosts.deny``
  rules for the service ``pyppp-share``. Refused connections are logged and closed at once.
* **One caller at a time.** A second caller gets one line naming who holds the modem since
  when. The UUCP lock (:class:`pyppp.aio.lockfile.UucpLock`) is taken for the length of a call,
  so pyppp, cu and minicom on the host see the modem busy, and a caller sees "BUSY (locked by
  pid N)" while a local program holds it. When a caller goes, DTR drops, the port closes and
  the lock goes.
* **Never stalls the modem.** The serial side is always read; what a slow client cannot take
  (beyond ``--max-backlog`` bytes queued) is dropped and counted, and a client that has taken
  nothing for ``--stall-timeout`` seconds is disconnected. Data towards the modem is
  flow-controlled by pausing the TCP reader instead (TCP pushes back on the client).
* ``--inetd``: the connection is on standard input (inetd ``nowait``, systemd ``Accept=yes``);
  one session, then exit. A listening socket passed by systemd (``LISTEN_FDS``) is used when
  present.

Log lines are plain, pppd-like sentences on standard error (and syslog with ``--syslog``, or
always under ``--inetd`` where standard error may be the caller's socket).

This module is the imperative shell: the server, the sessions, the serial port and the command
line. The decisions are sans-IO and tested on their own: the telnet filter in
:mod:`pyppp.share.telnet`, the access rules and hosts files in :mod:`pyppp.share.access`, the
configuration and the lines callers read in :mod:`pyppp.share.config`.
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
import termios
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

import serial
import serial.rfc2217
import serial.serialposix

from pyppp.aio.lockfile import UucpLock
from pyppp.errors import ConfigError
from pyppp.pppd.lock import DEFAULT_LOCK_DIR, LockError
from pyppp.share.access import (
    LOOPBACK,
    SERVICE_NAME,
    AccessPolicy,
    HostsRule,
    IPNetwork,
    parse_hosts_file,
    peer_of,
)
from pyppp.share.config import (
    DEFAULT_PORT,
    IDLE_LINE,
    Mode,
    ShareConfig,
    busy_message,
    caller_line,
    cant_open_message,
    config_from_args,
    held_by,
    listen_text,
    locked_message,
)
from pyppp.share.telnet import IAC, Filtered, TelnetFilter, double_iac

# The sans-IO parts live in pyppp.share.telnet, pyppp.share.access and pyppp.share.config; their
# names are re-exported here because `pyppp.aio.share` is where callers have always found them.
__all__ = [
    "LOOPBACK",
    "SERVICE_NAME",
    "AccessPolicy",
    "Filtered",
    "HostsRule",
    "Mode",
    "ShareConfig",
    "ShareServer",
    "TelnetFilter",
    "add_arguments",
    "config_from_args",
    "parse_hosts_file",
    "run",
]

_TICK_S: Final = 0.2
_READ_SIZE: Final = 4096
_POLL_S: Final = 0.01
_BREAK_S: Final = 0.25

_log = logging.getLogger("pyppp.share")


# == The serial side ===========================================================================


class _LenientPort:
    """The port as PortManager sees it: lines a pty lacks read as off, failed changes logged.

    PortManager polls CTS/DSR/RI/CD and sets DTR/RTS; on a pty (and some USB adapters) those
    ioctls fail with ENOTTY, which must not end the call.
    """

    _STATUS: Final = frozenset({"cts", "dsr", "ri", "cd"})

    def __init__(self, port: serial.SerialBase) -> None:
        object.__setattr__(self, "_port", port)

    def __getattr__(self, name: str) -> object:
        try:
            return getattr(self._port, name)
        except OSError:
            if name in self._STATUS:
                return False
            raise

    def __setattr__(self, name: str, value: object) -> None:
        port = self._port
        before = getattr(port, name, None)
        try:
            setattr(port, name, value)
        except (OSError, termios.error) as exc:
            # pyserial stores the new value before the ioctl fails; put the old one back so
            # that PortManager's reply tells the client what the port really does (a pty
            # refuses CS7 and parity, and has no DTR/RTS at all).
            _log.debug("can't set %s=%r on the port: %s", name, value, exc)
            with contextlib.suppress(OSError, termios.error, ValueError):
                setattr(port, name, before)


class _Port:
    """The modem, opened for one call: always read, written through a bounded buffer."""

    def __init__(
        self,
        config: ShareConfig,
        loop: asyncio.AbstractEventLoop,
        on_data: Callable[[bytes], None],
        on_lost: Callable[[str], None],
        on_drained: Callable[[], None],
    ) -> None:
        self.config = config
        self.loop = loop
        self.on_data = on_data
        self.on_lost = on_lost
        self.on_drained = on_drained
        self.serial: serial.SerialBase | None = None
        self.fd: int | None = None
        self.pending = bytearray()
        self._poll: asyncio.TimerHandle | None = None
        self._writer_armed = False

    def open(self) -> None:
        """Open the device (raises OSError/SerialException/ValueError on failure)."""
        kwargs: dict[str, object] = {
            "baudrate": self.config.speed,
            "rtscts": self.config.crtscts,
            "timeout": 0,
            "write_timeout": 0,
        }
        if "://" not in self.config.device:
            kwargs["exclusive"] = True  # flock(2): keeps other pyserial users off too
        port = serial.serial_for_url(self.config.device, do_not_open=True, **kwargs)
        if not isinstance(port, serial.serialposix.Serial):
            # loop://, socket://, rfc2217:// have no fd we may read raw, so they are polled;
            # their write() has no usable non-blocking mode (loop:// fails every write with a
            # zero timeout), so they write blocking: a URL port can stall the loop briefly.
            port.write_timeout = None
        port.open()
        self.serial = port
        if isinstance(port, serial.serialposix.Serial):
            self.fd = port.fileno()
            os.set_blocking(self.fd, False)
            self.loop.add_reader(self.fd, self._readable)
        else:
            self._poll = self.loop.call_later(_POLL_S, self._polled)

    def write(self, data: bytes) -> None:
        """Queue bytes for the modem and send what the line takes now."""
        self.pending += data
        self._flush()

    def send_break(self) -> None:
        """Hold a break for 0.25 s without blocking the loop (TIOCSBRK, then TIOCCBRK)."""
        port = _LenientPort(self.serial) if self.serial else None
        if port is not None:
            port.break_condition = True
            self.loop.call_later(_BREAK_S, self._end_break)

    def _end_break(self) -> None:
        if self.serial is not None and self.serial.is_open:
            _LenientPort(self.serial).break_condition = False

    def close(self) -> None:
        """Drop DTR (hang the modem up) and close the port. Idempotent."""
        if self._poll is not None:
            self._poll.cancel()
            self._poll = None
        if self.fd is not None:
            self.loop.remove_reader(self.fd)
            self.loop.remove_writer(self.fd)
            self.fd = None
        port, self.serial = self.serial, None
        if port is not None:
            _LenientPort(port).dtr = False
            with contextlib.suppress(OSError):
                port.close()

    def _flush(self) -> None:
        if not self.pending or self.serial is None:
            return
        try:
            if self.fd is not None:
                sent = os.write(self.fd, self.pending)
            else:
                sent = self.serial.write(bytes(self.pending)) or 0
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self.on_lost(f"modem write failed: {exc}")
            return
        del self.pending[:sent]
        if self.fd is not None:
            if self.pending and not self._writer_armed:
                self.loop.add_writer(self.fd, self._flush)
                self._writer_armed = True
            elif not self.pending and self._writer_armed:
                self.loop.remove_writer(self.fd)
                self._writer_armed = False
        if not self.pending:
            self.on_drained()

    def _readable(self) -> None:
        if self.fd is None:
            return
        try:
            data = os.read(self.fd, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            self.on_lost(f"modem hangup ({exc.strerror})")
            return
        if not data:
            self.on_lost("modem hangup")
            return
        self.on_data(data)

    def _polled(self) -> None:
        self._poll = None
        if self.serial is None:
            return
        try:
            data = self.serial.read(_READ_SIZE)
        except OSError as exc:
            self.on_lost(f"modem read failed: {exc}")
            return
        self._flush()
        if data:
            self.on_data(data)
        if self.serial is not None:
            self._poll = self.loop.call_later(_POLL_S, self._polled)


# == Sessions and the server ====================================================================


class _ClientProtocol(asyncio.Protocol):
    def __init__(self, server: ShareServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server._accept(self, transport)

    def data_received(self, data: bytes) -> None:
        if self.session is not None:
            self.session.from_client(data)

    def eof_received(self) -> bool | None:
        return None  # close our side too: a half-open modem call helps nobody

    def connection_lost(self, exc: Exception | None) -> None:
        if self.session is not None:
            self.session.end("client closed" if exc is None else f"client error: {exc}")
        self.server._forget(self)


class _ClientWriter:
    """PortManager's ``connection``: telnet control bytes are never dropped."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def write(self, data: bytes) -> None:
        self.session._client_write(data, droppable=False)


class Session:
    """One caller holding the modem: counts, timers, and the way the call ends.

    Attributes:
        peer: the caller, ``addr:port``.
        since: wall-clock start time (for the busy message).
        to_modem: bytes written towards the modem.
        from_modem: bytes read from the modem.
        dropped: modem bytes a slow client could not take.
        reason: why the session ended, once it has.
    """

    def __init__(
        self,
        server: ShareServer,
        transport: asyncio.Transport,
        peer: str,
        lock: UucpLock | None,
    ) -> None:
        self.server = server
        self.config = server.config
        self.transport = transport
        self.peer = peer
        self.lock = lock
        self.loop = asyncio.get_running_loop()
        self.since = time.time()
        self._started = time.monotonic()
        self._last_activity = self._started
        self._stalled_since: float | None = None
        self.to_modem = 0
        self.from_modem = 0
        self.dropped = 0
        self.reason: str | None = None
        self.telnet: TelnetFilter | None = TelnetFilter() if self.config.mode == "raw" else None
        self.manager: serial.rfc2217.PortManager | None = None
        self._reading_paused = False
        self.port = _Port(self.config, self.loop, self._from_modem, self.end, self._port_drained)
        self._tick: asyncio.TimerHandle | None = None

    def start(self) -> None:
        """Open the modem (the caller has the lock already) and begin the call.

        Raises:
            OSError: the device could not be opened (SerialException is one).
            ValueError: pyserial rejected the device name or a setting.
        """
        self.port.open()
        if self.config.mode == "rfc2217":
            rfc_logger = _log.getChild("rfc2217") if self.config.rfc2217_logging else None
            assert self.port.serial is not None
            self.manager = serial.rfc2217.PortManager(
                _LenientPort(self.port.serial), _ClientWriter(self), logger=rfc_logger
            )
        elif self.config.banner is not None:
            self._client_write(self.config.banner.encode() + b"\r\n", droppable=False)
        self._tick = self.loop.call_later(_TICK_S, self._on_tick)

    @property
    def since_text(self) -> str:
        """The start time as ``HH:MM:SS`` local time."""
        return time.strftime("%H:%M:%S", time.localtime(self.since))

    def from_client(self, data: bytes) -> None:
        """Bytes from the caller: telnet-filter them and queue them for the modem."""
        if self.reason is not None:
            return
        self._last_activity = time.monotonic()
        if self.manager is not None:
            data = self._rfc2217_filter(self.manager, data)
        elif self.telnet is not None:
            filtered = self.telnet.feed(data)
            if filtered.reply:
                self._client_write(filtered.reply, droppable=False)
            for _ in range(filtered.breaks):
                self.port.send_break()
            data = filtered.data
        if not data:
            return
        self.to_modem += len(data)
        self.port.write(data)
        if len(self.port.pending) > self.config.max_backlog and not self._reading_paused:
            # The modem is slower than the network: let TCP push back on the caller.
            self._reading_paused = True
            self.transport.pause_reading()

    def _rfc2217_filter(self, manager: serial.rfc2217.PortManager, data: bytes) -> bytes:
        if (
            IAC not in data
            and manager.mode == serial.rfc2217.M_NORMAL
            and manager.suboption is None
        ):
            return data  # what PortManager.filter() would yield, without a generator per byte
        # PortManager lets struct.error out of a short subnegotiation; a client's garbage must
        # not end the call, so feed it one byte at a time and drop only the bad request.
        out = bytearray()
        for i in range(len(data)):
            try:
                out += b"".join(manager.filter(data[i : i + 1]))
            except Exception as exc:
                _log.debug("bad RFC 2217 request from %s dropped: %r", self.peer, exc)
                manager.mode = serial.rfc2217.M_NORMAL
                manager.suboption = None
        return bytes(out)

    def _port_drained(self) -> None:
        if self._reading_paused and self.reason is None:
            self._reading_paused = False
            self.transport.resume_reading()

    def _from_modem(self, data: bytes) -> None:
        self.from_modem += len(data)
        self._last_activity = time.monotonic()
        if self.manager is not None:
            data = double_iac(data)
        elif self.telnet is not None:
            data = self.telnet.escape(data)
        self._client_write(data, droppable=True)

    def _client_write(self, data: bytes, *, droppable: bool) -> None:
        if self.transport.is_closing():
            return
        queued = self.transport.get_write_buffer_size()
        if droppable and queued + len(data) > self.config.max_backlog:
            # Never stall the modem for a slow caller: drop, count, and remember since when.
            self.dropped += len(data)
            if self._stalled_since is None:
                self._stalled_since = time.monotonic()
                _log.warning("%s is not reading; dropping modem data", self.peer)
            return
        if not droppable and queued > 2 * self.config.max_backlog:
            self.end("client not reading")
            return
        if queued == 0:
            self._stalled_since = None
        self.transport.write(data)

    def _on_tick(self) -> None:
        self._tick = None
        if self.reason is not None:
            return
        now = time.monotonic()
        if self._stalled_since is not None and self.transport.get_write_buffer_size() == 0:
            self._stalled_since = None
        if (
            self._stalled_since is not None
            and now - self._stalled_since >= self.config.stall_timeout
        ):
            self.end("client stalled")
            return
        if self.config.idle is not None and now - self._last_activity >= self.config.idle:
            if self.config.mode != "rfc2217":
                self._client_write(IDLE_LINE, droppable=False)
            self.end("idle timeout")
            return
        if self.manager is not None:
            try:
                self.manager.check_modem_lines()
            except OSError as exc:
                _log.debug("modem line poll failed: %s", exc)
        self._tick = self.loop.call_later(_TICK_S, self._on_tick)

    def end(self, reason: str) -> None:
        """Hang up: drop DTR, close the port, release the lock, close the connection, log."""
        if self.reason is not None:
            return
        self.reason = reason
        if self._tick is not None:
            self._tick.cancel()
        self.port.close()
        if self.lock is not None:
            self.lock.release()
        if reason in ("client stalled", "client not reading"):
            self.transport.abort()  # close() would wait for a flush that never comes
        else:
            self.transport.close()
        duration = time.monotonic() - self._started
        _log.info(
            "Disconnect %s (%s): connect time %.1f s, %d bytes to modem, %d bytes from modem, "
            "%d dropped",
            self.peer,
            reason,
            duration,
            self.to_modem,
            self.from_modem,
            self.dropped,
        )
        self.server._session_ended(self)


class ShareServer:
    """The modem server: accepts callers, applies the policy, runs one :class:`Session`.

    Args:
        config: the configuration.

    Attributes:
        session: the current call, if any.
        sessions: how many calls were accepted.
        refused: how many connections the policy refused.
        busy: how many callers found the modem busy.
        last_session: the last call that ended (tests read its counters).
    """

    def __init__(self, config: ShareConfig) -> None:
        self.config = config
        self.session: Session | None = None
        self.last_session: Session | None = None
        self.sessions = 0
        self.refused = 0
        self.busy = 0
        self._servers: list[asyncio.Server] = []
        self._protocols: set[_ClientProtocol] = set()
        self._idle: asyncio.Event | None = None

    async def start(self, sock: socket.socket | None = None) -> list[tuple[str, int]]:
        """Listen (on ``sock`` if given, e.g. from systemd) and return the bound addresses.

        Raises:
            OSError: the port could not be bound.
        """
        loop = asyncio.get_running_loop()
        if sock is not None:
            self._servers.append(await loop.create_server(self._protocol, sock=sock))
        else:
            loopback_only = self.config.policy(Path.read_bytes).loopback_only
            hosts: Sequence[str | None] = self.config.bind or (
                ("127.0.0.1", "::1") if loopback_only else (None,)
            )
            errors: list[OSError] = []
            for host in hosts:
                try:
                    server = await loop.create_server(
                        self._protocol, host, self.config.port, reuse_address=True
                    )
                except OSError as exc:
                    errors.append(exc)
                    continue
                self._servers.append(server)
            if not self._servers:
                raise errors[0]
        bound = [
            (str(s.getsockname()[0]), int(s.getsockname()[1]))
            for server in self._servers
            for s in server.sockets
        ]
        return bound

    async def serve_connection(self, sock: socket.socket) -> None:
        """Serve one already-accepted connection (inetd mode) and return when it is over."""
        loop = asyncio.get_running_loop()
        self._idle = asyncio.Event()
        await loop.connect_accepted_socket(self._protocol, sock)
        await self._idle.wait()

    async def close(self) -> None:
        """Stop listening and hang up the current call."""
        for server in self._servers:
            server.close()
        if self.session is not None:
            self.session.end("shutdown")
        for protocol in list(self._protocols):
            if protocol.transport is not None:
                protocol.transport.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    def _protocol(self) -> _ClientProtocol:
        return _ClientProtocol(self)

    def _forget(self, protocol: _ClientProtocol) -> None:
        self._protocols.discard(protocol)
        if self._idle is not None and not self._protocols and self.session is None:
            self._idle.set()

    def _refuse(self, transport: asyncio.Transport, message: str | None) -> None:
        if message is not None:
            transport.write(caller_line(message))
        transport.close()

    def _accept(self, protocol: _ClientProtocol, transport: asyncio.Transport) -> None:
        self._protocols.add(protocol)
        address, peer = peer_of(transport.get_extra_info("peername"))
        granted, why = self.config.policy(Path.read_bytes).check(address)
        if not granted:
            self.refused += 1
            _log.warning("Refused connect from %s (%s)", peer, why)
            self._refuse(transport, None)
            return
        device = self.config.device
        if self.session is not None:
            self.busy += 1
            held = held_by(self.session.peer, self.session.since_text)
            _log.info("Modem busy: refused %s (%s)", peer, held)
            self._refuse(transport, busy_message(device, held))
            return
        _tune_socket(transport, self.config.max_backlog)
        lock = None
        if self.config.lock:
            lock = UucpLock(device, lock_dir=self.config.lock_dir, logger=_log)
            try:
                lock.acquire()
            except LockError as exc:
                self.busy += 1
                _log.info("Modem busy: refused %s (%s)", peer, exc)
                self._refuse(transport, locked_message(device, exc.pid, str(exc)))
                return
        session = Session(self, transport, peer, lock)
        try:
            session.start()
        except (OSError, ValueError) as exc:
            session.port.close()
            if lock is not None:
                lock.release()
            _log.error("Can't open %s for %s: %s", device, peer, exc)
            self._refuse(transport, cant_open_message(device))
            return
        self.session = session
        self.sessions += 1
        protocol.session = session
        _log.info("Connect from %s to %s (%s)", peer, device, self.config.mode)

    def _session_ended(self, session: Session) -> None:
        if self.session is session:
            self.session = None
        self.last_session = session


def _tune_socket(transport: asyncio.Transport, backlog: int) -> None:
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # keystrokes, AT replies
        # A small kernel send buffer keeps "bounded memory" true below our own backlog too.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, backlog)


# == Command line ==============================================================================


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
