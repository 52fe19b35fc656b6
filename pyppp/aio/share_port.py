"""``pyppp share``'s serial side: the modem opened for one call, and RFC 2217 on top of it.

:class:`SharePort` opens the device (a tty, a pty or any pyserial URL) for the length of one
call, reads it whenever it has bytes, writes through a buffer it reports the size of, holds a
break without blocking and drops DTR when the call ends. :class:`Rfc2217Filter` puts pyserial's
own ``serial.rfc2217.PortManager`` in front of the port as the session's client filter
(:class:`pyppp.share.session.ClientFilter`): it takes the caller's telnet, applies the speed,
framing and control lines it asks for, and hands back the data for the modem and the answers
for the caller. The policy (what goes where, what is dropped, when a call ends) is the
session's; this module only moves bytes and turns failures into end reasons.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import termios
from collections.abc import Callable
from typing import Final

import serial
import serial.rfc2217
import serial.serialposix

from pyppp.share.config import ShareConfig
from pyppp.share.session import EndReason
from pyppp.share.telnet import IAC, Filtered, double_iac

__all__ = ["LenientPort", "Rfc2217Filter", "SharePort"]

_READ_SIZE: Final = 4096
_POLL_S: Final = 0.01
_BREAK_S: Final = 0.25

_log = logging.getLogger("pyppp.share")


class LenientPort:
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


LostCallback = Callable[[EndReason, str], None]


class SharePort:
    """The modem, opened for one call: always read, written through a buffer.

    Args:
        config: the share's configuration (device, speed, flow control).
        loop: the event loop.
        on_data: called with each chunk the modem sends.
        on_lost: called with an end reason and its detail when the port fails or hangs up.
        on_drained: called when bytes waited for the modem and now none do.

    Attributes:
        serial: the open port, ``None`` before :meth:`open` and after :meth:`close`.
        pending: bytes not yet taken by the modem.
    """

    def __init__(
        self,
        config: ShareConfig,
        loop: asyncio.AbstractEventLoop,
        on_data: Callable[[bytes], None],
        on_lost: LostCallback,
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
        """Queue bytes for the modem and send what the line takes now (see :attr:`pending`)."""
        self.pending += data
        self._flush()

    def send_break(self) -> None:
        """Hold a break for 0.25 s without blocking the loop (TIOCSBRK, then TIOCCBRK)."""
        if self.serial is not None:
            LenientPort(self.serial).break_condition = True
            self.loop.call_later(_BREAK_S, self._end_break)

    def _end_break(self) -> None:
        if self.serial is not None and self.serial.is_open:
            LenientPort(self.serial).break_condition = False

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
            LenientPort(port).dtr = False
            with contextlib.suppress(OSError):
                port.close()

    def _flush(self) -> bool:
        # Returns whether the buffer went from full to empty here.
        if not self.pending or self.serial is None:
            return False
        try:
            if self.fd is not None:
                sent = os.write(self.fd, self.pending)
            else:
                sent = self.serial.write(bytes(self.pending)) or 0
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self.on_lost(EndReason.MODEM_WRITE_FAILED, str(exc))
            return False
        del self.pending[:sent]
        if self.fd is not None:
            if self.pending and not self._writer_armed:
                self.loop.add_writer(self.fd, self._writable)
                self._writer_armed = True
            elif not self.pending and self._writer_armed:
                self.loop.remove_writer(self.fd)
                self._writer_armed = False
        return not self.pending

    def _writable(self) -> None:
        if self._flush():
            self.on_drained()

    def _readable(self) -> None:
        if self.fd is None:
            return
        try:
            data = os.read(self.fd, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            self.on_lost(EndReason.MODEM_HANGUP, exc.strerror or str(exc))
            return
        if not data:
            self.on_lost(EndReason.MODEM_HANGUP, "")
            return
        self.on_data(data)

    def _polled(self) -> None:
        self._poll = None
        if self.serial is None:
            return
        try:
            data = self.serial.read(_READ_SIZE)
        except OSError as exc:
            self.on_lost(EndReason.MODEM_READ_FAILED, str(exc))
            return
        if self._flush():
            self.on_drained()
        if data and self.serial is not None:
            self.on_data(data)
        if self.serial is not None:
            self._poll = self.loop.call_later(_POLL_S, self._polled)


class Rfc2217Filter:
    """pyserial's ``PortManager`` as the session's client filter (RFC 2217 mode).

    PortManager answers the caller by writing to its ``connection``: this filter is that
    connection and keeps what it writes, so that the session sees every byte for the caller
    (``reply`` of :meth:`feed`, or :meth:`take_output` after :meth:`poll` and at the start).

    Args:
        peer: the caller, for debug lines.
        logger: PortManager's logger (``--debug``), or ``None``.
    """

    def __init__(self, peer: str, logger: logging.Logger | None = None) -> None:
        self.peer = peer
        self.logger = logger
        self.manager: serial.rfc2217.PortManager | None = None
        self._output = bytearray()

    def attach(self, port: serial.SerialBase) -> None:
        """Start RFC 2217 on the open ``port``; the initial negotiation waits in the output."""
        self.manager = serial.rfc2217.PortManager(LenientPort(port), self, logger=self.logger)

    def write(self, data: bytes) -> None:
        """PortManager's ``connection.write``: keep the bytes for the session."""
        self._output += data

    def take_output(self) -> bytes:
        """Return (and forget) what PortManager wrote outside :meth:`feed`."""
        data = bytes(self._output)
        self._output.clear()
        return data

    def feed(self, data: bytes) -> Filtered:
        """Run the caller's bytes through PortManager (it applies settings to the port)."""
        manager = self.manager
        if manager is None:
            return Filtered(data)
        if (
            IAC not in data
            and manager.mode == serial.rfc2217.M_NORMAL
            and manager.suboption is None
        ):
            return Filtered(data)  # what filter() would yield, without a generator per byte
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
        return Filtered(bytes(out), self.take_output())

    def escape(self, data: bytes) -> bytes:
        """Double 0xFF in modem bytes, as RFC 2217 (telnet) data."""
        return double_iac(data)

    def poll(self) -> bytes:
        """Check the modem's status lines; return the NOTIFY-MODEMSTATE to send, if any."""
        if self.manager is not None:
            try:
                self.manager.check_modem_lines()
            except OSError as exc:
                _log.debug("modem line poll failed: %s", exc)
        return self.take_output()
