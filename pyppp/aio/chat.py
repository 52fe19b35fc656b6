"""Shell for the pre-PPP engines: chat(8) scripts and the Windows handshake on a serial line.

:func:`run_engine` drives any of the sans-IO "pre-PPP" engines
(:class:`pyppp.pppd.chat.ChatEngine`, :class:`pyppp.pppd.windows.DccServer`,
:class:`pyppp.pppd.windows.DccClient`) on a file descriptor; the
link code calls it for pppd's ``connect``. ``pyppp chat`` is chat(8) on standard input and
output, with chat's options and exit statuses.

Log mapping of ``pyppp chat`` (chat logs to syslog, facility local2): ``-v`` logs the
conversation to syslog as ``chat[PID]: ...`` unless ``-S``; ``-s`` copies every message to
standard error; ``-V`` logs the conversation to standard error (chat's man page describes
``-V`` so; its code only echoes the received characters). Errors always reach standard error
too, so a user running it by hand sees why it failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import logging.handlers
import os
import signal
import sys
import termios
import time
from collections.abc import Callable
from typing import Any, Protocol

from pyppp.pppd.chat import Break, ChatEngine, ChatScript, ChatScriptError, Echo, Report, Say

__all__ = ["PrePppEngine", "add_arguments", "run", "run_engine"]


class PrePppEngine(Protocol):
    """What :func:`run_engine` needs from an engine (chat or a Windows handshake)."""

    exit_status: int | None

    @property
    def done(self) -> bool:
        """True once the engine has finished (see ``exit_status``)."""

    @property
    def reading(self) -> bool:
        """True while the engine wants bytes from the line."""

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes read from the line."""

    def data_to_send(self) -> bytes:
        """Bytes to write to the line."""

    def next_action(self) -> object | None:
        """The next side effect (Break, Say, Echo, Report, Hangup) or None."""

    def get_timer(self) -> float | None:
        """The next deadline on the monotonic clock."""

    def handle_timer(self, now: float) -> None:
        """Called once the deadline has passed."""

    def connection_lost(self, now: float, reason: str = ...) -> None:
        """The line hung up or reached end-of-file."""

    def terminate(self, reason: str, exit_status: int = ...) -> None:
        """Stop at once with ``reason`` and ``exit_status``."""


def _stderr_bytes(data: bytes) -> None:
    sys.stderr.flush()
    sys.stderr.buffer.write(data)
    sys.stderr.buffer.flush()


def _report_line(text: str, stream: Callable[[bytes], None]) -> None:
    stamp = time.strftime("%b %d %H:%M:%S ")
    stream(f"chat:  {stamp}{text}\n".encode("utf-8", "replace"))


