"""``pyppp chat``: chat(8) on standard input and output, with chat's options and exit statuses.

Log mapping (chat logs to syslog, facility local2): ``-v`` logs the conversation to syslog as
``chat[PID]: ...`` unless ``-S``; ``-s`` copies every message to standard error; ``-V`` logs the
conversation to standard error (chat's man page describes ``-V`` so; its code only echoes the
received characters). Errors always reach standard error too, so a user running it by hand sees
why it failed. REPORT lines go to the ``-r`` file, or to standard error, as
``chat:  Mon DD HH:MM:SS <text>``.
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
from typing import Any

from pyppp.aio.engines import FdPort, PreludeDriver, read_file
from pyppp.pppd.chat.engine import ChatAction, ChatEngine, Echo, Report, Say
from pyppp.pppd.chat.script import ChatScript, ChatScriptError

__all__ = ["add_arguments", "run"]


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


def _stderr_bytes(data: bytes) -> None:
    sys.stderr.flush()
    sys.stderr.buffer.write(data)
    sys.stderr.buffer.flush()


def _performer(report: Callable[[bytes], None]) -> Callable[[ChatAction], None]:
    """SAY and ECHO text to standard error; REPORT lines, time-stamped as chat's, to ``report``."""

    def perform(action: ChatAction) -> None:
        if isinstance(action, Say):
            _stderr_bytes(action.data)
        elif isinstance(action, Echo):
            _stderr_bytes(action.text.encode("utf-8", "replace"))
        elif isinstance(action, Report):
            stamp = time.strftime("%b %d %H:%M:%S ")
            report(f"chat:  {stamp}{action.text}\n".encode("utf-8", "replace"))

    return perform


def run(args: argparse.Namespace) -> int:
    """Run ``pyppp chat``: the script on standard input/output; return chat's exit status."""
    try:
        script = ChatScript.parse_args(_chat_argv(args), env=os.environ, read_file=read_file)
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
        return asyncio.run(_run(script, logger, _performer(report_stream)))
    finally:
        if saved_tty is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(0, termios.TCSANOW, saved_tty)
        if report_fh is not None:
            if script.verbose:
                report_fh.write(f'Closing "{script.report_file}".\n'.encode())
            report_fh.close()


async def _run(
    script: ChatScript, logger: logging.Logger, perform: Callable[[ChatAction], None]
) -> int:
    loop = asyncio.get_running_loop()
    engine = ChatEngine(script, logger=logger, now=loop.time())
    # chat reads one byte at a time, so every byte after its last match stays in the tty.
    port = FdPort(0, 1, read_size=1)
    driver = PreludeDriver(engine, port, perform=perform)

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if signum == signal.SIGHUP:  # obeys HANGUP OFF, as chat does
            engine.connection_lost(name, now=loop.time())
        else:
            engine.terminate(name, 2)
        driver.poke()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        status, _ = await driver.run()
    finally:
        port.close()
    return status


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
