"""pppd's hook scripts (``ip-up``, ``ip-down``, ``auth-up`` ...) with pppd's arguments, env, timing.

pppd runs ``/etc/ppp/ip-up interface tty speed local-IP remote-IP ipparam`` (``ip-down`` and
``ip-pre-up`` alike) and ``/etc/ppp/auth-up interface peer-name user-name tty speed``
(``auth-down`` alike), if they exist and are executable, with standard input, output and error
on /dev/null, in a session of their own, from ``/``, with umask 077, and with an environment
that holds only what pppd sets: ``IFNAME``, ``DEVICE``, ``SPEED``, ``IPLOCAL``, ``IPREMOTE``,
``PEERNAME``, ``DNS1``/``DNS2``/``USEPEERDNS``, ``PPPLOGNAME``, ``PPPD_PID``, ``ORIG_UID``,
``LINKNAME``, ``CALL_FILE``, ``UNIT`` and, for the down scripts, ``CONNECT_TIME``,
``BYTES_SENT`` and ``BYTES_RCVD``, then the ``set``/``unset`` options on top. pyppp adds a
``PATH`` (pppd passes none; Debian's scripts set their own).

Timing, as pppd's: nothing waits for a script, except ``ip-pre-up`` (run while the interface
has its addresses but is still down; the daemon waits for it, so it should be quick). The up
and down scripts of a pair never run at the same time: a down script whose up script is still
running starts when that one ends (pppd ``ipcp_script_done``). At exit, pppd waits up to
``child-timeout`` seconds (default 5, 0: no limit) for scripts still running, then sends them
SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, TypedDict

__all__ = ["ScriptPair", "ScriptRunner"]

SCRIPT_PATH: Final = "/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"


class _Detached(TypedDict):
    stdin: int
    stdout: int
    stderr: int
    start_new_session: bool
    cwd: str
    umask: int


# How pppd starts a script (safe_fork, run_program): standard input, output and error on
# /dev/null, a session of its own, from /, umask 077.
_DETACHED: Final[_Detached] = {
    "stdin": subprocess.DEVNULL,
    "stdout": subprocess.DEVNULL,
    "stderr": subprocess.DEVNULL,
    "start_new_session": True,
    "cwd": "/",
    "umask": 0o077,
}


def _executable(path: Path) -> bool:
    # pppd run_program: a plain file with an execute bit (stat, not access(), as pppd).
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return path.is_file() and bool(mode & 0o111)


class ScriptRunner:
    """Starts scripts as pppd's ``run_program`` does and keeps track of them.

    Args:
        logger: where pppd's lines go ("Script %s started (pid %d)" at debug level).
        user_env: the ``set``/``unset`` options, applied last (value None: unset).
    """

    def __init__(
        self,
        logger: logging.Logger | None = None,
        user_env: Sequence[tuple[str, str | None]] = (),
    ) -> None:
        self.logger = logger or logging.getLogger("pyppp")
        self.user_env = tuple(user_env)
        self._running: dict[int, tuple[Path, asyncio.subprocess.Process]] = {}
        self._reapers: set[asyncio.Task[int]] = set()

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """The environment a script gets: pppd's variables, then ``set``/``unset``."""
        full = {"PATH": SCRIPT_PATH, **env}
        for name, value in self.user_env:
            if value is None:
                full.pop(name, None)
            else:
                full[name] = value
        return full

    def _runnable(self, path: Path) -> bool:
        # pppd run_program: a missing script is normal; one that is there but cannot run is
        # worth a warning.
        if _executable(path):
            return True
        if path.exists():
            self.logger.warning("Can't execute %s: not an executable file", path)
        return False

    async def start(
        self, path: Path, args: Sequence[str], env: Mapping[str, str]
    ) -> asyncio.Task[int] | None:
        """Start ``path`` without waiting; return a task giving its status, None if not run."""
        if not self._runnable(path):
            return None
        try:
            process = await asyncio.create_subprocess_exec(
                str(path), *args, env=self.environment(env), **_DETACHED
            )
        except OSError as exc:
            self.logger.warning("Can't execute %s: %s", path, exc.strerror or exc)
            return None
        # pppd main.c: "Script %s started (pid %d)" (debug)
        self.logger.debug("Script %s started (pid %d)", path, process.pid)
        self._running[process.pid] = (path, process)
        task = asyncio.ensure_future(self._reap(path, process))
        self._reapers.add(task)
        task.add_done_callback(self._reapers.discard)
        return task

    async def run(
        self,
        path: Path,
        args: Sequence[str],
        env: Mapping[str, str],
        *,
        wait: float | None = None,
    ) -> int | None:
        """Start ``path``; with ``wait``, wait that long for it to end.

        Args:
            path: the script.
            args: its arguments.
            env: pppd's variables (``set``/``unset`` go on top).
            wait: seconds to wait for its end (``None``: do not wait).

        Returns:
            Its exit status if it ended while waited for, else ``None``.
        """
        task = await self.start(path, args, env)
        if task is None or wait is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(task), wait)
        except TimeoutError:
            return None

    def run_and_wait(self, path: Path, args: Sequence[str], env: Mapping[str, str]) -> int | None:
        """Run ``path`` and block until it ends (pppd waits for ``ip-pre-up`` just so)."""
        if not self._runnable(path):
            return None
        try:
            process = subprocess.Popen([str(path), *args], env=self.environment(env), **_DETACHED)
        except OSError as exc:
            self.logger.warning("Can't execute %s: %s", path, exc.strerror or exc)
            return None
        self.logger.debug("Script %s started (pid %d)", path, process.pid)
        status = process.wait()
        self._log_end(path, process.pid, status)
        return status

    async def _reap(self, path: Path, process: asyncio.subprocess.Process) -> int:
        status = await process.wait()
        self._running.pop(process.pid, None)
        self._log_end(path, process.pid, status)
        return status

    def _log_end(self, path: Path, pid: int, status: int) -> None:
        if status < 0:
            # pppd forget_child
            self.logger.warning(
                "Child process %s (pid %d) terminated with signal %d", path, pid, -status
            )
        else:
            self.logger.debug("Script %s finished (pid %d), status = 0x%x", path, pid, status)

    @property
    def running(self) -> int:
        """How many scripts are still running."""
        return len(self._running)

    async def finish(self, timeout: float | None) -> None:
        """At exit: wait for the scripts (``timeout`` s at most, None: for ever), then SIGTERM."""
        if not self._running:
            return
        self.logger.debug("Waiting for %d child processes...", len(self._running))
        for pid, (path, _) in self._running.items():
            self.logger.debug("  script %s, pid %d", path, pid)
        waiters = [asyncio.ensure_future(p.wait()) for _, p in self._running.values()]
        if timeout is None or timeout > 0:
            await asyncio.wait(waiters, timeout=timeout)
        for waiter in waiters:
            waiter.cancel()
        for pid, (_, process) in list(self._running.items()):
            if process.returncode is None:
                # pppd childwait_end
                self.logger.debug("sending SIGTERM to process %d", pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        if self._reapers:
            await asyncio.wait(list(self._reapers), timeout=1.0)


class ScriptPair:
    """An up script and its down script, run as pppd runs ip-up/ip-down and auth-up/auth-down.

    :meth:`up` and :meth:`down` say what state the link is in; the pair starts the script for
    that state unless its other script is still running, in which case the state is looked at
    again when that one ends. A script that does not exist still changes the state (so a
    missing ip-up does not keep ip-down from running).

    Args:
        runner: starts the scripts.
        up_script: the path of the up script.
        down_script: the path of the down script.
    """

    def __init__(self, runner: ScriptRunner, up_script: Path, down_script: Path) -> None:
        self.runner = runner
        self.scripts = {True: up_script, False: down_script}
        self.state = False  # the last script started was the down one (or none yet)
        self._wanted = False
        self._call: tuple[list[str], dict[str, str]] = ([], {})
        self._task: asyncio.Task[int] | None = None
        self._starting = False
        self._kicks: set[asyncio.Task[None]] = set()

    def up(self, args: Sequence[str], env: Mapping[str, str]) -> None:
        """The layer is up: run the up script (now, or when the down script has ended)."""
        self._want(True, args, env)

    def down(self, args: Sequence[str], env: Mapping[str, str]) -> None:
        """The layer went down: run the down script if the up script was run."""
        self._want(False, args, env)

    def _want(self, state: bool, args: Sequence[str], env: Mapping[str, str]) -> None:
        self._wanted = state
        self._call = (list(args), dict(env))
        task = asyncio.ensure_future(self._kick())
        self._kicks.add(task)
        task.add_done_callback(self._kicks.discard)

    async def _kick(self) -> None:
        if self._starting or (self._task is not None and not self._task.done()):
            return  # _after() looks again when it ends
        if self._wanted == self.state:
            return
        self.state = self._wanted
        args, env = self._call
        self._starting = True
        try:
            self._task = await self.runner.start(self.scripts[self.state], args, env)
        finally:
            self._starting = False
        if self._task is not None:
            self._task.add_done_callback(self._after)
        else:
            self._after(None)

    @property
    def busy(self) -> bool:
        """Whether one of the two scripts is running (or about to)."""
        return self._starting or (self._task is not None and not self._task.done())

    def _after(self, _task: asyncio.Task[int] | None) -> None:
        task = asyncio.ensure_future(self._kick())
        self._kicks.add(task)
        task.add_done_callback(self._kicks.discard)
