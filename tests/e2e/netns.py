"""End-to-end harness: network namespaces, logged processes in them, pppd-style config dirs.

Everything here is torn down by its owner even when a test fails: a :class:`Lab` removes the
processes it started (by pid), then its namespaces and its temporary directories. Addresses
used by the tests come only from 10.99.0.0/16.

Used by ``tests/e2e`` and by ``bench/bench_link.py``; it needs root and ``ip netns``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from tests.loglines import wait_line

__all__ = [
    "CLIENT_IP",
    "CONNECT",
    "PASSWORD",
    "SERVER_IP",
    "USER",
    "Call",
    "Lab",
    "LoggedProcess",
    "Netns",
    "ProcessTimeoutError",
    "blocked_reading",
    "descendants",
    "netns_unavailable_reason",
    "ping",
    "rtt_ms",
    "signal_pending",
    "start_call",
    "tcp_transfer",
    "write_config_dir",
]

REPO = Path(__file__).resolve().parents[2]
_counter = itertools.count()


def netns_unavailable_reason() -> str | None:
    """Why namespaces cannot be used here (``None``: they can)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, TUN)"
    if shutil.which("ip") is None:
        return "ip(8) not installed"
    name = f"pyppp-probe-{os.getpid()}-{next(_counter)}"
    probe = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"ip netns unavailable: {probe.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    if not Path("/dev/net/tun").exists():
        return "/dev/net/tun missing"
    return None


def signal_pending(pid: int, signum: int) -> bool:
    """Whether ``signum`` sent to ``pid`` still waits for the kernel to deliver it.

    Once it is no longer pending, the process's handler has taken it (a blocked signal stays
    pending): Python's C-level handler has then queued it for the event loop, in order, so
    anything the process does for a signal sent *after* this shows that it handled this one.
    """
    bit = 1 << (signum - 1)
    statuses = [Path(f"/proc/{pid}/status")]
    statuses += sorted(Path(f"/proc/{pid}/task").glob("*/status"))
    for status in statuses:
        with contextlib.suppress(OSError):
            for line in status.read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("SigPnd", "ShdPnd") and int(value.strip(), 16) & bit:
                    return True
    return False


