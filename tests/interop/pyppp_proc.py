"""Run ``pyppp serve`` / ``pyppp dial`` as a real process for the interop scenarios.

One :class:`PypppProcess` is one ``python -m pyppp serve|dial DEVICE ...`` process, started in
a network namespace of its own (``ip netns add``), so the TUN interface it creates (``pppN``)
clashes with nothing on the host and the guest's traffic (ping, nc) reaches an address that
exists only there. Each process gets a fresh temporary ``--config-dir`` holding the ``files``
given (``pap-secrets``, ``chap-secrets``, ``options``...; an empty ``options`` otherwise) and
``HOME`` pointing at it, so the host's ``/etc/ppp`` and ``~/.ppprc`` never leak in.

Typical use (see ``test_matrix_basic.py``)::

    guest = pppd_guest(["noauth", "10.99.1.1:10.99.1.2", "debug"], ...)
    with PypppProcess("dial", guest.device, ["noauth", "debug"]) as peer:
        guest.wait_event("IP-UP", 30)
        peer.wait_log(r"remote IP address 10\\.99\\.1\\.1", 10)
        assert peer.netns_run(["ping", "-c", "2", "10.99.1.1"]).returncode == 0
        peer.stop()                      # SIGTERM by pid
        assert peer.wait(10) == 5        # pppd's "terminated by signal" status
    peer.log()                           # every stderr/stdout line, in order

The ``pyppp_process`` fixture in ``conftest.py`` is a factory with the same arguments that
closes every process at teardown and prints their logs when the test failed.

Needs root (``ip netns``). Only the process started here is ever signalled, by its pid; the
namespace and the config directory are removed by :meth:`PypppProcess.close`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NoReturn

from tests.loglines import wait_line

from .harness import make_raw, open_pty_raw

if TYPE_CHECKING:
    from .harness import CommandResult, PppdGuest

__all__ = ["LineTap", "PypppProcess", "guest_run", "guest_spawn", "netns_available"]

_COUNTER = itertools.count(1)
_REPO = Path(__file__).resolve().parents[2]

FileContent = str | bytes | tuple[str | bytes, int]


def netns_available() -> str | None:
    """Return why pyppp processes cannot run here (not root, no ``ip``), or None if they can."""
    if os.geteuid() != 0:
        return "pyppp processes need root (ip netns, TUN)"
    if shutil.which("ip") is None:
        return "`ip` (iproute2) not found"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun missing"
    return None


class PypppProcess:
    """A ``pyppp serve`` or ``pyppp dial`` process in its own network namespace.

    Args:
        mode: ``"serve"`` or ``"dial"``.
        device: the serial device (the guest's pty, ``guest.device``).
        words: pppd option words after the device (``["noauth", "debug", "10.99.1.2:"]``).
        auth: ``serve --auth`` (``"pap"``, ``"chap"``, ``"login"``, ``"none"``).
        user: ``dial --user``.
        password: ``dial --password``.
        files: files for the config directory, by name relative to it
            (``{"pap-secrets": "..."}``); ``(content, mode)`` to choose the mode, else names
            ending in ``secrets`` get 0600 and the rest 0644.
        extra_args: more command-line arguments, inserted before the device.
        start: start at once (default); otherwise call :meth:`start`.

    Attributes:
        netns: the namespace's name.
        config_dir: the temporary ``--config-dir``.
        argv: the command line run inside the namespace.
        started_at: ``time.monotonic()`` when the process was started.
    """

    def __init__(
        self,
        mode: Literal["serve", "dial"],
        device: str,
        words: Sequence[str] = (),
        *,
        auth: str | None = None,
        user: str | None = None,
        password: str | None = None,
        files: Mapping[str, FileContent] | None = None,
        extra_args: Sequence[str] = (),
        start: bool = True,
    ) -> None:
        self.netns = f"pyppp-interop-{os.getpid()}-{next(_COUNTER)}"
        self.config_dir = Path(tempfile.mkdtemp(prefix="pyppp-interop-etc-"))
        files = dict(files or {})
        files.setdefault("options", "")
        for name, content in files.items():
            if isinstance(content, tuple):
                data, mode_bits = content
            else:
                data, mode_bits = content, 0o600 if name.endswith("secrets") else 0o644
            path = self.config_dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data.encode() if isinstance(data, str) else data)
            path.chmod(mode_bits)
        argv = [sys.executable, "-m", "pyppp", mode, "--config-dir", str(self.config_dir)]
        if auth is not None:
            argv += ["--auth", auth]
        if user is not None:
            argv += ["--user", user]
        if password is not None:
            argv += ["--password", password]
        # nodetach: pppd's (and pyppp's) default is to go into the background.
        argv += [*extra_args, device, *words, "nodetach"]
        self.argv = argv
        self.started_at: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lines: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._readers: list[threading.Thread] = []
        self._netns_made = False
        self._exit: int | None = None
        if start:
            self.start()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Create the namespace (loopback up) and start the process in it."""
        subprocess.run(["ip", "netns", "add", self.netns], check=True, capture_output=True)
        self._netns_made = True
        self.netns_run(["ip", "link", "set", "lo", "up"], check=True)
        env = dict(os.environ)
        env["HOME"] = str(self.config_dir)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(_REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        env["PYTHONUNBUFFERED"] = "1"
        self.started_at = time.monotonic()
        # `ip netns exec` execs the command: the pid below is pyppp's own.
        self._proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, *self.argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=str(self.config_dir),
        )
        for stream in (self._proc.stdout, self._proc.stderr):
            assert stream is not None
            reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
            reader.start()
            self._readers.append(reader)

    def _read(self, stream: object) -> None:
        assert hasattr(stream, "readline")
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._cond:
                self._lines.append((time.monotonic(), line))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def pid(self) -> int:
        """pyppp's process id."""
        assert self._proc is not None, "not started"
        return self._proc.pid

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Send ``sig`` (default SIGTERM: pyppp terminates the link as pppd does) by pid."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, sig)

    def wait(self, timeout: float = 30) -> int:
        """Wait for the process to exit; return its status (pppd's; ``128+N`` for signal N).

        Raises:
            TimeoutError: still running after ``timeout`` seconds (with the log's tail).
        """
        assert self._proc is not None, "not started"
        try:
            status = self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(
                f"pyppp still running after {timeout} s; log tail:\n{self._tail()}"
            ) from None
        for reader in self._readers:
            reader.join(5)
        self._exit = 128 - status if status < 0 else status
        return self._exit

    @property
    def returncode(self) -> int | None:
        """The exit status if the process has ended, else None."""
        if self._proc is None or self._proc.poll() is None:
            return None
        status = self._proc.returncode
        return 128 - status if status < 0 else status

    def close(self) -> None:
        """Kill the process if still running (SIGTERM, then SIGKILL), remove netns and files."""
        if self._proc is not None and self._proc.poll() is None:
            self.stop(signal.SIGTERM)
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self.stop(signal.SIGKILL)
                self._proc.wait(5)
        for reader in self._readers:
            reader.join(2)
        for stream in (self._proc.stdout, self._proc.stderr) if self._proc is not None else ():
            if stream is not None:
                stream.close()
        if self._netns_made:
            subprocess.run(["ip", "netns", "delete", self.netns], capture_output=True)
            self._netns_made = False
        shutil.rmtree(self.config_dir, ignore_errors=True)

    def __enter__(self) -> PypppProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- logs ----------------------------------------------------------------------------------

    def log(self) -> list[str]:
        """Every line pyppp printed so far (stderr and stdout, in arrival order)."""
        with self._cond:
            return [line for _, line in self._lines]

    def log_text(self) -> str:
        """:meth:`log` as one string."""
        return "\n".join(self.log())

    def _tail(self, n: int = 40) -> str:
        return "\n".join(self.log()[-n:])

    def wait_log(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """Wait until a log line matches ``pattern`` (``re.search``); return the match.

        Returns at once if an earlier line matches.

        Raises:
            TimeoutError: no match within ``timeout`` (with the log's tail).
            RuntimeError: the process exited without printing a matching line.
        """

        def fail(ended: bool) -> NoReturn:
            if ended:
                raise RuntimeError(
                    f"pyppp exited ({self.returncode}) without a line matching "
                    f"{pattern!r}; log tail:\n{self._tail()}"
                )
            raise TimeoutError(
                f"no pyppp log line matching {pattern!r} in {timeout} s; log tail:\n{self._tail()}"
            )

        def ended() -> bool:
            exited = self._proc is not None and self._proc.poll() is not None
            return exited and all(not r.is_alive() for r in self._readers)

        return wait_line(self._cond, self._lines, pattern, timeout, ended=ended, fail=fail)[1]

    def log_time(self, pattern: str) -> float | None:
        """Seconds from :meth:`start` to the first line matching ``pattern`` (None if none)."""
        regex = re.compile(pattern)
        with self._cond:
            for t, line in self._lines:
                if regex.search(line) and self.started_at is not None:
                    return t - self.started_at
        return None

    def count(self, pattern: str) -> int:
        """How many log lines match ``pattern``."""
        regex = re.compile(pattern)
        return sum(1 for line in self.log() if regex.search(line))

    # -- the namespace -------------------------------------------------------------------------

    def netns_run(
        self, cmd: Sequence[str], *, timeout: float = 60, check: bool = False, input: bytes = b""
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``cmd`` in the namespace (``ip netns exec``); return the completed process."""
        return subprocess.run(
            ["ip", "netns", "exec", self.netns, *cmd],
            input=input,
            capture_output=True,
            timeout=timeout,
            check=check,
        )

    def netns_popen(self, cmd: Sequence[str], **kwargs: object) -> subprocess.Popen[bytes]:
        """Start ``cmd`` in the namespace; the caller waits for it (or kills it by pid)."""
        return subprocess.Popen(["ip", "netns", "exec", self.netns, *cmd], **kwargs)  # type: ignore[call-overload, no-any-return]


# -- guest commands that survive a lost control line ---------------------------------------------


def guest_spawn(guest: PppdGuest, cmd: str) -> str:
    """``guest.spawn(cmd)``: the harness resends a control line the guest did not take."""
    return guest.spawn(cmd)


def guest_run(guest: PppdGuest, cmd: str, timeout: float = 60) -> CommandResult:
    """``guest.run(cmd)``: wait for the command; its result."""
    return guest.run(cmd, timeout)


# -- a recording relay on the serial line ---------------------------------------------------------


class LineTap:
    """A relay between pyppp and the guest's line that records the raw bytes each way.

    pyppp opens :attr:`device` (a new pty) instead of the guest's; a thread copies bytes both
    ways and keeps them in :attr:`to_guest` (what pyppp sent, HDLC-escaped as on the wire)
    and :attr:`to_pyppp`. Use it to check what the other tests cannot see: which bytes pyppp
    escapes (ACCM), whether frames carry the address/control field (ACFC).

    Open it before starting pyppp; :meth:`close` stops the thread and closes everything.
    """

    def __init__(self, guest_device: str) -> None:
        self._guest = open_pty_raw(guest_device)
        self._master, self._slave = os.openpty()
        # Raw and silent from the start: an echo would send pppd's bytes straight back.
        make_raw(self._slave)
        #: The pty for pyppp (its slave end stays open here too, so the relay never sees EIO
        #: while pyppp opens or closes it).
        self.device = os.ttyname(self._slave)
        self.to_guest = bytearray()
        self.to_pyppp = bytearray()
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._relay, daemon=True)
        self._thread.start()

    def _relay(self) -> None:
        routes = {
            self._master: (self._guest, self.to_guest),
            self._guest: (self._master, self.to_pyppp),
        }
        while True:
            ready, _, _ = select.select([self._master, self._guest, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    return
                out, record = routes[fd]
                record += data
                view = memoryview(data)
                while view:
                    view = view[os.write(out, view) :]

    def close(self) -> None:
        """Stop the relay and close the descriptors."""
        os.write(self._stop_w, b"x")
        self._thread.join(5)
        for fd in (self._guest, self._master, self._slave, self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> LineTap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
