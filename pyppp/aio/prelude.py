"""What happens on the line before PPP: pppd's ``init`` and ``connect``, and the Windows handshake.

pppd runs ``init`` and then ``connect`` with the serial line on the program's standard input and
output, and starts PPP when it exits with status 0 ("Serial connection established."). pyppp
runs a plain ``chat ...`` command with its built-in chat engine instead of a process (so the HOWTO
scripts work where no chat binary is installed); any other command runs through ``/bin/sh -c``
as pppd does. With ``windows`` the direct-cable handshake (``CLIENT`` / ``CLIENTSERVER``) runs
natively: as server it also accepts callers that start PPP directly.

Bytes that arrive after the script's last match (the caller's first PPP frame) are returned, so
the link sees them first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import termios
from typing import Any, Final

from pyppp.aio.chat import PrePppEngine
from pyppp.aio.line import FdLine, ThreadLine
from pyppp.errors import ExitStatus, PyPPPError
from pyppp.pppd.chat import (
    Break,
    ChatEngine,
    ChatScript,
    ChatScriptError,
    Echo,
    Report,
    Say,
    parse_connect_command,
)
from pyppp.pppd.options import PppOptions
from pyppp.pppd.windows import DccClient, DccServer

__all__ = ["PreludeError", "run_prelude"]

EXIT_CONNECT_FAILED: Final = ExitStatus.CONNECT_FAILED
EXIT_INIT_FAILED: Final = ExitStatus.INIT_FAILED


class PreludeError(PyPPPError):
    """The connect/init script or the handshake failed (pppd status 8, or 18 for init)."""

    def __init__(self, message: str, exit_status: int = EXIT_CONNECT_FAILED) -> None:
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
    for which, command in (("init", options.init), ("connect", options.connect)):
        if not command:
            continue
        argv = parse_connect_command(command)
        if argv is not None:
            try:
                script = ChatScript.parse_args(argv)
            except ChatScriptError as exc:
                raise _failed(which, f"chat: {exc}") from exc
            engine = ChatEngine(script, loop.time(), logger=logging.getLogger("pyppp.chat"))
            status, leftover = await drive(engine, line, leftover)
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
            handshake = DccServer(loop.time(), timeout=None, logger=logger)
        else:
            handshake = DccClient(loop.time(), logger=logger)
        status, leftover = await drive(handshake, line, leftover)
        if status != 0:
            raise PreludeError("Windows direct-cable handshake failed", EXIT_CONNECT_FAILED)
    return leftover


def _failed(which: str, detail: str) -> PreludeError:
    if which == "init":
        return PreludeError(f"Init script failed ({detail})", EXIT_INIT_FAILED)
    return PreludeError(f"Connect script failed ({detail})", EXIT_CONNECT_FAILED)


async def drive(
    engine: PrePppEngine, line: FdLine | ThreadLine, initial: bytes = b""
) -> tuple[int, bytes]:
    """Run a sans-IO pre-PPP engine on a line; return its status and the unused bytes."""
    loop = asyncio.get_running_loop()
    finished = asyncio.Event()
    held = bytearray(initial)
    timer: asyncio.TimerHandle | None = None

    def pump() -> None:
        nonlocal timer
        while held and engine.reading and not engine.done:
            data = bytes(held)
            held.clear()
            engine.receive_data(data, loop.time())
        out = engine.data_to_send()
        if out:
            line.write(out)
        while (action := engine.next_action()) is not None:
            _perform(action, line)
        if timer is not None:
            timer.cancel()
            timer = None
        deadline = engine.get_timer()
        if deadline is not None and not engine.done:
            timer = loop.call_at(deadline, on_timer)
        if engine.done:
            if isinstance(line, FdLine):
                # Stop reading now: what the peer sends next (the rest of its first frame)
                # must wait in the tty for the link's start(), not land in this callback after
                # `leftover` is taken (the caller may be a loop turn or more away from it).
                with contextlib.suppress(ValueError, OSError):
                    loop.remove_reader(line.fd)
            else:
                line.pause()  # a reader thread keeps what comes for the link's start()
            finished.set()

    def on_timer() -> None:
        engine.handle_timer(loop.time())
        pump()

    def on_data(data: bytes) -> None:
        held.extend(data)
        pump()

    def on_lost(why: str) -> None:
        engine.connection_lost(loop.time(), why)
        pump()

    line.start(on_data, on_lost)
    pump()
    try:
        await finished.wait()
    finally:
        # Also when cancelled (a signal during the script): no timer may fire on a dead engine.
        if timer is not None:
            timer.cancel()
    leftover = bytes(getattr(engine, "leftover", b"")) + bytes(held)
    status = engine.exit_status
    return (status if status is not None else 1), leftover


def _perform(action: object, line: FdLine | ThreadLine) -> None:
    if isinstance(action, Break) and isinstance(line, FdLine):
        with contextlib.suppress(termios.error, OSError):
            termios.tcsendbreak(line.fd, 0)
    elif isinstance(action, Say):
        sys.stderr.buffer.write(action.data)
        sys.stderr.flush()
    elif isinstance(action, Echo):
        sys.stderr.write(action.text)
        sys.stderr.flush()
    elif isinstance(action, Report):
        logging.getLogger("pyppp.chat").info("%s", action.text)


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
