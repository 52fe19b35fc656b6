"""pppd's hook scripts (``ip-up``, ``ip-down``, ``auth-up`` ...) with pppd's arguments and env.

pppd runs ``/etc/ppp/ip-up interface tty speed local-IP remote-IP ipparam`` with an environment
that includes ``IFNAME``, ``DEVICE``, ``IPLOCAL``, ``IPREMOTE``, ``PEERNAME``, ``SPEED``,
``DNS1``/``DNS2``/``USEPEERDNS`` and, for the down scripts, ``CONNECT_TIME``, ``BYTES_SENT`` and
``BYTES_RCVD``. Scripts run in the background; the link never waits for them, except that on
the way down the ip-down script is given a bounded time to finish before the interface goes.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["ScriptRunner"]


class ScriptRunner:
    """Runs the config dir's hook scripts if they exist and are executable."""

    def __init__(self, config_dir: Path, logger: logging.Logger | None = None) -> None:
        self.config_dir = config_dir
        self.logger = logger or logging.getLogger("pyppp")
        self._running: set[asyncio.subprocess.Process] = set()

    async def run(
        self,
        name: str,
        args: Sequence[str],
        env: Mapping[str, str],
        *,
        wait: float | None = None,
    ) -> int | None:
        """Start ``<config_dir>/<name>``; with ``wait``, wait that long for it to finish.

        Returns:
            The exit status if it finished while waited for, else ``None``.
        """
        path = self.config_dir / name
        if not (path.is_file() and os.access(path, os.X_OK)):
            return None
        full_env = {"PATH": "/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin", **env}
        try:
            process = await asyncio.create_subprocess_exec(
                str(path),
                *args,
                env=full_env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            self.logger.warning("Can't execute %s: %s", path, exc)
            return None
        # pppd main.c: "Script %s started (pid %d)" (debug)
        self.logger.debug("Script %s started (pid %d)", path, process.pid)
        self._running.add(process)
        waiter = asyncio.ensure_future(self._reap(path, process))
        if wait is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), wait)
        except TimeoutError:
            return None

    async def _reap(self, path: Path, process: asyncio.subprocess.Process) -> int:
        status = await process.wait()
        self._running.discard(process)
        self.logger.debug(
            "Script %s finished (pid %d), status = 0x%x", path, process.pid, status & 0xFFFF
        )
        return status

    async def drain(self, timeout: float) -> None:
        """Wait a little for scripts still running (at exit)."""
        pending = [asyncio.ensure_future(p.wait()) for p in self._running]
        if pending:
            await asyncio.wait(pending, timeout=timeout)
