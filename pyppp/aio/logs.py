"""Logging as pppd does it: plain lines on stderr (or ``logfile``), and syslog (LOG_DAEMON).

pppd writes each message without timestamp or prefix to its log fd, and to syslog with
``pppd[PID]: ``. Debug lines (the packet trace) appear only with ``debug``.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys

from pyppp.util import NOTICE

__all__ = ["setup_logging"]

_FORMAT = "%(message)s"


class _PasswordSafeFilter(logging.Filter):
    """Last line of defence: a record explicitly marked secret never reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "secret", False)


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
        handlers.append(logging.FileHandler(logfile))
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
        handler.addFilter(_PasswordSafeFilter())
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
