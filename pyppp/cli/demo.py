"""``pyppp demo``: see pyppp work on a fresh machine with one command.

As root, the demo builds a small lab and runs the real thing: a virtual null-modem cable
(:class:`~pyppp.aio.cable.NullModemCable`), two network namespaces, ``pyppp serve`` (requiring
PAP, with a temporary ``pap-secrets``) in one and ``pyppp dial`` in the other, as separate
processes. It shows both pppd-style logs (``server| ``, ``client| ``), pings across the link,
moves a few megabytes over TCP and compares their SHA-256, prints the link-up time and the
throughput, hangs up, and removes everything it made (processes, namespaces, temporary files)
even on Ctrl-C or an error.

Without root (or with ``--no-root``) it runs the part that needs no privileges: two
:class:`~pyppp.link.Link` stacks in this process, joined by a pump, negotiating LCP, PAP and
IPCP, exchanging an LCP Echo and an IP packet, with pppd's packet trace.

The exit status is 0 when every step worked, 1 otherwise (with one line saying which step).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from types import FrameType

from pyppp.auth.base import AuthEngine
from pyppp.auth.pap import PapAuthenticator, PapPeer
from pyppp.errors import ExitStatus
from pyppp.events import AuthFailed, Event, IpReceived, LinkTerminated, LinkUp, NetworkUp
from pyppp.ipcp.negotiator import IpcpConfig
from pyppp.lcp.negotiator import LcpConfig
from pyppp.link import Link
from pyppp.linkconfig import LinkConfig
from pyppp.packet import PPPProtocol
from pyppp.pppd.secrets import SecretsFile

__all__ = ["add_arguments", "run"]

SERVER_IP = "10.99.1.1"
CLIENT_IP = "10.99.1.2"
USER = "zaphod"
PASSWORD = "gargleBlaster"
_UP = re.compile(r"^remote IP address ")


class DemoError(Exception):
    """A demo step failed; the message says which and why."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``pyppp demo``."""
    parser.add_argument(
        "--no-root",
        action="store_true",
        help="run only the in-process part (two Link stacks), even as root",
    )
    parser.add_argument(
        "--megabytes",
        type=float,
        default=4.0,
        help="how much to send over TCP across the link (default 4)",
    )
    parser.add_argument(
        "--baud",
        type=int,
        default=None,
        help="pace the virtual cable like a serial line at this speed (default: unpaced)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="do not show the pppd logs, only the results"
    )


def run(args: argparse.Namespace) -> int:
    """Run the demo; return 0 on success, 1 on failure (after saying why)."""
    try:
        if args.no_root:
            return _in_process()
        reason = _lab_unavailable()
        if reason is not None:
            print(f"pyppp demo: {reason}; running the in-process part only.", flush=True)
            print("  (as root, the demo runs pyppp serve and pyppp dial in two network", flush=True)
            print("  namespaces on a virtual null-modem cable)\n", flush=True)
            return _in_process()
        return _full(args)
    except DemoError as exc:
        print(f"pyppp demo: FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("pyppp demo: interrupted; everything it made is removed.", file=sys.stderr)
        return 130


# =============================================================================================
# The in-process part: two Link stacks and a pump.


class _SideFormatter(logging.Formatter):
    """Prefixes every line with the side whose link is running (the pump sets it)."""

    side = "     "

    def format(self, record: logging.LogRecord) -> str:
        return f"{self.side}| {record.getMessage()}"


class _DemoAuth:
    """The two PAP engines for one side (an :class:`~pyppp.linkconfig.AuthFactory`)."""

    def __init__(self, *, secrets: SecretsFile | None, user: str, password: str | None) -> None:
        self.secrets = secrets
        self.user = user
        self.password = password

    def authenticator(self, protocol: int, *, algorithm: int = 0) -> AuthEngine | None:
        if protocol == PPPProtocol.PAP and self.secrets is not None:
            return PapAuthenticator("server", self.secrets, logger=logging.getLogger("pyppp"))
        return None

    def peer(self, protocol: int, *, algorithm: int = 0) -> AuthEngine | None:
        if protocol == PPPProtocol.PAP and self.password is not None:
            return PapPeer(self.user, self.password, logger=logging.getLogger("pyppp"))
        return None


def _ipv4_echo(source: str, destination: str, payload: bytes) -> bytes:
    """An IPv4 ICMP Echo-Request (RFC 791, RFC 792) with correct checksums."""

    def checksum(data: bytes) -> int:
        if len(data) % 2:
            data += b"\0"
        total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        return ~total & 0xFFFF

    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x1661, 1) + payload
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0,
        IPv4Address(source).packed, IPv4Address(destination).packed,
    )  # fmt: skip
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + icmp