def descendants(pid: int) -> list[int]:
    """The pids of every living process below ``pid`` (children, their children...)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            fields = stat.read_text().rpartition(")")[2].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


# read(2)'s number, for /proc/PID/syscall.
_READ_SYSCALL = {"x86_64": 0, "aarch64": 63, "riscv64": 63, "i686": 3, "armv7l": 3}


def blocked_reading(pid: int, device: str) -> bool:
    """Whether ``pid`` sleeps in ``read(2)`` on its standard input, and that is ``device``.

    Raises:
        AssertionError: this machine's read(2) number is unknown here.
    """
    number = _READ_SYSCALL.get(os.uname().machine)
    assert number is not None, f"read(2) number unknown on {os.uname().machine}"
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        call = Path(f"/proc/{pid}/syscall").read_text().split()
        stdin = os.readlink(f"/proc/{pid}/fd/0")
    except (OSError, IndexError):
        return False
    return state == "S" and call[:2] == [str(number), "0x0"] and stdin == device


class ProcessTimeoutError(AssertionError):
    """A process did not print what was expected in time (the message holds its log)."""


class LoggedProcess:
    """A child process whose stdout and stderr lines are collected with their arrival times.

    Args:
        label: a short name for messages (``server``, ``client``).
        argv: the command line.
        env: the environment (default: ours).
        echo: also copy every line to our stderr, prefixed with ``label| `` (the demo's view).
    """

    def __init__(
        self,
        label: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        echo: bool = False,
    ) -> None:
        self.label = label
        self.argv = list(argv)
        self.echo = echo
        self.started_at = time.monotonic()
        self.lines: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal reaches us, not the children
        )
        self.pid = self.proc.pid
        self._reader = threading.Thread(target=self._read, name=f"log-{label}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self.lines.append((time.monotonic(), line))
                self._cond.notify_all()
            if self.echo:
                print(f"{self.label}| {line}", file=sys.stderr, flush=True)
        with self._cond:
            self._cond.notify_all()

    @property
    def text(self) -> str:
        """Everything printed so far."""
        with self._cond:
            return "\n".join(line for _, line in self.lines)

    def find(self, pattern: str) -> tuple[float, str] | None:
        """The first line matching ``pattern`` (a regex) so far, with its arrival time."""
        regex = re.compile(pattern)
        with self._cond:
            for stamp, line in self.lines:
                if regex.search(line):
                    return stamp, line
        return None

    def count_after(self, first: str, pattern: str) -> int:
        """How many lines match ``pattern`` after the first line matching ``first`` (0 if none).

        The lines of one process come in the order it logged them, so this counts what the
        process did after ``first``, whatever the pipe's delays.
        """
        with self._cond:
            lines = [line for _, line in self.lines]
        start = next((i for i, line in enumerate(lines) if re.search(first, line)), len(lines))
        return sum(1 for line in lines[start + 1 :] if re.search(pattern, line))

    def wait_count_after(self, first: str, pattern: str, count: int, timeout: float = 15.0) -> None:
        """Wait until ``count`` lines match ``pattern`` after the first matching ``first``.

        Raises:
            ProcessTimeoutError: not in time, or the process ended first (with its log).
        """
        deadline = time.monotonic() + timeout
        while self.count_after(first, pattern) < count:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise ProcessTimeoutError(
                    f"{self.label}: /{pattern}/ not seen {count} times after /{first}/ "
                    f"(status {self.proc.poll()}); its log:\n{self.text}"
                )
            time.sleep(0.02)

    def wait_for(self, pattern: str, timeout: float = 10.0) -> tuple[float, str]:
        """Wait until a line matches ``pattern``; return (arrival time, line).

        Raises:
            ProcessTimeoutError: not seen in time, or the process ended first (with its log).
        """

        def fail(ended: bool) -> NoReturn:
            why = "exited" if ended else "timed out"
            raise ProcessTimeoutError(
                f"{self.label} {why} before printing /{pattern}/ "
                f"(status {self.proc.poll()}); its log:\n{self.text}"
            )

        stamp, m = wait_line(
            self._cond,
            self.lines,
            pattern,
            timeout,
            ended=lambda: self.proc.poll() is not None and not self._reader.is_alive(),
            fail=fail,
        )
        return stamp, m.string

    def wait(self, timeout: float = 10.0) -> int:
        """Wait for the exit status (the log is complete when this returns)."""
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise ProcessTimeoutError(
                f"{self.label} still running after {timeout} s; its log:\n{self.text}"
            ) from None
        self._reader.join(2.0)
        return status

    def signal(self, signum: int = signal.SIGTERM) -> None:
        """Send a signal to the process (by pid), if it still runs."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def stop(self, grace: float = 3.0) -> None:
        """End the process: SIGTERM, then SIGKILL after ``grace`` seconds (by pid only)."""
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(grace)
        self._reader.join(2.0)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Netns:
    """One network namespace, created with its loopback up.

    Args:
        name: the namespace name (unique on the machine).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
        self.exists = True
        self.run(["ip", "link", "set", "lo", "up"], check=True)

    def argv(self, command: Sequence[str]) -> list[str]:
        """``command`` as run inside the namespace (``ip netns exec`` execs, so pids match)."""
        return ["ip", "netns", "exec", self.name, *command]

    def run(
        self, command: Sequence[str], *, check: bool = False, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a short command inside the namespace and capture its output."""
        return subprocess.run(
            self.argv(command), capture_output=True, text=True, check=check, timeout=timeout
        )

    def links(self) -> list[str]:
        """Names of the interfaces in the namespace (``ip -n NS link``)."""
        out = subprocess.run(
            ["ip", "-n", self.name, "-o", "link", "show"], capture_output=True, text=True
        ).stdout
        return [m.group(1) for m in re.finditer(r"^\d+: ([^:@]+)", out, re.MULTILINE)]

    def wait_address(self, address: str, timeout: float = 5.0) -> float:
        """Wait until an interface in the namespace has ``address``; return the seconds waited.

        Raises:
            AssertionError: not there in time.
        """
        start = time.monotonic()
        while True:
            out = subprocess.run(
                ["ip", "-n", self.name, "-o", "-4", "addr", "show", "up"],
                capture_output=True,
                text=True,
            ).stdout
            if f"inet {address} " in out:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise AssertionError(f"{address} not configured in {self.name}:\n{out}")
            time.sleep(0.01)

    def delete(self) -> None:
        """Remove the namespace (idempotent)."""
        if self.exists:
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
            self.exists = False


def write_config_dir(
    path: Path,
    *,
    pap_secrets: str = "",
    chap_secrets: str = "",
    options: str = "",
) -> Path:
    """Make a pppd configuration directory (never /etc/ppp) with root-only secrets files."""
    path.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("pap-secrets", pap_secrets),
        ("chap-secrets", chap_secrets),
        ("options", options),
    ):
        file = path / name
        file.write_text(text)
        file.chmod(0o600)
    return path


