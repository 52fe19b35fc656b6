"""UUCP lock files, the I/O: create atomically, remove stale ones safely, release our own.

Creation writes the complete content to a private temporary file and ``link(2)``s it to
``LCK..<dev>`` (as lockdev and uucp do): the link either appears whole or fails with EEXIST, so
two processes can never both win and nobody ever reads a half-written lock (pppd's
``O_CREAT|O_EXCL`` then ``write()`` has that window). A stale lock is removed while holding
``flock(2)`` on it, after checking that the path still names the inode we judged: two pyppp
processes removing the same stale lock cannot delete each other's fresh one. Release removes a
lock only if it still holds our pid and is the inode we linked.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from pathlib import Path
from types import TracebackType
from typing import Final

from pyppp.pppd.lock import (
    DEFAULT_LOCK_DIR,
    LockError,
    Verdict,
    format_lock_content,
    judge_lock,
    lock_file_names,
    parse_lock_content,
)
from pyppp.util import NOTICE

__all__ = ["UucpLock", "pid_alive"]

_ATTEMPTS: Final = 20
_UNREADABLE_RETRY_S: Final = 0.05
_READ_SIZE: Final = 64

# Lock files this process holds, so that a second UucpLock on the same device in the same
# process is refused instead of mistaking the file for pppd's "somebody locked it for us".
_HELD_HERE: set[Path] = set()

_log = logging.getLogger("pyppp.lock")


def pid_alive(pid: int) -> bool:
    """Return whether a process with this pid exists (``kill(pid, 0)``; EPERM means yes)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class UucpLock:
    """A UUCP lock on one serial device, held for the life of a ``with`` block.

    ``with UucpLock("/dev/ttyS1") as lock:`` creates ``/var/lock/LCK..ttyS1`` (and, for a
    device reached through a symlink, the lock named after the real node too) and removes it
    on every exit path. A pyserial URL takes no lock (:attr:`paths` is empty).

    Args:
        device: the device path (or pyserial URL) as the user gave it.
        lock_dir: the directory for lock files (pppd's is ``/var/lock``).
        logger: where "Removed stale lock on ..." goes (``pyppp.pppd.lock`` by default).
        resolve_symlinks: also lock the name of the node a symlink points to.

    Raises:
        LockError: (from :meth:`acquire`) the device is locked by a live process, or the lock
            file could not be created or read; ``exit_status`` is 6 as in pppd.
    """

    def __init__(
        self,
        device: str,
        *,
        lock_dir: str | os.PathLike[str] = DEFAULT_LOCK_DIR,
        logger: logging.Logger | None = None,
        resolve_symlinks: bool = True,
    ) -> None:
        self.device = device
        self.lock_dir = Path(lock_dir)
        self.logger = logger or _log
        names: tuple[str, ...] = ()
        if "://" not in device:
            resolved = os.path.realpath(device) if resolve_symlinks else None
            names = lock_file_names(device, resolved)
        self.paths: tuple[Path, ...] = tuple(self.lock_dir / name for name in names)
        self._held: dict[Path, tuple[int, int]] = {}  # path -> (st_dev, st_ino) we linked

    @property
    def held(self) -> bool:
        """Whether every lock file is currently held by this object."""
        return len(self._held) == len(self.paths) and bool(self.paths)

    def acquire(self) -> None:
        """Create every lock file, or none (a partial set is released before raising).

        Raises:
            LockError: see the class description.
        """
        try:
            for path in self.paths:
                if path not in self._held:
                    self._acquire_one(path)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Remove the lock files this object created, if they are still ours. Idempotent."""
        pid = os.getpid()
        for path, identity in list(self._held.items()):
            del self._held[path]
            _HELD_HERE.discard(path)
            try:
                with open(path, "rb") as file:
                    st = os.fstat(file.fileno())
                    owner = parse_lock_content(file.read(_READ_SIZE))
                if (st.st_dev, st.st_ino) != identity or owner != pid:
                    self.logger.warning("Lock file %s is no longer ours; left in place", path)
                    continue
                os.unlink(path)
            except FileNotFoundError:
                self.logger.warning("Lock file %s vanished while we held it", path)
            except OSError as exc:
                self.logger.warning("Couldn't remove lock file %s: %s", path, exc.strerror)

    def __enter__(self) -> UucpLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    # -- one lock file -------------------------------------------------------------------------

    def _acquire_one(self, path: Path) -> None:
        dev = path.name.removeprefix("LCK..")
        if path in _HELD_HERE:
            raise LockError(
                f"Device {dev} is locked by pid {os.getpid()} (this process)",
                device=dev,
                pid=os.getpid(),
            )
        pid = os.getpid()
        tmp = path.with_name(f".{path.name}.{pid}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.fchmod(fd, 0o644)  # readable by cu and friends whatever our umask
                os.write(fd, format_lock_content(pid))
            finally:
                os.close(fd)
        except OSError as exc:
            raise LockError(f"Can't create lock file {path}: {exc.strerror}", device=dev) from exc
        try:
            unreadable = 0
            for _ in range(_ATTEMPTS):
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    pass
                except OSError as exc:
                    raise LockError(
                        f"Can't create lock file {path}: {exc.strerror}", device=dev
                    ) from exc
                else:
                    st = os.stat(path)
                    self._held[path] = (st.st_dev, st.st_ino)
                    _HELD_HERE.add(path)
                    return
                verdict, owner = self._inspect(path, dev)
                if verdict is Verdict.HELD:
                    raise LockError(f"Device {dev} is locked by pid {owner}", device=dev, pid=owner)
                if verdict is Verdict.UNREADABLE:
                    unreadable += 1
                    if unreadable > 3:
                        raise LockError(f"Can't read pid from lock file {path}", device=dev)
                    # A writer using pppd's O_EXCL-then-write may be between the two calls.
                    time.sleep(_UNREADABLE_RETRY_S)
                # STALE was removed by _inspect; OURS was taken over by _inspect; None: the
                # file changed under us. Either way, try the link again.
            raise LockError(f"Can't create lock file {path}: too much contention", device=dev)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _inspect(self, path: Path, dev: str) -> tuple[Verdict | None, int | None]:
        """Judge the existing lock at ``path``; remove it if stale. ``None``: look again."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None, None  # released between our link() and open(): just retry
        except OSError as exc:
            raise LockError(
                f"Can't open existing lock file {path}: {exc.strerror}", device=dev
            ) from exc
        try:
            # Exclusive flock while judging and unlinking: a second pyppp doing the same waits
            # here, then finds the path no longer names this inode and starts over.
            fcntl.flock(fd, fcntl.LOCK_EX)
            st = os.fstat(fd)
            try:
                now = os.stat(path)
            except FileNotFoundError:
                return None, None
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                return None, None
            owner = parse_lock_content(os.read(fd, _READ_SIZE))
            verdict = judge_lock(owner, own_pid=os.getpid(), pid_alive=pid_alive)
            if verdict in (Verdict.STALE, Verdict.OURS):
                # OURS: a leftover with our pid (pid reuse); pppd takes it as locked for us.
                # Replace it with our own link so that release() can recognise the inode.
                try:
                    os.unlink(path)
                except OSError as exc:
                    raise LockError(
                        f"Couldn't remove stale lock on {dev}: {exc.strerror}", device=dev
                    ) from exc
                if verdict is Verdict.STALE:
                    self.logger.log(NOTICE, "Removed stale lock on %s (pid %d)", dev, owner)
            return verdict, owner
        finally:
            os.close(fd)