class _Pump:
    """Moves bytes between two links and runs their timers on a virtual clock.

    The clock stands still while bytes move and jumps to the next deadline when both links
    are idle, so a retransmission costs no real time; the wall time is measured separately.
    """

    def __init__(self, server: Link, client: Link, formatter: _SideFormatter) -> None:
        self.links = {"server": server, "client": client}
        self.formatter = formatter
        self.now = 0.0
        self.events: dict[str, list[Event]] = {"server": [], "client": []}

    @contextlib.contextmanager
    def side(self, name: str) -> Iterator[Link]:
        self.formatter.side = f"{name:6}"
        try:
            yield self.links[name]
        finally:
            self.formatter.side = "      "

    def _move(self) -> bool:
        moved = False
        for source, target in (("server", "client"), ("client", "server")):
            with self.side(source) as link:
                data = link.data_to_send()
                while (event := link.next_event()) is not None:
                    self.events[source].append(event)
                    moved = True
            if data:
                moved = True
                with self.side(target) as link:
                    link.receive_data(data, self.now)
        return moved

    def run_until(self, done: object, limit: float = 60.0) -> None:
        """Pump until ``done()`` is true; virtual time may not pass ``limit`` seconds."""
        assert callable(done)
        for _ in range(100_000):
            while self._move():
                pass
            if done():
                return
            timers = [t for t in (link.get_timer() for link in self.links.values()) if t]
            if not timers or min(timers) > limit:
                raise DemoError("the links stopped making progress")
            self.now = max(self.now, min(timers))
            for name in self.links:
                with self.side(name) as link:
                    timer = link.get_timer()
                    if timer is not None and timer <= self.now:
                        link.handle_timer(self.now)
        raise DemoError("the links never settled")

    def of_type(self, side: str, kind: type[Event]) -> list[Event]:
        return [e for e in self.events[side] if isinstance(e, kind)]


def _in_process(client_password: str = PASSWORD) -> int:
    print("Two pyppp Link stacks in one process, joined by a pump (no root needed).")
    print(f"The server requires PAP and gives the client {CLIENT_IP}; the client is {USER}.\n")
    logger = logging.getLogger("pyppp")
    formatter = _SideFormatter()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    saved = (logger.level, logger.propagate, list(logger.handlers))
    for old in saved[2]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        return _in_process_run(formatter, client_password)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
        for old in saved[2]:
            logger.addHandler(old)


