"""The control socket: a Unix socket per pyppp process that answers with its links' status.

The socket is ``<runtime dir>/<name>.sock``: the runtime directory is ``/run/pyppp`` for root
(``$XDG_RUNTIME_DIR/pyppp`` for another user, or ``/tmp/pyppp-<uid>``; ``$PYPPP_RUNTIME_DIR``
overrides all three), created mode 0700 and owned by the user running pyppp; the socket is
mode 0600. The name is pppd's ``linkname``, else the interface (``ppp0``); when a live pyppp
already answers on that name (two ``ppp0`` in two network namespaces), ``<name>-<pid>``. A
socket left behind by a killed process is found dead (connection refused) and replaced.

Only root and the user running pyppp get an answer: the file modes keep everyone else out,
and each connection's peer credentials (``SO_PEERCRED``) are checked as well, in case the
modes were loosened. The protocol is JSON lines (:mod:`pyppp.status`); a connection may ask
any number of times (``pyppp status --watch`` keeps one open).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import socket
import stat
import struct
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from pyppp import __version__
from pyppp.status import (
    REQUEST_LIMIT,
    BadRequest,
    LinkStatus,
    Request,
    encode_error,
    encode_response,
    parse_request,
)

__all__ = [
    "RUNTIME_DIR_ENV",
    "ControlServer",
    "ControlSocketError",
    "prepare_runtime_dir",
    "runtime_dir",
    "socket_name",
]

RUNTIME_DIR_ENV: Final = "PYPPP_RUNTIME_DIR"
"""The environment variable that chooses the runtime directory (both pyppp and ``status``)."""

_CONNECTIONS: Final = 16  # answered at once; more wait in the listen backlog
_IDLE: Final = 300.0  # seconds a connection may stay silent
_CREDENTIALS: Final = struct.Struct("3i")  # struct ucred: pid, uid, gid
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]")


class ControlSocketError(OSError):
    """The control socket cannot be set up (the link runs on without it)."""


def runtime_dir() -> Path:
    """Where control sockets are (see the module docstring)."""
    chosen = os.environ.get(RUNTIME_DIR_ENV)
    if chosen:
        return Path(chosen)
    if os.geteuid() == 0:
        return Path("/run/pyppp")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "pyppp"
    return Path(f"/tmp/pyppp-{os.geteuid()}")


def socket_name(name: str) -> str:
    """``name`` made safe as a file name (``/`` and the like become ``_``)."""
    cleaned = _UNSAFE.sub("_", name).lstrip(".")[:64]
    return cleaned or "pyppp"


def prepare_runtime_dir(path: Path) -> None:
    """Create ``path`` mode 0700, or check that the existing one is ours and private.

    Raises:
        ControlSocketError: it cannot be created, or someone else owns it or may write it.
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
    except OSError as exc:
        raise ControlSocketError(exc.errno, f"{path}: {exc.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise ControlSocketError(errno.ENOTDIR, f"{path}: not a directory")
    if info.st_uid != os.geteuid():
        raise ControlSocketError(errno.EPERM, f"{path}: owned by uid {info.st_uid}, not us")
    if info.st_mode & 0o077:
        # Ours, but loosened (by hand, or an old umask): a socket inside must stay private.
        try:
            path.chmod(0o700)
        except OSError as exc:
            raise ControlSocketError(exc.errno, f"{path}: {exc.strerror}") from None


def _alive(path: Path) -> bool:
    """Whether a server answers on the socket at ``path`` (a refused connect: it is stale)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


class ControlServer:
    """Serves the status of a process's links on its control socket.

    Args:
        name: the socket's name (``linkname`` or the interface).
        links: returns the links' status now (on the event loop).
        directory: the runtime directory (default: :func:`runtime_dir`).
        logger: where problems are reported (the link never fails because of them).
    """

    def __init__(
        self,
        name: str,
        links: Callable[[], Sequence[LinkStatus]],
        *,
        directory: Path | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.name = socket_name(name)
        self.links = links
        self.directory = directory if directory is not None else runtime_dir()
        self.logger = logger or logging.getLogger("pyppp")
        self.path: Path | None = None
        self._server: asyncio.AbstractServer | None = None
        self._inode: tuple[int, int] | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._busy = asyncio.Semaphore(_CONNECTIONS)

    async def start(self) -> Path:
        """Create the socket; return its path.

        Raises:
            ControlSocketError: the directory or the socket cannot be made.
        """
        prepare_runtime_dir(self.directory)
        for candidate in (self.name, f"{self.name}-{os.getpid()}"):
            path = self.directory / f"{candidate}.sock"
            # A stale socket is probed with a connect: off the loop, however quick it is.
            sock = await asyncio.get_running_loop().run_in_executor(None, self._bind, path)
            if sock is not None:
                break
        else:
            raise ControlSocketError(errno.EADDRINUSE, f"{path}: in use")
        info = path.lstat()
        self._inode = (info.st_dev, info.st_ino)
        self.path = path
        self._server = await asyncio.start_unix_server(
            self._connected, sock=sock, limit=REQUEST_LIMIT + 1
        )
        self.logger.debug("control socket %s", path)
        return path

    def _bind(self, path: Path) -> socket.socket | None:
        # Bound under a private name, made 0600, listening, and only then renamed into place:
        # whoever sees ``path`` (a status client, a test polling for it) sees the final socket.
        staging = path.with_name(f".{path.name}.{os.getpid()}")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            staging.unlink(missing_ok=True)
            sock.bind(str(staging))
            os.chmod(staging, 0o600)
            sock.listen(_CONNECTIONS)
            if _alive(path):
                staging.unlink(missing_ok=True)
                sock.close()
                return None  # another pyppp answers there: take the other name
            os.replace(staging, path)  # over a socket left by a process that was killed
        except OSError as exc:
            with contextlib.suppress(OSError):
                staging.unlink(missing_ok=True)
            sock.close()
            raise ControlSocketError(exc.errno, f"{path}: {exc.strerror}") from None
        sock.setblocking(False)
        return sock

    async def close(self) -> None:
        """Stop answering and remove the socket (only if it is still the one we made)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            for task in list(self._handlers):
                task.cancel()
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self.remove()

    def remove(self) -> None:
        """Remove the socket file now (also safe to call from a last-resort cleanup)."""
        path, self.path = self.path, None
        if path is None:
            return
        with contextlib.suppress(OSError):
            info = path.lstat()
            if (info.st_dev, info.st_ino) == self._inode:
                path.unlink()

    # -- one client ----------------------------------------------------------------------------
    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            async with self._busy:
                await self._serve(reader, writer)
        except (ConnectionError, asyncio.CancelledError, TimeoutError):
            pass
        except Exception:  # a client must never take the daemon down
            self.logger.exception("control socket: error while answering")
        finally:
            if task is not None:
                self._handlers.discard(task)
            writer.close()
            # close() cancels this task and the loop's shutdown may cancel it again while it
            # waits here; a handler that ends cancelled makes Python 3.11's stream callback log
            # a traceback, so the wait is cut short quietly instead.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        refusal = self._refusal(writer)
        if refusal is not None:
            writer.write(encode_error(refusal))
            await writer.drain()
            return
        while True:
            try:
                line = await asyncio.wait_for(reader.readline(), _IDLE)
            except ValueError:  # longer than the limit, with no newline in it
                writer.write(encode_error(f"request longer than {REQUEST_LIMIT} octets"))
                await writer.drain()
                return
            if not line:
                return
            try:
                request = parse_request(line)
            except BadRequest as exc:
                writer.write(encode_error(str(exc)))
            else:
                writer.write(self._answer(request))
            await writer.drain()

    def _refusal(self, writer: asyncio.StreamWriter) -> str | None:
        """Why this client gets no answer (``None``: it is root or the user running pyppp)."""
        sock = writer.get_extra_info("socket")
        if sock is None:  # pragma: no cover - a Unix stream always has one
            return "permission denied"
        try:
            raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDENTIALS.size)
        except OSError:
            return "permission denied"
        _pid, uid, _gid = _CREDENTIALS.unpack(raw)
        if uid in (0, os.geteuid()):
            return None
        self.logger.warning("control socket: refused a client with uid %d", uid)
        return "permission denied"

    def _answer(self, request: Request) -> bytes:
        links = list(self.links())
        if request.link is not None:
            links = [link for link in links if link.matches(request.link)]
        return encode_response(links, pid=os.getpid(), version=__version__)
