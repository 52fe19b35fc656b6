"""A Hayes modem on a pty pair, for tests (a background thread; context-manager API).

Usage::

    with ModemSim() as modem:
        fd = os.open(modem.device, os.O_RDWR | os.O_NOCTTY)  # the dialler's side (the DTE)
        # ... "ATZ\\r" -> "OK", "ATDT5551234\\r" -> "CONNECT 115200" ...
        # once online, bytes are bridged to modem.line_device, the far end of the call
        # (e.g. where `pyppp serve` waits); before that, the line is silent.

API (kept small on purpose; other helpers' tests use it):

* ``ModemSim(dial_result="CONNECT", connect_text="CONNECT 115200", guard_time=0.2,
  echo=True, require_carrier=False, dial_delay=0.0, hangup_on_dtr=False,
  hangup_far_end=True)``. ``dial_result``
  may be ``"BUSY"``, ``"NO DIALTONE"``, ``"NO CARRIER"``, ``"NO ANSWER"`` or ``"ERROR"`` to
  fail every call, or a callable ``number -> result``. With ``require_carrier`` a call only
  connects when something has ``line_device`` open (else ``NO CARRIER``).
  ``hangup_on_dtr`` and ``hangup_far_end``: see "DTR" and "When a call ends" below.
* ``device``: the pty path the dialler opens. ``line_device``: the pty path of the far end.
* ``online`` (bool), ``commands`` (every AT command line received, without CR), ``dialled``
  (the numbers dialled), ``wait_online(timeout)``, ``hangup()`` (drop carrier: ``NO CARRIER``
  to the DTE), ``close()`` (same as leaving the ``with`` block), ``wait_offline(timeout)``,
  ``calls_ended`` (how many calls ended, for any reason), ``dte_hangups`` (how many ended
  because the DTE closed the device), ``far_hangups`` (how many times the far end's tty was
  hung up), ``settle()`` (wait until the emulator has handled everything that happened before
  the call: a test asserts "nothing happened" after it, with no sleep).

Behaviour: result codes are ``CR LF text CR LF`` (``ATV0`` numeric, ``ATQ1`` silent); command
echo follows ``ATE0``/``ATE1`` (default on, as a real modem); ``ATZ``, ``AT&F`` reset;
``ATI`` prints an identification line; ``ATS0=n``, ``ATSn?``; ``ATH``/``ATH0`` hang up;
``ATD``/``ATDT``/``ATDP`` dial; ``ATO`` returns online; ``+++`` with ``guard_time`` of silence
before and after returns to command mode (``OK``); when the far end closes ``line_device`` while
online the DTE gets ``NO CARRIER``.

DTR: a pty has no DTR line; the last close of ``device`` stands for the DTR drop (a dialler
killed, ``pyppp share`` ending a session). With ``AT&D2`` (or ``hangup_on_dtr=True``, the
setting ``ATZ``/``AT&F`` return to) the modem then hangs up the call, as a real one does;
``AT&D0``/``AT&D1`` (the default, for callers that close the device and expect the call to
stay up) ignore it. While such a call is up the emulator holds no descriptor of its own on
that pty, so the last close shows on the master as POLLHUP/EIO. Nothing is sent to the DTE
then, and the pty's queues are flushed, so the next caller never reads a stale ``NO CARRIER``.

When a call ends (the DTE hangs up, ``ATH``, :meth:`hangup`, the far end closes) and
``hangup_far_end`` is set, the far end's tty is hung up with ``TIOCVHANGUP`` (needs
CAP_SYS_ADMIN; without it the far end just hears silence): that is what the kernel does to a
tty without ``CLOCAL`` when its modem drops DCD, so a ``pyppp serve`` there reads end of file
("Modem hangup") at once instead of waiting for LCP echo failures. The far end may reopen
``line_device`` afterwards, as pppd's ``persist`` does.

Buffers are bounded (64 KiB per direction; excess is dropped and counted in ``dropped``); all
fds are closed and the thread joined on exit.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import pty
import select
import termios
import threading
import time
import tty
from collections.abc import Callable
from types import TracebackType

__all__ = ["ModemSim"]

_CODES = {
    "OK": 0,
    "CONNECT": 1,
    "RING": 2,
    "NO CARRIER": 3,
    "ERROR": 4,
    "NO DIALTONE": 6,
    "BUSY": 7,
    "NO ANSWER": 8,
}
_MAX_BUFFER = 65536
_MAX_LINE = 256
_TIOCVHANGUP = 0x5437  # <asm-generic/ioctls.h>; termios does not export it


class ModemSim:
    """A Hayes-compatible modem emulator on two ptys (see the module docstring)."""

    def __init__(
        self,
        *,
        dial_result: str | Callable[[str], str] = "CONNECT",
        connect_text: str = "CONNECT 115200",
        guard_time: float = 0.2,
        echo: bool = True,
        require_carrier: bool = False,
        dial_delay: float = 0.0,
        hangup_on_dtr: bool = False,
        hangup_far_end: bool = True,
    ) -> None:
        self.dial_result = dial_result
        self.connect_text = connect_text
        self.guard_time = guard_time
        self.require_carrier = require_carrier
        self.dial_delay = dial_delay
        self.hangup_far_end = hangup_far_end
        self._default_dtr_hangup = hangup_on_dtr
        self.calls_ended = 0
        self.dte_hangups = 0
        self.far_hangups = 0
        self.commands: list[str] = []
        self.dialled: list[str] = []
        self.dropped = 0
        self._default_echo = echo
        self._reset()
        self.online = False
        self._online_event = threading.Event()
        self._offline_event = threading.Event()
        self._offline_event.set()
        self._lock = threading.Lock()
        self._dte_master, dte_slave = pty.openpty()
        self._line_master, self._line_slave_fd = pty.openpty()
        self.device = os.ttyname(dte_slave)
        self.line_device = os.ttyname(self._line_slave_fd)
        # Our own copies of the slaves: held while idle (so an absent DTE or far end does not
        # make the masters poll HUP), released during a call (so their hang-up shows).
        self._dte_slave: int | None = dte_slave
        self._line_slave: int | None = self._line_slave_fd
        for fd in (dte_slave, self._line_slave_fd):
            tty.setraw(fd)  # no echo, no CR/LF translation: a byte pipe, as a serial line
        for fd in (self._dte_master, self._line_master):
            os.set_blocking(fd, False)
        self._wake_r, self._wake_w = os.pipe()
        self._settlers: list[threading.Event] = []
        self._to_dte = bytearray()
        self._to_line = bytearray()
        self._line_buf = bytearray()
        self._watch_line_hup = False
        self._plus = 0
        self._last_rx = 0.0
        self._escape_at: float | None = None
        self._hangup_request = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="ModemSim", daemon=True)
        self._thread.start()

    # -- public --------------------------------------------------------------------------------

    def __enter__(self) -> ModemSim:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the thread and close every descriptor (idempotent)."""
        if self._stop:
            return
        self._stop = True
        self._poke()
        self._thread.join(timeout=5)
        fds = [self._dte_master, self._line_master, self._wake_r, self._wake_w]
        fds += [fd for fd in (self._dte_slave, self._line_slave) if fd is not None]
        for fd in fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    def wait_online(self, timeout: float = 5.0) -> bool:
        """Wait until a call is connected; return whether it is."""
        return self._online_event.wait(timeout)

    def wait_offline(self, timeout: float = 5.0) -> bool:
        """Wait until no call is up (none was, or it has ended); return whether so."""
        return self._offline_event.wait(timeout)

    def settle(self, timeout: float = 5.0) -> None:
        """Return once the thread has polled and handled all that was pending at the call.

        A close of ``device`` before the call, or bytes written to it, are seen by that poll
        (the kernel reports them at once), so what the emulator does about them is done.

        Raises:
            TimeoutError: the thread did not get round to it within ``timeout`` seconds.
        """
        settled = threading.Event()
        with self._lock:
            self._settlers.append(settled)
        self._poke()
        if not settled.wait(timeout):
            raise TimeoutError("the modem emulator did not settle")

    def hangup(self) -> None:
        """Drop the carrier: go offline and send ``NO CARRIER`` to the DTE."""
        self._hangup_request = True
        self._poke()

    # -- the thread ----------------------------------------------------------------------------

    def _reset(self) -> None:
        self.echo = self._default_echo
        self.quiet = False
        self.verbose_codes = True
        self.dtr_hangup = self._default_dtr_hangup
        self.registers: dict[int, int] = {0: 0, 2: 43, 3: 13, 4: 10, 5: 8, 12: 50}

    def _poke(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        while not self._stop:
            self._register(poller)
            timeout = None
            if self._escape_at is not None:
                timeout = max(0, int((self._escape_at - time.monotonic()) * 1000) + 1)
            # Whoever asked to settle before this poll is answered after it has been handled.
            with self._lock:
                settlers, self._settlers = self._settlers, []
            events = poller.poll(0 if settlers else timeout)
            for fd, event in events:
                if fd == self._wake_r:
                    with contextlib.suppress(OSError):
                        os.read(self._wake_r, 512)
                elif fd == self._dte_master:
                    self._on_dte(event)
                elif fd == self._line_master:
                    self._on_line(event)
            if self._hangup_request:
                self._hangup_request = False
                if self.online:
                    self._go_offline()
                    self._result("NO CARRIER")
            if self._escape_at is not None and time.monotonic() >= self._escape_at:
                self._escape_at = None
                self._plus = 0
                self.online = False  # command mode; the call stays up for ATO
                self._online_event.clear()
                self._result("OK")
            self._flush()
            for settled in settlers:
                settled.set()

    def _register(self, poller: select.poll) -> None:
        dte = select.POLLIN | (select.POLLOUT if self._to_dte else 0)
        poller.register(self._dte_master, dte)
        line = select.POLLOUT if self._to_line else 0
        if self._watch_line_hup or self._line_slave is not None:
            line |= select.POLLIN  # offline we read and drop what the far end sends
        if line:
            poller.register(self._line_master, line)
        else:
            with contextlib.suppress(KeyError):
                poller.unregister(self._line_master)

    def _read(self, fd: int) -> bytes | None:
        """Read what is there; None on EIO/HUP (no slave open)."""
        try:
            return os.read(fd, 4096)
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno == errno.EIO:
                return None
            raise

    def _on_dte(self, event: int) -> None:
        if not event & (select.POLLIN | select.POLLHUP | select.POLLERR):
            return
        data = self._read(self._dte_master)
        if data is None or (not data and event & (select.POLLHUP | select.POLLERR)):
            if self._dte_slave is None:  # the DTE's last opener closed the device mid-call
                self._dte_hung_up()
            return
        if not data:
            return
        now = time.monotonic()
        if self.online:
            self._queue(self._to_line, data)
            self._watch_escape(data, now)
        else:
            self._command_bytes(data)
        self._last_rx = now

    def _on_line(self, event: int) -> None:
        data = self._read(self._line_master) if event & (select.POLLIN | select.POLLHUP) else b""
        if data is None or (event & select.POLLHUP and not data):
            if self._watch_line_hup:  # the far end closed the line while a call was up
                self._go_offline()
                self._result("NO CARRIER")
            return
        if data and self.online:
            self._queue(self._to_dte, data)

    def _watch_escape(self, data: bytes, now: float) -> None:
        for i, byte in enumerate(data):
            quiet_before = now - self._last_rx >= self.guard_time if i == 0 else False
            if byte == 0x2B and (self._plus > 0 or quiet_before):
                self._plus += 1
            else:
                self._plus = 0
        if self._plus == 3:
            self._escape_at = now + self.guard_time
        else:
            if self._plus > 3:
                self._plus = 0
            self._escape_at = None

    # -- command mode --------------------------------------------------------------------------

    def _command_bytes(self, data: bytes) -> None:
        for byte in data:
            if self.echo:
                self._queue(self._to_dte, bytes([byte]))
            if byte == 0x0D:
                line = self._line_buf.decode("latin-1").strip()
                self._line_buf.clear()
                if line:
                    self._command_line(line)
            elif byte in (0x08, 0x7F):
                del self._line_buf[-1:]
            elif byte != 0x0A and len(self._line_buf) < _MAX_LINE:
                self._line_buf.append(byte)

    def _command_line(self, line: str) -> None:
        self.commands.append(line)
        if line[:2].upper() != "AT":
            return
        body = line[2:]
        i = 0
        while i < len(body):
            ch = body[i].upper()
            i += 1
            if ch in " ":
                continue
            num = ""
            if ch == "D":
                self._dial(body[i:])
                return
            if ch == "&" or ch == "+":
                if ch == "+":  # extended commands: accepted, ignored
                    break
                i += 1  # &F, &C1, &D2, ...
                ch += body[i - 1 : i].upper()
                if ch == "&F":
                    self._reset()
                    self._hold_dte()
            if ch == "S":
                while i < len(body) and body[i].isdigit():
                    num += body[i]
                    i += 1
                if i < len(body) and body[i] == "?":
                    self._info(f"{self.registers.get(int(num or 0), 0):03d}")
                    i += 1
                    continue
                if i < len(body) and body[i] == "=":
                    i += 1
                    value = ""
                    while i < len(body) and body[i].isdigit():
                        value += body[i]
                        i += 1
                    self.registers[int(num or 0)] = int(value or 0) & 0xFF
                continue
            while i < len(body) and body[i].isdigit():
                num += body[i]
                i += 1
            if ch == "&D":
                self.dtr_hangup = num in ("2", "3")
                self._hold_dte()
            elif ch == "E":
                self.echo = num == "1"
            elif ch == "Q":
                self.quiet = num == "1"
            elif ch == "V":
                self.verbose_codes = num != "0"
            elif ch == "Z":
                self._reset()
                self._hold_dte()
            elif ch == "I":
                self._info("pyppp ModemSim")
            elif ch == "H":
                self._go_offline()
            elif ch == "O":
                if self._watch_line_hup or self._call_up:
                    self.online = True
                    self._online_event.set()
                    self._result(self.connect_text)
                else:
                    self._result("NO CARRIER")
                return
            elif ch[0] not in "XLMCWB&":
                self._result("ERROR")
                return
        self._result("OK")

    _call_up = False

    def _dial(self, rest: str) -> None:
        number = "".join(c for c in rest if c not in " TtPpWw,;").strip()
        self.dialled.append(number)
        if self.dial_delay:
            time.sleep(self.dial_delay)
        result = self.dial_result(number) if callable(self.dial_result) else self.dial_result
        if result == "CONNECT" and self._line_slave is not None:
            # Close our copy of the far end's tty: from now on a hang-up there is visible.
            os.close(self._line_slave)
            self._line_slave = None
            peer = select.poll()
            peer.register(self._line_master, select.POLLIN)
            nobody = any(ev & select.POLLHUP for _, ev in peer.poll(0))
            if nobody:
                self._reopen_line()
                if self.require_carrier:
                    result = "NO CARRIER"
            self._watch_line_hup = not nobody
        if result != "CONNECT":
            self._result(result)
            return
        self.online = self._call_up = True
        self._online_event.set()
        self._offline_event.clear()
        self._result(self.connect_text)
        self._hold_dte()

    def _hold_dte(self) -> None:
        """Hold our copy of the DTE's tty unless its last close must hang up a call (&D2)."""
        if self._call_up and self.dtr_hangup:
            if self._dte_slave is not None:
                os.close(self._dte_slave)
                self._dte_slave = None
        else:
            self._reopen_dte()

    def _dte_hung_up(self) -> None:
        self.dte_hangups += 1
        self._to_dte.clear()  # nobody to tell: no NO CARRIER for the next caller to trip on
        self._line_buf.clear()
        self._go_offline()
        if self._dte_slave is not None:
            # Drop whatever the gone caller's tty still held (only now: a DTE that is still
            # there, after ATH, must get every byte of its echo).
            with contextlib.suppress(OSError, termios.error):
                termios.tcflush(self._dte_slave, termios.TCIOFLUSH)

    def _reopen_dte(self) -> None:
        if self._dte_slave is None:
            self._dte_slave = os.open(self.device, os.O_RDWR | os.O_NOCTTY)

    def _hangup_line(self) -> None:
        """Hang up the far end's tty, as the kernel does when DCD drops without CLOCAL."""
        if self._line_slave is not None:
            os.close(self._line_slave)
            self._line_slave = None
        try:
            fd = os.open(self.line_device, os.O_RDWR | os.O_NOCTTY)
        except OSError:
            return
        try:
            fcntl.ioctl(fd, _TIOCVHANGUP)
            self.far_hangups += 1
        except OSError:
            pass  # no CAP_SYS_ADMIN: the far end only hears silence
        finally:
            os.close(fd)

    def _reopen_line(self) -> None:
        if self._line_slave is None:
            self._line_slave = os.open(self.line_device, os.O_RDWR | os.O_NOCTTY)

    def _go_offline(self) -> None:
        was_up = self._call_up or self._watch_line_hup
        self.online = self._call_up = False
        self._online_event.clear()
        self._watch_line_hup = False
        self._escape_at = None
        self._plus = 0
        self._to_line.clear()
        if was_up:
            self.calls_ended += 1
            if self.hangup_far_end:
                self._hangup_line()
        self._reopen_line()
        self._hold_dte()
        self._offline_event.set()

    # -- output --------------------------------------------------------------------------------

    def _info(self, text: str) -> None:
        self._queue(self._to_dte, f"\r\n{text}\r\n".encode())

    def _result(self, text: str) -> None:
        if self.quiet:
            return
        if self.verbose_codes:
            self._queue(self._to_dte, f"\r\n{text}\r\n".encode())
        else:
            self._queue(self._to_dte, f"{_CODES.get(text.split()[0], 1)}\r".encode())

    def _queue(self, buffer: bytearray, data: bytes) -> None:
        room = _MAX_BUFFER - len(buffer)
        if len(data) > room:
            self.dropped += len(data) - room
            data = data[:room]
        buffer += data

    def _flush(self) -> None:
        for fd, buffer in ((self._dte_master, self._to_dte), (self._line_master, self._to_line)):
            if not buffer:
                continue
            try:
                del buffer[: os.write(fd, buffer)]
            except BlockingIOError:
                pass
            except OSError:
                self.dropped += len(buffer)
                buffer.clear()
