"""Reading pap-secrets and chap-secrets off the event loop, at the moments pppd would read them.

pppd opens its secrets file at every lookup, so an edit applies to the next authentication.
pyppp's engines look up in memory (`pyppp.pppd.secrets.LiveSecrets`); this module re-reads the
files in a worker thread and swaps the snapshot in, at these moments:

1. at start-up, both files, before the options are checked (pppd's ``auth_check_options``:
   is there a secret the peer could use?);
2. at each connection attempt, both files, after the connect script and before LCP starts
   (pppd's ``auth_reset``); awaited, so every call starts with the files as they are then;
3. in the background, one file, whenever an engine begins an exchange that will look a secret
   up in it (`~pyppp.pppd.secrets.SecretsSource.prefetch`): the CHAP authenticator sending each
   new Challenge (the first and every ``chap-interval`` re-challenge), the PAP authenticator
   starting to wait for a request, the CHAP peer starting to wait for a Challenge. The lookup
   comes a round trip of the line later and uses the new contents if the read has finished by
   then (a small file is read in well under a millisecond), else the previous ones;
4. in the background, both files, when LCP goes down (a renegotiation brings a new
   authentication; the PAP peer looks its password up as soon as it starts).

Each read takes the secrets file (at most `~pyppp.pppd.secrets.MAX_SECRETS_FILE_SIZE` octets)
and every ``@/path`` file its lines name (at most `~pyppp.pppd.secrets.MAX_INDIRECT_SECRET_SIZE`
octets each) and prints pppd's messages about them ("Can't open chap secret file ...", "Warning -
secret file ... has world and/or group access"; those about an ``@/path`` file when a lookup
uses its line).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from pathlib import Path

from pyppp.errors import ConfigError, ExitStatus
from pyppp.events import Event, LinkDown
from pyppp.pppd.secrets import (
    MAX_INDIRECT_SECRET_SIZE,
    MAX_SECRETS_FILE_SIZE,
    FileRead,
    LiveSecrets,
    SecretsFile,
)
from pyppp.pppd.session import Secrets

__all__ = [
    "SecretsReader",
    "load_secrets_file",
    "read_file",
    "read_secrets",
    "read_secrets_file",
]


def read_file(path: str | Path, limit: int) -> FileRead:
    """Read at most ``limit`` octets of a file and its mode (blocking: run it in a thread).

    Never raises: a file that cannot be opened or read, or holds more than ``limit`` octets,
    comes back without data and says why.
    """
    name = str(path)
    try:
        with open(path, "rb") as stream:
            try:
                mode: int | None = os.fstat(stream.fileno()).st_mode
                stat_error = None
            except OSError as exc:
                mode, stat_error = None, exc.strerror or str(exc)
            data = stream.read(limit + 1)
    except OSError as exc:
        return FileRead(name, error=exc.strerror or str(exc))
    except ValueError as exc:  # a NUL in the name
        return FileRead(name, error=str(exc))
    if len(data) > limit:
        return FileRead(name, too_large=True, mode=mode, stat_error=stat_error)
    return FileRead(name, data, mode=mode, stat_error=stat_error)


def read_secrets_file(
    path: str | Path,
    *,
    kind: str = "chap",
    logger: logging.Logger | None = None,
    report_unreadable: bool = True,
) -> SecretsFile | None:
    """Read one secrets file and the ``@/path`` files it names (blocking).

    Args:
        path: the file.
        kind: ``"pap"`` or ``"chap"``.
        logger: where pppd's lines go.
        report_unreadable: say "Can't open ..." if it cannot be read (see
            `SecretsFile.from_read`: only a read for an authentication does).

    Returns:
        The snapshot, or ``None`` (after pppd's "Can't open ..." line) if it cannot be used.
    """
    parsed = SecretsFile.from_read(
        read_file(path, MAX_SECRETS_FILE_SIZE),
        kind=kind,
        logger=logger,
        report_unreadable=report_unreadable,
    )
    if parsed is None:
        return None
    indirect = {p: read_file(p, MAX_INDIRECT_SECRET_SIZE) for p in parsed.indirect_paths()}
    return parsed.with_indirect(indirect)


def load_secrets_file(path: str | Path, *, logger: logging.Logger | None = None) -> SecretsFile:
    """Read a secrets file that must exist (blocking), as `read_secrets_file` otherwise does.

    Raises:
        ConfigError: the file cannot be read or is too large (exit status 1, as pppd's fatal
            errors).
    """
    read = read_file(path, MAX_SECRETS_FILE_SIZE)
    if read.data is None:
        why = (
            f"larger than {MAX_SECRETS_FILE_SIZE} octets"
            if read.too_large
            else f"can't read secrets file: {read.error}"
        )
        raise ConfigError(why, source=str(path), exit_status=ExitStatus.FATAL_ERROR)
    parsed = SecretsFile.from_read(read, logger=logger)
    assert parsed is not None  # it has data
    indirect = {p: read_file(p, MAX_INDIRECT_SECRET_SIZE) for p in parsed.indirect_paths()}
    return parsed.with_indirect(indirect)


def read_secrets(config_dir: Path, logger: logging.Logger | None = None) -> Secrets:
    """The ``pap-secrets`` and ``chap-secrets`` of a config dir, read now (blocking)."""
    reader = SecretsReader(config_dir, logger)
    reader.read_now()
    return reader.secrets


class SecretsReader:
    """Keeps one process's two secrets files current (the moments are in the module doc).

    Args:
        config_dir: where ``pap-secrets`` and ``chap-secrets`` are (pppd's ``/etc/ppp``).
        logger: where pppd's lines about the files go.
        pap: pppd 2.5's ``pap-secrets`` option: the file instead of the config dir's.
        chap: pppd 2.5's ``chap-secrets`` option, likewise.
    """

    def __init__(
        self,
        config_dir: Path,
        logger: logging.Logger | None = None,
        *,
        pap: str | None = None,
        chap: str | None = None,
    ) -> None:
        self.logger = logger
        self.secrets = Secrets(
            pap=LiveSecrets(pap or str(config_dir / "pap-secrets"), kind="pap"),
            chap=LiveSecrets(chap or str(config_dir / "chap-secrets"), kind="chap"),
        )
        self._files = (self.secrets.pap, self.secrets.chap)
        for live in self._files:
            live.on_prefetch = functools.partial(self.refresh_soon, live)
        self.reads = 0
        """Completed reads of a file (for tests and diagnostics)."""
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()

    def _read(self, live: LiveSecrets, report: bool = False) -> SecretsFile | None:
        # pppd is silent about an unreadable file at start-up and at each call (its
        # have_*_secret checks) and says "Can't open ..." only when an authentication looks a
        # secret up: the engine's prefetch (moment 3) is that moment here.
        return read_secrets_file(
            live.path, kind=live.kind, logger=self.logger, report_unreadable=report
        )

    def _install(self, live: LiveSecrets, snapshot: SecretsFile | None) -> None:
        live.replace(snapshot)
        self.reads += 1

    def read_now(self) -> None:
        """Read both files in this thread (outside an event loop: tests, tools)."""
        for live in self._files:
            self._install(live, self._read(live))

    async def refresh(self) -> None:
        """Read both files in a worker thread and use them from now on."""
        for live in self._files:
            self._install(live, await asyncio.to_thread(self._read, live))

    def refresh_soon(self, live: LiveSecrets | None = None, *, report: bool = True) -> None:
        """Re-read one file (or both) in the background.

        One read per file at a time: a request while one runs makes it run once more after,
        so the last request always gets a read that began after it. Outside a running event
        loop this does nothing (the awaited reads still happen).
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        for one in (live,) if live is not None else self._files:
            task = self._tasks.get(one.kind)
            if task is not None and not task.done():
                self._again.add(one.kind)
            else:
                self._tasks[one.kind] = loop.create_task(self._refresh_loop(one, report))

    async def _refresh_loop(self, live: LiveSecrets, report: bool) -> None:
        while True:
            self._again.discard(live.kind)
            try:
                self._install(live, await asyncio.to_thread(self._read, live, report))
            except Exception as exc:  # a reader bug must not take the link down
                logging.getLogger("pyppp").error("reading %s failed: %s", live.path, exc)
            if live.kind not in self._again:
                return

    def on_event(self, event: Event) -> None:
        """Re-read both files in the background when LCP goes down (moment 4)."""
        if isinstance(event, LinkDown):
            self.refresh_soon(report=False)

    def pending(self) -> list[asyncio.Task[None]]:
        """The background reads still running."""
        return [task for task in self._tasks.values() if not task.done()]

    def stop(self) -> None:
        """Drop the background reads still running (the link they were for has ended)."""
        for task in self._tasks.values():
            task.cancel()  # its thread finishes on its own; nothing is installed
        self._tasks.clear()
        self._again.clear()
