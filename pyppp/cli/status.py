"""``pyppp status``: every running pyppp link at a glance, from their control sockets.

``pyppp status [NAME]`` asks every control socket it may read (``/run/pyppp/*.sock``; see
:mod:`pyppp.aio.control`) and prints one line per link; ``--json`` prints the same as data;
``--watch [SECONDS]`` keeps refreshing, with the rates each way (as ``pppstats INTERVAL``)
and a note for a link that is erroring or stalled. NAME is a ``linkname`` or an interface.
Exit status 0, or 1 when a socket could not be read and no link was shown, or NAME matched
no link.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pyppp.aio.control import runtime_dir
from pyppp.status import BadStatus, LinkStatus, Request, decode_response, encode_request

__all__ = ["Sample", "add_arguments", "format_table", "human_bytes", "human_time", "run"]

_TIMEOUT: Final = 2.0
_ANSWER_LIMIT: Final = 16 * 1024 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pyppp status``."""
    parser.add_argument("name", nargs="?", help="only this link (linkname or interface)")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.add_argument(
        "--watch",
        nargs="?",
        type=float,
        const=1.0,
        metavar="SECONDS",
        help="refresh every SECONDS (default 1) with the rates each way, until interrupted",
    )
    parser.add_argument(
        "--count", type=int, metavar="N", help="with --watch: stop after N refreshes"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        help="where the control sockets are (default: $PYPPP_RUNTIME_DIR, or /run/pyppp)",
    )


# -- reading the sockets ------------------------------------------------------------------------


@dataclass
class Sample:
    """What one round of asking gave: the links, and the sockets that did not answer."""

    taken: float
    links: list[tuple[str, LinkStatus]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def socket_paths(directory: Path | None) -> tuple[list[Path], list[tuple[str, str]]]:
    """The control sockets to ask, and the directories that could not be read."""
    directories = [directory] if directory is not None else [runtime_dir()]
    if directory is None and os.geteuid() == 0:
        # Root may read the sockets of pyppp run by other users as well.
        directories += sorted(Path("/run/user").glob("*/pyppp"))
    paths: list[Path] = []
    problems: list[tuple[str, str]] = []
    for where in directories:
        try:
            paths += sorted(p for p in where.iterdir() if p.suffix == ".sock")
        except FileNotFoundError:
            continue
        except OSError as exc:
            problems.append((str(where), exc.strerror or str(exc)))
    return paths, problems


def ask(path: Path, request: Request) -> list[LinkStatus]:
    """Ask one control socket; return its links.

    Raises:
        OSError: it cannot be reached (a stale socket: connection refused).
        BadStatus: it answered with an error or with something else than a status.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(_TIMEOUT)
        sock.connect(str(path))
        with contextlib.suppress(BrokenPipeError):
            # A refused client is answered and hung up on, maybe before it has asked.
            sock.sendall(encode_request(request))
        answer = bytearray()
        while not answer.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
            if len(answer) > _ANSWER_LIMIT:
                raise BadStatus("answer too long")
    return list(decode_response(bytes(answer)).links)


def sample(name: str | None, directory: Path | None) -> Sample:
    """Ask every socket once."""
    paths, problems = socket_paths(directory)
    result = Sample(time.monotonic(), problems=problems)
    request = Request("status", name)
    for path in paths:
        try:
            links = ask(path, request)
        except ConnectionRefusedError:
            continue  # left by a pyppp that was killed: nobody runs there
        except (OSError, BadStatus) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            result.problems.append((str(path), why))
            continue
        result.links += [(str(path), link) for link in links if name is None or link.matches(name)]
    return result


# -- formatting ---------------------------------------------------------------------------------


def human_bytes(count: float) -> str:
    """``1536`` -> ``1.5K`` (binary multiples, as ``ls -h``)."""
    for unit in ("B", "K", "M", "G", "T"):
        if count < 1024 or unit == "T":
            return f"{count:.0f}{unit}" if unit == "B" or count >= 100 else f"{count:.1f}{unit}"
        count /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def human_time(seconds: float | None) -> str:
    """``3725`` -> ``1h02m``; ``None`` -> ``-``."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def human_rtt(seconds: float | None) -> str:
    """A round trip: ``0.0123`` -> ``12ms``."""
    if seconds is None:
        return "-"
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f}us"
    if seconds < 1:
        return f"{seconds * 1e3:.0f}ms"
    return f"{seconds:.1f}s"


@dataclass(frozen=True)
class Rates:
    """What changed for one link between two samples."""

    sent: float
    received: float
    new_errors: int