class Lab:
    """Two namespaces ``a`` and ``b``, a temporary directory, and every process started in them.

    Use as a context manager: on exit the processes are stopped (by pid), the namespaces
    deleted and the directory removed, whatever happened.

    Args:
        tag: part of the namespace names (``pyppp-<tag>-<pid>-<n>-a``).
        echo: copy the children's lines to stderr with their label (the demo's view).
    """

    def __init__(self, tag: str = "e2e", *, echo: bool = False) -> None:
        self.tag = tag
        self.echo = echo
        self.processes: list[LoggedProcess] = []
        self.namespaces: list[Netns] = []
        self.tmp = Path(tempfile.mkdtemp(prefix=f"pyppp-{tag}-"))
        self.a: Netns
        self.b: Netns

    def __enter__(self) -> Lab:
        try:
            base = f"pyppp-{self.tag}-{os.getpid()}-{next(_counter)}"
            for side in ("a", "b"):
                ns = Netns(f"{base}-{side}")
                self.namespaces.append(ns)
                setattr(self, side, ns)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def env(self) -> dict[str, str]:
        """The children's environment: this checkout first on the path, HOME in the lab."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
        env["HOME"] = str(self.tmp)  # keep ~/.ppprc of the real user out of the test
        # Control sockets in the lab, not /run/pyppp (a test may choose another place).
        env.setdefault("PYPPP_RUNTIME_DIR", str(self.tmp / "run"))
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self, label: str, ns: Netns | None, command: Sequence[str]) -> LoggedProcess:
        """Start ``command`` (inside ``ns`` if given) with its lines collected."""
        argv = ns.argv(command) if ns is not None else list(command)
        process = LoggedProcess(label, argv, env=self.env(), echo=self.echo)
        self.processes.append(process)
        return process

    def pyppp(self, label: str, ns: Netns, *args: str, detach: bool = False) -> LoggedProcess:
        """Start ``python -m pyppp ARGS`` inside ``ns``.

        ``serve`` and ``dial`` get pppd's ``nodetach`` (they would go into the background, as
        pppd does, and the test would lose their log lines and exit status) unless ``detach``.
        """
        words = list(args)
        if not detach and words and words[0] in ("serve", "dial"):
            words.append("nodetach")
        return self.start(label, ns, [sys.executable, "-m", "pyppp", *words])

    def namespace(self, suffix: str) -> Netns:
        """One more namespace, named after a and b (``...-<suffix>``), deleted with the lab."""
        ns = Netns(f"{self.a.name[:-2]}-{suffix}")
        self.namespaces.append(ns)
        return ns

    def config_dir(self, name: str, **files: str) -> Path:
        """A config dir for one side inside the lab's directory (see :func:`write_config_dir`)."""
        return write_config_dir(self.tmp / name, **files)

    def close(self) -> None:
        """Stop the processes, delete the namespaces, remove the directory."""
        for process in reversed(self.processes):
            with contextlib.suppress(Exception):
                process.stop()
        for ns in self.namespaces:
            ns.delete()
        shutil.rmtree(self.tmp, ignore_errors=True)


# A one-shot TCP sink: accept one connection, hash everything until EOF, answer with the
# digest and the byte count, print them.
_SINK = r"""
import errno, hashlib, socket, sys, time
# IPv4 or IPv6 (a link-local address carries its zone: fe80::1%ppp0).
host, port = sys.argv[1], int(sys.argv[2])
family, _, _, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
srv = socket.socket(family)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
# On a noisy line IPCP may reopen (a lost Configure-Ack: the peer asks again, RFC 1661 goes
# down and up), and the address is off the interface meanwhile, as with pppd: bind once back.
deadline = time.monotonic() + 20
while True:
    try:
        srv.bind(where)
        break
    except OSError as exc:
        if exc.errno != errno.EADDRNOTAVAIL or time.monotonic() > deadline:
            raise
        time.sleep(0.05)
srv.listen(1)
print("listening", flush=True)
srv.settimeout(float(sys.argv[3]))
conn, peer = srv.accept()
print("peer", peer[0], flush=True)
conn.settimeout(float(sys.argv[3]))
digest, total = hashlib.sha256(), 0
while True:
    chunk = conn.recv(1 << 16)
    if not chunk:
        break
    digest.update(chunk)
    total += len(chunk)
answer = f"{digest.hexdigest()} {total}"
conn.sendall(answer.encode() + b"\n")
conn.close()
print("received", answer, flush=True)
"""

