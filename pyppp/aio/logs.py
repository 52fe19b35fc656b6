"""Logging as pppd does it: one log descriptor, and syslog (LOG_DAEMON) as ``pppd[PID]``.

pppd writes each message, without timestamp or prefix, to at most one file or descriptor
(pppd(8) ``logfd``): ``logfile FILE``, else ``logfd N``, else standard output while it has not
detached (unless standard output is the serial line, as with ``notty``); ``nolog`` turns that
off. Every message also goes to syslog, facility daemon, with the ident ``pppd`` and the pid
(``pppd[4242]: ...``), so existing log filters keep working; ``--syslog-ident`` changes the
ident. Debug lines (the packet trace) appear only with ``debug``; SIGUSR1 toggles it.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from typing import Final

from pyppp.errors import ConfigError
from pyppp.util import NOTICE

__all__ = ["DEFAULT_IDENT", "LogSetup", "setup_logging"]

DEFAULT_IDENT: Final = "pppd"
"""The syslog ident: pppd's, so that filters written for pppd's lines still match."""

_FORMAT = "%(message)s"


class LogSetup:
    """The handlers of the ``pyppp`` logger, and the switches pppd has over them.

    Args:
        debug: pppd's ``debug`` count: 1 shows the packet trace, 2 also LCP echoes.
        logfile: pppd's ``logfile``: append the lines to this file.
        logfd: pppd's ``logfd``: write the lines to this descriptor (-1: ``nolog``).
        foreground: write to standard output when neither is given (pppd, not detached).
        syslog: also log to syslog (facility daemon) when ``/dev/log`` exists.
        ident: the syslog ident.

    Raises:
        ConfigError: the log file cannot be opened (pppd's option error, status 2).
    """

    def __init__(
        self,
        *,
        debug: int = 0,
        logfile: str | None = None,
        logfd: int | None = None,
        foreground: bool = True,
        syslog: bool = True,
        ident: str = DEFAULT_IDENT,
    ) -> None:
        self.root = logging.getLogger("pyppp")
        for handler in list(self.root.handlers):
            self.root.removeHandler(handler)
            handler.close()
        self.root.propagate = False
        self.debug = debug
        self._apply_level()
        self.stream: logging.Handler | None = None
        formatter = logging.Formatter(_FORMAT)
        if logfile:
            try:
                self.stream = logging.FileHandler(logfile)
            except OSError as exc:
                # pppd: "Can't open log file %s: %m", an option error.
                raise ConfigError(f"Can't open log file {logfile}: {exc.strerror}") from exc
            self._default_stream = False
        elif logfd is not None and logfd >= 0:
            try:
                stream = os.fdopen(os.dup(logfd), "w", buffering=1, encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"Can't use log file descriptor {logfd}: {exc.strerror}") from exc
            self.stream = logging.StreamHandler(stream)
            self._default_stream = False
        elif logfd is None and foreground:
            self.stream = logging.StreamHandler(sys.stdout)
            self._default_stream = True
        else:
            self._default_stream = False
        self.syslog: logging.Handler | None = None
        if syslog and os.path.exists("/dev/log"):
            try:
                handler = _SysLogHandler(
                    address="/dev/log", facility=logging.handlers.SysLogHandler.LOG_DAEMON
                )
            except OSError:
                pass
            else:
                handler.ident = f"{ident}[{os.getpid()}]: "
                self.syslog = handler
        for added in (self.stream, self.syslog):
            if added is not None:
                added.setFormatter(formatter)
                self.root.addHandler(added)

    def _apply_level(self) -> None:
        self.root.setLevel(logging.DEBUG if self.debug else logging.INFO)

    def toggle_debug(self) -> bool:
        """SIGUSR1: pppd's ``debug = !debug``; return whether debugging is now on."""
        self.debug = 0 if self.debug else 1
        self._apply_level()
        return bool(self.debug)

    def detached(self) -> None:
        """Stop writing to standard output (pppd: ``if (log_default) log_to_fd = -1``)."""
        if self._default_stream and self.stream is not None:
            self.root.removeHandler(self.stream)
            self.stream = None

    def to_syslog_only(self, level: int, message: str, *args: object) -> None:
        """Log a line pppd sends with ``syslog()`` alone ("pppd ... started by", "Exit.")."""
        if self.syslog is not None:
            record = self.root.makeRecord(self.root.name, level, "", 0, message, args, None)
            self.syslog.handle(record)

    def close(self) -> None:
        """Flush and detach every handler; the ``pyppp`` logger is as it was before."""
        for handler in list(self.root.handlers):
            self.root.removeHandler(handler)
            handler.close()
        self.root.propagate = True
        self.root.setLevel(logging.NOTSET)


def setup_logging(
    *,
    debug: int = 0,
    logfile: str | None = None,
    syslog: bool = True,
    ident: str = DEFAULT_IDENT,
    stream: bool = True,
) -> logging.Logger:
    """Configure the ``pyppp`` logger tree and return its root (see :class:`LogSetup`)."""
    return LogSetup(
        debug=debug, logfile=logfile, foreground=stream, syslog=syslog, ident=ident
    ).root


class _SysLogHandler(logging.handlers.SysLogHandler):
    """Maps pppd's NOTICE level to syslog's notice (the stdlib would say warning)."""

    def mapPriority(self, levelName: str) -> str:  # noqa: N802, N803 (stdlib's names)
        """Return the syslog priority name for a logging level name."""
        return _PRIORITIES.get(levelName, "warning")


_PRIORITIES = {
    "DEBUG": "debug",
    "INFO": "info",
    "NOTICE": "notice",
    "WARNING": "warning",
    "ERROR": "error",
    "CRITICAL": "critical",
}


assert logging.getLevelName(NOTICE) == "NOTICE"
