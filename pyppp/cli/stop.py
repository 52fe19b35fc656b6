"""``pyppp stop [NAME]``: poff(1) for pyppp (and pppd): signal a running link by its pid file.

NAME is a ``linkname`` (``/run/ppp-NAME.pid``) or an interface (``/run/ppp0.pid``); without it
the one link running is meant. As poff: SIGTERM ends the link (``pyppp stop`` waits until the
process has gone), ``-r`` sends SIGHUP (hang up; with ``persist`` it calls again), ``-d``
SIGUSR1 (toggle the packet trace), ``-c`` SIGUSR2 (renegotiate compression), ``-a`` stops
every link. Exit status: 0 done, 1 nothing (or more than one link) to stop.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from pyppp.aio.daemon import DEFAULT_RUN_DIR, read_pid_file

__all__ = ["add_arguments", "run"]

_WAIT_S = 20.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pyppp stop``."""
    parser.add_argument("name", nargs="?", help="the linkname or the interface (ppp0)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "-r", dest="signum", action="store_const", const=signal.SIGHUP, help="redial (SIGHUP)"
    )
    mode.add_argument(
        "-d", dest="signum", action="store_const", const=signal.SIGUSR1, help="toggle debug"
    )
    mode.add_argument(
        "-c", dest="signum", action="store_const", const=signal.SIGUSR2, help="renegotiate CCP"
    )
    parser.add_argument("-a", "--all", action="store_true", help="stop every link")
    parser.add_argument(
        "--run-dir", type=Path, default=DEFAULT_RUN_DIR, help="where the pid files are (/run)"
    )
    parser.add_argument("--no-wait", action="store_true", help="do not wait for the process to end")


def _is_ppp_daemon(pid: int) -> bool:
    """Guard against a pid file left behind and its pid reused by another program."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(b"pyppp" in word or word.endswith(b"pppd") for word in argv)


def _links(run_dir: Path) -> dict[int, str]:
    """Map each running pid to its name, from the ``ppp*.pid`` files in ``run_dir``."""
    found: dict[int, str] = {}
    for path in sorted(run_dir.glob("ppp*.pid")):
        content = read_pid_file(path)
        if content is None or not _is_ppp_daemon(content[0]):
            continue
        name = path.name.removesuffix(".pid").removeprefix("ppp-")
        found.setdefault(content[0], name)
    return found


def _find(run_dir: Path, name: str) -> int | None:
    for path in (run_dir / f"ppp-{name}.pid", run_dir / f"{name}.pid"):
        content = read_pid_file(path)
        if content is not None and _is_ppp_daemon(content[0]):
            return content[0]
    return None


def run(args: argparse.Namespace) -> int:
    """Run ``pyppp stop``; return the exit status."""
    if args.extra:
        print(f"pyppp stop: unexpected {' '.join(args.extra)}", file=sys.stderr)
        return 2
    signum = args.signum or signal.SIGTERM
    if args.name is not None:
        pid = _find(args.run_dir, args.name)
        if pid is None:
            print(f"pyppp stop: no link {args.name} is running", file=sys.stderr)
            return 1
        pids = [pid]
    else:
        links = _links(args.run_dir)
        if not links:
            print("pyppp stop: no link is running", file=sys.stderr)
            return 1
        if len(links) > 1 and not args.all:
            names = ", ".join(sorted(links.values()))
            print(f"pyppp stop: several links are running ({names}): name one", file=sys.stderr)
            return 1
        pids = list(links)
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            continue
        except PermissionError:
            print(f"pyppp stop: not allowed to signal pid {pid}", file=sys.stderr)
            return 1
    if signum != signal.SIGTERM or args.no_wait:
        return 0
    deadline = time.monotonic() + _WAIT_S
    while any(_is_ppp_daemon(pid) for pid in pids):
        if time.monotonic() > deadline:
            print("pyppp stop: still running after 20 s", file=sys.stderr)
            return 1
        time.sleep(0.05)
    return 0
