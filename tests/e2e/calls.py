"""What the pppd-behaviour and daemon e2e tests share: a serve/dial pair with short LCP timers
on one user's secret, and the small readings of their logs and of process state."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from .netns import CLIENT_IP, PASSWORD, REPO, SERVER_IP, USER, Lab, LoggedProcess

UP = r"^remote IP address "
READY = r"^Connect: ppp\d+ <--> "
# One retransmission a second and few of them: a dead peer is noticed in 2 s, not 30.
FAST = ("lcp-restart", "1", "lcp-max-configure", "2", "lcp-max-terminate", "1")
VECTORS = REPO / "tests" / "vectors" / "options"


def config_dirs(lab: Lab, *, chap: bool = False) -> tuple[Path, Path]:
    """The server's and the dialer's config dirs, made on first use with USER's secret (in
    chap-secrets with ``chap``, else pap-secrets)."""
    server = lab.tmp / "server"
    client = lab.tmp / "client"
    if not server.exists():
        name = "chap_secrets" if chap else "pap_secrets"
        lab.config_dir("server", **{name: f"{USER} * {PASSWORD} *\n"})
        lab.config_dir("client", **{name: f"{USER} * {PASSWORD}\n"})
    return server, client


def serve(
    lab: Lab,
    device: str,
    *words: str,
    auth: str = "pap",
    label: str = "server",
    detach: bool = False,
) -> LoggedProcess:
    """``pyppp serve`` in namespace a with ``--auth``, the addresses and FAST, then ``words``."""
    server_dir, _ = config_dirs(lab)
    addresses = f"{SERVER_IP}:{CLIENT_IP}"
    argv = ("--auth", auth, "--config-dir", str(server_dir), addresses, *FAST, *words)
    return lab.pyppp(label, lab.a, "serve", device, *argv, detach=detach)


def dial(
    lab: Lab, device: str, *words: str, label: str = "client", detach: bool = False
) -> LoggedProcess:
    """``pyppp dial`` in namespace b as USER with ``noauth`` and FAST, then ``words``."""
    _, client_dir = config_dirs(lab)
    argv = ("--user", USER, "--config-dir", str(client_dir), "noauth", *FAST, *words)
    return lab.pyppp(label, lab.b, "dial", device, *argv, detach=detach)


def demand_call(
    lab: Lab, ends: tuple[str, str], *words: str
) -> tuple[LoggedProcess, LoggedProcess]:
    """A ``persist`` server ready on ``ends[0]`` and a ``demand`` dialer (``idle 2``, a
    ``connect`` that succeeds at once, then ``words``) on ``ends[1]``: (server, client)."""
    config_dirs(lab)
    server = serve(lab, ends[0], "persist", "holdoff", "0", "debug")
    server.wait_for(READY, 10)
    demand = (f"{CLIENT_IP}:{SERVER_IP}", "demand", "idle", "2", "connect", "/bin/true")
    return server, dial(lab, ends[1], *demand, *words)


def logs(*processes: LoggedProcess) -> str:
    """Each process's label, exit status (``None`` while it runs) and log, for a failure."""
    return "\n".join(f"--- {p.label} (status {p.proc.poll()}):\n{p.text}" for p in processes)


def count(process: LoggedProcess, pattern: str) -> int:
    """How many of the process's log lines so far match ``pattern``."""
    regex = re.compile(pattern)
    with process._cond:  # the lines list is appended to by the reader thread
        return sum(1 for _, line in process.lines if regex.search(line))


def wait_count(process: LoggedProcess, pattern: str, count_: int, timeout: float = 15.0) -> None:
    """Wait until ``count_`` of the process's lines match ``pattern``; fail at once with its
    log if the process ends short of them, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while count(process, pattern) < count_:
        if time.monotonic() > deadline or process.proc.poll() is not None:
            if count(process, pattern) >= count_:
                return
            raise AssertionError(f"/{pattern}/ not seen {count_} times:\n{logs(process)}")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too (its parent just has not reaped it yet).
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
            return False
    return True


def pyppp_plain(
    *args: str, cwd: Path | None = None, timeout: float = 60.0, keep_home: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pyppp ARGS`` outside any namespace (option handling, ``pyppp stop``).

    Without ``keep_home`` HOME is unset, so that no ~/.ppprc of the machine's user is read."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if not keep_home:
        env.pop("HOME", None)
    return subprocess.run(
        [sys.executable, "-m", "pyppp", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )
