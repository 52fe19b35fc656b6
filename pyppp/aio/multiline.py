"""``pyppp serve DEV1 DEV2 ...``: one process answering several lines (a modem bank).

Each line is a :class:`~pyppp.aio.supervisor.Supervisor` of its own, with the options pppd
would have for that device alone (``options``, ``~/.ppprc``, ``options.<ttyname>``, the command
line), its own lock, its own interface (``ppp0``, ``ppp1``... as the kernel hands them out; an
``ifname`` with ``%d``, ``dial%d``, is numbered the same way), its own scripts, secrets
reader, pid files and ``persist`` loop. What the lines share is the process: the event loop,
the logging set-up (every line of a line's own messages starts with its device, ``pts/3: ``),
the control socket and metrics (one observer per line), the address pool, one timer service
(:mod:`pyppp.aio.timers`: the lines' deadlines behind one loop timer, so that lines due within
a tick wake the process once) and the signals (SIGTERM, SIGINT and SIGHUP go to every line;
SIGUSR1 toggles debugging once).

**Isolation.** A line's failure ends that line only: a hang-up, a peer that fails to
authenticate, a device that cannot be opened, a script that crashes, even an exception inside
a line's supervisor (logged with its traceback) leave the other lines running; with
``persist`` each line re-arms on its own. The process ends once every line has ended; its
exit status is the first non-zero status in the order the devices were given (0 if none).

**Detaching.** As pppd, the process goes into the background once the devices are open: here
once every line's device is open (or its attempt has failed), so that every open error still
reaches the caller's terminal.

**File descriptors.** Each line holds its device, its TUN device and, briefly, a lock file, a
secrets file, a netlink socket and the pipes of a running script: :data:`FDS_PER_LINE` is the
budget per line. The soft ``RLIMIT_NOFILE`` is raised (up to the hard limit) to cover every
line; where the hard limit is too low the process says so at start-up (``ulimit -n``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pyppp import __version__
from pyppp.aio.daemon import Detacher
from pyppp.aio.logs import DEFAULT_IDENT, LogSetup
from pyppp.aio.observe import Observatory
from pyppp.aio.signals import TOGGLE_DEBUG
from pyppp.aio.supervisor import FATAL_SIGNAL_STATUS, Supervisor
from pyppp.aio.timers import TimerService
from pyppp.errors import ExitStatus
from pyppp.pppd.options import PppOptions
from pyppp.pppd.pool import AddressPool
from pyppp.pppd.values import parse_listen_address
from pyppp.util import NOTICE

__all__ = [
    "FDS_PER_LINE",
    "DetachGate",
    "LineGate",
    "MultiServer",
    "SharedProcess",
    "line_label",
    "line_loggers",
    "raise_fd_limit",
]

FDS_PER_LINE: Final = 12
"""Descriptors one line may hold at once: device, TUN, lock, secrets, netlink, script pipes."""

_PROCESS_FDS: Final = 64
"""The process's own: standard streams, the loop's, the control socket, metrics, syslog."""


@dataclass
class SharedProcess:
    """What one line of a multi-line server gets from the process.

    Attributes:
        logs: the process's logging (one set of handlers).
        observatory: the control socket and metrics for every line.
        logger: this line's logger (its messages prefixed with its device).
        trace_logger: this line's packet trace, prefixed the same way.
        pool: the ``ip-pool`` shared by the lines, if any.
        timers: the one timer service of the process: every line's link sets its deadlines
            there, and deadlines a tick apart are served by one wake-up of the process.
    """

    logs: LogSetup
    observatory: Observatory
    logger: logging.Logger
    trace_logger: logging.Logger
    pool: AddressPool | None = None
    timers: TimerService = field(default_factory=TimerService)


class _Prefix(logging.Filter):
    """Start every message of one logger with its line's label."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.prefix = label + ": "
        self.escaped = label.replace("%", "%%") + ": "  # for a message still to be formatted

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = f"{self.escaped if record.args else self.prefix}{record.msg}"
        return True


def line_label(device: str) -> str:
    """The name a line's log lines start with: the device without ``/dev/`` (``pts/3``)."""
    return device[5:] if device.startswith("/dev/") else device


def line_loggers(index: int, label: str) -> tuple[logging.Logger, logging.Logger]:
    """Return a line's logger and trace logger (children of ``pyppp``, with the prefix)."""
    logger = logging.getLogger(f"pyppp.line{index}")
    trace = logging.getLogger(f"pyppp.line{index}.trace")
    for each in (logger, trace):
        for old in list(each.filters):
            each.removeFilter(old)
        each.addFilter(_Prefix(label))
    return logger, trace


def raise_fd_limit(lines: int, logger: logging.Logger) -> int:
    """Raise the soft descriptor limit to cover ``lines`` lines; return the limit in force."""
    needed = _PROCESS_FDS + FDS_PER_LINE * lines
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    if soft != resource.RLIM_INFINITY and soft < needed:
        logger.warning(
            "%d lines may need %d file descriptors, the limit is %d (raise it: ulimit -n)",
            lines,
            needed,
            soft,
        )
    return int(soft)


