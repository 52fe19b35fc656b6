"""UUCP lock files, the rules: names, contents and the stale-lock decision.

pppd's ``lock`` option (and cu, minicom, mgetty, uucico) agree on one convention so that two
programs never drive one serial device at the same time: a file ``LCK..<device>`` in the lock
directory (``/var/lock``) whose content is the owner's pid as ten ASCII characters,
right-aligned, and a newline (C's ``"%10d"`` and a newline, HDB UUCP style). pppd's
``lock()`` (``utils.c``) names the file from the device's *basename* (the part after the last
``/``), removes a lock whose pid is 0 or no longer exists ("Removed stale lock on %s (pid
%d)"), gives up on a live one ("Device %s is locked by pid %d", exit status 6), and accepts a
lock that already holds its own pid. Old-style (``LOCK_BINARY``) lock files hold the pid as a
4-byte native-endian integer; readers still meet them, so :func:`parse_lock_content` accepts
both.

This module is pure: it turns a device name into lock-file names, formats and parses the
content, and judges an existing lock given a ``pid_alive`` callable. The I/O (atomic creation
with ``link(2)``, removal of stale locks, release) lives in :mod:`pyppp.aio.lockfile`.
"""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Callable
from typing import Final

from pyppp.errors import ConfigError, ExitStatus

__all__ = [
    "DEFAULT_LOCK_DIR",
    "LOCK_PREFIX",
    "LockError",
    "Verdict",
    "format_lock_content",
    "is_lockable_device",
    "judge_lock",
    "lock_file_names",
    "lock_name",
    "parse_lock_content",
]

DEFAULT_LOCK_DIR: Final = "/var/lock"
"""pppd's ``PPP_PATH_LOCKDIR`` on Linux (``/var/lock``, a symlink to ``/run/lock`` on Debian)."""

LOCK_PREFIX: Final = "LCK.."
"""The UUCP prefix: ``LCK..ttyS1``."""

_ASCII_PID: Final = frozenset(b" \t\n\r0123456789")
_ATOI: Final = re.compile(rb"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_BINARY_PID_SIZE: Final = 4


class LockError(ConfigError):
    """The device could not be locked (pppd's exit status 6).

    Attributes:
        pid: the pid that holds the lock, when a live owner was found; ``None`` when the lock
            file could not be created or read.
        device: the device name as it appears in the lock file name (``ttyS1``).
    """

    def __init__(self, message: str, *, device: str, pid: int | None = None) -> None:
        super().__init__(message, exit_status=ExitStatus.LOCK_FAILED)
        self.device = device
        self.pid = pid


class Verdict(enum.Enum):
    """What to do about a lock file that already exists."""

    OURS = "ours"
    """It holds our own pid: pppd treats it as "somebody else locked it for us"."""
    STALE = "stale"
    """Its pid is 0 or names no process: remove it and try again."""
    HELD = "held"
    """A live process holds it: the device is busy."""
    UNREADABLE = "unreadable"
    """No pid could be read (empty or garbage): pppd gives up rather than guess."""


def is_lockable_device(device: str) -> bool:
    """Return whether ``device`` names a local device that takes a UUCP lock.

    pyserial URLs (``rfc2217://host:2006``, ``socket://``, ``loop://``) name no local device
    file, so there is nothing for other programs to collide with.

    Args:
        device: a device path or a pyserial URL.
    """
    return "://" not in device and bool(device.rstrip("/"))


def lock_name(device: str) -> str:
    """Return the lock file name pppd uses for ``device``: ``LCK..`` plus its basename.

    ``/dev/ttyS1`` -> ``LCK..ttyS1``; ``ttyUSB0`` -> ``LCK..ttyUSB0``; ``/dev/pts/3`` ->
    ``LCK..3`` (pppd's ``strrchr(dev, '/')``, so a pty's lock is named by its number).

    Args:
        device: a device path (not a URL; see :func:`is_lockable_device`).

    Raises:
        LockError: the path has no basename to name a lock after.
    """
    base = device.rstrip("/").rsplit("/", 1)[-1]
    if not base or base in {".", ".."}:
        raise LockError(f"Can't derive a lock file name from {device!r}", device=device)
    return LOCK_PREFIX + base


def lock_file_names(device: str, resolved: str | None = None) -> tuple[str, ...]:
    """Return every lock file name that must be held to own ``device``, canonical name first.

    A device reached through a symlink (``/dev/serial/by-id/usb-FTDI_...-if00-port0`` ->
    ``/dev/ttyUSB0``) has two names: pppd and cu given the symlink lock ``LCK..usb-FTDI_...``,
    given the real node they lock ``LCK..ttyUSB0``. Holding both means a program using either
    spelling sees the device busy.

    Args:
        device: the device path as the user gave it.
        resolved: the path with symlinks resolved (``os.path.realpath``), if known.

    Returns:
        One name, or two when the resolved basename differs from the given one.
    """
    names = [lock_name(resolved)] if resolved else []
    given = lock_name(device)
    if given not in names:
        names.append(given)
    return tuple(names)


def format_lock_content(pid: int) -> bytes:
    """Return the lock file content for ``pid``: ten right-aligned ASCII digits and a newline.

    Args:
        pid: the owner's process id.
    """
    return b"%10d\n" % pid


def parse_lock_content(data: bytes) -> int | None:
    """Return the pid a lock file holds, or ``None`` when none can be read.

    Accepts the ASCII form, read as pppd reads it (C ``atoi``: leading whitespace, digits,
    anything after them ignored; no digits at all is pid 0, which pppd then removes as a stale
    lock), and the old binary form: exactly four bytes holding a native-endian ``int``. The two
    cannot be confused: a binary pid below Linux's ``pid_max`` limit (2**22) has a zero byte,
    which the ASCII form never contains. An empty file gives ``None`` (pppd: "Can't read pid
    from lock file"; its writer may be between creating the file and writing it).

    Args:
        data: the file's content (pppd reads at most 11 bytes; pass what was read).
    """
    if not data:
        return None
    if len(data) == _BINARY_PID_SIZE and not _ASCII_PID.issuperset(data):
        return int.from_bytes(data, sys.byteorder, signed=True)
    match = _ATOI.match(data)
    return int(match.group(1)) if match else 0


def judge_lock(pid: int | None, *, own_pid: int, pid_alive: Callable[[int], bool]) -> Verdict:
    """Decide what an existing lock means, as pppd's ``lock()`` does.

    Args:
        pid: the pid read from the lock file (``None``: unreadable).
        own_pid: this process's pid.
        pid_alive: returns whether a process with that pid exists (``kill(pid, 0)`` in the
            shell; a permission error means it exists).

    Returns:
        The :class:`Verdict`.
    """
    if pid is None:
        return Verdict.UNREADABLE
    if pid == own_pid:
        return Verdict.OURS
    if pid <= 0 or not pid_alive(pid):
        # pppd: "if (pid == 0 || kill(pid, 0) == -1 && errno == ESRCH)": stale (garbage is 0).
        return Verdict.STALE
    return Verdict.HELD
