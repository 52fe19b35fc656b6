"""The one driver of the sans-IO pre-PPP engines: chat(8) scripts and the Windows handshake.

:class:`PreludeDriver` runs any of :class:`pyppp.pppd.chat.engine.ChatEngine`,
:class:`pyppp.pppd.windows.DccServer` and :class:`pyppp.pppd.windows.DccClient` on a
:class:`PrePppPort`: pppd's ``connect`` on the link's own line
(:class:`pyppp.aio.prelude.LinePort`), ``pyppp chat`` on standard input and output
(:class:`FdPort`). It reads the line only while the engine wants bytes and stops reading the
moment the engine is done, so what follows stays in the tty (or the line's buffer) for PPP.
:func:`read_file` is the file reader the shell gives chat's script compiler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import termios
from collections.abc import Callable
from typing import Protocol

from pyppp.pppd.chat.engine import Break, ChatAction, Echo, Report, Say

__all__ = [
    "DataCallback",
    "FdPort",
    "PrePppEngine",
    "PrePppPort",
    "PreludeDriver",
    "ReasonCallback",
    "drive",
    "perform_action",
    "read_file",
    "tcsendbreak",
]

_chat_log = logging.getLogger("pyppp.chat")


def read_file(path: bytes, limit: int) -> bytes:
    """Read at most ``limit`` bytes of a file: the reader the shell gives the chat compiler.

    Args:
        path: the file's name (bytes, as chat has it).
        limit: the most bytes wanted (the caller asks one more to see a file that is too big).

    Raises:
        OSError: the file cannot be opened or read.
    """
    with open(path, "rb") as stream:
        return stream.read(limit)


# ---------------------------------------------------------------- the one pre-PPP driver


class PrePppEngine(Protocol):
    """What :class:`PreludeDriver` needs from an engine (chat or a Windows handshake)."""

    exit_status: int | None

    @property
    def done(self) -> bool:
        """True once the engine has finished (see ``exit_status``)."""

    @property
    def reading(self) -> bool:
        """True while the engine wants bytes from the line."""

    @property
    def leftover(self) -> bytes:
        """Bytes received and not used (PPP's first bytes)."""

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes read from the line."""

    def data_to_send(self) -> bytes:
        """Bytes to write to the line."""

    def next_action(self) -> ChatAction | None:
        """The next side effect (Break, Say, Echo, Report, Hangup) or None."""

    def get_timer(self) -> float | None:
        """The next deadline on the loop's clock."""

    def handle_timer(self, now: float) -> None:
        """Called once the deadline has passed."""

    def connection_lost(self, reason: str = ..., *, now: float) -> None:
        """The line hung up or reached end-of-file."""

    def terminate(self, reason: str, exit_status: int = ...) -> None:
        """Stop at once with ``reason`` and ``exit_status``."""


DataCallback = Callable[[bytes], None]
ReasonCallback = Callable[[str], None]


class PrePppPort(Protocol):
    """The line as :class:`PreludeDriver` uses it: reads switched on and off, ordered writes."""

    def bind(
        self, on_data: DataCallback, on_lost: ReasonCallback, on_error: ReasonCallback
    ) -> None:
        """Set the callbacks: bytes read, the line hung up (``reason``), a fatal write error."""

    def resume(self) -> None:
        """Deliver what the line reads to ``on_data`` (until :meth:`pause`)."""

    def pause(self) -> None:
        """Stop delivering at once; later bytes wait (in the tty or the line) for PPP."""

    def write(self, data: bytes) -> None:
        """Queue bytes for the line, in order, without blocking."""

    async def drain(self) -> None:
        """Wait until what this port must still write itself is written."""

    async def send_break(self) -> None:
        """Send a BREAK after the bytes written so far."""


Perform = Callable[[ChatAction], None]


def perform_action(action: ChatAction) -> None:
    """What pppd's ``connect`` does with chat's side effects (BREAK is the driver's).

    SAY and ECHO text go to standard error, as chat's do; a REPORT line goes to the log.
    """
    if isinstance(action, Say):
        sys.stderr.buffer.write(action.data)
        sys.stderr.flush()
    elif isinstance(action, Echo):
        sys.stderr.write(action.text)
        sys.stderr.flush()
    elif isinstance(action, Report):
        _chat_log.info("%s", action.text)


class PreludeDriver:
    """Run one sans-IO pre-PPP engine on a port until it is done.

    Every callback (bytes read, hang-up, timer) feeds the engine at once and then *pumps*:
    write what the engine queued, perform its actions (a BREAK waits for the bytes before it
    and holds back everything after it), re-arm the one timer, and read the line only while
    the engine is reading. Bytes that came while it was not reading are held and given to it
    when it reads again, or returned as leftover.

    Args:
        engine: the engine, already started.
        port: the line.
        initial: bytes already read from the line (a previous engine's leftover).
        perform: what to do with SAY, ECHO and REPORT (default :func:`perform_action`).
    """

    def __init__(
        self,
        engine: PrePppEngine,
        port: PrePppPort,
        initial: bytes = b"",
        *,
        perform: Perform = perform_action,
    ) -> None:
        self.engine = engine
        self.port = port
        self._perform = perform
        self._held = bytearray(initial)
        self._reading = False
        self._lost = False
        self._breaking: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._finished: asyncio.Event | None = None
        self._pumping = False
        self._again = False

    async def run(self) -> tuple[int, bytes]:
        """Drive the engine to its end.

        Returns:
            (the engine's exit status, the bytes read and not used by it).
        """
        self._finished = asyncio.Event()
        self.port.bind(self._on_data, self._on_lost, self._on_error)
        self.poke()
        try:
            await self._finished.wait()
            await self.port.drain()
        finally:
            # Also when cancelled (a signal during the script): no timer may fire on a dead
            # engine, and no read may take bytes meant for PPP.
            if self._timer is not None:
                self._timer.cancel()
            if self._breaking is not None:
                self._breaking.cancel()
            if self._reading:
                self.port.pause()
                self._reading = False
        status = self.engine.exit_status
        return (2 if status is None else status), self.engine.leftover + bytes(self._held)

    def poke(self) -> None:
        """Pump now: call after changing the engine from outside (``terminate`` on a signal)."""
        if self._pumping:  # a callback from inside the pump (a write error): go round again
            self._again = True
            return
        self._pumping = True
        try:
            self._again = True
            while self._again:
                self._again = False
                self._pump()
        finally:
            self._pumping = False

    def _pump(self) -> None:
        if self._breaking is not None or self._finished is None or self._finished.is_set():
            return
        engine = self.engine
        loop = asyncio.get_running_loop()
        while True:
            if self._held and engine.reading and not engine.done:
                data = bytes(self._held)
                self._held.clear()
                engine.receive_data(data, loop.time())
            out = engine.data_to_send()
            if out:
                self.port.write(out)
            while (action := engine.next_action()) is not None:
                if isinstance(action, Break):
                    # Nothing moves until the BREAK is sent: the engine resumes through its
                    # timer, re-armed when the BREAK is done.
                    if self._timer is not None:
                        self._timer.cancel()
                        self._timer = None
                    self._breaking = loop.create_task(self._send_break())
                    return
                self._perform(action)
            if (
                not engine.done
                and engine.get_timer() is None
                and (self._lost or not engine.reading)
            ):
                engine.terminate("no input and no timeout: giving up", 3)
                continue
            break
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = engine.get_timer()
        if deadline is not None:
            self._timer = loop.call_at(deadline, self._on_timer)
        # Read only while the engine reads; in particular stop the moment it is done: what the
        # peer sends next (the rest of its first frame) must wait in the tty, or in the line's
        # buffer, for the link's start(), not land here after `leftover` is taken (6b).
        want = engine.reading and not engine.done and not self._lost
        if want != self._reading:
            self._reading = want
            if want:
                self.port.resume()
            else:
                self.port.pause()
        if engine.done:
            self._finished.set()

    async def _send_break(self) -> None:
        try:
            await self.port.send_break()
        finally:
            self._breaking = None
        self.poke()

    def _on_timer(self) -> None:
        self._timer = None
        self.engine.handle_timer(asyncio.get_running_loop().time())
        self.poke()

    def _on_data(self, data: bytes) -> None:
        self._held += data
        self.poke()

    def _on_lost(self, reason: str) -> None:
        self._lost = True
        self._reading = False  # the port has stopped reading
        self.engine.connection_lost(reason, now=asyncio.get_running_loop().time())
        self.poke()

    def _on_error(self, reason: str) -> None:
        self.engine.terminate(reason, 2)
        self.poke()


async def drive(
    engine: PrePppEngine,
    port: PrePppPort,
    initial: bytes = b"",
    *,
    perform: Perform = perform_action,
) -> tuple[int, bytes]:
    """Run a sans-IO pre-PPP engine on a port (see :class:`PreludeDriver`).

    Returns:
        (the engine's exit status, the bytes read and not used by it).
    """
    return await PreludeDriver(engine, port, initial, perform=perform).run()


class FdPort:
    """A :class:`PrePppPort` on file descriptors: ``pyppp chat``'s standard input and output.

    Reads happen only while resumed, ``read_size`` bytes at a time (1 reproduces chat, which
    leaves every byte after its last match in the tty); a regular file (which epoll refuses)
    is read on every loop turn. End of file, or EIO from a pty whose other side closed, is a
    hang-up reported as ``SIGHUP``, as chat sees carrier loss; a failed write ends the engine
    (`` -- write failed: ...``). :meth:`close` restores the descriptors' blocking modes.

    Args:
        read_fd: the descriptor to read.
        write_fd: the descriptor to write (default: ``read_fd``).
        read_size: the most bytes taken per read.
    """

    def __init__(self, read_fd: int, write_fd: int | None = None, *, read_size: int = 4096) -> None:
        self.read_fd = read_fd
        self.write_fd = read_fd if write_fd is None else write_fd
        self.read_size = read_size
        self._saved = {fd: os.get_blocking(fd) for fd in {self.read_fd, self.write_fd}}
        for fd in self._saved:
            os.set_blocking(fd, False)
        self._on_data: DataCallback = lambda data: None
        self._on_lost: ReasonCallback = lambda reason: None
        self._on_error: ReasonCallback = lambda reason: None
        self._pending = bytearray()
        self._writing = False
        self._drained: list[asyncio.Future[None]] = []
        self._reader = False  # watched with add_reader
        self._poll: asyncio.Handle | None = None  # a regular file: read on every loop turn
        self._eof = False

    def bind(
        self, on_data: DataCallback, on_lost: ReasonCallback, on_error: ReasonCallback
    ) -> None:
        """Set the callbacks."""
        self._on_data, self._on_lost, self._on_error = on_data, on_lost, on_error

    def resume(self) -> None:
        """Read (again) while the engine wants bytes."""
        if self._eof or self._reader or self._poll is not None:
            return
        loop = asyncio.get_running_loop()
        try:
            loop.add_reader(self.read_fd, self._readable)
            self._reader = True
        except PermissionError:  # a regular file: epoll refuses it, and it is always readable
            self._poll = loop.call_soon(self._readable)

    def pause(self) -> None:
        """Stop reading at once."""
        if self._reader:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self.read_fd)
            self._reader = False
        if self._poll is not None:
            self._poll.cancel()
            self._poll = None

    def _readable(self) -> None:
        polling = self._poll is not None
        self._poll = None
        try:
            data = os.read(self.read_fd, self.read_size)
        except BlockingIOError:
            data = None
        except OSError:  # EIO: the other side of a pty closed, i.e. carrier lost
            data = b""
        if data == b"":
            self._eof = True
            self.pause()
            self._on_lost("SIGHUP")
            return
        if polling:
            self._poll = asyncio.get_running_loop().call_soon(self._readable)
        if data:
            self._on_data(data)

    def write(self, data: bytes) -> None:
        """Write now as far as the descriptor takes it; the rest when it is writable."""
        self._pending += data
        if self._pending and not self._writing:
            self._flush()

    def _flush(self) -> None:
        """Write what is queued; wait for writability while some is left."""
        try:
            del self._pending[: os.write(self.write_fd, self._pending)]
        except BlockingIOError:
            pass
        except OSError as exc:
            self._failed(exc)
            return
        if not self._pending:
            self._stop_writing()
        elif not self._writing:
            asyncio.get_running_loop().add_writer(self.write_fd, self._flush)
            self._writing = True

    def _failed(self, exc: OSError) -> None:
        self._pending.clear()
        self._stop_writing()
        self._on_error(f" -- write failed: {exc.strerror or exc}")

    def _stop_writing(self) -> None:
        if self._writing:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_writer(self.write_fd)
            self._writing = False
        for waiter in self._drained:
            if not waiter.done():
                waiter.set_result(None)
        self._drained.clear()

    async def drain(self) -> None:
        """Wait until everything queued is written (or the write failed)."""
        if not self._pending:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._drained.append(waiter)
        await waiter

    async def send_break(self) -> None:
        """``tcsendbreak`` after the queued bytes, if the output is a tty."""
        await self.drain()
        if os.isatty(self.write_fd):
            await tcsendbreak(self.write_fd)

    def close(self) -> None:
        """Stop reading and writing; give the descriptors back their blocking modes."""
        self.pause()
        self._pending.clear()
        self._stop_writing()
        for fd, blocking in self._saved.items():
            with contextlib.suppress(OSError):
                os.set_blocking(fd, blocking)


async def tcsendbreak(fd: int) -> None:
    """A BREAK (0.25 to 0.5 s of zeros) off the loop's thread; errors are not fatal."""
    with contextlib.suppress(termios.error, OSError):
        await asyncio.get_running_loop().run_in_executor(None, termios.tcsendbreak, fd, 0)