@dataclass
class DetachGate:
    """Detach the process once every line has reached its detach point (or ended).

    Each line's supervisor gets :meth:`line` as its detacher: its ``detach()`` marks that line
    as arrived; the real :class:`~pyppp.aio.daemon.Detacher` runs when the last one arrives.
    """

    detacher: Detacher | None
    lines: int
    logs: LogSetup
    arrived: set[int] = field(default_factory=set)

    def line(self, index: int) -> LineGate:
        """The detacher handed to line ``index``."""
        return LineGate(self, index)

    @property
    def pending(self) -> bool:
        """Whether the parent is still waiting."""
        return self.detacher is not None and self.detacher.pending

    def arrive(self, index: int) -> None:
        """Line ``index`` has its device open (or has ended)."""
        self.arrived.add(index)
        if len(self.arrived) >= self.lines and self.pending:
            assert self.detacher is not None
            self.logs.detached()
            self.detacher.detach()


@dataclass
class LineGate:
    """One line's view of a :class:`DetachGate`, used as that line's detacher."""

    gate: DetachGate
    index: int

    @property
    def pending(self) -> bool:
        """Whether the parent is still waiting."""
        return self.gate.pending

    def detach(self) -> None:
        """This line has reached its detach point."""
        self.gate.arrive(self.index)


class MultiServer:
    """Several lines in one process (see the module docstring); :meth:`run` returns the status.

    Process-wide words (``logfile``, ``logfd``, ``metrics``, ``nocontrol``) are taken from the
    first line's options; ``debug`` is on if any line asks for it.

    Args:
        lines: each line's options, checked, in the order the devices were given.
        config_dir, lock_dir, run_dir, detacher, syslog_ident: as for
            :class:`~pyppp.aio.supervisor.Supervisor`.
        pool: the address pool the lines share (``ip-pool``), if any.
    """

    def __init__(
        self,
        lines: Sequence[PppOptions],
        *,
        config_dir: Path,
        lock_dir: Path,
        run_dir: Path,
        detacher: Detacher | None = None,
        syslog_ident: str = DEFAULT_IDENT,
        pool: AddressPool | None = None,
    ) -> None:
        first = lines[0]
        self.logs = LogSetup(
            debug=max(options.debug for options in lines),
            logfile=first.logfile,
            logfd=first.logfd,
            foreground=True,
            ident=syslog_ident,
        )
        self.logger = self.logs.root
        self.observatory = Observatory(
            control=first.control,
            metrics=parse_listen_address(first.metrics, "metrics", "") if first.metrics else None,
            logger=self.logger,
        )
        self.pool = pool
        self.timers = TimerService(logger=self.logger)
        self.gate = DetachGate(detacher, len(lines), self.logs)
        self.supervisors: list[Supervisor] = []
        self.labels: list[str] = []
        for index, options in enumerate(lines):
            label = line_label(options.device or f"line{index}")
            logger, trace = line_loggers(index, label)
            self.labels.append(label)
            self.supervisors.append(
                Supervisor(
                    options,
                    config_dir=config_dir,
                    lock_dir=lock_dir,
                    run_dir=run_dir,
                    serving=True,
                    detacher=self.gate.line(index),
                    syslog_ident=syslog_ident,
                    shared=SharedProcess(
                        self.logs, self.observatory, logger, trace, pool, self.timers
                    ),
                )
            )
        self.statuses: list[int | None] = [None] * len(lines)

    def signal(self, signum: int) -> None:
        """A signal for the process: every line gets it; SIGUSR1 toggles debugging once."""
        if signum == TOGGLE_DEBUG:
            on = self.logs.toggle_debug()
            for supervisor in self.supervisors:
                supervisor.debug_toggled()
            self.logger.debug("debug %s (SIGUSR1)", "on" if on else "off")
            return
        for supervisor in self.supervisors:
            supervisor.signal(signum)

    async def run(self) -> int:
        """Run every line until each has ended; return the process's exit status."""
        user = self.supervisors[0].user_name
        self.logs.to_syslog_only(
            NOTICE, "pyppp %s started by %s, uid %d", __version__, user, os.getuid()
        )
        raise_fd_limit(len(self.supervisors), self.logger)
        try:
            try:
                await self.observatory.start()
            except OSError as exc:
                host, port = self.observatory.metrics_address or ("", 0)
                self.logger.error("Couldn't serve metrics on %s:%d: %s", host, port, exc.strerror)
                self.gate.arrived.update(range(len(self.supervisors)))
                return ExitStatus.FATAL_ERROR
            self.logger.info("Serving %d lines: %s", len(self.supervisors), ", ".join(self.labels))
            await asyncio.gather(*(self._line(i) for i in range(len(self.supervisors))))
        finally:
            self.timers.close()
            await self.observatory.close()
            self.logs.to_syslog_only(logging.INFO, "Exit.")
        if any(s.fatal is not None for s in self.supervisors):
            return FATAL_SIGNAL_STATUS
        return next((status for status in self.statuses if status), 0)

    async def _line(self, index: int) -> None:
        supervisor = self.supervisors[index]
        status: int = ExitStatus.FATAL_ERROR
        try:
            status = await supervisor.run()
        except Exception:
            # A bug in one line's shell must not take the others with it.
            supervisor.logger.exception("line ended by an internal error")
        finally:
            self.statuses[index] = status
            self.gate.arrive(index)
        supervisor.logger.info("line done, status %d", status)
