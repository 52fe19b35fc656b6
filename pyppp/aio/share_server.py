"""``pyppp share``'s server: callers over TCP, one at a time, each call run by its session.

The Linux Modem-sharing mini-HOWTO runs a "modem daemon" from inetd that joins a TCP
connection to ``cu -l /dev/ttyS1``, so ``telnet host modem`` reaches the modem's AT prompt; its
security section warns that anybody who can connect can dial long distance. This is that
daemon done properly:

* **Access control**, tcp-wrappers style (:class:`pyppp.share.access.AccessPolicy`): only loopback
  by default; ``--allow``/``--deny`` networks; optionally the ``hosts.allow``/``hosts.deny``
  rules for the service ``pyppp-share``, read for every connection (tcpd's way) in a worker
  thread, so a slow disk never holds up the call in progress. Refused connections are logged
  and closed at once.
* **One caller at a time.** A second caller gets one line naming who holds the modem since
  when (``BUSY``, so a stock ``ABORT BUSY`` chat script stops). The UUCP lock
  (:class:`pyppp.aio.lockfile.UucpLock`) is taken for the length of a call, so pyppp, cu and
  minicom on the host see the modem busy, and a caller sees "BUSY (locked by pid N)" while a
  local program holds it. When a caller goes, DTR drops, the port closes and the lock goes.
* **Each call** is a :class:`Call`: the shell around a sans-IO
  :class:`pyppp.share.session.Session`, which decides (modes, telnet, bounded buffers, idle and
  stall timeouts, the log line); the call moves the bytes between the TCP connection and the
  :class:`pyppp.aio.share_port.SharePort` and arms one timer at the session's deadline.

The command line is :mod:`pyppp.cli.share`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Sequence
from pathlib import Path

from pyppp.aio.lockfile import UucpLock
from pyppp.aio.share_port import Rfc2217Filter, SharePort
from pyppp.pppd.lock import LockError
from pyppp.share.access import AccessPolicy, ReadFile, peer_of
from pyppp.share.config import (
    ShareConfig,
    busy_message,
    caller_line,
    cant_open_message,
    held_by,
    locked_message,
)
from pyppp.share.session import (
    Effect,
    End,
    EndReason,
    PauseClient,
    PollLines,
    ResumeClient,
    SendBreak,
    Session,
    ToClient,
    ToModem,
)

__all__ = ["Call", "ShareServer"]

_log = logging.getLogger("pyppp.share")


class _ClientProtocol(asyncio.Protocol):
    def __init__(self, server: ShareServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.call: Call | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server._accept(self, transport)

    def data_received(self, data: bytes) -> None:
        if self.call is not None:
            self.call.client_data(data)

    def eof_received(self) -> bool | None:
        return None  # close our side too: a half-open modem call helps nobody

    def connection_lost(self, exc: Exception | None) -> None:
        if self.call is not None:
            self.call.client_lost(exc)
        self.server._forget(self)


class Call:
    """One caller holding the modem: a :class:`Session` and the I/O it asks for.

    Args:
        server: the server (told when the call ends).
        transport: the caller's connection.
        peer: the caller, ``addr:port``.
        lock: the UUCP lock held for the call, if any.

    Attributes:
        peer: the caller.
        since: wall-clock start time (for the busy message).
        transport: the caller's connection.
        port: the modem.
        session: the call's policy.
    """

    def __init__(
        self, server: ShareServer, transport: asyncio.Transport, peer: str, lock: UucpLock | None
    ) -> None:
        self.server = server
        self.config = server.config
        self.transport = transport
        self.peer = peer
        self.lock = lock
        self.loop = asyncio.get_running_loop()
        self.since = time.time()
        self.port = SharePort(
            self.config, self.loop, self._modem_data, self._modem_lost, self._modem_drained
        )
        self.rfc2217: Rfc2217Filter | None = None
        if self.config.mode == "rfc2217":
            logger = _log.getChild("rfc2217") if self.config.rfc2217_logging else None
            self.rfc2217 = Rfc2217Filter(peer, logger)
        self.session = Session(self.config, peer, self.rfc2217)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._closed = False

    def open(self) -> None:
        """Open the modem (the caller has the lock already).

        Raises:
            OSError: the device could not be opened (SerialException is one).
            ValueError: pyserial rejected the device name or a setting.
        """
        self.port.open()
        if self.rfc2217 is not None:
            assert self.port.serial is not None
            self.rfc2217.attach(self.port.serial)

    def begin(self) -> None:
        """Start the session: banner or RFC 2217 negotiation, the first deadline."""
        now = self.loop.time()
        self._apply(self.session.start(now), now)
        if self.rfc2217 is not None:
            self._apply(self.session.client_control(self.rfc2217.take_output(), now), now)

    @property
    def since_text(self) -> str:
        """The start time as ``HH:MM:SS`` local time."""
        return time.strftime("%H:%M:%S", time.localtime(self.since))

    @property
    def to_modem(self) -> int:
        """Bytes written towards the modem."""
        return self.session.to_modem

    @property
    def from_modem(self) -> int:
        """Bytes read from the modem."""
        return self.session.from_modem

    @property
    def dropped(self) -> int:
        """Modem bytes a slow caller could not take."""
        return self.session.dropped

    @property
    def reason(self) -> str | None:
        """Why the call ended (the log line's words), once it has."""
        return self.session.ending.text if self.session.ending is not None else None

    # -- events from the connection, the port and the timer -----------------------------------

    def client_data(self, data: bytes) -> None:
        """Bytes from the caller."""
        now = self._report_client()
        self._apply(self.session.client_data(data, now), now)

    def client_lost(self, exc: Exception | None) -> None:
        """The caller's connection is gone."""
        if exc is None:
            self.hang_up(EndReason.CLIENT_CLOSED)
        else:
            self.hang_up(EndReason.CLIENT_ERROR, str(exc))

    def hang_up(self, reason: EndReason, detail: str = "") -> None:
        """End the call now (idempotent)."""
        now = self.loop.time()
        self._apply(self.session.end(reason, detail=detail, now=now), now)

    def _modem_data(self, data: bytes) -> None:
        now = self._report_client()
        self._apply(self.session.modem_data(data, now), now)

    def _modem_lost(self, reason: EndReason, detail: str) -> None:
        self.hang_up(reason, detail)

    def _modem_drained(self) -> None:
        now = self.loop.time()
        self._apply(self.session.modem_backlog(len(self.port.pending), now), now)

    def _on_timer(self) -> None:
        self._timer = None
        now = self._report_client()
        self._apply(self.session.handle_timer(now), now)

    def _report_client(self) -> float:
        # What waits in the caller's send buffer is a fact only the transport knows; the session
        # hears it before each input, so its drop and stall decisions see the buffer as it is.
        now = self.loop.time()
        if not self._closed:
            size = self.transport.get_write_buffer_size()
            self._apply(self.session.client_backlog(size, now), now)
        return now

    # -- carrying out the session's effects ---------------------------------------------------

    def _apply(self, effects: list[Effect], now: float) -> None:
        wrote_modem = False
        for effect in effects:
            if self._closed:
                return
            if isinstance(effect, ToClient):
                if not self.transport.is_closing():
                    self.transport.write(effect.data)
            elif isinstance(effect, ToModem):
                self.port.write(effect.data)
                wrote_modem = True
            elif isinstance(effect, SendBreak):
                self.port.send_break()
            elif isinstance(effect, PauseClient):
                self.transport.pause_reading()
            elif isinstance(effect, ResumeClient):
                self.transport.resume_reading()
            elif isinstance(effect, PollLines):
                if self.rfc2217 is not None:
                    self._apply(self.session.client_control(self.rfc2217.poll(), now), now)
            elif isinstance(effect, End):
                self._close(effect)
        if self._closed:
            return
        if wrote_modem:
            self._apply(self.session.modem_backlog(len(self.port.pending), now), now)
        self._arm()

    def _arm(self) -> None:
        deadline = self.session.get_timer()
        if deadline is None:
            return
        if self._timer is not None:
            if self._timer_at <= deadline:
                return  # it fires first; handle_timer() then re-arms at the real deadline
            self._timer.cancel()
        self._timer = self.loop.call_at(deadline, self._on_timer)
        self._timer_at = deadline

    def _close(self, end: End) -> None:
        # Hang up: drop DTR, close the port, release the lock, close the connection, log.
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.port.close()
        if self.lock is not None:
            self.lock.release()
        if end.abort:
            self.transport.abort()  # close() would wait for a flush that never comes
        else:
            self.transport.close()
        _log.info("%s", self.session.disconnect_line())
        self.server._call_ended(self)


class ShareServer:
    """The modem server: accepts callers, applies the policy, runs one :class:`Call`.

    Args:
        config: the configuration.
        read_file: what reads the hosts files (in a worker thread, for each connection).

    Attributes:
        call: the current call, if any.
        calls: how many calls were accepted.
        refused: how many connections the policy refused.
        busy: how many callers found the modem busy.
        last_call: the last call that ended (tests read its counters).
    """

    def __init__(self, config: ShareConfig, read_file: ReadFile = Path.read_bytes) -> None:
        self.config = config
        self.read_file = read_file
        self.call: Call | None = None
        self.last_call: Call | None = None
        self.calls = 0
        self.refused = 0
        self.busy = 0
        self._servers: list[asyncio.Server] = []
        self._protocols: set[_ClientProtocol] = set()
        self._admitting: set[asyncio.Task[None]] = set()
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
            loopback_only = (await self._policy()).loopback_only
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
        for task in list(self._admitting):
            task.cancel()
        if self.call is not None:
            self.call.hang_up(EndReason.SHUTDOWN)
        for protocol in list(self._protocols):
            if protocol.transport is not None:
                protocol.transport.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    async def _policy(self) -> AccessPolicy:
        # tcpd reads hosts.allow/hosts.deny for every connection; a thread keeps the reading
        # off the loop, where the call in progress is moving bytes.
        if not self.config.reads_files:
            return self.config.policy(self.read_file)  # reads nothing
        return await asyncio.to_thread(self.config.policy, self.read_file)

    def _protocol(self) -> _ClientProtocol:
        return _ClientProtocol(self)

    def _forget(self, protocol: _ClientProtocol) -> None:
        self._protocols.discard(protocol)
        if self._idle is not None and not self._protocols and self.call is None:
            self._idle.set()

    def _refuse(self, transport: asyncio.Transport, message: str | None) -> None:
        if message is not None:
            transport.write(caller_line(message))
        transport.close()

    def _accept(self, protocol: _ClientProtocol, transport: asyncio.Transport) -> None:
        self._protocols.add(protocol)
        if not self.config.reads_files:
            self._admit(protocol, transport, self.config.policy(self.read_file))  # reads nothing
            return
        transport.pause_reading()  # nothing is lost while the hosts files are read
        task = asyncio.get_running_loop().create_task(self._admit_later(protocol, transport))
        self._admitting.add(task)
        task.add_done_callback(self._admitting.discard)

    async def _admit_later(self, protocol: _ClientProtocol, transport: asyncio.Transport) -> None:
        policy = await self._policy()
        if transport.is_closing():
            return  # the caller left while the files were read
        self._admit(protocol, transport, policy)
        if not transport.is_closing():
            transport.resume_reading()

    def _admit(
        self, protocol: _ClientProtocol, transport: asyncio.Transport, policy: AccessPolicy
    ) -> None:
        address, peer = peer_of(transport.get_extra_info("peername"))
        granted, why = policy.check(address)
        if not granted:
            self.refused += 1
            _log.warning("Refused connect from %s (%s)", peer, why)
            self._refuse(transport, None)
            return
        device = self.config.device
        if self.call is not None:
            self.busy += 1
            held = held_by(self.call.peer, self.call.since_text)
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
        call = Call(self, transport, peer, lock)
        try:
            call.open()
        except (OSError, ValueError) as exc:
            call.port.close()
            if lock is not None:
                lock.release()
            _log.error("Can't open %s for %s: %s", device, peer, exc)
            self._refuse(transport, cant_open_message(device))
            return
        self.call = call
        self.calls += 1
        protocol.call = call
        _log.info("Connect from %s to %s (%s)", peer, device, self.config.mode)
        call.begin()

    def _call_ended(self, call: Call) -> None:
        if self.call is call:
            self.call = None
        self.last_call = call


def _tune_socket(transport: asyncio.Transport, backlog: int) -> None:
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # keystrokes, AT replies
        # A small kernel send buffer keeps "bounded memory" true below our own backlog too.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, backlog)
