"""Which signal does what, as pppd(8) NOTES says, and for every other signal that would kill us.

* SIGINT, SIGTERM: terminate the link (LCP Terminate-Request) and exit 5.
* SIGHUP: terminate the link; with ``persist``/``demand`` start the next call (at once when in
  the holdoff period), else exit 5.
* SIGUSR1: toggle ``debug`` (the packet trace starts or stops).
* SIGUSR2: renegotiate compression (CCP).
* SIGCHLD: a script ended: it is reaped (asyncio's child watcher does that for us).
* Every other signal whose default action ends the process (SIGQUIT, SIGALRM, SIGXCPU, the
  real-time signals...): pppd's ``bad_signal``: "Fatal signal %d", clean up, exit 127. pppd
  leaves the real-time signals at their default and dies from them without cleaning up;
  pyppp handles them like the others, so no signal short of SIGKILL leaves a lock, a pid file
  or an interface behind.

Signals whose default is to be ignored or to stop/continue the process (SIGCHLD, SIGURG,
SIGWINCH, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU) keep their default; SIGPIPE stays ignored (as in
pppd and Python).
"""

from __future__ import annotations

import signal
from typing import Final

__all__ = [
    "FATAL",
    "HANGUP",
    "RENEGOTIATE_CCP",
    "TERMINATE",
    "TOGGLE_DEBUG",
    "handled_signals",
]

TERMINATE: Final = frozenset({signal.SIGINT, signal.SIGTERM})
HANGUP: Final = signal.SIGHUP
TOGGLE_DEBUG: Final = signal.SIGUSR1
RENEGOTIATE_CCP: Final = signal.SIGUSR2

_LEFT_ALONE: Final = frozenset(
    {
        signal.SIGKILL,
        signal.SIGSTOP,
        signal.SIGCHLD,
        signal.SIGCONT,
        signal.SIGTSTP,
        signal.SIGTTIN,
        signal.SIGTTOU,
        signal.SIGURG,
        signal.SIGWINCH,
        signal.SIGPIPE,
    }
)

FATAL: Final[frozenset[int]] = frozenset(
    int(s)
    for s in signal.valid_signals()
    if s not in _LEFT_ALONE and s not in TERMINATE | {HANGUP, TOGGLE_DEBUG, RENEGOTIATE_CCP}
)
"""pppd's ``bad_signal`` set (and the real-time signals): "Fatal signal %d", exit 127."""


def handled_signals() -> list[int]:
    """Every signal the daemon installs a handler for, in number order."""
    every = {int(s) for s in TERMINATE | {HANGUP, TOGGLE_DEBUG, RENEGOTIATE_CCP}} | FATAL
    return sorted(every)