def rates(before: Sample | None, now: Sample) -> dict[tuple[int, str], Rates]:
    """Bytes per second each way and new discards, per link (by pid and name)."""
    if before is None or now.taken <= before.taken:
        return {}
    previous = {(link.pid, link.name): link for _, link in before.links}
    elapsed = now.taken - before.taken
    result = {}
    for _, link in now.links:
        old = previous.get((link.pid, link.name))
        if old is None or old.sent.bytes > link.sent.bytes:
            continue  # new, or a new call (persist): its counters started again
        result[(link.pid, link.name)] = Rates(
            sent=(link.sent.bytes - old.sent.bytes) / elapsed,
            received=max(0, link.received.bytes - old.received.bytes) / elapsed,
            new_errors=max(0, link.errors - old.errors),
        )
    return result


def note(link: LinkStatus, rate: Rates | None) -> str:
    """What a person watching a bank of lines should look at first."""
    notes = []
    if link.echo is not None and link.echo.pending >= 2:
        notes.append(f"{link.echo.pending} echoes unanswered")
    if rate is not None:
        if rate.new_errors:
            notes.append(f"errors +{rate.new_errors}")
        if rate.sent > 0 and rate.received == 0 and link.phase == "network":
            notes.append("stalled: nothing received")
        elif rate.sent == 0 and rate.received == 0 and link.phase == "network":
            notes.append("idle")
    return ", ".join(notes)


def format_table(
    links: Sequence[LinkStatus], rate_of: dict[tuple[int, str], Rates] | None = None
) -> str:
    """One line per link, human units; with ``rate_of`` (watching) the rates each way too."""
    watching = rate_of is not None
    header = ["NAME", "IFACE", "DEVICE", "PHASE", "USER", "LOCAL", "REMOTE", "UPTIME"]
    header += ["SENT", "RECV"] + (["TX/s", "RX/s"] if watching else [])
    header += ["ERR", "RTT", "NOTE"]
    rows = [header]
    for link in links:
        rate = rate_of.get((link.pid, link.name)) if rate_of is not None else None
        local = link.ipv4_local or link.ipv6_local or "-"
        remote = link.ipv4_remote or link.ipv6_remote or "-"
        row = [
            link.name,
            link.interface or "-",
            link.device or "-",
            link.phase,
            link.peer or link.user or "-",
            local,
            remote,
            human_time(link.uptime),
            human_bytes(link.sent.bytes),
            human_bytes(link.received.bytes),
        ]
        if watching:
            row += (
                [human_bytes(rate.sent) + "/s", human_bytes(rate.received) + "/s"]
                if rate is not None
                else ["-", "-"]
            )
        rtt = link.echo.rtt if link.echo is not None else None
        row += [str(link.errors), human_rtt(rtt), note(link, rate) or "-"]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def as_json(result: Sample, rate_of: dict[tuple[int, str], Rates] | None) -> str:
    """The sample as one JSON object (``links`` with their socket; ``unreachable``)."""
    links = []
    for path, link in result.links:
        entry = {"socket": path, **link.to_json()}
        rate = (rate_of or {}).get((link.pid, link.name))
        if rate_of is not None:
            entry["rates"] = (
                None
                if rate is None
                else {"sent": rate.sent, "received": rate.received, "new_errors": rate.new_errors}
            )
        links.append(entry)
    unreachable = [{"socket": where, "error": why} for where, why in result.problems]
    return json.dumps({"links": links, "unreachable": unreachable}, allow_nan=False)


# -- the command --------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Run ``pyppp status``; return the exit status."""
    if args.extra:
        print(f"pyppp status: unexpected arguments: {' '.join(args.extra)}", file=sys.stderr)
        return 2
    if args.watch is not None and not args.watch > 0:
        print("pyppp status: --watch needs a positive number of seconds", file=sys.stderr)
        return 2
    if args.watch is None:
        return _report(sample(args.name, args.dir), None, args, clear=False)
    before: Sample | None = None
    shown = 0
    clear = sys.stdout.isatty() and not args.json
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            now = sample(args.name, args.dir)
            _report(now, rates(before, now), args, clear=clear)
            before = now
            shown += 1
            if args.count is not None and shown >= args.count:
                break
            time.sleep(args.watch)
    return 0


def _report(
    result: Sample,
    rate_of: dict[tuple[int, str], Rates] | None,
    args: argparse.Namespace,
    *,
    clear: bool,
) -> int:
    if args.json:
        print(as_json(result, rate_of), flush=True)
    else:
        if clear:
            sys.stdout.write("\x1b[H\x1b[J")
        elif rate_of is not None and result is not None:
            print(time.strftime("%H:%M:%S"))
        print(format_table([link for _, link in result.links], rate_of), flush=True)
        if rate_of is not None and not clear:
            print()
        for where, why in result.problems:
            print(f"pyppp status: {where}: {why}", file=sys.stderr)
    if args.name is not None and not result.links:
        print(f"pyppp status: no link named {args.name}", file=sys.stderr)
        return 1
    return 1 if result.problems and not result.links else 0
