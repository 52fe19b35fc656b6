"""``pyppp share``: one serial modem shared over TCP, one caller at a time.

The Linux Modem-sharing mini-HOWTO runs a "modem daemon" from inetd that joins a TCP
connection to ``cu -l /dev/ttyS1``, so ``telnet host modem`` reaches the modem's AT prompt; its
security section warns that anybody who can connect can dial long distance. This module is
that daemon done properly:

* **Modes.** ``--raw`` (default): bytes go straight to the modem; telnet option negotiation
  from a telnet client is answered (every option refused) and never reaches the modem, and once
  the client has shown it speaks telnet, ``IAC IAC`` stands for one 0xFF byte both ways (see
  :class:`TelnetFilter`). ``--transparent``: 8-bit clean, no telnet at all (for
  ``socket://host:2006`` pyserial clients and PPP). ``--rfc2217``: RFC 2217 (Telnet Com Port
  Control) through pyserial's own ``serial.rfc2217.PortManager``, so a
  ``rfc2217://host:2006`` client sets speed, framing and control lines and sees the status
  lines.
* **Access control**, tcp-wrappers style (:class:`AccessPolicy`): only loopback by default;
  ``--allow``/``--deny`` networks; optionally the ``hosts.allow``/``hosts.deny`` rules for the
  service ``pyppp-share``. Refused connections are logged and closed at once.
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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
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
from typing import Final, Literal

import serial
import serial.rfc2217
import serial.serialposix

from pyppp.aio.lockfile import UucpLock
from pyppp.errors import ConfigError
from pyppp.lock import DEFAULT_LOCK_DIR, LockError

__all__ = [
    "AccessPolicy",
    "HostsRule",
    "Mode",
    "ShareConfig",
    "ShareServer",
    "TelnetFilter",
    "add_arguments",
    "parse_hosts_file",
    "run",
]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Mode = Literal["raw", "transparent", "rfc2217"]

SERVICE_NAME: Final = "pyppp-share"
DEFAULT_PORT: Final = 2006
LOOPBACK: Final[tuple[IPNetwork, ...]] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
_TICK_S: Final = 0.2
_READ_SIZE: Final = 4096
_POLL_S: Final = 0.01
_BREAK_S: Final = 0.25

_log = logging.getLogger("pyppp.share")


# == Telnet in raw mode (RFC 854, RFC 855) =====================================================

IAC: Final = 255
DONT: Final = 254
DO: Final = 253
WONT: Final = 252
WILL: Final = 251
SB: Final = 250
AYT: Final = 246
BRK: Final = 243
SE: Final = 240

_NORMAL, _IAC_SEEN, _NEGOTIATE, _SUB, _SUB_IAC = range(5)


@dataclasses.dataclass(frozen=True, slots=True)
class Filtered:
    """What :meth:`TelnetFilter.feed` made of some client bytes."""

    data: bytes
    """Bytes for the modem."""
    reply: bytes = b""
    """Telnet answers for the client (option refusals, the AYT answer)."""
    breaks: int = 0
    """How many telnet BRK commands arrived (sent on as a serial break)."""


class TelnetFilter:
    """Raw mode's telnet handling: keeps negotiation away from the modem, refuses every option.

    ``telnet host 2006`` starts in NVT mode without negotiating (RFC 854 only has clients
    negotiate on the telnet port) but answers and sends option commands when prompted, and it
    always doubles a 0xFF data byte. A netcat-style client sends raw bytes. The filter serves
    both without sending anything first: it stays byte-transparent until the client sends a
    telnet command (``IAC`` followed by 240-254), then it is a telnet client for good:

    * ``WILL x`` is answered ``DONT x`` and ``DO x`` ``WONT x``; ``WONT``/``DONT`` need no
      answer, because RFC 854 forbids acknowledging a mode one is already in, and every option
      here is off. So no negotiation loop can start.
    * Subnegotiations (``IAC SB ... IAC SE``) are discarded.
    * ``IAC BRK`` becomes a serial break; ``IAC AYT`` gets a short answer; other commands
      (NOP, GA, IP, AO, EC, EL, DM) are dropped.
    * In telnet mode ``IAC IAC`` is one 0xFF both ways (:meth:`escape`) and the NVT's ``CR NUL``
      is a plain CR to the modem.

    Before telnet is seen, ``IAC`` followed by anything else than a command (PPP's ``FF 03``)
    passes through unchanged. The one ambiguity left: a netcat client that sends ``FF`` and a
    byte 240-254 loses those two bytes; ``--transparent`` is the mode for 8-bit data.
    """

    def __init__(self) -> None:
        self.telnet = False
        """Whether the client has shown it speaks telnet."""
        self.refused = 0
        """How many option requests were refused."""
        self._state = _NORMAL
        self._verb = 0
        self._after_cr = False

    def feed(self, data: bytes) -> Filtered:
        """Filter bytes from the client. Never raises.

        Args:
            data: bytes as they came from the TCP connection.

        Returns:
            The :class:`Filtered` result.
        """
        if self._state == _NORMAL and IAC not in data:
            return Filtered(self._nvt(data))
        out = bytearray()
        reply = bytearray()
        breaks = 0
        for byte in data:
            state = self._state
            if state == _NORMAL:
                if byte == IAC:
                    self._state = _IAC_SEEN
                else:
                    out.append(byte)
            elif state == _IAC_SEEN:
                self._state = _NORMAL
                if byte == IAC:
                    out += b"\xff" if self.telnet else b"\xff\xff"
                elif byte in (WILL, WONT, DO, DONT):
                    self.telnet = True
                    self._verb = byte
                    self._state = _NEGOTIATE
                elif byte == SB:
                    self.telnet = True
                    self._state = _SUB
                elif byte >= SE:
                    self.telnet = True
                    if byte == BRK:
                        breaks += 1
                    elif byte == AYT:
                        reply += b"\r\n[pyppp-share: yes]\r\n"
                else:
                    out += bytes((IAC, byte))  # not telnet: a raw client's 0xFF
            elif state == _NEGOTIATE:
                self._state = _NORMAL
                if self._verb in (WILL, DO):
                    self.refused += 1
                    reply += bytes((IAC, DONT if self._verb == WILL else WONT, byte))
            elif state == _SUB:
                if byte == IAC:
                    self._state = _SUB_IAC
            else:  # _SUB_IAC: IAC SE ends it, IAC IAC is a data byte inside it
                self._state = _NORMAL if byte == SE else _SUB
        return Filtered(self._nvt(bytes(out)), bytes(reply), breaks)

    def escape(self, data: bytes) -> bytes:
        """Prepare modem bytes for the client: double 0xFF once the client speaks telnet."""
        if self.telnet and b"\xff" in data:
            return data.replace(b"\xff", b"\xff\xff")
        return data

    def _nvt(self, data: bytes) -> bytes:
        # RFC 854: "CR NUL" is a bare carriage return in NVT; the modem wants just the CR.
        if not self.telnet or not data:
            return data
        if self._after_cr and data[0] == 0:
            data = data[1:]
        if b"\r\x00" in data:
            data = data.replace(b"\r\x00", b"\r")
        if data:
            self._after_cr = data[-1] == 0x0D
        return data


# == Access control (tcp-wrappers style) =======================================================


@dataclasses.dataclass(frozen=True, slots=True)
class HostsRule:
    """One ``daemon_list : client_list [: option ...]`` line of ``hosts.allow``/``hosts.deny``.

    Attributes:
        daemons: the daemon list's words, ``EXCEPT`` included.
        clients: the client list's words, ``EXCEPT`` included.
        verdict: ``True``/``False`` when the line carries an ``allow``/``deny`` option (the
            hosts_options(5) form), ``None`` for the file's own meaning.
        source: ``path:line`` for log lines.
    """

    daemons: tuple[str, ...]
    clients: tuple[str, ...]
    verdict: bool | None
    source: str

    def matches(self, service: str, address: IPAddress) -> bool:
        """Return whether this rule applies to ``service`` and the client ``address``."""
        return _list_match(self.daemons, lambda w: _daemon_match(w, service)) and _list_match(
            self.clients, lambda w: _client_match(w, address)
        )


def _list_match(words: Sequence[str], match: Callable[[str], bool]) -> bool:
    # tcpd's list_match(): the first word that matches decides, unless an EXCEPT list that
    # follows it also matches; "a EXCEPT b EXCEPT c" reads "a EXCEPT (b EXCEPT c)".
    for i, word in enumerate(words):
        if word.upper() == "EXCEPT":
            return False
        if match(word):
            rest = list(words[i + 1 :])
            while rest and rest[0].upper() != "EXCEPT":
                rest.pop(0)
            return not (rest and _list_match(rest[1:], match))
    return False


def _daemon_match(word: str, service: str) -> bool:
    return word.upper() == "ALL" or word.split("@", 1)[0].lower() == service.lower()


def _client_match(word: str, address: IPAddress) -> bool:
    upper = word.upper()
    if upper == "ALL":
        return True
    if upper == "LOCAL":
        return address.is_loopback
    if word.endswith(".") and word[:-1].replace(".", "").isdigit():
        return isinstance(address, ipaddress.IPv4Address) and str(address).startswith(word)
    network = _parse_pattern_network(word)
    return network is not None and address in network


def _parse_pattern_network(word: str) -> IPNetwork | None:
    text = word
    if text.startswith("["):  # [3ffe:505:2:1::]/64
        text = text[1:].replace("]", "", 1)
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _supported_client_word(word: str) -> bool:
    return (
        word.upper() in {"ALL", "LOCAL", "EXCEPT"}
        or (word.endswith(".") and word[:-1].replace(".", "").isdigit())
        or _parse_pattern_network(word) is not None
    )


def _split_fields(line: str) -> list[str]:
    # Split on ':' except inside [IPv6] brackets.
    fields, depth, start = [], 0, 0
    for i, char in enumerate(line):
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        elif char == ":" and depth == 0:
            fields.append(line[start:i])
            start = i + 1
    fields.append(line[start:])
    return fields


def _words(field: str) -> tuple[str, ...]:
    return tuple(field.replace(",", " ").split())


def parse_hosts_file(text: str, source: str, *, logger: logging.Logger = _log) -> list[HostsRule]:
    r"""Parse ``hosts.allow``/``hosts.deny`` text (hosts_access(5)), the subset pyppp supports.

    Supported: ``#`` comment lines, ``\`` line continuation, daemon lists of ``ALL`` and
    service names (``pyppp-share``; ``name@host`` compares the name only), client lists of
    ``ALL``, ``LOCAL`` (here: a loopback address, since no names are looked up), addresses,
    ``n.n.n.`` prefixes, ``net/mask``, ``net/prefix`` and ``[v6net]/prefix``, and ``EXCEPT``
    in both lists; a trailing ``allow`` or ``deny`` option (hosts_options(5)). Not supported,
    and logged once per parse: host names and ``.domain`` patterns (no DNS lookups),
    ``KNOWN``/``UNKNOWN``/``PARANOID``, ``@netgroup``, ``user@host``, wildcards and ``/file``
    lists; they never match. Other options (``spawn``, ``twist``, ...) are ignored.

    Args:
        text: the file's content.
        source: the file's path, for log lines.
        logger: where to warn about unsupported words and malformed lines.

    Returns:
        The rules in file order.
    """
    rules: list[HostsRule] = []
    pending = ""
    first_line = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            first_line = number
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        line, pending = (pending + raw).strip(), ""
        if not line or line.startswith("#"):
            continue
        where = f"{source}:{first_line}"
        fields = _split_fields(line)
        if len(fields) < 2:
            logger.warning("%s: missing ':' separator; line ignored", where)
            continue
        daemons, clients = _words(fields[0]), _words(fields[1])
        verdict: bool | None = None
        for option in fields[2:]:
            keyword = option.strip().lower()
            if keyword in {"allow", "deny"}:
                verdict = keyword == "allow"
            elif keyword:
                logger.debug("%s: option %r ignored", where, keyword)
        for word in clients:
            if not _supported_client_word(word):
                logger.warning(
                    "%s: client pattern %r is not supported; it never matches", where, word
                )
        rules.append(HostsRule(daemons, clients, verdict, where))
    return rules


def _to_address(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclasses.dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Who may use the modem.

    Decided in this order, the first answer wins:

    1. an address in a ``deny`` network is refused (``--deny`` beats everything);
    2. a ``hosts_allow`` rule for the service grants (or refuses, with a ``deny`` option);
    3. a ``hosts_deny`` rule refuses (or grants, with an ``allow`` option);
    4. an address in an ``allow`` network is granted (default: loopback only);
    5. anything else is refused.

    Steps 2-3 are tcpd's; step 5 is stricter than tcpd, which grants what no rule names,
    because an open modem dials long distance for anybody.

    Attributes:
        allow: networks granted at step 4.
        deny: networks refused at step 1.
        hosts_allow: rules of a ``hosts.allow`` file.
        hosts_deny: rules of a ``hosts.deny`` file.
        service: the daemon name the rules are matched against.
    """

    allow: tuple[IPNetwork, ...] = LOOPBACK
    deny: tuple[IPNetwork, ...] = ()
    hosts_allow: tuple[HostsRule, ...] = ()
    hosts_deny: tuple[HostsRule, ...] = ()
    service: str = SERVICE_NAME

    def check(self, address: IPAddress | None) -> tuple[bool, str]:
        """Decide about a client.

        Args:
            address: the client's address; ``None`` for a Unix-domain peer, which is on this
                host and is judged as 127.0.0.1.

        Returns:
            ``(granted, reason)``; the reason names the rule, for the log line.
        """
        addr = _to_address(address) if address is not None else ipaddress.IPv4Address("127.0.0.1")
        for net in self.deny:
            if addr.version == net.version and addr in net:
                return False, f"denied by --deny {net}"
        for rule in self.hosts_allow:
            if rule.matches(self.service, addr):
                return rule.verdict is not False, f"rule at {rule.source}"
        for rule in self.hosts_deny:
            if rule.matches(self.service, addr):
                return rule.verdict is True, f"rule at {rule.source}"
        for net in self.allow:
            if addr.version == net.version and addr in net:
                return True, f"allowed by {net}"
        return False, "not in the allow list"

    @property
    def loopback_only(self) -> bool:
        """Whether nothing but loopback can ever be granted (then we bind to loopback only)."""
        return (
            not self.hosts_allow
            and not self.hosts_deny
            and all(
                net.network_address.is_loopback and net.broadcast_address.is_loopback
                for net in self.allow
            )
        )


# == Configuration ============================================================================


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

    def policy(self, logger: logging.Logger = _log) -> AccessPolicy:
        """Build the access policy, reading the hosts files now (tcpd reads them per call)."""

        def load(path: Path | None) -> tuple[HostsRule, ...]:
            if path is None:
                return ()
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                return ()  # tcpd: a missing file has no rules
            except OSError as exc:
                logger.error("Can't read %s: %s", path, exc.strerror)
                return ()
            return tuple(parse_hosts_file(text, str(path), logger=logger))

        return AccessPolicy(
            self.allow, self.deny, load(self.hosts_allow), load(self.hosts_deny), self.service
        )


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
            data = data.replace(b"\xff", b"\xff\xff")
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
                self._client_write(b"\r\npyppp-share: idle timeout\r\n", droppable=False)
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


def _peer_of(peername: object) -> tuple[IPAddress | None, str]:
    if isinstance(peername, tuple) and len(peername) >= 2:
        host = str(peername[0]).split("%", 1)[0]
        try:
            address = _to_address(ipaddress.ip_address(host))
        except ValueError:
            return None, f"{host}:{peername[1]}"
        label = f"[{address}]:{peername[1]}" if address.version == 6 else f"{address}:{peername[1]}"
        return address, label
    return None, "local"  # a Unix-domain socket (inetd tests, socketpair)


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
            hosts: Sequence[str | None] = self.config.bind or (
                ("127.0.0.1", "::1") if self.config.policy().loopback_only else (None,)
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
            transport.write(f"pyppp-share: {message}\r\n".encode())
        transport.close()

    def _accept(self, protocol: _ClientProtocol, transport: asyncio.Transport) -> None:
        self._protocols.add(protocol)
        address, peer = _peer_of(transport.get_extra_info("peername"))
        granted, why = self.config.policy().check(address)
        if not granted:
            self.refused += 1
            _log.warning("Refused connect from %s (%s)", peer, why)
            self._refuse(transport, None)
            return
        device = self.config.device
        if self.session is not None:
            self.busy += 1
            held = f"in use by {self.session.peer} since {self.session.since_text}"
            _log.info("Modem busy: refused %s (%s)", peer, held)
            # Upper-case BUSY, as a modem says it: a stock `ABORT BUSY` chat script stops on it.
            self._refuse(transport, f"modem {device} BUSY: {held}")
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
                detail = f"BUSY (locked by pid {exc.pid})" if exc.pid else f"unavailable ({exc})"
                self._refuse(transport, f"modem {device} {detail}")
                return
        session = Session(self, transport, peer, lock)
        try:
            session.start()
        except (OSError, ValueError) as exc:
            session.port.close()
            if lock is not None:
                lock.release()
            _log.error("Can't open %s for %s: %s", device, peer, exc)
            self._refuse(transport, f"can't open modem {device}")
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


def config_from_args(args: argparse.Namespace) -> ShareConfig:
    """Build a :class:`ShareConfig` from parsed arguments.

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
        where = ", ".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in bound)
        _log.info("Sharing %s on %s (%s)", config.device, where, config.mode)
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
