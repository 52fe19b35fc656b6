"""``pyppp serve`` and ``pyppp dial``: pppd's job from the command line.

``serve`` answers calls (pppd's ``silent``: wait for the caller's first packet) and requires
authentication as ``--auth`` says; ``dial`` calls, with its password from the secrets files
unless given. Both take pppd's option words after the device, read pppd's files from
``--config-dir`` (default ``/etc/ppp``), print pppd's log lines and exit with pppd's statuses.
As pppd, both go into the background once the device is open (``nodetach`` keeps them in the
foreground, ``updetach`` waits until IP is up); option errors and failures before that point
reach the caller with pppd's exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import grp
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, Protocol

from pyppp.aio.daemon import DEFAULT_RUN_DIR, Detacher
from pyppp.aio.files import read_limited
from pyppp.aio.logs import DEFAULT_IDENT, LogSetup
from pyppp.aio.multiline import MultiServer
from pyppp.aio.supervisor import Supervisor, install_signal_handlers
from pyppp.errors import ConfigError, ExitStatus
from pyppp.pppd.dump import dump
from pyppp.pppd.options import PppOptions, check_options, load_options
from pyppp.pppd.pool import AddressPool
from pyppp.pppd.values import is_device_word
from pyppp.pppd.words import Word

__all__ = [
    "RC4_BACKEND_ENV",
    "add_dial_arguments",
    "add_serve_arguments",
    "choose_rc4_backend",
    "run_dial",
    "run_serve",
]

RC4_BACKEND_ENV: Final = "PYPPP_RC4_BACKEND"
"""The environment variable that chooses MPPE's RC4 implementation (``arc4``,
``pycryptodome`` or ``auto``), to measure one against the other (``bench/bench_mppe.py``).
Unset, MPPE takes the fastest one installed (:func:`pyppp.mppe.set_rc4_backend`)."""


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "device", nargs="?", help="serial device or pyserial URL (rfc2217://host:port)"
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=Path("/etc/ppp"),
        help="where options, options.<tty>, the secrets and the scripts are (default /etc/ppp)",
    )
    parser.add_argument(
        "--windows",
        action="store_true",
        help="Windows direct-cable handshake (CLIENT / CLIENTSERVER) before PPP",
    )
    parser.add_argument(
        "--lock-dir",
        type=Path,
        default=Path("/var/lock"),
        help="where UUCP lock files go with `lock` (default /var/lock)",
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=DEFAULT_RUN_DIR,
        help="where the pid files go: <ifname>.pid, ppp-<linkname>.pid (default /run)",
    )
    parser.add_argument(
        "--syslog-ident",
        default=DEFAULT_IDENT,
        help="the name syslog shows the lines under (default pppd, for pppd's log filters)",
    )
    parser.add_argument(
        "--metrics",
        metavar="[HOST:]PORT",
        help="serve Prometheus metrics there (loopback unless HOST is given; the `metrics` word)",
    )
    parser.epilog = (
        "Any pppd option words may follow the device, e.g. "
        "`115200 crtscts local 10.0.0.1:10.0.0.2 debug`."
    )


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pyppp serve``."""
    _add_common(parser)
    parser.add_argument(
        "--auth",
        choices=("pap", "chap", "login", "none"),
        help="require the caller to authenticate: pap, chap, login (PAP + system passwords) "
        "or none (default: as the options files say)",
    )


def add_dial_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pyppp dial``."""
    _add_common(parser)
    parser.add_argument("--user", help="the name to authenticate as (pppd `user`)")
    parser.add_argument("--password", help="the password (default: from pap-secrets/chap-secrets)")


def run_serve(args: argparse.Namespace) -> int:
    """Run ``pyppp serve``; return pppd's exit status."""
    return _run(args, serving=True)


def run_dial(args: argparse.Namespace) -> int:
    """Run ``pyppp dial``; return pppd's exit status."""
    return _run(args, serving=False)


def choose_rc4_backend(environ: Mapping[str, str] = os.environ) -> int | None:
    """Apply :data:`RC4_BACKEND_ENV` if it is set, saying so on stderr.

    Returns:
        ``None`` to go on; pppd's option-error status (2) when the backend named is unknown
        or not installed (one line says which).
    """
    name = environ.get(RC4_BACKEND_ENV)
    if not name:
        return None
    from pyppp.mppe import set_rc4_backend  # only then: the cipher modules load with it

    try:
        chosen = set_rc4_backend(name)
    except ValueError as exc:
        print(f"pyppp: {RC4_BACKEND_ENV}={name}: {exc}", file=sys.stderr)
        return ExitStatus.OPTION_ERROR
    print(f"pyppp: MPPE's RC4 from {chosen} (${RC4_BACKEND_ENV})", file=sys.stderr)
    return None


