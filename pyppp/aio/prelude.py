"""What happens on the line before PPP: pppd's ``init`` and ``connect``, and the Windows handshake.

pppd runs ``init`` and then ``connect`` with the serial line on the program's standard input and
output, and starts PPP when it exits with status 0 ("Serial connection established."). pyppp
runs a plain ``chat ...`` command with its built-in chat engine instead of a process (so the HOWTO
scripts work where no chat binary is installed); any other command runs through ``/bin/sh -c``
as pppd does. With ``windows`` the direct-cable handshake (``CLIENT`` / ``CLIENTSERVER``) runs
natively: as server it also accepts callers that start PPP directly. The engines run through
:class:`pyppp.aio.engines.PreludeDriver` on the link's line (:class:`LinePort`).

Bytes that arrive after the script's last match (the caller's first PPP frame) are returned, so
the link sees them first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import termios
from typing import Any

from pyppp.aio.engines import (
    DataCallback,
    PrePppEngine,
    ReasonCallback,
    drive,
    read_file,
    tcsendbreak,
)
from pyppp.aio.line import FdLine, ThreadLine
from pyppp.errors import ExitStatus, PyPPPError
from pyppp.pppd.chat.command import parse_connect_command
from pyppp.pppd.chat.engine import ChatEngine
from pyppp.pppd.chat.script import ChatScript, ChatScriptError
from pyppp.pppd.options import PppOptions
from pyppp.pppd.windows import DccClient, DccServer

__all__ = ["LinePort", "PreludeError", "run_device_command", "run_disconnect", "run_prelude"]


_chat_log = logging.getLogger("pyppp.chat")


class PreludeError(PyPPPError):
    """The connect/init script or the handshake failed (pppd status 8, or 18 for init)."""

    def __init__(self, message: str, exit_status: int = ExitStatus.CONNECT_FAILED) -> None:
        super().__init__(message)
        self.exit_status = exit_status


async def run_prelude(
    options: PppOptions,
    line: FdLine | ThreadLine,
    *,
    serving: bool,
    logger: logging.Logger,
) -> bytes:
    """Run ``init``, ``connect`` and the Windows handshake; return bytes meant for PPP.

    Raises:
        PreludeError: a script failed (pppd: "Connect script failed", status 8).
    """
    leftover = b""
    loop = asyncio.get_running_loop()
    port = LinePort(line)
    for which, command in (("init", options.init), ("connect", options.connect)):
        if not command:
            continue
        argv = parse_connect_command(command)
        if argv is not None:
            try:
                script = ChatScript.parse_args(argv, read_file=read_file)
            except ChatScriptError as exc:
                raise _failed(which, f"chat: {exc}") from exc
            engine = ChatEngine(script, logger=_chat_log, now=loop.time())
            status, leftover = await drive(engine, port, leftover)
        else:
            status = await _run_program(command, line, logger)
            leftover = b""
        if status != 0:
            raise _failed(which, f"{which} script exited with status {status}")
        # pppd tty.c
        logger.info(
            "Serial port initialized." if which == "init" else "Serial connection established."
        )
    if options.windows:
        handshake: PrePppEngine
        if serving:
            handshake = DccServer(timeout=None, logger=logger, now=loop.time())
        else:
            handshake = DccClient(logger=logger, now=loop.time())
        status, leftover = await drive(handshake, port, leftover)
        if status != 0:
            raise PreludeError("Windows direct-cable handshake failed", ExitStatus.CONNECT_FAILED)
    if options.welcome:
        # pppd tty.c: the welcome script runs after the connect script; failing is a warning.
        if await run_device_command(options.welcome, line, logger) != 0:
            logger.warning("Welcome script failed")
        leftover = b""
    return leftover


def _failed(which: str, detail: str) -> PreludeError:
    if which == "init":
        return PreludeError(f"Init script failed ({detail})", ExitStatus.INIT_FAILED)
    return PreludeError(f"Connect script failed ({detail})", ExitStatus.CONNECT_FAILED)


class LinePort:
    """The link's own line (:class:`FdLine` or :class:`ThreadLine`) as a :class:`PrePppPort`.

    Write errors end up as a hang-up (the line reports them so), and the line keeps writing what
    it queued while PPP starts, so :meth:`drain` does not wait.
    """

    def __init__(self, line: FdLine | ThreadLine) -> None:
        self.line = line
        self._on_data: DataCallback = lambda data: None
        self._on_lost: ReasonCallback = lambda reason: None

    def bind(
        self, on_data: DataCallback, on_lost: ReasonCallback, on_error: ReasonCallback
    ) -> None:
        """Set the callbacks (the line reports write errors as a hang-up)."""
        self._on_data, self._on_lost = on_data, on_lost

    def resume(self) -> None:
        """Start (again) delivering the line's bytes."""
        self.line.start(self._on_data, self._on_lost)

    def pause(self) -> None:
        """Stop reading: a tty keeps the bytes, a reader thread holds them for the next start."""
        if isinstance(self.line, FdLine):
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self.line.fd)
        else:
            self.line.pause()

    def write(self, data: bytes) -> None:
        """Queue bytes on the line."""
        self.line.write(data)

    async def drain(self) -> None:
        """Nothing to wait for: the line writes its queue in order, PPP's bytes after it."""

    async def send_break(self) -> None:
        """``tcsendbreak`` on a tty, once the line's queue is written (at most 2 s)."""
        line = self.line
        if not isinstance(line, FdLine):
            _chat_log.debug("BREAK: not possible on %s", line.name)
            return
        for _ in range(200):
            if not line.write_buffer_size:
                break
            await asyncio.sleep(0.01)
        await tcsendbreak(line.fd)


