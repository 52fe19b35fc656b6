"""Logging as pppd does it: plain lines on stderr (or ``logfile``), and syslog (LOG_DAEMON).

pppd writes each message without timestamp or prefix to its log fd, and to syslog with
``pppd[PID]: ``. Debug lines (the packet trace) appear only with ``debug``.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys

from pyppp.errors import ConfigError
from pyppp.util import NOTICE

__all__ = ["setup_logging"]

_FORMAT = "%(message)s"


def setup_logging(
    *,
    debug: int = 0,
    logfile: str | None = None,
    syslog: bool = True,
    ident: str = "pyppp",
    stream: bool = True,
) -> logging.Logger:
    """Configure the ``pyppp`` logger tree and return its root.

    Args:
        debug: pppd's ``debug`` count: 1 shows the packet trace, 2 also LCP echoes.
        logfile: pppd's ``logfile``: append the same lines to this file.
        syslog: also log to syslog (facility daemon) when ``/dev/log`` exists.
        ident: the syslog ident (pppd uses ``pppd``).
        stream: write to stderr (the CLI's foreground mode).

    Raises:
        ConfigError: the log file cannot be opened (pppd's option error, status 2).
    """
    root = logging.getLogger("pyppp")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.propagate = False
    formatter = logging.Formatter(_FORMAT)
    handlers: list[logging.Handler] = []
    if stream:
        handlers.append(logging.StreamHandler(sys.stderr))
    if logfile:
        try:
            handlers.append(logging.FileHandler(logfile))
        except OSError as exc:
            # pppd: "Can't open log file %s: %m", an option error.
            raise ConfigError(f"Can't open log file {logfile}: {exc.strerror}") from exc
    if syslog and os.path.exists("/dev/log"):
        try:
            syslog_handler = _SysLogHandler(
                address="/dev/log", facility=logging.handlers.SysLogHandler.LOG_DAEMON
            )
        except OSError:
            pass
        else:
            syslog_handler.ident = f"{ident}[{os.getpid()}]: "
            handlers.append(syslog_handler)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    return root


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