# For a sender script: ``connect(host, port, timeout)``, retried every 50 ms until the
# listener is up (a sink started just before, an address still being configured).
CONNECT = r"""
import socket, time
def connect(host, port, timeout, congestion=""):
    # congestion: the TCP congestion control the connection runs (root may pick any loaded one).
    deadline = time.monotonic() + timeout
    while True:
        try:
            if not congestion:
                return socket.create_connection((host, port), timeout=timeout)
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, congestion.encode())
                sock.settimeout(timeout)
                sock.connect((host, port))
            except OSError:
                sock.close()
                raise
            return sock
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
"""

# The sender: connect, send N pseudo-random bytes (or a file's, when given its path instead),
# half-close, wait for the sink's answer.
_SOURCE = (
    CONNECT
    + r"""
import hashlib, random, sys
host, port, what, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
congestion = sys.argv[5] if len(sys.argv) > 5 else ""
data = random.Random(1661).randbytes(int(what)) if what.isdigit() else open(what, "rb").read()
sock = connect(host, port, timeout, congestion)
start = time.monotonic()
sock.sendall(data)
sock.shutdown(socket.SHUT_WR)
answer = b""
while not answer.endswith(b"\n"):
    chunk = sock.recv(256)
    if not chunk:
        break
    answer += chunk
elapsed = time.monotonic() - start
print("sent", hashlib.sha256(data).hexdigest(), len(data), f"{elapsed:.6f}", flush=True)
print("answer", answer.decode().strip(), flush=True)
"""
)


def tcp_transfer(
    lab: Lab,
    server_ns: Netns,
    server_ip: str,
    client_ns: Netns,
    *,
    size: int,
    data: Path | None = None,
    port: int = 5001,
    timeout: float = 60.0,
    congestion: str = "",
) -> tuple[float, str, str]:
    """Send ``size`` bytes over TCP from ``client_ns`` to ``server_ip`` in ``server_ns``:
    pseudo-random ones, or the file ``data`` (of ``size`` bytes); the sender's TCP runs the
    congestion control ``congestion`` if given (``TCP_CONGESTION``), else the namespace's.

    Returns:
        (seconds from connect to the sink's answer, the sender's sha256, the sink's sha256).

    Raises:
        AssertionError: a side failed or the byte counts differ (with both logs).
    """
    sink = lab.start(
        "sink", server_ns, [sys.executable, "-c", _SINK, server_ip, str(port), str(timeout)]
    )
    sink.wait_for("listening", timeout=10)
    what = str(data or size)
    source = lab.start(
        "source",
        client_ns,
        [sys.executable, "-c", _SOURCE, server_ip, str(port), what, str(timeout), congestion],
    )
    source_status = source.wait(timeout + 10)
    sink_status = sink.wait(10)
    sent = source.find(r"^sent ")
    got = sink.find(r"^received ")
    if source_status or sink_status or sent is None or got is None:
        raise AssertionError(f"TCP transfer failed:\n{source.text}\n---\n{sink.text}")
    _, sent_hash, sent_size, elapsed = sent[1].split()
    _, got_hash, got_size = got[1].split()
    assert int(sent_size) == int(got_size) == size, (sent[1], got[1])
    return float(elapsed), sent_hash, got_hash


