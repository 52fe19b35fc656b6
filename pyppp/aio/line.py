"""The serial side: a tty/pty through pyserial, any pyserial URL, or an asyncio stream.

Every line offers the same small interface to the driver (:class:`Line`): ``start(on_data,
on_lost)``, ``write(data)``, ``write_buffer_size``, ``close()``. A device path is opened with
pyserial and watched with ``loop.add_reader`` on its file descriptor (no threads on the data
path), and so is a ``socket://host:port`` URL (its TCP socket is a descriptor too); a URL such
as ``rfc2217://host:2006`` has no descriptor, so a reader thread feeds the loop.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import logging
import os
import socket
import termios
import threading
from collections.abc import Callable
from typing import BinaryIO, Protocol

import serial
import serial.urlhandler.protocol_socket

from pyppp.aio.timers import Alarm, TimerService
from pyppp.capture import LineMasker
from pyppp.errors import ExitStatus, PyPPPError
from pyppp.pppd.record import RecordEncoder

__all__ = [
    "FdLine",
    "Line",
    "LineOpenError",
    "StreamLine",
    "ThreadLine",
    "open_line",
    "open_line_async",
]

DataCallback = Callable[[bytes], None]
LostCallback = Callable[[str], None]
_READ_SIZE = 65536
# Coalescing slow lines' reads (FdLine.start): below this a read is a slow line's.
_COALESCE_BELOW = 512
# Character times to wait after the n-th read in a row that ended inside a long frame (the
# last one for every later read): bulk data is read in ever larger pieces, at most 256
# characters (22 ms at 115200 baud) late.
_WAITS = (64, 128, 256)
# A frame is long once this many of its octets have arrived: until then every read is handed
# on at once, so a short frame (an ACK, a 1-byte echo, any control packet) waits for nothing.
_SHORT_FRAME = 96
# A frame whose header says at least this many octets are still to come is long from its
# first read (FdLine._coalesce): waiting for its end costs it nothing, a tick at most.
_LONG_REST = 128
# Seconds over which a line's rate is measured against its speed (FdLine._outran).
_RATE_WINDOW = 0.5


class LineOpenError(PyPPPError):
    """The serial device could not be opened (pppd exit status 7)."""

    exit_status = ExitStatus.OPEN_FAILED


class Line(Protocol):
    """What the driver needs from the serial side."""

    name: str

    def start(self, on_data: DataCallback, on_lost: LostCallback) -> None:
        """Begin delivering bytes; ``on_lost`` is called once if the line goes away.

        Calling it again replaces the callbacks (the connect script hands the line to PPP).
        """

    def write(self, data: bytes) -> None:
        """Queue bytes for the line (never blocks)."""

    @property
    def write_buffer_size(self) -> int:
        """Bytes queued and not yet accepted by the line."""

    def close(self) -> None:
        """Stop and release the line."""


class FdLine:
    """A line with a file descriptor (tty, pty): non-blocking reads and writes on the loop."""

    def __init__(self, fd: int, name: str, *, port: serial.Serial | None = None) -> None:
        self.fd = fd
        self.name = name
        self.port = port
        self._loop = asyncio.get_running_loop()
        self._pending = bytearray()
        self._on_lost: LostCallback | None = None
        self._writing = False
        self._closed = False
        #: pppd's ``record``: told what the line sends and receives.
        self.tap: RecordTap | None = None
        #: Where writes go: the same descriptor, except for ``notty`` (standard output).
        self.write_fd = fd
        #: pppd's ``datarate``: at most this many bytes a second are written (0: no limit).
        self.max_rate = 0
        self._paced: asyncio.TimerHandle | None = None
        #: Seconds one character takes on the line (10 bits / speed): with it set, a small
        #: read that ends inside a frame waits a few character times for the rest (see
        #: :meth:`start`). 0: every byte is handed on as soon as it arrives.
        self.char_time = 0.0
        #: The process's timer service: the coalescing reads are timed there, so the lines of
        #: a server that are due within a tick are read in one wake-up. Without one (set
        #: before :meth:`start`), the line makes its own.
        self.timers: TimerService | None = None
        self._resume: Alarm | None = None
        #: Asked, only when a read would be coalesced, how many octets the frame under way
        #: still needs if its header says (the connection sets it to the link's
        #: :meth:`~pyppp.link.Link.awaiting`); ``None``: no one knows.
        self.awaiting: Callable[[], int | None] | None = None
        self._waits = 0  # timer reads in a row inside a long frame
        # The line's rate, measured from a reference read (FdLine._outran): when it was, and
        # the octets read since.
        self._mark = -1.0
        self._since = 0
        #: The line was seen to carry more than :attr:`char_time` allows (a pty to a
        #: program, a socket, a wrong ``speed``): its reads are not coalesced any more.
        self.fast = False
        self._run = 0  # octets of the frame under way read so far
        os.set_blocking(fd, False)

    def start(self, on_data: DataCallback, on_lost: LostCallback) -> None:
        """Begin delivering bytes (again: replace the callbacks).

        Coalescing (with :attr:`char_time`): on a slow line each read returns a UART FIFO's
        worth, and each read is a wake-up of the whole process; most of a busy line's CPU is
        that, not the framing. So once the frame under way is long (the RFC 1662 Flag says
        where each begins and ends: bulk data, where a few milliseconds cost no one anything)
        the descriptor is not watched after a small read; the next read comes from a timer,
        when the frame's last octet is due if its header gives its length (an IP datagram,
        :attr:`awaiting`'s answer), else 64, then 128, then 256 character times later
        (:meth:`_coalesce`). A short frame is read as it arrives, so an interactive round
        trip is no slower. A timer read that finds nothing, or too little of a new frame to
        judge it by, hands the descriptor back to the loop. Reads of more than the line could
        have carried (:meth:`_outran`) show a line faster than :attr:`char_time` says (a pty
        to a program, a socket, a wrong ``speed``): from then on nothing is coalesced
        (:attr:`fast`), since waiting there would only slow it down.
        """
        self._on_lost = on_lost
        self._cancel_resume()
        if self.timers is None:
            self.timers = TimerService()

        def take(registered: bool) -> None:
            # registered: called by the loop (the fd is watched); else by a coalescing timer.
            before = self._loop.time()
            try:
                data = os.read(self.fd, _READ_SIZE)
            except BlockingIOError:
                if not registered and not self._closed and self._on_lost is not None:
                    self._loop.add_reader(self.fd, readable)  # quiet: wait on the fd again
                return
            except OSError as exc:
                # A pty whose other side closed reads EIO: the "modem" hung up.
                self._lost(f"read error: {os.strerror(exc.errno or errno.EIO)}")
                return
            if not data and not registered:
                # A tty set for VMIN 0 reads nothing rather than EAGAIN: quiet, as above; a
                # real end of file shows when the loop says the fd is readable.
                if not self._closed and self._on_lost is not None:
                    self._loop.add_reader(self.fd, readable)
                return
            if not data:
                self._lost("end of file")
                return
            # When the read was, on both sides of it and before on_data's work, so that a
            # late wake-up never makes the line look faster than it is (FdLine._outran).
            now = self._loop.time()
            if self.tap is not None:
                self.tap.received(data)
            on_data(data)
            if self._closed or self._on_lost is not on_lost:
                return  # closed, or handed on: a new start() watches the fd itself
            flag = data.rfind(0x7E)
            self._run = len(data) - flag - 1 if flag >= 0 else self._run + len(data)
            chars = 0
            if self.char_time and not self.fast:
                if self._outran(len(data), before, now):
                    self.fast = True
                    logging.getLogger("pyppp").debug(
                        "%s: the line carries more than its speed allows: reads not coalesced",
                        self.name,
                    )
                elif not registered or len(data) < _COALESCE_BELOW:
                    chars = self._coalesce()
                else:
                    self._waits = 0  # a large read the loop woke us for: the process was busy
            if chars:
                # A slow line inside a long frame: read again after a few character times,
                # from a timer, for as long as the frame goes on (no epoll_ctl per read: on
                # some kernels that costs more than the read).
                if registered:
                    with contextlib.suppress(ValueError, OSError):
                        self._loop.remove_reader(self.fd)
                resuming.set(now + chars * self.char_time)
            elif not registered:
                self._loop.add_reader(self.fd, readable)

        def readable() -> None:
            take(True)

        def resume() -> None:
            take(False)

        self._resume = resuming = self.timers.alarm(resume, self.name)
        self._loop.add_reader(self.fd, readable)

    def _outran(self, size: int, before: float, now: float) -> bool:
        """Whether the line brought more than it could carry at its speed.

        Everything read after a read arrived after it, however late the process was: so
        since a reference read (timed from just before it), a serial line at its speed
        brings at most one octet a character time, with a FIFO's worth of slack and a
        quarter for a clock that runs fast. The reference moves up every
        :data:`_RATE_WINDOW` seconds; over that span a line only a little faster than its
        speed is caught too, not just a burst in one read.

        Args:
            size: what this read returned.
            before: the loop's time just before the read.
            now: the loop's time just after it.
        """
        if self._mark < 0 or now - self._mark > _RATE_WINDOW:
            self._mark, self._since = before, 0  # this read is the new reference
            return False
        self._since += size
        return self._since > (now - self._mark) / self.char_time * 1.25 + _COALESCE_BELOW

    def _coalesce(self) -> int:
        """Character times to wait before the next read (0: watch the descriptor again).

        A long frame whose length is known (:attr:`awaiting`: what the frame's own header
        says is still to come) is read once more, when its last octet is due: a full-size IP
        datagram costs two or three reads, not one per FIFO's worth. Without a length (CCP,
        MPPE, VJ segments with PSH), a long frame is read at 64, 128, then every 256
        character times.
        """
        rest = self.awaiting() if self.awaiting is not None else None
        if rest is not None and (self._run >= _SHORT_FRAME or rest >= _LONG_REST):
            self._waits = 0
            return rest
        if self._run < _SHORT_FRAME:
            self._waits = 0
            return 0
        chars = _WAITS[min(self._waits, len(_WAITS) - 1)]
        self._waits += 1
        return chars

    def write(self, data: bytes) -> None:
        """Write now if possible; keep the rest and finish when the fd is writable."""
        if self._closed or not data:
            return
        if self.tap is not None:
            self.tap.sent(data)
        if self.max_rate:
            self._pending += data
            if self._paced is None:
                self._pace()
            return
        if self._pending:
            self._pending += data
            return
        try:
            written = os.write(self.write_fd, data)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            self._lost(f"write error: {os.strerror(exc.errno or errno.EIO)}")
            return
        if written < len(data):
            self._pending += data[written:]
            self._want_write()

    def _pace(self) -> None:
        """Write a tenth of a second's worth (pppd's character shunt paces the same way)."""
        self._paced = None
        if self._closed or not self._pending:
            return
        try:
            written = os.write(self.write_fd, self._pending[: max(1, self.max_rate // 10)])
        except BlockingIOError:
            written = 0
        except OSError as exc:
            self._lost(f"write error: {os.strerror(exc.errno or errno.EIO)}")
            return
        del self._pending[:written]
        if self._pending:
            self._paced = self._loop.call_later(0.1, self._pace)

    def _want_write(self) -> None:
        if not self._writing and not self._closed:
            self._writing = True
            self._loop.add_writer(self.write_fd, self._flush)

    def _flush(self) -> None:
        try:
            written = os.write(self.write_fd, self._pending)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lost(f"write error: {os.strerror(exc.errno or errno.EIO)}")
            return
        del self._pending[:written]
        if not self._pending:
            self._loop.remove_writer(self.write_fd)
            self._writing = False

    @property
    def write_buffer_size(self) -> int:
        """Bytes not yet accepted by the kernel."""
        return len(self._pending)

    def _lost(self, why: str) -> None:
        callback, self._on_lost = self._on_lost, None
        self._stop_watching()
        if callback is not None:
            callback(why)

    def suspend(self) -> None:
        """Stop watching the fd while an external program (``connect``) uses the line."""
        self._stop_watching()

    def _cancel_resume(self) -> None:
        if self._resume is not None:
            self._resume.clear()
            self._resume = None
        self._waits = 0

    def _stop_watching(self) -> None:
        self._cancel_resume()
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(self.fd)
        if self._writing:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_writer(self.write_fd)
            self._writing = False

    def close(self) -> None:
        """Stop watching; close the port (pyserial drops DTR on close, as a hang-up)."""
        if self._closed:
            return
        self._closed = True
        self._stop_watching()
        if self._paced is not None:
            self._paced.cancel()
        if self.tap is not None:
            self.tap.close()
        if self.port is not None:
            with contextlib.suppress(OSError, serial.SerialException):
                self.port.close()
        else:
            with contextlib.suppress(OSError):
                os.close(self.fd)


class ThreadLine:
    """A pyserial port without a descriptor (``rfc2217://``, ``loop://``...): a reader thread."""

    def __init__(self, port: serial.SerialBase, name: str) -> None:
        self.port = port
        self.name = name
        self._loop = asyncio.get_running_loop()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_data: DataCallback = lambda data: None
        self._on_lost: LostCallback = lambda why: None
        self._held = bytearray()
        self._out: collections.deque[bytes] = collections.deque()
        self._out_bytes = 0
        self._out_ready = threading.Condition()
        self._writer: threading.Thread | None = None

    def pause(self) -> None:
        """Keep what arrives until the next :meth:`start` (the line changes hands)."""
        self._on_data = self._held.extend

    def start(self, on_data: DataCallback, on_lost: LostCallback) -> None:
        """Begin delivering bytes from the reader thread (again: just swap the callbacks)."""
        self._on_data, self._on_lost = on_data, on_lost
        if self._held:
            held = bytes(self._held)
            self._held.clear()
            self._loop.call_soon(on_data, held)
        if self._thread is not None:
            return

        def deliver(data: bytes) -> None:
            self._on_data(data)

        def lost(why: str) -> None:
            self._on_lost(why)

        def run() -> None:
            while not self._stop.is_set():
                try:
                    data = self.port.read(max(1, self.port.in_waiting or 1))
                except (OSError, serial.SerialException) as exc:
                    if not self._stop.is_set():
                        self._loop.call_soon_threadsafe(lost, f"read error: {exc}")
                    return
                if data:
                    self._loop.call_soon_threadsafe(deliver, bytes(data))

        self.port.timeout = 0.1
        self._thread = threading.Thread(target=run, name=f"line {self.name}", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        """Queue bytes for the writer thread (pyserial writes block: never on the loop)."""
        if not data:
            return
        with self._out_ready:
            self._out.append(data)
            self._out_bytes += len(data)
            self._out_ready.notify()
        if self._writer is None:
            self._writer = threading.Thread(
                target=self._write_loop, name=f"line {self.name} writer", daemon=True
            )
            self._writer.start()

    def _write_loop(self) -> None:
        while True:
            with self._out_ready:
                while not self._out and not self._stop.is_set():
                    self._out_ready.wait()
                if self._stop.is_set():
                    return
                data = b"".join(self._out)
                self._out.clear()
            try:
                self.port.write(data)
            except (OSError, serial.SerialException) as exc:
                if not self._stop.is_set():
                    self._loop.call_soon_threadsafe(self._on_lost, f"write error: {exc}")
                return
            finally:
                with self._out_ready:
                    self._out_bytes -= len(data)

    @property
    def write_buffer_size(self) -> int:
        """Bytes queued for the writer thread and not yet written."""
        return self._out_bytes

    def close(self) -> None:
        """Stop the threads and close the port."""
        self._stop.set()
        with self._out_ready:
            self._out_ready.notify()
        for thread in (self._thread, self._writer):
            if thread is not None:
                thread.join(timeout=1.0)
        with contextlib.suppress(OSError, serial.SerialException):
            self.port.close()


class StreamLine:
    """A line over asyncio streams (a socket, a pipe, an in-memory test transport)."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str = "stream"
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.name = name
        self._task: asyncio.Task[None] | None = None
        self._on_data: DataCallback = lambda data: None
        self._on_lost: LostCallback = lambda why: None

    def start(self, on_data: DataCallback, on_lost: LostCallback) -> None:
        """Begin delivering bytes from the stream (again: just swap the callbacks)."""
        self._on_data, self._on_lost = on_data, on_lost
        if self._task is not None:
            return

        async def pump() -> None:
            try:
                while data := await self.reader.read(_READ_SIZE):
                    self._on_data(data)
            except (OSError, asyncio.IncompleteReadError) as exc:
                self._on_lost(f"read error: {exc}")
                return
            except Exception as exc:  # never die silently: the runner would wait for ever
                self._on_lost(f"internal error: {exc!r}")
                raise
            self._on_lost("end of file")

        self._task = asyncio.get_running_loop().create_task(pump())

    def write(self, data: bytes) -> None:
        """Queue bytes on the transport."""
        if not self.writer.is_closing():
            self.writer.write(data)

    @property
    def write_buffer_size(self) -> int:
        """Bytes buffered in the transport."""
        return self.writer.transport.get_write_buffer_size()

    def close(self) -> None:
        """Stop reading and close the transport."""
        if self._task is not None:
            self._task.cancel()
        self.writer.close()


def open_line(
    device: str,
    *,
    speed: int | None = None,
    crtscts: bool = False,
    xonxoff: bool = False,
    stop_bits: int = 1,
) -> FdLine | ThreadLine:
    """Open a device path or a pyserial URL as a line (must run inside the event loop).

    pyserial always sets CLOCAL, so the line behaves as with pppd's ``local``: a hang-up is
    seen as an error or end of file on the device, not through the carrier-detect line.

    Raises:
        LineOpenError: the device does not exist or cannot be opened (pppd status 7).
    """
    port = _open_port(device, speed=speed, crtscts=crtscts, xonxoff=xonxoff, stop_bits=stop_bits)
    return _wrap(port, device)


async def open_line_async(
    device: str,
    *,
    speed: int | None = None,
    crtscts: bool = False,
    xonxoff: bool = False,
    stop_bits: int = 1,
) -> FdLine | ThreadLine:
    """:func:`open_line` without blocking the loop on a network URL.

    Opening ``rfc2217://`` or ``socket://`` means a TCP connect and, for RFC 2217, an option
    exchange (about 0.4 s with pyserial): done in a thread, so signals are handled meanwhile.
    """
    if "://" not in device:
        return open_line(device, speed=speed, crtscts=crtscts, xonxoff=xonxoff, stop_bits=stop_bits)
    loop = asyncio.get_running_loop()
    port = await loop.run_in_executor(
        None,
        lambda: _open_port(
            device, speed=speed, crtscts=crtscts, xonxoff=xonxoff, stop_bits=stop_bits
        ),
    )
    return _wrap(port, device)


def _wrap(port: serial.SerialBase, device: str) -> FdLine | ThreadLine:
    if "://" not in device:
        return FdLine(port.fileno(), device, port=port)
    if isinstance(port, serial.urlhandler.protocol_socket.Serial):
        return _socket_line(port, device)
    return ThreadLine(port, device)


def _open_port(
    device: str, *, speed: int | None, crtscts: bool, xonxoff: bool, stop_bits: int = 1
) -> serial.SerialBase:
    """Open the pyserial port (blocking)."""
    try:
        if "://" in device:
            port = serial.serial_for_url(
                device,
                baudrate=speed or 115200,
                rtscts=crtscts,
                xonxoff=xonxoff,
                stopbits=stop_bits,
                timeout=0.1,
                do_not_open=True,
            )
            if isinstance(port, serial.urlhandler.protocol_socket.Serial):
                # pyserial's open() ends in reset_input_buffer(), which on a socket throws
                # away what the server sent already: `pyppp share`'s busy line, a banner.
                port.reset_input_buffer = lambda: None
            port.open()
            return port
        return serial.Serial(
            device,
            baudrate=speed or 115200,
            rtscts=crtscts,
            xonxoff=xonxoff,
            stopbits=stop_bits,
            timeout=0,
            write_timeout=0,
            exclusive=True,
        )
    except (OSError, serial.SerialException, ValueError) as exc:
        raise LineOpenError(f"Failed to open {device}: {exc}") from exc


def _socket_line(port: serial.urlhandler.protocol_socket.Serial, name: str) -> FdLine:
    """A ``socket://`` port as an :class:`FdLine` on its socket's descriptor.

    pyserial's own reads of it go one byte per call (its ``in_waiting`` is 0 or 1), which a
    reader thread turns into one loop callback per byte: about 50 kB/s towards us. The socket
    also gets ``TCP_NODELAY``, as pyserial's ``rfc2217://`` does: without it a frame written
    right after another (a Configure-Ack and the PAP request behind it) waits for the peer's
    delayed ACK, about 40 ms each time.
    """
    fd = port.fileno()
    with contextlib.suppress(OSError):
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        finally:
            sock.close()
    return FdLine(fd, name, port=port)


# ---------------------------------------------------------------------------------------------
# pppd's other channels: `pty COMMAND`, `notty`, `socket HOST:PORT`; and `record`, `datarate`.


class PtyCommandError(PyPPPError):
    """The ``pty`` command (or the ``socket`` connection) could not be started: status 9."""

    exit_status = ExitStatus.PTYCMD_FAILED


def _raw(fd: int) -> None:
    """Put a tty into raw mode (pppd ``set_up_tty`` on the pty slave: 8 bits, no echo)."""
    with contextlib.suppress(termios.error, OSError):
        attrs = termios.tcgetattr(fd)
        attrs[0] = termios.IGNBRK | termios.IGNPAR  # iflag
        attrs[1] = 0  # oflag
        attrs[2] = termios.CS8 | termios.CREAD | termios.CLOCAL  # cflag
        attrs[3] = 0  # lflag
        attrs[6][termios.VMIN] = 1
        attrs[6][termios.VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, attrs)


async def open_pty_command(
    command: str, *, stderr: int | None = None
) -> tuple[FdLine, asyncio.subprocess.Process]:
    """Run ``command`` through ``/bin/sh -c`` on the master side of a new pty (pppd ``pty``).

    The command's standard input and output are the pty master; the link runs on the slave,
    which is its name (``/dev/pts/N``, as pppd's "Connect: ppp0 <--> /dev/pts/N").

    Args:
        command: the shell command (``ssh host pppd notty``).
        stderr: where the command's standard error goes (pppd: the log descriptor).

    Raises:
        PtyCommandError: no pty, or the command could not be started (pppd status 9).
    """
    try:
        master, slave = os.openpty()
    except OSError as exc:
        raise PtyCommandError(f"Couldn't allocate pseudo-tty: {exc.strerror}") from exc
    _raw(slave)
    try:
        process = await asyncio.create_subprocess_shell(
            command,
            stdin=master,
            stdout=master,
            stderr=stderr if stderr is not None else asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        os.close(master)
        os.close(slave)
        raise PtyCommandError(f"Failed to run pty command {command!r}: {exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            os.close(master)
    return FdLine(slave, os.ttyname(slave)), process


class StdioLine(FdLine):
    """pppd's ``notty``: the link on our own standard input (read) and standard output (write).

    Both are used as they are (a pipe from ``ssh``, a socket from ``inetd``); end of file on
    standard input is the "modem" hanging up.
    """

    def __init__(self, read_fd: int = 0, write_fd: int = 1) -> None:
        super().__init__(os.dup(read_fd), "notty")
        self.write_fd = os.dup(write_fd)
        os.set_blocking(self.write_fd, False)

    def close(self) -> None:
        """Close our copies of the two descriptors."""
        if self._closed:
            return
        super().close()
        with contextlib.suppress(OSError):
            os.close(self.write_fd)


async def open_socket_line(destination: str) -> FdLine:
    """Connect a TCP socket as the line (pppd's ``socket host:port``).

    Raises:
        PtyCommandError: pppd's messages, status 9 ("Can't parse host:port for socket
            destination", "%s: unknown host in socket option", "Can't connect to %s: %m").
    """
    host, colon, port_text = destination.rpartition(":")
    if not colon or not host or not port_text.isdigit():
        raise PtyCommandError("Can't parse host:port for socket destination")
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, int(port_text), type=socket.SOCK_STREAM)
    except OSError:
        raise PtyCommandError(f"{host}: unknown host in socket option") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, address)
    except OSError as exc:
        sock.close()
        raise PtyCommandError(f"Can't connect to {destination}: {exc.strerror or exc}") from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return FdLine(sock.detach(), destination)


class RecordTap:
    """pppd's ``record FILE``: what the line sends and receives, in pppdump(8)'s format.

    Set as :attr:`FdLine.tap`; the record file is appended to, as pppd does.

    Args:
        path: the record file.
        clock: wall-clock seconds (``time.time``), for pppdump's time stamps.
        logger: where a write error is reported (pppd: "Error writing record file: %m").
    """

    def __init__(
        self, path: str, clock: Callable[[], float], logger: logging.Logger | None = None
    ) -> None:
        self._clock = clock
        self._logger = logger or logging.getLogger("pyppp")
        self._file: BinaryIO | None = open(path, "ab")  # noqa: SIM115 (open as long as the line)
        self._encoder = RecordEncoder(clock())
        # No PAP password ever reaches the file (docs/observability.md): sent, received.
        self._masks = (LineMasker(), LineMasker())
        self._put(self._encoder.start())

    def _put(self, data: bytes) -> None:
        if self._file is None:
            return
        try:
            self._file.write(data)
            self._file.flush()
        except OSError as exc:
            self._logger.error("Error writing record file: %s", exc.strerror or exc)
            self.close()

    def sent(self, data: bytes) -> None:
        """Bytes written to the line (pppdump's code 1)."""
        self._put(self._encoder.sent(self._masks[0].feed(data), self._clock()))

    def received(self, data: bytes) -> None:
        """Bytes read from the line (pppdump's code 2)."""
        self._put(self._encoder.received(self._masks[1].feed(data), self._clock()))

    def close(self) -> None:
        """Close the record file (with what the masks still held: the line is done)."""
        if self._file is not None:
            now = self._clock()
            held = self._encoder.sent(self._masks[0].flush(), now)
            held += self._encoder.received(self._masks[1].flush(), now)
            with contextlib.suppress(OSError):
                self._file.write(held)
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