def _in_process_run(formatter: _SideFormatter, client_password: str) -> int:
    secrets = SecretsFile.parse(f"# client server secret addresses\n{USER} * {PASSWORD} *\n")
    server_config = LinkConfig(
        lcp=LcpConfig(require_auth=(PPPProtocol.PAP,), allow_auth=()),
        ipcp=IpcpConfig(local=IPv4Address(SERVER_IP), remote=IPv4Address(CLIENT_IP)),
        auth=_DemoAuth(secrets=secrets, user="server", password=None),
    )
    client_config = LinkConfig(
        lcp=LcpConfig(allow_auth=(PPPProtocol.PAP,)),
        ipcp=IpcpConfig(),
        auth=_DemoAuth(secrets=None, user=USER, password=client_password),
        # The first Echo-Request goes out as LCP opens; pppd's `debug debug` shows echoes.
        echo_interval=30.0,
        trace_echo=True,
    )
    server = Link(server_config, rng=os.urandom, logger=logging.getLogger("pyppp"))
    client = Link(client_config, rng=os.urandom, logger=logging.getLogger("pyppp"))
    pump = _Pump(server, client, formatter)
    started = time.perf_counter()
    with pump.side("server") as link:
        link.open(pump.now)
    with pump.side("client") as link:
        link.open(pump.now)

    def both_up() -> bool:
        return bool(pump.of_type("server", NetworkUp) and pump.of_type("client", NetworkUp))

    def failed() -> str | None:
        for side in ("server", "client"):
            for event in pump.events[side]:
                if isinstance(event, AuthFailed | LinkTerminated):
                    return f"{side}: {event}"
        return None

    pump.run_until(lambda: both_up() or failed() is not None)
    wall = time.perf_counter() - started
    up_at = pump.now
    if (why := failed()) is not None:
        raise DemoError(f"the link did not come up ({why})")
    up = pump.of_type("client", NetworkUp)[0]
    assert isinstance(up, NetworkUp)
    if str(up.local) != CLIENT_IP or str(up.remote) != SERVER_IP:
        raise DemoError(f"the client got {up.local} <-> {up.remote}")
    if client.lcp.echos_pending:
        raise DemoError("the LCP Echo-Request got no Echo-Reply")
    if not pump.of_type("client", LinkUp):
        raise DemoError("LCP never opened on the client")

    # An IP packet across: an ICMP Echo-Request from the client to the server.
    packet = _ipv4_echo(CLIENT_IP, SERVER_IP, b"pyppp demo " * 8)
    with pump.side("client") as link:
        if not link.send_ip(packet, pump.now):
            raise DemoError("the client refused to send IP with the network up")
    pump.run_until(lambda: bool(pump.of_type("server", IpReceived)))
    received = pump.of_type("server", IpReceived)[0]
    assert isinstance(received, IpReceived)
    if received.packet != packet:
        raise DemoError("the IP packet arrived changed")

    # Hang up as pppd does on SIGTERM: LCP Terminate-Request, exit status 5 on our side.
    with pump.side("client") as link:
        link.close(now=pump.now)
    pump.run_until(
        lambda: bool(
            pump.of_type("client", LinkTerminated) and pump.of_type("server", LinkTerminated)
        )
    )
    print()
    print(
        f"link up (LCP + PAP + IPCP): {wall * 1000:.1f} ms of CPU time in this process, "
        f"{up_at:.3f} s on the protocol clock (retransmissions would show here)"
    )
    print(f"LCP echo round trip: ok; IP packet ({len(packet)} bytes) across: ok")
    print(f"exit statuses as pppd's: client {client.exit_status}, server {server.exit_status}")
    if client.exit_status != ExitStatus.USER_REQUEST or server.exit_status != ExitStatus.OK:
        raise DemoError("unexpected exit statuses (client should be 5, server 0)")
    print("demo: OK")
    return 0


# =============================================================================================
# The full demo: real processes in network namespaces.


def _lab_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "not running as root (network namespaces and TUN interfaces need root)"
    if shutil.which("ip") is None:
        return "ip(8) from iproute2 is not installed"
    if not Path("/dev/net/tun").exists():
        return "/dev/net/tun is missing (no TUN support)"
    return None


@dataclass
class _Child:
    label: str
    proc: subprocess.Popen[bytes]
    lines: list[tuple[float, str]]
    started: float
    thread: threading.Thread