# ---------------------------------------------------------------- connect programs


async def _run_program(command: str, line: FdLine | ThreadLine, logger: logging.Logger) -> int:
    """Run ``command`` with the line on its stdin and stdout, as pppd's connect does."""
    if isinstance(line, FdLine):
        line.suspend()
        os.set_blocking(line.fd, True)
        saved = _blocking_reads(line.fd)
        try:
            process = await asyncio.create_subprocess_shell(
                command, stdin=line.fd, stdout=line.fd, start_new_session=True
            )
            return await _wait_or_kill(process)
        finally:
            os.set_blocking(line.fd, False)
            if saved is not None:
                with contextlib.suppress(termios.error, OSError):
                    termios.tcsetattr(line.fd, termios.TCSANOW, saved)
    # A URL line has no descriptor: relay between the program's pipes and the line.
    process = await asyncio.create_subprocess_shell(
        command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    stdin, stdout = process.stdin, process.stdout
    line.start(lambda data: stdin.write(data), lambda why: stdin.close())
    try:
        while chunk := await stdout.read(4096):
            line.write(chunk)
    except asyncio.CancelledError:
        await _end_group(process)
        raise
    status = await _wait_or_kill(process)
    logger.debug("connect program exited with status %d", status)
    return status


async def _wait_or_kill(process: asyncio.subprocess.Process) -> int:
    """Wait for the program; if we are cancelled (SIGTERM, SIGHUP), end it first.

    pppd sends the signal it got to the connect script's process group (``kill_my_pg``);
    the script runs in its own session here, so its group is its pid.
    """
    try:
        return await process.wait()
    except asyncio.CancelledError:
        await _end_group(process)
        raise


async def _end_group(process: asyncio.subprocess.Process) -> None:
    """SIGTERM the program's group; SIGKILL it if it is still there 3 s later."""
    _kill_group(process)
    try:
        await asyncio.wait_for(process.wait(), 3.0)
    except TimeoutError:
        _kill_group(process, signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 1.0)


def _kill_group(process: asyncio.subprocess.Process, sig: signal.Signals = signal.SIGTERM) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)


def _blocking_reads(fd: int) -> list[Any] | None:
    """Make a read on the tty wait for at least one byte (VMIN 1, VTIME 0), as pppd does.

    pyserial opens ports with VMIN 0 and VTIME 0, where a blocking read() returns 0 at once
    when nothing has arrived yet: a connect program (chat, a shell script) would take that for
    end of file. Returns the previous attributes to restore, or None (not a tty).
    """
    try:
        saved = termios.tcgetattr(fd)
    except (termios.error, OSError):
        return None
    attrs = [*saved[:6], list(saved[6])]
    attrs[6][termios.VMIN] = 1
    attrs[6][termios.VTIME] = 0
    with contextlib.suppress(termios.error, OSError):
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    return saved


# -- welcome and disconnect: the other programs pppd runs on the line ---------------------------


async def run_device_command(
    command: str, line: FdLine | ThreadLine, logger: logging.Logger
) -> int:
    """Run a ``welcome``/``disconnect`` command on the line, as ``connect`` is run.

    A plain ``chat ...`` command runs on the built-in chat engine; anything else through
    ``/bin/sh -c`` with the line on its standard input and output. Returns its exit status.
    """
    argv = parse_connect_command(command)
    if argv is None:
        return await _run_program(command, line, logger)
    try:
        script = ChatScript.parse_args(argv, read_file=read_file)
    except ChatScriptError as exc:
        logger.error("chat: %s", exc)
        return 2
    loop = asyncio.get_running_loop()
    engine = ChatEngine(script, logger=_chat_log, now=loop.time())
    status, _ = await drive(engine, LinePort(line))
    return status


async def run_disconnect(command: str, line: FdLine | ThreadLine, logger: logging.Logger) -> None:
    """Run the disconnect script and report as pppd's ``disconnect_tty`` does."""
    if await run_device_command(command, line, logger) != 0:
        logger.warning("disconnect script failed")
    else:
        logger.info("Serial link disconnected.")
