"""Run Debian's real pppd in a QEMU guest, its serial line exposed on this host.

One :class:`PppdGuest` is one QEMU process (TCG) booting the image from ``build_guest.py``:

* ``ttyS0`` is the console: QEMU writes it to a pipe that a thread here reads line by line. The
  guest's ``/init`` and the pppd hook scripts print ``PYPPP-GUEST: <EVENT> ...`` markers, busybox
  syslogd prints pppd's and chat's log (``debug`` packet traces included).
* ``ttyS1`` is the PPP line, where ``pppd /dev/ttyS1 nodetach <pppd_args>`` runs. Its host end is
  a pty (``endpoint="pty"``, :attr:`PppdGuest.device` is ``/dev/pts/N``), a unix socket QEMU
  listens on (``endpoint="unix"``) or someone else's unix socket (``connect=path``).
* ``ttyS2`` is a control channel (a unix socket QEMU listens on): :meth:`PppdGuest.signal_pppd`
  and :meth:`PppdGuest.run` send one line each to the guest's control loop.

Per-run files (``/etc/ppp/pap-secrets``, chat scripts, pppd's arguments...) travel in a small cpio
archive appended to the initramfs: the kernel unpacks both, later entries win.

At most ``PYPPP_INTEROP_MAX_GUESTS`` (default 2) guests run at once on this host, whatever the
process: each TCG guest keeps a core busy. Only the QEMU started here is ever killed, by pid.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fcntl
import io
import itertools
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import termios
import threading
import time
import tty
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from .build_guest import CpioWriter, GuestImage

MARKER = "PYPPP-GUEST: "
# How long to wait for the guest to acknowledge a control line before sending it again.
_ACK_WAIT = 3.0
#: Events the hook scripts print (pppd itself runs them).
HOOK_EVENTS = frozenset(
    {"AUTH-UP", "AUTH-DOWN", "IP-PRE-UP", "IP-UP", "IP-DOWN", "IPV6-UP", "IPV6-DOWN"}
)
# busybox syslogd: "Nov 21 13:09:04 pppd-guest local2.debug pppd[100]: sent [LCP ConfReq ...]"
_SYSLOG = re.compile(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ \w+\.(\w+) ([\w.-]+)\[(\d+)\]: (.*)$")
_PTY = re.compile(r"char device redirected to (/dev/\S+) \(label line\)")

FileContent = str | bytes | tuple[str | bytes, int]


class GuestError(RuntimeError):
    """The guest did not do what was expected (crashed, pppd exited early, QEMU failed)."""


@dataclasses.dataclass(frozen=True)
class Event:
    """One ``PYPPP-GUEST:`` marker from the guest.

    Attributes:
        name: the event, e.g. ``"IP-UP"``, ``"PPPD-EXIT"``, ``"CMD-OUT"``.
        text: the rest of the line after the name.
        t: host seconds since QEMU was started.
        fields: the ``key=value`` words of ``text`` (``local``, ``remote``, ``peer``...).
    """

    name: str
    text: str
    t: float
    fields: Mapping[str, str]

    @property
    def words(self) -> list[str]:
        """The whitespace-separated words of :attr:`text`."""
        return self.text.split()


@dataclasses.dataclass(frozen=True)
class CommandResult:
    """Outcome of a guest command: exit status and its output lines (stdout + stderr)."""

    status: int
    output: list[str]

    @property
    def text(self) -> str:
        """The output as one string."""
        return "\n".join(self.output)


class Line:
    """Raw byte access to the host end of the guest's PPP line (a pty or a unix socket)."""

    def __init__(self, fd: int, sock: socket.socket | None = None) -> None:
        self._fd = fd
        self._sock = sock

    def fileno(self) -> int:
        """The file descriptor (for select/asyncio)."""
        return self._fd

    def write(self, data: bytes) -> None:
        """Write all of ``data``."""
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def read(self, timeout: float) -> bytes:
        """Return what arrives within ``timeout`` seconds (b"" if nothing or closed)."""
        ready, _, _ = select.select([self._fd], [], [], max(timeout, 0.0))
        if not ready:
            return b""
        try:
            return os.read(self._fd, 65536)
        except OSError:  # EIO: the pty's other side (QEMU) went away
            return b""

    def close(self) -> None:
        """Close the descriptor."""
        if self._sock is not None:
            self._sock.close()
        else:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = -1

    def __enter__(self) -> Line:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_pty_raw(path: str, flags: int = 0) -> int:
    """Open a tty (``os.open`` ``flags`` added) in raw mode, no echo (:func:`make_raw`)."""
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | flags)
    make_raw(fd)
    return fd