def _run(args: argparse.Namespace, *, serving: bool) -> int:
    status = choose_rc4_backend()
    if status is not None:
        return status
    flags = design_flag_words(
        auth=getattr(args, "auth", None),
        user=getattr(args, "user", None),
        password=getattr(args, "password", None),
        windows=args.windows,
        metrics=args.metrics,
    )
    if serving:
        # `pyppp serve` waits for a caller, as pppd's `silent` does.
        flags.insert(0, Word("silent", "pyppp serve"))
    words = list(args.extra)
    devices, rest = split_devices(args.device, words) if serving else ([], words)
    if len(devices) > 1:
        return _run_lines(devices, rest, flags, args)
    try:
        options = load_options(
            args.device,
            words,
            read_file=read_limited,
            config_dir=args.config_dir,
            home=Path(os.environ["HOME"]) if "HOME" in os.environ else None,
            privileged=os.geteuid() == 0,
            in_group=_in_group,
            extra=flags,
        )
        check_options(options)
        options, on_stdin = _default_device(options)
    except ConfigError as exc:
        # pppd prints one line and exits with status 2 for option errors.
        print(f"pyppp: {exc}", file=sys.stderr)
        return exc.exit_status
    for warning in options.warnings:
        print(f"pyppp: warning: {warning}", file=sys.stderr)
    if options.dump or options.dryrun:
        try:
            print("\n".join(dump(options)))
        except ConfigError as exc:
            print(f"pyppp: {exc}", file=sys.stderr)
            return exc.exit_status
        if options.dryrun:
            return 0
    return _run_supervisor(options, args, serving=serving, on_stdin=on_stdin)


def split_devices(device: str | None, words: list[str]) -> tuple[list[str], list[str]]:
    """``serve DEV1 DEV2 ... words``: the devices (the leading device words) and the rest."""
    devices = [device] if device is not None else []
    index = 0
    if devices:
        while index < len(words) and is_device_word(words[index]):
            index += 1
    return devices + words[:index], words[index:]


def _line_options(
    device: str, words: list[str], flags: list[Word], args: argparse.Namespace
) -> PppOptions:
    return load_options(
        device,
        words,
        read_file=read_limited,
        config_dir=args.config_dir,
        home=Path(os.environ["HOME"]) if "HOME" in os.environ else None,
        privileged=os.geteuid() == 0,
        in_group=_in_group,
        extra=flags,
    )


def _run_lines(
    devices: list[str], words: list[str], flags: list[Word], args: argparse.Namespace
) -> int:
    """``pyppp serve DEV1 DEV2 ...``: every line in one process (:mod:`pyppp.aio.multiline`)."""
    lines: list[PppOptions] = []
    try:
        for device in devices:
            options = _line_options(device, words, flags, args)
            check_options(options)
            lines.append(options)
        check_lines(lines)
        pool = AddressPool.from_text(lines[0].ip_pool) if lines[0].ip_pool else None
    except ConfigError as exc:
        print(f"pyppp: {exc}", file=sys.stderr)
        return exc.exit_status
    for options in lines:
        for warning in options.warnings:
            print(f"pyppp: warning: {options.device}: {warning}", file=sys.stderr)
    if any(options.dump or options.dryrun for options in lines):
        try:
            for options in lines:
                print(f"# {options.device}")
                print("\n".join(dump(options)))
        except ConfigError as exc:
            print(f"pyppp: {exc}", file=sys.stderr)
            return exc.exit_status
        if any(options.dryrun for options in lines):
            return 0
    config_dir = args.config_dir.absolute()
    return _run_detached(
        lambda detacher: MultiServer(
            lines,
            config_dir=config_dir,
            lock_dir=args.lock_dir.absolute(),
            run_dir=args.run_dir.absolute(),
            detacher=detacher,
            syslog_ident=args.syslog_ident,
            pool=pool,
        ),
        foreground=lines[0].nodetach,
    )


class _Shell(Protocol):
    """What :func:`_run_detached` runs: a :class:`Supervisor` or a :class:`MultiServer`."""

    logs: LogSetup

    def signal(self, signum: int) -> None:
        """React to one signal."""

    async def run(self) -> int:
        """Run until the end; the exit status."""


def _run_detached(build: Callable[[Detacher | None], _Shell], *, foreground: bool) -> int:
    """Fork into the background unless ``foreground``, then build the shell and run it.

    pppd's order: the fork comes first, so the shell's files and sockets belong to the child;
    an option error found while building or running it ends with pppd's exit status.
    """
    detacher: Detacher | None = None
    if not foreground:
        try:
            detacher = Detacher.fork()  # returns in the child only
        except OSError as exc:
            print(f"pyppp: Couldn't detach (fork failed: {exc.strerror})", file=sys.stderr)
            return 1
    try:
        shell = build(detacher)
    except ConfigError as exc:
        print(f"pyppp: {exc}", file=sys.stderr)
        return exc.exit_status

    async def main() -> int:
        install_signal_handlers(asyncio.get_running_loop(), shell)
        return await shell.run()

    try:
        return asyncio.run(main())
    except ConfigError as exc:
        print(f"pyppp: {exc}", file=sys.stderr)
        return exc.exit_status
    finally:
        shell.logs.close()