async def run_engine(
    engine: PrePppEngine,
    fd: int,
    *,
    write_fd: int | None = None,
    read_size: int = 4096,
    stderr: Callable[[bytes], None] = _stderr_bytes,
    report: Callable[[bytes], None] | None = None,
    wake: asyncio.Event | None = None,
) -> int:
    """Run a pre-PPP engine on a line until it is done; return its exit status.

    Bytes the engine received but did not use are in ``engine.leftover`` afterwards (the
    start of PPP); the link must feed them to PPP first. The engine is read only while it
    waits for input, so a chat script leaves unread bytes in the tty as chat does.

    Args:
        engine: the engine, already started.
        fd: the line (read side; also the write side unless ``write_fd`` is given).
        write_fd: a separate descriptor to write (standard output for ``pyppp chat``).
        read_size: bytes per read (1 reproduces chat's byte-at-a-time reading).
        stderr: where SAY and ECHO text go.
        report: where REPORT lines go (default: ``stderr``).
        wake: an event to set after calling ``engine.terminate`` from outside (a signal
            handler), so the loop notices at once.
    """
    loop = asyncio.get_running_loop()
    wfd = fd if write_fd is None else write_fd
    saved = {f: os.get_blocking(f) for f in {fd, wfd}}
    for f in saved:
        os.set_blocking(f, False)
    readable = wake or asyncio.Event()
    reader_on = False
    pollable = True
    eof = False
    try:
        while True:
            await _flush(loop, engine, wfd)
            while (action := engine.next_action()) is not None:
                if isinstance(action, Say):
                    stderr(action.data)
                elif isinstance(action, Echo):
                    stderr(action.text.encode("utf-8", "replace"))
                elif isinstance(action, Report):
                    _report_line(action.text, report or stderr)
                elif isinstance(action, Break) and os.isatty(wfd):
                    await loop.run_in_executor(None, termios.tcsendbreak, wfd, 0)
            if engine.done:
                break
            want = engine.reading and not eof
            if want != reader_on:
                if not want:
                    loop.remove_reader(fd)
                    reader_on = False
                elif not pollable:
                    readable.set()  # a regular file is always readable
                else:
                    try:
                        loop.add_reader(fd, readable.set)
                        reader_on = True
                    except PermissionError:  # a regular file: epoll refuses it
                        pollable = False
                        readable.set()
            if want and not pollable:
                readable.set()
            deadline = engine.get_timer()
            timeout = None if deadline is None else deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                engine.handle_timer(time.monotonic())
                continue
            if not want and timeout is None:
                engine.terminate("no input and no timeout: giving up", 3)
                continue
            try:
                await asyncio.wait_for(readable.wait(), timeout)
            except TimeoutError:
                engine.handle_timer(time.monotonic())
                continue
            readable.clear()
            if not want:
                continue
            try:
                data = os.read(fd, read_size)
            except BlockingIOError:
                continue
            except OSError:  # EIO: the other side of a pty closed, i.e. carrier lost
                data = b""
            if data:
                engine.receive_data(data, time.monotonic())
            else:
                eof = True
                engine.connection_lost(time.monotonic())
        await _flush(loop, engine, wfd)
    finally:
        if reader_on:
            loop.remove_reader(fd)
        for f, blocking in saved.items():
            with contextlib.suppress(OSError):
                os.set_blocking(f, blocking)
    return engine.exit_status if engine.exit_status is not None else 2


async def _flush(loop: asyncio.AbstractEventLoop, engine: PrePppEngine, fd: int) -> None:
    """Write everything the engine queued; an error ends the engine with status 2."""
    data = memoryview(engine.data_to_send())
    while data:
        try:
            data = data[os.write(fd, data) :]
        except BlockingIOError:
            writable = loop.create_future()
            loop.add_writer(fd, writable.set_result, None)
            try:
                await writable
            finally:
                loop.remove_writer(fd)
        except OSError as exc:
            engine.terminate(f" -- write failed: {exc.strerror or exc}", 2)
            return


# ---------------------------------------------------------------- `pyppp chat` command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add chat(8)'s options to the ``pyppp chat`` parser."""
    add = parser.add_argument
    add("-e", dest="echo", action="store_true", help="start with ECHO ON")
    add("-E", dest="use_env", action="store_true", help="substitute $NAME from the environment")
    add("-v", dest="verbose", action="store_true", help="log the conversation (syslog)")
    add("-V", dest="stderr_verbose", action="store_true", help="log the conversation to stderr")
    add("-s", dest="use_stderr", action="store_true", help="send log messages to stderr")
    add("-S", dest="no_syslog", action="store_true", help="do not use syslog")
    add("-t", dest="timeout", metavar="TIMEOUT", help="expect timeout in seconds (default 45)")
    add("-r", dest="report_file", metavar="FILE", help="append REPORT lines to FILE")
    add("-T", dest="phone", metavar="PHONE", help="substituted for \\T in send strings")
    add("-U", dest="phone2", metavar="PHONE2", help="substituted for \\U in send strings")
    add("-f", dest="chat_file", metavar="FILE", help="read the script from FILE")
    add("script", nargs=argparse.REMAINDER, help="expect send [expect send ...]")


