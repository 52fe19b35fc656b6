"""pppd's process habits: detaching into the background, pid files, systemd readiness.

**Detaching.** pppd forks into the background unless ``nodetach`` (``-detach``) is given, or
only once the link is up with ``updetach``. pyppp forks *before* its event loop starts (no
threads exist yet, so the fork is safe) and keeps the parent waiting on a pipe: the child says
when it has detached (the device is open; with ``updetach``, IP is up) and the parent exits 0;
if the child ends first, the parent exits with the child's status. So every error before the
detach point reaches the caller with pppd's exit status, and the background process is the
child from the start: its pid is the one in the pid files. While the parent waits, it passes
the signals it gets on to the child (which is in a session of its own).

**Pid files**, as pppd 2.4.9 writes them: ``/run/<ifname>.pid`` with the pid once the interface
exists, and with ``linkname`` ``/run/ppp-<linkname>.pid`` with the pid and, on a second line,
the interface name; both are removed when the link ends and on every exit.

**systemd**: ``up_sdnotify`` sends ``READY=1`` to ``$NOTIFY_SOCKET`` once IP is up, as pppd's
``sd_notify(0, "READY=1")``; no libsystemd is needed for that one datagram.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Final, NoReturn

__all__ = ["DEFAULT_RUN_DIR", "Detacher", "PidFiles", "read_pid_file", "sd_notify"]

DEFAULT_RUN_DIR: Final = Path("/run")
"""Where pppd 2.4.9 on Debian writes its pid files (``_PATH_VARRUN``, /var/run -> /run)."""

_FORWARDED: Final = (
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGUSR1,
    signal.SIGUSR2,
)


class Detacher:
    """The child's end of the detach pipe (see the module docstring).

    Use :meth:`fork` to get one; :meth:`detach` when the detach point is reached.
    """

    def __init__(self, write_fd: int | None) -> None:
        self._write_fd = write_fd

    @property
    def pending(self) -> bool:
        """Whether a parent is still waiting for :meth:`detach`."""
        return self._write_fd is not None

    @classmethod
    def fork(cls) -> Detacher:
        """Fork; return in the child only. The parent waits and exits (it never returns).

        Raises:
            OSError: the fork failed (pppd: "Couldn't detach (fork failed: %m)").
        """
        sys.stdout.flush()
        sys.stderr.flush()
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            os.setsid()  # our own session: a terminal's ^C reaches only the waiting parent
            return cls(write_fd)
        os.close(write_fd)
        _wait_for_child(pid, read_fd)

    def detach(self) -> None:
        """Detach now: standard input, output and error go to /dev/null; the parent exits 0."""
        if self._write_fd is None:
            return
        sys.stdout.flush()
        sys.stderr.flush()
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
        with contextlib.suppress(OSError):
            os.write(self._write_fd, b"\x00")
        os.close(self._write_fd)
        self._write_fd = None
        os.chdir("/")  # as pppd's detach()


def _wait_for_child(pid: int, read_fd: int) -> NoReturn:
    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in _FORWARDED:
        signal.signal(signum, forward)
    detached = False
    while True:
        try:
            data = os.read(read_fd, 1)
        except InterruptedError:  # pragma: no cover (PEP 475 retries)
            continue
        detached = bool(data)
        break
    if detached:
        os._exit(0)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            os._exit(1)
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


class PidFiles:
    """pppd's pid files (``create_pidfile``, ``create_linkpidfile``, ``remove_pidfiles``).

    Args:
        run_dir: where they go (pppd on Debian: /run).
        linkname: the ``linkname`` option, if given.
        logger: where failures are reported (pppd: "Failed to create pid file %s: %m").
    """

    def __init__(
        self, run_dir: Path, linkname: str | None, logger: logging.Logger | None = None
    ) -> None:
        self.run_dir = run_dir
        self.linkname = linkname
        self.logger = logger or logging.getLogger("pyppp")
        self._written: list[Path] = []

    def link_started(self) -> None:
        """Write the linkname file at start-up, as pppd does (before any interface exists)."""
        if self.linkname:
            self._write(self.run_dir / f"ppp-{self.linkname}.pid", f"{os.getpid()}\n")

    def interface_up(self, ifname: str) -> None:
        """The interface exists (pppd ``set_ifunit``): write both files."""
        pid = os.getpid()
        self._write(self.run_dir / f"{ifname}.pid", f"{pid}\n")
        if self.linkname:
            self._write(self.run_dir / f"ppp-{self.linkname}.pid", f"{pid}\n{ifname}\n")

    def _write(self, path: Path, text: str) -> None:
        try:
            path.write_text(text)
        except OSError as exc:
            self.logger.error("Failed to create pid file %s: %s", path, exc.strerror or exc)
            return
        if path not in self._written:
            self._written.append(path)

    def remove(self) -> None:
        """Remove every pid file written (at link end and at exit)."""
        for path in self._written:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                self.logger.warning("unable to delete pid file %s: %s", path, exc.strerror)
        self._written.clear()


def read_pid_file(path: Path) -> tuple[int, str | None] | None:
    """The pid (and interface name, for a linkname file) in a pid file; None if unusable."""
    try:
        lines = path.read_text().split()
    except (OSError, UnicodeDecodeError):
        return None
    if not lines or not lines[0].isdigit():
        return None
    return int(lines[0]), (lines[1] if len(lines) > 1 else None)


def sd_notify(state: str, logger: logging.Logger | None = None) -> bool:
    """Send ``state`` (``READY=1``) to systemd's ``$NOTIFY_SOCKET``; False if there is none."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        (logger or logging.getLogger("pyppp")).warning("sd_notify %s failed: %s", state, exc)
        return False
    return True