def ping(ns: Netns, address: str, *, count: int = 3, size: int = 56, wait: float = 2.0) -> str:
    """Ping ``address`` from inside ``ns``; return ping's output (raises on loss)."""
    result = ns.run(
        ["ping", "-n", "-c", str(count), "-W", str(wait), "-s", str(size), "-i", "0.2", address],
        timeout=count * (wait + 1) + 5,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"ping {address} from {ns.name} failed:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


def rtt_ms(ping_output: str) -> list[float]:
    """The round-trip times in a ping's output, in milliseconds."""
    return [float(m) for m in re.findall(r"time=([\d.]+) ms", ping_output)]


# -- a PPP call between the two namespaces -------------------------------------------------------

SERVER_IP = "10.99.1.1"
CLIENT_IP = "10.99.1.2"
USER = "zaphod"
PASSWORD = "gargleBlaster"
UP = r"^remote IP address "


class Call:
    """A ``pyppp serve`` in namespace a and a ``pyppp dial`` in namespace b on one cable.

    Attributes:
        server, client: the two processes.
        link_up: seconds from the dialer's first ``sent [LCP ConfReq`` line to the later of
            the two ``remote IP address`` lines (needs ``debug``; ``None`` without it).
        wall_up: seconds from starting the dialer to both ``remote IP address`` lines.
    """

    def __init__(self, server: LoggedProcess, client: LoggedProcess) -> None:
        self.server = server
        self.client = client
        self.link_up: float | None = None
        self.wall_up: float = 0.0
        self.address_lag: float = 0.0

    def wait_up(self, timeout: float = 15.0, lab: Lab | None = None) -> None:
        """Wait for IPCP up on both sides and compute the link-up times.

        With ``lab``, also wait until both interfaces carry their addresses: pppd logs
        ``remote IP address`` only after configuring the interface, but pyppp (so far) logs it
        from the core before the shell has configured the TUN device, so a ping right after
        the line can fail with "Network is unreachable". ``address_lag`` records how long it
        took.
        """
        up_server, _ = self.server.wait_for(UP, timeout)
        up_client, _ = self.client.wait_for(UP, timeout)
        if lab is not None:
            self.address_lag = max(lab.a.wait_address(SERVER_IP), lab.b.wait_address(CLIENT_IP))
        done = max(up_server, up_client)
        self.wall_up = done - self.client.started_at
        first = self.client.find(r"^sent \[LCP ConfReq")
        if first is not None:
            self.link_up = done - first[0]

    def measure(self, lab: Lab, size: int) -> float:
        """Once up, the MB/s of one TCP transfer of ``size`` bytes from the dialer's namespace
        to the server (digests compared); then the dialer hangs up on SIGTERM and both end."""
        self.wait_up(lab=lab)
        seconds, sent, got = tcp_transfer(lab, lab.a, SERVER_IP, lab.b, size=size)
        assert sent == got
        self.client.signal(signal.SIGTERM)
        self.client.wait(10)
        self.server.wait(10)
        return size / seconds / 1e6


def start_call(
    lab: Lab,
    ends: tuple[str, str],
    *,
    password: str = PASSWORD,
    server_words: Sequence[str] = ("debug",),
    client_words: Sequence[str] = ("debug",),
    server_ready: str | Callable[[LoggedProcess], object] = r"^Connect: ppp\d+ <--> ",
    mschap_v2: bool = False,
) -> Call:
    """Start the server (PAP, addresses from 10.99.1.0/24) and then the dialer.

    Args:
        lab: the lab (namespaces a and b).
        ends: the cable's two device paths (server on the first).
        password: the dialer's password (the server's secrets file has the right one).
        server_words, client_words: extra pppd words for each side.
        server_ready: the server line after which it reads the line (then the dialer starts),
            or a function that returns once the server is ready (given the server's process).
        mschap_v2: the server requires MS-CHAPv2 (``require-mschap-v2``, both sides'
            chap-secrets) instead of PAP (``--auth pap``, pap-secrets).
    """
    secrets = "chap_secrets" if mschap_v2 else "pap_secrets"
    server_dir = lab.config_dir(
        "server", **{secrets: f"# client server secret addresses\n{USER} * {PASSWORD} *\n"}
    )
    client_dir = lab.config_dir("client", **{secrets: f"{USER} * {password}\n"})
    server = lab.pyppp(
        "server",
        lab.a,
        "serve",
        ends[0],
        "--config-dir",
        str(server_dir),
        *(("require-mschap-v2",) if mschap_v2 else ("--auth", "pap")),
        f"{SERVER_IP}:{CLIENT_IP}",
        *server_words,
    )
    # Dial only once the server reads its end, as a caller would wait for the answer: the
    # dialer's first ConfReq then gets an answer at once and the link-up time is the
    # protocol's, not a 3-second Restart timer's.
    if isinstance(server_ready, str):
        server.wait_for(server_ready, timeout=15)
    else:
        server_ready(server)
    client = lab.pyppp(
        "client",
        lab.b,
        "dial",
        ends[1],
        "--user",
        USER,
        "--config-dir",
        str(client_dir),
        "noauth",
        *client_words,
    )
    return Call(server, client)