def check_lines(lines: list[PppOptions]) -> None:
    """What several lines in one process may not share.

    Raises:
        ConfigError: a device given twice, a line using ``pty``/``notty``/``socket`` (which
            replace the device), ``demand``, two lines with the same ``ifname`` (without a
            ``%d`` pattern) or ``linkname``, or lines with different ``ip-pool`` ranges.
    """
    seen: dict[str, str] = {}
    for options in lines:
        device = options.device or ""
        for word in ("pty", "notty", "socket", "demand", "updetach"):
            if getattr(options, word):
                raise ConfigError(f"{device}: {word} cannot be used with several lines")
        real = os.path.realpath(device) if device.startswith("/") else device
        if real in seen:
            raise ConfigError(f"{device}: the same line as {seen[real]}")
        seen[real] = device
    for name in ("ifname", "linkname"):
        values = [getattr(options, name) for options in lines if getattr(options, name)]
        if name == "ifname":
            values = [v for v in values if "%d" not in v]
        if len(values) != len(set(values)):
            hint = " or a %d pattern" if name == "ifname" else ""
            raise ConfigError(
                f"{name} names two lines alike: give each line its own (options.<ttyname>){hint}"
            )
    if len({options.ip_pool for options in lines}) > 1:
        raise ConfigError("ip-pool: every line of one process shares one pool (one range)")


def _in_group(name: str) -> bool:
    """``privgroup``: is the invoking user in this group (pppd ``setprivgroup``)?"""
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        return False
    return gid == os.getgid() or gid in os.getgroups()


def _default_device(options: PppOptions) -> tuple[PppOptions, bool]:
    """Use pppd's default device: the terminal on standard input (pppd then stays in front).

    Raises:
        ConfigError: no device, no ``pty``/``notty``/``socket``, and stdin is not a tty.
    """
    if options.pty or options.notty or options.socket:
        return options, False
    if options.device is None:
        if not os.isatty(0):
            raise ConfigError("no device specified and stdin is not a tty")
        return dataclasses.replace(options, device=os.ttyname(0)), True
    if "://" in options.device or not os.isatty(0):
        return options, False
    try:
        same = os.path.samefile(options.device, os.ttyname(0))
    except OSError:
        same = False
    return options, same


def _run_supervisor(
    options: PppOptions, args: argparse.Namespace, *, serving: bool, on_stdin: bool
) -> int:
    config_dir = args.config_dir.absolute()  # pppd's detach() changes to /
    # pppd: no fork with nodetach (-detach), up_sdnotify, notty, or the terminal as device.
    foreground = options.nodetach or options.notty or on_stdin
    return _run_detached(
        lambda detacher: Supervisor(
            options,
            config_dir=config_dir,
            lock_dir=args.lock_dir.absolute(),
            run_dir=args.run_dir.absolute(),
            serving=serving,
            detacher=detacher,
            syslog_ident=args.syslog_ident,
        ),
        foreground=foreground,
    )


def design_flag_words(
    *,
    auth: str | None = None,
    user: str | None = None,
    password: str | None = None,
    windows: bool = False,
    metrics: str | None = None,
) -> list[Word]:
    """Turn ``pyppp serve|dial`` flags into pppd words (pass them as ``extra``).

    ``--auth pap`` -> ``auth require-pap``; ``chap`` -> ``auth require-chap``; ``login`` ->
    ``auth require-pap login``; ``none`` -> ``noauth``; ``--user NAME`` -> ``user NAME``
    (the name we authenticate as; ``name``, our local name for secrets lookup, stays a
    separate pppd option); ``--password PW`` -> ``password PW``; ``--windows`` ->
    ``windows``; ``--metrics A`` -> ``metrics A``. Each word's source is the flag
    (``"--auth pap"``), so ``dump`` shows it.

    Raises:
        ConfigError: an unknown ``auth`` value.
    """
    words: list[Word] = []
    if auth is not None:
        mapping = {
            "pap": ["auth", "require-pap"],
            "chap": ["auth", "require-chap"],
            "login": ["auth", "require-pap", "login"],
            "none": ["noauth"],
        }
        if auth not in mapping:
            raise ConfigError(f"--auth must be one of pap, chap, login, none (not {auth!r})")
        words += [Word(w, f"--auth {auth}") for w in mapping[auth]]
    if user is not None:
        words += [Word("user", "--user"), Word(user, "--user")]
    if password is not None:
        words += [Word("password", "--password"), Word(password, "--password")]
    if windows:
        words.append(Word("windows", "--windows"))
    if metrics is not None:
        words += [Word("metrics", "--metrics"), Word(metrics, "--metrics")]
    return words