class _Lab:
    """What the full demo makes, so that :meth:`close` can remove all of it."""

    def __init__(self, *, echo: bool) -> None:
        self.echo = echo
        self.tmp = Path(tempfile.mkdtemp(prefix="pyppp-demo-"))
        self.namespaces: list[str] = []
        self.children: list[_Child] = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def add_namespace(self, name: str) -> None:
        made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
        if made.returncode:
            raise DemoError(f"cannot create network namespace {name}: {made.stderr.strip()}")
        self.namespaces.append(name)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)

    def start(self, label: str, ns: str, argv: Sequence[str], *, show: bool) -> _Child:
        env = dict(os.environ)
        here = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        env["HOME"] = str(self.tmp)
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C reaches the demo, which hangs up cleanly
        )
        lines: list[tuple[float, str]] = []
        thread = threading.Thread(
            target=self._read, args=(label, proc, lines, show and self.echo), daemon=True
        )
        child = _Child(label, proc, lines, time.monotonic(), thread)
        self.children.append(child)
        thread.start()
        return child

    def _read(
        self, label: str, proc: subprocess.Popen[bytes], lines: list[tuple[float, str]], show: bool
    ) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.changed:
                lines.append((time.monotonic(), line))
                self.changed.notify_all()
                if show:  # under the lock: two readers never mix their lines
                    print(f"{label}| {line}", flush=True)
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, child: _Child, pattern: re.Pattern[str], timeout: float) -> float:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for stamp, line in child.lines:
                    if pattern.search(line):
                        return stamp
                if child.proc.poll() is not None and not child.thread.is_alive():
                    raise DemoError(f"{child.label} exited with status {child.proc.returncode}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DemoError(f"{child.label}: no /{pattern.pattern}/ in {timeout:g} s")
                self.changed.wait(min(left, 0.2))

    def close(self) -> None:
        for child in reversed(self.children):
            _stop(child.proc)
            child.thread.join(2.0)
        for name in self.namespaces:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def _stop(proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL, to one child by its pid."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)


_SINK = """
import hashlib, socket, sys
s = socket.create_server((sys.argv[1], int(sys.argv[2])))
print("listening", flush=True)
s.settimeout(60)
c, _ = s.accept()
c.settimeout(60)
h, n = hashlib.sha256(), 0
while chunk := c.recv(65536):
    h.update(chunk)
    n += len(chunk)
c.sendall(f"{h.hexdigest()} {n}\\n".encode())
"""

# ICMP echo in Python (root: raw socket), so the demo needs no ping(8) on a fresh machine.
_PING = """
import os, socket, struct, sys, time
def checksum(data):
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
sock.settimeout(3)
ident, received, rtts = os.getpid() & 0xFFFF, 0, []
for seq in range(3):
    body = struct.pack("!HHd", ident, seq, time.monotonic()) + bytes(48)
    packet = struct.pack("!BBH", 8, 0, 0) + body
    packet = packet[:2] + struct.pack("!H", checksum(packet)) + packet[4:]
    start = time.monotonic()
    sock.sendto(packet, (sys.argv[1], 0))
    while True:
        try:
            reply = sock.recv(2048)
        except TimeoutError:
            break
        icmp = reply[(reply[0] & 0x0F) * 4:]
        if icmp[0] == 0 and struct.unpack("!HH", icmp[4:8]) == (ident, seq):
            received += 1
            rtts.append((time.monotonic() - start) * 1000)
            break
    time.sleep(0.2)
avg = sum(rtts) / len(rtts) if rtts else 0.0
rtt = f", rtt min/avg/max {min(rtts):.1f}/{avg:.1f}/{max(rtts):.1f} ms" if rtts else ""
print(f"3 packets transmitted, {received} received{rtt}")
sys.exit(0 if received == 3 else 1)
"""

_SOURCE = """
import os, socket, sys, time
data = bytes.fromhex(sys.stdin.readline().strip()) * int(sys.argv[3])
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
start = time.monotonic()
s.sendall(data)
s.shutdown(socket.SHUT_WR)
answer = s.makefile().readline().strip()
print(f"{time.monotonic() - start:.6f} {answer}", flush=True)
"""


def _wait_address(ns: str, address: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        shown = subprocess.run(
            ["ip", "-n", ns, "-o", "-4", "addr", "show", "up"], capture_output=True, text=True
        ).stdout
        if f"inet {address} " in shown:
            return
        if time.monotonic() > deadline:
            raise DemoError(f"{address} never appeared on an interface in {ns}")
        time.sleep(0.01)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """A SIGTERM to the demo cleans up like Ctrl-C does."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _full(args: argparse.Namespace) -> int:
    from pyppp.aio.cable import NullModemCable

    lab = _Lab(echo=not args.quiet)
    with _sigterm_as_interrupt(), contextlib.ExitStack() as stack:
        stack.callback(lab.close)
        cable = stack.enter_context(NullModemCable(baud=args.baud))
        tag = f"pyppp-demo-{os.getpid()}"
        ns_server, ns_client = f"{tag}-a", f"{tag}-b"
        for ns in (ns_server, ns_client):
            lab.add_namespace(ns)
        print(
            f"cable: {cable.ends[0]} <-> {cable.ends[1]}"
            + (f" at {args.baud} baud" if args.baud else " (unpaced)")
        )
        print(f"namespaces: {ns_server} (server {SERVER_IP}), {ns_client} (client {CLIENT_IP})")
        server_dir = lab.tmp / "server"
        client_dir = lab.tmp / "client"
        for path, line in (
            (server_dir, f"{USER} * {PASSWORD} *\n"),
            (client_dir, f"{USER} * {PASSWORD}\n"),
        ):
            path.mkdir()
            secrets = path / "pap-secrets"
            secrets.write_text(f"# client server secret addresses\n{line}")
            secrets.chmod(0o600)
        python = [sys.executable, "-m", "pyppp"]
        server_argv = [
            *python,
            "serve",
            cable.ends[0],
            "--auth",
            "pap",
            "--config-dir",
            str(server_dir),
            f"{SERVER_IP}:{CLIENT_IP}",
            "debug",
            "nodetach",
        ]
        client_argv = [
            *python,
            "dial",
            cable.ends[1],
            "--user",
            USER,
            "--config-dir",
            str(client_dir),
            "noauth",
            "debug",
            "nodetach",
        ]
        print("$ " + " ".join(server_argv[1:]))
        print("$ " + " ".join(client_argv[1:]) + "\n", flush=True)
        server = lab.start("server", ns_server, server_argv, show=True)
        lab.wait_for(server, re.compile(r"^Connect: "), 15.0)  # it reads its end now
        client = lab.start("client", ns_client, client_argv, show=True)
        up = max(lab.wait_for(server, _UP, 30.0), lab.wait_for(client, _UP, 30.0))
        first = next(
            (t for t, line in client.lines if line.startswith("sent [LCP ConfReq")), client.started
        )
        # pppd prints "remote IP address" once the interface is configured; wait for both
        # interfaces to carry their addresses before pinging, whatever the order of events.
        for ns, address in ((ns_server, SERVER_IP), (ns_client, CLIENT_IP)):
            _wait_address(ns, address, 5.0)

        print("\n--- ping across the link", flush=True)
        for ns, address in ((ns_client, SERVER_IP), (ns_server, CLIENT_IP)):
            result = subprocess.run(
                ["ip", "netns", "exec", ns, sys.executable, "-c", _PING, address],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            summary = result.stdout.strip().splitlines()[-1:] or [result.stderr.strip()]
            print(f"{ns}: ping {address}: " + "; ".join(summary), flush=True)
            if result.returncode:
                raise DemoError(f"ping {address} from {ns} failed:\n{result.stdout}")

        print("\n--- TCP across the link", flush=True)
        block = hashlib.sha256(b"pyppp").digest() * 2048  # 64 KiB, repeated
        repeats = max(1, int(args.megabytes * 1024 * 1024) // len(block))
        size = repeats * len(block)
        expected = hashlib.sha256(block * repeats).hexdigest()
        sink = lab.start(
            "sink", ns_server, [sys.executable, "-c", _SINK, SERVER_IP, "5001"], show=False
        )
        lab.wait_for(sink, re.compile("listening"), 10.0)
        source = subprocess.run(
            ["ip", "netns", "exec", ns_client, sys.executable, "-c", _SOURCE, SERVER_IP,
             "5001", str(repeats)],
            input=block.hex() + "\n", capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        if source.returncode:
            raise DemoError(f"TCP transfer failed: {source.stderr.strip()}")
        seconds, digest, count = source.stdout.split()
        if digest != expected or int(count) != size:
            raise DemoError(f"TCP data changed on the way ({count} bytes, sha256 {digest})")
        rate = size / float(seconds)
        print(f"{size} bytes in {float(seconds):.2f} s: {rate / 1e6:.2f} MB/s, sha256 equal")

        print("\n--- hang up (SIGTERM to the client, as for pppd)", flush=True)
        os.kill(client.proc.pid, signal.SIGTERM)
        try:
            client_status = client.proc.wait(15)
            server_status = server.proc.wait(15)
        except subprocess.TimeoutExpired:
            raise DemoError("pyppp did not exit after SIGTERM") from None
        client.thread.join(2.0)
        server.thread.join(2.0)
        print(
            f"\nlink up (dialer's first LCP ConfReq to IPCP up on both): "
            f"{(up - first) * 1000:.0f} ms"
        )
        print(f"TCP throughput: {rate / 1e6:.2f} MB/s")
        print(
            f"exit statuses: client {client_status} (pppd: 5 on SIGTERM), "
            f"server {server_status} (0: the peer hung up)"
        )
        if client_status != 5 or server_status != 0:
            raise DemoError("unexpected exit statuses")
    print("demo: OK (namespaces, processes and temporary files removed)")
    return 0