def make_raw(fd: int) -> None:
    """Put the tty ``fd`` in raw mode without echo: an echo would look like a looped-back line."""
    tty.setraw(fd, termios.TCSANOW)
    attrs = termios.tcgetattr(fd)
    attrs[3] &= ~(termios.ECHO | termios.ECHONL)
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


class _Slot:
    """A host-wide limit on concurrent guests: one flock'ed file per slot."""

    def __init__(self) -> None:
        self._file: io.TextIOWrapper | None = None

    def acquire(self, timeout: float) -> None:
        limit = max(1, int(os.environ.get("PYPPP_INTEROP_MAX_GUESTS", "2")))
        directory = Path(tempfile.gettempdir()) / "pyppp-interop-slots"
        directory.mkdir(exist_ok=True)
        deadline = time.monotonic() + timeout
        while True:
            for i in range(limit):
                f = (directory / f"slot-{i}").open("a")
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    f.close()
                    continue
                self._file = f
                return
            if time.monotonic() > deadline:
                raise GuestError(f"no free guest slot after {timeout:.0f} s ({limit} in use)")
            time.sleep(0.2)

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the flock
            self._file = None


class PppdGuest:
    """Boot a guest that runs ``pppd /dev/ttyS1 nodetach <pppd_args>``.

    Use as a context manager (or call :meth:`start` and :meth:`close`)::

        with PppdGuest(["115200", "noauth", "local", "10.99.1.1:10.99.1.2", "debug"],
                       cmd="ping -c 3 10.99.1.2", image=image) as guest:
            run_my_peer(guest.device)
            guest.wait_event("IP-UP", timeout=60)
            assert guest.wait(60) == 5 and guest.cmd_status == 0

    Args:
        pppd_args: pppd's options after ``/dev/ttyS1 nodetach``. ``/etc/ppp/options`` is empty
            unless ``files`` supplies one, so only these apply.
        image: the built guest (from the ``interop_image`` fixture or ``ensure_guest()``).
        files: guest path -> content (str or bytes, or ``(content, mode)``). Paths ending in
            ``secrets`` get mode 0600, content starting with ``#!`` 0755, the rest 0644.
        cmd: a busybox ``sh`` script run in the guest once ``cmd_after`` happened; its output
            and status are in :attr:`cmd_output` / :attr:`cmd_status`.
        cmd_after: ``"ip-up"``, ``"ipv6-up"``, ``"auth-up"`` or ``"start"`` (right away).
        after_cmd: ``"stop"`` SIGTERMs pppd once ``cmd`` is done (pppd sends an LCP
            Terminate-Request); ``"wait"`` leaves pppd running.
        endpoint: ``"pty"`` (default) or ``"unix"`` (QEMU listens on :attr:`device`).
        wait_client: with ``"unix"``: QEMU does not start the guest before a client connects,
            so nothing pppd sends is lost (default). Without it, bytes sent while no client
            is connected are dropped, as on an unplugged line.
        hold_line: with ``"pty"``: keep the pty slave open from the start (default), so QEMU
            sees a connected line and keeps everything pppd sends until someone reads it.
        connect: connect ttyS1 to this unix socket instead (e.g. another guest's ``device``).
        linger: keep the guest running after pppd exits (the line stays open and silent)
            until :meth:`close`; otherwise it powers off.
        timeout: hard limit in seconds for the whole run; then QEMU is killed.
        keep_run_dir: keep the run directory (console.log, qemu.err) after :meth:`close`;
            also set by ``PYPPP_INTEROP_KEEP=1``.
        accel: QEMU accelerator (``PYPPP_INTEROP_ACCEL``, default ``tcg``; KVM does not
            work on every host even when /dev/kvm exists).
        memory_mb: guest memory.
    """

    def __init__(
        self,
        pppd_args: Sequence[str],
        *,
        image: GuestImage,
        files: Mapping[str, FileContent] | None = None,
        cmd: str | None = None,
        cmd_after: Literal["ip-up", "ipv6-up", "auth-up", "start"] = "ip-up",
        after_cmd: Literal["stop", "wait"] = "stop",
        endpoint: Literal["pty", "unix"] = "pty",
        wait_client: bool = True,
        hold_line: bool = True,
        connect: str | None = None,
        linger: bool = False,
        timeout: float = 120.0,
        keep_run_dir: bool = False,
        accel: str | None = None,
        memory_mb: int = 192,
    ) -> None:
        for arg in pppd_args:
            if "\n" in arg:
                raise ValueError(f"pppd argument with a newline: {arg!r}")
        if cmd_after not in ("ip-up", "ipv6-up", "auth-up", "start"):
            raise ValueError(f"bad cmd_after {cmd_after!r}")
        if after_cmd not in ("stop", "wait"):
            raise ValueError(f"bad after_cmd {after_cmd!r}")
        if endpoint not in ("pty", "unix"):
            raise ValueError(f"bad endpoint {endpoint!r}")
        self.pppd_args = list(pppd_args)
        self.image = image
        self.files = dict(files or {})
        self.cmd = cmd
        self.cmd_after = cmd_after
        self.after_cmd = after_cmd
        self.endpoint = endpoint
        self.wait_client = wait_client
        self.hold_line = hold_line
        self.connect_to = connect
        self.linger = linger
        self.timeout = timeout
        self.keep_run_dir = keep_run_dir or os.environ.get("PYPPP_INTEROP_KEEP") == "1"
        self.accel = accel or os.environ.get("PYPPP_INTEROP_ACCEL", "tcg")
        self.memory_mb = memory_mb

        #: Host end of ttyS1: ``/dev/pts/N`` or a unix socket path.
        self.device = ""
        self.run_dir: Path | None = None
        self.timed_out = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._slot = _Slot()
        self._cond = threading.Condition()
        self._lines: list[str] = []
        self._events: list[Event] = []
        self._eof = False
        self._t0 = 0.0
        self._t_end: float | None = None
        self._reader: threading.Thread | None = None
        self._watchdog: threading.Timer | None = None
        self._held_fd = -1
        self._ctl: socket.socket | None = None
        self._ctl_lock = threading.Lock()
        self._cmd_ids = itertools.count(1)

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> PppdGuest:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start QEMU and wait until the line's host end exists (not for the boot)."""
        self._slot.acquire(timeout=max(self.timeout, 600.0))
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        run = Path(tempfile.mkdtemp(prefix="pyppp-guest-"))
        self.run_dir = run
        initrd = run / "initrd.cpio"
        shutil.copyfile(self.image.initramfs, initrd)
        with initrd.open("ab") as f:
            self._write_overlay(f)
        line_sock = run / "line.sock"
        if self.connect_to:
            line = f"socket,id=line,path={self.connect_to},reconnect=1"
        elif self.endpoint == "unix":
            wait = "on" if self.wait_client else "off"
            line = f"socket,id=line,path={line_sock},server=on,wait={wait}"
        else:
            line = "pty,id=line"
        args = [
            "qemu-system-x86_64", "-accel", self.accel, "-M", "pc", "-m", str(self.memory_mb),
            "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-kernel", str(self.image.kernel), "-initrd", str(initrd),
            "-append", "console=ttyS0,115200 panic=-1 quiet",
            "-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
            "-chardev", line, "-serial", "chardev:line",
            "-chardev", f"socket,id=ctl,path={run / 'ctl.sock'},server=on,wait=off",
            "-serial", "chardev:ctl",
        ]  # fmt: skip
        with (run / "qemu.err").open("wb") as err:
            self._t0 = time.monotonic()
            self._proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err
            )
        self._reader = threading.Thread(target=self._read_console, daemon=True)
        self._reader.start()
        self._watchdog = threading.Timer(self.timeout, self._on_timeout)
        self._watchdog.daemon = True
        self._watchdog.start()

        deadline = time.monotonic() + 20
        while not self.device:
            if self.connect_to:
                self.device = self.connect_to
            elif self.endpoint == "unix":
                if line_sock.exists():
                    self.device = str(line_sock)
            else:
                with self._cond:
                    for text in self._lines:
                        if m := _PTY.search(text):
                            self.device = m[1]
            if self.device:
                break
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise GuestError(f"QEMU did not create the serial line: {self._qemu_err()}")
            time.sleep(0.02)
        if self.endpoint == "pty" and not self.connect_to:
            fd = open_pty_raw(self.device)
            if self.hold_line:
                self._held_fd = fd
            else:
                os.close(fd)

    def _write_overlay(self, out: io.BufferedIOBase) -> None:
        cpio = CpioWriter(out)
        made = {"etc", "etc/ppp", "etc/pyppp-guest"}
        for d in sorted(made):
            cpio.directory(d)
        cpio.file("etc/pyppp-guest/pppd.args", "".join(a + "\n" for a in self.pppd_args).encode())
        conf = f"CMD_AFTER={self.cmd_after}\nAFTER_CMD={self.after_cmd}\n"
        conf += f"LINGER={int(self.linger)}\n"
        cpio.file("etc/pyppp-guest/run.conf", conf.encode())
        if self.cmd is not None:
            cpio.file("etc/pyppp-guest/cmd", self.cmd.encode() + b"\n")
        for path, content in sorted(self.files.items()):
            if not path.startswith("/") or ".." in path.split("/"):
                raise ValueError(f"guest file paths must be absolute: {path!r}")
            mode = None
            if isinstance(content, tuple):
                content, mode = content
            data = content.encode() if isinstance(content, str) else content
            if mode is None:
                mode = 0o600 if path.endswith("secrets") else 0o755 if data[:2] == b"#!" else 0o644
            rel = path.strip("/")
            parts = rel.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in made:
                    made.add(d)
                    cpio.directory(d)
            cpio.file(rel, data, mode)
        cpio.close()

    def close(self) -> None:
        """Stop QEMU (ours, by pid) if it still runs, and remove the run directory."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._reader is not None:
            self._reader.join(5)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None
        if self._held_fd >= 0:
            os.close(self._held_fd)
            self._held_fd = -1
        if self.run_dir is not None and self.run_dir.exists():
            if self.keep_run_dir:
                (self.run_dir / "console.log").write_text(self.console())
                (self.run_dir / "initrd.cpio").unlink(missing_ok=True)
            else:
                shutil.rmtree(self.run_dir, ignore_errors=True)
        self._slot.release()

    def _on_timeout(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            self.timed_out = True
            proc.kill()

    def _qemu_err(self) -> str:
        if self.run_dir is None:
            return ""
        with contextlib.suppress(OSError):
            return (self.run_dir / "qemu.err").read_text(errors="replace").strip()
        return ""

    # ------------------------------------------------------------------ console

    def _read_console(self) -> None:
        assert self._proc is not None
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            text = raw.decode("utf-8", "replace").rstrip("\r\n").replace("\r", "")
            now = time.monotonic() - self._t0
            with self._cond:
                self._lines.append(text)
                pos = text.find(MARKER)
                if pos >= 0:
                    name, _, rest = text[pos + len(MARKER) :].partition(" ")
                    fields = dict(re.findall(r"([\w-]+)=(\S*)", rest))
                    self._events.append(Event(name, rest, now, fields))
                self._cond.notify_all()
        self._proc.wait()
        with self._cond:
            self._eof = True
            self._t_end = time.monotonic() - self._t0
            self._cond.notify_all()

    def _wait_for(self, pick: Callable[[], object], timeout: float, what: str) -> object:
        """Wait until ``pick()`` returns something other than None; raise on timeout/exit."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = pick()
                if found is not None:
                    return found
                if self._eof:
                    reason = "timed out (QEMU killed)" if self.timed_out else "ended"
                    raise GuestError(f"guest {reason} before {what}\n{self._tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {what} within {timeout:.0f} s\n{self._tail()}")
                self._cond.wait(left)

    def _tail(self, n: int = 40) -> str:
        return "--- guest console (last lines) ---\n" + "\n".join(self._lines[-n:])

    def console(self) -> str:
        """The whole console text so far (kernel messages, markers, syslog)."""
        with self._cond:
            return "\n".join(self._lines)

    @property
    def events(self) -> list[Event]:
        """All markers so far, in order."""
        with self._cond:
            return list(self._events)

    def syslog(self, program: str | None = None) -> list[tuple[str, str, str]]:
        """Guest syslog lines as (program, level, message), optionally for one program."""
        out = []
        with self._cond:
            for text in self._lines:
                m = _SYSLOG.match(text)
                if m and (program is None or m[2] == program):
                    out.append((m[2], m[1], m[4]))
        return out

    def pppd_log(self) -> list[str]:
        """pppd's own log messages, e.g. ``"sent [LCP ConfReq id=0x1 <asyncmap 0x0> ...]"``."""
        return [msg for _prog, _level, msg in self.syslog("pppd")]

    def wait_event(
        self,
        name: str,
        timeout: float = 60.0,
        *,
        nth: int = 1,
        where: Callable[[Event], bool] | None = None,
    ) -> Event:
        """Return the ``nth`` event called ``name`` (past or future) that ``where`` accepts.

        Raises:
            TimeoutError: not within ``timeout`` seconds.
            GuestError: the guest ended, or pppd exited before a hook event could come.
        """

        def pick() -> Event | None:
            hits = [e for e in self._events if e.name == name and (where is None or where(e))]
            if len(hits) >= nth:
                return hits[nth - 1]
            if name in HOOK_EVENTS and any(e.name == "PPPD-EXIT" for e in self._events):
                raise GuestError(f"pppd exited before {name}\n{self._tail()}")
            return None

        found = self._wait_for(pick, timeout, f"{name} event")
        assert isinstance(found, Event)
        return found

    def wait_log(
        self, pattern: str, timeout: float = 60.0, *, program: str = "pppd"
    ) -> re.Match[str]:
        """Wait for a log line of ``program`` matching the regex ``pattern``; return the match."""
        regex = re.compile(pattern)

        def pick() -> re.Match[str] | None:
            for text in self._lines:
                m = _SYSLOG.match(text)
                if m and m[2] == program and (hit := regex.search(m[4])):
                    return hit
            return None

        found = self._wait_for(pick, timeout, f"{program} log line /{pattern}/")
        assert isinstance(found, re.Match)
        return found

    def wait(self, timeout: float = 60.0) -> int:
        """Wait for pppd to exit and return its exit status (pppd(8) "EXIT STATUS")."""
        return int(self.wait_event("PPPD-EXIT", timeout).words[0])

    def wait_poweroff(self, timeout: float = 30.0) -> None:
        """Wait for QEMU to exit by itself (the guest powers off after pppd unless lingering)."""
        self._wait_for(lambda: True if self._eof else None, timeout, "QEMU exit")

    # ------------------------------------------------------------------ results

    def _first(self, name: str) -> Event | None:
        with self._cond:
            return next((e for e in self._events if e.name == name), None)

    @property
    def pppd_exit(self) -> int | None:
        """pppd's exit status, or None while it runs."""
        e = self._first("PPPD-EXIT")
        return int(e.words[0]) if e else None

    @property
    def cmd_status(self) -> int | None:
        """Exit status of ``cmd``, or None if it has not finished (or never ran)."""
        with self._cond:
            for e in self._events:
                if e.name == "CMD-EXIT" and e.words[0] == "main":
                    return int(e.words[1])
        return None

    @property
    def cmd_output(self) -> list[str]:
        """Output lines of ``cmd`` so far."""
        return self._command_output("main")

    def _command_output(self, cid: str) -> list[str]:
        with self._cond:
            return [
                e.text.partition(" ")[2]
                for e in self._events
                if e.name == "CMD-OUT" and e.words[:1] == [cid]
            ]

    def _seconds(self, name: str) -> float | None:
        e = self._first(name)
        return e.t if e else None

    @property
    def boot_seconds(self) -> float | None:
        """Host seconds from QEMU's start to the guest's /init."""
        return self._seconds("BOOTED")

    @property
    def pppd_start_seconds(self) -> float | None:
        """Host seconds from QEMU's start to pppd's start."""
        return self._seconds("PPPD-START")

    @property
    def link_up_seconds(self) -> float | None:
        """Host seconds from QEMU's start to the first IP-UP (IPCP opened)."""
        return self._seconds("IP-UP")

    @property
    def total_seconds(self) -> float:
        """Host seconds from QEMU's start to its exit (or until now)."""
        with self._cond:
            if self._t_end is not None:
                return self._t_end
        return time.monotonic() - self._t0

    # ------------------------------------------------------------------ control channel

    def _control(self, line: str, timeout: float) -> None:
        self.wait_event("CONTROL-READY", timeout)
        assert self.run_dir is not None
        with self._ctl_lock:
            if self._ctl is None:
                self._ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self._ctl.connect(str(self.run_dir / "ctl.sock"))
            self._ctl.sendall(line.encode() + b"\n")

    def signal_pppd(self, sig: str | int = "TERM", timeout: float = 30.0) -> None:
        """Send pppd a signal: ``"TERM"`` to terminate the link cleanly, ``"KILL"`` to make it
        vanish without a Terminate-Request (a dead peer), ``"HUP"``, ``"USR1"``...
        """
        name = signal.Signals(sig).name[3:] if isinstance(sig, int) else sig.upper()
        sid = f"s{next(self._cmd_ids)}"
        e = self._acknowledged(
            f"signal {sid} {name}",
            lambda x: x.name.startswith("SIGNAL") and x.words[:1] == [sid],
            timeout,
            f"signal {name} delivery",
        )
        if e.name != "SIGNALLED":
            raise GuestError(f"could not signal pppd ({name}): has it exited?")

    def _acknowledged(
        self, line: str, ack: Callable[[Event], bool], timeout: float, what: str
    ) -> Event:
        """Send a control line until the guest acknowledges it (the line can get lost)."""
        deadline = time.monotonic() + timeout
        while True:
            self._control(line, max(1.0, deadline - time.monotonic()))
            try:
                found = self._wait_for(
                    lambda: next((e for e in self._events if ack(e)), None),
                    min(_ACK_WAIT, max(0.1, deadline - time.monotonic())),
                    what,
                )
                assert isinstance(found, Event)
                return found
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"no {what} within {timeout:.0f} s\n{self._tail()}"
                    ) from None

    def spawn(self, cmd: str, timeout: float = 30.0) -> str:
        """Start a busybox ``sh`` script in the guest now; return its id for :meth:`result`."""
        cid = f"c{next(self._cmd_ids)}"
        self._acknowledged(
            f"run {cid} {base64.b64encode(cmd.encode()).decode()}",
            lambda x: x.name == "CMD-START" and x.words[:1] == [cid],
            timeout,
            f"start of command {cid}",
        )
        return cid

    def result(self, cid: str, timeout: float = 60.0) -> CommandResult:
        """Wait for a spawned command to finish; return its status and output."""
        e = self.wait_event("CMD-EXIT", timeout, where=lambda x: x.words[:1] == [cid])
        return CommandResult(int(e.words[1]), self._command_output(cid))

    def run(self, cmd: str, timeout: float = 60.0) -> CommandResult:
        """Run a busybox ``sh`` script in the guest and wait for it (see :meth:`spawn`)."""
        return self.result(self.spawn(cmd, timeout), timeout)

    def open_line(self) -> Line:
        """Open the host end of the PPP line for raw bytes (pty raw mode, or a socket client)."""
        if self.endpoint == "pty" and not self.connect_to:
            return Line(open_pty_raw(self.device))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.device)
        return Line(sock.fileno(), sock)

    def summary(self) -> str:
        """One line of timings, for test output and the README figures."""

        def fmt(v: float | None) -> str:
            return "-" if v is None else f"{v:.2f}s"

        return (
            f"boot={fmt(self.boot_seconds)} pppd_start={fmt(self.pppd_start_seconds)} "
            f"link_up={fmt(self.link_up_seconds)} total={fmt(self.total_seconds)} "
            f"pppd_exit={self.pppd_exit}"
        )