def _chat_argv(args: argparse.Namespace) -> list[str]:
    """Rebuild chat's own argv, so that ChatScript.parse_args is the one parser of record."""
    flags = {"e": "echo", "E": "use_env", "v": "verbose", "V": "stderr_verbose"}
    flags |= {"s": "use_stderr", "S": "no_syslog"}
    argv = [f"-{letter}" for letter, name in flags.items() if getattr(args, name, False)]
    valued = {"t": "timeout", "r": "report_file", "T": "phone", "U": "phone2", "f": "chat_file"}
    for letter, name in valued.items():
        if getattr(args, name, None) is not None:
            argv += [f"-{letter}", getattr(args, name)]
    extra = list(getattr(args, "extra", None) or [])
    unknown = [w for w in extra if w.startswith("-") and len(w) > 1]
    if unknown:
        raise ChatScriptError(f"unknown option {unknown[0]}")
    return [*argv, "--", *(getattr(args, "script", None) or []), *extra]


def _make_logger(script: ChatScript) -> logging.Logger:
    logger = logging.Logger("chat")  # private: no global logging state changes
    verbose = script.verbose or script.stderr_verbose
    if script.use_syslog and script.verbose and os.path.exists("/dev/log"):
        with contextlib.suppress(OSError):
            handler = logging.handlers.SysLogHandler(
                "/dev/log", logging.handlers.SysLogHandler.LOG_LOCAL2
            )
            handler.setFormatter(logging.Formatter(f"chat[{os.getpid()}]: %(message)s"))
            logger.addHandler(handler)
    err = logging.StreamHandler(sys.stderr)
    err.setFormatter(logging.Formatter("%(message)s"))
    both = script.use_stderr or script.stderr_verbose
    err.setLevel(logging.INFO if both else logging.ERROR)
    logger.addHandler(err)
    logger.setLevel(logging.INFO if verbose or both else logging.ERROR)
    return logger


def run(args: argparse.Namespace) -> int:
    """Run ``pyppp chat``: the script on standard input/output; return chat's exit status."""
    try:
        script = ChatScript.parse_args(_chat_argv(args), env=os.environ)
    except ChatScriptError as exc:
        print(f"chat: {exc}", file=sys.stderr)
        return exc.exit_status
    logger = _make_logger(script)
    report_stream: Callable[[bytes], None] = _stderr_bytes
    report_fh = open(script.report_file, "ab") if script.report_file else None  # noqa: SIM115
    if report_fh is not None:
        report_stream = report_fh.write  # type: ignore[assignment]
        if script.verbose:
            report_fh.write(f'Opening "{script.report_file}"...\n'.encode())
    saved_tty = _raw_stdin()
    try:
        return asyncio.run(_run_cli(script, logger, report_stream))
    finally:
        if saved_tty is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(0, termios.TCSANOW, saved_tty)
        if report_fh is not None:
            if script.verbose:
                report_fh.write(f'Closing "{script.report_file}".\n'.encode())
            report_fh.close()


async def _run_cli(
    script: ChatScript, logger: logging.Logger, report: Callable[[bytes], None]
) -> int:
    engine = ChatEngine(script, time.monotonic(), logger=logger)
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if signum == signal.SIGHUP:  # obeys HANGUP OFF, as chat does
            engine.connection_lost(time.monotonic(), name)
        else:
            engine.terminate(name, 2)
        wake.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, on_signal, signum)
    return await run_engine(engine, 0, write_fd=1, read_size=1, report=report, wake=wake)


def _raw_stdin() -> list[Any] | None:
    """Set the tty on standard input as chat does (raw, 8th bit stripped); return the old."""
    if not os.isatty(0):
        return None
    old = termios.tcgetattr(0)
    new = termios.tcgetattr(0)
    new[0] |= termios.IGNBRK | termios.ISTRIP | termios.IGNPAR
    new[1] = 0
    new[3] = 0
    new[6][termios.VERASE] = new[6][termios.VKILL] = 0
    new[6][termios.VMIN], new[6][termios.VTIME] = 1, 0
    termios.tcsetattr(0, termios.TCSANOW, new)
    return old
